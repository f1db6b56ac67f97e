"""Benchmarks of issue-level targets, printed as a table with the commands
that produced them. Run with `make bench` (needs wrk).

1. Scrape throughput of /metrics with wrk on loopback: 1 and 4 connections,
   default collectors, then with 10,000 extra series from the textfile
   collector. A scrape serves the last collection and never waits on one.
2. Idle agent on the default config: RSS after the idle period and CPU
   seconds used over it.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
import vigiltest as vt  # noqa: E402

SCRAPE_CONFIG = """
agent:
  state_dir: {tmp}/state
  http: { listen: "127.0.0.1:{port}" }
collectors:
  - { type: node, interval: 15s }
%s
"""


def wrk(url, conns, seconds, headers=()):
    threads = min(conns, 2)
    cmd = ["wrk", "-t%d" % threads, "-c%d" % conns, "-d%ds" % seconds, "--latency"]
    for h in headers:
        cmd += ["-H", h]
    cmd.append(url)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def pct(p):
        m = re.search(r"\s%s%%\s+([\d.]+)(us|ms|s)" % p, out)
        v, unit = float(m.group(1)), m.group(2)
        return v * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50_ms": pct(50), "p99_ms": pct(99), "cmd": " ".join(cmd),
            "non2xx": int(errors.group(1)) if errors else 0}


def write_textfile_series(directory, n):
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "bench.prom"), "w") as f:
        f.write("# HELP bench_series A benchmark series.\n# TYPE bench_series gauge\n")
        for i in range(n):
            f.write('bench_series{job="batch",shard="%d"} %d\n' % (i, i))


def scrape_bench(seconds):
    rows = []
    for label, extra in (("default collectors", ""),
                         ("+10,000 textfile series",
                          "  - { type: textfile, directory: \"{tmp}/textfile\", interval: 15s }")):
        agent = vt.Agent(SCRAPE_CONFIG % extra)
        if extra:
            write_textfile_series(os.path.join(agent.tmp, "textfile"), 10000)
        agent.start()
        try:
            if extra:
                vt.wait_for(lambda: agent.metric_value("bench_series", {"shard": "9999"}) is not None,
                            20, what="textfile series")
            size = len(agent.metrics())
            nseries = sum(1 for line in agent.metrics().splitlines() if line and line[0] != "#")
            for conns in (1, 4):
                r = wrk(agent.base + "/metrics", conns, seconds)
                r.update(label=label, conns=conns, size=size, series=nseries)
                rows.append(r)
        finally:
            agent.stop()
            agent.kill()
    return rows


def node_exporter_reference(seconds):
    """node_exporter's own scrape rate on this machine, for scale."""
    exe = shutil.which("prometheus-node-exporter")
    if not exe:
        return None
    port = vt.free_port()
    p = subprocess.Popen([exe, "--web.listen-address=127.0.0.1:%d" % port],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         stdin=subprocess.DEVNULL)
    try:
        url = "http://127.0.0.1:%d/metrics" % port
        vt.wait_for(lambda: vt.http_get(url)[0] == 200, 10, what="node_exporter")
        return wrk(url, 1, seconds)
    finally:
        p.terminate()
        p.wait(10)


def proc_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def idle_bench(seconds):
    tmp = tempfile.mkdtemp(prefix="vigil-bench-")
    port = vt.free_port()
    default = subprocess.run([vt.BIN, "--print-default-config"], capture_output=True,
                             text=True).stdout
    cfg = os.path.join(tmp, "default.yaml")
    with open(cfg, "w") as f:
        f.write(default.replace("127.0.0.1:9469", "127.0.0.1:%d" % port))
    env = dict(os.environ, VIGIL_STATE_DIR=os.path.join(tmp, "state"))
    p = subprocess.Popen([vt.BIN, "--config", cfg], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, env=env)
    try:
        vt.wait_for(lambda: vt.http_get("http://127.0.0.1:%d/readyz" % port)[0] == 200, 10)
        time.sleep(2)
        cpu0, t0 = vt.cpu_seconds(p.pid), time.monotonic()
        time.sleep(seconds)
        cpu1, t1 = vt.cpu_seconds(p.pid), time.monotonic()
        rss = proc_rss_kib(p.pid)
    finally:
        p.terminate()
        p.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)
    return {"rss_mib": rss / 1024.0, "cpu_s": cpu1 - cpu0, "wall_s": t1 - t0,
            "cpu_pct": 100.0 * (cpu1 - cpu0) / (t1 - t0)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vigil", default=vt.BIN)
    ap.add_argument("--wrk-seconds", type=int, default=10)
    ap.add_argument("--idle-seconds", type=int, default=60)
    args = ap.parse_args()
    vt.BIN = os.path.abspath(args.vigil)
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: make deps-test installs it")
    print("## /metrics scrape throughput (wrk, loopback)")
    print("| series set | series | body bytes | connections | scrapes/s | p50 ms | p99 ms | non-2xx |")
    print("|---|---|---|---|---|---|---|---|")
    for r in scrape_bench(args.wrk_seconds):
        print("| %s | %d | %d | %d | %.0f | %.3f | %.3f | %d |" % (
            r["label"], r["series"], r["size"], r["conns"], r["rps"], r["p50_ms"], r["p99_ms"],
            r["non2xx"]))
        last_cmd = r["cmd"]
    ref = node_exporter_reference(args.wrk_seconds)
    if ref:
        print("| node_exporter (reference) | - | - | 1 | %.0f | %.3f | %.3f | %d |" % (
            ref["rps"], ref["p50_ms"], ref["p99_ms"], ref["non2xx"]))
    print("\ncommand: %s (URL per run)\n" % last_cmd)
    print("## Idle agent, embedded default config, %d s" % args.idle_seconds)
    r = idle_bench(args.idle_seconds)
    print("| RSS MiB | CPU seconds | CPU %% of one core |\n|---|---|---|\n| %.2f | %.3f | %.3f |"
          % (r["rss_mib"], r["cpu_s"], r["cpu_pct"]))


if __name__ == "__main__":
    main()
