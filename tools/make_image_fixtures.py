#!/usr/bin/env python3
"""Write the image-pipeline fixtures in tests/fixtures/images/: small real
photographs (scikit-image's sample images, public domain / CC0, see the README
there) encoded as the kinds of files netc must read — baseline, 4:2:2,
progressive, greyscale and CMYK JPEG, JPEGs with EXIF orientations, PNG with
alpha, palette, 16-bit RGB and 16-bit grey — and, for each, the tensor timm's
eval transform makes of it:

    img = ImageOps.exif_transpose(Image.open(path)).convert("RGB")
    x = timm.data.create_transform(input_size=(3, H, W), crop_pct=..., interpolation=...,
                                   mean=..., std=..., is_training=False)(img)

saved as float32 .npy, plus manifest.tsv (one line per tensor) that
tests/unit/test_image_pipeline.c reads. Also writes the seed corpus of the
fuzz_image target (tests/fuzz/corpus/fuzz_image/: one tiny file per decoder
path).

    pip install pillow numpy timm torch scikit-image
    python3 tools/make_image_fixtures.py

Deterministic (JPEG encoding by Pillow's libjpeg-turbo, fixed seeds); the whole
directory is under 1 MB. Rerun only when the set of fixtures changes.
"""
import os
import struct
import zlib

import numpy as np
import skimage.data
import timm
import timm.data
import torch
from PIL import Image, ImageOps

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "fixtures", "images")

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
INCEPTION = (0.5, 0.5, 0.5)


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def write_png(path, a, ctype, depth, palette=None, interlace=False, chunks=()):
    """A PNG written by hand (Pillow cannot write 16-bit RGB or interlaced
    files): a is h x w x channels sample values; chunks are (type, data)
    placed before IDAT."""
    h, w = a.shape[:2]
    a = a.reshape(h, w, -1)

    def rows(sub):
        out = []
        for r in sub.reshape(sub.shape[0], -1):
            if depth == 16:
                out.append(r.astype(">u2").tobytes())
            elif depth == 8:
                out.append(r.astype(np.uint8).tobytes())
            else:  # pack sub-byte samples, most significant first
                per = 8 // depth
                v = np.zeros(-(-len(r) // per) * per, dtype=np.uint8)
                v[: len(r)] = r
                v = v.reshape(-1, per)
                b = np.zeros(len(v), dtype=np.uint8)
                for k in range(per):
                    b |= (v[:, k] << (8 - depth * (k + 1))).astype(np.uint8)
                out.append(b.tobytes())
        return out

    if interlace:  # Adam7
        subs = [a[y0::dy, x0::dx] for x0, y0, dx, dy in
                [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]]
    else:
        subs = [a]
    raw = b"".join(b"\0" + r for sub in subs if sub.size for r in rows(sub))
    data = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, int(interlace)))
    if palette is not None:
        data += png_chunk(b"PLTE", bytes(np.asarray(palette, dtype=np.uint8).reshape(-1)))
    for kind, payload in chunks:
        data += png_chunk(kind, payload)
    data += png_chunk(b"IDAT", zlib.compress(raw, 9)) + png_chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(data)


def write_png16(path, a):
    """A 16-bit PNG: grey if a is 2-d, RGB if h x w x 3."""
    write_png(path, a, 0 if a.ndim == 2 else 2, 16)


def exif_bytes(orientation):
    ex = Image.Exif()
    ex[0x0112] = orientation
    return ex.tobytes()


def make_images():
    """name -> path of each image file written."""
    chelsea = Image.fromarray(skimage.data.chelsea())  # 451x300, CC0 (Stefan van der Walt)
    coffee = Image.fromarray(skimage.data.coffee())  # 600x400, CC0 (Rachel Michetti)
    astronaut = Image.fromarray(skimage.data.astronaut())  # 512x512, public domain (NASA)
    rocket = Image.fromarray(skimage.data.rocket())  # 640x427, public domain (SpaceX)
    camera = Image.fromarray(skimage.data.camera())  # 512x512 grey, CC0 (Lav Varshney)
    rng = np.random.default_rng(5)

    files = {}

    def save(name, im, **kw):
        path = os.path.join(OUT, name)
        im.save(path, **kw)
        files[name] = path

    save("chelsea.jpg", chelsea, quality=85)  # baseline, 4:2:0
    save("coffee_422.jpg", coffee.resize((300, 200), Image.Resampling.LANCZOS), quality=90, subsampling=1)
    save("astronaut_progressive.jpg", astronaut.resize((256, 256), Image.Resampling.LANCZOS), quality=85,
         progressive=True)
    save("camera_grey.jpg", camera.resize((256, 256), Image.Resampling.LANCZOS), quality=85)
    save("rocket_cmyk.jpg", rocket.resize((320, 213), Image.Resampling.LANCZOS).convert("CMYK"), quality=85)
    # EXIF orientations: the pixels are stored turned so that applying the tag
    # shows the photograph upright.
    small_chelsea = chelsea.resize((226, 150), Image.Resampling.LANCZOS)
    save("chelsea_exif6.jpg", small_chelsea.transpose(Image.Transpose.ROTATE_90), quality=85,
         exif=exif_bytes(6))
    save("coffee_exif3.jpg", coffee.resize((240, 160), Image.Resampling.LANCZOS).transpose(
        Image.Transpose.ROTATE_180), quality=85, exif=exif_bytes(3))
    # All eight orientations on a tiny picture (non-square, so a swapped axis shows).
    tiny = chelsea.resize((37, 23), Image.Resampling.LANCZOS)
    for o in range(1, 9):
        save(f"orient{o}.jpg", tiny, quality=95, exif=exif_bytes(o))
    # PNG: alpha (a gradient, dropped by convert("RGB")), palette, 16-bit.
    a = np.asarray(astronaut.resize((96, 96), Image.Resampling.LANCZOS))
    alpha = np.tile(np.linspace(0, 255, 96).astype(np.uint8), (96, 1))
    save("astronaut_alpha.png", Image.fromarray(np.dstack([a, alpha])))
    save("chelsea_palette.png", chelsea.resize((150, 100), Image.Resampling.LANCZOS).quantize(64))
    c16 = np.asarray(coffee.resize((96, 64), Image.Resampling.LANCZOS)).astype(np.uint16) * 257
    c16 = (c16 + rng.integers(0, 257, c16.shape)).astype(np.uint16)  # low bytes that PIL drops
    write_png16(os.path.join(OUT, "coffee_16bit.png"), c16)
    files["coffee_16bit.png"] = os.path.join(OUT, "coffee_16bit.png")
    # 16-bit grey: PIL reads it as I;16 and convert("RGB") clips each value to
    # 255 (it does not scale), so a scan whose values are mostly small shows.
    g = np.asarray(camera.resize((32, 32), Image.Resampling.LANCZOS)).astype(np.uint16)
    write_png16(os.path.join(OUT, "camera_grey16.png"), g * 2)
    files["camera_grey16.png"] = os.path.join(OUT, "camera_grey16.png")
    return files


# (image, H, W, crop_pct, interpolation, mean, std)
CASES = [
    ("chelsea.jpg", 64, 64, 0.875, "bicubic", IMAGENET_MEAN, IMAGENET_STD),
    ("chelsea.jpg", 64, 96, 0.875, "bicubic", IMAGENET_MEAN, IMAGENET_STD),  # non-square: ResizeKeepRatio
    ("chelsea.jpg", 32, 32, 1.0, "bilinear", IMAGENET_MEAN, IMAGENET_STD),
    ("chelsea.jpg", 32, 32, 1.15, "bicubic", IMAGENET_MEAN, IMAGENET_STD),  # crop_pct > 1: zero padding
    ("coffee_422.jpg", 64, 64, 0.875, "bilinear", IMAGENET_MEAN, IMAGENET_STD),
    ("astronaut_progressive.jpg", 96, 96, 1.0, "bicubic", IMAGENET_MEAN, IMAGENET_STD),
    ("astronaut_progressive.jpg", 32, 32, 0.9, "bicubic", INCEPTION, INCEPTION),
    ("camera_grey.jpg", 64, 64, 0.875, "bicubic", IMAGENET_MEAN, IMAGENET_STD),
    ("rocket_cmyk.jpg", 48, 48, 0.875, "bicubic", IMAGENET_MEAN, IMAGENET_STD),
    ("chelsea_exif6.jpg", 64, 48, 0.875, "bicubic", IMAGENET_MEAN, IMAGENET_STD),
    ("coffee_exif3.jpg", 48, 48, 0.95, "bicubic", IMAGENET_MEAN, IMAGENET_STD),
    ("astronaut_alpha.png", 48, 48, 0.875, "bicubic", IMAGENET_MEAN, IMAGENET_STD),
    ("chelsea_palette.png", 48, 48, 0.875, "bilinear", IMAGENET_MEAN, IMAGENET_STD),
    ("coffee_16bit.png", 48, 48, 0.875, "bicubic", IMAGENET_MEAN, IMAGENET_STD),
    ("camera_grey16.png", 16, 16, 0.875, "bicubic", IMAGENET_MEAN, IMAGENET_STD),
] + [(f"orient{o}.jpg", 16, 24, 1.0, "bicubic", IMAGENET_MEAN, IMAGENET_STD) for o in range(1, 9)]


CORPUS = os.path.join(HERE, "..", "tests", "fuzz", "corpus", "fuzz_image")


def make_corpus():
    """Tiny seeds for tests/fuzz/fuzz_image.c: one file per decoder path."""
    os.makedirs(CORPUS, exist_ok=True)
    for f in os.listdir(CORPUS):
        os.remove(os.path.join(CORPUS, f))
    rng = np.random.default_rng(9)
    pic = Image.fromarray(skimage.data.chelsea()).resize((12, 8), Image.Resampling.LANCZOS)
    a = np.asarray(pic)

    def p(name):
        return os.path.join(CORPUS, name)

    pic.save(p("baseline.jpg"), quality=75)
    pic.save(p("progressive.jpg"), quality=75, progressive=True)
    pic.save(p("s444.jpg"), quality=75, subsampling=0)
    pic.convert("L").save(p("grey.jpg"), quality=75)
    pic.convert("CMYK").save(p("cmyk.jpg"), quality=75)
    pic.save(p("exif6.jpg"), quality=75, exif=exif_bytes(6))
    xmp = b"http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta><rdf:Description tiff:Orientation=\"8\"/></x:xmpmeta>"
    j = open(p("baseline.jpg"), "rb").read()
    with open(p("xmp8.jpg"), "wb") as f:
        f.write(j[:2] + b"\xff\xe1" + (len(xmp) + 2).to_bytes(2, "big") + xmp + j[2:])
    write_png(p("rgb8.png"), a, 2, 8)
    write_png(p("rgba8.png"), np.dstack([a, a[..., :1]]), 6, 8)
    write_png(p("rgb16_interlaced.png"), a.astype(np.uint16) * 257, 2, 16, interlace=True)
    write_png(p("grey16.png"), a[..., 0].astype(np.uint16) * 3, 0, 16)
    write_png(p("grey2.png"), a[..., 0] >> 6, 0, 2)
    write_png(p("grey_alpha.png"), np.dstack([a[..., 0], a[..., 1]]), 4, 8)
    write_png(p("palette4_short.png"), (a[..., 0] >> 4), 3, 4, palette=rng.integers(0, 256, (5, 3)))
    write_png(p("exif3.png"), a, 2, 8, chunks=[(b"eXIf", exif_bytes(3)[6:])])
    write_png(p("xmp5.png"), a, 2, 8, chunks=[(b"tEXt", b"XML:com.adobe.xmp\0<tiff:Orientation>5</tiff:Orientation>")])
    ex = exif_bytes(7)[6:].hex()
    write_png(p("rawprofile7.png"), a, 2, 8,
              chunks=[(b"tEXt", b"Raw profile type exif\0\nexif\n" + b"%8d\n" % (len(ex) // 2) + ex.encode() + b"\n")])
    return len(os.listdir(CORPUS))


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        if f.endswith((".jpg", ".png", ".npy")) or f == "manifest.tsv":
            os.remove(os.path.join(OUT, f))
    files = make_images()
    lines = ["# image\theight\twidth\tcrop_pct\tinterpolation\tmean\tstd\ttensor (float32 [1, 3, H, W])"]
    for k, (name, h, w, crop, interp, mean, std) in enumerate(CASES):
        tf = timm.data.create_transform(input_size=(3, h, w), crop_pct=crop, interpolation=interp, mean=mean,
                                        std=std, is_training=False)
        img = ImageOps.exif_transpose(Image.open(files[name])).convert("RGB")
        x = tf(img).unsqueeze(0).numpy().astype(np.float32)
        assert x.shape == (1, 3, h, w), x.shape
        tensor = f"{os.path.splitext(name)[0]}_{h}x{w}_{interp}_{crop}.npy"
        if mean != IMAGENET_MEAN:
            tensor = tensor.replace(".npy", "_inception.npy")
        np.save(os.path.join(OUT, tensor), x)
        lines.append("\t".join([name, str(h), str(w), repr(crop), interp, ",".join(map(repr, mean)),
                                ",".join(map(repr, std)), tensor]))
    with open(os.path.join(OUT, "manifest.tsv"), "w") as f:
        f.write("\n".join(lines) + "\n")
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    seeds = make_corpus()
    print(f"wrote {seeds} seeds to {os.path.relpath(CORPUS)}")
    print(f"wrote {len(files)} images and {len(CASES)} tensors to {os.path.relpath(OUT)} "
          f"({total / 1024:.0f} KB; timm {timm.__version__}, torch {torch.__version__}, "
          f"Pillow {Image.__version__})")


if __name__ == "__main__":
    main()
