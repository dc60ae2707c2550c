#!/usr/bin/env python3
"""train_kernels_ab.py — two (or more) compiled training programs, kernel by kernel, in one run.

Runs each program's `bench --train --per-kernel` in alternating rounds (under `chrt -f 10` where the
user may: a real-time priority keeps other jobs from preempting the timed kernels) and keeps each
kernel's minimum over the rounds, so that a noisy machine (another job, a helper's build) costs as
little as it can: a kernel's minimum is its time when nothing else ran.  Prints the minima summed by
op, their total, the median of the whole steps, and (for two programs) the kernels that moved most.

The programs must be the same model at the same size (the kernels are matched by index), e.g. the
same model compiled by two builds of netc:

    python3 bench/train_kernels_ab.py --rounds 3 --iters 2 /tmp/resnet50-before /tmp/resnet50-after
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys


def parse(text):
    """(index, op, layer, ms) of each kernel row of a --per-kernel table."""
    head = None
    for line in text.splitlines():
        if line.startswith("#     ops"):
            head = line
            continue
        if head is None or not re.match(r"\d+ ", line):
            continue
        col = lambda a, b: line[head.index(a):head.index(b)].strip()
        ms = float(line[head.index("ms/run") - 8:].split()[0])
        yield int(line.split()[0]), col("ops", "kernel"), col("layer", "ms/run"), ms


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("programs", nargs="+", help="compiled training programs (netc compile --train)")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds (default 3)")
    ap.add_argument("--iters", type=int, default=2, help="steps per bench run (default 2)")
    ap.add_argument("--threads", type=int, default=2, help="OMP_NUM_THREADS (default 2)")
    ap.add_argument("--top", type=int, default=12, help="kernels that moved most, for two programs (default 12)")
    a = ap.parse_args()
    rt = ["chrt", "-f", "10"] if shutil.which("chrt") and subprocess.run(
        ["chrt", "-f", "10", "true"], capture_output=True).returncode == 0 else []
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads))
    best = {p: {} for p in a.programs}
    info = {}
    steps = {p: [] for p in a.programs}
    for _ in range(a.rounds):
        for p in a.programs:
            r = subprocess.run(rt + [p, "bench", "--train", "--per-kernel", "--iters", str(a.iters), "--warmup", "1"],
                               capture_output=True, text=True, env=env)
            m = re.search(r"median ([\d.]+) ms", r.stdout)
            if r.returncode or not m:
                sys.exit(f"train_kernels_ab: {p} bench --train --per-kernel failed: {r.stderr.strip()[:300]}")
            steps[p].append(float(m.group(1)))
            for k, op, layer, ms in parse(r.stdout):
                info[(p, k)] = (op, layer)
                best[p][k] = min(best[p].get(k, ms), ms)
    names = [os.path.basename(p)[-16:] for p in a.programs]
    print(f"# minima over {a.rounds} rounds, {a.threads} threads" + (" (chrt -f 10)" if rt else ""))
    print(f"{'op':26}" + "".join(f"{n:>17}" for n in names))
    ops = sorted({info[(p, k)][0] for p in a.programs for k in best[p]})
    for op in ops:
        row = [sum(v for k, v in best[p].items() if info[(p, k)][0] == op) for p in a.programs]
        if max(row) >= 0.5:
            print(f"{op:26}" + "".join(f"{v:17.1f}" for v in row))
    print(f"{'sum of minima':26}" + "".join(f"{sum(best[p].values()):17.1f}" for p in a.programs))
    print(f"{'step median':26}" + "".join(f"{statistics.median(steps[p]):17.1f}" for p in a.programs))
    if len(a.programs) == 2 and a.top > 0:
        x, y = a.programs
        moved = sorted((best[y].get(k, 0) - v, k) for k, v in best[x].items())
        print(f"# the kernels that moved most (ms, {names[0]} -> {names[1]})")
        for d, k in moved[:a.top] + moved[-a.top // 2:]:
            op, layer = info[(x, k)]
            print(f"  {k:4} {op:22} {layer:30} {best[x][k]:8.2f} {best[y].get(k, 0):8.2f} {d:+7.2f}")


if __name__ == "__main__":
    main()
