"""The elasticsearch output end to end: container log lines written by
logwriter, read by the agent and indexed through `_bulk` into
es_receiver.py, a local receiver that enforces the protocol (final newline,
action lines, gzip, auth, data streams create-only, 409 on a second create
of an id) and injects faults. The receiver's documents are checked with
logcheck: every line indexed exactly once, whatever the faults.
Run under /usr/bin/python3."""

import json
import os
import signal
import subprocess
import time

import es_receiver
import logcheck
import vigiltest as vt


def es_output(url, **extra):
    opts = {"type": "elasticsearch", "url": '["%s"]' % url, "retry_backoff": "200ms",
            "retry_backoff_max": "1s"}
    opts.update(extra)
    return "{ %s }" % ", ".join("%s: %s" % kv for kv in opts.items())


def config(url, agent_opts=None, **extra):
    return logcheck.with_agent_options(logcheck.agent_config(
        ["{tmp}/logs/*.log"], es_output(url, **extra), format="cri", read_from="head",
        interval="100ms", checkpoint_interval="500ms"), agent_opts)


class Run:
    """One agent, its writers, and the receiver's documents read back."""

    def __init__(self, recv, agent):
        self.recv, self.agent = recv, agent
        self.w = logcheck.Writers(agent.tmp, "e")

    def write(self, n_writers, count, rate=5000, **opts):
        self.w.start(n_writers, count, rate=rate, line_len=150, **opts)

    def docs_file(self):
        """The receiver's documents as the NDJSON the checker reads
        (message -> body), sorted by time, which keeps each writer's order."""
        docs = self.recv.docs()
        path = os.path.join(self.agent.tmp, "indexed.ndjson")
        with open(path, "w") as f:
            for d in sorted(docs, key=lambda d: d["source"]["@timestamp"]):
                src = dict(d["source"], body=d["source"]["message"])
                f.write(json.dumps(src) + "\n")
        return docs, path

    def read_back(self, timeout=30.0, label="elasticsearch"):
        deadline = time.monotonic() + timeout
        while True:
            docs, path = self.docs_file()
            chk = logcheck.Checker(path, self.w.manifests)
            chk.update()
            if chk.complete() or time.monotonic() >= deadline:
                r = chk.result()
                print("  " + chk.summary(r, label).replace("\n", "\n  "))
                return r, docs
            time.sleep(0.5)


LAST_LOG = []  # the agent's log of the last index_lines run


def index_lines(recv_opts, count, early=False, urls=None, **extra):
    """`count` lines of one writer indexed into a fresh receiver (written
    before the agent starts when early, so that batches are full); urls:
    the output's URLs around the receiver's (a function of it).
    Returns (logcheck result, documents, receiver stats)."""
    with es_receiver.EsReceiver(**recv_opts) as recv:
        cfg = config(recv.url, **extra)
        if urls is not None:
            cfg = cfg.replace('url: ["%s"]' % recv.url,
                              "url: [%s]" % ", ".join('"%s"' % u for u in urls(recv.url)))
        agent = vt.Agent(cfg)
        run = Run(recv, agent)
        try:
            if not early:
                agent.start()
            run.write(1, count, rate=100000 if early else 5000)
            run.w.wait()
            if early:
                agent.start()
            r, docs = run.read_back()
            LAST_LOG[:] = [agent.stderr()]
            return r, docs, recv.stats()
        finally:
            run.w.stop()
            agent.kill()


def problems(agent):
    for ln in logcheck.agent_problems(agent.stderr(), limit=6):
        print("  agent: " + ln[:300])


def exactly_once(r, expected):
    # out of order is not asserted: documents are read back by @timestamp,
    # which the writer stamps per batch, and requests go out concurrently
    assert r["lost"] == 0 and r["dup"] == 0 and r["expected"] == expected, r


@vt.case
def every_flavour_indexes_every_line_once():
    for flavour in ("es7", "es8", "opensearch1", "opensearch2"):
        with es_receiver.EsReceiver(flavour=flavour) as recv:
            agent = vt.Agent(config(recv.url, index='"vigil-{stream}-%Y.%m.%d"'))
            run = Run(recv, agent)
            try:
                agent.start()
                run.write(2, 1500)
                run.w.wait()
                r, docs = run.read_back(label=flavour)
                exactly_once(r, 3000)
                indices = {d["index"] for d in docs}
                today = time.strftime("%Y.%m.%d", time.gmtime())
                assert indices <= {"vigil-stdout-" + today,
                                   "vigil-stdout-" + time.strftime(
                                       "%Y.%m.%d", time.gmtime(time.time() - 60))}, indices
                # id auto: 32 hex digits, the same record always the same id
                assert all(len(d["id"]) == 32 for d in docs)
                st = recv.stats()
                print("  %s: %d docs in %s, %d requests, gzip %s"
                      % (flavour, len(docs), sorted(indices), st["requests"],
                         st.get("gzip_requests")))
                assert st.get("gzip_requests", 0) > 0, st
            finally:
                run.w.stop()
                agent.kill()


@vt.case
def faults_and_kill_9_still_index_every_line_once():
    """Per-item 429s, whole 503s and a SIGKILL of the agent in the middle:
    with id auto the records sent again after the restart are creates of
    ids that exist (409, delivered), so nothing is indexed twice."""
    with es_receiver.EsReceiver(flavour="es8", item_429_ratio=0.1, seed=3) as recv:
        agent = vt.Agent(config(recv.url))
        run = Run(recv, agent)
        try:
            agent.start()
            run.write(3, 6000, rate=3000)
            time.sleep(1.0)
            recv.faults(fail_503=3)
            time.sleep(0.7)
            agent.kill()
            print("  killed the agent with %d documents indexed" % recv.count())
            agent.start()
            run.w.wait()
            r, docs = run.read_back(timeout=40)
            st = recv.stats()
            print("  items by status %s; faults served %s"
                  % (st.get("items_by_status"), st.get("faults")))
            problems(agent)
            exactly_once(r, 18000)
            by_status = st.get("items_by_status", {})
            assert int(by_status.get("429", 0)) > 0, st
            assert int(by_status.get("409", 0)) > 0, "no replay after the kill: %s" % st
        finally:
            run.w.stop()
            agent.kill()


@vt.case
def bad_documents_go_to_the_dead_letter_file_with_the_reason():
    with es_receiver.EsReceiver(flavour="es8", bad_marker="seq=77 ") as recv:
        agent = vt.Agent(config(recv.url))
        run = Run(recv, agent)
        dead_path = os.path.join(agent.tmp, "state", "dead-letter", "elasticsearch.ndjson")
        try:
            agent.start()
            run.write(1, 500)
            run.w.wait()
            r, docs = run.read_back(timeout=8)
            dead = vt.wait_for(lambda: os.path.exists(dead_path) and
                               [json.loads(x) for x in open(dead_path)], 10,
                               what="a dead letter")
            dropped = vt.wait_for(lambda: agent.metric_value(
                "vigil_output_dead_letter_records_total", {"output": "elasticsearch"}), 5,
                what="dead letters counted")
        finally:
            run.w.stop()
            agent.kill()
    print("  dead letter: %s / %s" % (dead[0]["record"]["body"][:20], dead[0]["reason"][:120]))
    assert len(dead) == 1 and dead[0]["record"]["body"].startswith("w=e0 seq=77 "), dead
    assert dead[0]["output"] == "elasticsearch" and "time" in dead[0], dead
    assert dead[0]["reason"].startswith("400 mapper_parsing_exception"), dead[0]["reason"]
    assert dropped == 1
    assert r["lost"] == 1 and r["dup"] == 0 and r["arrivals"] == 499, r


@vt.case
def request_too_large_is_split_until_it_fits():
    """The lines are written before the agent starts, so that batches are
    full (hundreds of kB) and the receiver's 40 kB limit answers 413."""
    r, docs, st = index_lines({"flavour": "es8", "max_body": 40000}, 3000, early=True)
    print("  %d requests, faults served %s" % (st["requests"], st.get("faults")))
    assert int(st.get("faults", {}).get("max_body", 0)) > 0, st
    exactly_once(r, 3000)


@vt.case
def refused_credentials_stop_the_output_until_they_work():
    tmp = vt.Agent("").tmp
    pw = os.path.join(tmp, "password")
    with open(pw, "w") as f:
        f.write("s3cret\n")
    with es_receiver.EsReceiver(flavour="es8", user="vigil", password="s3cret",
                                fail_401=4) as recv:
        agent = vt.Agent(config(recv.url, user="vigil", password_file='"%s"' % pw))
        run = Run(recv, agent)
        try:
            agent.start()
            run.write(1, 300)
            stopped = vt.wait_for(lambda: agent.metric_value(
                "vigil_output_stopped", {"output": "elasticsearch"}) == 1, 10,
                what="vigil_output_stopped 1")
            ready = agent.get("/readyz")[0]
            run.w.wait()
            r, docs = run.read_back(timeout=20)
            # the engine looks at the outputs' state once a second
            again = vt.wait_for(lambda: agent.get("/readyz")[0] == 200 and 200, 5,
                                what="/readyz 200 again")
            log = agent.stderr()
        finally:
            run.w.stop()
            agent.kill()
    msg = [ln for ln in log.splitlines() if "refused the credentials" in ln]
    print("  /readyz %d while refused, %d after; %s" % (ready, again, msg[0][-120:] if msg
                                                        else "(no message)"))
    assert stopped and ready == 503 and again == 200, (ready, again)
    assert msg and "s3cret" not in log
    exactly_once(r, 300)


@vt.case
def api_key_and_data_stream():
    key = os.path.join(vt.Agent("").tmp, "api_key")
    with open(key, "w") as f:
        f.write("a2V5OnZhbHVl\n")
    r, docs, st = index_lines({"flavour": "opensearch2", "api_key": "a2V5OnZhbHVl",
                               "data_stream": ["logs-generic-default"]}, 500,
                              api_key_file='"%s"' % key, data_stream="logs-generic-default")
    assert {d["index"] for d in docs} == {"logs-generic-default"}, {d["index"] for d in docs}
    exactly_once(r, 500)


@vt.case
def id_none_lets_the_server_choose_and_plain_bodies():
    r, docs, st = index_lines({"flavour": "es7"}, 500, id="none", compress="none")
    assert st.get("gzip_requests", 0) == 0, st
    assert all(len(d["id"]) != 32 for d in docs[:10]), docs[:1]
    exactly_once(r, 500)


@vt.case
def record_schema_ecs_indexes_ecs_documents():
    """record_schema: ecs: the receiver (which refuses a key twice) takes
    every document, each with the fields in their ECS places."""
    r, docs, st = index_lines({"flavour": "es8"}, 300, record_schema="ecs")
    for d in docs:
        src = d["source"]
        assert sorted(src) == ["@timestamp", "host", "log", "message", "stream"], src
        assert src["host"] == {"name": "test-node"} and src["stream"] == "stdout", src
        assert src["log"]["file"]["path"].endswith(".log"), src
    exactly_once(r, 300)


@vt.case
def requests_go_out_concurrently_up_to_workers():
    """Full batches cut at 16 KiB into many requests, a receiver that takes
    0.2 s per request: three workers keep three requests in flight."""
    r, docs, st = index_lines({"flavour": "es8", "delay": 0.2}, 2000, early=True,
                              workers=3, bulk_max_bytes="16KiB")
    print("  %d requests, at most %d in flight" % (st["requests"], st["max_in_flight"]))
    assert st["max_in_flight"] == 3, st
    exactly_once(r, 2000)


@vt.case
def failover_to_the_next_url():
    dead = "http://127.0.0.1:%d" % vt.free_port()
    r, docs, st = index_lines({"flavour": "es8"}, 1000, urls=lambda good: [dead, good])
    exactly_once(r, 1000)


def make_certificate(tmp):
    """A self-signed certificate for 127.0.0.1 (openssl), as (cert, key)."""
    cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    p = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", key, "-out", cert], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stderr
    return cert, key


@vt.case
def tls_verifies_the_server_unless_told_not_to():
    """HTTPS with the receiver's own certificate: refused without ca_file
    (the records stay queued, the reason names the certificate), accepted
    with it, and with tls_verify: false (logged as a warning)."""
    cert, key = make_certificate(vt.Agent("").tmp)
    tls = {"flavour": "es8", "tls_cert": cert, "tls_key": key}
    with es_receiver.EsReceiver(**tls) as recv:
        agent = vt.Agent(config(recv.url))
        try:
            os.makedirs(os.path.join(agent.tmp, "logs"))
            with open(os.path.join(agent.tmp, "logs", "x.log"), "w") as f:
                f.write("2026-11-25T07:00:00.000000000Z stdout F hello\n")
            agent.start()
            refused = vt.wait_for(lambda: [ln for ln in agent.stderr().splitlines()
                                           if "certificate" in ln.lower()], 10,
                                  what="a certificate error")
            assert recv.count() == 0
        finally:
            agent.kill()
    print("  without ca_file: " + refused[0][-140:])
    r, docs, st = index_lines(tls, 300, ca_file='"%s"' % cert)
    exactly_once(r, 300)
    r, docs, st = index_lines(tls, 300, tls_verify="false")
    exactly_once(r, 300)
    warned = [ln for ln in LAST_LOG[0].splitlines() if "level=warn" in ln and "tls_verify" in ln]
    print("  tls_verify false: " + (warned[0][-120:] if warned else "(no warning)"))
    assert warned, LAST_LOG[0][-2000:]
    # mutual TLS: the receiver wants a client certificate its CA signed
    r, docs, st = index_lines(dict(tls, tls_client_ca=cert), 200, ca_file='"%s"' % cert,
                              client_cert='"%s"' % cert, client_key='"%s"' % key)
    exactly_once(r, 200)


@vt.case
def pipeline_and_routing_reach_the_server():
    r, docs, st = index_lines({"flavour": "es8"}, 200, pipeline="vigil-in",
                              routing='"{stream}"')
    print("  pipelines %s, routing values %s" % (st.get("pipelines"), st.get("routings")))
    assert st.get("pipelines", {}).get("vigil-in") == 200, st
    assert st.get("routings") == {"stdout": 200}, st
    exactly_once(r, 200)


@vt.case
def sigterm_with_a_slow_server_ends_within_the_shutdown_timeout():
    with es_receiver.EsReceiver(flavour="es8", delay=20) as recv:
        agent = vt.Agent(config(recv.url, timeout="60s", agent_opts={"shutdown_timeout": "1s"}))
        run = Run(recv, agent)
        try:
            agent.start()
            run.write(1, 200)
            run.w.wait()
            time.sleep(1.0)
            t0 = time.monotonic()
            agent.send_signal(signal.SIGTERM)
            rc = agent.proc.wait(15)
            took = time.monotonic() - t0
        finally:
            run.w.stop()
            agent.kill()
    print("  SIGTERM with a request in flight (server answers after 20 s): exit %d after %.1fs"
          % (rc, took))
    assert rc == 0 and took < 3.0, (rc, took)


vt.finish()
