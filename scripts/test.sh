#!/usr/bin/env bash
# The test command: build, then every CTest test. GPU tests (label gpu) report "skipped" without a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
ctest --test-dir build --output-on-failure -j"$(nproc)" "$@"
