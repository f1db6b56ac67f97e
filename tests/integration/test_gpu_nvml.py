"""The gpu_nvml collector in the running agent, against the fake NVML
library (tests/fake_nvml) driven by a scenario file: values on /metrics
equal the scenario's under Prometheus names and under dcgm-exporter's,
NOT_SUPPORTED drops only that series, a lost GPU shows gpu_up 0, GPU
processes are mapped to pods, promtool passes, a hanging NVML call fails
its collection within the deadline while the agent and another collector
go on, and a missing library or driver says so in one line."""

import os
import subprocess
import time

import vigiltest as vt

FAKE = os.environ.get("VIGIL_FAKE_NVML") or os.path.join(vt.SRC, "build", "libfake_nvml.so")
FAKE_V1 = os.environ.get("VIGIL_FAKE_NVML_V1") or os.path.join(vt.SRC, "build",
                                                                "libfake_nvml_v1.so")
PROC = os.path.join(vt.SRC, "tests", "fixtures", "gpu_nvml", "proc")
IDS = {"a": "aaaa" + "0" * 59 + "1", "b": "bbbb" + "0" * 59 + "2", "c": "cccc" + "0" * 59 + "3"}

SCENARIO = """
driver 550.54.15
cuda 12040
gpu 0
name NVIDIA H100 80GB HBM3
uuid GPU-11111111-aaaa-bbbb-cccc-000000000000
bus 00000000:3B:00.0
minor 0
util 45 30
memory 85899345920 10737418240
temp 61
power 350500
power_limit 700000
energy 123456789
clock_sm 1980
clock_mem 2619
throttle 5            # gpu_idle, sw_power_cap
ecc 2 1
retired 3 1
remapped 4 0
pcie 2048 1024
fan 40
proc 4242 1073741824
gpu 1
name NVIDIA H100 80GB HBM3
uuid GPU-22222222-aaaa-bbbb-cccc-000000000000
bus 00000000:86:00.0
minor 3
util 5 1
memory 85899345920 2147483648
temp 40
power 90000
power_limit 700000
energy 5000
clock_sm 1410
clock_mem 2619
fan 0
unsupported fan
proc 5151 536870912
proc 5252 268435456
proc 6000 1048576
"""

CONFIG = """
agent:
  node_name: gpu-node-1
  state_dir: {tmp}/state
  http: { listen: "127.0.0.1:{port}" }
collectors:
  - { type: gpu_nvml, name: gpu, interval: 1s, timeout: 1s, library: "%(lib)s",
      naming: %(naming)s, proc_root: "%(proc)s" }
  - { type: container_logs, paths: ["{tmp}/containers/*.log"] }
  - { type: generator, rate: 50 }
outputs:
  - { type: discard }
"""

PODS = [("train-0", "ml", "trainer", "a"), ("infer-0", "ml", "server", "b"),
        ("infer-1", "web", "server", "c")]


def gpu_agent(naming="prometheus", lib=FAKE, scenario=SCENARIO):
    """An agent with the collector, the kubelet log names of PODS and the scenario."""
    agent = vt.Agent(CONFIG % {"lib": lib, "naming": naming, "proc": PROC})
    os.makedirs(os.path.join(agent.tmp, "containers"))
    for pod, ns, ctr, key in PODS:
        name = "%s_%s_%s-%s.log" % (pod, ns, ctr, IDS[key])
        with open(os.path.join(agent.tmp, "containers", name), "w") as f:
            f.write("2026-12-02T10:00:00.000000000Z stdout F started\n")
    agent.scenario = os.path.join(agent.tmp, "scenario.txt")
    write_scenario(agent, scenario)
    agent.env["FAKE_NVML_SCENARIO"] = agent.scenario
    return agent


def write_scenario(agent, text):
    tmp = agent.scenario + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, agent.scenario)


def value(agent, metric, /, **labels):
    return agent.metric_value(metric, labels)


def wait_value(agent, metric, want, /, timeout=10.0, **labels):
    return vt.wait_for(lambda: value(agent, metric, **labels) == want, timeout,
                       what="%s%r == %r" % (metric, labels, want))


agent = gpu_agent().start()
wait_value(agent, "gpu_up", 1, gpu="1")


@vt.case
def values_equal_the_scenario():
    g0 = {"gpu": "0", "uuid": "GPU-11111111-aaaa-bbbb-cccc-000000000000",
          "name": "NVIDIA H100 80GB HBM3", "pci_bus_id": "00000000:3B:00.0", "node": "gpu-node-1"}
    expect = [("gpu_up", {}, 1), ("gpu_utilization_ratio", {}, 0.45),
              ("gpu_memory_utilization_ratio", {}, 0.30),
              ("gpu_memory_total_bytes", {}, 85899345920),
              ("gpu_memory_used_bytes", {}, 10737418240),
              ("gpu_memory_free_bytes", {}, 85899345920 - 10737418240),
              ("gpu_temperature_celsius", {}, 61), ("gpu_power_draw_watts", {}, 350.5),
              ("gpu_power_limit_watts", {}, 700), ("gpu_energy_joules_total", {}, 123456.789),
              ("gpu_sm_clock_hertz", {}, 1980e6), ("gpu_memory_clock_hertz", {}, 2619e6),
              ("gpu_clock_throttle_reason", {"reason": "gpu_idle"}, 1),
              ("gpu_clock_throttle_reason", {"reason": "sw_power_cap"}, 1),
              ("gpu_clock_throttle_reason", {"reason": "hw_slowdown"}, 0),
              ("gpu_ecc_errors_total", {"type": "corrected"}, 2),
              ("gpu_ecc_errors_total", {"type": "uncorrected"}, 1),
              ("gpu_retired_pages", {"cause": "multiple_single_bit_ecc"}, 3),
              ("gpu_retired_pages", {"cause": "double_bit_ecc"}, 1),
              ("gpu_remapped_rows", {"error": "correctable"}, 4),
              ("gpu_pcie_throughput_bytes_per_second", {"direction": "tx"}, 2048 * 1024),
              ("gpu_pcie_throughput_bytes_per_second", {"direction": "rx"}, 1024 * 1024),
              ("gpu_fan_speed_ratio", {}, 0.40),
              ("gpu_info", {"driver_version": "550.54.15", "cuda_version": "12.4"}, 1),
              ("vigil_gpu_backend_up", {}, 1)]
    for name, extra, want in expect:
        labels = dict(g0, **extra) if name != "vigil_gpu_backend_up" else {"backend": "nvml"}
        got = value(agent, name, **labels)
        assert got is not None and abs(got - want) < 1e-9 * max(1, abs(want)), \
            "%s%r: %r, want %r" % (name, labels, got, want)
    text = agent.metrics()
    assert "# TYPE gpu_energy_joules_total counter" in text
    assert "# TYPE gpu_ecc_errors_total counter" in text
    assert value(agent, "vigil_collector_success", collector="gpu") == 1


@vt.case
def not_supported_drops_only_that_series():
    assert value(agent, "gpu_fan_speed_ratio", gpu="0") == 0.40
    assert value(agent, "gpu_fan_speed_ratio", gpu="1") is None, "fan of GPU 1 is NOT_SUPPORTED"
    assert value(agent, "gpu_temperature_celsius", gpu="1") == 40
    assert value(agent, "gpu_up", gpu="1") == 1


@vt.case
def gpu_processes_map_to_pods():
    vt.wait_for(lambda: value(agent, "container_gpu_memory_used_bytes", pod="infer-1"),
                10, what="container_gpu_memory_used_bytes of infer-1")
    assert value(agent, "container_gpu_memory_used_bytes", namespace="ml", pod="train-0",
                 container="trainer", gpu="0") == 1073741824
    assert value(agent, "container_gpu_memory_used_bytes", namespace="ml", pod="infer-0",
                 container="server", gpu="1") == 536870912
    assert value(agent, "container_gpu_memory_used_bytes", namespace="web", pod="infer-1",
                 gpu="1", uuid="GPU-22222222-aaaa-bbbb-cccc-000000000000") == 268435456
    # GPU 0 is train-0's alone: its series carry the pod; GPU 1 is shared
    assert value(agent, "gpu_utilization_ratio", gpu="0", namespace="ml", pod="train-0",
                 container="trainer") == 0.45
    lines = [l for l in agent.metrics().splitlines() if l.startswith("gpu_utilization_ratio{")]
    g1 = [l for l in lines if 'gpu="1"' in l]
    assert len(g1) == 1 and "pod=" not in g1[0], g1


@vt.case
def an_older_library_lists_processes_with_the_first_struct():
    # no nvmlDeviceGetComputeRunningProcesses_v3: the first call, 16-byte entries
    with gpu_agent(lib=FAKE_V1) as a:
        want = [("train-0", "0", 1073741824), ("infer-0", "1", 536870912),
                ("infer-1", "1", 268435456)]
        for pod, gpu, used in want:
            wait_value(a, "container_gpu_memory_used_bytes", used, pod=pod, gpu=gpu)
        assert value(a, "gpu_utilization_ratio", gpu="0", pod="train-0") == 0.45


@vt.case
def metrics_pass_promtool():
    text = agent.metrics()
    assert "gpu_clock_throttle_reason{" in text
    p = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=30)
    problems = [l for l in (p.stdout + p.stderr).splitlines() if l.strip()]
    assert p.returncode == 0 and not problems, "promtool: %s" % "\n".join(problems[:20])


@vt.case
def a_lost_gpu_shows_gpu_up_0():
    write_scenario(agent, SCENARIO + "lost\n")  # the last GPU (1) falls off the bus
    try:
        wait_value(agent, "gpu_up", 0, gpu="1", uuid="GPU-22222222-aaaa-bbbb-cccc-000000000000",
                   pci_bus_id="00000000:86:00.0")
        assert value(agent, "gpu_temperature_celsius", gpu="1") is None
        assert value(agent, "gpu_up", gpu="0") == 1
        assert value(agent, "gpu_temperature_celsius", gpu="0") == 61
        assert value(agent, "vigil_collector_success", collector="gpu") == 1
    finally:
        write_scenario(agent, SCENARIO)
    wait_value(agent, "gpu_up", 1, gpu="1")


@vt.case
def xid_events_are_counted():
    assert value(agent, "gpu_xid_errors_total", gpu="1") == 0
    assert value(agent, "gpu_xid_last_code", gpu="1") == 0
    write_scenario(agent, SCENARIO + "xid 79\nxid 48\n")  # two on GPU 1, delivered once
    wait_value(agent, "gpu_xid_errors_total", 2, gpu="1",
               uuid="GPU-22222222-aaaa-bbbb-cccc-000000000000")
    assert value(agent, "gpu_xid_last_code", gpu="1") == 48
    assert value(agent, "gpu_xid_errors_total", gpu="0") == 0
    time.sleep(1.5)
    assert value(agent, "gpu_xid_errors_total", gpu="1") == 2
    write_scenario(agent, SCENARIO)


@vt.case
def dcgm_naming():
    with gpu_agent("dcgm") as a:
        labels = {"gpu": "1", "UUID": "GPU-22222222-aaaa-bbbb-cccc-000000000000",
                  "device": "nvidia3", "modelName": "NVIDIA H100 80GB HBM3",
                  "Hostname": "gpu-node-1"}
        wait_value(a, "DCGM_FI_DEV_GPU_UTIL", 5, **labels)
        g0 = {"gpu": "0", "device": "nvidia0", "Hostname": "gpu-node-1"}
        for name, want in [("DCGM_FI_DEV_GPU_UTIL", 45), ("DCGM_FI_DEV_MEM_COPY_UTIL", 30),
                           ("DCGM_FI_DEV_FB_USED", 10240), ("DCGM_FI_DEV_FB_FREE", 71680),
                           ("DCGM_FI_DEV_GPU_TEMP", 61), ("DCGM_FI_DEV_POWER_USAGE", 350.5),
                           ("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", 123456789),
                           ("DCGM_FI_DEV_SM_CLOCK", 1980), ("DCGM_FI_DEV_MEM_CLOCK", 2619),
                           ("DCGM_FI_DEV_CLOCK_THROTTLE_REASONS", 5),
                           ("DCGM_FI_DEV_ECC_SBE_VOL_TOTAL", 2),
                           ("DCGM_FI_DEV_ECC_DBE_VOL_TOTAL", 1),
                           ("DCGM_FI_DEV_PCIE_TX_THROUGHPUT", 2048),
                           ("DCGM_FI_DEV_PCIE_RX_THROUGHPUT", 1024),
                           ("DCGM_FI_DEV_FAN_SPEED", 40)]:
            got = value(a, name, **g0)
            assert got == want, "%s: %r, want %r" % (name, got, want)
        text = a.metrics()
        assert "gpu_utilization_ratio" not in text and "gpu_memory_used_bytes" not in text
        wait_value(a, "DCGM_FI_DEV_GPU_UTIL", 45, gpu="0", pod="train-0", namespace="ml",
                   container="trainer")
        assert value(a, "DCGM_FI_DEV_FAN_SPEED", gpu="1") is None
        assert value(a, "DCGM_FI_DEV_XID_ERRORS", gpu="1") == 0
        write_scenario(a, SCENARIO + "xid 79\n")
        wait_value(a, "DCGM_FI_DEV_XID_ERRORS", 79, gpu="1", device="nvidia3")
        assert "gpu_xid_errors_total" not in a.metrics()


@vt.case
def a_hanging_call_fails_within_the_deadline_and_nothing_else_waits():
    with gpu_agent() as a:
        wait_value(a, "gpu_up", 1, gpu="1")
        write_scenario(a, SCENARIO.replace("gpu 1\n", "gpu 1\nhang power 6\n"))
        t0 = time.monotonic()
        wait_value(a, "vigil_collector_success", 0, timeout=6, collector="gpu")
        assert time.monotonic() - t0 < 4.5, "failure took %.1fs" % (time.monotonic() - t0)
        records = value(a, "vigil_input_records_total", collector="generator")
        for _ in range(3):
            t1 = time.monotonic()
            status, _, _ = a.get("/healthz")
            assert status == 200 and time.monotonic() - t1 < 0.5
            time.sleep(0.5)
        more = value(a, "vigil_input_records_total", collector="generator")
        assert more > records, "the generator stalled: %r -> %r" % (records, more)
        assert "did not answer within 1.0s" in a.stderr(), a.stderr()
        write_scenario(a, SCENARIO)
        wait_value(a, "vigil_collector_success", 1, timeout=20, collector="gpu")
        assert value(a, "gpu_power_draw_watts", gpu="1") == 90
        rc, took = a.stop()
        assert rc == 0 and took < 5, (rc, took)


@vt.case
def a_hung_worker_does_not_hold_up_shutdown():
    with gpu_agent() as a:
        wait_value(a, "gpu_up", 1, gpu="1")
        write_scenario(a, SCENARIO.replace("gpu 1\n", "gpu 1\nhang temp 30\n"))
        wait_value(a, "vigil_collector_success", 0, timeout=6, collector="gpu")
        rc, took = a.stop()
        assert rc == 0 and took < 5, (rc, took)
        assert "leaving its thread behind" in a.stderr(), a.stderr()


def backend_down_says_it_once(a, words):
    wait_value(a, "vigil_gpu_backend_up", 0, backend="nvml")
    time.sleep(3.5)  # three more collections
    assert value(a, "vigil_gpu_backend_up", backend="nvml") == 0
    assert value(a, "vigil_collector_success", collector="gpu") == 1
    assert a.metric_value("gpu_up") is None
    lines = [l for l in a.stderr().splitlines() if "plugin=gpu_nvml" in l and "level=warn" in l]
    assert len(lines) == 1, lines
    for w in words:
        assert w in lines[0], (w, lines[0])


@vt.case
def a_missing_library_is_one_line_and_backend_up_0():
    with gpu_agent(lib="/nonexistent/libnvidia-ml.so.1") as a:
        backend_down_says_it_once(a, ["cannot load /nonexistent/libnvidia-ml.so.1",
                                      "trying again every 5m"])


@vt.case
def a_failing_nvml_init_is_one_line_and_backend_up_0():
    with gpu_agent(scenario="init_fail\n" + SCENARIO) as a:
        backend_down_says_it_once(a, ["nvmlInit failed: Driver Not Loaded (9)"])


agent.stop()
vt.finish()
