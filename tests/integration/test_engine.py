"""The engine: a failing collector is backed off and its errors are
rate-limited, then it recovers; shutdown is bounded by
agent.shutdown_timeout even when an output never succeeds."""

import os
import time

import vigiltest as vt


@vt.case
def failing_collector_is_backed_off_and_rate_limited():
    agent = vt.Agent("""
agent:
  state_dir: {tmp}/state
  http: { listen: "127.0.0.1:{port}" }
collectors:
  - { type: node, collectors: [loadavg, meminfo], interval: 200ms, proc_root: "{tmp}/proc", sys_root: "{tmp}/sys", rootfs: "{tmp}" }
""").start()
    try:
        time.sleep(4.0)
        errors = agent.metric_value("vigil_collector_errors_total", {"collector": "node"})
        # without backoff 4 s at 200 ms would be ~20 failures; doubling
        # (200, 400, 800, 1600 ms ...) allows about 5
        assert errors is not None and 2 <= errors <= 6, errors
        assert agent.metric_value("vigil_collector_success", {"collector": "node"}) == 0
        failed_lines = [line for line in agent.stderr().splitlines()
                        if "collection failed" in line]
        assert len(failed_lines) == 1, failed_lines
        assert "plugin=node instance=node" in failed_lines[0], failed_lines[0]
    finally:
        agent.kill()


@vt.case
def shutdown_is_bounded_by_the_shutdown_timeout():
    agent = vt.Agent("""
agent:
  state_dir: {tmp}/state
  shutdown_timeout: 1s
  http: { listen: "127.0.0.1:{port}" }
collectors:
  - { type: generator, rate: 100 }
outputs:
  - { type: discard, fail_first: 1000000, retry_backoff: 50ms, retry_backoff_max: 100ms }
""").start()
    try:
        vt.wait_for(lambda: (agent.metric_value("vigil_output_retries_total",
                                                {"output": "discard"}) or 0) > 2, 5,
                    what="retries")
        rc, took = agent.stop(timeout=5)
        assert rc == 0, rc
        assert 0.9 <= took < 2.0, took
        assert "shutdown timeout" in agent.stderr()
    finally:
        agent.kill()


vt.finish()
