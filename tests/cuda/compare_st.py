"""compare_st.py REF.safetensors GOT.safetensors RTOL [GRAD_L2] — every tensor of REF
(f32; an int64 count must be equal) present in GOT with the same shape, max |got - ref| <= RTOL * max |ref|;
prints the worst.  A tensor that is zero up to rounding in REF (max |ref|
under 1e-6 of the largest magnitude of any tensor: a conv bias feeding a
batch norm has the exact gradient 0, and what both programs compute is their
rounding) must stay as small in GOT: max |got| <= 1e-5 of that largest.
With GRAD_L2 the gradients (grad/...) are held instead to |got - ref|_2 <=
GRAD_L2 |ref|_2 (a bf16 step: its gradients are as ill-conditioned as the
step, see tests/cuda.cmake)."""
import json
import struct
import sys

import numpy as np


def load(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    head = json.loads(data[8 : 8 + n])
    out = {}
    for name, t in head.items():
        if name == "__metadata__":
            continue
        a, b = t["data_offsets"]
        dtype = {"F32": np.float32, "I64": np.int64}[t["dtype"]]  # I64: a checkpoint's num_batches_tracked
        out[name] = np.frombuffer(data[8 + n + a : 8 + n + b], dtype=dtype).reshape(t["shape"])
    return out


def main():
    ref, got, rtol = load(sys.argv[1]), load(sys.argv[2]), float(sys.argv[3])
    grad_l2 = float(sys.argv[4]) if len(sys.argv) > 4 else None
    worst, worst_l2, bad, zeros = (0.0, ""), (0.0, ""), [], []
    big = max((float(np.abs(r).max()) for r in ref.values() if r.size and r.dtype == np.float32), default=0.0)
    for name, r in ref.items():
        if name not in got or got[name].shape != r.shape or got[name].dtype != r.dtype:
            bad.append(f"{name}: missing, shaped or typed differently")
            continue
        if r.dtype != np.float32:  # counts: equal
            if not np.array_equal(r, got[name]):
                bad.append(f"{name}: {r.tolist()} in the reference, {got[name].tolist()} here")
            continue
        scale = max(float(np.abs(r).max()) if r.size else 0.0, 1e-30)
        if scale < 1e-6 * big:
            g = float(np.abs(got[name]).max()) if r.size else 0.0
            zeros.append(name)
            if not g <= 1e-5 * big:
                bad.append(f"{name}: zero up to rounding in the reference (max {scale:.3g}), {g:.3g} here")
            continue
        diff = got[name].astype(np.float64) - r
        if grad_l2 is not None and name.startswith("grad/"):
            d = float(np.linalg.norm(diff) / np.linalg.norm(r.astype(np.float64)))
            if not np.isfinite(d) or d > grad_l2:
                bad.append(f"{name}: relative L2 difference {d:.3g} > {grad_l2:g}")
            worst_l2 = max(worst_l2, (d, name))
            continue
        d = float(np.abs(diff).max()) / scale if r.size else 0.0
        if not np.isfinite(d) or d > rtol:
            bad.append(f"{name}: relative difference {d:.3g} > {rtol:g} (max |ref| {scale:.3g})")
        if d > worst[0]:
            worst = (d, name)
    print(f"{len(ref)} tensors compared; the largest relative difference {worst[0]:.3g} ({worst[1]})"
          + (f"; gradients' largest relative L2 difference {worst_l2[0]:.3g} ({worst_l2[1]})" if grad_l2 else "")
          + (f"; {len(zeros)} zero up to rounding ({', '.join(zeros)})" if zeros else ""))
    for b in bad:
        print(b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
