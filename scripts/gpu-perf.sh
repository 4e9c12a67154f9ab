#!/usr/bin/env bash
# One device run for kernel performance (issue 6): build the tool, tune the performance spaces (SPACES, default
# search_spaces/fa2_perf.yaml) on the acceptance shapes, list the fastest trials per problem, then the peers
# (SDPA FLASH / CUDNN) on the same shapes and the ratio table. Output in $OUT (or ./gpu-out): run.log,
# tune-*.json, top.txt, peers.md, perf.db.
set -uo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-gpu-out}"; mkdir -p "$out"
for f in .gpu-deps/*.deb; do [ -f "$f" ] && dpkg -x "$f" /; done
export PATH=/usr/local/cuda/bin:$PATH
exec > >(tee "$out/run.log") 2>&1
{ cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release &&
  cmake --build build -j16 --target flashtune flashtune-trial-worker flashtune-jit-worker ${EXTRA_TARGETS:-}; } \
  > "$out/build.log" 2>&1 || { tail -60 "$out/build.log"; exit 1; }
rm -f "$out/build.log"
build/flashtune info
work=$(mktemp -d)
export FLASHTUNE_CACHE_DIR="$work/cache"
jsons=()
for space in ${SPACES:-search_spaces/fa2_perf.yaml}; do
  name=$(basename "$space" .yaml)
  t0=$(date +%s.%N)
  build/flashtune tune "$space" -q --db "$out/perf.db" --json "$out/tune-$name.json"; rc=$?
  t1=$(date +%s.%N)
  echo "=== tune $space: rc=$rc wall $(awk "BEGIN{printf \"%.1f\", $t1 - $t0}") s"
  jsons+=(--flashtune "$out/tune-$name.json")
done
python3 scripts/top-trials.py "$out/perf.db" --top ${TOP:-6} > "$out/top.txt"; head -c 20000 "$out/top.txt"
/opt/torch/.venv/bin/python3 bench/peers.py "${jsons[@]}" --n ${PEER_N:-2048 4096 8192 16384} | tee "$out/peers.md"
