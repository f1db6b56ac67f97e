#!/usr/bin/env python3
"""CPU and allocations of one collection of the node collector on this
host's /proc and /sys, printed as a table with the command that produced
each row. Run with `make bench`, or:

    tests/bench/node.py [--bench build/node_bench] [--collections 200]

Rows: the sub-collectors vigil had before node_exporter's netclass,
netstat, sockstat, conntrack, arp, softnet, udp_queues, time, timex, filefd,
vmstat, os and selinux families were added; those added ones; all of them; and each
added one alone. node_bench runs two warm-up collections, then
--collections collections committed to a metric store as the engine does,
CPU (user + system, getrusage) divided by the collections, and counts the
core's malloc, calloc and realloc calls.

Targets: every sub-collector together under 5 ms of CPU a collection, and
no allocation a collection in the added ones (what a collection allocates
is its store's business, which reuses series). A miss is reported as MISS,
not as a failure; the exit status is non-zero only when a row could not be
measured. Most of netclass's time is the kernel's: it reads some twenty
sysfs files per interface, as node_exporter does.
"""

import argparse
import os
import sys

from benchcmd import run_bench

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
TARGET_MS = 5.0
BEFORE = "cpu,stat,meminfo,loadavg,filesystem,netdev,diskstats,pressure,uname"
ADDED = "netclass,netstat,sockstat,conntrack,arp,softnet,udp_queues,time,timex,filefd,vmstat,os,selinux"


def run(bench, collections, subs):
    return run_bench([bench, "/proc", "/sys", "/", str(collections)] + ([subs] if subs else []))


def verdict(name, res):
    cpu = float(res["cpu_ms_per_collection"])
    allocs = float(res["allocations_per_collection"])
    if name == "all":
        return "%s (< %.0f ms)" % ("PASS" if cpu < TARGET_MS else "MISS", TARGET_MS)
    if name == "added" or name in ADDED.split(","):
        return "%s (0 allocations)" % ("PASS" if allocs == 0 else "MISS")
    return "-"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bench", default=os.environ.get("VIGIL_NODE_BENCH")
                    or os.path.join(SRC, "build", "node_bench"))
    ap.add_argument("--collections", type=int, default=200)
    args = ap.parse_args()

    rows = [("before", BEFORE), ("added", ADDED), ("all", "")]
    rows += [(s, s) for s in ADDED.split(",")]
    failed = False
    print("| sub-collectors | series | CPU ms / collection | wall ms / collection "
          "| allocations / collection | /metrics bytes | target | command |")
    print("|---|---|---|---|---|---|---|---|")
    for name, subs in rows:
        argv, res, err = run(args.bench, args.collections, subs)
        cmd = " ".join(argv)
        if res is None:
            failed = True
            print("| %s | - | - | - | - | - | not measured: %s | `%s` |" % (name, err, cmd))
            continue
        print("| %s | %s | %.3f | %.3f | %s | %s | %s | `%s` |"
              % (name, res["series"], float(res["cpu_ms_per_collection"]),
                 float(res["wall_ms_per_collection"]), res["allocations_per_collection"],
                 res["metrics_bytes"], verdict(name, res), cmd))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
