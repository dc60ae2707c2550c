#!/usr/bin/env python3
"""bf16_peers.py — netc's `--precision bf16` against OpenVINO's bf16 (and both f32s), without torch.

compare.py's ov / ov-bf16 peers run on a torch.onnx.export'ed file; this script needs only numpy and
openvino (pip): the ONNX file is `netc export --init det --onnx` of the same .nn description (netc's
deterministic weights), so OpenVINO and netc run the same weights.  Per model and batch, in interleaved
rounds: netc f32, netc bf16 (each program's own `bench`, --threads T, OMP_WAIT_POLICY passive with
--no-spin), OpenVINO f32 and bf16 (INFERENCE_PRECISION_HINT, PERFORMANCE_HINT LATENCY, one stream,
INFERENCE_NUM_THREADS T, `iters` inferences after a warm-up, the median); reports the medians over the
rounds and the median of the rounds' ratios OpenVINO bf16 / netc bf16 (> 1: netc faster), and what
OpenVINO says it runs (the hint read back, its compiled ops by runtime precision).  Also the CPU time
per inference (user + system, all threads: OpenVINO's in-process over its timed runs, netc's whole
`bench` process over its runs + the warm-up): on a machine shared with other jobs, wall time counts the
time the scheduler gave others, CPU time does not (run it with --threads 1 for that comparison: with
more threads it also counts waiting that spins).

    python3 bench/bf16_peers.py [--models resnet50,...] [--batches 1,8] [--threads 2] [--res 224]
                                [--rounds 3] [--iters 10] [--netc build/netc] [--no-spin] [--f32-act]

--f32-act also times netc's bf16 program compiled with NETC_CG_BF16_ACT=f32 (every activation f32
between the bf16 kernels, as before passes/assign_dtype.c) in the same rounds: the before / after of
bf16 activations, interleaved.  --reuse takes the programs already in bench/.cache/bf16 (made by an
earlier run with the same netc), so that a run under `chrt` times rather than compiles.

Not a test: record the figures in bench/RESULTS.md with the CPU named."""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.path.join(ROOT, "bench", ".cache", "bf16")
sys.path.insert(0, os.path.join(ROOT, "tools"))


def cpu_model():
    flags = open("/proc/cpuinfo").read()
    name = next((l.split(":", 1)[1].strip() for l in flags.splitlines() if l.startswith("model name")), "unknown CPU")
    extra = [f for f in ("avx512f", "avx512_bf16", "amx_bf16", "amx_int8") if f in flags]
    return f"{name} ({', '.join(extra) or 'no AVX-512'}), {os.cpu_count()} CPUs"


def ov_runner(ov, path, x, threads, bf16):
    core = ov.Core()
    cfg = {"INFERENCE_PRECISION_HINT": "bf16" if bf16 else "f32", "INFERENCE_NUM_THREADS": threads,
           "NUM_STREAMS": 1, "PERFORMANCE_HINT": "LATENCY"}
    compiled = core.compile_model(core.read_model(path), "CPU", cfg)
    req = compiled.create_infer_request()
    prec = {}
    for op in compiled.get_runtime_model().get_ordered_ops():
        rt = op.get_rt_info()
        if "runtimePrecision" in rt:
            k = rt["runtimePrecision"].astype(str)
            prec[k] = prec.get(k, 0) + 1
    said = (f"hint reads back {compiled.get_property('INFERENCE_PRECISION_HINT').get_type_name()}; ops: "
            + ", ".join(f"{k} {v}" for k, v in sorted(prec.items())))
    y = req.infer({0: x})[compiled.output(0)]
    return (lambda: req.infer({0: x})), said, y


def cpu_s(who):
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


def time_ov(run, iters):
    """(median wall ms, process CPU ms per inference) over iters runs after a warm-up"""
    run()
    ts = []
    c0 = cpu_s(resource.RUSAGE_SELF)
    for _ in range(iters):
        t = time.perf_counter()
        run()
        ts.append((time.perf_counter() - t) * 1e3)
    return statistics.median(ts), (cpu_s(resource.RUSAGE_SELF) - c0) * 1e3 / iters


def time_netc(exe, iters, threads, no_spin):
    """(median wall ms, the program's CPU ms per inference: its whole run, load and warm-up included, over
    iters + 1)"""
    env = dict(os.environ)
    if no_spin:
        env["OMP_WAIT_POLICY"] = "passive"
    c0 = cpu_s(resource.RUSAGE_CHILDREN)
    out = subprocess.run([exe, "bench", "--iters", str(iters), "--warmup", "1", "--json", "--threads", str(threads)],
                         check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out)["median_ms"], (cpu_s(resource.RUSAGE_CHILDREN) - c0) * 1e3 / (iters + 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="resnet50,resnest50d,regnety_016,efficientnet_b0")
    ap.add_argument("--batches", default="1,8")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--res", type=int, default=224)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--netc", default=os.path.join(ROOT, "build", "netc"))
    ap.add_argument("--no-spin", action="store_true")
    ap.add_argument("--f32-act", action="store_true")
    ap.add_argument("--reuse", action="store_true")
    args = ap.parse_args()
    import numpy as np
    import openvino as ov
    import detinit

    os.makedirs(CACHE, exist_ok=True)
    print(f"CPU: {cpu_model()}; {args.threads} threads; openvino {ov.__version__}")
    print("| model | batch | netc f32 ms | netc bf16 ms | OpenVINO f32 ms | OpenVINO bf16 ms | "
          "OV bf16 / netc bf16 | OV f32 / netc f32 | netc f32 / netc bf16 | netc bf16 CPU ms | OV bf16 CPU ms | "
          "OV bf16 / netc bf16 CPU |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in args.models.split(","):
        nn = os.path.join(ROOT, "models", name + ".nn")
        for b in [int(v) for v in args.batches.split(",")]:
            exes = {}
            for p in ("f32", "bf16") + (("bf16-f32act",) if args.f32_act else ()):
                exes[p] = os.path.join(CACHE, f"{name}_{args.res}_b{b}_{p}")
                env = dict(os.environ, NETC_CG_BF16_ACT="f32") if p == "bf16-f32act" else None
                if args.reuse and os.path.exists(exes[p]):
                    continue
                subprocess.run([args.netc, "compile", nn, "--init", "det", "--res", str(args.res), "--batch", str(b),
                                "--precision", p.split("-")[0], "-o", exes[p]], check=True, capture_output=True,
                               env=env)
            onnx = os.path.join(CACHE, f"{name}_{args.res}_b{b}.onnx")
            if not os.path.exists(onnx):
                subprocess.run([args.netc, "export", nn, "--init", "det", "--res", str(args.res), "--batch", str(b),
                                "--onnx", onnx], check=True, capture_output=True)
            x = detinit.input_tensor((b, 3, args.res, args.res)).astype(np.float32)
            runs, said = {}, {}
            for p in ("f32", "bf16"):
                runs[p], said[p], _ = ov_runner(ov, onnx, x, args.threads, p == "bf16")
            order = ("ov bf16", "netc bf16", "ov f32", "netc f32") + (("netc bf16-f32act",) if args.f32_act else ())
            t = {k: [] for k in order}
            c = {k: [] for k in t}
            for _ in range(args.rounds):
                for k in order:
                    p = k.split()[1]
                    w, cpu = (time_ov(runs[p], args.iters) if k.startswith("ov") else
                              time_netc(exes[p], args.iters, args.threads, args.no_spin))
                    t[k].append(w), c[k].append(cpu)
            med = {k: statistics.median(v) for k, v in t.items()}
            cmed = {k: statistics.median(v) for k, v in c.items()}
            r = lambda a, c: statistics.median(x / y for x, y in zip(t[a], t[c]))
            print(f"| {name} | {b} | {med['netc f32']:.2f} | {med['netc bf16']:.2f} | {med['ov f32']:.2f} | "
                  f"{med['ov bf16']:.2f} | {r('ov bf16', 'netc bf16'):.3f} | {r('ov f32', 'netc f32'):.3f} | "
                  f"{r('netc f32', 'netc bf16'):.3f} | {cmed['netc bf16']:.1f} | {cmed['ov bf16']:.1f} | "
                  f"{statistics.median(x / y for x, y in zip(c['ov bf16'], c['netc bf16'])):.3f} |", flush=True)
            if args.f32_act:
                print(f"  {name} b{b}: netc bf16 with f32 activations {med['netc bf16-f32act']:.2f} ms "
                      f"(CPU {cmed['netc bf16-f32act']:.1f} ms), bf16 activations {med['netc bf16']:.2f} ms: "
                      f"{r('netc bf16-f32act', 'netc bf16'):.3f}x; OV bf16 / netc bf16 with f32 activations "
                      f"{r('ov bf16', 'netc bf16-f32act'):.3f}", flush=True)
            print(f"  OpenVINO bf16: {said['bf16']}", file=sys.stderr)


if __name__ == "__main__":
    main()
