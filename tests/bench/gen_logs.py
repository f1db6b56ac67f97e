#!/usr/bin/env python3
"""Deterministic container log generator for the log-reading benchmark.

    gen_logs.py --format cri|docker --lines 1000000 --seed 1 --out FILE

Writes exactly --lines physical lines (about 200 bytes each on average) of a
mix of nginx access-log lines, JSON application lines and plain text lines
(klog, Java, free text with tabs, backslashes and non-ASCII UTF-8), on stdout
and stderr, with timestamps that increase by 1 ns to 200 us per line.

- cri: `<RFC3339Nano> <stream> <P|F> <content>` as containerd writes it
  (trailing zeros of the fraction trimmed). 5% of the messages are split into
  2 to 4 P/F fragments at arbitrary byte positions (even inside a UTF-8
  sequence); messages longer than 16 KiB are split into 16 KiB P fragments.
- docker: json-file lines `{"log":"...\\n","stream":"...","time":"..."}` as
  dockerd writes them (9-digit fraction; `<`, `>`, `&`, U+2028 and U+2029
  escaped as \\uXXXX); messages longer than 16 KiB are split into 16 KiB
  entries whose "log" has no trailing newline.

A few messages (one in 40,000, the 100th included) are 17 to 80 KiB long, so
both forms carry partial lines. Both forms carry the same sequence of
messages: the framing draws from its own random stream. Only the last message
may differ, when what it needs does not fit the lines left.

The same seed gives byte-identical output (random.Random(seed) only, no
clock, no hash order). Records expected from a file: lines - partials, where
a partial is a P line (cri) or an entry without the newline (docker). The
counts are printed and written beside the file in FILE.meta.json.
"""

import argparse
import array
import base64
import json
import os
import random
import sys
import time
from json.encoder import encode_basestring  # the C encoder where available

FORMATS = ("cri", "docker")
SPLIT_AT = 16 * 1024  # containerd's and dockerd's line buffer
SPLIT_PERCENT = 5
LONG_EVERY = 40000
LONG_FIRST = 99
# Messages are MIN_STEP ns apart at least; the fragments of one message take
# the times in between, so that framing never moves the message clock.
MIN_STEP = 16
CHUNK = 8192  # messages generated between two writes
POOL = 4096
BASE_EPOCH = 1714564800  # 2024-05-01T12:00:00Z
VERSION = 1  # bump when the output for a given seed changes

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
          "Dec")
WORDS = ("cache", "order", "cart", "payment", "session", "user", "token", "queue", "shard",
         "replica", "backend", "upstream", "config", "lease", "volume", "checkout",
         "inventory", "search", "profile", "invoice", "report", "metrics", "index")
NAMES = ("alice", "bob", "Zoë", "José", "Łukasz", "Müller", "Nguyễn", "田中", "Σοφία",
         "Ольга", "O'Brien", "\"quoted\" name")
UAS = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
       "Chrome/124.0.0.0 Safari/537.36",
       "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) "
       "Version/17.4 Safari/605.1.15",
       "curl/7.88.1", "kube-probe/1.29", "Go-http-client/1.1", "python-requests/2.31.0",
       "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0")
PLAIN_FREE = (
    "connection to {w}-{n}.{w}.svc:5432 lost, retrying in {d} ms",
    "Benutzer „{u}“ hat sich angemeldet (Sitzung {h})",
    "ユーザー {n} がログインしました: {w}",
    "worker {n} finished\t{w}\tprocessed={d}\tfailed=0",
    "loading C:\\ProgramData\\app\\{w}\\{h}.dat and \\\\server\\share\\{w}",
    "WARNING: disk usage at {p}% on /var/lib/{w} \u2014 consider cleanup \u2705",
    "panic recovered: runtime error: index out of range [{n}] with length {p}",
    "<html> & <body> tags stripped from {w} template #{n}",
    "GC pause {d}us, heap {n}MB -> {p}MB, {w} pool resized",
)
JAVA_LEVELS = ("INFO ", "WARN ", "ERROR", "DEBUG")
KLOG_LEVELS = "IIIIWE"


def _hex(rng, n):
    return "%0*x" % (n, rng.getrandbits(4 * n))


def _access_pools(rng):
    """Heads (client), requests and tails (status .. timing) of nginx lines."""
    heads, reqs, tails = [], [], []
    methods = ("GET",) * 6 + ("POST", "PUT", "DELETE", "HEAD")
    for _ in range(POOL):
        user = "-" if rng.random() < 0.9 else rng.choice(NAMES[:2])
        heads.append("10.%d.%d.%d - %s" % (rng.randrange(256), rng.randrange(256),
                                             rng.randrange(1, 255), user))
        path = "/api/v%d/%s/%d" % (rng.randrange(1, 3), rng.choice(WORDS), rng.randrange(100000))
        if rng.random() < 0.5:
            path += "?page=%d&sort=%s&q=%s" % (rng.randrange(50), rng.choice(("asc", "desc")),
                                               rng.choice(WORDS))
        reqs.append("%s %s HTTP/1.1" % (rng.choice(methods), path))
        status = rng.choice((200,) * 12 + (201, 204, 301, 304, 400, 404, 500, 502))
        ref = "-" if rng.random() < 0.5 else "https://shop.example.com/%s?ref=%s" % (
            rng.choice(WORDS), _hex(rng, 6))
        tails.append('%d %d "%s" "%s" %.3f' % (status, rng.randrange(0, 60000), ref,
                                               rng.choice(UAS), rng.random() / 4))
    return heads, reqs, tails


def _json_pools(rng):
    """Heads ('{"level":..,"ts":"') and tails (after the timestamp) of JSON lines."""
    heads, tails = [], []
    for _ in range(POOL):
        level = rng.choice(("info",) * 6 + ("debug", "warn", "error"))
        heads.append('{"level":"%s","ts":"' % level)
        fields = {"logger": "%s.%s" % (rng.choice(WORDS), rng.choice(WORDS)),
                  "msg": "%s %s" % (rng.choice(WORDS), rng.choice(("done", "started", "failed",
                                                                   "skipped", "retried"))),
                  "request_id": _hex(rng, 16),
                  "user": {"id": rng.randrange(1000000), "name": rng.choice(NAMES)},
                  "duration_ms": round(rng.random() * 500, 3)}
        if rng.random() < 0.3:
            fields["error"] = "dial tcp 10.0.%d.%d:443: i/o timeout\n\tat %s" % (
                rng.randrange(256), rng.randrange(256), rng.choice(WORDS))
        tails.append('Z",' + json.dumps(fields, ensure_ascii=rng.random() < 0.5,
                                        separators=(",", ":"))[1:])
    return heads, tails


def _plain_pools(rng):
    """Plain lines: klog prefixes (time filled per line), Java lines, free text."""
    klog, other = [], []
    for _ in range(POOL):
        klog.append('%s] "%s" pod="%s/%s-%s" attempt=%d' % (
            "%s.go:%d" % (rng.choice(WORDS), rng.randrange(1, 900)),
            rng.choice(("Reconciling", "Syncing pod", "Probe failed", "Volume mounted")),
            rng.choice(WORDS), rng.choice(WORDS), _hex(rng, 5), rng.randrange(1, 6)))
        kw = {"w": rng.choice(WORDS), "n": rng.randrange(10000), "d": rng.randrange(100000),
              "u": rng.choice(NAMES), "h": _hex(rng, 8), "p": rng.randrange(100)}
        if rng.random() < 0.4:
            other.append("%s [pool-%d-thread-%d] c.e.%s.%sClient - %s" % (
                rng.choice(JAVA_LEVELS), rng.randrange(1, 9), rng.randrange(1, 33), kw["w"],
                kw["w"].capitalize(), rng.choice(PLAIN_FREE).format(**kw)))
        else:
            other.append(rng.choice(PLAIN_FREE).format(**kw))
    return klog, other


def long_message(seed, index):
    """An ASCII line of 17 to 80 KiB (never a multiple of 16 KiB), from (seed, index)."""
    rng = random.Random(seed * 1000003 + index)
    size = rng.randrange(17 * 1024, 80 * 1024)
    if size % SPLIT_AT == 0:
        size += 1
    blob = base64.b64encode(rng.randbytes(size)).decode("ascii")
    head = '{"level":"info","msg":"large payload","index":%d,"payload":"' % index
    body = head + blob
    return body[:size - 2] + '"}'


class Clock:
    """Increasing nanosecond timestamps with their text forms, cached per second."""

    def __init__(self):
        self.sec = BASE_EPOCH
        self.ns = 0
        self._set_second()

    def _set_second(self):
        t = time.gmtime(self.sec)
        self.iso = time.strftime("%Y-%m-%dT%H:%M:%S", t)
        self.nginx = "%02d/%s/%04d:%s +0000" % (t.tm_mday, MONTHS[t.tm_mon - 1], t.tm_year,
                                                time.strftime("%H:%M:%S", t))
        self.klog = time.strftime("%m%d %H:%M:%S", t)

    def advance(self, ns):
        self.ns += ns
        if self.ns >= 1000000000:
            self.sec += self.ns // 1000000000
            self.ns %= 1000000000
            self._set_second()

    def _at(self, offset):
        """(second text, nanoseconds) of now + offset ns, offset < MIN_STEP."""
        ns = self.ns + offset
        if ns < 1000000000:
            return self.iso, ns
        t = time.gmtime(self.sec + 1)
        return time.strftime("%Y-%m-%dT%H:%M:%S", t), ns - 1000000000

    def cri(self, offset=0):
        """RFC3339Nano as Go prints it: trailing zeros of the fraction trimmed."""
        iso, ns = (self.iso, self.ns) if offset == 0 else self._at(offset)
        if ns == 0:
            return iso + "Z"
        return "%s.%sZ" % (iso, ("%09d" % ns).rstrip("0"))

    def docker(self, offset=0):
        """RFC3339NanoFixed, as dockerd's json-file driver prints it."""
        iso, ns = (self.iso, self.ns) if offset == 0 else self._at(offset)
        return "%s.%09dZ" % (iso, ns)


class Messages:
    """The message stream: the same sequence for both formats, drawn in chunks."""

    def __init__(self, seed):
        self.seed = seed
        self.rng = random.Random(seed)
        self.access = _access_pools(self.rng)
        self.json = _json_pools(self.rng)
        self.plain = _plain_pools(self.rng)
        self.index = 0
        self.vals = array.array("I")
        self.pos = 0

    def _refill(self):
        self.vals = array.array("I")
        self.vals.frombytes(self.rng.randbytes(16 * CHUNK))
        if sys.byteorder != "little":
            self.vals.byteswap()
        self.pos = 0

    def next(self, clock):
        """Returns (message text, stream, is_long) and advances the clock."""
        if self.pos >= len(self.vals):
            self._refill()
        a, b, c, d = self.vals[self.pos:self.pos + 4]
        self.pos += 4
        index = self.index
        self.index += 1
        clock.advance(c % 200000 + MIN_STEP)
        i1, i2, i3 = b & 0xFFF, (b >> 12) & 0xFFF, d & 0xFFF
        cat, roll = a % 100, (d >> 12) % 1000
        if index % LONG_EVERY == LONG_FIRST:
            return long_message(self.seed, index), "stdout", True
        if roll == 999:
            return "", "stdout", False  # containers do print empty lines
        if cat < 45:
            h, r, t = self.access
            return ('%s [%s] "%s" %s' % (h[i1], clock.nginx, r[i2], t[i3]), "stdout", False)
        stream = "stderr" if roll < (100 if cat < 80 else 400) else "stdout"
        if cat < 80:
            h, t = self.json
            return ("%s%s.%03d%s" % (h[i1], clock.iso, clock.ns // 1000000, t[i2]), stream,
                    False)
        klog, other = self.plain
        if i3 & 1:
            return ("%s%s.%06d       1 %s" % (KLOG_LEVELS[i3 % 6], clock.klog, clock.ns // 1000,
                                               klog[i1]), stream, False)
        return other[i2], stream, False

    def short_instead(self, clock):
        """A message that fits one line, for the end of the file."""
        while True:
            msg, stream, is_long = self.next(clock)
            if not is_long:
                return msg, stream


def _cri_fragments(msg, framing):
    """Byte fragments of one message as containerd would write it."""
    raw = msg.encode("utf-8")
    if len(raw) > SPLIT_AT:
        return [raw[i:i + SPLIT_AT] for i in range(0, len(raw), SPLIT_AT)]
    if len(raw) >= 2 and framing.random() * 100 < SPLIT_PERCENT:
        n = framing.randrange(2, 5)
        cuts = sorted(framing.sample(range(1, len(raw)), min(n - 1, len(raw) - 1)))
        edges = [0] + cuts + [len(raw)]
        return [raw[edges[i]:edges[i + 1]] for i in range(len(edges) - 1)]
    return None


def _docker_escape(text):
    """JSON string body as dockerd writes it (HTML-safe, U+2028/9 escaped)."""
    s = encode_basestring(text)[1:-1]
    if "<" in s or ">" in s or "&" in s or "\u2028" in s or "\u2029" in s:
        s = (s.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
             .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))
    return s


def _emit_cri(out, msg, stream, clock, framing, room):
    """Appends the lines of one message; returns (lines, partials) or None if > room."""
    frags = _cri_fragments(msg, framing)
    if frags is None:
        out.append("%s %s F %s\n" % (clock.cri(), stream, msg))
        return 1, 0
    if len(frags) > room:
        if len(msg.encode("utf-8")) > SPLIT_AT:
            return None
        frags = frags[:room - 1] + [b"".join(frags[room - 1:])]
    for i, frag in enumerate(frags):
        tag = "F" if i == len(frags) - 1 else "P"
        out.append("%s %s %s %s\n" % (clock.cri(i), stream, tag,
                                      frag.decode("utf-8", "surrogateescape")))
    return len(frags), len(frags) - 1


def _emit_docker(out, msg, stream, clock, room):
    """Appends the json-file entries of one message; same contract as _emit_cri."""
    if len(msg) <= SPLIT_AT or not msg.isascii():
        out.append('{"log":"%s\\n","stream":"%s","time":"%s"}\n'
                   % (_docker_escape(msg), stream, clock.docker()))
        return 1, 0
    parts = [msg[i:i + SPLIT_AT] for i in range(0, len(msg), SPLIT_AT)]
    if len(parts) > room:
        return None
    for i, part in enumerate(parts):
        nl = "\\n" if i == len(parts) - 1 else ""
        out.append('{"log":"%s%s","stream":"%s","time":"%s"}\n'
                   % (_docker_escape(part), nl, stream, clock.docker(i)))
    return len(parts), len(parts) - 1


def generate(fmt, lines, seed, out_path):
    """Writes the file (through a temporary name) and its FILE.meta.json.

    Returns the meta dict: format, seed, lines, bytes, partials, records,
    messages, long_messages, version."""
    if fmt not in FORMATS:
        raise ValueError("format must be one of %s" % ", ".join(FORMATS))
    msgs, clock = Messages(seed), Clock()
    framing = random.Random(seed ^ 0x5EED)
    done = partials = nbytes = nmsgs = nlong = 0
    tmp = out_path + ".tmp"
    with open(tmp, "wb") as f:
        while done < lines:
            out = []
            for _ in range(CHUNK):
                if done >= lines:
                    break
                room = lines - done
                msg, stream, is_long = msgs.next(clock)
                for attempt in range(2):
                    if fmt == "cri":
                        r = _emit_cri(out, msg, stream, clock, framing, room)
                    else:
                        r = _emit_docker(out, msg, stream, clock, room)
                    if r is not None:
                        break
                    msg, stream = msgs.short_instead(clock)
                    is_long = False
                done += r[0]
                partials += r[1]
                nmsgs += 1
                nlong += is_long
            data = "".join(out).encode("utf-8", "surrogateescape")
            nbytes += len(data)
            f.write(data)
    os.replace(tmp, out_path)
    meta = {"format": fmt, "seed": seed, "lines": done, "bytes": nbytes, "partials": partials,
            "records": done - partials, "messages": nmsgs, "long_messages": nlong,
            "version": VERSION}
    with open(out_path + ".meta.json", "w") as f:
        json.dump(meta, f, sort_keys=True)
        f.write("\n")
    return meta


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--format", choices=FORMATS, required=True)
    ap.add_argument("--lines", type=int, default=1000000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    if args.lines < 1:
        ap.error("--lines must be at least 1")
    t0 = time.monotonic()
    meta = generate(args.format, args.lines, args.seed, args.out)
    print("format=%s lines=%d bytes=%d partials=%d records=%d long=%d seconds=%.2f"
          % (meta["format"], meta["lines"], meta["bytes"], meta["partials"], meta["records"],
             meta["long_messages"], time.monotonic() - t0))


if __name__ == "__main__":
    main()
