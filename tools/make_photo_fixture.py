#!/usr/bin/env python3
"""make_photo_fixture.py — timm's answers for the bundled photographs (tests/photos/).

For every image in tests/photos/: PIL open + convert("RGB") (timm's loader), timm's own
eval transform for tf_efficientnet_lite0 (timm.data.resolve_data_config on the model's
pretrained_cfg + timm.data.create_transform: resize the short side to 224/crop_pct
bicubic, center crop 224, to [0,1], normalise with mean = std = 0.5), then timm's
tf_efficientnet_lite0 with the converted ImageNet weights (tools/get_lite0.sh), run
in float64.  Writes (under tests/fixtures/):

  photos_lite0.tsv       file, top-5 class indices, their logits, top-1 class name, and
                         min_gap: the smallest difference between consecutive logits of the
                         top 6 (how far the top-5 order and membership are from a tie)
  photos_lite0_flip.tsv  the same for flip TTA: the mean of the logits of the
                         preprocessed image and of its horizontal mirror (the mirror of the
                         224x224 crop, as a TTA loop over the batch tensor does it)

Needs torch, timm, PIL, numpy.
Usage: python3 tools/make_photo_fixture.py [--weights W.safetensors] [--save-inputs DIR]
  --save-inputs DIR   also write DIR/<file>.npy, the preprocessed float32 [1,3,224,224]
                      input of each photo, and DIR/<file>.logits.npy (timm float64 logits
                      stored as float64) — for comparing `netc run --input` with timm
"""

import argparse
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PHOTOS = os.path.join(ROOT, "tests", "photos")
FIX = os.path.join(ROOT, "tests", "fixtures")
MODEL = "tf_efficientnet_lite0"
EXTS = (".jpg", ".jpeg", ".png")
TOPK = 5
CLOSE = 1e-3  # two logits of the top 6 closer than this make an order test fragile


def write_tsv(path, header, rows):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.writelines(header)
        for r in rows:
            f.write("\t".join(r) + "\n")
    os.replace(tmp, path)


def row(fname, logits, names):
    order = np.argsort(-logits, kind="stable")[: TOPK + 1]
    top = order[:TOPK]
    vals = logits[order]
    gaps = vals[:-1] - vals[1:]
    return [
        fname,
        ",".join(str(int(i)) for i in top),
        ",".join(f"{logits[i]:.6f}" for i in top),
        names[int(top[0])],
        f"{float(gaps.min()):.6f}",
    ], gaps


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", default=os.path.join(ROOT, "weights", MODEL + ".safetensors"))
    ap.add_argument("--save-inputs", metavar="DIR")
    args = ap.parse_args()
    if not os.path.isfile(args.weights):
        print(f"make_photo_fixture: {args.weights}: no such file (run tools/get_lite0.sh)", file=sys.stderr)
        return 2

    import torch
    import timm
    from PIL import Image
    from safetensors.torch import load_file

    torch.set_grad_enabled(False)
    names = [l.rstrip("\n") for l in open(os.path.join(ROOT, "models", "imagenet_classes.txt"), encoding="utf-8")]
    assert len(names) == 1000

    model = timm.create_model(MODEL, pretrained=False)
    model.load_state_dict(load_file(args.weights), strict=True)
    model.eval()
    cfg = timm.data.resolve_data_config({}, model=model)
    tf = timm.data.create_transform(**cfg)
    pc = model.pretrained_cfg
    print(f"torch {torch.__version__}, timm {timm.__version__}")
    print(
        f"{MODEL} pretrained_cfg: input_size {pc['input_size']}, crop_pct {pc['crop_pct']}, "
        f"interpolation {pc['interpolation']}, mean {pc['mean']}, std {pc['std']}, "
        f"crop_mode {pc.get('crop_mode')}, test_input_size {pc.get('test_input_size')}"
    )
    print(f"resolved data config: {cfg}")
    print(f"transform: {tf}")
    model64 = timm.create_model(MODEL, pretrained=False)
    model64.load_state_dict(load_file(args.weights), strict=True)
    model64.eval().double()

    files = sorted(f for f in os.listdir(PHOTOS) if f.lower().endswith(EXTS))
    if args.save_inputs:
        os.makedirs(args.save_inputs, exist_ok=True)
    rows, rows_flip, fragile = [], [], []
    for fname in files:
        img = Image.open(os.path.join(PHOTOS, fname)).convert("RGB")
        x = tf(img).unsqueeze(0)  # float32 [1,3,224,224]
        xf = torch.flip(x, dims=[3])
        y64 = model64(x.double())[0].numpy()
        yf64 = model64(xf.double())[0].numpy()
        y32 = model(x)[0].numpy().astype(np.float64)
        tta = (y64 + yf64) / 2
        if args.save_inputs:
            np.save(os.path.join(args.save_inputs, fname + ".npy"), x.numpy())
            np.save(os.path.join(args.save_inputs, fname + ".flip.npy"), xf.numpy())
            np.save(os.path.join(args.save_inputs, fname + ".logits.npy"), y64[None])
            np.save(os.path.join(args.save_inputs, fname + ".flip.logits.npy"), yf64[None])
        r, gaps = row(fname, y64, names)
        rf, gapsf = row(fname, tta, names)
        rows.append(r)
        rows_flip.append(rf)
        err32 = float(np.abs(y32 - y64).max())
        print(
            f"{fname:16s} {tuple(img.size)}: top-1 {names[int(r[1].split(',')[0])]!r}  logit {r[2].split(',')[0]}  "
            f"| flip TTA top-1 {rf[3]!r}  | min gap top-6: {gaps.min():.4f} (flip {gapsf.min():.4f})  "
            f"| float32 vs float64 max err {err32:.2e}"
        )
        print(f"{'':16s} top-5 {r[1]}  logits {r[2]}")
        print(f"{'':16s} flip  {rf[1]}  logits {rf[2]}")
        for tag, g in (("plain", gaps), ("flip", gapsf)):
            for i in np.nonzero(g < CLOSE)[0]:
                fragile.append(f"{fname} ({tag}): ranks {i + 1} and {i + 2} differ by {g[i]:.2e}")

    head = [
        "# timm tf_efficientnet_lite0 (ImageNet weights from tools/get_lite0.sh, float64) on tests/photos/,\n",
        "# each through timm's eval transform (resize short side to 256 bicubic, center crop 224, mean = std = 0.5).\n",
        "# top5: class indices (models/imagenet_classes.txt), best first; logits: theirs (6 decimals);\n",
        "# min_gap: smallest difference between "
        "consecutive logits of the top 6.  Written by tools/make_photo_fixture.py.\n",
    ]
    write_tsv(os.path.join(FIX, "photos_lite0.tsv"), head + ["file\ttop5\tlogits\ttop1_name\tmin_gap\n"], rows)
    head_flip = (
        head[:2]
        + ["# flip TTA: logits averaged over the preprocessed 224x224 input and its horizontal mirror.\n"]
        + head[2:]
    )
    write_tsv(
        os.path.join(FIX, "photos_lite0_flip.tsv"), head_flip + ["file\ttop5\tlogits\ttop1_name\tmin_gap\n"], rows_flip
    )
    print(f"wrote tests/fixtures/photos_lite0.tsv and photos_lite0_flip.tsv ({len(rows)} photos)")
    if fragile:
        print(f"WARNING: logits within {CLOSE:g} of each other in the top 6 (a top-5 order test is fragile there):")
        for s in fragile:
            print("  " + s)
    else:
        print(f"no two logits of any top 6 are within {CLOSE:g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
