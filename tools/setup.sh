#!/usr/bin/env bash
# setup.sh — install what netc needs (Debian packages), then configure and
# build it.  Safe to run again: it installs only what is missing.  Every Python
# step of the tools and tests runs in .venv, which this makes (see below).
#   tools/setup.sh [BUILD_DIR [extra cmake args...]]     (default: build, Release)
set -euo pipefail
cd "$(dirname "$0")/.."

# gcc/cmake/ninja build netc; LLVM 19 (the CPU code generator's target, which
# knows Zen 5 and sm_90), clang-19 (fuzz targets), clang-format-19 (the style
# check, tests/check_format.sh), OpenMP, libjpeg-turbo and libpng are what the
# whole project stands on; libmicrohttpd (with GnuTLS) is the HTTP server inside
# every compiled program (`serve`; curl and openssl: its tests).  python3 with
# numpy, pip and venv: the tests' numpy oracles and tools/get_lite0.sh (real
# weights; no torch needed).  protobuf-c (library and protoc-c): the ONNX importer's parser (frontend/onnx/).
packages="build-essential cmake ninja-build llvm-19-dev clang-19 libclang-rt-19-dev libomp-19-dev
          clang-format-19 libjpeg62-turbo-dev libpng-dev libmicrohttpd-dev curl openssl
          python3 python3-numpy python3-pip python3-venv libprotobuf-c-dev protobuf-c-compiler"
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

# One interpreter for everything: .venv on Debian's python3, seeing its numpy
# (--system-site-packages), so whatever python3 comes first on PATH (pyenv,
# conda, often without numpy) does not matter.  pip installs numpy into it only
# where the system's python3 has none.
venv=.venv
sys_python=/usr/bin/python3
if ! "$venv/bin/python3" -c "import numpy" >/dev/null 2>&1; then
    [ -x "$sys_python" ] || { echo "setup: error: $sys_python is missing" >&2; exit 1; }
    echo "setup: making $venv (Python for the tools and tests)"
    "$sys_python" -m venv --clear --system-site-packages "$venv"
    "$venv/bin/python3" -c "import numpy" >/dev/null 2>&1 || "$venv/bin/python3" -m pip install -q numpy
    "$venv/bin/python3" -c "import numpy" || { echo "setup: error: $venv/bin/python3 cannot import numpy" >&2; exit 1; }
fi

# nginx (Debian's): the load balancer of the scale-out test (tests/serve/serve_nginx.py, which runs its own nginx as
# this user on a free loopback port; the package's own service is not used).  Apart from the list above so that a
# failed install (no network, or the package's service failing to start) warns instead of stopping setup: the test
# then fails saying nginx is missing.
if ! dpkg -s nginx >/dev/null 2>&1 && ! command -v nginx >/dev/null 2>&1; then
    echo "setup: installing nginx (the serve.nginx test's load balancer)"
    sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
        nginx >/dev/null; } || echo "setup: warning: could not install nginx; the serve.nginx test will fail until" \
                                     "'apt-get install nginx' works" >&2
fi

# tritonclient[http] (PyPI): the serve tests' KServe v2 client, one nobody here wrote.  Pinned, with numpy held at
# the version the venv has (so the tests' numpy oracles do not change under them).  Without a network the rest of
# netc is unaffected: setup warns, and the test that needs the client fails saying how to install it.
if ! "$venv/bin/python3" -c "import tritonclient.http" >/dev/null 2>&1; then
    echo "setup: installing tritonclient[http] into $venv (the serve tests' client)"
    constraints=$(mktemp)
    "$venv/bin/python3" -c "import numpy; print('numpy==' + numpy.__version__)" >"$constraints"
    timeout 600 "$venv/bin/python3" -m pip install -q --disable-pip-version-check --retries 2 --timeout 30 \
        'tritonclient[http]==2.73.0' -c "$constraints" \
        || echo "setup: warning: could not install tritonclient[http] from PyPI; the serve.tritonclient test" \
                "will fail until '$venv/bin/python3 -m pip install tritonclient[http]' works" >&2
    rm -f "$constraints"
fi

# onnx and onnxruntime (PyPI): the ONNX tests' graph builder and oracle (tests/onnx/; no torch).  As for tritonclient:
# numpy held at the venv's version; without a network setup warns and the onnx.* tests fail saying how to install.
if ! "$venv/bin/python3" -c "import onnx, onnxruntime" >/dev/null 2>&1; then
    echo "setup: installing onnx and onnxruntime into $venv (the ONNX tests' oracle)"
    constraints=$(mktemp)
    "$venv/bin/python3" -c "import numpy; print('numpy==' + numpy.__version__)" >"$constraints"
    timeout 600 "$venv/bin/python3" -m pip install -q --disable-pip-version-check --retries 2 --timeout 30 \
        onnx onnxruntime -c "$constraints" \
        || echo "setup: warning: could not install onnx and onnxruntime from PyPI; the onnx.* tests will fail" \
                "until '$venv/bin/python3 -m pip install onnx onnxruntime' works" >&2
    rm -f "$constraints"
fi

build=${1:-build}
shift || true
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPython3_EXECUTABLE="$PWD/$venv/bin/python3" "$@" >/dev/null
cmake --build "$build" -j"$(nproc)"
