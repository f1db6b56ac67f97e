"""The README as a newcomer reads it: it starts with the two commands, every
file or folder of the repository it names exists, and every vigil
configuration it shows passes `vigil --check-config` (the tour's alerting
snippet added to the host config the package installs, as the tour says)."""

import os
import re
import shutil
import tempfile

import vigiltest as vt

README = os.path.join(vt.SRC, "README.md")
TOP = ("agent/", "collectors/", "outputs/", "config/", "packaging/", "tests/", ".ci/")


def text():
    with open(README) as f:
        return f.read()


def yaml_blocks(t):
    return re.findall(r"```yaml\n(.*?)```", t, re.S)


@vt.case
def starts_with_the_two_commands():
    t = text()
    first = re.search(r"```sh\n(.*?)```", t, re.S).group(1).splitlines()
    assert t.startswith("# vigil\n\n```sh\n"), t[:80]
    assert [ln.split("#")[0].strip() for ln in first] == ["make run", "make test"], first


def named_paths(t):
    """Repository paths the README names: link targets and `code` spans
    under a top-level folder of the tree."""
    found = set(re.findall(r"\]\(([^)#\s]+)\)", t))
    for span in re.findall(r"`([^`\s]+)`", t):
        if span.startswith(TOP):
            found.add(span)
    return sorted(p for p in found if "://" not in p and not p.startswith("mailto:"))


@vt.case
def names_only_what_the_repository_has():
    paths = named_paths(text())
    assert len(paths) > 20, paths
    missing = []
    for p in paths:
        rel = p.rstrip(",.;:")
        if any(c in rel for c in "*<>{}$") or rel.endswith("="):
            continue
        if not os.path.exists(os.path.join(vt.SRC, rel)):
            missing.append(rel)
    assert not missing, "README names what is not in the repository: %s" % missing
    # every plugin folder is linked
    for kind in ("collectors", "outputs"):
        for name in sorted(os.listdir(os.path.join(vt.SRC, kind))):
            assert "%s/%s/README.md" % (kind, name) in paths, "no link to %s/%s" % (kind, name)


def check(config_text, what):
    tmp = tempfile.mkdtemp(prefix="vigil-readme-")
    path = os.path.join(tmp, "vigil.yaml")
    url = os.path.join(tmp, "slack-url")
    with open(url, "w") as f:
        f.write("https://hooks.slack.com/services/T0/B0/x\n")
    with open(path, "w") as f:
        f.write(config_text.replace("/etc/vigil/slack-url", url))
    try:
        p = vt.run_vigil(["--check-config", path])
    finally:
        shutil.rmtree(tmp)
    assert p.returncode == 0, "%s:\n%s%s" % (what, p.stdout, p.stderr)
    return p.stdout


@vt.case
def every_configuration_shown_is_valid():
    blocks = [b for b in yaml_blocks(text()) if "scrape_configs:" not in b]
    assert len(blocks) >= 2, blocks
    with open(os.path.join(vt.SRC, "packaging", "vigil.yaml")) as f:
        host = f.read()
    for b in blocks:
        if b.startswith("agent:"):
            check(b, "the README's configuration")
        else:  # a part to add to /etc/vigil/vigil.yaml
            assert b.startswith("alerts:") and "alerts:" not in host.replace("# ", ""), b[:40]
            out = check(host + "\n" + b, "the host config with the tour's alerts")
            print("  " + out.strip())


vt.finish()
