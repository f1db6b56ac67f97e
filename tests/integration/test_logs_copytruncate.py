"""logrotate's copytruncate every second at 20,000 CRI lines/s for 10 s,
with the collector on `paths: ["{tmp}/logs/app.log*"]` and
`exclude: ["*.gz", "*.tmp"]`, as the README advises: logrotate shifts the
numbered copies (app.log.3 -> app.log.4, .2 -> .3, .1 -> .2, the oldest
beyond `keep` deleted), copies app.log to app.log.1 (directly, as logrotate
does), then truncates app.log.

The copies match the pattern: the agent must recognise app.log.1 as a copy
of the file it follows (by its fingerprint) and read from it only what it
had not read from the original (the lines written between its last read
and the truncation), and never read the shifted copies (.2, .3 ...) again.

  plain  nothing is written between the copy and the truncation, .2 and
         older compressed (compress + delaycompress): 0 lost, 0 duplicated.
  tmp    the same, the copy made under app.log.1.tmp (excluded) and
         renamed to app.log.1, so that it never shows empty or half
         written: 0 lost, 0 duplicated.
  gap    the writer keeps writing between the copy and the truncation
         (100 records each time): those are in neither file and may be
         lost; nothing else may be, and nothing may be duplicated.

The three run concurrently, each with its own agent."""

import atexit
import os
import time

import logcheck
import logwriter
import vigiltest as vt

RATE = 20000
DURATION = 10.0
KEEP = 4
BETWEEN = 100


class Scenario:
    def __init__(self, name, **writer_opts):
        self.name = name
        self.agent = vt.Agent(logcheck.agent_config(
            ["{tmp}/logs/app.log*"],
            '{ type: file, path: "{tmp}/out.ndjson", queue_max_bytes: 8MiB }',
            exclude='["*.gz", "*.tmp"]', format="cri", read_from="head",
            checkpoint_interval="1s", interval="250ms"))
        self.live = os.path.join(self.agent.tmp, "logs", "app.log")
        os.makedirs(os.path.dirname(self.live))
        self.manifest = os.path.join(self.agent.tmp, "manifest.json")
        self.writer_out = os.path.join(self.agent.tmp, "writer.out")
        self.writer_opts = writer_opts
        self.writer = None

    def start(self):
        self.agent.start()
        self.writer = logwriter.spawn(self.live, self.name, self.manifest, self.writer_out,
                                      format="cri", rate=RATE, duration=DURATION,
                                      rotate="logrotate_copytruncate", rotate_every=1.0,
                                      keep=KEEP, **self.writer_opts)

    def stop(self):
        logwriter.stop_process(self.writer)
        self.agent.kill()

    def check(self):
        try:
            return self._check()
        finally:
            self.stop()

    def _check(self):
        self.writer.wait(DURATION + 15)
        t_written = time.monotonic()
        with open(self.writer_out) as f:
            print("  " + f.read().strip())
        print("  files left: %s" % " ".join(sorted(os.listdir(os.path.dirname(self.live)))))
        entry = logcheck.load_manifests([self.manifest])[self.name]
        assert entry["records"] > RATE * 5, "the writer wrote too little: %r" % entry
        assert entry["rotations"] >= 8, entry["rotations"]
        chk = logcheck.Checker(os.path.join(self.agent.tmp, "out.ndjson"), [self.manifest])
        done = logcheck.wait_complete(chk, timeout=25, idle=6)
        lag = time.monotonic() - t_written
        time.sleep(0.5)  # late duplicates (a copy read again) would show up now
        chk.update()
        r = chk.result()
        gap, lost_in_gap, lost_outside, outside = logcheck.lost_in_gaps(chk, [self.manifest])
        print("  " + chk.summary(r, self.name).replace("\n", "\n  "))
        print("  delivered=%s %.2fs after the writer ended; written between copy and "
              "truncation (in neither file): %d, of which lost %d; lost otherwise: %d%s; "
              "duplicated: %d"
              % (done, lag, gap, lost_in_gap, lost_outside,
                 " [%s]" % outside if lost_outside else "", r["dup"]))
        print("  records per file: " + ", ".join(
            "%s=%d" % (os.path.basename(str(k)), v) for k, v in sorted(r["files"].items(),
                                                                      key=str)))
        for ln in logcheck.agent_problems(self.agent.stderr()):
            print("  agent: " + ln)
        assert lost_outside == 0, "%d lines lost that were in a file" % lost_outside
        assert r["dup"] == 0, "%d duplicated lines" % r["dup"]
        assert r["bad_body"] == 0, "%d bodies differ from what was written" % r["bad_body"]
        assert r["unknown"] == 0 and r["corrupt_lines"] == 0, r["unknown_samples"]
        rc, took = self.agent.stop()
        assert rc == 0, "agent exited %s on SIGTERM after %.1fs" % (rc, took)
        return entry, r, gap, lost_in_gap


S_PLAIN = Scenario("ctplain", gzip_rotated=True)
S_TMP = Scenario("cttmp", copy_tmp=True)
S_GAP = Scenario("ctgap", between_records=BETWEEN)
SCENARIOS = [S_PLAIN, S_TMP, S_GAP]


@atexit.register
def _stop_everything():
    for s in SCENARIOS:
        s.stop()


def run(scenario):
    if S_PLAIN.writer is None:
        for s in SCENARIOS:
            s.start()
    return scenario.check()


@vt.case
def copytruncate_every_second_nothing_between_copy_and_truncate():
    entry, r, gap, lost_in_gap = run(S_PLAIN)
    assert gap == 0 and r["lost"] == 0, "%d lines lost" % r["lost"]
    assert entry["gzipped"] >= 5, "logrotate's compress did not happen: %r" % entry


@vt.case
def copytruncate_every_second_copy_through_a_temporary_name():
    entry, r, gap, lost_in_gap = run(S_TMP)
    assert gap == 0 and r["lost"] == 0, "%d lines lost" % r["lost"]


@vt.case
def copytruncate_every_second_writing_between_copy_and_truncate():
    entry, r, gap, lost_in_gap = run(S_GAP)
    assert gap >= 8 * BETWEEN, "too few lines were written between copy and truncation"
    assert r["lost"] <= gap, r["lost"]


vt.finish()
