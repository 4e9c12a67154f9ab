#!/usr/bin/env bash
# One device run for the reliability issue: build, the GPU tests (the fault-injection sweep among them),
# a kill -9 of the tuner and its trial worker in the middle of the default sweep followed by
# `flashtune tune --resume` (trials lost and repeated are counted), and `flashtune check --top 3 --sanitize`
# on the default space. Output in $OUT (or ./gpu-out): run.log, ctest-gpu.log, check-junit.xml, check.json.
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/gpu-common.sh
gpu_build
if [ "${SKIP_CTEST:-0}" != 1 ]; then
  ctest --test-dir build -L gpu --output-on-failure -j1 > "$out/ctest-gpu.log" 2>&1; echo "ctest -L gpu rc=$?"
  grep -E "Test +#|tests passed|Total Test" "$out/ctest-gpu.log" | tail -12
fi
work=$(mktemp -d)
export FLASHTUNE_CACHE_DIR="$work/cache"
db="$work/resume.db"
count() { python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(c.execute('select count(*) from trials').fetchone()[0])" "$db" 2>/dev/null || echo 0; }
echo "=== kill -9 in the middle of the default sweep"
build/flashtune tune -q --db "$db" > "$work/first.log" 2>&1 &
tuner=$!
for i in $(seq 1 600); do n=$(count); [ "$n" -ge 600 ] && break; sleep 0.1; done
kill -9 $tuner; pkill -9 -f flashtune-trial-worker; pkill -9 -f flashtune-jit-worker; wait $tuner 2>/dev/null
echo "killed the tuner and its workers with $(count) trials stored"
t0=$(date +%s.%N)
build/flashtune tune -q --resume --db "$db"; echo "resume rc=$? wall $(awk "BEGIN{printf \"%.1f\", $(date +%s.%N) - $t0}") s"
python3 - "$db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
sweeps = c.execute("select id, status from sweeps").fetchall()
rows = c.execute("select batch, heads, seqlen, head_dim, dtype, causal, smem_budget, params from trials").fetchall()
print(f"sweeps {sweeps}; trials stored {len(rows)}, distinct {len(set(rows))}, expected 2256; "
      f"lost {2256 - len(set(rows))}, repeated {len(rows) - len(set(rows))}")
PY
echo "=== flashtune check --top 3 --sanitize (default space)"
t0=$(date +%s.%N)
build/flashtune check --top 3 --sanitize --db "$db" --junit "$out/check-junit.xml" --json "$out/check.json" \
  search_spaces/fa2_fwd.yaml; echo "check rc=$? wall $(awk "BEGIN{printf \"%.1f\", $(date +%s.%N) - $t0}") s"
