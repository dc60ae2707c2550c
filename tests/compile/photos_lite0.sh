#!/usr/bin/env bash
# photos_lite0.sh NETC [flip] — real weights on real photographs: EfficientNet-Lite0 with its
# ImageNet weights (tools/get_lite0.sh), compiled, classifying tests/photos/ from the files
# (netc's own decoding and preprocessing) must give timm's top-5, in order, for every photo
# (tests/fixtures/photos_lite0*.tsv, written by tools/make_photo_fixture.py), and timm's
# top-1 name from the compiled-in labels.
set -u
netc=$1 mode=${2:-plain}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
python=${PYTHON:-python3} # ctest sets PYTHON to the interpreter CMake found (tools/setup.sh: .venv)
weights="${NETC_LITE0_WEIGHTS:-$root/weights/tf_efficientnet_lite0.safetensors}"
fail() { echo "$1"; echo "0 passed, 1 failed"; exit 1; }
[ -f "$weights" ] || fail "$weights is missing: run tools/get_lite0.sh (tools/test.sh does)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$netc" compile "$root/models/tf_efficientnet_lite0.nn" --weights "$weights" --res 224 --batch 2 \
    --labels "$root/models/imagenet_classes.txt" -o "$tmp/lite0" 2>/dev/null || fail "compile failed"
if [ "$mode" = flip ]; then
    fixture="$root/tests/fixtures/photos_lite0_flip.tsv" tta="--tta flip"
else
    fixture="$root/tests/fixtures/photos_lite0.tsv" tta=""
fi
"$tmp/lite0" classify "$root/tests/photos" $tta --json --top 5 > "$tmp/out.jsonl" || fail "classify failed"
"$python" - "$fixture" "$tmp/out.jsonl" <<'PY' || fail "top-5 differs from timm's"
import json, os, sys
want = {}
for line in open(sys.argv[1]):
    if line.startswith("#") or line.startswith("file\t"):
        continue
    f, top5, logits, name, gap = line.rstrip("\n").split("\t")
    want[f] = ([int(c) for c in top5.split(",")], name)
got = {os.path.basename(r["file"]): r for r in map(json.loads, open(sys.argv[2]))}
bad = 0
for f, (top5, name) in sorted(want.items()):
    r = got.get(f)
    if not r or not r["ok"]:
        print(f"{f}: no result"); bad += 1; continue
    classes = [t["class"] for t in r["top"]]
    ok = classes == top5 and r["top"][0]["label"] == name
    print(f"{f}: netc {classes} ({r['top'][0]['label']}, p={r['top'][0]['score']:.4f})"
          f"  timm {top5} ({name})  {'ok' if ok else 'DIFFERENT'}")
    bad += not ok
sys.exit(1 if bad or len(got) != len(want) else 0)
PY
echo "1 passed, 0 failed"
