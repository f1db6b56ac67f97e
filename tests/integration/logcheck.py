"""Checks the file output (NDJSON) of the agent against logwriter manifests:
for every writer id, every seq from first_seq to last_seq must arrive;
lost, duplicated and out-of-order records are counted per writer.

The output may still be growing: Checker.update() reads only what was
added since the last call and leaves a trailing partial line for later. A
line that is not JSON (an agent killed in the middle of a write leaves part
of a line, and the next one is appended to it) is counted as corrupt, and a
complete record glued to its end is still recovered.

Duplicates are classified: a "re-send" repeats an earlier seq after other
records came in between (a replay from a checkpoint); an "adjacent" one
repeats the record that arrived just before it. Out of order means a first
arrival of a seq lower than one already seen.

When a manifest gives the body shape (line_len, long_every, long_len), every
body is rebuilt and compared byte for byte (joined CRI partials, Docker
16 KiB pieces).

With `fields` ({name: value}), every record of a known writer must carry
those fields with those values (Kubernetes metadata from kubelet's paths);
records that do not are counted as field_mismatch. Manifests with gap_seqs
(records a rotation wrote into neither file) let lost_in_gaps() tell the
loss nobody could avoid from the rest.

PrefixedAgent starts the agent under a command prefix (nice, setpriv).

CLI: logcheck.py OUTPUT MANIFEST... [--json]; exit 1 when anything was lost,
duplicated, reordered or corrupted. Stdlib only."""

import json
import os
import re
import subprocess
import sys
import time

import logwriter
import vigiltest as vt

BODY_RE = re.compile(r"w=(\S+) seq=(\d+)(?: |$)")


def agent_config(paths, output='{ type: file, path: "{tmp}/out.ndjson" }', **options):
    """The YAML of a container_logs test: the agent on {port} with its state
    in {tmp}, one collector named `logs` on `paths` with `options` (written
    as given: format="cri", max_open_files=1024), and one output."""
    lines = ["agent:", "  node_name: test-node", "  state_dir: {tmp}/state",
             '  http: { listen: "127.0.0.1:{port}" }', "collectors:",
             "  - type: container_logs", "    name: logs",
             "    paths: [%s]" % ", ".join('"%s"' % p for p in paths)]
    lines += ["    %s: %s" % (k, v) for k, v in options.items()]
    lines += ["outputs:", "  - " + output, ""]
    return "\n".join(lines)


def cri_writer(agent, writer_id, rate, duration, name="app.log"):
    """Starts a CRI writer on {tmp}/logs/name (the folder made if needed);
    returns (the writer's process, its manifest, its summary file)."""
    logs = os.path.join(agent.tmp, "logs")
    os.makedirs(logs, exist_ok=True)
    manifest = os.path.join(agent.tmp, "manifest-%s.json" % writer_id)
    out = os.path.join(agent.tmp, "writer-%s.out" % writer_id)
    proc = logwriter.spawn(os.path.join(logs, name), writer_id, manifest, out, format="cri",
                           rate=rate, duration=duration)
    return proc, manifest, out


def with_agent_options(text, opts):
    """The YAML text with more `agent:` options ({name: value}) added."""
    if not opts:
        return text
    return text.replace("agent:\n", "agent:\n" + "".join("  %s: %s\n" % kv
                                                         for kv in opts.items()), 1)


class Writers:
    """Numbered logwriter processes, each writing {tmp}/logs/<prefix><n>.log
    in CRI format with its manifest beside it; ids never repeat."""

    def __init__(self, tmp, prefix):
        self.tmp, self.prefix = tmp, prefix
        self.logs = os.path.join(tmp, "logs")
        os.makedirs(self.logs, exist_ok=True)
        self.manifests, self.procs, self.next_id = [], [], 0

    def start(self, n, count, rate=5000, line_len=200, **opts):
        """Starts n writers of `count` lines each at `rate` lines/s."""
        self.procs = [p for p in self.procs if p.poll() is None]
        for _ in range(n):
            wid = "%s%d" % (self.prefix, self.next_id)
            self.next_id += 1
            m = os.path.join(self.tmp, "manifest-%s.json" % wid)
            self.manifests.append(m)
            self.procs.append(logwriter.spawn(
                os.path.join(self.logs, "%s.log" % wid), wid, m,
                os.path.join(self.tmp, "writer-%s.out" % wid), format="cri", rate=rate,
                count=count, duration=count / rate + 20, line_len=line_len, **opts))

    def wait(self, timeout=30):
        for p in self.procs:
            p.wait(timeout)

    def stop(self):
        for p in self.procs:
            logwriter.stop_process(p)


def load_manifests(items):
    """Merges manifests ({writer id: entry}) given as paths or as dicts."""
    out = {}
    for m in items:
        if isinstance(m, dict):
            out.update(m)
        else:
            with open(m) as f:
                out.update(json.load(f))
    return out


class _Writer:
    """What arrived from one writer, in arrival order."""

    __slots__ = ("first", "last", "seen", "arrivals", "dup", "dup_adjacent", "replays",
                 "ooo", "prev", "max", "bad_body", "first_seen_at", "last_new_at", "unique")

    def __init__(self, first, last):
        self.first, self.last = first, last
        self.seen = bytearray(max(last + 2, 16))
        self.arrivals = self.dup = self.dup_adjacent = self.replays = self.ooo = 0
        self.prev = self.max = 0
        self.bad_body = 0
        self.unique = 0  # distinct seqs seen within first..last
        self.first_seen_at = self.last_new_at = None

    def add(self, seq, now):
        if seq >= len(self.seen):
            self.seen.extend(bytearray(seq + 1 - len(self.seen) + 1024))
        self.arrivals += 1
        if self.first_seen_at is None:
            self.first_seen_at = now
        if self.seen[seq]:
            self.dup += 1
            if seq == self.prev:
                self.dup_adjacent += 1
            elif seq != self.prev + 1:
                self.replays += 1  # a jump back: a replay starts here
        else:
            self.seen[seq] = 1
            self.last_new_at = now
            if self.first <= seq <= self.last:
                self.unique += 1
            if seq < self.max:
                self.ooo += 1
        self.prev = seq
        if seq > self.max:
            self.max = seq

    def missing(self):
        """Sorted list of the seqs first..last that never arrived."""
        seen = self.seen
        return [s for s in range(self.first, self.last + 1) if not seen[s]]


def _ranges(seqs, limit=8):
    """[1,2,3,7] -> "1-3,7" (the first `limit` ranges)."""
    out, start, prev = [], None, None
    for s in seqs:
        if start is None:
            start = prev = s
        elif s == prev + 1:
            prev = s
        else:
            out.append((start, prev))
            start = prev = s
    if start is not None:
        out.append((start, prev))
    txt = ",".join("%d" % a if a == b else "%d-%d" % (a, b) for a, b in out[:limit])
    if len(out) > limit:
        txt += ",... (%d ranges)" % len(out)
    return txt


class Checker:
    """Incremental reader of one NDJSON output, checked against manifests."""

    def __init__(self, output_path, manifests=(), check_bodies=True, fields=None):
        self.path = output_path
        self.fields = dict(fields or {})
        self.field_mismatch = 0
        self.field_samples = []
        self.offset = 0
        self.rest = b""
        self.writers = {}
        self.shapes = {}
        self.check_bodies = check_bodies
        self.records = 0
        self.corrupt = 0
        self.corrupt_samples = []
        self.unknown = 0
        self.unknown_samples = []
        self.truncated = 0
        self.decode_errors = 0
        self.files = {}  # the records' "file" field -> records
        self.set_manifests(manifests)

    def set_manifests(self, manifests):
        """(Re)declares the writers; what already arrived is kept."""
        for wid, e in load_manifests(manifests).items():
            first, last = int(e.get("first_seq", 1)), int(e["last_seq"])
            w = self.writers.get(wid)
            if w is None:
                w = self.writers[wid] = _Writer(first, last)
            if last + 2 > len(w.seen):
                w.seen.extend(bytearray(last + 2 - len(w.seen)))
            if (first, last) != (w.first, w.last):
                w.first, w.last = first, last
                w.unique = sum(w.seen[first:last + 1])
            if "line_len" in e:
                self.shapes[wid] = (int(e["line_len"]), int(e.get("long_every", 0)),
                                    int(e.get("long_len", 0)))

    def _parse(self, line):
        try:
            return json.loads(line)
        except ValueError:
            pass
        self.corrupt += 1
        if len(self.corrupt_samples) < 5:
            self.corrupt_samples.append(line[:200])
        # a record glued after the remains of a cut-off one: try the last few starts
        pos = len(line)
        for _ in range(8):
            pos = line.rfind(b'{"time"', 0, pos)
            if pos <= 0:
                break
            try:
                return json.loads(line[pos:])
            except ValueError:
                continue
        return None

    def _record(self, rec, now):
        body = rec.get("body")
        m = BODY_RE.match(body) if isinstance(body, str) else None
        if rec.get("truncated"):
            self.truncated += 1
        if rec.get("decode_error"):
            self.decode_errors += 1
        src = rec.get("file")
        self.files[src] = self.files.get(src, 0) + 1
        w = self.writers.get(m.group(1)) if m else None
        if w is None:
            self.unknown += 1
            if len(self.unknown_samples) < 5:
                self.unknown_samples.append(str(body)[:200])
            return
        wid, seq = m.group(1), int(m.group(2))
        self.records += 1
        w.add(seq, now)
        if self.fields and any(rec.get(k) != v for k, v in self.fields.items()):
            self.field_mismatch += 1
            if len(self.field_samples) < 3:
                self.field_samples.append({k: rec.get(k) for k in self.fields})
        shape = self.shapes.get(wid) if self.check_bodies else None
        if shape is not None and body != logwriter.make_body(wid, seq, *shape):
            w.bad_body += 1

    def update(self):
        """Reads what was appended since the last call; returns records added."""
        if not os.path.exists(self.path):
            return 0
        before = self.records + self.unknown
        now = time.monotonic()
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            data = f.read(64 << 20)
        self.offset += len(data)
        data = self.rest + data
        cut = data.rfind(b"\n") + 1
        self.rest = data[cut:]
        for line in data[:cut].split(b"\n"):
            if not line:
                continue
            rec = self._parse(line)
            if rec is not None:
                self._record(rec, now)
        return self.records + self.unknown - before

    def complete(self):
        """True once every writer's seqs first..last arrived."""
        return all(w.unique == w.last - w.first + 1 for w in self.writers.values())

    def result(self):
        """The figures, per writer and in total, as a dict."""
        per = {}
        tot = {"lost": 0, "dup": 0, "dup_resend": 0, "dup_adjacent": 0, "ooo": 0,
               "bad_body": 0, "expected": 0, "arrivals": 0, "replays": 0}
        for wid, w in sorted(self.writers.items()):
            miss = w.missing()
            d = {"expected": w.last - w.first + 1, "arrivals": w.arrivals, "lost": len(miss),
                 "lost_ranges": _ranges(miss), "dup": w.dup, "dup_adjacent": w.dup_adjacent,
                 "dup_resend": w.dup - w.dup_adjacent, "replays": w.replays, "ooo": w.ooo,
                 "bad_body": w.bad_body, "max_seq": w.max,
                 "beyond_last": max(w.max - w.last, 0)}
            per[wid] = d
            for k in tot:
                tot[k] += d[k]
        tot.update({"writers": len(per), "per_writer": per, "corrupt_lines": self.corrupt,
                    "corrupt_samples": self.corrupt_samples, "unknown": self.unknown,
                    "unknown_samples": self.unknown_samples, "truncated": self.truncated,
                    "decode_errors": self.decode_errors, "files": dict(self.files),
                    "field_mismatch": self.field_mismatch,
                    "field_samples": self.field_samples,
                    "dups_only_resends": tot["dup_adjacent"] == 0,
                    "ok": tot["lost"] == 0 and tot["dup"] == 0 and tot["ooo"] == 0 and
                    tot["bad_body"] == 0 and self.corrupt == 0})
        return tot

    def summary(self, r=None, label="logcheck"):
        """The one-line summary (and one line per writer that lost anything)."""
        r = r or self.result()
        s = ("%s: writers=%d expected=%d arrived=%d lost=%d dup=%d (resend %d, adjacent %d, "
             "replays %d) out_of_order=%d bad_body=%d corrupt_lines=%d unknown=%d "
             "truncated=%d decode_errors=%d"
             % (label, r["writers"], r["expected"], r["arrivals"], r["lost"], r["dup"],
                r["dup_resend"], r["dup_adjacent"], r["replays"], r["ooo"], r["bad_body"],
                r["corrupt_lines"], r["unknown"], r["truncated"], r["decode_errors"]))
        if self.fields:
            s += " field_mismatch=%d" % r["field_mismatch"]
        for wid, d in r["per_writer"].items():
            if d["lost"] or d["dup"] or d["ooo"] or d["bad_body"]:
                s += ("\n  w=%s expected=%d arrived=%d lost=%d [%s] dup=%d ooo=%d bad_body=%d"
                      % (wid, d["expected"], d["arrivals"], d["lost"], d["lost_ranges"],
                         d["dup"], d["ooo"], d["bad_body"]))
        return s


def lost_in_gaps(checker, manifests):
    """Splits each writer's lost seqs into those inside its manifest's
    gap_seqs (written into neither file by a rotation) and the others.
    Returns (gap records, lost inside gaps, lost outside gaps, text of the
    outside ranges)."""
    gap_total = inside = 0
    outside = []
    for wid, e in load_manifests(manifests).items():
        gaps = [(int(a), int(b)) for a, b in e.get("gap_seqs", [])]
        gap_total += sum(b - a + 1 for a, b in gaps)
        w = checker.writers.get(wid)
        if w is None:
            continue
        for seq in w.missing():
            if any(a <= seq <= b for a, b in gaps):
                inside += 1
            else:
                outside.append(seq)
    return gap_total, inside, len(outside), _ranges(outside)


class PrefixedAgent(vt.Agent):
    """vigiltest.Agent started as PREFIX + [vigil, --config, ...]: e.g.
    ["nice", "-n", "19"] or ["setpriv", "--reuid=65534", ...]. The prefix
    must exec the agent (same PID), so that stopping it by PID still works."""

    def __init__(self, config_text, prefix=(), **kw):
        super().__init__(config_text, **kw)
        self.prefix = list(prefix)

    def start(self, wait_ready=True, timeout=10.0):
        self._out = open(self.stdout_path, "ab")
        self._err = open(self.stderr_path, "ab")
        self.proc = subprocess.Popen(self.prefix + [vt.BIN, "--config", self.config_path] +
                                     self.extra_args, stdout=self._out, stderr=self._err,
                                     stdin=subprocess.DEVNULL, env=self.env)
        if wait_ready:
            vt.wait_for(lambda: self._alive() and vt.http_get(self.base + "/readyz")[0] == 200,
                        timeout, what="agent /readyz")
        return self


def check(output_path, manifests, quiet=False, label="logcheck"):
    """Reads the whole output once, prints the summary line, returns the dict."""
    c = Checker(output_path, manifests)
    c.update()
    r = c.result()
    if not quiet:
        print(c.summary(r, label), flush=True)
    return r


def wait_complete(checker, timeout, step=0.25, idle=None):
    """Updates the checker until every seq arrived, the timeout passed, or
    (with idle) nothing new came for `idle` seconds. True when complete."""
    deadline = time.monotonic() + timeout
    last_growth = time.monotonic()
    while True:
        if checker.update():
            last_growth = time.monotonic()
        if checker.complete():
            return True
        now = time.monotonic()
        if now >= deadline or (idle is not None and now - last_growth >= idle):
            return False
        time.sleep(step)


def agent_problems(stderr_text, limit=12):
    """The agent's stderr lines that matter: warnings and errors (the first
    `limit` of them, and how many there were in all)."""
    hits = [ln for ln in stderr_text.splitlines()
            if "level=warn" in ln or "level=error" in ln or "level=fatal" in ln]
    out = hits[:limit]
    if len(hits) > limit:
        out.append("... %d more warning/error lines" % (len(hits) - limit))
    return out


def main(argv):
    as_json = "--json" in argv
    args = [a for a in argv if a != "--json"]
    if len(args) < 2:
        print("usage: logcheck.py OUTPUT.ndjson MANIFEST.json... [--json]", file=sys.stderr)
        return 2
    r = check(args[0], args[1:], quiet=as_json)
    if as_json:
        print(json.dumps(r, indent=1, sort_keys=True))
    return 0 if r["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
