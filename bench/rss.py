#!/usr/bin/env python3
"""rss.py — peak resident memory of a compiled netc program against ONNX
Runtime running the same model, each in its own process, same batch and
threads.  ORT runs from Python, so the Python + numpy + onnxruntime import
baseline (measured alone) is reported and subtracted as well.

    python3 bench/rss.py [--models resnet50,...] [--batch 1] [--threads 2] [--res 224] [--write-results]

Uses the ONNX files and programs bench/compare.py caches in bench/.cache/
(run that first).  Peak RSS is the child's ru_maxrss (os.wait4).
"""

import argparse, os, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.path.join(ROOT, "bench", ".cache")
sys.path.insert(0, os.path.join(ROOT, "bench"))
from compare import cpu_model  # noqa: E402

ORT_RUN = """
import sys, numpy as np, onnxruntime as ort
so = ort.SessionOptions(); so.intra_op_num_threads = int(sys.argv[2]); so.inter_op_num_threads = 1
so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
if sys.argv[1] != "-":
    s = ort.InferenceSession(sys.argv[1], so, providers=["CPUExecutionProvider"])
    x = np.load(sys.argv[3])
    for _ in range(3): s.run(None, {"x": x})
"""


def peak_mb(argv, env=None):
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, ru = os.wait4(p.pid, 0)
    if status != 0:
        raise SystemExit(f"{argv[0]} failed: {p.stderr.read().decode()}")
    return ru.ru_maxrss / 1024.0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="resnet50,resnest50d,regnety_016,efficientnet_b0")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--res", type=int, default=224)
    ap.add_argument("--write-results", action="store_true")
    args = ap.parse_args()
    import numpy as np

    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    base = peak_mb([sys.executable, "-c", ORT_RUN, "-", str(args.threads)])
    x = os.path.join(CACHE, f"rss_x_{args.batch}.npy")
    np.save(x, np.zeros((args.batch, 3, args.res, args.res), np.float32))
    rows = []
    for m in args.models.split(","):
        exe = os.path.join(CACHE, f"{m}_{args.res}_b{args.batch}")
        onnx = exe + ".onnx"
        if not (os.path.exists(exe) and os.path.exists(onnx)):
            raise SystemExit(f"{exe}(.onnx) missing: run bench/compare.py first")
        netc = peak_mb([exe, "run", "--input", x, "--top", "0"], env)
        ort_mb = peak_mb([sys.executable, "-c", ORT_RUN, onnx, str(args.threads), x])
        rows.append((m, netc, ort_mb, ort_mb - base))
        print(
            f"{m:16s} netc {netc:7.1f} MB   ORT {ort_mb:7.1f} MB (minus the {base:.0f} MB Python/ORT import "
            f"baseline: {ort_mb - base:7.1f} MB)   netc/ORT-net {netc / (ort_mb - base):.2f}"
        )
    if args.write_results:
        with open(os.path.join(ROOT, "bench", "RESULTS.md"), "a") as f:
            f.write(
                f"\n## Peak RSS, bench/rss.py, {time.strftime('%Y-%m-%d')}\n\n{cpu_model()}; batch {args.batch}, "
                f"{args.res}x{args.res}, {args.threads} threads; each in its own process, ru_maxrss.  ORT runs from "
                f"Python: its import baseline ({base:.0f} MB) is subtracted in the last ORT column.\n\n"
                "| model | netc MB | ORT MB | ORT MB "
                "minus baseline | netc / (ORT - baseline) |\n|---|---:|---:|---:|---:|\n"
            )
            for m, n, o, on in rows:
                f.write(f"| {m} | {n:.1f} | {o:.1f} | {on:.1f} | {n / on:.2f} |\n")


if __name__ == "__main__":
    main()
