/*
 * test_multiline_torture.c - vg_multiline_push and vg_multiline_flush under
 * failure: an error means "the line was not taken and may be fed again".
 *
 * A script of lines (every fixture of tests/fixtures/multiline, plain
 * lines, lines over max_bytes, traces over max_lines) with timeouts is fed
 * to each preset, first with nothing failing (the reference), then with
 * every allocation failing in turn (torture.h), then with the emit callback
 * failing once at each of its calls. Whenever a call fails, the failure is
 * disarmed and the same call is made again; the groups that come out must be
 * those of the reference, in order, each exactly once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "read_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse/parse.h"
#include "torture.h"

#ifndef VG_SOURCE_DIR
#define VG_SOURCE_DIR "."
#endif

/* 2026-11-24T10:00:00Z */
#define MT_T0        (INT64_C(1795514400) * VG_NS_PER_SEC)
#define MT_MAX_STEPS 512
#define MT_LONG      400 /* a line longer than max_bytes */

enum mt_op { MT_PUSH, MT_FLUSH, MT_FORCE };

struct mt_step {
    enum mt_op op;
    const char *line;
    size_t len;
    int64_t ms; /* the line's time and the monotonic now, from 0 */
    uint64_t start_off, end_off;
};

struct mt_script {
    char *files[8];
    size_t n_files;
    char long_line[MT_LONG + 8];
    struct mt_step steps[MT_MAX_STEPS];
    size_t n;
    uint64_t off;
    int64_t ms;
};

struct mt_group {
    char *text;
    size_t len;
    int64_t time_ns;
    uint64_t start_off, end_off;
    bool truncated;
};

/* What the emit callback saw; fail_call: the call (from 0) that fails
 * once with VG_ENOMEM, -1 for none. */
struct mt_sink {
    struct mt_group *g;
    size_t n, cap;
    long calls, fail_call;
};

/* ------------------------------------------------------------------------
 * The script.
 */

static char *mt_read(const char *name)
{
    char path[512];

    snprintf(path, sizeof(path), "%s/tests/fixtures/multiline/%s.txt", VG_SOURCE_DIR, name);
    return test_read_file(path, NULL);
}

static void mt_add(struct mt_script *sc, enum mt_op op, const char *line, size_t len)
{
    struct mt_step *st;

    assert_true(sc->n < MT_MAX_STEPS);
    st = &sc->steps[sc->n++];
    st->op = op;
    st->line = line;
    st->len = len;
    if (op == MT_PUSH) {
        sc->ms += 10;
        st->start_off = sc->off;
        sc->off += len + 1;
        st->end_off = sc->off;
    }
    st->ms = sc->ms;
}

static void mt_add_str(struct mt_script *sc, const char *line)
{
    mt_add(sc, MT_PUSH, line, strlen(line));
}

/* Every line of a fixture, then a flush before the timeout (nothing due)
 * and one after it. */
static void mt_add_file(struct mt_script *sc, const char *name)
{
    char *data = mt_read(name), *p = data, *nl;

    sc->files[sc->n_files++] = data;
    while (*p != '\0') {
        nl = strchr(p, '\n');
        mt_add(sc, MT_PUSH, p, nl != NULL ? (size_t)(nl - p) : strlen(p));
        if (nl == NULL)
            break;
        p = nl + 1;
    }
    sc->ms += 500;
    mt_add(sc, MT_FLUSH, NULL, 0);
    sc->ms += 1000;
    mt_add(sc, MT_FLUSH, NULL, 0);
}

static void mt_script_build(struct mt_script *sc)
{
    static const char *const files[] = {"java_caused_by", "python_plain",
                                        "go_panic",       "python_chained",
                                        "go_deadlock",    "java_suppressed_interleaved"};
    size_t i;

    memset(sc, 0, sizeof(*sc));
    memcpy(sc->long_line, "\tat ", 4);
    memset(sc->long_line + 4, 'x', MT_LONG - 4);
    for (i = 0; i < VG_ARRAY_LEN(files); i++) {
        mt_add_str(sc, "plain line before the trace");
        mt_add(sc, MT_PUSH, sc->long_line + 4, MT_LONG - 4);
        mt_add_file(sc, files[i]);
    }
    /* a java trace of long frames, over max_bytes and max_lines */
    mt_add_str(sc, "java.lang.IllegalStateException: boom");
    for (i = 0; i < 8; i++)
        mt_add(sc, MT_PUSH, sc->long_line, MT_LONG);
    mt_add_str(sc, "Traceback (most recent call last):");
    mt_add_str(sc, "  File \"x.py\", line 1, in <module>");
    mt_add(sc, MT_FORCE, NULL, 0);
}

static void mt_script_free(struct mt_script *sc)
{
    size_t i;

    for (i = 0; i < sc->n_files; i++)
        free(sc->files[i]);
}

/* ------------------------------------------------------------------------
 * Feeding.
 */

/* Copies the group with the core's allocator, as a collector that makes a
 * record of it would: that allocation fails under torture too. */
static int mt_collect(void *arg, const struct vg_multiline_group *g)
{
    struct mt_sink *s = arg;
    long call = s->calls++;
    char *text;

    if (call == s->fail_call)
        return VG_ENOMEM;
    text = vg_malloc(g->len + 1);
    if (text == NULL)
        return VG_ENOMEM;
    memcpy(text, g->text, g->len);
    text[g->len] = '\0';
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->g = realloc(s->g, s->cap * sizeof(*s->g));
        assert_non_null(s->g);
    }
    s->g[s->n].text = text;
    s->g[s->n].len = g->len;
    s->g[s->n].time_ns = g->time_ns;
    s->g[s->n].start_off = g->start_off;
    s->g[s->n].end_off = g->end_off;
    s->g[s->n].truncated = g->truncated;
    s->n++;
    return VG_OK;
}

static void mt_sink_free(struct mt_sink *s)
{
    size_t i;

    for (i = 0; i < s->n; i++)
        free(s->g[i].text);
    free(s->g);
    memset(s, 0, sizeof(*s));
}

static int mt_step(struct vg_multiline *m, const struct mt_step *st, struct mt_sink *s)
{
    int64_t now = st->ms * VG_NS_PER_MS;

    if (st->op == MT_PUSH)
        return vg_multiline_push(m, st->line, st->len, MT_T0 + now, st->start_off, st->end_off, now,
                                 mt_collect, s);
    return vg_multiline_flush(m, now, st->op == MT_FORCE, mt_collect, s);
}

/* Stops every failure: the allocator's (t may be NULL) and the callback's. */
static void mt_disarm(struct torture *t, struct mt_sink *s)
{
    if (t != NULL)
        torture_disarm(t);
    s->fail_call = -1;
}

/* Feeds the whole script; a failed call is made again with failure
 * disarmed, and must then succeed. */
static void mt_feed(const struct vg_multiline_rules *r, const struct mt_script *sc,
                    struct mt_sink *s, struct torture *t)
{
    struct vg_multiline *m = vg_multiline_create(r);
    size_t i;

    if (m == NULL) {
        assert_non_null(t);
        mt_disarm(t, s);
        m = vg_multiline_create(r);
        assert_non_null(m);
    }
    for (i = 0; i < sc->n; i++) {
        if (mt_step(m, &sc->steps[i], s) == VG_OK)
            continue;
        mt_disarm(t, s);
        assert_int_equal(mt_step(m, &sc->steps[i], s), VG_OK);
    }
    assert_false(vg_multiline_pending(m, NULL));
    vg_multiline_destroy(m);
}

static void mt_same(const struct mt_sink *got, const struct mt_sink *want)
{
    size_t i;

    assert_int_equal(got->n, want->n);
    for (i = 0; i < want->n; i++) {
        assert_int_equal(got->g[i].len, want->g[i].len);
        assert_memory_equal(got->g[i].text, want->g[i].text, want->g[i].len);
        assert_int_equal(got->g[i].time_ns, want->g[i].time_ns);
        assert_int_equal(got->g[i].start_off, want->g[i].start_off);
        assert_int_equal(got->g[i].end_off, want->g[i].end_off);
        assert_int_equal(got->g[i].truncated, want->g[i].truncated);
    }
}

/* ------------------------------------------------------------------------
 * Tests.
 */

struct mt_case {
    const struct vg_multiline_rules *r;
    const struct mt_script *sc;
    struct mt_sink ref;
};

static void mt_body(struct torture *t, void *arg)
{
    struct mt_case *c = arg;
    struct mt_sink s = {.fail_call = -1};

    mt_feed(c->r, c->sc, &s, t);
    torture_disarm(t);
    mt_same(&s, &c->ref);
    mt_sink_free(&s);
}

static void mt_run_preset(const char *preset)
{
    struct vg_multiline_settings set = {
        .preset = preset, .timeout_ms = 1000, .max_lines = 6, .max_bytes = 256};
    struct vg_multiline_rules *r;
    struct vg_error err = {0};
    struct mt_script *sc = malloc(sizeof(*sc));
    struct mt_case c = {.ref = {.fail_call = -1}};
    long k;

    assert_non_null(sc);
    assert_int_equal(vg_multiline_compile(&set, &r, &err), VG_OK);
    mt_script_build(sc);
    c.r = r;
    c.sc = sc;
    mt_feed(r, sc, &c.ref, NULL);
    assert_true(c.ref.n > 20);
    torture_run(mt_body, &c, 0);
    /* the callback fails once at each of its calls */
    for (k = 0; k < (long)c.ref.n; k++) {
        struct mt_sink s = {.fail_call = k};

        mt_feed(r, sc, &s, NULL);
        assert_true(s.calls == (long)c.ref.n + 1);
        mt_same(&s, &c.ref);
        mt_sink_free(&s);
    }
    mt_sink_free(&c.ref);
    mt_script_free(sc);
    free(sc);
    vg_multiline_rules_destroy(r);
}

static void java_survives_every_failure(void **state)
{
    mt_run_preset("java");
}

static void python_survives_every_failure(void **state)
{
    mt_run_preset("python");
}

static void go_survives_every_failure(void **state)
{
    mt_run_preset("go");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(java_survives_every_failure, torture_teardown),
        cmocka_unit_test_teardown(python_survives_every_failure, torture_teardown),
        cmocka_unit_test_teardown(go_survives_every_failure, torture_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
