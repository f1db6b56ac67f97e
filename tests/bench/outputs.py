#!/usr/bin/env python3
"""Network outputs benchmark: about 1,000,000 container log records read by
the agent and delivered to Kafka (librdkafka's mock cluster, three brokers,
in its own process) and to an Elasticsearch `_bulk` receiver (tests/bench/
es_sink, C on libmicrohttpd, every item 201), both on loopback. Printed as
a table with the command that produced each row. Run with `make bench`, or:

    tests/bench/outputs.py [--vigil build/vigil] [--lines 1100000] [--seed 1]

Input: the CRI file of logs.py (gen_logs.py, kubelet's naming, so every
record carries pod, namespace, container and container id); --lines
1,100,000 gives about 1,000,000 records once partial lines are joined.

Per row the agent starts on a fresh state_dir, reads the file from its
head, and /metrics is polled until the output has sent every record; CPU
seconds (utime + stime) and peak RSS (VmHWM) come from /proc. The peer's
own CPU is measured too, and its ceiling beside it: for the _bulk receiver
es_load posting a fixed 1,000-document gzip body on several connections,
for the mock cluster kafka_produce (a bare librdkafka producer) sending the
same number of messages of the same size.

Targets: >= 200,000 records per agent CPU second into the _bulk receiver
with gzip on, >= 500,000 records/s into the mock cluster. A miss is
reported as MISS, not as a failure; the exit status is non-zero only when a
row could not be measured.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, HERE)
import kafkapeers as kp  # noqa: E402
import logs  # noqa: E402
import logwriter  # noqa: E402
import vigiltest as vt  # noqa: E402

TARGET_ES_PER_CPU_S = 200000
TARGET_KAFKA_PER_S = 500000
BUILD = os.path.dirname(os.path.abspath(vt.BIN))


def peer_cpu(pid):
    try:
        return vt.cpu_seconds(pid)
    except OSError:
        return None


class CpuWatch(threading.Thread):
    """Samples the CPU seconds of the agent running on `cfg` every 10 ms.
    The agent idles at next to no CPU once every record is out, so the
    work's end shows as its CPU time going flat: a wall time to about
    10 ms, where /metrics only moves once a second."""

    def __init__(self, cfg):
        super().__init__(daemon=True)
        self.cfg, self.samples, self.stop = cfg, [], threading.Event()
        self.t_start = time.monotonic()

    def _pid(self):
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open("/proc/%s/cmdline" % d, "rb") as f:
                    args = f.read().split(b"\0")
            except OSError:
                continue
            if self.cfg.encode() in args and any(a.endswith(b"vigil") for a in args[:1]):
                return int(d)
        return None

    def run(self):
        pid = None
        while not self.stop.is_set() and pid is None:
            pid = self._pid()
            time.sleep(0.005)
        while not self.stop.is_set():
            try:
                self.samples.append((time.monotonic(), vt.cpu_seconds(pid)))
            except (OSError, IndexError):
                return
            time.sleep(0.01)

    def work_seconds(self):
        """Seconds from the start to the last sample more than 20 ms of CPU
        short of the final one (the idle agent adds next to nothing)."""
        if len(self.samples) < 2:
            return None
        final = self.samples[-1][1]
        busy = [t for t, c in self.samples if final - c > 0.02]
        return (busy[-1] - self.t_start) if busy else None


def run_agent(vigil, path, output, expected, data_dir, name, timeout):
    """One agent run over the CRI file into `output` (YAML flow map)."""
    logs.OUTPUTS[name] = "  - " + output
    watch = CpuWatch(os.path.join(data_dir, "cri-%s.yaml" % name))
    watch.start()
    try:
        r = logs.agent_row(vigil, "cri", path, name, expected, data_dir, timeout)
    finally:
        watch.stop.set()
        watch.join(5)
    # r["sent"] is the output's vigil_output_records_total{result="sent"} as
    # last scraped; logs.wait_done reports a run without it as unmeasured
    r["work"] = watch.work_seconds()
    return r


def kafka_rows(vigil, path, meta, data_dir, timeout):
    rows = []
    for codec in ("lz4", "none"):
        mock = kp.KafkaMock({"bench": 12}).start()
        try:
            out = ('{ type: kafka, name: out, brokers: "%s", topic: bench, key: pod, '
                   'compression: %s }' % (mock.bootstrap, codec))
            c0 = peer_cpu(mock.proc.pid)
            r = run_agent(vigil, path, out, meta["records"], data_dir, "kafka-" + codec, timeout)
            r["peer_cpu"] = (peer_cpu(mock.proc.pid) or 0) - (c0 or 0)
            r["what"] = "kafka mock (3 brokers), %s" % codec
            r["target"] = ("kafka", TARGET_KAFKA_PER_S)
            rows.append(r)
        finally:
            mock.stop()
            mock.cleanup()
    rows.append(kafka_ceiling(meta))
    return rows


def produce_delivered(stderr):
    """Messages kafka_produce reports delivered (its stderr summary line
    {"sent":n,"delivered":d,...}), or None without one."""
    for line in reversed(stderr.strip().splitlines()):
        try:
            return int(json.loads(line)["delivered"])
        except (ValueError, KeyError, TypeError):
            continue
    return None


def kafka_ceiling(meta, n=None):
    """A bare librdkafka producer (kafka_produce) into the same mock:
    records/s of the peer with nothing else in the way."""
    n = n or meta["records"]
    value = "x" * 330
    mock = kp.KafkaMock({"bench": 12}).start()
    feed = os.path.join(mock.tmp, "feed.txt")
    with open(feed, "w") as f:
        for i in range(n):
            f.write("k%d\t%s\n" % (i % 64, value))
    row = {"what": "kafka mock ceiling: kafka_produce, lz4, %d x 330 B" % n,
           "cmd": "kafka_produce --bootstrap $MOCK --topic bench --set compression.codec=lz4 "
                  "< feed.txt", "target": None}
    try:
        t0 = time.monotonic()
        with open(feed) as f:
            p = subprocess.run([kp.PRODUCE, "--bootstrap", mock.bootstrap, "--topic", "bench",
                                "--timeout-ms", "120000", "--set", "compression.codec=lz4"],
                               stdin=f, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True, timeout=300)
        row["wall"] = time.monotonic() - t0
        row["status"] = "ok" if p.returncode == 0 else "exit %d" % p.returncode
        row["sent"] = produce_delivered(p.stderr)
        if row["status"] == "ok" and row["sent"] is None:
            row["status"] = "unmeasured"  # no summary line: nothing to report
        row["peer_mb"] = n * 331 / row["wall"] / 1e6
        row["cpu"] = None
        row["rss_mib"] = None
        row["note"] = p.stderr.strip().splitlines()[-1] if p.stderr.strip() else ""
    finally:
        mock.stop()
        mock.cleanup()
    return row


def es_sink_start(tmp):
    port_file = os.path.join(tmp, "es_sink.port")
    proc = subprocess.Popen([os.path.join(BUILD, "es_sink"), "--port-file", port_file],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL, text=True)
    port = vt.wait_for(lambda: os.path.exists(port_file) and open(port_file).read().strip(),
                       10, what="es_sink port file")
    return proc, int(port)


def es_rows(vigil, path, meta, data_dir, timeout):
    rows = []
    for compress in ("gzip", "none"):
        tmp = tempfile.mkdtemp(prefix="vigil-bench-es-")
        proc, port = es_sink_start(tmp)
        try:
            out = ('{ type: elasticsearch, name: out, url: ["http://127.0.0.1:%d"], '
                   'compress: %s }' % (port, compress))
            c0 = peer_cpu(proc.pid)
            r = run_agent(vigil, path, out, meta["records"], data_dir, "es-" + compress, timeout)
            r["peer_cpu"] = (peer_cpu(proc.pid) or 0) - (c0 or 0)
            r["what"] = "_bulk receiver (es_sink), %s" % compress
            r["target"] = ("es", TARGET_ES_PER_CPU_S) if compress == "gzip" else None
            rows.append(r)
        finally:
            logwriter.stop_process(proc, timeout=10)
            shutil.rmtree(tmp, ignore_errors=True)
    rows.append(es_ceiling())
    return rows


def es_ceiling():
    """es_load against es_sink: the receiver with nothing else in the way."""
    tmp = tempfile.mkdtemp(prefix="vigil-bench-es-")
    proc, port = es_sink_start(tmp)
    row = {"what": "_bulk receiver ceiling: es_load, 1,000-doc gzip bodies, 4 connections",
           "cmd": "es_load --url http://127.0.0.1:$PORT/_bulk --connections 4 --seconds 5",
           "target": None, "cpu": None, "rss_mib": None}
    try:
        p = subprocess.run([os.path.join(BUILD, "es_load"), "--url",
                            "http://127.0.0.1:%d/_bulk" % port, "--connections", "4",
                            "--seconds", "5"], capture_output=True, text=True, timeout=60)
        row["status"] = "ok" if p.returncode == 0 else "exit %d" % p.returncode
        row["note"] = (p.stdout.strip() or p.stderr.strip()).replace("\n", " ")
        try:
            got = json.loads(p.stdout.strip().splitlines()[-1])
            row["sent"], row["wall"] = got["items"], got["seconds"]
            # its own documents' bytes, decoded
            row["peer_mb"] = got["requests"] * got["decoded_bytes"] / got["seconds"] / 1e6
        except (ValueError, IndexError, KeyError):
            row["sent"] = row["wall"] = None
            if row["status"] == "ok":
                row["status"] = "unmeasured"  # es_load said nothing we can read
    finally:
        logwriter.stop_process(proc, timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)
    return row


def fmt(x, spec):
    return spec % x if x is not None else "-"


def print_table(rows, mb_per_record):
    print("| into | records | s | records/s | MB/s | agent CPU s | records/CPU s | CPU s/GB "
          "| peak RSS MiB | peer CPU s | target | command |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        ok = r.get("status") == "ok"
        n, cpu = r.get("sent"), r.get("cpu")
        wall = r.get("work") or r.get("wall")
        rps = n / wall if ok and n and wall else None
        rpc = n / cpu if ok and n and cpu else None
        gb = n * mb_per_record / 1000.0 if n else None
        target = "-"
        if r.get("target") and ok:
            kind, want = r["target"]
            got = rpc if kind == "es" else rps
            target = "%s (%s %d)" % ("PASS" if got and got >= want else "MISS",
                                     "records/CPU s >=" if kind == "es" else "records/s >=",
                                     want)
        elif r.get("target"):
            target = str(r.get("status", "error")).upper()
        print("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | `%s` |" % (
            r["what"], fmt(n, "%d"), fmt(wall if ok else None, "%.2f"), fmt(rps, "%.0f"),
            fmt(r["peer_mb"] if "peer_mb" in r else (rps * mb_per_record if rps else None), "%.1f"),
            fmt(cpu if ok else None, "%.2f"),
            fmt(rpc, "%.0f"), fmt(cpu / gb if ok and cpu and gb else None, "%.2f"),
            fmt(r.get("rss_mib") if ok else None, "%.1f"), fmt(r.get("peer_cpu"), "%.2f"),
            target, r["cmd"]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--vigil", default=vt.BIN)
    ap.add_argument("--lines", type=int, default=1100000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--data-dir", default=os.path.join(tempfile.gettempdir(),
                                                       "vigil-bench-logs"))
    ap.add_argument("--only", default="kafka,es", help="kafka, es or both")
    ap.add_argument("--timeout", type=float, default=300.0)
    args = ap.parse_args()
    vigil = os.path.abspath(args.vigil)
    path, meta, gen_cmd = logs.data_files(args.data_dir, args.lines, args.seed)["cri"]
    rows = []
    if "kafka" in args.only:
        print("running cri -> kafka ...", flush=True)
        rows += kafka_rows(vigil, path, meta, args.data_dir, args.timeout)
    if "es" in args.only:
        print("running cri -> elasticsearch ...", flush=True)
        rows += es_rows(vigil, path, meta, args.data_dir, args.timeout)
    mb_per_record = meta["bytes"] / 1e6 / meta["records"]
    print("\n## Network outputs: %d records (%d CRI lines, %.1f MB, seed %d)\n"
          % (meta["records"], meta["lines"], meta["bytes"] / 1e6, args.seed))
    print("D=%s; input made by `%s`; MB/s and CPU s/GB count the log file's bytes\n"
          % (args.data_dir, gen_cmd))
    print_table(rows, mb_per_record)
    print("\ns: from the agent's start to its CPU time going flat (sampled every 10 ms; "
          "the kafka_produce row: its whole run). MB/s and CPU s/GB count the log file's "
          "bytes (the ceiling rows: their own messages' bytes, decoded); peer CPU s is the "
          "mock's or the receiver's own CPU over the row.")
    notes = ["- %s: %s" % (r["what"], r["note"].rstrip("; ")) for r in rows if r.get("note")]
    if notes:
        print("\nnotes:\n" + "\n".join(notes))
    failed = [r for r in rows if r.get("status") != "ok"]
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
