#!/usr/bin/env python3
"""mca_gemm.py — the GEMM microkernel's predicted throughput on CPUs this host cannot run (AVX-512), by llvm-mca.

For each CPU and shape, `gemm_bench --cpu CPU --shape ... --asm FILE.s` plans and compiles the NHWC GEMM
for that CPU through the same target machine `netc compile --cpu CPU` uses, with the default blocking
and with each forced blocking given; this script takes the kernel's hottest loop (the self-looping basic
block with the most vector FMAs, a multiple of the register block's: the full-size microkernel's k
loop) and the FMA peak loop of the same CPU (cg_peak.h: independent FMA chains, what `bench --per-kernel`
calls the peak), runs both through `llvm-mca-19 -mcpu=CPU`, and reports FMAs per cycle and the share of the peak loop's.

This is a model's prediction for the steady state of the inner loop with every load hitting L1 — not a
measurement: it says nothing of cache misses, the ragged panels, the C reloads between reduction blocks
or the tiles' balance across threads, which is where kernels lose most on real hosts.

    python3 bench/mca_gemm.py [--gemm-bench BUILD/gemm_bench] [--cpus sapphirerapids,znver4]
                              [--shapes 64,256,3136;1024,256,196] [--blocks default,12x2:kc256:pf-1,...]

--blocks: `default` (the plan's own choice for that CPU) or MRxNV[:kcK][:pf1|pf-1] with NV in that CPU's
vectors.  Prints one line per (CPU, shape, blocking) and, with --markdown, a table for RESULTS.md.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESNET = "64,256,3136;256,64,3136;512,128,784;128,512,784;1024,256,196;256,1024,196;2048,512,49;512,2048,49"


def blocks_of(asm, fn):
    """Basic blocks of function fn in the assembly: (label, instructions), in order."""
    lines = asm.splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith(fn + ":"))
    out, label, body = [], fn, []
    for l in lines[start + 1 :]:
        if re.match(r"^\.Lfunc_end", l):
            break
        m = re.match(r"^(\.?[\w$.]+):", l)
        if m:
            out.append((label, body))
            label, body = m.group(1), []
            continue
        t = l.split("#")[0].strip()
        if t and not t.startswith("."):
            body.append(t)
            if t.startswith("j"):  # a branch ends the block; what follows falls through, unlabelled
                out.append((label, body))
                label, body = None, []
    out.append((label, body))
    return out


def hot_loop(asm, fn, block=0):
    """The self-looping block (its last instruction jumps to its own label) with the most vector FMAs, among
    those with a multiple of `block` (the full register block's FMAs per k: not a ragged panel's loop,
    which LLVM may unroll to more FMAs per iteration than the full one)."""
    best = None
    for label, body in blocks_of(asm, fn):
        if not label or not body or not re.match(r"^j\w+\s+" + re.escape(label) + r"$", body[-1]):
            continue
        n = sum(1 for i in body if i.startswith("vfmadd"))
        if n and (not block or n % block == 0) and (best is None or n > best[1]):
            best = (body, n)
    if best is None:
        raise SystemExit(f"no FMA loop found in {fn}")
    return best


def mca(cpu, body, iters=200):
    with tempfile.NamedTemporaryFile("w", suffix=".s", delete=False) as f:
        f.write("\n".join(body) + "\n")
        path = f.name
    try:
        out = subprocess.run(
            ["llvm-mca-19", f"-mcpu={cpu}", f"-iterations={iters}", path], capture_output=True, text=True, check=True
        ).stdout
    finally:
        os.unlink(path)
    cycles = int(re.search(r"Total Cycles:\s+(\d+)", out).group(1))
    return cycles / iters


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gemm-bench", default=os.path.join(ROOT, "build", "gemm_bench"))
    ap.add_argument("--cpus", default="sapphirerapids,znver4")
    ap.add_argument("--shapes", default=RESNET, help="CIN,COUT,HW[,BATCH] separated by ';' (default: resnet50's 1x1s)")
    ap.add_argument("--blocks", default="default,12x2:kc256:pf-1")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for cpu in args.cpus.split(","):
            peak = None
            for shape in args.shapes.split(";"):
                for blk in args.blocks.split(","):
                    cmd = [args.gemm_bench, "--cpu", cpu, "--shape", shape, "--asm", os.path.join(tmp, "k.s")]
                    if blk != "default":
                        parts = blk.split(":")
                        mr, nv = parts[0].split("x")
                        cmd += ["--mr", mr, "--nv", nv]
                        for p in parts[1:]:
                            cmd += ["--kc", p[2:]] if p.startswith("kc") else ["--pf", p[2:]]
                    said = subprocess.run(cmd, capture_output=True, text=True)
                    if said.returncode:
                        print(f"{cpu} {shape} {blk}: {said.stderr.strip()}", file=sys.stderr)
                        continue
                    plan = said.stdout.strip().split(": ", 1)[1].rsplit(" -> ", 1)[0]
                    asm = open(os.path.join(tmp, "k.s")).read()
                    if peak is None:
                        pbody, pfma = hot_loop(asm, "peak")
                        peak = pfma / mca(cpu, pbody)
                    m = re.match(r"(\d+)x\d+ \(nv (\d+)\)", plan)
                    body, nfma = hot_loop(asm, "gemm", int(m.group(1)) * int(m.group(2)))
                    per = nfma / mca(cpu, body)
                    row = dict(cpu=cpu, shape=shape, blk=blk, plan=plan, fma=per, peak=peak, n=nfma, insns=len(body))
                    rows.append(row)
                    print(
                        f"{cpu:15s} {shape:18s} {blk:18s} {plan:55s} inner loop: {nfma} FMAs in {len(body)} "
                        f"instructions, {per:.2f} FMA/cycle = {100 * per / peak:.0f}% of the peak loop's "
                        f"{peak:.2f}",
                        flush=True,
                    )
    if args.markdown:
        print("\n| CPU (llvm-mca) | cin,cout,hw | blocking asked | plan | inner loop FMAs / instructions | "
              "FMA/cycle | % of peak loop |")
        print("|---|---|---|---|---:|---:|---:|")
        for r in rows:
            print(f"| {r['cpu']} | {r['shape']} | {r['blk']} | {r['plan']} | {r['n']} / {r['insns']} | "
                  f"{r['fma']:.2f} | {100 * r['fma'] / r['peak']:.0f}% |")


if __name__ == "__main__":
    main()
