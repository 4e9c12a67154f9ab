#!/usr/bin/env bash
# One device run for the IO study: build, the GPU tests, then `flashtune tune` on the three templates' IO
# spaces with hardware counters on every verified configuration (measure.profile: all), and
# `flashtune report io` over that database. Output in $OUT (or ./gpu-out): run.log, ctest-gpu.log,
# io-summary.json (the sweeps' summaries), results.tgz (the report: HTML, Markdown, CSV; and the database).
# SKIP_CTEST=1 skips the tests; SPACES overrides the spaces.
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/gpu-common.sh
gpu_build
build/flashtune info | head -3
if [ "${SKIP_CTEST:-0}" != 1 ]; then
  ctest --test-dir build -L gpu --output-on-failure -j1 > "$out/ctest-gpu.log" 2>&1; echo "ctest -L gpu rc=$?"
  grep -E "Test +#|tests passed|Total Test" "$out/ctest-gpu.log" | tail -12
fi
work=$(mktemp -d)
export FLASHTUNE_CACHE_DIR="$work/cache"
spaces="${SPACES:-search_spaces/standard_attn.yaml search_spaces/fa1_fwd.yaml search_spaces/fa2_io.yaml}"
mkdir -p "$work/results"
i=0
for s in $spaces; do
  i=$((i + 1))
  t0=$(date +%s.%N)
  build/flashtune tune "$s" -q --db "$work/results/io.db" --json "$work/summary-$i.json"; rc=$?
  t1=$(date +%s.%N)
  echo "=== $s: rc=$rc wall $(awk "BEGIN{printf \"%.1f\", $t1 - $t0}") s"
done
python3 -c "import json,sys; json.dump([json.load(open(f)) for f in sys.argv[1:]], open('$out/io-summary.json','w'), indent=1)" "$work"/summary-*.json
build/flashtune report io --db "$work/results/io.db" --out "$work/results/io-report"; echo "report rc=$?"
cat "$work/results/io-report/io-report.md" 2>/dev/null | head -150
tar -C "$work" -czf "$out/results.tgz" results
