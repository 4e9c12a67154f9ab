#!/usr/bin/env bash
# The Python package on the GPU machine (which cannot download): installs python/ into the torch environment
# from the wheels staged here (scripts/stage-wheels.sh: .gpu-wheels/, carried along), runs every test in
# python/tests (the GPU ones included), then the Python benches (bench/python/): the per-call overhead, and
# TFLOP/s through Python against flashtune-bench on the same tuned kernels (tuned first by flashtune.tune into
# a fresh results store). Output in $OUT (or ./gpu-out): run.log (everything), pip.log, pytest.log,
# pytest.xml, overhead.{md,json}, tune.log, tflops.{md,json}.
#   STEPS="install test overhead tflops" scripts/gpu-python.sh   # the default: every step
#   PYTEST_ARGS="-k lse" STEPS="install test" scripts/gpu-python.sh
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/gpu-common.sh
py="${PYTHON:-/opt/torch/.venv/bin/python3}"
steps=" ${STEPS:-install test overhead tflops} "
wheels=.gpu-wheels
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv
"$py" -c "import sys, torch; print('python', sys.version.split()[0], '| torch', torch.__version__, \
'| CUDA', torch.version.cuda, '|', torch.cuda.get_device_name(0))"
work=$(mktemp -d)
export FLASHTUNE_CACHE_DIR="$work/cache"   # a fresh results store and cubin cache: defaults until tuned

if [[ $steps == *" install "* ]]; then
  inc=$("$py" -c "import sysconfig; print(sysconfig.get_paths()['include'])")
  [ -f "$inc/Python.h" ] || { echo "gpu-python: no Python.h in $inc (the interpreter's headers are needed)"; exit 1; }
  t0=$(date +%s)
  { "$py" -m pip install --no-index --find-links "$wheels" scikit-build-core nanobind pytest &&
    CMAKE_BUILD_PARALLEL_LEVEL=16 "$py" -m pip install -v --no-index --find-links "$wheels" \
      --no-build-isolation -C build-dir="$PWD/build-python-gpu" ./python; } > "$out/pip.log" 2>&1
  rc=$?
  echo "pip install ./python rc=$rc ($(( $(date +%s) - t0 )) s)"
  [ $rc -eq 0 ] || { tail -60 "$out/pip.log"; exit 1; }
  "$py" -c "import flashtune, pprint; pprint.pprint(flashtune.info())"
fi

if [[ $steps == *" test "* ]]; then
  t0=$(date +%s)
  eval "pytest_args=(${PYTEST_ARGS:-})"  # shell words, quotes kept: PYTEST_ARGS="-k 'var or block_sparse'"
  (cd python && "$py" -m pytest tests -v -rs --junitxml="$out/pytest.xml" "${pytest_args[@]}") > "$out/pytest.log" 2>&1
  rc=$?
  [ $rc -eq 5 ] && echo "gpu-python: pytest collected no tests"
  echo "pytest rc=$rc ($(( $(date +%s) - t0 )) s)"
  grep -E "^(FAILED|ERROR)|passed|failed" "$out/pytest.log" | tail -30
fi

if [[ $steps == *" overhead "* ]]; then
  "$py" bench/python/overhead.py --json "$out/overhead.json" | tee "$out/overhead.md"
fi

if [[ $steps == *" tflops "* ]]; then
  t0=$(date +%s)
  gpu_build
  echo "build (flashtune-bench) $(( $(date +%s) - t0 )) s"
  t0=$(date +%s)
  "$py" - > "$out/tune.log" 2>&1 <<'PY'
import flashtune
problems = [flashtune.Problem(16384 // n, 16, n, 128, "bf16", c) for n in (4096, 8192) for c in (False, True)]
for s in flashtune.tune(problems):
    print(s["template"], s["problems"], "problems,", len(s["winners"]), "winners,", round(s["seconds"]["wall"], 1), "s")
    for w in s["winners"]:
        print("  ", w["problem"], w["config"], round(w["tflops"], 1), "TFLOP/s")
PY
  echo "tune rc=$? ($(( $(date +%s) - t0 )) s)"; cat "$out/tune.log"
  "$py" bench/python/tflops.py --bench build/bench/flashtune-bench --db "$FLASHTUNE_CACHE_DIR/flashtune.db" \
    --json "$out/tflops.json" | tee "$out/tflops.md"
fi
