"""The default state_dir is per user: $VIGIL_STATE_DIR, else
$XDG_STATE_HOME/vigil, else $HOME/.local/state/vigil, else
/tmp/vigil-state-UID. A config without state_dir keeps its checkpoints
there, and --list-options shows the same folder that a start uses."""

import os
import re
import subprocess

import vigiltest as vt

# No state_dir: the default decides. One followed file, so that a
# checkpoint is written; records go to a file in {tmp}.
CONFIG = """
agent:
  http: { listen: "127.0.0.1:{port}" }
collectors:
  - type: container_logs
    name: state-dir-test
    paths: ["{tmp}/logs/*.log"]
    format: raw
    checkpoint_interval: 100ms
outputs:
  - { type: file, path: "{tmp}/out.ndjson" }
"""

STATE_VARS = ("VIGIL_STATE_DIR", "XDG_STATE_HOME", "HOME")


def environ(**values):
    """os.environ without the state variables, plus `values`."""
    env = {k: v for k, v in os.environ.items() if k not in STATE_VARS}
    env.update(values)
    return env


def listed_state_dir(env, prefix=()):
    """The state_dir default that --list-options prints in env."""
    p = subprocess.run(list(prefix) + [vt.BIN, "--list-options"], capture_output=True,
                       text=True, timeout=20, env=env, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stderr
    m = re.search(r"^  state_dir\s+string\s+(\S+)\s", p.stdout, re.M)
    assert m, p.stdout[:400]
    return m.group(1)


def run_until_checkpoint(env_values, want_dir):
    """Starts the agent in env, follows one line, and checks that its
    checkpoint lands in want_dir and its start line names want_dir."""
    agent = vt.Agent(CONFIG)
    agent.env = environ(**{k: v.replace("{tmp}", agent.tmp) for k, v in env_values.items()})
    want_dir = want_dir.replace("{tmp}", agent.tmp)
    os.makedirs(os.path.join(agent.tmp, "logs"))
    with open(os.path.join(agent.tmp, "logs", "a.log"), "w") as f:
        f.write("one line\n")
    assert listed_state_dir(agent.env) == want_dir
    ckpt = os.path.join(want_dir, "checkpoints", "state-dir-test")
    with agent:
        vt.wait_for(lambda: os.path.exists(ckpt) and "a.log" in open(ckpt).read(), 10,
                    what="a checkpoint in %s" % want_dir)
        assert "state_dir %s" % want_dir in agent.stderr(), agent.stderr()
        assert agent.stop()[0] == 0
    return agent


@vt.case
def xdg_state_home_comes_first():
    run_until_checkpoint({"XDG_STATE_HOME": "{tmp}/xdg", "HOME": "{tmp}/home"},
                         "{tmp}/xdg/vigil")


@vt.case
def home_when_xdg_state_home_is_unset_or_relative():
    a = run_until_checkpoint({"HOME": "{tmp}/home"}, "{tmp}/home/.local/state/vigil")
    assert not os.path.exists(os.path.join(a.tmp, "xdg"))
    run_until_checkpoint({"XDG_STATE_HOME": "relative/state", "HOME": "{tmp}/home"},
                         "{tmp}/home/.local/state/vigil")


@vt.case
def vigil_state_dir_overrides_the_default():
    run_until_checkpoint({"VIGIL_STATE_DIR": "{tmp}/own", "XDG_STATE_HOME": "{tmp}/xdg"},
                         "{tmp}/own")


@vt.case
def neither_set_is_a_folder_of_this_uid_in_tmp():
    # Only listed, not run: /tmp/vigil-state-UID is shared with whatever
    # else runs the agent as this user on this machine.
    assert listed_state_dir(environ()) == "/tmp/vigil-state-%d" % os.geteuid()
    assert listed_state_dir(environ(HOME="", XDG_STATE_HOME="")) == \
        "/tmp/vigil-state-%d" % os.geteuid()


@vt.case
def another_user_gets_a_folder_of_its_own():
    prefix = vt.other_user_prefix()
    if prefix is None:
        return
    assert listed_state_dir(environ(), prefix) == "/tmp/vigil-state-65534"
    assert listed_state_dir(environ(HOME="/nonexistent"), prefix) == \
        "/nonexistent/.local/state/vigil"


@vt.case
def the_embedded_default_config_sets_no_state_dir():
    p = vt.run_vigil(["--print-default-config"])
    assert p.returncode == 0
    assert not re.search(r"^\s*state_dir:", p.stdout, re.M), "state_dir is set in the default"


vt.finish()
