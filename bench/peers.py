#!/usr/bin/env python3
"""Peer numbers and ratio table: torch SDPA with the FLASH and CUDNN backends on the benchmark shapes, measured in the
same run as flashtune, and the ratio of flashtune's best configuration to each.

Shapes (the benchmark shapes): bf16, batch*seqlen = 16384 tokens, hidden 2048 (heads = 2048/d), TFLOP/s = 4*B*H*N^2*d / time,
halved when causal. Timing: CUDA events around one call, L2 flushed (256 MiB write) before each sample, warm-up
first, median of --reps samples.

  python3 bench/peers.py --flashtune results.json [--flashtune more.json] [--d 64 128] [--n 512 1024 ...]

Each --flashtune file is the Google Benchmark JSON of `flashtune-bench` (bench/flashtune_bench.cpp: the cached best
configuration of each template, one benchmark per template and shape), the JSON of `flashtune bench --json` (a list
of trials; the best ok trial per problem is taken) or of `flashtune tune --json` (a summary; its winners under the
"max" SRAM budget are taken). Prints one Markdown table, a row per template and shape; --out writes the peer
measurements as JSON too.

  python3 bench/peers.py --bench build/bench/flashtune-bench --bench-db perf.db [--d ...] [--n ...]

  python3 bench/peers.py --variants gqa window decode [--reps R] [--warmup W] [--out variants.json]

The attention variants (--variants): bench/python/variants.py in this process's interpreter, flashtune.attention
(the runtime's choice) against SDPA with enable_gqa (GQA), compiled FlexAttention (windows) and SDPA FLASH/cuDNN
(decode), with the same timing protocol; its table is printed and --out gets its rows.

Interleaved (--bench): for each shape, flashtune-bench runs the stored best of each template with the peers'
protocol (--warmup untimed launches, then --reps samples, each after an L2 flush, median), then the peers, then
flashtune-bench again (A-B-A), so that ours and the peers' numbers come from the same minute of the GPU's life
(its clock moves under sustained load and from run to run: docs/perf-notes.md). Our figure is the mean of the
two medians; the table shows both.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile


def problem_key(d, n, causal):
    return (int(d), int(n), bool(causal))


def load_google_benchmark(data):
    """flashtune-bench's JSON: names template/d128/full|causal/N4096[/manual_time], counter TFLOPS, label config."""
    trials = []
    for b in data["benchmarks"]:
        if b.get("error_occurred") or "TFLOPS" not in b or b.get("run_type") == "aggregate":
            continue
        parts = b["name"].split("/")
        template, d, mode, n = parts[0], int(parts[1][1:]), parts[2], int(parts[3][1:])
        config = dict(kv.split("=") for kv in b.get("label", "").split() if "=" in kv)
        trials.append({"status": "ok", "tflops": b["TFLOPS"], "template": template, "config": config,
                       "problem": {"dtype": "bf16", "head_dim": d, "seqlen": n, "causal": mode == "causal"}})
    return trials


def load_flashtune(paths):
    best = {}
    for path in paths:
        with open(path) as f:
            data = json.load(f)
        if isinstance(data, dict) and "benchmarks" in data:
            trials = load_google_benchmark(data)
        elif isinstance(data, dict):  # flashtune tune --json: the winners under the largest budget
            winners = [w for w in data.get("winners", []) if w.get("budget") == "max"]
            trials = [dict(w, status="ok", template=data.get("template", "fa2_fwd")) for w in winners]
        else:
            trials = data
        for t in trials:
            if t.get("status") != "ok" or "tflops" not in t:
                continue
            p = t["problem"]
            if p["dtype"] != "bf16":
                continue
            key = (t.get("template", t.get("template_id", "fa2_fwd")),) + problem_key(p["head_dim"], p["seqlen"],
                                                                                        p["causal"])
            if key not in best or t["tflops"] > best[key]["tflops"]:
                best[key] = t
    return best


def run_bench(binary, db, d, n, causal, reps, warmup, templates):
    """One flashtune-bench process on one shape with the peers' protocol: {template: trial}."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "bench.json")
        cmd = [binary, "--d", str(d), "--n", str(n), "--causal", "yes" if causal else "no",
               f"--warmup={warmup}", f"--samples={reps}", f"--benchmark_out={out}",
               "--benchmark_out_format=json", "--benchmark_format=console"]
        if db:
            cmd += ["--db", db]
        if templates:
            cmd += ["--templates", ",".join(templates)]
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0 or not os.path.exists(out):
            print(f"peers.py: {' '.join(cmd)}: exit {r.returncode}\n{r.stderr[-2000:]}", file=sys.stderr)
            return {}
        with open(out) as f:
            trials = load_google_benchmark(json.load(f))
    return {t["template"]: t for t in trials}


def interleaved(binary, db, d, n, causal, reps, warmup, templates):
    """A-B-A: ours, the peers, ours again. Returns ({template: (tflops_1, tflops_2, config)}, peers)."""
    first = run_bench(binary, db, d, n, causal, reps, warmup, templates)
    peers = measure_peers(d, n, causal, reps, warmup)
    second = run_bench(binary, db, d, n, causal, reps, warmup, templates)
    ours = {}
    for t in sorted(set(first) | set(second)):
        a, b = first.get(t), second.get(t)
        ours[t] = (a["tflops"] if a else None, b["tflops"] if b else None, (a or b)["config"])
    return ours, peers


def measure_peers(d, n, causal, reps, warmup):
    import torch
    from torch.nn.attention import SDPBackend

    rec = {}
    for name, backend in (("flash", SDPBackend.FLASH_ATTENTION), ("cudnn", SDPBackend.CUDNN_ATTENTION)):
        try:
            rec[name] = measure_sdpa(torch, backend, d, n, causal, reps, warmup)["tflops"]
        except Exception as e:  # a backend that refuses a shape is reported, not fatal
            rec[name] = None
            print(f"peers.py: {name} d={d} n={n} causal={causal}: {e}", file=sys.stderr)
    return rec


def measure_sdpa(torch, backend, d, n, causal, reps, warmup):
    from torch.nn.attention import sdpa_kernel

    b, h = 16384 // n, 2048 // d
    gen = torch.Generator(device="cuda").manual_seed(1234)
    q, k, v = (torch.randn(b, h, n, d, device="cuda", dtype=torch.bfloat16, generator=gen) for _ in range(3))
    flush = torch.empty(256 * 1024 * 1024, dtype=torch.uint8, device="cuda")
    f = torch.nn.functional.scaled_dot_product_attention
    with sdpa_kernel(backend):
        for _ in range(warmup):
            f(q, k, v, is_causal=causal)
        times = []
        for _ in range(reps):
            flush.zero_()
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            f(q, k, v, is_causal=causal)
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end))
    ms = statistics.median(times)
    flops = 4.0 * b * h * n * n * d / (2 if causal else 1)
    return {"median_ms": ms, "tflops": flops / (ms * 1e-3) / 1e12}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--flashtune", action="append", default=[], help="flashtune bench --json output (repeatable)")
    ap.add_argument("--d", type=int, nargs="+", default=[64, 128])
    ap.add_argument("--n", type=int, nargs="+", default=[512, 1024, 2048, 4096, 8192, 16384])
    ap.add_argument("--causal", choices=["both", "yes", "no"], default="both")
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--out", help="write the peer measurements and ratios as JSON here")
    ap.add_argument("--bench", help="flashtune-bench binary: measure ours interleaved with the peers, per shape")
    ap.add_argument("--bench-db", help="results database for --bench (default: flashtune-bench's)")
    ap.add_argument("--templates", nargs="+", help="templates for --bench (default: flashtune-bench's)")
    ap.add_argument("--variants", nargs="+", choices=["gqa", "window", "decode"],
                    help="the attention variants against their peers (bench/python/variants.py)")
    args = ap.parse_args()
    if args.variants:
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "python", "variants.py")
        cmd = [sys.executable, script, "--families", *args.variants, "--reps", str(args.reps),
               "--warmup", str(args.warmup)] + (["--json", args.out] if args.out else [])
        return subprocess.run(cmd).returncode

    import torch

    if not torch.cuda.is_available():
        print("peers.py: no GPU: the peers can only be measured on a GPU", file=sys.stderr)
        return 3
    if args.bench and args.flashtune:
        print("peers.py: --bench and --flashtune exclude each other", file=sys.stderr)
        return 2
    ours = load_flashtune(args.flashtune)
    modes = {"both": [False, True], "yes": [True], "no": [False]}[args.causal]
    records = []
    for d in args.d:
        for causal in modes:
            for n in args.n:
                rec = {"d": d, "n": n, "causal": causal}
                if args.bench:
                    mine, peers = interleaved(args.bench, args.bench_db, d, n, causal, args.reps, args.warmup,
                                              args.templates)
                    rec.update(peers)
                    for template, (a, b, config) in mine.items():
                        both = [x for x in (a, b) if x is not None]
                        records.append(dict(rec, template=template, flashtune=sum(both) / len(both),
                                            flashtune_runs=[a, b],
                                            config=" ".join(f"{k}={v}" for k, v in sorted(config.items()))))
                    if not mine:
                        records.append(dict(rec, template="-", flashtune=None))
                    continue
                rec.update(measure_peers(d, n, causal, args.reps, args.warmup))
                templates = sorted({k[0] for k in ours}) or ["fa2_fwd"]
                for template in templates:
                    mine = ours.get((template,) + problem_key(d, n, causal))
                    row = dict(rec, template=template, flashtune=mine["tflops"] if mine else None)
                    if mine:
                        row["config"] = " ".join(f"{k}={v}" for k, v in sorted(mine["config"].items()))
                    records.append(row)

    def fmt(x, spec="{:.0f}"):
        return spec.format(x) if x is not None else "-"

    def ratio(a, b):
        return fmt(a / b, "{:.2f}") if a is not None and b else "-"

    protocol = (f"interleaved per shape (ours, peers, ours; ours = mean of the two), each the median of "
                f"{args.reps} after {args.warmup} warm-up" if args.bench else f"median of {args.reps}")
    print(f"GPU: {torch.cuda.get_device_name()}, torch {torch.__version__}, bf16, TFLOP/s ({protocol})\n")
    print("| d | causal | N | template | flashtune | config | SDPA FLASH | SDPA CUDNN | ours/FLASH | ours/CUDNN |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in records:
        runs = r.get("flashtune_runs")
        mine = fmt(r["flashtune"]) + (f" ({fmt(runs[0])}/{fmt(runs[1])})" if runs else "")
        print(f"| {r['d']} | {'yes' if r['causal'] else 'no'} | {r['n']} | {r['template']} | {mine} | "
              f"{r.get('config', '-')} | {fmt(r['flash'])} | {fmt(r['cudnn'])} | "
              f"{ratio(r['flashtune'], r['flash'])} | {ratio(r['flashtune'], r['cudnn'])} |")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(records, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
