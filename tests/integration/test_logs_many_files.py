"""Discovery at scale: 5,000 CRI files in one folder (1,000 there before the
agent starts, 4,000 created while it runs), a few numbered lines each, with
max_open_files 1024: every file is found and every line delivered once;
then 100 of them grow and their new lines arrive too (files closed as idle
must be reopened). Also: a file in a new folder under a wildcard folder
pattern (Docker's containers/*/*-json.log) is found by inotify, not only by
the rescan."""

import os
import time

import logcheck
import logwriter
import vigiltest as vt

PRE = 1000
POST = 4000
LINES = 3
APPEND_FILES = 100
APPEND_LINES = 2
MAX_OPEN = 1024

CONFIG = logcheck.agent_config(
    ["{tmp}/logs/*.log"], '{ type: file, path: "{tmp}/out.ndjson", queue_max_bytes: 8MiB }',
    format="cri", read_from="head", max_open_files=MAX_OPEN, rescan_interval="10s",
    checkpoint_interval="1s", interval="250ms")

WILDCARD_CONFIG = logcheck.agent_config(
    ["{tmp}/containers/*/*-json.log"], format="docker", rescan_interval="10s", interval="250ms")


def cri_lines(wid, first, last):
    ts = logwriter.rfc3339nano(time.time_ns())
    return "".join("%s stdout F %s\n" % (ts, logwriter.make_body(wid, s, 80))
                   for s in range(first, last + 1)).encode()


def append(path, data):
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def manifest(ids, last):
    return {wid: {"first_seq": 1, "last_seq": last, "line_len": 80} for wid in ids}


@vt.case
def five_thousand_files_discovered_and_delivered():
    agent = vt.Agent(CONFIG)
    logs = os.path.join(agent.tmp, "logs")
    os.makedirs(logs)
    ids = ["f%04d" % i for i in range(PRE + POST)]
    try:
        for wid in ids[:PRE]:
            append(os.path.join(logs, wid + ".log"), cri_lines(wid, 1, LINES))
        agent.start()
        t0 = time.monotonic()
        for wid in ids[PRE:]:
            append(os.path.join(logs, wid + ".log"), cri_lines(wid, 1, LINES))
        t_created = time.monotonic() - t0
        chk = logcheck.Checker(os.path.join(agent.tmp, "out.ndjson"), [manifest(ids, LINES)])
        max_fds = 0
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not chk.complete():
            chk.update()
            max_fds = max(max_fds, vt.open_fds(agent.proc.pid))
            time.sleep(0.2)
        t_all = time.monotonic() - t0
        r = chk.result()
        print("  " + chk.summary(r, "many-files").splitlines()[0])
        print("  %d files: %d created in %.2fs after start; all lines delivered: %s after "
              "%.2fs; max open fds %d (max_open_files %d)"
              % (len(ids), POST, t_created, chk.complete(), t_all, max_fds, MAX_OPEN))
        missing = [w for w, d in r["per_writer"].items() if d["lost"]]
        if missing:
            print("  files with lost lines: %d, first: %s" % (len(missing), missing[:10]))
        for ln in logcheck.agent_problems(agent.stderr()):
            print("  agent: " + ln)
        assert r["lost"] == 0, "%d lines lost in %d files" % (r["lost"], len(missing))
        assert r["dup"] == 0, "%d duplicated lines" % r["dup"]

        grown = ids[::len(ids) // APPEND_FILES][:APPEND_FILES]
        t1 = time.monotonic()
        for wid in grown:
            append(os.path.join(logs, wid + ".log"),
                   cri_lines(wid, LINES + 1, LINES + APPEND_LINES))
        chk.set_manifests([manifest(grown, LINES + APPEND_LINES)])
        done = logcheck.wait_complete(chk, timeout=30, idle=None, step=0.1)
        t_grow = time.monotonic() - t1
        r = chk.result()
        print("  " + chk.summary(r, "appended").splitlines()[0])
        print("  %d files appended to: lines delivered: %s after %.2fs; open fds now %d"
              % (len(grown), done, t_grow, vt.open_fds(agent.proc.pid)))
        for ln in logcheck.agent_problems(agent.stderr()):
            print("  agent: " + ln)
        assert r["lost"] == 0, "%d appended lines lost" % r["lost"]
        assert r["dup"] == 0, "%d duplicated lines" % r["dup"]
        assert max_fds <= MAX_OPEN + 64, "%d open fds > max_open_files" % max_fds
        rc, took = agent.stop()
        assert rc == 0, "agent exited %s on SIGTERM after %.1fs" % (rc, took)
    finally:
        agent.kill()


@vt.case
def new_folder_under_wildcard_pattern_found_by_inotify():
    agent = vt.Agent(WILDCARD_CONFIG)
    os.makedirs(os.path.join(agent.tmp, "containers", "a" * 64))
    out = os.path.join(agent.tmp, "out.ndjson")
    try:
        agent.start()
        times = {}
        for cid in ("a" * 64, "b" * 64):  # an existing folder, then a new one
            d = os.path.join(agent.tmp, "containers", cid)
            os.makedirs(d, exist_ok=True)
            body = "w=%s seq=1" % cid[:4]
            t0 = time.monotonic()
            append(os.path.join(d, cid + "-json.log"),
                   ('{"log":"%s\\n","stream":"stdout","time":"%s"}\n'
                    % (body, logwriter.rfc3339nano(time.time_ns()))).encode())

            def arrived():
                with open(out, "rb") as f:
                    return body.encode() in f.read()
            try:
                vt.wait_for(arrived, 12, 0.05, what=body)
                times[cid[:4]] = time.monotonic() - t0
            except AssertionError:
                times[cid[:4]] = None
        print("  found after: existing folder %s s, new folder %s s (rescan_interval 10s)"
              % tuple("%.2f" % t if t is not None else "never" for t in times.values()))
        assert all(t is not None and t < 3.0 for t in times.values()), \
            "a file under a wildcard folder waited for the rescan: %s" % times
    finally:
        agent.kill()


vt.finish()
