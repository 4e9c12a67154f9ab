#!/usr/bin/env bash
# Fuzzes the search-space loader and the constraint-expression parser with libFuzzer (docs/fuzzing.md).
#
#   scripts/fuzz.sh [space|expr|all] [seconds]   # build, then fuzz (default: all, 600 s; `all` runs both at once)
#   scripts/fuzz.sh merge [space|expr|all]       # minimize scratch + committed units into tests/fuzz/corpus/
#   scripts/fuzz.sh replay [space|expr|all]      # run the committed corpus once under the sanitizers
#   scripts/fuzz.sh build                        # only build
#
# The fuzz build is separate from the normal (g++) one: build-fuzz/, clang, -fsanitize=fuzzer-no-link,address,
# undefined for the libraries and -fsanitize=fuzzer,address,undefined for the targets. New corpus entries go to
# the scratch folder build-fuzz/corpus/<target>/, crashes to build-fuzz/artifacts/<target>/, logs to
# build-fuzz/logs/. The committed corpus is read, never written, except by `merge`.
#
# Environment: FUZZ_RSS_MB (default 2048), FUZZ_TIMEOUT (seconds per input, default 5), FUZZ_BUILD_JOBS.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CUDA_HOME:-/usr/local/cuda}/bin:$PATH"  # the project's CMake finds the CUDA toolkit (no CUDA used)

build=build-fuzz
rss_mb=${FUZZ_RSS_MB:-2048}
timeout_s=${FUZZ_TIMEOUT:-5}

# target name -> binary, maximum input length, seed folders kept elsewhere in the tree (read, never written)
binary() { case $1 in space) echo fuzz_space_loader ;; expr) echo fuzz_expr ;; esac; }
seed_dirs() { case $1 in space) echo search_spaces tests/space/bad ;; expr) ;; esac; }
max_len() { case $1 in space) echo 4096 ;; expr) echo 4200 ;; esac; }  # expr: past Expr::kMaxLength (4096)

targets() {
  case ${1:-all} in
    all) echo space expr ;;
    space | fuzz_space_loader) echo space ;;
    expr | fuzz_expr) echo expr ;;
    *) echo "fuzz.sh: unknown target '$1' (space, expr, all)" >&2; exit 2 ;;
  esac
}

do_build() {
  local flags="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -O1 -g"
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" \
    -DFLASHTUNE_BUILD_FUZZERS=ON -DFLASHTUNE_BUILD_TESTS=ON -DFLASHTUNE_BUILD_BENCH=OFF >/dev/null
  cmake --build "$build" --target fuzz_space_loader fuzz_expr -j"${FUZZ_BUILD_JOBS:-$(nproc)}"
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:detect_stack_use_after_return=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

# The options every run shares.
common() {
  echo -rss_limit_mb="$rss_mb" -timeout="$timeout_s" -max_len="$(max_len "$1")" -dict="tests/fuzz/$1.dict"
}

fuzz_one() {  # target seconds
  local t=$1 seconds=$2 log
  mkdir -p "$build/corpus/$t" "$build/artifacts/$t" "$build/logs"
  log="$build/logs/$t-$(date +%Y%m%d-%H%M%S).log"
  echo "fuzz.sh: $t for ${seconds}s, log $log"
  # Scratch first: libFuzzer writes new units into the first folder and only reads the committed one.
  "$build/tests/fuzz/$(binary "$t")" $(common "$t") -max_total_time="$seconds" -print_final_stats=1 \
    -artifact_prefix="$build/artifacts/$t/" "$build/corpus/$t" "tests/fuzz/corpus/$t" $(seed_dirs "$t") \
    >"$log" 2>&1 || {
    echo "fuzz.sh: $t FAILED (finding in $build/artifacts/$t/), see $log" >&2
    tail -40 "$log" >&2
    return 1
  }
  grep -E '^(#[0-9]+[[:space:]]+DONE|Done|stat::)' "$log" | sed "s/^/$t: /" || true
}

case ${1:-all} in
  build)
    do_build
    ;;
  merge)
    # The named files (seed-*, regress-*, and the seed folders) are kept as they are; the hash-named units are
    # chosen again, from the committed ones and the scratch corpus, for the edges that the named files miss.
    # -use_counters=0: a unit is kept for a new edge only, not for a new hit count (3x fewer files).
    do_build
    hash='.*/[0-9a-f]{40}'  # libFuzzer names the units it writes by their SHA-1
    for t in $(targets "${2:-all}"); do
      corpus=tests/fuzz/corpus/$t out=$build/merge/$t/out pool=$build/merge/$t/pool
      mkdir -p "$build/corpus/$t"
      rm -rf "$build/merge/$t" && mkdir -p "$out" "$pool"
      before=$(ls "$corpus" | wc -l)
      find "$corpus" -maxdepth 1 -type f -regextype posix-extended ! -regex "$hash" -exec cp {} "$out/" \;
      for d in $(seed_dirs "$t"); do
        for f in "$d"/*; do cp "$f" "$out/seed-dir-$(basename "$d")-$(basename "$f")"; done
      done
      find "$corpus" -maxdepth 1 -type f -regextype posix-extended -regex "$hash" -exec cp {} "$pool/" \;
      "$build/tests/fuzz/$(binary "$t")" $(common "$t") -merge=1 -use_counters=0 "$out" "$pool" \
        "$build/corpus/$t" >"$build/logs/$t-merge.log" 2>&1 || { tail -20 "$build/logs/$t-merge.log" >&2; exit 1; }
      grep -E 'MERGE-OUTER: [0-9]+ new files' "$build/logs/$t-merge.log" || true
      find "$corpus" -maxdepth 1 -type f -regextype posix-extended -regex "$hash" -delete
      find "$out" -maxdepth 1 -type f -regextype posix-extended -regex "$hash" -exec cp {} "$corpus/" \;
      echo "fuzz.sh: $corpus: $before -> $(ls "$corpus" | wc -l) files, $(du -sb "$corpus" | cut -f1) bytes"
    done
    ;;
  replay)
    do_build
    for t in $(targets "${2:-all}"); do
      "$build/tests/fuzz/$(binary "$t")" $(common "$t") -runs=0 "tests/fuzz/corpus/$t" $(seed_dirs "$t") 2>&1 |
        tail -3
    done
    ;;
  *)
    seconds=${2:-600}
    do_build
    mkdir -p "$build/logs"
    pids=()
    for t in $(targets "$1"); do
      fuzz_one "$t" "$seconds" &
      pids+=($!)
    done
    status=0
    for p in "${pids[@]}"; do wait "$p" || status=1; done
    exit $status
    ;;
esac
