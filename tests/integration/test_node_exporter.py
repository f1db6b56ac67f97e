"""The node collector against the real prometheus-node-exporter on the same
machine: the families it emits are node_exporter's, and the values that
cannot drift between two scrapes (boot time, total memory, the size of /,
the CPUs, uname) are equal; load and loopback traffic are close."""

import os
import re
import shutil
import subprocess
import time

import vigiltest as vt

NODE_EXPORTER = shutil.which("prometheus-node-exporter") or "/usr/bin/prometheus-node-exporter"

CONFIG = """
agent:
  state_dir: {tmp}/state
  http: { listen: "127.0.0.1:{port}" }
collectors:
  - { type: node, interval: 1s }
"""

LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_exposition(text):
    """(families {name: type}, samples [(name, labels dict, value)])."""
    families, samples = {}, []
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ", 3)
            families[name] = typ
            continue
        if not line or line.startswith("#"):
            continue
        head, value = line.rsplit(" ", 1)
        if "{" in head:
            name, rest = head.split("{", 1)
            labels = dict(LABEL_RE.findall(rest[:-1]))
        else:
            name, labels = head, {}
        samples.append((name, labels, float(value)))
    return families, samples


def find(samples, name, **labels):
    """Values of the samples named name whose labels include labels."""
    return [v for n, l, v in samples
            if n == name and all(l.get(k) == want for k, want in labels.items())]


def one(samples, name, **labels):
    values = find(samples, name, **labels)
    assert len(values) == 1, "%s%r: %d samples" % (name, labels, len(values))
    return values[0]


class NodeExporter:
    """prometheus-node-exporter on a free loopback port, stopped by PID.
    netdev's Debian default excludes lo; lo is what both can compare."""

    def __init__(self):
        assert os.access(NODE_EXPORTER, os.X_OK), "%s not found" % NODE_EXPORTER
        self.port = vt.free_port()
        self.log = open(os.path.join(agent.tmp, "node_exporter.log"), "ab")
        self.proc = subprocess.Popen(
            [NODE_EXPORTER, "--web.listen-address=127.0.0.1:%d" % self.port,
             "--collector.netdev.device-exclude=^$"],
            stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL)
        vt.wait_for(lambda: self.proc.poll() is None and self.scrape_text(),
                    15, what="node_exporter /metrics")

    def scrape_text(self):
        status, _, body = vt.http_get("http://127.0.0.1:%d/metrics" % self.port)
        return body.decode() if status == 200 else None

    def scrape(self):
        return parse_exposition(self.scrape_text())

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()


agent = vt.Agent(CONFIG)
exporter = None
try:
    agent.start()
    exporter = NodeExporter()
    vt.wait_for(lambda: "node_cpu_seconds_total{" in agent.metrics(), 10,
                what="the node collector's first collection")
    time.sleep(1.5)  # a fresh collection, close in time to the scrapes below
    NE_FAMILIES, NE = exporter.scrape()
    VG_FAMILIES, VG = parse_exposition(agent.metrics())
    NE_AFTER = exporter.scrape()[1]
finally:
    if exporter is not None:
        exporter.stop()
    try:
        agent.stop()
    finally:
        agent.kill()


@vt.case
def families_are_node_exporters():
    ours = {name for name in VG_FAMILIES if name.startswith("node_")}
    assert len(ours) > 40, sorted(ours)
    extra = sorted(name for name in ours if name not in NE_FAMILIES)
    assert not extra, "families node_exporter does not have: %s" % extra
    wrong = sorted(name for name in ours if VG_FAMILIES[name] != NE_FAMILIES[name])
    assert not wrong, "types differ: %s" % [(n, VG_FAMILIES[n], NE_FAMILIES[n]) for n in wrong]


@vt.case
def boot_time_is_equal():
    assert one(VG, "node_boot_time_seconds") == one(NE, "node_boot_time_seconds")


@vt.case
def memtotal_is_equal():
    assert one(VG, "node_memory_MemTotal_bytes") == one(NE, "node_memory_MemTotal_bytes")


@vt.case
def root_filesystem_size_is_equal():
    ours = find(VG, "node_filesystem_size_bytes", mountpoint="/")
    theirs = find(NE, "node_filesystem_size_bytes", mountpoint="/")
    # "/" on overlay (a container) is excluded by both
    assert ours == theirs, (ours, theirs)


@vt.case
def cpu_labels_are_equal():
    ours = {l["cpu"] for n, l, _ in VG if n == "node_cpu_seconds_total"}
    theirs = {l["cpu"] for n, l, _ in NE if n == "node_cpu_seconds_total"}
    assert ours and ours == theirs, (sorted(ours), sorted(theirs))
    modes = {l["mode"] for n, l, _ in VG if n == "node_cpu_seconds_total"}
    assert modes <= {l["mode"] for n, l, _ in NE if n == "node_cpu_seconds_total"}, modes


@vt.case
def load1_is_close():
    assert abs(one(VG, "node_load1") - one(NE, "node_load1")) <= 1.0


@vt.case
def loopback_traffic_is_close():
    ours = one(VG, "node_network_receive_bytes_total", device="lo")
    before = one(NE, "node_network_receive_bytes_total", device="lo")
    after = one(NE_AFTER, "node_network_receive_bytes_total", device="lo")
    # our value was read up to an interval before the first scrape, and the
    # scrapes themselves travel over lo
    slack = max(4 << 20, 0.01 * after)
    assert before - slack <= ours <= after + slack, (before, ours, after)


@vt.case
def uname_labels_are_equal():
    ours = [l for n, l, _ in VG if n == "node_uname_info"]
    theirs = [l for n, l, _ in NE if n == "node_uname_info"]
    assert len(ours) == 1 and ours == theirs, (ours, theirs)


@vt.case
def scrape_health_is_reported():
    for sub in ("cpu", "meminfo", "loadavg", "filesystem", "netdev", "diskstats", "uname",
                "stat"):
        assert one(VG, "node_scrape_collector_success", collector=sub) == 1, sub
        assert one(VG, "node_scrape_collector_duration_seconds", collector=sub) >= 0, sub


vt.finish()
