#!/usr/bin/env python3
"""TFLOP/s of flashtune.attention called from Python against flashtune-bench (the same tuned kernels timed from
C++) and torch's SDPA, on the benchmark shapes: d128 bf16, N 4096 and 8192, causal and not, 16384 tokens
(B4 H16 at N4096, B2 H16 at N8192; --batch fixes B instead).

Protocol, as flashtune-bench's --warmup/--samples: per shape, `--warmup` untimed calls, then `--samples` calls
each timed alone with CUDA events after an L2 flush (a 256 MiB write); the median. FLOPs = 4·B·H·N²·d, halved
when causal. flashtune-bench reads the tuned best configurations from --db (flashtune.tune writes them); the
Python runtime reads the same store (FLASHTUNE_CACHE_DIR) and says which template it chose.

    python bench/python/tflops.py --bench build/bench/flashtune-bench --db "$FLASHTUNE_CACHE_DIR/flashtune.db" \
        --json tflops.json
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

import torch

import flashtune
from flashtune import _flashtune as _C


def time_ms(fn, warmup, samples):
    flush = torch.empty(256 * 2**20, dtype=torch.uint8, device="cuda")
    for _ in range(warmup):
        flush.zero_()
        fn()
    times = []
    for _ in range(samples):
        flush.zero_()
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    CLOCKS.append(sm_clock_fraction())
    return statistics.median(times)


CLOCKS = []  # the SM clock after each time_ms(), as a fraction of the maximum (None: NVML not readable)


def sm_clock_fraction():
    c = _C._sm_clock_mhz(torch.cuda.current_device())
    return None if c is None else c[0] / c[1]


def bench_rows(path, db, seqlens, warmup, samples):
    """flashtune-bench's TFLOPS per (template, N, causal), or {} (with the reason printed) when it cannot run."""
    if not path or not os.access(path, os.X_OK):
        print(f"flashtune-bench: not run ({path or 'no --bench'} is not an executable)")
        return {}
    cmd = [path, "--d", "128", "--n", ",".join(map(str, seqlens)), "--warmup", str(warmup), "--samples",
           str(samples), "--benchmark_format=json"]
    if db:
        cmd += ["--db", db]
    r = subprocess.run(cmd, capture_output=True, text=True)
    sys.stderr.write(r.stderr)
    if r.returncode != 0 or not r.stdout.strip():
        print(f"flashtune-bench: exit {r.returncode}, no results")
        return {}
    rows = {}
    for b in json.loads(r.stdout).get("benchmarks", []):
        parts = b["name"].split("/")  # fa2_fwd/d128/causal/N4096/iterations:30/manual_time
        if len(parts) >= 4 and "TFLOPS" in b:
            rows[(parts[0], int(parts[3][1:]), parts[2] == "causal")] = b["TFLOPS"]
    return rows


def pct(f):
    return "-" if f is None else f"{100 * f:.0f}%"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seqlens", type=int, nargs="+", default=[4096, 8192])
    ap.add_argument("--heads", type=int, default=16)
    ap.add_argument("--batch", type=int, help="B for every N (default: 16384 / N, as flashtune-bench)")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--samples", type=int, default=30)
    ap.add_argument("--bench", help="the flashtune-bench executable")
    ap.add_argument("--db", help="results database for flashtune-bench (default: its default, the tuner's)")
    ap.add_argument("--json", help="write the rows here")
    a = ap.parse_args()

    d = 128
    rows = []
    for n in a.seqlens:
        b = a.batch or max(1, 16384 // n)
        q, k, v = (torch.randn(b, a.heads, n, d, device="cuda", dtype=torch.bfloat16) for _ in range(3))
        for causal in (False, True):
            p = flashtune.Problem(b, a.heads, n, d, "bf16", causal)
            choice = flashtune.choice(p)
            ms = time_ms(lambda: flashtune.attention(q, k, v, causal=causal), a.warmup, a.samples)
            clock = CLOCKS[-1]
            sdpa_ms = time_ms(
                lambda: torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal),
                a.warmup, a.samples)
            rows.append({"batch": b, "heads": a.heads, "seqlen": n, "head_dim": d, "causal": causal,
                         "template": choice["template"], "source": choice["source"], "kernel": choice["kernel"],
                         "python_ms": ms, "python_clock": clock, "python_tflops": p.flops() / ms / 1e9,
                         "sdpa_ms": sdpa_ms, "sdpa_tflops": p.flops() / sdpa_ms / 1e9})
    native = bench_rows(a.bench, a.db, a.seqlens, a.warmup, a.samples)
    # Python again, after flashtune-bench: the order of the two (the GPU's temperature and clocks) shows here.
    for n in a.seqlens:
        b = a.batch or max(1, 16384 // n)
        q, k, v = (torch.randn(b, a.heads, n, d, device="cuda", dtype=torch.bfloat16) for _ in range(3))
        for r in rows:
            if r["seqlen"] == n:
                ms = time_ms(lambda: flashtune.attention(q, k, v, causal=r["causal"]), a.warmup, a.samples)
                r["python_after_tflops"] = flashtune.Problem(b, a.heads, n, d, "bf16", r["causal"]).flops() / ms / 1e9
                r["python_after_clock"] = CLOCKS[-1]
    for r in rows:
        r["bench_tflops"] = native.get((r["template"], r["seqlen"], r["causal"]))
        r["bench_tflops_by_template"] = {t: v for (t, n, c), v in native.items()
                                         if n == r["seqlen"] and c == r["causal"]}

    gpu = torch.cuda.get_device_name(0)
    print(f"GPU: {gpu}, torch {torch.__version__}, flashtune {flashtune.__version__}; d128 bf16, TFLOP/s "
          f"(median of {a.samples} after {a.warmup} warm-up, L2 flushed; flashtune-bench: the same template's "
          "tuned best)")
    print("| shape | causal | template (source) | Python | flashtune-bench | Python/bench | Python again | SDPA "
          "| SM clock after Python, again |")
    print("|---|---|---|--:|--:|--:|--:|--:|--:|")
    for r in rows:
        bt = r["bench_tflops"]
        ratio = f"{r['python_tflops'] / bt:.3f}" if bt else "-"
        print(f"| B{r['batch']} H{r['heads']} N{r['seqlen']} | {'yes' if r['causal'] else 'no'} | "
              f"{r['template']} ({r['source']}) | {r['python_tflops']:.1f} | {f'{bt:.1f}' if bt else '-'} | "
              f"{ratio} | {r['python_after_tflops']:.1f} | {r['sdpa_tflops']:.1f} | "
              f"{pct(r['python_clock'])}, {pct(r['python_after_clock'])} |")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"gpu": gpu, "torch": torch.__version__, "flashtune": flashtune.__version__,
                       "warmup": a.warmup, "samples": a.samples, "rows": rows}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
