#!/usr/bin/env python3
"""fashion_mnist.py — Fashion-MNIST as PNG files and `path label` lists for `train --data`.

Reads Debian's package dataset-fashion-mnist (the four idx .gz files under
/usr/share/datasets/fashion-mnist; `apt-get install dataset-fashion-mnist`) and
writes, under OUT (default data/fashion-mnist, gitignored):

  train/<class>/<index>.png   the 60,000 training images (28x28, 8-bit greyscale PNG)
  test/<class>/<index>.png    the 10,000 test images (the official test split)
  train.txt, test.txt         one 'train/3/00017.png 3' line per image, paths relative
                              to the list's folder, in the files' original order
  classes.txt                 the ten class names, line k naming label k

PNG files are written with zlib by hand (no Pillow needed); numpy only.  Files that
already exist with the same bytes are left alone, so a second run is quick.
Exit status: 0 done, 2 the package's files are missing or malformed.

Usage: python3 tools/fashion_mnist.py [--src DIR] [--out DIR] [--limit N]
"""
import argparse
import gzip
import os
import struct
import sys
import zlib

import numpy as np

CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
SPLITS = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", 60000),
          "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", 10000)}


class BadInput(Exception):
    pass


def read_idx(path, ndim, count):
    """An idx file (big-endian magic 0x0000 08 ndim, ndim uint32 sizes, uint8 data)."""
    try:
        with gzip.open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise BadInput(f"{path}: {e.strerror or e}")
    head = 4 + 4 * ndim
    if len(data) < head or data[:4] != bytes([0, 0, 8, ndim]):
        raise BadInput(f"{path}: not an idx file of {ndim} dimension(s) of uint8")
    dims = struct.unpack(">" + "I" * ndim, data[4:head])
    if dims[0] != count or len(data) != head + int(np.prod(dims)):
        raise BadInput(f"{path}: expected {count} items, the header says {dims} and the file has "
                       f"{len(data) - head} data bytes")
    return np.frombuffer(data, np.uint8, offset=head).reshape(dims)


def png_grey(img):
    """An 8-bit greyscale PNG of a 2-D uint8 array (filter 0 on every row)."""
    h, w = img.shape

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    raw = b"".join(b"\0" + img[y].tobytes() for y in range(h))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def write_if_changed(path, data):
    try:
        with open(path, "rb") as f:
            if f.read() == data:
                return False
    except FileNotFoundError:
        pass
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)  # a reader sees the old file or the whole new one
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--src", default="/usr/share/datasets/fashion-mnist",
                    help="folder of the idx .gz files (default: Debian's)")
    ap.add_argument("--out", default=os.path.join("data", "fashion-mnist"), help="output folder")
    ap.add_argument("--limit", type=int, default=0, help="only the first N images of each split (0: all)")
    args = ap.parse_args()
    if args.limit < 0:
        print("fashion_mnist: --limit must be >= 0", file=sys.stderr)
        return 2

    try:
        sets = {}
        for split, (imgs, labels, n) in SPLITS.items():
            x = read_idx(os.path.join(args.src, imgs), 3, n)
            y = read_idx(os.path.join(args.src, labels), 1, n)
            if x.shape[1:] != (28, 28):
                raise BadInput(f"{os.path.join(args.src, imgs)}: images are {x.shape[1:]}, expected 28x28")
            if y.max() >= len(CLASSES):
                raise BadInput(f"{os.path.join(args.src, labels)}: label {y.max()} out of range 0..9")
            sets[split] = (x, y)
    except BadInput as e:
        print(f"fashion_mnist: {e} (apt-get install dataset-fashion-mnist)", file=sys.stderr)
        return 2

    written = 0
    for split, (x, y) in sets.items():
        n = len(y) if not args.limit else min(args.limit, len(y))
        for c in range(len(CLASSES)):
            os.makedirs(os.path.join(args.out, split, str(c)), exist_ok=True)
        lines = []
        for i in range(n):
            rel = f"{split}/{y[i]}/{i:05d}.png"
            written += write_if_changed(os.path.join(args.out, rel), png_grey(x[i]))
            lines.append(f"{rel} {y[i]}\n")
        write_if_changed(os.path.join(args.out, split + ".txt"), "".join(lines).encode())
        counts = np.bincount(y[:n], minlength=len(CLASSES))
        print(f"{split}: {n} images, per class {' '.join(map(str, counts))}", flush=True)
    write_if_changed(os.path.join(args.out, "classes.txt"), "".join(c + "\n" for c in CLASSES).encode())
    print(f"{args.out}: {written} PNG files written (the rest were already there)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
