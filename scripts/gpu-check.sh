#!/usr/bin/env bash
# One device run that proves the harness on a GPU: build, every GPU test (`ctest -L gpu`), the CLI paths that
# need a device (a small sweep, show, bench of fa2_fwd and hopper_fwd with one configuration each, bench
# --json), and the unit tests whose GPU branch differs (test_cli, test_hostile_input). Output in $OUT (or
# ./gpu-out): run.log (everything), ctest-gpu.log, bench-hopper.json. CTEST_REGEX limits the GPU tests.
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/gpu-common.sh
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,power.draw --format=csv
t0=$(date +%s)
gpu_build
echo "build $(( $(date +%s) - t0 )) s"
work=$(mktemp -d)
export FLASHTUNE_CACHE_DIR="$work/cache"
regex="${CTEST_REGEX:-.}"
t0=$(date +%s)
ctest --test-dir build -L gpu -R "$regex" --output-on-failure -j1 > "$out/ctest-gpu.log" 2>&1
echo "ctest -L gpu rc=$? ($(( $(date +%s) - t0 )) s)"
grep -E "Test +#|tests passed|Total Test" "$out/ctest-gpu.log" | tail -25
ctest --test-dir build -R "test_cli|test_hostile_input" --output-on-failure -j2 2>&1 | grep -E "Test +#|tests passed|Failure" | head
echo "=== tune search_spaces/small.yaml, then show"
build/flashtune tune -q --db "$work/small.db" search_spaces/small.yaml; echo "tune rc=$?"
build/flashtune show --db "$work/small.db"; echo "show rc=$?"
echo "=== bench: one configuration each of fa2_fwd and hopper_fwd (B4 H16 N4096 d128 bf16)"
build/flashtune bench -q --block-m 128 --block-n 64 --warps 4 --stages 1 --fuse-pv 1 --lazy-rescale 2 --q-regs 0
echo "bench fa2 rc=$?"
build/flashtune bench -q --template hopper_fwd --param block_n=128 --param pingpong=1 --param persistent=1 \
  --json "$out/bench-hopper.json"
echo "bench hopper rc=$?"
