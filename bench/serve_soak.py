#!/usr/bin/env python3
"""serve_soak.py — one `PROGRAM serve` under steady mixed load for a fixed time; its memory at start and end.

Compiles tf_efficientnet_lite0 at 224 (real weights when weights/tf_efficientnet_lite0.safetensors exists, else det),
starts its server on a free loopback port and keeps CLIENTS client threads sending, in a shuffled cycle, good
requests (binary infer of 1 and 4 images, JSON infer of 1 image, classify of a JPEG, multipart classify of two
photographs with flip TTA, features) and bad ones (malformed JSON, a wrong shape, a data size mismatch, an unknown
model, an unknown route, a wrong method, a corrupt image, a bomb by --max-pixels, a body declared over --max-body,
a client leaving mid-body).  Every answer's status must be the expected one.  The server's VmRSS is sampled every
5 s; it reports RSS after the first minute's warm-up ("start"), at the end, and the largest, with the counts.

    python3 bench/serve_soak.py [--minutes 10] [--clients 4] [--threads 2] [--netc build/netc]

Bounded: it stops after --minutes (each request has a 60 s timeout), stops the server with SIGTERM and checks
that it exits 0.  Not a test (ten minutes); results go in bench/RESULTS.md.
"""

import argparse
import http.client
import json
import os
import random
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PHOTOS = os.path.join(ROOT, "tests", "photos")


def rss_kb(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(("VmRSS", "VmHWM")):
                out[line.split(":")[0]] = int(line.split()[1])
    return out


def start(prog, args):
    p = subprocess.Popen(
        [prog, "serve", "--port", "0"] + args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    port, lines = [None], [0]
    ready = threading.Event()

    def read():  # the access log: count it, keep nothing
        for line in p.stderr:
            lines[0] += 1
            m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
            if m:
                port[0] = int(m.group(1))
                ready.set()
        ready.set()

    threading.Thread(target=read, daemon=True).start()
    ready.wait(60)
    if port[0] is None:
        p.kill()
        sys.exit("the server did not start")
    return p, port[0], lines


def requests(model):
    """[(kind, method, path, body, headers, expected status)]"""
    import numpy as np

    rng = np.random.default_rng(0)
    x1 = rng.standard_normal((1, 3, 224, 224)).astype(np.float32)
    x4 = rng.standard_normal((4, 3, 224, 224)).astype(np.float32)
    m = "/v2/models/%s" % model

    def binary(x):
        head = json.dumps(
            {
                "inputs": [
                    {
                        "name": "input",
                        "shape": list(x.shape),
                        "datatype": "FP32",
                        "parameters": {"binary_data_size": x.nbytes},
                    }
                ],
                "outputs": [{"name": "logits", "parameters": {"binary_data": True}}],
            }
        ).encode()
        return head + x.tobytes(), {"Inference-Header-Content-Length": str(len(head))}

    def tensor_json(shape, data):
        return json.dumps({"inputs": [{"name": "input", "shape": shape, "datatype": "FP32", "data": data}]}).encode()

    jpeg = open(os.path.join(PHOTOS, "coffee.jpg"), "rb").read()
    png = open(os.path.join(PHOTOS, "chelsea.png"), "rb").read()
    boundary = "soakboundary"
    multipart = b"".join(
        b'--%s\r\nContent-Disposition: form-data; name="%s"; filename="%s"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n%s\r\n" % (boundary.encode(), n.encode(), n.encode(), d)
        for n, d in (("a.jpg", jpeg), ("b.png", png))
    )
    multipart += b"--%s--\r\n" % boundary.encode()

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))

    # a PNG declaring 30000 x 30000 pixels: over the default --max-pixels (1e8)
    bomb = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 30000, 30000, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\x00" * 100000))
        + chunk(b"IEND", b"")
    )
    b1, h1 = binary(x1)
    b4, h4 = binary(x4)
    good = [
        ("infer binary 1", "POST", m + "/infer", b1, h1, 200),
        ("infer binary 4", "POST", m + "/infer", b4, h4, 200),
        ("infer JSON 1", "POST", m + "/infer", tensor_json([1, 3, 224, 224], x1.ravel().tolist()), {}, 200),
        ("classify JPEG", "POST", m + "/classify?top=5", jpeg, {"Content-Type": "image/jpeg"}, 200),
        (
            "classify multipart TTA",
            "POST",
            m + "/classify?tta=flip",
            multipart,
            {"Content-Type": "multipart/form-data; boundary=" + boundary},
            200,
        ),
        ("features JPEG", "POST", m + "/features", jpeg, {}, 200),
    ]
    bad = [
        ("bad JSON", "POST", m + "/infer", b'{"inputs": [', {}, 400),
        ("bad shape", "POST", m + "/infer", tensor_json([1, 3, 16, 16], [0.5] * 768), {}, 400),
        ("bad size", "POST", m + "/infer", tensor_json([1, 3, 224, 224], [0.5] * 10), {}, 400),
        ("unknown model", "POST", "/v2/models/nope/infer", tensor_json([1, 3, 16, 16], [0.5] * 768), {}, 404),
        ("unknown route", "GET", "/v2/what", None, {}, 404),
        ("wrong method", "GET", m + "/infer", None, {}, 405),
        ("corrupt image", "POST", m + "/classify", jpeg[:3000], {}, 400),
        ("bomb image", "POST", m + "/classify", bomb, {}, 400),
    ]
    return good, bad


def over_max_body(port, path):
    """A body declared over --max-body: the answer comes before the body."""
    s = socket.create_connection(("127.0.0.1", port), 60)
    s.sendall(b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\n\r\n" % path.encode())
    data = s.recv(4096)
    s.close()
    return int(data.split()[1]) if data.startswith(b"HTTP/1.1") else 0


def leave_mid_body(port, path):
    s = socket.create_connection(("127.0.0.1", port), 60)
    s.sendall(b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: 600000\r\n\r\n" % path.encode() + b"0" * 20000)
    s.close()
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--netc", default=os.path.join(ROOT, "build", "netc"))
    ap.add_argument("--weights", default=os.path.join(ROOT, "weights", "tf_efficientnet_lite0.safetensors"))
    a = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="netc-soak-")
    prog = os.path.join(tmp, "lite0")
    init = ["--weights", a.weights] if os.path.exists(a.weights) else ["--init", "det"]
    subprocess.run(
        [
            a.netc,
            "compile",
            os.path.join(ROOT, "models", "tf_efficientnet_lite0.nn"),
            "--res",
            "224",
            "--batch",
            "8",
            "-o",
            prog,
            "--labels",
            os.path.join(ROOT, "models", "imagenet_classes.txt"),
        ]
        + init,
        check=True,
        capture_output=True,
    )
    server, port, log_lines = start(
        prog, ["--threads", str(a.threads), "--max-body", "16000000", "--queue", "64", "--max-delay-ms", "5"]
    )
    good, bad = requests("tf_efficientnet_lite0")
    mix = (
        good * 3
        + bad
        + [
            ("over --max-body", "RAW", "/v2/models/tf_efficientnet_lite0/infer", None, {}, 413),
            ("leave mid-body", "LEAVE", "/v2/models/tf_efficientnet_lite0/infer", None, {}, None),
        ]
    )

    end = time.time() + a.minutes * 60
    counts, wrong, lock = {}, [], threading.Lock()

    def client(seed):
        rnd = random.Random(seed)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while time.time() < end:
            order = mix[:]
            rnd.shuffle(order)
            for kind, method, path, body, headers, want in order:
                if time.time() >= end:
                    break
                try:
                    if method == "RAW":
                        status = over_max_body(port, path)
                    elif method == "LEAVE":
                        status = leave_mid_body(port, path)
                    else:
                        conn.request(method, path, body=body, headers=headers)
                        r = conn.getresponse()
                        r.read()
                        status = r.status
                        if r.getheader("Connection", "").lower() == "close":
                            conn.close()
                except (OSError, http.client.HTTPException) as e:
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                    status = "error: %s" % e
                with lock:
                    counts[kind] = counts.get(kind, 0) + 1
                    if status != want:
                        wrong.append((kind, status, want))

    samples = []
    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(a.clients)]
    t0 = time.time()
    [t.start() for t in threads]
    while time.time() < end and server.poll() is None:
        samples.append((time.time() - t0, rss_kb(server.pid)))
        time.sleep(min(5, max(0.1, end - time.time())))
    [t.join(90) for t in threads]
    samples.append((time.time() - t0, rss_kb(server.pid)))
    alive = server.poll() is None
    server.send_signal(signal.SIGTERM)
    rc = server.wait(60)

    start_rss = next((s for t, s in samples if t >= 60), samples[0][1])["VmRSS"]
    first = samples[0][1]["VmRSS"]
    end_rss = samples[-1][1]["VmRSS"]
    max_rss = max(s["VmRSS"] for _, s in samples)
    total = sum(counts.values())
    print(
        "soak: %.1f min, %d clients, %d requests (%.1f/s), %d access-log lines, %d wrong statuses, server alive "
        "to the end: %s, exit %d"
        % (a.minutes, a.clients, total, total / (time.time() - t0), log_lines[0], len(wrong), alive, rc)
    )
    print(
        "RSS (MB): first sample %.1f, after 1 min %.1f, end %.1f, max %.1f, VmHWM %.1f"
        % (first / 1024, start_rss / 1024, end_rss / 1024, max_rss / 1024, samples[-1][1]["VmHWM"] / 1024)
    )
    print(
        "RSS every minute (MB): "
        + " ".join("%.1f" % (s["VmRSS"] / 1024) for t, s in samples if int(t) % 60 < 5 or s is samples[-1][1])
    )
    print("requests: " + ", ".join("%s %d" % kv for kv in sorted(counts.items())))
    if wrong:
        print("wrong statuses (first 10): %r" % wrong[:10])
    subprocess.run(["rm", "-rf", tmp])
    sys.exit(0 if not wrong and alive and rc == 0 else 1)


if __name__ == "__main__":
    main()
