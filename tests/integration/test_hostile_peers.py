"""Outputs facing broken peers stay bounded and say so, each bound measured
and printed before it is asserted:

- kafka: every broker of librdkafka's mock cluster down while lines come
  in. vigil_output_up turns 0 (retries counted, the reason logged) within
  seconds, not after the 5-minute `timeout`; up again within seconds of
  the brokers coming back; nothing lost, nothing doubled.
- elasticsearch: a _bulk reply padded to 300 MB of JSON whitespace, gzip-
  compressed to about 300 KB on the wire (es_receiver's huge_reply fault).
  The output reads a bounded part of it, counts the cut
  (vigil_output_reply_truncated_total) and sends the records again; the
  agent's peak RSS stays far from the reply's size.
- elasticsearch: curl_multi_perform failing (a preload library, curl_fail.c,
  while a flag file exists). The output waits instead of spinning: CPU
  seconds over a 5-second window stay near zero, the failure is logged
  rate-limited, and once curl works again every line arrives once.

Figures before the fix (the agent at the commit before it, same cases):
kafka up stayed 1 for the whole 30-second watch, retries 0; the agent's
peak RSS was 281 MB, with no counter of cut replies; the spinning send
used 4.2 CPU seconds in 5 seconds (of two shared cores), up stayed 1 and
nothing was logged. Run alone with
  VIGIL_BIN=build/vigil VIGIL_SOURCE_DIR=. /usr/bin/python3 tests/integration/test_hostile_peers.py
under /usr/bin/python3; every wait is bounded, every process stopped by PID."""

import json
import os
import time

import es_receiver
import kafkapeers as kp
import logcheck
import vigiltest as vt

TOPIC = "logs"
CURL_FAIL = os.environ.get("VIGIL_CURL_FAIL") or os.path.join(vt.SRC, "build",
                                                               "libcurl_fail.so")


IDLE_S = 20
IDLE_GROWTH_KIB = 128


def metric(agent, name, output):
    return agent.metric_value(name, {"output": output})


def seconds_until(pred, timeout, step=0.1):
    """Seconds until pred() is true, or None after timeout."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if pred():
            return time.monotonic() - t0
        time.sleep(step)
    return None


def log_lines(agent, words):
    return [ln for ln in agent.stderr().splitlines() if words in ln]


def config(output, **extra):
    opts = dict(output, retry_backoff='"200ms"', retry_backoff_max='"1s"', **extra)
    out = "{ %s }" % ", ".join("%s: %s" % kv for kv in opts.items())
    return logcheck.agent_config(["{tmp}/logs/*.log"], out, format="cri", read_from="head",
                                 interval="100ms", checkpoint_interval="500ms")


def read_back(path, manifests, write_lines, label, timeout, step):
    """Writes what the peer holds to path (write_lines(file)) and checks it
    against the writers' manifests, until complete or the timeout."""
    deadline = time.monotonic() + timeout
    while True:
        with open(path, "w") as f:
            write_lines(f)
        chk = logcheck.Checker(path, manifests)
        chk.update()
        if chk.complete() or time.monotonic() >= deadline:
            r = chk.result()
            print("  " + chk.summary(r, label).replace("\n", "\n  "))
            return r
        time.sleep(step)


def kafka_read_back(mock, agent, manifests, timeout=40.0):
    def lines(f):
        res = kp.consume(mock.bootstrap, TOPIC, eof=True, timeout=15)
        assert res.rc in (0, 1), res.stderr
        for m in sorted(res.messages, key=lambda m: (m["partition"], m["offset"])):
            f.write(m["value"] + "\n")
    return read_back(os.path.join(agent.tmp, "consumed.ndjson"), manifests, lines, "kafka",
                     timeout, 1.0)


def es_read_back(recv, agent, manifests, timeout=60.0):
    def lines(f):
        for d in sorted(recv.docs(), key=lambda d: d["source"]["@timestamp"]):
            f.write(json.dumps(dict(d["source"], body=d["source"]["message"])) + "\n")
    return read_back(os.path.join(agent.tmp, "indexed.ndjson"), manifests, lines,
                     "elasticsearch", timeout, 0.5)


def kafka_case():
    if not kp.missing_binaries():
        return vt.case
    if kp.configured_by_build():
        raise SystemExit("kafka peers missing: %s" % kp.missing_binaries())
    print("skip: kafka peers not built (%s)" % ", ".join(kp.missing_binaries()))
    return lambda fn: fn


@kafka_case()
def kafka_every_broker_down_shows_within_seconds():
    """All three brokers down for 12 s under a steady writer, with the
    default timeout of 5 minutes."""
    with kp.KafkaMock({TOPIC: 3}) as mock:
        agent = vt.Agent(config({"type": "kafka", "brokers": '"%s"' % mock.bootstrap,
                                 "topic": TOPIC, "key": "file"}))
        w = logcheck.Writers(agent.tmp, "k")
        try:
            agent.start()
            w.start(1, 1000, rate=2000)
            w.wait(30)
            vt.wait_for(lambda: agent.metric_value("vigil_output_records_total", {
                "output": "kafka", "result": "sent"}) >= 1000, 20, what="1000 records sent")
            assert metric(agent, "vigil_output_up", "kafka") == 1
            for b in (1, 2, 3):
                mock.broker_down(b)
            t_down = time.monotonic()
            w.start(1, 3000, rate=200)  # 15 s of lines, 12 of them with no broker
            to_zero = seconds_until(lambda: metric(agent, "vigil_output_up", "kafka") == 0, 30)
            retries = metric(agent, "vigil_output_retries_total", "kafka")
            ready = agent.get("/readyz")[0]
            why = log_lines(agent, "no broker connected")
            print("  every broker down: vigil_output_up 0 after %s s (bound 10 s), retries %s, "
                  "/readyz %d (503 while an output is down)"
                  % ("%.1f" % to_zero if to_zero is not None else "more than 30", retries,
                     ready))
            if why:
                print("  log: " + why[0][why[0].find("msg="):][:250])
            time.sleep(max(0.0, 12.0 - (time.monotonic() - t_down)))
            for b in (1, 2, 3):
                mock.broker_up(b)
            to_one = seconds_until(lambda: metric(agent, "vigil_output_up", "kafka") == 1, 40)
            ready_back = seconds_until(lambda: agent.get("/readyz")[0] == 200, 10)
            print("  brokers back: vigil_output_up 1 after %s s (bound 20 s), /readyz 200 %s s "
                  "later" % ("%.1f" % to_one if to_one is not None else "more than 40",
                             "%.1f" % ready_back if ready_back is not None else "never"))
            w.wait(30)
            r = kafka_read_back(mock, agent, w.manifests)
        finally:
            w.stop()
            agent.kill()
    assert to_zero is not None and to_zero <= 10, to_zero
    assert retries >= 1 and why, (retries, why)
    assert ready == 503 and ready_back is not None, (ready, ready_back)
    assert to_one is not None and to_one <= 20, to_one
    assert r["lost"] == 0 and r["dup"] == 0 and r["expected"] == 4000, r


def es_output(url, **extra):
    return dict({"type": "elasticsearch", "url": '["%s"]' % url}, **extra)


@vt.case
def es_huge_gzip_reply_is_cut_and_counted():
    """Three replies of 300 MB each once inflated, about 300 KB as sent."""
    with es_receiver.EsReceiver(huge_reply=3) as recv:
        agent = vt.Agent(config(es_output(recv.url)))
        w = logcheck.Writers(agent.tmp, "e")
        try:
            agent.start()
            w.start(1, 600, rate=5000, line_len=150)
            w.wait(30)
            r = es_read_back(recv, agent, w.manifests)
            vt.wait_for(lambda: recv.stats()["faults"].get("huge_reply") == 3, 20,
                        what="three huge replies served")
            seconds_until(lambda: metric(agent, "vigil_output_reply_truncated_total",
                                         "elasticsearch") == 3, 10)
            cut = metric(agent, "vigil_output_reply_truncated_total", "elasticsearch")
            hwm = vt.proc_status(agent.proc.pid, "VmHWM")
            retries = metric(agent, "vigil_output_retries_total", "elasticsearch")
            why = log_lines(agent, "cut off at")
        finally:
            w.stop()
            agent.kill()
    print("  3 replies of 300 MB (gzip on the wire): peak RSS %.1f MB (bound 100 MB), "
          "cut replies counted %s, retries %s" % (hwm / 1e6, cut, retries))
    if why:
        print("  log: " + why[0][why[0].find("msg="):][:250])
    assert hwm < 100e6, hwm
    assert cut == 3, cut
    assert retries >= 1 and why, (retries, why)
    assert r["lost"] == 0 and r["dup"] == 0 and r["expected"] == 600, r


@vt.case
def es_failing_curl_multi_perform_waits_instead_of_spinning():
    if not os.access(CURL_FAIL, os.R_OK):
        if os.environ.get("VIGIL_CURL_FAIL"):
            raise AssertionError("%s is missing" % CURL_FAIL)
        print("  skip: %s not built" % CURL_FAIL)
        return
    with es_receiver.EsReceiver() as recv:
        agent = vt.Agent(config(es_output(recv.url, timeout='"2s"')))
        flag = os.path.join(agent.tmp, "curl-fails")
        agent.env.update(LD_PRELOAD=CURL_FAIL, VIGIL_CURL_FAIL_FILE=flag)
        w = logcheck.Writers(agent.tmp, "e")
        try:
            agent.start()
            with open(flag, "w"):
                pass
            w.start(1, 300, rate=1000, line_len=150)
            w.wait(30)
            time.sleep(1.0)  # the lines are read and a send is under way
            pid = agent.proc.pid
            c0, t0 = vt.cpu_seconds(pid), time.monotonic()
            time.sleep(5.0)
            cpu, took = vt.cpu_seconds(pid) - c0, time.monotonic() - t0
            up = metric(agent, "vigil_output_up", "elasticsearch")
            said = log_lines(agent, "curl_multi_perform failed")
            indexed_while_failing = recv.count()
            os.unlink(flag)
            r = es_read_back(recv, agent, w.manifests)
        finally:
            w.stop()
            agent.kill()
    print("  curl_multi_perform failing: %.2f CPU s in %.1f s (bound 1.0), up %s, "
          "%d log lines, %d documents meanwhile" % (cpu, took, up, len(said),
                                                    indexed_while_failing))
    if said:
        print("  log: " + said[0][said[0].find("msg="):][:250])
    assert cpu < 1.0, cpu
    assert up == 0 and 1 <= len(said) <= 3 and indexed_while_failing == 0, (up, said)
    assert r["lost"] == 0 and r["dup"] == 0 and r["expected"] == 300, r


@kafka_case()
def an_idle_kafka_output_does_not_grow():
    """librdkafka's statistics and events come every second; an output that
    has nothing to send serves them (the idle hook) instead of letting them
    pile up until the next send."""
    with kp.KafkaMock({TOPIC: 6}) as mock:
        agent = vt.Agent(config({"type": "kafka", "brokers": '"%s"' % mock.bootstrap,
                                 "topic": TOPIC}))
        try:
            agent.start()
            time.sleep(5)  # connected, settled
            rss0 = vt.proc_status(agent.proc.pid, "VmRSS")
            time.sleep(IDLE_S)
            rss1 = vt.proc_status(agent.proc.pid, "VmRSS")
        finally:
            agent.kill()
    grew = (rss1 - rss0) / 1024.0
    print("  idle kafka output, 3 brokers, %d s: RSS %+.0f KiB (bound %d KiB)"
          % (IDLE_S, grew, IDLE_GROWTH_KIB))
    assert grew < IDLE_GROWTH_KIB, grew


vt.finish()
