#!/usr/bin/env python3
"""The fastest stored trials per problem of a flashtune database, and the trial count by status.

  python3 scripts/top-trials.py DB [--top 5] [--template fa2_fwd]
"""
import argparse
import collections
import sqlite3


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("db")
    ap.add_argument("--top", type=int, default=5)
    ap.add_argument("--template")
    args = ap.parse_args()
    con = sqlite3.connect(f"file:{args.db}?mode=ro", uri=True)
    where, bind = "", ()
    if args.template:
        where, bind = "WHERE template_id = ?", (args.template,)
    counts = collections.Counter(s for (s,) in con.execute(f"SELECT status FROM trials {where}", bind))
    print("trials by status:", ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    rows = con.execute(
        f"""SELECT template_id, head_dim, seqlen, causal, batch, heads, params, registers, spill_bytes,
                   smem_bytes, blocks_per_sm, COALESCE(remeasured_ms, median_ms), tflops, smem_budget
            FROM trials {where} {'AND' if where else 'WHERE'} status = 'ok' AND tflops IS NOT NULL""",
        bind,
    ).fetchall()
    by_problem = collections.defaultdict(list)
    for r in rows:
        by_problem[(r[0], r[1], r[2], r[3])].append(r)
    for key in sorted(by_problem):
        t, d, n, causal = key
        seen, best = set(), []
        for r in sorted(by_problem[key], key=lambda r: -r[12]):  # one line per configuration: its best budget
            if r[6] not in seen and len(best) < args.top:
                seen.add(r[6])
                best.append(r)
        print(f"\n{t} d{d} N{n} {'causal' if causal else 'non-causal'} (B{best[0][4]} H{best[0][5]})")
        for r in best:
            print(f"  {r[12]:7.1f} TFLOP/s  {r[11]:.4f} ms  regs {r[7]:3d} spill {r[8]:4d} smem {r[9]:6d} "
                  f"blocks/SM {r[10]}  {r[6]}")


if __name__ == "__main__":
    main()
