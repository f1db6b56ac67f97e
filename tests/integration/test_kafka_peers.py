"""The Kafka test peers, proved without the agent: kafka_produce writes to
kafka_mock's cluster and kafka_consume reads every record back with its key;
a broker down for 5 s stalls its partition and the producer delivers once it
is back; injected Produce errors (NOT_LEADER_FOR_PARTITION,
REQUEST_TIMED_OUT) are retried without duplicates; python3-kafka, an
independent client, reads the same records as kafka_consume; the mock's
command channel answers errors and the mock stops on EOF and SIGTERM.

Each test stays far below the mock's limit of about 5 MiB per partition."""

import subprocess
import time

import kafkapeers as kp
import vigiltest as vt

# The value carries what JSON must escape and UTF-8 it must keep.
VALUE = 'seq-%05d "quoted" back\\slash\ttab caf\u00e9 \u2603 {"json":[1,2]}'


def pairs(prefix, n, keys=None):
    """n (key, value) pairs; keys cycle through `keys` distinct ones when given."""
    return [("%s-%05d" % (prefix, i % keys if keys else i), VALUE % i) for i in range(n)]


def assert_offsets_dense(res):
    """Every partition holds offsets 0..n-1, each once: nothing lost or doubled."""
    for part, msgs in res.by_partition().items():
        offsets = [m["offset"] for m in msgs]
        assert offsets == list(range(len(offsets))), (part, offsets[:20])


def assert_exactly(res, sent):
    """The topic holds exactly the sent (key, value) pairs, each once."""
    def order(kv):
        return (kv[0] is not None, kv[0] or "", kv[1])

    got = sorted(((m["key"], m["value"]) for m in res.messages), key=order)
    want = sorted(sent, key=order)
    assert len(got) == len(want), "read %d, sent %d" % (len(got), len(want))
    assert got == want, [g for g, w in zip(got, want) if g != w][:5]
    assert_offsets_dense(res)


def skip_unless_built():
    missing = kp.missing_binaries()
    if not missing:
        return
    if kp.configured_by_build():
        raise SystemExit("FAIL: Kafka peers named by the build are missing: %s" % missing)
    print("skip: Kafka peers not built (%s); build kafka_mock, kafka_consume and "
          "kafka_produce or set %s" % (" ".join(missing), "/".join(kp.ENV_NAMES)))
    vt.finish()


skip_unless_built()


@vt.case
def every_message_read_back_with_its_key():
    sent = pairs("user", 1000, keys=50) + [(None, "a message without a key")]
    with kp.KafkaMock({"logs": 3}) as mock:
        rc, reports, summary = kp.produce(mock.bootstrap, "logs", sent)
        assert rc == 0 and summary["delivered"] == len(sent), (rc, summary)
        assert len(reports) == len(sent) and not [r for r in reports if "error" in r]
        res = kp.consume(mock.bootstrap, "logs", count=len(sent))
    assert res.rc == 0 and res.summary["at_eof"] and not res.summary["timed_out"], res.summary
    assert_exactly(res, sent)
    assert [m for m in res.messages if m["key"] is None][0]["value"] == "a message without a key"
    # One key, one partition, in the order it was sent.
    seen = {}
    for m in sorted(res.messages, key=lambda m: (m["partition"], m["offset"])):
        if m["key"] is not None:
            part, last = seen.get(m["key"], (m["partition"], -1))
            seq = int(m["value"][4:9])
            assert part == m["partition"] and seq > last, (m, part, last)
            seen[m["key"]] = (part, seq)
    assert len(seen) == 50 and len(res.by_partition()) == 3


@vt.case
def broker_down_five_seconds_then_up_delivers_everything():
    first, second = pairs("before", 300), pairs("during", 300)
    with kp.KafkaMock({"down": 3}) as mock:
        p = kp.Producer(mock.bootstrap, "down")
        try:
            p.send(first)
            p.wait_delivered(len(first))
            mock.broker_down(mock.leader_of(0))
            p.send(second)
            time.sleep(5)
            stalled = len(first) + len(second) - p.delivered()
            print("  %d of %d stalled while broker %d was down"
                  % (stalled, len(second), mock.leader_of(0)))
            mock.broker_up(mock.leader_of(0))
            rc, summary = p.finish()
        finally:
            p.stop()
        res = kp.consume(mock.bootstrap, "down", count=len(first) + len(second))
    # Partition 0 waited for its leader; the others went on meanwhile.
    assert 0 < stalled < len(second), stalled
    assert rc == 0 and summary["delivered"] == 600 and summary["failed"] == 0, (rc, summary)
    assert res.rc == 0, res.summary
    assert_exactly(res, first + second)


@vt.case
def produce_errors_are_retried_without_duplicates():
    sent = pairs("retry", 500)
    with kp.KafkaMock({"errs": 3}) as mock:
        mock.push_produce_errors("errs", 6, "NOT_LEADER_FOR_PARTITION", "REQUEST_TIMED_OUT")
        rc, reports, summary = kp.produce(mock.bootstrap, "errs", sent)
        res = kp.consume(mock.bootstrap, "errs", count=len(sent))
    assert rc == 0 and summary["delivered"] == 500 and summary["failed"] == 0, (rc, summary)
    # More messages went on the wire than were delivered: the errors bit.
    assert summary["transmitted"] > summary["delivered"], summary
    print("  %(transmitted)d transmitted for %(delivered)d delivered" % summary)
    assert sorted(r["key"] for r in reports) == sorted(k for k, _ in sent)
    assert res.rc == 0, res.summary
    assert_exactly(res, sent)


@vt.case
def slow_broker_still_delivers():
    with kp.KafkaMock({"slow": 1}) as mock:
        mock.broker_rtt(-1, 500)
        t0 = time.monotonic()
        rc, _, summary = kp.produce(mock.bootstrap, "slow", pairs("slow", 10))
        took = time.monotonic() - t0
        mock.broker_rtt(-1, 0)
    assert rc == 0 and summary["delivered"] == 10, (rc, summary)
    assert took >= 0.5, took


@vt.case
def python_kafka_reads_the_same_records():
    sent = pairs("xcheck", 400, keys=40)
    with kp.KafkaMock({"xcheck": 4}) as mock:
        rc, _, summary = kp.produce(mock.bootstrap, "xcheck", sent)
        assert rc == 0, summary
        ours = kp.consume(mock.bootstrap, "xcheck", count=len(sent))
        theirs = kp.kafka_python_read(mock.bootstrap, "xcheck", len(sent))
    assert ours.rc == 0, ours.summary
    assert_exactly(ours, sent)

    def key(m):
        return (m["partition"], m["offset"])

    assert sorted(theirs, key=key) == sorted(ours.messages, key=key)


@vt.case
def mock_commands_answer_errors_and_stop_cleanly():
    mock = kp.KafkaMock({"cmd": 2}).start()
    try:
        for line in ("broker_down 9", "broker_up 0", "broker_rtt 1", "nonsense",
                     "push_produce_errors * 2 NO_SUCH_ERROR", "push_produce_errors * 0 "
                     "REQUEST_TIMED_OUT", "create_topic cmd 2", "create_topic other 0",
                     "create_topic other", ""):
            reply = mock.try_command(line)
            assert reply.startswith("error "), (line, reply)
        mock.command("push_produce_errors * 1 RD_KAFKA_RESP_ERR_NOT_LEADER_OR_FOLLOWER")
        mock.create_topic("late", 2)
        rc, _, summary = kp.produce(mock.bootstrap, "late", pairs("late", 20))
        assert rc == 0 and summary["delivered"] == 20, summary
    finally:
        assert mock.stop() == 0, mock.stderr()
    # stdin EOF ends it too, with status 0.
    mock2 = kp.KafkaMock().start()
    mock2.proc.stdin.close()
    assert mock2.proc.wait(10) == 0, mock2.stderr()
    mock2.stop()
    mock.cleanup()
    mock2.cleanup()


@vt.case
def consume_times_out_with_status_1():
    with kp.KafkaMock({"empty": 2}) as mock:
        t0 = time.monotonic()
        res = kp.consume(mock.bootstrap, "empty", count=5, eof=False, timeout=2.0)
        took = time.monotonic() - t0
        eof = kp.consume(mock.bootstrap, "empty", eof=True, timeout=10.0)
    assert res.rc == 1 and res.summary["timed_out"] and res.messages == [], res.summary
    assert 1.5 < took < 15, took
    assert eof.rc == 0 and eof.summary["at_eof"] and eof.messages == [], eof.summary


@vt.case
def peers_reject_bad_arguments():
    for args in ([kp.MOCK], [kp.MOCK, "--bootstrap-file", "/nonexistent/dir/f"],
                 [kp.MOCK, "--bootstrap-file", "/tmp/x", "--topic", "nopartitions"],
                 [kp.CONSUME, "--topic", "t"], [kp.PRODUCE, "--bootstrap", "x", "--topic",
                                                "t", "--set", "no.such.property=1"]):
        p = subprocess.run(args, capture_output=True, text=True, timeout=20,
                           stdin=subprocess.DEVNULL)
        assert p.returncode == 2 and p.stderr.strip(), (args, p.returncode, p.stderr)


vt.finish()
