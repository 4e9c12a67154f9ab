#!/usr/bin/env bash
# Stages the PyPI build dependencies of python/ (scikit-build-core, nanobind and theirs) as wheels, to take them
# to the GPU machine, which cannot download. Run here, in the project root:
#   scripts/stage-wheels.sh                  # into .gpu-wheels/ (git-ignored)
# On the GPU machine (carry .gpu-wheels):
#   pip install --no-index --find-links .gpu-wheels ./python
# PYTHON picks the interpreter whose version and platform the wheels are for (default python3; the GPU
# machine's torch environment is /opt/torch/.venv/bin/python3 there: pass PY_VERSION=3.X to match it).
set -euo pipefail
cd "$(dirname "$0")/.."
dest=.gpu-wheels
mkdir -p "$dest"
args=()
[ -n "${PY_VERSION:-}" ] && args+=(--python-version "$PY_VERSION" --only-binary=:all:)
"${PYTHON:-python3}" -m pip download "${args[@]}" --dest "$dest" \
  scikit-build-core nanobind pathspec packaging pytest
ls -la "$dest"
