"""The alert rule engine end to end: the textfile collector drives a GPU
temperature, a metric rule goes pending then firing (ALERTS on /metrics,
/api/v1/alerts in Prometheus's shape), stays firing above `clear` and
resolves below it; a log rule on a kernel log line (the kmsg collector on a
file) fires with the labels of its named groups and resolves after a window
without a match; kill -9 and SIGTERM restarts keep the states; bad rules
are refused by --check-config with file and line."""

import json
import os
import re
import shutil
import signal
import subprocess

import vigiltest as vt

CONFIG = r"""
agent:
  state_dir: {tmp}/state
  node_name: gpu-node-7
  http: { listen: "127.0.0.1:{port}" }
collectors:
  - { type: textfile, directory: "{tmp}/tf", interval: 100ms }
  - { type: kmsg, path: "{tmp}/kmsg", boot_id_path: "{tmp}/boot_id", proc_root: "{tmp}/proc",
      interval: 100ms, checkpoint_interval: 200ms }
outputs:
  - { type: file, path: "{tmp}/out.ndjson" }
alerts:
  interval: 200ms
  external_url: http://node:9469
  rules:
    - name: GpuHot
      expr: 'gpu_temperature_celsius{gpu=~"0|1"} > 85'
      for: 1s
      clear: 80
      severity: critical
      labels: { team: ml }
      annotations: { summary: "GPU {{ $labels.gpu }} at {{ $value }}C" }
    - name: XidError
      logs: { match: 'NVRM: Xid \(PCI:(?<pci>[0-9a-f:.]+)\): (?<xid>\d+)', source: kmsg }
      count: "> 0 in 2s"
      severity: critical
"""

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
XID = "4,1,912345678,-;NVRM: Xid (PCI:0000:3b:00): 79, pid=1, GPU has fallen off the bus.\n"


def write(path, text, mode="w"):
    with open(path, mode) as f:
        f.write(text)


def new_agent(temp=None):
    agent = vt.Agent(CONFIG)
    os.makedirs(os.path.join(agent.tmp, "tf"))
    os.makedirs(os.path.join(agent.tmp, "proc"))
    write(os.path.join(agent.tmp, "kmsg"), "6,0,0,-;Linux version 6.1.0\n")
    write(os.path.join(agent.tmp, "boot_id"), "0f2b6c1d-4a5e-4f60-8b7c-9d0e1f2a3b4c\n")
    if temp is not None:
        set_temp(agent, temp)
    return agent


def set_temp(agent, value):
    """gpu 0 at value, gpu 7 (not selected) always hot; written whole, atomically."""
    path = os.path.join(agent.tmp, "tf", "gpu.prom")
    write(path + ".tmp", 'gpu_temperature_celsius{gpu="0"} %s\n'
          'gpu_temperature_celsius{gpu="7"} 99\n' % value)
    os.rename(path + ".tmp", path)


def alerts(agent, name=None):
    status, hdrs, body = agent.get("/api/v1/alerts")
    assert status == 200, status
    assert hdrs["content-type"] == "application/json", hdrs
    doc = json.loads(body)
    assert doc["status"] == "success", doc
    return [a for a in doc["data"]["alerts"]
            if name is None or a["labels"]["alertname"] == name]


def state_of(agent, name):
    found = alerts(agent, name)
    return found[0]["state"] if found else None


def alerts_lines(agent):
    return [ln for ln in agent.metrics().splitlines() if ln.startswith("ALERTS")]


@vt.case
def metric_rule_goes_pending_firing_and_resolves_below_clear():
    with new_agent(temp=90) as agent:
        vt.wait_for(lambda: state_of(agent, "GpuHot") == "pending", 5, what="pending")
        a = alerts(agent, "GpuHot")
        assert len(a) == 1, a  # gpu 7 is not selected
        a = a[0]
        assert sorted(a) == ["activeAt", "annotations", "labels", "state", "value"], a
        assert a["labels"] == {"alertname": "GpuHot", "gpu": "0", "node": "gpu-node-7",
                               "severity": "critical", "team": "ml"}, a
        assert a["annotations"] == {"summary": "GPU 0 at 90C"}, a
        assert a["value"] == "9e+01", a
        assert RFC3339.match(a["activeAt"]), a
        assert any('alertstate="pending"' in ln for ln in alerts_lines(agent))
        vt.wait_for(lambda: state_of(agent, "GpuHot") == "firing", 5, what="firing")
        lines = alerts_lines(agent)
        assert ('ALERTS{alertname="GpuHot",alertstate="firing",gpu="0",node="gpu-node-7",'
                'severity="critical",team="ml"} 1') in lines, lines
        for_state = [ln for ln in lines if ln.startswith("ALERTS_FOR_STATE{")]
        assert len(for_state) == 1 and 'alertstate' not in for_state[0], lines
        assert agent.metric_value("vigil_alert_rules") == 2
        assert agent.metric_value("vigil_alert_state_write_errors_total") == 0
        if shutil.which("promtool"):
            r = subprocess.run(["promtool", "check", "metrics"], input=agent.metrics(),
                               capture_output=True, text=True, timeout=30)
            assert r.returncode == 0, r.stdout + r.stderr
        assert alerts(agent, "GpuHot")[0]["activeAt"] == a["activeAt"]

        set_temp(agent, 82)  # under the threshold, above clear: still firing
        vt.wait_for(lambda: alerts(agent, "GpuHot")[0]["value"] == "8.2e+01", 5, what="82")
        assert state_of(agent, "GpuHot") == "firing"
        set_temp(agent, 79)
        vt.wait_for(lambda: state_of(agent, "GpuHot") is None, 5, what="resolved")
        assert not any("GpuHot" in ln for ln in alerts_lines(agent))
        text = open(os.path.join(agent.tmp, "state", "checkpoints", "alerts")).read()
        assert re.search(r"^GpuHot\tresolved\t", text, re.M), text
        assert agent.stop()[0] == 0


@vt.case
def log_rule_fires_with_named_group_labels_and_resolves():
    with new_agent(temp=20) as agent:
        assert alerts(agent) == []
        write(os.path.join(agent.tmp, "kmsg"), XID, "a")
        vt.wait_for(lambda: state_of(agent, "XidError") == "firing", 5, what="Xid firing")
        a = alerts(agent, "XidError")[0]
        assert a["labels"]["pci"] == "0000:3b:00", a
        assert a["labels"]["xid"] == "79", a
        assert a["labels"]["severity"] == "critical", a
        assert a["labels"]["collector"] == "kmsg", a
        assert a["value"] == "1e+00", a
        assert agent.metric_value("ALERTS", {"alertname": "XidError", "xid": "79"}) == 1
        # no match for a window (2s): resolved
        vt.wait_for(lambda: state_of(agent, "XidError") is None, 6, what="Xid resolved")
        assert agent.stop()[0] == 0


def restart_keeps_state(sig):
    agent = new_agent(temp=90)
    agent.start()
    vt.wait_for(lambda: state_of(agent, "GpuHot") == "firing", 5, what="firing")
    active_at = alerts(agent, "GpuHot")[0]["activeAt"]
    if sig is None:
        agent.kill()
    else:
        assert agent.stop(sig)[0] == 0
    agent.start()
    # firing at once (not pending again), since the same moment
    a = alerts(agent, "GpuHot")
    assert [x["state"] for x in a] == ["firing"], a
    assert a[0]["activeAt"] == active_at, (a, active_at)
    set_temp(agent, 70)
    vt.wait_for(lambda: state_of(agent, "GpuHot") is None, 5, what="resolved")
    text = open(os.path.join(agent.tmp, "state", "checkpoints", "alerts")).read()
    assert re.search(r"^GpuHot\tresolved\t", text, re.M), text
    agent.kill()


@vt.case
def kill_9_restart_keeps_a_firing_alert():
    restart_keeps_state(None)


@vt.case
def sigterm_restart_keeps_a_firing_alert():
    restart_keeps_state(signal.SIGTERM)


@vt.case
def bad_rules_are_refused_with_file_and_line():
    agent = vt.Agent(CONFIG.replace("> 85", "> ").replace("{{ $labels.gpu }}", "{{ $labels.gpu")
                     .replace("(?<xid>", "(?<xid"))
    r = vt.run_vigil(["--check-config", agent.config_path])
    assert r.returncode != 0, r
    path = agent.config_path
    assert ("%s:17: alerts.rules[0] (GpuHot): option 'expr': cannot parse "
            "'gpu_temperature_celsius{gpu=~\"0|1\"} > ': at offset 38: expected a number after "
            "'>'" % path) in r.stderr, r.stderr
    assert ("%s:22: alerts.rules[0] (GpuHot): option 'annotations': 'summary': template error "
            "at offset 4: unknown '{{ $labels.gpu at {{ $value }}'" % path) in r.stderr, r.stderr
    assert ("%s:24: alerts.rules[1] (XidError): logs: option 'match': pattern" % path
            in r.stderr), r.stderr
    assert "3 errors in" in r.stderr, r.stderr


vt.finish()
