"""Restarts of the agent while the log file rotates: at 20,000 CRI lines/s
the agent is stopped three times (at ~3, ~6 and ~9 s) for ~1 s, and every
downtime contains a rotation (the writer is asked for one with SIGUSR1
when its timer did not give one). After a restart the agent must find the
file that was rotated away while it was down from its checkpoint (device,
inode, fingerprint) in the file's folder, read it to its end, then go on
with the new file.

Layouts:
  kubelet  pods/<ns>_<pod>_<uid>/<container>/0.log, written and rotated as
           kubelet does (0.log -> 0.log.<YYYYMMDD-HHMMSS>..., a new 0.log,
           5 rotated files kept); the collector's pattern is
           containers/*.log, where kubelet's link
           <pod>_<ns>_<container>-<64 hex>.log points at 0.log. Every record
           must carry namespace, pod, container, container_id, pod_uid and
           restart_count, also those read from a rotated-away file.
  docker   containers/<id>/<id>-json.log, dockerd's max-file rotation
           (-json.log -> .1 -> .2 ..., 4 kept); every record must carry
           the container id.

Stops: kill -9 (at least once: nothing lost, duplicates bounded by what can
be in flight, rate x (checkpoint_interval + 1 s) per kill) or SIGTERM
(exactly once: nothing lost, nothing duplicated). Either way, no line
arrives for the first time after a later one (the file rotated away is
read to its end before its successors).

Long downtime: the agent is stopped (SIGTERM) for 30 s while kubelet
rotates every second and compresses every rotated file but the newest
(40 kept, so that everything still exists as .gz or plain): nothing lost,
nothing duplicated. The time from the restart to the first new record and
the agent's lines about rotated files are printed.

The five scenarios run concurrently where the CPUs allow: the long one in
the background from the start, the four restart ones in two waves of two."""

import atexit
import os
import signal
import threading
import time

import logcheck
import logwriter
import vigiltest as vt

RATE = 20000
DURATION = 12.0
CHECKPOINT_INTERVAL_S = 1.0
STOPS_AT = (3.0, 6.0, 9.0)
DOWNTIME_S = 1.0
KILL_DUP_BOUND = int(len(STOPS_AT) * RATE * (CHECKPOINT_INTERVAL_S + 1.0))

NS, POD, CONTAINER = "shop", "web-7d9f", "nginx"
POD_UID = "6a1e2f3d-0b7c-4c5b-8a9e-1f2d3c4b5a69"
CID = "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d"
DOCKER_ID = "4f1d2c3b" * 8

LONG_UP_S = 3.0
LONG_DOWN_S = 30.0
LONG_AFTER_S = 4.0
LONG_KEEP = 40


def config(layout):
    if layout == "kubelet":
        paths, fmt = ["{tmp}/containers/*.log"], "cri"
    else:
        paths, fmt = ["{tmp}/containers/%s/*-json.log" % DOCKER_ID], "docker"
    return logcheck.agent_config(
        paths, '{ type: file, path: "{tmp}/out.ndjson", queue_max_bytes: 8MiB }',
        format=fmt, read_from="head", checkpoint_interval="%gs" % CHECKPOINT_INTERVAL_S,
        interval="250ms")


def kubelet_files(tmp):
    """Makes kubelet's folders, the runtime's empty 0.log, then kubelet's
    link to it (in that order, as on a node); returns the 0.log path."""
    target = os.path.join(tmp, "pods", "%s_%s_%s" % (NS, POD, POD_UID), CONTAINER, "0.log")
    os.makedirs(os.path.dirname(target), exist_ok=True)
    open(target, "ab").close()
    links = os.path.join(tmp, "containers")
    os.makedirs(links, exist_ok=True)
    os.symlink(target, os.path.join(links, "%s_%s_%s-%s.log" % (POD, NS, CONTAINER, CID)))
    return target


def docker_file(tmp):
    d = os.path.join(tmp, "containers", DOCKER_ID)
    os.makedirs(d, exist_ok=True)
    return os.path.join(d, "%s-json.log" % DOCKER_ID)


def inode(path):
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


def rotated_names(live):
    d, base = os.path.split(live)
    return sorted(n for n in os.listdir(d) if n.startswith(base + "."))


class Scenario:
    """One agent, one writer, and a script of stops and starts, run in a
    thread; the case checks what it left."""

    def __init__(self, name, layout, stop, writer_opts, stops_at=STOPS_AT,
                 downtime=DOWNTIME_S, duration=DURATION):
        self.name, self.layout, self.stop_kind = name, layout, stop
        self.agent = vt.Agent(config(layout))
        self.live = kubelet_files(self.agent.tmp) if layout == "kubelet" else \
            docker_file(self.agent.tmp)
        self.manifest = os.path.join(self.agent.tmp, "manifest.json")
        self.writer_out = os.path.join(self.agent.tmp, "writer.out")
        self.writer_opts = writer_opts
        self.stops_at, self.downtime, self.duration = stops_at, downtime, duration
        self.writer = None
        self.thread = None
        self.error = None
        self.log = []           # lines printed by the case
        self.stop_rcs = []      # (exit code, seconds) of each SIGTERM
        self.forced = 0         # rotations asked for with SIGUSR1
        self.t_restart = None
        self.first_new_after = None
        self.restart_stderr_at = 0
        self.done_writing = None

    def say(self, text):
        self.log.append(text)

    def _stop_agent(self):
        if self.stop_kind == "kill":
            self.agent.kill()
        else:
            self.stop_rcs.append(self.agent.stop(timeout=15.0))

    def _rotation_during_downtime(self, t_down, down_s):
        """Waits until the live file was rotated (its inode changed), asking
        the writer for a rotation when its timer did not give one within
        half the downtime; then waits out the rest of the downtime."""
        ino0 = inode(self.live)
        rotated, forced = False, False
        deadline = t_down + down_s / 2
        while time.monotonic() < deadline:
            if inode(self.live) not in (ino0, None):
                rotated = True
                break
            time.sleep(0.01)
        if not rotated:
            self.writer.send_signal(signal.SIGUSR1)
            self.forced += 1
            forced = True
            end = time.monotonic() + max(down_s, 2.0)
            while time.monotonic() < end:
                if inode(self.live) not in (ino0, None):
                    rotated = True
                    break
                time.sleep(0.01)
        if not rotated:
            raise AssertionError("no rotation while the agent was down")
        t_rot = time.monotonic() - t_down
        time.sleep(max(0.0, t_down + down_s - time.monotonic(), 0.2 if forced else 0.0))
        return t_rot, forced

    def script(self):
        self.agent.start()
        t0 = time.monotonic()
        self.writer = logwriter.spawn(self.live, self.name, self.manifest, self.writer_out,
                                      format="cri" if self.layout == "kubelet" else "docker",
                                      rate=RATE, duration=self.duration, **self.writer_opts)
        for at in self.stops_at:
            time.sleep(max(0.0, t0 + at - time.monotonic()))
            t_stop = time.monotonic()
            self._stop_agent()
            t_down = time.monotonic()
            t_rot, forced = self._rotation_during_downtime(t_down, self.downtime)
            self.restart_stderr_at = len(self.agent.stderr())
            out = os.path.join(self.agent.tmp, "out.ndjson")
            size0 = os.path.getsize(out) if os.path.exists(out) else 0
            self.t_restart = time.monotonic()
            self.agent.start()
            ready = time.monotonic() - self.t_restart
            self.first_new_after = None
            end = time.monotonic() + 30
            while time.monotonic() < end:
                if os.path.exists(out) and os.path.getsize(out) > size0:
                    self.first_new_after = time.monotonic() - self.t_restart
                    break
                time.sleep(0.02)
            self.say("%s at %.1fs (took %.2fs), rotated %.2fs into the downtime%s, down "
                     "%.2fs, ready %.2fs after the restart, first new record after %s"
                     % ("kill -9" if self.stop_kind == "kill" else "SIGTERM",
                        t_stop - t0, t_down - t_stop, t_rot, " (forced)" if forced else "",
                        self.t_restart - t_down, ready,
                        "%.2fs" % self.first_new_after if self.first_new_after is not None
                        else "never (30 s)"))
        self.writer.wait(self.duration + 20)
        self.done_writing = time.monotonic()

    def run_thread(self):
        try:
            self.script()
        except Exception as e:  # reported by the case
            self.error = e

    def start(self):
        self.thread = threading.Thread(target=self.run_thread, daemon=True)
        self.thread.start()

    def stop(self):
        logwriter.stop_process(self.writer)
        self.agent.kill()

    def fields(self):
        if self.layout == "kubelet":
            return {"namespace": NS, "pod": POD, "container": CONTAINER,
                    "container_id": CID, "pod_uid": POD_UID, "restart_count": 0}
        return {"container_id": DOCKER_ID}

    def check(self, max_dup, rotations_min):
        """Joins the script, waits for delivery, prints the figures and
        asserts the bounds."""
        try:
            self._check(max_dup, rotations_min)
        finally:
            self.stop()

    def _check(self, max_dup, rotations_min):
        self.thread.join(self.duration + 120)
        for line in self.log:
            print("  " + line)
        if self.thread.is_alive():
            raise AssertionError("the scenario's script did not end")
        if self.error is not None:
            raise self.error
        with open(self.writer_out) as f:
            print("  " + f.read().strip())
        print("  rotated files left: %s" % " ".join(rotated_names(self.live)))
        entry = logcheck.load_manifests([self.manifest])[self.name]
        assert entry["records"] > RATE * 5, "the writer wrote too little: %r" % entry
        chk = logcheck.Checker(os.path.join(self.agent.tmp, "out.ndjson"), [self.manifest],
                               fields=self.fields())
        done = logcheck.wait_complete(chk, timeout=40, idle=6)
        lag = time.monotonic() - self.done_writing
        time.sleep(0.5)  # late duplicates would show up now
        chk.update()
        r = chk.result()
        print("  " + chk.summary(r, self.name).replace("\n", "\n  "))
        print("  delivered=%s %.2fs after the writer ended; duplicates=%d (bound %d), "
              "replays=%d, out of order=%d, rotations=%d (%d forced), stops=%d"
              % (done, lag, r["dup"], max_dup, r["replays"], r["ooo"], entry["rotations"],
                 self.forced, len(self.stops_at)))
        if r["field_mismatch"]:
            print("  records without the expected fields, e.g.: %r" % r["field_samples"])
        for ln in logcheck.agent_problems(self.agent.stderr()):
            print("  agent: " + ln)
        for rc, took in self.stop_rcs:
            assert rc == 0, "agent exited %s on SIGTERM after %.1fs" % (rc, took)
        assert entry["rotations"] >= rotations_min, entry["rotations"]
        assert r["lost"] == 0, "%d lines lost" % r["lost"]
        assert r["dup"] <= max_dup, "%d duplicates > %d" % (r["dup"], max_dup)
        assert r["ooo"] == 0, "%d lines out of order" % r["ooo"]
        assert r["bad_body"] == 0, "%d bodies differ from what was written" % r["bad_body"]
        assert r["unknown"] == 0, r["unknown_samples"]
        assert r["field_mismatch"] == 0, "%d records without %r" % (r["field_mismatch"],
                                                                     self.fields())
        rc, took = self.agent.stop()
        assert rc == 0, "agent exited %s on SIGTERM after %.1fs" % (rc, took)


KUBELET = {"rotate": "kubelet", "rotate_every": 1.0, "keep": 5}
DOCKER = {"rotate": "docker", "rotate_every": 1.0, "keep": 4}

S_KUBELET_KILL = Scenario("kkill", "kubelet", "kill", KUBELET)
S_KUBELET_TERM = Scenario("kterm", "kubelet", "term", KUBELET)
S_DOCKER_KILL = Scenario("dkill", "docker", "kill", DOCKER)
S_DOCKER_TERM = Scenario("dterm", "docker", "term", DOCKER)
S_LONG = Scenario("klong", "kubelet", "term",
                  {"rotate": "kubelet", "rotate_every": 1.0, "keep": LONG_KEEP,
                   "gzip_rotated": True},
                  stops_at=(LONG_UP_S,), downtime=LONG_DOWN_S,
                  duration=LONG_UP_S + LONG_DOWN_S + LONG_AFTER_S)

WAVES = [[S_LONG, S_KUBELET_KILL, S_KUBELET_TERM], [S_DOCKER_KILL, S_DOCKER_TERM]]


@atexit.register
def _stop_everything():
    """Every writer and agent is stopped by PID, whatever happened."""
    for wave in WAVES:
        for s in wave:
            s.stop()


def run(scenario, max_dup, rotations_min):
    """Starts the scenario's wave the first time one of its scenarios is
    checked (the long one is the first of the first wave), then checks it."""
    for wave in WAVES:
        if scenario in wave and wave[-1].thread is None:
            for s in wave:
                if s.thread is None:
                    s.start()
    scenario.check(max_dup, rotations_min)


@vt.case
def kubelet_rotation_during_kill_9_restarts():
    run(S_KUBELET_KILL, KILL_DUP_BOUND, 8)


@vt.case
def kubelet_rotation_during_sigterm_restarts():
    run(S_KUBELET_TERM, 0, 8)


@vt.case
def docker_max_file_rotation_during_kill_9_restarts():
    run(S_DOCKER_KILL, KILL_DUP_BOUND, 8)


@vt.case
def docker_max_file_rotation_during_sigterm_restarts():
    run(S_DOCKER_TERM, 0, 8)


@vt.case
def down_30s_while_kubelet_rotates_and_gzips():
    s = S_LONG
    try:
        s.check(0, int(LONG_DOWN_S) - 2)
    finally:
        found = [ln for ln in s.agent.stderr()[s.restart_stderr_at:].splitlines()
                 if ("level=info" in ln or "level=warn" in ln) and
                 ("rotat" in ln or ".gz" in ln or "0.log." in ln)]
        print("  agent lines about rotated files after the restart (%d):" % len(found))
        for ln in found[:10]:
            print("    " + ln)
        for ln in found:
            if "files examined" in ln:  # the cost of the search at start
                print("  search at start: " + ln.split("msg=", 1)[-1])
        print("  first new record %s after the restart"
              % ("%.2fs" % s.first_new_after if s.first_new_after is not None else "never"))
    e = logcheck.load_manifests([s.manifest])[s.name]
    print("  rotated files compressed: %d, deleted: %d (keep %d)"
          % (e["gzipped"], e["rotated_deleted"], LONG_KEEP))
    assert e["gzipped"] >= LONG_DOWN_S - 5, "too few rotated files were compressed"
    assert e["rotated_deleted"] == 0, "rotated files were deleted: the test lost its premise"
    assert s.first_new_after is not None


vt.finish()
