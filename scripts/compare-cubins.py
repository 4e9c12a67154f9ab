#!/usr/bin/env python3
"""Compares the machine code of two builds of the kernel templates, configuration by configuration.

    flashtune compile --template fa2_fwd --space S --json before.json   # old templates (FLASHTUNE_KERNEL_DIR)
    flashtune compile --template fa2_fwd --space S --json after.json    # new templates, another cache dir
    scripts/compare-cubins.py before.json after.json

Configurations are paired by template, parameters and variant (head_dim, dtype, causal), so a change of a
kernel's template signature (its name expression) still pairs. For each pair it compares the ptxas facts
(registers, spill and stack bytes, shared memory) and the bytes of each kernel's .text section (the SASS), read
from the cubins the JSON names (cubin_dir/cache_key.cubin). Prints one line per pair that differs and a summary;
exit status 0 when every pair has identical code and facts, 1 otherwise, 2 for bad input."""
import argparse
import json
import pathlib
import struct
import sys


def text_sections(cubin: bytes) -> dict:
    """{section name: bytes} of the .text.* sections of an ELF64 little-endian cubin."""
    if cubin[:4] != b"\x7fELF" or cubin[4] != 2 or cubin[5] != 1:
        raise ValueError("not a 64-bit little-endian ELF file")
    shoff = struct.unpack_from("<Q", cubin, 0x28)[0]
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", cubin, 0x3A)
    headers = []
    for i in range(shnum):
        name, _type, _flags, _addr, offset, size = struct.unpack_from("<IIQQQQ", cubin, shoff + i * shentsize)
        headers.append((name, offset, size))
    strtab_off, strtab_size = headers[shstrndx][1], headers[shstrndx][2]
    strtab = cubin[strtab_off:strtab_off + strtab_size]
    out = {}
    for name, offset, size in headers:
        label = strtab[name:strtab.index(b"\0", name)].decode()
        if label.startswith(".text."):
            out[label[len(".text."):]] = cubin[offset:offset + size]
    return out


def key(row: dict) -> tuple:
    return (row["template"], tuple(sorted(row["params"].items())), row["head_dim"], row["dtype"], row["causal"])


def code(doc: dict, row: dict) -> list:
    """The .text bytes of the row's kernels, in the order of its name expressions."""
    path = pathlib.Path(doc["cubin_dir"]) / (row["cache_key"] + ".cubin")
    sections = text_sections(path.read_bytes())
    return [sections.get(row["lowered_names"].get(e, ""), b"") for e in row["name_expressions"]]


FACTS = ("ok", "registers", "spill_bytes", "stack_bytes", "smem_bytes")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("before", type=pathlib.Path)
    ap.add_argument("after", type=pathlib.Path)
    args = ap.parse_args()
    try:
        docs = [json.loads(p.read_text()) for p in (args.before, args.after)]
        rows = [{key(r): r for r in d["configurations"]} for d in docs]
    except (OSError, ValueError, KeyError) as e:
        print(f"compare-cubins: {e}", file=sys.stderr)
        return 2
    common = sorted(set(rows[0]) & set(rows[1]))
    only = len(rows[0]) + len(rows[1]) - 2 * len(common)
    same = differ = 0
    for k in common:
        a, b = rows[0][k], rows[1][k]
        notes = [f"{f} {a.get(f)} -> {b.get(f)}" for f in FACTS if a.get(f) != b.get(f)]
        if a["ok"] and b["ok"]:
            ca, cb = code(docs[0], a), code(docs[1], b)
            if ca != cb:
                sizes = " ".join(f"{len(x)}->{len(y)}" for x, y in zip(ca, cb))
                notes.append(f"code differs (.text bytes {sizes})")
        if notes:
            differ += 1
            print(f"{b['label']}: {'; '.join(notes)}")
        else:
            same += 1
    print(f"{len(common)} configurations paired ({only} unpaired): {same} identical code and facts, "
          f"{differ} differ")
    return 0 if differ == 0 and only == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
