"""The record path end to end: generator -> file output, every record once
and in order; a failing output retries with backoff and recovers; SIGHUP
reopens the file for logrotate; SIGTERM drains and exits 0."""

import json
import os
import signal
import time

import vigiltest as vt


def read_seqs(path):
    seqs = []
    if not os.path.exists(path):
        return seqs
    with open(path, "rb") as f:
        for line in f:
            rec = json.loads(line)
            seqs.append(rec["seq"])
    return seqs


@vt.case
def every_generated_record_arrives_once_in_order():
    n = 50000
    agent = vt.Agent("""
agent:
  state_dir: {tmp}/state
  http: { listen: "127.0.0.1:{port}" }
collectors:
  - { type: generator, rate: 100000, count: %d, batch: 5000, interval: 10ms }
outputs:
  - { type: file, path: "{tmp}/out.ndjson" }
""" % n).start()
    path = os.path.join(agent.tmp, "out.ndjson")
    try:
        vt.wait_for(lambda: len(read_seqs(path)) >= n, 30, 0.2, what="%d records" % n)
        time.sleep(0.3)
        seqs = read_seqs(path)
        assert seqs == list(range(1, n + 1)), "lost, duplicated or out of order"
        rc, took = agent.stop(signal.SIGINT)
        assert rc == 0 and took < 2.0, (rc, took)
    finally:
        agent.kill()


@vt.case
def failing_output_retries_with_backoff_and_recovers():
    agent = vt.Agent("""
agent:
  state_dir: {tmp}/state
  http: { listen: "127.0.0.1:{port}" }
collectors:
  - { type: generator, rate: 200, count: 300 }
outputs:
  - { type: file, path: "{tmp}/later/out.ndjson", retry_backoff: 100ms, retry_backoff_max: 400ms }
""").start()
    path = os.path.join(agent.tmp, "later", "out.ndjson")
    try:
        # the directory does not exist: sends fail and are retried
        vt.wait_for(lambda: (agent.metric_value("vigil_output_retries_total",
                                                {"output": "file"}) or 0) >= 3,
                    10, what="retries to be counted")
        assert agent.metric_value("vigil_output_up", {"output": "file"}) == 0
        assert not os.path.exists(path)
        t_fix = time.monotonic()
        os.mkdir(os.path.join(agent.tmp, "later"))
        vt.wait_for(lambda: len(read_seqs(path)) >= 300, 10, 0.1, what="recovery")
        # with backoff capped at 400ms (plus jitter) recovery is quick
        assert time.monotonic() - t_fix < 3.0
        assert read_seqs(path) == list(range(1, 301))
        vt.wait_for(lambda: agent.metric_value("vigil_output_up", {"output": "file"}) == 1, 5,
                    what="output up again")
        vt.wait_for(lambda: agent.metric_value("vigil_output_records_total",
                                               {"output": "file", "result": "sent"}) == 300, 5,
                    what="300 records counted as sent")
        vt.wait_for(lambda: agent.metric_value("vigil_input_acked_records_total",
                                               {"collector": "generator"}) == 300, 5,
                    what="300 records acknowledged back to the collector")
        assert "recovered" in agent.stderr()
    finally:
        agent.kill()


@vt.case
def stopped_output_fails_readyz_keeps_records_and_recovers():
    # stop_first answers STOP as an output whose credentials are refused does
    agent = vt.Agent("""
agent:
  state_dir: {tmp}/state
  http: { listen: "127.0.0.1:{port}" }
collectors:
  - { type: generator, rate: 0, batch: 50, count: 50, interval: 100ms }
outputs:
  - { type: discard, stop_first: 4, retry_backoff: 100ms, retry_backoff_max: 700ms }
""").start(wait_ready=False)
    try:
        vt.wait_for(lambda: agent.get("/readyz")[0] == 503, 10, what="/readyz 503 while stopped")
        assert agent.metric_value("vigil_output_stopped", {"output": "discard"}) == 1
        assert agent.metric_value("vigil_output_up", {"output": "discard"}) == 0
        assert (agent.metric_value("vigil_input_acked_records_total",
                                   {"collector": "generator"}) or 0) == 0
        assert "stop_first: refusing send" in agent.stderr()
        # tried again at retry_backoff_max; the fifth send is accepted
        vt.wait_for(lambda: agent.metric_value("vigil_input_acked_records_total",
                                               {"collector": "generator"}) == 50, 10,
                    what="the 50 records delivered after the stop")
        vt.wait_for(lambda: agent.get("/readyz")[0] == 200, 5, what="/readyz 200 again")
        assert agent.metric_value("vigil_output_stopped", {"output": "discard"}) == 0
        assert agent.metric_value("vigil_output_records_total",
                                  {"output": "discard", "result": "dropped"}) == 0
        assert agent.stop()[0] == 0
    finally:
        agent.kill()


@vt.case
def dropped_batches_go_to_the_dead_letter_file():
    agent = vt.Agent("""
agent:
  state_dir: {tmp}/state
  http: { listen: "127.0.0.1:{port}" }
collectors:
  - { type: generator, rate: 100, count: 50, batch: 10 }
outputs:
  - { type: discard, drop_every: 1, dead_letter_path: "{tmp}/dead.ndjson" }
""").start()
    path = os.path.join(agent.tmp, "dead.ndjson")
    try:
        def dead():
            if not os.path.exists(path):
                return []
            with open(path) as f:
                return [json.loads(line) for line in f]
        lines = vt.wait_for(lambda: len(dead()) >= 50 and dead(), 10, what="dead letters")
        assert sorted(d["record"]["seq"] for d in lines) == list(range(1, 51))
        assert all(d["output"] == "discard" and d["reason"] for d in lines)
        vt.wait_for(lambda: agent.metric_value("vigil_output_records_total",
                                               {"output": "discard", "result": "dropped"}) == 50,
                    5, what="50 dropped counted")
    finally:
        agent.kill()


@vt.case
def sighup_reopens_the_file_output():
    agent = vt.Agent("""
agent:
  state_dir: {tmp}/state
  http: { listen: "127.0.0.1:{port}" }
collectors:
  - { type: generator, rate: 200 }
outputs:
  - { type: file, path: "{tmp}/out.ndjson" }
""").start()
    path = os.path.join(agent.tmp, "out.ndjson")
    try:
        vt.wait_for(lambda: len(read_seqs(path)) > 20, 10, what="first records")
        os.rename(path, path + ".1")
        agent.send_signal(signal.SIGHUP)
        vt.wait_for(lambda: len(read_seqs(path)) > 20, 10, what="records in the reopened file")
        rc, _ = agent.stop()
        assert rc == 0
        old, new = read_seqs(path + ".1"), read_seqs(path)
        both = old + new
        assert both == list(range(1, len(both) + 1)), "gap or duplicate across the reopen"
    finally:
        agent.kill()


vt.finish()
