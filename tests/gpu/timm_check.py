"""timm_check.py PROGRAM MODEL RES [DEVICE] — a netc program compiled from bench_weights.py's weights
(`netc compile models/MODEL.nn --weights W --target cuda`) against timm itself: timm builds MODEL,
its parameters get the same values (bench_weights.value, by timm's own names and shapes), and one
random batch goes through timm on the CPU in f32 (the oracle) and through the program on DEVICE
(cuda by default).  The logits must agree within 1e-4 of their largest magnitude.
Usage: timm_check.py PROGRAM MODEL RES [DEVICE [BATCH]].  For machines with
torch and timm (the GPU machine has both); prints one JSON line.  Exit 0 when they agree."""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_weights  # noqa: E402


def main():
    prog, model, res = sys.argv[1], sys.argv[2], int(sys.argv[3])
    device = sys.argv[4] if len(sys.argv) > 4 else "cuda"
    import timm
    import torch

    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    m = timm.create_model(model, pretrained=False).eval()
    t = bench_weights.tile()
    sd = {}
    for name, v in m.state_dict().items():
        if name.endswith("num_batches_tracked"):
            sd[name] = v
            continue
        sd[name] = torch.from_numpy(bench_weights.value(name, list(v.shape), t).reshape(v.shape))
    m.load_state_dict(sd)
    batch = int(sys.argv[5]) if len(sys.argv) > 5 else 1
    x = np.random.default_rng(1).standard_normal((batch, 3, res, res)).astype(np.float32)
    with torch.no_grad():
        ref = m(torch.from_numpy(x)).numpy()
    with tempfile.TemporaryDirectory() as d:
        np.save(os.path.join(d, "x.npy"), x)
        r = subprocess.run([prog, "--device", device, "run", "--input", os.path.join(d, "x.npy"), "--output",
                            os.path.join(d, "y.npy"), "--top", "0"], capture_output=True, text=True)
        if r.returncode:
            print(json.dumps({"model": model, "res": res, "ok": False, "error": r.stderr.strip()[-400:]}))
            return 1
        got = np.load(os.path.join(d, "y.npy"))
    big = float(np.max(np.abs(ref)))
    err = float(np.max(np.abs(got - ref)) / big) if got.shape == ref.shape else float("inf")
    # no top-k check: the repeated tile gives classes equal weights, so their logits tie exactly
    ok = bool(err <= 1e-4)
    print(json.dumps({"model": model, "res": res, "batch": batch, "device": device, "max_abs_logit": big,
                      "rel_err": err, "ok": ok}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
