#!/usr/bin/env bash
# CI's correctness gate without a GPU (docs/check.md): `flashtune check --compile-only` over every shipped search
# space, JUnit XML in build/check-junit.xml. It compiles into the tests' cubin cache (build/test-cache), so the
# kernels the tests already compiled are taken from there. Expects a built build/ (scripts/build.sh). Extra
# arguments go to `flashtune check`.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CUDA_HOME:-/usr/local/cuda}/bin:$PATH"
export FLASHTUNE_CACHE_DIR="${FLASHTUNE_CACHE_DIR:-$PWD/build/test-cache}"
start=$(date +%s)
build/flashtune check --compile-only -q --junit build/check-junit.xml "$@"
echo "ci-check: every shipped space compiles as it expects ($(($(date +%s) - start)) s; build/check-junit.xml)"
