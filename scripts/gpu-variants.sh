#!/usr/bin/env bash
# The attention variants on the GPU in one device run (issue 16): build, the variant GPU tests (C++), then the
# variant spaces tuned into a fresh results store, then the Python package installed and its variant tests
# run, then bench/python/variants.py against the peers, so that the runtime picks the tuned winners. Output in
# $OUT (or ./gpu-out): run.log, ctest-variants.log, tune-<space>.log, pytest.log, peers.{md,json,err}.
#   STEPS="build test tune python peers" scripts/gpu-variants.sh    # the default: every step
#   SPACES="search_spaces/gqa.yaml" STEPS="build tune python peers" FAMILIES="gqa" scripts/gpu-variants.sh
# (pytest -k "var or block_sparse": the variant, varlen and block-sparse tests.) Carry .gpu-deps and .gpu-wheels (scripts/stage-debs.sh, scripts/stage-wheels.sh).
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/gpu-common.sh
py="${PYTHON:-/opt/torch/.venv/bin/python3}"
steps=" ${STEPS:-build test tune python peers} "
spaces="${SPACES:-search_spaces/gqa.yaml search_spaces/window.yaml search_spaces/decode.yaml search_spaces/varlen.yaml search_spaces/block_sparse.yaml}"
families="${FAMILIES:-gqa window decode varlen sparse}"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv
work=$(mktemp -d)
export FLASHTUNE_CACHE_DIR="$work/cache"  # a fresh results store: the tune step's winners are what runs

if [[ $steps == *" build "* ]]; then
  t0=$(date +%s)
  gpu_build
  echo "build $(( $(date +%s) - t0 )) s"
fi
if [[ $steps == *" test "* ]]; then
  t0=$(date +%s)
  ctest --test-dir build -R "test_variants_gpu|test_runtime_gpu" --output-on-failure -j1 \
    > "$out/ctest-variants.log" 2>&1
  echo "variant GPU tests rc=$? ($(( $(date +%s) - t0 )) s)"
  grep -E "Test +#|tests passed" "$out/ctest-variants.log" | tail -4
fi
if [[ $steps == *" tune "* ]]; then
  for s in $spaces; do
    t0=$(date +%s)
    name=$(basename "$s" .yaml)
    build/flashtune tune -q "$s" > "$out/tune-$name.log" 2>&1
    echo "tune $s rc=$? ($(( $(date +%s) - t0 )) s)"
    tail -3 "$out/tune-$name.log"
  done
fi
if [[ $steps == *" python "* ]]; then
  # gpu-python.sh keeps its own log and results store; its pytest log is copied here.
  STEPS="install test" PYTEST_ARGS="${PYTEST_ARGS:--q -k 'var or block_sparse'}" OUT="$work/python" \
    scripts/gpu-python.sh > /dev/null 2>&1
  cp "$work/python/pytest.log" "$out/pytest.log"
  echo "python: $(grep -E "passed|failed" "$out/pytest.log" | tail -1)"
fi
if [[ $steps == *" peers "* ]]; then
  # shellcheck disable=SC2086
  "$py" bench/python/variants.py --families $families --reps "${REPS:-20}" --warmup 3 \
    --json "$out/peers.json" > "$out/peers.md" 2> "$out/peers.err"
  echo "peers rc=$?"
  cat "$out/peers.md"
fi
