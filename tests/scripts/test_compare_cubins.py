#!/usr/bin/env python3
"""scripts/compare-cubins.py on real compiles (no GPU): `flashtune compile --json` of one fa2_fwd configuration
with the shipped templates, again from an identical copy of them (identical code: exit 0), and from a copy
whose exponent-base slack differs (the lazy_rescale 2 path's code changes: exit 1, the configuration named).

    test_compare_cubins.py FLASHTUNE_EXE SOURCE_DIR"""
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile


def compile_json(exe, kernel_dir, cache, out):
    env = dict(os.environ, FLASHTUNE_KERNEL_DIR=str(kernel_dir), FLASHTUNE_CACHE_DIR=str(cache))
    args = [exe, "compile", "-q", "--template", "fa2_fwd", "-d", "64", "--dtype", "bf16", "--causal", "no",
            "--json", str(out)]
    for kv in ("block_m=64", "block_n=64", "warps=4", "stages=1", "lazy_rescale=2"):
        args += ["--param", kv]
    subprocess.run(args, env=env, check=True, stdout=subprocess.DEVNULL)
    return json.loads(out.read_text())


def compare(source, a, b):
    r = subprocess.run([sys.executable, str(source / "scripts/compare-cubins.py"), str(a), str(b)],
                       capture_output=True, text=True)
    return r.returncode, r.stdout + r.stderr


def main():
    exe, source = sys.argv[1], pathlib.Path(sys.argv[2])
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        shipped = compile_json(exe, source / "kernel_templates", tmp / "c1", tmp / "a.json")
        rows = shipped["configurations"]
        if len(rows) != 1 or not rows[0]["ok"]:
            failures.append(f"one compiled configuration expected: {rows}")
        row = rows[0]
        for key in ("template", "params", "head_dim", "dtype", "causal", "cache_key", "registers", "spill_bytes",
                    "smem_bytes", "name_expressions", "lowered_names"):
            if key not in row:
                failures.append(f"--json lacks '{key}'")
        if not (pathlib.Path(shipped["cubin_dir"]) / (row["cache_key"] + ".cubin")).is_file():
            failures.append("the cubin the JSON names is not there")

        copy = tmp / "same"
        shutil.copytree(source / "kernel_templates", copy)
        compile_json(exe, copy, tmp / "c2", tmp / "b.json")
        rc, text = compare(source, tmp / "a.json", tmp / "b.json")
        if rc != 0 or "1 identical code and facts, 0 differ" not in text:
            failures.append(f"identical templates: exit {rc}, {text}")

        changed = tmp / "changed"
        shutil.copytree(source / "kernel_templates", changed)
        fa2 = changed / "fa2_fwd.cuh"
        text = fa2.read_text()
        slack = "kRescaleSlack = kLazy == 2 ? 8.0f : 0.0f;"
        if slack not in text:
            failures.append("fa2_fwd.cuh no longer spells the slack this test changes")
        fa2.write_text(text.replace(slack, "kRescaleSlack = kLazy == 2 ? 7.0f : 0.0f;"))
        compile_json(exe, changed, tmp / "c3", tmp / "c.json")
        rc, text = compare(source, tmp / "a.json", tmp / "c.json")
        if rc != 1 or "code differs" not in text or "lazy_rescale=2" not in text:
            failures.append(f"changed template: exit {rc}, {text}")
    for f in failures:
        print("FAIL:", f)
    print("ok" if not failures else f"{len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
