#!/usr/bin/env bash
# CI's correctness gate without a GPU (docs/check.md): `flashtune check --compile-only` over every shipped search
# space, JUnit XML in build/check-junit.xml. It compiles into the tests' cubin cache (build/test-cache), so the
# kernels the tests already compiled are taken from there. Expects a built build/ (scripts/build.sh). Extra
# arguments go to `flashtune check`.
# A sample of CHECK_SAMPLE (default 16) configurations per space, drawn with a seed taken from the commit (so
# each commit checks another sample, and a failure is reproduced by the seed it prints); CHECK_SAMPLE=0: all.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CUDA_HOME:-/usr/local/cuda}/bin:$PATH"
export FLASHTUNE_CACHE_DIR="${FLASHTUNE_CACHE_DIR:-$PWD/build/test-cache}"
start=$(date +%s)
sample="${CHECK_SAMPLE:-16}"
args=()
if [ "$sample" -gt 0 ]; then
  seed=$(( 16#$(git rev-parse --short=12 HEAD 2>/dev/null || echo 0) ))
  echo "ci-check: --sample $sample --seed $seed (reproduce: build/flashtune check --compile-only --sample $sample --seed $seed)"
  args=(--sample "$sample" --seed "$seed")
fi
build/flashtune check --compile-only -q --junit build/check-junit.xml "${args[@]}" "$@"
echo "ci-check: every checked configuration of the shipped spaces compiles as expected ($(($(date +%s) - start)) s; build/check-junit.xml)"
