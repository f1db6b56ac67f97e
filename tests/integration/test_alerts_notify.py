"""Alerts from the running agent to real peers, end to end: the textfile
collector drives a GPU temperature, the rule engine fires and resolves, and
the notifiers deliver to a Slack receiver that checks payloads as Slack
does (slack_receiver.py), Debian's aiosmtpd with STARTTLS and AUTH, and
Debian's prometheus-alertmanager (read back through /api/v2/alerts and its
own webhook). GPU at 90 for longer than `for`: exactly one firing notice in
each, naming the GPU and the node; back to 70: exactly one resolved notice
in each, and nothing more while time passes. An Xid line in a kmsg fixture
file pages Slack within one evaluation interval.

Across restarts: GpuHot firing and told, the agent killed with kill -9 and
started again with the GPU still at 90 sends no second firing notice; then
stopped, cooled to 70 while it is down, and started again, it sends exactly
one resolved notice to Slack and to e-mail.

Run under /usr/bin/python3."""

import email
import email.policy
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vigiltest as vt  # noqa: E402
from notifypeers import Hook, am_alerts, make_certs, smtp_server, start_am, write  # noqa: E402
from slack_receiver import SlackReceiver  # noqa: E402

INTERVAL_S = 2.0
HEAD = r"""
agent:
  state_dir: {tmp}/state
  node_name: gpu-node-7
  http: { listen: "127.0.0.1:{port}" }
collectors:
  - { type: textfile, directory: "{tmp}/tf", interval: 100ms }
"""
KMSG = r"""
  - { type: kmsg, path: "{tmp}/kmsg", boot_id_path: "{tmp}/boot_id", proc_root: "{tmp}/proc",
      interval: 100ms }
"""
ALERTS = r"""
outputs:
  - { type: discard }
alerts:
  interval: 2s
  group_by: [alertname, node]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 4h
  notifiers:
    slack: { type: slack, webhook_url_file: "{tmp}/slack-url" }
    mail: { type: email, url: "smtp://127.0.0.1:SMTP_PORT", ca_file: "CA_FILE", user: vigil,
            password_file: "{tmp}/smtp-pass", from: vigil@example.org, to: [oncall@example.org] }
"""
AM = r"""
    am: { type: alertmanager, url: "AM_BASE/" }
"""
GPU_RULE = r"""
  rules:
    - name: GpuHot
      expr: 'gpu_temperature_celsius > 85'
      for: 2s
      clear: 80
      severity: critical
      annotations: { summary: "GPU {{ $labels.gpu }} on {{ $labels.node }} at {{ $value }}C" }
      notify: NOTIFY
"""
XID_RULE = r"""
    - name: XidError
      logs: { match: 'NVRM: Xid \(PCI:(?<pci>[0-9a-f:.]+)\): (?<xid>\d+)', source: kmsg }
      count: "> 0 in 1m"
      severity: critical
      group_wait: 0s
      annotations: { summary: "Xid {{ $labels.xid }} on {{ $labels.pci }}" }
      notify: [slack]
"""
CONFIG = (HEAD + KMSG.lstrip("\n") + ALERTS.lstrip("\n") + AM.lstrip("\n") +
          GPU_RULE.lstrip("\n").replace("NOTIFY", "[slack, mail, am]") + XID_RULE.lstrip("\n"))
# the restart case: Slack and e-mail only
RESTART_CONFIG = HEAD + ALERTS.lstrip("\n") + GPU_RULE.lstrip("\n").replace("NOTIFY",
                                                                            "[slack, mail]")
XID = "4,7,912345678,-;NVRM: Xid (PCI:0000:3b:00): 79, pid=1, GPU has fallen off the bus.\n"


def set_temp(agent, value):
    path = os.path.join(agent.tmp, "tf", "gpu.prom")
    with open(path + ".tmp", "w") as f:
        f.write('gpu_temperature_celsius{gpu="0",uuid="GPU-aaaa"} %s\n' % value)
    os.rename(path + ".tmp", path)


def mails(handler):
    return [email.message_from_bytes(m["raw"], policy=email.policy.default)
            for m in handler.messages]


def slack_texts(rx):
    return [m["text"] for m in rx.accepted("/services/")]


@vt.case
def gpu_hot_pages_each_peer_once_and_resolves_once_then_xid_pages():
    rx = SlackReceiver()
    hook = Hook()
    agent = None
    procs = []
    ctl = None
    try:
        d = vt.Agent("").tmp
        ca, cert, key = make_certs(d)
        ctl, handler, smtp_port = smtp_server(cert, key)
        am_proc, am_base = start_am(d, hook.port)
        procs.append(am_proc)
        agent = vt.Agent(CONFIG.replace("SMTP_PORT", str(smtp_port)).replace("CA_FILE", ca)
                         .replace("AM_BASE", am_base))
        write(agent.tmp, "slack-url", rx.url("/services/T01/B01/Xx1SecretHook") + "\n")
        write(agent.tmp, "smtp-pass", "Pw-s3cret-4-mail\n")
        os.makedirs(os.path.join(agent.tmp, "tf"))
        os.makedirs(os.path.join(agent.tmp, "proc"))
        write(agent.tmp, "kmsg", "6,0,0,-;Linux version 6.1.0\n")
        write(agent.tmp, "boot_id", "0f2b6c1d-4a5e-4f60-8b7c-9d0e1f2a3b4c\n")
        set_temp(agent, 70)
        agent.start()
        time.sleep(1.5)
        assert slack_texts(rx) == [] and handler.messages == [] and am_alerts(am_base) == []

        t_hot = time.time()
        set_temp(agent, 90)
        vt.wait_for(lambda: len(slack_texts(rx)) >= 1 and len(handler.messages) >= 1 and
                    len(am_alerts(am_base)) >= 1, timeout=20, what="a firing notice in each peer")
        print("   firing notices %.1f s after the value crossed (for 2s, group_wait 1s)"
              % (time.time() - t_hot))
        text = slack_texts(rx)[0]
        assert text.startswith("[FIRING:1] GpuHot") and "gpu-node-7" in text, text
        msg = mails(handler)[0]
        assert str(msg["Subject"]) == "[FIRING:1] GpuHot (node=gpu-node-7)", msg["Subject"]
        body = msg.get_body().get_content()
        assert "summary: GPU 0 on gpu-node-7 at 90C" in body and "uuid=GPU-aaaa" in body, body
        a = am_alerts(am_base)[0]
        assert a["labels"]["gpu"] == "0" and a["labels"]["node"] == "gpu-node-7", a
        assert a["labels"]["alertname"] == "GpuHot", a

        t_cool = time.time()
        set_temp(agent, 70)
        vt.wait_for(lambda: len(slack_texts(rx)) >= 2 and len(handler.messages) >= 2 and
                    am_alerts(am_base) == [], timeout=20, what="a resolved notice in each peer")
        print("   resolved notices %.1f s after the value fell" % (time.time() - t_cool))
        vt.wait_for(lambda: [g["status"] for g in hook.got] == ["firing", "resolved"],
                    timeout=20, what="alertmanager's firing and resolved notifications")
        time.sleep(5)  # more than two group intervals: nothing more may come
        texts = slack_texts(rx)
        assert [t.split(" ")[0] for t in texts] == ["[FIRING:1]", "[RESOLVED]"], texts
        assert [str(m["Subject"]) for m in mails(handler)] == [
            "[FIRING:1] GpuHot (node=gpu-node-7)", "[RESOLVED] GpuHot (node=gpu-node-7)"]
        assert [g["status"] for g in hook.got] == ["firing", "resolved"], hook.got
        assert agent.metric_value("vigil_notifications_total",
                                  {"notifier": "slack", "result": "sent"}) == 2
        assert agent.metric_value("vigil_notifications_total",
                                  {"notifier": "mail", "result": "sent"}) == 2

        t_xid = time.time()
        with open(os.path.join(agent.tmp, "kmsg"), "a") as f:
            f.write(XID)
        vt.wait_for(lambda: any(t.startswith("[FIRING:1] XidError") for t in slack_texts(rx)),
                    timeout=10, what="the Xid page")
        took = time.time() - t_xid
        print("   Xid line to Slack message: %.2f s (evaluation interval %.1f s)"
              % (took, INTERVAL_S))
        assert took < INTERVAL_S + 0.5, took
        xid = [m for m in rx.accepted("/services/") if m["text"].startswith("[FIRING:1] XidError")]
        assert len(xid) == 1 and "79" in str(xid[0]) and "0000:3b:00" in str(xid[0]), xid
        stderr = agent.stderr()
        assert "Xx1SecretHook" not in stderr and "Pw-s3cret" not in stderr
        assert len(handler.messages) == 2  # the Xid rule pages Slack only
    finally:
        if agent is not None:
            agent.stop()
        for p in procs:
            vt.terminate(p)
        if ctl is not None:
            ctl.stop()
        hook.stop()
        rx.stop()


GROUP_WAIT_S = 1.0


def notify_state_lines(agent):
    try:
        with open(os.path.join(agent.tmp, "state", "checkpoints", "notify")) as f:
            return [ln for ln in f.read().splitlines() if ln and not ln.startswith("#")]
    except FileNotFoundError:
        return []


def firing_alerts(agent):
    status, _, body = agent.get("/api/v1/alerts")
    assert status == 200, status
    return [a for a in json.loads(body)["data"]["alerts"] if a["state"] == "firing"]


@vt.case
def restart_neither_pages_again_nor_forgets_the_resolved_notice():
    rx = SlackReceiver()
    agent = None
    ctl = None
    try:
        d = vt.Agent("").tmp
        ca, cert, key = make_certs(d)
        ctl, handler, smtp_port = smtp_server(cert, key)
        agent = vt.Agent(RESTART_CONFIG.replace("SMTP_PORT", str(smtp_port)).replace("CA_FILE", ca))
        write(agent.tmp, "slack-url", rx.url("/services/T01/B01/Xx1SecretHook") + "\n")
        write(agent.tmp, "smtp-pass", "Pw-s3cret-4-mail\n")
        os.makedirs(os.path.join(agent.tmp, "tf"))
        set_temp(agent, 90)
        agent.start()
        vt.wait_for(lambda: len(slack_texts(rx)) >= 1 and len(handler.messages) >= 1,
                    timeout=20, what="a firing notice in Slack and e-mail")
        vt.wait_for(lambda: len(notify_state_lines(agent)) == 2, timeout=10,
                    what="both groups told in checkpoints/notify")
        agent.kill()  # kill -9: nothing more is written

        t_up = time.time()
        agent.start()
        vt.wait_for(lambda: len(firing_alerts(agent)) == 1, timeout=10,
                    what="GpuHot firing again after the restart")
        time.sleep(2 * INTERVAL_S + GROUP_WAIT_S + 3)  # evaluations, group_wait and more
        print("   %.1f s after the restart: %d Slack, %d e-mail message(s)"
              % (time.time() - t_up, len(slack_texts(rx)), len(handler.messages)))
        texts = slack_texts(rx)
        assert [t.split(" ")[0] for t in texts] == ["[FIRING:1]"], texts
        assert [str(m["Subject"]) for m in mails(handler)] == [
            "[FIRING:1] GpuHot (node=gpu-node-7)"]
        assert agent.metric_value("vigil_notifications_total",
                                  {"notifier": "slack", "result": "sent"}) == 0

        rc, _ = agent.stop()
        assert rc == 0, rc
        set_temp(agent, 70)  # cools while the agent is down
        t_up = time.time()
        agent.start()
        vt.wait_for(lambda: len(slack_texts(rx)) >= 2 and len(handler.messages) >= 2,
                    timeout=20, what="a resolved notice in Slack and e-mail")
        print("   resolved notices %.1f s after the restart" % (time.time() - t_up))
        time.sleep(2 * INTERVAL_S + 1)  # more than two group intervals: nothing more may come
        texts = slack_texts(rx)
        assert [t.split(" ")[0] for t in texts] == ["[FIRING:1]", "[RESOLVED]"], texts
        assert [str(m["Subject"]) for m in mails(handler)] == [
            "[FIRING:1] GpuHot (node=gpu-node-7)", "[RESOLVED] GpuHot (node=gpu-node-7)"]
        rc, _ = agent.stop()
        assert rc == 0, rc
        assert notify_state_lines(agent) == [], notify_state_lines(agent)
    finally:
        if agent is not None:
            agent.stop()
        if ctl is not None:
            ctl.stop()
        rx.stop()


vt.finish()
