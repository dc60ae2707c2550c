#!/usr/bin/env python3
"""serve_bench.py — `PROGRAM serve` under HTTP load on loopback, against the program's own `bench` and against
ONNX Runtime behind FastAPI + uvicorn.

For each model (tf_efficientnet_lite0 with its real weights when weights/ has them, else det; resnet50 det), at
224, batch 8, 2 threads:

  bench      the program's `bench` at batch 8 (images/s): what the server would reach with no HTTP at all
  netc       `PROGRAM serve --threads 2 --max-batch 8 --max-delay-ms 5`
  ORT        the same timm model exported to ONNX (dynamic batch), one onnxruntime session (2 intra-op threads),
             behind FastAPI + uvicorn (uvloop, httptools; one worker process): the same v2 binary infer route
             (Inference-Header-Content-Length, logits back as binary) and a /classify that decodes the JPEG with PIL
             and runs timm's eval transform in a thread pool; requests are batched the simple way a user would write
             it — an asyncio queue, one task that takes the first waiting request, gathers more for at most 5 ms or
             until 8 images, runs them as one batch in a one-thread executor and answers each
  load       h2load (Debian's nghttp2-client) over HTTP/1.1, one image per request: saturation with 32 connections,
             closed loop (images/s = 2xx answers per second); latency at 50% and 90% of each server's saturation and
             at the other's rates when under its own saturation, open-ish loop: 16 connections at --rps each
             (h2load's fixed rate per connection), p50/p99 from h2load's per-request log

Saturation is measured in --runs rounds of `bench`, netc and ORT in turn (--seconds each); figures are medians
over the rounds, ratios (netc infer / `bench`: the overhead; netc / ORT) the medians of the rounds' ratios.
Latency runs --runs times at each rate (at least 40 requests each; p99 of so few is close to the largest).
Prints markdown tables for RESULTS.md.

    python3 bench/serve_bench.py [--models tf_efficientnet_lite0,resnet50] [--runs 3] [--seconds 8]
                                 [--netc build/netc]
    python3 bench/serve_bench.py ort-server --onnx F --timm NAME --port P [--weights W]   (the peer, alone)

Needs h2load (apt-get install nghttp2-client) and, in the Python that runs it, torch, timm, onnx, onnxruntime,
fastapi, uvicorn[standard], pillow.
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
CACHE = os.path.join(ROOT, "bench", ".cache")
JPEG = os.path.join(ROOT, "tests", "photos", "coffee.jpg")


def timm_model(name, weights):
    import timm
    import detinit

    model = timm.create_model(name, pretrained=False).eval()
    if weights and os.path.exists(weights):
        import safetensors.torch

        model.load_state_dict(safetensors.torch.load_file(weights))
    else:
        detinit.init_state_dict(model)
    return model


def ort_server(argv):
    """The peer: ONNX Runtime behind FastAPI + uvicorn, with a simple dynamic batcher."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--onnx", required=True)
    ap.add_argument("--timm", required=True)
    ap.add_argument("--weights", default="")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-batch", type=int, default=8)
    ap.add_argument("--max-delay-ms", type=float, default=5)
    a = ap.parse_args(argv)

    import asyncio
    import contextlib
    import io
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np
    import onnxruntime as ort
    import timm
    import torch
    import uvicorn
    from fastapi import FastAPI, Request, Response
    from PIL import Image

    torch.set_num_threads(1)
    so = ort.SessionOptions()
    so.intra_op_num_threads = a.threads
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(a.onnx, so, providers=["CPUExecutionProvider"])
    cfg = timm.data.resolve_data_config({}, model=timm.create_model(a.timm, pretrained=False))
    transform = timm.data.create_transform(**cfg)
    compute = ThreadPoolExecutor(1)
    decode = ThreadPoolExecutor(a.threads)
    queue = None

    async def batcher():
        loop = asyncio.get_running_loop()
        while True:
            items = [await queue.get()]
            n, deadline = items[0][0].shape[0], loop.time() + a.max_delay_ms / 1000
            while n < a.max_batch and loop.time() < deadline:
                try:
                    items.append(await asyncio.wait_for(queue.get(), deadline - loop.time()))
                    n += items[-1][0].shape[0]
                except asyncio.TimeoutError:
                    break
            x = np.concatenate([i[0] for i in items])
            y = await loop.run_in_executor(compute, lambda: sess.run(None, {"x": x})[0])
            k = 0
            for xi, fut in items:
                fut.set_result(y[k : k + xi.shape[0]])
                k += xi.shape[0]

    @contextlib.asynccontextmanager
    async def lifespan(app):
        nonlocal queue
        queue = asyncio.Queue()
        task = asyncio.get_running_loop().create_task(batcher())
        yield
        task.cancel()

    app = FastAPI(lifespan=lifespan)

    async def run(x):
        fut = asyncio.get_running_loop().create_future()
        await queue.put((x, fut))
        return await fut

    @app.get("/v2/health/ready")
    async def ready():
        return {}

    @app.post("/v2/models/{name}/infer")
    async def infer(name: str, request: Request):
        body = await request.body()
        n = int(request.headers["inference-header-content-length"])
        head = json.loads(body[:n])
        x = np.frombuffer(body[n:], np.float32).reshape(head["inputs"][0]["shape"])
        y = np.ascontiguousarray(await run(x), np.float32)
        out = json.dumps(
            {
                "model_name": name,
                "outputs": [
                    {
                        "name": "logits",
                        "datatype": "FP32",
                        "shape": list(y.shape),
                        "parameters": {"binary_data_size": y.nbytes},
                    }
                ],
            }
        ).encode()
        return Response(
            out + y.tobytes(),
            media_type="application/octet-stream",
            headers={"Inference-Header-Content-Length": str(len(out))},
        )

    def preprocess(data):
        return transform(Image.open(io.BytesIO(data)).convert("RGB")).unsqueeze(0).numpy()

    @app.post("/v2/models/{name}/classify")
    async def classify(name: str, request: Request):
        body = await request.body()
        x = await asyncio.get_running_loop().run_in_executor(decode, preprocess, body)
        y = (await run(x))[0]
        p = np.exp(y - y.max())
        p /= p.sum()
        top = np.argsort(-p)[:5]
        return {"file": "image", "ok": True, "top": [{"class": int(c), "prob": float(p[c])} for c in top]}

    uvicorn.run(app, host="127.0.0.1", port=a.port, log_level="warning", access_log=False)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url, proc, seconds=120):
    t = time.time() + seconds
    while time.time() < t and proc.poll() is None:
        try:
            urllib.request.urlopen(url + "/v2/health/ready", timeout=2).read()
            return
        except OSError:
            time.sleep(0.2)
    sys.exit("the server at %s did not start" % url)


def h2load(url, body, headers, seconds, clients, rps=None, log=None):
    args = ["h2load", "--h1", "-c", str(clients), "-m", "1", "-D", str(seconds), "--warm-up-time", "1", "-d", body]
    for h in headers:
        args += ["-H", h]
    if rps:
        args += ["--rps", "%.3f" % (rps / clients)]
    if log:
        args += ["--log-file", log]
    out = subprocess.run(args + [url], capture_output=True, text=True, timeout=seconds + 120).stdout
    m = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", out)
    if not m:
        sys.exit("h2load: " + out[-2000:])
    ok, bad = int(m.group(1)), sum(int(m.group(i)) for i in (2, 3, 4))
    errored = int(re.search(r"(\d+) errored", out).group(1))
    return ok / seconds, bad + errored


def saturation(url, body, headers, a):
    runs = [h2load(url, body, headers, a.seconds, 32) for _ in range(a.runs)]
    return statistics.median(r[0] for r in runs), sum(r[1] for r in runs)


def latency(url, body, headers, rate, a):
    """(p50 ms, p99 ms, achieved req/s, failures), medians over the runs."""
    p50s, p99s, got, fails = [], [], [], 0
    for _ in range(a.runs):
        log = tempfile.mktemp(prefix="h2load-")
        clients = max(1, min(16, int(rate)))
        ok, bad = h2load(url, body, headers, min(30, max(a.seconds, int(40 / rate))), clients, rps=rate, log=log)
        with open(log) as f:
            lat = sorted(int(line.split("\t")[2]) / 1000 for line in f if line.strip())
        os.unlink(log)
        if not lat:
            return None
        p50s.append(lat[len(lat) // 2])
        p99s.append(lat[min(len(lat) - 1, int(len(lat) * 0.99))])
        got.append(ok)
        fails += bad
    return statistics.median(p50s), statistics.median(p99s), statistics.median(got), fails


def bench_images_per_s(prog, threads, runs):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    out = []
    for _ in range(runs):
        r = subprocess.run(
            [prog, "bench", "--iters", "10", "--warmup", "2", "--json"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        out.append(json.loads(r.stdout)["images_per_s"])
    return statistics.median(out)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "ort-server":
        return ort_server(sys.argv[2:])
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="tf_efficientnet_lite0,resnet50")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--netc", default=os.path.join(ROOT, "build", "netc"))
    ap.add_argument("--weights-dir", default=os.path.join(ROOT, "weights"))
    a = ap.parse_args()
    if not shutil.which("h2load"):
        sys.exit("h2load is missing: apt-get install nghttp2-client")

    import numpy as np
    import torch

    os.makedirs(CACHE, exist_ok=True)
    res, b = 224, a.batch
    print("CPU: %s; load %s; %d threads, batch %d" % (cpu(), open("/proc/loadavg").read().split()[:3], a.threads, b))
    rows = []
    for name in a.models.split(","):
        weights = os.path.join(a.weights_dir, name + ".safetensors")
        real = os.path.exists(weights)
        tag = "real" if real else "det"
        prog = os.path.join(CACHE, "serve_%s_%d_b%d_%s" % (name, res, b, tag))
        init = ["--weights", weights] if real else ["--init", "det"]
        subprocess.run(
            [
                a.netc,
                "compile",
                os.path.join(ROOT, "models", name + ".nn"),
                "--res",
                str(res),
                "--batch",
                str(b),
                "--labels",
                os.path.join(ROOT, "models", "imagenet_classes.txt"),
                "-o",
                prog,
            ]
            + init,
            check=True,
            capture_output=True,
        )
        onnx_path = os.path.join(CACHE, "serve_%s_%d_dyn_%s.onnx" % (name, res, tag))
        if not os.path.exists(onnx_path):
            model = timm_model(name, weights if real else None)
            torch.onnx.export(
                model,
                torch.zeros(1, 3, res, res),
                onnx_path,
                opset_version=17,
                input_names=["x"],
                output_names=["y"],
                dynamic_axes={"x": {0: "n"}, "y": {0: "n"}},
                dynamo=False,
            )
        x = np.random.default_rng(0).standard_normal((1, 3, res, res)).astype(np.float32)
        head = json.dumps(
            {
                "inputs": [
                    {
                        "name": "input",
                        "shape": [1, 3, res, res],
                        "datatype": "FP32",
                        "parameters": {"binary_data_size": x.nbytes},
                    }
                ],
                "outputs": [{"name": "logits", "parameters": {"binary_data": True}}],
            }
        ).encode()
        body = os.path.join(CACHE, "serve_body_%d.bin" % res)
        with open(body, "wb") as f:
            f.write(head + x.tobytes())
        infer_h = ["Inference-Header-Content-Length: %d" % len(head), "Content-Type: application/octet-stream"]
        jpeg_h = ["Content-Type: image/jpeg"]

        servers = {}
        port = free_port()
        servers["netc"] = (
            subprocess.Popen(
                [
                    prog,
                    "serve",
                    "--port",
                    str(port),
                    "--threads",
                    str(a.threads),
                    "--max-batch",
                    str(b),
                    "--max-delay-ms",
                    "5",
                    "--queue",
                    "256",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            ),
            "http://127.0.0.1:%d" % port,
        )
        port = free_port()
        servers["ORT"] = (
            subprocess.Popen(
                [
                    sys.executable,
                    os.path.abspath(__file__),
                    "ort-server",
                    "--onnx",
                    onnx_path,
                    "--timm",
                    name,
                    "--port",
                    str(port),
                    "--threads",
                    str(a.threads),
                    "--max-batch",
                    str(b),
                ],
                stdout=subprocess.DEVNULL,
            ),
            "http://127.0.0.1:%d" % port,
        )
        try:
            for proc, url in servers.values():
                wait_ready(url, proc)
            # rounds of bench, netc and ORT in turn: the machine's load drifts, so each ratio is taken within a
            # round and the median of the rounds' ratios reported
            runs, failed = {}, {}
            for who, (proc, url) in servers.items():
                h2load(url + "/v2/models/%s/infer" % name, body, infer_h, 2, 8)  # warm up
            for k in range(a.runs):
                runs.setdefault("bench", []).append(bench_images_per_s(prog, a.threads, 1))
                for who, (proc, url) in servers.items():
                    m = url + "/v2/models/%s" % name
                    for route, data, hdr in (("infer", body, infer_h), ("classify", JPEG, jpeg_h)):
                        ips, bad = h2load(m + "/" + route, data, hdr, a.seconds, 32)
                        runs.setdefault((who, route), []).append(ips)
                        failed[who, route] = failed.get((who, route), 0) + bad
                print(
                    "%s round %d: bench %.1f img/s; %s"
                    % (
                        name,
                        k + 1,
                        runs["bench"][-1],
                        ", ".join("%s %s %.1f" % (key + (v[-1],)) for key, v in runs.items() if key != "bench"),
                    ),
                    flush=True,
                )
            sat = {key: (statistics.median(v), failed.get(key, 0)) for key, v in runs.items() if key != "bench"}
            bench = statistics.median(runs["bench"])

            def ratio(x, y):
                return statistics.median(p / q if q else float("inf") for p, q in zip(runs[x], runs[y]))

            ratios = dict(
                overhead=ratio(("netc", "infer"), "bench"),
                infer=ratio(("netc", "infer"), ("ORT", "infer")),
                classify=ratio(("netc", "classify"), ("ORT", "classify")),
            )
            rates = sorted({round(f * sat[w, "infer"][0], 1) for w in servers for f in (0.5, 0.9)})
            lat = {}
            for who, (proc, url) in servers.items():
                for r in rates:
                    if r > 0.95 * sat[who, "infer"][0]:
                        continue
                    lat[who, r] = latency(url + "/v2/models/%s/infer" % name, body, infer_h, r, a)
                    if lat[who, r] is None:
                        print("%s %s at %.1f req/s: no request finished" % (name, who, r), flush=True)
                        continue
                    print(
                        "%s %s at %.1f req/s: p50 %.1f ms, p99 %.1f ms (achieved %.1f/s, %d failed)"
                        % ((name, who, r) + lat[who, r]),
                        flush=True,
                    )
        finally:
            for proc, _ in servers.values():
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
        rows.append(dict(name=name, tag=tag, bench=bench, sat=sat, rates=rates, lat=lat, ratios=ratios))

    print()
    print(
        "| model | weights | `bench` img/s | netc infer img/s | netc/bench | netc classify img/s | ORT infer img/s "
        "| ORT classify img/s | netc/ORT infer | netc/ORT classify |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        s = r["sat"]
        print(
            "| %s | %s | %.1f | %.1f | %.3f | %.1f | %.1f | %.1f | %.2f | %.2f |"
            % (
                r["name"],
                r["tag"],
                r["bench"],
                s["netc", "infer"][0],
                r["ratios"]["overhead"],
                s["netc", "classify"][0],
                s["ORT", "infer"][0],
                s["ORT", "classify"][0],
                r["ratios"]["infer"],
                r["ratios"]["classify"],
            )
        )
    print()
    print("| model | req/s (1 image each) | netc p50 / p99 ms | ORT p50 / p99 ms |")
    print("|---|---:|---:|---:|")
    for r in rows:
        for rate in r["rates"]:
            cell = []
            for who in ("netc", "ORT"):
                v = r["lat"].get((who, rate))
                cell.append("%.1f / %.1f" % v[:2] if v else "over saturation")
            print("| %s | %.1f | %s | %s |" % (r["name"], rate, cell[0], cell[1]))


def cpu():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "?"


if __name__ == "__main__":
    main()
