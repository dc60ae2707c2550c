#!/usr/bin/env python3
"""Write the small oracle files in tests/fixtures/io/ that test_safetensors and
test_npy read: files produced by the real libraries (the `safetensors` package
and numpy), next to the values numpy says they hold, so the C readers are
checked against the reference implementations rather than against our own
writer.

    pip install numpy safetensors ml_dtypes
    python3 tools/make_io_fixtures.py

The values are deterministic (fixed seed); the files are a few KB; commit them. Rerun only when the set
of fixtures changes (tests/unit/test_safetensors.c and test_npy.c name them).
"""
import os
import sys

import numpy as np
from safetensors.numpy import save_file

try:
    import ml_dtypes

    BF16 = ml_dtypes.bfloat16
except ImportError:  # bfloat16 by hand: the top 16 bits of an f32
    BF16 = None

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "fixtures", "io")


def f32_from_bits(bits):
    return np.array(bits, dtype=np.uint32).view(np.float32)


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(12345)

    # F32: edges (signed zero, smallest subnormal, largest finite, inf, NaN)
    # plus ordinary values; shape 2-d.
    f32_edges = np.concatenate([
        np.array([0.0, -0.0, 1.0, -1.0, np.pi, 1e-45, -1e-45, 1e-40,
                  np.finfo(np.float32).tiny, np.finfo(np.float32).max,
                  -np.finfo(np.float32).max, np.inf, -np.inf, np.nan], dtype=np.float32),
        rng.standard_normal(22).astype(np.float32),
    ]).reshape(4, 9)

    # F16: signed zero, smallest subnormal (2^-24), largest subnormal, smallest
    # normal, largest finite (65504), inf, NaN, and rounding-sensitive values.
    f16_bits = np.array([0x0000, 0x8000, 0x0001, 0x8001, 0x0002, 0x03FF, 0x83FF, 0x0400,
                         0x7BFF, 0xFBFF, 0x7C00, 0xFC00, 0x7E00, 0x3C00, 0xBC00, 0x3555,
                         0x2E66, 0x0155], dtype=np.uint16)
    f16 = np.concatenate([f16_bits.view(np.float16),
                          rng.standard_normal(14).astype(np.float16)]).reshape(2, 4, 4)

    # BF16: the same kinds of edges (0x0001 is the smallest bf16 subnormal).
    bf16_bits = np.array([0x0000, 0x8000, 0x0001, 0x8001, 0x007F, 0x0080, 0x7F7F, 0xFF7F,
                          0x7F80, 0xFF80, 0x7FC0, 0x3F80, 0xBF80, 0x4049, 0x3DCD, 0x3EAB],
                         dtype=np.uint16)
    bf16_rand = (rng.standard_normal(16).astype(np.float32).view(np.uint32) >> 16).astype(np.uint16)
    bf16_all = np.concatenate([bf16_bits, bf16_rand]).reshape(32)
    bf16_as_f32 = (bf16_all.astype(np.uint32) << 16).view(np.float32)
    if BF16 is not None:
        bf16 = bf16_all.view(BF16)
        # Cross-check the manual bit pattern against ml_dtypes' own conversion.
        assert np.array_equal(bf16.astype(np.float32).view(np.uint32), bf16_as_f32.view(np.uint32))
    else:
        sys.exit("ml_dtypes is needed to write BF16 through the safetensors package")

    f64 = np.array([[0.1, -2.5, 1e-30], [3e38, -1e-300, 12345.678]], dtype=np.float64)
    scalar = np.array(7.25, dtype=np.float32)  # 0-d
    ints = np.arange(6, dtype=np.int32).reshape(2, 3)
    empty = np.zeros((0, 3), dtype=np.float32)

    save_file({"f32": f32_edges, "f16": f16, "bf16": bf16, "f64": f64, "scalar": scalar,
               "ints": ints, "empty": empty},
              os.path.join(OUT, "mixed.safetensors"),
              metadata={"format": "np", "note": "netc io fixture"})

    # Expected f32 values, as numpy converts them.
    np.save(os.path.join(OUT, "mixed_f32.npy"), f32_edges)
    np.save(os.path.join(OUT, "mixed_f16.npy"), f16.astype(np.float32))
    np.save(os.path.join(OUT, "mixed_bf16.npy"), bf16.astype(np.float32))
    np.save(os.path.join(OUT, "mixed_f64.npy"), f64.astype(np.float32))
    np.save(os.path.join(OUT, "mixed_scalar.npy"), scalar)  # 0-d: shape ()

    # .npy readers: float64 (read as f32), 1-d, 0-d, formats 2.0 and 3.0,
    # and files that must be rejected.
    np.save(os.path.join(OUT, "f64_2x3.npy"), f64)
    np.save(os.path.join(OUT, "vec5.npy"), np.array([1.5, -2.0, 0.0, np.inf, 1e-42], dtype=np.float32))
    np.save(os.path.join(OUT, "empty_0x3.npy"), empty)
    for ver in [(2, 0), (3, 0)]:
        with open(os.path.join(OUT, "v%d.npy" % ver[0]), "wb") as f:
            np.lib.format.write_array(f, np.arange(6, dtype=np.float32).reshape(3, 2), version=ver)
    np.save(os.path.join(OUT, "bad_fortran.npy"), np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)))
    np.save(os.path.join(OUT, "bad_bigendian.npy"), np.arange(4, dtype=">f4"))
    np.save(os.path.join(OUT, "bad_int64.npy"), np.arange(4, dtype="<i8"))

    for n in os.listdir(OUT):  # the Rust writer creates files 0600
        os.chmod(os.path.join(OUT, n), 0o644)
    total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT))
    print("wrote %d files, %d bytes, to %s" % (len(os.listdir(OUT)), total, os.path.normpath(OUT)))


if __name__ == "__main__":
    main()
