#!/usr/bin/env python3
"""compare.py — netc against ONNX Runtime, PyTorch eager and OpenVINO, in one run.

Same models (timm, filled with netc's deterministic weights), same input, same
thread count, timed in rounds (ORT, PyTorch, netc in turn) so that each ratio
compares runs minutes apart at most.  For each model and batch: median milliseconds, images/s, the
ratio of each peer's time to netc's (> 1: netc is faster), netc's share of the
CPU's fp32 peak (measured by bench/peak.c), and the largest difference between
netc's and ONNX Runtime's logits (a check that all three run the same model).

    python3 bench/compare.py [--models resnet50,...] [--batches 1,8] [--threads 2]
                             [--res 224] [--iters 20] [--netc build/netc] [--write-results]
                             [--peers ort,torch,ov,ov-bf16,ort-int8] [--history-only]

Peers (--peers; default ort,torch, and the OpenVINO ones when the module imports):
  ort       ONNX Runtime, f32, on the torch.onnx.export'ed model (all graph optimisations)
  torch     PyTorch eager, f32
  ov        OpenVINO (pip `openvino`), f32: the same ONNX file, INFERENCE_PRECISION_HINT f32,
            PERFORMANCE_HINT LATENCY, one stream, INFERENCE_NUM_THREADS = --threads
  ov-bf16   the same with INFERENCE_PRECISION_HINT bf16; what OpenVINO then runs is reported (the
            property it reads back and how many of its compiled ops execute in bf16: on a CPU
            without AVX512-BF16 or AMX it keeps f32)
  ort-int8  ONNX Runtime on a statically quantised copy of the model netc itself exports
            (`netc export --init det --fold --onnx`, batch norms folded into the convolutions as ORT
            would fold them): onnxruntime.quantization.quantize_static, QDQ,
            per-channel symmetric int8 weights, uint8 activations calibrated (MinMax) on the
            photographs in tests/photos under the model's timm eval transform
  netc-bf16, netc-int8   netc's own `--precision bf16` / `--precision int8 --calibrate tests/photos`
            programs, timed by their `bench` like netc f32 (with ort-int8 also ORT int8 / netc int8)
Ratios are peer time / netc f32 time.

--no-spin: threads that wait sleep instead of spinning, for a machine loaded by other jobs, where
OpenMP's spinning threads (netc's, by default) lose their cores to the other jobs at every
barrier and a run can take 10-20x as long: netc with OMP_WAIT_POLICY=passive, ORT with
session.intra_op.allow_spinning 0 (OpenVINO has no such switch).

--onnx: netc on the ONNX file ORT runs against netc on the model's .nn description instead: both compiled
(`netc compile NAME.onnx` and `netc compile models/NAME.nn --init det`, the same weights), timed by each program's
`bench` in alternating rounds; reports the median of the rounds' time ratios (ONNX / .nn, 1.00: the same speed)
and the largest difference between the two programs' logits.  --write-results adds a history entry.

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
    ap.add_argument("--onnx", action="store_true", help="netc on the exported ONNX file against netc on the .nn")
    ap.add_argument("--note", default="", help="a remark for the history entry (e.g. the machine was loaded)")
    ap.add_argument("--peers", default=None, help="comma list: ort, torch, ov, ov-bf16, ort-int8, netc-bf16, netc-int8")
    ap.add_argument("--history-only", action="store_true", help="--write-results adds the history entry only")
    ap.add_argument("--no-spin", action="store_true", help="waiting threads sleep (netc and ORT): see above")
    args = ap.parse_args()
    if args.onnx:
        return onnx_mode(args)

    import numpy as np
    import onnxruntime as ort
    import timm
    import torch
    import detinit

    try:
        import openvino as ov
    except ImportError:
        ov = None
    peers = (args.peers or ("ort,torch,ov,ov-bf16,ort-int8" if ov else "ort,torch")).split(",")
    for p in peers:
        if p not in PEERS:
            raise SystemExit(f"compare.py: --peers: unknown peer '{p}' (known: {', '.join(PEERS)})")
    if ov is None and any(p.startswith("ov") for p in peers):
        raise SystemExit("compare.py: --peers asks for OpenVINO: python3 -m pip install openvino")
    os.makedirs(CACHE, exist_ok=True)
    torch.set_num_threads(args.threads)
    global NO_SPIN
    NO_SPIN = args.no_spin
    peak = peak_gflops(args.threads)
    rows = []
    versions = f"torch {torch.__version__}, onnxruntime {ort.__version__}, timm {timm.__version__}"
    if ov:
        versions += f", openvino {ov.__version__}"
    print(f"CPU: {cpu_model()}; {args.threads} threads; fp32 FMA peak {peak:.1f} GFLOP/s (bench/peak.c); {versions}")
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
            sess = ort_session(ort, onnx_path, args.threads)
            y_ort = sess.run(None, {"x": x})[0]
            runners, notes = {}, {}
            if "ort" in peers:
                runners["ort"] = lambda: sess.run(None, {"x": x})
            if "torch" in peers:

                def run_torch():
                    with torch.inference_mode():
                        model(xt)

                runners["torch"] = run_torch
            for p in ("ov", "ov-bf16"):
                if p in peers:
                    runners[p], notes[p], y_p = openvino_runner(ov, onnx_path, x, args.threads, p == "ov-bf16")
                    notes[p] += f", max rel diff vs ORT {float(np.abs(y_p - y_ort).max() / np.abs(y_ort).max()):.1e}"
            if "ort-int8" in peers:
                runners["ort-int8"], notes["ort-int8"], y_p = ort_int8_runner(
                    ort, args.netc, name, args.res, b, x, args.threads, timm_cfg(model, args.res)
                )
                rel = float(np.abs(y_p - y_ort).max() / np.abs(y_ort).max())
                notes["ort-int8"] += f", max rel diff vs ORT f32 {rel:.1e}"
            for p, n in notes.items():
                print(f"  {name} b{b} {p}: {n}", flush=True)
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
            if args.no_spin:
                env["OMP_WAIT_POLICY"] = "passive"
            xin = os.path.join(CACHE, "x.npy")
            np.save(xin, x)
            yout = os.path.join(CACHE, "y.npy")
            subprocess.run(
                [exe, "run", "--input", xin, "--output", yout, "--top", "0"], check=True, env=env, capture_output=True
            )
            y_netc = np.load(yout)
            diff = float(np.abs(y_netc - y_ort).max() / np.abs(y_ort).max())
            # netc's reduced precisions, timed like netc by their own `bench`
            exes = {"netc": exe}
            for p in ("netc-bf16", "netc-int8"):
                if p not in peers:
                    continue
                prec = p.split("-")[1]
                exes[p] = f"{exe}_{prec}"
                extra = ["--calibrate", os.path.join(ROOT, "tests", "photos")] if prec == "int8" else []
                subprocess.run(
                    [args.netc, "compile", os.path.join(ROOT, "models", name + ".nn"), "--init", "det", "--res",
                     str(args.res), "--batch", str(b), "--precision", prec, *extra, "-o", exes[p]],
                    check=True,
                    capture_output=True,
                )
                subprocess.run([exes[p], "run", "--input", xin, "--output", yout, "--top", "0"], check=True, env=env,
                               capture_output=True)
                y_p = np.load(yout)
                notes[p] = (f"`netc compile --precision {prec}{' --calibrate tests/photos' if extra else ''}`, "
                            f"max rel diff vs ORT f32 {float(np.abs(y_p - y_ort).max() / np.abs(y_ort).max()):.1e}")
            # Rounds of every peer and netc in turn: the machine's load drifts, so
            # each ratio is taken within a round and the median of those reported.
            rt = {p: [] for p in list(runners) + list(exes)}
            per = max(3, args.iters // args.rounds)
            for _ in range(args.rounds):
                for p, fn in runners.items():
                    rt[p].append(median_ms(fn, per))
                for p, e in exes.items():
                    out = subprocess.run(
                        [e, "bench", "--iters", str(args.netc_iters), "--warmup", "1", "--json"],
                        check=True,
                        env=env,
                        capture_output=True,
                        text=True,
                    ).stdout
                    rt[p].append(json.loads(out)["median_ms"])
            t_netc = statistics.median(rt["netc"])
            share = 2 * macs * b / (t_netc * 1e-3) / 1e9 / peak
            row = dict(model=name, batch=b, netc=t_netc, share=share, diff=diff, ms={}, ratio={}, notes=notes)
            timed = [p for p in rt if p != "netc"]
            for p in timed:
                row["ms"][p] = statistics.median(rt[p])
                row["ratio"][p] = statistics.median(o / n for o, n in zip(rt[p], rt["netc"]))
            if "ort-int8" in rt and "netc-int8" in rt:
                r8 = statistics.median(o / n for o, n in zip(rt["ort-int8"], rt["netc-int8"]))
                notes["netc-int8"] += f"; ORT int8 / netc int8 {r8:.3f} (median of the rounds' ratios)"
            rows.append(row)
            said = "  ".join(
                f"{PEERS[p]} {row['ms'][p]:8.2f} ms ({PEERS[p]}/netc {row['ratio'][p]:6.3f})" for p in timed
            )
            for p in ("netc-int8", "netc-bf16"):
                if p in notes:
                    print(f"  {name} b{b} {p}: {notes[p]}", flush=True)
            print(
                f"{name:16s} b{b:<2d} netc {t_netc:9.2f} ms ({1e3 * b / t_netc:7.1f} img/s)  {said}  "
                f"netc {100 * share:5.1f}% of peak  |netc-ORT|/max {diff:.1e}",
                flush=True,
            )
    if args.write_results:
        write_results(args, peak, rows, [p for p in rows[0]["ms"]] if rows else [], versions)


PEERS = {
    "ort": "ORT",
    "torch": "PyTorch",
    "ov": "OpenVINO",
    "ov-bf16": "OpenVINO bf16",
    "ort-int8": "ORT int8",
    "netc-bf16": "netc bf16",
    "netc-int8": "netc int8",
}


NO_SPIN = False


def ort_session(ort, path, threads):
    so = ort.SessionOptions()
    if NO_SPIN:
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def openvino_runner(ov, onnx_path, x, threads, bf16):
    """OpenVINO on the ONNX file, f32 or asked for bf16: (run, what it says it runs, its output)."""
    core = ov.Core()
    cfg = {
        "INFERENCE_PRECISION_HINT": "bf16" if bf16 else "f32",
        "INFERENCE_NUM_THREADS": threads,
        "NUM_STREAMS": 1,
        "PERFORMANCE_HINT": "LATENCY",
    }
    try:
        compiled = core.compile_model(core.read_model(onnx_path), "CPU", cfg)
    except Exception as err:  # what OpenVINO says when it refuses the hint
        raise SystemExit(f"compare.py: OpenVINO refused {cfg}: {err}")
    req = compiled.create_infer_request()
    said = f"INFERENCE_PRECISION_HINT reads back {compiled.get_property('INFERENCE_PRECISION_HINT').get_type_name()}"
    try:  # the precision each compiled op runs in
        prec = {}
        for op in compiled.get_runtime_model().get_ordered_ops():
            rt = op.get_rt_info()
            if "runtimePrecision" in rt:
                k = rt["runtimePrecision"].astype(str)
                prec[k] = prec.get(k, 0) + 1
        said += "; ops by runtime precision: " + ", ".join(f"{k} {v}" for k, v in sorted(prec.items()))
    except Exception as err:
        said += f"; (no runtime model: {err})"
    caps = core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    said += f"; CPU capabilities {', '.join(str(c) for c in caps)}"
    y = req.infer({0: x})[compiled.output(0)]
    return (lambda: req.infer({0: x})), said, y


def timm_cfg(model, res):
    import timm

    cfg = timm.data.resolve_data_config({}, model=model)
    cfg["input_size"] = (3, res, res)
    return cfg


def quantize_qdq(ort, f32, q8, imgs, b):
    """ORT's static quantisation of the ONNX file f32 into q8: QDQ, per-channel int8 weights, uint8
    activations, MinMax calibration over batches of b of the images imgs (each image leading one batch)."""
    import numpy as np
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    feed = ort.InferenceSession(f32, providers=["CPUExecutionProvider"]).get_inputs()[0].name
    batches = [np.resize(np.roll(imgs, -i, axis=0), (b,) + imgs.shape[1:]) for i in range(len(imgs))]

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter(batches)

        def get_next(self):
            nxt = next(self.it, None)
            return None if nxt is None else {feed: nxt}

    quantize_static(f32, q8, Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    weight_type=QuantType.QInt8, activation_type=QuantType.QUInt8)


def ort_int8_runner(ort, netc, name, res, b, x, threads, cfg):
    """ORT on netc's exported ONNX, statically quantised (QDQ, per-channel int8 weights, uint8 activations,
    MinMax calibration on tests/photos): (run, what was done, its output on x)."""
    import numpy as np
    from PIL import Image
    import timm

    pdir = os.path.join(ROOT, "tests", "photos")
    photos = sorted(os.path.join(pdir, p) for p in os.listdir(pdir) if p.endswith((".jpg", ".png")))
    f32 = os.path.join(CACHE, f"{name}_{res}_b{b}_netc.onnx")
    q8 = os.path.join(CACHE, f"{name}_{res}_b{b}_netc_int8.onnx")
    if not os.path.exists(q8):
        subprocess.run(
            [netc, "export", os.path.join(ROOT, "models", name + ".nn"), "--init", "det", "--fold", "--res", str(res),
             "--batch", str(b), "--onnx", f32],
            check=True,
            capture_output=True,
        )
        tf = timm.data.create_transform(**cfg)
        imgs = np.stack([tf(Image.open(p).convert("RGB")).numpy() for p in photos]).astype(np.float32)
        quantize_qdq(ort, f32, q8, imgs, b)
    sess = ort_session(ort, q8, threads)
    feed = sess.get_inputs()[0].name
    y = sess.run(None, {feed: x})[0]
    said = ("static quantisation (QDQ, per-channel int8 weights, uint8 activations, MinMax on the "
            f"{len(photos)} photographs in tests/photos) of `netc export --fold --onnx` (BN folded)")
    return (lambda: sess.run(None, {feed: x})), said, y


def export_onnx(name, res, b):
    """The ONNX file ORT runs in the default mode (det weights, opset 17, cached), and the det input."""
    import timm
    import torch
    import detinit

    x = detinit.input_tensor((b, 3, res, res))
    onnx_path = os.path.join(CACHE, f"{name}_{res}_b{b}.onnx")
    if not os.path.exists(onnx_path):
        model = timm.create_model(name, pretrained=False).eval()
        detinit.init_state_dict(model)
        torch.onnx.export(
            model, torch.from_numpy(x), onnx_path, opset_version=17, input_names=["x"], output_names=["y"], dynamo=False
        )
    return onnx_path, x


def optimised_graph(netc, src, extra, res, b):
    """The graph netc compiles (after every pass and the layout), names and value numbers left out: what has
    to be equal for the two programs to be the same kernels."""
    import re

    out = subprocess.run(
        [netc, "dump", src, *extra, "--res", str(res), "--batch", str(b), "--passes", "default", "--dump-after",
         "assign_layout"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    lines = []
    for line in out.splitlines():
        if line.startswith("#") or line.startswith("graph") or " input %" in line:
            continue
        line = re.sub(r"  # .*$", "", line)
        line = re.sub(r"@[^,)\s]+", "@", re.sub(r"%\d+", "%", line)).strip()
        if line:
            lines.append(line)
    return lines


def onnx_mode(args):
    import numpy as np

    os.makedirs(CACHE, exist_ok=True)
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    print(f"CPU: {cpu_model()}; {args.threads} threads; netc on the exported ONNX file vs netc on the .nn")
    rows = []
    for name in args.models.split(","):
        for b in [int(x) for x in args.batches.split(",")]:
            onnx_path, x = export_onnx(name, args.res, b)
            xin, yout = os.path.join(CACHE, "x.npy"), os.path.join(CACHE, "y.npy")
            np.save(xin, x)
            exes, ys = {}, {}
            for kind, src, extra in (
                ("nn", os.path.join(ROOT, "models", name + ".nn"), ["--init", "det"]),
                ("onnx", onnx_path, []),
            ):
                exe = exes[kind] = os.path.join(CACHE, f"{name}_{args.res}_b{b}_{kind}")
                subprocess.run(
                    [args.netc, "compile", src, *extra, "--res", str(args.res), "--batch", str(b), "-o", exe],
                    check=True,
                    capture_output=True,
                )
                subprocess.run(
                    [exe, "run", "--input", xin, "--output", yout, "--top", "0"],
                    check=True,
                    env=env,
                    capture_output=True,
                )
                ys[kind] = np.load(yout)
            diff = float(np.abs(ys["onnx"] - ys["nn"]).max() / np.abs(ys["nn"]).max())
            import difflib

            gn = optimised_graph(args.netc, os.path.join(ROOT, "models", name + ".nn"), ["--init", "det"], args.res, b)
            go = optimised_graph(args.netc, onnx_path, [], args.res, b)
            sm = difflib.SequenceMatcher(a=gn, b=go, autojunk=False)
            ndiff = sum(max(i2 - i1, j2 - j1) for tag, i1, i2, j1, j2 in sm.get_opcodes() if tag != "equal")
            graphs = "identical" if not ndiff else f"{ndiff} of {len(gn)} nodes differ"
            rt, mins = {"nn": [], "onnx": []}, {"nn": [], "onnx": []}
            for r in range(args.rounds):
                # alternate which goes first, so a drift in the machine's load favours neither
                for kind in ("nn", "onnx") if r % 2 == 0 else ("onnx", "nn"):
                    out = subprocess.run(
                        [exes[kind], "bench", "--iters", str(args.netc_iters), "--warmup", "1", "--json"],
                        check=True,
                        env=env,
                        capture_output=True,
                        text=True,
                    ).stdout
                    rt[kind].append(json.loads(out)["median_ms"])
                    mins[kind].append(json.loads(out)["min_ms"])
            ratio = statistics.median(o / n for o, n in zip(rt["onnx"], rt["nn"]))
            # on a loaded machine the fastest run is the best estimate of the uncontended time
            ratio_min = min(mins["onnx"]) / min(mins["nn"])
            row = dict(
                model=name,
                batch=b,
                nn=statistics.median(rt["nn"]),
                onnx=statistics.median(rt["onnx"]),
                ratio=ratio,
                ratio_min=ratio_min,
                nn_min=min(mins["nn"]),
                onnx_min=min(mins["onnx"]),
                lo=min(o / n for o, n in zip(rt["onnx"], rt["nn"])),
                hi=max(o / n for o, n in zip(rt["onnx"], rt["nn"])),
                diff=diff,
                graphs=graphs,
            )
            rows.append(row)
            print(
                f"{name:16s} b{b:<2d} .nn {row['nn']:9.2f} ms  .onnx {row['onnx']:9.2f} ms  onnx/nn {ratio:6.3f} "
                f"(fastest runs {row['nn_min']:.2f} / {row['onnx_min']:.2f} ms: {ratio_min:.3f}) "
                f"(rounds {row['lo']:.3f}..{row['hi']:.3f})  |onnx-nn|/max {diff:.1e}  graphs: {graphs}",
                flush=True,
            )
    if args.write_results:
        path = os.path.join(ROOT, "bench", "RESULTS.md")
        text = open(path).read()
        hist = (
            f"### bench/compare.py --onnx, {time.strftime('%Y-%m-%d')}\n\n{cpu_model()}, {args.threads} threads; "
            f"input {args.res}x{args.res}; the same model compiled from the ONNX file ORT runs (torch.onnx.export, "
            f"opset 17, det weights) and from its .nn (`--init det`); {args.rounds} rounds, each program's `bench` "
            f"({args.netc_iters} runs) in alternating order; ratio = ONNX time / .nn time, the median of the rounds' "
            f"ratios (their range beside it), and the ratio of the fastest runs of all rounds (on a loaded machine "
            f"the best estimate of the uncontended time). {args.note}\n\n"
            "| model | batch | .nn ms | .onnx ms | onnx/nn | rounds' range | fastest .nn / .onnx ms | "
            "onnx/nn fastest | max rel diff of the logits | optimised graphs |\n"
            "|---|---:|---:|---:|---:|---|---|---:|---:|---|\n"
        )
        for r in rows:
            hist += (
                f"| {r['model']} | {r['batch']} | {r['nn']:.2f} | {r['onnx']:.2f} | {r['ratio']:.3f} | "
                f"{r['lo']:.3f}..{r['hi']:.3f} | {r['nn_min']:.2f} / {r['onnx_min']:.2f} | {r['ratio_min']:.3f} | "
                f"{r['diff']:.1e} | {r['graphs']} |\n"
            )
        marker = "## History, newest first\n\n"
        k = text.index(marker) + len(marker)
        text = text[:k] + hist + "\n" + text[k:]
        with open(path + ".new", "w") as f:
            f.write(text)
        os.replace(path + ".new", path)
        print("wrote a history entry in", path)


def write_results(args, peak, rows, peers, versions):
    """Replaces RESULTS.md's current table with this run and puts the run first in its history
    (--history-only: the history entry alone)."""
    path = os.path.join(ROOT, "bench", "RESULTS.md")
    text = open(path).read()
    day, cpu = time.strftime("%Y-%m-%d"), cpu_model()
    names = [PEERS[p] for p in peers]
    head = (
        "| model | batch | netc ms | img/s | "
        + "".join(f"{n} ms | " for n in names)
        + "".join(f"{n}/netc | " for n in names)
    )
    align = "|---|---:|---:|---:|" + "---:|" * (2 * len(peers))

    def cells(r):
        return (
            f"| {r['model']} | {r['batch']} | {r['netc']:.2f} | {1e3 * r['batch'] / r['netc']:.1f} | "
            + "".join(f"{r['ms'][p]:.2f} | " for p in peers)
            + "".join(f"{r['ratio'][p]:.3f} | " for p in peers)
        )

    cur = (
        f"<!-- current: replaced by `python3 bench/compare.py --write-results` -->\n{day}, {args.res}x{args.res}, "
        f"det weights, {args.rounds} rounds (`python3 bench/compare.py --rounds {args.rounds} --write-results`).\n\n"
        + head + "CPU |\n" + align + "---|\n"
    )
    for r in rows:
        cur += cells(r) + f"{cpu}, {args.threads} threads |\n"
    hist = (
        f"### bench/compare.py, {day}\n\n{cpu}, {args.threads} threads, fp32 peak {peak:.1f} GFLOP/s "
        f"(bench/peak.c); {versions}; input {args.res}x{args.res}; {args.rounds} rounds of "
        f"{', '.join(names)} and netc in turn "
        f"({max(3, args.iters // args.rounds)} runs each per round, netc {args.netc_iters}); times are medians over "
        f"the rounds, ratios (peer time / netc time, > 1: netc faster) the median of the rounds' ratios"
        f"{'; --no-spin (netc OMP_WAIT_POLICY=passive, ORT without spinning)' if args.no_spin else ''}. "
        f"{args.note}\n\n" + head + "netc % of peak | max rel diff vs ORT |\n" + align + "---:|---:|\n"
    )
    for r in rows:
        hist += cells(r) + f"{100 * r['share']:.1f}% | {r['diff']:.1e} |\n"
    notes = [f"- {r['model']} b{r['batch']} {PEERS[p]}: {n}" for r in rows for p, n in r["notes"].items()]
    if notes:
        hist += "\n" + "\n".join(notes) + "\n"
    if not args.history_only:
        a, b = text.index("<!-- current:"), text.index("<!-- /current -->")
        text = text[:a] + cur + text[b:]
    marker = "## History, newest first\n\n"
    k = text.index(marker) + len(marker)
    text = text[:k] + hist + "\n" + text[k:]
    tmp = path + ".new"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)
    print("wrote", "the history entry" if args.history_only else "the current table and the history entry", "in", path)


if __name__ == "__main__":
    main()
