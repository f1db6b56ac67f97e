/*
 * test_elasticsearch.c - the pure parts of the elasticsearch output:
 * index and routing templates, document ids, _bulk lines, cutting at
 * bulk_max_bytes, gzip, and reading _bulk replies of Elasticsearch 7/8 and
 * OpenSearch.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../outputs/elasticsearch/es_parse.h"

/* 2026-11-24T10:00:00Z */
#define ES_T0 (INT64_C(1795514400) * VG_NS_PER_SEC)

/* A record with up to four fields, built without a batch. */
struct es_rec {
    struct vg_record r;
    struct vg_field f[4];
    size_t n;
};

static void rec_init(struct es_rec *t, int64_t time_ns, const char *body)
{
    memset(t, 0, sizeof(*t));
    t->r.time_ns = time_ns;
    t->r.body = body;
    t->r.body_len = strlen(body);
    t->r.source_id = 7;
    t->r.position = 4096;
}

static struct vg_field *rec_add(struct es_rec *t, const char *key, enum vg_field_type type)
{
    struct vg_field *f = &t->f[t->n++];

    f->key = key;
    f->type = type;
    if (t->r.fields == NULL)
        t->r.fields = f;
    else
        t->r.fields_tail->next = f;
    t->r.fields_tail = f;
    return f;
}

static void rec_str(struct es_rec *t, const char *key, const char *v)
{
    struct vg_field *f = rec_add(t, key, VG_FIELD_STR);

    f->v.s.ptr = v;
    f->v.s.len = strlen(v);
}

static void rec_int(struct es_rec *t, const char *key, int64_t v)
{
    rec_add(t, key, VG_FIELD_INT)->v.i = v;
}

/* Expands tmpl for t into a static buffer; asserts the status. */
static const char *expand(const char *tmpl, const struct es_rec *t, unsigned flags, int want)
{
    static char out[ES_INDEX_MAX + 1];
    size_t len = 99;

    assert_int_equal(es_expand(tmpl, &t->r, flags, out, sizeof(out), &len), want);
    if (want == VG_OK)
        assert_int_equal(len, strlen(out));
    return out;
}

/* ---- templates ---- */

static void template_check_accepts_strftime_and_fields(void **state)
{
    struct vg_error why = {0};

    (void)state;
    assert_int_equal(es_template_check("vigil-%Y.%m.%d", ES_EXPAND_INDEX, &why), VG_OK);
    assert_int_equal(es_template_check("logs-{namespace}-%Y", ES_EXPAND_INDEX, &why), VG_OK);
    assert_int_equal(es_template_check("{pod}", 0, &why), VG_OK);
}

static void template_check_refuses_bad_braces_and_bytes(void **state)
{
    struct vg_error why = {0};

    (void)state;
    assert_int_equal(es_template_check("", ES_EXPAND_INDEX, &why), VG_ECONFIG);
    assert_int_equal(es_template_check("logs-{ns", ES_EXPAND_INDEX, &why), VG_ECONFIG);
    assert_non_null(strstr(why.msg, "not closed"));
    assert_int_equal(es_template_check("logs-{}", ES_EXPAND_INDEX, &why), VG_ECONFIG);
    assert_int_equal(es_template_check("logs-}", ES_EXPAND_INDEX, &why), VG_ECONFIG);
    assert_int_equal(es_template_check("logs vigil", ES_EXPAND_INDEX, &why), VG_ECONFIG);
    assert_non_null(strstr(why.msg, "index name"));
    assert_int_equal(es_template_check("a/b", ES_EXPAND_INDEX, &why), VG_ECONFIG);
    /* a routing value may hold any byte */
    assert_int_equal(es_template_check("a b/c", 0, &why), VG_OK);
}

static void expand_formats_the_record_time_in_utc(void **state)
{
    struct es_rec t;

    (void)state;
    rec_init(&t, ES_T0 + 13 * 3600 * VG_NS_PER_SEC, "x"); /* 23:00 */
    assert_string_equal(expand("vigil-%Y.%m.%d", &t, ES_EXPAND_TIME | ES_EXPAND_INDEX, VG_OK),
                        "vigil-2026.11.24");
    assert_string_equal(expand("h-%H", &t, ES_EXPAND_TIME, VG_OK), "h-23");
    /* without ES_EXPAND_TIME a % is kept as it is */
    assert_string_equal(expand("a%Yb", &t, 0, VG_OK), "a%Yb");
}

static void expand_before_the_epoch_takes_the_right_day(void **state)
{
    struct es_rec t;

    (void)state;
    rec_init(&t, -1, "x"); /* 1969-12-31T23:59:59.999999999Z */
    assert_string_equal(expand("d-%Y.%m.%d", &t, ES_EXPAND_TIME, VG_OK), "d-1969.12.31");
}

static void expand_takes_fields_and_lower_cases_index_names(void **state)
{
    struct es_rec t;

    (void)state;
    rec_init(&t, ES_T0, "x");
    rec_str(&t, "namespace", "Kube-System");
    assert_string_equal(expand("Logs-{namespace}-%Y", &t, ES_EXPAND_TIME | ES_EXPAND_INDEX, VG_OK),
                        "logs-kube-system-2026");
    /* a routing value keeps its case */
    assert_string_equal(expand("{namespace}", &t, 0, VG_OK), "Kube-System");
}

static void expand_replaces_bytes_an_index_cannot_hold(void **state)
{
    struct es_rec t;

    (void)state;
    rec_init(&t, ES_T0, "x");
    rec_str(&t, "pod", "a b/c:d*E");
    assert_string_equal(expand("l-{pod}", &t, ES_EXPAND_INDEX, VG_OK), "l-a_b_c_d_e");
}

static void expand_writes_unknown_for_a_missing_field(void **state)
{
    struct es_rec t;

    (void)state;
    rec_init(&t, ES_T0, "x");
    assert_string_equal(expand("logs-{team}", &t, ES_EXPAND_INDEX, VG_OK), "logs-unknown");
    expand("{team}", &t, ES_EXPAND_MISSING, VG_ENOENT);
}

static void expand_prints_numbers_and_booleans(void **state)
{
    struct es_rec t;

    (void)state;
    rec_init(&t, ES_T0, "x");
    rec_int(&t, "n", -12);
    rec_add(&t, "b", VG_FIELD_BOOL)->v.b = true;
    rec_add(&t, "d", VG_FIELD_DOUBLE)->v.d = 2.5;
    assert_string_equal(expand("{n}.{b}.{d}", &t, 0, VG_OK), "-12.true.2.5");
}

static void expand_refuses_empty_and_too_long_names(void **state)
{
    char big[400];
    struct es_rec t;

    (void)state;
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    rec_init(&t, ES_T0, "x");
    rec_str(&t, "empty", "");
    rec_str(&t, "big", big);
    expand("{empty}", &t, ES_EXPAND_INDEX, VG_EINVAL);
    expand("x-{big}", &t, ES_EXPAND_INDEX, VG_EINVAL);
}

/* ---- ids ---- */

static void siphash_matches_the_reference_vectors(void **state)
{
    uint8_t k[16], m[15];
    size_t i;

    (void)state;
    for (i = 0; i < 16; i++)
        k[i] = (uint8_t)i;
    for (i = 0; i < 15; i++)
        m[i] = (uint8_t)i;
    /* from the SipHash paper's reference implementation (vectors.h) */
    assert_true(es_siphash(k, m, 0) == UINT64_C(0x726fdb47dd0e0e31));
    assert_true(es_siphash(k, m, 1) == UINT64_C(0x74f839c593dc67fd));
    assert_true(es_siphash(k, m, 15) == UINT64_C(0xa129ca6149be45e5));
}

static void doc_id_is_stable_across_versions(void **state)
{
    char id[ES_ID_LEN + 1], again[ES_ID_LEN + 1];

    (void)state;
    es_doc_id("node-1", 42, 1000, id);
    es_doc_id("node-1", 42, 1000, again);
    assert_string_equal(id, again);
    assert_int_equal(strlen(id), ES_ID_LEN);
    assert_int_equal(strspn(id, "0123456789abcdef"), ES_ID_LEN);
    /* pinned: documents already stored carry this id; it must never change */
    assert_string_equal(id, "f7afdb0eb5d05260a844d35cbb2852fb");
}

static void doc_id_differs_by_node_source_and_position(void **state)
{
    char a[ES_ID_LEN + 1], b[ES_ID_LEN + 1];

    (void)state;
    es_doc_id("node-1", 42, 1000, a);
    es_doc_id("node-2", 42, 1000, b);
    assert_string_not_equal(a, b);
    es_doc_id("node-1", 43, 1000, b);
    assert_string_not_equal(a, b);
    es_doc_id("node-1", 42, 1001, b);
    assert_string_not_equal(a, b);
    /* the node name and the numbers cannot run into each other */
    es_doc_id("node-1\x01", 0, 1000, b);
    assert_string_not_equal(a, b);
    es_doc_id(NULL, 42, 1000, b);
    assert_int_equal(strlen(b), ES_ID_LEN);
}

/* ---- _bulk lines ---- */

struct es_fix {
    struct es_encoder e;
    struct vg_buf out;
    struct vg_error why;
};

static int enc_setup(void **state)
{
    struct es_fix *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    f->e.index = "vigil-%Y.%m.%d";
    f->e.id_auto = true;
    f->e.node = "node-1";
    es_encoder_reset(&f->e);
    vg_buf_init(&f->out);
    *state = f;
    return 0;
}

static int enc_teardown(void **state)
{
    struct es_fix *f = *state;

    vg_buf_free(&f->out);
    free(f);
    return 0;
}

/* The action line of the first record in f->out, NUL-terminated copy. */
static const char *first_line(const struct es_fix *f)
{
    static char line[1024];
    size_t n = strcspn(f->out.data, "\n");

    assert_true(n < sizeof(line));
    memcpy(line, f->out.data, n);
    line[n] = '\0';
    return line;
}

static void encode_auto_id_is_create_with_id(void **state)
{
    struct es_fix *f = *state;
    char id[ES_ID_LEN + 1], want[256];
    struct es_rec t;

    rec_init(&t, ES_T0, "hello");
    assert_int_equal(es_encode(&f->e, &t.r, &f->out, &f->why), VG_OK);
    es_doc_id("node-1", 7, 4096, id);
    snprintf(want, sizeof(want), "{\"create\":{\"_index\":\"vigil-2026.11.24\",\"_id\":\"%s\"}}",
             id);
    assert_string_equal(first_line(f), want);
}

static void encode_without_source_is_index_without_id(void **state)
{
    struct es_fix *f = *state;
    struct es_rec t;

    rec_init(&t, ES_T0, "hello");
    t.r.source_id = 0;
    assert_int_equal(es_encode(&f->e, &t.r, &f->out, &f->why), VG_OK);
    assert_string_equal(first_line(f), "{\"index\":{\"_index\":\"vigil-2026.11.24\"}}");
}

static void encode_id_none_is_index_without_id(void **state)
{
    struct es_fix *f = *state;
    struct es_rec t;

    f->e.id_auto = false;
    rec_init(&t, ES_T0, "hello");
    assert_int_equal(es_encode(&f->e, &t.r, &f->out, &f->why), VG_OK);
    assert_string_equal(first_line(f), "{\"index\":{\"_index\":\"vigil-2026.11.24\"}}");
}

static void encode_data_stream_is_always_create(void **state)
{
    struct es_fix *f = *state;
    struct es_rec t;

    f->e.index = "logs-generic-default";
    f->e.data_stream = true;
    f->e.id_auto = false;
    es_encoder_reset(&f->e);
    rec_init(&t, ES_T0, "hello");
    assert_int_equal(es_encode(&f->e, &t.r, &f->out, &f->why), VG_OK);
    assert_string_equal(first_line(f), "{\"create\":{\"_index\":\"logs-generic-default\"}}");
}

static void encode_routing_from_a_field_or_none(void **state)
{
    struct es_fix *f = *state;
    struct es_rec t;

    f->e.id_auto = false;
    f->e.routing = "{pod}";
    rec_init(&t, ES_T0, "hello");
    rec_str(&t, "pod", "Web-1");
    assert_int_equal(es_encode(&f->e, &t.r, &f->out, &f->why), VG_OK);
    assert_string_equal(first_line(f),
                        "{\"index\":{\"_index\":\"vigil-2026.11.24\",\"routing\":\"Web-1\"}}");
    /* no such field: no routing, the document is routed by its _id */
    vg_buf_reset(&f->out);
    rec_init(&t, ES_T0, "hello");
    assert_int_equal(es_encode(&f->e, &t.r, &f->out, &f->why), VG_OK);
    assert_string_equal(first_line(f), "{\"index\":{\"_index\":\"vigil-2026.11.24\"}}");
}

/* The source line es_encode writes for t (f->out reset first). */
static const char *source_line(struct es_fix *f, struct es_rec *t)
{
    vg_buf_reset(&f->out);
    assert_int_equal(es_encode(&f->e, &t->r, &f->out, &f->why), VG_OK);
    return strchr(f->out.data, '\n') + 1;
}

static void encode_source_line_has_timestamp_message_and_fields(void **state)
{
    struct es_fix *f = *state;
    struct es_rec t;

    rec_init(&t, ES_T0 + 5, "a \"quoted\" line");
    rec_str(&t, "pod", "web");
    rec_int(&t, "code", 500);
    assert_string_equal(source_line(f, &t),
                        "{\"@timestamp\":\"2026-11-24T10:00:00.000000005Z\","
                        "\"message\":\"a \\\"quoted\\\" line\",\"pod\":\"web\",\"code\":500}\n");
}

static void encode_never_writes_duplicate_keys(void **state)
{
    struct es_fix *f = *state;
    struct es_rec t;

    rec_init(&t, ES_T0, "raw body");
    rec_str(&t, "message", "parsed message");
    rec_str(&t, "@timestamp", "yesterday");
    rec_str(&t, "k", "first");
    rec_str(&t, "k", "second");
    assert_string_equal(source_line(f, &t), "{\"@timestamp\":\"2026-11-24T10:00:00.000000000Z\","
                                            "\"message\":\"parsed message\",\"k\":\"first\"}\n");
}

/* record_schema: the document in the schema asked for, after the same
 * action line; a repeated message goes under labels rather than away. */
static void encode_writes_the_record_schema_asked_for(void **state)
{
    struct es_fix *f = *state;
    struct es_rec t;

    rec_init(&t, ES_T0, "raw body");
    rec_str(&t, "pod", "web");
    rec_str(&t, "message", "parsed message");
    f->e.schema = VG_RECORD_SCHEMA_ECS;
    assert_string_equal(source_line(f, &t),
                        "{\"@timestamp\":\"2026-11-24T10:00:00.000000000Z\","
                        "\"message\":\"raw body\",\"kubernetes\":{\"pod\":{\"name\":\"web\"}},"
                        "\"labels\":{\"message\":\"parsed message\"}}\n");
    assert_non_null(strstr(first_line(f), "{\"create\":{\"_index\":\"vigil-2026.11.24\""));
    f->e.schema = VG_RECORD_SCHEMA_OTEL;
    assert_string_equal(source_line(f, &t),
                        "{\"timestamp\":\"2026-11-24T10:00:00.000000000Z\",\"body\":\"raw body\","
                        "\"attributes\":{\"message\":\"parsed message\"},"
                        "\"resource\":{\"k8s.pod.name\":\"web\"}}\n");
}

static void encode_body_is_ndjson_without_type(void **state)
{
    struct es_fix *f = *state;
    struct es_rec t;
    size_t i, lines = 0;

    for (i = 0; i < 3; i++) {
        rec_init(&t, ES_T0 + (int64_t)i, "line\nwith newline");
        t.r.position = i;
        assert_int_equal(es_encode(&f->e, &t.r, &f->out, &f->why), VG_OK);
    }
    for (i = 0; i < f->out.len; i++)
        lines += f->out.data[i] == '\n';
    assert_int_equal(lines, 6);
    assert_int_equal(f->out.data[f->out.len - 1], '\n');
    assert_null(strstr(f->out.data, "_type"));
}

static void encode_refuses_a_record_without_index_name(void **state)
{
    struct es_fix *f = *state;
    struct es_rec t;
    size_t before;

    f->e.index = "{team}";
    es_encoder_reset(&f->e);
    rec_init(&t, ES_T0, "first");
    rec_str(&t, "team", "ok");
    assert_int_equal(es_encode(&f->e, &t.r, &f->out, &f->why), VG_OK);
    before = f->out.len;
    rec_init(&t, ES_T0, "second");
    rec_str(&t, "team", "");
    assert_int_equal(es_encode(&f->e, &t.r, &f->out, &f->why), VG_EINVAL);
    assert_non_null(strstr(f->why.msg, "{team}"));
    assert_int_equal(f->out.len, before);
}

static void encode_index_follows_the_record_day(void **state)
{
    struct es_fix *f = *state;
    struct es_rec t;

    f->e.id_auto = false;
    rec_init(&t, ES_T0, "a");
    assert_int_equal(es_encode(&f->e, &t.r, &f->out, &f->why), VG_OK);
    assert_string_equal(first_line(f), "{\"index\":{\"_index\":\"vigil-2026.11.24\"}}");
    vg_buf_reset(&f->out);
    rec_init(&t, ES_T0 + 14 * 3600 * VG_NS_PER_SEC, "b");
    assert_int_equal(es_encode(&f->e, &t.r, &f->out, &f->why), VG_OK);
    assert_string_equal(first_line(f), "{\"index\":{\"_index\":\"vigil-2026.11.25\"}}");
    vg_buf_reset(&f->out);
    rec_init(&t, ES_T0 + 1, "c"); /* back to the first day */
    assert_int_equal(es_encode(&f->e, &t.r, &f->out, &f->why), VG_OK);
    assert_string_equal(first_line(f), "{\"index\":{\"_index\":\"vigil-2026.11.24\"}}");
}

/* ---- cutting ---- */

static void cut_keeps_requests_under_the_limit(void **state)
{
    /* five records of 100 bytes */
    const size_t off[] = {0, 100, 200, 300, 400, 500};

    (void)state;
    assert_int_equal(es_cut(off, 0, 5, 10000), 5);
    assert_int_equal(es_cut(off, 0, 5, 250), 2);
    assert_int_equal(es_cut(off, 0, 5, 300), 3); /* exactly at the limit fits */
    assert_int_equal(es_cut(off, 3, 5, 250), 5);
    assert_int_equal(es_cut(off, 4, 5, 100), 5);
}

static void cut_sends_a_record_larger_than_the_limit_alone(void **state)
{
    const size_t off[] = {0, 10, 5000, 5010};

    (void)state;
    assert_int_equal(es_cut(off, 0, 3, 100), 1);
    assert_int_equal(es_cut(off, 1, 3, 100), 2);
    assert_int_equal(es_cut(off, 2, 3, 100), 3);
}

static void cut_covers_every_record_once_in_order(void **state)
{
    size_t off[101], s, e, covered = 0, requests = 0;
    size_t i;

    (void)state;
    off[0] = 0;
    for (i = 0; i < 100; i++)
        off[i + 1] = off[i] + 50 + (i * 37) % 200;
    for (s = 0; s < 100; s = e) {
        e = es_cut(off, s, 100, 1000);
        assert_true(e > s);
        assert_true(off[e] - off[s] <= 1000);
        covered += e - s;
        requests++;
    }
    assert_int_equal(covered, 100);
    assert_true(requests > 5);
}

/* ---- gzip ---- */

static void inflate_all(const struct vg_buf *gz, struct vg_buf *out)
{
    z_stream z;
    int rc;

    memset(&z, 0, sizeof(z));
    assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
    assert_int_equal(vg_buf_reserve(out, 1 << 20), VG_OK);
    z.next_in = (Bytef *)gz->data;
    z.avail_in = (uInt)gz->len;
    z.next_out = (Bytef *)out->data;
    z.avail_out = (uInt)(out->cap - 1);
    rc = inflate(&z, Z_FINISH);
    assert_int_equal(rc, Z_STREAM_END);
    out->len = z.total_out;
    out->data[out->len] = '\0';
    inflateEnd(&z);
}

static void gzip_round_trips_at_every_level(void **state)
{
    struct vg_buf in, gz, back;
    z_stream z;
    int level, i;

    (void)state;
    vg_buf_init(&in);
    vg_buf_init(&gz);
    vg_buf_init(&back);
    for (i = 0; i < 2000; i++)
        assert_int_equal(vg_buf_printf(&in, "{\"index\":{}}\n{\"message\":\"line %d\"}\n", i),
                         VG_OK);
    for (level = 1; level <= 9; level += 8) {
        assert_int_equal(vg_gzip_init(&z, level), VG_OK);
        /* twice on one stream: it is reused from request to request */
        assert_int_equal(es_gzip(&z, "x", 1, &gz), VG_OK);
        assert_int_equal(es_gzip(&z, in.data, in.len, &gz), VG_OK);
        assert_true(gz.len < in.len / 4);
        assert_int_equal((unsigned char)gz.data[0], 0x1f);
        assert_int_equal((unsigned char)gz.data[1], 0x8b);
        vg_buf_reset(&back);
        inflate_all(&gz, &back);
        assert_int_equal(back.len, in.len);
        assert_memory_equal(back.data, in.data, in.len);
        deflateEnd(&z);
    }
    assert_int_equal(vg_gzip_init(&z, 0), VG_EINVAL);
    vg_buf_free(&in);
    vg_buf_free(&gz);
    vg_buf_free(&back);
}

static void gzip_of_nothing_is_a_valid_member(void **state)
{
    struct vg_buf gz, back;
    z_stream z;

    (void)state;
    vg_buf_init(&gz);
    vg_buf_init(&back);
    assert_int_equal(vg_gzip_init(&z, 1), VG_OK);
    assert_int_equal(es_gzip(&z, "", 0, &gz), VG_OK);
    inflate_all(&gz, &back);
    assert_int_equal(back.len, 0);
    deflateEnd(&z);
    vg_buf_free(&gz);
    vg_buf_free(&back);
}

/* ---- replies ---- */

static int parse(const char *body, struct es_item *items, size_t expected, struct vg_error *why)
{
    return es_response_parse(body, strlen(body), items, expected, why);
}

static void reply_with_every_item_created(void **state)
{
    const char *body = "{\"took\":3,\"errors\":false,\"items\":["
                       "{\"create\":{\"_index\":\"l\",\"_id\":\"a\",\"status\":201}},"
                       "{\"create\":{\"_index\":\"l\",\"_id\":\"b\",\"status\":201}}]}";
    struct es_item items[2];
    struct vg_error why = {0};

    (void)state;
    assert_int_equal(parse(body, items, 2, &why), VG_OK);
    assert_true(es_status_delivered(items[0].status));
    assert_true(es_status_delivered(items[1].status));
}

static void reply_errors_false_only_counts_items(void **state)
{
    /* filter_path=errors,items.*.status: as small as a reply gets */
    const char *body = "{\"errors\":false,\"items\":[{\"index\":{\"status\":201}},"
                       "{\"index\":{\"status\":200}},{\"index\":{\"status\":201}}]}";
    struct es_item items[3];
    struct vg_error why = {0};
    size_t i;

    (void)state;
    assert_int_equal(parse(body, items, 3, &why), VG_OK);
    for (i = 0; i < 3; i++) {
        assert_int_equal(items[i].status, 200);
        assert_int_equal(items[i].error.kind, VG_JSON_NULL);
    }
}

static void reply_with_mixed_items(void **state)
{
    const char *body =
        "{\"took\":30,\"errors\":true,\"items\":["
        "{\"create\":{\"_index\":\"l\",\"_id\":\"a\",\"status\":201,\"result\":\"created\"}},"
        "{\"create\":{\"_index\":\"l\",\"_id\":\"b\",\"status\":409,\"error\":{\"type\":"
        "\"version_conflict_engine_exception\",\"reason\":\"[b]: version conflict, document "
        "already exists\"}}},"
        "{\"create\":{\"_index\":\"l\",\"_id\":\"c\",\"status\":429,\"error\":{\"type\":"
        "\"es_rejected_execution_exception\",\"reason\":\"rejected execution\"}}},"
        "{\"create\":{\"_index\":\"l\",\"_id\":\"d\",\"status\":400,\"error\":{\"type\":"
        "\"mapper_parsing_exception\",\"reason\":\"failed to parse field [code] of type [long]\","
        "\"caused_by\":{\"type\":\"illegal_argument_exception\",\"reason\":\"For input "
        "string\"}}}},"
        "{\"create\":{\"_index\":\"l\",\"_id\":\"e\",\"status\":500,\"error\":{\"type\":"
        "\"internal_error\",\"reason\":\"boom\"}}}]}";
    struct es_item items[5];
    struct vg_error why = {0};
    struct vg_buf r;

    (void)state;
    vg_buf_init(&r);
    assert_int_equal(parse(body, items, 5, &why), VG_OK);
    assert_int_equal(items[0].status, 201);
    assert_int_equal(items[1].status, 409);
    assert_int_equal(items[2].status, 429);
    assert_int_equal(items[3].status, 400);
    assert_int_equal(items[4].status, 500);
    assert_true(es_status_delivered(items[0].status) && es_status_delivered(items[1].status));
    assert_true(es_status_retry(items[2].status) && es_status_retry(items[4].status));
    assert_false(es_status_delivered(items[3].status) || es_status_retry(items[3].status));
    assert_int_equal(es_item_reason(&items[3], &r), VG_OK);
    assert_string_equal(
        r.data, "400 mapper_parsing_exception: failed to parse field [code] of type [long]");
    vg_buf_free(&r);
}

static void reply_that_is_not_json_is_refused(void **state)
{
    struct es_item items[2];
    struct vg_error why = {0};

    (void)state;
    assert_int_equal(parse("<html>502 Bad Gateway</html>", items, 2, &why), VG_EPARSE);
    assert_non_null(strstr(why.msg, "not JSON"));
    assert_int_equal(parse("{\"errors\":false,\"items\":[{\"index\":", items, 2, &why), VG_EPARSE);
    assert_int_equal(parse("", items, 2, &why), VG_EPARSE);
    assert_int_equal(parse("[1,2]", items, 2, &why), VG_EPARSE);
}

static void reply_with_another_item_count_is_refused(void **state)
{
    const char *body = "{\"errors\":false,\"items\":[{\"index\":{\"status\":201}},"
                       "{\"index\":{\"status\":201}}]}";
    struct es_item items[3];
    struct vg_error why = {0};

    (void)state;
    assert_int_equal(parse(body, items, 3, &why), VG_EPARSE);
    assert_non_null(strstr(why.msg, "2 items for the 3 records"));
    assert_int_equal(parse(body, items, 1, &why), VG_EPARSE);
    assert_non_null(strstr(why.msg, "2 items for the 1 records"));
}

static void reply_without_items_or_status_is_refused(void **state)
{
    struct es_item items[1];
    struct vg_error why = {0};

    (void)state;
    assert_int_equal(parse("{\"errors\":false}", items, 1, &why), VG_EPARSE);
    assert_non_null(strstr(why.msg, "no items"));
    assert_int_equal(
        parse("{\"errors\":true,\"items\":[{\"index\":{\"_id\":\"a\"}}]}", items, 1, &why),
        VG_EPARSE);
    assert_non_null(strstr(why.msg, "status"));
    assert_int_equal(
        parse("{\"errors\":true,\"items\":[{\"index\":{\"status\":\"201\"}}]}", items, 1, &why),
        VG_EPARSE);
    assert_int_equal(parse("{\"errors\":true,\"items\":[7]}", items, 1, &why), VG_EPARSE);
}

static void reply_of_elasticsearch_7_with_type(void **state)
{
    const char *body =
        "{\"took\":5,\"errors\":true,\"items\":["
        "{\"index\":{\"_index\":\"logs\",\"_type\":\"_doc\",\"_id\":\"x1\",\"_version\":1,"
        "\"result\":\"created\",\"_shards\":{\"total\":2,\"successful\":1,\"failed\":0},"
        "\"_seq_no\":0,\"_primary_term\":1,\"status\":201}},"
        "{\"index\":{\"_index\":\"logs\",\"_type\":\"_doc\",\"_id\":\"x2\",\"status\":400,"
        "\"error\":{\"type\":\"illegal_argument_exception\",\"reason\":\"bad \\\"value\\\" "
        "\\u00e9\"}}}]}";
    struct es_item items[2];
    struct vg_error why = {0};
    struct vg_buf r;

    (void)state;
    vg_buf_init(&r);
    assert_int_equal(parse(body, items, 2, &why), VG_OK);
    assert_int_equal(items[0].status, 201);
    assert_int_equal(items[1].status, 400);
    assert_int_equal(es_item_reason(&items[1], &r), VG_OK);
    assert_string_equal(r.data, "400 illegal_argument_exception: bad \"value\" \xc3\xa9");
    vg_buf_free(&r);
}

static void reply_of_opensearch(void **state)
{
    const char *body =
        "{\n  \"took\" : 11,\n  \"ingest_took\" : 2,\n  \"errors\" : true,\n  \"items\" : [\n"
        "    {\"create\" : {\"_index\" : \"logs\", \"_id\" : \"1\", \"_version\" : 1,\n"
        "      \"result\" : \"created\", \"forced_refresh\" : false, \"status\" : 201}},\n"
        "    {\"create\" : {\"_index\" : \"logs\", \"_id\" : \"2\", \"status\" : 409,\n"
        "      \"error\" : {\"type\" : \"version_conflict_engine_exception\",\n"
        "      \"reason\" : \"[2]: version conflict\", \"index\" : \"logs\", \"shard\" : \"0\"}}}\n"
        "  ]\n}\n";
    struct es_item items[2];
    struct vg_error why = {0};

    (void)state;
    assert_int_equal(parse(body, items, 2, &why), VG_OK);
    assert_int_equal(items[0].status, 201);
    assert_int_equal(items[1].status, 409);
    assert_true(es_status_delivered(items[1].status));
}

static void status_classes(void **state)
{
    (void)state;
    assert_true(es_status_delivered(200) && es_status_delivered(201) && es_status_delivered(409));
    assert_false(es_status_delivered(400) || es_status_delivered(404) || es_status_delivered(429) ||
                 es_status_delivered(500));
    assert_true(es_status_retry(429) && es_status_retry(500) && es_status_retry(503));
    assert_false(es_status_retry(400) || es_status_retry(409) || es_status_retry(413) ||
                 es_status_retry(201));
}

static void item_reason_without_error_or_with_a_string(void **state)
{
    struct es_item it = {0};
    struct vg_buf r;
    const char *s = "\"plain text error\"";

    (void)state;
    vg_buf_init(&r);
    it.status = 429;
    it.error.kind = VG_JSON_NULL;
    assert_int_equal(es_item_reason(&it, &r), VG_OK);
    assert_string_equal(r.data, "429");
    vg_buf_reset(&r);
    it.status = 400;
    it.error.kind = VG_JSON_STRING;
    it.error.ptr = s;
    it.error.len = strlen(s);
    assert_int_equal(es_item_reason(&it, &r), VG_OK);
    assert_string_equal(r.data, "400 plain text error");
    vg_buf_free(&r);
}

static void item_reason_is_capped(void **state)
{
    struct vg_buf body, r;
    struct es_item items[1];
    struct vg_error why = {0};
    int i;

    (void)state;
    vg_buf_init(&body);
    vg_buf_init(&r);
    vg_buf_puts(&body, "{\"errors\":true,\"items\":[{\"index\":{\"status\":400,\"error\":{"
                       "\"type\":\"t\",\"reason\":\"");
    for (i = 0; i < 5000; i++)
        vg_buf_putc(&body, 'x');
    vg_buf_puts(&body, "\"}}}]}");
    assert_int_equal(es_response_parse(body.data, body.len, items, 1, &why), VG_OK);
    assert_int_equal(es_item_reason(&items[0], &r), VG_OK);
    assert_true(r.len < 1100);
    assert_string_equal(r.data + r.len - 3, "...");
    vg_buf_free(&body);
    vg_buf_free(&r);
}

static void error_summary_of_whole_request_replies(void **state)
{
    const char *es8 = "{\"error\":{\"root_cause\":[],\"type\":\"illegal_argument_exception\","
                      "\"reason\":\"The bulk request must be terminated by a newline\"},"
                      "\"status\":400}";
    const char *old = "{\"error\":\"IndexMissingException[[x] missing]\",\"status\":404}";
    const char *html = "<html>\n<h1>502\tBad Gateway</h1></html>";
    struct vg_buf r;

    (void)state;
    vg_buf_init(&r);
    assert_int_equal(es_error_summary(es8, strlen(es8), &r), VG_OK);
    assert_string_equal(r.data,
                        "illegal_argument_exception: The bulk request must be terminated by a "
                        "newline");
    vg_buf_reset(&r);
    assert_int_equal(es_error_summary(old, strlen(old), &r), VG_OK);
    assert_string_equal(r.data, "IndexMissingException[[x] missing]");
    vg_buf_reset(&r);
    assert_int_equal(es_error_summary(html, strlen(html), &r), VG_OK);
    assert_string_equal(r.data, "<html>.<h1>502.Bad Gateway</h1></html>");
    vg_buf_reset(&r);
    assert_int_equal(es_error_summary("", 0, &r), VG_OK);
    assert_string_equal(r.data, "(empty reply)");
    vg_buf_free(&r);
}

static void error_summary_cuts_a_long_body(void **state)
{
    char body[1000];
    struct vg_buf r;

    (void)state;
    memset(body, 'z', sizeof(body));
    vg_buf_init(&r);
    assert_int_equal(es_error_summary(body, sizeof(body), &r), VG_OK);
    assert_true(r.len < 300);
    assert_string_equal(r.data + r.len - 3, "...");
    vg_buf_free(&r);
}

#define ENC(name) cmocka_unit_test_setup_teardown(name, enc_setup, enc_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(template_check_accepts_strftime_and_fields),
        cmocka_unit_test(template_check_refuses_bad_braces_and_bytes),
        cmocka_unit_test(expand_formats_the_record_time_in_utc),
        cmocka_unit_test(expand_before_the_epoch_takes_the_right_day),
        cmocka_unit_test(expand_takes_fields_and_lower_cases_index_names),
        cmocka_unit_test(expand_replaces_bytes_an_index_cannot_hold),
        cmocka_unit_test(expand_writes_unknown_for_a_missing_field),
        cmocka_unit_test(expand_prints_numbers_and_booleans),
        cmocka_unit_test(expand_refuses_empty_and_too_long_names),
        cmocka_unit_test(siphash_matches_the_reference_vectors),
        cmocka_unit_test(doc_id_is_stable_across_versions),
        cmocka_unit_test(doc_id_differs_by_node_source_and_position),
        ENC(encode_auto_id_is_create_with_id),
        ENC(encode_without_source_is_index_without_id),
        ENC(encode_id_none_is_index_without_id),
        ENC(encode_data_stream_is_always_create),
        ENC(encode_routing_from_a_field_or_none),
        ENC(encode_source_line_has_timestamp_message_and_fields),
        ENC(encode_never_writes_duplicate_keys),
        ENC(encode_writes_the_record_schema_asked_for),
        ENC(encode_body_is_ndjson_without_type),
        ENC(encode_refuses_a_record_without_index_name),
        ENC(encode_index_follows_the_record_day),
        cmocka_unit_test(cut_keeps_requests_under_the_limit),
        cmocka_unit_test(cut_sends_a_record_larger_than_the_limit_alone),
        cmocka_unit_test(cut_covers_every_record_once_in_order),
        cmocka_unit_test(gzip_round_trips_at_every_level),
        cmocka_unit_test(gzip_of_nothing_is_a_valid_member),
        cmocka_unit_test(reply_with_every_item_created),
        cmocka_unit_test(reply_errors_false_only_counts_items),
        cmocka_unit_test(reply_with_mixed_items),
        cmocka_unit_test(reply_that_is_not_json_is_refused),
        cmocka_unit_test(reply_with_another_item_count_is_refused),
        cmocka_unit_test(reply_without_items_or_status_is_refused),
        cmocka_unit_test(reply_of_elasticsearch_7_with_type),
        cmocka_unit_test(reply_of_opensearch),
        cmocka_unit_test(status_classes),
        cmocka_unit_test(item_reason_without_error_or_with_a_string),
        cmocka_unit_test(item_reason_is_capped),
        cmocka_unit_test(error_summary_of_whole_request_replies),
        cmocka_unit_test(error_summary_cuts_a_long_body),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
