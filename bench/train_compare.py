#!/usr/bin/env python3
"""train_compare.py — netc's compiled training step against PyTorch, in one run.

The same step for each: forward in training mode (batch statistics), label
smoothed cross-entropy, backward (and, for PyTorch, SGD with momentum: netc's
`bench --train` times the step without the optimizer update, which its
`train` command adds — measured at a few ms per step for these models, see
bench/RESULTS.md), timm's model filled with netc's deterministic weights, the
same batch and threads.  For each model: median seconds per step and
images/s of PyTorch eager, torch.compile (unless --no-compile) and netc,
the ratios (> 1: netc is faster) and each one's peak resident memory (each
runs in its own process, so RSS is its own).

    python3 bench/train_compare.py [--models resnet50,...] [--res 224] [--batch 16] [--threads 2]
                                   [--iters 5] [--netc build/netc] [--no-compile]

Needs torch and timm (pip).  Compiled programs are cached in bench/.cache/.
Not a test: medians of few runs on a noisy machine.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.path.join(ROOT, "bench", ".cache")
sys.path.insert(0, os.path.join(ROOT, "bench"))
from compare import cpu_model  # noqa: E402

MODELS = ["resnet50", "resnest50d", "regnety_016", "efficientnet_b0"]


def torch_step(model, res, batch, threads, iters, compiled, classes):
    """Run in a child process: prints one JSON line {median_s, rss_kb}."""
    code = f"""
import json, resource, statistics, sys, time
sys.path.insert(0, {os.path.join(ROOT, 'tools')!r})
import torch, timm, detinit
torch.set_num_threads({threads})
m = timm.create_model({model!r}, pretrained=False, num_classes={classes})
detinit.init_state_dict(m)
m.train()
if {compiled}:
    m = torch.compile(m)
opt = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9)
x = torch.randn({batch}, 3, {res}, {res})
y = torch.randint(0, {classes}, ({batch},))
lossf = torch.nn.CrossEntropyLoss(label_smoothing=0.1)
def step():
    opt.zero_grad(set_to_none=True)
    loss = lossf(m(x), y)
    loss.backward()
    opt.step()
for _ in range(2): step()
t = []
for _ in range({iters}):
    t0 = time.perf_counter(); step(); t.append(time.perf_counter() - t0)
print(json.dumps({{"median_s": statistics.median(t), "rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}}))
"""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    if out.returncode:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "failed"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def netc_step(netc, model, res, batch, threads, iters, classes):
    os.makedirs(CACHE, exist_ok=True)
    prog = os.path.join(CACHE, f"{model}-train-{res}-b{batch}-c{classes}")
    src = os.path.join(ROOT, "models", f"{model}.nn")
    if not os.path.exists(prog) or os.path.getmtime(prog) < os.path.getmtime(netc):
        subprocess.run(
            [netc, "compile", src, "--train", "--init", "det", "--res", str(res), "--batch", str(batch), "--set",
             f"classes={classes}", "-o", prog],
            check=True, capture_output=True)
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    cmd = [prog, "bench", "--train", "--iters", str(iters), "--warmup", "1", "--json"]
    # its own peak RSS, as bench/rss.py measures it: the child's ru_maxrss through wait4
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
    out = proc.stdout.read()
    _, status, ru = os.wait4(proc.pid, 0)
    if status:
        raise SystemExit(f"{prog} bench --train failed")
    r = json.loads(out)
    return {"median_s": r["median_ms"] / 1e3, "rss_kb": ru.ru_maxrss}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--res", type=int, default=224)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--classes", type=int, default=1000)
    ap.add_argument("--netc", default=os.path.join(ROOT, "build", "netc"))
    ap.add_argument("--no-compile", action="store_true", help="skip torch.compile (its compile takes minutes)")
    ap.add_argument("--netc-iters", type=int, default=0, help="netc's runs (default: --iters)")
    a = ap.parse_args()
    print(f"# {cpu_model()}, {a.threads} threads, {a.res}x{a.res}, batch {a.batch}, {a.classes} classes")
    print(f"{'model':18} {'eager s':>9} {'compile s':>10} {'netc s':>9} {'eager/netc':>10} {'compile/netc':>12} "
          f"{'RSS eager':>10} {'RSS netc':>9}")
    for model in a.models.split(","):
        eager = torch_step(model, a.res, a.batch, a.threads, a.iters, False, a.classes)
        comp = {} if a.no_compile else torch_step(model, a.res, a.batch, a.threads, a.iters, True, a.classes)
        netc = netc_step(a.netc, model, a.res, a.batch, a.threads, a.netc_iters or a.iters, a.classes)

        def s(r):
            return f"{r['median_s']:.3f}" if "median_s" in r else "-"

        def ratio(r):
            return f"{r['median_s'] / netc['median_s']:.2f}" if "median_s" in r else "-"

        print(f"{model:18} {s(eager):>9} {s(comp):>10} {s(netc):>9} {ratio(eager):>10} {ratio(comp):>12} "
              f"{eager.get('rss_kb', 0) / 1024:>9.0f}M {netc['rss_kb'] / 1024:>8.0f}M", flush=True)


if __name__ == "__main__":
    main()
