"""Installing: config/REFERENCE.md matches `vigil --list-options`, vigil(8)
renders cleanly and names every command-line option, the systemd unit
verifies, the host config passes --check-config, and `cmake --install` with a prefix and
DESTDIR lays out the binary, /etc/vigil/vigil.yaml (kept when it exists), the
systemd unit (pointed at the installed binary), the man page and the docs."""

import os
import shutil
import subprocess
import tempfile

import vigiltest as vt

BUILD = os.path.dirname(os.path.abspath(vt.BIN))


def run(cmd, env=None, timeout=60):
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    assert p.returncode == 0, "%s: rc %d\n%s%s" % (cmd, p.returncode, p.stdout, p.stderr)
    return p


@vt.case
def reference_matches_the_binary():
    run(["/usr/bin/python3", os.path.join(vt.SRC, "packaging", "reference.py"),
         "--vigil", vt.BIN, "--check", os.path.join(vt.SRC, "config", "REFERENCE.md")])


@vt.case
def reference_check_fails_when_stale():
    tmp = tempfile.mkdtemp(prefix="vigil-ref-")
    try:
        stale = os.path.join(tmp, "REFERENCE.md")
        with open(os.path.join(vt.SRC, "config", "REFERENCE.md")) as f:
            text = f.read()
        with open(stale, "w") as f:
            f.write(text.replace("shutdown_timeout", "shutdown_tmout", 1))
        p = subprocess.run(["/usr/bin/python3", os.path.join(vt.SRC, "packaging", "reference.py"),
                            "--vigil", vt.BIN, "--check", stale],
                           capture_output=True, text=True, timeout=30)
        assert p.returncode != 0 and "make reference" in p.stderr, p
    finally:
        shutil.rmtree(tmp)


@vt.case
def host_config_is_valid():
    p = vt.run_vigil(["--check-config", os.path.join(vt.SRC, "packaging", "vigil.yaml")])
    assert p.returncode == 0, p.stderr
    assert "6 collectors" in p.stdout, p.stdout


@vt.case
def man_page_renders_and_names_every_option():
    import gzip
    import re
    with gzip.open(os.path.join(BUILD, "man", "vigil.8.gz"), "rt") as f:
        roff = f.read()
    p = vt.run_vigil(["--version"])
    assert ('"vigil %s"' % p.stdout.split()[1]) in roff, roff.splitlines()[0]
    p = subprocess.run(["groff", "-man", "-ww", "-z"], input=roff, capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 0 and not p.stderr, p.stderr
    text = subprocess.run(["groff", "-man", "-Tascii", "-P-cbou"], input=roff,
                          capture_output=True, text=True, timeout=30).stdout
    helptext = vt.run_vigil(["--help"]).stdout
    for opt in sorted(set(re.findall(r"--[a-z][a-z-]+", helptext))):
        assert opt in text, "vigil(8) does not name %s" % opt


@vt.case
def systemd_unit_verifies_and_makes_its_writable_paths():
    """systemd-analyze finds nothing wrong with the unit (run on the built
    binary); every ReadWritePaths= folder is one that systemd creates
    (StateDirectory=, LogsDirectory=), else a start fails on a fresh host."""
    tmp = tempfile.mkdtemp(prefix="vigil-unit-")
    try:
        with open(os.path.join(vt.SRC, "packaging", "systemd", "vigil.service")) as f:
            unit = f.read()
        path = os.path.join(tmp, "vigil.service")
        with open(path, "w") as f:
            f.write(unit.replace("/usr/bin/vigil", vt.BIN))
        p = subprocess.run(["systemd-analyze", "verify", "--man=no", path],
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 0 and not p.stderr.strip(), p.stderr
        keys = dict(line.split("=", 1) for line in unit.splitlines() if "=" in line
                    and not line.startswith("#"))
        made = {"/var/lib/" + keys.get("StateDirectory", ""), "/var/log/" + keys.get("LogsDirectory", "")}
        for rw in keys["ReadWritePaths"].split():
            assert rw.lstrip("-") in made or rw.startswith("-"), (rw, made)
    finally:
        shutil.rmtree(tmp)


@vt.case
def install_with_prefix_and_destdir():
    tmp = tempfile.mkdtemp(prefix="vigil-install-")
    try:
        env = dict(os.environ, DESTDIR=tmp)
        run(["cmake", "--install", BUILD, "--prefix", "/opt/vg"], env=env)
        root = os.path.join(tmp, "opt", "vg")
        for rel in ("bin/vigil", "share/man/man8/vigil.8.gz", "share/doc/vigil/README.md",
                    "share/doc/vigil/REFERENCE.md", "lib/systemd/system/vigil.service"):
            assert os.path.isfile(os.path.join(root, rel)), rel
        conf = os.path.join(tmp, "etc", "vigil", "vigil.yaml")
        assert os.path.isfile(conf)
        with open(os.path.join(root, "lib/systemd/system/vigil.service")) as f:
            unit = f.read()
        assert "ExecStart=/opt/vg/bin/vigil --config /etc/vigil/vigil.yaml" in unit, unit
        assert "/usr/bin/vigil" not in unit, unit
        vigil = os.path.join(root, "bin", "vigil")
        p = run([vigil, "--version"])
        assert p.stdout.startswith("vigil "), p.stdout
        run([vigil, "--check-config", conf])
        with open(conf, "w") as f:
            f.write("# the user's own\n")
        p = run(["cmake", "--install", BUILD, "--prefix", "/opt/vg"], env=env)
        assert "Keeping: " + conf in p.stdout, p.stdout
        with open(conf) as f:
            assert f.read() == "# the user's own\n", "an install replaced the user's config"
    finally:
        shutil.rmtree(tmp)


vt.finish()
