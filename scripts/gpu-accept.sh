#!/usr/bin/env bash
# One device run that checks a change for "no behaviour change" (issue 14's acceptance): the performance
# spaces tuned with the build of a base commit and with this tree's build, one after the other on the same
# GPU, then `flashtune compare base new` (SAME or FASTER expected for every problem; exit 7 when one is
# SLOWER). Output in $OUT (or ./gpu-out): run.log, compare.txt, compare.json, base.db, new.db, the tune
# summaries.
#   BASE_TAR  the base commit's sources as a gzipped tar (default build-accept/base.tar.gz; build-accept/ is
#             git-ignored, so carry it to the device), made with e.g.
#             git archive COMMIT $(git ls-tree --name-only COMMIT | grep -vE '^(results|docs)$') | gzip > ...
#   SPACES    the spaces (default: search_spaces/fa2_perf.yaml search_spaces/hopper_fwd.yaml)
#   ROUNDS    base-then-new rounds per space (default 1; each round's result is stored, compare takes the best)
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/gpu-common.sh
stamp() { echo "=== $(date +%T) $*"; }
base_tar="${BASE_TAR:-build-accept/base.tar.gz}"
[ -f "$base_tar" ] || { echo "no base sources at $base_tar (BASE_TAR)"; exit 2; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,power.draw --format=csv
t0=$(date +%s)
gpu_build
echo "build (this tree) $(( $(date +%s) - t0 )) s"
t0=$(date +%s)
base_src=build-accept/base-src
rm -rf "$base_src" && mkdir -p "$base_src" && tar -xzf "$base_tar" -C "$base_src" || exit 1
{ cmake -S "$base_src" -B build-accept/base-build -G Ninja -DCMAKE_BUILD_TYPE=Release &&
  cmake --build build-accept/base-build -j16 --target flashtune flashtune-trial-worker flashtune-jit-worker; } \
  > "$out/base-build.log" 2>&1 || { tail -40 "$out/base-build.log"; exit 1; }
rm -f "$out/base-build.log"
echo "build (base) $(( $(date +%s) - t0 )) s"
work=$(mktemp -d)
for round in $(seq "${ROUNDS:-1}"); do
  for space in ${SPACES:-search_spaces/fa2_perf.yaml search_spaces/hopper_fwd.yaml}; do
    name=$(basename "$space" .yaml)
    for side in base new; do
      bin=build/flashtune
      [ "$side" = base ] && bin=build-accept/base-build/flashtune
      t0=$(date +%s); stamp "round $round: tune $space with the $side build"
      FLASHTUNE_CACHE_DIR="$work/cache-$side" "$bin" tune "$space" -q --db "$out/$side.db" \
        --json "$work/tune-$side-$name-$round.json"
      echo "tune rc=$? $(( $(date +%s) - t0 )) s"
    done
  done
done
stamp "compare base new"
build/flashtune compare "$out/base.db" "$out/new.db" --json "$out/compare.json" > "$out/compare.txt"
echo "compare rc=$?"
cat "$out/compare.txt"
stamp done
