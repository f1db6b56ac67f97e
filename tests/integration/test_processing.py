"""The processing stage end to end: container log lines (nginx access lines,
JSON application lines, plain text carrying secrets) through a collector's
processors into the Elasticsearch receiver with record_schema: ecs and into
a file with the flat schema. Fields and types are checked record by record
against what was written; a bearer token never reaches either output; a
filter's dropped records still move the checkpoint.

Run alone: VIGIL_BIN=build/vigil /usr/bin/python3 tests/integration/test_processing.py"""

import calendar
import json
import os
import subprocess
import time

import es_receiver
import vigiltest as vt

NS, POD, CONTAINER = "shop", "web-7d9f", "nginx"
CID = "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d"
NAME = "%s_%s_%s-%s.log" % (POD, NS, CONTAINER, CID)
SECRET = "s3cr3t-T0KEN-%04d"

CONFIG = """agent:
  node_name: test-node
  state_dir: {tmp}/state
  http: { listen: "127.0.0.1:{port}" }
filters:
  - { name: scrub, type: redact, presets: [bearer] }
  - { name: no_health, type: grep, field: path, exclude: '^/healthz$' }
collectors:
  - type: container_logs
    name: logs
    paths: ["{tmp}/logs/*.log"]
    format: cri
    read_from: head
    interval: 100ms
    checkpoint_interval: 300ms
    processors: [[json, nginx], scrub, no_health]
log_metrics:
  - name: http_requests_total
    help: "Access lines by method and status."
    source: [logs]
    match: '"(?<method>[A-Z]+) \\S+ HTTP/[0-9.]+" (?<status>\\d{3})'
    labels: [method, status]
  - name: order_latency_seconds
    type: histogram
    scope: { container: "ngin*" }
    field: lat
    value: lat
    buckets: [1, 10, 50]
outputs:
  - { type: file, name: flat, path: "{tmp}/out.ndjson" }
  - { type: elasticsearch, name: es, url: ["@URL@"], record_schema: ecs,
      retry_backoff: 200ms, retry_backoff_max: 1s }
"""


def cri(ts, msg, stream="stdout"):
    return "%s %s F %s\n" % (ts, stream, msg)


def lines():
    """(CRI text, expectations): one expectation per record that must arrive."""
    out, want = [], []
    base = calendar.timegm((2026, 12, 2, 10, 0, 0))
    for i in range(300):
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(base + i)) + ".%09dZ" % i
        k = i % 6
        if k in (0, 1):
            t = time.strftime("%d/%b/%Y:%H:%M:%S", time.gmtime(base + 3600 + i)) + " +0000"
            path = "/healthz" if i % 30 == 0 else "/api/item/%d" % i
            msg = ('10.0.%d.%d - - [%s] "GET %s HTTP/1.1" %d %d "-" "curl/8.%d"'
                   % (i // 256, i % 256, t, path, 200 + i % 3 * 100, 10 * i, i))
            if path != "/healthz":
                want.append({"kind": "nginx", "i": i, "status": 200 + i % 3 * 100,
                             "bytes": 10 * i, "path": path,
                             "time": (base + 3600 + i) * 1000000000})
        elif k in (2, 3):
            msg = json.dumps({"level": "error" if k == 2 else "info", "msg": "order %d" % i,
                              "n": i, "ok": k == 2, "lat": i / 4.0,
                              "auth": "Bearer " + SECRET % i})
            want.append({"kind": "json", "i": i, "msg": "order %d" % i, "n": i,
                         "ok": k == 2, "lat": i / 4.0})
        else:
            msg = "plain line %d Authorization: Bearer %s done" % (i, SECRET % i)
            want.append({"kind": "plain", "i": i})
        out.append(cri(ts, msg))
    return "".join(out), want


def time_ns(text):
    """2026-12-02T11:00:00.123456789Z -> UNIX ns."""
    head, frac = text.rstrip("Z").split(".") if "." in text else (text.rstrip("Z"), "0")
    secs = calendar.timegm(time.strptime(head, "%Y-%m-%dT%H:%M:%S"))
    return secs * 1000000000 + int((frac + "000000000")[:9])


def key_of(doc):
    """Which written line a record or document is (by its own content)."""
    if "n" in doc:
        return doc["n"]
    body = doc.get("message", doc.get("body", ""))
    if body.startswith("plain line "):
        return int(body.split()[2])
    return int(doc["remote_addr"].split(".")[2]) * 256 + int(doc["remote_addr"].split(".")[3])


def check_flat(recs, want):
    by = {key_of(r): r for r in recs}
    assert len(recs) == len(want) == len(by), (len(recs), len(want), len(by))
    for w in want:
        r = by[w["i"]]
        assert r["namespace"] == NS and r["pod"] == POD and r["container"] == CONTAINER, r
        if w["kind"] == "nginx":
            assert r["status"] == w["status"] and isinstance(r["status"], int), r
            assert r["body_bytes"] == w["bytes"] and r["path"] == w["path"], r
            assert r["method"] == "GET" and "parse_error" not in r, r
            assert time_ns(r["time"]) == w["time"], (r["time"], w)
        elif w["kind"] == "json":
            assert r["body"] == w["msg"] or r["msg"] == w["msg"], r
            assert r["n"] == w["n"] and isinstance(r["n"], int), r
            assert r["ok"] is w["ok"] and r["lat"] == w["lat"], r
            assert r["level"] in ("error", "info") and "parse_error" not in r, r
        else:
            assert r["parse_error"] is True, r


def check_ecs(docs, want):
    srcs = [d["source"] for d in docs]
    by = {key_of(s): s for s in srcs}
    assert len(srcs) == len(want) == len(by), (len(srcs), len(want), len(by))
    for w in want:
        s = by[w["i"]]
        k8s = s["kubernetes"]
        assert k8s["namespace"] == NS and k8s["pod"]["name"] == POD, s
        assert k8s["container"]["name"] == CONTAINER and s["container"]["id"] == CID, s
        assert s["host"]["name"] == "test-node" and "message" in s and "@timestamp" in s, s
        if w["kind"] == "nginx":
            assert s["status"] == w["status"] and s["path"] == w["path"], s
        elif w["kind"] == "json":
            assert s["n"] == w["n"] and s["ok"] is w["ok"], s
            assert s["log"]["level"] in ("error", "info"), s


def check_log_metrics(a, want):
    """Counts per container and level, and the configured metrics, as
    /metrics shows them (the agent refreshes them once a second); the text
    passes promtool."""
    pod = {"collector": "logs", "namespace": NS, "pod": POD, "container": CONTAINER}
    vt.wait_for(lambda: a.metric_value("vigil_log_records_total",
                                       dict(pod, stream="stdout")) == len(want),
                timeout=5, what="vigil_log_records_total of the container")
    n_json = sum(1 for w in want if w["kind"] == "json")
    errors = a.metric_value("vigil_log_level_total", dict(pod, level="error"))
    infos = a.metric_value("vigil_log_level_total", dict(pod, level="info"))
    assert errors == n_json / 2 and infos == n_json / 2, (errors, infos)
    by_status = {}
    for w in want:
        if w["kind"] == "nginx":
            by_status[w["status"]] = by_status.get(w["status"], 0) + 1
    for status, n in by_status.items():
        got = a.metric_value("http_requests_total", {"collector": "logs", "method": "GET",
                                                     "status": str(status)})
        assert got == n, (status, got, n)
    lat = [w["lat"] for w in want if w["kind"] == "json"]
    assert a.metric_value("order_latency_seconds_count", {"collector": "logs"}) == len(lat)
    assert a.metric_value("order_latency_seconds_bucket", {"le": "10"}) == \
        sum(1 for v in lat if v <= 10)
    assert abs(a.metric_value("order_latency_seconds_sum", {"collector": "logs"}) - sum(lat)) \
        < 1e-6
    text = a.metrics()
    p = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=30)
    problems = [ln for ln in (p.stdout + p.stderr).splitlines() if ln.strip()]
    assert not problems, "promtool: %s" % "\n".join(problems[:20])
    print("   /metrics: %d records of the container, %d error and %d info lines, requests by "
          "status %s, %d latencies; promtool passes" % (len(want), errors, infos,
                                                         sorted(by_status.items()), len(lat)))


@vt.case
def nginx_and_json_lines_arrive_parsed_and_without_secrets():
    text, want = lines()
    with es_receiver.EsReceiver(flavour="es8") as recv:
        a = vt.Agent(CONFIG.replace("@URL@", recv.url))
        os.makedirs(os.path.join(a.tmp, "logs"))
        with open(os.path.join(a.tmp, "logs", NAME), "w") as f:
            f.write(text)
        a.start()
        try:
            out = os.path.join(a.tmp, "out.ndjson")
            vt.wait_for(lambda: os.path.exists(out) and
                        sum(1 for _ in open(out)) >= len(want) and
                        recv.count() >= len(want), timeout=30,
                        what="%d records in the file and in the receiver" % len(want))
            time.sleep(0.5)  # anything extra would show now
            with open(out, "rb") as f:
                raw = f.read()
            recs = [json.loads(ln) for ln in raw.decode().splitlines()]
            docs = recv.docs()
            check_flat(recs, want)
            check_ecs(docs, want)
            wire = json.dumps(docs) + json.dumps(recv.requests())
            assert b"T0KEN" not in raw, "a token reached the file"
            assert "T0KEN" not in wire, "a token reached Elasticsearch"
            dropped = a.metric_value("vigil_filter_dropped_total",
                                     {"collector": "logs", "step": "no_health"})
            print("   %d records in the file and in the receiver, %d /healthz lines dropped, "
                  "no token in either" % (len(recs), dropped))
            assert dropped == 10, dropped
            # the dropped lines' positions were acknowledged: the checkpoint
            # reaches the end of the file
            size = os.path.getsize(os.path.join(a.tmp, "logs", NAME))
            vt.wait_for(lambda: a.metric_value("vigil_input_acked_records_total",
                                               {"collector": "logs"}) == len(want),
                        timeout=10, what="every kept record acknowledged")
            print("   file of %d bytes, %d records acknowledged" % (size, len(want)))
            check_log_metrics(a, want)
        finally:
            a.stop()


@vt.case
def bad_steps_are_refused_with_their_line():
    bad = CONFIG.replace("presets: [bearer]", "presets: [baerer]").replace(
        "[[json, nginx], scrub, no_health]", "[[json, ngnix], scrub, no_health]")
    a = vt.Agent(bad.replace("@URL@", "http://127.0.0.1:9"))
    p = vt.run_vigil(["--check-config", a.config_path], timeout=10)
    got = [ln for ln in p.stderr.splitlines() if ln.startswith(a.config_path)]
    print("   " + "\n   ".join(got))
    assert p.returncode != 0
    assert any(":6: filters[0] (scrub)" in ln and "baerer" in ln for ln in got), got
    assert any(":16: collectors[0] (container_logs): processors[0][1]: unknown parser 'ngnix' "
               "(did you mean 'nginx'?)" in ln for ln in got), got


vt.finish()
