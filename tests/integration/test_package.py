"""The Debian package: `cpack -G DEB` builds vigil_<version>_<arch>.deb with
its library dependencies computed, /etc/vigil/vigil.yaml a conffile, and
maintainer scripts; installed into a throwaway root (dpkg --root, scripts
run outside a chroot with DPKG_ROOT set), it creates the user vigil there,
enables the unit without starting it, and the installed binary runs
--version and --check-config on the installed config; a purge removes it.
Nothing of the machine running the test is touched."""

import os
import subprocess
import tempfile

import vigiltest as vt

BUILD = os.path.dirname(os.path.abspath(vt.BIN))
TMP = tempfile.mkdtemp(prefix="vigil-package-")
vt._tmpdirs.append(TMP)  # removed by vt.finish() when every case passed
DEB = {}


def run(cmd, timeout=60, check=True):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if check:
        assert p.returncode == 0, "%s: rc %d\n%s%s" % (cmd, p.returncode, p.stdout, p.stderr)
    return p


def version():
    return vt.run_vigil(["--version"]).stdout.split()[1]


def arch():
    return run(["dpkg", "--print-architecture"]).stdout.strip()


@vt.case
def cpack_builds_the_deb():
    out = os.path.join(TMP, "out")
    run(["cpack", "-G", "DEB", "-B", out, "--config", os.path.join(BUILD, "CPackConfig.cmake")],
        timeout=120)
    path = os.path.join(out, "vigil_%s_%s.deb" % (version(), arch()))
    assert os.path.isfile(path), os.listdir(out)
    DEB["path"] = path


def control_fields(path):
    fields, key = {}, None
    for line in run(["dpkg-deb", "-f", path]).stdout.splitlines():
        if line.startswith(" ") and key:
            fields[key] += "\n" + line.strip()
        else:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


@vt.case
def control_fields_and_contents():
    f = control_fields(DEB["path"])
    assert f["Package"] == "vigil" and f["Version"] == version(), f
    assert f["Architecture"] == arch() and f["Section"] == "admin", f
    depends = [d.strip().split()[0] for d in f["Depends"].split(",")]
    for lib in ("libc6", "libcurl4", "libmicrohttpd12", "libpcre2-8-0", "librdkafka1",
                "libyaml-0-2", "zlib1g", "passwd", "init-system-helpers"):
        assert lib in depends, (lib, f["Depends"])
    files = set()
    for line in run(["dpkg-deb", "-c", DEB["path"]]).stdout.splitlines():
        files.add(line.split()[-1])
    for want in ("./usr/bin/vigil", "./etc/vigil/vigil.yaml",
                 "./usr/lib/systemd/system/vigil.service", "./usr/share/man/man8/vigil.8.gz",
                 "./usr/share/doc/vigil/README.md", "./usr/share/doc/vigil/REFERENCE.md"):
        assert want in files, want
    ctrl = os.path.join(TMP, "control")
    run(["dpkg-deb", "-e", DEB["path"], ctrl])
    with open(os.path.join(ctrl, "conffiles")) as fh:
        assert fh.read().split() == ["/etc/vigil/vigil.yaml"]
    for script in ("postinst", "prerm", "postrm"):
        assert os.access(os.path.join(ctrl, script), os.X_OK), script
    with open(os.path.join(ctrl, "postinst")) as fh:
        text = fh.read()
    assert "useradd" in text and "deb-systemd-helper enable" in text, text
    assert "systemctl start" not in text and "deb-systemd-invoke start" not in text, text


def make_root():
    root = os.path.join(TMP, "root")
    for d in ("var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers", "etc"):
        os.makedirs(os.path.join(root, d))
    for name, text in (("var/lib/dpkg/status", ""), ("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"),
                       ("etc/group", "root:x:0:\n"), ("etc/shadow", ""), ("etc/gshadow", "")):
        with open(os.path.join(root, name), "w") as fh:
            fh.write(text)
    return root


def dpkg(root, *args):
    return run(["dpkg", "--root=" + root, "--log=" + os.path.join(TMP, "dpkg.log"),
                "--force-script-chrootless", "--force-depends"] + list(args))


@vt.case
def install_into_a_throwaway_root():
    with open("/etc/passwd") as fh:
        host_passwd = fh.read()
    root = make_root()
    dpkg(root, "-i", DEB["path"])
    with open(os.path.join(root, "etc/passwd")) as fh:
        users = [line.split(":") for line in fh.read().splitlines()]
    vigil_user = [u for u in users if u[0] == "vigil"]
    assert vigil_user and vigil_user[0][5] == "/var/lib/vigil", users
    assert vigil_user[0][6] == "/usr/sbin/nologin", users
    link = os.path.join(root, "etc/systemd/system/multi-user.target.wants/vigil.service")
    assert os.readlink(link) == "/usr/lib/systemd/system/vigil.service"
    st = os.stat(os.path.join(root, "var/lib/vigil/textfile"))
    with open(os.path.join(root, "etc/group")) as fh:
        gids = [line.split(":")[2] for line in fh if line.startswith("vigil:")]
    assert gids and st.st_gid == int(gids[0]) and oct(st.st_mode & 0o7777) == "0o2775", st
    q = run(["dpkg-query", "--admindir=" + os.path.join(root, "var/lib/dpkg"),
             "-W", "-f=${Status}|${Conffiles}", "vigil"]).stdout
    assert q.startswith("install ok installed|") and "/etc/vigil/vigil.yaml" in q, q
    vigil = os.path.join(root, "usr/bin/vigil")
    p = run([vigil, "--version"])
    assert p.stdout.startswith("vigil " + version()), p.stdout
    p = run([vigil, "--check-config", os.path.join(root, "etc/vigil/vigil.yaml")])
    assert "configuration is valid" in p.stdout, p.stdout
    with open(os.path.join(root, "usr/lib/systemd/system/vigil.service")) as fh:
        assert "ExecStart=/usr/bin/vigil --config /etc/vigil/vigil.yaml" in fh.read()
    with open("/etc/passwd") as fh:
        assert fh.read() == host_passwd, "the host's /etc/passwd changed"
    DEB["root"] = root


@vt.case
def reinstall_keeps_the_edited_conffile_and_the_user():
    root = DEB["root"]
    conf = os.path.join(root, "etc/vigil/vigil.yaml")
    with open(conf, "a") as fh:
        fh.write("# edited by the admin\n")
    dpkg(root, "-i", DEB["path"])
    with open(conf) as fh:
        assert fh.read().endswith("# edited by the admin\n"), "the conffile was replaced"
    with open(os.path.join(root, "etc/passwd")) as fh:
        assert sum(1 for line in fh if line.startswith("vigil:")) == 1


@vt.case
def purge_removes_it():
    root = DEB["root"]
    dpkg(root, "--purge", "vigil")
    for rel in ("usr/bin/vigil", "etc/vigil/vigil.yaml", "var/lib/vigil",
                "etc/systemd/system/multi-user.target.wants/vigil.service"):
        assert not os.path.lexists(os.path.join(root, rel)), rel


vt.finish()
