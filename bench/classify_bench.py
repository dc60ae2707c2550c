#!/usr/bin/env python3
"""classify_bench.py — images in, answers out, end to end: a compiled netc
program's `classify` over a folder of JPEGs against PyTorch + timm's own eval
transform with a DataLoader, the same number of decode workers and threads.

    python3 bench/classify_bench.py [--models resnet50,efficientnet_b0] [--res 448]
        [--images 200] [--threads 2] [--batch 8] [--netc build/netc] [--write-results]

The folder: --images JPEGs of mixed sizes (300 to 2000 px on a side, quality
85-95), random crops and scalings of the photographs in tests/photos and
tests/fixtures/images, made once with PIL into bench/.cache/jpegs/.  Both
sides use the same deterministic weights (speed does not depend on their
values).  netc's --timing splits its wall time into compute and waiting for
decode + preprocess; PyTorch's is split the same way (time blocked in the
DataLoader's iterator vs in the model).  Not a test: machines are noisy.
"""

import argparse, glob, os, random, re, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.path.join(ROOT, "bench", ".cache")
sys.path.insert(0, os.path.join(ROOT, "bench"))
from compare import cpu_model  # noqa: E402


def make_jpegs(n, out):
    from PIL import Image

    os.makedirs(out, exist_ok=True)
    have = sorted(glob.glob(os.path.join(out, "*.jpg")))
    if len(have) >= n:
        return have[:n]
    srcs = [
        p
        for p in glob.glob(os.path.join(ROOT, "tests", "photos", "*"))
        + glob.glob(os.path.join(ROOT, "tests", "fixtures", "images", "*"))
        if p.lower().endswith((".jpg", ".jpeg", ".png")) and "orient" not in p
    ]
    rng = random.Random(0)
    for i in range(n):
        im = Image.open(rng.choice(srcs)).convert("RGB")
        w, h = im.size
        cw, ch = rng.randint(w // 2, w), rng.randint(h // 2, h)
        x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
        im = im.crop((x, y, x + cw, y + ch))
        long_side = rng.randint(300, 2000)
        s = long_side / max(cw, ch)
        im = im.resize((max(1, round(cw * s)), max(1, round(ch * s))), Image.BICUBIC)
        im.save(os.path.join(out, f"img{i:04d}.jpg"), quality=rng.randint(85, 95))
    return sorted(glob.glob(os.path.join(out, "*.jpg")))[:n]


def bench_netc(netc, model, res, batch, threads, folder):
    exe = os.path.join(CACHE, f"cls_{model}_{res}_b{batch}")
    # always rebuilt: a cached program would carry an older compiler's kernels
    subprocess.run(
        [
            netc,
            "compile",
            os.path.join(ROOT, "models", model + ".nn"),
            "--res",
            str(res),
            "--batch",
            str(batch),
            "--init",
            "det",
            "-o",
            exe,
        ],
        check=True,
        capture_output=True,
    )
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    r = subprocess.run(
        [
            exe,
            "classify",
            folder,
            "--threads",
            str(threads),
            "--decode-threads",
            str(threads),
            "--timing",
            "--top",
            "1",
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    if r.returncode != 0:
        raise SystemExit(r.stderr)
    m = re.search(r"timing: (\d+) images in ([\d.]+) s .*compute ([\d.]+) s .*preprocess ([\d.]+) s", r.stderr)
    n, total, compute, wait = int(m.group(1)), float(m.group(2)), float(m.group(3)), float(m.group(4))
    return n / total, compute / total, wait / total


def bench_torch(model, res, batch, threads, files):
    import torch, timm
    from timm.data import create_transform, resolve_data_config
    from PIL import Image

    torch.set_num_threads(threads)
    net = timm.create_model(model).eval()
    cfg = resolve_data_config({"input_size": (3, res, res)}, model=net)
    tf = create_transform(**cfg)

    class Files(torch.utils.data.Dataset):
        def __len__(self):
            return len(files)

        def __getitem__(self, i):
            return tf(Image.open(files[i]).convert("RGB"))

    dl = torch.utils.data.DataLoader(Files(), batch_size=batch, num_workers=threads)
    t0 = time.perf_counter()
    wait = compute = 0.0
    with torch.no_grad():
        it = iter(dl)
        while True:
            tw = time.perf_counter()
            try:
                x = next(it)
            except StopIteration:
                break
            tc = time.perf_counter()
            net(x).argmax(1)
            wait += tc - tw
            compute += time.perf_counter() - tc
    total = time.perf_counter() - t0
    return len(files) / total, compute / total, wait / total


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="resnet50,efficientnet_b0")
    ap.add_argument("--res", type=int, default=448)
    ap.add_argument("--images", type=int, default=200)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--netc", default=os.path.join(ROOT, "build", "netc"))
    ap.add_argument("--write-results", action="store_true")
    args = ap.parse_args()
    os.makedirs(CACHE, exist_ok=True)
    folder = os.path.join(CACHE, "jpegs")
    files = make_jpegs(args.images, folder)
    sizes = [os.path.getsize(f) for f in files]
    print(f"{len(files)} JPEGs, {sum(sizes) / 1e6:.1f} MB, in {folder}")
    rows = []
    for model in args.models.split(","):
        n_ips, n_c, n_w = bench_netc(args.netc, model, args.res, args.batch, args.threads, folder)
        t_ips, t_c, t_w = bench_torch(model, args.res, args.batch, args.threads, files)
        rows.append((model, n_ips, n_c, n_w, t_ips, t_c, t_w))
        print(
            f"{model}@{args.res}: netc {n_ips:.2f} "
            f"images/s (compute {100 * n_c:.0f}%, waiting on decode {100 * n_w:.0f}%), "
            f"PyTorch+timm DataLoader {t_ips:.2f} images/s (compute {100 * t_c:.0f}%, waiting {100 * t_w:.0f}%): "
            f"{n_ips / t_ips:.2f}x"
        )
    if args.write_results:
        lines = [
            f"\n## End to end: classify {len(files)} JPEGs at {args.res} ({time.strftime('%Y-%m-%d')})\n",
            f"CPU: {cpu_model()}, {args.threads} threads "
            f"and {args.threads} decode workers on both sides, batch {args.batch}.",
            "netc: `MODEL classify FOLDER --threads N --decode-threads N --timing`; "
            "PyTorch: timm's eval transform (PIL) in a DataLoader "
            "with num_workers=N, torch.set_num_threads(N).  Shares: of the wall time, time computing vs blocked "
            "waiting for decoded images.\n",
            "| model | netc images/s | netc compute "
            "/ waiting | PyTorch images/s | PyTorch compute / waiting | netc / PyTorch |",
            "|---|---|---|---|---|---|",
        ]
        for model, n_ips, n_c, n_w, t_ips, t_c, t_w in rows:
            lines.append(
                f"| {model} | {n_ips:.2f} | {100 * n_c:.0f}% / {100 * n_w:.0f}% | {t_ips:.2f} | "
                f"{100 * t_c:.0f}% / {100 * t_w:.0f}% | {n_ips / t_ips:.2f}x |"
            )
        with open(os.path.join(ROOT, "bench", "RESULTS.md"), "a") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
