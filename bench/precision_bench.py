#!/usr/bin/env python3
"""precision_bench.py — netc's programs in f32, bf16 and int8 (netc compile --precision), side by side.

Each model is compiled three times (the deterministic weights; int8 calibrated on --calibrate DIR, default
tests/photos), and the
three programs' `bench` run in turn, round after round, so that each ratio compares runs seconds apart;
reports per model and batch the median milliseconds of each precision over the rounds, the median of the
rounds' ratios f32 / bf16 and f32 / int8 (> 1: faster than f32), and the weight bytes.  With --per-kernel,
also the time of the GEMM-shaped kernels alone (bench --per-kernel's rows whose kernel is a GEMM), where
the precision acts.

    python3 bench/precision_bench.py [--models resnet50,...] [--batches 1,8] [--threads 2] [--res 224]
                                     [--rounds 7] [--iters 10] [--netc build/netc] [--per-kernel]

Not a test: the machine's noise is in the figures; record them in bench/RESULTS.md with the CPU named."""
import argparse
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.path.join(ROOT, "bench", ".cache", "precision")
PRECISIONS = ("f32", "bf16", "int8")


def cpu_model():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            flags = open("/proc/cpuinfo").read()
            isa = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "SSE"
            extra = [f for f in ("avx512_bf16", "avx512_vnni", "avx_vnni", "amx_bf16", "amx_int8") if f in flags]
            return line.split(":", 1)[1].strip() + f" ({isa}{', ' + ', '.join(extra) if extra else ''})"
    return "unknown CPU"


def bench(exe, batch, iters, threads, per_kernel):
    cmd = [exe, "bench", "--batch", str(batch), "--iters", str(iters), "--warmup", "1", "--json", "--threads",
           str(threads)]
    if per_kernel:
        cmd.append("--per-kernel")
    d = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    gemm = sum(k["ms"] for k in d.get("kernels", []) if "gemm" in k["kernel"]) if per_kernel else None
    return d["median_ms"], gemm


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="resnet50,efficientnet_b0,regnety_016,resnest50d")
    ap.add_argument("--batches", default="1,8")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--res", type=int, default=224)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--netc", default=os.path.join(ROOT, "build", "netc"))
    ap.add_argument("--per-kernel", action="store_true")
    ap.add_argument("--calibrate", default=os.path.join(ROOT, "tests", "photos"),
                    help="int8's calibration images (the speed does not depend on them; a folder of one image "
                    "calibrates fastest)")
    args = ap.parse_args()
    os.makedirs(CACHE, exist_ok=True)
    batches = [int(b) for b in args.batches.split(",")]
    print(f"# {cpu_model()}, {args.threads} threads, {args.res}x{args.res}, {args.rounds} rounds of "
          f"{args.iters} iterations; load average {os.getloadavg()[0]:.1f}")
    print("| model | batch | f32 ms | bf16 ms | int8 ms | f32/bf16 | f32/int8 | weights f32 / bf16 / int8 MB |"
          + (" GEMM kernels ms f32 / bf16 / int8 |" if args.per_kernel else ""))
    print("|---|---|---|---|---|---|---|---|" + ("---|" if args.per_kernel else ""))
    for name in args.models.split(","):
        model = os.path.join(ROOT, "models", name + ".nn")
        for b in batches:
            exes = {}
            for p in PRECISIONS:
                exe = os.path.join(CACHE, f"{name}_{args.res}_b{b}_{p}")
                cmd = [args.netc, "compile", model, "--init", "det", "--res", str(args.res), "--batch", str(b),
                       "--weights-external", "--precision", p, "-o", exe]
                if p == "int8":
                    cmd += ["--calibrate", args.calibrate]
                subprocess.run(cmd, check=True, capture_output=True)
                exes[p] = exe
            ms = {p: [] for p in PRECISIONS}
            gm = {p: [] for p in PRECISIONS}
            for _ in range(args.rounds):
                for p in PRECISIONS:
                    t, g = bench(exes[p], b, args.iters, args.threads, args.per_kernel)
                    ms[p].append(t)
                    gm[p].append(g)
            med = {p: statistics.median(ms[p]) for p in PRECISIONS}
            r16 = statistics.median(a / c for a, c in zip(ms["f32"], ms["bf16"]))
            r8 = statistics.median(a / c for a, c in zip(ms["f32"], ms["int8"]))
            mb = " / ".join(f"{os.path.getsize(exes[p] + '.weights') / 1e6:.1f}" for p in PRECISIONS)
            row = (f"| {name} | {b} | {med['f32']:.2f} | {med['bf16']:.2f} | {med['int8']:.2f} | {r16:.2f} | "
                   f"{r8:.2f} | {mb} |")
            if args.per_kernel:
                row += " " + " / ".join(f"{statistics.median(gm[p]):.2f}" for p in PRECISIONS) + " |"
            print(row, flush=True)


if __name__ == "__main__":
    sys.exit(main())
