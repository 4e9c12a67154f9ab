#!/usr/bin/env bash
# Configures and builds flashtune into build/ (Release, Ninja). Extra arguments go to the CMake configure step.
# With ccache installed (scripts/setup.sh), compiles go through it, paths taken relative to the source tree
# (CCACHE_BASEDIR): the Python package's build of the same sources (scripts/test-python.sh) then hits the cache.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CUDA_HOME:-/usr/local/cuda}/bin:$PATH"
launcher=()
if command -v ccache >/dev/null; then
  export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}"
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" "$@" >/dev/null
cmake --build build -j"$(nproc)"
