"""A Slack incoming-webhook stand-in on loopback that checks payloads as
Slack does: a JSON object, `text` of at most 4,000 characters, at most 50
blocks (top level and in attachments together), and each block of a known
type and shape within Slack's limits. A bad payload is answered
400 invalid_blocks / invalid_payload as Slack answers it.

Webhook paths choose a behaviour:
  /services/ok/...     accepted ("ok")
  /services/429/N/...  the first N posts answered 429 with Retry-After: 1
  /services/429d/N/... the same with Retry-After as an HTTP date 2 s ahead
  /services/bad/...    always 400 invalid_payload
  /services/slow/...   answered after SLOW_S seconds (a peer that hangs)
Every post is recorded (path, status, payload) in `posts`.
Run under /usr/bin/python3 (stdlib only)."""

import email.utils
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TEXT_MAX = 4000
BLOCKS_MAX = 50
SECTION_MAX = 3000
HEADER_MAX = 150
FIELD_MAX = 2000
FIELDS_MAX = 10
URL_MAX = 3000
BODY_MAX = 1 << 20
SLOW_S = 20


def _text_obj(t, kinds, limit, where):
    if not isinstance(t, dict) or t.get("type") not in kinds:
        return "%s: text object of type %s expected" % (where, "/".join(kinds))
    if not isinstance(t.get("text"), str) or not t["text"]:
        return "%s: empty text" % where
    if len(t["text"]) > limit:
        return "%s: text of %d characters, more than %d" % (where, len(t["text"]), limit)
    return None


def _block(b, where):
    if not isinstance(b, dict):
        return "%s: not an object" % where
    kind = b.get("type")
    if kind == "header":
        return _text_obj(b.get("text"), ("plain_text",), HEADER_MAX, where + ".text")
    if kind == "section":
        if "text" not in b and "fields" not in b:
            return "%s: a section needs text or fields" % where
        if "text" in b:
            err = _text_obj(b["text"], ("mrkdwn", "plain_text"), SECTION_MAX, where + ".text")
            if err:
                return err
        fields = b.get("fields", [])
        if not isinstance(fields, list) or len(fields) > FIELDS_MAX:
            return "%s: at most %d fields" % (where, FIELDS_MAX)
        for i, f in enumerate(fields):
            err = _text_obj(f, ("mrkdwn", "plain_text"), FIELD_MAX, "%s.fields[%d]" % (where, i))
            if err:
                return err
        return None
    if kind == "context":
        els = b.get("elements")
        if not isinstance(els, list) or not 1 <= len(els) <= 10:
            return "%s: a context holds 1 to 10 elements" % where
        for i, e in enumerate(els):
            err = _text_obj(e, ("mrkdwn", "plain_text"), SECTION_MAX, "%s.elements[%d]" % (where, i))
            if err:
                return err
        return None
    if kind == "actions":
        els = b.get("elements")
        if not isinstance(els, list) or not 1 <= len(els) <= 25:
            return "%s: actions hold 1 to 25 elements" % where
        for i, e in enumerate(els):
            w = "%s.elements[%d]" % (where, i)
            if not isinstance(e, dict) or e.get("type") != "button":
                return "%s: a button expected" % w
            err = _text_obj(e.get("text"), ("plain_text",), 75, w + ".text")
            if err:
                return err
            url = e.get("url", "")
            if not isinstance(url, str) or len(url) > URL_MAX or not url.startswith("http"):
                return "%s: bad url" % w
        return None
    if kind == "divider":
        return None
    return "%s: unknown block type %r" % (where, kind)


def validate(payload):
    """None when Slack would take payload (bytes), else (error code, why)."""
    try:
        msg = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        return "invalid_payload", "not JSON: %s" % e
    if not isinstance(msg, dict):
        return "invalid_payload", "not an object"
    text = msg.get("text")
    if not isinstance(text, str) or not text:
        return "no_text", "no text"
    if len(text) > TEXT_MAX:
        return "invalid_payload", "text of %d characters" % len(text)
    blocks = list(msg.get("blocks", []))
    for i, a in enumerate(msg.get("attachments", [])):
        if not isinstance(a, dict):
            return "invalid_attachments", "attachment %d not an object" % i
        color = a.get("color", "#000000")
        if not (isinstance(color, str) and color.startswith("#") and len(color) == 7):
            return "invalid_attachments", "bad color %r" % color
        blocks.extend(a.get("blocks", []))
    if len(blocks) > BLOCKS_MAX:
        return "invalid_blocks", "%d blocks, more than %d" % (len(blocks), BLOCKS_MAX)
    for i, b in enumerate(blocks):
        err = _block(b, "blocks[%d]" % i)
        if err:
            return "invalid_blocks", err
    return None


class SlackReceiver:
    """Starts on a free loopback port; stop() ends it."""

    def __init__(self):
        self.posts = []  # (path, status, payload dict or None, why)
        self.lock = threading.Lock()
        self.refused_429 = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(min(n, BODY_MAX))
                if self.path.startswith("/services/slow/"):
                    time.sleep(SLOW_S)
                status, reply, headers = receiver.answer(self.path, body)
                try:
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", str(len(reply)))
                    self.end_headers()
                    self.wfile.write(reply)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender gave up waiting (a slow answer)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True  # a slow answer does not hold stop() up
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def answer(self, path, body):
        bad = validate(body)
        msg = None if bad else json.loads(body)
        with self.lock:
            parts = path.split("/")
            if bad:
                status, reply, headers = 400, bad[0].encode(), {}
            elif len(parts) > 3 and parts[2] in ("429", "429d") and \
                    self.refused_429.get(path, 0) < int(parts[3]):
                self.refused_429[path] = self.refused_429.get(path, 0) + 1
                after = "1" if parts[2] == "429" else \
                    email.utils.formatdate(time.time() + 2, usegmt=True)
                status, reply, headers = 429, b"rate_limited", {"Retry-After": after}
            elif len(parts) > 2 and parts[2] == "bad":
                status, reply, headers = 400, b"invalid_payload", {}
            else:
                status, reply, headers = 200, b"ok", {}
            self.posts.append((path, status, msg, bad[1] if bad else None))
        return status, reply, headers

    def accepted(self, prefix):
        with self.lock:
            return [m for p, s, m, _ in self.posts if p.startswith(prefix) and s == 200]

    def tries(self, prefix):
        with self.lock:
            return [(s, why) for p, s, _, why in self.posts if p.startswith(prefix)]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
