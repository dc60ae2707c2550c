#!/usr/bin/env python3
"""int8_compare.py — netc's `--precision int8` against ONNX Runtime's static int8, without torch or timm.

compare.py's ort-int8 / netc-int8 peers need torch and timm (the f32 ONNX export, timm's transform); this
script needs only numpy, onnx, onnxruntime and Pillow.  Per model and batch, both sides from the same
`netc export --init det --fold --onnx` graph (batch norms folded, as ORT folds them for f32):

  ORT int8   onnxruntime.quantization.quantize_static of that file: QDQ, per-channel symmetric int8 weights,
             uint8 activations, MinMax calibration on the photographs of tests/photos under the model's eval
             transform (resize the short side to res / crop_pct, bicubic or bilinear as the export's metadata
             says, centre crop, mean / std: timm's eval transform, written out with Pillow) — compare.py's
             ort-int8 peer;
  netc int8  `netc compile --precision int8 --calibrate tests/photos`, timed by its own `bench`;
  netc f32   optional (--f32), the same model compiled f32;
  before     optional (--netc-before OTHER/netc): another build's int8 (a change's before), in the same rounds.

Rounds: ORT int8, netc int8 (and before, netc f32) in turn, each round's ratio taken within the round; reports
the medians over the rounds and the median of the rounds' ratios ORT int8 / netc int8 (> 1: netc faster; with
--netc-before also ORT int8 / before and before / netc int8), and the largest difference of each int8 side's
logits from ORT f32's on the det input, relative to its largest |logit|.  --threads 1,2: each model's programs
compiled (and calibrated: the slow part) once, timed at each thread count in turn.

    python3 bench/int8_compare.py [--models resnet50,...] [--batches 1,8] [--threads 1,2] [--rounds 5]
                                  [--iters 10] [--netc build/netc] [--netc-before OLD/netc] [--no-spin] [--f32]

Not a test: record the figures in bench/RESULTS.md with the CPU named."""
import argparse
import json
import os
import statistics
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402  (ort_session, median_ms, the peak)
import detinit  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.path.join(ROOT, "bench", ".cache", "int8")


def cpu_model():
    flags = open("/proc/cpuinfo").read()
    name = next((ln.split(":", 1)[1].strip() for ln in flags.splitlines() if ln.startswith("model name")), "unknown")
    extra = [f for f in ("avx512f", "avx512_vnni", "avx_vnni", "amx_int8") if f" {f}" in flags]
    return f"{name} ({', '.join(extra) or 'no AVX-512 / VNNI / AMX'})"


def eval_transform(path, res, meta):
    """timm's eval transform (Resize(int(res / crop_pct)) of the short side, CenterCrop(res), Normalize)."""
    from PIL import Image

    img = Image.open(path).convert("RGB")
    crop_pct = float(meta.get("preprocess.crop_pct", 0.875))
    size = int(res / crop_pct)
    w, h = img.size
    nw, nh = (size, max(1, int(size * h / w))) if w <= h else (max(1, int(size * w / h)), size)
    interp = Image.BILINEAR if meta.get("preprocess.interpolation") == "bilinear" else Image.BICUBIC
    img = img.resize((nw, nh), interp)
    left, top = int(round((nw - res) / 2.0)), int(round((nh - res) / 2.0))
    img = img.crop((left, top, left + res, top + res))
    x = np.asarray(img, dtype=np.float32).transpose(2, 0, 1) / 255.0
    mean = np.array([float(v) for v in meta.get("preprocess.mean", "0.485,0.456,0.406").split(",")], np.float32)
    std = np.array([float(v) for v in meta.get("preprocess.std", "0.229,0.224,0.225").split(",")], np.float32)
    return (x - mean[:, None, None]) / std[:, None, None]


def ort_int8(ort, netc, name, res, b):
    """The f32 export and its static int8 copy (cached)."""
    import onnx

    f32 = os.path.join(CACHE, f"{name}_{res}_b{b}_netc.onnx")
    q8 = os.path.join(CACHE, f"{name}_{res}_b{b}_netc_int8.onnx")
    if not os.path.exists(f32):
        subprocess.run([netc, "export", os.path.join(ROOT, "models", name + ".nn"), "--init", "det", "--fold", "--res",
                        str(res), "--batch", str(b), "--onnx", f32], check=True, capture_output=True)
    if not os.path.exists(q8):
        meta = {p.key: p.value for p in onnx.load(f32, load_external_data=False).metadata_props}
        pdir = os.path.join(ROOT, "tests", "photos")
        photos = sorted(os.path.join(pdir, p) for p in os.listdir(pdir) if p.endswith((".jpg", ".png")))
        imgs = np.stack([eval_transform(p, res, meta) for p in photos]).astype(np.float32)
        compare.quantize_qdq(ort, f32, q8, imgs, b)
    return f32, q8


def netc_bench(exe, iters, env):
    out = subprocess.run([exe, "bench", "--iters", str(iters), "--warmup", "1", "--json"], check=True, env=env,
                         capture_output=True, text=True).stdout
    return json.loads(out)["median_ms"]


def main():
    import onnxruntime as ort

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="resnet50,resnest50d,regnety_016,efficientnet_b0")
    ap.add_argument("--batches", default="1,8")
    ap.add_argument("--threads", default="2", help="thread counts, e.g. 1,2")
    ap.add_argument("--res", type=int, default=224)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--iters", type=int, default=10, help="runs per side per round")
    ap.add_argument("--netc", default=os.path.join(ROOT, "build", "netc"))
    ap.add_argument("--netc-before", help="another build's netc, its int8 timed in the same rounds")
    ap.add_argument("--no-spin", action="store_true", help="waiting threads sleep (OMP passive, ORT no spinning)")
    ap.add_argument("--f32", action="store_true", help="also netc f32")
    args = ap.parse_args()
    os.makedirs(CACHE, exist_ok=True)
    compare.NO_SPIN = args.no_spin
    threads = [int(v) for v in args.threads.split(",")]
    before = bool(args.netc_before)
    print(f"# {cpu_model()}; {args.threads} threads, {args.res}x{args.res}, {args.rounds} rounds of {args.iters} "
          f"runs; onnxruntime {ort.__version__}; load average {os.getloadavg()[0]:.1f}", flush=True)
    cols = ["ORT int8 ms", "netc int8 ms"] + (["before int8 ms"] if before else []) + \
        (["netc f32 ms"] if args.f32 else [])
    ratios = ["ORT int8 / netc int8"] + (["ORT int8 / before", "before / netc int8"] if before else [])
    print("| model | batch | threads | " + " | ".join(cols + ratios) +
          " | logits vs ORT f32: ORT int8 / netc int8 |" + (" netc f32 / netc int8 |" if args.f32 else ""))
    print("|---|---:|---:|" + "---:|" * (len(cols) + len(ratios) + 1 + args.f32))
    progs = [("int8", args.netc)] + ([("before", args.netc_before)] if before else []) + \
        ([("f32", args.netc)] if args.f32 else [])
    for name in args.models.split(","):
        for b in [int(v) for v in args.batches.split(",")]:
            f32, q8 = ort_int8(ort, args.netc, name, args.res, b)
            x = detinit.input_tensor((b, 3, args.res, args.res))
            exes = {}
            for prec, netc in progs:
                exe = os.path.join(CACHE, f"{name}_{args.res}_b{b}_{prec}")
                extra = ["--precision", "int8", "--calibrate", os.path.join(ROOT, "tests", "photos")] \
                    if prec != "f32" else []
                subprocess.run([netc, "compile", os.path.join(ROOT, "models", name + ".nn"), "--init", "det",
                                "--res", str(args.res), "--batch", str(b), "--weights-external", *extra, "-o", exe],
                               check=True, capture_output=True)
                exes[prec] = exe
            for th in threads:
                env = dict(os.environ, OMP_NUM_THREADS=str(th))
                if args.no_spin:
                    env["OMP_WAIT_POLICY"] = "passive"
                s32 = compare.ort_session(ort, f32, th)
                y_f32 = s32.run(None, {s32.get_inputs()[0].name: x})[0]
                sess = compare.ort_session(ort, q8, th)
                feed = sess.get_inputs()[0].name
                y_q = sess.run(None, {feed: x})[0]
                xin, yout = os.path.join(CACHE, "x.npy"), os.path.join(CACHE, "y.npy")
                np.save(xin, x)
                subprocess.run([exes["int8"], "run", "--input", xin, "--output", yout, "--top", "0"], check=True,
                               env=env, capture_output=True)
                y_n = np.load(yout)
                m = float(np.abs(y_f32).max())
                d_ort, d_netc = float(np.abs(y_q - y_f32).max()) / m, float(np.abs(y_n - y_f32).max()) / m
                t = {k: [] for k in ["ort"] + list(exes)}
                for _ in range(args.rounds):
                    t["ort"].append(compare.median_ms(lambda: sess.run(None, {feed: x}), args.iters))
                    for prec, exe in exes.items():
                        t[prec].append(netc_bench(exe, args.iters, env))
                med = {k: statistics.median(v) for k, v in t.items() if v}

                def ratio(a, c):
                    return f"{statistics.median(u / v for u, v in zip(t[a], t[c])):.2f}"

                row = [name, str(b), str(th), f"{med['ort']:.2f}"] + [f"{med[k]:.2f}" for k in exes]
                row += [ratio("ort", "int8")] + ([ratio("ort", "before"), ratio("before", "int8")] if before else [])
                row += [f"{d_ort:.1e} / {d_netc:.1e}"] + ([ratio("f32", "int8")] if args.f32 else [])
                print("| " + " | ".join(row) + " |", flush=True)


if __name__ == "__main__":
    sys.exit(main())
