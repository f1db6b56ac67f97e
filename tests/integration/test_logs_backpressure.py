"""Backpressure: the output is blocked downstream while 200 MB of log lines
are written; the agent stops reading (vigil_input_paused 1) and its memory
stays bounded by its queue (max RSS < queue_max_bytes + 32 MiB); once the
output moves again every line arrives, once.

The file output writes into a FIFO that a `cat FIFO >> out.ndjson` process
drains; SIGSTOP on cat blocks the output's writes (the pipe fills), SIGCONT
releases them. fsync is off: a FIFO cannot be fsynced."""

import os
import signal
import subprocess
import threading
import time

import logcheck
import logwriter
import vigiltest as vt

MIB = 1 << 20
QUEUE_MAX = 8 * MIB
RSS_LIMIT = QUEUE_MAX + 32 * MIB
TOTAL_BYTES = 200 * 1000 * 1000
LINE_LEN = 1000                       # body; a CRI line is ~1,045 bytes
RECORDS = TOTAL_BYTES // (LINE_LEN + 45)
RATE = 60000                          # records/s: ~60 MB/s, 200 MB in ~3.5 s

CONFIG = logcheck.agent_config(
    ["{tmp}/logs/*.log"],
    '{ type: file, path: "{tmp}/out.fifo", fsync: false, queue_max_bytes: %d }' % QUEUE_MAX,
    format="cri", read_from="head", checkpoint_interval="1s", interval="250ms")


class RssSampler(threading.Thread):
    """Reads VmRSS of a PID every 100 ms until stopped; keeps the maximum."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid = pid
        self.max_kib = 0
        self.samples = 0
        self.halt = threading.Event()

    def run(self):
        while not self.halt.wait(0.1):
            try:
                with open("/proc/%d/status" % self.pid) as f:
                    for line in f:
                        if line.startswith("VmRSS:"):
                            self.max_kib = max(self.max_kib, int(line.split()[1]))
                            self.samples += 1
                            break
            except OSError:  # the agent is gone; the test reports why
                return


def paused(agent):
    return agent.metric_value("vigil_input_paused", {"collector": "logs"})


@vt.case
def blocked_output_pauses_input_and_bounds_memory():
    agent = vt.Agent(CONFIG)
    logs = os.path.join(agent.tmp, "logs")
    os.makedirs(logs)
    fifo = os.path.join(agent.tmp, "out.fifo")
    out = os.path.join(agent.tmp, "out.ndjson")
    log_file = os.path.join(logs, "big.log")
    manifest = os.path.join(agent.tmp, "manifest.json")
    writer_out = os.path.join(agent.tmp, "writer.out")
    os.mkfifo(fifo)
    cat = writer = sampler = None
    try:
        with open(out, "ab") as sink:
            cat = subprocess.Popen(["cat", fifo], stdout=sink, stdin=subprocess.DEVNULL)
        agent.start()
        sampler = RssSampler(agent.proc.pid)
        sampler.start()
        time.sleep(0.5)
        idle_rss = sampler.max_kib
        cat.send_signal(signal.SIGSTOP)
        t0 = time.monotonic()
        writer = logwriter.spawn(log_file, "bp", manifest, writer_out, format="cri",
                                 rate=RATE, count=RECORDS, duration=60, line_len=LINE_LEN)
        vt.wait_for(lambda: paused(agent) == 1, 30, 0.1, what="vigil_input_paused 1")
        t_paused = time.monotonic() - t0
        writer.wait(70)
        t_written = time.monotonic() - t0
        time.sleep(1.0)  # still blocked: memory must stay flat
        assert paused(agent) == 1, "input resumed while the output is still blocked"
        max_blocked = sampler.max_kib
        with open(writer_out) as f:
            print("  " + f.read().strip())
        print("  paused after %.2fs; 200 MB written in %.2fs; RSS idle %.1f MiB, max while "
              "blocked %.1f MiB (limit %.1f MiB, %d samples)"
              % (t_paused, t_written, idle_rss / 1024.0, max_blocked / 1024.0,
                 RSS_LIMIT / float(MIB), sampler.samples))
        cat.send_signal(signal.SIGCONT)
        t_cont = time.monotonic()
        chk = logcheck.Checker(out, [manifest])
        done = logcheck.wait_complete(chk, timeout=90, idle=20, step=0.5)
        t_drain = time.monotonic() - t_cont
        time.sleep(0.5)
        chk.update()
        r = chk.result()
        print("  " + chk.summary(r, "backpressure").replace("\n", "\n  "))
        print("  delivered=%s, drained in %.2fs after SIGCONT; max RSS overall %.1f MiB; "
              "vigil_input_paused now %s"
              % (done, t_drain, sampler.max_kib / 1024.0, paused(agent)))
        for ln in logcheck.agent_problems(agent.stderr()):
            print("  agent: " + ln)
        assert max_blocked * 1024 < RSS_LIMIT, "RSS %.1f MiB while blocked" % (
            max_blocked / 1024.0)
        assert r["lost"] == 0, "%d lines lost" % r["lost"]
        assert r["dup"] == 0, "%d duplicated lines" % r["dup"]
        assert r["ooo"] == 0, "%d lines out of order" % r["ooo"]
        assert r["bad_body"] == 0 and r["corrupt_lines"] == 0, r
        assert sampler.max_kib * 1024 < RSS_LIMIT, "RSS %.1f MiB while draining" % (
            sampler.max_kib / 1024.0)
        vt.wait_for(lambda: paused(agent) == 0, 10, 0.1, what="vigil_input_paused 0")
        rc, took = agent.stop()
        assert rc == 0, "agent exited %s on SIGTERM after %.1fs" % (rc, took)
    finally:
        if sampler is not None:
            sampler.halt.set()
        logwriter.stop_process(writer)
        if cat is not None and cat.poll() is None:
            cat.send_signal(signal.SIGCONT)  # a stopped process ignores SIGTERM until then
        agent.kill()
        logwriter.stop_process(cat)
        # the big files go whatever the outcome; /tmp is shared
        for p in (log_file, out):
            if os.path.exists(p):
                os.unlink(p)


vt.finish()
