#!/usr/bin/env python3
"""Log-reading benchmark of the container_logs collector, printed as a table
with the command that produced each row. Run with `make bench`, or:

    tests/bench/logs.py [--vigil build/vigil] [--lines 1000000] [--seed 1]

1. Generates a CRI and a Docker json-file log of --lines lines each with
   gen_logs.py into --data-dir (reused when FILE.meta.json says the same seed,
   line count and generator version, and the size matches).
2. The floor, per file: `cat FILE > /dev/null` and `wc -l FILE`, wall and CPU
   seconds (getrusage(RUSAGE_CHILDREN) deltas). The cat also warms the page
   cache, so every row below reads from memory.
3. Per format and output (`discard`; `file` on /dev/null with fsync: false):
   starts the agent on a fresh state_dir with the collector reading the file
   from its head, polls /metrics every 50 ms until
   vigil_input_records_total{collector="logs"} reaches the records the
   generator counted (lines - partials) and the output has sent as many, and
   then reads the agent's CPU seconds (utime + stime) and peak RSS (VmHWM)
   from /proc before stopping it with SIGTERM.

Targets: at least 1,000,000 lines per CPU second for CRI; peak RSS under
16 MiB. A miss is reported as MISS in the table, not as a failure: the exit
status is non-zero only when a row could not be measured (the agent failed,
timed out, counted more records than the file holds, or never showed the
output's sent-records series).
"""

import argparse
import gzip
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, HERE)
import gen_logs  # noqa: E402
import vigiltest as vt  # noqa: E402

TARGET_LINES_PER_CPU_S = 1000000
TARGET_RSS_MIB = 16.0
POLL_S = 0.05
# kubelet's /var/log/containers naming, so that the collector derives pod,
# namespace, container and container id from the path as it does on a node
FILE_NAME = "bench-%s-7d9f8b-x2k4q_bench_app-%s.log"
CONTAINER_ID = "4f2b8c1d9e7a6b5c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c"

CONFIG = """agent:
  node_name: bench-node
  state_dir: {state}
  http: {{ listen: "127.0.0.1:{port}" }}
collectors:
  - type: container_logs
    name: logs
    paths: ["{path}"]
    format: {fmt}
    read_from: head
{collector_extra}outputs:
{output}
{sections}"""
OUTPUTS = {
    "discard": "  - { type: discard, name: out }",
    "file": "  - { type: file, name: out, path: /dev/null, fsync: false }",
    "discard-lean": "  - { type: discard, name: out, queue_max_bytes: 2MiB }",
}


def data_files(data_dir, lines, seed):
    """Generates (or reuses) one file per format; returns {fmt: (path, meta, cmd)}."""
    os.makedirs(data_dir, exist_ok=True)
    files = {}
    for fmt in gen_logs.FORMATS:
        path = os.path.join(data_dir, FILE_NAME % (fmt, CONTAINER_ID))
        cmd = "/usr/bin/python3 %s --format %s --lines %d --seed %d --out %s" % (
            os.path.join(HERE, "gen_logs.py"), fmt, lines, seed, path)
        meta = None
        try:
            with open(path + ".meta.json") as f:
                meta = json.load(f)
        except (OSError, ValueError):
            pass
        want = {"format": fmt, "seed": seed, "lines": lines, "version": gen_logs.VERSION}
        if (meta is None or any(meta.get(k) != v for k, v in want.items())
                or not os.path.exists(path) or os.path.getsize(path) != meta.get("bytes")):
            t0 = time.monotonic()
            meta = gen_logs.generate(fmt, lines, seed, path)
            print("generated %s: %d lines, %d bytes, %d partials, %d records (%.1f s)"
                  % (path, meta["lines"], meta["bytes"], meta["partials"], meta["records"],
                     time.monotonic() - t0), flush=True)
        else:
            print("reusing %s: %d lines, %d bytes, %d partials, %d records"
                  % (path, meta["lines"], meta["bytes"], meta["partials"], meta["records"]),
                  flush=True)
        files[fmt] = (path, meta, cmd)
    return files


def floor(argv, shown):
    """Runs one floor command to completion; wall and CPU seconds of the child."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL, check=True)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": wall, "cpu": cpu, "cmd": shown, "rss_mib": None}


def parse_metrics(text):
    """{(name, label text): value} of every sample in an exposition text."""
    out = {}
    for line in text.splitlines():
        if not line or line[0] == "#":
            continue
        head, _, value = line.rpartition(" ")
        name, _, labels = head.partition("{")
        try:
            out[(name, labels.rstrip("}"))] = float(value)
        except ValueError:
            continue
    return out


def metric(samples, name, **labels):
    """Sum of the samples of `name` whose labels include `labels` (None if none)."""
    want = ['%s="%s"' % kv for kv in labels.items()]
    found = [v for (n, lab), v in samples.items() if n == name and all(w in lab for w in want)]
    return sum(found) if found else None


def scrape(port):
    status, hdrs, body = vt.http_get("http://127.0.0.1:%d/metrics" % port, timeout=2.0)
    if status != 200:
        return {}
    if hdrs.get("content-encoding") == "gzip":
        body = gzip.decompress(body)
    return parse_metrics(body.decode())


def wait_done(proc, t0, port, expected, timeout):
    """Polls /metrics until input and output counts reach `expected`.

    Returns (status, seconds since t0, last samples); status is "ok",
    "exited", "timeout", "overcount", "refused" (the output drops or
    retries every send) or "unmeasured" (the timeout passed with every
    record counted in but no vigil_output_records_total{result="sent"}
    series for the output: what it sent could not be read)."""
    samples = {}
    while True:
        now = time.monotonic() - t0
        if proc.poll() is not None:
            return "exited", now, samples
        try:
            samples = scrape(port) or samples
        except OSError:
            pass  # not listening yet
        got = metric(samples, "vigil_input_records_total", collector="logs") or 0
        sent = metric(samples, "vigil_output_records_total", output="out", result="sent")
        dropped = metric(samples, "vigil_output_records_total", output="out",
                         result="dropped") or 0
        retries = metric(samples, "vigil_output_retries_total", output="out") or 0
        if got > expected:
            return "overcount", now, samples
        if got >= expected and sent is not None and sent >= expected:
            return "ok", time.monotonic() - t0, samples
        if dropped > 0 or (retries > 0 and not sent):
            return "refused", now, samples
        if now > timeout:
            return ("unmeasured" if got >= expected and sent is None else "timeout"), now, samples
        time.sleep(POLL_S)


def stderr_tail(path, n=3):
    try:
        with open(path, "rb") as f:
            lines = f.read().decode(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " / ".join(lines[-n:])


def agent_row(vigil, fmt, path, output, expected, data_dir, timeout, extra=None, tag=""):
    """Runs the agent over one file into one output; returns a table row.

    extra: {"collector": lines added to the collector's map, "sections":
    top-level sections added}; tag: part of the config's file name."""
    extra = extra or {}
    tmp = tempfile.mkdtemp(prefix="vigil-bench-logs-")
    port = vt.free_port()
    cfg = os.path.join(data_dir, "%s-%s%s.yaml" % (fmt, output, tag))
    with open(cfg, "w") as f:
        f.write(CONFIG.format(state=os.path.join(tmp, "state"), port=port, path=path, fmt=fmt,
                              output=OUTPUTS[output], collector_extra=extra.get("collector", ""),
                              sections=extra.get("sections", "")))
    row = {"cmd": "%s --config %s" % (vigil, cfg.replace(data_dir, "$D")), "cpu": None, "wall": None,
           "rss_mib": None, "note": ""}
    err_path = os.path.join(tmp, "agent.stderr")
    with open(err_path, "wb") as err:
        t0 = time.monotonic()
        proc = subprocess.Popen([vigil, "--config", cfg], stdout=subprocess.DEVNULL,
                                stderr=err, stdin=subprocess.DEVNULL)
    try:
        status, wall, samples = wait_done(proc, t0, port, expected, timeout)
        if proc.poll() is None:
            row["cpu"] = vt.cpu_seconds(proc.pid)
            row["rss_mib"] = vt.proc_status(proc.pid, "VmHWM") / 1048576.0
        row["wall"] = wall
        row["status"] = status
        row["records"] = metric(samples, "vigil_input_records_total", collector="logs")
        row["sent"] = metric(samples, "vigil_output_records_total", output="out", result="sent")
        row["decode_errors"] = metric(samples, "vigil_log_decode_errors_total",
                                      collector="logs") or 0
        row["samples"] = samples
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
                row["note"] += "no exit within 30 s of SIGTERM; "
        row["rc"] = proc.returncode
        err = stderr_tail(err_path)
        if output == "file" and (row.get("status") == "refused" or (
                row.get("status") == "exited" and "/dev/null" in err)):
            row["status"] = "skipped"
            row["note"] += "the file output refuses /dev/null, row skipped: %s; " % err
        elif row.get("status") != "ok":
            row["note"] += "%s after %.1f s, records %s of %d, sent %s; stderr: %s; " % (
                row.get("status", "error"), time.monotonic() - t0, row.get("records"), expected,
                row.get("sent"), err)
        elif row["rc"] != 0:
            row["note"] += "exit status %s after SIGTERM; " % row["rc"]
        if row.get("decode_errors"):
            row["note"] += "%d decode errors; " % row["decode_errors"]
        shutil.rmtree(tmp, ignore_errors=True)
    return row


def mark(ok):
    return "PASS" if ok else "MISS"


def print_table(rows):
    print("| format | reader | output | lines | MB | wall s | CPU s | lines/s | MB/s "
          "| lines/CPU s | MB/CPU s | peak RSS MiB | >= 1M lines/CPU s (CRI) | RSS < 16 MiB "
          "| command |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        lines, mb = r["lines"], r["bytes"] / 1e6

        def per(x, t):
            return "%.0f" % (x / t) if t else "-"

        def per_mb(t):
            return "%.1f" % (mb / t) if t else "-"
        measured = r.get("status", "ok") == "ok" and r["wall"] is not None
        lps_cpu = lines / r["cpu"] if measured and r["cpu"] else None
        target_lines = "-"
        target_rss = "-"
        if r["reader"] == "vigil":
            if not measured:
                target_lines = target_rss = r.get("status", "error").upper()
            else:
                if r["format"] == "cri" and lps_cpu is None:
                    target_lines = "n/a"  # under one clock tick of CPU: too short to tell
                elif r["format"] == "cri":
                    target_lines = mark(lps_cpu >= TARGET_LINES_PER_CPU_S)
                target_rss = mark(r["rss_mib"] < TARGET_RSS_MIB)
        print("| %s | %s | %s | %d | %.1f | %s | %s | %s | %s | %s | %s | %s | %s | %s | `%s` |" % (
            r["format"], r["reader"], r["output"], lines, mb,
            "%.3f" % r["wall"] if measured else "-",
            "%.3f" % r["cpu"] if measured and r["cpu"] is not None else "-",
            per(lines, r["wall"]) if measured else "-", per_mb(r["wall"]) if measured else "-",
            per(lines, r["cpu"]) if measured else "-", per_mb(r["cpu"]) if measured else "-",
            "%.1f" % r["rss_mib"] if measured and r["rss_mib"] is not None else "-",
            target_lines, target_rss, r["cmd"]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--vigil", default=vt.BIN, help="agent binary (default: $VIGIL_BIN or "
                    "build/vigil)")
    ap.add_argument("--lines", type=int, default=1000000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--data-dir", default=os.path.join(tempfile.gettempdir(),
                                                       "vigil-bench-logs"),
                    help="where the generated files are kept for the next run")
    ap.add_argument("--formats", default="cri,docker")
    ap.add_argument("--outputs", default="discard,file")
    ap.add_argument("--timeout", type=float, default=300.0,
                    help="seconds one agent run may take to count every record")
    ap.add_argument("--floor-only", action="store_true", help="measure cat and wc only")
    args = ap.parse_args()
    vigil = os.path.abspath(args.vigil)
    formats = [f for f in args.formats.split(",") if f]
    outputs = [o for o in args.outputs.split(",") if o]
    for o in outputs:
        if o not in OUTPUTS:
            ap.error("unknown output %s (one of %s)" % (o, ", ".join(OUTPUTS)))
    if not args.floor_only and not os.access(vigil, os.X_OK):
        sys.exit("agent binary %s is missing: build it or pass --vigil" % vigil)

    files = data_files(args.data_dir, args.lines, args.seed)
    rows = []
    for fmt in formats:
        path, meta, gen_cmd = files[fmt]
        base = {"format": fmt, "lines": meta["lines"], "bytes": meta["bytes"]}
        short = "$" + fmt.upper()
        for argv, shown in ((["cat", path], "cat %s > /dev/null" % short),
                            (["wc", "-l", path], "wc -l %s" % short),
                            (["dd", "if=" + path, "of=/dev/null", "bs=64k", "status=none"],
                             "dd if=%s of=/dev/null bs=64k" % short)):
            r = floor(argv, shown)
            r.update(base, reader=argv[0], output="-")
            rows.append(r)
        if args.floor_only:
            continue
        for out in outputs:
            print("running %s -> %s ..." % (fmt, out), flush=True)
            r = agent_row(vigil, fmt, path, out, meta["records"], args.data_dir, args.timeout)
            r.update(base, reader="vigil", output=out if out == "discard" else "file /dev/null")
            rows.append(r)

    print("\n## Reading container logs from the head (%d lines, seed %d)\n"
          % (args.lines, args.seed))
    print("D=%s" % args.data_dir)
    for fmt in formats:
        print("%s=$D/%s" % (fmt.upper(), os.path.basename(files[fmt][0])))
    print()
    print_table(rows)
    print("\nfiles:")
    for fmt in formats:
        path, meta, gen_cmd = files[fmt]
        print("- %s: %d lines, %d bytes, %d partial lines, %d records expected; made by `%s`"
              % (fmt, meta["lines"], meta["bytes"], meta["partials"], meta["records"], gen_cmd))
    notes = ["- %s %s: %s" % (r["format"], r["output"], r["note"].rstrip("; "))
             for r in rows if r.get("note")]
    if notes:
        print("\nnotes:\n" + "\n".join(notes))
    if not args.floor_only:
        print("\nconfigs (port and state_dir change per run):")
        for fmt in formats:
            for out in outputs:
                cfg = os.path.join(args.data_dir, "%s-%s.yaml" % (fmt, out))
                with open(cfg) as f:
                    print("\n%s:\n%s" % (cfg, f.read().rstrip()))
    print("\nwall s runs from the agent's start to the poll that saw the last record counted "
          "(the agent refreshes its metrics once a second); CPU s is utime + stime of the "
          "agent at that moment, peak RSS its VmHWM.")
    failed = [r for r in rows if r["reader"] == "vigil" and r.get("status") not in ("ok",
                                                                                 "skipped")]
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
