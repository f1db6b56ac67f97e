#!/usr/bin/env python3
"""CPU of one collection of the cgroup collector over a node of 500
containers, printed as a table with the command that produced each row.
Run with `make bench`, or:

    tests/bench/cgroup.py [--bench build/cgroup_bench] [--containers 500]
                          [--collections 50] [--keep]

Builds two trees under $TMPDIR (removed afterwards unless --keep), each
with the files the kernel shows for every cgroup, values varying:

1. v2, kubelet's systemd driver: containerd containers, two per pod, in
   the burstable and besteffort slices;
2. v1, kubelet's cgroupfs driver: the same under cpu, cpuacct, memory,
   blkio and pids.

then runs cgroup_bench on each: one warm-up collection, then
--collections collections committed to a metric store as the engine does,
CPU (user + system, getrusage) divided by the collections. Beside each, the
floor: `cgroup_bench ROOT N floor` opens, reads and closes every file of the
tree once per pass and nothing else, what the kernel alone costs here.

Target: 500 containers collected in under 50 ms of CPU. A miss is reported
as MISS, not as a failure; the exit status is non-zero only when a row could
not be measured. The trees live on whatever filesystem holds $TMPDIR, not
on cgroupfs: the kernel's own cost of generating memory.stat is not in the
figure.
"""

import argparse
import os
import shutil
import sys
import tempfile

from benchcmd import run_bench

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
TARGET_MS = 50.0


def put(path, text):
    with open(path, "w") as f:
        f.write(text)


def v2_files(d, k):
    os.makedirs(d, exist_ok=True)
    put(os.path.join(d, "cpu.stat"),
        "usage_usec %d\nuser_usec %d\nsystem_usec %d\ncore_sched.force_idle_usec 0\n"
        "nr_periods %d\nnr_throttled %d\nthrottled_usec %d\nnr_bursts 0\nburst_usec 0\n"
        % (k * 1000, k * 600, k * 400, k, k // 2, k * 10))
    put(os.path.join(d, "cpu.max"), "max 100000\n" if k % 2 else "%d 100000\n" % (k * 10))
    put(os.path.join(d, "memory.current"), "%d\n" % (k * 4096))
    stat = ["anon %d" % (k * 2048), "file %d" % (k * 1024), "kernel %d" % k,
            "kernel_stack 16384", "pagetables 4096", "sec_pagetables 0", "percpu 0",
            "sock 0", "vmalloc 0", "shmem 0", "zswap 0", "zswapped 0",
            "file_mapped %d" % (k * 512), "file_dirty 0", "file_writeback 0",
            "swapcached 0", "anon_thp 0", "file_thp 0", "shmem_thp 0",
            "inactive_anon %d" % k, "active_anon %d" % k, "inactive_file %d" % (k * 256),
            "active_file %d" % k, "unevictable 0", "slab_reclaimable 0",
            "slab_unreclaimable 0", "slab 0", "workingset_refault_anon 0",
            "workingset_refault_file 0", "workingset_activate_anon 0",
            "workingset_activate_file 0", "workingset_restore_anon 0",
            "workingset_restore_file 0", "workingset_nodereclaim 0", "pgscan 0",
            "pgsteal 0", "pgscan_kswapd 0", "pgscan_direct 0", "pgsteal_kswapd 0",
            "pgsteal_direct 0", "pgfault %d" % k, "pgmajfault 0", "pgrefill 0",
            "pgactivate 0", "pgdeactivate 0", "pglazyfree 0", "pglazyfreed 0",
            "thp_fault_alloc 0", "thp_collapse_alloc 0"]
    put(os.path.join(d, "memory.stat"), "\n".join(stat) + "\n")
    put(os.path.join(d, "memory.max"), "max\n" if k % 3 else "%d\n" % (k * 1048576))
    put(os.path.join(d, "memory.swap.current"), "0\n")
    put(os.path.join(d, "memory.events"), "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n"
        "oom_group_kill 0\n")
    put(os.path.join(d, "io.stat"), "8:0 rbytes=%d wbytes=%d rios=1 wios=2 dbytes=0 dios=0\n"
        "259:0 rbytes=%d wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n" % (k * 4096, k * 8192, k))
    put(os.path.join(d, "pids.current"), "%d\n" % (k % 50 + 1))
    put(os.path.join(d, "pids.max"), "max\n")
    for res in ("cpu", "memory", "io"):
        put(os.path.join(d, res + ".pressure"),
            "some avg10=0.00 avg60=0.00 avg300=0.00 total=%d\n"
            "full avg10=0.00 avg60=0.00 avg300=0.00 total=%d\n" % (k * 7, k * 3))


def v1_files(root, rel, k):
    def f(ctl, name, text):
        d = os.path.join(root, ctl, rel)
        os.makedirs(d, exist_ok=True)
        put(os.path.join(d, name), text)
    f("cpuacct", "cpuacct.usage", "%d\n" % (k * 1000000))
    f("cpuacct", "cpuacct.stat", "user %d\nsystem %d\n" % (k, k // 2))
    f("cpu", "cpu.stat", "nr_periods %d\nnr_throttled 0\nthrottled_time 0\nnr_bursts 0\n"
      "burst_time 0\n" % k)
    f("cpu", "cpu.cfs_quota_us", "-1\n")
    f("cpu", "cpu.cfs_period_us", "100000\n")
    f("memory", "memory.usage_in_bytes", "%d\n" % (k * 4096))
    keys = ["cache", "rss", "rss_huge", "shmem", "mapped_file", "dirty", "writeback", "swap",
            "pgpgin", "pgpgout", "pgfault", "pgmajfault", "inactive_anon", "active_anon",
            "inactive_file", "active_file", "unevictable"]
    stat = ["%s %d" % (key, k) for key in keys] + ["hierarchical_memory_limit 9223372036854771712"]
    stat += ["total_%s %d" % (key, k * 64) for key in keys]
    f("memory", "memory.stat", "\n".join(stat) + "\n")
    f("memory", "memory.limit_in_bytes", "9223372036854771712\n")
    f("memory", "memory.failcnt", "0\n")
    f("memory", "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n")
    f("blkio", "blkio.throttle.io_service_bytes_recursive",
      "8:0 Read %d\n8:0 Write %d\n8:0 Sync 0\n8:0 Async 0\n8:0 Discard 0\n8:0 Total 0\n"
      "Total 0\n" % (k * 4096, k))
    f("pids", "pids.current", "%d\n" % (k % 50 + 1))
    f("pids", "pids.max", "max\n")


def uid(i):
    return "%08x-0000-4000-8000-%012x" % (i, i)


def build_v2(root, containers):
    put(os.path.join(root, "cgroup.controllers"), "cpu io memory pids\n")
    for p in range((containers + 1) // 2):
        qos = "burstable" if p % 2 else "besteffort"
        pod = os.path.join(root, "kubepods.slice", "kubepods-%s.slice" % qos,
                           "kubepods-%s-pod%s.slice" % (qos, uid(p).replace("-", "_")))
        v2_files(pod, p + 1)
        for c in range(2):
            n = 2 * p + c
            if n < containers:
                v2_files(os.path.join(pod, "cri-containerd-%064x.scope" % (n + 1)), n + 1)


def build_v1(root, containers):
    for p in range((containers + 1) // 2):
        qos = "burstable" if p % 2 else "besteffort"
        pod = os.path.join("kubepods", qos, "pod" + uid(p))
        v1_files(root, pod, p + 1)
        for c in range(2):
            n = 2 * p + c
            if n < containers:
                v1_files(root, os.path.join(pod, "%064x" % (n + 1)), n + 1)


def run(bench, root, collections, floor=False):
    return run_bench([bench, root, str(collections)] + (["floor"] if floor else []))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bench", default=os.environ.get("VIGIL_CGROUP_BENCH")
                    or os.path.join(SRC, "build", "cgroup_bench"))
    ap.add_argument("--containers", type=int, default=500)
    ap.add_argument("--collections", type=int, default=50)
    ap.add_argument("--keep", action="store_true", help="keep the trees")
    args = ap.parse_args()

    top = tempfile.mkdtemp(prefix="vigil-bench-cgroup-")
    failed = False
    try:
        trees = [("v2, systemd driver", os.path.join(top, "v2"), build_v2),
                 ("v1, cgroupfs driver", os.path.join(top, "v1"), build_v1)]
        print("| layout | containers | series | CPU ms / collection | wall ms / collection "
              "| allocations / collection | /metrics bytes | render ms | target | command |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for name, root, build in trees:
            os.makedirs(root)
            build(root, args.containers)
            for floor in (False, True):
                argv, res, err = run(args.bench, root, args.collections, floor)
                cmd = " ".join(argv)
                what = name + (", floor (read the files only)" if floor else "")
                if res is None:
                    failed = True
                    print("| %s | %d | - | - | - | - | - | - | not measured: %s | `%s` |"
                          % (what, args.containers, err, cmd))
                    continue
                cpu = float(res["cpu_ms_per_collection"])
                verdict = "PASS" if cpu < TARGET_MS else "MISS"
                print("| %s | %d | %s | %.2f | %.2f | %s | %s | %s | %s | `%s` |"
                      % (what, args.containers,
                         res["files"] + " files" if floor else res["series"], cpu,
                         float(res["wall_ms_per_collection"]),
                         res.get("allocations_per_collection", "-"),
                         res.get("metrics_bytes", "-"), res.get("render_ms", "-"),
                         "-" if floor else "%s (< %.0f ms)" % (verdict, TARGET_MS), cmd))
    finally:
        if args.keep:
            print("trees kept in %s" % top)
        else:
            shutil.rmtree(top, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
