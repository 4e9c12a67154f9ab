#!/usr/bin/env bash
# The unit tests (ctest label "unit") again, built with AddressSanitizer and UndefinedBehaviorSanitizer (g++), in
# build-asan/.
# NVRTC-throughput tests (test_fa2_compile, test_templates_compile, test_hopper_compile: 150-200 s of NVRTC
# each) are left out: their host code is what the other tests cover, and NVRTC itself is not instrumented.
# GPU tests skip without a GPU, as in scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CUDA_HOME:-/usr/local/cuda}/bin:$PATH"
flags="-O1 -g1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
# Build type "None": only these flags (-O1 keeps the sanitized build quick; -g1 gives line numbers).
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=None -DFLASHTUNE_BUILD_BENCH=OFF \
  -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null
# Only the unit-labelled tests that run below are built (and what they depend on): the GPU tests would only
# skip here, and NVRTC's throughput tests are left out (see above).
# test_install is left out too: it installs the shared runtime library (not built here) and builds a consumer
# project against it, which is about packaging, not memory errors; it runs in the normal build.
skip='test_fa2_compile|test_templates_compile|test_hopper_compile|test_profile_host|test_install'
tests=$(ctest --test-dir build-asan -N -L unit | awk '/Test +#/ {print $3}' | grep -v -E "^($skip)\$")
# Test names that are build targets (a few tests run another test's binary on other fixtures).
targets=$(ninja -C build-asan -t targets all | sed 's/:.*//' | grep -x -F "$tests")
# shellcheck disable=SC2086  # one target per word
cmake --build build-asan -j"$(nproc)" --target flashtune flashtune-trial-worker flashtune-jit-worker $targets
# Leaks inside libnvrtc / libcupti (not ours, not instrumented) are not findings; everything else is.
# test_profile_host is left out too: CUPTI dlopens libnvperf_host.so with RTLD_DEEPBIND, which the ASan
# runtime refuses (google/sanitizers#611) before any of our code runs; it runs in the normal build.
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:strict_string_checks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
ctest --test-dir build-asan --output-on-failure -j"$(nproc)" -L unit -E "^($skip)\$" "$@"
