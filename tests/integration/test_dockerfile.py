"""The container image's Dockerfile (packaging/docker), linted by script for
the rules hadolint would check that a script can: pinned base images with no
registry host, apt-get used the way that keeps layers small and builds
repeatable, a non-root USER, HEALTHCHECK, exec-form ENTRYPOINT and CMD, COPY
rather than ADD, absolute WORKDIR, no sudo and no cd, OCI labels with the
project's version. Beyond hadolint: every runtime package is a Debian 12
package, the runtime packages provide every library build/vigil needs
(DT_NEEDED, resolved to its package with dpkg -S), the build stage installs
the Makefile's build dependencies, the health check and EXPOSE use the port
the image's config listens on, and that config passes --check-config.
Docker itself is not run: there is no daemon here. The linter is shown to
catch what it looks for on mutated copies."""

import glob
import json
import os
import re
import shlex
import shutil
import subprocess

import vigiltest as vt

DOCKER = os.path.join(vt.SRC, "packaging", "docker")
DOCKERFILE = os.path.join(DOCKER, "Dockerfile")
# In DEPS_BUILD for tests and checks only, not for building the binary.
NOT_FOR_THE_IMAGE = {"clang", "libclang-rt-14-dev", "clang-format", "libcmocka-dev"}
# In debian:12-slim already (everything there depends on it).
IN_BASE_IMAGE = {"libc6"}
REGISTRY_HOSTS = re.compile(r"\b(docker\.io|quay\.io|gcr\.io|ghcr\.io|registry\.k8s\.io|"
                            r"k8s\.gcr\.io|nvcr\.io|public\.ecr\.aws|mcr\.microsoft\.com)\b")


def version():
    with open(os.path.join(vt.SRC, "CMakeLists.txt")) as f:
        return re.search(r"project\(vigil VERSION ([0-9.]+)", f.read()).group(1)


def instructions(text):
    """[(line, KEYWORD, arguments)], continuations joined, comments and
    blank lines (also inside a continued instruction) left out."""
    out, cur, start = [], "", 0
    for n, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        if not cur:
            start = n
        if s.endswith("\\"):
            cur += s[:-1] + " "
            continue
        cur += s
        kw, _, args = cur.partition(" ")
        out.append((start, kw.upper(), args.strip()))
        cur = ""
    return out


def stages(ins):
    """The instructions split at each FROM: [[(line, kw, args), ...], ...]."""
    out = []
    for i in ins:
        if i[1] == "FROM":
            out.append([])
        if out:
            out[-1].append(i)
    return out


def apt_packages(run):
    """Package names after `apt-get install` in one RUN's text."""
    pkgs = []
    for cmd in re.split(r"&&|;|\|\|", run):
        words = shlex.split(cmd)
        if words[:2] == ["apt-get", "install"]:
            pkgs += [w for w in words[2:] if not w.startswith("-")]
    return pkgs


def lint_from(args, names, where):
    words = [w for w in args.split() if not w.startswith("--")]
    image = words[0]
    if image in names:
        return []
    errs = []
    first = image.split("/")[0]
    if "/" in image and ("." in first or ":" in first or first == "localhost"):
        errs.append("%s: FROM %s names a registry host" % (where, image))
    if "@" not in image and ":" not in image.split("/")[-1]:
        errs.append("%s: FROM %s has no tag" % (where, image))
    elif image.endswith(":latest"):
        errs.append("%s: FROM %s is not pinned (:latest)" % (where, image))
    return errs


def lint_run(args, where):
    errs = []
    cmds = [c.strip() for c in re.split(r"&&|;|\|\||\|", args)]
    installs = [c for c in cmds if re.match(r"apt-get\s+install\b", c)]
    for c in installs:
        if not re.search(r"(^|\s)(-y|--yes|-\w*y\w*|--assume-yes)(\s|$)", c):
            errs.append("%s: apt-get install without -y" % where)
        if "--no-install-recommends" not in c:
            errs.append("%s: apt-get install without --no-install-recommends" % where)
    if installs and not re.search(r"rm -rf /var/lib/apt/lists/\*", args[args.index(installs[-1]):]):
        errs.append("%s: apt-get install not followed by rm -rf /var/lib/apt/lists/*" % where)
    if any(re.match(r"apt-get\s+update\b", c) for c in cmds) and not installs:
        errs.append("%s: apt-get update alone in a RUN" % where)
    if any(re.match(r"apt-get\s+(dist-)?upgrade\b", c) for c in cmds):
        errs.append("%s: apt-get upgrade" % where)
    if any(re.match(r"sudo\b", c) for c in cmds):
        errs.append("%s: sudo" % where)
    if any(re.match(r"cd\b", c) for c in cmds):
        errs.append("%s: cd in RUN (use WORKDIR)" % where)
    return errs


def lint_exec_form(kw, args, where):
    try:
        v = json.loads(args)
    except ValueError:
        v = None
    if not (isinstance(v, list) and v and all(isinstance(x, str) for x in v)):
        return ["%s: %s is not in JSON (exec) form" % (where, kw)]
    return []


def labels(args):
    return dict(w.split("=", 1) for w in shlex.split(args))


def lint_final(stage, ver):
    """Rules of the stage the image is: USER, HEALTHCHECK, labels."""
    errs = []
    users = [a for _, kw, a in stage if kw == "USER"]
    if not users or users[-1].split(":")[0] in ("root", "0"):
        errs.append("final stage: no non-root USER")
    if not [a for _, kw, a in stage if kw == "HEALTHCHECK" and a.upper() != "NONE"]:
        errs.append("final stage: no HEALTHCHECK")
    lab = {}
    for _, kw, a in stage:
        if kw == "LABEL":
            lab.update(labels(a))
    for key in ("title", "description", "version", "licenses"):
        if not lab.get("org.opencontainers.image." + key):
            errs.append("final stage: no label org.opencontainers.image.%s" % key)
    if lab.get("org.opencontainers.image.version") not in (None, ver):
        errs.append("label version %s is not the project's %s" % (
            lab.get("org.opencontainers.image.version"), ver))
    for kw in ("ENTRYPOINT", "CMD"):
        if not [1 for _, k, _ in stage if k == kw]:
            errs.append("final stage: no %s" % kw)
    return errs


def lint(text, ver):
    """Every rule broken by a Dockerfile's text, one line each."""
    errs = []
    st = stages(instructions(text))
    if len(st) < 2:
        errs.append("not multi-stage")
    names = set()
    for stage in st:
        for line, kw, args in stage:
            where = "Dockerfile:%d" % line
            if kw == "FROM":
                errs += lint_from(args, names, where)
                m = re.search(r"\s+AS\s+(\S+)", args, re.I)
                names.add(m.group(1) if m else None)
            elif kw == "RUN":
                errs += lint_run(args, where)
            elif kw in ("ENTRYPOINT", "CMD"):
                errs += lint_exec_form(kw, args, where)
            elif kw == "HEALTHCHECK" and "CMD" in args:
                errs += lint_exec_form("HEALTHCHECK CMD", args.split("CMD", 1)[1].strip(), where)
            elif kw == "ADD":
                errs.append("%s: ADD (use COPY for local files)" % where)
            elif kw == "WORKDIR" and not args.startswith("/"):
                errs.append("%s: WORKDIR %s is not absolute" % (where, args))
    if st:
        errs += lint_final(st[-1], ver)
    return errs


def stage_packages(stage):
    return [p for _, kw, a in stage if kw == "RUN" for p in apt_packages(a)]


def read_dockerfile():
    with open(DOCKERFILE) as f:
        return f.read()


def needed_packages(binary):
    """{DT_NEEDED library: Debian package providing it}, through ldconfig's
    cache and dpkg -S."""
    p = subprocess.run(["objdump", "-p", binary], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    libs = re.findall(r"^\s*NEEDED\s+(\S+)", p.stdout, re.M)
    cache = {}
    for line in subprocess.run(["ldconfig", "-p"], capture_output=True, text=True,
                               timeout=30).stdout.splitlines()[1:]:
        name, _, path = line.strip().partition(" => ")
        cache.setdefault(name.split()[0], path)
    paths = {}
    for lib in libs:
        path = cache.get(lib)
        assert path, "%s: not in ldconfig's cache" % lib
        real = os.path.realpath(path)
        # usrmerge: dpkg knows a file by the path its package ships
        paths[lib] = [path, real, "/usr" + path, path.replace("/usr/", "/", 1),
                      os.path.join(os.path.dirname(path), os.path.basename(real))]
    q = subprocess.run(["dpkg", "-S"] + sorted({c for cs in paths.values() for c in cs}),
                       capture_output=True, text=True, timeout=60)
    owner = {}
    for line in q.stdout.splitlines():
        pkgs, _, path = line.partition(": ")
        owner[path] = pkgs.split(",")[0].split(":")[0].strip()
    out = {}
    for lib, cands in paths.items():
        found = [owner[c] for c in cands if c in owner]
        assert found, "%s (%s): no package provides it" % (lib, cands[0])
        out[lib] = found[0]
    return out


def debian_12():
    """Whether this machine runs the image's distribution: package names
    (libmicrohttpd12, libcurl4) differ in other releases."""
    try:
        with open("/etc/os-release") as f:
            rel = dict(l.rstrip("\n").split("=", 1) for l in f if "=" in l)
    except OSError:
        return False
    return rel.get("ID") == "debian" and rel.get("VERSION_ID", "").strip('"') == "12"


def not_debian_packages(names):
    """The names apt-cache does not know, sorted."""
    p = subprocess.run(["apt-cache", "show", "--no-all-versions"] + sorted(names),
                       capture_output=True, text=True, timeout=60)
    return sorted(set(names) - set(re.findall(r"^Package: (\S+)$", p.stdout, re.M)))


def uncovered(needed, packages):
    """{library: package} of the needed libraries the packages leave out."""
    return {lib: pkg for lib, pkg in needed.items()
            if pkg not in packages and pkg not in IN_BASE_IMAGE}


def image_config():
    import yaml  # python3-yaml (Makefile DEPS_TEST)
    with open(os.path.join(DOCKER, "vigil.yaml")) as f:
        return yaml.safe_load(f)


# ---- the cases -------------------------------------------------------------

@vt.case
def dockerfile_passes_the_lint():
    errs = lint(read_dockerfile(), version())
    assert not errs, "\n".join(errs)


@vt.case
def lint_catches_each_rule_on_a_mutated_copy():
    good = read_dockerfile()
    ver = version()
    cases = [
        (("FROM debian:12-slim AS build", "FROM debian:latest AS build"), ":latest"),
        (("FROM debian:12-slim\n", "FROM debian\n"), "has no tag"),
        (("FROM debian:12-slim AS build", "FROM docker.io/library/debian:12-slim AS build"),
         "registry host"),
        (("--no-install-recommends \\\n      libmicrohttpd12", "\\\n      libmicrohttpd12"),
         "--no-install-recommends"),
        (("apt-get install -y --no-install-recommends \\\n      libmicrohttpd12",
          "apt-get install --no-install-recommends \\\n      libmicrohttpd12"), "without -y"),
        (("\n && rm -rf /var/lib/apt/lists/* \\\n && groupadd", "\n && groupadd"),
         "not followed by rm -rf"),
        (("RUN cmake -S", "RUN apt-get update\nRUN cmake -S"), "apt-get update alone"),
        (("RUN cmake -S", "RUN apt-get update && apt-get upgrade -y\nRUN cmake -S"), "upgrade"),
        (("RUN cmake -S . -B /build", "RUN cd /src && cmake -S . -B /build"), "cd in RUN"),
        (("RUN cmake -S . -B /build", "RUN sudo cmake -S . -B /build"), "sudo"),
        (("USER 10001:10001", "USER root"), "non-root USER"),
        (("HEALTHCHECK --interval", "# HEALTHCHECK --interval"), "no HEALTHCHECK"),
        (('CMD ["--config", "/etc/vigil/vigil.yaml"]', "CMD --config /etc/vigil/vigil.yaml"),
         "CMD is not in JSON"),
        (("COPY packaging/docker/vigil.yaml", "ADD packaging/docker/vigil.yaml"), "ADD"),
        (("WORKDIR /src", "WORKDIR src"), "not absolute"),
        (('image.version="%s"' % ver, 'image.version="9.9.9"'), "not the project's"),
        (("org.opencontainers.image.licenses", "org.example.licenses"), "licenses"),
    ]
    for (old, new), what in cases:
        assert old in good, "the mutation %r no longer applies" % old
        errs = lint(good.replace(old, new, 1), ver)
        assert any(what in e for e in errs), "%s not caught: %s" % (what, errs)


@vt.case
def runtime_stage_installs_real_packages_that_cover_every_needed_library():
    st = stages(instructions(read_dockerfile()))
    runtime = set(stage_packages(st[-1]))
    assert runtime, "the runtime stage installs nothing"
    if not debian_12():
        print("     not Debian 12 (the image's base): package names not checked")
        return
    if shutil.which("apt-cache"):
        unknown = not_debian_packages(runtime | {"libyaml-0-3"})
        assert unknown == ["libyaml-0-3"], "not Debian packages here: %s" % unknown
    else:
        print("     apt-cache missing: package names not checked")
    if not (shutil.which("objdump") and shutil.which("dpkg")):
        print("     objdump or dpkg missing: DT_NEEDED not checked")
        return
    needed = needed_packages(vt.BIN)
    assert len(needed) >= 6, needed
    assert not uncovered(needed, runtime), "the runtime stage lacks %s" % uncovered(needed,
                                                                                  runtime)
    assert uncovered(needed, runtime - {"libyaml-0-2"}) == {"libyaml-0.so.2": "libyaml-0-2"}
    # no -dev package, no compiler in the image
    assert not [p for p in runtime if p.endswith("-dev") or p in ("build-essential", "cmake")]


@vt.case
def build_stage_installs_the_makefiles_build_dependencies():
    with open(os.path.join(vt.SRC, "Makefile")) as f:
        m = re.search(r"^DEPS_BUILD\s*=\s*((?:.*\\\n)*.*)$", f.read(), re.M)
    deps = set(m.group(1).replace("\\\n", " ").split())
    assert "libyaml-dev" in deps, deps
    st = stages(instructions(read_dockerfile()))
    build = set(stage_packages(st[0]))
    lacking = deps - NOT_FOR_THE_IMAGE - build
    assert not lacking, "the build stage lacks %s" % sorted(lacking)
    text = read_dockerfile()
    assert "-DCMAKE_BUILD_TYPE=Release" in text


@vt.case
def image_copies_only_the_binary_and_its_config_and_checks_its_port():
    st = stages(instructions(read_dockerfile()))
    final = st[-1]
    copies = [a for _, kw, a in final if kw == "COPY"]
    assert copies == ["--from=build /build/vigil /usr/bin/vigil",
                      "packaging/docker/vigil.yaml /etc/vigil/vigil.yaml"], copies
    port = image_config()["agent"]["http"]["listen"].rsplit(":", 1)[1]
    expose = [a for _, kw, a in final if kw == "EXPOSE"]
    assert expose == [port], (expose, port)
    hc = [a for _, kw, a in final if kw == "HEALTHCHECK"][0]
    assert "http://127.0.0.1:%s/healthz" % port in hc, hc
    # curl is what the health check runs: it must be installed
    assert json.loads(hc.split("CMD", 1)[1])[0] in stage_packages(final)
    ent = [json.loads(a) for _, kw, a in final if kw == "ENTRYPOINT"]
    cmd = [json.loads(a) for _, kw, a in final if kw == "CMD"]
    assert ent == [["/usr/bin/vigil"]] and cmd == [["--config", "/etc/vigil/vigil.yaml"]]
    p = vt.run_vigil(["--check-config", os.path.join(DOCKER, "vigil.yaml")])
    assert p.returncode == 0, p.stdout + p.stderr


@vt.case
def dockerignore_and_no_registry_host_anywhere():
    with open(DOCKERFILE + ".dockerignore") as f:
        ignored = [l.strip() for l in f if l.strip() and not l.startswith("#")]
    for must in (".git", "build"):
        assert must in ignored, ignored
    files = glob.glob(os.path.join(DOCKER, "**", "*"), recursive=True) + \
        glob.glob(os.path.join(vt.SRC, "packaging", "kubernetes", "**", "*"), recursive=True)
    hits = []
    for path in files:
        if os.path.isfile(path):
            with open(path) as f:
                for n, line in enumerate(f, 1):
                    if REGISTRY_HOSTS.search(line):
                        hits.append("%s:%d: %s" % (os.path.relpath(path, vt.SRC), n, line.strip()))
    assert not hits, "\n".join(hits)


vt.finish()
