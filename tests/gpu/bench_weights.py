"""bench_weights.py IN.safetensors OUT.safetensors — weights for timing a model
on the GPU, made to compress: every tensor of two or more dimensions is one
fixed random tile of 4096 values repeated (scaled by sqrt(2 / fan-in), He's
rule, so activations stay finite), batch norms the identity (weight 1, bias 0,
mean 0, variance 1: folding keeps the repetition), other vectors 0.  The
device tool carries 64 MiB, a model's f32 weights are 100-300 MB; these
compress a thousandfold with lzma.  For timing only: the answers mean nothing.
numpy only."""
import json
import struct
import sys

import numpy as np


def tile():
    return np.random.default_rng(0).standard_normal(4096).astype(np.float32)


def value(name, shape, t):
    """The value of parameter `name` of this shape (tests/gpu/timm_check.py builds timm's the same way)."""
    count = int(np.prod(shape)) if len(shape) else 1
    if len(shape) >= 2:
        return (np.resize(t, count) * np.float32(np.sqrt(2.0 / max(count // shape[0], 1)))).astype(np.float32)
    if name.endswith("running_var") or name.endswith(".weight"):  # 1-D weights are the norms' scales
        return np.ones(count, np.float32)
    return np.zeros(count, np.float32)


def main():
    src, dst = sys.argv[1], sys.argv[2]
    data = open(src, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    head = json.loads(data[8 : 8 + n])
    t = tile()
    body = bytearray(len(data) - 8 - n)
    for name, h in head.items():
        if name == "__metadata__":
            continue
        assert h["dtype"] == "F32", name
        a, b = h["data_offsets"]
        body[a:b] = value(name, h["shape"], t).tobytes()
        assert b - a == 4 * int(np.prod(h["shape"]) if h["shape"] else 1), name
    open(dst, "wb").write(data[: 8 + n] + bytes(body))


if __name__ == "__main__":
    main()
