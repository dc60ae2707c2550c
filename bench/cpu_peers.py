#!/usr/bin/env python3
"""cpu_peers.py — netc against ONNX Runtime and OpenVINO f32 by CPU time, for a machine so loaded
that wall time measures the other jobs.

    python3 bench/cpu_peers.py [--models resnet50,...] [--batches 1,8] [--threads 1] [--rounds 3]
                               [--iters 3] [--netc build/netc] [--base OLD/netc] [--markdown]

Every model is netc's own description (models/NAME.nn) with the deterministic weights: netc
compiles it, and `netc export --init det --onnx` writes the same model (batch norms kept) for
ONNX Runtime (intra-op threads --threads, spinning off) and OpenVINO (INFERENCE_NUM_THREADS
--threads, one stream, LATENCY). Needs numpy, onnxruntime and openvino (pip), not torch.

Timing, in rounds (every side in turn, so that drift in the load falls on all of them alike):
a peer's --iters calls each timed by the Python process's CPU time (time.process_time: all its
threads), the median; a netc program's `bench` by the CPU time of a run of --iters + 1
iterations less a run of 1 (startup and the first iteration) over --iters. Waiting threads that
spin are counted as working, so use --threads 1, where nobody waits (the default). --base: a
second netc (an older build) compiles the same programs, timed in the same rounds ("before").
Reported: medians over rounds; ratios = peer ms / netc ms (> 1: netc faster), the median of the
rounds' ratios; the largest logit difference of netc against ORT, relative to ORT's largest.
Not a test.
"""
import argparse
import os
import platform
import resource
import statistics
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.path.join(ROOT, "bench", ".cache", "cpu_peers")


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def child_cpu_s(cmd, env):
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, check=True, env=env, capture_output=True)
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def netc_cpu_ms(exe, iters, env):
    full = child_cpu_s([exe, "bench", "--iters", str(iters + 1), "--warmup", "0"], env)
    base = child_cpu_s([exe, "bench", "--iters", "1", "--warmup", "0"], env)
    return 1e3 * max(full - base, 0.0) / iters


def peer_cpu_ms(fn, iters):
    fn()  # warm-up
    t = []
    for _ in range(iters):
        t0 = time.process_time()
        fn()
        t.append(time.process_time() - t0)
    return 1e3 * statistics.median(t)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="resnet50,resnest50d,regnety_016,efficientnet_b0")
    ap.add_argument("--batches", default="1,8")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--res", type=int, default=224)
    ap.add_argument("--netc", default=os.path.join(ROOT, "build", "netc"))
    ap.add_argument("--base", default=None, help="an older netc, timed in the same rounds as 'before'")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()

    import numpy as np
    import onnxruntime as ort
    import openvino as ov

    os.makedirs(CACHE, exist_ok=True)
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), OMP_WAIT_POLICY="passive")
    print(f"CPU: {cpu_model()}; {args.threads} thread(s); CPU time; onnxruntime {ort.__version__}, "
          f"openvino {ov.__version__}", flush=True)
    rows = []
    for name in args.models.split(","):
        nn = os.path.join(ROOT, "models", name + ".nn")
        for b in [int(x) for x in args.batches.split(",")]:
            tag = f"{name}_{args.res}_b{b}"
            onnx_path = os.path.join(CACHE, tag + ".onnx")
            if not os.path.exists(onnx_path):
                subprocess.run([args.netc, "export", nn, "--init", "det", "--res", str(args.res), "--batch", str(b),
                                "--onnx", onnx_path], check=True, capture_output=True)
            exes = {}
            for side, netc in (("netc", args.netc), ("before", args.base)):
                if not netc:
                    continue
                exes[side] = os.path.join(CACHE, f"{tag}_{side}")
                subprocess.run([netc, "compile", nn, "--init", "det", "--res", str(args.res), "--batch", str(b),
                                "-o", exes[side]], check=True, capture_output=True)
            x = np.random.default_rng(0).standard_normal((b, 3, args.res, args.res)).astype(np.float32)
            xin, yout = os.path.join(CACHE, "x.npy"), os.path.join(CACHE, "y.npy")
            np.save(xin, x)
            so = ort.SessionOptions()
            so.add_session_config_entry("session.intra_op.allow_spinning", "0")
            so.intra_op_num_threads, so.inter_op_num_threads = args.threads, 1
            sess = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
            iname = sess.get_inputs()[0].name
            y_ort = sess.run(None, {iname: x})[0]
            core = ov.Core()
            compiled = core.compile_model(core.read_model(onnx_path), "CPU", {
                "INFERENCE_PRECISION_HINT": "f32", "INFERENCE_NUM_THREADS": args.threads, "NUM_STREAMS": 1,
                "PERFORMANCE_HINT": "LATENCY"})
            req = compiled.create_infer_request()
            y_ov = req.infer({0: x})[compiled.output(0)]
            diffs = {}
            for side, exe in exes.items():
                subprocess.run([exe, "run", "--input", xin, "--output", yout, "--top", "0"], check=True, env=env,
                               capture_output=True)
                diffs[side] = float(np.abs(np.load(yout).reshape(y_ort.shape) - y_ort).max() / np.abs(y_ort).max())
            diffs["ov"] = float(np.abs(y_ov - y_ort).max() / np.abs(y_ort).max())
            peers = {"ort": lambda: sess.run(None, {iname: x}), "ov": lambda: req.infer({0: x})}
            t = {k: [] for k in list(exes) + list(peers)}
            for _ in range(args.rounds):
                for k, fn in peers.items():
                    t[k].append(peer_cpu_ms(fn, args.iters))
                for k, exe in exes.items():
                    t[k].append(netc_cpu_ms(exe, args.iters, env))
            med = {k: statistics.median(v) for k, v in t.items()}
            ratio = {k: statistics.median(o / n for o, n in zip(t[k], t["netc"])) for k in t if k != "netc"}
            row = dict(model=name, batch=b, med=med, ratio=ratio, diffs=diffs, rounds=t)
            rows.append(row)
            said = "  ".join(f"{k} {med[k]:8.1f} ms ({k}/netc {ratio[k]:.3f})" for k in ratio)
            print(f"{name:16s} b{b:<2d} netc {med['netc']:8.1f} ms  {said}  |netc-ORT|/max {diffs['netc']:.1e}  "
                  f"rounds {' | '.join(k + ' ' + ' '.join('%.0f' % v for v in t[k]) for k in t)}", flush=True)
    if args.markdown:
        base = args.base is not None
        print("\n| model | batch | netc ms |" + (" before ms | before/netc |" if base else "") +
              " ORT ms | OpenVINO ms | ORT/netc | OpenVINO/netc |")
        print("|---|---:|---:|" + ("---:|---:|" if base else "") + "---:|---:|---:|---:|")
        for r in rows:
            m, q = r["med"], r["ratio"]
            print(f"| {r['model']} | {r['batch']} | {m['netc']:.1f} |" +
                  (f" {m['before']:.1f} | {q['before']:.3f} |" if base else "") +
                  f" {m['ort']:.1f} | {m['ov']:.1f} | {q['ort']:.3f} | {q['ov']:.3f} |")


if __name__ == "__main__":
    main()
