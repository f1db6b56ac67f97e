/*
 * test_record.c - records in a batch and their JSON form: every field
 * type, escaping, invalid UTF-8, NUL, NaN, time formatting, and the rules
 * of the emit API (fields only on the open record, sealing by size).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sink_fixture.h"
#include "torture.h"

struct rec_fixture {
    struct sink_fixture sf;
    struct vg_pipeline *p;
    struct vg_emit e;
    struct vg_buf out;
};

static int rec_setup(void **state)
{
    struct rec_fixture *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    sink_fixture_open(&f->sf, 4);
    f->p = f->sf.p;
    f->e = f->sf.e;
    vg_buf_init(&f->out);
    *state = f;
    return 0;
}

static int rec_teardown(void **state)
{
    struct rec_fixture *f = *state;

    vg_buf_free(&f->out);
    sink_fixture_close(&f->sf);
    free(f);
    return 0;
}

/* 2026-11-24T10:00:00Z */
#define REC_T0 (INT64_C(1795514400) * VG_NS_PER_SEC)

static void json_has_every_field_type(void **state)
{
    struct rec_fixture *f = *state;
    struct vg_record *r = vg_emit_record(&f->e, REC_T0 + 123456789, "hello", 5);

    assert_non_null(r);
    assert_int_equal(vg_record_set_str(&f->e, r, "s", "x", 1), VG_OK);
    assert_int_equal(vg_record_set_int(&f->e, r, "i", -42), VG_OK);
    assert_int_equal(vg_record_set_double(&f->e, r, "d", 0.5), VG_OK);
    assert_int_equal(vg_record_set_bool(&f->e, r, "b", true), VG_OK);
    assert_int_equal(vg_record_set_bool(&f->e, r, "nb", false), VG_OK);
    assert_int_equal(vg_record_set_json(&f->e, r, "j", "{\"a\":[1,2]}", 11), VG_OK);
    assert_int_equal(vg_record_to_json(r, &f->out), VG_OK);
    assert_string_equal(f->out.data,
                        "{\"time\":\"2026-11-24T10:00:00.123456789Z\",\"body\":\"hello\","
                        "\"s\":\"x\",\"i\":-42,\"d\":0.5,\"b\":true,\"nb\":false,"
                        "\"j\":{\"a\":[1,2]}}");
}

static void json_escapes_quotes_controls_and_keys(void **state)
{
    struct rec_fixture *f = *state;
    struct vg_record *r = vg_emit_record(&f->e, REC_T0, "a\"b\\c\n\x01", 7);

    assert_non_null(r);
    assert_int_equal(vg_record_set_str(&f->e, r, "k\"ey", "v\tv", 3), VG_OK);
    assert_int_equal(vg_record_to_json(r, &f->out), VG_OK);
    assert_string_equal(f->out.data, "{\"time\":\"2026-11-24T10:00:00.000000000Z\","
                                     "\"body\":\"a\\\"b\\\\c\\n\\u0001\",\"k\\\"ey\":\"v\\tv\"}");
}

static void json_keeps_nul_and_replaces_invalid_utf8(void **state)
{
    struct rec_fixture *f = *state;
    struct vg_record *r = vg_emit_record(&f->e, REC_T0, "a\0b\xff", 4);

    assert_non_null(r);
    assert_int_equal(r->body_len, 4);
    assert_memory_equal(r->body, "a\0b\xff", 4);
    assert_int_equal(vg_record_set_str(&f->e, r, "s", "\xc3\x28\0", 3), VG_OK);
    assert_int_equal(vg_record_to_json(r, &f->out), VG_OK);
    assert_string_equal(f->out.data, "{\"time\":\"2026-11-24T10:00:00.000000000Z\","
                                     "\"body\":\"a\\u0000b\xef\xbf\xbd\","
                                     "\"s\":\"\xef\xbf\xbd(\\u0000\"}");
}

static void json_writes_nan_and_infinity_as_null(void **state)
{
    struct rec_fixture *f = *state;
    struct vg_record *r = vg_emit_record(&f->e, REC_T0, "", 0);

    assert_non_null(r);
    vg_record_set_double(&f->e, r, "nan", NAN);
    vg_record_set_double(&f->e, r, "inf", INFINITY);
    vg_record_set_double(&f->e, r, "ninf", -INFINITY);
    vg_record_set_double(&f->e, r, "big", 1e300);
    assert_int_equal(vg_record_to_json(r, &f->out), VG_OK);
    assert_string_equal(f->out.data, "{\"time\":\"2026-11-24T10:00:00.000000000Z\",\"body\":\"\","
                                     "\"nan\":null,\"inf\":null,\"ninf\":null,\"big\":1e+300}");
}

static void time_formats_before_the_epoch_and_with_leading_zeros(void **state)
{
    char buf[48];

    vg_record_format_time(0, buf, sizeof(buf));
    assert_string_equal(buf, "1970-01-01T00:00:00.000000000Z");
    vg_record_format_time(-1, buf, sizeof(buf));
    assert_string_equal(buf, "1969-12-31T23:59:59.999999999Z");
    vg_record_format_time(REC_T0 + 1000, buf, sizeof(buf));
    assert_string_equal(buf, "2026-11-24T10:00:00.000001000Z");
}

/* The hand-written formatter against gmtime_r over many instants: leap
 * days, year ends, before 1970, the last second of a day. */
static void time_formats_agree_with_gmtime(void **state)
{
    char buf[48], want[48];
    int64_t sec;
    struct tm tm;
    time_t t;

    (void)state;
    for (sec = -4102444800LL; sec < 7258118400LL; sec += 86399LL * 13 + 7) {
        t = (time_t)sec;
        assert_non_null(gmtime_r(&t, &tm));
        snprintf(want, sizeof(want), "%04d-%02d-%02dT%02d:%02d:%02d.000000123Z", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        vg_record_format_time(sec * VG_NS_PER_SEC + 123, buf, sizeof(buf));
        assert_string_equal(buf, want);
    }
    vg_record_format_time(951782400LL * VG_NS_PER_SEC, buf, sizeof(buf)); /* 2000-02-29 */
    assert_string_equal(buf, "2000-02-29T00:00:00.000000000Z");
    vg_record_format_time(0, buf, 11); /* cut to the buffer */
    assert_string_equal(buf, "1970-01-01");
}

static void field_key_time_is_written_after_the_records_own(void **state)
{
    struct rec_fixture *f = *state;
    struct vg_record *r = vg_emit_record(&f->e, REC_T0, "b", 1);

    vg_record_set_str(&f->e, r, "time", "mine", 4);
    assert_int_equal(vg_record_to_json(r, &f->out), VG_OK);
    assert_string_equal(f->out.data, "{\"time\":\"2026-11-24T10:00:00.000000000Z\",\"body\":\"b\","
                                     "\"time\":\"mine\"}");
}

static void fields_are_found_by_key_in_insertion_order(void **state)
{
    struct rec_fixture *f = *state;
    struct vg_record *r = vg_emit_record(&f->e, REC_T0, "b", 1);
    const struct vg_field *fl;

    vg_record_set_int(&f->e, r, "a", 1);
    vg_record_set_int(&f->e, r, "b", 2);
    vg_record_set_int(&f->e, r, "a", 3);
    fl = vg_record_field(r, "a");
    assert_non_null(fl);
    assert_int_equal(fl->v.i, 1);
    assert_int_equal(vg_record_field(r, "b")->v.i, 2);
    assert_null(vg_record_field(r, "c"));
    assert_string_equal(r->fields->next->next->key, "a");
    assert_ptr_equal(r->fields_tail, r->fields->next->next);
}

static void fields_refused_on_a_record_that_is_not_the_last(void **state)
{
    struct rec_fixture *f = *state;
    struct vg_record *r1 = vg_emit_record(&f->e, REC_T0, "1", 1);
    struct vg_record *r2 = vg_emit_record(&f->e, REC_T0, "2", 1);

    assert_non_null(r2);
    assert_int_equal(vg_record_set_int(&f->e, r1, "x", 1), VG_EINVAL);
    assert_null(r1->fields);
    assert_int_equal(vg_record_set_int(&f->e, r2, "x", 1), VG_OK);
}

static void cancelled_record_leaves_no_trace(void **state)
{
    struct rec_fixture *f = *state;
    struct vg_sink *s = f->e.sink;
    struct vg_record *r1 = vg_emit_record(&f->e, REC_T0, "keep", 4), *r2;

    assert_int_equal(vg_record_set_int(&f->e, r1, "n", 1), VG_OK);
    r2 = vg_emit_record(&f->e, REC_T0, "drop me", 7);
    assert_int_equal(vg_record_set_str(&f->e, r2, "k", "value", 5), VG_OK);
    assert_int_equal(vg_emit_record_cancel(&f->e, r1), VG_EINVAL); /* not the last */
    assert_int_equal(vg_emit_record_cancel(&f->e, r2), VG_OK);
    assert_int_equal(vg_batch_count(s->open), 1);
    assert_int_equal(s->open->bytes, 4 + 1 + 8);
    assert_int_equal(vg_sink_bytes_total(s), 4 + 1 + 8);
    assert_int_equal(vg_sink_records_total(s), 1);
    assert_string_equal(vg_batch_record(s->open, 0)->body, "keep");
    /* the cancelled record is no longer the last: fields are refused */
    assert_int_equal(vg_record_set_int(&f->e, r2, "x", 1), VG_EINVAL);
}

static void emit_without_sink_is_refused(void **state)
{
    struct vg_emit none = {NULL, NULL};

    assert_null(vg_emit_record(&none, 0, "x", 1));
    assert_false(vg_emit_paused(&none));
}

static void batch_is_sealed_at_max_records_and_counts_bytes(void **state)
{
    struct rec_fixture *f = *state;
    struct vg_sink *s = f->e.sink;
    struct vg_batch *first;
    int i;

    for (i = 0; i < 4; i++) {
        struct vg_record *r = vg_emit_record(&f->e, REC_T0, "abcd", 4);

        vg_record_set_int(&f->e, r, "n", i);
    }
    first = s->open;
    assert_int_equal(vg_batch_count(first), 4);
    /* body 4 + key 1 + scalar 8 */
    assert_int_equal(first->bytes, 4 * 13);
    assert_int_equal(vg_sink_bytes_total(s), 4 * 13);
    /* the fifth record seals the full batch (zero outputs: complete at once) */
    assert_non_null(vg_emit_record(&f->e, REC_T0, "e", 1));
    assert_ptr_not_equal(s->open, first);
    assert_int_equal(vg_batch_count(s->open), 1);
    assert_int_equal(vg_sink_records_total(s), 5);
    assert_string_equal(vg_batch_record(s->open, 0)->body, "e");
    assert_null(vg_batch_record(s->open, 1));
}

/* ------------------------------------------------------------------------
 * Allocation failure: a record exists whole or leaves no trace.
 */
#define RT_RECORDS   10
#define RT_PAD       30000 /* records 1, 2, 3 of each batch of 4 fill its chunk */
#define RT_VALUE_MAX (RT_PAD + 32)

/* The value of field s of record i: "value-i", padded for most. */
static size_t rt_value(char *buf, int i)
{
    int len = snprintf(buf, 32, "value-%d", i);
    size_t pad = i % 4 != 0 ? RT_PAD : 0;

    memset(buf + len, '.', pad);
    buf[(size_t)len + pad] = '\0';
    return (size_t)len + pad;
}

struct rt_state {
    struct vg_record *r[RT_RECORDS]; /* the records that were completed */
    int n[RT_RECORDS];
    size_t n_ok;
    uint64_t bytes; /* what the completed ones count for */
};

/* Sets the five fields of record i; stops at the first failure. */
static int rt_fill(struct vg_emit *e, struct vg_record *r, int i)
{
    char val[RT_VALUE_MAX];
    size_t len = rt_value(val, i);
    int rc;

    rc = vg_record_set_str(e, r, "s", val, len);
    if (rc == VG_OK)
        rc = vg_record_set_int(e, r, "n", i);
    if (rc == VG_OK)
        rc = vg_record_set_double(e, r, "d", i / 2.0);
    if (rc == VG_OK)
        rc = vg_record_set_bool(e, r, "b", i % 2 == 1);
    if (rc == VG_OK)
        rc = vg_record_set_json(e, r, "j", "[1,2]", 5);
    return rc;
}

/* body "record-i": 8 bytes; s, n, d, b, j: keys 5, values s + 8 * 3 + 5 */
static uint64_t rt_bytes(int i)
{
    char val[RT_VALUE_MAX];

    return 8 + 5 + rt_value(val, i) + 8 * 3 + 5;
}

/* Emits RT_RECORDS records; each one is completed, or refused, or
 * cancelled after a field failed, and the counts say exactly that. */
static void rt_emit_all(struct vg_emit *e, struct rt_state *st)
{
    char body[16];
    int i;

    for (i = 0; i < RT_RECORDS; i++) {
        uint64_t recs = vg_sink_records_total(e->sink), bytes = vg_sink_bytes_total(e->sink);
        struct vg_record *r;

        snprintf(body, sizeof(body), "record-%d", i);
        r = vg_emit_record(e, REC_T0 + i, body, strlen(body));
        if (r != NULL && rt_fill(e, r, i) != VG_OK) {
            assert_int_equal(vg_emit_record_cancel(e, r), VG_OK);
            r = NULL;
        }
        if (r == NULL) {
            assert_int_equal(vg_sink_records_total(e->sink), recs);
            assert_int_equal(vg_sink_bytes_total(e->sink), bytes);
            continue;
        }
        assert_int_equal(vg_sink_records_total(e->sink), recs + 1);
        assert_int_equal(vg_sink_bytes_total(e->sink), bytes + rt_bytes(i));
        st->r[st->n_ok] = r;
        st->n[st->n_ok++] = i;
        st->bytes += rt_bytes(i);
    }
}

/* The completed records hold every field (memory is back: JSON works). */
static void rt_check(const struct rt_state *st)
{
    char val[RT_VALUE_MAX], want[RT_VALUE_MAX + 256];
    struct vg_buf out;
    size_t k;

    vg_buf_init(&out);
    for (k = 0; k < st->n_ok; k++) {
        int i = st->n[k];

        rt_value(val, i);
        vg_buf_reset(&out);
        assert_int_equal(vg_record_to_json(st->r[k], &out), VG_OK);
        snprintf(want, sizeof(want),
                 "{\"time\":\"2026-11-24T10:00:00.%09dZ\",\"body\":\"record-%d\","
                 "\"s\":\"%s\",\"n\":%d,\"d\":%g,\"b\":%s,\"j\":[1,2]}",
                 i, i, val, i, i / 2.0, i % 2 == 1 ? "true" : "false");
        assert_string_equal(out.data, want);
    }
    vg_buf_free(&out);
}

static void rt_body(struct torture *t, void *arg)
{
    struct vg_pipeline_settings ps = {.batch_max_records = 4, .dead_letter_dir = "/nonexistent"};
    struct rt_state st = {0};
    struct vg_collector c = {.name = "test"};
    struct vg_emit e = {0};
    struct vg_pipeline *p = vg_pipeline_create(&ps);

    if (p == NULL)
        return;
    e.sink = vg_pipeline_sink(p, &c);
    if (e.sink != NULL) {
        rt_emit_all(&e, &st);
        torture_disarm(t);
        rt_check(&st);
        assert_int_equal(vg_sink_records_total(e.sink), st.n_ok);
        assert_int_equal(vg_sink_bytes_total(e.sink), st.bytes);
        /* zero outputs: every sealed batch is acknowledged at once */
        assert_int_equal(vg_sink_flush(e.sink), VG_OK);
        vg_pipeline_process_acks(p);
        assert_int_equal(vg_sink_acked_total(e.sink), st.n_ok);
        if (t->fail_at < 0)
            assert_int_equal(st.n_ok, RT_RECORDS);
    }
    vg_pipeline_destroy(p);
}

static void records_survive_every_allocation_failure(void **state)
{
    assert_true(torture_run(rt_body, NULL, 0) > 0);
}

/* A start that fails must not move the marks of the record before it,
 * which the collector may still cancel. */
static void failed_start_keeps_the_last_records_cancel(void **state)
{
    struct rec_fixture *f = *state;
    struct vg_sink *s = f->e.sink;
    struct vg_record *r1;
    static char big[100000];

    assert_non_null(vg_emit_record(&f->e, REC_T0, "first", 5));
    r1 = vg_emit_record(&f->e, REC_T0, "second", 6);
    assert_int_equal(vg_record_set_int(&f->e, r1, "n", 1), VG_OK);
    vg_alloc_fail_after(0);
    /* too big for the chunk: its copy needs an allocation, which fails */
    assert_null(vg_emit_record(&f->e, REC_T0, big, sizeof(big)));
    vg_alloc_reset();
    assert_int_equal(vg_emit_record_cancel(&f->e, r1), VG_OK);
    assert_int_equal(vg_sink_records_total(s), 1);
    assert_int_equal(vg_sink_bytes_total(s), 5);
    assert_int_equal(s->open->bytes, 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(json_has_every_field_type, rec_setup, rec_teardown),
        cmocka_unit_test_setup_teardown(json_escapes_quotes_controls_and_keys, rec_setup,
                                        rec_teardown),
        cmocka_unit_test_setup_teardown(json_keeps_nul_and_replaces_invalid_utf8, rec_setup,
                                        rec_teardown),
        cmocka_unit_test_setup_teardown(json_writes_nan_and_infinity_as_null, rec_setup,
                                        rec_teardown),
        cmocka_unit_test(time_formats_before_the_epoch_and_with_leading_zeros),
        cmocka_unit_test(time_formats_agree_with_gmtime),
        cmocka_unit_test_setup_teardown(field_key_time_is_written_after_the_records_own, rec_setup,
                                        rec_teardown),
        cmocka_unit_test_setup_teardown(fields_are_found_by_key_in_insertion_order, rec_setup,
                                        rec_teardown),
        cmocka_unit_test_setup_teardown(fields_refused_on_a_record_that_is_not_the_last, rec_setup,
                                        rec_teardown),
        cmocka_unit_test_setup_teardown(cancelled_record_leaves_no_trace, rec_setup, rec_teardown),
        cmocka_unit_test(emit_without_sink_is_refused),
        cmocka_unit_test_setup_teardown(batch_is_sealed_at_max_records_and_counts_bytes, rec_setup,
                                        rec_teardown),
        cmocka_unit_test_teardown(records_survive_every_allocation_failure, torture_teardown),
        cmocka_unit_test_setup_teardown(failed_start_keeps_the_last_records_cancel, rec_setup,
                                        rec_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
