#!/usr/bin/env python3
"""make_fixtures.py — timm conformance fixtures for netc (the llm.c test_gpt2 pattern).

For every model in MODELS: timm.create_model(name, pretrained=False,
num_classes=1000), every state_dict tensor filled by the deterministic
initialiser (tools/detinit.py, bit-identical to runtime/support/detinit.c) under its
timm name, .eval(), converted to float64, fed the det:input tensor [B,3,H,W];
the logits go to tests/fixtures/conformance/<name>_<H>x<W>_b<B>.npy (float32).

Writes (under tests/fixtures/):
  conformance/<name>_<H>x<W>_b<B>.npy   logits, float32 [B, 1000]
  conformance.tsv   model H W batch npy max_abs_logit f32_max_abs_err
  models.tsv        model params macs_224 macs_448 (every model in MODELS)
  names/<model>.txt state_dict key + shape, for the models in NAMES
  detinit.tsv       C/Python cross-check of the deterministic initialiser

Installs nothing: needs torch, timm, numpy.
Usage: python3 tools/make_fixtures.py [--only NAME,...] [--list] [--no-run]
With --only, rows of the other models in the .tsv files are kept as they are.
"""
import argparse
import math
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import detinit  # noqa: E402

ROOT = os.path.dirname(HERE)
FIX = os.path.join(ROOT, "tests", "fixtures")

# ---------------------------------------------------------------------------
# The models.  (name, H, W, batch) of the conformance run; sizes are chosen so
# that a plain-loop C interpreter runs the whole suite in a few minutes.  A
# model may appear more than once (several resolutions); every distinct name
# also goes into models.tsv (parameter count and MACs).
MODELS = [
    ("resnet50",            224, 224, 2),
    ("resnet18",            160, 160, 1),   # BasicBlock
    ("resnest26d",          256, 192, 1),   # non-square
    ("resnest50d",          224, 224, 1),
    ("resnest101e",         160, 160, 1),
    ("resnest200e",         128, 128, 1),
    ("resnest269e",         128, 128, 1),
    ("regnetx_016",         224, 224, 1),
    ("regnety_016",         224, 160, 1),   # non-square
    ("regnety_032",         192, 192, 1),
    ("regnety_120",         128, 128, 1),
    ("regnety_320",         128, 128, 1),
    ("efficientnet_b0",     224, 224, 1),
    ("efficientnet_b1",     240, 240, 1),
    ("efficientnet_b2",     260, 260, 1),
    ("efficientnet_b3",     224, 224, 1),
    ("efficientnet_b4",     192, 192, 1),
    ("efficientnet_b5",     160, 160, 1),
    ("tf_efficientnet_b4",  380, 380, 1),
    ("tf_efficientnet_b4",  383, 383, 1),   # odd size: asymmetric TF "same" padding
    ("tf_efficientnet_lite0", 225, 225, 1), # ReLU6, no SE; odd size: asymmetric TF "same" padding
]
# Models whose state_dict names and shapes are dumped to names/<model>.txt.
NAMES = ["resnet50", "resnest26d", "regnety_016", "efficientnet_b0", "tf_efficientnet_b4"]
# MACs are counted at these square resolutions, batch 1.
MAC_SIZES = (224, 448)

# ---------------------------------------------------------------------------
# detinit cross-check cases: (kind, name, shape).  Together they cover every
# rule of the recipe, a long name, a non-ASCII name, a tensor > 1M elements and
# the input recipe.
DETINIT_CASES = [
    ("param", "conv1.weight", (64, 3, 7, 7)),                      # ndim 4, kaiming
    ("param", "blocks.1.0.conv_dw.weight", (96, 1, 3, 3)),          # depthwise, fan_in 9
    ("param", "fc.weight", (1000, 2048)),                           # linear, 2,048,000 elements
    ("param", "fc.bias", (1000,)),                                  # bias
    ("param", "layer1.0.bn1.weight", (64,)),                        # BN gamma
    ("param", "layer1.0.bn1.bias", (64,)),                          # BN beta
    ("param", "layer1.0.bn1.running_mean", (64,)),
    ("param", "layer1.0.bn1.running_var", (64,)),
    ("param", "layer4.2.conv2.fc1.bias", (256,)),
    ("param", "odd.tensor3d", (4, 5, 6)),                           # ndim 3, fan_in 30
    ("param", "blocks.6.0.se.conv_reduce.weight", (80, 1920, 1, 1)),
    ("param", "ünïcødé.running_var", (7,)),                         # UTF-8 bytes
    ("param", "very." * 60 + "long.name.weight", (33,)),            # 316-byte name
    ("param", "scalar_thing", ()),                                  # ndim 0: one element, 0.1*v
    ("input", "input", (2, 3, 224, 224)),
]


def bitsum(a32):
    """sum over i of bits(a[i]) * (2i+1) mod 2^64: exact, order independent,
    changes with any single-element change."""
    bits = a32.ravel().view(np.uint32).astype(np.uint64)
    w = np.arange(bits.size, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    return int(np.sum(bits * w, dtype=np.uint64))


def write_detinit_tsv(path):
    # Self-check against published vectors before writing anything.
    assert detinit.fnv1a64("") == 0xCBF29CE484222325
    assert detinit.fnv1a64("a") == 0xAF63DC4C8601EC8C
    assert int(detinit._mix(np.zeros(1, dtype=np.uint64))[0]) == 0xE220A8397B1DCDAF
    lines = [
        "# Cross-check of the deterministic initialiser (tools/detinit.py vs runtime/support/detinit.c).\n",
        "# kind\tname\tshape\tnumel\tsum\tbitsum\tsamples\n",
        "# shape: comma-separated, '-' for 0-d.  sum: float64 sum of all elements (math.fsum, exact-rounded).\n",
        "# bitsum: sum_i bits(x[i])*(2i+1) mod 2^64 (hex), x[i] the float32 bit pattern.\n",
        "# samples: index:hexbits pairs separated by ';' (flattened row-major index).\n",
    ]
    for kind, name, shape in DETINIT_CASES:
        if kind == "input":
            a = detinit.input_tensor(shape)
        else:
            a = detinit.fill_param(name, shape)
        flat = a.ravel()
        n = flat.size
        idx = sorted(set(i for i in (0, 1, 2, n // 3, n // 2, n - 2, n - 1, 12345, 1048577) if 0 <= i < n))
        bits = flat.view(np.uint32)
        samples = ";".join(f"{i}:{int(bits[i]):08x}" for i in idx)
        s = math.fsum(flat.astype(np.float64).tolist())
        shp = ",".join(str(d) for d in shape) if shape else "-"
        lines.append(f"{kind}\t{name}\t{shp}\t{n}\t{s!r}\t{bitsum(a):016x}\t{samples}\n")
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(lines)


def count_macs(model, h, w):
    """MACs of nn.Conv2d and nn.Linear only (timm's Conv2dSame is a Conv2d
    subclass, so it counts), batch 1."""
    import torch
    import torch.nn as nn

    total = [0]

    def conv_hook(m, inp, out):
        kh, kw = m.kernel_size
        total[0] += (out.numel() // out.shape[0]) * (m.in_channels // m.groups) * kh * kw

    def linear_hook(m, inp, out):
        total[0] += (out.numel() // out.shape[-1]) // out.shape[0] * m.in_features * m.out_features

    hooks = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(linear_hook))
    with torch.no_grad():
        model(torch.zeros(1, 3, h, w, dtype=next(model.parameters()).dtype))
    for hk in hooks:
        hk.remove()
    return total[0]


def read_tsv(path):
    """(header comment/column lines, data rows) of an existing .tsv, or empty."""
    if not os.path.exists(path):
        return [], []
    head, rows = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or line.startswith("model\t"):
                head.append(line)
            elif line.strip():
                rows.append(line.rstrip("\n").split("\t"))
    return head, rows


def write_tsv(path, header_lines, rows):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.writelines(header_lines)
        for r in rows:
            f.write("\t".join(str(x) for x in r) + "\n")
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", help="comma-separated model names")
    ap.add_argument("--list", action="store_true", help="print the model table and exit")
    ap.add_argument("--no-run", action="store_true", help="skip the float64 conformance runs")
    args = ap.parse_args()

    if args.list:
        for name, h, w, b in MODELS:
            print(f"{name}\t{h}x{w}\tb{b}\t{name}_{h}x{w}_b{b}.npy")
        return 0

    names_all = list(dict.fromkeys(m[0] for m in MODELS))
    if args.only:
        only = [s.strip() for s in args.only.split(",") if s.strip()]
        bad = [s for s in only if s not in names_all]
        if bad:
            print(f"make_fixtures: unknown model(s): {', '.join(bad)} (see --list)", file=sys.stderr)
            return 2
        names = [n for n in names_all if n in only]
    else:
        names = names_all

    import torch
    import timm

    torch.set_grad_enabled(False)
    os.makedirs(os.path.join(FIX, "conformance"), exist_ok=True)
    os.makedirs(os.path.join(FIX, "names"), exist_ok=True)
    print(f"torch {torch.__version__}, timm {timm.__version__}, numpy {np.__version__}, "
          f"{torch.get_num_threads()} threads", flush=True)

    t0 = time.time()
    write_detinit_tsv(os.path.join(FIX, "detinit.tsv"))
    print(f"detinit.tsv: {len(DETINIT_CASES)} cases ({time.time() - t0:.1f}s)", flush=True)

    models_path = os.path.join(FIX, "models.tsv")
    conf_path = os.path.join(FIX, "conformance.tsv")
    _, model_rows = read_tsv(models_path)
    _, conf_rows = read_tsv(conf_path)
    model_rows = {r[0]: r for r in model_rows}
    conf_rows = {(r[0], r[1], r[2], r[3]): r for r in conf_rows}

    timings = []
    for name in names:
        tm = time.time()
        model = timm.create_model(name, pretrained=False, num_classes=1000)
        model.eval()
        nparams = sum(p.numel() for p in model.parameters())
        filled = detinit.init_state_dict(model)
        t_fill = time.time() - tm
        if name in NAMES:
            with open(os.path.join(FIX, "names", name + ".txt"), "w", encoding="utf-8") as f:
                for k, t in model.state_dict().items():
                    if detinit.is_skipped(k):
                        continue
                    f.write(" ".join([k] + [str(d) for d in t.shape]) + "\n")
        macs = [count_macs(model, s, s) for s in MAC_SIZES]
        model_rows[name] = [name, nparams] + macs
        print(f"{name}: {nparams:,} params, {filled:,} filled values ({t_fill:.1f}s), GMACs "
              + " ".join(f"@{s} {m / 1e9:.2f}" for s, m in zip(MAC_SIZES, macs)), flush=True)

        if not args.no_run:
            runs = [m for m in MODELS if m[0] == name]
            model32 = model
            for _, h, w, b in runs:
                x = torch.from_numpy(detinit.input_tensor((b, 3, h, w)))
                t1 = time.time()
                y32 = model32(x).numpy()
                t32 = time.time() - t1
                model64 = model.double() if next(model.parameters()).dtype != torch.float64 else model
                t1 = time.time()
                y64 = model64(x.double()).numpy()
                t64 = time.time() - t1
                model.float()  # back to float32 for the next resolution's f32 run
                assert y64.shape == (b, 1000), y64.shape
                fname = f"{name}_{h}x{w}_b{b}.npy"
                np.save(os.path.join(FIX, "conformance", fname), y64.astype(np.float32))
                maxabs = float(np.abs(y64).max())
                err32 = float(np.abs(y32.astype(np.float64) - y64).max())
                conf_rows[(name, str(h), str(w), str(b))] = [name, h, w, b, fname, f"{maxabs:.6g}", f"{err32:.3g}"]
                timings.append((name, h, w, b, t64, t32))
                print(f"  {fname}: max|logit| {maxabs:.4g}, float32-vs-float64 max err {err32:.3g}, "
                      f"float64 forward {t64:.2f}s (float32 {t32:.2f}s)", flush=True)
        print(f"  {name} done in {time.time() - tm:.1f}s", flush=True)
        del model

    order = {n: i for i, n in enumerate(names_all)}
    write_tsv(models_path, [
        "# Per model: timm's exact parameter count (sum of numel of model.parameters(), buffers\n",
        "# excluded) and multiply-accumulates of nn.Conv2d and nn.Linear layers only (forward hooks;\n",
        "# conv: out.numel()/batch * in_channels/groups * kh * kw, linear: in * out), counted at\n",
        "# batch 1 for a 224x224 and a 448x448 input.  Written by tools/make_fixtures.py.\n",
        "model\tparams\tmacs_224\tmacs_448\n",
    ], sorted(model_rows.values(), key=lambda r: order.get(r[0], 1 << 30)))
    conf_order = {(n, str(h), str(w), str(b)): i for i, (n, h, w, b) in enumerate(MODELS)}
    write_tsv(conf_path, [
        "# Conformance fixtures: logits of timm in float64 (stored as float32) for the det:input batch\n",
        "# [batch,3,H,W] with every state_dict tensor from the det initialiser.  max_abs_logit: the\n",
        "# largest |logit|; f32_max_abs_err: max |timm float32 - timm float64| (a yardstick for the\n",
        "# error a float32 implementation may have).  Written by tools/make_fixtures.py.\n",
        "model\tH\tW\tbatch\tnpy\tmax_abs_logit\tf32_max_abs_err\n",
    ], sorted(conf_rows.values(), key=lambda r: conf_order.get(tuple(r[:4]), 1 << 30)))

    if timings:
        print("\nfloat64 forward times:")
        for name, h, w, b, t64, t32 in timings:
            print(f"  {name:20s} {h}x{w} b{b}: {t64:7.2f}s  (float32 {t32:.2f}s)")
    print(f"total {time.time() - t0:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
