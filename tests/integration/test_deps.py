"""make deps' installer: as a user other than root it installs nothing,
prints the exact apt-get command and fails; with everything installed it
says nothing and succeeds."""

import os
import subprocess

import vigiltest as vt

SCRIPT = os.path.join(vt.SRC, "packaging", "install-deps.sh")


@vt.case
def not_root_prints_the_command_and_stops():
    prefix = vt.other_user_prefix()
    if prefix is None:
        return
    p = subprocess.run(prefix + ["sh", SCRIPT, "coreutils", "vigil-no-such-package"],
                       capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert p.returncode != 0
    assert "apt-get install -y --no-install-recommends vigil-no-such-package" in p.stderr, p.stderr
    assert "coreutils" not in p.stderr.split("run as root:")[1], p.stderr


@vt.case
def nothing_missing_is_a_quiet_success():
    p = subprocess.run(["sh", SCRIPT, "coreutils", "dpkg"], capture_output=True, text=True,
                       timeout=60, stdin=subprocess.DEVNULL)
    assert p.returncode == 0 and p.stdout == "" and p.stderr == "", p


vt.finish()
