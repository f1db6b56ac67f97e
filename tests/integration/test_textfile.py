"""The textfile collector in the running agent: *.prom files of a directory
served on /metrics, updates and removals followed at the next interval, a
malformed file skipped whole with node_textfile_scrape_error 1, a missing
directory warned about once and its appearance said, the start line, and
10,000 series from files."""

import os
import subprocess
import time

import vigiltest as vt

CONFIG = """
agent:
  state_dir: {tmp}/state
  http: { listen: "127.0.0.1:{port}" }
collectors:
  - { type: textfile, directory: "{tmp}/prom", interval: 1s }
outputs:
  - { type: discard }
"""

CONFIG_MISSING_DIR = """
agent:
  state_dir: {tmp}/state
  http: { listen: "127.0.0.1:{port}" }
collectors:
  - { type: textfile, directory: "{tmp}/does-not-exist", interval: 1s }
outputs:
  - { type: discard }
"""

# Nothing but our own families is judged here: the agent's self metrics have
# their own test.
OUR_PREFIXES = ("tf_", "bench_", "node_textfile_")

agent = vt.Agent(CONFIG)
PROM = os.path.join(agent.tmp, "prom")
os.makedirs(PROM)


def put(name, text):
    """Writes a .prom file the way jobs should: a temporary name, then rename."""
    tmp = os.path.join(PROM, "." + name + ".tmp")
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, os.path.join(PROM, name))


def scrape_error():
    return agent.metric_value("node_textfile_scrape_error")


put("jobs.prom", "# HELP tf_job_last_success_seconds Last success.\n"
                 "# TYPE tf_job_last_success_seconds gauge\n"
                 'tf_job_last_success_seconds{job="backup"} 1700000000\n'
                 "# TYPE tf_job_runs_total counter\n"
                 'tf_job_runs_total{job="backup",outcome="ok"} 7\n')
put("extra.prom", "tf_extra_value 3\n")
with open(os.path.join(PROM, "ignored.txt"), "w") as f:
    f.write("tf_not_served 1\n")
agent.start()


@vt.case
def values_written_appear_on_metrics():
    vt.wait_for(lambda: agent.metric_value("tf_job_runs_total",
                                           {"job": "backup", "outcome": "ok"}) == 7,
                10, what="tf_job_runs_total 7")
    text = agent.metrics()
    assert "# TYPE tf_job_runs_total counter" in text
    assert "# HELP tf_job_last_success_seconds Last success." in text
    assert agent.metric_value("tf_job_last_success_seconds", {"job": "backup"}) == 1700000000
    assert agent.metric_value("tf_extra_value") == 3
    assert "tf_not_served" not in text
    # the full path, as node_exporter labels it
    assert agent.metric_value("node_textfile_mtime_seconds",
                              {"file": os.path.join(PROM, "jobs.prom")}) > 1e9
    assert 'file="jobs.prom"' not in text
    assert scrape_error() == 0


@vt.case
def update_appears_after_next_interval():
    put("jobs.prom", "# TYPE tf_job_runs_total counter\n"
                     'tf_job_runs_total{job="backup",outcome="ok"} 8\n'
                     'tf_job_runs_total{job="backup",outcome="failed"} 1\n')
    vt.wait_for(lambda: agent.metric_value("tf_job_runs_total",
                                           {"job": "backup", "outcome": "ok"}) == 8,
                5, what="tf_job_runs_total updated to 8")
    assert agent.metric_value("tf_job_runs_total", {"outcome": "failed"}) == 1
    # the gauge left the file, so it left /metrics
    assert agent.metric_value("tf_job_last_success_seconds") is None


@vt.case
def malformed_file_is_skipped_whole():
    put("broken.prom", "tf_broken_first 1\n"
                       "tf_broken_second 2 1700000000000\n")
    vt.wait_for(lambda: scrape_error() == 1, 5, what="node_textfile_scrape_error 1")
    text = agent.metrics()
    assert "tf_broken_first" not in text
    assert "tf_broken_second" not in text
    assert 'file="broken.prom"' not in text
    assert agent.metric_value("tf_extra_value") == 3
    vt.wait_for(lambda: "broken.prom:2:" in agent.stderr(), 5,
                what="a log line naming broken.prom:2")
    os.unlink(os.path.join(PROM, "broken.prom"))
    vt.wait_for(lambda: scrape_error() == 0, 5, what="node_textfile_scrape_error back to 0")


@vt.case
def removed_file_takes_its_series_away():
    assert agent.metric_value("tf_extra_value") == 3
    os.unlink(os.path.join(PROM, "extra.prom"))
    vt.wait_for(lambda: agent.metric_value("tf_extra_value") is None, 5,
                what="tf_extra_value gone")
    assert 'file="extra.prom"' not in agent.metrics()
    assert agent.metric_value("tf_job_runs_total", {"outcome": "ok"}) == 8


@vt.case
def ten_thousand_series_are_served():
    for f in range(10):
        lines = ["# HELP bench_textfile_value_%d A generated series." % f,
                 "# TYPE bench_textfile_value_%d gauge" % f]
        lines += ['bench_textfile_value_%d{series="%d",node="n1"} %d' % (f, i, i)
                  for i in range(1000)]
        put("bench_%02d.prom" % f, "\n".join(lines) + "\n")

    def count():
        return sum(1 for line in agent.metrics().splitlines()
                   if line.startswith("bench_textfile_value_"))
    vt.wait_for(lambda: count() == 10000, 15, step=0.25, what="10000 bench series")
    assert agent.metric_value("bench_textfile_value_9", {"series": "999"}) == 999
    assert scrape_error() == 0
    text = agent.metrics()
    p = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=60)
    ours = [line for line in (p.stdout + p.stderr).splitlines()
            if line.strip().startswith(OUR_PREFIXES)]
    assert not ours, "promtool: %s" % "\n".join(ours[:20])
    for f in range(10):
        os.unlink(os.path.join(PROM, "bench_%02d.prom" % f))
    vt.wait_for(lambda: count() == 0, 10, step=0.25, what="bench series gone")


def dir_lines(a):
    """The agent's log lines about the textfile directory: (level, msg)."""
    return [(ln.split("level=")[1].split()[0], ln.split("msg=", 1)[1])
            for ln in a.stderr().splitlines()
            if "plugin=textfile" in ln and ("directory" in ln or "*.prom files" in ln)]


@vt.case
def missing_directory_is_warned_once_then_its_appearance_said():
    with vt.Agent(CONFIG_MISSING_DIR) as other:
        vt.wait_for(lambda: other.metric_value("node_textfile_scrape_error") == 1, 10,
                    what="node_textfile_scrape_error 1")
        vt.wait_for(lambda: dir_lines(other), 5, what="a log line about the directory")
        time.sleep(2.5)  # two more collections (interval 1s): nothing more said
        lines = dir_lines(other)
        assert len(lines) == 1 and lines[0][0] == "warn", lines
        assert "does-not-exist does not exist: no textfile metrics until it is created" in \
            lines[0][1], lines
        os.makedirs(os.path.join(other.tmp, "does-not-exist"))
        with open(os.path.join(other.tmp, "does-not-exist", "x.prom"), "w") as f:
            f.write("tf_appeared 1\n")
        vt.wait_for(lambda: other.metric_value("tf_appeared") == 1, 10, what="tf_appeared")
        assert other.metric_value("node_textfile_scrape_error") == 0
        lines = dir_lines(other)
        assert len(lines) == 2 and lines[1][0] == "info", lines
        assert "does-not-exist appeared: reading its *.prom files every 1s (1 now)" in \
            lines[1][1], lines
        rc, _ = other.stop()
        assert rc == 0, rc


@vt.case
def start_line_names_the_directory():
    lines = dir_lines(agent)
    assert len(lines) == 1 and lines[0][0] == "info", lines
    assert "reading *.prom files in %s every 1s (2 now)" % PROM in lines[0][1], lines


@vt.case
def agent_stops_cleanly():
    rc, _ = agent.stop()
    assert rc == 0, rc


agent.kill()
vt.finish()
