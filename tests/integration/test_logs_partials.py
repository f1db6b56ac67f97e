"""Docker json-file lines written in pieces ("log" without the final "\\n"
until the last piece, as dockerd writes lines over 16 KiB) must come out as
one record each, byte for byte, even when the agent is starved of CPU.

  starved  a 1,000,000-message Docker file, 5 % of the messages (any
           length) in 2 or 3 pieces, written in full before the agent
           starts, read from its start (format auto) with partial_timeout 50ms while the
           agent runs under `nice -n 19` beside a busy-loop process:
           records out == messages in, every body as written. The
           file does not grow, so "the file stopped growing for
           partial_timeout" is true all along; the rest of a message is
           still unread in the file, and a starved reader must not send
           its first piece alone.
  rotation dockerd's max-file rotation every second at 20,000 lines/s with
           one message in 500 of 40,000 bytes (three 16 KiB pieces): 0
           split records, 0 lost, 0 duplicated.

The rotation case runs first, then the starved one (its CPU hogs would
disturb the other)."""

import atexit
import os
import subprocess
import sys
import time

import logcheck
import logwriter
import vigiltest as vt

MESSAGES = 1000000
SPLIT_FRAC = 0.05
STARVED_DEADLINE_S = 150.0
HOG_SECONDS = STARVED_DEADLINE_S + 30  # bound of each hog's own loop
RATE = 20000
DURATION = 10.0
DOCKER_ID = "7c3e5a1b" * 8

_procs = []  # hogs and writers, stopped by PID at exit


@atexit.register
def _stop_everything():
    for p in _procs:
        logwriter.stop_process(p, timeout=2.0)


def start_hogs(n, seconds):
    """n busy-loop processes at normal priority, each bounded to `seconds`."""
    code = ("import time\nend = time.monotonic() + %f\nwhile time.monotonic() < end:\n"
            "    pass\n" % seconds)
    hogs = [subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.DEVNULL)
            for _ in range(n)]
    _procs.extend(hogs)
    return hogs


@vt.case
def docker_16k_pieces_through_rotation():
    agent = vt.Agent(logcheck.agent_config(
        ["{tmp}/containers/%s/*-json.log" % DOCKER_ID],
        '{ type: file, path: "{tmp}/out.ndjson", queue_max_bytes: 8MiB }',
        format="docker", read_from="head", checkpoint_interval="1s", interval="250ms"))
    folder = os.path.join(agent.tmp, "containers", DOCKER_ID)
    os.makedirs(folder)
    manifest = os.path.join(agent.tmp, "manifest.json")
    writer_out = os.path.join(agent.tmp, "writer.out")
    writer = None
    try:
        agent.start()
        writer = logwriter.spawn(os.path.join(folder, DOCKER_ID + "-json.log"), "dsp", manifest,
                                 writer_out, format="docker", rate=RATE, duration=DURATION,
                                 rotate="docker", rotate_every=1.0, keep=4, docker_split=True,
                                 long_every=500, long_len=40000)
        _procs.append(writer)
        writer.wait(DURATION + 15)
        t_written = time.monotonic()
        with open(writer_out) as f:
            print("  " + f.read().strip())
        entry = logcheck.load_manifests([manifest])["dsp"]
        chk = logcheck.Checker(os.path.join(agent.tmp, "out.ndjson"), [manifest])
        done = logcheck.wait_complete(chk, timeout=25, idle=6)
        lag = time.monotonic() - t_written
        time.sleep(0.5)
        chk.update()
        r = chk.result()
        split = r["unknown"] + r["bad_body"]
        print("  " + chk.summary(r, "docker-split").replace("\n", "\n  "))
        print("  delivered=%s %.2fs after the writer ended; messages in 16 KiB pieces: %d; "
              "split records out: %d (pieces alone: %d, first pieces as bodies: %d); "
              "rotations: %d" % (done, lag, entry["partials"], split, r["unknown"],
                                 r["bad_body"], entry["rotations"]))
        for ln in logcheck.agent_problems(agent.stderr()):
            print("  agent: " + ln)
        assert entry["partials"] >= 200 and entry["rotations"] >= 8, entry
        assert split == 0, "%d records were pieces of a message: %r" % (split,
                                                                         r["unknown_samples"])
        assert r["lost"] == 0, "%d lines lost" % r["lost"]
        assert r["dup"] == 0, "%d duplicated lines" % r["dup"]
        assert r["corrupt_lines"] == 0 and r["truncated"] == 0, r
        rc, took = agent.stop()
        assert rc == 0, "agent exited %s on SIGTERM after %.1fs" % (rc, took)
    finally:
        logwriter.stop_process(writer)
        agent.kill()


@vt.case
def million_docker_messages_with_pieces_read_by_a_starved_agent():
    agent = logcheck.PrefixedAgent(logcheck.agent_config(
        ["{tmp}/logs/*-json.log"],
        # a queue that never fills: reading stops at the end of each round's
        # budget, not because the output is behind
        '{ type: file, path: "{tmp}/out.ndjson", queue_max_bytes: 512MiB, '
        'queue_max_batches: 100000 }',
        read_from="head", partial_timeout="50ms", checkpoint_interval="1s",
        interval="250ms"), prefix=["nice", "-n", "19"])
    logs = os.path.join(agent.tmp, "logs")
    os.makedirs(logs)
    t0 = time.monotonic()
    entry = logwriter.write_docker_file(os.path.join(logs, "big-json.log"), "big", MESSAGES,
                                        line_len=100, split_frac=SPLIT_FRAC, seed=7)
    print("  wrote %d messages as %d lines (%d in pieces), %.1f MB, in %.1fs"
          % (entry["records"], entry["lines"], entry["partials"], entry["bytes"] / 1e6,
             time.monotonic() - t0))
    assert entry["partials"] > MESSAGES * SPLIT_FRAC * 0.9, entry
    ncpu = 1  # one hog: the reader is slower than partial_timeout all along, and the
    # suite stays short (one per core took 45 s on two cores)
    hogs = []
    try:
        hogs = start_hogs(ncpu, HOG_SECONDS)
        t_start = time.monotonic()
        agent.start(timeout=30)
        chk = logcheck.Checker(os.path.join(agent.tmp, "out.ndjson"),
                               [{"big": entry}])
        done = logcheck.wait_complete(chk, timeout=STARVED_DEADLINE_S, step=0.5, idle=20)
        took = time.monotonic() - t_start
        for h in hogs:
            logwriter.stop_process(h, timeout=2.0)
        time.sleep(1.0)  # a split record's last piece would come out now
        chk.update()
        r = chk.result()
        out_records = r["arrivals"] + r["unknown"] + r["corrupt_lines"]
        print("  " + chk.summary(r, "starved").replace("\n", "\n  "))
        print("  %d hog(s) at nice 0, agent at nice 19: delivered=%s in %.1fs (%.0f records/s); "
              "records out %d for %d messages in; split records: %d (pieces alone %d, bodies "
              "cut %d)" % (ncpu, done, took, r["arrivals"] / took if took else 0, out_records,
                           MESSAGES, r["unknown"] + r["bad_body"], r["unknown"],
                           r["bad_body"]))
        for ln in logcheck.agent_problems(agent.stderr()):
            print("  agent: " + ln)
        assert out_records == MESSAGES, "%d records out for %d messages" % (out_records,
                                                                            MESSAGES)
        assert r["lost"] == 0 and r["dup"] == 0, r["per_writer"]
        assert r["bad_body"] == 0 and r["unknown"] == 0, (r["bad_body"], r["unknown_samples"])
        assert r["truncated"] == 0 and r["decode_errors"] == 0 and r["corrupt_lines"] == 0, r
        rc, took = agent.stop(timeout=20)
        assert rc == 0, "agent exited %s on SIGTERM after %.1fs" % (rc, took)
    finally:
        for h in hogs:
            logwriter.stop_process(h, timeout=2.0)
        agent.kill()


vt.finish()
