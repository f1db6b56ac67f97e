"""Memory: one collect of very short lines must not turn into a gigabyte of
records. The memory a collector's records may hold (sealed and not yet
acknowledged, plus the open batch) is bounded by queue_max_bytes, whatever
the line length; peak RSS stays under 32 MiB for the inputs below.

Run alone: VIGIL_BIN=build/vigil /usr/bin/python3 tests/integration/test_hostile_memory.py"""

import os

import vigiltest as vt

PEAK_MAX_KB = 32 * 1024
POD = "web-7d9f_default_app-" + "ab" * 32 + ".log"  # kubelet's name: pod, namespace, container


def run_case(what, line, count, kubernetes):
    a = vt.Agent("""agent:
  state_dir: {tmp}/state
  http: { listen: "127.0.0.1:{port}" }
collectors:
  - type: container_logs
    paths: ['{tmp}/containers/*.log']
    format: raw
    kubernetes: %s
outputs:
  - { type: discard }
""" % ("true" if kubernetes else "false"))
    os.mkdir(os.path.join(a.tmp, "containers"))
    with open(os.path.join(a.tmp, "containers", POD), "wb") as f:
        f.write(line * count)
    a.start()
    try:
        vt.wait_for(lambda: a.metric_value("vigil_input_acked_records_total") == count,
                    timeout=120, step=0.2, what="%d records acknowledged" % count)
        peak = vt.proc_status(a.proc.pid, "VmHWM") // 1024
        print("   %-40s %d records, peak RSS %.1f MiB (bound %d MiB)"
              % (what, count, peak / 1024.0, PEAK_MAX_KB // 1024))
        assert peak < PEAK_MAX_KB, "peak RSS %d kB" % peak
    finally:
        a.stop()


@vt.case
def three_million_empty_lines_with_kubernetes_fields():
    run_case('3,000,000 x "\\n", kubernetes fields', b"\n", 3000000, True)


@vt.case
def three_million_one_byte_lines_with_kubernetes_fields():
    run_case('3,000,000 x "x\\n", kubernetes fields', b"x\n", 3000000, True)


@vt.case
def five_million_one_byte_lines_without_kubernetes_fields():
    run_case('5,000,000 x "x\\n", no kubernetes fields', b"x\n", 5000000, False)


vt.finish()
