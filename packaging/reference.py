#!/usr/bin/python3
"""config/REFERENCE.md from `vigil --list-options`.

    reference.py --vigil BIN --write config/REFERENCE.md   # regenerate
    reference.py --vigil BIN --check config/REFERENCE.md   # exit 1 when stale

The per-user default of agent.state_dir is pinned to /var/lib/vigil (through
VIGIL_STATE_DIR) so that the text is the same for every user.
"""

import argparse
import os
import subprocess
import sys

HEADER = """# vigil option reference

Every option of the agent and of every plugin, with its type, default and
description, as `vigil --list-options` prints them. Generated: do not edit;
after changing an option table run `make reference` (a test checks that this
file matches the binary). The default of `agent.state_dir` shown is the one
of the packaged service (`VIGIL_STATE_DIR=/var/lib/vigil`); see vigil(8).

```
"""


def render(vigil):
    env = dict(os.environ, VIGIL_STATE_DIR="/var/lib/vigil")
    p = subprocess.run([vigil, "--list-options"], env=env, capture_output=True,
                       text=True, timeout=30)
    if p.returncode != 0:
        sys.exit("%s --list-options failed (%d): %s" % (vigil, p.returncode, p.stderr))
    body = "\n".join(line.rstrip() for line in p.stdout.splitlines())
    return HEADER + body + "\n```\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vigil", required=True)
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write")
    mode.add_argument("--check")
    args = ap.parse_args()
    text = render(args.vigil)
    if args.write:
        with open(args.write, "w", encoding="utf-8") as f:
            f.write(text)
        return 0
    try:
        with open(args.check, encoding="utf-8") as f:
            old = f.read()
    except OSError as e:
        sys.exit("%s: %s" % (args.check, e.strerror))
    if old != text:
        sys.exit("%s does not match `%s --list-options`: run `make reference`"
                 % (args.check, args.vigil))
    return 0


if __name__ == "__main__":
    sys.exit(main())
