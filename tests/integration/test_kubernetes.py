"""The Kubernetes manifests (packaging/kubernetes), checked without a cluster:
every file parses, every document has the apiVersion of its kind and a name,
every kustomization names files that exist and every manifest is named by
one, the DaemonSet (of the base and of the GPU overlay, rendered by a small
kustomize of our own and, when kubectl is there, by `kubectl kustomize`) has
what a node agent needs and points its probes, ports and annotations at the
port the configuration listens on, mounts every path the configuration reads,
and both configurations pass `vigil --check-config`. The checkers are shown
to catch what they look for on mutated copies."""

import copy
import glob
import os
import re
import shutil
import subprocess
import tempfile

import yaml

import vigiltest as vt

K8S = os.path.join(vt.SRC, "packaging", "kubernetes")
EXAMPLE = os.path.join(vt.SRC, "config", "examples", "kubernetes-daemonset.yaml")

API_VERSIONS = {
    "Namespace": "v1",
    "ServiceAccount": "v1",
    "ConfigMap": "v1",
    "Secret": "v1",
    "Service": "v1",
    "DaemonSet": "apps/v1",
    "PodMonitor": "monitoring.coreos.com/v1",
    "Kustomization": "kustomize.config.k8s.io/v1beta1",
    "Component": "kustomize.config.k8s.io/v1alpha1",
}
KUSTOMIZE_KINDS = ("Kustomization", "Component")
# What the DaemonSet must mount read-only from the host: host path -> mount path.
HOST_MOUNTS = {"/proc": "/host/proc", "/sys": "/host/sys", "/": "/host/root",
               "/var/log": "/var/log", "/var/lib/docker/containers": "/var/lib/docker/containers"}
# Configuration options that name something the agent reads in the pod.
PATH_OPTIONS = ("proc_root", "sys_root", "sysfs_root", "rootfs", "root", "directory", "path",
                "paths", "boot_id_path")


def version():
    with open(os.path.join(vt.SRC, "CMakeLists.txt")) as f:
        return re.search(r"project\(vigil VERSION ([0-9.]+)", f.read()).group(1)


def load_docs(path):
    """Every non-empty YAML document of a file."""
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def manifest_files():
    return sorted(glob.glob(os.path.join(K8S, "**", "*.yaml"), recursive=True))


def check_document(doc, where):
    """Problems of one document's apiVersion, kind and name."""
    errs = []
    if not isinstance(doc, dict):
        return ["%s: not a mapping" % where]
    kind = doc.get("kind")
    if kind not in API_VERSIONS:
        return ["%s: unknown kind %r" % (where, kind)]
    if doc.get("apiVersion") != API_VERSIONS[kind]:
        errs.append("%s: %s has apiVersion %r, not %r" % (where, kind, doc.get("apiVersion"),
                                                         API_VERSIONS[kind]))
    if kind not in KUSTOMIZE_KINDS and not (doc.get("metadata") or {}).get("name"):
        errs.append("%s: %s without metadata.name" % (where, kind))
    return errs


# ---- configuration ---------------------------------------------------------

def duration_s(text):
    """Seconds of a vigil duration ('20s', '1m30s', '250ms')."""
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    parts = re.findall(r"(\d+)(ms|s|m|h)", str(text))
    assert parts and "".join(n + u for n, u in parts) == str(text), text
    return sum(int(n) * units[u] for n, u in parts)


def config_facts(text):
    """What the manifests must agree with: the listen port, shutdown_timeout,
    state_dir, and every path the collectors read."""
    conf = yaml.safe_load(text)
    agent = conf.get("agent") or {}
    listen = (agent.get("http") or {}).get("listen", "127.0.0.1:9469")
    paths = [agent.get("state_dir", "/var/lib/vigil")]
    for c in conf.get("collectors") or []:
        for key in PATH_OPTIONS:
            v = c.get(key)
            for p in (v if isinstance(v, list) else [v] if v else []):
                paths.append(re.split(r"[*?\[]", p)[0].rstrip("/") or "/")
    return {"port": int(listen.rsplit(":", 1)[1]), "listen_host": listen.rsplit(":", 1)[0],
            "shutdown_s": duration_s(agent.get("shutdown_timeout", "10s")),
            "state_dir": agent.get("state_dir"), "paths": paths,
            "types": [c["type"] for c in conf.get("collectors") or []],
            "outputs": [o["type"] for o in conf.get("outputs") or []]}


def check_config(text, what):
    """Runs vigil --check-config on the text; returns its stdout."""
    tmp = tempfile.mkdtemp(prefix="vigil-k8s-")
    try:
        path = os.path.join(tmp, "vigil.yaml")
        with open(path, "w") as f:
            f.write(text)
        env = dict(os.environ, NODE_NAME="node-1")
        p = subprocess.run([vt.BIN, "--check-config", path], capture_output=True, text=True,
                           timeout=20, env=env)
        assert p.returncode == 0, "%s: %s%s" % (what, p.stdout, p.stderr)
        return p.stdout
    finally:
        shutil.rmtree(tmp)


# ---- a small kustomize: resources, components, patches, configMapGenerator --

def merge(base, patch, key=None):
    """Strategic merge of patch into base (both parsed YAML): maps merge key
    by key, lists of maps merge by 'name' (or 'mountPath' for volumeMounts,
    'containerPort' for ports), new items ahead of the base's as kustomize
    puts them; other values are replaced; None deletes."""
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for k, v in patch.items():
            if v is None:
                out.pop(k, None)
            else:
                out[k] = merge(base.get(k), v, k)
        return out
    if isinstance(base, list) and isinstance(patch, list) and \
            all(isinstance(x, dict) for x in base + patch):
        mk = {"volumeMounts": "mountPath", "ports": "containerPort"}.get(key, "name")
        out = [copy.deepcopy(x) for x in base]
        new = []
        for item in patch:
            hit = [i for i, x in enumerate(out) if mk in item and x.get(mk) == item.get(mk)]
            if hit:
                out[hit[0]] = merge(out[hit[0]], item, None)
            else:
                new.append(copy.deepcopy(item))
        return new + out
    return copy.deepcopy(patch)


def apply_patch(docs, patch_doc, target):
    """Merges patch_doc into the documents the target (kind, name) selects;
    returns how many it changed."""
    kind = target.get("kind", patch_doc.get("kind"))
    name = target.get("name", (patch_doc.get("metadata") or {}).get("name"))
    n = 0
    for i, d in enumerate(docs):
        if d.get("kind") == kind and d["metadata"]["name"] == name:
            docs[i] = merge(d, patch_doc)
            n += 1
    return n


def generate_configmaps(root, kust, docs):
    for g in kust.get("configMapGenerator") or []:
        data = {}
        for spec in g.get("files") or []:
            key, _, rel = spec.rpartition("=") if "=" in spec else (None, None, spec)
            with open(os.path.join(root, rel)) as f:
                data[key or os.path.basename(rel)] = f.read()
        same = [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == g["name"]]
        behavior = g.get("behavior", "create")
        assert (behavior == "create") == (not same), "%s: configMapGenerator %s: behavior %s" % (
            root, g["name"], behavior)
        if behavior == "create":
            docs.append({"apiVersion": "v1", "kind": "ConfigMap", "data": data,
                         "metadata": {"name": g["name"], "namespace": g.get("namespace")}})
        for d in same:
            d["data"] = data if behavior == "replace" else dict(d.get("data") or {}, **data)


def render(root, docs=None):
    """The documents a kustomization (or a component, onto docs) produces."""
    kust = load_docs(os.path.join(root, "kustomization.yaml"))[0]
    docs = [] if docs is None else docs
    for rel in kust.get("resources") or []:
        path = os.path.normpath(os.path.join(root, rel))
        docs.extend(render(path) if os.path.isdir(path) else load_docs(path))
    for rel in kust.get("components") or []:
        render(os.path.normpath(os.path.join(root, rel)), docs)
    generate_configmaps(root, kust, docs)
    for p in kust.get("patches") or []:
        for patch_doc in load_docs(os.path.join(root, p["path"])):
            n = apply_patch(docs, patch_doc, p.get("target") or {})
            assert n == 1, "%s: patch %s selects %d documents" % (root, p["path"], n)
    return docs


def referenced_files(root):
    """Files a kustomization names: resources, components and patch paths
    (directories through their own kustomization.yaml), generator files."""
    kust = load_docs(os.path.join(root, "kustomization.yaml"))[0]
    out = []
    names = list(kust.get("resources") or []) + list(kust.get("components") or [])
    names += [p["path"] for p in kust.get("patches") or [] if "path" in p]
    names += [p for p in kust.get("patchesStrategicMerge") or []]
    for g in kust.get("configMapGenerator") or []:
        names += [s.split("=")[-1] for s in g.get("files") or []]
    for rel in names:
        path = os.path.normpath(os.path.join(root, rel))
        out.append(os.path.join(path, "kustomization.yaml") if os.path.isdir(path) else path)
    return out


# ---- the checker -----------------------------------------------------------

def check_daemonset(ds, facts, ver):
    """Every problem of a rendered DaemonSet against its configuration."""
    errs = []
    spec = ds.get("spec") or {}
    tpl = spec.get("template") or {}
    pod = tpl.get("spec") or {}
    labels = (tpl.get("metadata") or {}).get("labels") or {}
    sel = (spec.get("selector") or {}).get("matchLabels") or {}
    if not sel or any(labels.get(k) != v for k, v in sel.items()):
        errs.append("selector %r does not match the template's labels %r" % (sel, labels))
    containers = pod.get("containers") or []
    if len(containers) != 1:
        return errs + ["%d containers, not 1" % len(containers)]
    c = containers[0]
    if c.get("image") != "vigil:%s" % ver:
        errs.append("image %r, not vigil:%s" % (c.get("image"), ver))
    errs += check_mounts(pod, c, facts)
    errs += check_ports(tpl, c, facts)
    errs += check_security(pod, c)
    errs += check_scheduling(pod, spec, facts)
    env = {e["name"]: e for e in c.get("env") or []}
    ref = ((env.get("NODE_NAME") or {}).get("valueFrom") or {}).get("fieldRef") or {}
    if ref.get("fieldPath") != "spec.nodeName":
        errs.append("NODE_NAME does not come from spec.nodeName")
    res = c.get("resources") or {}
    for part, keys in (("requests", ("cpu", "memory")), ("limits", ("memory",))):
        errs += ["no resources.%s.%s" % (part, k) for k in keys if k not in (res.get(part) or {})]
    return errs


def check_mounts(pod, c, facts):
    errs = []
    volumes = {v["name"]: v for v in pod.get("volumes") or []}
    mounts = c.get("volumeMounts") or []
    seen = set()
    for m in mounts:
        if m["name"] not in volumes:
            errs.append("volumeMount %s names no volume" % m["name"])
        if m["mountPath"] in seen:
            errs.append("mountPath %s mounted twice" % m["mountPath"])
        seen.add(m["mountPath"])
    by_path = {m["mountPath"]: m for m in mounts}
    for host, inside in HOST_MOUNTS.items():
        m = by_path.get(inside)
        hp = (volumes.get(m["name"], {}).get("hostPath") or {}).get("path") if m else None
        if hp != host or not m.get("readOnly"):
            errs.append("%s is not the host's %s, read-only" % (inside, host))
    root = by_path.get("/host/root") or {}
    if root.get("mountPropagation") != "HostToContainer":
        errs.append("/host/root without mountPropagation HostToContainer")
    state = by_path.get(facts["state_dir"])
    hp = (volumes.get(state["name"], {}).get("hostPath") or {}) if state else {}
    if not state or state.get("readOnly") or hp.get("type") != "DirectoryOrCreate":
        errs.append("state_dir %s is not a writable hostPath (DirectoryOrCreate)" %
                    facts["state_dir"])
    for p in facts["paths"]:
        if not any(p == mp or p.startswith(mp.rstrip("/") + "/") for mp in by_path):
            errs.append("the configuration reads %s, which no volume mounts" % p)
    return errs


def check_ports(tpl, c, facts):
    errs = []
    ports = {p.get("name"): p for p in c.get("ports") or []}
    port = (ports.get("metrics") or {}).get("containerPort")
    if port != facts["port"]:
        errs.append("port metrics is %r, the configuration listens on %d" % (port, facts["port"]))
    if facts["listen_host"] in ("127.0.0.1", "localhost", "[::1]"):
        errs.append("the configuration listens on loopback: probes and scrapes cannot reach it")
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        get = (c.get(probe) or {}).get("httpGet") or {}
        if get.get("path") != path or get.get("port") not in ("metrics", facts["port"]):
            errs.append("%s is not GET %s on the metrics port: %r" % (probe, path, get))
    ann = (tpl.get("metadata") or {}).get("annotations") or {}
    if ann.get("prometheus.io/port") != str(facts["port"]):
        errs.append("prometheus.io/port %r, not %d" % (ann.get("prometheus.io/port"),
                                                      facts["port"]))
    return errs


def check_security(pod, c):
    errs = []
    sc = c.get("securityContext") or {}
    caps = sc.get("capabilities") or {}
    if sc.get("readOnlyRootFilesystem") is not True:
        errs.append("readOnlyRootFilesystem is not true")
    if caps.get("drop") != ["ALL"]:
        errs.append("capabilities.drop is %r, not [ALL]" % caps.get("drop"))
    if sorted(caps.get("add") or []) != ["DAC_READ_SEARCH", "SYSLOG"]:
        errs.append("capabilities.add is %r" % caps.get("add"))
    if sc.get("privileged"):
        # the API server refuses privileged with allowPrivilegeEscalation false
        if sc.get("allowPrivilegeEscalation") is False:
            errs.append("privileged with allowPrivilegeEscalation false is refused")
    elif sc.get("allowPrivilegeEscalation") is not False:
        errs.append("allowPrivilegeEscalation is not false")
    if pod.get("automountServiceAccountToken") is not False:
        errs.append("a service account token is mounted that nothing uses")
    return errs


def check_scheduling(pod, spec, facts):
    errs = []
    grace = pod.get("terminationGracePeriodSeconds", 30)
    if not grace > facts["shutdown_s"] + 1:
        errs.append("terminationGracePeriodSeconds %s is not above shutdown_timeout %ss + 1s" %
                    (grace, facts["shutdown_s"]))
    tol = pod.get("tolerations") or []
    for effect in ("NoSchedule", "NoExecute"):
        if not any(t.get("operator") == "Exists" and not t.get("key") and
                   t.get("effect") in (None, effect) for t in tol):
            errs.append("no toleration of every %s taint" % effect)
    if pod.get("hostNetwork") and pod.get("dnsPolicy") != "ClusterFirstWithHostNet":
        errs.append("hostNetwork without dnsPolicy ClusterFirstWithHostNet")
    if not pod.get("hostNetwork"):
        errs.append("not hostNetwork: /host/proc/net would be the pod's own counters")
    if not pod.get("priorityClassName"):
        errs.append("no priorityClassName")
    upd = spec.get("updateStrategy") or {}
    if upd.get("type") != "RollingUpdate" or "maxUnavailable" not in (upd.get("rollingUpdate")
                                                                       or {}):
        errs.append("updateStrategy is not RollingUpdate with maxUnavailable")
    return errs


def one(docs, kind):
    found = [d for d in docs if d.get("kind") == kind]
    assert len(found) == 1, "%d %s documents" % (len(found), kind)
    return found[0]


def rendered(root):
    """Our rendering of a kustomization; when kubectl is installed, its
    DaemonSet and ConfigMap must equal `kubectl kustomize`'s."""
    docs = render(root)
    kubectl = shutil.which("kubectl")
    if kubectl:
        p = subprocess.run([kubectl, "kustomize", root], capture_output=True, text=True,
                           timeout=60)
        assert p.returncode == 0, p.stderr
        theirs = [d for d in yaml.safe_load_all(p.stdout) if d]
        assert sorted((d["kind"], d["metadata"]["name"]) for d in theirs) == \
            sorted((d["kind"], d["metadata"]["name"]) for d in docs)
        assert one(theirs, "DaemonSet")["spec"] == one(docs, "DaemonSet")["spec"]
        assert one(theirs, "ConfigMap")["data"] == one(docs, "ConfigMap")["data"]
    return docs


def check_rendered(docs):
    """Every problem of a rendered set: the DaemonSet against its ConfigMap,
    the Service and PodMonitor against the pod's port and labels."""
    for d in docs:
        errs = check_document(d, "%s/%s" % (d.get("kind"), (d.get("metadata") or {}).get("name")))
        assert not errs, errs
    text = one(docs, "ConfigMap")["data"]["vigil.yaml"]
    facts = config_facts(text)
    ds = one(docs, "DaemonSet")
    errs = check_daemonset(ds, facts, version())
    labels = ds["spec"]["template"]["metadata"]["labels"]
    for d in docs:
        if d["kind"] == "Service":
            sel = d["spec"].get("selector") or {}
            ports = {p["name"]: p for p in d["spec"].get("ports") or []}
            if d["spec"].get("clusterIP") != "None":
                errs.append("Service %s is not headless" % d["metadata"]["name"])
            if any(labels.get(k) != v for k, v in sel.items()) or not sel:
                errs.append("Service selector %r selects no agent" % sel)
            if (ports.get("metrics") or {}).get("port") != facts["port"] or \
                    ports["metrics"].get("targetPort") not in ("metrics", facts["port"]):
                errs.append("Service port metrics is not %d" % facts["port"])
        if d["kind"] == "PodMonitor":
            sel = d["spec"]["selector"].get("matchLabels") or {}
            eps = d["spec"].get("podMetricsEndpoints") or []
            if any(labels.get(k) != v for k, v in sel.items()) or not sel:
                errs.append("PodMonitor selector %r selects no agent" % sel)
            if [e.get("port") for e in eps] != ["metrics"]:
                errs.append("PodMonitor does not scrape the port named metrics")
        if d.get("metadata", {}).get("namespace") not in (None, "vigil") or \
                (d["kind"] == "Namespace" and d["metadata"]["name"] != "vigil"):
            errs.append("%s %s is not in namespace vigil" % (d["kind"], d["metadata"]["name"]))
    return errs, text, facts


# ---- the cases -------------------------------------------------------------

@vt.case
def every_manifest_parses_with_the_api_version_of_its_kind():
    files = manifest_files()
    assert len(files) >= 10, files
    errs = []
    for path in files:
        docs = load_docs(path)
        rel = os.path.relpath(path, vt.SRC)
        if path.endswith("overlays/gpu/vigil.yaml"):
            continue  # an agent configuration, not a manifest
        assert docs, "%s: no document" % rel
        for i, d in enumerate(docs):
            errs += check_document(d, "%s[%d]" % (rel, i))
    assert not errs, "\n".join(errs)
    # the checker catches what it looks for
    assert check_document({"apiVersion": "v1", "kind": "DaemonSet", "metadata": {"name": "x"}},
                          "x") == ["x: DaemonSet has apiVersion 'v1', not 'apps/v1'"]
    assert check_document({"apiVersion": "v1", "kind": "Service", "metadata": {}}, "x")


@vt.case
def kustomizations_name_existing_files_and_every_file_is_named():
    named = set()
    for k in glob.glob(os.path.join(K8S, "**", "kustomization.yaml"), recursive=True):
        for f in referenced_files(os.path.dirname(k)):
            assert os.path.isfile(f), "%s names %s, which does not exist" % (
                os.path.relpath(k, vt.SRC), os.path.relpath(f, vt.SRC))
            named.add(f)
    left = [os.path.relpath(f, vt.SRC) for f in manifest_files()
            if f not in named and os.path.basename(f) != "kustomization.yaml"]
    assert not left, "named by no kustomization: %s" % left


@vt.case
def base_daemonset_service_and_config_agree():
    docs = rendered(K8S)
    kinds = sorted(d["kind"] for d in docs)
    assert kinds == ["ConfigMap", "DaemonSet", "Namespace", "Service", "ServiceAccount"], kinds
    assert not [d for d in docs if d["kind"] in ("ClusterRole", "ClusterRoleBinding", "Role")]
    errs, text, facts = check_rendered(docs)
    assert not errs, "\n".join(errs)
    for t in ("container_logs", "node", "cgroup", "textfile", "gpu_nvml", "gpu_amd"):
        assert t in facts["types"], (t, facts["types"])
    # kmsg needs a privileged pod, which the base is not
    assert "kmsg" not in facts["types"], facts["types"]
    assert facts["outputs"] == ["discard"], facts["outputs"]
    for commented in ("# - type: elasticsearch", "# - type: kafka", "#     type: slack"):
        assert commented in text, commented
    out = check_config(text, "base ConfigMap")
    assert "configuration is valid (6 collectors, 1 output" in out, out


@vt.case
def config_example_equals_the_configmap():
    cm = load_docs(os.path.join(K8S, "base", "configmap.yaml"))[0]
    with open(EXAMPLE) as f:
        assert f.read() == cm["data"]["vigil.yaml"], \
            "config/examples/kubernetes-daemonset.yaml differs from the ConfigMap"


def overlay_drift(base_text, gpu_text):
    """How the GPU overlay's configuration departs from the base one beyond
    what it adds (the kmsg collector after the base's collectors, GPU rules
    after the base's rules): a list of differences, empty when in step."""
    def load(text):
        return yaml.safe_load(text.replace("${NODE_NAME:-}", "n"))
    base, gpu = load(base_text), load(gpu_text)
    out = []
    for key in sorted(set(base) | set(gpu)):
        if key not in ("collectors", "alerts") and base.get(key) != gpu.get(key):
            out.append("section %s differs" % key)
    bc, gc = base.get("collectors") or [], gpu.get("collectors") or []
    if gc[:len(bc)] != bc or [c.get("type") for c in gc[len(bc):]] != ["kmsg"]:
        out.append("collectors: the base's, then kmsg, expected")
    ba, ga = base.get("alerts") or {}, gpu.get("alerts") or {}
    if {k: v for k, v in ba.items() if k != "rules"} != \
            {k: v for k, v in ga.items() if k != "rules"}:
        out.append("alerts: settings differ")
    br, gr = ba.get("rules") or [], ga.get("rules") or []
    if gr[:len(br)] != br:
        out.append("alerts: the base's rules must come first, unchanged")
    return out


@vt.case
def gpu_overlay_config_stays_in_step_with_the_base():
    with open(EXAMPLE) as f:
        base = f.read()
    with open(os.path.join(K8S, "overlays", "gpu", "vigil.yaml")) as f:
        gpu = f.read()
    drift = overlay_drift(base, gpu)
    assert not drift, "\n".join(drift)
    # the checker sees a change made to one side only
    assert overlay_drift(base.replace("interval: 15s", "interval: 20s", 1), gpu)
    assert overlay_drift(base, gpu.replace("shutdown_timeout: 20s", "shutdown_timeout: 9s"))


@vt.case
def gpu_overlay_patches_the_daemonset_and_its_config_is_valid():
    gpu = os.path.join(K8S, "overlays", "gpu")
    kust = load_docs(os.path.join(gpu, "kustomization.yaml"))[0]
    base_ds = one(render(K8S), "DaemonSet")
    base_names = [c["name"] for c in base_ds["spec"]["template"]["spec"]["containers"]]
    for p in kust["patches"]:
        assert p["target"] == {"kind": "DaemonSet", "name": base_ds["metadata"]["name"]}, p
        for d in load_docs(os.path.join(gpu, p["path"])):
            for c in d["spec"]["template"]["spec"].get("containers") or []:
                assert c["name"] in base_names, "patch names container %s" % c["name"]
    docs = rendered(gpu)
    errs, text, facts = check_rendered(docs)
    assert not errs, "\n".join(errs)
    pod = one(docs, "DaemonSet")["spec"]["template"]["spec"]
    env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
    assert pod.get("runtimeClassName") == "nvidia", pod.get("runtimeClassName")
    assert env.get("NVIDIA_VISIBLE_DEVICES") == "all", env
    assert env.get("NVIDIA_DRIVER_CAPABILITIES") == "utility", env
    assert pod.get("nodeSelector"), "the GPU DaemonSet runs on every node"
    assert "kmsg" in facts["types"] and "gpu_nvml" in facts["types"], facts["types"]
    mounts = {m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
    assert "/dev/kmsg" in mounts, mounts
    out = check_config(text, "GPU overlay config")
    assert "configuration is valid (7 collectors, 1 output" in out, out


@vt.case
def configmap_config_runs_on_a_node_without_gpus():
    """The ConfigMap's config, its pod paths pointed at this machine's
    (/host/proc at /proc...) and its container logs at a kubelet-named
    file: it starts, GPU collectors report backend 0 without an error,
    records carry the pod's names, and SIGTERM stops it well within the
    grace period."""
    with open(EXAMPLE) as f:
        text = f.read()
    swaps = [("/host/proc", "/proc"), ("/host/sys", "/sys"), ("rootfs: /host/root", "rootfs: /"),
             ('"0.0.0.0:9469"', '"127.0.0.1:{port}"'), ("/var/lib/vigil/textfile", "{tmp}/tf"),
             ("state_dir: /var/lib/vigil", "state_dir: {tmp}/state"),
             ("/var/log/containers/*.log", "{tmp}/containers/*.log"),
             ("/var/lib/docker/containers/*/*-json.log", "{tmp}/docker/*/*-json.log")]
    for old, new in swaps:
        assert old in text, old
        text = text.replace(old, new)
    agent = vt.Agent(text, env={"NODE_NAME": "node-1"})
    cid = "ab" * 32
    os.makedirs(os.path.join(agent.tmp, "containers"))
    os.makedirs(os.path.join(agent.tmp, "tf"))
    with open(os.path.join(agent.tmp, "containers", "web-0_shop_nginx-%s.log" % cid), "w") as f:
        for i in range(5):
            f.write("2026-12-03T10:00:0%dZ stdout F line %d\n" % (i, i))
    with agent:
        vt.wait_for(lambda: agent.metric_value("vigil_input_records_total",
                                               {"collector": "container_logs"}) == 5,
                    10, what="5 records read")
        assert agent.metric_value("vigil_log_records_total",
                                  {"namespace": "shop", "pod": "web-0", "container": "nginx"}) == 5
        for backend in ("nvml", "amdgpu"):
            if agent.metric_value("vigil_gpu_backend_up", {"backend": backend}) is None:
                vt.wait_for(lambda: agent.metric_value("vigil_gpu_backend_up",
                                                       {"backend": backend}) is not None,
                            10, what="vigil_gpu_backend_up %s" % backend)
        assert agent.metric_value("node_load1") is not None
        rc, took = agent.stop()
        errors = [l for l in agent.stderr().splitlines() if '"level":"error"' in l]
    grace = one(render(K8S), "DaemonSet")["spec"]["template"]["spec"][
        "terminationGracePeriodSeconds"]
    assert rc == 0 and took < grace, (rc, took)
    assert not errors, errors


@vt.case
def podmonitor_component_scrapes_the_metrics_port():
    tmp = tempfile.mkdtemp(prefix="vigil-k8s-")
    try:
        rel = os.path.relpath(K8S, tmp)  # kustomize refuses absolute paths
        with open(os.path.join(tmp, "kustomization.yaml"), "w") as f:
            f.write("resources: [%s]\ncomponents: [%s/components/podmonitor]\n" % (rel, rel))
        docs = rendered(tmp)
        errs, _, _ = check_rendered(docs)
        assert not errs, "\n".join(errs)
        pm = one(docs, "PodMonitor")
        assert pm["metadata"]["namespace"] == "vigil", pm["metadata"]
        bad = copy.deepcopy(docs)
        one(bad, "PodMonitor")["spec"]["podMetricsEndpoints"][0]["port"] = "http"
        one(bad, "Service")["spec"]["ports"][0]["port"] = 9100
        errs, _, _ = check_rendered(bad)
        assert any("PodMonitor" in e for e in errs) and any("Service" in e for e in errs), errs
    finally:
        shutil.rmtree(tmp)


@vt.case
def checker_catches_broken_daemonsets():
    """The same checker, on mutated copies of the base DaemonSet."""
    docs = render(K8S)
    facts = config_facts(one(docs, "ConfigMap")["data"]["vigil.yaml"])
    good = one(docs, "DaemonSet")
    assert check_daemonset(good, facts, version()) == []

    def broken(mutate):
        ds = copy.deepcopy(good)
        mutate(ds["spec"]["template"]["spec"], ds["spec"]["template"]["spec"]["containers"][0])
        return check_daemonset(ds, facts, version())

    cases = [
        (lambda p, c: c["volumeMounts"].append({"name": "nowhere", "mountPath": "/x"}),
         "volumeMount nowhere names no volume"),
        (lambda p, c: c["volumeMounts"].append(dict(c["volumeMounts"][0])),
         "mounted twice"),
        (lambda p, c: c["livenessProbe"]["httpGet"].update(port=8080), "livenessProbe"),
        (lambda p, c: p.update(terminationGracePeriodSeconds=int(facts["shutdown_s"])),
         "terminationGracePeriodSeconds"),
        (lambda p, c: c["securityContext"].update(privileged=True), "privileged with"),
        (lambda p, c: c["securityContext"]["capabilities"]["add"].append("SYS_ADMIN"),
         "capabilities.add"),
        (lambda p, c: p["volumes"].remove([v for v in p["volumes"] if v["name"] == "sys"][0]),
         "no volume"),
        (lambda p, c: c.update(image="vigil:latest"), "image"),
        (lambda p, c: p.update(tolerations=[]), "NoExecute"),
    ]
    for mutate, what in cases:
        errs = broken(mutate)
        assert any(what in e for e in errs), "%s not caught: %s" % (what, errs)
    # a configuration that reads a path no volume mounts
    f2 = dict(facts, paths=facts["paths"] + ["/host/dev/nvidia0"])
    assert any("/host/dev/nvidia0" in e for e in check_daemonset(good, f2, version()))


vt.finish()
