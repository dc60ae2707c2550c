#!/usr/bin/env python3
"""compare.py — netc against ONNX Runtime and PyTorch eager, in one run.

Same models (timm, filled with netc's deterministic weights), same input, same
thread count, timed in rounds (ORT, PyTorch, netc in turn) so that each ratio
compares runs minutes apart at most.  For each model and batch: median milliseconds, images/s, the
ratio of each peer's time to netc's (> 1: netc is faster), netc's share of the
CPU's fp32 peak (measured by bench/peak.c), and the largest difference between
netc's and ONNX Runtime's logits (a check that all three run the same model).

    python3 bench/compare.py [--models resnet50,...] [--batches 1,8] [--threads 2]
                             [--res 224] [--iters 20] [--netc build/netc] [--write-results]

Needs torch, timm, onnx, onnxruntime (pip).  Exported ONNX files and compiled
programs are cached in bench/.cache/.  Not a test: machines are noisy, so it
reports medians and ratios; --write-results makes them RESULTS.md's current table and the newest
entry of its history.
"""

import argparse
import json, os, platform, statistics, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
CACHE = os.path.join(ROOT, "bench", ".cache")


def cpu_model():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            name = line.split(":", 1)[1].strip()
            fam = [l for l in open("/proc/cpuinfo") if l.startswith("cpu family")][0].split(":")[1].strip()
            mod = [l for l in open("/proc/cpuinfo") if l.startswith("model\t")][0].split(":")[1].strip()
            flags = open("/proc/cpuinfo").read()
            isa = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "SSE"
            return f"{name} (family {fam} model {mod}, {isa})"
    return platform.processor()


def peak_gflops(threads):
    exe = os.path.join(CACHE, "peak")
    cc = "clang-19" if subprocess.run(["which", "clang-19"], capture_output=True).returncode == 0 else "cc"
    subprocess.run(
        [
            cc,
            "-O3",
            "-march=native",
            "-ffp-contract=fast",
            "-fopenmp",
            os.path.join(ROOT, "bench", "peak.c"),
            "-o",
            exe,
        ],
        check=True,
    )
    out = subprocess.run(
        [exe], capture_output=True, text=True, check=True, env=dict(os.environ, OMP_NUM_THREADS=str(threads))
    ).stdout
    return float(out.split()[0])


def median_ms(fn, iters, warmup=2):
    for _ in range(warmup):
        fn()
    t = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        t.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(t)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="resnet50,resnest50d,regnety_016,efficientnet_b0")
    ap.add_argument("--batches", default="1,8")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--res", type=int, default=224)
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--netc-iters", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3, help="ORT, PyTorch and netc timed in turn this many times")
    ap.add_argument("--netc", default=os.path.join(ROOT, "build", "netc"))
    ap.add_argument("--write-results", action="store_true")
    args = ap.parse_args()

    import numpy as np
    import onnxruntime as ort
    import timm
    import torch
    import detinit

    os.makedirs(CACHE, exist_ok=True)
    torch.set_num_threads(args.threads)
    peak = peak_gflops(args.threads)
    rows = []
    print(
        f"CPU: {cpu_model()}; {args.threads} threads; fp32 FMA peak {peak:.1f} GFLOP/s "
        f"(bench/peak.c); torch {torch.__version__}, onnxruntime {ort.__version__}, timm {timm.__version__}"
    )
    for name in args.models.split(","):
        model = timm.create_model(name, pretrained=False).eval()
        detinit.init_state_dict(model)
        macs = float(
            subprocess.run(
                [args.netc, "info", os.path.join(ROOT, "models", name + ".nn"), "--res", str(args.res), "--json"],
                capture_output=True,
                text=True,
                check=True,
            )
            .stdout.split('"macs_per_image": ')[1]
            .split(",")[0]
        )
        for b in [int(x) for x in args.batches.split(",")]:
            x = detinit.input_tensor((b, 3, args.res, args.res))
            xt = torch.from_numpy(x)
            onnx_path = os.path.join(CACHE, f"{name}_{args.res}_b{b}.onnx")
            if not os.path.exists(onnx_path):
                torch.onnx.export(
                    model, xt, onnx_path, opset_version=17, input_names=["x"], output_names=["y"], dynamo=False
                )
            so = ort.SessionOptions()
            so.intra_op_num_threads = args.threads
            so.inter_op_num_threads = 1
            so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            sess = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
            y_ort = sess.run(None, {"x": x})[0]
            exe = os.path.join(CACHE, f"{name}_{args.res}_b{b}")
            subprocess.run(
                [
                    args.netc,
                    "compile",
                    os.path.join(ROOT, "models", name + ".nn"),
                    "--init",
                    "det",
                    "--res",
                    str(args.res),
                    "--batch",
                    str(b),
                    "-o",
                    exe,
                ],
                check=True,
                capture_output=True,
            )
            env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
            xin = os.path.join(CACHE, "x.npy")
            np.save(xin, x)
            yout = os.path.join(CACHE, "y.npy")
            subprocess.run(
                [exe, "run", "--input", xin, "--output", yout, "--top", "0"], check=True, env=env, capture_output=True
            )
            y_netc = np.load(yout)
            diff = float(np.abs(y_netc - y_ort).max() / np.abs(y_ort).max())
            # Rounds of ORT, PyTorch, netc in turn: the machine's load drifts, so
            # each ratio is taken within a round and the median of those reported.
            rt = {"ort": [], "torch": [], "netc": []}
            per = max(3, args.iters // args.rounds)
            for _ in range(args.rounds):
                rt["ort"].append(median_ms(lambda: sess.run(None, {"x": x}), per))
                with torch.inference_mode():
                    rt["torch"].append(median_ms(lambda: model(xt), per))
                out = subprocess.run(
                    [exe, "bench", "--iters", str(args.netc_iters), "--warmup", "1", "--json"],
                    check=True,
                    env=env,
                    capture_output=True,
                    text=True,
                ).stdout
                rt["netc"].append(json.loads(out)["median_ms"])
            t_ort, t_pt, t_netc = (statistics.median(rt[k]) for k in ("ort", "torch", "netc"))
            r_ort = statistics.median(o / n for o, n in zip(rt["ort"], rt["netc"]))
            r_pt = statistics.median(p / n for p, n in zip(rt["torch"], rt["netc"]))
            share = 2 * macs * b / (t_netc * 1e-3) / 1e9 / peak
            row = dict(
                model=name, batch=b, netc=t_netc, ort=t_ort, torch=t_pt, share=share, diff=diff, r_ort=r_ort, r_pt=r_pt
            )
            rows.append(row)
            print(
                f"{name:16s} b{b:<2d} netc {t_netc:9.2f} ms ({1e3 * b / t_netc:7.1f} img/s)  "
                f"ORT {t_ort:8.2f} ms  PyTorch {t_pt:8.2f} ms  ORT/netc {r_ort:6.3f}  "
                f"PyTorch/netc {r_pt:6.3f}  netc {100 * share:5.1f}% of peak  "
                f"|netc-ORT|/max {diff:.1e}",
                flush=True,
            )
    if args.write_results:
        write_results(args, peak, rows)


def write_results(args, peak, rows):
    """Replaces RESULTS.md's current table with this run and puts the run first in its history."""
    path = os.path.join(ROOT, "bench", "RESULTS.md")
    text = open(path).read()
    day, cpu = time.strftime("%Y-%m-%d"), cpu_model()
    cur = (
        f"<!-- current: replaced by `python3 bench/compare.py --write-results` -->\n{day}, {args.res}x{args.res}, "
        f"det weights, {args.rounds} rounds (`python3 bench/compare.py --rounds {args.rounds} --write-results`).\n\n"
        "| model | batch | netc ms | img/s | ORT ms | PyTorch ms | ORT/netc | PyTorch/netc | CPU |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---|\n"
    )
    for r in rows:
        cur += (
            f"| {r['model']} | {r['batch']} | {r['netc']:.2f} | {1e3 * r['batch'] / r['netc']:.1f} | {r['ort']:.2f} | "
            f"{r['torch']:.2f} | {r['r_ort']:.3f} | {r['r_pt']:.3f} | {cpu}, {args.threads} threads |\n"
        )
    hist = (
        f"### bench/compare.py, {day}\n\n{cpu}, {args.threads} threads, fp32 peak {peak:.1f} GFLOP/s "
        f"(bench/peak.c); input {args.res}x{args.res}; {args.rounds} rounds of ORT, PyTorch and netc in turn "
        f"({max(3, args.iters // args.rounds)} runs each per round, netc {args.netc_iters}); times are medians over "
        f"the rounds, ratios (peer time / netc time, > 1: netc faster) the median of the rounds' ratios.\n\n"
        "| model | batch | netc ms | img/s | ORT ms | PyTorch ms | ORT/netc | PyTorch/netc | netc % of peak | "
        "max rel diff vs ORT |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    for r in rows:
        hist += (
            f"| {r['model']} | {r['batch']} | {r['netc']:.2f} | {1e3 * r['batch'] / r['netc']:.1f} | "
            f"{r['ort']:.2f} | {r['torch']:.2f} | {r['r_ort']:.3f} | {r['r_pt']:.3f} | "
            f"{100 * r['share']:.1f}% | {r['diff']:.1e} |\n"
        )
    a, b = text.index("<!-- current:"), text.index("<!-- /current -->")
    text = text[:a] + cur + text[b:]
    marker = "## History, newest first\n\n"
    k = text.index(marker) + len(marker)
    text = text[:k] + hist + "\n" + text[k:]
    tmp = path + ".new"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)
    print("wrote the current table and the history entry in", path)


if __name__ == "__main__":
    main()
