"""Shared harness for integration tests: start the built agent on a config,
on free loopback ports, talk to it over HTTP and stop it by PID.

Every wait is bounded in time; every process started is stopped by PID.
Run under /usr/bin/python3 (stdlib only)."""

import contextlib
import gzip
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

SRC = os.environ.get("VIGIL_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("VIGIL_BIN") or os.path.join(SRC, "build", "vigil")

_failures = []
_passed = 0
_tmpdirs = []


def free_port():
    """A TCP port that is free on 127.0.0.1 right now."""
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(pred, timeout=10.0, step=0.05, what="condition"):
    """Polls pred() until it returns a truthy value; raises after timeout."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while time.monotonic() < deadline:
        try:
            v = pred()
            if v:
                return v
        except Exception as e:  # the peer may not be up yet
            last_exc = e
        time.sleep(step)
    raise AssertionError("timed out after %.1fs waiting for %s (last error: %r)"
                         % (timeout, what, last_exc))


def http_get(url, headers=None, method="GET", timeout=5.0):
    """Returns (status, headers dict lower-cased, body bytes); never raises on HTTP errors."""
    req = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


class Agent:
    """The agent under test, started on a YAML config text.

    `{port}` and `{tmp}` in the text are replaced with the HTTP port and a
    fresh temporary folder."""

    def __init__(self, config_text, port=None, extra_args=None, env=None):
        self.tmp = tempfile.mkdtemp(prefix="vigil-it-")
        _tmpdirs.append(self.tmp)
        self.port = port or free_port()
        self.config_path = os.path.join(self.tmp, "vigil.yaml")
        with open(self.config_path, "w") as f:
            f.write(config_text.replace("{port}", str(self.port)).replace("{tmp}", self.tmp))
        self.stderr_path = os.path.join(self.tmp, "agent.stderr")
        self.stdout_path = os.path.join(self.tmp, "agent.stdout")
        self.extra_args = extra_args or []
        self.env = dict(os.environ, **(env or {}))
        self.proc = None
        self.preexec = None  # run in the child before exec (limits, say)

    @property
    def base(self):
        return "http://127.0.0.1:%d" % self.port

    def start(self, wait_ready=True, timeout=10.0):
        self._out = open(self.stdout_path, "ab")
        self._err = open(self.stderr_path, "ab")
        self.proc = subprocess.Popen([BIN, "--config", self.config_path] + self.extra_args,
                                     stdout=self._out, stderr=self._err,
                                     stdin=subprocess.DEVNULL, env=self.env,
                                     preexec_fn=self.preexec)
        if wait_ready:
            wait_for(lambda: self._alive() and self.started(), timeout, what="agent /readyz")
        return self

    def started(self):
        """/readyz is 200, or 503 only because an output is down: the agent
        runs (a test may start it while its peer is down on purpose)."""
        status, _, body = http_get(self.base + "/readyz")
        return status == 200 or (status == 503 and b"an output is down" in body)

    def _alive(self):
        if self.proc.poll() is not None:
            raise AssertionError("agent exited with %s; stderr:\n%s"
                                 % (self.proc.returncode, self.stderr()))
        return True

    def get(self, path, headers=None, method="GET"):
        return http_get(self.base + path, headers=headers, method=method)

    def metrics(self):
        status, hdrs, body = self.get("/metrics")
        assert status == 200, status
        if hdrs.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        return body.decode()

    def metric_value(self, name, labels=None):
        """The value of the first sample named `name` whose labels include `labels`."""
        for line in self.metrics().splitlines():
            if line.startswith("#") or not line.startswith(name):
                continue
            rest = line[len(name):]
            if rest[:1] not in ("{", " "):
                continue
            if labels and not all('%s="%s"' % kv in rest for kv in labels.items()):
                continue
            return float(line.rsplit(" ", 1)[1])
        return None

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, sig=None, timeout=10.0):
        """Sends sig (SIGTERM by default) and waits; returns (exit code, seconds it took)."""
        if sig is None:
            sig = signal.SIGTERM
        if self.proc is None or self.proc.poll() is not None:
            return (self.proc.returncode if self.proc else None), 0.0
        t0 = time.monotonic()
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            raise AssertionError("agent did not exit within %.1fs of signal %d" % (timeout, sig))
        return rc, time.monotonic() - t0

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def stderr(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stdout(self):
        with open(self.stdout_path, "rb") as f:
            return f.read().decode(errors="replace")

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.kill()
        return False


def other_user_prefix(uid=65534):
    """The command prefix that runs a command as uid (setpriv, which execs:
    same PID), or None, with a skip line printed, when this process is not
    root or has no setpriv."""
    import shutil
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or not setpriv:
        print("skip: needs root and setpriv to act as another user")
        return None
    return [setpriv, "--reuid=%d" % uid, "--regid=%d" % uid, "--clear-groups"]


def terminate(proc, timeout=10.0):
    """Stops a process started by a test: SIGTERM, then SIGKILL after timeout."""
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def cpu_seconds(pid):
    """User plus system CPU seconds of the process so far."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_status(pid, field):
    """A size field of /proc/PID/status in bytes (VmHWM, VmRSS), or None."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return None


def open_fds(pid):
    """Descriptors the process holds open."""
    return len(os.listdir("/proc/%d/fd" % pid))


def run_vigil(args, timeout=20.0, input_text=None):
    """Runs the agent binary to completion; returns CompletedProcess."""
    return subprocess.run([BIN] + args, capture_output=True, text=True, timeout=timeout,
                          input=input_text)


def case(fn):
    """Registers and runs one test case; failures are collected, not fatal."""
    global _passed
    name = fn.__name__
    t0 = time.monotonic()
    try:
        fn()
    except Exception as e:  # report and go on with the next case
        import traceback
        traceback.print_exc()
        _failures.append(name)
        print("FAIL %s (%.2fs): %s" % (name, time.monotonic() - t0, e), flush=True)
    else:
        _passed += 1
        print("ok   %s (%.2fs)" % (name, time.monotonic() - t0), flush=True)
    return fn


def finish():
    """Prints the closing count line and exits non-zero on any failure.
    Temporary folders are removed when every case passed, kept otherwise."""
    if not _failures:
        import shutil
        for d in _tmpdirs:
            shutil.rmtree(d, ignore_errors=True)
    else:
        print("kept for inspection: %s" % " ".join(_tmpdirs))
    print("%d passed, %d failed" % (_passed, len(_failures)))
    sys.exit(1 if _failures else 0)
