#!/usr/bin/env bash
# The benchmark shape table: flashtune's default grid (best verified configuration per shape) against SDPA FLASH and
# CUDNN, bf16, 16384 tokens, hidden 2048, in one device run. Output in $OUT (or ./gpu-out).
set -uo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-gpu-out}"; mkdir -p "$out"
for f in .gpu-deps/*.deb; do [ -f "$f" ] && dpkg -x "$f" /; done
export PATH=/usr/local/cuda/bin:$PATH
{ cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release && cmake --build build -j16; } > "$out/build.log" 2>&1 || exit 1
args=()
for d in 64 128; do for c in "" "--causal"; do for n in 512 1024 2048 4096 8192 16384; do
  j="$out/tmp-d$d-n$n${c:+-causal}.json"
  build/flashtune bench -q -d $d -n $n --batch $((16384 / n)) --heads $((2048 / d)) $c --json "$j" \
    > /dev/null 2>>"$out/bench-errors.log"; echo "d=$d n=$n $c rc=$?"
  args+=(--flashtune "$j")
done; done; done
python3 -c "import json,sys; json.dump(sum((json.load(open(f)) for f in sys.argv[1:]), []), open('$out/shapes.json','w'), indent=1)" "$out"/tmp-*.json
rm -f "$out"/tmp-*.json
/opt/torch/.venv/bin/python3 bench/peers.py --flashtune "$out/shapes.json" | tee "$out/peers.md"
