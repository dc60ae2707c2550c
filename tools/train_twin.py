#!/usr/bin/env python3
"""train_twin.py — the PyTorch twin of a netc Fashion-MNIST training run.

The same network as models/fmnist_resnet.nn (built from timm's own BasicBlock,
with the same parameter names), the same initial weights (every state_dict
tensor from the deterministic initialiser, tools/detinit.py, bit-identical to
what `netc compile --init det` embeds), the same recipe as netc's `train`:
torch.optim.SGD (momentum, Nesterov, weight decay off for biases and norm
parameters as timm's param_groups_weight_decay), timm's CosineLRScheduler per
update with linear warm-up, cross-entropy with label smoothing, the same batch
(last partial batch dropped), epochs and threads, and augmentations with
torchvision's meaning (RandomHorizontalFlip, RandomCrop(28, padding=P)).

The images come from the same PNG files and list files (tools/fashion_mnist.py),
decoded once with PIL into memory (decoding is not timed as training: the
twin's data path is the fastest PyTorch has, a tensor in memory); each batch is
augmented and normalised by vectorised tensor ops. Shuffling uses torch's
generator seeded by (seed, epoch), so the order differs from netc's (each is
reproducible from its seed).

Writes OUT/metrics.jsonl in netc's format (a line per update and one per
epoch: train_loss, val_top1, val_top5, val_loss) and prints a summary line as
JSON: final top-1, wall seconds, training images/s.

--fixture writes tests/fixtures/conformance/fmnist_resnet_28x28_b4.npy (the
twin's float64 logits for the det input, as tools/make_fixtures.py does for timm's
models) and its row in tests/fixtures/conformance.tsv, then exits: the CI check
(ctest -R conformance.fmnist) that the .nn network is this one.

--check PROGRAM also runs netc's inference program (compiled without --train,
--init det, the same --set values) on the det input and compares its logits
with the twin's in eval mode — the check that both start from the same network.

Needs torch, timm, numpy, Pillow.
Usage: python3 tools/train_twin.py --data data/fashion-mnist --out runs/twin [options]
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import detinit  # noqa: E402

MEAN, STD = 0.2860, 0.3530  # models/fmnist_resnet.nn's preprocess()


def build(torch, stem_width, channels, layers, classes=10):
    """models/fmnist_resnet.nn in PyTorch: timm's BasicBlock, timm's names."""
    from torch import nn
    from timm.models.resnet import BasicBlock

    class FmnistResNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, stem_width, 3, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(stem_width)
            self.act1 = nn.ReLU(inplace=True)
            cin = stem_width
            for i, (c, n) in enumerate(zip(channels, layers)):
                blocks = []
                for j in range(n):
                    stride = 2 if j == 0 else 1
                    down = None
                    if j == 0:
                        down = nn.Sequential(nn.Conv2d(cin, c, 1, stride=stride, bias=False), nn.BatchNorm2d(c))
                    blocks.append(BasicBlock(cin, c, stride=stride, downsample=down))
                    cin = c
                setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
            self.nstages = len(channels)
            self.fc = nn.Linear(cin, classes)

        def forward(self, x):
            x = self.act1(self.bn1(self.conv1(x)))
            for i in range(self.nstages):
                x = getattr(self, f"layer{i + 1}")(x)
            return self.fc(x.mean((2, 3)))

    return FmnistResNet()


def load_list(torch, root, name, limit=0):
    from PIL import Image
    xs, ys = [], []
    with open(os.path.join(root, name)) as f:
        for line in f:
            if limit and len(ys) == limit:
                break
            path, label = line.rsplit(None, 1)
            with Image.open(os.path.join(root, path)) as im:
                xs.append(np.asarray(im.convert("L"), dtype=np.uint8))
            ys.append(int(label))
    return torch.from_numpy(np.stack(xs)), torch.tensor(ys, dtype=torch.int64)


def normalise(torch, x_u8):
    """[N,28,28] uint8 -> [N,3,28,28] float32: ToTensor, Normalize, greyscale as RGB."""
    x = (x_u8.float() / 255.0 - MEAN) / STD
    return x.unsqueeze(1).expand(-1, 3, -1, -1).contiguous()


def augment(torch, x_u8, g, hflip, pad):
    """RandomCrop(28, padding=pad) then RandomHorizontalFlip(p=hflip), per sample, on uint8."""
    n, h, w = x_u8.shape
    if pad:
        xp = torch.nn.functional.pad(x_u8, (pad, pad, pad, pad))
        oy = torch.randint(0, 2 * pad + 1, (n,), generator=g)
        ox = torch.randint(0, 2 * pad + 1, (n,), generator=g)
        rows = (oy[:, None] + torch.arange(h)[None, :])[:, :, None].expand(n, h, w)
        cols = (ox[:, None] + torch.arange(w)[None, :])[:, None, :].expand(n, h, w)
        x_u8 = xp[torch.arange(n)[:, None, None], rows, cols]
    if hflip:
        flip = torch.rand(n, generator=g) < hflip
        x_u8 = torch.where(flip[:, None, None], x_u8.flip(2), x_u8)
    return x_u8


def evaluate(torch, model, x_u8, y, batch):
    model.eval()
    c1 = c5 = 0
    loss = 0.0
    with torch.no_grad():
        for s in range(0, len(y), batch):
            logits = model(normalise(torch, x_u8[s:s + batch]))
            t = y[s:s + batch]
            loss += torch.nn.functional.cross_entropy(logits, t, reduction="sum").item()
            top = logits.topk(5, 1).indices
            c1 += (top[:, 0] == t).sum().item()
            c5 += (top == t[:, None]).any(1).sum().item()
    model.train()
    n = len(y)
    return 100.0 * c1 / n, 100.0 * c5 / n, loss / n


def check_against_netc(torch, model, program, batch=4):
    """netc's inference program and the twin (eval mode) on the det input batch."""
    x = detinit.input_tensor((batch, 3, 28, 28))
    with tempfile.TemporaryDirectory() as d:
        np.save(os.path.join(d, "x.npy"), x)
        subprocess.run([program, "run", "--input", os.path.join(d, "x.npy"), "--output", os.path.join(d, "y.npy")],
                       check=True, capture_output=True)
        y_netc = np.load(os.path.join(d, "y.npy"))
    model.eval()
    with torch.no_grad():
        y = model(torch.from_numpy(x)).numpy()
    model.train()
    err = float(np.abs(y - y_netc.reshape(y.shape)).max())
    return err, float(np.abs(y).max())


def write_fixture(torch, model, batch=4):
    """The conformance fixture of models/fmnist_resnet.nn (default arguments) from the twin."""
    root = os.path.join(os.path.dirname(HERE), "tests", "fixtures")
    x = torch.from_numpy(detinit.input_tensor((batch, 3, 28, 28)))
    model.eval()
    with torch.no_grad():
        y32 = model(x).numpy().astype(np.float64)
        y64 = model.double()(x.double()).numpy()
    name = f"fmnist_resnet_28x28_b{batch}.npy"
    np.save(os.path.join(root, "conformance", name), y64.astype(np.float32))
    row = ["fmnist_resnet", "28", "28", str(batch), name, f"{np.abs(y64).max():.6g}",
           f"{np.abs(y32 - y64).max():.3g}"]
    path = os.path.join(root, "conformance.tsv")
    lines = [ln for ln in open(path) if not ln.startswith("fmnist_resnet\t")]
    lines.append("\t".join(row) + "\n")
    with open(path, "w") as f:
        f.writelines(lines)
    print(f"{name}: max|logit| {row[5]}, float32-vs-float64 max err {row[6]}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="data/fashion-mnist", help="folder with train.txt and test.txt")
    ap.add_argument("--out", required=True, help="folder for metrics.jsonl")
    ap.add_argument("--stem-width", type=int, default=24)
    ap.add_argument("--channels", default="32,64,128")
    ap.add_argument("--layers", default="1,1,1")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--min-lr", type=float, default=0.0)
    ap.add_argument("--warmup-epochs", type=float, default=0.0)
    ap.add_argument("--warmup-lr", type=float, default=1e-5)
    ap.add_argument("--momentum", type=float, default=0.9)
    ap.add_argument("--nesterov", action="store_true")
    ap.add_argument("--wd", type=float, default=0.0)
    ap.add_argument("--label-smoothing", type=float, default=0.0)
    ap.add_argument("--hflip", type=float, default=0.0, help="RandomHorizontalFlip probability")
    ap.add_argument("--pad", type=int, default=0, help="RandomCrop(28, padding=PAD)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--limit", type=int, default=0, help="only the first N training images")
    ap.add_argument("--max-steps", type=int, default=0)
    ap.add_argument("--no-val", action="store_true", help="no test-set evaluation (speed rounds)")
    ap.add_argument("--fixture", action="store_true", help="write the conformance fixture, then exit")
    ap.add_argument("--check", metavar="PROGRAM", help="compare with netc's inference program at init, then exit")
    args = ap.parse_args()

    import torch
    import timm.scheduler

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    channels = [int(c) for c in args.channels.split(",")]
    layers = [int(n) for n in args.layers.split(",")]
    model = build(torch, args.stem_width, channels, layers)
    detinit.init_state_dict(model)  # netc's --init det, tensor by tensor under timm's names
    if args.fixture:
        if (args.stem_width, channels, layers) != (24, [32, 64, 128], [1, 1, 1]):
            print("train_twin: --fixture is for the .nn file's default widths", file=sys.stderr)
            return 2
        write_fixture(torch, model)
        return 0
    if args.check:
        err, mx = check_against_netc(torch, model, args.check)
        print(json.dumps({"check": args.check, "max_abs_err": err, "max_abs_logit": mx}))
        return 0 if err <= 1e-4 * max(1.0, mx) else 1

    t_load = time.time()
    xtr, ytr = load_list(torch, args.data, "train.txt", args.limit)
    xte, yte = (None, None) if args.no_val else load_list(torch, args.data, "test.txt")
    nval = 0 if args.no_val else len(yte)
    t_load = time.time() - t_load

    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (no_decay if p.ndim <= 1 or name.endswith(".bias") else decay).append(p)
    opt = torch.optim.SGD([{"params": no_decay, "weight_decay": 0.0}, {"params": decay, "weight_decay": args.wd}],
                          lr=args.lr, momentum=args.momentum, nesterov=args.nesterov)
    nb = len(ytr) // args.batch
    sched = timm.scheduler.CosineLRScheduler(opt, t_initial=nb * args.epochs, lr_min=args.min_lr,
                                             warmup_t=round(args.warmup_epochs * nb),
                                             warmup_lr_init=args.warmup_lr, t_in_epochs=False)
    os.makedirs(args.out, exist_ok=True)
    metrics = open(os.path.join(args.out, "metrics.jsonl"), "w")
    print(f"twin: torch {torch.__version__}, {args.threads} threads, {sum(p.numel() for p in model.parameters()):,} "
          f"params, {len(ytr)} train / {nval} test images (decoded in {t_load:.1f}s)", flush=True)

    t_start = time.time()
    train_s = 0.0
    step = 0
    top1 = top5 = vloss = float("nan")
    for epoch in range(args.epochs):
        g = torch.Generator().manual_seed(args.seed * 1000003 + epoch)
        order = torch.randperm(len(ytr), generator=g)
        eloss, t_epoch = 0.0, time.time()
        for b in range(nb):
            if args.max_steps and step >= args.max_steps:
                break
            idx = order[b * args.batch:(b + 1) * args.batch]
            x = normalise(torch, augment(torch, xtr[idx], g, args.hflip, args.pad))
            t = ytr[idx]
            t0 = time.time()  # the step (forward, loss, backward, update), as netc's images_per_s counts it
            logits = model(x)
            loss = torch.nn.functional.cross_entropy(logits, t, label_smoothing=args.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            lr = opt.param_groups[0]["lr"]
            opt.step()
            step += 1
            sched.step_update(num_updates=step)
            dt = time.time() - t0
            train_s += dt
            lv = loss.item()
            eloss += lv
            metrics.write(json.dumps({"step": step, "epoch": epoch, "batch": b, "loss": round(lv, 6), "lr": lr,
                                      "images_per_s": round(args.batch * step / train_s, 2)}) + "\n")
        if not args.no_val:
            top1, top5, vloss = evaluate(torch, model, xte, yte, 500)
        metrics.write(json.dumps({"epoch_end": epoch + 1, "step": step, "train_loss": eloss / max(b + 1, 1),
                                  "val_top1": top1, "val_top5": top5, "val_loss": vloss,
                                  "wall_s": round(time.time() - t_start, 2)}) + "\n")
        metrics.flush()
        print(f"epoch {epoch + 1}/{args.epochs}: train loss {eloss / max(b + 1, 1):.4f}, test top-1 {top1:.2f}% "
              f"top-5 {top5:.2f}% loss {vloss:.4f} ({time.time() - t_epoch:.1f}s, "
              f"{args.batch * step / train_s:.0f} img/s)", flush=True)
        if args.max_steps and step >= args.max_steps:
            break
    wall = time.time() - t_start
    summary = {"framework": f"torch {torch.__version__}", "top1": top1, "top5": top5, "val_loss": vloss,
               "epochs": args.epochs, "steps": step, "wall_s": round(wall, 2), "load_s": round(t_load, 2),
               "train_images_per_s": round(args.batch * step / train_s, 1), "threads": args.threads}
    metrics.close()
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump(summary, f)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
