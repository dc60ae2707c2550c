#!/usr/bin/env python3
"""onnx_zoo.py — which torch.onnx.export'ed CNNs netc imports, and whether they match ONNX Runtime.

    python3 tools/onnx_zoo.py [--netc build/netc] [--res 64] [--models a,b,...] [--work DIR]
                              [--interp] [--markdown]

For each model: build it (timm's 19 models of models/*.nn with timm.create_model(pretrained=False) and netc's
deterministic weights, tools/detinit.py, so `netc compile models/NAME.nn --init det` is the same network; a few
torchvision CNNs outside netc's families, with the same deterministic weights), export it with torch.onnx.export (the
TorchScript exporter, opset 17, a fixed [1, 3, RES, RES] input), run it in ONNX Runtime, compile it with
`netc compile NAME.onnx` and run the program on the same input (with --interp also `netc run`, the reference
interpreter), and print a table: the ONNX ops in the file, whether netc imports it (else netc's message, which
names the node, its op type and the opset), and the largest difference from ORT relative to ORT's largest
output.  Exit 1 if a model that imports differs by more than 1e-3.

Not run by CI (it needs torch, timm and torchvision: PATH's python3); the README's ONNX section records its table.
"""
import argparse
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))

# models/*.nn that are timm models (fmnist_resnet is netc's own)
TIMM = sorted(f[:-3] for f in os.listdir(os.path.join(ROOT, "models")) if f.endswith(".nn") and f != "fmnist_resnet.nn")
# torchvision CNNs outside netc's families: each exercises ops the 19 do not (hardswish, dense concats, channel
# shuffle, LayerNorm and GELU, fire modules, inception branches, SiLU + stochastic depth)
TORCHVISION = ["mobilenet_v3_large", "mobilenet_v2", "densenet121", "shufflenet_v2_x1_0", "squeezenet1_1",
               "mnasnet1_0", "efficientnet_v2_s", "regnet_y_400mf", "googlenet", "convnext_tiny"]
TOL = 1e-3


def build(name):
    import torch
    if name in TIMM:
        import timm
        import detinit
        m = timm.create_model(name, pretrained=False).eval()
        detinit.init_state_dict(m)
        return m, "timm (det weights)"
    import torchvision
    import detinit
    torch.manual_seed(0)
    kw = {"aux_logits": False, "init_weights": True} if name == "googlenet" else {}
    m = getattr(torchvision.models, name)(weights=None, **kw).eval()
    # torchvision's own initialisation leaves some networks' logits all zero (googlenet: dead ReLUs, zero biases),
    # which would match anything; netc's deterministic weights do not
    detinit.init_state_dict(m)
    return m, "torchvision (det weights)"


def ops_of(path):
    import onnx
    m = onnx.load(path, load_external_data=False)
    return sorted({n.op_type for n in m.graph.node})


def rel(ref, out):
    import numpy as np
    return float(np.max(np.abs(ref - out)) / max(float(np.max(np.abs(ref))), 1e-12))


def one(name, args):
    import numpy as np
    import onnxruntime as ort
    import torch
    row = {"model": name}
    t0 = time.time()
    try:
        model, row["source"] = build(name)
    except Exception as e:  # a model this torchvision/timm lacks
        row.update(source="?", status="not built", why=f"{type(e).__name__}: {e}"[:160])
        return row
    x = np.random.default_rng(0).standard_normal((1, 3, args.res, args.res)).astype(np.float32)
    path = os.path.join(args.work, f"{name}_{args.res}.onnx")
    if not os.path.exists(path):
        with torch.no_grad():
            torch.onnx.export(model, torch.from_numpy(x), path, opset_version=17, input_names=["x"],
                              output_names=["y"], dynamo=False)
    row["ops"] = ops_of(path)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    ref = sess.run(None, {"x": x})[0]
    xp, yp = os.path.join(args.work, "x.npy"), os.path.join(args.work, f"{name}.y.npy")
    np.save(xp, x)
    prog = os.path.join(args.work, f"{name}_{args.res}.prog")
    r = subprocess.run([args.netc, "compile", path, "--res", str(args.res), "-o", prog], capture_output=True,
                       text=True)
    if r.returncode:
        row.update(status="not imported" if r.returncode == 2 else f"compile failed ({r.returncode})",
                   why=r.stderr.strip().splitlines()[-1] if r.stderr.strip() else "")
        return row
    r = subprocess.run([prog, "run", "--input", xp, "--output", yp, "--top", "0"], capture_output=True, text=True)
    if r.returncode:
        row.update(status=f"program failed ({r.returncode})", why=r.stderr.strip()[-200:])
        return row
    row["err"] = rel(ref, np.load(yp).reshape(ref.shape))
    if float(np.max(np.abs(ref))) < 1e-6:
        row.update(status="vacuous", why="ORT's logits are all 0: the comparison says nothing")
        return row
    if args.interp:
        r = subprocess.run([args.netc, "run", path, "--res", str(args.res), "--input", xp, "--output", yp],
                           capture_output=True, text=True)
        row["err_interp"] = rel(ref, np.load(yp).reshape(ref.shape)) if not r.returncode else float("nan")
    row["status"] = "match" if row["err"] <= TOL and row.get("err_interp", 0) <= TOL else "DIFFERS"
    row["secs"] = time.time() - t0
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--netc", default=os.path.join(ROOT, "build", "netc"))
    ap.add_argument("--res", type=int, default=64)
    ap.add_argument("--models", default=",".join(TIMM + TORCHVISION))
    ap.add_argument("--work", default=os.path.join(ROOT, "build", "onnx_zoo"))
    ap.add_argument("--interp", action="store_true", help="also run netc's reference interpreter (slow)")
    ap.add_argument("--markdown", action="store_true", help="print the table as Markdown (the README's form)")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    rows = []
    for name in args.models.split(","):
        row = one(name, args)
        rows.append(row)
        err = f"{row['err']:.1e}" if "err" in row else "–"
        print(f"{name:22s} {row['status']:14s} {err:8s} {row.get('why', '')}", flush=True)
    if args.markdown:
        print(f"\n| model | source | netc @{args.res} vs ORT | ops in the file | why not |\n|---|---|---|---|---|")
        for r in rows:
            res = f"{r['status']}, {r['err']:.1e}" if "err" in r else r["status"]
            print(f"| `{r['model']}` | {r['source']} | {res} | {', '.join(r.get('ops', []))} | {r.get('why', '')} |")
    return 1 if any(r.get("status") == "DIFFERS" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
