#!/usr/bin/env python3
"""precision_report.py — what --precision bf16 and int8 do to a model's answers, against the same
model compiled in f32 (the oracle: netc's f32 programs match timm to 1e-4, tests/conformance).

  photos NETC TMP WEIGHTS PHOTOS CALIB [--res R]
      tf_efficientnet_lite0 with its ImageNet weights, compiled f32 / bf16 / int8 (int8 calibrated on
      CALIB), classifying PHOTOS with --logits: per precision, top-1 and top-5 agreement with f32 and
      the largest logit difference.  Fails unless bf16's top-5 sets and int8's top-1 equal f32's on
      every photograph.
  conformance NETC TMP CALIB MODEL[,MODEL...] [--res R] [--only bf16|int8] [--cpu NAME]
      each model with the deterministic weights on its conformance input recipe (det:input) at R x R,
      f32 by the reference interpreter: the same figures, and the largest logit difference relative to
      the largest |logit|.  Fails unless bf16 is within 2% and int8 within 15% of the largest |logit|, and
      bf16's top-1 equals f32's.  Leaves the programs TMP/MODEL_bf16 and TMP/MODEL_int8 (+ .weights).

--only runs one of the two precisions, --cpu compiles the reduced-precision programs for that CPU
(its kernels, on this host).  Prints a Markdown table (the README's).  Uses numpy only."""
import json
import os
import subprocess
import sys

import numpy as np

PRECISIONS = ("bf16", "int8")


def run(cmd):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode:
        sys.stderr.write(f"failed ({r.returncode}): {' '.join(cmd)}\n{r.stderr}\n")
        sys.exit(1)
    return r.stdout


def compile_prog(netc, model, out, precision, calib, extra):
    cmd = [netc, "compile", model, "-o", out] + extra
    if precision != "f32":
        cmd += ["--precision", precision]
    if precision == "int8":
        cmd += ["--calibrate", calib]
    run(cmd)


def compare(ref, got):
    """ref, got: [n, classes] logits -> (top1 agree, top5 sets agree, n, max |diff|, max |ref|)"""
    t1 = int((ref.argmax(1) == got.argmax(1)).sum())
    t5 = sum(set(np.argsort(-r)[:5]) == set(np.argsort(-g)[:5]) for r, g in zip(ref, got))
    return t1, t5, len(ref), float(np.abs(ref - got).max()), float(np.abs(ref).max())


def classify_logits(prog, photos):
    out = run([prog, "classify", photos, "--logits", "--json", "--top", "1000"])
    rows = {}
    for line in out.splitlines():
        r = json.loads(line)
        assert r["ok"], r
        v = np.zeros(1000, np.float64)
        for t in r["top"]:
            v[t["class"]] = t["score"]
        rows[os.path.basename(r["file"])] = v
    names = sorted(rows)
    return names, np.stack([rows[n] for n in names])


def photos(netc, tmp, weights, photos_dir, calib, res):
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    model = os.path.join(root, "models", "tf_efficientnet_lite0.nn")
    logits = {}
    for p in ("f32",) + PRECISIONS:
        prog = os.path.join(tmp, f"lite0_{p}")
        compile_prog(netc, model, prog, p, calib, ["--weights", weights, "--res", str(res)])
        names, logits[p] = classify_logits(prog, photos_dir)
    print(f"| tf_efficientnet_lite0 (ImageNet weights), {len(names)} photographs at {res} | top-1 = f32 | "
          f"top-5 set = f32 | max \\|logit - f32\\| | max \\|logit\\| |")
    print("|---|---|---|---|---|")
    bad = []
    for p in PRECISIONS:
        t1, t5, n, d, mx = compare(logits["f32"], logits[p])
        print(f"| {p} | {t1}/{n} | {t5}/{n} | {d:.4f} | {mx:.2f} |")
        if p == "bf16" and t5 != n:
            bad.append("bf16: a top-5 set differs from f32's")
        if p == "int8" and t1 != n:
            bad.append("int8: a top-1 differs from f32's")
    for p in PRECISIONS:
        for i, name in enumerate(names):
            a, b = np.argsort(-logits["f32"][i])[:5], np.argsort(-logits[p][i])[:5]
            print(f"  {p} {name}: f32 top-5 {list(a)}  {p} top-5 {list(b)}", file=sys.stderr)
    return bad


def conformance(netc, tmp, calib, models, res, precisions=PRECISIONS, cpu=None):
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    print(f"| model (det weights, det:input at {res}x{res}) | precision | top-1 = f32 | top-5 set = f32 | "
          f"max \\|logit - f32\\| / max \\|logit\\| |")
    print("|---|---|---|---|---|")
    bad = []
    for name in models:
        model = os.path.join(root, "models", name + ".nn")
        x, y = os.path.join(tmp, name + ".x.npy"), os.path.join(tmp, name + ".y.npy")
        # f32: the reference interpreter (compiled f32 programs match it to 1e-5: tests/compile)
        run([netc, "run", model, "--init", "det", "--res", str(res), "--save-input", x, "--output", y, "--top", "0"])
        ys = {"f32": np.load(y).astype(np.float64).reshape(1, -1)}
        for p in precisions:
            prog = os.path.join(tmp, f"{name}_{p}")
            extra = ["--init", "det", "--res", str(res), "--weights-external"] + (["--cpu", cpu] if cpu else [])
            compile_prog(netc, model, prog, p, calib, extra)
            run([prog, "run", "--input", x, "--output", y, "--top", "0"])
            ys[p] = np.load(y).astype(np.float64).reshape(1, -1)
        for p in precisions:
            t1, t5, n, d, mx = compare(ys["f32"], ys[p])
            rel = d / mx if mx else d
            print(f"| {name} | {p} | {t1}/{n} | {t5}/{n} | {rel:.2e} |")
            if rel > (0.02 if p == "bf16" else 0.15):
                bad.append(f"{name} {p}: {rel:.3g} of the largest |logit|")
            if p == "bf16" and t1 != n:
                bad.append(f"{name} bf16: top-1 differs")
    return bad


def main():
    a = sys.argv[1:]
    res = None
    if "--res" in a:
        i = a.index("--res")
        res = int(a[i + 1])
        del a[i : i + 2]
    only, cpu = PRECISIONS, None
    if "--only" in a:
        i = a.index("--only")
        only = (a[i + 1],)
        del a[i : i + 2]
    if "--cpu" in a:
        i = a.index("--cpu")
        cpu = a[i + 1]
        del a[i : i + 2]
    if len(a) == 6 and a[0] == "photos":
        bad = photos(a[1], a[2], a[3], a[4], a[5], res or 224)
    elif len(a) == 5 and a[0] == "conformance":
        bad = conformance(a[1], a[2], a[3], a[4].split(","), res or 64, only, cpu)
    else:
        sys.exit(__doc__)
    for b in bad:
        print("FAIL:", b)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
