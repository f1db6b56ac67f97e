"""The command line: --version, --help, --list-options, --check-config on
every example and on a bad config, and the embedded default config."""

import glob
import os
import re

import vigiltest as vt


@vt.case
def version_and_help():
    p = vt.run_vigil(["--version"])
    assert p.returncode == 0 and p.stdout.startswith("vigil "), p
    p = vt.run_vigil(["--help"])
    assert p.returncode == 0 and "--check-config" in p.stdout
    p = vt.run_vigil(["--bogus"])
    assert p.returncode != 0


@vt.case
def list_options_shows_every_plugin():
    p = vt.run_vigil(["--list-options"])
    assert p.returncode == 0, p.stderr
    for word in ("node", "textfile", "generator", "stdout", "file", "discard", "proc_root",
                 "path", "shutdown_timeout", "retry_backoff", "interval"):
        assert word in p.stdout, word


@vt.case
def every_example_config_passes_check_config():
    examples = sorted(glob.glob(os.path.join(vt.SRC, "config", "examples", "*.yaml")))
    assert examples, "no example configs"
    for path in examples:
        p = vt.run_vigil(["--check-config", path])
        assert p.returncode == 0, "%s: %s" % (path, p.stderr)


def plugin_options():
    """{(kind, type): [option names]} from --list-options."""
    out = vt.run_vigil(["--list-options"]).stdout
    table, cur = {}, None
    for line in out.splitlines():
        if line.startswith(("collector ", "output ")):
            kind, rest = line.split(" ", 1)
            cur = (kind, rest.split(":", 1)[0])
            table[cur] = []
        elif cur and line.startswith("  ") and not line.startswith("  ("):
            table[cur].append(line.split()[0])
        elif not line.startswith("  "):
            cur = None
    return table


@vt.case
def every_sample_yaml_shows_every_option_and_is_valid():
    options = plugin_options()
    assert ("collector", "node") in options and ("output", "file") in options, options.keys()
    tmp = vt.Agent("").tmp
    for (kind, name), names in sorted(options.items()):
        path = os.path.join(vt.SRC, kind + "s", name, "sample.yaml")
        assert os.path.exists(path), "%s has no sample.yaml" % name
        text = open(path).read()
        for opt in names:
            # a nested option (multiline.start) may be shown inside its map
            shown = re.search(r"^\s*#?\s*%s:" % re.escape(opt), text, re.M) or \
                ("." in opt and re.search(r"\b%s:" % re.escape(opt.rsplit(".", 1)[1]), text))
            assert shown, "%s does not show option %s" % (path, opt)
        # every commented option, uncommented, must still be a valid config
        full = re.sub(r"^( {4,})# (\w+:.*?)([ \t]+#.*)?$", r"\1\2", text, flags=re.M)
        cfg = os.path.join(tmp, "%s-%s.yaml" % (kind, name))
        with open(cfg, "w") as f:
            f.write(full)
        p = vt.run_vigil(["--check-config", cfg])
        assert p.returncode == 0, "%s uncommented: %s" % (path, p.stderr)


@vt.case
def embedded_default_config_is_valid():
    p = vt.run_vigil(["--print-default-config"])
    assert p.returncode == 0 and "collectors:" in p.stdout
    path = os.path.join(vt.Agent("").tmp, "default.yaml")
    with open(path, "w") as f:
        f.write(p.stdout)
    p = vt.run_vigil(["--check-config", path], )
    assert p.returncode == 0, p.stderr


@vt.case
def check_config_reports_every_error_with_its_line():
    tmp = vt.Agent("").tmp
    path = os.path.join(tmp, "bad.yaml")
    with open(path, "w") as f:
        f.write("agent:\n"
                "  shutdown_timeout: soon\n"
                "collectors:\n"
                "  - type: nod\n"
                "outputs:\n"
                "  - type: stdout\n"
                "  - type: file\n"
                "    pth: /tmp/x\n")
    p = vt.run_vigil(["--check-config", path])
    assert p.returncode != 0
    err = p.stderr
    assert "%s:2:" % path in err and "shutdown_timeout" in err, err
    assert "%s:4:" % path in err and "did you mean 'node'" in err, err
    assert "%s:8:" % path in err and "outputs[1] (file): unknown option 'pth' (did you mean 'path'?)" in err, err


@vt.case
def default_config_runs_and_prints_records():
    # the embedded default listens on 127.0.0.1:9469; run it only if that port is free
    import socket
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the agent does
    try:
        s.bind(("127.0.0.1", 9469))
    except OSError:
        print("skip: 127.0.0.1:9469 busy")
        return
    finally:
        s.close()
    a = vt.Agent("")
    a.config_path = None
    import subprocess
    env = dict(os.environ, VIGIL_STATE_DIR=os.path.join(a.tmp, "state"))
    out = open(a.stdout_path, "wb")
    err = open(a.stderr_path, "wb")
    a.proc = subprocess.Popen([vt.BIN], stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                              env=env)
    a.port = 9469
    try:
        vt.wait_for(lambda: a.get("/readyz")[0] == 200, 10, what="default config ready")
        vt.wait_for(lambda: a.stdout().count("\n") >= 1, 5, what="a record on stdout")
        assert "node_load1 " in a.metrics()
        rc, _ = a.stop()
        assert rc == 0
    finally:
        a.kill()


vt.finish()
