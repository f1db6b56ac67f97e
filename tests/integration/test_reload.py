"""SIGHUP reloads the configuration.

An invalid file changes nothing: the running configuration goes on, the
errors are logged with their place, vigil_config_reload_total{result=
"failure"} counts it. A valid one is applied: what changed is rebuilt, the
rest keeps its state. Under a writer's load, five reloads that change an
output (and one that changes the collector) lose and duplicate no line, an
unchanged output keeps its counters, and a restart afterwards starts from
the right place."""

import os
import re
import signal
import time

import logcheck
import logwriter
import vigiltest as vt
from slack_receiver import SlackReceiver

RATE = 5000
DURATION = 9.0


def config(main_opts="", extra=False, coll_opts="", alerts=""):
    """The test's YAML: one container_logs collector `logs`, an output
    `main` (main_opts added to it), an output `keep` never changed, and
    when extra an output `extra`."""
    lines = ["agent:", "  node_name: test-node", "  state_dir: {tmp}/state",
             '  http: { listen: "127.0.0.1:{port}" }', "  shutdown_timeout: 5s",
             "collectors:",
             "  - type: container_logs", "    name: logs",
             '    paths: ["{tmp}/logs/*.log"]', "    format: cri", "    read_from: head",
             "    interval: 250ms", "    checkpoint_interval: 500ms"]
    lines += ["    " + ln for ln in coll_opts.splitlines() if ln]
    lines += ["  - { type: node, name: node, interval: 1s }",
              "outputs:",
              '  - { type: file, name: main, path: "{tmp}/main.ndjson"%s }' % main_opts,
              '  - { type: file, name: keep, path: "{tmp}/keep.ndjson" }']
    if extra:
        lines.append('  - { type: file, name: extra, path: "{tmp}/extra.ndjson" }')
    return "\n".join(lines) + "\n" + alerts


def rewrite(agent, text):
    tmp = agent.config_path + ".new"
    with open(tmp, "w") as f:
        f.write(text.replace("{port}", str(agent.port)).replace("{tmp}", agent.tmp))
    os.replace(tmp, agent.config_path)


def reloads(agent, result):
    return agent.metric_value("vigil_config_reload_total", {"result": result}) or 0


def hup_and_wait(agent, result, before):
    agent.send_signal(signal.SIGHUP)
    vt.wait_for(lambda: reloads(agent, result) >= before + 1, 15, what="reload %s" % result)


@vt.case
def an_invalid_config_keeps_the_running_one():
    agent = vt.Agent(config())
    os.makedirs(os.path.join(agent.tmp, "logs"))
    log = os.path.join(agent.tmp, "logs", "app.log")
    try:
        agent.start()
        assert reloads(agent, "failure") == 0 and reloads(agent, "success") == 0
        t_start = agent.metric_value("vigil_config_last_reload_success_timestamp_seconds")
        assert t_start and abs(t_start - time.time()) < 60, t_start
        assert agent.metric_value("vigil_config_last_reload_successful") == 1
        rewrite(agent, config(main_opts=", queue_max_bytes: lots")
                + "bogus_section: {}\n")
        hup_and_wait(agent, "failure", 0)
        err = agent.stderr()
        assert "reload refused: 2 errors in %s" % agent.config_path in err, err[-2000:]
        assert "vigil.yaml:16:" in err and "queue_max_bytes" in err, err[-2000:]
        assert "bogus_section" in err, err[-2000:]
        assert agent.metric_value("vigil_config_last_reload_successful") == 0
        assert agent.metric_value("vigil_config_last_reload_success_timestamp_seconds") == t_start
        # the running configuration still reads and delivers
        with open(log, "w") as f:
            for i in range(100):
                f.write("2026-01-01T00:00:00.000000000Z stdout F w=inv seq=%d\n" % i)
        vt.wait_for(lambda: os.path.exists(os.path.join(agent.tmp, "main.ndjson")) and
                    sum(1 for _ in open(os.path.join(agent.tmp, "main.ndjson"))) == 100, 10,
                    what="100 lines in main.ndjson")
        # fixed: applied, counted, stamped
        rewrite(agent, config(extra=True))
        hup_and_wait(agent, "success", 0)
        assert agent.metric_value("vigil_config_last_reload_successful") == 1
        t_ok = agent.metric_value("vigil_config_last_reload_success_timestamp_seconds")
        assert t_ok > t_start, (t_ok, t_start)
        assert agent.metric_value("vigil_output_records_total",
                                  {"output": "extra", "result": "sent"}) is not None
        assert reloads(agent, "failure") == 1
        rc, _ = agent.stop()
        assert rc == 0, rc
    finally:
        agent.kill()


@vt.case
def an_agent_section_change_waits_for_a_restart():
    agent = vt.Agent(config())
    try:
        agent.start()
        rewrite(agent, config().replace("shutdown_timeout: 5s", "shutdown_timeout: 6s"))
        hup_and_wait(agent, "success", 0)
        assert "the agent: section changed; it takes effect at the next restart" in \
            agent.stderr(), agent.stderr()[-1500:]
        # the same file again: nothing to do
        hup_and_wait(agent, "success", 1)
        assert "configuration unchanged" in agent.stderr()
        rc, _ = agent.stop()
        assert rc == 0, rc
    finally:
        agent.kill()


# The five reloads, each changing the output `main` (rebuilt), with the
# output `extra` coming and going, and the third changing the collector.
STEPS = [
    dict(main_opts=", queue_max_bytes: 7MiB", extra=True),
    dict(main_opts=", queue_max_bytes: 6MiB"),
    dict(main_opts=", queue_max_bytes: 6MiB, retry_backoff: 2s", extra=True,
         coll_opts="rescan_interval: 5s"),
    dict(main_opts=", retry_backoff: 2s", coll_opts="rescan_interval: 5s"),
    dict(main_opts="", extra=True, coll_opts="rescan_interval: 5s"),
]


def check_file(agent, name, manifest, label):
    chk = logcheck.Checker(os.path.join(agent.tmp, name), [manifest])
    done = logcheck.wait_complete(chk, timeout=30, idle=10)
    time.sleep(0.3)
    chk.update()
    r = chk.result()
    print("  " + chk.summary(r, label).replace("\n", "\n  "))
    assert done, "%s: not every line arrived" % name
    assert r["lost"] == 0, "%s: %d lines lost" % (name, r["lost"])
    assert r["dup"] == 0, "%s: %d lines duplicated" % (name, r["dup"])
    assert r["bad_body"] == 0, "%s: %d bodies differ" % (name, r["bad_body"])
    return r


@vt.case
def five_reloads_under_load_lose_and_duplicate_nothing():
    agent = vt.Agent(config())
    os.makedirs(os.path.join(agent.tmp, "logs"))  # there before the agent looks
    writer = None
    try:
        agent.start()
        t0 = time.monotonic()
        writer, manifest, writer_out = logcheck.cri_writer(agent, "rld", RATE, DURATION)
        keep_sent = []
        for i, step in enumerate(STEPS):
            time.sleep(max(0.0, t0 + 1.2 * (i + 1) - time.monotonic()))
            rewrite(agent, config(**step))
            t_hup = time.monotonic()
            hup_and_wait(agent, "success", i)
            keep_sent.append(agent.metric_value("vigil_output_records_total",
                                                {"output": "keep", "result": "sent"}))
            took = re.findall(r"configuration applied in ([0-9.]+) ms", agent.stderr())
            print("  reload %d: applied in %s ms, counted on /metrics after %.2fs (keep sent %d)"
                  % (i + 1, took[-1] if took else "?", time.monotonic() - t_hup,
                     keep_sent[-1]))
        assert reloads(agent, "failure") == 0
        assert keep_sent == sorted(keep_sent) and keep_sent[0] > 0, \
            "the unchanged output's counter went back: %s" % keep_sent
        err = agent.stderr()
        assert err.count("stopped by the reload") == 1, err[-3000:]
        writer.wait(DURATION + 10)
        with open(writer_out) as f:
            print("  " + f.read().strip())
        check_file(agent, "main.ndjson", manifest, "main")
        r = check_file(agent, "keep.ndjson", manifest, "keep")
        sent = agent.metric_value("vigil_output_records_total",
                                  {"output": "keep", "result": "sent"})
        assert sent == r["arrivals"], "keep counted %s, delivered %d" % (sent, r["arrivals"])
        for ln in logcheck.agent_problems(agent.stderr()):
            print("  agent: " + ln)
        rc, took = agent.stop()
        assert rc == 0, "exit %s on SIGTERM after %.1fs" % (rc, took)
        # restarted on the same state: more lines, none read twice
        agent.start()
        w2, more, _ = logcheck.cri_writer(agent, "rld2", RATE, 1.0)
        w2.wait(15)
        chk = logcheck.Checker(os.path.join(agent.tmp, "main.ndjson"), [manifest, more])
        assert logcheck.wait_complete(chk, timeout=30, idle=10)
        r = chk.result()
        assert r["lost"] == 0 and r["dup"] == 0, chk.summary(r, "after restart")
        rc, _ = agent.stop()
        assert rc == 0, rc
    finally:
        logwriter.stop_process(writer)
        agent.kill()


@vt.case
def a_reload_that_fixes_a_failing_output_delivers_what_it_held():
    """`main` cannot write (its folder is a file): its records wait in its
    queue. The reload points it somewhere writable; the drain cannot empty
    the old queue within the shutdown timeout, so the collector starts again
    from its checkpoint and reads those lines again: none is lost. The
    loop is busy for that second: /healthz, with a stall timeout of 400 ms,
    still answers 200 meanwhile (the drain is not a stall)."""
    def fixed():
        return config(main_opts="").replace("shutdown_timeout: 5s", "shutdown_timeout: 1s") \
            .replace('"127.0.0.1:{port}" }', '"127.0.0.1:{port}", stall_timeout: 400ms }')
    text = fixed().replace('"{tmp}/main.ndjson"', '"{tmp}/blocker/main.ndjson"')
    agent = vt.Agent(text)
    with open(os.path.join(agent.tmp, "blocker"), "w") as f:
        f.write("not a folder\n")
    os.makedirs(os.path.join(agent.tmp, "logs"))
    try:
        agent.start()
        w, manifest, _ = logcheck.cri_writer(agent, "fix", 2000, 1.0)
        w.wait(15)
        vt.wait_for(lambda: (agent.metric_value("vigil_output_retries_total",
                                                {"output": "main"}) or 0) > 0, 15,
                    what="main retrying")
        rewrite(agent, fixed())
        health = []
        agent.send_signal(signal.SIGHUP)
        t_end = time.monotonic() + 15
        while reloads(agent, "success") < 1:
            assert time.monotonic() < t_end, "no reload within 15s"
            health.append(agent.get("/healthz")[0])
            time.sleep(0.05)
        assert set(health) == {200}, "/healthz during the reload: %s" % health
        err = agent.stderr()
        assert "their collectors start again from their checkpoints" in err, err[-2000:]
        check_file(agent, "main.ndjson", manifest, "main after the fix")
        # `keep` had them already: what was read again reaches it twice at most
        chk = logcheck.Checker(os.path.join(agent.tmp, "keep.ndjson"), [manifest])
        logcheck.wait_complete(chk, timeout=10, idle=5)
        r = chk.result()
        assert r["lost"] == 0, chk.summary(r, "keep")
        print("  keep: %d lines, %d sent again by the restart from the checkpoint"
              % (r["arrivals"], r["dup"]))
        rc, _ = agent.stop()
        assert rc == 0, rc
    finally:
        agent.kill()


ALERTS = """alerts:
  interval: 1s
  rules:
    - name: NodeUp
      expr: 'vigil_collector_success{collector="node"} %s'
      severity: info
"""


@vt.case
def changed_rules_take_effect():
    agent = vt.Agent(config(alerts=ALERTS % "> 5"))
    try:
        agent.start()

        def firing():
            status, _, body = agent.get("/api/v1/alerts")
            return status == 200 and b"NodeUp" in body and b"firing" in body

        time.sleep(2.5)
        assert not firing()
        rewrite(agent, config(alerts=ALERTS % "> 0"))
        hup_and_wait(agent, "success", 0)
        vt.wait_for(firing, 10, what="NodeUp firing after the reload")
        rewrite(agent, config())
        hup_and_wait(agent, "success", 1)
        vt.wait_for(lambda: b"NodeUp" not in agent.get("/api/v1/alerts")[2], 10,
                    what="rules gone after the reload")
        assert "ALERTS{" not in agent.metrics()
        rc, _ = agent.stop()
        assert rc == 0, rc
    finally:
        agent.kill()


SLACK = """alerts:
  interval: 1s
  group_wait: 0s
  group_interval: 1s
  notifiers:
    slack: { type: slack, webhook_url: "%s" }
  rules:
    - name: KeepMe
      expr: 'vigil_build_info > 5'
      notify: [slack]
%s"""
HELLO = """    - name: TourHello
      expr: 'vigil_build_info > 0'
      annotations: { summary: "vigil on {{ $labels.node }} can reach Slack" }
      notify: [slack]
"""


@vt.case
def a_rule_removed_by_a_reload_is_told_resolved():
    """As the README's tour says: a firing rule deleted from the file is
    told resolved once the reload is applied, exactly once."""
    rx = SlackReceiver()
    agent = None
    try:
        url = rx.url("/services/T01/B01/Xx1SecretHook")
        agent = vt.Agent(config(alerts=SLACK % (url, HELLO)))
        agent.start()

        def titles():
            return [m["text"].split("\n")[0] for m in rx.accepted("/services/")]

        vt.wait_for(lambda: "[FIRING:1] TourHello (alertname=TourHello)" in titles() or
                    any(t.startswith("[FIRING:1] TourHello") for t in titles()), 15,
                    what="TourHello firing in Slack")
        rewrite(agent, config(alerts=SLACK % (url, "")))
        hup_and_wait(agent, "success", 0)
        vt.wait_for(lambda: any(t.startswith("[RESOLVED] TourHello") for t in titles()), 15,
                    what="TourHello resolved in Slack")
        time.sleep(2.5)
        told = titles()
        assert sum(t.startswith("[RESOLVED] TourHello") for t in told) == 1, told
        assert sum(t.startswith("[FIRING:1] TourHello") for t in told) == 1, told
        rc, _ = agent.stop()
        assert rc == 0, rc
    finally:
        if agent is not None:
            agent.kill()
        rx.stop()


vt.finish()
