/*
 * test_record_schema.c - the shapes a record is written in (flat, ecs,
 * otel and the elasticsearch output's own): a container log record and a
 * bare one, every field type, names that collide, levels as OpenTelemetry
 * severities, invalid UTF-8, and out of memory. Every output is read back
 * with the JSON reader, which must find it valid with no key twice in an
 * object.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse/json.h"
#include "sink_fixture.h"
#include "torture.h"

struct rs_fixture {
    struct sink_fixture sf;
    struct vg_buf out;
};

static int rs_setup(void **state)
{
    struct rs_fixture *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    sink_fixture_open(&f->sf, 64);
    vg_buf_init(&f->out);
    *state = f;
    return 0;
}

static int rs_teardown(void **state)
{
    struct rs_fixture *f = *state;

    vg_buf_free(&f->out);
    sink_fixture_close(&f->sf);
    free(f);
    return 0;
}

/* 2026-11-24T10:00:00Z */
#define RS_T0   (INT64_C(1795514400) * VG_NS_PER_SEC)
#define RS_TS   "2026-11-24T10:00:00.123456789Z"
#define RS_T0S  "2026-11-24T10:00:00.000000000Z"
#define RS_PATH "/var/log/containers/web-1_shop_nginx-abc.log"

/* Asserts that no object in v holds a key twice, at any depth. */
static void rs_assert_unique(const struct vg_json_value *v)
{
    struct vg_json_value key, val, key2, val2;
    size_t pos = 0, pos2;

    if (v->kind == VG_JSON_ARRAY) {
        while (vg_json_array_next(v, &pos, &val) == 1)
            rs_assert_unique(&val);
        return;
    }
    if (v->kind != VG_JSON_OBJECT)
        return;
    while (vg_json_object_next(v, &pos, &key, &val) == 1) {
        pos2 = pos;
        while (vg_json_object_next(v, &pos2, &key2, &val2) == 1)
            if (key.len == key2.len && memcmp(key.ptr, key2.ptr, key.len) == 0)
                fail_msg("key %.*s twice in %.*s", (int)key.len, key.ptr, (int)v->len, v->ptr);
        rs_assert_unique(&val);
    }
}

/* r in schema, checked as one valid JSON object with unique keys. */
static const char *rs_encode(struct rs_fixture *f, const struct vg_record *r,
                             enum vg_record_schema schema)
{
    struct vg_json_value top;

    vg_buf_reset(&f->out);
    assert_int_equal(vg_record_encode(r, schema, &f->out), VG_OK);
    assert_int_equal(vg_json_parse(f->out.data, f->out.len, &top, NULL), VG_OK);
    assert_int_equal(top.kind, VG_JSON_OBJECT);
    if (schema != VG_RECORD_SCHEMA_FLAT && schema != VG_RECORD_SCHEMA_DEFAULT)
        rs_assert_unique(&top);
    return f->out.data;
}

/* A record of body[0..len) at time t in the open batch. */
static struct vg_record *rs_new(struct rs_fixture *f, int64_t t, const char *body, size_t len)
{
    struct vg_record *r = vg_emit_record(&f->sf.e, t, body, len);

    assert_non_null(r);
    return r;
}

/* r must come out as ecs in the ecs schema and as otel in the otel one. */
static void rs_expect(struct rs_fixture *f, const struct vg_record *r, const char *ecs,
                      const char *otel)
{
    assert_string_equal(rs_encode(f, r, VG_RECORD_SCHEMA_ECS), ecs);
    assert_string_equal(rs_encode(f, r, VG_RECORD_SCHEMA_OTEL), otel);
}

static void rs_str(struct rs_fixture *f, struct vg_record *r, const char *key, const char *val)
{
    assert_int_equal(vg_record_set_str(&f->sf.e, r, key, val, strlen(val)), VG_OK);
}

static void rs_json(struct rs_fixture *f, struct vg_record *r, const char *key, const char *val)
{
    assert_int_equal(vg_record_set_json(&f->sf.e, r, key, val, strlen(val)), VG_OK);
}

/* A field given as text (INT, DOUBLE and BOOL parsed). */
struct rs_field {
    const char *key;
    enum vg_field_type type;
    const char *val;
};

/* Adds fields to r, up to the first without a key (or n). */
static void rs_add(struct rs_fixture *f, struct vg_record *r, const struct rs_field *fields,
                   size_t n)
{
    struct vg_emit *e = &f->sf.e;
    size_t i;

    for (i = 0; i < n && fields[i].key != NULL; i++) {
        const char *k = fields[i].key, *v = fields[i].val;

        switch (fields[i].type) {
        case VG_FIELD_STR:
            rs_str(f, r, k, v);
            break;
        case VG_FIELD_JSON:
            rs_json(f, r, k, v);
            break;
        case VG_FIELD_INT:
            assert_int_equal(vg_record_set_int(e, r, k, strtoll(v, NULL, 10)), VG_OK);
            break;
        case VG_FIELD_DOUBLE:
            assert_int_equal(vg_record_set_double(e, r, k, strtod(v, NULL)), VG_OK);
            break;
        case VG_FIELD_BOOL:
            assert_int_equal(vg_record_set_bool(e, r, k, strcmp(v, "true") == 0), VG_OK);
            break;
        }
    }
}

/* A record as the container_logs collector makes it, then parsed fields. */
static const struct rs_field rs_container_fields[] = {
    {"stream", VG_FIELD_STR, "stdout"},
    {"file", VG_FIELD_STR, RS_PATH},
    {"node", VG_FIELD_STR, "node-a"},
    {"namespace", VG_FIELD_STR, "shop"},
    {"pod", VG_FIELD_STR, "web-1"},
    {"container", VG_FIELD_STR, "nginx"},
    {"container_id", VG_FIELD_STR, "abc"},
    {"pod_uid", VG_FIELD_STR, "uid-1"},
    {"container_name", VG_FIELD_STR, "k8s_nginx"},
    {"image", VG_FIELD_STR, "nginx:1.25"},
    {"restart_count", VG_FIELD_INT, "2"},
    {"truncated", VG_FIELD_BOOL, "true"},
    {"attrs", VG_FIELD_JSON, "{\"tag\":\"web\"}"},
    {"level", VG_FIELD_STR, "warning"},
    {"status", VG_FIELD_INT, "200"},
};

static struct vg_record *rs_container_record(struct rs_fixture *f)
{
    struct vg_record *r = rs_new(f, RS_T0 + 123456789, "GET /healthz 200", 16);

    rs_add(f, r, rs_container_fields, VG_ARRAY_LEN(rs_container_fields));
    return r;
}

static void container_record_in_ecs_and_otel(void **state)
{
    struct rs_fixture *f = *state;
    struct vg_record *r = rs_container_record(f);

    rs_expect(
        f, r,
        "{\"@timestamp\":\"" RS_TS "\",\"message\":\"GET /healthz 200\",\"stream\":\"stdout\","
        "\"log\":{\"level\":\"warning\",\"file\":{\"path\":\"" RS_PATH "\"}},"
        "\"kubernetes\":{\"namespace\":\"shop\",\"pod\":{\"name\":\"web-1\",\"uid\":\"uid-1\"},"
        "\"container\":{\"name\":\"nginx\"}},"
        "\"container\":{\"id\":\"abc\",\"name\":\"k8s_nginx\",\"image\":{\"name\":\"nginx:1.25\"}},"
        "\"host\":{\"name\":\"node-a\"},"
        "\"restart_count\":2,\"truncated\":true,\"attrs\":{\"tag\":\"web\"},\"status\":200}",
        "{\"timestamp\":\"" RS_TS "\",\"severity_text\":\"WARN\",\"severity_number\":13,"
        "\"body\":\"GET /healthz 200\","
        "\"attributes\":{\"log.iostream\":\"stdout\",\"log.file.path\":\"" RS_PATH "\","
        "\"truncated\":true,\"attrs\":{\"tag\":\"web\"},\"status\":200},"
        "\"resource\":{\"k8s.namespace.name\":\"shop\",\"k8s.pod.name\":\"web-1\","
        "\"k8s.pod.uid\":\"uid-1\",\"k8s.container.name\":\"nginx\","
        "\"k8s.container.restart_count\":2,\"container.id\":\"abc\","
        "\"container.name\":\"k8s_nginx\",\"container.image.name\":\"nginx:1.25\","
        "\"host.name\":\"node-a\"}}");
}

/* The fields of rs_container_record as they are, the object's end. */
#define RS_FIELDS                                                                                  \
    "\"stream\":\"stdout\",\"file\":\"" RS_PATH "\",\"node\":\"node-a\",\"namespace\":\"shop\","   \
    "\"pod\":\"web-1\",\"container\":\"nginx\",\"container_id\":\"abc\",\"pod_uid\":\"uid-1\","    \
    "\"container_name\":\"k8s_nginx\",\"image\":\"nginx:1.25\",\"restart_count\":2,"               \
    "\"truncated\":true,\"attrs\":{\"tag\":\"web\"},\"level\":\"warning\",\"status\":200}"

static void container_record_in_es_and_flat(void **state)
{
    struct rs_fixture *f = *state;
    struct vg_record *r = rs_container_record(f);
    struct vg_buf flat;

    assert_string_equal(rs_encode(f, r, VG_RECORD_SCHEMA_ES),
                        "{\"@timestamp\":\"" RS_TS
                        "\",\"message\":\"GET /healthz 200\"," RS_FIELDS);
    assert_string_equal(rs_encode(f, r, VG_RECORD_SCHEMA_FLAT),
                        "{\"time\":\"" RS_TS "\",\"body\":\"GET /healthz 200\"," RS_FIELDS);
    /* flat is vg_record_to_json, and so is the default */
    vg_buf_init(&flat);
    assert_int_equal(vg_record_to_json(r, &flat), VG_OK);
    assert_string_equal(rs_encode(f, r, VG_RECORD_SCHEMA_DEFAULT), flat.data);
    vg_buf_free(&flat);
}

static void bare_record_has_time_and_body_only(void **state)
{
    struct rs_fixture *f = *state;
    struct vg_record *r = rs_new(f, RS_T0, "hi", 2);

    assert_string_equal(rs_encode(f, r, VG_RECORD_SCHEMA_ECS),
                        "{\"@timestamp\":\"" RS_T0S "\",\"message\":\"hi\"}");
    assert_string_equal(rs_encode(f, r, VG_RECORD_SCHEMA_OTEL),
                        "{\"timestamp\":\"" RS_T0S "\",\"body\":\"hi\"}");
    assert_string_equal(rs_encode(f, r, VG_RECORD_SCHEMA_ES),
                        "{\"@timestamp\":\"" RS_T0S "\",\"message\":\"hi\"}");
    assert_string_equal(rs_encode(f, r, VG_RECORD_SCHEMA_FLAT),
                        "{\"time\":\"" RS_T0S "\",\"body\":\"hi\"}");
}

/* A record's body and fields, and what it must come out as in ecs and otel. */
struct rs_case {
    const char *what;
    const char *body;
    size_t body_len;
    struct rs_field fields[8];
    const char *ecs, *otel;
};

static const struct rs_case rs_cases[] = {
    {"no kubernetes fields: the objects they would fill are not written",
     "up",
     2,
     {{"file", VG_FIELD_STR, "/var/log/syslog"}, {"node", VG_FIELD_STR, "n1"}},
     "{\"@timestamp\":\"" RS_T0S "\",\"message\":\"up\","
     "\"log\":{\"file\":{\"path\":\"/var/log/syslog\"}},\"host\":{\"name\":\"n1\"}}",
     "{\"timestamp\":\"" RS_T0S "\",\"body\":\"up\","
     "\"attributes\":{\"log.file.path\":\"/var/log/syslog\"},\"resource\":{\"host.name\":\"n1\"}}"},
    {"parsed fields of every type, nested JSON, NaN",
     "",
     0,
     {{"s", VG_FIELD_STR, "x"},
      {"i", VG_FIELD_INT, "-42"},
      {"d", VG_FIELD_DOUBLE, "0.5"},
      {"b", VG_FIELD_BOOL, "false"},
      {"j", VG_FIELD_JSON, "{\"a\":[1,{\"b\":null}],\"c\":{\"d\":\"e\"}}"},
      {"n", VG_FIELD_DOUBLE, "nan"}},
     "{\"@timestamp\":\"" RS_T0S "\",\"message\":\"\",\"s\":\"x\",\"i\":-42,\"d\":0.5,"
     "\"b\":false,\"j\":{\"a\":[1,{\"b\":null}],\"c\":{\"d\":\"e\"}},\"n\":null}",
     "{\"timestamp\":\"" RS_T0S "\",\"body\":\"\",\"attributes\":{\"s\":\"x\",\"i\":-42,"
     "\"d\":0.5,\"b\":false,\"j\":{\"a\":[1,{\"b\":null}],\"c\":{\"d\":\"e\"}},\"n\":null}}"},
    {"invalid UTF-8, NUL and control bytes are escaped, in keys too",
     "caf\xc3\xa9 \xff bad\0nul",
     15,
     {{"k\xfe", VG_FIELD_STR, "v\x01"}, {"pod", VG_FIELD_STR, "p\xc3\x28"}},
     "{\"@timestamp\":\"" RS_T0S "\",\"message\":\"caf\xc3\xa9 \xef\xbf\xbd bad\\u0000nul\","
     "\"kubernetes\":{\"pod\":{\"name\":\"p\xef\xbf\xbd(\"}},\"k\xef\xbf\xbd\":\"v\\u0001\"}",
     "{\"timestamp\":\"" RS_T0S "\",\"body\":\"caf\xc3\xa9 \xef\xbf\xbd bad\\u0000nul\","
     "\"attributes\":{\"k\xef\xbf\xbd\":\"v\\u0001\"},"
     "\"resource\":{\"k8s.pod.name\":\"p\xef\xbf\xbd(\"}}"},
    {"a well-known name of another type is an other field; the first of the right type "
     "takes the place",
     "x",
     1,
     {{"pod", VG_FIELD_INT, "7"},
      {"pod", VG_FIELD_STR, "web"},
      {"restart_count", VG_FIELD_STR, "two"}},
     "{\"@timestamp\":\"" RS_T0S "\",\"message\":\"x\","
     "\"kubernetes\":{\"pod\":{\"name\":\"web\"}},\"pod\":7,\"restart_count\":\"two\"}",
     "{\"timestamp\":\"" RS_T0S "\",\"body\":\"x\","
     "\"attributes\":{\"pod\":7,\"restart_count\":\"two\"},"
     "\"resource\":{\"k8s.pod.name\":\"web\"}}"},
};

static void cases_in_ecs_and_otel(void **state)
{
    struct rs_fixture *f = *state;
    size_t i;

    for (i = 0; i < VG_ARRAY_LEN(rs_cases); i++) {
        const struct rs_case *c = &rs_cases[i];
        struct vg_record *r = rs_new(f, RS_T0, c->body, c->body_len);

        print_message("case: %s\n", c->what);
        rs_add(f, r, c->fields, VG_ARRAY_LEN(c->fields));
        rs_expect(f, r, c->ecs, c->otel);
    }
}

/* Fields whose names the schema uses, repeats, a level that is not text. */
static const struct rs_field rs_colliding_fields[] = {
    {"file", VG_FIELD_STR, "/f"},
    {"node", VG_FIELD_STR, "n"},
    {"message", VG_FIELD_STR, "started"},
    {"file", VG_FIELD_STR, "main.go:12"},
    {"file", VG_FIELD_STR, "x.go:1"},
    {"file", VG_FIELD_STR, "third"},
    {"kubernetes", VG_FIELD_JSON, "{\"a\":1}"},
    {"labels", VG_FIELD_STR, "l"},
    {"", VG_FIELD_STR, "empty"},
    {"@timestamp", VG_FIELD_STR, "yesterday"},
    {"level", VG_FIELD_INT, "30"},
    {"host", VG_FIELD_STR, "h"},
    {"message", VG_FIELD_STR, "again"},
};

/* ecs and otel move fields whose name is taken under labels; the
 * elasticsearch output's own shape lets a message field replace the body
 * and leaves the other collisions out (as the output always did). */
static void collisions_go_under_labels_or_away(void **state)
{
    struct rs_fixture *f = *state;
    struct vg_record *r = rs_new(f, RS_T0, "raw", 3);

    rs_add(f, r, rs_colliding_fields, VG_ARRAY_LEN(rs_colliding_fields));
    rs_expect(f, r,
              "{\"@timestamp\":\"" RS_T0S "\",\"message\":\"raw\","
              "\"log\":{\"file\":{\"path\":\"/f\"}},\"host\":{\"name\":\"n\"},"
              "\"file\":\"main.go:12\",\"level\":30,"
              "\"labels\":{\"message\":\"started\",\"file\":\"x.go:1\","
              "\"kubernetes\":{\"a\":1},\"labels\":\"l\",\"@timestamp\":\"yesterday\","
              "\"host\":\"h\"}}",
              "{\"timestamp\":\"" RS_T0S "\",\"body\":\"raw\","
              "\"attributes\":{\"log.file.path\":\"/f\",\"message\":\"started\","
              "\"file\":\"main.go:12\",\"kubernetes\":{\"a\":1},"
              "\"@timestamp\":\"yesterday\",\"level\":30,\"host\":\"h\","
              "\"labels\":{\"file\":\"x.go:1\",\"labels\":\"l\",\"message\":\"again\"}},"
              "\"resource\":{\"host.name\":\"n\"}}");
    assert_string_equal(rs_encode(f, r, VG_RECORD_SCHEMA_ES),
                        "{\"@timestamp\":\"" RS_T0S "\",\"message\":\"started\",\"file\":\"/f\","
                        "\"node\":\"n\",\"kubernetes\":{\"a\":1},\"labels\":\"l\",\"level\":30,"
                        "\"host\":\"h\"}");
}

/* A field named like every key a schema writes, on a full record: still
 * no key twice anywhere (rs_encode checks), whatever the schema. */
static void every_schema_key_as_a_field_keeps_keys_unique(void **state)
{
    static const char *const names[] = {
        "@timestamp",   "message",       "stream",          "log",        "kubernetes",
        "container",    "host",          "labels",          "timestamp",  "body",
        "time",         "severity_text", "severity_number", "attributes", "resource",
        "log.iostream", "log.file.path", "host.name",       "level",      "node"};
    struct rs_fixture *f = *state;
    struct vg_record *r = rs_container_record(f);
    size_t i;

    for (i = 0; i < VG_ARRAY_LEN(names); i++) {
        rs_str(f, r, names[i], "a");
        rs_json(f, r, names[i], "{\"b\":1}");
    }
    rs_encode(f, r, VG_RECORD_SCHEMA_ECS);
    rs_encode(f, r, VG_RECORD_SCHEMA_OTEL);
    rs_encode(f, r, VG_RECORD_SCHEMA_ES);
}

static void levels_become_otel_severities(void **state)
{
    static const struct {
        const char *level, *severity;
    } cases[] = {
        {"trace", "\"severity_text\":\"TRACE\",\"severity_number\":1"},
        {"DEBUG", "\"severity_text\":\"DEBUG\",\"severity_number\":5"},
        {"info", "\"severity_text\":\"INFO\",\"severity_number\":9"},
        {"W", "\"severity_text\":\"WARN\",\"severity_number\":13"},
        {"err", "\"severity_text\":\"ERROR\",\"severity_number\":17"},
        {"critical", "\"severity_text\":\"FATAL\",\"severity_number\":21"},
        /* a level vigil does not know is kept as the source wrote it */
        {"loud", "\"severity_text\":\"loud\""},
        {"\xff", "\"severity_text\":\"\xef\xbf\xbd\""},
    };
    struct rs_fixture *f = *state;
    char want[256];
    size_t i;

    for (i = 0; i < VG_ARRAY_LEN(cases); i++) {
        struct vg_record *r = rs_new(f, RS_T0, "x", 1);

        rs_str(f, r, "level", cases[i].level);
        snprintf(want, sizeof(want), "{\"timestamp\":\"" RS_T0S "\",%s,\"body\":\"x\"}",
                 cases[i].severity);
        assert_string_equal(rs_encode(f, r, VG_RECORD_SCHEMA_OTEL), want);
    }
}

static void schema_names_parse(void **state)
{
    (void)state;
    assert_int_equal(vg_record_schema_parse("flat"), VG_RECORD_SCHEMA_FLAT);
    assert_int_equal(vg_record_schema_parse("ecs"), VG_RECORD_SCHEMA_ECS);
    assert_int_equal(vg_record_schema_parse("otel"), VG_RECORD_SCHEMA_OTEL);
    assert_int_equal(vg_record_schema_parse(NULL), VG_RECORD_SCHEMA_DEFAULT);
    assert_int_equal(vg_record_schema_parse("ECS"), VG_RECORD_SCHEMA_DEFAULT);
    assert_int_equal(vg_record_schema_parse("es"), VG_RECORD_SCHEMA_DEFAULT);
}

/* Out of memory at any allocation: VG_ENOMEM, never a crash; with memory
 * back the same text comes out. */
struct rt_arg {
    const struct vg_record *r;
    char *want[4];
};

static const enum vg_record_schema rt_schemas[] = {VG_RECORD_SCHEMA_ECS, VG_RECORD_SCHEMA_OTEL,
                                                   VG_RECORD_SCHEMA_ES, VG_RECORD_SCHEMA_FLAT};

static void rt_body(struct torture *t, void *arg)
{
    struct rt_arg *a = arg;
    struct vg_buf out;
    size_t i;
    int rc;

    for (i = 0; i < VG_ARRAY_LEN(rt_schemas); i++) {
        vg_buf_init(&out);
        rc = vg_record_encode(a->r, rt_schemas[i], &out);
        if (rc != VG_OK) {
            assert_int_equal(rc, VG_ENOMEM);
            torture_disarm(t);
            vg_buf_reset(&out);
            assert_int_equal(vg_record_encode(a->r, rt_schemas[i], &out), VG_OK);
        }
        assert_string_equal(out.data, a->want[i]);
        vg_buf_free(&out);
    }
}

static void encoding_survives_every_allocation_failure(void **state)
{
    struct rs_fixture *f = *state;
    struct rt_arg a = {rs_container_record(f), {NULL}};
    size_t i;

    for (i = 0; i < VG_ARRAY_LEN(rt_schemas); i++) {
        a.want[i] = strdup(rs_encode(f, a.r, rt_schemas[i]));
        assert_non_null(a.want[i]);
    }
    assert_true(torture_run(rt_body, &a, 0) > 0);
    for (i = 0; i < VG_ARRAY_LEN(rt_schemas); i++)
        free(a.want[i]);
}

static int rt_teardown(void **state)
{
    vg_alloc_reset();
    return rs_teardown(state);
}

int main(void)
{
#define RS_TEST(name) cmocka_unit_test_setup_teardown(name, rs_setup, rs_teardown)
    const struct CMUnitTest tests[] = {
        RS_TEST(container_record_in_ecs_and_otel),
        RS_TEST(container_record_in_es_and_flat),
        RS_TEST(bare_record_has_time_and_body_only),
        RS_TEST(collisions_go_under_labels_or_away),
        RS_TEST(every_schema_key_as_a_field_keeps_keys_unique),
        RS_TEST(levels_become_otel_severities),
        RS_TEST(cases_in_ecs_and_otel),
        cmocka_unit_test(schema_names_parse),
        cmocka_unit_test_setup_teardown(encoding_survives_every_allocation_failure, rs_setup,
                                        rt_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
