"""The cgroup collector in the running agent: on this machine's own cgroup
filesystem (whatever its layout) every file is read without error and the
values are sane; on a copy of the v2 fixture tree every family is there
with cAdvisor's labels, names shared by the container log collector reach
the series, a container that goes away leaves /metrics, and promtool
accepts both expositions."""

import math
import os
import re
import shutil
import subprocess
import time

import vigiltest as vt

CONFIG = """
agent:
  state_dir: {tmp}/state
  http: { listen: "127.0.0.1:{port}" }
collectors:
  - { type: cgroup, interval: 1s, root: "%s" }
outputs:
  - { type: discard }
"""

REAL_ROOT = "/sys/fs/cgroup"
# The only promtool note allowed anywhere: node_exporter's camelCase names.
ALLOWED_PROMTOOL_NOTE = "metric names should be written in 'snake_case' not 'camelCase'"
SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$')
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
FIXTURE = os.path.join(vt.SRC, "tests", "fixtures", "cgroup", "v2_systemd")
CART = "b2" * 32
POD2 = ("kubepods.slice/kubepods-besteffort.slice/"
        "kubepods-besteffort-pod66666666_7777_4888_9999_aaaaaaaaaaaa.slice")


def samples(text):
    """[(name, labels dict, value)] of the sample lines."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE_RE.match(line)
        assert m, "not a sample line: %r" % line
        out.append((m.group(1), dict(LABEL_RE.findall(m.group(2) or "")), float(m.group(3))))
    return out


def value(text, name, **labels):
    for n, lab, v in samples(text):
        if n == name and all(lab.get(k) == want for k, want in labels.items()):
            return v
    return None


def promtool(text):
    p = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=30)
    problems = [line for line in (p.stdout + p.stderr).splitlines()
                if line.strip() and ALLOWED_PROMTOOL_NOTE not in line]
    assert not problems, "promtool: %s" % "\n".join(problems[:20])


def meminfo_bytes(field):
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def uptime_seconds():
    with open("/proc/uptime") as f:
        return float(f.read().split()[0])


real = vt.Agent(CONFIG % REAL_ROOT).start()


def real_metrics():
    """The exposition once the root cgroup's CPU is in it."""
    vt.wait_for(lambda: "container_cpu_usage_seconds_total{" in real.metrics(), 10,
                what="container_cpu_usage_seconds_total")
    return real.metrics()


@vt.case
def real_root_reads_without_error():
    text = real_metrics()
    assert value(text, "vigil_cgroup_read_errors_total") == 0, \
        [line for line in real.stderr().splitlines() if "plugin=cgroup" in line][:5]
    assert "level=warn plugin=cgroup" not in real.stderr(), real.stderr()[-2000:]
    assert "collecting containers from /sys/fs/cgroup (" in real.stderr(), real.stderr()[-2000:]


@vt.case
def real_root_values_are_sane():
    text = real_metrics()
    v2 = os.path.exists(os.path.join(REAL_ROOT, "cgroup.controllers"))
    want = ["container_cpu_usage_seconds_total", "container_cpu_user_seconds_total",
            "container_cpu_system_seconds_total", "container_memory_rss",
            "container_memory_cache"]
    if not v2:  # the root of v2 has no memory.current
        want += ["container_memory_usage_bytes", "container_memory_working_set_bytes",
                 "container_spec_cpu_period"]
    for fam in want:
        assert value(text, fam, id="/") is not None, fam
    for name, labels, v in samples(text):
        if name.startswith("container_"):
            assert math.isfinite(v) and v >= 0, (name, labels, v)
            for k in ("id", "namespace", "pod", "container", "image", "pod_uid"):
                assert k in labels, (name, labels)
    ncpu = os.cpu_count() or 1
    cpu = value(text, "container_cpu_usage_seconds_total", id="/")
    assert 0 < cpu <= uptime_seconds() * ncpu * 1.05 + 1, (cpu, uptime_seconds(), ncpu)
    user = value(text, "container_cpu_user_seconds_total", id="/")
    system = value(text, "container_cpu_system_seconds_total", id="/")
    assert user + system <= cpu * 1.1 + 1, (user, system, cpu)
    limit = meminfo_bytes("MemTotal") + meminfo_bytes("SwapTotal")
    for fam in ("container_memory_usage_bytes", "container_memory_working_set_bytes",
                "container_memory_rss", "container_memory_cache"):
        v = value(text, fam, id="/")
        assert v is None or v <= limit, (fam, v, limit)
    usage = value(text, "container_memory_usage_bytes", id="/")
    ws = value(text, "container_memory_working_set_bytes", id="/")
    assert usage is None or (0 < usage and ws <= usage), (usage, ws)


@vt.case
def real_root_counters_move_forward():
    before = value(real_metrics(), "container_cpu_usage_seconds_total", id="/")
    time.sleep(1.5)
    after = value(real.metrics(), "container_cpu_usage_seconds_total", id="/")
    assert after >= before, (before, after)


@vt.case
def real_root_passes_promtool():
    promtool(real_metrics())


real.kill()

# A copy, so that a container can be taken away while the agent runs; and
# the cart container's log under kubelet's name, from which the container
# log collector shares its names through the core.
FIXTURE_CONFIG = """
agent:
  state_dir: {tmp}/state
  http: { listen: "127.0.0.1:{port}" }
collectors:
  - { type: cgroup, interval: 1s, root: "%s" }
  - { type: container_logs, paths: ["%s/*.log"] }
outputs:
  - { type: discard }
"""
scratch = vt.Agent("").tmp
tree = os.path.join(scratch, "cgroup")
shutil.copytree(FIXTURE, tree)
logs = os.path.join(scratch, "containers")
os.makedirs(logs)
with open(os.path.join(logs, "cart-7d4b9c_shop_cart-%s.log" % CART), "w") as f:
    f.write("2026-12-02T10:00:00.000000000Z stdout F hello\n")
fixture_agent = vt.Agent(FIXTURE_CONFIG % (tree, logs)).start()


def fixture_metrics():
    vt.wait_for(lambda: "container_threads{" in fixture_agent.metrics(), 10,
                what="container_threads")
    return fixture_agent.metrics()


@vt.case
def fixture_has_every_family_with_labels():
    text = fixture_metrics()
    fams = {name for name, _, _ in samples(text)}
    for fam in ("container_cpu_usage_seconds_total", "container_cpu_user_seconds_total",
                "container_cpu_system_seconds_total", "container_cpu_cfs_periods_total",
                "container_cpu_cfs_throttled_periods_total",
                "container_cpu_cfs_throttled_seconds_total", "container_memory_usage_bytes",
                "container_memory_working_set_bytes", "container_memory_rss",
                "container_memory_cache", "container_memory_swap",
                "container_memory_mapped_file", "container_memory_failcnt",
                "container_spec_memory_limit_bytes", "container_spec_cpu_quota",
                "container_spec_cpu_period", "container_oom_events_total",
                "container_fs_reads_bytes_total", "container_fs_writes_bytes_total",
                "container_threads", "container_threads_max",
                "container_pressure_cpu_waiting_seconds_total",
                "container_pressure_cpu_stalled_seconds_total",
                "container_pressure_memory_waiting_seconds_total",
                "container_pressure_memory_stalled_seconds_total",
                "container_pressure_io_waiting_seconds_total",
                "container_pressure_io_stalled_seconds_total",
                "vigil_cgroup_read_errors_total"):
        assert fam in fams, fam
    cpu = [(lab, v) for n, lab, v in samples(text)
           if n == "container_cpu_usage_seconds_total" and CART in lab["id"]]
    assert len(cpu) == 1, cpu
    lab, v = cpu[0]
    assert v == 5.0, v
    assert lab["pod_uid"] == "11111111-2222-4333-8444-555555555555", lab
    # the fixture holds a garbage cpu.max and a missing io.stat
    assert value(text, "vigil_cgroup_read_errors_total") >= 2
    assert "cpu.max" in fixture_agent.stderr(), fixture_agent.stderr()[-2000:]


@vt.case
def names_come_from_the_container_logs():
    def cart():
        return [lab for n, lab, _ in samples(fixture_agent.metrics())
                if n == "container_memory_usage_bytes" and lab["pod_uid"].startswith("1111")]
    vt.wait_for(lambda: any(lab["container"] == "cart" for lab in cart()), 10,
                what="the cart container's names")
    by_id = {lab["id"].rsplit("/", 1)[-1]: lab for lab in cart()}
    ctr = by_id["cri-containerd-%s.scope" % CART]
    assert (ctr["namespace"], ctr["pod"], ctr["container"]) == ("shop", "cart-7d4b9c", "cart"), ctr
    pod = [lab for key, lab in by_id.items() if key.endswith("pod11111111_2222_4333_8444"
                                                             "_555555555555.slice")]
    assert len(pod) == 1, by_id.keys()
    assert (pod[0]["namespace"], pod[0]["pod"], pod[0]["container"]) == \
        ("shop", "cart-7d4b9c", ""), pod[0]
    # a container whose logs the agent does not read has empty names
    other = [lab for n, lab, _ in samples(fixture_agent.metrics())
             if n == "container_memory_usage_bytes" and "crio-" in lab["id"]]
    assert other and other[0]["namespace"] == "" and other[0]["container"] == "", other


@vt.case
def fixture_passes_promtool():
    promtool(fixture_metrics())


@vt.case
def an_exited_pod_leaves_metrics():
    text = fixture_metrics()
    assert "crio-" + "c3" * 32 in text
    shutil.rmtree(os.path.join(tree, POD2))
    vt.wait_for(lambda: "kubepods-besteffort-pod" not in fixture_agent.metrics(), 10,
                what="the besteffort pod's series to go")
    assert CART in fixture_agent.metrics()


fixture_agent.kill()
vt.finish()
