#!/usr/bin/env bash
# One device run for the sweeps: build, the GPU tests, then `flashtune tune` on the default space three times:
#   cold   empty cubin cache, empty results cache
#   warm   warm cubin cache, empty results cache
#   cached the warm run's results cache (answers without measuring)
# then the exports and the peers (SDPA FLASH / CUDNN) on the same shapes. Output in $OUT (or ./gpu-out):
# run.log, ctest-gpu.log, tune-cold.json, tune-warm.json, peers.md, results.tgz (exports + the database).
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/gpu-common.sh
gpu_build
build/flashtune info
nproc
if [ "${SKIP_CTEST:-0}" != 1 ]; then
  ctest --test-dir build -L gpu --output-on-failure -j1 > "$out/ctest-gpu.log" 2>&1; echo "ctest -L gpu rc=$?"
  grep -E "tests passed|Passed|Failed|Skipped|Total Test" "$out/ctest-gpu.log" | tail -8
fi
work=$(mktemp -d)
export FLASHTUNE_CACHE_DIR="$work/cache"
space="${SPACE:-search_spaces/fa2_fwd.yaml}"
run_tune() {  # name db
  local t0 t1 rc
  t0=$(date +%s.%N)
  build/flashtune tune "$space" -q --db "$2" --json "$out/tune-$1.json" > "$work/tune-$1.txt"; rc=$?
  t1=$(date +%s.%N)
  echo "=== tune $1: rc=$rc wall $(awk "BEGIN{printf \"%.1f\", $t1 - $t0}") s"
  cat "$work/tune-$1.txt"
}
run_tune cold "$work/cold.db"
run_tune warm "$work/warm.db"
run_tune cached "$work/warm.db"
rm -f "$out/tune-cached.json"
mkdir -p "$work/results"
for fmt in yaml json header; do
  ext=$fmt; [ $fmt = header ] && ext=hpp
  build/flashtune export --db "$work/warm.db" --all --format $fmt -o "$work/results/best.$ext"
done
build/flashtune show --db "$work/warm.db" --all
cp "$work/warm.db" "$work/results/flashtune.db"
cp "$work"/tune-*.txt "$work/results/"
tar -C "$work" -czf "$out/results.tgz" results
/opt/torch/.venv/bin/python3 bench/peers.py --flashtune "$out/tune-warm.json" --n 1024 4096 | tee "$out/peers.md"
