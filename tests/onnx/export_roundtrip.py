#!/usr/bin/env python3
"""export_roundtrip.py — netc export against two readers: each model is elaborated at a small resolution with
the deterministic weights, run by netc's interpreter (the reference), exported to ONNX, then run by ONNX Runtime
and imported back by netc (netc run FILE.onnx); both must match the reference within 1e-4 relative.

    export_roundtrip.py NETC MODELS_DIR WORKDIR [--fold] [--dynamic-batch] [--reexport] [--names FIXTURES_DIR]
                        MODEL[:RES[:BATCH]] ...

MODEL is a name in MODELS_DIR or a path to a .nn file; RES defaults to 32, BATCH to 1.  With --dynamic-batch the
file is exported at batch 1 with a symbolic batch axis and run at BATCH; with --reexport the re-imported file is
exported again (ONNX -> netc -> ONNX) and run by ONNX Runtime too.

Also checked: onnx.checker with shape inference (full_check) accepts every file up to 150 MB (above, ORT's load
checks it, and runs it without its graph optimizations: the CPU-seconds of the big models), the opset is 17 (files
under 50 MB and those with names to check, to keep the big models out of Python), and with
--names the float initializers (all but the exporter's own constants, whose names hold a '/') are exactly
timm's state_dict keys and shapes in FIXTURES_DIR/MODEL.txt where that file exists (not with --fold: folding
renames the conv weights NAME#bn).  Without the onnx and onnxruntime packages this fails (exit 1) saying how
to install them: a test that cannot run its oracle must not pass."""
import os
import subprocess
import sys
import time

try:
    import numpy as np
    import onnx
    import onnxruntime as ort
except ImportError as e:
    sys.exit(f"export_roundtrip: {e}: the ONNX tests need onnx and onnxruntime in the project's .venv "
             f"(tools/setup.sh installs them; or '{sys.executable} -m pip install onnx onnxruntime')")

RTOL = 1e-4


def rel_err(ref, out):
    return float(np.max(np.abs(ref - out)) / max(float(np.max(np.abs(ref))), 1e-6))


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError(f"{' '.join(cmd)} exited {r.returncode}: {r.stderr.strip()}")
    return r


def check_names(model, path):
    want = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if parts:
                want[parts[0]] = tuple(int(d) for d in parts[1:])
    got = {t.name: tuple(t.dims) for t in model.graph.initializer if "/" not in t.name}
    if got != want:
        missing = sorted(set(want) - set(got))[:5]
        extra = sorted(set(got) - set(want))[:5]
        shapes = sorted(k for k in set(got) & set(want) if got[k] != want[k])[:5]
        return f"initializers differ from timm's names: missing {missing}, extra {extra}, shapes {shapes}"
    return None


BIG = 150e6  # bytes: the five largest models (resnest101e/200e/269e, regnety_120/320), 0.2-0.6 GB each


def ort_run(path, x):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    if os.path.getsize(path) > BIG:  # ORT's graph rewrites cost more than the run; the plain graph is the oracle
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    return sess, sess.run(None, {sess.get_inputs()[0].name: x})[0]


def check_model(netc, models, work, spec, fold, dynamic, reexport, fixtures):
    parts = spec.split(":")
    name, res, batch = parts[0], parts[1] if len(parts) > 1 else "32", parts[2] if len(parts) > 2 else "1"
    nn = name if name.endswith(".nn") else os.path.join(models, name + ".nn")
    name = os.path.basename(nn)[:-3]
    tag = name + ("_fold" if fold else "")
    onnx_path = os.path.join(work, tag + ".onnx")
    x_path, ref_path, imp_path = (os.path.join(work, f"{tag}.{k}.npy") for k in ("x", "ref", "imp"))
    common = ["--init", "det", "--res", res, "--batch", batch]
    flags = (["--fold"] if fold else []) + (["--dynamic-batch"] if dynamic else [])
    run([netc, "export", nn, "--init", "det", "--res", res, "--batch", "1" if dynamic else batch, "--onnx", onnx_path,
         *flags])
    run([netc, "run", nn, *common, "--save-input", x_path, "--output", ref_path, "--top", "0"])
    x, ref = np.load(x_path), np.load(ref_path)

    if os.path.getsize(onnx_path) <= BIG:  # by path (not copied into Python); ORT's load checks the big ones
        onnx.checker.check_model(onnx_path, full_check=True)
    names = fixtures and not fold and os.path.join(fixtures, name + ".txt")
    names = names if names and os.path.exists(names) else None
    if names or os.path.getsize(onnx_path) < 50e6:  # the big models are not copied into Python
        model = onnx.load(onnx_path)
        opsets = {o.domain: o.version for o in model.opset_import}
        if opsets != {"": 17}:
            return f"opset_import is {opsets}, not opset 17 of the default domain"
        problem = names and check_names(model, names)
        if problem:
            return problem
        del model

    sess, out = ort_run(onnx_path, x)
    if dynamic != isinstance(sess.get_inputs()[0].shape[0], str):
        return f"the input's batch axis is {sess.get_inputs()[0].shape[0]!r}"
    if out.shape != ref.shape:
        return f"ONNX Runtime's output is {out.shape}, netc's {ref.shape}"
    e_ort = rel_err(ref, out)
    if not e_ort <= RTOL:
        return f"ONNX Runtime differs from netc's interpreter: relative {e_ort:.3g}"

    run([netc, "run", onnx_path, "--res", res, "--batch", batch, "--input", x_path, "--output", imp_path,
         "--top", "0"])
    e_imp = rel_err(ref, np.load(imp_path).reshape(ref.shape))
    if not e_imp <= RTOL:
        return f"netc's import of the export differs from netc: relative {e_imp:.3g}"
    again = ""
    if reexport:
        path2 = os.path.join(work, tag + ".again.onnx")
        run([netc, "export", onnx_path, "--res", res, "--batch", "1" if dynamic else batch, "--onnx", path2, *flags])
        e_again = rel_err(ref, ort_run(path2, x)[1])
        if not e_again <= RTOL:
            return f"ONNX Runtime on the re-exported file differs from netc: relative {e_again:.3g}"
        again = f", re-exported {e_again:.2e}"
        os.remove(path2)
    print(f"  {tag} at {res}, batch {batch}: ORT {e_ort:.2e}, re-imported {e_imp:.2e}{again}", flush=True)
    for p in (onnx_path, x_path, ref_path, imp_path):  # kept only when the model fails (the big ones are 0.5 GB)
        os.remove(p)
    return None


def main():
    args = sys.argv[1:]
    fold, dynamic, reexport = ("--fold" in args), ("--dynamic-batch" in args), ("--reexport" in args)
    fixtures = None
    if "--names" in args:
        i = args.index("--names")
        fixtures = args[i + 1]
        del args[i:i + 2]
    args = [a for a in args if a not in ("--fold", "--dynamic-batch", "--reexport")]
    if len(args) < 4:
        sys.exit(__doc__)
    netc, models, work, specs = args[0], args[1], args[2], args[3:]
    os.makedirs(work, exist_ok=True)
    failed = 0
    for spec in specs:
        t = time.time()
        try:
            problem = check_model(netc, models, work, spec, fold, dynamic, reexport, fixtures)
        except (RuntimeError, onnx.checker.ValidationError, ort.capi.onnxruntime_pybind11_state.Fail) as e:
            problem = str(e)
        if problem:
            failed += 1
            print(f"FAIL {spec}{' --fold' if fold else ''}: {problem}", flush=True)
        else:
            print(f"  ({time.time() - t:.1f} s)", flush=True)
    print(f"{len(specs) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
