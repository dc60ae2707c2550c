#!/usr/bin/env python3
"""serve_cases.py NETC CASE — the HTTP server of a compiled program (`PROGRAM serve`, runtime/serve/).

Cases (each starts its own server on a free loopback port and stops by itself):
  tritonclient   the real KServe v2 client from PyPI (tritonclient[http]): server and model metadata, readiness,
                 JSON and binary infer at two resolutions against `run --input X.npy --output Y.npy` (<= 1e-6)
  batching       16 concurrent clients: answers equal `run` row by row, and /metrics saw batches of several
  bad_input      malformed JSON, wrong shape/dtype, size mismatches, unknown model/route/version/output, 405, 413
                 (Content-Length and chunked), 415, corrupt and bomb images (--max-pixels), bad query
                 parameters: each the right status and message, and the server keeps serving
  auth           --token-file: 401 without or with a wrong token (WWW-Authenticate), 200 with it; probes open
  overload       20 concurrent clients against --queue 2: 200 or 503 with Retry-After, nothing else; still serving
  slow_clients   an idle connection is closed after --timeout, a trickled body after 4 timeouts, a client leaving
                 mid-body and one leaving while its job computes; meanwhile one HTTP thread keeps answering
  drain          SIGTERM while requests compute: they finish (200), new connections are refused, exit 0
  tls            --tls-cert/--tls-key: HTTPS answers, plain HTTP on that port does not
  ensemble       an ensemble of two programs: classify and features over HTTP print what the command line does
  classify_lite0 EfficientNet-Lite0's real weights: chelsea.png is a cat, and every photograph's answer (flip TTA,
                 raw body and multipart) is what `classify --json` prints; features as `features` writes them
"""
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_util import (PHOTOS, ROOT, TINY, Server, check, compile_program, curl, expect, fail, passed,  # noqa: E402
                        scratch, wait_for)

import numpy as np  # noqa: E402

netc, case = sys.argv[1], sys.argv[2]
tmp = scratch()


def run_program(prog, x):
    """The program's own answer: `run --input X.npy --output Y.npy`."""
    xp, yp = os.path.join(tmp, "x.npy"), os.path.join(tmp, "y.npy")
    np.save(xp, x)
    r = subprocess.run([prog, "run", "--input", xp, "--output", yp], capture_output=True, text=True, timeout=120)
    check(r.returncode == 0, "run failed: " + r.stderr)
    return np.load(yp)


def close(a, b, tol=1e-6):
    return a.shape == b.shape and float(np.max(np.abs(a - b))) <= tol * max(1.0, float(np.max(np.abs(b))))


def infer_json(url, model, x, outputs=None):
    req = {"inputs": [{"name": "input", "shape": list(x.shape), "datatype": "FP32", "data": x.ravel().tolist()}]}
    if outputs:
        req["outputs"] = [{"name": o} for o in outputs]
    return curl(url + "/v2/models/%s/infer" % model, "-X", "POST", "--data-binary", json.dumps(req))


def tiny_program(res="16", batch=4):
    return compile_program(netc, os.path.join(tmp, "tiny"), res=res, batch=batch)


def still_serving(srv, prog, n=1):
    check(srv.alive(), "the server died: " + srv.log()[-2000:])
    x = np.random.default_rng(7).standard_normal((n, 3, 16, 16)).astype(np.float32)
    code, body, _ = infer_json(srv.url, "tiny", x, ["logits"])
    check(code == 200, "a good request after the bad ones got %d: %r" % (code, body[:300]))
    y = np.array(json.loads(body)["outputs"][0]["data"], dtype=np.float32).reshape(n, -1)
    check(close(y, run_program(prog, x)), "a good request after the bad ones got wrong logits")


def case_tritonclient():
    try:
        import tritonclient.http as httpclient
        from tritonclient.utils import InferenceServerException
    except ImportError as e:
        fail("tritonclient[http] is not installed in %s (%s): tools/setup.sh installs it from PyPI; without a "
             "network, '%s -m pip install tritonclient[http]' where PyPI is reachable" % (sys.executable, e,
                                                                                           sys.executable))
    prog = tiny_program(res="16,24")
    srv = Server(prog, "--max-delay-ms", "1")
    c = httpclient.InferenceServerClient(url=srv.url.split("://")[1])
    n = 0
    check(c.is_server_live() and c.is_server_ready() and c.is_model_ready("tiny"), "not live/ready")
    check(c.is_model_ready("tiny", "1"), "version 1 not ready")
    meta = c.get_server_metadata()
    check(meta["name"] == "netc" and "binary_tensor_data" in meta["extensions"], "server metadata: %r" % meta)
    mm = c.get_model_metadata("tiny")
    check(mm["name"] == "tiny" and mm["versions"] == ["1"], "model metadata: %r" % mm)
    check([(i["name"], i["datatype"], i["shape"]) for i in mm["inputs"]] ==
          [("input_16x16", "FP32", [-1, 3, 16, 16]), ("input_24x24", "FP32", [-1, 3, 24, 24])], "inputs: %r" % mm)
    check([(o["name"], o["shape"]) for o in mm["outputs"]] == [("logits", [-1, 10]), ("features", [-1, 8])],
          "outputs: %r" % mm)
    n += 6
    rng = np.random.default_rng(1)
    for res in (16, 24):
        for batch in (1, 3):
            x = rng.standard_normal((batch, 3, res, res)).astype(np.float32)
            want = run_program(prog, x)
            for binary in (False, True):
                inp = httpclient.InferInput("input_%dx%d" % (res, res), list(x.shape), "FP32")
                inp.set_data_from_numpy(x, binary_data=binary)
                outs = [httpclient.InferRequestedOutput("logits", binary_data=binary),
                        httpclient.InferRequestedOutput("features", binary_data=binary)]
                r = c.infer("tiny", [inp], outputs=outs, request_id="r%d" % res)
                y = r.as_numpy("logits")
                check(y is not None and close(y, want), "%dx%d batch %d binary=%s: logits differ from run's"
                      % (res, res, batch, binary))
                f = r.as_numpy("features")
                check(f.shape == (batch, 8) and np.all(np.isfinite(f)), "features: %r" % (f.shape,))
                check(r.get_response()["id"] == "r%d" % res, "the id did not come back")
                n += 1
            # no outputs named: the client asks for every output in binary
            inp = httpclient.InferInput("input", list(x.shape), "FP32")
            inp.set_data_from_numpy(x)
            r = c.infer("tiny", [inp], model_version="1")
            check(close(r.as_numpy("logits"), want), "binary_data_output: logits differ")
            n += 1
    for model, version, status in (("nope", "", "404"), ("tiny", "2", "404")):
        try:
            c.get_model_metadata(model, version)
            fail("metadata of %s version %r did not fail" % (model, version))
        except InferenceServerException as e:
            check(e.status() == status, "%s/%s: status %s" % (model, version, e.status()))
        n += 1
    inp = httpclient.InferInput("input", [1, 3, 20, 20], "FP32")
    inp.set_data_from_numpy(np.zeros((1, 3, 20, 20), np.float32))
    try:
        c.infer("tiny", [inp])
        fail("a 20x20 input was accepted")
    except InferenceServerException as e:
        check(e.status() == "400" and "takes [N, 3, H, W] at 16x16, 24x24" in e.message(), "20x20: %s" % e)
    c.close()
    check(srv.stop() == 0, "the server did not exit 0")
    passed(n + 1)


def case_batching():
    prog = tiny_program()
    srv = Server(prog, "--max-delay-ms", "200", "--threads", "1")
    xs = [np.random.default_rng(i).standard_normal((1, 3, 16, 16)).astype(np.float32) for i in range(16)]
    got = [None] * 16

    def client(i):
        code, body, _ = infer_json(srv.url, "tiny", xs[i], ["logits"])
        got[i] = (code, body)

    ts = [threading.Thread(target=client, args=(i,)) for i in range(16)]
    [t.start() for t in ts]
    [t.join(60) for t in ts]
    want = np.concatenate([run_program(prog, np.concatenate(xs[k:k + 4])) for k in range(0, 16, 4)])
    for i in range(16):
        check(got[i] and got[i][0] == 200, "client %d: %r" % (i, got[i]))
        y = np.array(json.loads(got[i][1])["outputs"][0]["data"], np.float32).reshape(1, 10)
        check(close(y, want[i:i + 1]), "client %d: its logits are another image's or wrong" % i)
    code, body, headers = curl(srv.url + "/metrics")
    text = body.decode()
    check(code == 200 and "text/plain" in headers, "metrics: %d" % code)
    check('netc_requests_total{route="infer",status="200"} 16' in text, "metrics did not count 16 infers:\n" + text)
    ones = int(text.split('netc_batch_images_bucket{le="1"} ')[1].split()[0])
    runs = int(text.split("netc_batch_images_count ")[1].split()[0])
    check(runs < 16 and ones < runs + 1, "16 requests in %d runs: no batching" % runs)
    for name in ("netc_request_seconds_bucket", "netc_queue_depth", "netc_images_total 16", "netc_images_per_second",
                 "netc_errors_total"):
        check(name in text, "metrics lack " + name)
    log = [json.loads(line) for line in srv.log().splitlines() if line.startswith("{")]
    infers = [e for e in log if e["route"] == "infer"]
    check(len(infers) == 16 and all(e["status"] == 200 and e["images"] == 1 for e in infers), "access log: %r" % log)
    check(srv.stop() == 0, "exit status")
    passed(5)


def case_bad_input():
    prog = tiny_program()
    srv = Server(prog, "--max-body", "300000", "--max-pixels", "10000")
    u, m = srv.url, srv.url + "/v2/models/tiny"
    good = {"name": "input", "shape": [1, 3, 16, 16], "datatype": "FP32", "data": [0.5] * 768}

    def post(obj_or_text, *extra):
        text = obj_or_text if isinstance(obj_or_text, str) else json.dumps(obj_or_text)
        path = os.path.join(tmp, "body%d" % len(os.listdir(tmp)))
        with open(path, "w") as f:
            f.write(text)
        return ("-X", "POST", "--data-binary", "@" + path) + extra

    def inputs(**change):
        t = dict(good, **change)
        return {"inputs": [t]}

    coffee = ("--data-binary", "@" + os.path.join(PHOTOS, "coffee.jpg"))
    cases = [
        (m + "/infer", 400, "invalid JSON at byte", post('{"inputs": [')),
        (m + "/infer", 400, "must be a JSON object", post("[1, 2]")),
        (m + "/infer", 400, "\"inputs\" must be an array of one tensor", post({"inputs": []})),
        (m + "/infer", 400, "takes [N, 3, H, W] at 16x16", post(inputs(shape=[1, 3, 15, 16], data=[0] * 720))),
        (m + "/infer", 400, "datatype 'INT32' is not supported", post(inputs(datatype="INT32"))),
        (m + "/infer", 400, "data holds 10 values; its shape needs 768", post(inputs(data=[1] * 10))),
        (m + "/infer", 400, "more values than its shape's 768", post(inputs(data=[1] * 800))),
        (m + "/infer", 400, "where a number was expected", post(inputs(data=["x"] * 768))),
        (m + "/infer", 400, "shape[1] is not a dimension", post(inputs(shape=[1, -3, 16, 16]))),
        (m + "/infer", 400, "batch 5; this program takes 1 to 4", post(inputs(shape=[5, 3, 16, 16], data=[0] * 3840))),
        (m + "/infer", 400, "unknown output 'probs'", post(dict(inputs(), outputs=[{"name": "probs"}]))),
        (m + "/infer", 400, "binary_data_size is 3072 bytes but 10 bytes follow",
         ("-X", "POST", "-H", "Inference-Header-Content-Length: %d" % len(json.dumps(
             {"inputs": [dict(good, data=None, parameters={"binary_data_size": 3072})]}).replace('"data": null, ', "")),
          "--data-binary", json.dumps({"inputs": [dict(good, data=None, parameters={"binary_data_size": 3072})]})
          .replace('"data": null, ', "") + "0123456789")),
        (m + "/infer", 400, "Inference-Header-Content-Length is 99999",
         post(inputs(), "-H", "Inference-Header-Content-Length: 99999")),
        (m + "/infer", 415, "Content-Encoding 'gzip' is not supported", post(inputs(), "-H", "Content-Encoding: gzip")),
        (m + "/infer", 405, "this route takes POST", ()),
        (u + "/v2/models/nope/infer", 404, "unknown model 'nope'", post(inputs())),
        (m + "/versions/7/infer", 404, "no version '7'", post(inputs())),
        (u + "/v2/what", 404, "no route '/v2/what'", ()),
        (u + "/", 404, "no route", ()),
        (m + "/infer", 413, "takes at most 300000", post("x" * 400000)),
        (m + "/infer", 413, "over 300000 bytes", post("x" * 400000, "-H", "Transfer-Encoding: chunked")),
        (m + "/classify", 400, "empty body", ("-X", "POST", "--data-binary", "")),
        (m + "/classify", 400, "image: ", ("--data-binary", "@" + os.path.join(ROOT, "tests/photos/LICENSE.md"))),
        (m + "/classify?tta=sideways", 400, "tta='sideways'", coffee),
        (m + "/classify?res=99", 400, "res='99': not compiled into this program (it has 16x16)",
         coffee),
        (m + "/classify?top=0", 400, "top='0'", coffee),
        (m + "/features?member=2", 400, "member='2'", coffee),
    ]
    n = 0
    for url, status, msg, args in cases:
        h = expect(url, status, msg, *args)
        if status == 405:
            check("Allow: POST" in h, "405 without Allow: POST:\n" + h)
        n += 1
    with open(os.path.join(PHOTOS, "coffee.jpg"), "rb") as f:
        jpg = f.read()
    trunc = os.path.join(tmp, "truncated.jpg")
    with open(trunc, "wb") as f:
        f.write(jpg[:5000])
    expect(m + "/classify", 400, "image: ", "--data-binary", "@" + trunc)
    # a decompression bomb by --max-pixels: chelsea.png is 451 x 300, over the 10000 pixels allowed here
    small = os.path.join(tmp, "small.png")
    with open(os.path.join(PHOTOS, "chelsea.png"), "rb") as f:
        open(small, "wb").write(f.read())
    expect(m + "/classify", 400, "pixels", "--data-binary", "@" + small)
    # multipart: a good part and a corrupt one; the good one is answered, the bad one says why
    tiny_png = os.path.join(tmp, "ok.png")
    subprocess.run([sys.executable, "-c", "import zlib,struct,sys\n"
                    "def ch(t,d): return struct.pack('>I',len(d))+t+d+struct.pack('>I',zlib.crc32(t+d))\n"
                    "raw=b''.join(b'\\x00'+bytes([(x*7+y)%256 for x in range(60)]) for y in range(20))\n"
                    "open(sys.argv[1],'wb').write(b'\\x89PNG\\r\\n\\x1a\\n'+ch(b'IHDR',struct.pack('>IIBBBBB',20,20,8,"
                    "2,0,0,0))+ch(b'IDAT',zlib.compress(raw))+ch(b'IEND',b''))", tiny_png], check=True)
    code, body, _ = curl(m + "/classify?top=2", "-F", "a=@%s;filename=ok.png" % tiny_png, "-F",
                         "b=@%s;filename=bad.jpg" % trunc)
    lines = [json.loads(x) for x in body.decode().splitlines()]
    check(code == 200 and len(lines) == 2 and lines[0]["ok"] and len(lines[0]["top"]) == 2, "multipart: %r" % body)
    check(lines[1] == {"file": "bad.jpg", "ok": False, "error": lines[1]["error"]} and "bad.jpg" in lines[1]["error"],
          "multipart's bad part: %r" % lines[1])
    expect(m + "/classify", 400, "multipart body", "-H", "Content-Type: multipart/form-data; boundary=zz",
           "--data-binary", "--zz\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nabc")
    still_serving(srv, prog)
    check(srv.stop() == 0, "exit status")
    passed(n + 7)


def case_auth():
    prog = tiny_program()
    tok = os.path.join(tmp, "token")
    open(tok, "w").write("s3cret-token-0123456789\n")
    srv = Server(prog, "--token-file", tok)
    m = srv.url + "/v2/models/tiny"
    h = expect(m, 401, "needs 'Authorization: Bearer TOKEN'")
    check("WWW-Authenticate: Bearer" in h, "401 without WWW-Authenticate:\n" + h)
    expect(m, 401, "wrong bearer token", "-H", "Authorization: Bearer s3cret-token-012345678")
    expect(m, 401, "wrong bearer token", "-H", "Authorization: Bearer s3cret-token-01234567890")
    expect(m, 401, "wrong bearer token", "-H", "Authorization: Basic czNjcmV0")
    expect(srv.url + "/v2/models/tiny/infer", 401, "needs", "-X", "POST", "--data-binary", "{}")
    expect(srv.url + "/metrics", 401, "needs")
    code, body, _ = curl(m, "-H", "Authorization: Bearer s3cret-token-0123456789")
    check(code == 200 and json.loads(body)["name"] == "tiny", "the right token: %d %r" % (code, body))
    for probe in ("live", "ready"):
        check(curl(srv.url + "/v2/health/" + probe)[0] == 200, "probe %s needs no token" % probe)
    check(srv.stop() == 0, "exit status")
    open(tok, "w").write("short\n")
    r = subprocess.run([prog, "serve", "--port", "0", "--token-file", tok], capture_output=True, text=True, timeout=30)
    check(r.returncode == 2 and "at least 16 are needed" in r.stderr, "a short token: %d %s" % (r.returncode, r.stderr))
    passed(10)


def case_overload():
    prog = tiny_program()
    # a batch of 4 never fills from a queue of 2, so the first request holds its batch open for the full delay:
    # the 18 others find the queue full
    srv = Server(prog, "--queue", "2", "--max-delay-ms", "1500")
    x = np.zeros((1, 3, 16, 16), np.float32)
    body = json.dumps({"inputs": [{"name": "input", "shape": [1, 3, 16, 16], "datatype": "FP32",
                                   "data": x.ravel().tolist()}]}).encode()
    got = []

    def client():
        req = urllib.request.Request(srv.url + "/v2/models/tiny/infer", data=body, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                got.append((r.status, None, r.read()))
        except urllib.error.HTTPError as e:
            got.append((e.code, e.headers.get("Retry-After"), e.read()))

    ts = [threading.Thread(target=client) for _ in range(20)]
    [t.start() for t in ts]
    [t.join(60) for t in ts]
    check(len(got) == 20, "%d of 20 clients got an answer" % len(got))
    ok = [g for g in got if g[0] == 200]
    busy = [g for g in got if g[0] == 503]
    check(len(ok) + len(busy) == 20, "statuses other than 200 and 503: %r" % [g[0] for g in got])
    check(len(busy) >= 10 and len(ok) >= 2, "%d answered, %d refused" % (len(ok), len(busy)))
    check(all(g[1] == "1" and b"--queue" in g[2] for g in busy), "a 503 without Retry-After or message: %r" % busy[0:1])
    still_serving(srv, prog)
    check(srv.stop() == 0, "exit status")
    passed(5)


def raw(port, data, timeout=30):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(data)
    return s


def closed_by_server(s, seconds):
    """True when the server closes the connection within `seconds`."""
    s.settimeout(seconds)
    try:
        while True:
            chunk = s.recv(4096)
            if not chunk:
                return True
    except socket.timeout:
        return False
    except ConnectionResetError:
        return True


def case_slow_clients():
    prog = tiny_program()
    srv = Server(prog, "--timeout", "1", "--http-threads", "1", "--max-delay-ms", "300")
    head = b"POST /v2/models/tiny/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 4000\r\n\r\n"
    idle = raw(srv.port, head + b'{"inputs"')
    trickle = raw(srv.port, head)
    # while both hang, the one HTTP thread still answers others at once
    x = np.zeros((1, 3, 16, 16), np.float32)
    for _ in range(3):
        t0 = time.time()
        code, _, _ = infer_json(srv.url, "tiny", x, ["logits"])
        check(code == 200 and time.time() - t0 < 0.3 + 2, "other clients waited on the slow ones")
    still_serving(srv, prog)

    def drip():
        try:
            for _ in range(40):
                trickle.send(b" ")
                time.sleep(0.25)
        except OSError:
            pass

    d = threading.Thread(target=drip, daemon=True)
    d.start()
    check(closed_by_server(idle, 5), "an idle connection was not closed after --timeout 1")
    check(closed_by_server(trickle, 8), "a trickled body was not cut off after 4 timeouts")
    # a client leaving mid-body, and one leaving while its job waits for company
    raw(srv.port, head + b'{"inputs": [').close()
    x = np.zeros((1, 3, 16, 16), np.float32)
    body = json.dumps({"inputs": [{"name": "input", "shape": [1, 3, 16, 16], "datatype": "FP32",
                                   "data": x.ravel().tolist()}]}).encode()
    raw(srv.port, b"POST /v2/models/tiny/infer HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) +
        body).close()
    time.sleep(0.6)
    still_serving(srv, prog)
    wait_for(lambda: srv.log().count('"status": 499') >= 3, 5, "the abandoned requests in the access log")
    check(srv.stop() == 0, "exit status")
    passed(6)


def case_drain():
    prog = tiny_program()
    srv = Server(prog, "--max-delay-ms", "1500")
    x = np.random.default_rng(3).standard_normal((2, 3, 16, 16)).astype(np.float32)
    got = []

    def client(i):
        got.append(infer_json(srv.url, "tiny", x[i:i + 1], ["logits"]))

    ts = [threading.Thread(target=client, args=(i,)) for i in range(2)]
    [t.start() for t in ts]
    wait_for(lambda: srv.log().count("in flight") == 0 and len(srv.lines) > 1, 5, "start")
    time.sleep(0.4)  # both are queued, waiting for company
    srv.proc.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    try:
        socket.create_connection(("127.0.0.1", srv.port), timeout=2).close()
        refused = False
    except OSError:
        refused = True
    [t.join(30) for t in ts]
    rc = srv.proc.wait(30)
    check(rc == 0, "exit status %d after SIGTERM" % rc)
    check(len(got) == 2 and all(g[0] == 200 for g in got), "in-flight requests: %r" % [g[0] for g in got])
    want = run_program(prog, x)
    ys = sorted(json.loads(g[1])["outputs"][0]["data"] for g in got)
    check(all(close(np.array(a, np.float32), np.array(b)) for a, b in zip(ys, sorted(want.tolist()))),
          "drained answers are wrong")
    check(refused, "a new connection was accepted after SIGTERM")
    check("finishing 2 in flight" in srv.log() and "stopped" in srv.log(), "log: " + srv.log())
    passed(5)


def case_tls():
    prog = tiny_program()
    cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-days",
                        "1", "-keyout", key, "-out", cert], capture_output=True, timeout=60)
    check(r.returncode == 0, "openssl: %r" % r.stderr)
    srv = Server(prog, "--tls-cert", cert, "--tls-key", key)
    check(srv.url.startswith("https://"), srv.url)
    code, body, _ = curl(srv.url + "/v2/models/tiny", "--cacert", cert)
    check(code == 200 and json.loads(body)["name"] == "tiny", "HTTPS: %d" % code)
    code, _, _ = curl(srv.url.replace("https", "http") + "/v2/models/tiny", timeout=5)
    check(code != 200, "plain HTTP answered on the TLS port")
    check(srv.stop() == 0, "exit status")
    r = subprocess.run([prog, "serve", "--port", "0", "--tls-cert", cert], capture_output=True, text=True, timeout=30)
    check(r.returncode == 2 and "go together" in r.stderr, "--tls-cert alone: %s" % r.stderr)
    passed(4)


def classify_cli(prog, files, *args):
    r = subprocess.run([prog, "classify", "--json"] + list(args) + files, capture_output=True, text=True, timeout=300)
    check(r.returncode == 0, "classify: " + r.stderr)
    return [json.loads(x) for x in r.stdout.splitlines()]


def same_answers(http_lines, cli_lines):
    check(len(http_lines) == len(cli_lines), "%d answers, classify printed %d" % (len(http_lines), len(cli_lines)))
    for h, c in zip(http_lines, cli_lines):
        check(os.path.basename(c["file"]) == h["file"] or h["file"] == "image", "file %r vs %r" % (h, c))
        h, c = dict(h), dict(c)
        h.pop("file"), c.pop("file")
        check(h == c, "HTTP answered %r, classify printed %r" % (h, c))


def features_cli(prog, files, *args):
    out = os.path.join(tmp, "f.npy")
    r = subprocess.run([prog, "features", "-o", out] + list(args) + files, capture_output=True, text=True, timeout=300)
    check(r.returncode == 0, "features: " + r.stderr)
    return np.load(out)


def http_images(url, files, query):
    if len(files) == 1:
        code, body, _ = curl(url + query, "--data-binary", "@" + files[0], "-H", "Content-Type: image/jpeg")
    else:
        args = []
        for f in files:
            args += ["-F", "img=@%s;filename=%s" % (f, os.path.basename(f))]
        code, body, _ = curl(url + query, *args)
    check(code == 200, "%s%s: %d %r" % (url, query, code, body[:300]))
    return [json.loads(x) for x in body.decode().splitlines()]


def case_ensemble():
    prog = os.path.join(tmp, "ens")
    r = subprocess.run([netc, "ensemble", TINY + ":det@16,24", TINY + ":det@20", "--merge", "mean", "-o", prog,
                        "--batch", "2"], capture_output=True, text=True, timeout=600)
    check(r.returncode == 0, "ensemble: " + r.stderr)
    srv = Server(prog, "--max-delay-ms", "20")
    name = json.loads(curl(srv.url + "/v2")[1])  # server metadata
    check(name["name"] == "netc", "server metadata")
    model = subprocess.run([prog, "info"], capture_output=True, text=True).stdout.split(":")[0]
    files = [os.path.join(PHOTOS, f) for f in ("coffee.jpg", "chelsea.png", "rocket.jpg")]
    url = srv.url + "/v2/models/%s/classify" % model
    n = 0
    for query, args in (("", []), ("?tta=flip&top=3", ["--tta", "flip", "--top", "3"]),
                        ("?res=16,20&merge=mean", ["--res", "16,20", "--merge", "mean"])):
        same_answers(http_images(url, files, query), classify_cli(prog, files, *args))
        same_answers(http_images(url, files[:1], query), classify_cli(prog, files[:1], *args))
        n += 2
    feats = http_images(srv.url + "/v2/models/%s/features?tta=flip" % model, files, "")
    want = features_cli(prog, files, "--tta", "flip")
    check(close(np.array([f["features"] for f in feats], np.float32), want, 1e-6), "features differ")
    expect(url + "?res=20", 400, "has none of these", "--data-binary", "@" + files[0])
    check(srv.stop() == 0, "exit status")
    passed(n + 2)


def case_classify_lite0():
    weights = os.path.join(ROOT, "weights", "tf_efficientnet_lite0.safetensors")
    check(os.path.exists(weights), "%s is missing: run tools/get_lite0.sh" % weights)
    prog = compile_program(netc, os.path.join(tmp, "lite0"), model=os.path.join(ROOT, "models",
                           "tf_efficientnet_lite0.nn"), res="224", batch=4,
                           extra=("--weights", weights, "--labels", os.path.join(ROOT, "models",
                                                                                 "imagenet_classes.txt")))
    srv = Server(prog, "--max-delay-ms", "10")
    url = srv.url + "/v2/models/tf_efficientnet_lite0/classify"
    cat = http_images(url, [os.path.join(PHOTOS, "chelsea.png")], "?tta=flip&top=3")
    check(cat[0]["top"][0]["label"] in ("tiger cat", "Egyptian cat"), "chelsea.png: %r" % cat)
    files = sorted(os.path.join(PHOTOS, f) for f in os.listdir(PHOTOS) if f.endswith((".jpg", ".png")))
    same_answers(http_images(url, files, "?tta=flip&top=3"), classify_cli(prog, files, "--tta", "flip", "--top", "3"))
    for f in files:
        same_answers(http_images(url, [f], "?tta=flip&top=3"), classify_cli(prog, [f], "--tta", "flip", "--top", "3"))
    feats = http_images(srv.url + "/v2/models/tf_efficientnet_lite0/features", files, "")
    check(close(np.array([f["features"] for f in feats], np.float32), features_cli(prog, files), 1e-6),
          "features differ from the features command's")
    check(srv.stop() == 0, "exit status")
    passed(4)


cases = {k[5:]: v for k, v in globals().items() if k.startswith("case_")}
if case not in cases:
    fail("unknown case %r (%s)" % (case, ", ".join(cases)))
cases[case]()
