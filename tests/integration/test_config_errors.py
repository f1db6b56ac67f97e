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
    # the values of the first list, each refused by both
    ("collector", GEN % "rate: -5", "collectors[1] (generator)",
     "option 'rate': must be between 0 and 1000000000, not -5"),
    ("output", FILE % "mode: rw-r--r--", "outputs[1] (file)",
     "option 'mode': 'rw-r--r--' is not an octal file mode like 0640"),
    ("output", "  - { type: elasticsearch, url: 'ftp://x' }\n", "outputs[1] (elasticsearch)",
     "option 'url': 'ftp://x' is not http://HOST[:PORT] or https://HOST[:PORT]"),
    ("output", ES % "workers: 1000", "outputs[1] (elasticsearch)",
     "option 'workers': must be between 1 and 64, not 1000"),
    ("output", ES % "compress_level: 42", "outputs[1] (elasticsearch)",
     "option 'compress_level': must be between 1 and 9, not 42"),
    ("output", "  - { type: kafka, brokers: '', topic: t }\n", "outputs[1] (kafka)",
     "option 'brokers': brokers must not be empty (host:port,host:port)"),
    ("collector", CLOG % "multiline: {start: '^(\\d+'}", "collectors[1] (container_logs)",
     "option 'multiline.start': multiline start pattern '^(\\d+': missing closing parenthesis "
     "at offset 5"),
    ("collector", CLOG % "multiline: {continue: '[a-'}", "collectors[1] (container_logs)",
     "option 'multiline.continue': multiline continue pattern '[a-': missing terminating ] "
     "for character class at offset 3"),
    ("collector", CLOG % "multiline: {preset: java, start: '^x'}",
     "collectors[1] (container_logs)",
     "option 'multiline.preset': multiline preset 'java' cannot be combined with start or "
     "continue"),
    # enumerations, types and names
    ("collector", CLOG % "multiline: {preset: ruby}", "collectors[1] (container_logs)",
     "option 'multiline.preset': invalid value 'ruby' (one of: java, python, go)"),
    ("collector", CLOG % "format: xml", "collectors[1] (container_logs)",
     "option 'format': invalid value 'xml' (one of: auto, cri, docker, raw)"),
    ("collector", CLOG % "max_line_bytes: 12", "collectors[1] (container_logs)",
     "option 'max_line_bytes': must be between 16 and 1GiB, not 12"),
    ("collector", "  - { type: container_logs, paths: [] }\n", "collectors[1] (container_logs)",
     "option 'paths': at least one pattern is needed"),
    ("collector", "  - { type: textfile, directory: '' }\n", "collectors[1] (textfile)",
     "option 'directory': must not be empty"),
    ("collector", "  - { type: textfile, directory: '{tmp}', max_file_size: 0 }\n",
     "collectors[1] (textfile)", "option 'max_file_size': must be between 1 and 256MiB, not 0"),
    ("collector", "  - { type: node, proc_root: '' }\n", "collectors[1] (node)",
     "option 'proc_root': must not be empty"),
    ("collector", GEN % "count: lots", "collectors[1] (generator)",
     "option 'count': invalid integer 'lots'"),
    ("output", FILE % "fsync: maybe", "outputs[1] (file)",
     "option 'fsync': invalid boolean 'maybe' (use true or false)"),
    ("output", FILE % "queue_max_batches: -1", "outputs[1] (file)",
     "option 'queue_max_batches': must be at least 1, not -1"),
    ("output", FILE % "retry_backoff: 1y", "outputs[1] (file)",
     "option 'retry_backoff': invalid duration '1y' (use ms, s, m, h: '15s')"),
    ("output", ES % "workers: many", "outputs[1] (elasticsearch)",
     "option 'workers': invalid integer 'many'"),
    ("output", ES % "api_key: k, password: p", "outputs[1] (elasticsearch)",
     "options 'api_key' and 'password' both given; use one"),
    ("output", ES % "user: u", "outputs[1] (elasticsearch)",
     "options 'user' and 'password' (or 'password_file') go together"),
    ("output", ES % "index: 'logs-%{'", "outputs[1] (elasticsearch)",
     "option 'index': 'logs-%{': '{' at byte 6 is not closed by '}'"),
    ("output", "  - { type: elasticsearch, url: 'http://' }\n", "outputs[1] (elasticsearch)",
     "option 'url': 'http://' is not http://HOST[:PORT] or https://HOST[:PORT]"),
    ("output", "  - { type: elasticsearch }\n", "outputs[1] (elasticsearch)",
     "missing required option 'url'"),
    ("output", "  - { type: kafka, brokers: '127.0.0.1:1', topic: '' }\n", "outputs[1] (kafka)",
     "option 'topic': the topic is empty"),
    ("output", "  - { type: kafka, brokers: '127.0.0.1:1', topic: 'a b' }\n", "outputs[1] (kafka)",
     "option 'topic': 'a b': byte ' ' at offset 1 is not allowed in a topic name (letters, "
     "digits, '.', '_', '-')"),
    ("output", "  - { type: kafka, brokers: '127.0.0.1:1', topic: 'logs-{' }\n",
     "outputs[1] (kafka)", "option 'topic': 'logs-{': '{' at offset 5 is not closed"),
    ("output", KAFKA % "compression: zip", "outputs[1] (kafka)",
     "option 'compression': invalid value 'zip' (one of: none, gzip, snappy, lz4, zstd)"),
    ("agent", "  log: {level: loud}\n", "agent",
     "option 'log.level': invalid value 'loud' (one of: debug, info, warn, error)"),
    ("agent", "  shutdown_timeout: soon\n", "agent",
     "option 'shutdown_timeout': invalid duration 'soon' (use ms, s, m, h: '15s')"),
    ("collector", GEN % "name: 'bad name'", "collectors[1] (generator)",
     "option 'name': invalid name 'bad name' (1 to 64 letters, digits, '_', '-', '.')"),
    ("collector", GEN % "name: generator", "collectors[1] (generator)",
     "duplicate collector name 'generator' (also collectors[0]); give each a distinct 'name'"),
    # suggestions: edit distance, prefix, substring
    ("collector", "  - { type: nod }\n", "collectors[1]",
     "unknown collector type 'nod' (did you mean 'node'?)"),
    ("output", "  - { type: elastic, url: 'http://x' }\n", "outputs[1]",
     "unknown output type 'elastic' (did you mean 'elasticsearch'?)"),
    ("collector", "  - { type: logs }\n", "collectors[1]",
     "unknown collector type 'logs' (did you mean 'container_logs'?)"),
    ("collector", GEN % "rat: 1", "collectors[1] (generator)",
     "unknown option 'rat' (did you mean 'rate'?)"),
    ("agent", "  logging: {level: debug}\n", "agent",
     "unknown option 'logging' (did you mean 'log'?)"),
    # YAML values refused by the loader: one error among the others
    ("output", FILE % "fsync: '${VIGIL_TEST_UNSET_VAR}'", None,
     "environment variable 'VIGIL_TEST_UNSET_VAR' is not set (write "
     "${VIGIL_TEST_UNSET_VAR:-default} to give a default)"),
    ("collector", GEN % "rate: 1, rate: 2", None, "duplicate key 'rate' (first given at line 6)"),
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
    want = ["%s:%d: %s%s" % (a.config_path, line, where + ": " if where else "", msg)
            for line, where, msg in messages]
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
def the_table_is_long_enough():
    assert len(ROWS) >= 40, len(ROWS)


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


@vt.case
def a_refused_option_does_not_hide_the_checks_nor_the_loader_the_plan():
    """Range errors, the check callback's errors, a duplicate key and an unset
    variable of one file come out together, in the order of their lines."""
    a = vt.Agent(BASE.format(
        tmp="{tmp}", port="{port}",
        agent="  state_dir: {tmp}/again\n",
        collector=CLOG % "multiline: {start: '^(\\d+'}",
        output="  - { type: elasticsearch, url: 'ftp://x', workers: 1000, compress_level: 42 }\n"
               + FILE % "path: '${VIGIL_TEST_UNSET_VAR}', mode: rw-r--r--"))
    es = "outputs[1] (elasticsearch)"
    expect_refused(a, [
        (4, None, "duplicate key 'state_dir' (first given at line 2)"),
        (7, "collectors[1] (container_logs)", "option 'multiline.start': multiline start "
         "pattern '^(\\d+': missing closing parenthesis at offset 5"),
        (10, es, "option 'workers': must be between 1 and 64, not 1000"),
        (10, es, "option 'compress_level': must be between 1 and 9, not 42"),
        (10, es, "option 'url': 'ftp://x' is not http://HOST[:PORT] or https://HOST[:PORT]"),
        (11, None, "environment variable 'VIGIL_TEST_UNSET_VAR' is not set (write "
         "${VIGIL_TEST_UNSET_VAR:-default} to give a default)"),
        (11, "outputs[2] (file)", "option 'mode': 'rw-r--r--' is not an octal file mode like "
         "0640"),
    ])


def check_warnings(text):
    """--check-config on text: valid, its summary line and its warnings."""
    a = vt.Agent(text)
    p = vt.run_vigil(["--check-config", a.config_path], timeout=10)
    assert p.returncode == 0, p.stderr
    warns = [l.replace(a.config_path, "CFG").replace(a.tmp, "{tmp}")
             for l in p.stderr.splitlines()]
    return a, p.stdout.strip().replace(a.config_path, "CFG"), warns


@vt.case
def what_will_not_work_on_this_host_is_a_warning():
    a, summary, warns = check_warnings("""agent:
  state_dir: /etc/hostname/state
collectors:
  - { type: container_logs, paths: ['{tmp}/nowhere/*/*.log', '{tmp}/*.log'] }
  - { type: textfile, directory: '{tmp}/textfile' }
outputs:
  - { type: file, path: '{tmp}/out/records.ndjson' }
""")
    print("  ", summary)
    for w in warns:
        print("  ", w)
    assert summary == "CFG: configuration is valid (2 collectors, 1 output; 4 warnings)", summary
    assert warns == [
        "CFG:2: warning: agent: state_dir '/etc/hostname/state' cannot be created: "
        "'/etc/hostname' is not a folder",
        "CFG:4: warning: collectors[0] (container_logs): folder '{tmp}/nowhere' does not exist "
        "(yet): nothing matches '{tmp}/nowhere/*/*.log' until it does",
        "CFG:5: warning: collectors[1] (textfile): folder '{tmp}/textfile' does not exist (yet): "
        "no metrics are read from it until it does",
        "CFG:7: warning: outputs[0] (file): folder '{tmp}/out' does not exist (yet): the file "
        "cannot be created until it does",
    ], warns


@vt.case
def an_empty_config_or_one_without_outputs_is_a_warning():
    _, summary, warns = check_warnings("# nothing yet\n")
    assert summary == "CFG: configuration is valid (0 collectors, 0 outputs; 1 warning)", summary
    assert warns == ["warning: CFG: no collectors and no outputs: the agent would only serve "
                     "its own metrics"], warns
    _, summary, warns = check_warnings("collectors:\n  - { type: generator, rate: 1 }\n")
    assert summary == "CFG: configuration is valid (1 collector, 0 outputs; 1 warning)", summary
    assert warns == ["CFG:1: warning: no outputs: records are collected and dropped (metrics "
                     "are still served on /metrics)"], warns
    _, summary, warns = check_warnings(
        "agent: {state_dir: '{tmp}/s'}\ncollectors:\n  - { type: generator, rate: 1 }\n"
        "outputs:\n  - { type: discard }\n")
    assert summary == "CFG: configuration is valid (1 collector, 1 output)", summary
    assert warns == [], warns


@vt.case
def a_start_logs_the_warnings_and_runs():
    a = vt.Agent("""agent:
  state_dir: {tmp}/state
  http: { listen: "127.0.0.1:{port}" }
collectors:
  - { type: textfile, directory: '{tmp}/textfile' }
outputs:
  - { type: discard }
""")
    a.start()
    try:
        log = vt.wait_for(lambda: "does not exist" in a.stderr() and a.stderr(), timeout=10,
                          what="the warning in the log")
        line = [l for l in log.splitlines() if "does not exist" in l][0]
        print("  ", line)
        assert "warn" in line.lower() and "%s:5: warning: collectors[0] (textfile)" % \
            a.config_path in line, line
    finally:
        a.stop()


@vt.case
def absurd_counts_of_collectors_and_outputs_are_refused_at_once():
    """10,000 collectors or outputs would be 10,000 threads: refused by the
    check with one line, before anything starts; a raised limit admits them."""
    many = "".join("  - { type: generator, rate: 1, name: g%d }\n" % i for i in range(10000))
    outs = "".join("  - { type: discard, name: d%d }\n" % i for i in range(10000))
    a = vt.Agent("agent: { state_dir: '{tmp}/state' }\ncollectors:\n" + many +
                 "outputs:\n" + outs)
    for args in (["--check-config", a.config_path], ["--config", a.config_path]):
        p = vt.run_vigil(args, timeout=20)
        print("   %s: rc %d, %d bytes of stderr" % (args[0], p.returncode, len(p.stderr)))
        assert p.returncode != 0
        assert p.stderr.splitlines()[:2] == [
            "%s:2: collectors: 10000 entries, more than agent.max_collectors (256); raise it if "
            "they are all meant" % a.config_path,
            "%s:10003: outputs: 10000 entries, more than agent.max_outputs (32); raise it if "
            "they are all meant" % a.config_path], p.stderr[:500]
        assert len(p.stderr) < 1000, len(p.stderr)
    assert not os.path.exists(os.path.join(a.tmp, "state"))
    few = "".join("  - { type: generator, rate: 1, name: g%d }\n" % i for i in range(300))
    a = vt.Agent("agent: { max_collectors: 300 }\ncollectors:\n" + few +
                 "outputs:\n  - { type: discard }\n")
    p = vt.run_vigil(["--check-config", a.config_path], timeout=20)
    assert p.returncode == 0, p.stderr[:500]
    assert "(300 collectors, 1 output)" in p.stdout, p.stdout


vt.finish()
