"""Secrets never appear in what the agent prints or serves.

Every secret-bearing option of every plugin gets a distinctive value (a
marker): the elasticsearch output's password, password_file, api_key,
api_key_file and the credentials of its URL; the kafka output's rdkafka
properties that librdkafka marks sensitive, any key naming a password or
a secret, and KEY_file values. No marker may show in:
  - stderr at log.level debug (librdkafka's own debug too) over a short
    run whose peers refuse or fail: a closed port (127.0.0.1:1) and a local
    peer that answers 401 to basic authentication and 400 with the API key
    and the path echoed back in its error (as a careless proxy might);
  - /metrics, /readyz and /healthz, and any file the agent wrote;
  - --print-default-config and --list-options;
  - --check-config and a refused start on a config that is otherwise bad,
    and a start that librdkafka refuses when the producer is made.
Only loopback is touched. Run under /usr/bin/python3."""

import http.server
import os
import threading
import time

import vigiltest as vt

PREFIX = "VGSECRET"


def marker(what):
    return "%s_%s_7f3a" % (PREFIX, what)


def secret_file(tmp, what):
    """A file holding marker(what), newline-terminated as a Kubernetes
    secret often is; returns its path."""
    path = os.path.join(tmp, "secret-" + what)
    with open(path, "w") as f:
        f.write(marker(what) + "\n")
    return path


class EchoPeer:
    """An HTTP peer on loopback: 401 to basic authentication, else 400 with
    the Authorization header and the path echoed in the error."""

    def __init__(self):
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(n)
                auth = self.headers.get("Authorization", "")
                if auth.startswith("Basic "):
                    self._reply(401, b'{"error":"unauthorized"}')
                else:
                    self._reply(400, ("echo: %s %s" % (auth, self.path)).encode())

            def _reply(self, status, body):
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        return False


AGENT = """agent:
  state_dir: {tmp}/state
  http: { listen: "127.0.0.1:{port}" }
  log: { level: debug }
  shutdown_timeout: 1s
collectors:
  - { type: generator, rate: 20 }
outputs:
"""

COMMON = "retry_backoff: 100ms, retry_backoff_max: 300ms, retry_limit: 2"


def es(name, url, extra=""):
    return "  - { type: elasticsearch, name: %s, url: '%s', timeout: 2s, %s%s }\n" % (
        name, url, COMMON, ", " + extra if extra else "")


def kafka(name, props):
    lines = "".join("      %s: '%s'\n" % kv for kv in props)
    return ("  - type: kafka\n    name: %s\n    brokers: '127.0.0.1:1'\n    topic: t\n"
            "    timeout: 2s\n    linger: 5ms\n    retry_backoff: 100ms\n"
            "    retry_backoff_max: 300ms\n    rdkafka:\n%s" % (name, lines))


def kafka_sensitive_inline():
    """Every property librdkafka 2.0.2 marks sensitive, set inline."""
    return [("security.protocol", "sasl_plaintext"), ("sasl.mechanism", "PLAIN"),
            ("debug", "all"),
            ("sasl.username", marker("k_sasl_username")),
            ("sasl.password", marker("k_sasl_password")),
            ("sasl.oauthbearer.config", "principal=" + marker("k_oauthbearer_config")),
            ("ssl.key.password", marker("k_ssl_key_password")),
            ("ssl.key.pem", marker("k_ssl_key_pem")),
            ("ssl.ca.pem", marker("k_ssl_ca_pem")),
            ("ssl.keystore.password", marker("k_ssl_keystore_password")),
            ("ssl.key.location", "/nonexistent/" + marker("k_ssl_key_location"))]


def kafka_from_files(tmp):
    """KEY_file: a sensitive key, and a plain one (a value read from a
    file is a secret whatever its key)."""
    return [("security.protocol", "sasl_plaintext"), ("sasl.mechanism", "PLAIN"),
            ("sasl.username", "vigil"),
            ("sasl.password_file", secret_file(tmp, "k_sasl_password_file")),
            ("ssl.key.pem_file", secret_file(tmp, "k_ssl_key_pem_file")),
            ("client.rack_file", secret_file(tmp, "k_client_rack_file"))]


def good_config(tmp, echo_port):
    echo = "http://127.0.0.1:%d" % echo_port
    return AGENT + "".join([
        es("es_url_closed", "http://%s:%s@127.0.0.1:1" % (marker("es_url_user"),
                                                          marker("es_url_pw"))),
        es("es_url_echo", "http://%s:%s@127.0.0.1:%d" % (marker("es_url2_user"),
                                                         marker("es_url2_pw"), echo_port)),
        es("es_password", echo, "user: vigil, password: %s" % marker("es_password")),
        es("es_password_file", "http://127.0.0.1:1",
           "user: vigil, password_file: '%s'" % secret_file(tmp, "es_password_file")),
        es("es_api_key", echo, "api_key: %s" % marker("es_api_key")),
        es("es_api_key_file", echo,
           "api_key_file: '%s'" % secret_file(tmp, "es_api_key_file")),
        kafka("k_inline", kafka_sensitive_inline()),
        kafka("k_files", kafka_from_files(tmp)),
    ])


def markers_in(text, where):
    """The markers found in text, as 'where: ...marker...' lines."""
    found = []
    at = text.find(PREFIX)
    while at >= 0:
        found.append("%s: ...%s..." % (where, text[max(0, at - 60):at + 40].replace("\n", " ")))
        at = text.find(PREFIX, at + 1)
    return found


def files_written(tmp):
    """What the agent wrote under tmp (not the config and secret files)."""
    out = []
    for root, _, names in os.walk(tmp):
        for n in names:
            if n == "vigil.yaml" or n.startswith("secret-"):
                continue
            with open(os.path.join(root, n), "rb") as f:
                out.append((os.path.relpath(os.path.join(root, n), tmp),
                            f.read().decode(errors="replace")))
    return out


@vt.case
def no_secret_in_the_debug_log_metrics_or_files_while_peers_refuse():
    with EchoPeer() as peer:
        a = vt.Agent("")
        with open(a.config_path, "w") as f:
            f.write(good_config(a.tmp, peer.port).replace("{tmp}", a.tmp)
                    .replace("{port}", str(a.port)))
        a.start(wait_ready=False)
        try:
            vt.wait_for(lambda: a._alive() and a.get("/metrics")[0] == 200, 10,
                        what="/metrics")
            # the outputs fail, retry and give up (retry_limit 2) meanwhile
            vt.wait_for(lambda: "refused the credentials" in a.stderr() and
                        "echo: ApiKey" in a.stderr() and "Connection refused" in a.stderr(),
                        15, what="every kind of failure in the log")
            time.sleep(1.5)
            served = [(p, a.get(p)[2].decode(errors="replace"))
                      for p in ("/metrics", "/readyz", "/healthz")]
            served[0] = ("/metrics", a.metrics())
        finally:
            rc, _ = a.stop()
    log = a.stderr() + a.stdout()
    print("  %d log lines, %d at debug; exit %s" % (
        len(log.splitlines()), log.count("level=debug"), rc))
    assert rc == 0, log[-2000:]
    for want in ("rdkafka: sasl.password = ***", "rdkafka: ssl.key.pem = ***",
                 "rdkafka: sasl.oauthbearer.config = ***", "rdkafka: sasl.username = ***",
                 "rdkafka: client.rack = ***", "http://***@127.0.0.1:1",
                 "echo: ApiKey ***", "librdkafka CONF"):
        assert want in log, "no %r in the log" % want
    found = markers_in(log, "log")
    for path, text in served:
        found += markers_in(text, path)
    for path, text in files_written(a.tmp):
        found += markers_in(text, path)
    assert not found, "\n".join(found)


@vt.case
def no_secret_in_the_default_config_or_the_option_list():
    found = []
    for args in (["--print-default-config"], ["--list-options"]):
        p = vt.run_vigil(args)
        assert p.returncode == 0, p
        found += markers_in(p.stdout + p.stderr, args[0])
    assert not found, "\n".join(found)


def bad_config(tmp):
    """The secrets of the good config around errors of every kind."""
    return AGENT + "".join([
        es("es_ftp", "ftp://%s:%s@host:9200" % (marker("bad_url_user"), marker("bad_url_pw")),
           "user: vigil, password: %s" % marker("bad_es_password")),
        es("es_both", "http://127.0.0.1:1",
           "api_key: %s, password: %s" % (marker("bad_es_api_key"), marker("bad_es_password2"))),
        es("es_file_both", "http://127.0.0.1:1",
           "user: vigil, password: %s, password_file: '%s'" % (
               marker("bad_es_password3"), secret_file(tmp, "bad_es_password_file"))),
        kafka("k_bad", kafka_sensitive_inline() + [
            ("no.such.prop", "1"),
            ("sasl.oauthbearer.client.secret", marker("bad_k_client_secret")),
            ("ssl.keystore.password_file", "/nonexistent/vigil-keystore-password"),
            ("socket.timeout.ms", "soon")]),
    ])


@vt.case
def no_secret_in_the_errors_of_a_bad_config():
    a = vt.Agent("")
    with open(a.config_path, "w") as f:
        f.write(bad_config(a.tmp).replace("{tmp}", a.tmp).replace("{port}", str(a.port)))
    found = []
    for args in (["--check-config", a.config_path], ["--config", a.config_path]):
        p = vt.run_vigil(args)
        out = p.stdout + p.stderr
        errs = [ln for ln in out.splitlines() if ln.startswith(a.config_path)]
        print("  %s: exit %d, %d errors" % (args[0], p.returncode, len(errs)))
        assert p.returncode != 0, out
        assert "option 'url': 'ftp://***@host:9200' is not http://" in out, out
        assert "option 'rdkafka.no.such.prop': No such configuration property" in out, out
        assert "option 'rdkafka.socket.timeout.ms': Invalid value" in out, out
        assert "option 'rdkafka.ssl.keystore.password_file': cannot read" in out, out
        found += markers_in(out, args[0])
    assert not found, "\n".join(found)


@vt.case
def no_secret_when_librdkafka_refuses_the_producer():
    """The plan passes these (each property alone is fine); librdkafka
    refuses them together when the producer is made, at start."""
    a = vt.Agent("")
    props = [("security.protocol", "ssl"),
             ("ssl.key.pem", marker("init_k_ssl_key_pem")),
             ("ssl.key.password", marker("init_k_ssl_key_password")),
             ("ssl.certificate.pem", "not a certificate")]
    with open(a.config_path, "w") as f:
        f.write((AGENT + kafka("k_init", props)).replace("{tmp}", a.tmp)
                .replace("{port}", str(a.port)))
    p = vt.run_vigil(["--check-config", a.config_path])
    assert p.returncode == 0, p.stderr
    p = vt.run_vigil(["--config", a.config_path])
    out = p.stdout + p.stderr
    err = [ln for ln in out.splitlines() if "cannot start" in ln]
    print("  " + (err[0][-110:] if err else "(no error line)"))
    assert p.returncode != 0 and err and "ssl.certificate.pem" in err[0], out
    assert "rdkafka: ssl.key.pem = ***" in out, out
    found = markers_in(out, "start")
    assert not found, "\n".join(found)


vt.finish()
