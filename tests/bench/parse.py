#!/usr/bin/env python3
"""Parsing benchmark of the processing stage, printed as a table with the
command that produced each row. Run with `make bench`, or:

    tests/bench/parse.py [--vigil build/vigil] [--lines 1000000] [--seed 1]

On the CRI file of gen_logs.py (shared with logs.py: nginx access lines,
JSON application lines and plain text), the agent reads from the head into
`discard`:

1. with no processors (CRI decode only: the baseline);
2. with `processors: [[json, nginx], scrub]`: the json parser, else the
   built-in nginx parser (the first that matches wins; plain text lines are
   kept whole with parse_error=true), then a redact filter with the bearer
   and email presets over the body and every parsed string field.

Beside them, `grep -cP` with the nginx parser's own pattern on the same
file, in the same run (the page cache warmed by a cat first): the ratio
tells what the whole record path costs next to one regex over the lines.

Targets: at least 1,000,000 parsed lines per CPU second, peak RSS under
16 MiB. A miss is reported as MISS, not as a failure; the exit status is
non-zero only when a row could not be measured.
"""

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import logs  # noqa: E402

TARGET_LINES_PER_CPU_S = 1000000
TARGET_RSS_MIB = 16.0

# The pattern of the built-in nginx parser (agent/parse/parser.c, ps_combined);
# the agent's own count of nginx matches is printed beside grep's.
QUOTED = r'[^"\\]*+(?:\\.[^"\\]*+)*+'
NGINX = (r'^(?<remote_addr>\S++) \S++ (?<remote_user>\S++) \[(?<time>[^\]]++)\] '
         r'"(?:(?<method>[A-Za-z]+) (?<path>[^ "]++)(?: (?<protocol>HTTP/[0-9.]+))?'
         r'|(?<request>' + QUOTED + r'))" '
         r'(?<status>\d{3}) (?<body_bytes>\d+|-)'
         r'(?: "(?<referer>' + QUOTED + r')" "(?<user_agent>' + QUOTED + r')")?')

PROCESSORS = {
    "collector": "    processors: [[json, nginx], scrub]\n",
    "sections": "filters:\n  - { name: scrub, type: redact, presets: [bearer, email] }\n",
}


def grep_row(path, meta):
    """grep -cP with the nginx pattern over the file: its CPU and its count.
    Its output goes to a pipe: with /dev/null as its output grep stops at
    the first match."""
    argv = ["grep", "-cP", NGINX[1:], path]  # unanchored: CRI lines start with a time
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    out = subprocess.run(argv, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, check=True)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"reader": "grep -cP", "steps": "nginx regex", "lines": meta["lines"],
            "bytes": meta["bytes"], "matched": int(out.stdout.decode().strip() or 0),
            "status": "ok", "wall": wall, "rss_mib": after.ru_maxrss / 1024.0,
            "cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
            "cmd": "grep -cP \"${NGINX#^}\" $CRI | cat"}


def agent_row(vigil, path, meta, data_dir, timeout, steps, lean=False):
    """lean: the output's queue_max_bytes at 2 MiB instead of its 8 MiB
    default (what one collect may hold before the reader pauses)."""
    extra = PROCESSORS if steps else None
    out = "discard-lean" if lean else "discard"
    r = logs.agent_row(vigil, "cri", path, out, meta["records"], data_dir, timeout,
                       extra=extra, tag="-parse" if steps else "")
    samples = r.pop("samples", {}) or {}
    r.update(reader="vigil", steps=("[json, nginx], redact" if steps else "none") +
             (" (queue_max_bytes 2MiB)" if lean else ""),
             lines=meta["records"], bytes=meta["bytes"])
    if steps:
        ran = logs.metric(samples, "vigil_parse_records_total", parser="nginx") or 0
        miss = logs.metric(samples, "vigil_parse_errors_total", parser="nginx",
                           reason="no_match") or 0
        r["matched"] = int(ran - miss)
        r["json"] = int((logs.metric(samples, "vigil_parse_records_total", parser="json") or 0) -
                        (logs.metric(samples, "vigil_parse_errors_total", parser="json",
                                     reason="no_match") or 0))
        r["redacted"] = logs.metric(samples, "vigil_filter_changed_total", step="scrub")
    return r


def print_table(rows):
    print("| reader | steps | lines | CPU s | wall s | lines/CPU s | peak RSS MiB "
          "| nginx matches | >= 1M lines/CPU s | RSS < 16 MiB | command |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        ok = r.get("status") == "ok" and r.get("cpu")
        lps = r["lines"] / r["cpu"] if ok else None
        target = rss = "-"
        if r["reader"] == "vigil" and not r["steps"].startswith("none"):
            target = logs.mark(lps >= TARGET_LINES_PER_CPU_S) if ok else r.get("status", "error")
            rss = logs.mark(r["rss_mib"] < TARGET_RSS_MIB) if ok else "-"
        print("| %s | %s | %d | %s | %s | %s | %s | %s | %s | %s | `%s` |" % (
            r["reader"], r["steps"], r["lines"], "%.3f" % r["cpu"] if ok else "-",
            "%.3f" % r["wall"] if ok else "-", "%.0f" % lps if lps else "-",
            "%.1f" % r["rss_mib"] if r.get("rss_mib") else "-",
            r.get("matched", "-"), target, rss, r["cmd"]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--vigil", default=logs.vt.BIN)
    ap.add_argument("--lines", type=int, default=1000000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--data-dir", default=os.path.join(tempfile.gettempdir(),
                                                       "vigil-bench-logs"))
    ap.add_argument("--timeout", type=float, default=300.0)
    args = ap.parse_args()
    vigil = os.path.abspath(args.vigil)
    path, meta, gen_cmd = logs.data_files(args.data_dir, args.lines, args.seed)["cri"]
    logs.floor(["cat", path], "cat")  # the page cache, warmed
    rows = [grep_row(path, meta)]
    for steps, lean in ((False, False), (True, False), (True, True)):
        print("running the agent (%s%s) ..." % ("processors" if steps else "no processors",
                                               ", lean queue" if lean else ""), flush=True)
        rows.append(agent_row(vigil, path, meta, args.data_dir, args.timeout, steps, lean))
    print("\n## Parsing CRI lines (%d lines, seed %d)\n" % (args.lines, args.seed))
    print("D=%s\nCRI=$D/%s\nNGINX='%s'\n" % (args.data_dir, os.path.basename(path), NGINX))
    print_table(rows)
    grep, base, parsed = rows[:3]
    if parsed.get("status") == "ok" and grep["cpu"]:
        print("\nagent with processors / grep -cP, lines per CPU second: %.2f"
              % ((parsed["lines"] / parsed["cpu"]) / (grep["lines"] / grep["cpu"])))
        print("agent: %s nginx matches, %s json, records redacted %s; grep: %s matching lines "
              "(grep counts raw CRI lines, the agent joined partial lines first)"
              % (parsed.get("matched"), parsed.get("json"), parsed.get("redacted"),
                 grep.get("matched")))
    for r in rows:
        if r.get("note"):
            print("note (%s %s): %s" % (r["reader"], r["steps"], r["note"]))
    print("\nfile: %d lines, %d bytes, %d records; made by `%s`"
          % (meta["lines"], meta["bytes"], meta["records"], gen_cmd))
    with open(os.path.join(args.data_dir, "cri-discard-parse.yaml")) as f:
        print("\nconfig with processors:\n" + f.read().rstrip())
    sys.exit(0 if all(r.get("status") == "ok" for r in rows) else 1)


if __name__ == "__main__":
    main()
