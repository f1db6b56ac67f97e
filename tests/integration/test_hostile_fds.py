"""Descriptors: with a hard RLIMIT_NOFILE of 1024 and more log files than
that, the agent keeps a reserve for the rest of itself, so the file output
still opens its file, every record is delivered, and the log stays small.

Run alone: VIGIL_BIN=build/vigil /usr/bin/python3 tests/integration/test_hostile_fds.py"""

import json
import os
import resource
import time

import vigiltest as vt

N_FILES = 1100
LIMIT = 1024


def limit_nofile():
    resource.setrlimit(resource.RLIMIT_NOFILE, (LIMIT, LIMIT))


def delivered(path):
    try:
        with open(path) as f:
            return [json.loads(l) for l in f if l.strip()]
    except FileNotFoundError:
        return []


@vt.case
def more_files_than_descriptors_still_deliver_every_record():
    a = vt.Agent("""agent:
  state_dir: {tmp}/state
  http: { listen: "127.0.0.1:{port}" }
collectors:
  - type: container_logs
    paths: ['{tmp}/logs/*.log']
    format: raw
    kubernetes: false
    rescan_interval: 200ms
outputs:
  - { type: file, path: '{tmp}/out.ndjson' }
""")
    logs = os.path.join(a.tmp, "logs")
    os.mkdir(logs)
    for i in range(N_FILES):
        with open(os.path.join(logs, "f%04d.log" % i), "w") as f:
            f.write("line of file %d\n" % i)
    a.preexec = limit_nofile
    a.start()
    try:
        out = os.path.join(a.tmp, "out.ndjson")
        t0 = time.monotonic()
        got = vt.wait_for(lambda: len(delivered(out)) >= N_FILES and delivered(out),
                          timeout=60, what="%d records delivered" % N_FILES)
        took = time.monotonic() - t0
        cpu = vt.cpu_seconds(a.proc.pid)
        fds = vt.open_fds(a.proc.pid)
        log_bytes = len(a.stderr())
        print("   %d files, hard limit %d: %d records in %.1f s, %.2f CPU-s, %d fds open, "
              "%d bytes of log" % (N_FILES, LIMIT, len(got), took, cpu, fds, log_bytes))
        bodies = sorted(r["body"] for r in got)
        assert bodies == sorted("line of file %d" % i for i in range(N_FILES)), \
            "missing or repeated records"
        assert fds <= LIMIT - 200, "no reserve kept: %d descriptors open" % fds
        assert "max_open_files lowered from 1024 to 768" in a.stderr(), a.stderr()[-2000:]
        assert "Too many open files" not in a.stderr(), a.stderr()[-2000:]
        assert log_bytes < 64 * 1024, log_bytes
        assert cpu < 30, cpu
        assert a.get("/healthz")[0] == 200
    finally:
        a.stop()


vt.finish()
