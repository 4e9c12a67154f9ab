#!/usr/bin/env bash
# Installs what flashtune needs to build and test on Debian/Ubuntu, from the distribution's packages (chromium and
# zlib: the IO report's rendering test, tests/report/test_io_report_html.cpp; ccache: the Python package's
# build reuses the main build's objects, scripts/build.sh). Idempotent: a package already
# present is not touched, and nothing is done when all are there. The CUDA Toolkit (12.x or
# 13.x, with NVRTC) is expected at /usr/local/cuda or on CUDA_HOME; it is not an apt package here.
set -euo pipefail
pkgs=(cmake ninja-build g++ libfmt-dev libyaml-cpp-dev nlohmann-json3-dev libcli11-dev libspdlog-dev
      libsqlite3-dev libgtest-dev libgmock-dev libbenchmark-dev clang-format zlib1g-dev chromium
      python3-venv python3-dev ccache)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
else
  echo "setup: all build dependencies are installed"
fi
cuda="${CUDA_HOME:-/usr/local/cuda}"
if [ ! -f "$cuda/include/nvrtc.h" ]; then
  echo "setup: the CUDA Toolkit (with NVRTC) was not found at $cuda; install it or set CUDA_HOME" >&2
  exit 1
fi
