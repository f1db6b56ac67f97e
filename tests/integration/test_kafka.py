"""The kafka output end to end: container log lines written by logwriter,
read by the agent, produced to librdkafka's mock cluster (three brokers, in
its own process, bootstrap list through a file) and read back with
kafka_consume, every record with its key. Checked with logcheck: nothing
lost, nothing duplicated, per-writer order kept (the key is the file, so
one writer is one partition).

Every partition stays well under the mock's 5 MiB (it drops older data
silently past that): at most 12,000 records of about 330 bytes each.
Run under /usr/bin/python3."""

import json
import os
import signal
import time

import kafkapeers as kp
import logcheck
import vigiltest as vt

if kp.missing_binaries():
    if kp.configured_by_build():
        raise SystemExit("kafka peers missing: %s" % kp.missing_binaries())
    print("skip: kafka peers not built (%s)" % ", ".join(kp.missing_binaries()))
    raise SystemExit(0)

TOPIC = "logs"
PARTITIONS = 6


def kafka_output(bootstrap, **extra):
    opts = {"type": "kafka", "brokers": bootstrap, "topic": TOPIC, "key": "file",
            "retry_backoff": "200ms", "retry_backoff_max": "1s"}
    opts.update(extra)
    return "{ %s }" % ", ".join('%s: "%s"' % kv for kv in opts.items())


def config(bootstrap, agent_opts=None, **extra):
    return logcheck.with_agent_options(logcheck.agent_config(
        ["{tmp}/logs/*.log"], kafka_output(bootstrap, **extra), format="cri",
        read_from="head", interval="100ms", checkpoint_interval="500ms"), agent_opts)


class Run:
    """One agent and its writers; the topic read back through a checker."""

    def __init__(self, mock, agent):
        self.mock, self.agent = mock, agent
        self.w = logcheck.Writers(agent.tmp, "k")

    def write(self, n_writers, rate, duration, **opts):
        """Starts n_writers new writers of rate * duration lines each."""
        self.w.start(n_writers, int(rate * duration), rate=rate, **opts)

    def read_back(self, timeout=40.0):
        """Consumes the topic until logcheck has every record (or the
        timeout); returns (result dict, consume result)."""
        out = os.path.join(self.agent.tmp, "consumed.ndjson")
        deadline = time.monotonic() + timeout
        while True:
            res = kp.consume(self.mock.bootstrap, TOPIC, eof=True, timeout=15)
            assert res.rc in (0, 1), res.stderr
            with open(out, "w") as f:
                for m in sorted(res.messages, key=lambda m: (m["partition"], m["offset"])):
                    f.write(m["value"] + "\n")
            chk = logcheck.Checker(out, self.w.manifests)
            chk.update()
            if chk.complete() or time.monotonic() >= deadline:
                r = chk.result()
                print("  " + chk.summary(r, "kafka").replace("\n", "\n  "))
                return r, res
            time.sleep(1.0)


def through_the_mock(n_writers, rate, duration, during=None, partitions=PARTITIONS, **extra):
    """Writers through the agent into a fresh mock cluster; `during(mock)`
    runs while they write. Returns (logcheck result, consume result)."""
    with kp.KafkaMock({TOPIC: partitions}) as mock:
        agent = vt.Agent(config(mock.bootstrap, **extra))
        run = Run(mock, agent)
        try:
            agent.start()
            run.write(n_writers, rate, duration)
            if during is not None:
                during(mock)
            run.w.wait(30)
            r, res = run.read_back()
            problems(agent)
            return r, res
        finally:
            run.w.stop()
            agent.kill()


def assert_keys(res):
    """Every message's key is its record's file, and one key, one partition."""
    parts = {}
    for m in res.messages:
        rec = json.loads(m["value"])
        assert m["key"] == rec["file"], (m["key"], rec.get("file"))
        assert parts.setdefault(m["key"], m["partition"]) == m["partition"], m
    return parts


def problems(agent):
    for ln in logcheck.agent_problems(agent.stderr()):
        print("  agent: " + ln)


@vt.case
def every_record_arrives_once_with_its_key():
    with kp.KafkaMock({TOPIC: PARTITIONS}) as mock:
        agent = vt.Agent(config(mock.bootstrap))
        run = Run(mock, agent)
        try:
            agent.start()
            run.write(3, 4000, 2.5)
            run.w.wait(30)
            r, res = run.read_back()
            parts = assert_keys(res)
            sent = vt.wait_for(lambda: agent.metric_value(
                "vigil_output_records_total", {"output": "kafka", "result": "sent"}) >= 30000,
                timeout=10, what="records_total reaching 30000")
            # the bytes on the wire come from librdkafka's statistics, once a second
            wire = vt.wait_for(lambda: agent.metric_value(
                "vigil_output_bytes_total", {"stage": "wire"}), timeout=5, what="wire bytes")
            raw = agent.metric_value("vigil_output_bytes_total", {"stage": "raw"})
            up = agent.metric_value("vigil_output_up", {"output": "kafka"})
            print("  %d records in %d partitions (keys %s); bytes raw %d, on the wire %s"
                  % (r["arrivals"], len(set(parts.values())), sorted(parts), raw, wire))
            problems(agent)
            assert r["ok"] and r["expected"] == 30000, r
            assert sent and up == 1 and raw > 30000 * 200, (raw, up)
            # lz4 on repetitive lines: fewer bytes on the wire than encoded
            assert 0 < wire < raw, (wire, raw)
            rc, took = agent.stop()
            assert rc == 0, rc
        finally:
            run.w.stop()
            agent.kill()


@vt.case
def python_kafka_reads_what_the_agent_produced():
    with kp.KafkaMock({TOPIC: 3}) as mock:
        agent = vt.Agent(config(mock.bootstrap, compression="gzip"))
        run = Run(mock, agent)
        try:
            agent.start()
            run.write(2, 2000, 1.0)
            run.w.wait(30)
            r, res = run.read_back()
            assert r["ok"] and r["expected"] == 4000, r
            mine = kp.kafka_python_read(mock.bootstrap, TOPIC, len(res.messages))
        finally:
            run.w.stop()
            agent.kill()
    theirs = sorted((m["partition"], m["offset"], m["key"], m["value"]) for m in res.messages)
    other = sorted((m["partition"], m["offset"], m["key"], m["value"]) for m in mine)
    assert theirs == other, "python3-kafka read something else than kafka_consume"
    print("  python3-kafka read the same %d messages (gzip batches)" % len(other))


@vt.case
def broker_down_five_seconds_loses_nothing():
    def down(mock):
        time.sleep(1.5)
        mock.broker_down(1)
        time.sleep(5.0)
        mock.broker_up(1)
        print("  broker 1 was down for 5 s while 3 writers ran")
    r, res = through_the_mock(3, 2000, 8.0, during=down)
    assert r["lost"] == 0 and r["dup"] == 0 and r["ooo"] == 0, r
    assert r["expected"] == 48000, r


@vt.case
def injected_produce_errors_are_retried_without_duplicates():
    def errors(mock):
        for _ in range(4):
            time.sleep(0.7)
            mock.push_produce_errors(TOPIC, 8, "NOT_LEADER_FOR_PARTITION", "REQUEST_TIMED_OUT")
    r, res = through_the_mock(3, 2000, 4.0, during=errors)
    assert r["lost"] == 0 and r["dup"] == 0 and r["ooo"] == 0, r
    assert r["expected"] == 24000, r


@vt.case
def full_local_queue_is_backpressure_not_loss():
    """librdkafka's queue capped at 64 KiB while every broker is down for
    3 s: produce answers QUEUE_FULL, the send waits, nothing is dropped."""
    def all_down(mock):
        time.sleep(0.5)
        for b in (1, 2, 3):
            mock.broker_down(b)
        time.sleep(3.0)
        for b in (1, 2, 3):
            mock.broker_up(b)
    r, res = through_the_mock(2, 3000, 2.0, during=all_down, buffer_max_bytes="64KiB",
                              message_max_bytes="4KiB")
    assert r["lost"] == 0 and r["dup"] == 0 and r["ooo"] == 0, r
    assert r["expected"] == 12000, r


@vt.case
def refused_authorization_stops_the_output_then_recovers():
    """The first produce requests answered TOPIC_AUTHORIZATION_FAILED: the
    output stops (vigil_output_stopped, /readyz 503: the engine's part, tested
    in test_records.py) with the records kept, and delivers them all once the
    broker lets it write."""
    with kp.KafkaMock({TOPIC: 3}) as mock:
        mock.push_produce_errors(TOPIC, 2, "TOPIC_AUTHORIZATION_FAILED",
                                 "TOPIC_AUTHORIZATION_FAILED")
        agent = vt.Agent(config(mock.bootstrap))
        run = Run(mock, agent)
        try:
            agent.start()
            run.write(1, 1000, 1.0)
            refused = vt.wait_for(lambda: [ln for ln in agent.stderr().splitlines()
                                           if "refused by Kafka" in ln], 10,
                                  what="the output stopped")
            run.w.wait(30)
            r, res = run.read_back()
        finally:
            run.w.stop()
            agent.kill()
    print("  " + refused[0][-150:])
    assert "stopped: refused by Kafka" in refused[0], refused[0]
    assert "authorization failed" in refused[0].lower(), refused[0]
    assert r["lost"] == 0 and r["dup"] == 0 and r["expected"] == 1000, r


@vt.case
def topic_template_takes_a_record_field():
    with kp.KafkaMock({"logs-stdout": 2}) as mock:
        cfg = config(mock.bootstrap).replace('topic: "logs"', 'topic: "logs-{stream}"')
        agent = vt.Agent(cfg)
        run = Run(mock, agent)
        try:
            agent.start()
            run.write(1, 1000, 0.5)
            run.w.wait(30)
            res = vt.wait_for(lambda: (lambda c: len(c.messages) >= 500 and c)(
                kp.consume(mock.bootstrap, "logs-stdout", eof=True, timeout=10)), 20,
                what="500 messages in logs-stdout")
        finally:
            run.w.stop()
            agent.kill()
    print("  %d messages in topic logs-stdout" % len(res.messages))
    assert len(res.messages) == 500 and all('"stream":"stdout"' in m["value"]
                                             for m in res.messages)


@vt.case
def sigterm_with_messages_queued_resends_after_restart():
    """Brokers unreachable (every one down) while lines come in: SIGTERM
    ends the agent within the shutdown timeout plus the flush, with the
    records unacknowledged; the agent started again once the brokers are
    back sends every one of them, once."""
    with kp.KafkaMock({TOPIC: PARTITIONS}) as mock:
        cfg = config(mock.bootstrap, agent_opts={"shutdown_timeout": "2s"})
        agent = vt.Agent(cfg)
        run = Run(mock, agent)
        try:
            agent.start()
            run.write(2, 2000, 1.0)
            run.w.wait(30)
            time.sleep(1.0)  # the first part is delivered
            for b in (1, 2, 3):
                mock.broker_down(b)
            run.write(1, 2000, 1.0)
            run.w.wait(30)
            time.sleep(1.5)  # read and queued in librdkafka, not deliverable
            queued = agent.metric_value("vigil_output_queue_bytes", {"output": "kafka"})
            t0 = time.monotonic()
            agent.send_signal(signal.SIGTERM)
            rc = agent.proc.wait(30)
            took = time.monotonic() - t0
            print("  SIGTERM with %s bytes queued: exit %d after %.1fs" % (queued, rc, took))
            assert rc == 0 and took < 2 + 10 + 5, (rc, took)
            stopped = agent.stderr()
            for b in (1, 2, 3):
                mock.broker_up(b)
            agent.start()
            r, res = run.read_back()
            problems(agent)
            assert "out-queue" in stopped or "unacknowledged" in stopped, stopped[-2000:]
            assert r["lost"] == 0 and r["dup"] == 0, r
            assert r["expected"] == 6000, r
        finally:
            run.w.stop()
            agent.kill()


@vt.case
def record_over_message_max_bytes_goes_to_the_dead_letter_file():
    with kp.KafkaMock({TOPIC: 3}) as mock:
        agent = vt.Agent(config(mock.bootstrap, message_max_bytes="2KiB"))
        run = Run(mock, agent)
        dead_path = os.path.join(agent.tmp, "state", "dead-letter", "kafka.ndjson")
        try:
            agent.start()
            run.write(1, 1000, 1.0, long_every=100, long_len=3000)
            run.w.wait(30)
            r, res = run.read_back(timeout=10)
            dead = vt.wait_for(lambda: os.path.exists(dead_path) and
                               len(open(dead_path).readlines()) >= 10 and
                               [json.loads(x) for x in open(dead_path)], 10, what="dead letters")
        finally:
            run.w.stop()
            agent.kill()
    lost = r["per_writer"]["k0"]["lost_ranges"]
    print("  lost (as meant) %d: %s; dead letters %d, reason: %s"
          % (r["lost"], lost, len(dead), dead[0]["reason"]))
    seqs = sorted(int(d["record"]["body"].split()[1][4:]) for d in dead)
    assert seqs == list(range(100, 1001, 100)), seqs
    assert r["lost"] == 10 and r["dup"] == 0 and r["arrivals"] == 990, r
    assert all(d["output"] == "kafka" and "message_max_bytes" in d["reason"] for d in dead)


@vt.case
def bad_rdkafka_property_is_refused_by_the_plan_with_librdkafkas_words():
    """The rdkafka map is tried on librdkafka when the configuration is
    checked: --check-config and a start refuse it alike, at the key's line,
    in librdkafka's words; a good map passes."""
    tmp = vt.Agent("").tmp
    path = os.path.join(tmp, "bad.yaml")
    for prop, words in (("no.such.property: 1",
                         'No such configuration property: "no.such.property"'),
                        ("socket.timeout.ms: soon",
                         'Invalid value for configuration property "socket.timeout.ms"'),
                        ("security.protocol: carrier_pigeon",
                         'Invalid value "carrier_pigeon" for configuration property '
                         '"security.protocol"')):
        with open(path, "w") as f:
            f.write("outputs:\n  - type: kafka\n    brokers: \"127.0.0.1:1\"\n    topic: t\n"
                    "    rdkafka:\n      client.rack: r1\n      %s\n" % prop)
        want = "%s:7: outputs[0] (kafka): option 'rdkafka.%s': %s" % (path, prop.split(":")[0],
                                                                      words)
        for args in (["--check-config", path], ["--config", path]):
            p = vt.run_vigil(args)
            got = [ln for ln in p.stderr.splitlines() if ln.startswith(path)]
            assert p.returncode != 0 and got == [want], (args, p.stderr)
        print("  " + want[len(tmp) + 1:])
    with open(path, "w") as f:
        f.write("outputs:\n  - type: kafka\n    brokers: \"127.0.0.1:1\"\n    topic: t\n"
                "    rdkafka: { client.rack: r1, socket.timeout.ms: 30000 }\n")
    p = vt.run_vigil(["--check-config", path])
    assert p.returncode == 0, p.stderr


vt.finish()
