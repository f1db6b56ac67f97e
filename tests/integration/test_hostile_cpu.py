"""CPU: files the agent does not follow must not make it work. With 1,000
followed idle files beside a busy file that is not matched (app.txt) or is
excluded (debug-x.log), or a deep pattern over a busy tree, the agent's CPU
stays near idle; a file held as a possible copy does not keep a fast timer.

Run alone: VIGIL_BIN=build/vigil /usr/bin/python3 tests/integration/test_hostile_cpu.py"""

import os
import time

import vigiltest as vt

FOLLOWED = 1000
RATE = 2000      # appends per second to the busy file
SECONDS = 4
CPU_MAX = 0.15   # CPU-seconds per second of wall time (a core is 1.0)


def switches(pid):
    total = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
            for line in f:
                if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                    total += int(line.split()[1])
    return total


def append_for(path, rate, seconds):
    """Appends one line at a time, rate lines a second, for seconds."""
    deadline = time.monotonic() + seconds
    n = 0
    with open(path, "a", buffering=1) as f:
        while time.monotonic() < deadline:
            f.write("busy line %d\n" % n)
            n += 1
            ahead = n / rate - (seconds - (deadline - time.monotonic()))
            if ahead > 0:
                time.sleep(ahead)
    return n


def agent_on(paths, exclude="[]"):
    return vt.Agent("""agent:
  state_dir: {tmp}/state
  http: { listen: "127.0.0.1:{port}" }
collectors:
  - type: container_logs
    paths: %s
    exclude: %s
    format: raw
    kubernetes: false
outputs:
  - { type: discard }
""" % (paths, exclude))


def followed_dir(a, n):
    logs = os.path.join(a.tmp, "logs")
    os.makedirs(logs)
    for i in range(n):
        with open(os.path.join(logs, "f%04d.log" % i), "w") as f:
            f.write("idle %d\n" % i)
    return logs


def busy_cpu(a, busy, what):
    a.start()
    try:
        vt.wait_for(lambda: a.metric_value("vigil_log_files") == FOLLOWED, timeout=30,
                    what="%d files followed" % FOLLOWED)
        time.sleep(1)
        c0, t0 = vt.cpu_seconds(a.proc.pid), time.monotonic()
        n = append_for(busy, RATE, SECONDS)
        cpu, wall = vt.cpu_seconds(a.proc.pid) - c0, time.monotonic() - t0
        print("   %s: %d appends in %.1f s; agent %.2f CPU-s (%.0f%% of a core; bound %.0f%%)"
              % (what, n, wall, cpu, 100 * cpu / wall, 100 * CPU_MAX))
        assert cpu / wall < CPU_MAX, "%.2f CPU-s in %.1f s" % (cpu, wall)
        assert a.metric_value("vigil_log_files") == FOLLOWED
    finally:
        a.stop()


@vt.case
def a_busy_file_that_no_pattern_matches_costs_nothing():
    a = agent_on("['{tmp}/logs/*.log']")
    logs = followed_dir(a, FOLLOWED)
    busy_cpu(a, os.path.join(logs, "app.txt"), "app.txt beside 1,000 followed files")


@vt.case
def a_busy_excluded_file_costs_nothing():
    a = agent_on("['{tmp}/logs/*.log']", "['debug-*.log']")
    logs = followed_dir(a, FOLLOWED)
    busy_cpu(a, os.path.join(logs, "debug-x.log"), "excluded debug-x.log")


@vt.case
def a_deep_pattern_over_a_busy_tree_stays_cheap():
    a = agent_on("['{tmp}/**/**/**/**/*.log']")
    followed_dir(a, 0)
    # 1,000 followed files four folders down, in 5 x 5 x 5 x 8 folders
    made = 0
    for i in range(5):
        for j in range(5):
            for k in range(5):
                for m in range(8):
                    d = os.path.join(a.tmp, "t%d" % i, "u%d" % j, "v%d" % k, "w%d" % m)
                    os.makedirs(d)
                    with open(os.path.join(d, "x.log"), "w") as f:
                        f.write("deep %d\n" % made)
                    made += 1
    busy = os.path.join(a.tmp, "t0", "u0", "v0", "w0", "notes.txt")
    busy_cpu(a, busy, "deep pattern, busy file in the tree")


@vt.case
def a_file_held_as_a_copy_does_not_spin():
    a = agent_on("['{tmp}/logs/*.log*']")
    logs = followed_dir(a, 0)
    with open(os.path.join(logs, "app.log"), "w") as f:
        for i in range(200):
            f.write("original line %d\n" % i)
    a.start()
    try:
        vt.wait_for(lambda: a.metric_value("vigil_input_records_total") == 200, timeout=10,
                    what="the original read")
        with open(os.path.join(logs, "app.log"), "rb") as src:
            data = src.read()
        with open(os.path.join(logs, "app.log.1"), "wb") as dst:  # a copy, as copytruncate makes
            dst.write(data)
        time.sleep(0.5)
        s0, t0 = switches(a.proc.pid), time.monotonic()
        time.sleep(3)
        rate = (switches(a.proc.pid) - s0) / (time.monotonic() - t0)
        print("   a copy beside its original: %.0f context switches a second (bound 100)" % rate)
        assert rate < 100, rate
        assert a.metric_value("vigil_input_records_total") == 200, "the copy was read again"
    finally:
        a.stop()


vt.finish()
