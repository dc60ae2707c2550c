#!/usr/bin/env python3
"""Write the training-augmentation and CutMix/Mixup fixtures in tests/fixtures/aug/, made by
torchvision, timm and PIL (never by netc), for tests/unit/test_augment.c and test_mixup.c.

1. Deterministic image stages on the bundled photographs (tests/photos/), each with its random
   draw fixed: torchvision's Resize + crop at a given box, resized_crop at a given box (bilinear,
   bicubic), hflip, vflip, rotate by given angles with fill, adjust_brightness / contrast /
   saturation / hue with given factors, and the four in a given order. Each result is a PNG
   (lossless) named in manifest.tsv with the netc --aug spec and the draws that reproduce it.
2. The parameter draws, fed explicit uniforms: torchvision's RandomResizedCrop.get_params (its
   10 tries and the centre-crop fallback) and timm's RandomErasing (box from area and aspect
   draws, const mode) with `torch` / `random` replaced by shims that return
   lo + u * (hi - lo) for a given u (randint: lo + floor(u * (hi - lo))); netc maps u the same
   way, so the test checks how the draws are used (rounding, tries, fallback), not the RNG.
3. timm.data.Mixup on a float32 batch with (lam, use_cutmix) and np.random.randint fixed: the
   mixed batch and the soft targets for each mode (batch, pair, elem), cutmix_minmax and
   correct_lam, as .npy.

    /work/benchvenv/bin/python3 tools/make_aug_fixtures.py     (torch, torchvision, timm, PIL)
"""
import math
import os
import random as pyrandom

import numpy as np
import timm.data.auto_augment as taa
import timm.data.mixup as tmix
import timm.data.random_erasing as terase
import torch
import torchvision.transforms.functional as F
import torchvision.transforms.transforms as TT
from PIL import Image
from torchvision.transforms import InterpolationMode as IM

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")
OUT = os.path.join(ROOT, "tests", "fixtures", "aug")
PHOTOS = os.path.join(ROOT, "tests", "photos")

manifest = []


def photo(name, box=None):
    im = Image.open(os.path.join(PHOTOS, name)).convert("RGB")
    return im.crop((box[0], box[1], box[0] + box[2], box[1] + box[3])) if box else im


def emit(name, img, src, box, spec, draws):
    img.save(os.path.join(OUT, name))
    b = "-" if box is None else "%d,%d,%d,%d" % box
    manifest.append("\t".join([name, src, b, spec, draws]))


def image_fixtures():
    # Resize(72) + RandomCrop(64) at a given top-left: torchvision Resize(int) then F.crop
    for src, interp, (i, j) in [("chelsea.png", "bilinear", (3, 29)), ("coffee.jpg", "bicubic", (5, 0))]:
        im = F.resize(photo(src), 72, interpolation=IM(interp))
        emit("crop_%s.png" % src[:-4], F.crop(im, i, j, 64, 64), src, None,
             "resize=72,crop=64,interp=%s" % interp, "crop=%d:%d" % (j, i))
    # RandomCrop(64, padding=P) at a given top-left of the padded picture, and pad_if_needed on a picture
    # still smaller than the crop after its padding (torchvision pads that deficit on both sides)
    for src, size, pad, (i, j) in [("chelsea.png", 72, [4], (0, 13)), ("coffee.jpg", 66, [2, 5], (17, 1)),
                                   ("rocket.jpg", 48, [3, 0, 1, 6], (10, 2))]:
        im = F.pad(F.resize(photo(src), size), pad if len(pad) > 1 else pad[0], fill=0)
        w, h = im.size
        if w < 64:
            im = F.pad(im, [64 - w, 0], fill=0)
        if h < 64:
            im = F.pad(im, [0, 64 - h], fill=0)
        w, h = im.size
        i, j = min(i, h - 64), min(j, w - 64)
        emit("pad_%s.png" % src[:-4], F.crop(im, i, j, 64, 64), src, None,
             "resize=%d,crop=64,pad=%s" % (size, ":".join(map(str, pad))), "crop=%d:%d" % (j, i))
    # RandomResizedCrop at a given box (top i, left j, h, w) to 64x64
    for src, interp, (i, j, h, w) in [("chelsea.png", "bilinear", (40, 100, 150, 200)),
                                      ("rocket.jpg", "bicubic", (10, 300, 300, 120)),
                                      ("astronaut.jpg", "bilinear", (200, 200, 30, 40))]:
        out = F.resized_crop(photo(src), i, j, h, w, [64, 64], interpolation=IM(interp))
        emit("rrc_%s.png" % src[:-4], out, src, None, "rrc,interp=%s" % interp, "rrc=%d:%d:%d:%d" % (j, i, w, h))
    box = (150, 80, 64, 48)  # a 64 wide, 48 high piece of chelsea: non-square on purpose
    base = photo("chelsea.png", box)
    emit("hflip.png", F.hflip(base), "chelsea.png", box, "hflip=0.5", "hflip=1")
    emit("vflip.png", F.vflip(base), "chelsea.png", box, "vflip=0.5", "vflip=1")
    emit("hvflip.png", F.vflip(F.hflip(base)), "chelsea.png", box, "hflip=0.5,vflip=0.5", "hflip=1,vflip=1")
    # rotate: PIL's affine with nearest, fill given (torchvision's default fill is 0)
    sq = photo("coffee.jpg", (300, 100, 64, 64))
    for k, (angle, fill, b, im) in enumerate([(12.5, (0, 0, 0), box, base), (-33.0, (255, 128, 0), box, base),
                                              (90.0, (0, 0, 0), box, base), (180.0, (7, 7, 7), box, base),
                                              (90.0, (0, 0, 0), (300, 100, 64, 64), sq),
                                              (-7.25, (0, 0, 0), (300, 100, 64, 64), sq)]):
        src = "chelsea.png" if im is base else "coffee.jpg"
        emit("rotate%d.png" % k, F.rotate(im, angle, fill=list(fill)), src, b,
             "rotate=45,fill=%d:%d:%d" % fill, "angle=%r" % angle)
    # RandomRotation(interpolation=BILINEAR / BICUBIC): PIL's filtered affine
    for angle, interp in [(17.0, "bilinear"), (-71.5, "bicubic")]:
        emit("rotate_%s.png" % interp, F.rotate(base, angle, interpolation=IM(interp), fill=[10, 20, 30]),
             "chelsea.png", box, "rotate=-80:30,fill=10:20:30,rotate_interp=%s" % interp, "angle=%r" % angle)
    # ColorJitter's four ops one at a time, then all four in a given order
    for op, fn, factors in [("b", F.adjust_brightness, [0.6, 1.37]), ("c", F.adjust_contrast, [0.61, 1.4]),
                            ("s", F.adjust_saturation, [0.0, 0.73, 1.38]),
                            ("h", F.adjust_hue, [-0.1, 0.043, 0.5, -0.5])]:
        for f in factors:
            emit("jitter_%s%g.png" % (op, f), fn(base, f), "chelsea.png", box, "jitter=0.4:0.4:0.4:0.5",
                 "order=%s,%s=%r" % ({"b": 0, "c": 1, "s": 2, "h": 3}[op], op, f))
    fns = [F.adjust_brightness, F.adjust_contrast, F.adjust_saturation, F.adjust_hue]
    for k, (order, vals) in enumerate([((2, 0, 3, 1), (1.21, 0.77, 1.3, -0.06)),
                                       ((3, 1, 0, 2), (0.7, 1.33, 0.65, 0.09))]):
        im = sq
        for o in order:
            im = fns[o](im, vals[o])
        emit("jitter_all%d.png" % k, im, "coffee.jpg", (300, 100, 64, 64), "jitter=0.4:0.4:0.4:0.1",
             "order=%s,b=%r,c=%r,s=%r,h=%r" % ((":".join(map(str, order)),) + vals))
    # the camera is grey: saturation and hue leave it, contrast uses its L mean
    cam = photo("camera.png", (200, 200, 64, 48))
    emit("jitter_grey.png", F.adjust_hue(F.adjust_contrast(cam, 1.3), 0.2), "camera.png", (200, 200, 64, 48),
         "jitter=0.4:0.4:0.4:0.5", "order=1:3,c=1.3,h=0.2")


def randaugment_fixtures():
    """timm's RandAugment with its random draws replaced by given uniforms (random.random, random.choice,
    np.random.choice: seq[int(u * len(seq))]); netc maps the same uniforms the same way."""
    box = (150, 80, 48, 40)
    base = photo("chelsea.png", box)
    hp_fill = tuple(min(255, round(255 * x)) for x in (0.485, 0.456, 0.406))  # timm's img_mean for ImageNet

    def run(config, interp, us):
        hp = {"img_mean": hp_fill}
        if interp != "random":
            hp["interpolation"] = {"bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC}[interp]
        t = taa.rand_augment_transform(config, hp)
        src = Uniforms(us)

        class R:
            @staticmethod
            def random():
                return src.next()

            @staticmethod
            def choice(seq):
                return seq[int(src.next() * len(seq))]

            @staticmethod
            def gauss(mu, sigma):
                raise AssertionError("mstd must be 0 in these fixtures")

            @staticmethod
            def uniform(a, b):
                raise AssertionError("mstd must be 0 in these fixtures")

        real_random, real_choice = taa.random, np.random.choice
        taa.random = R
        np.random.choice = lambda ops, n, replace=True, p=None: [ops[int(src.next() * len(ops))] for _ in range(n)]
        try:
            out = t(base)
        finally:
            taa.random, np.random.choice = real_random, real_choice
        return out, ":".join(repr(u) for u in us[:src.used])

    k = 0
    for op in range(15):
        for inc in (0, 1):
            name = (taa._RAND_INCREASING_TRANSFORMS if inc else taa._RAND_TRANSFORMS)[op]
            if inc and name == taa._RAND_TRANSFORMS[op]:
                continue  # the same op in both sets
            geometric = name in ("Rotate", "ShearX", "ShearY", "TranslateXRel", "TranslateYRel")
            for interp, neg in ([("bilinear", 0.2), ("bicubic", 0.8)] if geometric else [("bilinear", 0.8)]):
                config = "rand-m7-n1-p1.0" + ("-inc1" if inc else "")
                out, used = run(config, interp, [(op + 0.5) / 15, neg, 0.5])
                emit("ra%02d_%s_%s.png" % (k, name, interp), out, "chelsea.png", box,
                     "%s,interp=%s" % (config, interp), "u=" + used)
                k += 1
    # two ops of three, their coins, random filters, the increasing set; and a magnitude past mmax
    for config, us in [("rand-m9-n3-p0.5-inc1", [0.25, 0.8, 0.95, 0.4, 0.9, 0.3, 0.7, 0.6, 0.1, 0.45, 0.2]),
                       ("rand-m10-n2-mmax10", [3.5 / 15, 11.5 / 15, 0.1, 0.6, 0.7, 0.2, 0.9, 0.9]),
                       ("rand-m9-n2-p0.9", [13.5 / 15, 10.5 / 15, 0.3, 0.4, 0.55, 0.5, 0.7, 0.2])]:
        out, used = run(config, "random", us)
        emit("ra%02d_composite.png" % k, out, "chelsea.png", box, config + ",interp=random", "u=" + used)
        k += 1


class Uniforms:
    """Stand-in for torch's / random's draws: each returns lo + u * (hi - lo) for the next given u."""

    def __init__(self, us):
        self.us = list(us)
        self.used = 0

    def next(self):
        u = self.us[self.used]
        self.used += 1
        return u


def rrc_params():
    lines = []
    cases = [  # W, H, scale, ratio, uniforms (area, log-ratio per try; then top, left)
        (451, 300, (0.08, 1.0), (3 / 4, 4 / 3), [0.3, 0.6, 0.25, 0.8]),
        (451, 300, (0.08, 1.0), (3 / 4, 4 / 3), [0.999, 0.999, 0.999, 0.0, 0.9, 0.5, 0.0, 0.99, 0.5, 0.25]),
        (451, 300, (0.9, 1.0), (3 / 4, 4 / 3), [0.99, 0.0] * 10),  # 10 failed tries: fallback (too tall)
        (300, 451, (0.9, 1.0), (3 / 4, 4 / 3), [0.99, 0.999] * 10),  # fallback, too wide
        (200, 200, (1.0, 1.0), (1.0, 1.0), [0.5, 0.5, 0.3, 0.7]),
        (640, 427, (0.08, 1.0), (3 / 4, 4 / 3), [0.0, 0.0, 0.999, 0.001]),
        (640, 480, (0.95, 1.0), (1 / 3, 3.0), [0.9, 0.5] * 10),  # fallback inside the ratio range: the whole image
        (97, 61, (0.08, 1.0), (3 / 4, 4 / 3), [0.55, 0.45, 0.5, 0.5]),
    ]

    class Shim:
        def __init__(self, src):
            self.src = src

        def empty(self, *a, **k):
            shim = self

            class E:
                def uniform_(self, lo, hi):
                    return torch.tensor([float(lo) + shim.src.next() * (float(hi) - float(lo))], dtype=torch.float64)
            return E()

        def randint(self, lo, hi, size=None):
            return torch.tensor([lo + math.floor(self.src.next() * (hi - lo))])

        def __getattr__(self, name):
            return getattr(torch, name)

    real = TT.torch
    for W, H, scale, ratio, us in cases:
        src = Uniforms(us)
        TT.torch = Shim(src)
        try:
            i, j, h, w = TT.RandomResizedCrop.get_params(Image.new("RGB", (W, H)), list(scale), list(ratio))
        finally:
            TT.torch = real
        assert src.used == len(us), (W, H, src.used, len(us))
        lines.append("%d %d %r %r %r %r %s -> %d %d %d %d" % (W, H, scale[0], scale[1], ratio[0], ratio[1],
                                                            ",".join(repr(u) for u in us), j, i, w, h))
    with open(os.path.join(OUT, "rrc_params.txt"), "w") as f:
        f.write("# W H scale0 scale1 ratio0 ratio1 uniforms -> left top width height "
                "(torchvision RandomResizedCrop.get_params)\n")
        f.write("\n".join(lines) + "\n")


def erase_params():
    lines = []
    cases = [  # H, W, uniforms: [prob, (area, log-aspect) per try, top, left]
        (64, 48, [0.1, 0.5, 0.5, 0.3, 0.6]),
        (64, 48, [0.0, 0.99, 0.0, 0.98, 0.0001, 0.2, 0.5, 0.0, 0.999]),  # two failed tries
        (32, 32, [0.2] + [0.99, 0.0] * 10),  # 10 failed tries: nothing erased
        (448, 448, [0.3, 0.0, 0.5, 0.999, 0.001]),
    ]
    real_random = terase.random
    for H, W, us in cases:
        src = Uniforms(us)

        class R:
            @staticmethod
            def random():
                return src.next()

            @staticmethod
            def uniform(a, b):
                return a + src.next() * (b - a)

            @staticmethod
            def randint(a, b):
                return a + math.floor(src.next() * (b - a + 1))

        terase.random = R
        try:
            x = torch.full((3, H, W), 5.0)
            terase.RandomErasing(probability=0.5, mode="const", device="cpu")(x)
        finally:
            terase.random = real_random
        assert src.used == len(us), (H, W, src.used, len(us))
        hit = (x == 0).all(0).nonzero()
        box = (0, 0, 0, 0) if len(hit) == 0 else (int(hit[:, 1].min()), int(hit[:, 0].min()),
                                                   int(hit[:, 1].max()) + 1 - int(hit[:, 1].min()),
                                                   int(hit[:, 0].max()) + 1 - int(hit[:, 0].min()))
        assert int((x == 0).sum()) == 3 * box[2] * box[3]  # one rectangle, all channels
        lines.append("%d %d %s -> %d %d %d %d" % (W, H, ",".join(repr(u) for u in us), *box))
    with open(os.path.join(OUT, "erase_params.txt"), "w") as f:
        f.write("# W H uniforms -> left top width height (timm RandomErasing(probability=0.5, mode='const'), "
                "0 0 0 0: nothing erased)\n")
        f.write("\n".join(lines) + "\n")


def mixup_fixtures():
    B, C, H, W, K = 6, 2, 10, 12, 5
    g = np.random.default_rng(7)
    x0 = g.standard_normal((B, C, H, W)).astype(np.float32)
    labels = np.array([0, 3, 1, 4, 4, 2])
    np.save(os.path.join(OUT, "mix_input.npy"), x0)
    lines = []
    cases = [  # name, Mixup kwargs, per-element (lam, use_cutmix) or one pair for batch, randint draws
        ("batch_mixup", dict(mode="batch", mixup_alpha=0.8, cutmix_alpha=1.0, label_smoothing=0.1), [(0.7, False)], []),
        ("batch_cutmix", dict(mode="batch", mixup_alpha=0.8, cutmix_alpha=1.0, label_smoothing=0.1),
         [(0.62, True)], [3, 10]),
        ("batch_cutmix_edge", dict(mode="batch", cutmix_alpha=1.0, mixup_alpha=0.0, label_smoothing=0.0),
         [(0.3, True)], [9, 0]),
        ("batch_cutmix_nocorrect", dict(mode="batch", cutmix_alpha=1.0, mixup_alpha=0.0, correct_lam=False,
                                        label_smoothing=0.2), [(0.45, True)], [5, 6]),
        ("batch_minmax", dict(mode="batch", cutmix_alpha=1.0, mixup_alpha=0.0, cutmix_minmax=(0.2, 0.8),
                              label_smoothing=0.1), [(0.5, True)], [4, 7, 2, 1]),
        ("batch_none", dict(mode="batch", mixup_alpha=0.8, label_smoothing=0.1), [(1.0, False)], []),
        ("elem", dict(mode="elem", mixup_alpha=0.8, cutmix_alpha=1.0, label_smoothing=0.1),
         [(0.9, False), (0.55, True), (1.0, True), (0.2, False), (0.35, True), (0.61, False)],
         [2, 5, 8, 11]),
        ("pair", dict(mode="pair", mixup_alpha=0.8, cutmix_alpha=1.0, label_smoothing=0.1),
         [(0.4, True), (0.83, False), (0.5, True)], [6, 6, 1, 2]),
        ("elem_minmax", dict(mode="elem", cutmix_alpha=1.0, cutmix_minmax=(0.3, 0.6), label_smoothing=0.0),
         [(0.5, True), (0.5, True), (1.0, True), (0.5, True), (0.5, True), (0.5, True)],
         [3, 4, 1, 2, 4, 5, 0, 0, 3, 3, 6, 6, 5, 4, 2, 3, 4, 5, 1, 1]),
    ]
    real_randint = np.random.randint
    for name, kw, draws, ints in cases:
        m = tmix.Mixup(num_classes=K, **kw)
        it = iter(ints)

        def randint(lo, hi=None, size=None):
            v = next(it)
            assert lo <= v < hi, (name, lo, v, hi)
            return v
        if m.mode == "batch":
            m._params_per_batch = lambda d=draws: (d[0][0], d[0][1])
        else:
            m._params_per_elem = lambda n, d=draws: (np.array([a for a, _ in d[:n]], dtype=np.float32),
                                                    np.array([c for _, c in d[:n]], dtype=bool))
        np.random.randint = randint
        try:
            x = torch.from_numpy(x0.copy())
            xm, t = m(x, torch.from_numpy(labels))
        finally:
            np.random.randint = real_randint
        assert next(it, None) is None, name
        np.save(os.path.join(OUT, "mix_%s_x.npy" % name), xm.numpy().astype(np.float32))
        np.save(os.path.join(OUT, "mix_%s_t.npy" % name), t.numpy().astype(np.float32))
        opts = "mode=%s mixup_alpha=%r cutmix_alpha=%r smoothing=%r correct_lam=%d minmax=%s" % (
            m.mode, m.mixup_alpha, m.cutmix_alpha, m.label_smoothing, int(m.correct_lam),
            "-" if m.cutmix_minmax is None else "%r:%r" % tuple(m.cutmix_minmax))
        lines.append("%s %s draws=%s ints=%s" % (name, opts, ",".join("%r:%d" % (a, c) for a, c in draws),
                                                 ",".join(map(str, ints)) or "-"))
    with open(os.path.join(OUT, "mixup.txt"), "w") as f:
        f.write("# timm.data.Mixup(num_classes=%d) on mix_input.npy [%d,%d,%d,%d], labels %s; per case the "
                "(lam, use_cutmix) draws and np.random.randint's values; mix_NAME_x.npy / _t.npy: timm's output\n"
                % (K, B, C, H, W, ",".join(map(str, labels))))
        f.write("\n".join(lines) + "\n")


def main():
    os.makedirs(OUT, exist_ok=True)
    pyrandom.seed(0)
    image_fixtures()
    randaugment_fixtures()
    with open(os.path.join(OUT, "manifest.tsv"), "w") as f:
        f.write("# expected PNG\tphotograph\tcrop of it first (x,y,w,h)\tnetc --aug spec\tthe draws\n")
        f.write("\n".join(manifest) + "\n")
    rrc_params()
    erase_params()
    mixup_fixtures()


if __name__ == "__main__":
    main()
