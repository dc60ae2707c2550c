#!/usr/bin/env python3
"""gemm_peers.py — what other libraries reach on the shapes bench/gemm_bench.c times.

resnet50's 1x1 convolutions at 224, batch 1, bias + ReLU, on 1 and 2 threads:

  numpy     W @ X            (cout x cin) . (cin x hw): OpenBLAS sgemm, NCHW orientation
  ort-gemm  X^T @ W^T        ONNX Runtime MatMul with W^T an initializer (MLAS prepacks it), NHWC orientation
  ort-conv  Conv + Relu      ONNX Runtime, all graph optimisations (fused conv, NCHWc where it applies)

Prints the median GFLOP/s of each (same 20 ms samples as gemm_bench).  Not a test.

    python3 bench/gemm_peers.py [--threads 1,2] [--reps 15]
"""

import argparse, os, statistics, subprocess, sys, time

SHAPES = [
    (64, 256, 56, "layer1 conv3"),
    (256, 64, 56, "layer1 conv1"),
    (512, 128, 28, "layer2 conv1"),
    (128, 512, 28, "layer2 conv3"),
    (1024, 256, 14, "layer3 conv1"),
    (256, 1024, 14, "layer3 conv3"),
    (2048, 512, 7, "layer4 conv1"),
    (512, 2048, 7, "layer4 conv3"),
]


def median_gflops(fn, flops, reps):
    t0, calls = time.perf_counter(), 0
    while time.perf_counter() - t0 < 0.02:
        fn()
        calls += 1
    g = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        g.append(flops * calls / (time.perf_counter() - t0) / 1e9)
    return statistics.median(g)


def worker(threads, reps):
    """Runs in a child process whose BLAS thread count was fixed before numpy loaded."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    import onnxruntime as ort

    rng = np.random.default_rng(0)
    for cin, cout, side, where in SHAPES:
        hw = side * side
        flops = 2.0 * cin * cout * hw
        w = rng.uniform(-0.5, 0.5, (cout, cin)).astype(np.float32)
        x = rng.uniform(-0.5, 0.5, (cin, hw)).astype(np.float32)
        b = rng.uniform(-0.5, 0.5, (cout, 1)).astype(np.float32)
        y = np.empty((cout, hw), np.float32)

        def np_run():
            np.matmul(w, x, out=y)
            np.add(y, b, out=y)
            np.maximum(y, 0, out=y)

        res = {"numpy": median_gflops(np_run, flops, reps)}

        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.add_session_config_entry("session.intra_op.allow_spinning", "1")

        g = helper.make_graph(
            [
                helper.make_node("MatMul", ["x", "wt"], ["m"]),
                helper.make_node("Add", ["m", "b"], ["a"]),
                helper.make_node("Relu", ["a"], ["y"]),
            ],
            "gemm",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [hw, cin])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [hw, cout])],
            [numpy_helper.from_array(np.ascontiguousarray(w.T), "wt"), numpy_helper.from_array(b[:, 0].copy(), "b")],
        )
        sess = ort.InferenceSession(
            helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString(),
            so,
            providers=["CPUExecutionProvider"],
        )
        xt = {"x": np.ascontiguousarray(x.T)}
        res["ort-gemm"] = median_gflops(lambda: sess.run(None, xt), flops, reps)

        g = helper.make_graph(
            [helper.make_node("Conv", ["x", "w", "b"], ["c"]), helper.make_node("Relu", ["c"], ["y"])],
            "conv",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, cin, side, side])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, cout, side, side])],
            [numpy_helper.from_array(w.reshape(cout, cin, 1, 1), "w"), numpy_helper.from_array(b[:, 0].copy(), "b")],
        )
        sess = ort.InferenceSession(
            helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString(),
            so,
            providers=["CPUExecutionProvider"],
        )
        xc = {"x": x.reshape(1, cin, side, side)}
        res["ort-conv"] = median_gflops(lambda: sess.run(None, xc), flops, reps)
        print(
            f"{where:13s} {cin:5d} {cout:5d} {hw:5d}  " + "  ".join(f"{k} {v:6.1f}" for k, v in res.items()), flush=True
        )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--worker", type=int, default=0)
    a = ap.parse_args()
    if a.worker:
        worker(a.worker, a.reps)
        return
    import numpy, onnxruntime

    print(f"numpy {numpy.__version__}, onnxruntime {onnxruntime.__version__}; GFLOP/s, median of {a.reps}")
    for t in [int(s) for s in a.threads.split(",")]:
        print(f"-- {t} thread{'s' if t > 1 else ''}", flush=True)
        env = dict(os.environ, OPENBLAS_NUM_THREADS=str(t), OMP_NUM_THREADS=str(t), MKL_NUM_THREADS=str(t))
        subprocess.run([sys.executable, __file__, "--worker", str(t), "--reps", str(a.reps)], env=env, check=True)


if __name__ == "__main__":
    main()
