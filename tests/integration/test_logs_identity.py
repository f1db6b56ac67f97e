"""How the container_logs collector tells files apart, and what it says
when it cannot deliver a file.

  identical heads   50 files in each of raw, CRI and Docker format (one
                    collector each) whose first lines and first 1 KiB are
                    the same bytes, then each file's own numbered lines;
                    half are there before the agent starts (and grow
                    after), half are created while it runs (the common
                    head first, their own lines ~0.3 s later). Every line
                    of every file must be delivered exactly once: a file is
                    not a copy of another because its head is.
  rotated away      the agent reads a file it cannot deliver (an
                    elasticsearch output on a loopback port nobody listens
                    on), is stopped with SIGTERM; the file is renamed away
                    and deleted, a new one created at its path; after the
                    restart: one warning naming the file and its unread
                    bytes, and vigil_log_lost_bytes_total{reason=
                    "rotated_away"} equal to those bytes.
  rewritten         files truncated to 0 and rewritten while the agent was
                    down (same size; larger): the new content is delivered
                    whole, the old not again.
  unreadable        (as root only) the agent runs as uid 65534 and one of
                    three files is mode 000: one warning naming it,
                    vigil_log_files_unreadable 1, the others delivered.
  cut first line    max_line_bytes 1KiB, format auto: a Docker file whose
                    first entry is 5 KiB (later lines still decoded as
                    Docker, the first marked truncated), and a file of one
                    5 KiB CRI line (marked truncated)."""

import collections
import json
import os
import re
import shutil
import signal
import time

import logcheck
import logwriter
import vigiltest as vt

N_FILES = 50
HEAD_LINES = 12
OWN_LINES = 200
FIXED_TS = "2026-01-01T00:00:00.000000000Z"


def append(path, data, flags=os.O_WRONLY | os.O_APPEND | os.O_CREAT):
    fd = os.open(path, flags, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def read_records(path):
    if not os.path.exists(path):
        return []
    with open(path, "rb") as f:
        return [json.loads(ln) for ln in f.read().splitlines() if ln.endswith(b"}")]


def warn_lines(agent, needle, since=0):
    return [ln for ln in agent.stderr()[since:].splitlines()
            if "level=warn" in ln and needle in ln]


# ---------------------------------------------------------------- identical heads

def head_bodies():
    """The common head: HEAD_LINES bodies of 100 bytes, over 1 KiB in all."""
    return ["common head line %02d " % i + logwriter._pattern_slice(i, 80)
            for i in range(HEAD_LINES)]


def encode(fmt, bodies, ts=None):
    out = []
    for b in bodies:
        t = ts or logwriter.rfc3339nano(time.time_ns())
        if fmt == "raw":
            out.append(b + "\n")
        elif fmt == "cri":
            out.append("%s stdout F %s\n" % (t, b))
        else:
            out.append('{"log":%s,"stream":"stdout","time":"%s"}\n' % (json.dumps(b + "\n"), t))
    return "".join(out).encode()


IDENT_CONFIG = """agent:
  node_name: test-node
  state_dir: {tmp}/state
  http: { listen: "127.0.0.1:{port}" }
collectors:
%s
outputs:
  - { type: file, path: "{tmp}/out.ndjson", queue_max_bytes: 8MiB }
""" % "\n".join(
    "  - { type: container_logs, name: logs_%s, paths: [\"{tmp}/%s/*.log\"], format: %s, "
    "read_from: head, rescan_interval: 2s, checkpoint_interval: 1s, interval: 250ms }"
    % (fmt, fmt, fmt) for fmt in ("raw", "cri", "docker"))


@vt.case
def identical_heads_are_different_files():
    agent = vt.Agent(IDENT_CONFIG)
    head = head_bodies()
    files = {}  # path -> (format, writer id)
    for fmt in ("raw", "cri", "docker"):
        os.makedirs(os.path.join(agent.tmp, fmt))
        for i in range(N_FILES):
            wid = "%s%02d" % (fmt[0], i)
            files[os.path.join(agent.tmp, fmt, "%s.log" % wid)] = (fmt, wid)
    head_bytes = {fmt: encode(fmt, head, FIXED_TS) for fmt in ("raw", "cri", "docker")}
    assert all(len(b) > 1024 for b in head_bytes.values())
    half = OWN_LINES // 2

    def own(fmt, wid, first, last):
        return encode(fmt, [logwriter.make_body(wid, s, 80) for s in range(first, last + 1)])

    before = [p for p in files if int(files[p][1][1:]) % 2 == 0]
    after = [p for p in files if int(files[p][1][1:]) % 2 == 1]
    try:
        for p in before:
            fmt, wid = files[p]
            append(p, head_bytes[fmt] + own(fmt, wid, 1, half))
        agent.start()
        for p in after:  # the common head alone first: for a while a byte-exact copy
            append(p, head_bytes[files[p][0]])
        time.sleep(0.3)
        for p in after:
            fmt, wid = files[p]
            append(p, own(fmt, wid, 1, half))
        time.sleep(0.3)
        for p in files:
            fmt, wid = files[p]
            append(p, own(fmt, wid, half + 1, OWN_LINES))
        manifest = {wid: {"first_seq": 1, "last_seq": OWN_LINES, "line_len": 80}
                    for _, wid in files.values()}
        out = os.path.join(agent.tmp, "out.ndjson")
        chk = logcheck.Checker(out, [manifest])
        done = logcheck.wait_complete(chk, timeout=30, idle=8)
        time.sleep(1.0)
        chk.update()
        r = chk.result()
        print("  " + chk.summary(r, "identity").splitlines()[0])
        heads = collections.Counter()
        for rec in read_records(out):
            if rec.get("body", "").startswith("common head line"):
                heads[rec.get("file")] += 1
        bad_heads = {os.path.relpath(p, agent.tmp): heads.get(p, 0) for p in files
                     if heads.get(p, 0) != HEAD_LINES}
        missing_files = sorted(os.path.relpath(p, agent.tmp) for p in files
                               if r["per_writer"][files[p][1]]["arrivals"] == 0)
        per_fmt = {fmt: sum(1 for p in files if files[p][0] == fmt and
                            r["per_writer"][files[p][1]]["lost"] == 0 and
                            r["per_writer"][files[p][1]]["dup"] == 0 and
                            heads.get(p, 0) == HEAD_LINES) for fmt in ("raw", "cri", "docker")}
        print("  %d files (%d before the start, %d created after), %d head + %d own lines "
              "each: delivered=%s; files complete and once, per format: %s; files with none "
              "of their own lines: %d %s; files whose head did not arrive exactly once: %d %s"
              % (len(files), len(before), len(after), HEAD_LINES, OWN_LINES, done, per_fmt,
                 len(missing_files), missing_files[:6], len(bad_heads),
                 dict(list(bad_heads.items())[:6])))
        for ln in logcheck.agent_problems(agent.stderr()):
            print("  agent: " + ln)
        assert r["lost"] == 0, "%d lines lost" % r["lost"]
        assert r["dup"] == 0, "%d duplicated lines" % r["dup"]
        # the only records that are no writer's own lines are the heads
        assert r["unknown"] == sum(heads.values()), r["unknown_samples"]
        assert r["bad_body"] == 0 and r["decode_errors"] == 0 and r["corrupt_lines"] == 0, \
            (r["bad_body"], r["decode_errors"], r["corrupt_samples"])
        assert not bad_heads, "%d files' heads not delivered exactly once" % len(bad_heads)
        assert r["arrivals"] == len(files) * OWN_LINES
        rc, took = agent.stop()
        assert rc == 0, "agent exited %s on SIGTERM after %.1fs" % (rc, took)
    finally:
        agent.kill()


# ---------------------------------------------------------------- rotated away

@vt.case
def file_rotated_away_and_deleted_while_down_is_reported():
    dead_port = vt.free_port()  # nothing listens there: nothing is ever acknowledged
    agent = vt.Agent(logcheck.with_agent_options(logcheck.agent_config(
        ["{tmp}/logs/*.log"],
        '{ type: elasticsearch, url: ["http://127.0.0.1:%d"], retry_backoff: 200ms, '
        'timeout: 2s }' % dead_port, format="raw", read_from="head",
        checkpoint_interval="250ms", interval="250ms"), {"shutdown_timeout": "1s"}))
    logs = os.path.join(agent.tmp, "logs")
    os.makedirs(logs)
    path = os.path.join(logs, "app.log")
    n = 2000
    append(path, "".join(logwriter.make_body("ra", s, 100) + "\n"
                         for s in range(1, n + 1)).encode())
    size = os.path.getsize(path)
    try:
        agent.start()
        vt.wait_for(lambda: (agent.metric_value("vigil_input_records_total",
                                                {"collector": "logs"}) or 0) >= n,
                    15, what="the agent read the file")
        time.sleep(0.6)  # a checkpoint was written meanwhile
        rc, took = agent.stop(timeout=15)
        print("  first run: read %d lines (%d bytes), none acknowledged; SIGTERM exit %s "
              "after %.2fs" % (n, size, rc, took))
        ckpt = os.path.join(agent.tmp, "state", "checkpoints", "logs")
        entries = []
        if os.path.exists(ckpt):
            entries = [ln for ln in open(ckpt).read().splitlines()[1:] if ln.endswith(path)]
        print("  checkpoint of app.log: %s" % (entries or "none"))
        acked = int(entries[0].split(" ")[4]) if entries else 0
        unread = size - acked
        os.rename(path, path + ".1")
        os.unlink(path + ".1")
        append(path, b"a new file at the same path\n")
        since = len(agent.stderr())
        agent.start()
        lost = None
        try:
            vt.wait_for(lambda: warn_lines(agent, path, since), 10,
                        what="a warning naming %s" % path)
            lost = vt.wait_for(lambda: agent.metric_value(
                "vigil_log_lost_bytes_total", {"collector": "logs", "reason": "rotated_away"}),
                5, what="vigil_log_lost_bytes_total{reason=rotated_away}")
        except AssertionError as e:
            print("  " + str(e))
        time.sleep(1.0)  # a repeated warning would show up now
        warns = warn_lines(agent, path, since)
        lost = agent.metric_value("vigil_log_lost_bytes_total",
                                  {"collector": "logs", "reason": "rotated_away"})
        print("  after the restart: %d warning(s) naming the file (expected 1, with %d unread "
              "bytes); vigil_log_lost_bytes_total{reason=rotated_away}=%s" % (len(warns),
                                                                                unread, lost))
        for ln in warns[:3]:
            print("    " + ln)
        assert unread > 0 and acked == 0, "records were acknowledged: the premise is gone"
        assert len(warns) == 1, "%d warnings name the file" % len(warns)
        assert re.search(r"(?<![0-9])%d(?![0-9])" % unread, warns[0]), \
            "the warning does not give the %d unread bytes" % unread
        assert lost == unread, "lost bytes %s != %d" % (lost, unread)
    finally:
        agent.kill()


# ---------------------------------------------------------------- rewritten

@vt.case
def truncated_and_rewritten_while_down():
    agent = vt.Agent(logcheck.agent_config(
        ["{tmp}/logs/*.log"], format="raw", read_from="head", checkpoint_interval="250ms",
        interval="250ms"))
    logs = os.path.join(agent.tmp, "logs")
    os.makedirs(logs)
    same, larger = os.path.join(logs, "same.log"), os.path.join(logs, "larger.log")

    def content(wid, count):
        return "".join(logwriter.make_body(wid, s, 80) + "\n"
                       for s in range(1, count + 1)).encode()

    old = {"os": 500, "ol": 500}
    new = {"ns": 500, "nl": 800}
    manifests = {w: {"first_seq": 1, "last_seq": c, "line_len": 80}
                 for w, c in list(old.items()) + list(new.items())}
    out = os.path.join(agent.tmp, "out.ndjson")
    try:
        append(same, content("os", old["os"]))
        append(larger, content("ol", old["ol"]))
        ino = (os.stat(same).st_ino, os.stat(larger).st_ino)
        sizes_before = (os.path.getsize(same), os.path.getsize(larger))
        agent.start()
        chk = logcheck.Checker(out, [{w: manifests[w] for w in old}])
        assert logcheck.wait_complete(chk, timeout=15, idle=8), chk.summary()
        rc, _ = agent.stop()
        assert rc == 0
        for p, wid in ((same, "ns"), (larger, "nl")):
            append(p, content(wid, new[wid]), os.O_WRONLY | os.O_TRUNC)
        sizes_after = (os.path.getsize(same), os.path.getsize(larger))
        assert (os.stat(same).st_ino, os.stat(larger).st_ino) == ino
        agent.start()
        chk = logcheck.Checker(out, [manifests])
        done = logcheck.wait_complete(chk, timeout=15, idle=6)
        time.sleep(0.5)
        chk.update()
        r = chk.result()
        print("  " + chk.summary(r, "rewritten").replace("\n", "\n  "))
        print("  same.log %d -> %d bytes, larger.log %d -> %d bytes, same inodes; new content "
              "delivered=%s" % (sizes_before[0], sizes_after[0], sizes_before[1],
                                sizes_after[1], done))
        for ln in logcheck.agent_problems(agent.stderr()):
            print("  agent: " + ln)
        assert sizes_before[0] == sizes_after[0] and sizes_after[1] > sizes_before[1]
        for wid in new:
            d = r["per_writer"][wid]
            assert d["lost"] == 0, "%s: %d new lines lost [%s]" % (wid, d["lost"],
                                                                    d["lost_ranges"])
        assert r["lost"] == 0 and r["dup"] == 0, "lost %d dup %d" % (r["lost"], r["dup"])
        assert r["bad_body"] == 0 and r["unknown"] == 0, r["unknown_samples"]
        rc, took = agent.stop()
        assert rc == 0, "agent exited %s on SIGTERM after %.1fs" % (rc, took)
    finally:
        agent.kill()


# ---------------------------------------------------------------- unreadable

@vt.case
def unreadable_file_one_warning_and_a_gauge():
    if os.geteuid() != 0:
        print("  SKIP: not root; running the agent as another user needs root")
        return
    nobody = 65534
    agent = logcheck.PrefixedAgent(logcheck.agent_config(
        ["{tmp}/logs/*.log"], '{ type: file, path: "{tmp}/out/out.ndjson" }', format="raw",
        read_from="head", rescan_interval="1s", checkpoint_interval="250ms",
        interval="250ms"), prefix=["setpriv", "--reuid=%d" % nobody, "--regid=%d" % nobody,
                                   "--clear-groups"])
    os.chmod(agent.tmp, 0o755)
    os.chmod(agent.config_path, 0o644)
    for sub in ("state", "out"):
        os.makedirs(os.path.join(agent.tmp, sub))
        os.chown(os.path.join(agent.tmp, sub), nobody, nobody)
    logs = os.path.join(agent.tmp, "logs")
    os.makedirs(logs, mode=0o755)
    os.chmod(logs, 0o755)
    ids = ["u0", "u1", "u2"]
    for wid in ids:
        append(os.path.join(logs, wid + ".log"), "".join(
            logwriter.make_body(wid, s, 80) + "\n" for s in range(1, 301)).encode())
    locked = os.path.join(logs, "u1.log")
    os.chmod(locked, 0)
    try:
        agent.start()
        print("  agent running as uid %d" % os.stat("/proc/%d" % agent.proc.pid).st_uid)
        chk = logcheck.Checker(os.path.join(agent.tmp, "out", "out.ndjson"),
                               [{w: {"first_seq": 1, "last_seq": 300, "line_len": 80}
                                 for w in ("u0", "u2")}])
        done = logcheck.wait_complete(chk, timeout=15, idle=8)
        time.sleep(3.0)  # three rescans: a repeated warning would show up now
        chk.update()
        r = chk.result()
        warns = warn_lines(agent, locked)
        gauge = agent.metric_value("vigil_log_files_unreadable", {"collector": "logs"})
        print("  " + chk.summary(r, "unreadable").replace("\n", "\n  "))
        print("  readable files delivered=%s; warnings naming %s: %d; "
              "vigil_log_files_unreadable=%s" % (done, os.path.basename(locked), len(warns),
                                                gauge))
        for ln in warns[:3]:
            print("    " + ln)
        for ln in logcheck.agent_problems(agent.stderr()):
            print("  agent: " + ln)
        assert agent.proc.poll() is None
        assert r["lost"] == 0 and r["dup"] == 0 and r["arrivals"] == 600, chk.summary(r)
        assert len(warns) == 1, "%d warnings name the unreadable file" % len(warns)
        assert gauge == 1, "vigil_log_files_unreadable=%s" % gauge
        rc, took = agent.stop()
        assert rc == 0, "agent exited %s on SIGTERM after %.1fs" % (rc, took)
    finally:
        agent.kill()


# ---------------------------------------------------------------- cut first line

@vt.case
def first_line_longer_than_max_line_bytes():
    agent = vt.Agent(logcheck.agent_config(
        ["{tmp}/logs/*.log"], read_from="head", max_line_bytes="1KiB",
        partial_timeout="300ms", interval="250ms"))
    logs = os.path.join(agent.tmp, "logs")
    os.makedirs(logs)
    docker = os.path.join(logs, "d-json.log")
    cri = os.path.join(logs, "c.log")
    long_body = logwriter.make_body("dlong", 1, 5 * 1024)
    later = [logwriter.make_body("dk", s, 80) for s in range(1, 21)]
    append(docker, encode("docker", [long_body] + later))
    append(cri, encode("cri", [logwriter.make_body("clong", 1, 5 * 1024)]))
    out = os.path.join(agent.tmp, "out.ndjson")
    try:
        agent.start()
        try:
            vt.wait_for(lambda: len([x for x in read_records(out)
                                     if x.get("file") == docker]) >= 21 and
                        [x for x in read_records(out) if x.get("file") == cri], 10,
                        what="the records of both files")
        except AssertionError as e:
            print("  " + str(e))
        time.sleep(0.5)
        recs = read_records(out)
        d = [x for x in recs if x.get("file") == docker]
        c = [x for x in recs if x.get("file") == cri]
        decoded = [x for x in d[1:] if x.get("stream") == "stdout" and
                   not x.get("body", "").startswith("{")]
        print("  docker file: %d records for 21 entries; first truncated=%s, body starts %r; "
              "later records decoded as Docker: %d of 20, bodies as written: %s"
              % (len(d), d[0].get("truncated") if d else None,
                 d[0].get("body", "")[:30] if d else None, len(decoded),
                 [x.get("body") for x in d[1:]] == later))
        print("  cri file: %d records for 1 line; truncated=%s, %d body bytes, body starts %r"
              % (len(c), c[0].get("truncated") if c else None,
                 len(c[0].get("body", "")) if c else 0, c[0].get("body", "")[:30] if c else None))
        assert len(d) == 21, "%d records from the Docker file" % len(d)
        assert d[0].get("truncated") is True, d[0]
        assert len(decoded) == 20 and [x["body"] for x in d[1:]] == later, \
            [x.get("body", "")[:60] for x in d[1:4]]
        assert len(c) == 1 and c[0].get("truncated") is True, c
        rc, took = agent.stop()
        assert rc == 0, "agent exited %s on SIGTERM after %.1fs" % (rc, took)
    finally:
        agent.kill()


vt.finish()
