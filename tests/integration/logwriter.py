"""Writes numbered container log lines the way container runtimes do, and
rotates the file the way kubelet, logrotate and dockerd do, so that the
container_logs collector can be checked for lost, duplicated or reordered
lines (logcheck.py reads the other end).

Every record's body is "w=<writer id> seq=<n> <padding>", padded to a set
length with a pattern that depends only on (seq, length), so that a checker
can rebuild every body exactly. Lines are written in small batches every few
milliseconds (one write(2) per batch), at a set rate, bounded by a duration
and a count. At the end a manifest (JSON: writer id -> last seq, lines,
rotations...) is written.

Formats: cri ("<RFC3339Nano> stdout F <body>", a fraction of the records
split into P fragments plus a final F one), docker (json-file,
{"log":"<body>\\n","stream":"stdout","time":"..."}, records longer than
16 KiB split into 16 KiB pieces as dockerd does) and raw ("<body>").

Rotation styles, every `rotate_every` seconds:
  none
  rename       x.log -> x.log.<n> (n counts up, as kubelet's timestamped
               names do), a new x.log; at most `keep` rotated files are
               kept, older ones are deleted
  copytruncate x.log copied to x.log.1 (through a temporary name, then
               renamed over the old copy), then x.log truncated; nothing is
               written between the copy and the truncation
  docker       x-json.log -> x-json.log.1 -> .2 ... (dockerd's max-file:
               `keep` rotated files), a new x-json.log
  delete       x.log deleted while being read, a new x.log created
  inodereuse   x.log deleted and a new one created that has the same inode
               number (waits, bounded by reuse_wait, for the reader to
               close the old one; how often it worked, after how long, and
               with reader_pid whether a miss was the reader's doing)
  kubelet      0.log -> 0.log.<YYYYMMDD-HHMMSS>.<microseconds> (UTC; names
               unique and sorting in time order), a new 0.log; at most
               `keep` rotated files, the oldest deleted; with gzip_rotated
               every rotated file but the newest is compressed to
               <name>.gz (written as <name>.gz.tmp, renamed, then the plain
               file deleted), as kubelet's container log manager does
  logrotate_copytruncate
               logrotate's numbered copies: x.log.<keep> deleted, .<n> ->
               .<n+1> (plain or .gz), x.log copied to x.log.1 (directly, as
               logrotate does: the copy is seen empty, then growing; with
               copy_tmp through x.log.1.tmp, then renamed), then x.log
               truncated; with between_records N,
               N records are written after the copy and before the
               truncation: they are in neither file (the manifest lists
               them as gap_seqs); with gzip_rotated, .2 and older are
               compressed (logrotate's compress + delaycompress)

SIGUSR1 asks for one rotation now (at the next batch), whatever the timer
says: a test can make sure a rotation happens while the reader is down.

Torn writes (torn_every N): every Nth batch is written in two halves cut
inside a line, torn_pause_ms apart, as a reader may see a large write half
done; a reader must hold the half line until its end comes.

Run as its own process (`python3 logwriter.py --help`); SIGTERM or SIGINT
ends it early, still writing the manifest. Stdlib only."""

import argparse
import gzip
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time

ROTATIONS = ("none", "rename", "copytruncate", "docker", "delete", "inodereuse", "kubelet",
             "logrotate_copytruncate")
FORMATS = ("cri", "docker", "raw")
DOCKER_CHUNK = 16 * 1024

_PATTERN_UNIT = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_pattern = _PATTERN_UNIT * 4


def _pattern_slice(start, n):
    """n characters of the repeating pattern from position start."""
    global _pattern
    need = start + n
    if len(_pattern) < need:
        _pattern = _PATTERN_UNIT * (need // len(_PATTERN_UNIT) + 2)
    return _pattern[start:need]


def body_length(seq, line_len, long_every=0, long_len=0):
    """The body length of record seq: long_len for every long_every-th record."""
    if long_every > 0 and seq % long_every == 0:
        return long_len
    return line_len


def make_body(writer_id, seq, line_len, long_every=0, long_len=0):
    """The exact body of record seq: "w=<id> seq=<n> " then the padding that
    brings it to its length (never shorter than the prefix plus one char)."""
    head = "w=%s seq=%d " % (writer_id, seq)
    n = body_length(seq, line_len, long_every, long_len) - len(head)
    return head + _pattern_slice(seq % len(_PATTERN_UNIT), max(n, 1))


def rfc3339nano(ns):
    """UNIX nanoseconds as RFC 3339 with nine fraction digits, UTC."""
    sec, frac = divmod(ns, 1000000000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec)) + ".%09dZ" % frac


def _json_str(s):
    return json.dumps(s, ensure_ascii=False)


class LogWriter:
    """One writer: one file, one id, one format and one rotation style."""

    def __init__(self, path, writer_id, fmt="cri", rate=20000, duration=10.0, count=0,
                 line_len=100, batch_ms=5.0, rotate="none", rotate_every=1.0, keep=5,
                 partial_frac=0.0, partial_pieces=2, docker_split=False, long_every=0,
                 long_len=40000, stream="stdout", seed=1, reuse_wait=2.0, start_seq=1,
                 reader_pid=0, torn_every=0, torn_pause_ms=20.0, gzip_rotated=False,
                 between_records=0, copy_tmp=False):
        if fmt not in FORMATS:
            raise ValueError("format must be one of %s" % (FORMATS,))
        if rotate not in ROTATIONS:
            raise ValueError("rotate must be one of %s" % (ROTATIONS,))
        self.path = path
        self.id = writer_id
        self.fmt = fmt
        self.rate = float(rate)
        self.duration = float(duration)
        self.count = int(count)
        self.line_len = int(line_len)
        self.batch_s = max(float(batch_ms), 0.5) / 1000.0
        self.rotate = rotate
        self.rotate_every = float(rotate_every)
        self.keep = max(int(keep), 1)
        self.partial_frac = float(partial_frac)
        self.partial_pieces = max(int(partial_pieces), 1)
        self.docker_split = bool(docker_split)
        self.long_every = int(long_every)
        self.long_len = int(long_len)
        self.stream = stream
        self.rng = random.Random(seed)
        self.reuse_wait = float(reuse_wait)
        self.seq = int(start_seq) - 1  # last seq written
        self.start_seq = int(start_seq)
        self.lines = 0          # physical lines, fragments included
        self.bytes = 0
        self.partials = 0       # records written in several pieces
        self.rotations = 0
        self.reuse_tries = 0
        self.reuse_hits = 0
        self.reuse_waits = []   # seconds until the old inode came back, or a miss:
        # -1 the reader still held the deleted file, -2 it did not (the number went elsewhere)
        self.reader_pid = int(reader_pid)
        self.torn_every = int(torn_every)
        self.torn_pause = float(torn_pause_ms) / 1000.0
        self.batches = 0
        self.gzip_rotated = bool(gzip_rotated)
        self.between_records = max(int(between_records), 0)
        self.copy_tmp = bool(copy_tmp)
        self.gap_seqs = []      # [first, last] of records written into neither file
        self.rotated = []       # kubelet: rotated file names, oldest first
        self.last_rotated_name = ""
        self.gzipped = 0        # rotated files compressed
        self.deleted = 0        # rotated files deleted (beyond keep)
        self.rotate_requested = False
        self.torn = 0           # batches written in two halves, cut inside a line
        self.fd = -1
        self.stopped = False
        self.elapsed = 0.0

    # ------------------------------------------------------------ encoding
    def _cri(self, ts, body):
        if self.partial_frac > 0 and len(body) > self.partial_pieces and \
                self.rng.random() < self.partial_frac:
            self.partials += 1
            cuts = sorted(self.rng.sample(range(1, len(body)), self.partial_pieces))
            pieces, prev = [], 0
            for c in cuts:
                pieces.append("%s %s P %s\n" % (ts, self.stream, body[prev:c]))
                prev = c
            pieces.append("%s %s F %s\n" % (ts, self.stream, body[prev:]))
            return pieces
        return ["%s %s F %s\n" % (ts, self.stream, body)]

    def _docker(self, ts, body):
        tail = ',"stream":"%s","time":"%s"}\n' % (self.stream, ts)
        if self.docker_split and len(body) > DOCKER_CHUNK:
            self.partials += 1
            out = []
            for i in range(0, len(body), DOCKER_CHUNK):
                piece = body[i:i + DOCKER_CHUNK]
                last = i + DOCKER_CHUNK >= len(body)
                out.append('{"log":' + _json_str(piece + "\n" if last else piece) + tail)
            return out
        return ['{"log":' + _json_str(body + "\n") + tail]

    def encode(self, seq, ts):
        """The physical lines of record seq, each ending in '\\n'."""
        body = make_body(self.id, seq, self.line_len, self.long_every, self.long_len)
        if self.fmt == "cri":
            return self._cri(ts, body)
        if self.fmt == "docker":
            return self._docker(ts, body)
        return [body + "\n"]

    # ------------------------------------------------------------ files
    def _open(self):
        self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC,
                          0o644)

    def _close(self):
        if self.fd >= 0:
            os.close(self.fd)
        self.fd = -1

    def _rotate_rename(self):
        self._close()
        os.rename(self.path, "%s.%d" % (self.path, self.rotations + 1))
        old = "%s.%d" % (self.path, self.rotations + 1 - self.keep)
        if self.rotations + 1 - self.keep >= 1 and os.path.exists(old):
            os.unlink(old)
        self._open()

    def _rotate_copytruncate(self):
        # the writer is paused here by construction: no line is written
        # between the copy and the truncation, so the rotation loses nothing
        tmp = self.path + ".1.tmp"
        shutil.copyfile(self.path, tmp)
        os.rename(tmp, self.path + ".1")
        os.ftruncate(self.fd, 0)

    def _rotate_docker(self):
        self._close()
        last = "%s.%d" % (self.path, self.keep)
        if os.path.exists(last):
            os.unlink(last)
        for i in range(self.keep - 1, 0, -1):
            src = "%s.%d" % (self.path, i)
            if os.path.exists(src):
                os.rename(src, "%s.%d" % (self.path, i + 1))
        os.rename(self.path, self.path + ".1")
        self._open()

    def _gzip(self, path):
        """path -> path.gz through path.gz.tmp, then path deleted."""
        tmp = path + ".gz.tmp"
        with open(path, "rb") as src, open(tmp, "wb") as raw:
            with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=1,
                               mtime=0) as gz:
                shutil.copyfileobj(src, gz, 1 << 20)
        os.rename(tmp, path + ".gz")
        os.unlink(path)
        self.gzipped += 1

    def _kubelet_name(self):
        """0.log.<YYYYMMDD-HHMMSS>.<microseconds>, later than the last one."""
        now = time.time()
        while True:
            sec = int(now)
            name = "%s.%s.%06d" % (self.path, time.strftime("%Y%m%d-%H%M%S", time.gmtime(sec)),
                                   int((now - sec) * 1e6))
            if name > self.last_rotated_name and not os.path.exists(name):
                self.last_rotated_name = name
                return name
            now += 1e-6

    def _rotate_kubelet(self):
        self._close()
        name = self._kubelet_name()
        os.rename(self.path, name)
        self._open()
        if self.gzip_rotated and self.rotated:
            prev = self.rotated[-1]
            if not prev.endswith(".gz") and os.path.exists(prev):
                self._gzip(prev)
                self.rotated[-1] = prev + ".gz"
        self.rotated.append(name)
        while len(self.rotated) > self.keep:
            old = self.rotated.pop(0)
            if os.path.exists(old):
                os.unlink(old)
                self.deleted += 1

    def _numbered(self, n):
        """x.log.<n> as it is on disk now (plain or .gz), or None."""
        for name in ("%s.%d" % (self.path, n), "%s.%d.gz" % (self.path, n)):
            if os.path.exists(name):
                return name
        return None

    def _rotate_logrotate_copytruncate(self):
        old = self._numbered(self.keep)
        if old is not None:
            os.unlink(old)
            self.deleted += 1
        for i in range(self.keep - 1, 0, -1):
            src = self._numbered(i)
            if src is not None:
                os.rename(src, src.replace("%s.%d" % (self.path, i),
                                           "%s.%d" % (self.path, i + 1), 1))
        if self.gzip_rotated:
            second = "%s.2" % self.path
            if os.path.exists(second):
                self._gzip(second)
        if self.copy_tmp:
            shutil.copyfile(self.path, self.path + ".1.tmp")
            os.rename(self.path + ".1.tmp", self.path + ".1")
        else:
            shutil.copyfile(self.path, self.path + ".1")
        if self.between_records > 0:
            first = self.seq + 1
            self._batch(self.between_records)
            self.gap_seqs.append([first, self.seq])
        os.ftruncate(self.fd, 0)

    def _rotate_delete(self):
        self._close()
        os.unlink(self.path)
        self._open()

    def _rotate_inodereuse(self):
        """Deletes the file, then creates candidates under a name the
        collector does not match until one gets the old inode number (it is
        free only once every reader closed the old file) or reuse_wait is
        over; the candidate then takes the file's name."""
        old_ino = os.fstat(self.fd).st_ino
        self._close()
        os.unlink(self.path)
        cand = os.path.join(os.path.dirname(self.path) or ".",
                            "." + os.path.basename(self.path) + ".cand")
        deadline = time.monotonic() + self.reuse_wait
        self.reuse_tries += 1
        tries = int(self.reuse_wait / 0.005) + 1
        fd = -1
        for attempt in range(tries):
            fd = os.open(cand, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC,
                         0o644)
            if os.fstat(fd).st_ino == old_ino:
                self.reuse_hits += 1
                self.reuse_waits.append(round(self.reuse_wait - (deadline - time.monotonic()), 3))
                break
            if attempt + 1 >= tries or time.monotonic() >= deadline or self.stopped:
                self.reuse_waits.append(-1 if self._reader_holds(self.path) else -2)
                break
            # a fresh inode: give it back and try again once the reader let go
            os.close(fd)
            os.unlink(cand)
            time.sleep(0.005)
        os.rename(cand, self.path)
        self.fd = fd

    def _reader_holds(self, path):
        """True when reader_pid has the deleted file `path` open (unknown: True)."""
        if self.reader_pid <= 0:
            return True
        fd_dir = "/proc/%d/fd" % self.reader_pid
        try:
            for name in os.listdir(fd_dir):
                try:
                    if os.readlink(os.path.join(fd_dir, name)) == path + " (deleted)":
                        return True
                except OSError:  # closed meanwhile
                    continue
        except OSError:
            return True
        return False

    def rotate_now(self):
        """Rotates the file once in the configured style."""
        getattr(self, "_rotate_" + self.rotate)()
        self.rotations += 1
        self.rotate_requested = False

    # ------------------------------------------------------------ loop
    def _write_all(self, data):
        view = memoryview(data)
        while view:
            n = os.write(self.fd, view)
            view = view[n:]
        self.bytes += len(data)

    def _batch(self, n):
        now = time.time_ns()
        parts = []
        for i in range(n):
            self.seq += 1
            lines = self.encode(self.seq, rfc3339nano(now + i))
            self.lines += len(lines)
            parts.extend(lines)
        if not parts:
            return
        data = "".join(parts).encode()
        self.batches += 1
        if self.torn_every > 0 and self.batches % self.torn_every == 0 and len(data) > 2:
            # a write cut inside a line, as a runtime's large or interrupted
            # write can be: a reader sees half a line for torn_pause
            cut = self.rng.randrange(1, len(data) - 1)
            while cut > 1 and data[cut - 1] == 0x0A:
                cut -= 1
            self.torn += 1
            self._write_all(data[:cut])
            time.sleep(self.torn_pause)
            self._write_all(data[cut:])
            return
        self._write_all(data)

    def run(self):
        """Writes until the duration, the count or stop(); returns the manifest entry."""
        self._open()
        t0 = time.monotonic()
        next_rot = t0 + self.rotate_every
        end = t0 + self.duration if self.duration > 0 else float("inf")
        written = 0
        max_batch = max(int(self.rate * 0.2), 1)  # catch up in bounded bites
        try:
            while not self.stopped:
                now = time.monotonic()
                if now >= end or (self.count > 0 and written >= self.count):
                    break
                if self.rotate != "none" and (now >= next_rot or self.rotate_requested):
                    self.rotate_now()
                    next_rot = time.monotonic() + self.rotate_every
                due = int((now - t0) * self.rate) - written
                if self.count > 0:
                    due = min(due, self.count - written)
                due = min(due, max_batch)
                if due > 0:
                    self._batch(due)
                    written += due
                # records written inside a rotation (between_records) count too
                written = max(written, self.seq - self.start_seq + 1)
                time.sleep(self.batch_s)
        finally:
            self.elapsed = time.monotonic() - t0
            self._close()
        return self.entry()

    def stop(self):
        self.stopped = True

    def entry(self):
        """This writer's manifest entry."""
        records = self.seq - self.start_seq + 1
        return {"path": self.path, "format": self.fmt, "first_seq": self.start_seq,
                "last_seq": self.seq, "records": records, "lines": self.lines,
                "bytes": self.bytes, "partials": self.partials, "rotations": self.rotations,
                "rotate": self.rotate, "torn_writes": self.torn,
                "inode_reuse_tries": self.reuse_tries,
                "inode_reuses": self.reuse_hits, "inode_reuse_waits_s": self.reuse_waits,
                "gap_seqs": self.gap_seqs,
                "gap_records": sum(b - a + 1 for a, b in self.gap_seqs),
                "gzipped": self.gzipped, "rotated_deleted": self.deleted,
                "line_len": self.line_len,
                "long_every": self.long_every, "long_len": self.long_len,
                "elapsed_s": round(self.elapsed, 3),
                "rate": round(records / self.elapsed, 1) if self.elapsed > 0 else 0.0}


def write_docker_file(path, writer_id, count, line_len=100, split_frac=0.05, pieces=(2, 3),
                      seed=1, stream="stdout", start_seq=1):
    """Writes `count` numbered records at once (not at a rate) as one Docker
    json-file; a `split_frac` of them, any length, are written in 2 or 3
    pieces ("log" without the final "\\n" until the last piece), as dockerd
    splits lines over 16 KiB. Bodies need no JSON escaping (the pattern is
    alphanumeric). Returns the manifest entry."""
    rng = random.Random(seed)
    t0 = time.time_ns()
    split = lines = 0
    out = []
    size = 0
    with open(path, "wb") as f:
        for seq in range(start_seq, start_seq + count):
            body = make_body(writer_id, seq, line_len)
            tail = '","stream":"%s","time":"%s"}\n' % (stream, rfc3339nano(t0 + seq * 1000))
            if rng.random() < split_frac:
                n = rng.choice(pieces)
                cuts = sorted(rng.sample(range(1, len(body)), n - 1))
                prev = 0
                for c in cuts:
                    out.append('{"log":"' + body[prev:c] + tail)
                    prev = c
                out.append('{"log":"' + body[prev:] + "\\n" + tail)
                split += 1
                lines += n
            else:
                out.append('{"log":"' + body + "\\n" + tail)
                lines += 1
            if len(out) >= 20000:
                data = "".join(out).encode()
                size += len(data)
                f.write(data)
                out = []
        data = "".join(out).encode()
        size += len(data)
        f.write(data)
    return {"path": path, "format": "docker", "first_seq": start_seq,
            "last_seq": start_seq + count - 1, "records": count, "lines": lines,
            "bytes": size, "partials": split, "rotations": 0, "rotate": "none",
            "line_len": line_len, "long_every": 0, "long_len": 0}


def write_manifest(path, entries):
    """Writes {writer id: entry} atomically (temporary name, then rename)."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(entries, f, indent=1, sort_keys=True)
    os.rename(tmp, path)


def spawn(path, writer_id, manifest, stdout_path, **opts):
    """Starts a writer as its own process (stop it by PID: stop_process()).
    opts are the CLI options, '_' for '-': rate=20000, docker_split=True."""
    args = [sys.executable, os.path.abspath(__file__), "--path", path, "--id", writer_id,
            "--manifest", manifest]
    for k, v in opts.items():
        if v is None or v is False:
            continue
        args.append("--" + k.replace("_", "-"))
        if v is not True:
            args.append(str(v))
    with open(stdout_path, "ab") as out:
        return subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)


def stop_process(proc, timeout=5.0):
    """SIGTERM to proc's PID, then SIGKILL if it is still there after timeout."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout)


def _args(argv):
    p = argparse.ArgumentParser(description="writes numbered container log lines")
    p.add_argument("--path", required=True, help="the log file (x.log, x-json.log)")
    p.add_argument("--id", required=True, help="writer id, in every body as w=<id>")
    p.add_argument("--format", choices=FORMATS, default="cri")
    p.add_argument("--rate", type=float, default=20000, help="records per second")
    p.add_argument("--duration", type=float, default=10.0, help="seconds (0: no limit)")
    p.add_argument("--count", type=int, default=0, help="records at most (0: no limit)")
    p.add_argument("--line-len", type=int, default=100, help="body length")
    p.add_argument("--batch-ms", type=float, default=5.0, help="milliseconds between batches")
    p.add_argument("--rotate", choices=ROTATIONS, default="none")
    p.add_argument("--rotate-every", type=float, default=1.0, help="seconds")
    p.add_argument("--keep", type=int, default=5, help="rotated files kept")
    p.add_argument("--partial-frac", type=float, default=0.0,
                   help="cri: fraction of records written as partial fragments")
    p.add_argument("--partial-pieces", type=int, default=2,
                   help="cri: P fragments before the final F one")
    p.add_argument("--docker-split", action="store_true",
                   help="docker: split bodies over 16 KiB as dockerd does")
    p.add_argument("--long-every", type=int, default=0,
                   help="every Nth record gets a body of --long-len bytes")
    p.add_argument("--long-len", type=int, default=40000)
    p.add_argument("--stream", default="stdout")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--reuse-wait", type=float, default=2.0,
                   help="inodereuse: seconds to wait for the old inode to be free")
    p.add_argument("--reader-pid", type=int, default=0,
                   help="inodereuse: the reader, to tell why an inode did not come back")
    p.add_argument("--torn-every", type=int, default=0,
                   help="every Nth batch is written in two halves cut inside a line")
    p.add_argument("--torn-pause-ms", type=float, default=20.0,
                   help="pause between the two halves of a torn write")
    p.add_argument("--gzip-rotated", action="store_true",
                   help="kubelet: compress every rotated file but the newest to .gz; "
                        "logrotate_copytruncate: compress .2 and older")
    p.add_argument("--between-records", type=int, default=0,
                   help="logrotate_copytruncate: records written between the copy and "
                        "the truncation (in neither file)")
    p.add_argument("--copy-tmp", action="store_true",
                   help="logrotate_copytruncate: copy through <x>.1.tmp, then rename")
    p.add_argument("--manifest", help="where the manifest JSON goes at the end")
    return p.parse_args(argv)


def main(argv=None):
    a = _args(argv)
    w = LogWriter(a.path, a.id, fmt=a.format, rate=a.rate, duration=a.duration,
                  count=a.count, line_len=a.line_len, batch_ms=a.batch_ms, rotate=a.rotate,
                  rotate_every=a.rotate_every, keep=a.keep, partial_frac=a.partial_frac,
                  partial_pieces=a.partial_pieces, docker_split=a.docker_split,
                  long_every=a.long_every, long_len=a.long_len, stream=a.stream,
                  seed=a.seed, reuse_wait=a.reuse_wait, reader_pid=a.reader_pid,
                  torn_every=a.torn_every, torn_pause_ms=a.torn_pause_ms,
                  gzip_rotated=a.gzip_rotated, between_records=a.between_records,
                  copy_tmp=a.copy_tmp)

    def on_rotate(signum, frame):
        w.rotate_requested = True

    def on_signal(signum, frame):
        w.stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGUSR1, on_rotate)
    e = w.run()
    if a.manifest:
        write_manifest(a.manifest, {a.id: e})
    print("logwriter w=%s format=%s rotate=%s records=%d lines=%d bytes=%d rate=%.0f/s "
          "rotations=%d partials=%d torn_writes=%d inode_reuses=%d/%d elapsed=%.2fs%s"
          % (a.id, a.format, a.rotate, e["records"], e["lines"], e["bytes"], e["rate"],
             e["rotations"], e["partials"], e["torn_writes"], e["inode_reuses"],
             e["inode_reuse_tries"], e["elapsed_s"],
             (" gzipped=%d rotated_deleted=%d gap_records=%d"
              % (e["gzipped"], e["rotated_deleted"], e["gap_records"])
              if a.rotate in ("kubelet", "logrotate_copytruncate") else "")), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
