#!/usr/bin/env bash
# The Python package's CI check, without a GPU: builds python/ (scikit-build-core + nanobind, the runtime from
# this tree) into a virtual environment, build-python-venv/, with its CMake build kept in build-python/ (both
# git-ignored: a rerun recompiles only what changed), then runs python/tests with pytest (the GPU tests skip).
# pytest's exit code 5 (no test collected) is a failure. Needs python3-venv and python3-dev (scripts/setup.sh).
#   scripts/test-python.sh              # extra arguments go to pytest
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CUDA_HOME:-/usr/local/cuda}/bin:$PATH"
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}"
# Through ccache when it is installed: the harness sources compile with the flags of scripts/build.sh's build,
# so after it they come from the cache (CCACHE_BASEDIR: paths relative to the tree) and only the module and the
# link are left. (CMake reads CMAKE_CXX_COMPILER_LAUNCHER from the environment when it configures a new build.)
# The compiler must be named as scripts/build.sh's CMake names it (c++): ccache keys on the compiler's path,
# and scikit-build-core would otherwise pick g++ and miss every object.
if command -v ccache >/dev/null; then
  export CMAKE_CXX_COMPILER_LAUNCHER=ccache CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}"
  export CXX="${CXX:-$(command -v c++)}"
fi
venv=build-python-venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
py="$venv/bin/python"
# The build dependencies live in the venv (not in pip's throw-away isolation env), so that the kept CMake
# build dir keeps pointing at the same nanobind.
"$py" -m pip install -q scikit-build-core nanobind pytest numpy
t0=$(date +%s)
"$py" -m pip install -q --no-build-isolation -C build-dir="$PWD/build-python" ./python
echo "test-python: pip install ./python: $(( $(date +%s) - t0 )) s"
set +e
(cd python && "../$py" -m pytest tests -q -rs "$@")
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "test-python: pytest collected no tests" >&2
  exit 1
fi
exit "$rc"
