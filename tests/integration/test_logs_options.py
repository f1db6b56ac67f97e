"""The container_logs collector end to end, option by option: Kubernetes
metadata through kubelet's symlinks, Docker's config.v2.json, exclude,
ignore_older, read_from tail, max_line_bytes, partial_timeout, bytes that
are not UTF-8, decode errors, the multiline java preset, and the
checkpoint file's format."""

import json
import os
import time

import vigiltest as vt

UID = "0b7c6a1e-2f3d-4c5b-8a9e-1f2d3c4b5a69"
ID64 = "4f1c2a9b8e7d6c5b4a392817f6e5d4c3b2a19087f6e5d4c3b2a19087f6e5d4c3"

CONFIG = """
agent:
  node_name: node-a
  state_dir: {tmp}/state
  http: { listen: "127.0.0.1:{port}" }
collectors:
  - type: container_logs
    name: logs
    paths: ["{tmp}/containers/*.log", "{tmp}/plain/*.log", "{tmp}/docker/*/*-json.log"]
    exclude: ["*skip*"]
    ignore_older: 1h
    max_line_bytes: 4KiB
    partial_timeout: 500ms
    %s
outputs:
  - { type: file, path: "{tmp}/out.ndjson" }
"""


def unique_keys(pairs):
    """object_pairs_hook refusing a key twice in one object."""
    keys = [k for k, _ in pairs]
    assert len(keys) == len(set(keys)), "a key twice: %s" % keys
    return dict(pairs)


def records(agent, name="out.ndjson"):
    path = os.path.join(agent.tmp, name)
    if not os.path.exists(path):
        return []
    with open(path, "rb") as f:
        return [json.loads(line, object_pairs_hook=unique_keys)
                for line in f.read().splitlines() if line.endswith(b"}")]


def wait_records(agent, pred, what, timeout=10.0):
    return vt.wait_for(lambda: [r for r in records(agent) if pred(r)], timeout, what=what)


def write(path, data, mode="ab"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, mode) as f:
        f.write(data)


def kubelet_layout(tmp, lines):
    """A pod log under pods/ and kubelet's link to it under containers/."""
    target = os.path.join(tmp, "pods", "shop_web-1_" + UID, "nginx", "2.log")
    write(target, lines)
    link = os.path.join(tmp, "containers", "web-1_shop_nginx-%s.log" % ID64)
    os.makedirs(os.path.dirname(link), exist_ok=True)
    os.symlink(target, link)
    return target


@vt.case
def kubernetes_metadata_from_symlinks_and_every_byte_kept():
    agent = vt.Agent(CONFIG % "")
    kubelet_layout(agent.tmp, b"2026-11-24T10:00:00.5Z stdout F caf\xc3\xa9 \xff\xfe bad\x00nul\n"
                              b"2026-11-24T10:00:01Z stderr F second\n")
    with agent:
        got = wait_records(agent, lambda r: r.get("pod") == "web-1", "two pod records")
        vt.wait_for(lambda: len(records(agent)) >= 2, 5, what="both lines")
        r0, r1 = records(agent)[:2]
        assert r0["namespace"] == "shop" and r0["container"] == "nginx", r0
        assert r0["container_id"] == ID64 and r0["pod_uid"] == UID, r0
        assert r0["restart_count"] == 2 and r0["node"] == "node-a" and r0["stream"] == "stdout", r0
        assert r0["time"] == "2026-11-24T10:00:00.500000000Z", r0
        # invalid UTF-8 arrives as U+FFFD, NUL escaped, the rest as written
        assert r0["body"] == "caf\u00e9 \ufffd\ufffd bad\x00nul", repr(r0["body"])
        assert r1["stream"] == "stderr" and r1["body"] == "second", r1
        assert len(got) == 2
        assert agent.stop()[0] == 0


@vt.case
def record_schemas_ecs_and_otel_in_file_outputs():
    """The same two records in two files, one per record_schema: the
    well-known fields in their places, each record whole and in order."""
    agent = vt.Agent((CONFIG % "").replace(
        '  - { type: file, path: "{tmp}/out.ndjson" }\n',
        '  - { type: file, name: ecs, path: "{tmp}/ecs.ndjson", record_schema: ecs }\n'
        '  - { type: file, name: otel, path: "{tmp}/otel.ndjson", record_schema: otel }\n'))
    kubelet_layout(agent.tmp, b"2026-11-24T10:00:00.5Z stdout F caf\xc3\xa9 \xff\n"
                              b"2026-11-24T10:00:01Z stderr F second\n")
    path = os.path.join(agent.tmp, "containers", "web-1_shop_nginx-%s.log" % ID64)
    with agent:
        vt.wait_for(lambda: len(records(agent, "ecs.ndjson")) >= 2 and
                    len(records(agent, "otel.ndjson")) >= 2, 10, what="two records in each file")
        ecs, otel = records(agent, "ecs.ndjson"), records(agent, "otel.ndjson")
        assert len(ecs) == 2 and len(otel) == 2, (ecs, otel)
        kube = {"namespace": "shop", "pod": {"name": "web-1", "uid": UID},
                "container": {"name": "nginx"}}
        resource = {"k8s.namespace.name": "shop", "k8s.pod.name": "web-1", "k8s.pod.uid": UID,
                    "k8s.container.name": "nginx", "k8s.container.restart_count": 2,
                    "container.id": ID64, "host.name": "node-a"}
        for r, (ts, body, stream) in zip(ecs, [("2026-11-24T10:00:00.500000000Z",
                                                "caf\u00e9 \ufffd", "stdout"),
                                               ("2026-11-24T10:00:01.000000000Z", "second",
                                                "stderr")]):
            assert r == {"@timestamp": ts, "message": body, "stream": stream,
                         "log": {"file": {"path": path}}, "kubernetes": kube,
                         "container": {"id": ID64}, "host": {"name": "node-a"},
                         "restart_count": 2}, r
        for r, e in zip(otel, ecs):
            assert r == {"timestamp": e["@timestamp"], "body": e["message"],
                         "attributes": {"log.iostream": e["stream"], "log.file.path": path},
                         "resource": resource}, r
        assert agent.stop()[0] == 0


@vt.case
def docker_config_gives_name_image_and_labels():
    agent = vt.Agent(CONFIG % "")
    d = os.path.join(agent.tmp, "docker", ID64)
    write(os.path.join(d, "config.v2.json"),
          json.dumps({"Name": "/k8s_app_mypod", "Config": {
              "Image": "nginx:1.25.3", "Labels": {
                  "io.kubernetes.pod.name": "mypod", "io.kubernetes.pod.namespace": "default",
                  "io.kubernetes.container.name": "app", "io.kubernetes.pod.uid": UID}}}).encode())
    write(os.path.join(d, ID64 + "-json.log"),
          b'{"log":"hello from docker\\n","stream":"stdout","time":"2026-11-24T10:00:00Z",'
          b'"attrs":{"tag":"web"}}\n')
    with agent:
        (r,) = wait_records(agent, lambda r: "docker" in r.get("body", ""), "docker record")
        assert r["container_name"] == "k8s_app_mypod" and r["image"] == "nginx:1.25.3", r
        assert r["pod"] == "mypod" and r["namespace"] == "default" and r["container"] == "app", r
        assert r["container_id"] == ID64 and r["attrs"] == {"tag": "web"}, r
        assert agent.stop()[0] == 0


@vt.case
def exclude_ignore_older_and_decode_errors():
    agent = vt.Agent(CONFIG % "format: cri")
    plain = os.path.join(agent.tmp, "plain")
    write(os.path.join(plain, "skip-me.log"), b"2026-11-24T10:00:00Z stdout F excluded\n")
    old = os.path.join(plain, "old.log")
    write(old, b"2026-11-24T10:00:00Z stdout F too old\n")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    write(os.path.join(plain, "mixed.log"), b"2026-11-24T10:00:00Z stdout F good\nnot a cri line\n")
    with agent:
        wait_records(agent, lambda r: r.get("decode_error"), "the decode error")
        time.sleep(0.5)
        bodies = sorted(r["body"] for r in records(agent))
        assert bodies == ["good", "not a cri line"], bodies
        bad = [r for r in records(agent) if r.get("decode_error")]
        assert bad[0]["body"] == "not a cri line", bad
        assert agent.metric_value("vigil_log_decode_errors_total", {"collector": "logs"}) == 1
        assert agent.stop()[0] == 0


@vt.case
def long_lines_are_cut_and_unended_lines_wait_for_partial_timeout():
    agent = vt.Agent(CONFIG % "format: raw")
    path = os.path.join(agent.tmp, "plain", "app.log")
    write(path, b"short\n" + b"x" * 10000 + b"\nafter\n")
    with agent:
        wait_records(agent, lambda r: r["body"] == "after", "the line after the long one")
        rs = records(agent)
        assert [len(r["body"]) for r in rs] == [5, 4096, 5], [len(r["body"]) for r in rs]
        assert rs[1].get("truncated") is True and "truncated" not in rs[0], rs[1].keys()
        write(path, b"no newline yet")
        time.sleep(0.2)
        assert len(records(agent)) == 3, "an unended line went out before partial_timeout"
        t0 = time.monotonic()
        wait_records(agent, lambda r: r["body"] == "no newline yet", "the unended line", 5)
        waited = time.monotonic() - t0
        print("  unended line emitted %.2fs after it was written (partial_timeout 0.5s)"
              % (waited + 0.2))
        assert agent.metric_value("vigil_log_truncated_total", {"collector": "logs"}) == 1
        assert agent.stop()[0] == 0


@vt.case
def read_from_tail_and_checkpoint_format():
    agent = vt.Agent(CONFIG % "read_from: tail\n    format: raw")
    path = os.path.join(agent.tmp, "plain", "app.log")
    write(path, b"old 1\nold 2\n")
    with agent:
        time.sleep(0.5)
        write(path, b"new 1\n")
        wait_records(agent, lambda r: r["body"] == "new 1", "the new line")
        assert [r["body"] for r in records(agent)] == ["new 1"], records(agent)
        assert agent.stop()[0] == 0
    ckpt = os.path.join(agent.tmp, "state", "checkpoints", "logs")
    lines = open(ckpt).read().splitlines()
    assert lines[0] == "# vigil container_logs checkpoints v2", lines
    assert lines[1].startswith("# written ") and int(lines[1].split()[2]) > 0, lines[1]
    dev, ino, fp_len, fp_hash, offset, flags, size, p = lines[2].split(" ", 7)
    st = os.stat(path)
    assert (int(dev), int(ino)) == (st.st_dev, st.st_ino), lines[2]
    assert int(fp_len) == len(b"old 1\n") and int(offset) == st.st_size and flags == "0", lines[2]
    assert int(size) == st.st_size, lines[2]
    assert p == path + "\t" + os.path.realpath(path), lines[2]


@vt.case
def java_traces_become_one_record():
    agent = vt.Agent(CONFIG % "format: raw\n    multiline: { preset: java, timeout: 300ms }")
    trace = (b"2026-11-24 10:00:00 ERROR request failed\n"
             b"java.lang.IllegalStateException: boom\n"
             b"\tat com.example.Web.handle(Web.java:42)\n"
             b"\tat com.example.Server.run(Server.java:7)\n"
             b"Caused by: java.io.IOException: disk\n"
             b"\t... 2 more\n"
             b"2026-11-24 10:00:01 INFO next request\n")
    write(os.path.join(agent.tmp, "plain", "java.log"), trace)
    with agent:
        wait_records(agent, lambda r: "next request" in r["body"], "the line after the trace")
        bodies = [r["body"] for r in records(agent)]
        assert len(bodies) == 3, bodies
        assert bodies[1].startswith("java.lang.IllegalStateException: boom\n\tat com.example.Web")
        assert bodies[1].endswith("\t... 2 more"), bodies[1]
        assert agent.stop()[0] == 0


vt.finish()
