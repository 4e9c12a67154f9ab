#!/usr/bin/env python3
"""Per-call overhead of flashtune.attention from Python, CUDA-graph free, at a tiny shape (B1 H1 N16 d64 bf16
by default), against torch's SDPA and against the C++ Runtime::attention called directly (the floor).

Each row: `calls` calls queued back to back after a warm-up, one synchronize at the end; host wall time / calls,
in microseconds (median of `--repeats` such runs). At this shape the kernel is shorter than the call, so the
number is what the caller pays per call.

    python bench/python/overhead.py --json overhead.json
"""

import argparse
import json
import statistics
import sys
import time

import torch

import flashtune
from flashtune import _torch_op


def per_call_us(fn, calls, repeats):
    fn()
    torch.cuda.synchronize()
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        torch.cuda.synchronize()
        runs.append((time.perf_counter() - t0) / calls * 1e6)
    return statistics.median(runs), min(runs)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--heads", type=int, default=1)
    ap.add_argument("--seqlen", type=int, default=16)
    ap.add_argument("--head-dim", type=int, default=64)
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--json", help="write the rows here")
    a = ap.parse_args()

    shape = (a.batch, a.heads, a.seqlen, a.head_dim)
    q, k, v = (torch.randn(shape, device="cuda", dtype=torch.bfloat16) for _ in range(3))
    o = torch.empty_like(q)
    sdpa = torch.nn.functional.scaled_dot_product_attention
    stream = _torch_op._current_stream(q)
    descs = (_torch_op._desc(q), _torch_op._desc(k), _torch_op._desc(v))
    lse = torch.empty(shape[:-1], device="cuda", dtype=torch.float32)

    cases = [
        ("flashtune.attention (eager: no op dispatch)", lambda: flashtune.attention(q, k, v)),
        ("torch.ops.flashtune.attention (the custom op)", lambda: torch.ops.flashtune.attention(q, k, v, False, None, None)),
        ("flashtune C++ call from Python (tensors, no alloc)",
         lambda: flashtune._C._attention_torch(q, k, v, o, None, False, None, None)),
        ("flashtune C++ call from Python (descriptions, no alloc)",
         lambda: flashtune._C._attention_desc(*descs, o.data_ptr(), lse.data_ptr(), False, None, None, stream)),
        ("torch SDPA", lambda: sdpa(q, k, v)),
    ]
    rows = []
    for name, fn in cases:
        med, best = per_call_us(fn, a.calls, a.repeats)
        rows.append({"case": name, "us_per_call": med, "us_per_call_min": best})
    floor = [_torch_op.bench_runtime(q, k, v, o, calls=a.calls) for _ in range(a.repeats)]
    rows.append({"case": "C++ Runtime::attention (direct)", "us_per_call": statistics.median(floor),
                 "us_per_call_min": min(floor)})

    gpu = torch.cuda.get_device_name(0)
    print(f"GPU: {gpu}, torch {torch.__version__}, flashtune {flashtune.__version__}; "
          f"B{a.batch} H{a.heads} N{a.seqlen} d{a.head_dim} bf16, {a.calls} calls x {a.repeats}, "
          "host wall time per call (median; min)")
    print(f"| {'case':<50} | us/call | min |")
    print(f"|{'-' * 52}|--------:|----:|")
    for r in rows:
        print(f"| {r['case']:<50} | {r['us_per_call']:7.2f} | {r['us_per_call_min']:5.2f} |")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"gpu": gpu, "torch": torch.__version__, "flashtune": flashtune.__version__,
                       "shape": list(shape), "dtype": "bf16", "calls": a.calls, "repeats": a.repeats,
                       "choice": flashtune.choice(flashtune.Problem(*shape)), "rows": rows}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
