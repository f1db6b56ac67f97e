"""Outputs that block, lie or hide: a stdout whose reader never reads (a
pipe, a socket) or pauses, a file output on /dev/null or a FIFO, a
dead-letter file on a full disk (/dev/full) or behind a missing folder, and
checkpoints that cannot be written. Each case prints its figures (shutdown
time, records delivered and acknowledged, log bytes) before asserting its
bound.

Run alone: VIGIL_BIN=build/vigil /usr/bin/python3 tests/integration/test_hostile_outputs.py"""

import fcntl
import json
import os
import signal
import socket
import subprocess
import threading
import time

import vigiltest as vt

SHUTDOWN_S = 2.0
# shutdown_timeout, plus the second a worker has to stop, plus the exit
SHUTDOWN_BOUND_S = SHUTDOWN_S + 1.0 + 0.5
LOG_BOUND = 8 * 1024

STDOUT_CONFIG = """
agent:
  state_dir: {tmp}/state
  shutdown_timeout: 2s
  http: { listen: "127.0.0.1:{port}" }
collectors:
  - { type: generator, rate: %d, count: %d, batch: 500, interval: 20ms }
outputs:
  - { type: stdout, retry_backoff: 100ms, retry_backoff_max: 300ms }
"""


def start_on(agent, stdout_fd):
    """Starts the agent with stdout_fd as its standard output; waits for /readyz."""
    agent._out = None
    agent._err = open(agent.stderr_path, "ab")
    agent.proc = subprocess.Popen([vt.BIN, "--config", agent.config_path], stdout=stdout_fd,
                                  stderr=agent._err, stdin=subprocess.DEVNULL, env=agent.env)
    vt.wait_for(lambda: agent._alive() and agent.get("/readyz")[0] == 200, 10,
                what="agent /readyz")


def timed_stop(agent, limit=15.0):
    """SIGTERM; the seconds until exit (killed and reported past limit)."""
    t0 = time.monotonic()
    agent.proc.send_signal(signal.SIGTERM)
    try:
        rc = agent.proc.wait(limit)
    except subprocess.TimeoutExpired:
        agent.kill()
        print("   agent did not exit within %.0f s of SIGTERM: killed" % limit)
        return None, time.monotonic() - t0
    return rc, time.monotonic() - t0


def metric(agent, name, **labels):
    return agent.metric_value(name, labels or None)


def read_all(fd, limit_s=10.0):
    """Everything readable from a non-blocking fd until EOF (bounded)."""
    chunks, deadline = [], time.monotonic() + limit_s
    while time.monotonic() < deadline:
        try:
            b = os.read(fd, 1 << 16)
        except BlockingIOError:
            time.sleep(0.01)
            continue
        if not b:
            break
        chunks.append(b)
    return b"".join(chunks)


def check_lines(data, what, cut_tail=False):
    """Every line whole JSON, seq 1, 2, 3, ...: nothing written twice or
    broken. Returns the number of records. cut_tail: the agent was stopped
    while its reader read nothing, so the last line may have been cut (a
    socket takes part of a line)."""
    seqs = []
    if cut_tail and not data.endswith(b"\n"):
        data = data[:data.rfind(b"\n") + 1]
    for i, line in enumerate(data.split(b"\n")[:-1]):
        try:
            seqs.append(json.loads(line)["seq"])
        except ValueError:
            raise AssertionError("%s: line %d is not whole JSON: %r" % (what, i + 1, line[:120]))
    assert data == b"" or data.endswith(b"\n"), "%s: a partial last line" % what
    assert seqs == list(range(1, len(seqs) + 1)), \
        "%s: lost, repeated or out of order: %s" % (what, seqs[:20])
    return len(seqs)


def nonblocking(fd):
    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_NONBLOCK)


def never_reading_stdout(make_pair, kind):
    """stdout is one end of make_pair(); the other is never read until the
    agent has exited. Output down, a bounded shutdown, whole lines once."""
    agent = vt.Agent(STDOUT_CONFIG % (5000, 0))
    reader, writer = make_pair()
    try:
        start_on(agent, writer)
        os.close(writer)
        t0 = time.monotonic()
        vt.wait_for(lambda: metric(agent, "vigil_output_up", output="stdout") == 0, 10,
                    what="vigil_output_up 0")
        down_s = time.monotonic() - t0
        time.sleep(1.5)
        sent = metric(agent, "vigil_output_bytes_total", output="stdout", stage="raw")
        rc, took = timed_stop(agent)
        data = read_all(reader)
        n = check_lines(data, kind, cut_tail=True)
        log = agent.stderr()
        print("   %s never read: output down after %.2f s, %d bytes counted, SIGTERM "
              "(shutdown_timeout %.0f s) to exit %.2f s (bound %.1f s), rc %s, %d whole "
              "records once, %d bytes of log"
              % (kind, down_s, sent or 0, SHUTDOWN_S, took, SHUTDOWN_BOUND_S, rc, n, len(log)))
        assert rc == 0 and took <= SHUTDOWN_BOUND_S, (rc, took)
        assert "the reader took nothing for 1000 ms" in log, log[-2000:]
        assert len(log) < LOG_BOUND, len(log)
        assert n > 0 and sent is not None and sent > 0
    finally:
        agent.kill()
        os.close(reader)


@vt.case
def stdout_pipe_never_read_ends_within_the_shutdown_timeout():
    def pair():
        r, w = os.pipe()
        nonblocking(r)
        return r, w
    never_reading_stdout(pair, "pipe")


@vt.case
def stdout_socket_never_read_ends_within_the_shutdown_timeout():
    def pair():
        a, b = socket.socketpair()
        a.setblocking(False)
        return a.detach(), b.detach()
    never_reading_stdout(pair, "socket")


@vt.case
def stdout_reader_that_pauses_gets_every_record_once():
    n = 20000
    agent = vt.Agent(STDOUT_CONFIG % (10000, n))
    r, w = os.pipe()
    got = []

    def drain():
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                b = os.read(r, 1 << 16)
            except BlockingIOError:
                time.sleep(0.005)
                continue
            if not b:
                return
            got.append(b)
    try:
        start_on(agent, w)
        os.close(w)
        nonblocking(r)
        vt.wait_for(lambda: metric(agent, "vigil_output_up", output="stdout") == 0, 10,
                    what="vigil_output_up 0 while the reader pauses")
        time.sleep(1.0)
        t = threading.Thread(target=drain)
        t.start()
        vt.wait_for(lambda: metric(agent, "vigil_input_acked_records_total",
                                   collector="generator") == n, 30, 0.1,
                    what="%d records acknowledged" % n)
        up = vt.wait_for(lambda: metric(agent, "vigil_output_up", output="stdout") == 1, 5,
                         what="output up again")
        sent = metric(agent, "vigil_output_bytes_total", output="stdout", stage="raw")
        retries = metric(agent, "vigil_output_retries_total", output="stdout")
        rc, took = timed_stop(agent)
        t.join(35)
        data = b"".join(got)
        count = check_lines(data, "pipe")
        print("   reader paused: %d retries, %d records read once and in order, %d bytes "
              "read, %d bytes counted, exit in %.2f s"
              % (retries, count, len(data), sent, took))
        assert count == n and up
        assert sent == len(data), (sent, len(data))
        assert retries >= 1 and rc == 0 and took <= SHUTDOWN_BOUND_S
    finally:
        agent.kill()
        os.close(r)


@vt.case
def stdout_fifo_reader_that_leaves_and_another_that_comes():
    agent = vt.Agent(STDOUT_CONFIG % (2000, 0))
    fifo = os.path.join(agent.tmp, "fifo")
    os.mkfifo(fifo)
    r1 = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    w = os.open(fifo, os.O_WRONLY)
    r2 = None
    try:
        start_on(agent, w)
        os.close(w)
        vt.wait_for(lambda: read_all(r1, 0.2) != b"" or None, 5, what="records at the first reader")
        os.close(r1)  # the reader goes away: EPIPE
        vt.wait_for(lambda: metric(agent, "vigil_output_up", output="stdout") == 0, 10,
                    what="vigil_output_up 0 with no reader")
        time.sleep(1.0)
        r2 = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        t0 = time.monotonic()
        vt.wait_for(lambda: metric(agent, "vigil_output_up", output="stdout") == 1, 10,
                    what="vigil_output_up 1 with a new reader")
        back = time.monotonic() - t0
        time.sleep(0.5)
        data = b""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                data += os.read(r2, 1 << 16)
            except BlockingIOError:
                break
        seqs = [json.loads(l)["seq"] for l in data.split(b"\n")[:-1]]
        log = agent.stderr()
        rc, took = timed_stop(agent)
        print("   FIFO reader left and came back: output up again %.2f s after, %d whole "
              "records at the new reader from seq %s, %d bytes of log, exit in %.2f s"
              % (back, len(seqs), seqs[0] if seqs else None, len(log), took))
        assert seqs and seqs == list(range(seqs[0], seqs[0] + len(seqs)))
        assert "Broken pipe" in log and len(log) < LOG_BOUND
        assert rc == 0 and took <= SHUTDOWN_BOUND_S
    finally:
        agent.kill()
        if r2 is not None:
            os.close(r2)


FILE_CONFIG = """
agent:
  state_dir: {tmp}/state
  shutdown_timeout: 2s
  http: { listen: "127.0.0.1:{port}" }
collectors:
  - { type: generator, rate: 10000, count: %d, batch: 500, interval: 20ms }
outputs:
  - { type: file, path: "%s", retry_backoff: 100ms, retry_backoff_max: 300ms }
"""


@vt.case
def file_output_writes_to_dev_null_and_counts_bytes():
    n = 5000
    agent = vt.Agent(FILE_CONFIG % (n, "/dev/null"))
    try:
        agent.start()
        t0 = time.monotonic()
        acked = vt.wait_for(lambda: metric(agent, "vigil_input_acked_records_total",
                                           collector="generator") == n and n, 10,
                            what="%d records acknowledged" % n)
        sent = metric(agent, "vigil_output_bytes_total", output="file", stage="raw")
        retries = metric(agent, "vigil_output_retries_total", output="file")
        log = agent.stderr()
        print("   /dev/null: %d records acknowledged in %.2f s, %d bytes counted, %d retries, "
              "%d bytes of log" % (acked, time.monotonic() - t0, sent, retries, len(log)))
        assert retries == 0 and "Invalid argument" not in log, log[-2000:]
        assert sent > n * 50, sent
    finally:
        agent.stop()


@vt.case
def file_output_counts_the_bytes_it_writes():
    n = 3000
    agent = vt.Agent(FILE_CONFIG % (n, "{tmp}/out.ndjson"))
    path = os.path.join(agent.tmp, "out.ndjson")
    try:
        agent.start()
        vt.wait_for(lambda: metric(agent, "vigil_input_acked_records_total",
                                   collector="generator") == n, 10, what="%d records" % n)
        sent = metric(agent, "vigil_output_bytes_total", output="file", stage="raw")
        wire = metric(agent, "vigil_output_bytes_total", output="file", stage="wire")
        size = os.path.getsize(path)
        print("   regular file: %d bytes on disk, %d raw and %d wire bytes counted"
              % (size, sent, wire))
        assert sent == size and wire == size
    finally:
        agent.stop()


@vt.case
def file_output_to_a_fifo_whose_reader_pauses():
    n = 20000
    agent = vt.Agent(FILE_CONFIG % (n, "{tmp}/fifo"))
    fifo = os.path.join(agent.tmp, "fifo")
    os.mkfifo(fifo)
    r = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        agent.start()
        vt.wait_for(lambda: metric(agent, "vigil_output_up", output="file") == 0, 10,
                    what="vigil_output_up 0 while the reader pauses")
        time.sleep(1.0)
        chunks, deadline = [], time.monotonic() + 30
        while time.monotonic() < deadline and (
                metric(agent, "vigil_input_acked_records_total", collector="generator") != n):
            try:
                while True:
                    chunks.append(os.read(r, 1 << 16))
            except BlockingIOError:
                time.sleep(0.02)
        rc, took = timed_stop(agent)
        data = b"".join(chunks) + read_all(r, 2.0)
        count = check_lines(data, "fifo")
        log = agent.stderr()
        print("   FIFO, reader paused: %d records read once and in order, %d bytes of log, "
              "exit in %.2f s" % (count, len(log), took))
        assert count == n and "fsync" not in log, log[-2000:]
        assert rc == 0 and took <= SHUTDOWN_BOUND_S
    finally:
        agent.kill()
        os.close(r)


DEAD_CONFIG = """
agent:
  state_dir: {tmp}/state
  shutdown_timeout: 2s
  http: { listen: "127.0.0.1:{port}" }
collectors:
  - { type: generator, rate: 1000, count: 100, batch: 100, interval: 50ms }
outputs:
  - { type: file, path: "{tmp}/missing/out.ndjson", retry_limit: 1, retry_backoff: 50ms,
      retry_backoff_max: 200ms, dead_letter_path: "%s" }
"""


@vt.case
def dead_letters_on_a_full_disk_stay_unacknowledged():
    agent = vt.Agent(DEAD_CONFIG % "/dev/full")
    try:
        agent.start()
        vt.wait_for(lambda: (metric(agent, "vigil_output_dead_letter_errors_total",
                                    output="file") or 0) >= 3, 10,
                    what="dead-letter writes failing")
        time.sleep(1.0)
        acked = metric(agent, "vigil_input_acked_records_total", collector="generator")
        dl = metric(agent, "vigil_output_dead_letter_records_total", output="file")
        errs = metric(agent, "vigil_output_dead_letter_errors_total", output="file")
        up = metric(agent, "vigil_output_up", output="file")
        rc, took = timed_stop(agent)
        log = agent.stderr()
        lines = [l for l in log.splitlines() if "dead-letter" in l]
        print("   /dev/full: %d records acknowledged, %d dead letters counted, %d failed "
              "writes, up %d, %d dead-letter log lines, %d bytes of log, exit in %.2f s"
              % (acked, dl, errs, up, len(lines), len(log), took))
        for l in lines:
            print("     " + l[:200])
        assert acked == 0 and dl == 0 and up == 0, (acked, dl, up)
        assert "records written to the dead-letter file" not in log
        assert "No space left on device" in log and "stay unacknowledged" in log
        assert len(log) < LOG_BOUND and len(lines) <= 2
        assert rc == 0 and took <= SHUTDOWN_BOUND_S, (rc, took)
    finally:
        agent.kill()


@vt.case
def dead_letters_are_written_once_their_folder_can_be_made():
    agent = vt.Agent(DEAD_CONFIG % "{tmp}/blocker/dead.ndjson")
    blocker = os.path.join(agent.tmp, "blocker")
    with open(blocker, "w") as f:  # a file where the folder should go: ENOTDIR
        f.write("in the way\n")
    try:
        agent.start()
        vt.wait_for(lambda: (metric(agent, "vigil_output_dead_letter_errors_total",
                                    output="file") or 0) >= 2, 10,
                    what="dead-letter writes failing")
        held = metric(agent, "vigil_input_acked_records_total", collector="generator")
        os.unlink(blocker)
        t0 = time.monotonic()
        vt.wait_for(lambda: metric(agent, "vigil_input_acked_records_total",
                                   collector="generator") == 100, 10,
                    what="100 records acknowledged once written")
        took = time.monotonic() - t0
        with open(os.path.join(blocker, "dead.ndjson")) as f:
            lines = [json.loads(l) for l in f]
        dl = metric(agent, "vigil_output_dead_letter_records_total", output="file")
        print("   folder blocked: %d acknowledged while blocked; %.2f s after unblocking %d "
              "dead-letter lines, %d counted, 100 acknowledged" % (held, took, len(lines), dl))
        assert held == 0
        assert sorted(l["record"]["seq"] for l in lines) == list(range(1, 101))
        assert dl == 100
        assert "dead-letter file recovered" in agent.stderr()
    finally:
        agent.stop()


CKPT_CONFIG = """
agent:
  state_dir: {tmp}/state
  http: { listen: "127.0.0.1:{port}" }
collectors:
  - type: container_logs
    paths: ["{tmp}/logs/*.log"]
    format: raw
    kubernetes: false
    checkpoint_interval: 100ms
outputs:
  - { type: file, path: "{tmp}/out.ndjson" }
"""


@vt.case
def failing_checkpoint_writes_are_counted_and_fail_readyz():
    agent = vt.Agent(CKPT_CONFIG)
    logs = os.path.join(agent.tmp, "logs")
    os.mkdir(logs)
    log_file = os.path.join(logs, "a.log")
    stop = threading.Event()

    def write_lines():
        with open(log_file, "a") as f:
            for i in range(400):  # 40 s at most
                if stop.is_set():
                    return
                f.write("line %d\n" % i)
                f.flush()
                time.sleep(0.1)
    open(log_file, "w").close()
    t = threading.Thread(target=write_lines)
    try:
        agent.start()
        t.start()
        ckpt = os.path.join(agent.tmp, "state", "checkpoints", "container_logs")
        vt.wait_for(lambda: os.path.exists(ckpt), 10, what="a first checkpoint")
        before = metric(agent, "vigil_checkpoint_errors_total", collector="container_logs")
        os.mkdir(ckpt + ".tmp")  # a folder where the temporary file goes: EISDIR
        t0 = time.monotonic()
        vt.wait_for(lambda: agent.get("/readyz")[0] == 503, 5, what="/readyz 503")
        to_503 = time.monotonic() - t0
        time.sleep(2.0)
        errs = metric(agent, "vigil_checkpoint_errors_total", collector="container_logs")
        failed = [l for l in agent.stderr().splitlines() if "cannot write checkpoints" in l]
        os.rmdir(ckpt + ".tmp")
        t1 = time.monotonic()
        vt.wait_for(lambda: agent.get("/readyz")[0] == 200, 5, what="/readyz 200 again")
        to_200 = time.monotonic() - t1
        after = metric(agent, "vigil_checkpoint_errors_total", collector="container_logs")
        time.sleep(0.5)
        log = agent.stderr()
        print("   checkpoints blocked: errors %s before, %d after 2 s, /readyz 503 in %.2f s, "
              "%d log lines; unblocked: /readyz 200 in %.2f s, errors %d, %d bytes of log"
              % (before, errs, to_503, len(failed), to_200, after, len(log)))
        assert before == 0 and errs >= 10, (before, errs)
        assert len(failed) == 1, failed
        assert "checkpoint writing recovered" in log
        assert metric(agent, "vigil_checkpoint_errors_total", collector="container_logs") == after
    finally:
        stop.set()
        if t.is_alive():
            t.join(5)
        agent.stop()


vt.finish()
