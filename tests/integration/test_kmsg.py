"""The kmsg collector end to end, on a file in the /dev/kmsg format: records
with priority, facility, sequence, time and Xid fields in a file output;
gpu_xid_errors_total and node_oom_kills_total on /metrics; restarts across
kill -9 and SIGTERM with lines appended while the agent is down lose no
record and ship none twice; a new boot id ships the log again."""

import json
import os
import re
import signal
import time

import vigiltest as vt

FIX = os.path.join(vt.SRC, "tests", "fixtures", "kmsg")
BOOT_A = "0f2b6c1d-4a5e-4f60-8b7c-9d0e1f2a3b4c"
BOOT_B = "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d"

CONFIG = """
agent:
  state_dir: {tmp}/state
  http: { listen: "127.0.0.1:{port}" }
collectors:
  - { type: kmsg, path: "{tmp}/kmsg", boot_id_path: "{tmp}/boot_id", proc_root: "{tmp}/proc",
      interval: 100ms, checkpoint_interval: 200ms }
outputs:
  - { type: file, path: "{tmp}/out.ndjson" }
"""


def fixture_log():
    """gpu.kmsg, then oom.kmsg with its sequence numbers after it: one
    boot's log. Returns (text, number of records)."""
    text = open(os.path.join(FIX, "gpu.kmsg")).read()
    n = sum(1 for ln in text.splitlines() if ln and not ln.startswith(" "))
    for ln in open(os.path.join(FIX, "oom.kmsg")).read().splitlines(True):
        m = re.match(r"(\d+),(\d+),(.*)", ln, re.S)
        if m:
            ln = "%s,%d,%s" % (m.group(1), int(m.group(2)) + n, m.group(3))
        text += ln
    return text, n + 7 + 1


def write(path, text, mode="w"):
    with open(path, mode) as f:
        f.write(text)


def records(agent):
    path = os.path.join(agent.tmp, "out.ndjson")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(ln) for ln in f if ln.strip()]


def seqs(agent):
    return [r["sequence"] for r in records(agent)]


def saved_sequence(agent):
    try:
        text = open(os.path.join(agent.tmp, "state", "checkpoints", "kmsg")).read()
    except OSError:
        return None
    m = re.search(r"^sequence (\d+)$", text, re.M)
    return int(m.group(1)) if m else None


def new_agent(boot=BOOT_A):
    agent = vt.Agent(CONFIG)
    text, n = fixture_log()
    write(os.path.join(agent.tmp, "kmsg"), text)
    write(os.path.join(agent.tmp, "boot_id"), boot + "\n")
    os.makedirs(os.path.join(agent.tmp, "proc"))
    return agent, n


def append_lines(agent, first, count):
    write(os.path.join(agent.tmp, "kmsg"),
          "".join("6,%d,%d,-;appended while down %d\n" % (s, 9000000000 + s, s)
                  for s in range(first, first + count)), "a")


def wait_seqs(agent, n):
    vt.wait_for(lambda: len(seqs(agent)) >= n, 15, 0.05, what="%d records" % n)
    time.sleep(0.3)  # nothing more should come


@vt.case
def records_carry_kernel_fields_and_xid_errors_are_counted():
    agent, n = new_agent()
    try:
        agent.start()
        wait_seqs(agent, n)
        recs = records(agent)
        assert [r["sequence"] for r in recs] == list(range(n)), seqs(agent)
        xid79 = [r for r in recs if r.get("xid") == 79][0]
        assert xid79["priority"] == 3 and xid79["facility"] == "kern", xid79
        assert xid79["pci_bus_id"] == "0000:3b:00", xid79
        assert xid79["uuid"] == "GPU-4f9a2c1e-7b3d-5e8f-9a0b-1c2d3e4f5a6b", xid79
        assert xid79["gpu"] == "", xid79
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$", xid79["time"]), xid79
        xid31 = [r for r in recs if r.get("xid") == 31][0]
        assert xid31["pid"] == 31337 and xid31["uuid"].startswith("GPU-0a1b"), xid31
        oom = [r for r in recs if r.get("oom")]
        assert len(oom) == 3 and all(r["priority"] in (3, 6) for r in oom), oom
        assert agent.metric_value("gpu_xid_errors_total", {"xid": "13"}) == 2
        assert agent.metric_value("gpu_xid_errors_total", {"xid": "79"}) == 1
        assert agent.metric_value("node_oom_kills_total") == 2
        assert agent.metric_value("container_oom_events_total") == 1
        assert agent.metric_value("vigil_kmsg_overrun_total") == 0
        rc, _ = agent.stop()
        assert rc == 0, rc
    finally:
        agent.kill()


@vt.case
def restarts_lose_nothing_and_ship_nothing_twice():
    agent, n = new_agent()
    try:
        agent.start()
        wait_seqs(agent, n)
        # kill -9 once the checkpoint has caught up with what was shipped
        vt.wait_for(lambda: saved_sequence(agent) == n - 1, 10, 0.05, what="checkpoint")
        agent.kill()
        append_lines(agent, n, 5)
        agent.start()
        wait_seqs(agent, n + 5)
        assert seqs(agent) == list(range(n + 5)), seqs(agent)
        # SIGTERM writes the checkpoint on the way out
        rc, _ = agent.stop()
        assert rc == 0, rc
        assert saved_sequence(agent) == n + 4, saved_sequence(agent)
        append_lines(agent, n + 5, 5)
        agent.start()
        wait_seqs(agent, n + 10)
        assert seqs(agent) == list(range(n + 10)), seqs(agent)
        # counters count since boot, whatever was shipped before the restart
        assert agent.metric_value("node_oom_kills_total") == 2
        assert agent.metric_value("vigil_kmsg_records_total") == n + 10
        rc, _ = agent.stop(signal.SIGTERM)
        assert rc == 0, rc
    finally:
        agent.kill()


@vt.case
def a_new_boot_ships_the_log_from_its_start():
    agent, n = new_agent()
    try:
        agent.start()
        wait_seqs(agent, n)
        rc, _ = agent.stop()
        assert rc == 0, rc
        # the node rebooted: another boot id, a new ring with fewer records
        write(os.path.join(agent.tmp, "boot_id"), BOOT_B + "\n")
        write(os.path.join(agent.tmp, "kmsg"), open(os.path.join(FIX, "oom.kmsg")).read())
        agent.start()
        wait_seqs(agent, n + 8)
        assert seqs(agent) == list(range(n)) + list(range(8)), seqs(agent)
        assert "the node rebooted" in agent.stderr()
        assert agent.metric_value("gpu_xid_errors_total") is None
        assert agent.metric_value("node_oom_kills_total") == 2
        rc, _ = agent.stop()
        assert rc == 0, rc
    finally:
        agent.kill()


vt.finish()
