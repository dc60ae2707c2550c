#!/usr/bin/env python3
"""serve_nginx.py NETC — scaling out: Debian's nginx on loopback in front of two `PROGRAM serve` processes.

  spread   round robin over both: each server's /metrics counts a fair share of 160 requests (infer JSON, infer
           binary, classify with a JPEG), and every answer is what the server itself says directly
  failover 8 clients send 320 requests through nginx; one server is killed (SIGKILL) while its batcher holds
           requests (--max-delay-ms 40): every client request still gets a 200 with the right answer, nginx's access
           log shows requests it retried on the survivor, and the survivor gets everything after the kill

nginx runs as this user (as root: `user root`, so its one process can write the temporary prefix) with its own
prefix, configuration, logs and temporary folders in a scratch folder, `master_process off` (one process), on a
free port.  Retries: `proxy_next_upstream error timeout http_502 http_503 non_idempotent` — `non_idempotent`
because infer and classify are POSTs, which nginx otherwise never re-sends once they reached a server; they are
pure functions of their body, so re-sending one is safe.  The request body is buffered by nginx
(proxy_request_buffering on, the default), which is what lets it re-send the body.

Counters that are written after the client has its answer are waited for, not read at once: nginx writes a
request's access-log line only when it closes the client's connection, and since the client (urllib) says
`Connection: close`, nginx answers, shuts its side down and waits for the client's FIN (lingering close) before it
logs; a server counts a request in /metrics only in libmicrohttpd's completion callback, after the last byte went
out.  Read at once under load, the last line or count can still be missing (one CI run saw 319 of 320 lines).  So
each is polled until it reaches the number of requests sent (bounded), then checked exactly.

Every child (servers, nginx) gets PR_SET_PDEATHSIG, and is killed at exit: nothing outlives the test even if ctest
kills it.  Bounded: 320 + 160 requests, each with a 30 s timeout, and a 240 s deadline over all.  Without nginx
(tools/setup.sh installs Debian's) the test fails and says so."""

import ctypes
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_util import PHOTOS, Server, check, compile_program, fail, passed, scratch, wait_for  # noqa: E402

import numpy as np  # noqa: E402

netc = sys.argv[1]
tmp = scratch()
DEADLINE = time.time() + 240
_children = []


def _die_with_parent():
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _cleanup(*_):
    for p in _children:
        if p.poll() is None:
            p.kill()


def _on_signal(sig, _frame):
    _cleanup()
    print("FAIL: stopped by signal %d" % sig)
    os._exit(1)


for _sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(_sig, _on_signal)


def find_nginx():
    for p in (shutil.which("nginx"), "/usr/sbin/nginx"):
        if p and os.access(p, os.X_OK):
            return p
    fail(
        "nginx is not installed: the scale-out test needs Debian's nginx (tools/setup.sh installs it; or "
        "'apt-get install nginx')"
    )


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(prog):
    srv = Server(prog, "--max-delay-ms", "40", "--threads", "1", "--queue", "64", preexec_fn=_die_with_parent)
    _children.append(srv.proc)
    return srv


def nginx_conf(prefix, port, upstreams):
    user = "user root;\n" if os.getuid() == 0 else ""  # the one process keeps root's rights on the scratch folder
    # fail_timeout beyond the test's deadline: nginx must not try the killed server again, however slow a loaded
    # machine makes the failover phase (with 30 s it would, legitimately, after 30 s)
    servers = "".join("        server 127.0.0.1:%d max_fails=1 fail_timeout=600s;\n" % p for p in upstreams)
    return f"""{user}daemon off;
master_process off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log info;
events {{ worker_connections 256; }}
http {{
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    log_format up '$request_method $uri $status "$upstream_addr" "$upstream_status"';
    access_log {prefix}/access.log up;
    upstream netc {{
{servers}        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 16m;
        location / {{
            proxy_pass http://netc;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_connect_timeout 2s;
            proxy_read_timeout 30s;
            proxy_next_upstream error timeout http_502 http_503 non_idempotent;
            proxy_next_upstream_tries 3;
            proxy_next_upstream_timeout 20s;
        }}
    }}
}}
"""


def start_nginx(nginx, upstreams):
    prefix = os.path.join(tmp, "nginx")
    os.makedirs(prefix, exist_ok=True)
    for attempt in range(5):  # a free port can be taken between finding it and nginx binding it: try another
        port = free_port()
        conf = os.path.join(prefix, "nginx.conf")
        with open(conf, "w") as f:
            f.write(nginx_conf(prefix, port, upstreams))
        log = open(os.path.join(prefix, "stderr.log"), "w")
        p = subprocess.Popen(
            [nginx, "-p", prefix, "-e", os.path.join(prefix, "error.log"), "-c", conf],
            stdout=log,
            stderr=log,
            preexec_fn=_die_with_parent,
        )
        _children.append(p)
        t = time.time() + 10
        while time.time() < t and p.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", port), 0.5).close()
                return p, prefix, "http://127.0.0.1:%d" % port
            except OSError:
                time.sleep(0.05)
        p.kill()
        p.wait()
    with open(os.path.join(prefix, "error.log")) as f:
        fail("nginx did not start: " + f.read()[-2000:])


def post(url, body, headers=None, timeout=30):
    req = urllib.request.Request(url, data=body, method="POST", headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except OSError as e:
        return 0, str(e).encode()


def requests_of(model, n):
    """n requests (path, body, headers), mixed: JSON infer, binary infer, classify of a JPEG."""
    jpeg = open(os.path.join(PHOTOS, "coffee.jpg"), "rb").read()
    out = []
    for i in range(n):
        x = np.random.default_rng(i).standard_normal((1, 3, 16, 16)).astype(np.float32)
        kind = i % 3
        if kind == 0:
            body = json.dumps(
                {"inputs": [{"name": "input", "shape": [1, 3, 16, 16], "datatype": "FP32", "data": x.ravel().tolist()}]}
            ).encode()
            out.append(("/v2/models/tiny/infer", body, {"Content-Type": "application/json"}))
        elif kind == 1:
            head = json.dumps(
                {
                    "inputs": [
                        {
                            "name": "input",
                            "shape": [1, 3, 16, 16],
                            "datatype": "FP32",
                            "parameters": {"binary_data_size": x.nbytes},
                        }
                    ],
                    "outputs": [{"name": "logits", "parameters": {"binary_data": False}}],
                }
            ).encode()
            out.append(
                (
                    "/v2/models/tiny/infer",
                    head + x.tobytes(),
                    {"Inference-Header-Content-Length": str(len(head)), "Content-Type": "application/octet-stream"},
                )
            )
        else:
            out.append(("/v2/models/tiny/classify?top=3", jpeg, {"Content-Type": "image/jpeg"}))
    return out


def answer(body):
    """What a 200 says, comparable across servers: logits (rounded to 1e-6) or the classify lines."""
    d = json.loads(body.decode().splitlines()[0])
    if "outputs" in d:
        return [round(v, 6) for v in d["outputs"][0]["data"]]
    return d["top"]


def load(base, reqs, want, clients, on_progress=None):
    """reqs through `base` by `clients` threads; returns [(status, ok)] per request."""
    got = [None] * len(reqs)
    nxt = iter(range(len(reqs)))
    lock = threading.Lock()
    done = [0]

    def client():
        while time.time() < DEADLINE:
            with lock:
                i = next(nxt, None)
            if i is None:
                return
            path, body, headers = reqs[i]
            code, resp = post(base + path, body, headers)
            got[i] = (code, code == 200 and answer(resp) == want[i], resp[:200])
            with lock:
                done[0] += 1
                n = done[0]
            if on_progress:
                on_progress(n)

    ts = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    [t.start() for t in ts]
    [t.join(max(1.0, DEADLINE - time.time())) for t in ts]
    check(all(g is not None for g in got), "the load did not finish within the deadline")
    return got


def served(srv):
    """Requests a server's /metrics counts on infer and classify (all statuses)."""
    with urllib.request.urlopen(srv.url + "/metrics", timeout=10) as r:
        text = r.read().decode()
    return sum(
        int(m.group(1))
        for m in re.finditer(r'netc_requests_total\{route="(?:infer|classify)",status="[^"]+"\} ' r"(\d+)", text)
    )


def access_log(prefix):
    with open(os.path.join(prefix, "access.log")) as f:
        return [line for line in f.read().splitlines() if line.startswith("POST")]


LOG_LINE = re.compile(r'POST (\S+) (\d{3}) "([^"]*)" "([^"]*)"$')


def parse_log(lines):
    """(uri, status, [upstream addresses tried], [their statuses]) per line; None for a line that does not parse."""
    out = []
    for line in lines:
        m = LOG_LINE.match(line)
        out.append(m and (m.group(1), m.group(2), m.group(3).split(", "), m.group(4).split(", ")))
    return out


def settle(get, want, seconds=30):
    """get() polled until it reaches want (a count that is written after the client had its answer: see the top),
    for at most `seconds` (and the test's deadline); returns the last value, which the caller checks exactly."""
    end = min(time.time() + seconds, DEADLINE)
    v = get()
    while v < want and time.time() < end:
        time.sleep(0.05)
        v = get()
    return v


def main():
    nginx = find_nginx()
    prog = compile_program(netc, os.path.join(tmp, "tiny"), res="16", batch=4)
    a, b = start_server(prog), start_server(prog)
    ngx, prefix, base = start_nginx(nginx, [a.port, b.port])
    n = 0

    # the answers, straight from one server
    reqs = requests_of("tiny", 12)
    want = []
    for path, body, headers in reqs:
        code, resp = post(b.url + path, body, headers)
        check(code == 200, "direct %s: %d %r" % (path, code, resp[:300]))
        want.append(answer(resp))
    before_a, before_b = served(a), settle(lambda: served(b), len(reqs))
    check(before_a == 0 and before_b == len(reqs), "direct requests: servers counted %d and %d, %d were sent to B"
          % (before_a, before_b, len(reqs)))

    # spread: 160 requests, 4 clients
    idx = [i % len(reqs) for i in range(160)]
    got = load(base, [reqs[i] for i in idx], [want[i] for i in idx], 4)
    bad = [(i, g) for i, g in enumerate(got) if not g[1]]
    check(not bad, "%d of 160 requests through nginx failed or answered wrong, first: %r" % (len(bad), bad[:1]))
    settle(lambda: served(a) + served(b), before_a + before_b + 160)
    na, nb = served(a) - before_a, served(b) - before_b
    print("spread: server A %d, server B %d of 160" % (na, nb))
    check(na + nb == 160, "the servers counted %d + %d requests, 160 were sent" % (na, nb))
    check(min(na, nb) >= 48, "requests did not spread: %d and %d of 160" % (na, nb))
    settle(lambda: len(access_log(prefix)), 160)
    log = access_log(prefix)
    check(len(log) == 160, "nginx's access log: %d lines for the 160 requests of the spread" % len(log))
    not_ok = [line for line, e in zip(log, parse_log(log)) if not e or e[1] != "200" or e[3][-1] != "200"]
    check(not not_ok, "nginx's access log: %d of 160 spread lines not a 200 from a server, first: %r"
          % (len(not_ok), not_ok[:3]))
    n += 1

    # failover: SIGKILL server A once a quarter of 320 requests are answered, while its batcher holds some
    killed = threading.Event()
    lines_before = len(access_log(prefix))  # 160: every spread line is in (settled above)

    def progress(k):
        if k >= 80 and not killed.is_set():
            killed.set()
            a.proc.send_signal(signal.SIGKILL)

    idx = [(i * 7) % len(reqs) for i in range(320)]
    t0 = time.time()
    got = load(base, [reqs[i] for i in idx], [want[i] for i in idx], 8, progress)
    secs = time.time() - t0
    check(killed.is_set() and a.proc.wait(10) == -signal.SIGKILL, "server A was not killed")
    bad = [(i, g) for i, g in enumerate(got) if not g[1]]
    check(
        not bad,
        "%d of 320 requests failed or answered wrong after the kill, first: %r (statuses %r)"
        % (len(bad), bad[:1], sorted({g[0] for _, g in bad})),
    )
    settle(lambda: len(access_log(prefix)), lines_before + 320)
    log = access_log(prefix)[lines_before:]
    check(len(log) == 320, "nginx's access log: %d lines for the 320 requests of the failover" % len(log))
    entries = parse_log(log)
    unparsed = [line for line, e in zip(log, entries) if not e]
    check(not unparsed, "nginx's access log: lines not in the configured format: %r" % unparsed[:3])
    # what nginx sent each client (200), the server that gave it (the last one tried: B wherever more were tried),
    # and that it is the request the client sent: the same paths as many times
    not_ok = [line for line, e in zip(log, entries) if e[1] != "200" or e[3][-1] != "200" or len(e[2]) != len(e[3])]
    check(not not_ok, "nginx's access log: %d of 320 lines not a 200 from a server, first: %r"
          % (len(not_ok), not_ok[:3]))
    sent = sorted(reqs[i][0].split("?")[0] for i in idx)
    check(sorted(e[0] for e in entries) == sent, "nginx's access log: its paths are not the 320 sent")
    retried = [line for line, e in zip(log, entries) if len(e[2]) > 1]  # "$upstream_addr" lists every server tried
    check(retried, "no request was retried on the other server: the kill hit nothing in flight")
    b_addr = "127.0.0.1:%d" % b.port
    check(
        all(e[2][-1] == b_addr for e in entries if len(e[2]) > 1),
        "a retried request was not answered by the survivor: %r" % [line for line, e in zip(log, entries)
                                                                      if len(e[2]) > 1 and e[2][-1] != b_addr][:3],
    )
    tail = log[-100:]
    only_b = [line for line in tail if ("127.0.0.1:%d" % a.port) not in line]
    check(
        len(only_b) == len(tail),
        "after the kill nginx still sends requests to the dead server: %r"
        % [line for line in tail if line not in only_b][:3],
    )
    with open(os.path.join(prefix, "error.log")) as f:
        errors = f.read()
    in_flight = len(re.findall(r"upstream prematurely closed|reset by peer", errors))
    refused = len(re.findall(r"Connection refused", errors))
    print(
        "failover: 320 requests in %.1f s, all 200; %d retried on the survivor (%d cut off in flight, %d refused "
        "connections)" % (secs, len(retried), in_flight, refused)
    )
    n += 1

    check(b.alive(), "server B died: " + b.log()[-2000:])
    ngx.kill()
    ngx.wait(10)
    check(b.stop() == 0, "server B's exit status")
    passed(n)


try:
    main()
finally:
    _cleanup()
