"""The agent's HTTP side: /metrics passes promtool, content negotiation,
gzip, /healthz, /readyz, 404 and 405, a busy port, and a real Prometheus
scraping it."""

import gzip
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.parse

import vigiltest as vt

CONFIG = """
agent:
  state_dir: {tmp}/state
  http: { listen: "127.0.0.1:{port}" }
collectors:
  - { type: node, interval: 1s }
  - { type: generator, rate: 5 }
outputs:
  - { type: discard }
"""

# promtool's notes that are expected: names kept identical to node_exporter's
# (node_memory_MemTotal_bytes and the like) are camelCase on purpose.
ALLOWED_PROMTOOL_NOTE = "metric names should be written in 'snake_case' not 'camelCase'"

agent = vt.Agent(CONFIG).start()


@vt.case
def metrics_pass_promtool():
    text = agent.metrics()
    assert "node_cpu_seconds_total{" in text
    assert "vigil_build_info{" in text
    for fam in ("process_cpu_seconds_total", "process_resident_memory_bytes",
                "process_open_fds", "process_start_time_seconds"):
        assert ("\n" + fam + " ") in text, fam
    p = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=30)
    problems = [line for line in (p.stdout + p.stderr).splitlines()
                if line.strip() and ALLOWED_PROMTOOL_NOTE not in line]
    assert not problems, "promtool: %s" % "\n".join(problems[:20])


@vt.case
def metrics_content_types_and_gzip():
    status, hdrs, body = agent.get("/metrics")
    assert status == 200
    assert hdrs["content-type"].startswith("text/plain; version=0.0.4"), hdrs["content-type"]
    assert "content-encoding" not in hdrs
    status, hdrs, zbody = agent.get("/metrics", {"Accept-Encoding": "gzip"})
    assert status == 200 and hdrs.get("content-encoding") == "gzip", hdrs
    assert b"node_load1 " in gzip.decompress(zbody)
    status, hdrs, body = agent.get(
        "/metrics", {"Accept": "application/openmetrics-text; version=1.0.0,text/plain;q=0.5"})
    assert hdrs["content-type"].startswith("application/openmetrics-text"), hdrs
    assert body.endswith(b"# EOF\n")
    assert b"# TYPE node_cpu_seconds counter" in body


@vt.case
def health_ready_404_405():
    assert agent.get("/healthz")[0] == 200
    assert agent.get("/readyz")[0] == 200
    assert agent.get("/nope")[0] == 404
    status, hdrs, _ = agent.get("/metrics", method="POST")
    assert status == 405 and "GET" in hdrs.get("allow", ""), (status, hdrs)


@vt.case
def collector_health_metrics():
    vt.wait_for(lambda: agent.metric_value("vigil_collector_success", {"collector": "node"}) == 1,
                5, what="vigil_collector_success{collector=node} == 1")
    assert agent.metric_value("vigil_collector_duration_seconds", {"collector": "node"}) >= 0
    assert agent.metric_value("vigil_output_records_total",
                              {"output": "discard", "result": "sent"}) is not None


@vt.case
def listens_on_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
            port = s.getsockname()[1]
    except OSError:
        print("skip: no IPv6 loopback here")
        return
    cfg = CONFIG.replace('"127.0.0.1:{port}"', '"[::1]:%d"' % port)
    a = vt.Agent(cfg, port=port)
    a.start(wait_ready=False)
    try:
        url = "http://[::1]:%d/readyz" % port
        vt.wait_for(lambda: a._alive() and vt.http_get(url)[0] == 200, 10, what="[::1] readyz")
        status, _, body = vt.http_get("http://[::1]:%d/metrics" % port)
        assert status == 200 and b"node_load1 " in body
        rc, _ = a.stop()
        assert rc == 0
    finally:
        a.kill()


@vt.case
def busy_port_is_a_clear_error():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        other = vt.Agent(CONFIG, port=port)
        other.start(wait_ready=False)
        try:
            rc = other.proc.wait(10)
        except subprocess.TimeoutExpired:
            other.kill()
            raise AssertionError("agent kept running on a busy port")
        err = other.stderr()
        assert rc != 0
        assert "127.0.0.1:%d" % port in err and "in use" in err, err


@vt.case
def real_prometheus_scrapes_it():
    prom = shutil.which("prometheus")
    assert prom, "prometheus is not installed (make deps-test installs it)"
    tmp = agent.tmp
    web_port = vt.free_port()
    cfg = os.path.join(tmp, "prometheus.yml")
    with open(cfg, "w") as f:
        f.write("global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
                "scrape_configs:\n"
                "  - job_name: vigil\n"
                "    static_configs: [{targets: ['127.0.0.1:%d']}]\n" % agent.port)
    log = open(os.path.join(tmp, "prometheus.log"), "wb")
    p = subprocess.Popen([prom, "--config.file=" + cfg,
                          "--storage.tsdb.path=" + os.path.join(tmp, "tsdb"),
                          "--web.listen-address=127.0.0.1:%d" % web_port],
                         stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    try:
        def query(q):
            url = "http://127.0.0.1:%d/api/v1/query?query=%s" % (web_port, urllib.parse.quote(q))
            status, _, body = vt.http_get(url)
            if status != 200:
                return None
            res = json.loads(body)["data"]["result"]
            return res or None

        up = vt.wait_for(lambda: query('up{job="vigil"} == 1'), 60, 0.5,
                         what="Prometheus to record up == 1")
        assert float(up[0]["value"][1]) == 1
        cpu = vt.wait_for(lambda: query('count(node_cpu_seconds_total{job="vigil"})'), 30, 0.5,
                          what="node_cpu_seconds_total in Prometheus")
        assert float(cpu[0]["value"][1]) >= os.cpu_count()
    finally:
        vt.terminate(p)


@vt.case
def sigterm_exits_zero_within_two_seconds():
    rc, took = agent.stop()
    assert rc == 0, (rc, agent.stderr())
    assert took < 2.0, took


agent.kill()
vt.finish()
