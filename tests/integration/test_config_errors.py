"""Bad values: whatever a start refuses, --check-config refuses too, with the
same message (FILE:LINE: where: message), and a refused start leaves
nothing behind (no state_dir, no output file, no port bound).

One table: each row is the line that makes the config bad, put in the
section it belongs to, and the message expected for it."""

import os
import socket
import stat
import subprocess

import vigiltest as vt

# The good config every row edits: {agent}, {collector} and {output} are
# replaced by the row's line (or by nothing).
BASE = """agent:
  state_dir: {tmp}/state
  http: {{ listen: "127.0.0.1:{port}" }}
{agent}collectors:
  - {{ type: generator, rate: 1 }}
{collector}outputs:
  - {{ type: file, path: {tmp}/out.ndjson }}
{output}"""

ES = "  - { type: elasticsearch, url: 'http://127.0.0.1:1', %s }\n"
KAFKA = "  - { type: kafka, brokers: '127.0.0.1:1', topic: t, %s }\n"
GEN = "  - { type: generator, %s }\n"
CLOG = "  - { type: container_logs, paths: ['{tmp}/*.log'], %s }\n"
FILE = "  - { type: file, path: {tmp}/other.ndjson, %s }\n"

# (section, line, where, message); the line is the row's own line: 4 for
# agent (after http), 6 for collectors, 8 for outputs.
ROWS = [
    ("collector", GEN % "rate: -1", "collectors[1] (generator)",
     "option 'rate': must be between 0 and 1000000000, not -1"),
    ("collector", GEN % "count: -5", "collectors[1] (generator)",
     "option 'count': must be at least 0, not -5"),
    ("collector", GEN % "batch: 0", "collectors[1] (generator)",
     "option 'batch': must be at least 1, not 0"),
    ("collector", CLOG % "max_open_files: 0", "collectors[1] (container_logs)",
     "option 'max_open_files': must be at least 1, not 0"),
    ("collector", CLOG % "max_line_bytes: 0", "collectors[1] (container_logs)",
     "option 'max_line_bytes': must be between 16 and 1GiB, not 0"),
    ("collector", CLOG % "max_line_bytes: 4GiB", "collectors[1] (container_logs)",
     "option 'max_line_bytes': must be between 16 and 1GiB, not 4GiB"),
    ("collector", CLOG % "rescan_interval: 0", "collectors[1] (container_logs)",
     "option 'rescan_interval': must be between 1ms and 87600h, not 0"),
    ("output", FILE % "queue_max_batches: 0", "outputs[1] (file)",
     "option 'queue_max_batches': must be at least 1, not 0"),
    ("output", FILE % "queue_max_bytes: 0", "outputs[1] (file)",
     "option 'queue_max_bytes': must be between 1 and 1TiB, not 0"),
    ("output", FILE % "retry_limit: -1", "outputs[1] (file)",
     "option 'retry_limit': must be at least 0, not -1"),
    ("output", FILE % "retry_backoff: 0", "outputs[1] (file)",
     "option 'retry_backoff': must be between 1ms and 87600h, not 0"),
    ("output", ES % "queue_max_bytes: 0", "outputs[1] (elasticsearch)",
     "option 'queue_max_bytes': must be between 1 and 1TiB, not 0"),
    ("output", KAFKA % "retry_limit: -1", "outputs[1] (kafka)",
     "option 'retry_limit': must be at least 0, not -1"),
    ("output", ES % "workers: 0", "outputs[1] (elasticsearch)",
     "option 'workers': must be between 1 and 64, not 0"),
    ("output", ES % "workers: 1000000", "outputs[1] (elasticsearch)",
     "option 'workers': must be between 1 and 64, not 1000000"),
    ("output", ES % "compress_level: -3", "outputs[1] (elasticsearch)",
     "option 'compress_level': must be between 1 and 9, not -3"),
    ("output", ES % "bulk_max_bytes: 0", "outputs[1] (elasticsearch)",
     "option 'bulk_max_bytes': must be between 1KiB and 1TiB, not 0"),
    ("output", ES % "timeout: 0", "outputs[1] (elasticsearch)",
     "option 'timeout': must be between 1ms and 87600h, not 0"),
    ("output", ES % "api_key: k, user: u, password: p", "outputs[1] (elasticsearch)",
     "options 'api_key' and 'user' both given; use one"),
    ("output", KAFKA % "message_max_bytes: 0", "outputs[1] (kafka)",
     "option 'message_max_bytes': must be between 1 and 1TiB, not 0"),
    ("output", KAFKA % "buffer_max_bytes: 0", "outputs[1] (kafka)",
     "option 'buffer_max_bytes': must be between 1 and 1TiB, not 0"),
    ("output", KAFKA % "linger: 10s, timeout: 5s", "outputs[1] (kafka)",
     "option 'linger' (10000 ms) must be less than 'timeout' (5000 ms)"),
    ("output", KAFKA % "rdkafka: { no.such.prop: 1 }", "outputs[1] (kafka)",
     "option 'rdkafka.no.such.prop': No such configuration property: \"no.such.prop\""),
    ("output", KAFKA % "rdkafka: { socket.timeout.ms: soon }", "outputs[1] (kafka)",
     "option 'rdkafka.socket.timeout.ms': Invalid value for configuration property "
     "\"socket.timeout.ms\""),
    ("output", KAFKA % "rdkafka: { linger.ms: 5 }", "outputs[1] (kafka)",
     "option 'rdkafka.linger.ms': set it with the option 'linger' instead"),
    ("output", "  - { type: elasticsearch, url: 'ftp://admin:UrlSecret777@host:9200' }\n",
     "outputs[1] (elasticsearch)",
     "option 'url': 'ftp://***@host:9200' is not http://HOST[:PORT] or https://HOST[:PORT]"),
    ("output", "  - { type: file, path: '' }\n", "outputs[1] (file)",
     "option 'path': must not be empty"),
    ("agent", "  shutdown_timeout: 100000000000h\n", "agent",
     "option 'shutdown_timeout': must be at most 87600h, not 100000000000h"),
]
LINES = {"agent": 4, "collector": 6, "output": 8}


def config_text(section, line):
    parts = {"agent": "", "collector": "", "output": ""}
    parts[section] = line
    return BASE.format(tmp="{tmp}", port="{port}", **parts)


def port_is_free(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def start_refused(a):
    """Starts the agent on a's config; it must exit non-zero by itself."""
    try:
        p = subprocess.run([vt.BIN, "--config", a.config_path], capture_output=True, text=True,
                           timeout=10, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise AssertionError("the agent started on %s" % a.config_path)
    assert p.returncode != 0, p
    assert not os.path.exists(os.path.join(a.tmp, "state")), "state_dir was created"
    assert not os.path.exists(os.path.join(a.tmp, "out.ndjson")), "the output file was created"
    assert port_is_free(a.port), "the HTTP port was bound"
    return p


def expect_refused(a, messages):
    """--check-config and a start both refuse a's config with these lines."""
    want = ["%s:%d: %s: %s" % (a.config_path, line, where, msg) for line, where, msg in messages]
    p = vt.run_vigil(["--check-config", a.config_path], timeout=10)
    assert p.returncode != 0, p
    got = [l for l in p.stderr.splitlines() if l.startswith(a.config_path)]
    assert got == want, "--check-config:\n  got  %s\n  want %s" % (got, want)
    p = start_refused(a)
    got = [l for l in p.stderr.splitlines() if l.startswith(a.config_path)]
    assert got == want, "start:\n  got  %s\n  want %s" % (got, want)


@vt.case
def the_base_config_is_valid():
    a = vt.Agent(config_text("agent", ""))
    p = vt.run_vigil(["--check-config", a.config_path])
    assert p.returncode == 0, p.stderr


@vt.case
def every_bad_value_is_refused_by_check_config_and_by_a_start():
    failed = []
    for section, line, where, msg in ROWS:
        a = vt.Agent(config_text(section, line))
        try:
            expect_refused(a, [(LINES[section], where, msg)])
        except AssertionError as e:
            failed.append("%s%s" % (line, e))
    assert not failed, "\n".join(failed)


def base_with(old, new):
    return BASE.replace(old, new).format(tmp="{tmp}", port="{port}", agent="", collector="",
                                         output="")


@vt.case
def a_port_out_of_range_is_refused():
    a = vt.Agent(base_with('"127.0.0.1:{port}"', '"127.0.0.1:99999"'))
    expect_refused(a, [(3, "agent", "option 'http.listen': invalid listen address "
                        "\"127.0.0.1:99999\": the port must be a number from 0 to 65535")])


@vt.case
def an_empty_state_dir_is_refused():
    a = vt.Agent(base_with("state_dir: {tmp}/state", "state_dir: ''"))
    expect_refused(a, [(2, "agent", "option 'state_dir': must not be empty (the directory for "
                        "checkpoints and dead letters)")])


@vt.case
def a_secret_file_that_is_a_fifo_is_refused_at_once():
    a = vt.Agent(config_text("output", ES % "user: u, password_file: {tmp}/fifo"))
    fifo = os.path.join(a.tmp, "fifo")
    os.mkfifo(fifo, 0o600)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    expect_refused(a, [(8, "outputs[1] (elasticsearch)",
                        "option 'password_file': '%s' is not a regular file" % fifo)])


@vt.case
def several_errors_are_reported_at_once():
    a = vt.Agent(BASE.format(
        tmp="{tmp}", port="{port}",
        agent="  shutdown_timeout: 100000000000h\n",
        collector=GEN % "rate: -1, batch: 0",
        output=ES % "workers: 1000" + KAFKA % "linger: 10s, timeout: 5s"))
    expect_refused(a, [
        (4, "agent", "option 'shutdown_timeout': must be at most 87600h, not 100000000000h"),
        (7, "collectors[1] (generator)", "option 'rate': must be between 0 and 1000000000, "
         "not -1"),
        (7, "collectors[1] (generator)", "option 'batch': must be at least 1, not 0"),
        (10, "outputs[1] (elasticsearch)", "option 'workers': must be between 1 and 64, not 1000"),
        (11, "outputs[2] (kafka)", "option 'linger' (10000 ms) must be less than 'timeout' "
         "(5000 ms)"),
    ])


vt.finish()
