"""make deps' installer and the Makefile around it: as a user other than
root it installs nothing, prints the exact apt-get command and fails; with
everything installed it says nothing and succeeds; while another package
manager holds dpkg's lock it waits, saying so, and gives up after its
timeout; --no-start keeps the installed services from starting. `make run`
installs no test peer; `make test` and `make bench` do, with --no-start.

The lock cases point the script at a lock file of their own
(VIGIL_DPKG_LOCKS), locked with fcntl as apt and dpkg lock theirs, and at a
stub apt-get (VIGIL_APT_GET) that only logs how it was called."""

import os
import re
import subprocess
import sys
import time

import vigiltest as vt

SCRIPT = os.path.join(vt.SRC, "packaging", "install-deps.sh")
PEERS = ("prometheus", "prometheus-node-exporter", "wrk", "python3-kafka")
MISSING = "vigil-no-such-package"

# Logs each call; with a policy-rc.d in place, what it answers for a start.
STUB = """#!/bin/sh
echo "$(date +%s.%N) $*" >>"$STUB_LOG"
if [ -x "${VIGIL_POLICY_RC_D:-/nonexistent}" ]; then
    "$VIGIL_POLICY_RC_D" prometheus.service start
    echo "policy $?" >>"$STUB_LOG"
fi
"""

# Locks argv[1] as apt does (fcntl), says so by creating argv[2], holds it
# at most argv[3] seconds.
HOLDER = """import fcntl, sys, time
f = open(sys.argv[1], "w")
fcntl.lockf(f, fcntl.LOCK_EX)
open(sys.argv[2], "w").close()
time.sleep(float(sys.argv[3]))
"""


def install_line(target):
    """The install-deps.sh command that `make -n TARGET` prints, split."""
    p = subprocess.run(["make", "-n", "--no-print-directory", "-C", vt.SRC, target],
                       capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stderr
    return [ln.split() for ln in p.stdout.splitlines() if "install-deps.sh" in ln]


@vt.case
def make_run_installs_no_test_peer():
    for target in ("run", "build"):
        lines = install_line(target)
        assert len(lines) == 1 and "cmake" in lines[0], (target, lines)
        named = [w for w in PEERS if w in lines[0]]
        assert not named, "make %s installs test peers: %s" % (target, named)


@vt.case
def make_test_and_bench_install_the_peers_without_starting_them():
    for target in ("test", "bench"):
        lines = [ln for ln in install_line(target) if "prometheus" in ln]
        assert len(lines) == 1, (target, install_line(target))
        assert "--no-start" in lines[0] and all(w in lines[0] for w in PEERS), lines


@vt.case
def not_root_prints_the_command_and_stops():
    prefix = vt.other_user_prefix()
    if prefix is None:
        return
    p = subprocess.run(prefix + ["sh", SCRIPT, "coreutils", MISSING],
                       capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert p.returncode != 0
    assert "apt-get install -y --no-install-recommends %s" % MISSING in p.stderr, p.stderr
    assert "coreutils" not in p.stderr.split("run as root:")[1], p.stderr


@vt.case
def nothing_missing_is_a_quiet_success():
    p = subprocess.run(["sh", SCRIPT, "coreutils", "dpkg"], capture_output=True, text=True,
                       timeout=60, stdin=subprocess.DEVNULL)
    assert p.returncode == 0 and p.stdout == "" and p.stderr == "", p


class Installer:
    """install-deps.sh run as root on its own lock file and stub apt-get."""

    def __init__(self, timeout=20, policy=None):
        self.tmp = vt.Agent("").tmp
        self.lock = os.path.join(self.tmp, "lock-frontend")
        self.log = os.path.join(self.tmp, "apt.log")
        self.err = os.path.join(self.tmp, "install.stderr")
        stub = os.path.join(self.tmp, "apt-get")
        with open(stub, "w") as f:
            f.write(STUB)
        os.chmod(stub, 0o755)
        open(self.lock, "w").close()
        self.env = dict(os.environ, VIGIL_DPKG_LOCKS=self.lock, VIGIL_APT_GET=stub,
                        VIGIL_LOCK_TIMEOUT=str(timeout), STUB_LOG=self.log,
                        VIGIL_POLICY_RC_D=policy or os.path.join(self.tmp, "policy-rc.d"))
        self.holder = self.proc = None

    def hold(self, seconds=30):
        marker = os.path.join(self.tmp, "locked")
        self.holder = subprocess.Popen([sys.executable, "-c", HOLDER, self.lock, marker,
                                        str(seconds)], stdin=subprocess.DEVNULL)
        vt.wait_for(lambda: os.path.exists(marker), 10, what="the lock taken")

    def release(self):
        if self.holder is not None and self.holder.poll() is None:
            self.holder.terminate()
            self.holder.wait(5)
        return time.time()

    def start(self, *args):
        self._err = open(self.err, "w")
        self.proc = subprocess.Popen(["sh", SCRIPT] + list(args) + [MISSING], env=self.env,
                                     stdout=subprocess.DEVNULL, stderr=self._err,
                                     stdin=subprocess.DEVNULL)
        return self

    def wait(self, timeout=30):
        try:
            return self.proc.wait(timeout)
        finally:
            self._err.close()

    def stderr(self):
        with open(self.err) as f:
            return f.read()

    def calls(self):
        """[(time, args)] of the stub's calls."""
        if not os.path.exists(self.log):
            return []
        with open(self.log) as f:
            return [(float(ln.split(" ", 1)[0]), ln.split(" ", 1)[1].strip())
                    for ln in f if ln[0].isdigit()]

    def stop(self):
        self.release()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)


def root_only():
    if os.geteuid() != 0:
        print("skip: the installer installs (and waits for locks) as root only")
        return False
    return True


@vt.case
def waits_for_another_package_manager_then_installs():
    if not root_only():
        return
    inst = Installer(timeout=30)
    try:
        inst.hold()
        inst.start()
        vt.wait_for(lambda: "waiting for another package manager" in inst.stderr(), 10,
                    what="the waiting message")
        time.sleep(1.5)
        assert inst.calls() == [] and inst.proc.poll() is None, inst.calls()
        assert "process %d (python" % inst.holder.pid in inst.stderr(), inst.stderr()
        released = inst.release()
        assert inst.wait(30) == 0, inst.stderr()
        calls = inst.calls()
        assert calls and all(t >= released for t, _ in calls), (released, calls)
        assert re.match(r"install -y --no-install-recommends .*%s$" % MISSING, calls[-1][1]), \
            calls
        assert inst.stderr().count("waiting for another package manager") == 1, inst.stderr()
    finally:
        inst.stop()


@vt.case
def gives_up_after_its_timeout_without_installing():
    if not root_only():
        return
    inst = Installer(timeout=2)
    try:
        inst.hold()
        t0 = time.monotonic()
        inst.start()
        rc = inst.wait(20)
        took = time.monotonic() - t0
        assert rc != 0, inst.stderr()
        assert 1.5 <= took < 15, took
        assert "gave up after 2s" in inst.stderr(), inst.stderr()
        assert inst.calls() == [], inst.calls()
    finally:
        inst.stop()


@vt.case
def no_start_denies_service_starts_during_the_install_only():
    if not root_only():
        return
    inst = Installer()
    policy = inst.env["VIGIL_POLICY_RC_D"]
    try:
        assert inst.start("--no-start").wait(30) == 0, inst.stderr()
        with open(inst.log) as f:
            assert "policy 101" in f.read(), "no start was denied"
        assert not os.path.exists(policy), "policy-rc.d left behind"
    finally:
        inst.stop()
    # a policy-rc.d of the machine's own is left alone and decides
    inst = Installer(policy=os.path.join(vt.Agent("").tmp, "own-policy"))
    policy = inst.env["VIGIL_POLICY_RC_D"]
    with open(policy, "w") as f:
        f.write("#!/bin/sh\nexit 0\n")
    os.chmod(policy, 0o755)
    try:
        assert inst.start("--no-start").wait(30) == 0, inst.stderr()
        with open(inst.log) as f:
            assert "policy 0" in f.read()
        with open(policy) as f:
            assert f.read() == "#!/bin/sh\nexit 0\n"
    finally:
        inst.stop()


vt.finish()
