#!/usr/bin/env python3
"""make_grad_fixtures.py — one training step of timm in float64: gradient fixtures for netc's
autodiff (the llm.c test_gpt2 pattern, for training).

For every model in MODELS: timm.create_model(name, pretrained=False, num_classes=CLASSES,
drop_rate=0, drop_path_rate=0), every state_dict tensor filled by the deterministic initialiser
(tools/detinit.py) under its timm name, then the weight (gamma) of the LAST batch norm of every
residual block multiplied by the model's gamma scale (0.125 ResNet-50 / RegNetY-016, 0.25
ResNeSt-26d; a power of two: exact on the float32 detinit value) -- the parameters whose timm name matches
the model's glob (fnmatch, '*' matches dots
too): ResNet-50 / ResNeSt-26d "layer*.bn3.weight" (16 / 8 tensors), RegNetY-016
"s*.conv3.bn.weight" (27); EfficientNets none.  Then .train() (batch norm on batch statistics,
running statistics updated), converted to float64, fed the det:input batch [batch,3,H,W]
(ResNet-50 48x48, ResNeSt-26d 64x72, RegNetY-016 56x48 (HxW) -- chosen for the kinks, below;
batch 2, ResNeSt-26d 4); loss = cross_entropy(logits, LABELS[:batch],
label_smoothing=SMOOTHING) (mean over the batch); loss.backward().  The same step in float32
(from the same float32 values) gives the yardstick of what float32 arithmetic reaches.

Why the gamma scale and ResNeSt's batch 4 (conditioning; measured, torch 2.15 CPU): at the
plain det initialisation every residual branch adds a unit-variance BN output, the activations
and gradients grow block by block (stem gradients 50-200x the classifier's), and the float32
step of ResNet-50 / ResNeSt-26d / RegNetY-016 is off by 3% / 5% / 9% (norm-relative, worst
stored gradient) -- no fair reference for a 1e-4 check.  Damping the branches' last BN gamma
(timm's zero_init_last idea, without killing the branch gradients) brings the stem/classifier
gradient-norm ratio to ~1-2 and the float32 error to ~1e-5: factor 0.5 leaves 6e-5 / 1e-4 /
2.6e-2, 0.25 gives 1.0e-5 / 2.0e-5 / 1.3e-5, 0.125 breaks ResNeSt (1.9e-4) (at the old
sizes, below; at the sizes now used, 0.125 gives ResNet-50 3.9e-6 and RegNetY-016 3.0e-6).  ResNeSt's split
attention has a train-mode BN on [batch, C, 1, 1] (after fc1): with batch 2 it sees two values
per channel, its output is +-1 whatever they are, and its backward is the cancellation
1 - var/(var+eps) (float32 error 1e-3 even with the gamma scale), so ResNeSt runs batch 4.
EfficientNet-B0/B4 (no scale, batch 2) are within 5e-5 as they are.

Writes (under tests/fixtures/grad/):
  <model>_<H>x<W>_b<batch>.safetensors, float32 (float64 with --f64) tensors:
    logits                [batch, classes]   the float64 forward's logits
    loss                  [1]
    grad/<timm name>      d loss / d parameter, for the parameters in MODELS
    running_mean/<bn>     <bn>.running_mean after the step (torch: momentum 0.1, i.e.
    running_var/<bn>      r = 0.9 r + 0.1 s; running_var uses the unbiased batch variance,
                          n/(n-1) with n = batch*H'*W'), for the BN modules in MODELS
  The input is not stored: it is det:input (runtime/support/detinit.h, nc_det_fill_input).
  __metadata__ holds model, H, W, batch, classes, labels, smoothing, gamma_scale, gamma_scaled
  (the glob, "-" for none), gamma_scaled_count, input, kink_margin, kink_ratio, pool_margin,
  pool_ratio, bn_momentum, bn_eps.
  grad.tsv  model H W batch classes labels smoothing gamma_scale gamma_scaled file grads bn_stats
            loss f32_rel_err kink_margin kink_ratio pool_margin (the C test and tests/train.cmake
            find the columns by these header names)
            (grads and bn_stats comma-separated; f32_rel_err: the largest over the model's
            gradients of ||g32 - g64|| / ||g64||, g32 from the float32 step)
  tolerance.tsv  per stored tensor (and logits, loss): max |value|, the float32 step's
            norm-relative error, and
            the float64 gradient's norm-relative change when the input moves by a float32
            rounding (2^-24 relative)
  With the gamma scale, every stored gradient's f32_rel_err is <= 2e-5 for ResNet-50,
  ResNeSt-26d, RegNetY-016 and <= 5e-5 for the EfficientNets (their stem/SE gradients; loss
  <= 1.4e-6, logits <= 1.6e-5, running statistics <= 5e-6): a float32 implementation (float32
  storage, double accumulators) is fairly checked at 1e-4.
  ReLU kinks and max-pool ties: a ReLU input within rounding of 0 that an implementation rounds
  to the other side changes the gradient of everything before it by ~1/sqrt(layer size), and so
  does a max-pool window whose two largest values swap.  With the old sizes (ResNet-50 64x64,
  ResNeSt-26d 64x48, RegNetY-016 48x64, all gammas x0.25) the smallest |pre-ReLU| / channel rms
  was 1.3e-6 / 2.3e-7 / 3.7e-7, ResNeSt's stem max pool had a near-tie of 1.4e-8, and netc
  (float32 storage, double accumulators) flipped RegNetY's s3.b13.conv1 kink: stem..s1 gradients
  off by 5e-3 (the input-rounding run flips the same one).  Every run now measures, on the
  float64 forward (hooks on nn.ReLU / nn.MaxPool2d; channel rms over batch and space):
    kink_margin  min |ReLU input| / channel rms
    kink_ratio   the same per layer / that layer's float32 error rms (torch float32 step): how
                 many typical float32 errors the closest kink is away
    pool_margin  min (largest - second largest) / channel rms over the max-pool windows whose
                 largest is > 0 (a window of zeros feeds a ReLU that blocks its gradient)
  and fails if kink_margin < KINK_MARGIN_MIN (1e-6), kink_ratio < KINK_RATIO_MIN (0.5) or
  pool_margin < POOL_MARGIN_MIN (1e-5); they are grad.tsv columns and metadata.  A margin of
  1e-4 is out of reach: the forward has ~1e6 ReLU inputs with a density near 0 of ~0.8 per rms,
  so the smallest |x|/rms is ~1e-6 whatever the configuration (measured 1e-9..5e-6 over 80
  sizes/gammas); the float32 error of a deep activation is ~1e-6..5e-6 rms, so kink_ratio (not
  the absolute margin) is what tells whether a kink can flip.  The labels do not enter the
  forward, so they cannot move a kink.  Search (forward only; H, W in 48..72 step 8, gamma
  0.125/0.25, batch 2, ResNeSt 4) and choice (kink_margin, kink_ratio, pool_margin; f32_rel_err):
    resnet50    48x48 x0.125  3.2e-6, 2.6, 5.1e-5; 3.9e-6  (old 1.3e-6, 0.59, 3.6e-5; 1.0e-5)
    resnest26d  64x72 x0.25   1.5e-6, 0.94, 3.8e-5; 1.9e-5 (old 2.3e-7, 0.11, 1.4e-8; 2.0e-5)
    regnety_016 56x48 x0.125  3.7e-6, 7.3, -;      3.0e-6  (old 3.7e-7, 0.13, -;     1.3e-5)
  (ResNeSt at gamma 0.125 is ill-conditioned, 1.9e-4; its best sizes all sit at kink_ratio ~1
  and f32_rel_err 2-3e-5.)  The torch float32 steps flip no kink.  EfficientNet (SiLU, no max
  pool) has no kinks (inf).

Installs nothing: needs torch, timm, numpy.  float64 is the truth; the tensors are stored
as float32 because netc's reader (nc_st_read_f32) converts every dtype to float32 on load
anyway, and float32 rounding (relative 6e-8) is far below float32 arithmetic's error (the
f32_rel_err column); --f64 stores float64 instead (twice the bytes).
Usage: python3 tools/make_grad_fixtures.py [--only NAME,...] [--list] [--f64]
       python3 tools/make_grad_fixtures.py --check NETC   (no torch: every stored name is a
                 parameter of netc's graph with the same shape, `netc info --params`)
"""

import argparse
import json
import os
import struct
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import detinit  # noqa: E402

ROOT = os.path.dirname(HERE)
OUT = os.path.join(ROOT, "tests", "fixtures", "grad")

CLASSES = 10
LABELS = [3, 7, 1, 5]  # the first `batch` are used: one per batch element
SMOOTHING = 0.1
# Kinks (see the docstring): the floors every fixture must keep, float64 forward.
KINK_MARGIN_MIN = 1e-6  # min |ReLU input| / its channel's rms
KINK_RATIO_MIN = 0.5  # min |ReLU input| / the layer's float32 error rms
POOL_MARGIN_MIN = 1e-5  # min (top - second) of a max-pool window with a positive top / channel rms

# ---------------------------------------------------------------------------
# (name, H, W, batch, gamma scale, glob of the parameters multiplied by it (None: none), the
# number of them, parameters whose gradient is stored, BN modules whose running statistics are
# stored).  Sizes are small so that a plain-loop C interpreter runs forward + backward in a
# few seconds.  Per model: the first conv, the first BN, an SE (ResNeSt: split attention's
# fc1/fc2), a grouped or depthwise conv (ResNet-50 has none), the last stage's last BN and
# the classifier.  ResNeSt's fc1.bias is not stored: a train-mode BN follows fc1, so its
# gradient is 0 but for rounding, and a relative check of it means nothing.  Non-square
# sizes catch H/W mix-ups.  TF "same" padding is asymmetric (0 before, 1 after for k3; 1/2
# for k5) where a stride-2 conv meets an EVEN size, symmetric at an odd one; 70x67 gives
# tf_efficientnet_b4 both in each direction: its stride-2 convs (stem k3, blocks.1.0 k3,
# 2.0 k5, 3.0 k3, 5.0 k5) see H 70, 35, 18, 9, 5 and W 67, 34, 17, 9, 5.
MODELS = [
    (
        "resnet50",
        48,
        48,
        2,
        0.125,
        "layer*.bn3.weight",
        16,
        ["conv1.weight", "bn1.weight", "bn1.bias", "layer4.2.bn3.weight", "layer4.2.bn3.bias", "fc.weight", "fc.bias"],
        ["bn1", "layer4.2.bn3"],
    ),
    (
        "resnest26d",
        64,
        72,
        4,
        0.25,
        "layer*.bn3.weight",
        8,
        [
            "conv1.0.weight",
            "conv1.1.weight",
            "conv1.1.bias",
            "layer1.0.conv2.conv.weight",
            "layer1.0.conv2.bn0.weight",
            "layer1.0.conv2.fc1.weight",
            "layer1.0.conv2.bn1.weight",
            "layer1.0.conv2.fc2.weight",
            "layer1.0.conv2.fc2.bias",
            "layer4.1.bn3.weight",
            "layer4.1.bn3.bias",
            "fc.weight",
            "fc.bias",
        ],
        ["conv1.1", "layer4.1.bn3"],
    ),
    (
        "regnety_016",
        56,
        48,
        2,
        0.125,
        "s*.conv3.bn.weight",
        27,
        [
            "stem.conv.weight",
            "stem.bn.weight",
            "stem.bn.bias",
            "s1.b1.conv2.conv.weight",
            "s1.b1.se.fc1.weight",
            "s1.b1.se.fc1.bias",
            "s1.b1.se.fc2.weight",
            "s1.b1.se.fc2.bias",
            "s4.b2.conv3.bn.weight",
            "s4.b2.conv3.bn.bias",
            "head.fc.weight",
            "head.fc.bias",
        ],
        ["stem.bn", "s4.b2.conv3.bn"],
    ),
    (
        "efficientnet_b0",
        64,
        64,
        2,
        1,
        None,
        0,
        [
            "conv_stem.weight",
            "bn1.weight",
            "bn1.bias",
            "blocks.1.0.conv_dw.weight",
            "blocks.2.0.conv_dw.weight",
            "blocks.1.0.se.conv_reduce.weight",
            "blocks.1.0.se.conv_reduce.bias",
            "blocks.1.0.se.conv_expand.weight",
            "blocks.1.0.se.conv_expand.bias",
            "blocks.6.0.bn3.weight",
            "bn2.weight",
            "bn2.bias",
            "classifier.weight",
            "classifier.bias",
        ],
        ["bn1", "bn2"],
    ),
    (
        "tf_efficientnet_b4",
        70,
        67,
        2,
        1,
        None,
        0,
        [
            "conv_stem.weight",
            "bn1.weight",
            "bn1.bias",
            "blocks.1.0.conv_dw.weight",
            "blocks.2.0.conv_dw.weight",
            "blocks.1.0.se.conv_reduce.weight",
            "blocks.1.0.se.conv_reduce.bias",
            "blocks.1.0.se.conv_expand.weight",
            "blocks.1.0.se.conv_expand.bias",
            "blocks.6.1.bn3.weight",
            "bn2.weight",
            "bn2.bias",
            "classifier.weight",
            "classifier.bias",
        ],
        ["bn1", "bn2"],
    ),
]


def fixture_name(name, h, w, batch):
    return f"{name}_{h}x{w}_b{batch}.safetensors"


def write_safetensors(path, tensors, metadata):
    """tensors: list of (name, array) in file order; F32 or F64 by the array's dtype."""
    codes = {np.dtype(np.float32): "F32", np.dtype(np.float64): "F64"}
    header = {"__metadata__": {k: str(v) for k, v in metadata.items()}}
    blobs, off = [], 0
    for name, a in tensors:
        a = np.ascontiguousarray(a)
        b = a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": codes[a.dtype], "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * (-len(h) % 8)  # the data starts 8-aligned
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def read_safetensors_header(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(n))


def read_rows(path):
    """The data rows of an existing .tsv (split on tabs), or none."""
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [
            line.rstrip("\n").split("\t")
            for line in f
            if line.strip() and not line.startswith("#") and not line.startswith("model\t")
        ]


def write_rows(path, header_lines, rows):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.writelines(header_lines)
        for r in rows:
            f.write("\t".join(str(x) for x in r) + "\n")
    os.replace(tmp, path)


def train_step(model, x, labels):
    """One forward + backward; returns (logits, loss) as numpy float64 / float."""
    import torch.nn.functional as F

    model.zero_grad(set_to_none=True)
    logits = model(x)
    loss = F.cross_entropy(logits, labels, label_smoothing=SMOOTHING)
    loss.backward()
    return logits.detach().double().numpy(), float(loss.detach().double())


def scale_gammas(model, glob, gamma):
    """Multiply the parameters matching glob by gamma in place; returns their names."""
    import fnmatch

    import torch

    done = []
    if glob is None:
        return done
    with torch.no_grad():
        for pname, p in model.named_parameters():
            if fnmatch.fnmatchcase(pname, glob):
                if p.dim() != 1:
                    raise SystemExit(f"make_grad_fixtures: {pname} matches {glob} but is not a BN weight")
                p.mul_(gamma)
                done.append(pname)
    return done


def record_kinks(model):
    """Forward pre-hooks on every nn.ReLU and nn.MaxPool2d (timm's ResNet/ResNeSt/RegNet use no
    functional relu); returns (records, hooks), records filled in call order."""
    import torch.nn as nn

    recs, hooks = [], []
    for mn, m in model.named_modules():
        if isinstance(m, (nn.ReLU, nn.MaxPool2d)):
            hooks.append(
                m.register_forward_pre_hook(
                    lambda mod, inp, mn=mn: recs.append((mn, mod, inp[0].detach().double().clone()))
                )
            )
    return recs, hooks


def kink_margins(recs64, recs32):
    """The forward's distance from its kinks, relative to the channel rms of the tensor (rms
    over batch and space; [N,C,1,1] SE tensors: over the batch).  kink_margin: min |x| over
    every ReLU input x; pool_margin: min (largest - second largest) over the max-pool windows
    whose largest is > 0 (a window of zeros sends its gradient into a ReLU that blocks it);
    kink_ratio / pool_ratio: the same per layer divided by that layer's float32 error rms
    (||x32 - x64|| of the torch float32 step, in channel rms units).  Returns a dict and a
    short description of where each minimum is."""
    import torch
    import torch.nn.functional as F

    r = {
        "kink_margin": float("inf"),
        "kink_ratio": float("inf"),
        "pool_margin": float("inf"),
        "pool_ratio": float("inf"),
    }
    where = {}
    if len(recs64) != len(recs32):
        raise SystemExit("make_grad_fixtures: the float32 and float64 steps differ in ReLU/pool calls")
    for (mn, mod, x), (_, _, y) in zip(recs64, recs32):
        rms = x.pow(2).mean(dim=[d for d in range(x.dim()) if d != 1], keepdim=True).sqrt()
        err = float(((y - x) / rms).pow(2).mean().sqrt())
        if isinstance(mod, torch.nn.MaxPool2d):
            k, s, p = mod.kernel_size, mod.stride, mod.padding
            u = F.pad(x / rms, (p, p, p, p), value=-float("inf")).unfold(2, k, s).unfold(3, k, s)
            t2 = u.reshape(*u.shape[:4], -1).topk(2, dim=-1).values
            gap = (t2[..., 0] - t2[..., 1])[t2[..., 0] > 0]
            m, key = (float(gap.min()) if gap.numel() else float("inf")), "pool"
        else:
            m, key = float((x.abs() / rms).min()), "kink"
        for kk, v in ((key + "_margin", m), (key + "_ratio", m / max(err, 1e-300))):
            if v < r[kk]:
                r[kk], where[kk] = v, mn
    return r, where


def run_model(name, h, w, batch, gamma, glob, nglob, grads, bns, store):
    import copy

    import torch
    import timm

    t0 = time.time()
    model = timm.create_model(name, pretrained=False, num_classes=CLASSES, drop_rate=0.0, drop_path_rate=0.0)
    detinit.init_state_dict(model)  # float32 values, as netc's nc_det_fill_param
    scaled = scale_gammas(model, glob, gamma)
    if len(scaled) != nglob:
        raise SystemExit(f"make_grad_fixtures: {name}: {glob} matches {len(scaled)} parameters, expected {nglob}")
    model.train()
    model32 = copy.deepcopy(model)
    model_p = copy.deepcopy(model).double()
    model64 = model.double()
    mods = dict(model64.named_modules())
    params64 = dict(model64.named_parameters())
    params32 = dict(model32.named_parameters())
    for g in grads:
        if g not in params64:
            raise SystemExit(f"make_grad_fixtures: {name}: no parameter {g}")
    moms = {mods[b].momentum for b in bns}
    epss = {mods[b].eps for b in bns}
    if len(moms) != 1 or len(epss) != 1:
        raise SystemExit(f"make_grad_fixtures: {name}: BN momentum/eps differ: {moms} {epss}")

    x32 = torch.from_numpy(detinit.input_tensor((batch, 3, h, w)))
    labels = torch.tensor(LABELS[:batch], dtype=torch.long)
    recs64, hooks64 = record_kinks(model64)
    recs32, hooks32 = record_kinks(model32)
    t1 = time.time()
    logits64, loss64 = train_step(model64, x32.double(), labels)
    t64 = time.time() - t1
    t1 = time.time()
    logits32, loss32 = train_step(model32, x32, labels)
    t32 = time.time() - t1
    for hk in hooks64 + hooks32:
        hk.remove()
    km, kwhere = kink_margins(recs64, recs32)
    del recs64, recs32
    # The float64 step again on the input times (1 + 2^-24 u), u uniform in [-1, 1): how far the
    # gradients move when only the input changes by a float32 rounding.
    u = torch.rand(x32.shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 2 - 1
    logits_p, loss_p = train_step(model_p, x32.double() * (1 + 2.0**-24 * u), labels)
    params_p = dict(model_p.named_parameters())
    assert logits64.shape == (batch, CLASSES), logits64.shape

    tensors = [("logits", logits64), ("loss", np.array([loss64]))]
    tol = [
        [
            name,
            "logits",
            f"{batch},{CLASSES}",
            f"{np.abs(logits64).max():.4g}",
            f"{np.linalg.norm(logits32 - logits64) / np.linalg.norm(logits64):.3g}",
            f"{np.linalg.norm(logits_p - logits64) / np.linalg.norm(logits64):.3g}",
        ],
        [
            name,
            "loss",
            "1",
            f"{abs(loss64):.4g}",
            f"{abs(loss32 - loss64) / abs(loss64):.3g}",
            f"{abs(loss_p - loss64) / abs(loss64):.3g}",
        ],
    ]
    print(
        f"{name} {h}x{w} b{batch}: {len(scaled)} gammas x{gamma} ({glob}); "
        f"loss {loss64:.10g} (float32 {loss32:.10g}), max|logit| "
        f"{np.abs(logits64).max():.4g}, float32 logits max err {np.abs(logits32 - logits64).max():.3g}; "
        f"float64 step {t64:.2f}s, float32 {t32:.2f}s",
        flush=True,
    )
    print(
        "  kinks (float64 forward, channel-rms units): "
        + ", ".join(f"{k} {v:.3g}" + (f" ({kwhere[k]})" if k in kwhere else "") for k, v in km.items()),
        flush=True,
    )
    low = [
        f"{k} {km[k]:.3g} < {lim:g}"
        for k, lim in (
            ("kink_margin", KINK_MARGIN_MIN),
            ("kink_ratio", KINK_RATIO_MIN),
            ("pool_margin", POOL_MARGIN_MIN),
        )
        if km[k] < lim
    ]
    if low:
        raise SystemExit(
            f"make_grad_fixtures: {name} {h}x{w} b{batch} gamma x{gamma}: too close to a kink: "
            + "; ".join(low)
            + " (change the size, batch or gamma scale; see the docstring)"
        )
    worst = 0.0
    for g in grads:
        g64 = params64[g].grad.detach().numpy()
        g32 = params32[g].grad.detach().double().numpy()
        gp = params_p[g].grad.detach().numpy()
        rel = float(np.linalg.norm(g32 - g64) / np.linalg.norm(g64))
        relp = float(np.linalg.norm(gp - g64) / np.linalg.norm(g64))
        worst = max(worst, rel)
        tensors.append(("grad/" + g, g64))
        tol.append(
            [
                name,
                "grad/" + g,
                ",".join(str(d) for d in g64.shape),
                f"{np.abs(g64).max():.4g}",
                f"{rel:.3g}",
                f"{relp:.3g}",
            ]
        )
        print(
            f"  grad/{g:36s} {str(list(g64.shape)):18s} max|g| {np.abs(g64).max():.4g}  "
            f"f32 rel err {rel:.3g}  input-rounding rel change {relp:.3g}",
            flush=True,
        )
    for b in bns:
        for stat in ("running_mean", "running_var"):
            r64 = getattr(mods[b], stat).detach().numpy()
            r32 = getattr(dict(model32.named_modules())[b], stat).detach().double().numpy()
            tensors.append((f"{stat}/{b}", r64))
            tol.append(
                [
                    name,
                    f"{stat}/{b}",
                    ",".join(str(d) for d in r64.shape),
                    f"{np.abs(r64).max():.4g}",
                    f"{np.linalg.norm(r32 - r64) / np.linalg.norm(r64):.3g}",
                    "-",
                ]
            )
            print(
                f"  {stat}/{b:30s} {str(list(r64.shape)):18s} max|r| {np.abs(r64).max():.4g}  "
                f"f32 max err {np.abs(r32 - r64).max():.3g}",
                flush=True,
            )
    tensors = [(n, a.astype(store)) for n, a in tensors]
    gscale = gamma if glob else 1
    meta = {
        "model": name,
        "H": h,
        "W": w,
        "batch": batch,
        "classes": CLASSES,
        "labels": ",".join(str(v) for v in LABELS[:batch]),
        "smoothing": SMOOTHING,
        "gamma_scale": gscale,
        "gamma_scaled": glob or "-",
        "gamma_scaled_count": len(scaled),
        "input": "det:input",
        **{k: f"{v:.3g}" for k, v in km.items()},
        "bn_momentum": moms.pop(),
        "bn_eps": epss.pop(),
        "made_by": "tools/make_grad_fixtures.py, torch " + torch.__version__ + ", timm " + timm.__version__,
    }
    fname = fixture_name(name, h, w, batch)
    write_safetensors(os.path.join(OUT, fname), tensors, meta)
    print(f"  {fname}: {os.path.getsize(os.path.join(OUT, fname)):,} bytes ({time.time() - t0:.1f}s)", flush=True)
    return [
        name,
        h,
        w,
        batch,
        CLASSES,
        ",".join(str(v) for v in LABELS[:batch]),
        SMOOTHING,
        gscale,
        glob or "-",
        fname,
        ",".join(grads),
        ",".join(bns),
        f"{loss64:.17g}",
        f"{worst:.3g}",
        f"{km['kink_margin']:.3g}",
        f"{km['kink_ratio']:.3g}",
        f"{km['pool_margin']:.3g}",
    ], tol


def check(netc):
    """Every stored grad/running name is a parameter of netc's graph, with the same shape."""
    bad = 0
    for name, h, w, batch, _, _, _, grads, bns in MODELS:
        path = os.path.join(OUT, fixture_name(name, h, w, batch))
        hdr = read_safetensors_header(path)
        out = subprocess.run(
            [
                netc,
                "info",
                os.path.join(ROOT, "models", name + ".nn"),
                "--res",
                f"{h}x{w}",
                "--batch",
                str(batch),
                "--set",
                f"classes={CLASSES}",
                "--params",
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        params = {}
        for line in out.splitlines():
            f = line.split()
            if f:
                params[f[0]] = [int(d) for d in f[1:]]
        n = 0
        for key, v in hdr.items():
            if key == "__metadata__" or "/" not in key:
                continue
            kind, pname = key.split("/", 1)
            if kind != "grad":
                pname += "." + kind
            n += 1
            if pname not in params:
                print(f"{path}: {key}: {pname} is not a parameter of netc's {name}")
                bad += 1
            elif params[pname] != v["shape"]:
                print(f"{path}: {key}: shape {v['shape']}, netc has {params[pname]}")
                bad += 1
        for t, shape in (("logits", [batch, CLASSES]), ("loss", [1])):
            if hdr.get(t, {}).get("shape") != shape:
                print(f"{path}: {t}: expected shape {shape}")
                bad += 1
        print(f"{name} {h}x{w}: {n} names checked against netc")
    return 1 if bad else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", help="comma-separated model names")
    ap.add_argument("--list", action="store_true", help="print the model table and exit")
    ap.add_argument("--f64", action="store_true", help="store float64 instead of float32")
    ap.add_argument("--check", metavar="NETC", help="check the stored names against `NETC info --params`")
    args = ap.parse_args()

    if args.list:
        for name, h, w, batch, gamma, glob, nglob, grads, bns in MODELS:
            print(
                f"{name}\t{h}x{w}\tb{batch}\t{fixture_name(name, h, w, batch)}\t{len(grads)} grads\t"
                f"{len(bns)} BNs\tgamma x{gamma if glob else 1}: {glob or '-'} ({nglob})"
            )
        return 0
    if args.check:
        return check(args.check)

    names_all = [m[0] for m in MODELS]
    only = names_all
    if args.only:
        only = [s.strip() for s in args.only.split(",") if s.strip()]
        bad = [s for s in only if s not in names_all]
        if bad:
            print(f"make_grad_fixtures: unknown model(s): {', '.join(bad)} (see --list)", file=sys.stderr)
            return 2

    import torch
    import timm

    os.makedirs(OUT, exist_ok=True)
    print(
        f"torch {torch.__version__}, timm {timm.__version__}, numpy {np.__version__}, "
        f"{torch.get_num_threads()} threads",
        flush=True,
    )
    t0 = time.time()
    tsv = os.path.join(OUT, "grad.tsv")
    tol_tsv = os.path.join(OUT, "tolerance.tsv")
    rows, tols = {}, {}
    for r in read_rows(tsv):
        rows[r[0]] = r
    for r in read_rows(tol_tsv):
        tols.setdefault(r[0], []).append(r)
    store = np.float64 if args.f64 else np.float32
    for name, h, w, batch, gamma, glob, nglob, grads, bns in MODELS:
        if name in only:
            rows[name], tols[name] = run_model(name, h, w, batch, gamma, glob, nglob, grads, bns, store)

    write_rows(
        tol_tsv,
        [
            "# Per stored tensor of grad.tsv's fixtures (and logits, loss): max_abs, the largest |value| (float64);\n",
            "# f32_rel_err: ||v32 - v64|| / ||v64||, v32 from the same step in float32 arithmetic (torch);\n",
            "# input_rel_change: ||g' - g|| / ||g||, g' the float64 gradient for the input times\n",
            "# (1 + 2^-24 u), u uniform in [-1, 1): what rounding the input to float32 alone does ('-' for\n",
            "# running statistics).  A float32 implementation cannot be held much below either.\n",
            "# Written by tools/make_grad_fixtures.py.\n",
            "model\ttensor\tshape\tmax_abs\tf32_rel_err\tinput_rel_change\n",
        ],
        [r for name in names_all for r in tols.get(name, [])],
    )
    write_rows(
        tsv,
        [
            "# Gradient fixtures: one training step of timm in float64 (tools/make_grad_fixtures.py).\n",
            "# Weights: the det initialiser by timm name, then the parameters matching the glob\n",
            "# gamma_scaled (fnmatch; '*' matches dots too: the last BN weight of each residual block)\n",
            "# multiplied by gamma_scale (a power of two: exact in float32; '-': none); input: det:input\n",
            "# [batch,3,H,W] (not stored).\n",
            "# model.train(): batch norm on batch statistics.  loss = cross_entropy(logits, labels,\n",
            "# label_smoothing=smoothing), mean over the batch; labels: one class per batch element.\n",
            "# file (safetensors): logits, loss, grad/<param> for each of grads, running_mean/<bn> and\n",
            "# running_var/<bn> (after the step: momentum 0.1, unbiased variance) for each of bn_stats.\n",
            "# loss: float64, printed exactly.  f32_rel_err: max over grads of ||g32-g64||/||g64||, g32\n",
            "# from the same step in float32 arithmetic (per tensor: tolerance.tsv).  kink_margin: min\n",
            "# |ReLU input| / channel rms; kink_ratio: the same / the layer's float32 error rms;\n",
            "# pool_margin: min gap between a max-pool window's two largest (top > 0) / channel rms\n",
            "# (float64 forward; inf: no max pool).\n",
            "model\tH\tW\tbatch\tclasses\tlabels\tsmoothing\tgamma_scale\tgamma_scaled\tfile\tgrads\tbn_stats\tloss"
            "\tf32_rel_err\tkink_margin\tkink_ratio\tpool_margin\n",
        ],
        [rows[name] for name in names_all if name in rows],
    )
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f"{OUT}: {total:,} bytes; total {time.time() - t0:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
