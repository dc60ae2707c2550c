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


def main():
    src, dst = sys.argv[1], sys.argv[2]
    data = open(src, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    head = json.loads(data[8 : 8 + n])
    tile = np.random.default_rng(0).standard_normal(4096).astype(np.float32)
    out = bytearray(data[: 8 + n])
    body = bytearray(len(data) - 8 - n)
    for name, t in head.items():
        if name == "__metadata__":
            continue
        assert t["dtype"] == "F32", name
        a, b = t["data_offsets"]
        shape = t["shape"]
        count = (b - a) // 4
        if len(shape) >= 2:
            fan_in = count // shape[0]
            v = np.resize(tile, count) * np.float32(np.sqrt(2.0 / max(fan_in, 1)))
        elif name.endswith("running_var") or name.endswith(".weight"):  # 1-D weights are the norms' scales
            v = np.ones(count, np.float32)
        else:
            v = np.zeros(count, np.float32)
        body[a:b] = v.astype(np.float32).tobytes()
    open(dst, "wb").write(bytes(out) + bytes(body))


if __name__ == "__main__":
    main()
