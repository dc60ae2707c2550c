#!/usr/bin/env python3
"""ov_layers.py — OpenVINO's own per-layer times for an ONNX model, to set beside netc's `bench --per-kernel`.

OpenVINO's CPU plugin counts each executed node's time when PERF_COUNT is on; this runs the model a few
times and prints the mean milliseconds of every node over a threshold, with its type and the kernel
OpenVINO chose (e.g. brgconv_avx512_amx_1x1_bf16), in execution order, then the totals by kernel.  The
ONNX file is netc's own export of the same model (`netc export M.nn --init det --res R --batch B --onnx
F`), so the layers line up with netc's kernels in order.  Not a test; say the CPU and the load when a
figure is recorded in bench/RESULTS.md.

    python3 bench/ov_layers.py MODEL.onnx [--threads 1] [--batch 8] [--res 224] [--precision bf16|f32]
                               [--iters 10] [--min-ms 0.05]
"""
import argparse
import collections
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("onnx")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--res", type=int, default=224)
    ap.add_argument("--precision", choices=("bf16", "f32"), default="bf16")
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--min-ms", type=float, default=0.05, help="leave out nodes faster than this")
    args = ap.parse_args()
    import numpy as np
    import openvino as ov

    core = ov.Core()
    cfg = {"INFERENCE_PRECISION_HINT": args.precision, "INFERENCE_NUM_THREADS": args.threads, "NUM_STREAMS": 1,
           "PERFORMANCE_HINT": "LATENCY", "PERF_COUNT": True}
    compiled = core.compile_model(core.read_model(args.onnx), "CPU", cfg)
    req = compiled.create_infer_request()
    x = np.random.default_rng(0).random((args.batch, 3, args.res, args.res), dtype=np.float32)
    for _ in range(3):
        req.infer({0: x})
    acc = collections.OrderedDict()
    t0 = time.perf_counter()
    for _ in range(args.iters):
        req.infer({0: x})
        for p in req.profiling_info:
            key = (p.node_name, p.node_type, p.exec_type)
            acc[key] = acc.get(key, 0.0) + p.real_time.total_seconds() * 1e3
    wall = (time.perf_counter() - t0) / args.iters * 1e3
    print(f"# {args.onnx}: OpenVINO {ov.__version__}, {args.precision}, {args.threads} threads, batch {args.batch}, "
          f"{args.iters} runs: {wall:.2f} ms a run (wall)")
    print(f"{'ms':>8}  {'type':20s} {'kernel':34s} node")
    by_kernel = collections.Counter()
    for (name, kind, kernel), ms in acc.items():
        ms /= args.iters
        by_kernel[kernel] += ms
        if ms >= args.min_ms:
            print(f"{ms:8.3f}  {kind:20s} {kernel:34s} {name}")
    print(f"# counted {sum(by_kernel.values()):.2f} ms a run; by kernel:")
    for kernel, ms in by_kernel.most_common():
        print(f"{ms:8.3f}  {kernel}")


if __name__ == "__main__":
    main()
