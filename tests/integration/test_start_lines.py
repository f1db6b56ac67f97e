"""What the agent says at start about what it collects: one info line per
collector (container_logs: the files followed, what each pattern matched,
"no file matches PATTERN yet", rotated files found at a restart; node: its
sub-collectors and roots; generator: its rate), and the files that
ignore_older keeps out, counted once, not again at every rescan. The
textfile collector's lines are tested in test_textfile.py."""

import os
import time

import vigiltest as vt

CONFIG = """
agent:
  state_dir: {tmp}/state
  http: { listen: "127.0.0.1:{port}" }
collectors:
  - type: container_logs
    name: logs
    paths: ["{tmp}/logs/*.log", "{tmp}/nothing/*.log"]
    exclude: ["*skip*"]
    format: raw
    ignore_older: 1h
    rescan_interval: 200ms
  - { type: node, collectors: [loadavg, meminfo], proc_root: /proc, interval: 5s }
  - { type: generator, rate: 3, count: 10 }
outputs:
  - { type: file, path: "{tmp}/out.ndjson" }
"""

CONFIG_NO_MATCH = """
agent:
  state_dir: {tmp}/state
  http: { listen: "127.0.0.1:{port}" }
collectors:
  - type: container_logs
    paths: ["{tmp}/logs/*.log"]
outputs:
  - { type: discard }
"""

HOUR_AGO = time.time() - 7200


def lines(agent, plugin):
    """The messages of the agent's info lines from plugin."""
    return [ln.split("msg=", 1)[1].strip('"') for ln in agent.stderr().splitlines()
            if "level=info" in ln and "plugin=%s " % plugin in ln]


def write(path, text, mtime=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    if mtime is not None:
        os.utime(path, (mtime, mtime))


def put_old(agent, name):
    """A file last modified two hours ago, moved into logs/ whole, so that no
    scan sees it with a recent mtime."""
    staging = os.path.join(agent.tmp, "staging", name)
    write(staging, "old line\n", HOUR_AGO)
    os.rename(staging, os.path.join(agent.tmp, "logs", name))


def skipped_lines(agent):
    return [m for m in lines(agent, "container_logs") if "ignore_older" in m]


@vt.case
def container_logs_says_what_it_follows_and_what_ignore_older_keeps_out():
    agent = vt.Agent(CONFIG)
    logs = os.path.join(agent.tmp, "logs")
    write(os.path.join(logs, "a.log"), "a\n")
    write(os.path.join(logs, "b.log"), "b\n")
    write(os.path.join(logs, "skip-me.log"), "excluded\n")
    write(os.path.join(logs, "old1.log"), "old\n", HOUR_AGO)
    write(os.path.join(logs, "old2.log"), "old\n", HOUR_AGO)
    with agent:
        start = lines(agent, "container_logs")
        assert len(start) == 1, start
        assert start[0] == ("following 2 files: 4 match %s/*.log; no file matches "
                            "%s/nothing/*.log yet; skipped 2 files not modified for 1h "
                            "(ignore_older)" % (logs, agent.tmp)), start
        time.sleep(1.2)  # several rescans (200ms): the same two files, nothing more said
        assert len(lines(agent, "container_logs")) == 1, lines(agent, "container_logs")
        put_old(agent, "old3.log")
        vt.wait_for(lambda: len(skipped_lines(agent)) == 2, 10, what="the new old file said")
        assert skipped_lines(agent)[1] == ("skipped 1 more file not modified for 1h "
                                           "(ignore_older); a file is followed once it is "
                                           "written to"), skipped_lines(agent)
        time.sleep(1.2)
        assert len(skipped_lines(agent)) == 2, skipped_lines(agent)
        # written to, an old file is followed from its start
        with open(os.path.join(logs, "old1.log"), "a") as f:
            f.write("new\n")
        out = os.path.join(agent.tmp, "out.ndjson")
        vt.wait_for(lambda: os.path.exists(out) and '"body":"new"' in open(out).read(), 10,
                    what="old1.log followed once written to")
        time.sleep(0.6)
        assert len(skipped_lines(agent)) == 2, skipped_lines(agent)
        assert agent.stop()[0] == 0


@vt.case
def container_logs_says_when_no_file_matches_yet():
    with vt.Agent(CONFIG_NO_MATCH) as agent:
        start = lines(agent, "container_logs")
        assert start == ["following 0 files: no file matches %s/logs/*.log yet" % agent.tmp], \
            start
        assert agent.stop()[0] == 0


@vt.case
def container_logs_counts_files_rotated_while_it_was_down_apart():
    agent = vt.Agent(CONFIG_NO_MATCH)
    live = os.path.join(agent.tmp, "logs", "a.log")
    write(live, "one\n")
    with agent:
        vt.wait_for(lambda: agent.metric_value("vigil_input_acked_records_total") == 1, 10,
                    what="the line delivered")
        assert agent.stop()[0] == 0
        with open(live, "a") as f:
            f.write("two\n")
        os.rename(live, live + ".1")
        write(live, "three\n")
        agent.start()
        start = [m for m in lines(agent, "container_logs") if m.startswith("following")]
        assert len(start) == 2, start
        assert start[1] == ("following 1 file: 1 matches %s/logs/*.log; 1 rotated file to read "
                            "to the end" % agent.tmp), start
        assert agent.stop()[0] == 0


@vt.case
def node_and_generator_say_what_they_collect():
    with vt.Agent(CONFIG) as agent:
        node = lines(agent, "node")
        assert node == ["collecting meminfo loadavg from /proc and /sys (filesystems under /) "
                        "every 5s"], node
        gen = lines(agent, "generator")
        assert gen == ["emitting 3 records a second, 10 in all"], gen
        assert agent.stop()[0] == 0


vt.finish()
