"""The HTTP endpoint under hostile clients: one address holding many
connections, headers that trickle in, thousands of sockets, a flood of bad
requests, a NUL in the path, and an agent out of descriptors. Every case
prints its figures before asserting its bound. /healthz probes come from
127.0.0.1 with a 1 s timeout, as a liveness probe would; the attackers
connect from other loopback addresses (127.0.0.2 and up).

Run alone: VIGIL_BIN=build/vigil /usr/bin/python3 tests/integration/test_hostile_http.py"""

import os
import resource
import select
import socket
import time
import urllib.error

import vigiltest as vt

CONFIG = """
agent:
  state_dir: {tmp}/state
  http: { listen: "127.0.0.1:{port}"%s }
collectors:
  - { type: node, interval: 1s }
outputs:
  - { type: discard }
"""


def config(http_extra=""):
    return CONFIG % http_extra


def probe(agent):
    """True when /healthz answers 200 within 1 s."""
    try:
        return vt.http_get(agent.base + "/healthz", timeout=1.0)[0] == 200
    except (OSError, urllib.error.URLError):
        return False


def probes_during(agent, seconds, step=0.25, also=None):
    """Probes /healthz every `step` for `seconds`; calls also() between
    probes. Returns (answered, sent)."""
    answered = sent = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        sent += 1
        answered += probe(agent)
        if also is not None:
            also()
        time.sleep(step)
    return answered, sent


def connect_from(src, port, timeout=2.0):
    """A socket to 127.0.0.1:port from the address src, or None when the
    agent refused or dropped it before the handshake finished."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.bind((src, 0))
        s.connect(("127.0.0.1", port))
    except OSError:
        s.close()
        return None
    return s


def closed_by_peer(s):
    """True when the agent has closed s (end of stream or reset), without
    waiting. Data the agent sent is read and dropped."""
    p = select.poll()
    p.register(s, select.POLLIN)
    if not p.poll(0):
        return False
    try:
        return s.recv(4096) == b""
    except OSError:
        return True


def close_all(socks):
    for s in socks:
        if s is not None:
            s.close()


def stderr_bytes(agent):
    return os.path.getsize(agent.stderr_path)


def usage_over(agent, seconds):
    """Sleeps `seconds`; returns the agent's (CPU seconds, wall seconds, log
    bytes written) over that time."""
    log0, cpu0, t0 = stderr_bytes(agent), vt.cpu_seconds(agent.proc.pid), time.monotonic()
    time.sleep(seconds)
    return (vt.cpu_seconds(agent.proc.pid) - cpu0, time.monotonic() - t0,
            stderr_bytes(agent) - log0)


def metric(agent, name, labels=None):
    v = agent.metric_value(name, labels)
    return 0 if v is None else v


def raise_nofile(want):
    """Raises this process's descriptor limit toward want; returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


@vt.case
def one_client_address_is_capped_and_counted():
    with vt.Agent(config()) as agent:
        socks = [connect_from("127.0.0.2", agent.port) for _ in range(64)]
        answered, sent = probes_during(agent, 2.5)
        still_open = sum(1 for s in socks if s is not None and not closed_by_peer(s))
        rejected = metric(agent, "vigil_http_connections_rejected_total", {"reason": "per_client"})
        open_now = metric(agent, "vigil_http_connections")
        print("64 sockets from 127.0.0.2: %d still open; the agent holds %d connections, "
              "refused %d (per_client); /healthz from 127.0.0.1 %d of %d answered"
              % (still_open, open_now, rejected, answered, sent))
        close_all(socks)
        assert still_open == 8, still_open
        assert rejected == 56, rejected
        assert answered == sent, (answered, sent)


@vt.case
def a_trickled_request_is_cut_at_its_deadline():
    """64 connections from 8 addresses send a header line every second,
    which would keep an idle timeout from ever firing; request_timeout is 3 s."""
    with vt.Agent(config(", request_timeout: 3s")) as agent:
        opened, closed_at, socks = {}, {}, []
        for i in range(64):
            s = connect_from("127.0.0.%d" % (2 + i // 8), agent.port)
            assert s is not None, "connection %d refused" % i
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            opened[s] = time.monotonic()
            socks.append(s)
        state = {"next": time.monotonic() + 1.0, "n": 0}

        def trickle():
            now = time.monotonic()
            for s in socks:
                if s not in closed_at and closed_by_peer(s):
                    closed_at[s] = now
            if now < state["next"]:
                return
            state["next"] = now + 1.0
            state["n"] += 1
            for s in socks:
                if s not in closed_at:
                    try:
                        s.sendall(b"X-Trickle-%d: y\r\n" % state["n"])
                    except OSError:
                        closed_at[s] = now

        answered, sent = probes_during(agent, 6.0, also=trickle)
        lifetimes = [closed_at[s] - opened[s] for s in socks if s in closed_at]
        timed_out = metric(agent, "vigil_http_connections_timed_out_total")
        print("64 trickling connections: %d closed by the agent, longest lived %.2f s "
              "(request_timeout 3 s), %d header lines each at most; timed out (metric) %d; "
              "/healthz %d of %d answered"
              % (len(lifetimes), max(lifetimes or [0]), state["n"], timed_out, answered, sent))
        close_all(socks)
        assert len(lifetimes) == 64, len(lifetimes)
        assert max(lifetimes) <= 3.0 + 1.5, max(lifetimes)
        assert timed_out >= 64, timed_out
        assert answered == sent, (answered, sent)


@vt.case
def thousands_of_sockets_leave_the_probe_its_reserve():
    """2,000 connections from 250 addresses, 8 each, on the default limits:
    256 connections of which 8 are kept for 127.0.0.1 and ::1."""
    n_socks = 2000
    limit = raise_nofile(n_socks + 200)
    if limit < n_socks + 100:
        n_socks = max(300, limit - 100)
        print("descriptor limit %d: %d sockets only" % (limit, n_socks))
    # the default connection limits; a request deadline longer than the
    # connects and probes take on a busy machine (6 s + 4 s were seen), so
    # that the count of held sockets is about the reserve, not the deadline
    with vt.Agent(config(", request_timeout: 60s")) as agent:
        t0 = time.monotonic()
        socks = [connect_from("127.0.0.%d" % (2 + i // 8), agent.port, timeout=1.0)
                 for i in range(n_socks)]
        took = time.monotonic() - t0
        answered, sent = probes_during(agent, 4.0)
        held = sum(1 for s in socks if s is not None and not closed_by_peer(s))
        full = metric(agent, "vigil_http_connections_rejected_total", {"reason": "full"})
        print("%d sockets from %d addresses in %.1f s: %d held by the agent, %d refused (full); "
              "/healthz from 127.0.0.1 %d of %d answered"
              % (n_socks, (n_socks + 7) // 8, took, held, full, answered, sent))
        close_all(socks)
        assert held == 256 - 8, held
        # a few connects time out in a full backlog and never reach the agent
        assert full >= 0.9 * (n_socks - 248), full
        assert answered >= sent - 1, (answered, sent)  # this client is busy too


@vt.case
def a_flood_of_bad_requests_logs_a_few_lines():
    with vt.Agent(config()) as agent:
        before = stderr_bytes(agent)
        requests = answers = 0
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            s = connect_from("127.0.0.2", agent.port)
            if s is None:
                continue
            requests += 1
            try:
                s.sendall(b"GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n")
                if s.recv(4096):
                    answers += 1
            except OSError:
                pass
            s.close()
        time.sleep(0.5)
        grown = stderr_bytes(agent) - before
        lines = agent.stderr()[before:].count("\n")
        print("HTTP/9.9 flood for 5 s: %d requests, %d answered, agent log grew %d bytes "
              "(%d lines)" % (requests, answers, grown, lines))
        assert requests >= 200, requests
        assert grown <= 4096, agent.stderr()[before:][:4096]
        assert probe(agent)


@vt.case
def a_nul_in_the_path_is_a_bad_request():
    with vt.Agent(config()) as agent:
        codes = {path: agent.get(path)[0] for path in
                 ("/healthz%00.txt", "/metrics%00", "/%00", "/healthz", "/healthz?x=%00")}
        print("answers: %s" % codes)
        assert codes["/healthz%00.txt"] == 400
        assert codes["/metrics%00"] == 400
        assert codes["/%00"] == 400
        assert codes["/healthz"] == 200
        assert codes["/healthz?x=%00"] == 200  # only the path matters


def limit_nofile(n):
    def set_limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (n, n))
    return set_limit


FILES_CONFIG = """
agent:
  state_dir: {tmp}/state
  http: { listen: "127.0.0.1:{port}" }
collectors:
%s
outputs:
  - { type: discard }
""" % "\n".join("  - { type: container_logs, name: logs%d, paths: [\"{tmp}/logs%d/*.log\"], "
                 "format: raw, kubernetes: false }" % (i, i) for i in range(3))


@vt.case
def out_of_descriptors_with_no_connection_the_accept_loop_sleeps():
    """The agent gets 64 descriptors; three log collectors, each keeping
    what it takes of them under its own reserve, take them all between them:
    a client's connection cannot be accepted while the HTTP server holds
    none (libmicrohttpd alone busy-waits here)."""
    agent = vt.Agent(FILES_CONFIG)
    agent.preexec = limit_nofile(64)
    for d in range(3):
        os.makedirs(os.path.join(agent.tmp, "logs%d" % d))
        for i in range(40):
            with open(os.path.join(agent.tmp, "logs%d" % d, "f%03d.log" % i), "w") as f:
                f.write("line %d\n" % i)
    agent.start(wait_ready=False)
    try:
        vt.wait_for(lambda: agent._alive() and
                    len(os.listdir("/proc/%d/fd" % agent.proc.pid)) >= 64, 10,
                    what="the log files to take every descriptor")
        socks = [connect_from("127.0.0.2", agent.port, timeout=0.5) for _ in range(3)]
        cpu, wall, grown = usage_over(agent, 5.0)
        close_all(socks)
        said = agent.stderr().count("cannot accept connections: Too many open files")
        print("RLIMIT_NOFILE 64 taken by 120 log files, 3 clients waiting: agent CPU %.2f s "
              "in %.1f s, log grew %d bytes; 'cannot accept' logged %d time(s)"
              % (cpu, wall, grown, said))
        assert said >= 1, agent.stderr()[-2000:]
        assert cpu <= 1.0, cpu
        assert grown <= 8192, agent.stderr()[-8192:]
    finally:
        agent.kill()


@vt.case
def out_of_descriptors_by_connections_the_accept_loop_backs_off():
    """The agent gets 64 descriptors; 120 connections take what it has left.
    Accepting fails with EMFILE: the agent must neither spin nor flood its
    log, and answers again once the connections are gone."""
    agent = vt.Agent(config(", request_timeout: 2s"))
    agent.preexec = limit_nofile(64)
    agent.start()
    try:
        fds = metric(agent, "process_open_fds")
        socks = []
        for i in range(120):
            socks.append(connect_from("127.0.0.%d" % (2 + i // 8), agent.port, timeout=0.5))
        cpu, wall, grown = usage_over(agent, 5.0)
        close_all(socks)
        t_closed = time.monotonic()
        vt.wait_for(lambda: probe(agent), 10, what="/healthz after the sockets closed")
        recovered = time.monotonic() - t_closed
        errors = metric(agent, "vigil_http_accept_errors_total")
        print("RLIMIT_NOFILE 64, %d open before, 120 connections: agent CPU %.2f s in %.1f s, "
              "log grew %d bytes; accept errors (metric) %d; /healthz again %.1f s after "
              "the sockets closed" % (fds, cpu, wall, grown, errors, recovered))
        assert "Too many open files" in agent.stderr(), agent.stderr()[-2000:]
        assert cpu <= 1.0, cpu
        assert grown <= 8192, agent.stderr()[-8192:]
        assert errors >= 1, errors
    finally:
        agent.kill()


vt.finish()
