"""The node collector against the real prometheus-node-exporter on the same
machine, family by family: every family both export has the same type and
label names, the families node_exporter's default collectors have and vigil
does not are exactly the list below (printed), and the values that cannot
drift between two scrapes (boot time, total memory, the size of /, the CPUs,
uname, interface properties, disk identities, limits, the clock's
configuration, os-release) are equal; load and loopback traffic are close."""

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

# What node_exporter's default collectors export that vigil does not, and why.
# A family here that this host's node_exporter does not export is not
# expected either (hwmon, thermal, power supplies... depend on the hardware).
NOT_IN_VIGIL = {
    # node_exporter's own build; vigil reports vigil_build_info
    "node_exporter_build_info",
    # vigil's textfile collector is a collector of its own, not the node one
    "node_textfile_scrape_error",
    # promtool objects to the unit "bits" ('use base unit "bytes"'), and
    # vigil's /metrics must pass promtool
    "node_entropy_available_bits",
    "node_entropy_pool_size_bits",
}

# Families of node_exporter's default collectors that exist only on hosts
# with the hardware, driver or filesystem behind them (none on the VM this
# test was written on); vigil has none of them. Printed, not asserted.
HOST_DEPENDENT = (
    "node_bcache_", "node_bonding_", "node_btrfs_", "node_cooling_device_",
    "node_cpu_core_throttles_total", "node_cpu_frequency_", "node_cpu_package_throttles_total",
    "node_cpu_scaling_", "node_disk_ata_", "node_disk_device_mapper_info", "node_dmi_info",
    "node_edac_", "node_fibrechannel_", "node_hwmon_", "node_infiniband_", "node_ipvs_",
    "node_md_", "node_nfs_", "node_nfsd_", "node_nvme_", "node_power_supply_", "node_rapl_",
    "node_schedstat_", "node_tape_", "node_thermal_zone_", "node_xfs_", "node_zfs_",
)

# What vigil exports that node_exporter 1.5 does not: newer node_exporter
# releases added TCPOFOQueue to the default netstat fields.
NOT_IN_NODE_EXPORTER = {"node_netstat_TcpExt_TCPOFOQueue"}

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


def helps(text):
    """{family: help text} of an exposition."""
    out = {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            parts = line.split(" ", 3)
            out[parts[2]] = parts[3] if len(parts) > 3 else ""
    return out


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
    NE_TEXT = exporter.scrape_text()
    VG_TEXT = agent.metrics()
    NE_FAMILIES, NE = parse_exposition(NE_TEXT)
    VG_FAMILIES, VG = parse_exposition(VG_TEXT)
    NE_AFTER = exporter.scrape()[1]
finally:
    if exporter is not None:
        exporter.stop()
    try:
        agent.stop()
    finally:
        agent.kill()


def label_names(samples, name):
    """The label names a family's samples carry, as a set of sorted tuples."""
    return {tuple(sorted(l)) for n, l, _ in samples if n == name}


def labels_of(samples, name):
    """The label sets of a family's samples, each as a sorted tuple of pairs."""
    return sorted(tuple(sorted(l.items())) for n, l, _ in samples if n == name)


@vt.case
def families_are_node_exporters():
    ours = {name for name in VG_FAMILIES if name.startswith("node_")}
    assert len(ours) > 200, sorted(ours)
    extra = sorted(name for name in ours
                   if name not in NE_FAMILIES and name not in NOT_IN_NODE_EXPORTER)
    assert not extra, "families node_exporter does not have: %s" % extra
    common = sorted(name for name in ours if name in NE_FAMILIES)
    wrong = sorted(name for name in common if VG_FAMILIES[name] != NE_FAMILIES[name])
    assert not wrong, "types differ: %s" % [(n, VG_FAMILIES[n], NE_FAMILIES[n]) for n in wrong]
    wrong = [(n, label_names(VG, n), label_names(NE, n)) for n in common
             if label_names(VG, n) != label_names(NE, n)]
    assert not wrong, "label names differ: %s" % wrong


@vt.case
def families_missing_are_the_known_ones():
    theirs = {name for name in NE_FAMILIES if name.startswith("node_")}
    missing = sorted(theirs - set(VG_FAMILIES))
    hardware = [n for n in missing if n.startswith(HOST_DEPENDENT)]
    missing = [n for n in missing if not n.startswith(HOST_DEPENDENT)]
    print("node_exporter families vigil does not have (%d of %d): %s"
          % (len(missing), len(theirs), " ".join(missing)))
    print("and this host's hardware families (%d): %s" % (len(hardware), " ".join(hardware)))
    assert missing == sorted(NOT_IN_VIGIL & theirs), missing


@vt.case
def helps_are_node_exporters():
    ours, theirs = helps(VG_TEXT), helps(NE_TEXT)
    wrong = [(n, ours[n], theirs[n]) for n in sorted(ours)
             if n in theirs and ours[n] != theirs[n]]
    assert not wrong, wrong


@vt.case
def netclass_is_equal():
    ours = {l["device"] for n, l, _ in VG if n == "node_network_receive_nohandler_total"}
    theirs = {l["device"] for n, l, _ in NE if n == "node_network_receive_nohandler_total"}
    assert ours == theirs, (ours, theirs)
    for fam in ("node_network_mtu_bytes", "node_network_iface_id", "node_network_flags",
                "node_network_protocol_type", "node_network_speed_bytes",
                "node_network_transmit_queue_length", "node_network_address_assign_type"):
        ours = sorted((l["device"], v) for n, l, v in VG if n == fam)
        theirs = sorted((l["device"], v) for n, l, v in NE if n == fam)
        assert ours == theirs, (fam, ours, theirs)
    assert labels_of(VG, "node_network_info") == labels_of(NE, "node_network_info")
    assert labels_of(VG, "node_network_up") == labels_of(NE, "node_network_up")
    assert find(VG, "node_network_up", device="lo") == find(NE, "node_network_up", device="lo")


@vt.case
def disk_info_is_equal():
    assert labels_of(VG, "node_disk_info") == labels_of(NE, "node_disk_info")


@vt.case
def limits_and_clock_configuration_are_equal():
    for fam in ("node_filefd_maximum", "node_nf_conntrack_entries_limit", "node_timex_tick_seconds",
                "node_timex_status", "node_timex_sync_status", "node_os_version",
                "node_selinux_enabled"):
        assert find(VG, fam) == find(NE, fam), (fam, find(VG, fam), find(NE, fam))
    for fam in ("node_time_clocksource_available_info", "node_time_clocksource_current_info",
                "node_time_zone_offset_seconds", "node_os_info"):
        assert labels_of(VG, fam) == labels_of(NE, fam), fam
    assert abs(one(VG, "node_time_seconds") - one(NE, "node_time_seconds")) < 5


@vt.case
def kernel_tables_are_close():
    # counters that only grow: ours was read before the second scrape
    for fam in ("node_vmstat_pgfault", "node_netstat_Tcp_ActiveOpens", "node_netstat_Ip_Forwarding",
                "node_softnet_processed_total"):
        ours, after = sum(find(VG, fam)), sum(find(NE_AFTER, fam))
        assert ours <= after, (fam, ours, after)
    assert abs(one(VG, "node_filefd_allocated") - one(NE, "node_filefd_allocated")) < 1000
    assert {l["ip"] + l["queue"] for n, l, _ in VG if n == "node_udp_queues"} == \
        {l["ip"] + l["queue"] for n, l, _ in NE if n == "node_udp_queues"}


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
                "stat", "netclass", "netstat", "sockstat", "arp", "softnet", "udp_queues", "time",
                "timex", "filefd", "vmstat", "os", "selinux"):
        assert one(VG, "node_scrape_collector_success", collector=sub) == 1, sub
        assert one(VG, "node_scrape_collector_duration_seconds", collector=sub) >= 0, sub


vt.finish()
