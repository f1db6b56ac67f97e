"""Peers of the notifier tests on loopback: an SMTP server (Debian's
aiosmtpd, STARTTLS required, AUTH) with a certificate from a test CA made
with openssl, and Debian's prometheus-alertmanager with a webhook receiver
of its own. Shared by test_notify.py and test_alerts_notify.py; run under
/usr/bin/python3."""

import json
import os
import ssl
import subprocess
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import vigiltest as vt

AM_BIN = "/usr/bin/prometheus-alertmanager"


def tmpdir():
    import tempfile
    d = tempfile.mkdtemp(prefix="vigil-notify-")
    vt._tmpdirs.append(d)
    return d


def write(d, name, text, mode=0o600):
    p = os.path.join(d, name)
    with open(p, "w") as f:
        f.write(text)
    os.chmod(p, mode)
    return p


def make_certs(d):
    def run(*args):
        subprocess.run(["openssl"] + list(args), cwd=d, check=True, capture_output=True,
                       timeout=60)
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
        "-days", "2", "-subj", "/CN=vigil test CA")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "srv.key", "-out", "srv.csr",
        "-subj", "/CN=127.0.0.1")
    write(d, "ext.cnf", "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n")
    run("x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "srv.pem", "-days", "2", "-extfile", "ext.cnf")
    return os.path.join(d, "ca.pem"), os.path.join(d, "srv.pem"), os.path.join(d, "srv.key")


class MailHandler:
    def __init__(self):
        self.messages = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("bad@"):
            return "550 5.1.1 <%s>: no such user here" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos),
                              "raw": envelope.original_content,
                              "tls": session.ssl is not None,
                              "auth": session.authenticated})
        return "250 Message accepted for delivery"


def smtp_server(cert, key):
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    def auth(server, session, envelope, mechanism, data):
        ok = isinstance(data, LoginPassword) and data.login == b"vigil" and \
            data.password == b"Pw-s3cret-4-mail"
        return AuthResult(success=ok)

    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    handler = MailHandler()
    port = vt.free_port()
    ctl = Controller(handler, hostname="127.0.0.1", port=port, tls_context=ctx,
                     require_starttls=True, authenticator=auth, auth_required=True,
                     ready_timeout=10)
    ctl.start()
    return ctl, handler, port


class Hook:
    """Alertmanager's webhook receiver: records each notification."""

    def __init__(self):
        self.got = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                hook.got.append(json.loads(self.rfile.read(n)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def start_am(d, hook_port):
    port = vt.free_port()
    cfg = write(d, "am.yml", (
        "route:\n"
        "  receiver: hook\n"
        "  group_by: [alertname]\n"
        "  group_wait: 1s\n"
        "  group_interval: 2s\n"
        "  repeat_interval: 1h\n"
        "receivers:\n"
        "  - name: hook\n"
        "    webhook_configs:\n"
        "      - url: http://127.0.0.1:%d/hook\n"
        "        send_resolved: true\n" % hook_port))
    os.makedirs(os.path.join(d, "data"), exist_ok=True)
    proc = subprocess.Popen([AM_BIN, "--config.file=" + cfg,
                             "--storage.path=" + os.path.join(d, "data"),
                             "--web.listen-address=127.0.0.1:%d" % port,
                             "--cluster.listen-address=", "--log.level=warn"],
                            stdout=subprocess.DEVNULL, stderr=open(os.path.join(d, "am.log"), "w"))
    base = "http://127.0.0.1:%d" % port
    try:
        vt.wait_for(lambda: vt.http_get(base + "/-/ready")[0] == 200, timeout=30,
                    what="alertmanager ready")
    except AssertionError:
        vt.terminate(proc)
        raise
    return proc, base


def am_alerts(base):
    status, _, body = vt.http_get(base + "/api/v2/alerts")
    assert status == 200, status
    return json.loads(body)


def parse_time(s):
    """UNIX seconds of an RFC 3339 UTC time such as 2026-11-24T10:00:00.123Z."""
    s = s.rstrip("Z")
    main, _, frac = s.partition(".")
    frac = "".join(c for c in frac if c.isdigit())
    t = datetime.strptime(main[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    return t.timestamp() + float("0." + (frac or "0"))
