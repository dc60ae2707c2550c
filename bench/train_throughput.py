#!/usr/bin/env python3
"""train_throughput.py — training end to end on JPEGs: a netc training program's
`train` (decode + the seed's augmentations on --workers threads, CutMix with
label smoothing, the compiled step, SGD) against PyTorch + timm with a
DataLoader of the same worker count and the same compute threads, in one run.

    python3 bench/train_throughput.py [--models resnet50,efficientnet_b0] [--res 224]
        [--batch 16] [--steps 6] [--workers 2] [--threads 2] [--netc build/netc]
        [--rounds R] [--base-netc OTHER/netc] [--write-results]

--rounds R runs R rounds, each of every side once per model, the order of the
sides rotating from round to round (on a machine loaded by other jobs the load
drifts over minutes: rounds interleave the sides so that each sees the same
drift), and reports the median images/s of each side and the median of the
rounds' ratios.  --base-netc adds a second netc (an older build: "before")
as a third side, its program compiled once like netc's.

The seed's augmentation list at --res R: Resize(R * 8 / 7), RandomCrop(R),
RandomHorizontalFlip, RandomRotation(15), ColorJitter(0.4, 0.4, 0.4, 0.1),
Normalize; then CutMix (alpha 1, timm's Mixup, label smoothing 0.1) per batch
and the soft-target cross-entropy; SGD (momentum 0.9). netc: `--aug
resize=N,crop=R,hflip,rotate=15,jitter=0.4:0.4:0.4:0.1 --mixup
cutmix=1.0,mixup=0 --label-smoothing 0.1`. PyTorch: torchvision's transforms
on PIL in a DataLoader (num_workers=W, shuffled), timm's Mixup and
SoftTargetCrossEntropy, torch.set_num_threads(T). The images: the JPEGs of
classify_bench.py (300 to 2000 px on a side), made once into bench/.cache/jpegs/.

Images/s and the share of time the step waited for data are taken over the
updates after the first (the first includes start-up: thread pools, the first
batch's decode); netc's from metrics.jsonl's time_s / wait_s, PyTorch's timed
around the DataLoader's iterator the same way. Both sides use deterministic
weights (speed does not depend on their values). Not a test: machines are noisy.
"""

import argparse, json, os, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.path.join(ROOT, "bench", ".cache")
sys.path.insert(0, os.path.join(ROOT, "bench"))
from classify_bench import make_jpegs  # noqa: E402
from compare import cpu_model  # noqa: E402


def aug_spec(res):
    return f"resize={res * 8 // 7},crop={res},hflip,rotate=15,jitter=0.4:0.4:0.4:0.1"


def compile_netc(netc, model, res, batch, label):
    exe = os.path.join(CACHE, f"train_{model}_{res}_b{batch}_{label}")
    subprocess.run(
        [netc, "compile", os.path.join(ROOT, "models", model + ".nn"), "--train", "--res", str(res), "--batch",
         str(batch), "--init", "det", "-o", exe],
        check=True,
        capture_output=True,
    )
    return exe


def bench_netc(exe, batch, steps, workers, threads, res, files):
    with tempfile.TemporaryDirectory() as tmp:
        lst = os.path.join(tmp, "list.txt")
        with open(lst, "w") as f:
            f.writelines(f"{p} {i % 1000}\n" for i, p in enumerate(files))
        out = os.path.join(tmp, "run")
        env = dict(os.environ, OMP_NUM_THREADS=str(threads))
        r = subprocess.run(
            [exe, "train", "--data", lst, "--out", out, "--max-steps", str(steps), "--lr", "0.01", "--quiet",
             "--workers", str(workers), "--aug", aug_spec(res), "--mixup", "cutmix=1.0,mixup=0",
             "--label-smoothing", "0.1", "--keep", "1"],
            capture_output=True,
            text=True,
            env=env,
        )
        if r.returncode != 0:
            raise SystemExit(r.stderr)
        lines = [json.loads(l) for l in open(os.path.join(out, "metrics.jsonl")) if '"loss"' in l]
    first, last = lines[0], lines[-1]
    wall = last["time_s"] - first["time_s"]
    return (len(lines) - 1) * batch / wall, (last["wait_s"] - first["wait_s"]) / wall


def bench_torch(model, res, batch, steps, workers, threads, files):
    import torch, timm
    import torchvision.transforms as T
    from PIL import Image
    from timm.data import Mixup
    from timm.loss import SoftTargetCrossEntropy

    torch.manual_seed(0)
    torch.set_num_threads(threads)
    net = timm.create_model(model, num_classes=1000).train()
    cfg = net.pretrained_cfg
    tf = T.Compose([
        T.Resize(res * 8 // 7),
        T.RandomCrop(res),
        T.RandomHorizontalFlip(),
        T.RandomRotation(15),
        T.ColorJitter(0.4, 0.4, 0.4, 0.1),
        T.ToTensor(),
        T.Normalize(cfg.get("mean", (0.485, 0.456, 0.406)), cfg.get("std", (0.229, 0.224, 0.225))),
    ])

    class Files(torch.utils.data.Dataset):
        def __len__(self):
            return len(files)

        def __getitem__(self, i):
            return tf(Image.open(files[i]).convert("RGB")), i % 1000

    dl = torch.utils.data.DataLoader(Files(), batch_size=batch, num_workers=workers, shuffle=True, drop_last=True)
    mix = Mixup(mixup_alpha=0.0, cutmix_alpha=1.0, label_smoothing=0.1, num_classes=1000)
    loss_fn = SoftTargetCrossEntropy()
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    it = iter(dl)
    marks = []  # (wall time after the update, seconds waited so far)
    waited = 0.0
    t0 = time.perf_counter()
    for _ in range(steps):
        tw = time.perf_counter()
        x, y = next(it)
        waited += time.perf_counter() - tw
        x, y = mix(x, y)
        loss = loss_fn(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        marks.append((time.perf_counter() - t0, waited))
    wall = marks[-1][0] - marks[0][0]
    return (steps - 1) * batch / wall, (marks[-1][1] - marks[0][1]) / wall


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="resnet50,efficientnet_b0")
    ap.add_argument("--res", type=int, default=224)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--netc", default=os.path.join(ROOT, "build", "netc"))
    ap.add_argument("--rounds", type=int, default=1, help="rounds, the sides' order rotating (medians reported)")
    ap.add_argument("--base-netc", help="a second netc, run as a third side ('base': before a change)")
    ap.add_argument("--write-results", action="store_true")
    args = ap.parse_args()
    os.makedirs(CACHE, exist_ok=True)
    files = make_jpegs(max(200, args.batch * (args.steps + 1)), os.path.join(CACHE, "jpegs"))
    rows = []
    models = args.models.split(",")
    netcs = [("netc", args.netc)] + ([("base", args.base_netc)] if args.base_netc else [])
    exes = {(m, lab): compile_netc(nc, m, args.res, args.batch, lab) for m in models for lab, nc in netcs}
    runs = {}  # (model, side) -> [(images/s, waited)]
    ratios = {}  # (model, "netc/torch" | "base/torch" | "netc/base") -> per-round ratios
    t = time.strftime("%H:%M")
    loads = []
    for r in range(args.rounds):
        for model in models:
            sides = ["netc", "torch"] + (["base"] if args.base_netc else [])
            sides = sides[r % len(sides):] + sides[:r % len(sides)]
            got = {}
            for side in sides:
                if side == "torch":
                    got[side] = bench_torch(model, args.res, args.batch, args.steps, args.workers, args.threads, files)
                else:
                    got[side] = bench_netc(exes[(model, side)], args.batch, args.steps, args.workers, args.threads,
                                           args.res, files)
                runs.setdefault((model, side), []).append(got[side])
            load = os.getloadavg()[0]
            loads.append(load)
            for a, b in [("netc", "torch"), ("base", "torch"), ("netc", "base")]:
                if a in got and b in got:
                    ratios.setdefault((model, f"{a}/{b}"), []).append(got[a][0] / got[b][0])
            each = ", ".join(f"{side} {got[side][0]:.2f} images/s (waited {100 * got[side][1]:.1f}%)" for side in sides)
            print(f"round {r + 1} {model}@{args.res} b{args.batch}: {each}; netc/torch "
                  f"{got['netc'][0] / got['torch'][0]:.2f}x; load {load:.1f}", flush=True)
    med = statistics.median
    for model in models:
        n_ips, n_w = med(x[0] for x in runs[(model, "netc")]), med(x[1] for x in runs[(model, "netc")])
        p_ips, p_w = med(x[0] for x in runs[(model, "torch")]), med(x[1] for x in runs[(model, "torch")])
        rows.append((model, n_ips, n_w, p_ips, p_w, t, med(loads)))
        line = (f"{model}@{args.res} b{args.batch}, medians of {args.rounds} rounds: netc {n_ips:.2f} images/s "
                f"(waited {100 * n_w:.1f}%), PyTorch {p_ips:.2f} (waited {100 * p_w:.1f}%); ratios (median of the "
                "rounds'): " + ", ".join(f"{k} {med(v):.2f}x" for (m, k), v in ratios.items() if m == model))
        if args.base_netc:
            line += f"; base netc {med(x[0] for x in runs[(model, 'base')]):.2f} images/s"
        print(line, flush=True)
    if args.write_results:
        lines = [
            f"\n## End to end: training on JPEGs, bench/train_throughput.py ({time.strftime('%Y-%m-%d')})\n",
            f"CPU: {cpu_model()}; {args.threads} compute threads and {args.workers} decode + augment workers on both "
            f"sides; {args.res}x{args.res}, batch {args.batch}, {args.steps} updates each (the first left out); "
            f"the seed's augmentations (`{aug_spec(args.res)}`), CutMix with label smoothing 0.1, SGD. "
            "Waited: the share of wall time the step spent blocked on the data. "
            f"(`python3 bench/train_throughput.py --steps {args.steps} --write-results`)\n",
            "| model | netc images/s | netc waited | PyTorch images/s | PyTorch waited | netc / PyTorch | started | "
            "load avg |",
            "|---|---:|---:|---:|---:|---:|---|---:|",
        ]
        for model, n_ips, n_w, p_ips, p_w, t, load in rows:
            lines.append(f"| {model} | {n_ips:.2f} | {100 * n_w:.1f}% | {p_ips:.2f} | {100 * p_w:.1f}% | "
                         f"{n_ips / p_ips:.2f}x | {t} | {load:.1f} |")
        with open(os.path.join(ROOT, "bench", "RESULTS.md"), "a") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
