"""The gpu_amd collector in the running agent, over a copy of the fixture
tree tests/fixtures/sysfs_amd: values on /metrics equal the files' under
the gpu_nvml collector's names and units, promtool passes, a card of
garbage files leaves only gpu_up 0 and one rate-limited warning naming the
files, a value that changes or turns to garbage is followed at the next
collection, a missing drm folder says so in one info line with
vigil_gpu_backend_up 0, gpu_nvml (against the fake NVML library) and
gpu_amd on one node share their families, and an empty sysfs_root is
refused by --check-config."""

import os
import shutil
import subprocess
import time

import vigiltest as vt

FIXTURE = os.path.join(vt.SRC, "tests", "fixtures", "sysfs_amd")

CONFIG = """
agent:
  node_name: amd-node-1
  state_dir: {tmp}/state
  http: { listen: "127.0.0.1:{port}" }
collectors:
  - { type: gpu_amd, name: amd, interval: 1s, sysfs_root: "%s" }
outputs:
  - { type: discard }
"""

MI = {"gpu": "0", "uuid": "a1b2c3d4e5f60718", "name": "AMD Instinct MI250X",
      "pci_bus_id": "0000:03:00.0", "node": "amd-node-1"}
RX = {"gpu": "1", "uuid": "", "name": "AMD GPU 0x744c", "pci_bus_id": "0000:0c:00.0",
      "node": "amd-node-1"}
BROKEN = {"gpu": "2", "pci_bus_id": "0000:44:00.0"}


def amd_agent(root):
    return vt.Agent(CONFIG % root)


def value(agent, metric, /, **labels):
    return agent.metric_value(metric, labels)


def close(got, want):
    return got is not None and abs(got - want) <= 1e-9 * max(1.0, abs(want))


def warnings(agent):
    return [l for l in agent.stderr().splitlines()
            if "level=warn" in l and "plugin=gpu_amd" in l]


agent = amd_agent("{tmp}/sys")
root = os.path.join(agent.tmp, "sys")
shutil.copytree(FIXTURE, root, symlinks=True)
agent.start()
vt.wait_for(lambda: value(agent, "gpu_up", gpu="2") is not None, 10, what="gpu_up of GPU 2")


@vt.case
def values_equal_the_files():
    expect = [
        (MI, "gpu_up", 1), (MI, "gpu_utilization_ratio", 0.87),
        (MI, "gpu_memory_utilization_ratio", 0.42),
        (MI, "gpu_memory_total_bytes", 68702699520), (MI, "gpu_memory_used_bytes", 34359738368),
        (MI, "gpu_memory_free_bytes", 68702699520 - 34359738368),
        (MI, "gpu_temperature_celsius", 45), (MI, "gpu_junction_temperature_celsius", 52),
        (MI, "gpu_memory_temperature_celsius", 48), (MI, "gpu_power_draw_watts", 301),
        (MI, "gpu_power_limit_watts", 560), (MI, "gpu_pcie_link_transfers_per_second", 16e9),
        (MI, "gpu_pcie_link_width", 16), (MI, "gpu_gtt_used_bytes", 12582912),
        (MI, "gpu_visible_vram_used_bytes", 1073741824),
        (RX, "gpu_up", 1), (RX, "gpu_utilization_ratio", 0.03),
        (RX, "gpu_power_draw_watts", 25), (RX, "gpu_power_limit_watts", 327),
        (RX, "gpu_fan_speed_ratio", 64 / 255), (RX, "gpu_fan_speed_rpm", 1200),
        (RX, "gpu_temperature_celsius", 38), (RX, "gpu_memory_temperature_celsius", 44),
        (RX, "gpu_visible_vram_total_bytes", 268435456),
        (RX, "gpu_pcie_link_transfers_per_second", 8e9),
        (BROKEN, "gpu_up", 0),
    ]
    for labels, name, want in expect:
        got = value(agent, name, **labels)
        assert close(got, want), "%s%r: %r, want %r" % (name, labels, got, want)
    assert value(agent, "vigil_gpu_backend_up", backend="amdgpu") == 1
    assert value(agent, "vigil_collector_success", collector="amd") == 1


@vt.case
def garbage_leaves_only_gpu_up_and_no_other_card():
    text = agent.metrics()
    broken = [l for l in text.splitlines() if 'pci_bus_id="0000:44:00.0"' in l]
    assert len(broken) == 1 and broken[0].startswith("gpu_up{"), broken
    assert "0000:00:02.0" not in text, "the Intel card is no amdgpu GPU"
    assert value(agent, "gpu_fan_speed_ratio", gpu="0") is None, "the MI250X has no fan"


def metrics_pass_promtool(text=None):
    text = text if text is not None else agent.metrics()
    p = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=30)
    problems = [l for l in (p.stdout + p.stderr).splitlines() if l.strip()]
    assert p.returncode == 0 and not problems, "promtool: %s" % "\n".join(problems[:20])


vt.case(metrics_pass_promtool)


@vt.case
def one_warning_a_minute_names_the_bad_files():
    time.sleep(3.5)  # three more collections, all with the same bad files
    lines = warnings(agent)
    assert len(lines) == 1, lines
    for want in ("values left out, in %s: " % os.path.join(root, "class", "drm"),
                 "card2/device/gpu_busy_percent: not a whole number;",
                 "card2/device/mem_busy_percent: empty",
                 "card2/device/mem_info_vram_used: too large (2^64 or more)",
                 "card2/device/mem_info_vram_total: out of range",
                 "card2/device/product_name: Is a directory",
                 "; and 7 more"):
        assert want in lines[0], "%r not in %s" % (want, lines[0])


@vt.case
def changes_are_followed_at_the_next_collection():
    busy = os.path.join(root, "devices", "pci0000:00", "0000:03:00.0", "gpu_busy_percent")
    with open(busy, "w") as f:
        f.write("12\n")
    vt.wait_for(lambda: close(value(agent, "gpu_utilization_ratio", gpu="0"), 0.12), 10,
                what="gpu_utilization_ratio 0.12")
    with open(busy, "w") as f:
        f.write("12 percent\n")
    vt.wait_for(lambda: value(agent, "gpu_up", gpu="0") == 0, 10, what="gpu_up 0 of GPU 0")
    assert value(agent, "gpu_utilization_ratio", gpu="0") is None
    assert value(agent, "gpu_temperature_celsius", gpu="0") == 45, "the other files still count"
    with open(busy, "w") as f:
        f.write("87\n")
    vt.wait_for(lambda: value(agent, "gpu_up", gpu="0") == 1, 10, what="gpu_up 1 again")


@vt.case
def a_missing_drm_folder_is_one_info_line():
    with amd_agent("/nonexistent/vigil-sys") as a:
        vt.wait_for(lambda: value(a, "vigil_gpu_backend_up", backend="amdgpu") == 0, 10,
                    what="vigil_gpu_backend_up 0")
        time.sleep(2.5)
        lines = [l for l in a.stderr().splitlines() if "/nonexistent/vigil-sys/class/drm" in l]
        started = [l for l in lines if "collecting amdgpu GPUs" in l]
        said = [l for l in lines if "level=info" in l and "no amdgpu GPUs" in l]
        assert len(started) == 1 and len(said) == 1, lines
        assert not warnings(a), warnings(a)
        assert value(a, "vigil_collector_success", collector="amd") == 1
        assert "gpu_up" not in a.metrics()
        assert a.stop()[0] == 0


FAKE_NVML = os.environ.get("VIGIL_FAKE_NVML") or os.path.join(vt.SRC, "build",
                                                              "libfake_nvml.so")
NVML_SCENARIO = """
gpu 0
name NVIDIA H100 80GB HBM3
uuid GPU-11111111-aaaa-bbbb-cccc-000000000000
bus 00000000:3B:00.0
util 45 30
temp 61
"""


@vt.case
def both_vendors_share_one_family_on_a_mixed_node():
    # gpu_nvml against the fake NVML library next to gpu_amd: one HELP and
    # TYPE per family, the GPUs told apart by pci_bus_id, promtool clean
    config = (CONFIG % os.path.join(agent.tmp, "sys")).replace(
        "outputs:", '  - { type: gpu_nvml, interval: 1s, library: "%s" }\noutputs:' % FAKE_NVML)
    mixed = vt.Agent(config)
    scenario = os.path.join(mixed.tmp, "scenario.txt")
    with open(scenario, "w") as f:
        f.write(NVML_SCENARIO)
    mixed.env["FAKE_NVML_SCENARIO"] = scenario
    with mixed:
        vt.wait_for(lambda: value(mixed, "gpu_temperature_celsius",
                                  pci_bus_id="00000000:3B:00.0") == 61, 10, what="NVIDIA GPU")
        vt.wait_for(lambda: value(mixed, "gpu_temperature_celsius",
                                  pci_bus_id="0000:03:00.0") == 45, 10, what="AMD GPU")
        text = mixed.metrics()
        assert text.count("# TYPE gpu_temperature_celsius ") == 1, text
        assert text.count("# HELP gpu_utilization_ratio ") == 1, text
        assert value(mixed, "vigil_gpu_backend_up", backend="nvml") == 1
        assert value(mixed, "vigil_gpu_backend_up", backend="amdgpu") == 1
        metrics_pass_promtool(text)
        assert mixed.stop()[0] == 0


@vt.case
def check_config_refuses_an_empty_sysfs_root():
    path = os.path.join(agent.tmp, "empty-root.yaml")
    with open(path, "w") as f:
        f.write("collectors:\n  - { type: gpu_amd, sysfs_root: \"\" }\n")
    p = vt.run_vigil(["--check-config", path])
    assert p.returncode != 0, p
    assert "empty-root.yaml:2" in p.stderr and "sysfs_root" in p.stderr, p.stderr


@vt.case
def agent_stops_cleanly():
    rc, took = agent.stop()
    assert rc == 0 and took < 5, (rc, took)


vt.finish()
