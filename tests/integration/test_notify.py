"""The notifiers against their peers on loopback, fed timelines of alert
sets by notify_drive (the rule engine's side of vg_notifier_put):

- Slack: a receiver that checks payloads as Slack does (slack_receiver.py);
  a storm of 300 series is one firing and one resolved message, a run of
  429 answers with Retry-After delays them and loses nothing, a webhook
  answering 400 invalid_payload is tried once per notice and counted, and
  the webhook URL (a secret) reaches no log line.
- E-mail: Debian's aiosmtpd with STARTTLS required and AUTH, its
  certificate from a test CA made with openssl here; the messages'
  headers, CRLF line endings, RFC 2047 subject and a lone "." line are
  checked, and a refused recipient is reported.
- Alertmanager: Debian's prometheus-alertmanager on a temp config and
  storage folder; its /api/v2/alerts shows the alerts (labels,
  annotations, startsAt) and drops them once resolved, and its own
  webhook gets one firing and one resolved notification of the group.

Run under /usr/bin/python3."""

import email
import email.policy
import json
import logging
import os
import subprocess
import sys
import time
import urllib.parse
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vigiltest as vt  # noqa: E402
from slack_receiver import SlackReceiver  # noqa: E402
from notifypeers import (Hook, MailHandler, am_alerts, make_certs,  # noqa: E402
                         parse_time, smtp_server, start_am, tmpdir, write)

warnings.filterwarnings("ignore", message="Session.login_data")
for _name in ("mail.log", "asyncio"):  # aiosmtpd's notices of the failures we cause
    logging.getLogger(_name).setLevel(logging.CRITICAL)
DRIVE = os.environ.get("VIGIL_NOTIFY_DRIVE") or os.path.join(vt.SRC, "build", "notify_drive")


def q(s):
    return urllib.parse.quote(s, safe="")


def alert_line(t, notify, labels, ann=None):
    line = "%.3f %s %s" % (t, notify, ",".join("%s=%s" % (k, q(v)) for k, v in labels.items()))
    if ann:
        line += " " + ",".join("%s=%s" % (k, q(v)) for k, v in ann.items())
    return line


class Drive:
    """notify_drive on a config and a timeline, in the background."""

    def __init__(self, config, lines, deadline_ms=30000):
        d = tmpdir()
        self.cfg = write(d, "vigil.yaml", config)
        self.tl = write(d, "timeline", "\n".join(lines) + "\n")
        self.out = open(os.path.join(d, "out"), "w+")
        self.err = open(os.path.join(d, "err"), "w+")
        self.t0 = time.time()
        self.proc = subprocess.Popen([DRIVE, self.cfg, self.tl, str(deadline_ms)],
                                     stdout=self.out, stderr=self.err)

    def wait(self, timeout=90):
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            vt.terminate(self.proc)
            raise AssertionError("notify_drive did not finish in %ds" % timeout)
        self.out.seek(0)
        self.err.seek(0)
        self.stdout, self.stderr = self.out.read(), self.err.read()
        self.counts = {}
        for line in self.stdout.splitlines():
            if line.startswith("notifier="):
                kv = dict(p.split("=", 1) for p in line.split())
                self.counts[(kv["notifier"], kv["result"])] = int(kv["count"])
            elif line.startswith("left="):
                self.left = int(line[5:])
        assert rc == 0, "notify_drive exited %d: %s" % (rc, self.stderr)
        return self

    def count(self, notifier, result):
        return self.counts.get((notifier, result), 0)


# ---------------------------------------------------------------------------
# Slack

@vt.case
def slack_storm_429_and_refusals():
    rx = SlackReceiver()
    try:
        d = tmpdir()
        ok_url = rx.url("/services/429/4/T01/B01/Qq7SecretTokenOk")
        bad_url = rx.url("/services/bad/T02/B02/Zz9SecretTokenBad")
        url_file = write(d, "slack-url", ok_url + "\n")
        config = (
            "alerts:\n"
            "  group_wait: 1s\n"
            "  group_interval: 2s\n"
            "  repeat_interval: 1h\n"
            "  notifiers:\n"
            "    chat: {type: slack, webhook_url_file: %s,\n"
            "           link: 'http://grafana/d/x?var-node={{ $labels.node }}'}\n"
            "    broken: {type: slack, webhook_url: '%s'}\n" % (url_file, bad_url))
        lines = []
        for t in (0, 1, 2):
            for i in range(300):
                lines.append(alert_line(t, "chat,broken", {
                    "alertname": "XidError", "node": "n1", "gpu": str(i),
                    "severity": "critical"},
                    {"summary": "Xid 79 on GPU %d <fallen off the bus> & more" % i}))
        lines += ["3 -", "8 end"]
        dr = Drive(config, lines).wait()
        got = rx.accepted("/services/429/")
        assert len(got) == 2, "want one firing and one resolved message, got %d" % len(got)
        assert got[0]["text"].startswith("[FIRING:300] XidError"), got[0]["text"][:80]
        assert got[1]["text"].startswith("[RESOLVED] XidError"), got[1]["text"][:80]
        tries = rx.tries("/services/429/")
        assert [s for s, _ in tries].count(429) == 4, tries
        assert all(s in (200, 429) for s, _ in tries), "a payload Slack refuses: %s" % tries
        blob = json.dumps(got[0])
        assert "var-node=n1" in blob and "and 260 more alert(s)" in blob, blob[:300]
        assert dr.count("chat", "sent") == 2 and dr.count("chat", "retried") == 4, dr.counts
        bad = rx.tries("/services/bad/")
        assert len(bad) == 2 and all(s == 400 for s, _ in bad), bad
        assert dr.count("broken", "failed") == 2 and dr.count("broken", "retried") == 0, dr.counts
        assert "invalid_payload" in dr.stderr, dr.stderr
        assert "SecretToken" not in dr.stderr + dr.stdout, dr.stderr
        assert dr.left == 0
    finally:
        rx.stop()


@vt.case
def slack_retry_after_as_a_date():
    rx = SlackReceiver()
    try:
        config = ("alerts:\n"
                  "  group_wait: 0s\n"
                  "  notifiers:\n"
                  "    chat: {type: slack, webhook_url: '%s'}\n"
                  % rx.url("/services/429d/2/T/B/z"))
        t0 = time.monotonic()
        dr = Drive(config, [alert_line(0, "chat", {"alertname": "A"}), "0.2 end"]).wait()
        took = time.monotonic() - t0
        got = rx.accepted("/services/429d/")
        assert len(got) == 1 and dr.count("chat", "retried") == 2, (got, dr.counts)
        assert took >= 2.0, "Retry-After dates not waited out (%.1fs)" % took
    finally:
        rx.stop()


@vt.case
def stop_drains_then_gives_up_at_its_deadline():
    """At stop a group still in group_wait is told at once; a peer that
    hangs holds up no other notifier, is abandoned at the deadline, and
    what is left is counted."""
    rx = SlackReceiver()
    try:
        config = (
            "alerts:\n"
            "  group_wait: 30s\n"
            "  notifiers:\n"
            "    hung: {type: slack, webhook_url: '%s', timeout: 60s}\n"
            "    chat: {type: slack, webhook_url: '%s', timeout: 60s}\n"
            % (rx.url("/services/slow/T/B/y"), rx.url("/services/ok/T/B/x")))
        labels = {"alertname": "DiskFull", "node": "n1"}
        t0 = time.monotonic()
        dr = Drive(config, [alert_line(0, "hung,chat", labels), "0.5 end"],
                   deadline_ms=2000).wait()
        took = time.monotonic() - t0
        got = rx.accepted("/services/ok/")
        assert len(got) == 1 and got[0]["text"].startswith("[FIRING:1] DiskFull"), got
        assert took < 6, "stop took %.1fs past a 2s deadline" % took
        assert dr.left == 1 and dr.count("hung", "dropped") == 1, (dr.left, dr.counts)
        assert "not delivered by shutdown" in dr.stderr, dr.stderr
    finally:
        rx.stop()


# ---------------------------------------------------------------------------
# E-mail

@vt.case
def email_starttls_auth_and_message():
    d = tmpdir()
    ca, cert, key = make_certs(d)
    ctl, handler, port = smtp_server(cert, key)
    try:
        pw = write(d, "smtp-pass", "Pw-s3cret-4-mail\n")
        config = (
            "alerts:\n"
            "  group_by: [alertname, node]\n"
            "  group_wait: 1s\n"
            "  group_interval: 2s\n"
            "  notifiers:\n"
            "    mail: {type: email, url: 'smtp://127.0.0.1:%d', ca_file: %s, user: vigil,\n"
            "           password_file: %s, from: vigil@example.org,\n"
            "           to: [oncall@example.org, bad@example.org]}\n" % (port, ca, pw))
        labels = {"alertname": "GpuHot", "node": "Knoten-\u00fcber", "severity": "critical"}
        ann = {"summary": "GPU 0 at 91C", "description": "line one\n.\nline three"}
        lines = [alert_line(t, "mail", labels, ann) for t in (0, 1, 2)] + ["3 -", "7 end"]
        dr = Drive(config, lines).wait()
        msgs = handler.messages
        assert len(msgs) == 2, "want one firing and one resolved message, got %d" % len(msgs)
        subjects = []
        for m in msgs:
            raw = m["raw"]
            assert m["tls"] and m["auth"], m
            assert m["from"] == "vigil@example.org" and m["to"] == ["oncall@example.org"], m
            assert b"\n" not in raw.replace(b"\r\n", b""), "a bare LF"
            assert b"\r" not in raw.replace(b"\r\n", b""), "a bare CR"
            head = raw.split(b"\r\n\r\n", 1)[0]
            assert b"Subject: =?UTF-8?B?" in head, head
            msg = email.message_from_bytes(raw, policy=email.policy.default)
            for h in ("Date", "From", "To", "Subject", "Message-ID", "MIME-Version"):
                assert msg[h], "no %s header" % h
            assert b"\r\nContent-Type: text/plain; charset=UTF-8\r\n" in head, head
            assert msg["Auto-Submitted"] == "auto-generated"
            assert msg["To"] == "oncall@example.org, bad@example.org", msg["To"]
            subjects.append(str(msg["Subject"]))
            assert b"\r\ndescription: line one\r\n.\r\nline three\r\n" in raw, raw
        assert subjects == ["[FIRING:1] GpuHot (node=Knoten-\u00fcber)",
                            "[RESOLVED] GpuHot (node=Knoten-\u00fcber)"], subjects
        assert msgs[0]["raw"].split(b"Message-ID:")[1][:40] != \
            msgs[1]["raw"].split(b"Message-ID:")[1][:40]
        assert "recipient <bad@example.org> refused: 550" in dr.stderr, dr.stderr
        assert dr.count("mail", "sent") == 2 and dr.count("mail", "failed") == 0, dr.counts
        assert "Pw-s3cret" not in dr.stderr + dr.stdout
    finally:
        ctl.stop()


@vt.case
def email_checks_the_server_certificate():
    """A certificate that the configured CA did not sign: no mail is sent."""
    d = tmpdir()
    _, cert, key = make_certs(d)
    other = tmpdir()
    other_ca, _, _ = make_certs(other)
    ctl, handler, port = smtp_server(cert, key)
    try:
        config = (
            "alerts:\n"
            "  group_wait: 0s\n"
            "  notifiers:\n"
            "    mail: {type: email, url: 'smtp://127.0.0.1:%d', ca_file: %s,\n"
            "           from: vigil@example.org, to: [oncall@example.org], max_age: 2s}\n"
            % (port, other_ca))
        lines = [alert_line(0, "mail", {"alertname": "A"}), "3 end"]
        dr = Drive(config, lines, deadline_ms=3000).wait()
        assert handler.messages == []
        assert dr.count("mail", "sent") == 0 and dr.count("mail", "expired") == 1, dr.counts
        assert "certificate" in dr.stderr.lower(), dr.stderr
    finally:
        ctl.stop()


@vt.case
def email_refuses_a_server_without_starttls():
    """starttls: required against a server that offers none: never sent in clear."""
    from aiosmtpd.controller import Controller

    handler = MailHandler()
    port = vt.free_port()
    ctl = Controller(handler, hostname="127.0.0.1", port=port, ready_timeout=10)
    ctl.start()
    try:
        config = (
            "alerts:\n"
            "  group_wait: 0s\n"
            "  notifiers:\n"
            "    mail: {type: email, url: 'smtp://127.0.0.1:%d', from: vigil@example.org,\n"
            "           to: [oncall@example.org], max_age: 2s}\n" % port)
        lines = [alert_line(0, "mail", {"alertname": "A"}), "2 end"]
        dr = Drive(config, lines, deadline_ms=5000).wait()
        assert handler.messages == []
        assert dr.count("mail", "failed") == 1 and dr.count("mail", "sent") == 0, dr.counts
        assert "STARTTLS" in dr.stderr or "SSL" in dr.stderr, dr.stderr
    finally:
        ctl.stop()


# ---------------------------------------------------------------------------
# Alertmanager

@vt.case
def alertmanager_api_v2():
    d = tmpdir()
    hook = Hook()
    proc, base = start_am(d, hook.port)
    try:
        config = ("alerts:\n"
                  "  notifiers:\n"
                  "    am: {type: alertmanager, url: '%s/'}\n" % base)
        lines = []
        for t in (0, 1, 2, 3, 4):
            for gpu in ("0", "1"):
                lines.append(alert_line(t, "am", {"alertname": "GpuHot", "gpu": gpu, "node": "n1",
                                                  "severity": "critical"},
                                        {"summary": "GPU %s hot" % gpu}))
        lines += ["5 -", "6 end"]
        dr = Drive(config, lines)
        got = vt.wait_for(lambda: len(am_alerts(base)) == 2 and am_alerts(base), timeout=15,
                          what="two alerts in alertmanager")
        for a in got:
            assert a["labels"]["alertname"] == "GpuHot" and a["labels"]["node"] == "n1", a
            assert a["annotations"]["summary"] == "GPU %s hot" % a["labels"]["gpu"], a
            assert abs(parse_time(a["startsAt"]) - dr.t0) < 5, (a["startsAt"], dr.t0)
            assert parse_time(a["endsAt"]) > time.time() + 180, a["endsAt"]
            assert a["generatorURL"] == "http://127.0.0.1:9469/alerts", a
            assert a["status"]["state"] == "active", a
        vt.wait_for(lambda: am_alerts(base) == [], timeout=20, what="alerts resolved")
        dr.wait()
        vt.wait_for(lambda: any(g["status"] == "resolved" for g in hook.got), timeout=20,
                    what="alertmanager's resolved notification")
        time.sleep(3)
        states = [g["status"] for g in hook.got]
        assert states == ["firing", "resolved"], states
        assert len(hook.got[0]["alerts"]) == 2, hook.got[0]
        assert dr.count("am", "sent") == 6 and dr.count("am", "failed") == 0, dr.counts
    finally:
        vt.terminate(proc)
        hook.stop()


@vt.case
def every_notifier_sample_yaml_is_valid():
    d = tmpdir()
    for name, text in (("slack-url", "https://hooks.slack.com/services/T0/B0/x"),
                       ("smtp-pass", "pw"), ("am-pass", "pw"), ("am-token", "tok")):
        write(d, name, text + "\n")
    for kind in ("slack", "email", "alertmanager"):
        with open(os.path.join(vt.SRC, "outputs", kind, "sample.yaml")) as f:
            text = f.read().replace("/etc/vigil/", d + "/")
        dr = Drive(text, ["0 end"]).wait()
        assert dr.left == 0 and "error" not in dr.stderr, (kind, dr.stderr)


vt.finish()
