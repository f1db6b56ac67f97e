"""A local Elasticsearch `_bulk` receiver for the integration tests of the
Elasticsearch output: it enforces the protocol as Elasticsearch and
OpenSearch do, stores what it accepts, and injects faults on demand.

As a CLI:
  es_receiver.py [--host 127.0.0.1] [--port 0] [--port-file F]
                 [--flavour es7|es8|opensearch1|opensearch2]
                 [--user U --password P] [--api-key K] [--forbidden-user U[:P]]
                 [--data-stream NAME]... [--docs-file F] [--seed N]
                 [--item-429-first N] [--item-429-ratio F] [--bad-marker S]
                 [--fail-503 N] [--max-body B] [--delay S] [--fail-401 N]
                 [--huge-reply N] [--huge-reply-bytes B]
                 [--tls-cert PEM --tls-key PEM [--tls-client-ca PEM]]
The chosen port goes to --port-file (a temporary name, then rename, so the
file is whole when it appears). SIGTERM or SIGINT stops it with exit 0.

As a library: EsReceiver(...).start() runs the CLI in a subprocess of its
own and stop() ends it by PID; docs(), count(), stats(), requests(),
faults(), reset() and dump() query it.

Served:
  GET|HEAD /                      the version document of the flavour
  POST|PUT /_bulk, /<index>/_bulk (es7 and opensearch1 also /<index>/<type>/_bulk)
  GET  /_test/docs[?index=I]      [{"index","id","source"}] (source parsed)
  GET  /_test/count[?index=I]     {"count": N}
  GET  /_test/stats               counters (see Receiver.stats_doc)
  GET  /_test/requests            the last 1000 requests (path, status, headers of note)
  POST /_test/faults              JSON {name: value}; answers the faults in force
  POST /_test/reset               forgets documents, counters, requests and faults
  POST /_test/dump                JSON {"path": F}: every stored document as NDJSON
Faults and the Authorization check apply to the bulk and version endpoints,
never to /_test/. Faults (all 0 means off):
  item_429_first N  the next N items get 429 es_rejected_execution_exception
  item_429_ratio F  each item gets that 429 with probability F (--seed)
  bad_marker S      a source containing S gets 400 mapper_parsing_exception
  fail_503 N        the next N bulk requests get a whole 503
  fail_401 N        the next N bulk requests get a whole 401
  max_body B        decoded bodies above B bytes get 413 (http.max_content_length)
  delay S           every bulk answer waits S seconds first
  huge_reply N      the next N bulk requests are executed as usual, but their
                    reply carries huge_reply_bytes (default 300,000,000) of
                    JSON whitespace before its last brace: still valid JSON,
                    gzip-compressed (to about 1/1000) when the client asks
  huge_reply_bytes B  the padding of huge_reply
Rejected items are not stored. With --docs-file every stored write is also
appended there as one NDJSON line and only ids stay in memory (for runs of
hundreds of thousands of documents); /_test/docs then reads the file.

Data streams: the --data-stream names and every name matching logs-*-*.
They take only `create`, need an @timestamp field, and answer with the
backing index name .ds-NAME-YYYY.MM.DD-000001.

Stdlib only; runs under /usr/bin/python3."""

import argparse
import base64
import fnmatch
import gzip
import json
import os
import random
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FLAVOURS = ("es7", "es8", "opensearch1", "opensearch2")
FAULT_NAMES = ("item_429_first", "item_429_ratio", "bad_marker", "fail_503", "max_body",
               "delay", "fail_401", "huge_reply", "huge_reply_bytes")
HUGE_REPLY_BYTES = 300000000
ACTIONS = ("index", "create", "update", "delete")
# Action metadata keys each flavour knows (BulkRequestParser); others are rejected.
META_KEYS = {"_index", "_id", "routing", "op_type", "version", "version_type",
             "retry_on_conflict", "pipeline", "_source", "if_seq_no", "if_primary_term",
             "require_alias"}
META_KEYS_ES8 = META_KEYS | {"dynamic_templates", "require_data_stream",
                             "list_executed_pipelines"}
UPDATE_KEYS = {"doc", "upsert", "doc_as_upsert", "script", "scripted_upsert", "detect_noop",
               "_source"}
BULK_PARAMS = {"pipeline", "routing", "refresh", "timeout", "wait_for_active_shards", "_source",
               "_source_includes", "_source_excludes", "require_alias", "pretty", "human",
               "error_trace", "filter_path", "type"}
BULK_PARAMS_ES8 = (BULK_PARAMS - {"type"}) | {"require_data_stream", "list_executed_pipelines"}
BAD_INDEX_CHARS = set('\\/*?"<>| ,#:')
MAX_ID_BYTES = 512
REQUEST_LOG_CAP = 1000

VERSIONS = {
    "es7": {"number": "7.17.18", "build_flavor": "default", "build_type": "docker",
            "lucene_version": "8.11.1", "minimum_wire_compatibility_version": "6.8.0",
            "minimum_index_compatibility_version": "6.0.0-beta1"},
    "es8": {"number": "8.13.4", "build_flavor": "default", "build_type": "docker",
            "lucene_version": "9.10.0", "minimum_wire_compatibility_version": "7.17.0",
            "minimum_index_compatibility_version": "7.0.0"},
    "opensearch1": {"distribution": "opensearch", "number": "1.3.14", "build_type": "tar",
                    "lucene_version": "8.10.1",
                    "minimum_wire_compatibility_version": "6.8.0",
                    "minimum_index_compatibility_version": "6.0.0-beta1"},
    "opensearch2": {"distribution": "opensearch", "number": "2.11.1", "build_type": "tar",
                    "lucene_version": "9.7.0",
                    "minimum_wire_compatibility_version": "7.10.0",
                    "minimum_index_compatibility_version": "7.0.0"},
}


class BulkError(Exception):
    """A whole-request failure: HTTP status plus Elasticsearch's error document."""

    def __init__(self, status, etype, reason, extra=None, doc=None):
        super().__init__(reason)
        self.status = status
        self.etype = etype
        self.reason = reason
        self.extra = extra or {}
        self.doc = doc

    def document(self):
        if self.doc is not None:
            return self.doc
        cause = dict({"type": self.etype, "reason": self.reason}, **self.extra)
        return {"error": dict({"root_cause": [cause]}, **cause), "status": self.status}


class ItemError(Exception):
    """A per-item failure inside a bulk answer."""

    def __init__(self, status, etype, reason, extra=None):
        super().__init__(reason)
        self.status = status
        self.error = dict({"type": etype, "reason": reason}, **(extra or {}))


def _no_constants(name):
    raise ValueError("Non-standard token '%s'" % name)


def _strict_object(pairs):
    """object_pairs_hook rejecting duplicate keys, as Jackson does in Elasticsearch."""
    d = {}
    for k, v in pairs:
        if k in d:
            raise ValueError("Duplicate field '%s'" % k)
        d[k] = v
    return d


def strict_loads(text):
    return json.loads(text, object_pairs_hook=_strict_object, parse_constant=_no_constants)


def token_name(value):
    """The Jackson token a JSON value starts with, as Elasticsearch names it."""
    if isinstance(value, dict):
        return "START_OBJECT"
    if isinstance(value, list):
        return "START_ARRAY"
    if isinstance(value, bool):
        return "VALUE_BOOLEAN"
    if isinstance(value, (int, float)):
        return "VALUE_NUMBER"
    return "VALUE_NULL" if value is None else "VALUE_STRING"


def is_data_stream_name(name, explicit):
    return name in explicit or fnmatch.fnmatchcase(name, "logs-*-*")


def index_name_problem(name):
    """Why Elasticsearch would refuse `name` as an index name, or None."""
    if not name:
        return "must not be empty"
    if name != name.lower():
        return "must be lowercase"
    if name[0] in "_-+":
        return "must not start with '_', '-', or '+'"
    if name in (".", ".."):
        return "must not be '.' or '..'"
    bad = BAD_INDEX_CHARS.intersection(name)
    if bad:
        return "must not contain the following characters %s" % sorted(bad)
    if len(name.encode()) > 255:
        return "index name is too long"
    return None


def auto_id(rng):
    """A 20-character URL-safe id like Elasticsearch's time-based ones."""
    return base64.urlsafe_b64encode(rng.getrandbits(120).to_bytes(15, "big")).decode()


def deep_merge(base, doc):
    """Partial-document update semantics: objects merge, everything else replaces."""
    out = dict(base)
    for k, v in doc.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def filter_path(doc, spec):
    """Elasticsearch's filter_path: comma-separated dotted paths, `*` for any
    one key and `**` for any depth; inclusions only."""
    paths = [p.split(".") for p in spec.split(",") if p]
    return _filter(doc, paths)


def _filter(node, paths):
    if any(not p for p in paths):
        return node
    if isinstance(node, list):
        kept = [_filter(x, paths) for x in node]
        return [x for x in kept if x is not _DROP]
    if not isinstance(node, dict):
        return _DROP
    out = {}
    for k, v in node.items():
        sub = []
        for p in paths:
            if p[0] == "**":
                sub.append(p[1:])
                sub.append(p)
            elif fnmatch.fnmatchcase(k, p[0]):
                sub.append(p[1:])
        if sub:
            r = _filter(v, sub)
            if r is not _DROP and r != {}:
                out[k] = r
    return out if out else _DROP


_DROP = object()


class Index:
    """One index or data stream: id -> [version, source text or None]."""
    __slots__ = ("docs", "seq")

    def __init__(self):
        self.docs = {}
        self.seq = 0


class Receiver:
    """The state shared by the handler threads; every field under self.lock."""

    def __init__(self, opts):
        self.opts = opts
        # re-entrant: a bulk request holds it for its whole batch (fewer GIL
        # hand-offs between handler threads) and the helpers take it again
        self.lock = threading.RLock()
        self.rng = random.Random(opts.seed)
        self.docs_file = open(opts.docs_file, "a") if opts.docs_file else None
        self.day = time.strftime("%Y.%m.%d", time.gmtime())
        self.reset(initial=True)

    def reset(self, initial=False):
        with self.lock:
            self.indices = {}
            self.stats = {"requests": 0, "bulk_requests": 0, "bytes_wire": 0,
                          "bytes_decoded": 0, "gzip_requests": 0, "items": 0,
                          "items_by_status": {}, "items_by_op": {},
                          "responses_by_status": {}, "faults": {}, "pipelines": {},
                          "routings": {}}
            self.request_log = []
            self.in_flight = 0
            self.faults = {n: 0 for n in FAULT_NAMES}
            self.faults["bad_marker"] = ""
            if initial:
                for n in FAULT_NAMES:
                    v = getattr(self.opts, n)
                    if v:
                        self.faults[n] = v
            if self.docs_file is not None and not initial:
                self.docs_file.truncate(0)
                self.docs_file.seek(0)

    def set_faults(self, spec):
        with self.lock:
            for k, v in spec.items():
                if k not in self.faults:
                    raise ValueError("unknown fault [%s]" % k)
                self.faults[k] = str(v) if k == "bad_marker" else float(v) if k in (
                    "item_429_ratio", "delay") else int(v)
            return dict(self.faults)

    def count_fault(self, name):
        self.stats["faults"][name] = self.stats["faults"].get(name, 0) + 1

    def take_request_fault(self):
        """The whole-request fault to serve now (and its count), or None."""
        with self.lock:
            for name in ("fail_401", "fail_503"):
                if self.faults[name] > 0:
                    self.faults[name] -= 1
                    self.count_fault(name)
                    return name
        return None

    def take_huge_reply(self):
        """The padding for the reply being made (bytes), or 0."""
        with self.lock:
            if self.faults["huge_reply"] <= 0:
                return 0
            self.faults["huge_reply"] -= 1
            self.count_fault("huge_reply")
            return self.faults["huge_reply_bytes"] or HUGE_REPLY_BYTES

    def take_item_429(self):
        with self.lock:
            if self.faults["item_429_first"] > 0:
                self.faults["item_429_first"] -= 1
            elif not (self.faults["item_429_ratio"] > 0
                      and self.rng.random() < self.faults["item_429_ratio"]):
                return False
            self.count_fault("item_429")
            return True

    def note_item(self, op, status, pipeline, routing=None):
        s = self.stats
        if routing is not None:
            s["routings"][str(routing)] = s["routings"].get(str(routing), 0) + 1
        s["items"] += 1
        s["items_by_status"][str(status)] = s["items_by_status"].get(str(status), 0) + 1
        s["items_by_op"][op] = s["items_by_op"].get(op, 0) + 1
        if pipeline:
            s["pipelines"][pipeline] = s["pipelines"].get(pipeline, 0) + 1

    def note_response(self, entry):
        with self.lock:
            st = str(entry["status"])
            self.stats["responses_by_status"][st] = \
                self.stats["responses_by_status"].get(st, 0) + 1
            self.request_log.append(entry)
            if len(self.request_log) > REQUEST_LOG_CAP:
                del self.request_log[:len(self.request_log) - REQUEST_LOG_CAP]

    def store(self, index, doc_id, source):
        """Stores one document (lock held); returns (version, seq_no, created)."""
        ix = self.indices.get(index)
        if ix is None:
            ix = self.indices[index] = Index()
        cur = ix.docs.get(doc_id)
        version = 1 if cur is None else cur[0] + 1
        kept = None if self.docs_file is not None else source
        ix.docs[doc_id] = [version, kept]
        if self.docs_file is not None:
            self.docs_file.write(json.dumps({"index": index, "id": doc_id, "source": source})
                                 + "\n")
        seq = ix.seq
        ix.seq += 1
        return version, seq, cur is None

    def stats_doc(self):
        with self.lock:
            out = json.loads(json.dumps(self.stats))
            out["docs"] = sum(len(ix.docs) for ix in self.indices.values())
            out["faults_in_force"] = dict(self.faults)
            return out

    def count(self, index=None):
        with self.lock:
            if index is not None:
                ix = self.indices.get(index)
                return len(ix.docs) if ix else 0
            return sum(len(ix.docs) for ix in self.indices.values())

    def doc_list(self, index=None):
        """Every stored document (the latest version of each)."""
        with self.lock:
            if self.docs_file is not None:
                self.docs_file.flush()
                return self._docs_from_file(index)
            out = []
            for name, ix in self.indices.items():
                if index is None or name == index:
                    out.extend({"index": name, "id": i, "source": json.loads(v[1])}
                               for i, v in ix.docs.items() if v[1] is not None)
            return out

    def _docs_from_file(self, index):
        latest = {}
        with open(self.opts.docs_file) as f:
            for line in f:
                d = json.loads(line)
                if index is None or d["index"] == index:
                    latest[(d["index"], d["id"])] = d
        out = []
        for (name, i), d in latest.items():
            ix = self.indices.get(name)
            if ix is not None and i in ix.docs:
                out.append({"index": name, "id": i, "source": json.loads(d["source"])})
        return out

    def dump(self, path):
        docs = self.doc_list()
        with open(path, "w") as f:
            for d in docs:
                f.write(json.dumps(d) + "\n")
        return len(docs)


class BulkRequest:
    """One parsed and executed _bulk body."""

    def __init__(self, recv, flavour, url_index, url_type, params):
        self.recv = recv
        self.flavour = flavour
        self.url_index = url_index
        self.url_type = url_type
        self.params = params
        self.typeless = flavour in ("es8", "opensearch2")

    def parse(self, body):
        """Splits the body into (line_no, op, meta, source text) entries, or raises
        BulkError exactly where Elasticsearch rejects the whole request."""
        if not body.endswith(b"\n"):
            raise BulkError(400, "illegal_argument_exception",
                            "The bulk request must be terminated by a newline [\\n]")
        lines = body.split(b"\n")[:-1]
        entries, problems = [], []
        i = 0
        while i < len(lines):
            line_no = i + 1
            raw = lines[i]
            i += 1
            if not raw.strip():
                continue  # Elasticsearch skips empty action lines
            op, meta = self._action(raw, line_no)
            source = None
            if op != "delete":
                if i >= len(lines):
                    problems.append("source is missing")
                    break
                source = lines[i]
                i += 1
                if op == "update":
                    self._check_update(source, line_no + 1)
            problems.extend(self._validate(op, meta))
            entries.append((line_no, op, meta, source))
        if problems:
            raise BulkError(400, "action_request_validation_exception", "Validation Failed: "
                            + "".join("%d: %s;" % (n + 1, p) for n, p in enumerate(problems)))
        if not entries:
            raise BulkError(400, "action_request_validation_exception",
                            "Validation Failed: 1: no requests added;")
        return entries

    def _action(self, raw, line_no):
        try:
            obj = strict_loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            raise BulkError(400, "x_content_parse_exception", "[%d:1] %s" % (line_no, e))
        if not isinstance(obj, dict):
            raise BulkError(400, "illegal_argument_exception",
                            "Malformed action/metadata line [%d], expected START_OBJECT or "
                            "END_OBJECT but found [%s]" % (line_no, token_name(obj)))
        if not obj:
            raise BulkError(400, "illegal_argument_exception",
                            "Malformed action/metadata line [%d], expected FIELD_NAME but "
                            "found [END_OBJECT]" % line_no)
        keys = list(obj)
        op = keys[0]
        if op not in ACTIONS:
            raise BulkError(400, "illegal_argument_exception",
                            "Malformed action/metadata line [%d], expected field [create], "
                            "[delete], [index] or [update] but found [%s]" % (line_no, op))
        meta = obj[op]
        if not isinstance(meta, dict):
            raise BulkError(400, "illegal_argument_exception",
                            "Malformed action/metadata line [%d], expected START_OBJECT but "
                            "found [%s]" % (line_no, token_name(meta)))
        if len(keys) > 1:
            raise BulkError(400, "illegal_argument_exception",
                            "Malformed action/metadata line [%d], expected END_OBJECT but "
                            "found [FIELD_NAME]" % line_no)
        self._check_meta(meta, line_no)
        return op, meta

    def _check_meta(self, meta, line_no):
        known = META_KEYS_ES8 if self.flavour == "es8" else META_KEYS
        for k, v in meta.items():
            if k == "_type" and not self.typeless:
                continue
            if k not in known:
                raise BulkError(400, "illegal_argument_exception",
                                "Action/metadata line [%d] contains an unknown parameter [%s]"
                                % (line_no, k))
            if isinstance(v, (dict, list)) and k not in ("dynamic_templates", "_source"):
                raise BulkError(400, "illegal_argument_exception",
                                "Malformed action/metadata line [%d], expected a simple value "
                                "for field [%s] but found [START_%s]"
                                % (line_no, k, "OBJECT" if isinstance(v, dict) else "ARRAY"))

    def _check_update(self, source, line_no):
        try:
            body = strict_loads(source.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            raise BulkError(400, "x_content_parse_exception", "[%d:1] %s" % (line_no, e))
        if not isinstance(body, dict):
            raise BulkError(400, "x_content_parse_exception",
                            "[%d:1] [UpdateRequest] Expected START_OBJECT" % line_no)
        for k in body:
            if k not in UPDATE_KEYS:
                raise BulkError(400, "x_content_parse_exception",
                                "[%d:2] [UpdateRequest] unknown field [%s]" % (line_no, k))

    def _validate(self, op, meta):
        out = []
        if "_index" not in meta and not self.url_index:
            out.append("index is missing")
        doc_id = meta.get("_id")
        if op in ("update", "delete") and doc_id is None:
            out.append("id is missing")
        if doc_id is not None and len(str(doc_id).encode()) > MAX_ID_BYTES:
            out.append("id [%s] is too long, must be no longer than 512 bytes but was: %d"
                       % (doc_id, len(str(doc_id).encode())))
        if meta.get("op_type", "index") not in ("index", "create"):
            out.append("opType must be 'create' or 'index'")
        return out

    def execute(self, entries):
        with self.recv.lock:
            return self._execute(entries)

    def _execute(self, entries):
        items, errors = [], False
        for _line_no, op, meta, source in entries:
            if op == "index" and meta.get("op_type") == "create":
                op = "create"  # answered under the effective op, as Elasticsearch does
            item = self._one(op, meta, source)
            errors = errors or "error" in item
            items.append({op: item})
        if self.recv.docs_file is not None:
            with self.recv.lock:
                self.recv.docs_file.flush()
        return items, errors

    def _one(self, op, meta, source):
        index = str(meta.get("_index") or self.url_index)
        doc_id = meta.get("_id")
        doc_id = None if doc_id is None else str(doc_id)
        pipeline = meta.get("pipeline") or self.params.get("pipeline")
        item = {"_index": index}
        if not self.typeless:
            item["_type"] = str(meta.get("_type") or self.url_type or "_doc")
        try:
            if self.recv.take_item_429():
                raise ItemError(429, "es_rejected_execution_exception",
                                "rejected execution of coordinating operation "
                                "[coordinating_and_primary_bytes=0, replica_bytes=0, "
                                "all_bytes=0, coordinating_operation_bytes=0, "
                                "max_coordinating_and_primary_bytes=0]")
            item.update(self._apply(op, index, doc_id, meta, source))
        except ItemError as e:
            if doc_id is not None:
                item["_id"] = doc_id
            item["status"] = e.status
            item["error"] = e.error
        with self.recv.lock:
            self.recv.note_item(op, item["status"], pipeline,
                                meta.get("routing") or self.params.get("routing"))
        return item

    def _apply(self, op, index, doc_id, meta, source):
        problem = index_name_problem(index)
        if problem:
            raise ItemError(400, "invalid_index_name_exception",
                            "Invalid index name [%s], %s" % (index, problem),
                            {"index": index, "index_uuid": "_na_"})
        if (meta.get("require_alias") in (True, "true")
                or self.params.get("require_alias") == "true"):
            raise ItemError(404, "index_not_found_exception",
                            "no such index [%s] and [require_alias] request flag is [true] and "
                            "[%s] is not an alias" % (index, index),
                            {"index": index, "index_uuid": "_na_"})
        ds = is_data_stream_name(index, self.recv.opts.data_stream)
        if ds and op != "create":
            raise ItemError(400, "illegal_argument_exception",
                            "only write ops with an op_type of create are allowed in data streams")
        if op == "delete":
            return self._delete(index, doc_id)
        if op == "update":
            return self._update(index, doc_id, source)
        text = self._source(source, ds)
        return self._write(op, index, doc_id, text, ds)

    def _source(self, source, data_stream):
        """The source text when Elasticsearch would index it, else ItemError."""
        parse_type = "document_parsing_exception" if self.flavour == "es8" \
            else "mapper_parsing_exception"
        try:
            text = source.decode("utf-8")
            doc = strict_loads(text)
        except (ValueError, UnicodeDecodeError) as e:
            raise ItemError(400, parse_type, "failed to parse",
                            {"caused_by": {"type": "x_content_parse_exception",
                                           "reason": str(e)}})
        if not isinstance(doc, dict):
            raise ItemError(400, parse_type, "failed to parse",
                            {"caused_by": {"type": "not_x_content_exception",
                                           "reason": "Compressor detection can only be called "
                                                     "on some xcontent bytes or compressed "
                                                     "xcontent bytes"}})
        marker = self.recv.faults["bad_marker"]
        if marker and marker in text:
            with self.recv.lock:
                self.recv.count_fault("bad_marker")
            raise ItemError(400, "mapper_parsing_exception",
                            "failed to parse field [message] of type [long] in document",
                            {"caused_by": {"type": "illegal_argument_exception",
                                           "reason": "For input string: \"%s\"" % marker}})
        if data_stream and "@timestamp" not in doc:
            raise ItemError(400, parse_type,
                            "failed to parse: data stream timestamp field [@timestamp] is missing")
        return text.strip()

    def _write(self, op, index, doc_id, text, data_stream):
        recv = self.recv
        with recv.lock:
            if doc_id is None:
                doc_id = auto_id(recv.rng)
            ix = recv.indices.get(index)
            if op == "create" and ix is not None and doc_id in ix.docs:
                cur = ix.docs[doc_id][0]
                raise ItemError(409, "version_conflict_engine_exception",
                                "[%s]: version conflict, document already exists (current "
                                "version [%d])" % (doc_id, cur), self._shard(index))
            version, seq, created = recv.store(index, doc_id, text)
        shown = ".ds-%s-%s-000001" % (index, recv.day) if data_stream else index
        return self._ok(shown, doc_id, version, seq, "created" if created else "updated",
                        201 if created else 200)

    def _update(self, index, doc_id, source):
        body = strict_loads(source.decode("utf-8"))
        recv = self.recv
        with recv.lock:
            ix = recv.indices.get(index)
            cur = ix.docs.get(doc_id) if ix is not None else None
            if cur is None:
                new = body.get("upsert")
                if new is None and body.get("doc_as_upsert"):
                    new = body.get("doc")
                if new is None:
                    raise ItemError(404, "document_missing_exception",
                                    "[%s]: document missing" % doc_id, self._shard(index))
            else:
                base = json.loads(cur[1]) if cur[1] is not None else {}
                new = deep_merge(base, body.get("doc") or {})
                if new == base and body.get("detect_noop", True):
                    return self._ok(index, doc_id, cur[0], ix.seq - 1, "noop", 200)
            version, seq, created = recv.store(index, doc_id, json.dumps(new))
        return self._ok(index, doc_id, version, seq, "created" if created else "updated",
                        201 if created else 200)

    def _delete(self, index, doc_id):
        recv = self.recv
        with recv.lock:
            ix = recv.indices.get(index)
            cur = ix.docs.pop(doc_id, None) if ix is not None else None
            if ix is None:
                ix = recv.indices[index] = Index()
            seq = ix.seq
            ix.seq += 1
        if cur is None:
            return self._ok(index, doc_id, 1, seq, "not_found", 404)
        return self._ok(index, doc_id, cur[0] + 1, seq, "deleted", 200)

    @staticmethod
    def _shard(index):
        return {"index_uuid": "aAsFqTI0Tc2W0LCWgPNrOA", "shard": "0", "index": index}

    @staticmethod
    def _ok(index, doc_id, version, seq, result, status):
        return {"_index": index, "_id": doc_id, "_version": version, "result": result,
                "_shards": {"total": 2, "successful": 1, "failed": 0},
                "_seq_no": seq, "_primary_term": 1, "status": status}


def decode_body(raw, encoding, limit):
    """The body as sent, un-gzipped when encoding says so. Raises BulkError
    400 when it does not decode and 413 past `limit` decoded bytes (0: none)."""
    encoding = (encoding or "").strip().lower()
    if encoding in ("", "identity"):
        body = raw
    elif encoding in ("gzip", "x-gzip", "deflate"):
        wbits = 16 + zlib.MAX_WBITS if encoding != "deflate" else zlib.MAX_WBITS
        d = zlib.decompressobj(wbits)
        try:
            cap = limit + 1 if limit else 0
            body = d.decompress(raw, cap) if cap else d.decompress(raw)
            if not d.eof and not (cap and len(body) > limit):
                raise zlib.error("truncated stream")
        except zlib.error as e:
            raise BulkError(400, "illegal_argument_exception",
                            "failed to decompress the request body: %s" % e)
    else:
        raise BulkError(415, "illegal_argument_exception",
                        "unsupported Content-Encoding [%s]" % encoding)
    if limit and len(body) > limit:
        raise BulkError(413, "", "")
    return body


class PaddedReply:
    """A JSON reply with `pad` bytes of whitespace before its last byte,
    made (and compressed) a chunk at a time: never all in memory."""

    CHUNK = b" " * (1 << 20)

    def __init__(self, doc, pad):
        self.text = json.dumps(doc, separators=(",", ":")).encode()
        self.pad = pad

    def _pieces(self):
        yield self.text[:-1]
        left = self.pad
        while left > 0:
            yield self.CHUNK[:min(left, len(self.CHUNK))]
            left -= len(self.CHUNK)
        yield self.text[-1:]

    def render(self, compress):
        """The body as sent: gzip when compress (the whole stream is small)."""
        if not compress:
            return b"".join(self._pieces())
        z = zlib.compressobj(1, zlib.DEFLATED, 31)
        out = [z.compress(p) for p in self._pieces()]
        out.append(z.flush())
        return b"".join(out)


def content_type_ok(value):
    """Whether Elasticsearch would parse a bulk body of this Content-Type."""
    mime = (value or "").split(";")[0].strip().lower()
    return mime in ("application/x-ndjson", "application/json",
                    "application/vnd.elasticsearch+x-ndjson",
                    "application/vnd.elasticsearch+json")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes
    server_version = "vigil-es-receiver"

    def log_message(self, fmt, *args):
        pass  # the request log at /_test/requests replaces the access log

    def _read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline().strip():
                        pass  # trailers
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def _send(self, status, doc, headers=None):
        """Answers status with doc (JSON unless bytes), gzip when the client asks."""
        gzip_ok = "gzip" in self.headers.get("Accept-Encoding", "").lower()
        padded = isinstance(doc, PaddedReply)
        if padded:
            doc = doc.render(gzip_ok)
        elif not isinstance(doc, bytes):
            doc = json.dumps(doc, separators=(",", ":")).encode()  # compact, as Elasticsearch
        body = doc
        recv = self.server.recv
        self.send_response(status)
        if recv.opts.flavour.startswith("es"):
            self.send_header("X-elastic-product", "Elasticsearch")
        for k, v in headers or ():
            self.send_header(k, v)
        if body:
            if gzip_ok:
                body = body if padded else gzip.compress(body, 3)
                self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(body)) if self.command != "HEAD" else "0")
        self.end_headers()
        if self.command != "HEAD":
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # a client that stopped reading

    def do_GET(self):
        self._dispatch()

    def do_HEAD(self):
        self._dispatch()

    def do_POST(self):
        self._dispatch()

    def do_PUT(self):
        self._dispatch()

    def do_DELETE(self):
        self._dispatch()

    def _dispatch(self):
        url = urllib.parse.urlsplit(self.path)
        params = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        raw = self._read_body()
        if url.path.startswith("/_test/"):
            self._test_endpoint(url.path, params, raw)
            return
        entry = {"method": self.command, "path": url.path, "query": url.query,
                 "content_type": self.headers.get("Content-Type"),
                 "content_encoding": self.headers.get("Content-Encoding"),
                 "authorization": (self.headers.get("Authorization") or " ").split(" ")[0],
                 "user_agent": self.headers.get("User-Agent"), "bytes": len(raw), "items": 0}
        recv = self.server.recv
        with recv.lock:  # requests being served at once (the client's concurrency)
            recv.in_flight += 1
            recv.stats["max_in_flight"] = max(recv.stats.get("max_in_flight", 0),
                                              recv.in_flight)
        try:
            status, doc, headers = self._serve(url.path, params, raw, entry)
        except BulkError as e:
            status, doc, headers = e.status, e.document(), []
            if status == 401:
                headers = [("WWW-Authenticate", 'Basic realm="security" charset="UTF-8"'),
                           ("WWW-Authenticate", "ApiKey")]
            if status == 413:
                doc = b""  # Elasticsearch answers an empty 413 and closes
                headers = [("Connection", "close")]
                self.close_connection = True
            entry["error"] = e.reason
        finally:
            with recv.lock:
                recv.in_flight -= 1
        entry["status"] = status
        recv.note_response(entry)
        self._send(status, doc, headers)

    def _serve(self, path, params, raw, entry):
        """Routes one request outside /_test/; returns (status, doc, headers)."""
        recv = self.server.recv
        with recv.lock:
            recv.stats["requests"] += 1
        parts = [p for p in path.split("/") if p]
        is_bulk = bool(parts) and parts[-1] == "_bulk" and self.command in ("POST", "PUT")
        if is_bulk:
            self._request_faults(path)
        self._authenticate(path)
        if not parts and self.command in ("GET", "HEAD"):
            return 200, self._version_doc(), []
        if not is_bulk or len(parts) > 3 or (len(parts) == 3 and recv.opts.flavour in (
                "es8", "opensearch2")):
            raise BulkError(400, "", "no handler", doc={
                "error": "no handler found for uri [%s] and method [%s]" % (path, self.command)})
        return self._bulk(parts, params, raw, entry)

    def _request_faults(self, path):
        recv = self.server.recv
        delay = recv.faults["delay"]
        if delay:
            with recv.lock:
                recv.count_fault("delay")
            time.sleep(delay)
        fault = recv.take_request_fault()
        if fault == "fail_401":
            raise _unauthenticated(path, "unable to authenticate user [%s] for REST request "
                                   "[%s]" % (recv.opts.user or "elastic", path))
        if fault == "fail_503":
            raise BulkError(503, "cluster_block_exception",
                            "blocked by: [SERVICE_UNAVAILABLE/1/state not recovered / "
                            "initialized];")

    def _authenticate(self, path):
        """Raises 401/403 BulkError when auth is configured and the request fails it."""
        opts = self.server.recv.opts
        if not (opts.user or opts.api_key):
            return
        header = self.headers.get("Authorization") or ""
        scheme, _, cred = header.partition(" ")
        scheme = scheme.lower()
        if not header:
            raise _unauthenticated(path, "missing authentication credentials for REST "
                                   "request [%s]" % path)
        if scheme == "apikey" and opts.api_key:
            if cred.strip() == opts.api_key:
                return
            raise _unauthenticated(path, "unable to authenticate with provided credentials "
                                   "and anonymous access is not allowed for this request")
        if scheme == "basic":
            try:
                user, _, password = base64.b64decode(cred.strip(), validate=True) \
                    .decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                user, password = "", None
            if opts.forbidden_user and (user, password) == opts.forbidden_creds:
                raise BulkError(403, "security_exception",
                                "action [indices:data/write/bulk] is unauthorized for user "
                                "[%s] with effective roles [viewer], this action is granted "
                                "by the cluster privileges [all]" % user)
            if opts.user and (user, password) == (opts.user, opts.password):
                return
            raise _unauthenticated(path, "unable to authenticate user [%s] for REST request "
                                   "[%s]" % (user, path))
        raise _unauthenticated(path, "missing authentication credentials for REST request "
                               "[%s]" % path)

    def _version_doc(self):
        opts = self.server.recv.opts
        version = dict(VERSIONS[opts.flavour], build_hash="0" * 40,
                       build_date="2024-04-29T10:05:16.090940Z", build_snapshot=False)
        doc = {"name": "vigil-test-node", "cluster_name": "vigil-test",
               "cluster_uuid": "Xq5v1kq1QJ6bS4b5yK1v0Q", "version": version,
               "tagline": "You Know, for Search"}
        if opts.flavour.startswith("opensearch"):
            doc["tagline"] = "The OpenSearch Project: https://opensearch.org/"
        return doc

    def _bulk(self, parts, params, raw, entry):
        recv = self.server.recv
        flavour = recv.opts.flavour
        known = BULK_PARAMS_ES8 if flavour in ("es8", "opensearch2") else BULK_PARAMS
        for k in params:
            if k not in known:
                raise BulkError(400, "illegal_argument_exception",
                                "request [%s] contains unrecognized parameter: [%s]"
                                % (self.path.split("?")[0], k))
        ctype = self.headers.get("Content-Type")
        if ctype is None:
            return 406, {"error": "Content-Type header is missing", "status": 406}, []
        if not content_type_ok(ctype):
            return 406, {"error": "Content-Type header [%s] is not supported" % ctype,
                         "status": 406}, []
        encoding = self.headers.get("Content-Encoding")
        with recv.lock:
            recv.stats["bulk_requests"] += 1
            recv.stats["bytes_wire"] += len(raw)
            if (encoding or "").lower() in ("gzip", "x-gzip"):
                recv.stats["gzip_requests"] += 1
        try:
            body = decode_body(raw, encoding, recv.faults["max_body"])
        except BulkError as e:
            if e.status == 413:
                with recv.lock:
                    recv.count_fault("max_body")
            raise
        with recv.lock:
            recv.stats["bytes_decoded"] += len(body)
        t0 = time.monotonic()
        req = BulkRequest(recv, flavour, parts[0] if len(parts) > 1 else None,
                          parts[1] if len(parts) > 2 else None, params)
        entries = req.parse(body)
        items, errors = req.execute(entries)
        entry["items"] = len(items)
        entry["pipeline"] = params.get("pipeline")
        entry["routing"] = params.get("routing")
        doc = {"took": int((time.monotonic() - t0) * 1000), "errors": errors, "items": items}
        if params.get("filter_path"):
            doc = filter_path(doc, params["filter_path"])
            doc = {} if doc is _DROP else doc
        pad = recv.take_huge_reply()
        if pad:
            doc = PaddedReply(doc, pad)
        return 200, doc, []

    def _test_endpoint(self, path, params, raw):
        recv = self.server.recv
        try:
            if path == "/_test/docs":
                doc = recv.doc_list(params.get("index"))
            elif path == "/_test/count":
                doc = {"count": recv.count(params.get("index"))}
            elif path == "/_test/stats":
                doc = recv.stats_doc()
            elif path == "/_test/requests":
                with recv.lock:
                    doc = list(recv.request_log)
            elif path == "/_test/faults" and self.command == "POST":
                doc = recv.set_faults(json.loads(raw or b"{}"))
            elif path == "/_test/faults":
                with recv.lock:
                    doc = dict(recv.faults)
            elif path == "/_test/reset" and self.command == "POST":
                recv.reset()
                doc = {"acknowledged": True}
            elif path == "/_test/dump" and self.command == "POST":
                doc = {"count": recv.dump(json.loads(raw)["path"])}
            else:
                self._send(404, {"error": "no test endpoint %s %s" % (self.command, path)})
                return
        except (ValueError, KeyError, TypeError, OSError) as e:
            self._send(400, {"error": str(e)})
            return
        self._send(200, doc)


def _unauthenticated(path, reason):
    return BulkError(401, "security_exception", reason,
                     {"header": {"WWW-Authenticate": ["Basic realm=\"security\" "
                                                      "charset=\"UTF-8\"", "ApiKey"]}})


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def parse_args(argv):
    p = argparse.ArgumentParser(description="Elasticsearch _bulk receiver for vigil's tests")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file")
    p.add_argument("--flavour", choices=FLAVOURS, default="es8")
    p.add_argument("--user")
    p.add_argument("--password", default="")
    p.add_argument("--api-key")
    p.add_argument("--forbidden-user")
    p.add_argument("--data-stream", action="append", default=[])
    p.add_argument("--docs-file")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--tls-cert", help="PEM certificate: serve HTTPS (with --tls-key)")
    p.add_argument("--tls-key", help="PEM private key of --tls-cert")
    p.add_argument("--tls-client-ca", help="PEM CAs: require a client certificate they sign")
    p.add_argument("--item-429-first", type=int, default=0)
    p.add_argument("--item-429-ratio", type=float, default=0.0)
    p.add_argument("--bad-marker", default="")
    p.add_argument("--fail-503", type=int, default=0)
    p.add_argument("--max-body", type=int, default=0)
    p.add_argument("--delay", type=float, default=0.0)
    p.add_argument("--fail-401", type=int, default=0)
    p.add_argument("--huge-reply", type=int, default=0)
    p.add_argument("--huge-reply-bytes", type=int, default=0)
    opts = p.parse_args(argv)
    opts.data_stream = set(opts.data_stream)
    opts.forbidden_creds = None
    if opts.forbidden_user:
        user, sep, password = opts.forbidden_user.partition(":")
        opts.forbidden_creds = (user, password if sep else opts.password)
    return opts


def write_port_file(path, port):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.replace(tmp, path)


def main(argv=None):
    opts = parse_args(sys.argv[1:] if argv is None else argv)
    server = Server((opts.host, opts.port), Handler)
    server.recv = Receiver(opts)
    if opts.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(opts.tls_cert, opts.tls_key)
        if opts.tls_client_ca:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(opts.tls_client_ca)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)

    def on_signal(signum, frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if opts.port_file:
        write_port_file(opts.port_file, server.server_address[1])
    try:
        server.serve_forever(poll_interval=0.1)
    finally:
        server.server_close()
        if server.recv.docs_file is not None:
            server.recv.docs_file.close()
    return 0


def _fetch(url, data=None, method=None, timeout=30.0, cert=None):
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"} if data else {})
    # the test's own certificate: not checked here; cert=(pem, key) is
    # presented when the receiver asks for a client certificate
    ctx = ssl._create_unverified_context() if url.startswith("https:") else None
    if ctx is not None and cert is not None:
        ctx.load_cert_chain(*cert)
    with urllib.request.urlopen(req, timeout=timeout, context=ctx) as r:
        return json.loads(r.read())


class EsReceiver:
    """The receiver in a subprocess of its own, for tests.

    Keyword arguments are the CLI options with underscores (flavour="es7",
    user="u", password="p", api_key="k", forbidden_user="f",
    data_stream=["a"], docs_file=path, item_429_first=3, ...)."""

    def __init__(self, **options):
        self.options = options
        self.tmp = tempfile.mkdtemp(prefix="vigil-es-")
        self.port_file = os.path.join(self.tmp, "port")
        self.stderr_path = os.path.join(self.tmp, "es_receiver.stderr")
        self.proc = None
        self.port = None

    @property
    def url(self):
        scheme = "https" if self.options.get("tls_cert") else "http"
        return "%s://127.0.0.1:%d" % (scheme, self.port)

    def _args(self):
        args = [sys.executable, os.path.abspath(__file__), "--port", "0",
                "--port-file", self.port_file]
        for k, v in self.options.items():
            flag = "--" + k.replace("_", "-")
            for one in (v if isinstance(v, (list, tuple, set)) else [v]):
                if one is not None and one is not False:
                    args += [flag, str(one)]
        return args

    def start(self, timeout=10.0):
        self._err = open(self.stderr_path, "ab")
        self.proc = subprocess.Popen(self._args(), stdin=subprocess.DEVNULL,
                                     stdout=self._err, stderr=self._err)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if os.path.exists(self.port_file):
                with open(self.port_file) as f:
                    self.port = int(f.read())
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        self.stop()
        raise AssertionError("es_receiver did not start; stderr:\n" + self.stderr())

    def stop(self, timeout=10.0):
        """SIGTERM by PID, SIGKILL after timeout; returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._err.close()
        return self.proc.returncode

    def stderr(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode(errors="replace")

    def _fetch(self, path, data=None, method=None):
        cert = None
        if self.options.get("tls_client_ca"):
            cert = (self.options["tls_cert"], self.options["tls_key"])
        return _fetch(self.url + path, data, method, cert=cert)

    def docs(self, index=None):
        q = "?" + urllib.parse.urlencode({"index": index}) if index else ""
        return self._fetch("/_test/docs" + q)

    def count(self, index=None):
        q = "?" + urllib.parse.urlencode({"index": index}) if index else ""
        return self._fetch("/_test/count" + q)["count"]

    def stats(self):
        return self._fetch("/_test/stats")

    def requests(self):
        return self._fetch("/_test/requests")

    def faults(self, **spec):
        """Sets the named faults (see the module doc); returns all in force."""
        return self._fetch("/_test/faults", json.dumps(spec).encode(), "POST")

    def reset(self):
        return self._fetch("/_test/reset", b"{}", "POST")

    def dump(self, path):
        return self._fetch("/_test/dump", json.dumps({"path": path}).encode(), "POST")["count"]

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


if __name__ == "__main__":
    sys.exit(main())
