"""Kafka peers for the integration tests: librdkafka's mock cluster
(kafka_mock), a reader that returns every record with its key
(kafka_consume), a small idempotent producer (kafka_produce), and a second,
independent reader on python3-kafka.

The C peers are built from tests/integration/kafka_*.c. Their paths come
from VIGIL_KAFKA_MOCK, VIGIL_KAFKA_CONSUME and VIGIL_KAFKA_PRODUCE (set by
CMake on the test), else build/kafka_mock and so on under the source tree.

Every wait is bounded in time; every process started is stopped by PID.
The mock keeps about 5 MiB per partition and silently drops older data past
that: keep what a test writes to one partition well under it.
Run under /usr/bin/python3 (stdlib only, python3-kafka for kafka_python_read)."""

import json
import os
import queue
import shutil
import signal
import subprocess
import tempfile
import threading
import time

SRC = os.environ.get("VIGIL_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))


def _binary(env, name):
    return os.environ.get(env) or os.path.join(SRC, "build", name)


MOCK = _binary("VIGIL_KAFKA_MOCK", "kafka_mock")
CONSUME = _binary("VIGIL_KAFKA_CONSUME", "kafka_consume")
PRODUCE = _binary("VIGIL_KAFKA_PRODUCE", "kafka_produce")
ENV_NAMES = ("VIGIL_KAFKA_MOCK", "VIGIL_KAFKA_CONSUME", "VIGIL_KAFKA_PRODUCE")


def missing_binaries():
    """The peer binaries that are not there (an empty list when all are)."""
    return [p for p in (MOCK, CONSUME, PRODUCE) if not os.access(p, os.X_OK)]


def configured_by_build():
    """True when the build named the peer binaries (then missing ones are an error)."""
    return any(os.environ.get(n) for n in ENV_NAMES)


def _stop_pid(proc, timeout=10.0):
    """SIGTERM to proc, then SIGKILL after timeout; returns its exit code."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    return proc.returncode


def _pump(stream, sink):
    """Reader thread body: every line of stream into sink (a Queue or a list)."""
    for line in stream:
        if isinstance(sink, list):
            sink.append(line)
        else:
            sink.put(line)
    stream.close()


def read_bootstrap(path, timeout=10.0, proc=None):
    """Waits for the bootstrap file the mock writes (by rename, so it is whole)
    and returns the server list "host:port,host:port,..."."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path):
            with open(path) as f:
                return f.read().strip()
        if proc is not None and proc.poll() is not None:
            raise AssertionError("kafka_mock exited with %s before writing %s"
                                 % (proc.returncode, path))
        time.sleep(0.05)
    raise AssertionError("no bootstrap file %s after %.1fs" % (path, timeout))


class KafkaMock:
    """A mock Kafka cluster: `brokers` brokers (ids 1..N) on loopback, the
    `topics` ({name: partitions}) created with replication min(3, N), and
    partition p led by broker p % N + 1."""

    def __init__(self, topics=None, brokers=3):
        self.topics = dict(topics or {})
        self.brokers = brokers
        self.tmp = tempfile.mkdtemp(prefix="vigil-kafka-")
        self.bootstrap_file = os.path.join(self.tmp, "bootstrap")
        self.stderr_path = os.path.join(self.tmp, "kafka_mock.stderr")
        self.proc = None
        self.bootstrap = None
        self._replies = queue.Queue()

    def start(self, timeout=10.0):
        args = [MOCK, "--bootstrap-file", self.bootstrap_file, "--brokers", str(self.brokers)]
        for name, parts in self.topics.items():
            args += ["--topic", "%s:%d" % (name, parts)]
        self._err = open(self.stderr_path, "ab")
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self._err, text=True, bufsize=1)
        threading.Thread(target=_pump, args=(self.proc.stdout, self._replies),
                         daemon=True).start()
        self.bootstrap = read_bootstrap(self.bootstrap_file, timeout, self.proc)
        return self

    def try_command(self, line, timeout=5.0):
        """Sends one command line; returns the answer ("ok" or "error ...")."""
        if self.proc is None or self.proc.poll() is not None:
            raise AssertionError("kafka_mock is not running; stderr:\n" + self.stderr())
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        try:
            return self._replies.get(timeout=timeout).rstrip("\n")
        except queue.Empty:
            raise AssertionError("kafka_mock did not answer %r within %.1fs" % (line, timeout))

    def command(self, line, timeout=5.0):
        """Sends one command line and fails unless the answer is "ok"."""
        reply = self.try_command(line, timeout)
        if reply != "ok":
            raise AssertionError("kafka_mock: %r answered %r" % (line, reply))

    def broker_down(self, broker_id):
        self.command("broker_down %d" % broker_id)

    def broker_up(self, broker_id):
        self.command("broker_up %d" % broker_id)

    def broker_rtt(self, broker_id, ms):
        self.command("broker_rtt %d %d" % (broker_id, ms))

    def push_produce_errors(self, topic, count, *names):
        """The next `count` Produce requests (of any topic: the mock keeps one
        error stack per request type) fail with `names` in turn."""
        self.command("push_produce_errors %s %d %s" % (topic, count, " ".join(names)))

    def create_topic(self, name, partitions):
        self.command("create_topic %s %d" % (name, partitions))
        self.topics[name] = partitions

    def leader_of(self, partition):
        """The broker id that leads `partition` of any topic the mock created."""
        return partition % self.brokers + 1

    def stop(self, timeout=10.0):
        """Stops the mock by PID (SIGTERM); returns its exit code."""
        if self.proc is None:
            return None
        rc = _stop_pid(self.proc, timeout)
        self.proc.stdin.close()
        self._err.close()
        return rc

    def cleanup(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def stderr(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode(errors="replace")

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        if exc[0] is None:
            self.cleanup()
        else:
            print("kafka_mock files kept in %s" % self.tmp)
        return False


class ConsumeResult:
    """What kafka_consume read: messages (dicts with partition, offset, key,
    value), its summary, exit code and stderr."""

    def __init__(self, rc, stdout, stderr):
        self.rc = rc
        self.stderr = stderr
        self.messages = [json.loads(l) for l in stdout.splitlines() if l.strip()]
        self.summary = {}
        for line in reversed(stderr.splitlines()):
            if line.startswith("{"):
                self.summary = json.loads(line)
                break

    def keys(self):
        return [m["key"] for m in self.messages]

    def by_partition(self):
        """{partition: [messages in offset order]}."""
        out = {}
        for m in sorted(self.messages, key=lambda m: (m["partition"], m["offset"])):
            out.setdefault(m["partition"], []).append(m)
        return out


def consume(bootstrap, topic, count=None, eof=True, timeout=30.0, sets=None):
    """Reads `topic` from the beginning with kafka_consume until `count`
    messages and/or every partition at its end (eof), or the timeout."""
    args = [CONSUME, "--bootstrap", bootstrap, "--topic", topic,
            "--timeout-ms", str(int(timeout * 1000))]
    if count is not None:
        args += ["--count", str(count)]
    if eof:
        args.append("--eof")
    for s in sets or ():
        args += ["--set", s]
    p = subprocess.run(args, capture_output=True, text=True, timeout=timeout + 30,
                       stdin=subprocess.DEVNULL)
    return ConsumeResult(p.returncode, p.stdout, p.stderr)


def _line(key, value):
    if "\n" in value or (key is not None and ("\t" in key or "\n" in key)):
        raise ValueError("kafka_produce takes one line per message: KEY<TAB>VALUE")
    return value + "\n" if key is None else "%s\t%s\n" % (key, value)


class Producer:
    """kafka_produce running on a pipe: send messages at any pace, follow
    delivery reports as they come, finish to get the summary."""

    def __init__(self, bootstrap, topic, sets=None, timeout_ms=60000):
        args = [PRODUCE, "--bootstrap", bootstrap, "--topic", topic,
                "--timeout-ms", str(timeout_ms)]
        for s in sets or ():
            args += ["--set", s]
        self.timeout_ms = timeout_ms
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, bufsize=1)
        self._reports = []
        self._stderr = []
        self._threads = [threading.Thread(target=_pump, args=(self.proc.stdout, self._reports),
                                          daemon=True),
                         threading.Thread(target=_pump, args=(self.proc.stderr, self._stderr),
                                          daemon=True)]
        for t in self._threads:
            t.start()

    def send(self, pairs):
        """Writes (key, value) pairs; key None for a message without a key."""
        self.proc.stdin.write("".join(_line(k, v) for k, v in pairs))
        self.proc.stdin.flush()

    def reports(self):
        """Delivery reports so far: dicts with key and partition/offset or error."""
        return [json.loads(l) for l in list(self._reports)]

    def delivered(self):
        return sum(1 for r in self.reports() if "error" not in r)

    def wait_delivered(self, n, timeout=30.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.delivered() >= n:
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError("%d of %d messages delivered after %.1fs; stderr:\n%s"
                             % (self.delivered(), n, timeout, "".join(self._stderr)))

    def finish(self, timeout=None):
        """Closes stdin and waits for the end; returns (exit code, summary dict)."""
        if timeout is None:
            timeout = self.timeout_ms / 1000.0 + 30
        self.proc.stdin.close()
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            _stop_pid(self.proc)
            raise AssertionError("kafka_produce did not finish within %.1fs" % timeout)
        for t in self._threads:
            t.join(5)
        return rc, self.summary()

    def summary(self):
        for line in reversed(self._stderr):
            if line.startswith("{"):
                return json.loads(line)
        return {}

    def stderr(self):
        return "".join(self._stderr)

    def stop(self):
        """Stops it by PID if it still runs."""
        if self.proc.poll() is None:
            _stop_pid(self.proc)


def produce(bootstrap, topic, pairs, sets=None, timeout=60.0):
    """Produces all (key, value) pairs at once; returns (rc, reports, summary)."""
    p = Producer(bootstrap, topic, sets=sets, timeout_ms=int(timeout * 1000))
    try:
        p.send(pairs)
        rc, summary = p.finish()
    finally:
        p.stop()
    return rc, p.reports(), summary


def kafka_python_read(bootstrap, topic, count, timeout=30.0):
    """Reads `count` messages of every partition of `topic` from the beginning
    with python3-kafka (no group, nothing committed). Returns dicts shaped
    like kafka_consume's lines (bytes that are not UTF-8 become U+FFFD, by
    Python's rule: one per bad sequence where kafka_consume puts one per
    byte). Raises when python3-kafka is missing or the count is not reached."""
    try:
        import kafka
    except ImportError:
        raise AssertionError("python3-kafka is missing: "
                             "apt-get install -y --no-install-recommends python3-kafka")
    c = kafka.KafkaConsumer(bootstrap_servers=bootstrap.split(","), group_id=None,
                            enable_auto_commit=False, auto_offset_reset="earliest",
                            request_timeout_ms=15000, consumer_timeout_ms=1000)
    out = []
    deadline = time.monotonic() + timeout
    try:
        parts = None
        while not parts and time.monotonic() < deadline:
            parts = c.partitions_for_topic(topic)
            if not parts:
                time.sleep(0.2)
        if not parts:
            raise AssertionError("python3-kafka found no partitions for %s" % topic)
        c.assign([kafka.TopicPartition(topic, p) for p in sorted(parts)])
        c.seek_to_beginning()
        while len(out) < count and time.monotonic() < deadline:
            for tp, records in c.poll(timeout_ms=500).items():
                for r in records:
                    out.append({"partition": tp.partition, "offset": r.offset,
                                "key": None if r.key is None else r.key.decode(errors="replace"),
                                "value": None if r.value is None
                                else r.value.decode(errors="replace")})
    finally:
        c.close()
    if len(out) < count:
        raise AssertionError("python3-kafka read %d of %d messages in %.1fs"
                             % (len(out), count, timeout))
    return out
