#!/usr/bin/env python3
"""The attention variants against their peers, in one process on one GPU: flashtune.attention (the runtime's
choice: the tuned best of the results store, else the template's default) against

  gqa     SDPA with enable_gqa=True, each backend that accepts it (FLASH, CUDNN, EFFICIENT), heads 32 over
          kv_heads 8 and 1, d 128, N 2k..16k, 16384 tokens, causal and not;
  window  FlexAttention (torch.nn.attention.flex_attention, compiled, with a BlockMask) for a causal window of
          1024 keys at N 16k (B1 H16 d128) and 8k (B2), and SDPA FLASH without a window as the dense bound;
  sparse  block-sparse layouts of 128 x 128 blocks keeping 10, 25 and 50% of the blocks at N 16k (B1 H16
          d128), causal and not: flashtune.attention with block_sparse=flashtune.block_sparse(layout, 128)
          against FlexAttention (compiled) with a BlockMask from create_block_mask (BLOCK_SIZE 128) whose mask_mod
          reads the same layout tensor, and SDPA FLASH dense as the bound. The layout is drawn as
          core/block_layout.cpp draws it (splitmix64 from --sparse-seed, default 20261208, printed), so that the
          C++ tools' sparse_seed gives the same one;
  decode  SDPA FLASH and CUDNN (enable_gqa), 1 query against seqlen_k 4k..64k keys, batch 1..64, heads 32
          over 8, d 128 (causal is moot for one query aligned to the end: both sides run it unmasked);
  varlen  a batch of lengths drawn from 128..8192 summing to 16384 tokens (--varlen-seed; core/problem.cpp's
          draw_seqlens, so `--lengths` of the C++ tools takes the printed list), packed, heads 16 over 16 and 4
          kv_heads, d 128, causal and not: flashtune.attention with cu_seqlens against SDPA on nested (jagged)
          tensors (torch.nested.nested_tensor(..., layout=torch.jagged), enable_gqa where kv_heads differ) and
          FlexAttention (compiled) with a document mask (a BlockMask from create_block_mask on the packed
          sequence; causal within each document).

Timing as bench/peers.py: CUDA events around one call, L2 flushed (256 MiB write) before each sample, warm-up
first, median of --reps samples. TFLOP/s = 4 * attended (query, key) pairs * d * batch * heads / time (the
pairs the mask keeps, as AttentionProblem::attended_pairs counts them; varlen: summed over the sequences, each
with its own length; sparse: the pairs of the kept blocks, under the causal mask where causal), the same count
for every peer. The window and sparse families check flashtune's O against FlexAttention's on the run (max
|difference|, printed and kept in the row). A peer that fails is reported on stderr and shown as "-". Prints a
Markdown table and, with --json, the rows.

    python bench/python/variants.py --families gqa window decode varlen sparse --json variants.json
"""

import argparse
import json
import math
import struct
import sys

import torch

import flashtune
from tflops import time_ms  # bench/python/tflops.py: this script's folder is on sys.path


def attended_pairs(n, nk, causal, left=None, right=None):
    """Pairs (i, j) with j attended from query i (core/problem.hpp's mask), summed over the queries."""
    off = nk - n
    total = 0
    for i in range(n):
        hi = nk - 1
        if causal:
            hi = min(hi, i + off)
        if right is not None:
            hi = min(hi, i + off + right)
        lo = 0 if left is None else max(0, i + off - left)
        total += max(0, hi - lo + 1)
    return total


def timed(fn, reps, warmup):
    """The median of `reps` calls, each timed alone after an L2 flush (tflops.py's protocol and code)."""
    return time_ms(fn, warmup, reps)


def tensors(b, h, hk, n, nk, d, seed=1234):
    g = torch.Generator(device="cuda").manual_seed(seed)
    q = torch.randn(b, h, n, d, device="cuda", dtype=torch.bfloat16, generator=g)
    k, v = (torch.randn(b, hk, nk, d, device="cuda", dtype=torch.bfloat16, generator=g) for _ in range(2))
    return q, k, v


def sdpa_backends():
    from torch.nn.attention import SDPBackend

    return {"sdpa_flash": SDPBackend.FLASH_ATTENTION, "sdpa_cudnn": SDPBackend.CUDNN_ATTENTION,
            "sdpa_efficient": SDPBackend.EFFICIENT_ATTENTION}


def measure_sdpa(name, backend, q, k, v, causal, reps, warmup):
    from torch.nn.attention import sdpa_kernel

    f = torch.nn.functional.scaled_dot_product_attention
    gqa = q.shape[1] != k.shape[1]
    try:
        with sdpa_kernel(backend):
            return timed(lambda: f(q, k, v, is_causal=causal, enable_gqa=gqa), reps, warmup)
    except Exception as e:  # a backend that refuses a shape is reported, not fatal
        print(f"variants.py: {name} {tuple(q.shape)} kv {tuple(k.shape)}: {str(e).splitlines()[0][:200]}",
              file=sys.stderr)
        return None


def row(family, shape, pairs, b, h, d, times):
    flops = 4.0 * pairs * d * b * h
    tf = {k: (flops / (ms * 1e-3) / 1e12 if ms else None) for k, ms in times.items()}
    peers = [v for k, v in tf.items() if k != "flashtune" and v is not None]
    best = max(peers) if peers else None
    return {"family": family, "shape": shape, "tflops": tf, "best_peer": best,
            "ratio": tf["flashtune"] / best if best and tf["flashtune"] else None}


def gqa_rows(reps, warmup):
    rows = []
    for hk in (8, 1):
        for n in (2048, 4096, 8192, 16384):
            for causal in (False, True):
                b, h, d = 16384 // n, 32, 128
                q, k, v = tensors(b, h, hk, n, n, d)
                times = {"flashtune": timed(lambda: flashtune.attention(q, k, v, causal=causal), reps, warmup)}
                for name, backend in sdpa_backends().items():
                    times[name] = measure_sdpa(name, backend, q, k, v, causal, reps, warmup)
                r = row("gqa", f"B{b} H{h} KV{hk} N{n} d{d}{' causal' if causal else ''}",
                        attended_pairs(n, n, causal), b, h, d, times)
                rows.append(r)
    return rows


def window_rows(reps, warmup):
    from torch.nn.attention.flex_attention import create_block_mask, flex_attention

    rows = []
    flex = torch.compile(flex_attention)
    for n, w in ((16384, 1024), (8192, 1024)):
        b, h, d = 16384 // n, 16, 128
        q, k, v = tensors(b, h, h, n, n, d)

        def sliding(b_, h_, qi, kj, w=w):
            return (qi >= kj) & (qi - kj <= w)

        mask = create_block_mask(sliding, B=None, H=None, Q_LEN=n, KV_LEN=n)
        shape = f"B{b} H{h} N{n} d{d} causal window {w},0"
        diff = max_abs_diff("window", shape, flashtune.attention(q, k, v, causal=True, window=(w, 0)),
                            flex(q, k, v, block_mask=mask))
        times = {"flashtune": timed(lambda: flashtune.attention(q, k, v, causal=True, window=(w, 0)), reps, warmup),
                 "flex": timed(lambda: flex(q, k, v, block_mask=mask), reps, warmup)}
        r = row("window", shape, attended_pairs(n, n, True, w, 0), b, h, d, times)
        r["max_abs_diff_vs_flex"] = diff
        # Dense causal FLASH, no window: what the window saves (its TFLOP/s counts the window's pairs only).
        from torch.nn.attention import SDPBackend

        dense_ms = measure_sdpa("sdpa_flash", SDPBackend.FLASH_ATTENTION, q, k, v, True, reps, warmup)
        r["dense_causal_flash_ms"] = dense_ms
        r["flashtune_ms"] = times["flashtune"]
        rows.append(r)
    return rows


def max_abs_diff(family, shape, ours, theirs):
    """max |flashtune's O - a peer's O|, printed: the run's correctness cross-check."""
    diff = (ours.float() - theirs.float()).abs().max().item()
    print(f"{family}: {shape}: max |flashtune - flex| = {diff:.3g}")
    return diff


def splitmix64_layout(rows, cols, density, seed):
    """core/block_layout.cpp's drawn layout: block (r, c) kept iff the top 53 bits of splitmix64(seed + r * cols
    + c + 1), times 2^-53, are below the density (as the problem's float), as a [rows, cols] bool list."""
    d = struct.unpack("f", struct.pack("f", density))[0]
    mask, kept = (1 << 64) - 1, []
    for i in range(rows * cols):
        z = (seed + i + 1 + 0x9E3779B97F4A7C15) & mask
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        z ^= z >> 31
        kept.append((z >> 11) * 2.0**-53 < d)
    return [kept[r * cols:(r + 1) * cols] for r in range(rows)]


def layout_pairs(kept, block, n, causal):
    """(query, key) pairs of one head that the layout (a [rows, cols] bool tensor) and the causal mask attend,
    equal lengths (core/block_layout.cpp's layout_pairs)."""
    i = torch.arange(n, device=kept.device)[:, None]
    c = torch.arange(kept.shape[1], device=kept.device)[None, :]
    hi = i if causal else torch.full_like(i, n - 1)
    lo_key, hi_key = c * block, torch.minimum(hi, (c + 1) * block - 1)
    count = (hi_key - lo_key + 1).clamp(min=0)
    return int((count * kept[i[:, 0] // block]).sum().item())


def sparse_rows(reps, warmup, seed):
    from torch.nn.attention import SDPBackend

    b, h, n, d, block = 1, 16, 16384, 128, 128
    blocks = n // block
    rows = []
    flex = create_block_mask = None
    try:
        from torch.nn.attention.flex_attention import create_block_mask, flex_attention

        # Each layout's mask_mod compiles flex_attention again: a fresh cache with room for all six, so that
        # none falls back to the uncompiled (and far slower) flex_attention after the other families' masks.
        torch._dynamo.reset()
        torch._dynamo.config.cache_size_limit = max(torch._dynamo.config.cache_size_limit, 16)
        flex = torch.compile(flex_attention)
    except Exception as e:  # an old torch: flashtune still runs
        report_failure("flex", "import", e)
    q, k, v = tensors(b, h, h, n, n, d)
    for density in (0.10, 0.25, 0.50):
        kept = torch.tensor(splitmix64_layout(blocks, blocks, density, seed), dtype=torch.bool, device="cuda")
        print(f"sparse: seed {seed}, density {density}: {int(kept.sum())} of {blocks} x {blocks} blocks of {block} "
              f"kept ({kept.float().mean().item():.4f})")
        bs = flashtune.block_sparse(kept, block)
        for causal in (False, True):
            shape = f"B{b} H{h} N{n} d{d} block {block} p{density:.2f} seed {seed}{' causal' if causal else ''}"
            times = {}
            try:
                ours = flashtune.attention(q, k, v, causal=causal, block_sparse=bs)
                times["flashtune"] = timed(lambda: flashtune.attention(q, k, v, causal=causal, block_sparse=bs),
                                           reps, warmup)
            except Exception as e:
                report_failure("flashtune", shape, e)
                ours, times["flashtune"] = None, None
            diff = None
            try:
                if flex is None:
                    raise RuntimeError("flex_attention is not available")

                def sparse_mod(b_, h_, qi, kj, causal=causal, kept=kept):
                    seen = kept[qi // block, kj // block]
                    return (seen & (qi >= kj)) if causal else seen

                mask = create_block_mask(sparse_mod, B=None, H=None, Q_LEN=n, KV_LEN=n, device="cuda",
                                         BLOCK_SIZE=block)
                theirs = flex(q, k, v, block_mask=mask)
                if ours is not None:
                    diff = max_abs_diff("sparse", shape, ours, theirs)
                del theirs
                times["flex"] = timed(lambda: flex(q, k, v, block_mask=mask), reps, warmup)
            except Exception as e:
                report_failure("flex", shape, e)
                times["flex"] = None
            r = row("sparse", shape, layout_pairs(kept, block, n, causal), b, h, d, times)
            # Dense FLASH on the same shape: what the layout saves (its TFLOP/s counts the layout's pairs only).
            r["dense_flash_ms"] = measure_sdpa("sdpa_flash", SDPBackend.FLASH_ATTENTION, q, k, v, causal, reps,
                                               warmup)
            r["flashtune_ms"] = times["flashtune"]
            r["max_abs_diff_vs_flex"] = diff
            r["seed"] = seed
            r["density"] = density
            r["kept_blocks"] = int(kept.sum())
            rows.append(r)
    return rows


def decode_rows(reps, warmup):
    rows = []
    backends = {k: v for k, v in sdpa_backends().items() if k in ("sdpa_flash", "sdpa_cudnn")}
    for b in (1, 16, 64):
        for nk in (4096, 16384, 65536):
            h, hk, d = 32, 8, 128
            if b * hk * nk * d * 2 * 2 > 8 << 30:  # K and V over 8 GiB
                continue
            q, k, v = tensors(b, h, hk, 1, nk, d)
            times = {"flashtune": timed(lambda: flashtune.attention(q, k, v), reps, warmup)}
            for name, backend in backends.items():
                times[name] = measure_sdpa(name, backend, q, k, v, False, reps, warmup)
            r = row("decode", f"B{b} H{h} KV{hk} N1 Nk{nk} d{d}", attended_pairs(1, nk, False), b, h, d, times)
            ms = times["flashtune"]
            r["flashtune_gbs"] = 2 * b * hk * nk * d * 2 / (ms * 1e-3) / 1e9  # K and V bytes read
            rows.append(r)
    return rows


def mt19937_64(seed):
    """std::mt19937_64's outputs for `seed`: the generator of core/problem.cpp's draw_seqlens."""
    n, m, mask = 312, 156, (1 << 64) - 1
    mt = [seed & mask]
    for i in range(1, n):
        mt.append((6364136223846793005 * (mt[-1] ^ (mt[-1] >> 62)) + i) & mask)
    while True:
        for i in range(n):
            x = (mt[i] & 0xFFFFFFFF80000000) | (mt[(i + 1) % n] & 0x7FFFFFFF)
            mt[i] = mt[(i + m) % n] ^ (x >> 1) ^ (0xB5026F5AA96619E9 if x & 1 else 0)
        for y in mt:
            y ^= (y >> 29) & 0x5555555555555555
            y ^= (y << 17) & 0x71D67FFFEDA60000
            y ^= (y << 37) & 0xFFF7EEE000000000
            y ^= y >> 43
            yield y & mask


def draw_seqlens(total, min_len, max_len, seed):
    """Lengths drawn uniformly from [min_len, max_len] until they sum to `total`, the last cut short: the same
    lengths as core/problem.cpp's draw_seqlens for the same seed (std::mt19937_64, by modulo)."""
    gen, span, out, left = mt19937_64(seed), max_len - min_len + 1, [], total
    while left > 0:
        out.append(min(min_len + next(gen) % span, left))
        left -= out[-1]
    return out


def report_failure(name, shape, e):
    print(f"variants.py: {name} {shape}: {type(e).__name__}: {(str(e).splitlines() or [''])[0][:200]}",
          file=sys.stderr)


def varlen_rows(reps, warmup, seed):
    import torch.nn.functional as F

    lens = draw_seqlens(16384, 128, 8192, seed)
    total, b, h, d, longest = sum(lens), len(lens), 16, 128, max(lens)
    print(f"varlen: seed {seed}, {b} sequences of {total} tokens: {','.join(map(str, lens))}")
    cu = torch.tensor([0] + [sum(lens[:i + 1]) for i in range(b)], dtype=torch.int32, device="cuda")
    doc = torch.repeat_interleave(torch.arange(b, device="cuda"), torch.tensor(lens, device="cuda"))
    rows = []
    flex = create_block_mask = None
    try:
        from torch.nn.attention.flex_attention import create_block_mask, flex_attention

        flex = torch.compile(flex_attention)
    except Exception as e:  # an old torch: the other peers still run
        report_failure("flex", "import", e)
    for hk in (16, 4):
        g = torch.Generator(device="cuda").manual_seed(1234)
        q = torch.randn(total, h, d, device="cuda", dtype=torch.bfloat16, generator=g)
        k, v = (torch.randn(total, hk, d, device="cuda", dtype=torch.bfloat16, generator=g) for _ in range(2))
        for causal in (False, True):
            shape = f"T{total} ({b} seqs, 128..8192, seed {seed}) H{h} KV{hk} d{d}{' causal' if causal else ''}"
            times = {}
            try:
                times["flashtune"] = timed(
                    lambda: flashtune.attention(q, k, v, causal=causal, cu_seqlens_q=cu, cu_seqlens_k=cu,
                                                max_seqlen_q=longest, max_seqlen_k=longest), reps, warmup)
            except Exception as e:
                report_failure("flashtune", shape, e)
                times["flashtune"] = None
            # SDPA on nested (jagged) tensors: [B, j, H, d] transposed to [B, H, j, d]; torch picks the backend.
            try:
                qn, kn, vn = (torch.nested.nested_tensor(list(t.split(lens)), layout=torch.jagged).transpose(1, 2)
                              for t in (q, k, v))
                kw = {"enable_gqa": True} if hk != h else {}
                times["sdpa_nested"] = timed(
                    lambda: F.scaled_dot_product_attention(qn, kn, vn, is_causal=causal, **kw), reps, warmup)
            except Exception as e:  # a peer that fails is reported, not fatal
                report_failure("sdpa_nested", shape, e)
                times["sdpa_nested"] = None
            # FlexAttention on the packed sequence [1, H, T, d] with a document mask (causal within a document).
            try:
                if flex is None:
                    raise RuntimeError("flex_attention is not available")
                qf, kf, vf = (t.transpose(0, 1).unsqueeze(0).contiguous() for t in (q, k, v))

                def document(b_, h_, qi, kj, causal=causal):
                    same = doc[qi] == doc[kj]
                    return (same & (qi >= kj)) if causal else same

                mask = create_block_mask(document, B=None, H=None, Q_LEN=total, KV_LEN=total, device="cuda")
                kw = {"enable_gqa": True} if hk != h else {}
                times["flex_document"] = timed(lambda: flex(qf, kf, vf, block_mask=mask, **kw), reps, warmup)
            except Exception as e:
                report_failure("flex_document", shape, e)
                times["flex_document"] = None
            pairs = sum(attended_pairs(n, n, causal) for n in lens)
            r = row("varlen", shape, pairs, 1, h, d, times)
            r["lengths"] = lens
            r["seed"] = seed
            rows.append(r)
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    families = ["gqa", "window", "decode", "varlen", "sparse"]
    ap.add_argument("--families", nargs="+", choices=families, default=families)
    ap.add_argument("--varlen-seed", type=int, default=20261207,
                    help="seed of the varlen family's lengths (default: search_spaces/varlen.yaml's, so that the runtime runs its tuned winner)")
    ap.add_argument("--sparse-seed", type=int, default=20261208,
                    help="seed of the sparse family's layouts (core/block_layout.cpp's draw; default 20261208)")
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--json", help="write the rows here")
    a = ap.parse_args()
    if not torch.cuda.is_available():
        print("variants.py: no GPU: the peers can only be measured on a GPU", file=sys.stderr)
        return 3
    rows = []
    for family in a.families:
        if family == "varlen":
            rows += varlen_rows(a.reps, a.warmup, a.varlen_seed)
        elif family == "sparse":
            rows += sparse_rows(a.reps, a.warmup, a.sparse_seed)
        else:
            rows += {"gqa": gqa_rows, "window": window_rows, "decode": decode_rows}[family](a.reps, a.warmup)

    def fmt(x, spec="{:.0f}"):
        return spec.format(x) if x is not None and not (isinstance(x, float) and math.isnan(x)) else "-"

    print(f"GPU: {torch.cuda.get_device_name()}, torch {torch.__version__}, bf16, TFLOP/s over the attended pairs "
          f"(median of {a.reps} after {a.warmup} warm-up, L2 flushed)\n")
    names = sorted({k for r in rows for k in r["tflops"] if k != "flashtune"})
    print("| family | shape | flashtune | " + " | ".join(names) + " | ours / best peer |")
    print("|---|---|---|" + "---|" * len(names) + "---|")
    for r in rows:
        t = r["tflops"]
        print(f"| {r['family']} | {r['shape']} | {fmt(t['flashtune'])} | "
              + " | ".join(fmt(t.get(n)) for n in names) + f" | {fmt(r['ratio'], '{:.2f}')} |")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
