"""Routes: each output takes the collectors its `inputs` name (globs
allowed; default: all). A batch goes only to the outputs that take its
collector, and records no output takes are acknowledged at once (their
checkpoints still move) with a warning at start.

Run alone: VIGIL_BIN=build/vigil /usr/bin/python3 tests/integration/test_routes.py"""

import json
import os

import vigiltest as vt

CONFIG = """agent:
  state_dir: {tmp}/state
  http: { listen: "127.0.0.1:{port}" }
collectors:
  - { type: generator, name: app, rate: 100, count: 200, message: "from app" }
  - { type: generator, name: audit, rate: 100, count: 200, message: "from audit" }
  - { type: generator, name: noise, rate: 100, count: 200, message: "noise" }
outputs:
  - { type: file, name: app_only, path: '{tmp}/app.ndjson', inputs: [app] }
  - { type: file, name: a_star, path: '{tmp}/a.ndjson', inputs: ['a*'] }
"""


def bodies(path):
    with open(path) as f:
        return [json.loads(line)["body"] for line in f if line.strip()]


@vt.case
def each_output_takes_only_its_inputs_and_the_rest_is_acknowledged():
    a = vt.Agent(CONFIG)
    a.start()
    try:
        for name in ("app", "audit", "noise"):
            vt.wait_for(lambda: a.metric_value("vigil_input_acked_records_total",
                                               {"collector": name}) == 200,
                        timeout=20, what="200 records of %s acknowledged" % name)
        app = bodies(os.path.join(a.tmp, "app.ndjson"))
        star = bodies(os.path.join(a.tmp, "a.ndjson"))
        print("   app_only: %d records, a_star: %d records, noise acknowledged with no output"
              % (len(app), len(star)))
        assert app == ["from app"] * 200, sorted(set(app))
        assert sorted(star) == sorted(["from app"] * 200 + ["from audit"] * 200), sorted(set(star))
        warn = [l for l in a.stderr().splitlines() if "no output takes its records" in l]
        assert len(warn) == 1 and "'noise'" in warn[0], warn
    finally:
        a.stop()


@vt.case
def inputs_that_name_no_collector_are_refused():
    a = vt.Agent(CONFIG.replace("inputs: [app]", "inputs: [ap, nope]"))
    p = vt.run_vigil(["--check-config", a.config_path], timeout=10)
    got = [l for l in p.stderr.splitlines() if l.startswith(a.config_path)]
    assert p.returncode != 0
    assert got == [
        "%s:9: outputs[0] (file): option 'inputs': 'ap' names no collector (did you mean "
        "'app'?)" % a.config_path,
        "%s:9: outputs[0] (file): option 'inputs': 'nope' names no collector" % a.config_path,
    ], got


vt.finish()
