#!/usr/bin/env bash
# One device run: build, GPU tests, the default-grid bench on d=128 N=4096 benchmark shape, and the peers.
# Logs and JSON go to $OUT (or ./gpu-out). Usage on the GPU machine: scripts/gpu-run.sh
set -uo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-gpu-out}"; mkdir -p "$out"
for f in .gpu-deps/*.deb; do [ -f "$f" ] && dpkg -x "$f" /; done
export PATH=/usr/local/cuda/bin:$PATH
{ cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release && cmake --build build -j16; } > "$out/build.log" 2>&1 \
  || { tail -40 "$out/build.log"; exit 1; }
build/flashtune info | tee "$out/info.txt"
ctest --test-dir build -L gpu --output-on-failure -j1 > "$out/ctest-gpu.log" 2>&1; echo "ctest -L gpu rc=$?"
tail -8 "$out/ctest-gpu.log"
build/flashtune bench -q --json "$out/bench-d128-n4096.json" | tee "$out/bench.txt"
/opt/torch/.venv/bin/python3 bench/peers.py --flashtune "$out/bench-d128-n4096.json" --d 128 --n 4096 --causal no \
  | tee "$out/peers.txt"
