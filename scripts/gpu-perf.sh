#!/usr/bin/env bash
# One device run for kernel performance (issue 6): build, the kernels' GPU tests (GPU_TESTS, a ctest regex;
# empty to skip), tune the performance spaces (SPACES, default search_spaces/fa2_perf.yaml) on the acceptance
# shapes, list the fastest trials per problem, time the cached best of each template with flashtune-bench
# (Google Benchmark), ncu's warp-state and scheduler sections for one kernel (NCU_D/NCU_N), then the peers
# (SDPA FLASH / CUDNN) on the same shapes and the ratio table. Output in $OUT (or ./gpu-out): run.log, top.txt,
# bench.json, peers-*.md, perf.db, ncu-d*.txt, tune-*.json, clocks.csv (nvidia-smi: SM clock, power,
# temperature, clock-event reasons every 200 ms; read only).
#   DB=file      time the winners stored in this results database instead of tuning (SPACES ignored)
#   PEERS=...    "interleaved" (default): bench/peers.py --bench, ours and the peers per shape, A-B-A, with
#                the peers' protocol; "after": flashtune-bench over every shape (Google Benchmark's min-time
#                rule, bench.json), then the peers; both, in the order given.
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/gpu-common.sh
stamp() { echo "=== $(date +%T.%N | cut -c1-12) $*"; }
tests="${GPU_TESTS-test_fa2_gpu}"
targets="flashtune flashtune-trial-worker flashtune-jit-worker flashtune-bench"
[ -n "$tests" ] && targets="$targets $(echo "$tests" | tr '|' ' ')"
{ cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release && cmake --build build -j16 --target $targets; } \
  > "$out/build.log" 2>&1 || { tail -60 "$out/build.log"; exit 1; }
rm -f "$out/build.log"
build/flashtune info
work=$(mktemp -d)
reasons=clocks_event_reasons.active
nvidia-smi --query-gpu=$reasons --format=csv > /dev/null 2>&1 || reasons=clocks_throttle_reasons.active
nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,power.draw,temperature.gpu,$reasons \
  --format=csv -lms 200 > "$out/clocks.csv" 2>&1 &
smi=$!
trap 'kill $smi 2>/dev/null' EXIT
if [ -n "$tests" ]; then
  t0=$(date +%s)
  ctest --test-dir build -R "$tests" --output-on-failure -j1 > "$work/ctest.log" 2>&1; rc=$?
  echo "=== ctest -R '$tests': rc=$rc $(( $(date +%s) - t0 )) s"
  grep -E "tests passed|Passed|Failed|Skipped|Total Test|FAILED|Failure" "$work/ctest.log" | head -30
fi
export FLASHTUNE_CACHE_DIR="$work/cache"
db="$work/perf.db"
jsons=()
[ -n "${DB:-}" ] && { cp "$DB" "$db" || exit 1; SPACES=" "; }
for space in ${SPACES:-search_spaces/fa2_perf.yaml}; do
  name=$(basename "$space" .yaml)
  t0=$(date +%s.%N); stamp "tune $space"
  build/flashtune tune "$space" -q --db "$db" --json "$out/tune-$name.json"; rc=$?
  t1=$(date +%s.%N)
  echo "=== tune $space: rc=$rc wall $(awk "BEGIN{printf \"%.1f\", $t1 - $t0}") s"
done
python3 scripts/top-trials.py "$db" --top ${TOP:-6} > "$out/top.txt"; head -c 6000 "$out/top.txt"
n_list="${PEER_N:-2048 4096 8192 16384}"
fa2_metrics='regex:smsp__average_warps_issue_stalled_.*_per_issue_active\.ratio,sm__pipe_tensor_op_hmma_cycles_active.avg.pct_of_peak_sustained_active,sm__inst_executed_pipe_xu.avg.pct_of_peak_sustained_active'
for d in ${NCU_D-128}; do  # ncu on each head dim's winner at N = NCU_N, non-causal
  ncu --clock-control none --section WarpStateStats --section SchedulerStats --section ComputeWorkloadAnalysis \
    --section Occupancy --section MemoryWorkloadAnalysis_Tables \
    --metrics "${NCU_METRICS:-$fa2_metrics}" \
    -k "regex:${NCU_KERNEL:-fa2_fwd}" -c 1 \
    build/bench/flashtune-bench --db "$db" --templates "${NCU_TEMPLATE:-fa2_fwd}" --d "$d" \
    --n "${NCU_N:-4096}" --causal no --benchmark_min_time=1x > "$out/ncu-d$d.txt" 2>&1
  echo "=== ncu d$d rc=$?"; grep -E "stalled|Issue Slots|Eligible Warps|pipe_|Warp Cycles Per Issued" "$out/ncu-d$d.txt" | head -40
done
[ -z "${DB:-}" ] &&
  python3 -c "import sqlite3,sys; s=sqlite3.connect(sys.argv[1]); d=sqlite3.connect(sys.argv[2]); s.backup(d)" \
    "$db" "$out/perf.db"
py=/opt/torch/.venv/bin/python3
for mode in ${PEERS:-interleaved}; do
  stamp "peers $mode"
  case $mode in
    after)
      build/bench/flashtune-bench --db "$db" --n "$(echo $n_list | tr ' ' ',')" --benchmark_out="$out/bench.json" \
        --benchmark_out_format=json --benchmark_min_time=0.3s
      echo "=== flashtune-bench rc=$?"; stamp "peers after: SDPA"
      $py bench/peers.py --flashtune "$out/bench.json" --n $n_list | tee "$out/peers-after.md" ;;
    interleaved)
      $py bench/peers.py --bench build/bench/flashtune-bench --bench-db "$db" --n $n_list \
        --out "$work/peers-interleaved.json" | tee "$out/peers-interleaved.md" ;;
    *) echo "PEERS: unknown mode '$mode' (interleaved, after)"; exit 2 ;;
  esac
done
stamp done
