#!/usr/bin/env python3
"""image_pipeline.py — decode + preprocess throughput: netc's image pipeline
against PIL + timm's eval transform, same files, same thread count.

    python3 bench/image_pipeline.py [--build build] [--res 448] [--threads 1,2]
                                    [--images 50] [--repeat 7] [--write-results]

The image set is ~50 JPEGs of mixed sizes (0.1 to 6 MP, landscape and
portrait, quality 90) made from scikit-image's sample photographs and cached in
bench/.cache/images/. netc: bench/image_bench.c, compiled here against
BUILD/libnetc_core.a, through the batch loader with N worker threads (double
buffered, batches of 16). PIL + timm: the usual PyTorch pipeline, a
DataLoader with N worker processes, batches of 16, each item
timm.data.create_transform(input_size=(3, R, R), interpolation="bicubic",
crop_pct=0.875) of ImageOps.exif_transpose(Image.open(f)).convert("RGB");
for one thread also the same loop in-process with no DataLoader. Medians of
--repeat passes over all files after one warm-up pass; ratio = netc images/s
over PIL's. Needs pillow, numpy, torch, timm, scikit-image; libjpeg and libpng
development files. Not a test: --write-results appends to bench/RESULTS.md.
"""
import argparse
import datetime
import os
import platform
import re
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.path.join(ROOT, "bench", ".cache")


def cpu_model():
    info = open("/proc/cpuinfo").read()
    name = re.search(r"^model name\s*:\s*(.*)$", info, re.M)
    fam = re.search(r"^cpu family\s*:\s*(\d+)", info, re.M)
    mod = re.search(r"^model\s*:\s*(\d+)", info, re.M)
    isa = "AVX-512" if "avx512f" in info else "AVX2" if "avx2" in info else "SSE"
    if not name:
        return platform.processor()
    return f"{name.group(1).strip()} (family {fam.group(1)} model {mod.group(1)}, {isa}), {os.cpu_count()} CPUs"


def make_images(n):
    import numpy as np
    import skimage.data
    from PIL import Image

    out = os.path.join(CACHE, "images")
    os.makedirs(out, exist_ok=True)
    srcs = [skimage.data.chelsea(), skimage.data.coffee(), skimage.data.astronaut(), skimage.data.rocket(),
            skimage.data.hubble_deep_field(), skimage.data.retina(), skimage.data.stereo_motorcycle()[0],
            np.dstack([skimage.data.camera()] * 3)]
    sizes = [(400, 300), (500, 375), (500, 333), (640, 480), (375, 500), (800, 600), (1024, 768),
             (768, 1024), (1280, 853), (1600, 1200), (2048, 1536), (3000, 2000)]
    files = []
    for i in range(n):
        w, h = sizes[i % len(sizes)]
        path = os.path.join(out, f"img{i:03d}_{w}x{h}.jpg")
        if not os.path.exists(path):
            im = Image.fromarray(srcs[i % len(srcs)]).resize((w, h), Image.Resampling.BICUBIC)
            im.save(path, quality=90)
        files.append(path)
    return files


def build_bench(build):
    lib = os.path.join(build, "libnetc_core.a")
    if not os.path.exists(lib):
        sys.exit(f"image_pipeline.py: {lib} not found: build netc first (cmake --build {build})")
    exe = os.path.join(CACHE, "image_bench")
    subprocess.run(["cc", "-O2", "-std=c17", "-D_POSIX_C_SOURCE=200809L", "-I", ROOT,
                    os.path.join(ROOT, "bench", "image_bench.c"), lib, "-ljpeg", "-lpng", "-lz", "-lm",
                    "-fopenmp", "-pthread", "-o", exe], check=True)
    return exe


def run_netc(exe, files, res, threads, repeat):
    out = subprocess.run([exe, "--res", str(res), "--threads", str(threads), "--repeat", str(repeat)] + files,
                         capture_output=True, text=True, check=True).stdout
    ips = float(re.search(r"images_per_s=([\d.]+)", out).group(1))
    share = re.search(r"decode_share=([\d.]+)", out)
    return ips, float(share.group(1)) if share else None


class Files:
    def __init__(self, files, tf):
        self.files, self.tf = files, tf

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        from PIL import Image, ImageOps

        return self.tf(ImageOps.exif_transpose(Image.open(self.files[i])).convert("RGB"))


def run_pil(files, res, threads, repeat, dataloader):
    import timm.data
    import torch

    torch.set_num_threads(1)
    tf = timm.data.create_transform(input_size=(3, res, res), interpolation="bicubic", crop_pct=0.875,
                                    is_training=False)
    ds = Files(files, tf)

    def one_pass():
        if dataloader:
            loader = torch.utils.data.DataLoader(ds, batch_size=16, num_workers=threads,
                                                 persistent_workers=False)
            for x in loader:
                x.sum()
        else:
            for i in range(len(ds)):
                ds[i].sum()

    one_pass()
    t = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        one_pass()
        t.append(time.perf_counter() - t0)
    return len(files) / statistics.median(t)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--res", type=int, default=448)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--images", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--write-results", action="store_true")
    a = ap.parse_args()
    files = make_images(a.images)
    mp = [int(w) * int(h) / 1e6 for w, h in (re.search(r"_(\d+)x(\d+)\.jpg$", f).groups() for f in files)]
    exe = build_bench(a.build)
    rows = []
    for th in [int(x) for x in a.threads.split(",")]:
        netc, share = run_netc(exe, files, a.res, th, a.repeat)
        pil_dl = run_pil(files, a.res, th, a.repeat, dataloader=True)
        pil_loop = run_pil(files, a.res, th, a.repeat, dataloader=False) if th == 1 else None
        rows.append((th, netc, pil_dl, pil_loop, share))
        print(f"threads {th}: netc {netc:.1f} img/s, PIL+timm DataLoader {pil_dl:.1f} img/s "
              f"(ratio {netc / pil_dl:.2f})" + (f", PIL+timm in-process loop {pil_loop:.1f} img/s "
                                                f"(ratio {netc / pil_loop:.2f})" if pil_loop else "")
              + (f"; netc decode share {share:.0%}" if share is not None else ""), flush=True)
    if a.write_results:
        import PIL
        import timm
        import torch

        day = datetime.date.today().isoformat()
        lines = [f"\n## Image pipeline: decode + preprocess (bench/image_pipeline.py), {day}\n",
                 f"{cpu_model()}. {len(files)} JPEGs of mixed sizes ({min(mp):.2f}-{max(mp):.1f} MP, "
                 f"mean {statistics.mean(mp):.2f} MP, quality 90, from scikit-image's photographs), "
                 f"res {a.res}, crop_pct 0.875, bicubic; medians of {a.repeat} passes after a warm-up. "
                 f"netc: the batch loader (runtime/image/loader.h) with N worker threads, double "
                 f"buffered in batches of 16, output bit-identical to timm's. PIL + timm: Pillow "
                 f"{PIL.__version__}, timm {timm.__version__}, torch {torch.__version__}, a DataLoader "
                 f"with N worker processes (batches of 16); for N = 1 also the plain in-process loop. "
                 f"Ratio: netc images/s over PIL's.\n",
                 "| threads | netc img/s | PIL+timm DataLoader img/s | ratio | PIL+timm loop img/s | ratio |",
                 "|---:|---:|---:|---:|---:|---:|"]
        for th, netc, dl, loop, share in rows:
            lines.append(f"| {th} | {netc:.1f} | {dl:.1f} | {netc / dl:.2f} | "
                         f"{f'{loop:.1f}' if loop else '-'} | {f'{netc / loop:.2f}' if loop else '-'} |")
        shares = [r[4] for r in rows if r[4] is not None]
        if shares:
            lines.append(f"\nnetc's time on one thread: {shares[0]:.0%} decoding (libjpeg-turbo), "
                         f"{1 - shares[0]:.0%} resize + crop + normalise.\n")
        with open(os.path.join(ROOT, "bench", "RESULTS.md"), "a") as f:
            f.write("\n".join(lines) + "\n")
        print("appended to bench/RESULTS.md")


if __name__ == "__main__":
    main()
