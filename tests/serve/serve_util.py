"""serve_util.py — what the serve tests share: a scratch folder, compiling a program, starting its server on a
free port (the server picks it: --port 0, read back from its "listening on" line, so no race between tests) and
stopping it, curl as the client of the bad-input tests.  Every wait has a deadline; a server left over at exit is
killed."""
import atexit
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TINY = os.path.join(ROOT, "tests", "errors", "tiny.nn")  # 10 classes, 8 features
PHOTOS = os.path.join(ROOT, "tests", "photos")
_servers = []


def fail(msg):
    print("FAIL: " + msg)
    print("0 passed, 1 failed")
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def scratch():
    d = tempfile.mkdtemp(prefix="netc-serve-")
    atexit.register(shutil.rmtree, d, True)
    return d


def compile_program(netc, out, model=TINY, res="16", batch=4, extra=()):
    args = [netc, "compile", model, "--res", res, "--batch", str(batch), "-o", out] + list(extra)
    if "--weights" not in extra:
        args += ["--init", "det"]
    r = subprocess.run(args, capture_output=True, text=True, timeout=600)
    check(r.returncode == 0, "compile failed: %s" % r.stderr)
    return out


class Server:
    """PROGRAM serve --port 0 ARGS...; .url, .log (stderr lines so far), .stop()."""

    def __init__(self, program, *args, env=None, timeout=30, preexec_fn=None):
        self.proc = subprocess.Popen([program, "serve", "--port", "0"] + list(args), stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=env, preexec_fn=preexec_fn)
        _servers.append(self)
        self.lines, self.url = [], None
        ready = threading.Event()

        def read():
            for line in self.proc.stderr:
                self.lines.append(line)
                m = re.search(r"listening on (https?://\S+)", line)
                if m:
                    self.url = m.group(1)
                    ready.set()
            ready.set()

        self.reader = threading.Thread(target=read, daemon=True)
        self.reader.start()
        ready.wait(timeout)
        check(self.url is not None, "the server did not start: %s" % "".join(self.lines))
        self.port = int(self.url.rsplit(":", 1)[1])

    def log(self):
        return "".join(self.lines)

    def alive(self):
        return self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            fail("the server did not stop within %d s of signal %d" % (timeout, sig))
        self.reader.join(5)
        return rc


@atexit.register
def _kill_leftovers():
    for s in _servers:
        if s.proc.poll() is None:
            s.proc.kill()


def curl(url, *args, timeout=60):
    """(status, body, headers) of one request by curl."""
    hdr = tempfile.NamedTemporaryFile(delete=False)
    hdr.close()
    try:
        r = subprocess.run(["curl", "-s", "-S", "-k", "-D", hdr.name, "-o", "-", "-w", "\n%{http_code}",
                            "--max-time", str(timeout)] + list(args) + [url], capture_output=True, timeout=timeout + 5)
        body, _, code = r.stdout.rpartition(b"\n")
        with open(hdr.name, "rb") as f:
            headers = f.read().decode("latin-1")
    finally:
        os.unlink(hdr.name)
    return int(code or 0), body, headers


def expect(url, status, message, *args):
    """A request answered `status` with {"error": ...} containing `message` (None: any body)."""
    import json
    code, body, headers = curl(url, *args)
    check(code == status, "%s %s: status %d, expected %d: %r" % (" ".join(args), url, code, status, body[:300]))
    if message is not None:
        try:
            err = json.loads(body)["error"]
        except Exception:
            fail("%s: the body is not {\"error\": ...}: %r" % (url, body[:300]))
        check(message in err, "%s: the error %r does not say %r" % (url, err, message))
    return headers


def passed(n):
    print("%d passed, 0 failed" % n)
    sys.exit(0)


def wait_for(cond, seconds, what):
    t = time.time() + seconds
    while time.time() < t:
        if cond():
            return
        time.sleep(0.05)
    fail("timed out waiting for " + what)
