#!/usr/bin/env bash
# fmnist_smoke.sh NETC — a small piece of the Fashion-MNIST convergence run (tools/fmnist_run.sh):
# tools/fashion_mnist.py turns Debian's idx files into PNG files and lists (checked against the idx
# bytes and labels, and a missing source refused with exit 2), then models/fmnist_resnet.nn trains
# from the det weights for 3 epochs of 256 images (batch 32, 24 updates, --aug hflip) and must
# learn: the epoch loss falls and top-1 on 256 test images ends well above chance (10%).
# Skipped (77) where the package dataset-fashion-mnist is not installed.
set -u
netc=$1 case=fmnist
source "$(cd "$(dirname "$0")" && pwd)/../compile/cases_env.sh"
export OMP_NUM_THREADS=${NETC_TRAIN_THREADS:-1}
src=/usr/share/datasets/fashion-mnist
[ -r $src/train-images-idx3-ubyte.gz ] || { echo "skipped: no $src (apt-get install dataset-fashion-mnist)"; exit 77; }

"$python" "$root/tools/fashion_mnist.py" --src "$tmp/nowhere" --out fm >out.txt 2>err.txt
[ $? = 2 ] && grep -q "nowhere/train-images-idx3-ubyte.gz" err.txt && [ ! -e fm ] ||
    fail "a missing source: expected exit 2 naming the file, nothing written"
"$python" "$root/tools/fashion_mnist.py" --src $src --out fm --limit 256 >out.txt ||
    fail "fashion_mnist.py failed: $(cat out.txt)"
"$python" - "$src" fm <<'PY' || fail "the PNG files or lists differ from the idx files"
import gzip, sys, zlib
import numpy as np
src, out = sys.argv[1:]
for split, pre in (("train", "train"), ("test", "t10k")):
    x = np.frombuffer(gzip.open(f"{src}/{pre}-images-idx3-ubyte.gz").read(), np.uint8, offset=16).reshape(-1, 28, 28)
    y = np.frombuffer(gzip.open(f"{src}/{pre}-labels-idx1-ubyte.gz").read(), np.uint8, offset=8)
    lines = open(f"{out}/{split}.txt").read().split("\n")[:-1]
    assert len(lines) == 256, len(lines)
    for i, line in enumerate(lines):
        path, label = line.split()
        assert int(label) == y[i], (path, label, y[i])
        png = open(f"{out}/{path}", "rb").read()
        assert png[12:16] == b"IHDR" and png[16:24] == bytes([0, 0, 0, 28, 0, 0, 0, 28]), path
        n = int.from_bytes(png[33:37], "big")  # the one IDAT chunk
        raw = np.frombuffer(zlib.decompress(png[41:41 + n]), np.uint8).reshape(28, 29)
        assert (raw[:, 0] == 0).all() and (raw[:, 1:] == x[i]).all(), path
PY

"$netc" compile "$root/models/fmnist_resnet.nn" --train --init det --res 28 --batch 32 -o fm-train >/dev/null ||
    fail "compiling fmnist_resnet for training failed"
./fm-train train --data fm/train.txt --val fm/test.txt --out run --epochs 3 --lr 0.05 --nesterov --wd 5e-4 \
    --warmup-epochs 0.5 --label-smoothing 0.1 --aug hflip --workers 1 --quiet 2>err.txt ||
    fail "train failed: $(tail -3 err.txt)"
"$python" - run/metrics.jsonl <<'PY' || fail "fmnist_resnet did not learn (run/metrics.jsonl above)"
import json, sys
ep = [d for d in map(json.loads, open(sys.argv[1])) if "epoch_end" in d]
for d in ep:
    print(f"epoch {d['epoch_end']}: train loss {d['train_loss']:.4f}, test top-1 {d['val_top1']:.2f}%")
assert len(ep) == 3 and ep[2]["step"] == 24, ep
assert ep[2]["train_loss"] < ep[0]["train_loss"] - 0.2, "the loss did not fall"
assert ep[2]["val_top1"] >= 40.0, "top-1 on 256 test images not above 40%"
PY
pass
