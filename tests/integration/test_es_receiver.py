"""The Elasticsearch receiver (es_receiver.py) itself: each protocol rule it
enforces and each fault it injects, checked with urllib on loopback.
Every receiver is stopped by PID in a finally block."""

import base64
import gzip
import http.client
import json
import os
import tempfile
import time
import urllib.error
import urllib.request

import vigiltest as vt
from es_receiver import EsReceiver

NDJSON = {"Content-Type": "application/x-ndjson"}


def ndjson(*objs):
    return "".join(json.dumps(o) + "\n" for o in objs).encode()


def post(url, body, headers=None, method="POST", timeout=10.0):
    """Returns (status, headers lower-cased, parsed JSON or raw bytes)."""
    hdrs = dict(NDJSON) if headers is None else headers
    req = urllib.request.Request(url, data=body, headers=hdrs, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, h, raw = r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        status, h, raw = e.code, e.headers, e.read()
    h = {k.lower(): v for k, v in h.items()}
    if h.get("content-encoding") == "gzip":
        raw = gzip.decompress(raw)
    try:
        return status, h, json.loads(raw)
    except ValueError:
        return status, h, raw


def items_of(doc):
    """[(op, item)] of a bulk answer."""
    return [next(iter(i.items())) for i in doc["items"]]


def receiver(**options):
    es = EsReceiver(**options)
    vt._tmpdirs.append(es.tmp)  # removed by finish() when every case passed
    return es.start()


@vt.case
def good_bulk_is_stored_and_answered_per_item():
    es = receiver(flavour="es8")
    try:
        body = ndjson({"index": {"_index": "a", "_id": "1"}}, {"m": 1},
                      {"create": {"_index": "a"}}, {"m": 2},
                      {"index": {"_index": "b", "_id": "1"}}, {"m": 3})
        status, hdrs, doc = post(es.url + "/_bulk", body)
        assert status == 200, (status, doc)
        assert hdrs.get("x-elastic-product") == "Elasticsearch"
        assert doc["errors"] is False and isinstance(doc["took"], int)
        ops = items_of(doc)
        assert [o for o, _ in ops] == ["index", "create", "index"]
        for _, it in ops:
            assert it["status"] == 201 and it["result"] == "created" and it["_version"] == 1
            assert "_type" not in it and it["_shards"]["successful"] == 1
        assert ops[0][1]["_id"] == "1" and len(ops[1][1]["_id"]) == 20
        assert es.count() == 3 and es.count("a") == 2
        docs = sorted(es.docs("a"), key=lambda d: d["source"]["m"])
        assert [d["source"] for d in docs] == [{"m": 1}, {"m": 2}]
        # index on an existing id replaces it: 200 updated, version 2
        status, _, doc = post(es.url + "/_bulk", ndjson({"index": {"_index": "a", "_id": "1"}},
                                                        {"m": 9}))
        it = items_of(doc)[0][1]
        assert (it["status"], it["result"], it["_version"]) == (200, "updated", 2)
        assert es.count("a") == 2
        st = es.stats()
        assert st["items_by_status"] == {"201": 3, "200": 1} and st["bulk_requests"] == 2
    finally:
        es.stop()


@vt.case
def version_document_per_flavour():
    expect = {"es7": ("7.", "You Know, for Search", None),
              "es8": ("8.", "You Know, for Search", None),
              "opensearch1": ("1.", "The OpenSearch Project: https://opensearch.org/",
                              "opensearch"),
              "opensearch2": ("2.", "The OpenSearch Project: https://opensearch.org/",
                              "opensearch")}
    for flavour, (prefix, tagline, distribution) in expect.items():
        es = receiver(flavour=flavour)
        try:
            status, hdrs, body = vt.http_get(es.url + "/")
            doc = json.loads(body)
            assert status == 200 and doc["tagline"] == tagline, (flavour, doc)
            assert doc["version"]["number"].startswith(prefix)
            assert doc["version"].get("distribution") == distribution
            assert ("x-elastic-product" in hdrs) == flavour.startswith("es")
        finally:
            es.stop()


@vt.case
def body_without_final_newline_is_400():
    es = receiver()
    try:
        status, _, doc = post(es.url + "/_bulk", ndjson({"index": {"_index": "a"}}) + b"{}")
        assert status == 400, status
        assert doc["error"]["type"] == "illegal_argument_exception"
        assert doc["error"]["reason"] == "The bulk request must be terminated by a newline [\\n]"
        assert doc["error"]["root_cause"][0]["reason"] == doc["error"]["reason"]
        assert doc["status"] == 400 and es.count() == 0
    finally:
        es.stop()


@vt.case
def content_type_must_be_ndjson_or_json():
    es = receiver()
    try:
        body = ndjson({"index": {"_index": "a"}}, {"m": 1})
        status, _, doc = post(es.url + "/_bulk", body, {"Content-Type": "text/plain"})
        assert status == 406 and "[text/plain] is not supported" in doc["error"], doc
        # urllib sends a form Content-Type when none is given
        status, _, doc = post(es.url + "/_bulk", body, {})
        assert status == 406 and "x-www-form-urlencoded" in doc["error"], (status, doc)
        status, _, doc = post(es.url + "/_bulk", body, {"Content-Type": "application/json"})
        assert status == 200 and doc["errors"] is False
        status, _, doc = post(es.url + "/_bulk", body,
                              {"Content-Type": "application/x-ndjson; charset=UTF-8"})
        assert status == 200 and es.count() == 2
    finally:
        es.stop()


@vt.case
def missing_content_type_is_406():
    es = receiver()
    try:
        # urllib adds a form Content-Type to POST bodies: talk raw HTTP instead
        conn = http.client.HTTPConnection("127.0.0.1", es.port, timeout=5)
        body = ndjson({"index": {"_index": "a"}}, {"m": 1})
        conn.request("POST", "/_bulk", body=body, headers={"Content-Length": str(len(body))})
        r = conn.getresponse()
        doc = json.loads(r.read())
        conn.close()
        assert r.status == 406 and doc["error"] == "Content-Type header is missing", doc
    finally:
        es.stop()


@vt.case
def malformed_action_lines_are_400():
    es = receiver(flavour="es8")
    cases = [
        (b'{"index":\n{}\n', "x_content_parse_exception", None),
        (b'"index"\n{}\n', "illegal_argument_exception",
         "expected START_OBJECT or END_OBJECT but found [VALUE_STRING]"),
        (ndjson({"insert": {"_index": "a"}}, {}), "illegal_argument_exception",
         "expected field [create], [delete], [index] or [update] but found [insert]"),
        (ndjson({"index": {"_index": "a"}, "create": {}}, {}), "illegal_argument_exception",
         "expected END_OBJECT"),
        (ndjson({"index": {"_index": "a", "colour": 1}}, {}), "illegal_argument_exception",
         "Action/metadata line [1] contains an unknown parameter [colour]"),
        (ndjson({"index": {}}, {}), "action_request_validation_exception",
         "Validation Failed: 1: index is missing;"),
        (ndjson({"delete": {"_index": "a"}}), "action_request_validation_exception",
         "id is missing"),
        (ndjson({"index": {"_index": "a"}}), "action_request_validation_exception",
         "source is missing"),
        (ndjson({"update": {"_index": "a", "_id": "1"}}, {"colour": 1}),
         "x_content_parse_exception", "[UpdateRequest] unknown field [colour]"),
    ]
    try:
        for body, etype, reason in cases:
            status, _, doc = post(es.url + "/_bulk", body)
            assert status == 400, (body, status, doc)
            assert doc["error"]["type"] == etype, (body, doc)
            assert reason is None or reason in doc["error"]["reason"], (body, doc)
        assert es.count() == 0
        # the index may come from the URL instead
        status, _, doc = post(es.url + "/fromurl/_bulk", ndjson({"index": {}}, {"m": 1}))
        assert status == 200 and items_of(doc)[0][1]["_index"] == "fromurl", doc
        # an empty body adds no requests
        status, _, doc = post(es.url + "/_bulk", b"\n")
        assert status == 400 and "no requests added" in doc["error"]["reason"]
    finally:
        es.stop()


@vt.case
def type_is_rejected_on_es8_and_opensearch2_and_accepted_on_es7():
    body = ndjson({"index": {"_index": "a", "_type": "_doc", "_id": "1"}}, {"m": 1})
    for flavour in ("es8", "opensearch2"):
        es = receiver(flavour=flavour)
        try:
            status, _, doc = post(es.url + "/_bulk", body)
            assert status == 400, (flavour, status)
            assert doc["error"]["reason"] == \
                "Action/metadata line [1] contains an unknown parameter [_type]", doc
        finally:
            es.stop()
    for flavour in ("es7", "opensearch1"):
        es = receiver(flavour=flavour)
        try:
            status, _, doc = post(es.url + "/_bulk", body)
            assert status == 200 and doc["errors"] is False, (flavour, doc)
            assert items_of(doc)[0][1]["_type"] == "_doc"
            # and es7 answers _type even when none was sent
            _, _, doc = post(es.url + "/_bulk", ndjson({"create": {"_index": "a"}}, {"m": 2}))
            assert items_of(doc)[0][1]["_type"] == "_doc"
        finally:
            es.stop()


@vt.case
def gzip_body_is_decoded_and_counted():
    es = receiver()
    try:
        plain = ndjson(*[x for i in range(100) for x in ({"create": {"_index": "z"}},
                                                         {"m": i, "text": "x" * 50})])
        packed = gzip.compress(plain)
        status, _, doc = post(es.url + "/_bulk", packed,
                              dict(NDJSON, **{"Content-Encoding": "gzip"}))
        assert status == 200 and doc["errors"] is False and len(doc["items"]) == 100
        st = es.stats()
        assert st["gzip_requests"] == 1
        assert st["bytes_wire"] == len(packed) and st["bytes_decoded"] == len(plain), st
        assert es.count("z") == 100
        # answers are gzipped when the client accepts it
        status, hdrs, doc = post(es.url + "/_bulk", packed,
                                 dict(NDJSON, **{"Content-Encoding": "gzip",
                                                 "Accept-Encoding": "gzip"}))
        assert status == 200 and hdrs.get("content-encoding") == "gzip" and not doc["errors"]
    finally:
        es.stop()


@vt.case
def body_that_does_not_gunzip_is_400():
    es = receiver()
    try:
        plain = ndjson({"create": {"_index": "z"}}, {"m": 1})
        for bad in (plain, gzip.compress(plain)[:-12]):
            status, _, doc = post(es.url + "/_bulk", bad,
                                  dict(NDJSON, **{"Content-Encoding": "gzip"}))
            assert status == 400 and doc["status"] == 400, (status, doc)
        assert es.count() == 0
    finally:
        es.stop()


def basic(user, password):
    return "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()


@vt.case
def basic_auth_401_403_and_ok():
    es = receiver(user="elastic", password="s3cret", forbidden_user="viewer")
    body = ndjson({"create": {"_index": "a"}}, {"m": 1})
    try:
        status, hdrs, doc = post(es.url + "/_bulk", body)
        assert status == 401 and doc["error"]["type"] == "security_exception", doc
        assert "missing authentication credentials" in doc["error"]["reason"]
        assert "www-authenticate" in hdrs
        status, _, doc = post(es.url + "/_bulk", body,
                              dict(NDJSON, Authorization=basic("elastic", "wrong")))
        assert status == 401 and "unable to authenticate user [elastic]" in \
            doc["error"]["reason"], doc
        status, _, doc = post(es.url + "/_bulk", body,
                              dict(NDJSON, Authorization=basic("viewer", "s3cret")))
        assert status == 403 and doc["error"]["type"] == "security_exception", doc
        status, _, doc = post(es.url + "/_bulk", body,
                              dict(NDJSON, Authorization=basic("elastic", "s3cret")))
        assert status == 200 and doc["errors"] is False
        assert vt.http_get(es.url + "/")[0] == 401
        assert vt.http_get(es.url + "/", {"Authorization": basic("elastic", "s3cret")})[0] == 200
        assert es.count() == 1  # /_test/ needs no credentials
    finally:
        es.stop()


@vt.case
def api_key_auth_401_and_ok():
    key = base64.b64encode(b"VuaCfGcBCdbkQm-e5aOx:ui2lp2axTNmsyakw9tvNnw").decode()
    es = receiver(api_key=key)
    body = ndjson({"create": {"_index": "a"}}, {"m": 1})
    try:
        status, _, doc = post(es.url + "/_bulk", body, dict(NDJSON, Authorization="ApiKey x" + key))
        assert status == 401 and doc["error"]["type"] == "security_exception", doc
        status, _, doc = post(es.url + "/_bulk", body, dict(NDJSON, Authorization=basic("a", "b")))
        assert status == 401
        status, _, doc = post(es.url + "/_bulk", body, dict(NDJSON, Authorization="ApiKey " + key))
        assert status == 200 and doc["errors"] is False
    finally:
        es.stop()


@vt.case
def data_streams_take_only_create_with_timestamp():
    es = receiver(flavour="es8", data_stream=["metrics"])
    try:
        body = ndjson({"index": {"_index": "metrics"}}, {"@timestamp": "2024-01-01T00:00:00Z"},
                      {"create": {"_index": "metrics"}}, {"@timestamp": "2024-01-01T00:00:00Z"},
                      {"index": {"_index": "logs-app-default"}}, {"@timestamp": "x"},
                      {"create": {"_index": "logs-app-default"}}, {"@timestamp": "x"},
                      {"create": {"_index": "logs-app-default"}}, {"message": "no time"},
                      {"index": {"_index": "logs-app", "op_type": "create"}}, {"m": 1})
        status, _, doc = post(es.url + "/_bulk", body)
        assert status == 200 and doc["errors"] is True
        got = [(op, it["status"]) for op, it in items_of(doc)]
        assert got == [("index", 400), ("create", 201), ("index", 400), ("create", 201),
                       ("create", 400), ("create", 201)], got
        it = items_of(doc)[0][1]
        assert it["error"]["type"] == "illegal_argument_exception"
        assert it["error"]["reason"] == \
            "only write ops with an op_type of create are allowed in data streams"
        assert items_of(doc)[1][1]["_index"].startswith(".ds-metrics-")
        assert "@timestamp" in items_of(doc)[4][1]["error"]["reason"]
        assert es.count("metrics") == 1 and es.count("logs-app-default") == 1
        assert es.count("logs-app") == 1  # not logs-*-*: an ordinary index
    finally:
        es.stop()


@vt.case
def create_on_existing_id_is_409():
    es = receiver(flavour="es7")
    try:
        body = ndjson({"create": {"_index": "a", "_id": "k"}}, {"m": 1})
        post(es.url + "/_bulk", body)
        status, _, doc = post(es.url + "/_bulk", ndjson({"create": {"_index": "a", "_id": "k"}},
                                                        {"m": 2}))
        assert status == 200 and doc["errors"] is True
        it = items_of(doc)[0][1]
        assert it["status"] == 409 and it["_id"] == "k" and it["_type"] == "_doc"
        assert it["error"]["type"] == "version_conflict_engine_exception"
        assert "document already exists" in it["error"]["reason"]
        assert es.docs("a")[0]["source"] == {"m": 1}
    finally:
        es.stop()


@vt.case
def update_and_delete_items():
    es = receiver()
    try:
        body = ndjson({"update": {"_index": "a", "_id": "u"}}, {"doc": {"m": 1}},
                      {"update": {"_index": "a", "_id": "u"}},
                      {"doc": {"m": 1}, "doc_as_upsert": True},
                      {"update": {"_index": "a", "_id": "u"}}, {"doc": {"n": {"o": 2}}},
                      {"delete": {"_index": "a", "_id": "gone"}},
                      {"index": {"_index": "a", "_id": "d"}}, {"m": 3},
                      {"delete": {"_index": "a", "_id": "d"}})
        status, _, doc = post(es.url + "/_bulk", body)
        got = [(op, it["status"], it.get("result")) for op, it in items_of(doc)]
        assert got == [("update", 404, None), ("update", 201, "created"),
                       ("update", 200, "updated"), ("delete", 404, "not_found"),
                       ("index", 201, "created"), ("delete", 200, "deleted")], got
        assert items_of(doc)[0][1]["error"]["type"] == "document_missing_exception"
        assert es.docs("a") == [{"index": "a", "id": "u", "source": {"m": 1, "n": {"o": 2}}}]
    finally:
        es.stop()


@vt.case
def source_is_parsed_strictly_per_item():
    es = receiver(flavour="es8")
    try:
        body = (ndjson({"index": {"_index": "a"}}) + b'{"k":1,"k":2}\n'
                + ndjson({"index": {"_index": "a"}}) + b'{"v":NaN}\n'
                + ndjson({"index": {"_index": "a"}}) + b'[1,2]\n'
                + ndjson({"index": {"_index": "a"}}) + b'{"v":"\xff"}\n'
                + ndjson({"index": {"_index": "Upper"}}, {"m": 1})
                + ndjson({"index": {"_index": "_under"}}, {"m": 1})
                + ndjson({"index": {"_index": "a"}}, {"ok": True}))
        status, _, doc = post(es.url + "/_bulk", body)
        assert status == 200, (status, doc)
        got = [(it["status"], it.get("error", {}).get("type")) for _, it in items_of(doc)]
        assert got == [(400, "document_parsing_exception")] * 4 + [
            (400, "invalid_index_name_exception")] * 2 + [(201, None)], got
        assert es.count() == 1
    finally:
        es.stop()


@vt.case
def query_parameters_and_url_index():
    es = receiver(flavour="es7")
    try:
        body = ndjson({"index": {}}, {"m": 1})
        status, _, doc = post(es.url + "/i1/_bulk?pipeline=p1&routing=r&refresh=false", body)
        assert status == 200 and items_of(doc)[0][1]["_index"] == "i1", doc
        status, _, doc = post(es.url + "/i1/mytype/_bulk", body)
        assert status == 200 and items_of(doc)[0][1]["_type"] == "mytype", doc
        status, _, doc = post(es.url + "/_bulk?colour=red", body)
        assert status == 400 and \
            "contains unrecognized parameter: [colour]" in doc["error"]["reason"], doc
        status, _, doc = post(es.url + "/i1/_bulk?filter_path=errors,items.*.status", body)
        assert doc == {"errors": False, "items": [{"index": {"status": 201}}]}, doc
        assert es.stats()["pipelines"] == {"p1": 1}
        log = es.requests()
        assert log[0]["pipeline"] == "p1" and log[0]["routing"] == "r" and log[0]["items"] == 1
        status, _, _ = post(es.url + "/_search", body)
        assert status == 400
    finally:
        es.stop()


@vt.case
def keep_alive_serves_many_requests_on_one_connection():
    es = receiver()
    conn = None
    try:
        conn = http.client.HTTPConnection("127.0.0.1", es.port, timeout=5)
        for i in range(20):
            body = ndjson({"create": {"_index": "ka"}}, {"m": i})
            conn.request("POST", "/_bulk", body=body, headers=NDJSON)
            r = conn.getresponse()
            assert r.status == 200 and not json.loads(r.read())["errors"]
        assert es.count("ka") == 20
    finally:
        if conn is not None:
            conn.close()
        es.stop()


def create_items(n, index="f", start=0):
    return ndjson(*[x for i in range(start, start + n)
                    for x in ({"create": {"_index": index}}, {"m": i})])


@vt.case
def fault_item_429_first():
    es = receiver(item_429_first=2)
    try:
        status, _, doc = post(es.url + "/_bulk", create_items(3))
        got = [it["status"] for _, it in items_of(doc)]
        assert status == 200 and doc["errors"] and got == [429, 429, 201], got
        err = items_of(doc)[0][1]["error"]
        assert err["type"] == "es_rejected_execution_exception"
        assert es.count() == 1 and es.stats()["faults"]["item_429"] == 2
        es.faults(item_429_first=1)
        _, _, doc = post(es.url + "/_bulk", create_items(2))
        assert [it["status"] for _, it in items_of(doc)] == [429, 201]
    finally:
        es.stop()


@vt.case
def fault_item_429_ratio_is_seeded():
    seen = []
    for _ in range(2):
        es = receiver(item_429_ratio=0.5, seed=7)
        try:
            _, _, doc = post(es.url + "/_bulk", create_items(200))
            statuses = [it["status"] for _, it in items_of(doc)]
            assert 40 < statuses.count(429) < 160, statuses.count(429)
            assert es.count() == statuses.count(201)
            seen.append(statuses)
        finally:
            es.stop()
    assert seen[0] == seen[1], "the same seed gives the same rejections"


@vt.case
def fault_bad_marker():
    es = receiver(bad_marker="POISON")
    try:
        body = ndjson({"create": {"_index": "a"}}, {"msg": "fine"},
                      {"create": {"_index": "a"}}, {"msg": "has POISON in it"})
        _, _, doc = post(es.url + "/_bulk", body)
        got = [(it["status"], it.get("error", {}).get("type")) for _, it in items_of(doc)]
        assert got == [(201, None), (400, "mapper_parsing_exception")], got
        assert es.count() == 1
        es.faults(bad_marker="")
        _, _, doc = post(es.url + "/_bulk", body)
        assert doc["errors"] is False
    finally:
        es.stop()


@vt.case
def fault_fail_503_and_fail_401():
    es = receiver(fail_503=2)
    try:
        body = create_items(1)
        for _ in range(2):
            status, _, doc = post(es.url + "/_bulk", body)
            assert status == 503 and doc["status"] == 503 and "error" in doc, doc
        assert post(es.url + "/_bulk", body)[0] == 200
        es.faults(fail_401=1)
        status, _, doc = post(es.url + "/_bulk", body)
        assert status == 401 and doc["error"]["type"] == "security_exception"
        assert post(es.url + "/_bulk", body)[0] == 200
        assert vt.http_get(es.url + "/")[0] == 200  # faults hit bulk requests only
        st = es.stats()
        assert st["faults"]["fail_503"] == 2 and st["faults"]["fail_401"] == 1
        assert st["responses_by_status"]["503"] == 2 and es.count() == 2
    finally:
        es.stop()


@vt.case
def fault_huge_reply_pads_valid_json():
    es = receiver(huge_reply=2, huge_reply_bytes=3000000)
    try:
        body = create_items(2)
        gz = dict(NDJSON, **{"Accept-Encoding": "gzip"})
        req = urllib.request.Request(es.url + "/_bulk?filter_path=errors,items.*.status",
                                     data=body, headers=gz, method="POST")
        with urllib.request.urlopen(req, timeout=10) as r:
            wire = r.read()
            encoding = r.headers.get("Content-Encoding")
        text = gzip.decompress(wire)
        status, _, plain = post(es.url + "/_bulk", create_items(1))
        status_after, _, after = post(es.url + "/_bulk", create_items(1))
        st = es.stats()
    finally:
        es.stop()
    print("  padded reply: %d bytes as sent (gzip), %d inflated" % (len(wire), len(text)))
    assert encoding == "gzip" and len(wire) < 100000 and len(text) > 3000000, len(wire)
    assert json.loads(text) == {"errors": False, "items": [{"create": {"status": 201}}] * 2}
    # the second one without gzip: the padding as it is; the third is plain again
    assert status == 200 and isinstance(plain, dict) and st["faults"]["huge_reply"] == 2
    assert status_after == 200 and len(json.dumps(after)) < 1000, after


@vt.case
def fault_max_body_counts_decoded_bytes():
    es = receiver(max_body=2000)
    try:
        big = create_items(100)
        assert len(big) > 2000
        status, hdrs, _ = post(es.url + "/_bulk", gzip.compress(big),
                               dict(NDJSON, **{"Content-Encoding": "gzip"}))
        assert status == 413, status
        status, _, _ = post(es.url + "/_bulk", big)
        assert status == 413
        assert post(es.url + "/_bulk", create_items(5))[0] == 200
        assert es.stats()["faults"]["max_body"] == 2 and es.count() == 5
    finally:
        es.stop()


@vt.case
def fault_delay():
    es = receiver()
    try:
        es.faults(delay=0.4)
        t0 = time.monotonic()
        assert post(es.url + "/_bulk", create_items(1))[0] == 200
        assert time.monotonic() - t0 >= 0.4
        es.faults(delay=0)
        t0 = time.monotonic()
        post(es.url + "/_bulk", create_items(1))
        assert time.monotonic() - t0 < 0.4
    finally:
        es.stop()


@vt.case
def reset_forgets_documents_counters_and_faults():
    es = receiver(fail_503=5)
    try:
        post(es.url + "/_bulk", create_items(1))
        es.faults(fail_503=0)
        post(es.url + "/_bulk", create_items(3))
        es.faults(item_429_first=9)
        assert es.count() == 3
        es.reset()
        st = es.stats()
        assert st["docs"] == 0 and st["requests"] == 0 and st["items"] == 0, st
        assert st["faults_in_force"]["item_429_first"] == 0
        assert es.requests() == []
        _, _, doc = post(es.url + "/_bulk", create_items(2))
        assert doc["errors"] is False and es.count() == 2
    finally:
        es.stop()


@vt.case
def docs_file_keeps_sources_out_of_memory():
    tmp = tempfile.mkdtemp(prefix="vigil-es-it-")
    vt._tmpdirs.append(tmp)
    path = os.path.join(tmp, "docs.ndjson")
    es = receiver(docs_file=path)
    try:
        for k in range(5):
            assert post(es.url + "/_bulk", create_items(1000, "big", k * 1000))[0] == 200
        assert es.count("big") == 5000
        with open(path) as f:
            lines = f.readlines()
        assert len(lines) == 5000 and json.loads(lines[0])["index"] == "big"
        ms = sorted(d["source"]["m"] for d in es.docs("big"))
        assert ms == list(range(5000))
        dump = os.path.join(tmp, "dump.ndjson")
        assert es.dump(dump) == 5000
        # duplicates are still refused with only the ids kept
        _, _, doc = post(es.url + "/_bulk", ndjson({"create": {"_index": "big", "_id": "x"}},
                                                   {"m": 1}) * 2)
        assert [it["status"] for _, it in items_of(doc)] == [201, 409]
    finally:
        es.stop()


vt.finish()
