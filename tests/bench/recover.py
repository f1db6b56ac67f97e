#!/usr/bin/env python3
"""Cost of finding rotated-away files at start, printed as a table with the
command that produced each row. Run with `make bench`, or:

    tests/bench/recover.py [--vigil build/vigil] [--rotated 10,100,1000]

For each count N: a kubelet-style folder (pods/<ns>_<pod>_<uid>/<c>/0.log
behind containers/<pod>_<ns>_<c>-<id>.log) is read by the agent, which is
stopped with SIGTERM. While it is down the file is rotated N times
(0.log -> 0.log.<time>, a new 0.log of 200 lines each time), every rotated
file but the newest gzipped as kubelet does, and 100 lines are left unread
in the checkpointed one. The agent is started again; the row gives the
agent's own figures for the search (files examined, milliseconds, files
found, how many gzip), the seconds from the start to the first new record
and to the last one, whether every line arrived exactly once, and the
agent's peak RSS.
"""

import argparse
import gzip
import json
import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import vigiltest as vt  # noqa: E402

CID = "4f2b8c1d9e7a6b5c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c"
LINES_PER_FILE = 200

CONFIG = """agent:
  node_name: bench-node
  state_dir: {tmp}/state
  http: { listen: "127.0.0.1:{port}" }
collectors:
  - type: container_logs
    name: logs
    paths: ["{tmp}/containers/*.log"]
    format: cri
    read_from: head
outputs:
  - { type: file, path: "{tmp}/out.ndjson", fsync: false }
"""


def lines(seq0, n):
    return "".join("2026-12-02T10:00:00.%09dZ stdout F line %d\n" % (s % 10**9, s)
                   for s in range(seq0, seq0 + n))


def count_records(path):
    if not os.path.exists(path):
        return {}
    seen = {}
    with open(path) as f:
        for ln in f:
            s = int(json.loads(ln)["body"].split()[1])
            seen[s] = seen.get(s, 0) + 1
    return seen


def one(vigil, n_rotated):
    """Runs the scenario for n_rotated files; returns the row's figures."""
    agent = vt.Agent(CONFIG)
    agent.env = dict(agent.env, VIGIL_BIN=vigil)
    vt.BIN = vigil
    pod = os.path.join(agent.tmp, "pods", "bench_app-1_0a1b2c3d", "app")
    os.makedirs(pod)
    os.makedirs(os.path.join(agent.tmp, "containers"))
    live = os.path.join(pod, "0.log")
    with open(live, "w") as f:
        f.write(lines(0, 100))
    os.symlink(live, os.path.join(agent.tmp, "containers",
                                  "app-1_bench_app-%s.log" % CID))
    out = os.path.join(agent.tmp, "out.ndjson")
    agent.start()
    vt.wait_for(lambda: len(count_records(out)) >= 100, 20, what="first 100 lines")
    agent.stop()
    seq = 100
    with open(live, "a") as f:  # left unread in the checkpointed file
        f.write(lines(seq, 100))
    seq += 100
    prev = None
    for i in range(n_rotated):
        rotated = "%s.20261202-%06d.%06d" % (live, i // 1000, i % 1000)
        os.rename(live, rotated)
        if prev is not None:
            with open(prev, "rb") as src, gzip.open(prev + ".gz.tmp", "wb", 1) as dst:
                shutil.copyfileobj(src, dst)
            os.rename(prev + ".gz.tmp", prev + ".gz")
            os.unlink(prev)
        prev = rotated
        with open(live, "w") as f:
            f.write(lines(seq, LINES_PER_FILE))
        seq += LINES_PER_FILE
    size0 = os.path.getsize(out)
    t0 = time.monotonic()
    agent.start(wait_ready=False)
    first = vt.wait_for(lambda: os.path.getsize(out) > size0 and time.monotonic() - t0,
                        60, step=0.005, what="the first new record")
    vt.wait_for(lambda: len(count_records(out)) >= seq, 120, step=0.1, what="every line")
    last = time.monotonic() - t0
    seen = count_records(out)
    with open("/proc/%d/status" % agent.proc.pid) as f:
        hwm = [int(ln.split()[1]) / 1024.0 for ln in f if ln.startswith("VmHWM:")][0]
    agent.stop()
    search = [ln.split("msg=", 1)[1] for ln in agent.stderr().splitlines()
              if "files examined" in ln]
    exact = len(seen) == seq and all(v == 1 for v in seen.values())
    shutil.rmtree(agent.tmp, ignore_errors=True)
    return {"rotated": n_rotated, "search": search[-1] if search else "(no line)",
            "first_s": first, "last_s": last, "lines": seq, "exact": exact, "rss": hwm}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--vigil", default=vt.BIN)
    ap.add_argument("--rotated", default="10,100,1000",
                    help="comma-separated counts of files rotated while the agent is down")
    a = ap.parse_args()
    print("| rotated while down | the agent's search line | first record s | all lines s "
          "| lines | each once | peak RSS MiB | command |")
    print("|---|---|---|---|---|---|---|---|")
    ok = True
    for n in [int(x) for x in a.rotated.split(",")]:
        r = one(os.path.abspath(a.vigil), n)
        ok = ok and r["exact"]
        print("| %d | %s | %.3f | %.2f | %d | %s | %.1f | `tests/bench/recover.py --rotated %d` |"
              % (n, r["search"].strip('"'), r["first_s"], r["last_s"], r["lines"],
                 "yes" if r["exact"] else "NO", r["rss"], n), flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
