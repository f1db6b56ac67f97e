"""At-least-once across crashes: a writer at 20,000 lines/s for 12 s while
the agent is killed with SIGKILL three times (at ~3, ~6 and ~9 s) and
restarted on the same state_dir each time. Nothing may be lost; what was
read but not yet checkpointed is sent again, so duplicates are allowed up to
one checkpoint interval plus what was in flight per kill:
3 x rate x (checkpoint_interval + 1 s)."""

import os
import time

import logcheck
import logwriter
import vigiltest as vt

RATE = 20000
DURATION = 12.0
CHECKPOINT_INTERVAL_S = 1.0
KILLS_AT = (3.0, 6.0, 9.0)
DUP_BOUND = int(len(KILLS_AT) * RATE * (CHECKPOINT_INTERVAL_S + 1.0))

CONFIG = logcheck.agent_config(
    ["{tmp}/logs/*.log"], '{ type: file, path: "{tmp}/out.ndjson", queue_max_bytes: 8MiB }',
    format="cri", read_from="head", checkpoint_interval="%gs" % CHECKPOINT_INTERVAL_S,
    interval="250ms")


@vt.case
def kill_9_three_times_loses_nothing():
    agent = vt.Agent(CONFIG)
    os.makedirs(os.path.join(agent.tmp, "logs"))  # there before the agent looks
    writer = None
    try:
        agent.start()
        t0 = time.monotonic()
        writer, manifest, writer_out = logcheck.cri_writer(agent, "rst", RATE, DURATION)
        downtime = []
        for at in KILLS_AT:
            time.sleep(max(0.0, t0 + at - time.monotonic()))
            agent.kill()  # SIGKILL by PID, then wait
            t_kill = time.monotonic()
            agent.start()
            downtime.append(time.monotonic() - t_kill)
            print("  killed at %.1fs, ready again after %.2fs" % (t_kill - t0, downtime[-1]))
        writer.wait(DURATION + 10)
        with open(writer_out) as f:
            print("  " + f.read().strip())
        chk = logcheck.Checker(os.path.join(agent.tmp, "out.ndjson"), [manifest])
        done = logcheck.wait_complete(chk, timeout=30, idle=10)
        time.sleep(0.5)
        chk.update()
        r = chk.result()
        print("  " + chk.summary(r, "restart").replace("\n", "\n  "))
        print("  delivered=%s duplicates=%d (bound %d = %d kills x %d lines/s x (%gs + 1s)), "
              "replays=%d, only re-sends=%s, corrupt lines=%d"
              % (done, r["dup"], DUP_BOUND, len(KILLS_AT), RATE, CHECKPOINT_INTERVAL_S,
                 r["replays"], r["dups_only_resends"], r["corrupt_lines"]))
        for ln in logcheck.agent_problems(agent.stderr()):
            print("  agent: " + ln)
        assert r["lost"] == 0, "%d lines lost across the kills" % r["lost"]
        assert r["dup"] <= DUP_BOUND, "%d duplicates > %d" % (r["dup"], DUP_BOUND)
        assert r["bad_body"] == 0, "%d bodies differ from what was written" % r["bad_body"]
        rc, took = agent.stop()
        assert rc == 0, "agent exited %s on SIGTERM after %.1fs" % (rc, took)
    finally:
        logwriter.stop_process(writer)
        agent.kill()


vt.finish()
