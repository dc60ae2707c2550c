#!/usr/bin/env bash
# setup.sh — install what netc needs (Debian packages), then configure and
# build it.  Safe to run again: it installs only what is missing.
#   tools/setup.sh [BUILD_DIR [extra cmake args...]]     (default: build, Release)
set -euo pipefail
cd "$(dirname "$0")/.."

# gcc/cmake/ninja build netc; LLVM 19 (the CPU code generator's target, which
# knows Zen 5 and sm_90), clang-19 (fuzz targets), OpenMP, libjpeg-turbo and
# libpng are what the whole project stands on.  python3 with numpy and pip: the
# tests' numpy oracles and tools/get_lite0.sh (real weights; no torch needed).
packages="build-essential cmake ninja-build llvm-19-dev clang-19 libclang-rt-19-dev libomp-19-dev
          libjpeg62-turbo-dev libpng-dev python3 python3-numpy python3-pip"
missing=""
for p in $packages; do
    dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "setup: installing$missing"
    sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

build=${1:-build}
shift || true
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build "$build" -j"$(nproc)"
