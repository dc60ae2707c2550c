#!/usr/bin/env python3
"""run_cases.py — ONNX Runtime as netc's oracle: build each case's graph (cases.py), run it in ORT, in netc's
interpreter (netc run) and as a compiled program (netc compile; P run), and compare at <= 1e-4 relative.

    run_cases.py NETC WORKDIR GROUP [--no-compile]     GROUP: a key of cases.CASES, 'unsupported' or 'hostile'

Cases named in cases.DUMP_HAS must also show the given text in `netc dump --passes default` (a fold or a
fusion the mapping exists for).

Without the onnx and onnxruntime packages this fails (exit 1) saying how to install them: a test that cannot
run its oracle must not pass."""
import os
import subprocess
import sys
import time

try:
    import numpy as np
    import onnx
    import onnxruntime as ort
except ImportError as e:
    sys.exit(f"run_cases: {e}: the ONNX tests need onnx and onnxruntime in the project's .venv "
             f"(tools/setup.sh installs them; or '{sys.executable} -m pip install onnx onnxruntime')")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cases  # noqa: E402
import hostile  # noqa: E402

RTOL = 1e-4


def rel_err(ref, out):
    return float(np.max(np.abs(ref - out)) / max(float(np.max(np.abs(ref))), 1e-6))


def run(cmd):
    return subprocess.run(cmd, capture_output=True, text=True)


def check_case(netc, work, name, build, res, compile_too):
    rng = np.random.default_rng(abs(hash(name)) % (1 << 32))
    m = build(rng)
    path = os.path.join(work, name + ".onnx")
    onnx.save(m, path)
    _, hh, ww = res
    c = 3  # cases.model: the graph's input is always an RGB image
    batch = 2
    x = np.random.default_rng(7).standard_normal((batch, c, hh, ww)).astype(np.float32)
    xp = os.path.join(work, name + ".x.npy")
    np.save(xp, x)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    ref = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    resarg = f"{hh}x{ww}"
    yp = os.path.join(work, name + ".y.npy")
    r = run([netc, "run", path, "--res", resarg, "--batch", str(batch), "--input", xp, "--output", yp])
    if r.returncode:
        return f"netc run failed ({r.returncode}): {r.stderr.strip()}"
    out = np.load(yp).reshape(ref.shape)
    if ref.shape != np.load(yp).shape and ref.size != out.size:
        return f"shape {np.load(yp).shape} vs ORT's {ref.shape}"
    err = rel_err(ref, out)
    if not err <= RTOL:
        return f"interpreter differs from ORT: relative {err:.3g}"
    want = cases.DUMP_HAS.get(name, [])
    if want:
        r = run([netc, "dump", path, "--res", resarg, "--batch", str(batch), "--passes", "default"])
        missing = [w for w in want if w not in r.stdout]
        if r.returncode or missing:
            return f"netc dump (exit {r.returncode}) lacks {missing}:\n{r.stdout}{r.stderr}"
    if not compile_too:
        return None
    prog = os.path.join(work, name + ".prog")
    r = run([netc, "compile", path, "--res", resarg, "--batch", str(batch), "-o", prog])
    if r.returncode:
        return f"netc compile failed ({r.returncode}): {r.stderr.strip()}"
    pp = os.path.join(work, name + ".p.npy")
    r = run([prog, "run", "--input", xp, "--output", pp])
    if r.returncode:
        return f"compiled program failed ({r.returncode}): {r.stderr.strip()}"
    err = rel_err(ref, np.load(pp).reshape(ref.shape))
    if not err <= RTOL:
        return f"compiled program differs from ORT: relative {err:.3g}"
    return None


def check_unsupported(netc, work, name, m, node, what):
    path = os.path.join(work, name + ".onnx")
    onnx.save(m, path)
    r = run([netc, "info", path, "--res", "12"])
    if r.returncode != 2:
        return f"exit {r.returncode}, expected 2 (stderr: {r.stderr.strip()})"
    msg = r.stderr
    want = [os.path.basename(path)] + ([f"node '{node}'"] if node else []) + [what]
    missing = [w for w in want if w not in msg]
    return f"message lacks {missing}: {msg.strip()}" if missing else None


def check_hostile(netc, work, name, make, regex):
    import re
    folder = os.path.join(work, name, "model")
    os.makedirs(folder, exist_ok=True)
    path = make(folder)
    r = run([netc, "info", path, "--res", "12"])
    if r.returncode != 2:
        return f"exit {r.returncode}, expected 2 (stderr: {r.stderr.strip()[:400]})"
    if not re.search(regex, r.stderr):
        return f"message does not match {regex!r}: {r.stderr.strip()}"
    return None


def main():
    netc, work, group = sys.argv[1], sys.argv[2], sys.argv[3]
    compile_too = "--no-compile" not in sys.argv
    os.makedirs(work, exist_ok=True)
    bad = 0
    if group == "hostile":
        for name, make, regex in hostile.HOSTILE:
            err = check_hostile(netc, work, name, make, regex)
            print(f"{name}: {'ok' if not err else 'FAIL: ' + err}")
            bad += err is not None
    elif group == "unsupported":
        for name, m, node, what in cases.UNSUPPORTED():
            err = check_unsupported(netc, work, name, m, node, what)
            print(f"{name}: {'ok' if not err else 'FAIL: ' + err}")
            bad += err is not None
    else:
        for name, build, res in cases.CASES[group]:
            t = time.time()
            err = check_case(netc, work, name, build, res, compile_too)
            print(f"{name}: {'ok' if not err else 'FAIL: ' + err} ({time.time() - t:.2f} s)")
            bad += err is not None
    print(f"run_cases {group}: {bad} failed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
