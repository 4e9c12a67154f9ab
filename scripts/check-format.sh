#!/usr/bin/env bash
# Fails when a C++/CUDA source differs from .clang-format.
set -euo pipefail
cd "$(dirname "$0")/.."
files=$(git ls-files '*.cpp' '*.hpp' '*.h' '*.cuh' '*.cu' ':!results/')  # results/: generated exports
[ -z "$files" ] && exit 0
if ! echo "$files" | xargs clang-format --dry-run --Werror >/dev/null 2>&1; then
  echo "check-format: these files differ from .clang-format (run clang-format -i):" >&2
  echo "$files" | while read -r f; do clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || echo "  $f" >&2; done
  exit 1
fi
echo "check-format: ok"
