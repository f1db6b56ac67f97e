/*
 * test_multiline.c - multiline grouping: every preset on every fixture of
 * tests/fixtures/multiline (checked group by group against the .expected
 * file beside it), user start/continue patterns, max_lines, max_bytes,
 * timeouts, emit errors and retries, configuration errors, and odd lines
 * (empty, CRLF, NUL and invalid UTF-8, 1 MiB).
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

#ifndef VG_SOURCE_DIR
#define VG_SOURCE_DIR "."
#endif

/* 2026-11-24T10:00:00Z */
#define ML_T0        (INT64_C(1795514400) * VG_NS_PER_SEC)
#define ML_MAX_GOT   256
#define ML_MAX_LINES 1024

/* One group as the emit callback saw it (text copied). */
struct ml_got {
    char *text;
    const char *ptr; /* where the text was, to tell a copy from a view */
    size_t len;
    int64_t time_ns;
    uint64_t start_off;
    uint64_t end_off;
    uint64_t lines;
    bool truncated;
};

struct ml_sink {
    struct ml_got g[ML_MAX_GOT];
    size_t n;
    unsigned calls;
    uint32_t fail_mask; /* bit i set: the i-th call (from 0) fails with VG_EAGAIN */
};

/* A compiled rule set, one state on it, a sink, and the running offset. */
struct ml_t {
    struct vg_multiline_rules *r;
    struct vg_multiline *m;
    struct ml_sink s;
    uint64_t off;
};

static int ml_collect(void *arg, const struct vg_multiline_group *g)
{
    struct ml_sink *s = arg;
    struct ml_got *got;
    unsigned call = s->calls++;

    if (call < 32 && (s->fail_mask & (UINT32_C(1) << call)))
        return VG_EAGAIN;
    assert_true(s->n < ML_MAX_GOT);
    got = &s->g[s->n++];
    got->text = malloc(g->len + 1);
    assert_non_null(got->text);
    memcpy(got->text, g->text, g->len);
    got->text[g->len] = '\0';
    got->ptr = g->text;
    got->len = g->len;
    got->time_ns = g->time_ns;
    got->start_off = g->start_off;
    got->end_off = g->end_off;
    got->lines = g->lines;
    got->truncated = g->truncated;
    return VG_OK;
}

static void ml_sink_free(struct ml_sink *s)
{
    size_t i;

    for (i = 0; i < s->n; i++)
        free(s->g[i].text);
    s->n = 0;
}

static void ml_open(struct ml_t *t, const struct vg_multiline_settings *set)
{
    struct vg_error err = {0};

    memset(t, 0, sizeof(*t));
    assert_int_equal(vg_multiline_compile(set, &t->r, &err), VG_OK);
    t->m = vg_multiline_create(t->r);
    assert_non_null(t->m);
}

static void ml_open_preset(struct ml_t *t, const char *preset)
{
    struct vg_multiline_settings set = {.preset = preset, .timeout_ms = 1000};

    ml_open(t, &set);
}

static void ml_close(struct ml_t *t)
{
    vg_multiline_destroy(t->m);
    vg_multiline_rules_destroy(t->r);
    ml_sink_free(&t->s);
}

/* Pushes n bytes at time ML_T0 + ms and monotonic ms; the running offset
 * moves only when the line was taken. */
static int ml_pushn(struct ml_t *t, const char *line, size_t n, int64_t ms)
{
    uint64_t end = t->off + n + 1;
    int rc = vg_multiline_push(t->m, line, n, ML_T0 + ms * VG_NS_PER_MS, t->off, end,
                               ms * VG_NS_PER_MS, ml_collect, &t->s);

    if (rc == VG_OK)
        t->off = end;
    return rc;
}

static int ml_push(struct ml_t *t, const char *line, int64_t ms)
{
    return ml_pushn(t, line, strlen(line), ms);
}

static void ml_push_all(struct ml_t *t, const char *const *lines, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        assert_int_equal(ml_push(t, lines[i], (int64_t)i), VG_OK);
}

static int ml_flush(struct ml_t *t, int64_t ms, bool force)
{
    return vg_multiline_flush(t->m, ms * VG_NS_PER_MS, force, ml_collect, &t->s);
}

static void ml_expect(const struct ml_t *t, size_t i, const char *text, uint64_t lines)
{
    assert_true(i < t->s.n);
    assert_int_equal(t->s.g[i].len, strlen(text));
    assert_string_equal(t->s.g[i].text, text);
    assert_int_equal(t->s.g[i].lines, lines);
}

/* ------------------------------------------------------------------------
 * Fixtures: every preset on every file, group by group.
 */
struct ml_file {
    char *data;
    size_t size;
    size_t n;                       /* lines */
    uint64_t off[ML_MAX_LINES + 1]; /* 1-based: where line i starts */
    size_t len[ML_MAX_LINES + 1];   /* its length without '\n' */
    uint64_t end[ML_MAX_LINES + 1]; /* just after its '\n' */
};

static char *ml_read(const char *path, size_t *size)
{
    return test_read_file(path, size);
}

static void ml_load(struct ml_file *f, const char *name)
{
    char path[512];
    size_t pos = 0, nl;
    char *p;

    snprintf(path, sizeof(path), "%s/tests/fixtures/multiline/%s.txt", VG_SOURCE_DIR, name);
    f->data = ml_read(path, &f->size);
    f->n = 0;
    while (pos < f->size) {
        assert_true(f->n < ML_MAX_LINES);
        p = memchr(f->data + pos, '\n', f->size - pos);
        nl = p != NULL ? (size_t)(p - f->data) : f->size;
        f->n++;
        f->off[f->n] = pos;
        f->len[f->n] = nl - pos;
        f->end[f->n] = p != NULL ? nl + 1 : nl;
        pos = f->end[f->n];
    }
}

/* Reads "preset: a-b c ..." from NAME.expected into last[first] = last
 * line of the group that starts there (0: not listed). */
static void ml_load_expected(const char *name, const char *preset, size_t *last, size_t n)
{
    char path[512], *data, *line, *p, *endp;
    size_t size, plen = strlen(preset), a, b;
    bool found = false;

    snprintf(path, sizeof(path), "%s/tests/fixtures/multiline/%s.expected", VG_SOURCE_DIR, name);
    data = ml_read(path, &size);
    for (line = strtok(data, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        if (strncmp(line, preset, plen) != 0 || line[plen] != ':')
            continue;
        found = true;
        for (p = line + plen + 1; *p != '\0'; p = endp) {
            a = strtoul(p, &endp, 10);
            if (endp == p)
                break;
            b = a;
            if (*endp == '-')
                b = strtoul(endp + 1, &endp, 10);
            assert_true(a >= 1 && a <= b && b <= n);
            last[a] = b;
        }
    }
    assert_true(found);
    free(data);
}

struct ml_case {
    const char *file;
    const char *preset;
};

static void fixture_groups(void **state)
{
    const struct ml_case *c = *state;
    static size_t last[ML_MAX_LINES + 1];
    static struct ml_file f;
    struct ml_t t;
    size_t i, a, b, k = 0;

    memset(last, 0, sizeof(last));
    ml_load(&f, c->file);
    ml_load_expected(c->file, c->preset, last, f.n);
    ml_open_preset(&t, c->preset);
    for (i = 1; i <= f.n; i++) {
        assert_int_equal(vg_multiline_push(t.m, f.data + f.off[i], f.len[i],
                                           ML_T0 + (int64_t)i * 1000, f.off[i], f.end[i],
                                           (int64_t)i * VG_NS_PER_MS, ml_collect, &t.s),
                         VG_OK);
    }
    assert_int_equal(ml_flush(&t, (int64_t)f.n, true), VG_OK);
    for (a = 1; a <= f.n; a = b + 1, k++) {
        b = last[a] != 0 ? last[a] : a;
        assert_true(k < t.s.n);
        /* lines joined with '\n' are the file's bytes from a to b */
        assert_int_equal(t.s.g[k].len, f.off[b] + f.len[b] - f.off[a]);
        assert_memory_equal(t.s.g[k].text, f.data + f.off[a], t.s.g[k].len);
        assert_int_equal(t.s.g[k].lines, b - a + 1);
        assert_int_equal(t.s.g[k].start_off, f.off[a]);
        assert_int_equal(t.s.g[k].end_off, f.end[b]);
        assert_int_equal(t.s.g[k].time_ns, ML_T0 + (int64_t)a * 1000);
        assert_false(t.s.g[k].truncated);
    }
    assert_int_equal(t.s.n, k);
    ml_close(&t);
    free(f.data);
}

/* ------------------------------------------------------------------------
 * Presets on short inputs.
 */
static void java_trace_is_one_group(void **state)
{
    static const char *const in[] = {
        "2026-11-24 10:00:00 ERROR [main] App - request failed",
        "java.lang.IllegalStateException: boom",
        "\tat com.example.App.run(App.java:10)",
        "Caused by: java.io.IOException: disk full",
        "\tat com.example.Disk.write(Disk.java:5)",
        "\t... 1 more",
        "2026-11-24 10:00:01 INFO [main] App - next",
    };
    struct ml_t t;

    ml_open_preset(&t, "java");
    ml_push_all(&t, in, VG_ARRAY_LEN(in));
    assert_int_equal(t.s.n, 3);
    ml_expect(&t, 0, in[0], 1);
    ml_expect(&t, 1,
              "java.lang.IllegalStateException: boom\n"
              "\tat com.example.App.run(App.java:10)\n"
              "Caused by: java.io.IOException: disk full\n"
              "\tat com.example.Disk.write(Disk.java:5)\n"
              "\t... 1 more",
              5);
    assert_int_equal(t.s.g[1].time_ns, ML_T0 + 1 * VG_NS_PER_MS);
    assert_int_equal(t.s.g[1].start_off, t.s.g[0].end_off);
    /* the line that closed the trace went out alone right after it */
    ml_expect(&t, 2, in[6], 1);
    assert_false(vg_multiline_pending(t.m, NULL));
    ml_close(&t);
}

static void normal_lines_stay_alone(void **state)
{
    static const char *const in[] = {"GET /a 200", "GET /b 404", "worker 3 idle"};
    const char *presets[] = {"java", "python", "go"};
    struct ml_t t;
    size_t p, i;

    for (p = 0; p < VG_ARRAY_LEN(presets); p++) {
        ml_open_preset(&t, presets[p]);
        for (i = 0; i < VG_ARRAY_LEN(in); i++) {
            assert_int_equal(ml_push(&t, in[i], (int64_t)i), VG_OK);
            /* emitted at once, nothing held back */
            assert_int_equal(t.s.n, i + 1);
            assert_false(vg_multiline_pending(t.m, NULL));
            ml_expect(&t, i, in[i], 1);
            /* and handed over without a copy */
            assert_ptr_equal(t.s.g[i].ptr, in[i]);
        }
        ml_close(&t);
    }
}

static void python_chained_joins_and_ends(void **state)
{
    static const char *const in[] = {
        "Traceback (most recent call last):",
        "  File \"a.py\", line 1, in <module>",
        "    f()",
        "ValueError: bad",
        "",
        "During handling of the above exception, another exception occurred:",
        "",
        "Traceback (most recent call last):",
        "  File \"a.py\", line 3, in <module>",
        "RuntimeError: worse",
        "done",
    };
    struct ml_t t;

    ml_open_preset(&t, "python");
    ml_push_all(&t, in, VG_ARRAY_LEN(in));
    assert_int_equal(t.s.n, 2);
    assert_int_equal(t.s.g[0].lines, 10);
    assert_int_equal(t.s.g[0].start_off, 0);
    assert_true(t.s.g[0].len > 19);
    assert_string_equal(t.s.g[0].text + t.s.g[0].len - 19, "RuntimeError: worse");
    ml_expect(&t, 1, "done", 1);
    ml_close(&t);
}

static void go_http_panic_serving(void **state)
{
    static const char *const in[] = {
        "2026/11/24 10:00:00 http: panic serving 10.0.0.1:5312: boom",
        "goroutine 7 [running]:",
        "net/http.(*conn).serve.func1()",
        "\t/usr/local/go/src/net/http/server.go:1868 +0xb9",
        "2026/11/24 10:00:01 GET /ok 200",
    };
    struct ml_t t;

    ml_open_preset(&t, "go");
    ml_push_all(&t, in, VG_ARRAY_LEN(in));
    assert_int_equal(t.s.n, 2);
    assert_int_equal(t.s.g[0].lines, 4);
    ml_expect(&t, 1, in[4], 1);
    ml_close(&t);
}

/* ------------------------------------------------------------------------
 * User patterns.
 */
static void start_only_takes_every_other_line(void **state)
{
    static const char *const in[] = {
        "  orphan before any start",
        "2026-11-24 a",
        "  a1",
        "a2 not indented either",
        "2026-11-24 b",
        "2026-11-24 c",
        "  c1",
    };
    struct vg_multiline_settings set = {.start = "^\\d{4}-\\d\\d-\\d\\d ", .timeout_ms = 1000};
    struct ml_t t;

    ml_open(&t, &set);
    ml_push_all(&t, in, VG_ARRAY_LEN(in));
    assert_int_equal(ml_flush(&t, 10, true), VG_OK);
    assert_int_equal(t.s.n, 4);
    ml_expect(&t, 0, "  orphan before any start", 1);
    ml_expect(&t, 1, "2026-11-24 a\n  a1\na2 not indented either", 3);
    ml_expect(&t, 2, "2026-11-24 b", 1);
    ml_expect(&t, 3, "2026-11-24 c\n  c1", 2);
    ml_close(&t);
}

static void continue_only_opens_on_every_other_line(void **state)
{
    static const char *const in[] = {" lead", "a", " b", " c", "d", "e", " f"};
    struct vg_multiline_settings set = {.cont = "^\\s", .timeout_ms = 1000};
    struct ml_t t;

    ml_open(&t, &set);
    ml_push_all(&t, in, VG_ARRAY_LEN(in));
    assert_int_equal(ml_flush(&t, 10, true), VG_OK);
    assert_int_equal(t.s.n, 4);
    /* a continuation with nothing open opens a group: it is not lost */
    ml_expect(&t, 0, " lead", 1);
    ml_expect(&t, 1, "a\n b\n c", 3);
    ml_expect(&t, 2, "d", 1);
    ml_expect(&t, 3, "e\n f", 2);
    ml_close(&t);
}

static void start_and_continue(void **state)
{
    static const char *const in[] = {"x",  "START 1", " a",      " b", "y",
                                     " z", "START 2", "START 3", " c"};
    struct vg_multiline_settings set = {.start = "^START", .cont = "^\\s", .timeout_ms = 1000};
    struct ml_t t;

    ml_open(&t, &set);
    ml_push_all(&t, in, VG_ARRAY_LEN(in));
    assert_int_equal(ml_flush(&t, 10, true), VG_OK);
    assert_int_equal(t.s.n, 6);
    ml_expect(&t, 0, "x", 1);
    ml_expect(&t, 1, "START 1\n a\n b", 3);
    ml_expect(&t, 2, "y", 1);
    ml_expect(&t, 3, " z", 1);
    ml_expect(&t, 4, "START 2", 1);
    ml_expect(&t, 5, "START 3\n c", 2);
    ml_close(&t);
}

static void two_states_share_rules(void **state)
{
    struct ml_t t;
    struct vg_multiline *m2;
    struct ml_sink *s2 = calloc(1, sizeof(*s2));

    assert_non_null(s2);
    ml_open_preset(&t, "java");
    m2 = vg_multiline_create(t.r);
    assert_non_null(m2);
    assert_int_equal(ml_push(&t, "java.lang.Exception: one", 0), VG_OK);
    assert_int_equal(vg_multiline_push(m2, "plain", 5, 0, 0, 6, 0, ml_collect, s2), VG_OK);
    assert_int_equal(ml_push(&t, "\tat a.B.c(B.java:1)", 1), VG_OK);
    assert_int_equal(vg_multiline_push(m2, "\tat x.Y.z(Y.java:2)", 19, 0, 6, 26, 0, ml_collect, s2),
                     VG_OK);
    assert_int_equal(ml_flush(&t, 2, true), VG_OK);
    assert_int_equal(s2->n, 2); /* the other state's frame did not join here */
    ml_expect(&t, 0, "java.lang.Exception: one\n\tat a.B.c(B.java:1)", 2);
    vg_multiline_destroy(m2);
    ml_sink_free(s2);
    free(s2);
    ml_close(&t);
}

/* ------------------------------------------------------------------------
 * Limits.
 */
static const char *const ml_trace[] = {
    "java.lang.RuntimeException: deep",
    "\tat f1(A.java:1)",
    "\tat f2(A.java:2)",
    "\tat f3(A.java:3)",
    "\tat f4(A.java:4)",
    "\tat f5(A.java:5)",
    "\tat f6(A.java:6)",
    "after",
};

static void max_lines_emits_at_once_and_goes_on(void **state)
{
    struct vg_multiline_settings set = {.preset = "java", .timeout_ms = 1000, .max_lines = 3};
    struct ml_t t;

    ml_open(&t, &set);
    ml_push_all(&t, ml_trace, 3);
    /* the line that reached max_lines went out with its group */
    assert_int_equal(t.s.n, 1);
    assert_false(vg_multiline_pending(t.m, NULL));
    ml_expect(&t, 0, "java.lang.RuntimeException: deep\n\tat f1(A.java:1)\n\tat f2(A.java:2)", 3);
    assert_int_equal(t.s.g[0].end_off, t.off);
    assert_int_equal(ml_push(&t, ml_trace[3], 3), VG_OK);
    assert_true(vg_multiline_pending(t.m, NULL));
    assert_int_equal(ml_push(&t, ml_trace[4], 4), VG_OK);
    assert_int_equal(ml_push(&t, ml_trace[5], 5), VG_OK);
    assert_int_equal(ml_push(&t, ml_trace[6], 6), VG_OK);
    assert_int_equal(ml_push(&t, ml_trace[7], 7), VG_OK);
    assert_int_equal(ml_flush(&t, 8, true), VG_OK);
    assert_int_equal(t.s.n, 4);
    /* the rest of the trace forms groups too, not lines of their own */
    ml_expect(&t, 1, "\tat f3(A.java:3)\n\tat f4(A.java:4)\n\tat f5(A.java:5)", 3);
    assert_int_equal(t.s.g[1].time_ns, ML_T0 + 3 * VG_NS_PER_MS);
    ml_expect(&t, 2, "\tat f6(A.java:6)", 1);
    ml_expect(&t, 3, "after", 1);
    ml_close(&t);
}

static void max_lines_one(void **state)
{
    struct vg_multiline_settings set = {.preset = "java", .timeout_ms = 1000, .max_lines = 1};
    struct ml_t t;

    ml_open(&t, &set);
    ml_push_all(&t, ml_trace, 3);
    assert_int_equal(t.s.n, 3);
    assert_false(vg_multiline_pending(t.m, NULL));
    ml_expect(&t, 2, ml_trace[2], 1);
    ml_close(&t);
}

static void max_bytes_cuts_and_consumes_the_rest(void **state)
{
    struct vg_multiline_settings set = {.preset = "java", .timeout_ms = 1000, .max_bytes = 40};
    struct ml_t t;

    ml_open(&t, &set);
    ml_push_all(&t, ml_trace, VG_ARRAY_LEN(ml_trace));
    assert_int_equal(t.s.n, 2);
    /* 32 bytes of the first line, the '\n', 7 of the second */
    ml_expect(&t, 0, "java.lang.RuntimeException: deep\n\tat f1(", 7);
    assert_true(t.s.g[0].truncated);
    assert_int_equal(t.s.g[0].start_off, 0);
    assert_int_equal(t.s.g[0].end_off, t.off - strlen("after") - 1);
    ml_expect(&t, 1, "after", 1);
    assert_false(t.s.g[1].truncated);
    ml_close(&t);
}

static void max_bytes_cut_at_a_separator(void **state)
{
    struct vg_multiline_settings set = {.preset = "java", .timeout_ms = 1000, .max_bytes = 32};
    struct ml_t t;

    ml_open(&t, &set);
    ml_push_all(&t, ml_trace, 3);
    assert_int_equal(ml_flush(&t, 3, true), VG_OK);
    /* exactly the first line: no dangling '\n' */
    ml_expect(&t, 0, "java.lang.RuntimeException: deep", 3);
    assert_true(t.s.g[0].truncated);
    ml_close(&t);
}

static void max_bytes_cuts_a_lone_line(void **state)
{
    struct vg_multiline_settings set = {.preset = "go", .timeout_ms = 1000, .max_bytes = 5};
    struct ml_t t;

    ml_open(&t, &set);
    assert_int_equal(ml_push(&t, "0123456789", 0), VG_OK);
    assert_int_equal(ml_push(&t, "short", 1), VG_OK);
    ml_expect(&t, 0, "01234", 1);
    assert_true(t.s.g[0].truncated);
    assert_int_equal(t.s.g[0].end_off, 11);
    ml_expect(&t, 1, "short", 1);
    assert_false(t.s.g[1].truncated);
    ml_close(&t);
}

/* ------------------------------------------------------------------------
 * Time.
 */
static void timeout_flush_waits_for_the_last_line(void **state)
{
    struct vg_multiline_settings set = {.preset = "java", .timeout_ms = 100};
    struct ml_t t;

    ml_open(&t, &set);
    assert_int_equal(ml_push(&t, "java.lang.Exception: x", 1000), VG_OK);
    assert_int_equal(vg_multiline_deadline(t.m), 1100 * VG_NS_PER_MS);
    assert_int_equal(ml_push(&t, "\tat a(A.java:1)", 1050), VG_OK);
    assert_int_equal(vg_multiline_deadline(t.m), 1150 * VG_NS_PER_MS);
    assert_int_equal(ml_flush(&t, 1149, false), VG_OK);
    assert_int_equal(t.s.n, 0);
    assert_true(vg_multiline_pending(t.m, NULL));
    assert_int_equal(ml_flush(&t, 1150, false), VG_OK);
    assert_int_equal(t.s.n, 1);
    ml_expect(&t, 0, "java.lang.Exception: x\n\tat a(A.java:1)", 2);
    assert_int_equal(t.s.g[0].time_ns, ML_T0 + 1000 * VG_NS_PER_MS);
    assert_false(vg_multiline_pending(t.m, NULL));
    assert_int_equal(vg_multiline_deadline(t.m), INT64_MAX);
    /* after a timeout the trace is over: a late frame stands alone */
    assert_int_equal(ml_push(&t, "\tat b(A.java:2)", 1200), VG_OK);
    assert_int_equal(t.s.n, 2);
    ml_expect(&t, 1, "\tat b(A.java:2)", 1);
    ml_close(&t);
}

static void force_flush_ignores_age(void **state)
{
    struct ml_t t;

    ml_open_preset(&t, "python");
    assert_int_equal(ml_flush(&t, 0, true), VG_OK); /* nothing open: nothing */
    assert_int_equal(t.s.n, 0);
    assert_int_equal(ml_push(&t, "Traceback (most recent call last):", 5), VG_OK);
    assert_int_equal(ml_flush(&t, 5, false), VG_OK);
    assert_int_equal(t.s.n, 0);
    assert_int_equal(ml_flush(&t, 5, true), VG_OK);
    assert_int_equal(t.s.n, 1);
    ml_expect(&t, 0, "Traceback (most recent call last):", 1);
    ml_close(&t);
}

static void pending_and_deadline(void **state)
{
    struct vg_multiline_settings set = {.preset = "go", .timeout_ms = 250};
    struct ml_t t;
    uint64_t off = 0;

    ml_open(&t, &set);
    assert_false(vg_multiline_pending(t.m, &off));
    assert_int_equal(vg_multiline_deadline(t.m), INT64_MAX);
    assert_int_equal(ml_push(&t, "starting", 0), VG_OK);
    assert_false(vg_multiline_pending(t.m, &off));
    assert_int_equal(ml_push(&t, "panic: boom", 40), VG_OK);
    assert_true(vg_multiline_pending(t.m, &off));
    assert_int_equal(off, 9); /* where a restart must read from */
    assert_true(vg_multiline_pending(t.m, NULL));
    assert_int_equal(vg_multiline_deadline(t.m), 290 * VG_NS_PER_MS);
    assert_int_equal(ml_push(&t, "", 60), VG_OK);
    assert_int_equal(ml_push(&t, "goroutine 1 [running]:", 70), VG_OK);
    assert_int_equal(vg_multiline_deadline(t.m), 320 * VG_NS_PER_MS);
    assert_true(vg_multiline_pending(t.m, &off));
    assert_int_equal(off, 9);
    ml_close(&t);
}

static void huge_timeout_saturates(void **state)
{
    struct vg_multiline_settings set = {.preset = "java", .timeout_ms = INT64_MAX};
    struct ml_t t;

    ml_open(&t, &set);
    assert_int_equal(ml_push(&t, "java.lang.Exception: x", 1000), VG_OK);
    assert_int_equal(vg_multiline_deadline(t.m), INT64_MAX);
    assert_int_equal(ml_flush(&t, INT64_MAX / VG_NS_PER_MS, false), VG_OK);
    assert_int_equal(t.s.n, 0);
    ml_close(&t);
}

/* ------------------------------------------------------------------------
 * Emit errors: the same line pushed again, nothing lost, nothing twice.
 */
static void emit_error_closing_a_group(void **state)
{
    struct ml_t t;

    ml_open_preset(&t, "java");
    assert_int_equal(ml_push(&t, "java.lang.Exception: x", 0), VG_OK);
    assert_int_equal(ml_push(&t, "\tat a(A.java:1)", 1), VG_OK);
    t.s.fail_mask = 1u << t.s.calls;
    assert_int_equal(ml_push(&t, "next", 2), VG_EAGAIN);
    assert_int_equal(t.s.n, 0);
    assert_true(vg_multiline_pending(t.m, NULL));
    assert_int_equal(ml_push(&t, "next", 3), VG_OK);
    assert_int_equal(t.s.n, 2);
    ml_expect(&t, 0, "java.lang.Exception: x\n\tat a(A.java:1)", 2);
    ml_expect(&t, 1, "next", 1);
    assert_int_equal(t.s.g[1].start_off, t.s.g[0].end_off);
    ml_close(&t);
}

static void emit_error_on_the_line_itself(void **state)
{
    struct ml_t t;

    ml_open_preset(&t, "java");
    assert_int_equal(ml_push(&t, "java.lang.Exception: x", 0), VG_OK);
    /* the group goes out, then the lone line fails */
    t.s.fail_mask = 1u << (t.s.calls + 1);
    assert_int_equal(ml_push(&t, "next", 1), VG_EAGAIN);
    assert_int_equal(t.s.n, 1);
    assert_false(vg_multiline_pending(t.m, NULL));
    assert_int_equal(ml_push(&t, "next", 2), VG_OK);
    assert_int_equal(t.s.n, 2);
    ml_expect(&t, 0, "java.lang.Exception: x", 1);
    ml_expect(&t, 1, "next", 1);
    /* and a lone line failing with nothing open */
    t.s.fail_mask = 1u << t.s.calls;
    assert_int_equal(ml_push(&t, "again", 3), VG_EAGAIN);
    assert_int_equal(ml_push(&t, "again", 4), VG_OK);
    assert_int_equal(t.s.n, 3);
    ml_expect(&t, 2, "again", 1);
    ml_close(&t);
}

static void emit_error_at_max_lines(void **state)
{
    struct vg_multiline_settings set = {.preset = "java", .timeout_ms = 1000, .max_lines = 2};
    struct ml_t t;
    uint64_t off = 99;

    ml_open(&t, &set);
    assert_int_equal(ml_push(&t, ml_trace[0], 0), VG_OK);
    t.s.fail_mask = 1u << t.s.calls;
    assert_int_equal(ml_push(&t, ml_trace[1], 1), VG_EAGAIN);
    assert_int_equal(t.s.n, 0);
    assert_true(vg_multiline_pending(t.m, &off));
    assert_int_equal(off, 0);
    assert_int_equal(vg_multiline_deadline(t.m), 1000 * VG_NS_PER_MS);
    assert_int_equal(ml_push(&t, ml_trace[1], 2), VG_OK);
    assert_int_equal(t.s.n, 1);
    ml_expect(&t, 0, "java.lang.RuntimeException: deep\n\tat f1(A.java:1)", 2);
    assert_int_equal(t.s.g[0].end_off, t.off);
    ml_close(&t);
}

static void emit_error_on_flush_keeps_the_group(void **state)
{
    struct ml_t t;

    ml_open_preset(&t, "go");
    assert_int_equal(ml_push(&t, "fatal error: out of memory", 0), VG_OK);
    t.s.fail_mask = 1u << t.s.calls;
    assert_int_equal(ml_flush(&t, 5000, false), VG_EAGAIN);
    assert_true(vg_multiline_pending(t.m, NULL));
    assert_int_equal(ml_flush(&t, 5000, true), VG_OK);
    assert_int_equal(t.s.n, 1);
    ml_expect(&t, 0, "fatal error: out of memory", 1);
    assert_false(vg_multiline_pending(t.m, NULL));
    ml_close(&t);
}

/* ------------------------------------------------------------------------
 * Configuration errors.
 */
static void ml_compile_fails(const struct vg_multiline_settings *set, const char *msg)
{
    struct vg_multiline_rules *r = (struct vg_multiline_rules *)1;
    struct vg_error err = {0};

    assert_int_equal(vg_multiline_compile(set, &r, &err), VG_ECONFIG);
    assert_null(r);
    assert_int_equal(err.code, VG_ECONFIG);
    assert_string_equal(err.msg, msg);
}

static void config_needs_something(void **state)
{
    struct vg_multiline_settings none = {.timeout_ms = 1000};
    struct vg_multiline_settings empty = {.preset = "", .start = "", .cont = ""};

    ml_compile_fails(&none, "multiline needs a preset, start or continue");
    ml_compile_fails(&empty, "multiline needs a preset, start or continue");
}

static void config_preset_with_patterns(void **state)
{
    struct vg_multiline_settings a = {.preset = "java", .start = "^x"};
    struct vg_multiline_settings b = {.preset = "go", .cont = "^\\s"};

    ml_compile_fails(&a, "multiline preset 'java' cannot be combined with start or continue");
    ml_compile_fails(&b, "multiline preset 'go' cannot be combined with start or continue");
}

static void config_unknown_preset(void **state)
{
    struct vg_multiline_settings s = {.preset = "ruby"};

    ml_compile_fails(&s, "unknown multiline preset 'ruby' (known: java, python, go)");
}

static void config_bad_patterns(void **state)
{
    struct vg_multiline_settings a = {.start = "("};
    struct vg_multiline_settings b = {.start = "^ok", .cont = "a["};
    struct vg_multiline_settings c = {.cont = "x{2,1}"};

    ml_compile_fails(&a, "multiline start pattern '(': missing closing parenthesis at offset 1");
    ml_compile_fails(&b, "multiline continue pattern 'a[': missing terminating ] for character "
                         "class at offset 2");
    ml_compile_fails(&c, "multiline continue pattern 'x{2,1}': numbers out of order in {} "
                         "quantifier at offset 5");
}

static void config_refuses_utf_mode(void **state)
{
    struct vg_multiline_settings s = {.start = "(*UTF)^x"};
    struct vg_multiline_rules *r = NULL;
    struct vg_error err = {0};

    /* lines may be invalid UTF-8: a pattern cannot switch UTF mode on */
    assert_int_equal(vg_multiline_compile(&s, &r, &err), VG_ECONFIG);
    assert_null(r);
    assert_non_null(strstr(err.msg, "multiline start pattern '(*UTF)^x': "));
}

static void config_negative_timeout(void **state)
{
    struct vg_multiline_settings s = {.preset = "java", .timeout_ms = -1};

    ml_compile_fails(&s, "multiline timeout must not be negative");
}

static void config_every_preset_compiles(void **state)
{
    const char *presets[] = {"java", "python", "go"};
    struct vg_multiline_settings s = {.timeout_ms = 1000};
    struct vg_multiline_rules *r = NULL;
    struct vg_error err = {0};
    size_t i;

    for (i = 0; i < VG_ARRAY_LEN(presets); i++) {
        s.preset = presets[i];
        assert_int_equal(vg_multiline_compile(&s, &r, &err), VG_OK);
        assert_non_null(r);
        vg_multiline_rules_destroy(r);
    }
    vg_multiline_rules_destroy(NULL);
    vg_multiline_destroy(NULL);
}

/* ------------------------------------------------------------------------
 * Odd lines.
 */
static void empty_lines(void **state)
{
    struct ml_t t;

    ml_open_preset(&t, "java");
    assert_int_equal(ml_push(&t, "", 0), VG_OK);
    assert_int_equal(vg_multiline_push(t.m, NULL, 0, ML_T0, 1, 2, 0, ml_collect, &t.s), VG_OK);
    assert_int_equal(vg_multiline_push(t.m, NULL, 3, ML_T0, 1, 2, 0, ml_collect, &t.s), VG_EINVAL);
    assert_int_equal(t.s.n, 2);
    ml_expect(&t, 0, "", 1);
    ml_expect(&t, 1, "", 1);
    t.off = 2;
    /* inside a trace, a blank line after the exception joins it */
    assert_int_equal(ml_push(&t, "java.lang.Exception: x", 1), VG_OK);
    assert_int_equal(ml_push(&t, "", 2), VG_OK);
    assert_int_equal(ml_push(&t, "\tat a(A.java:1)", 3), VG_OK);
    /* after the frames it ends the trace and stands alone */
    assert_int_equal(ml_push(&t, "", 4), VG_OK);
    assert_int_equal(t.s.n, 4);
    ml_expect(&t, 2, "java.lang.Exception: x\n\n\tat a(A.java:1)", 3);
    ml_expect(&t, 3, "", 1);
    ml_close(&t);
}

static void empty_lines_in_a_start_group(void **state)
{
    struct vg_multiline_settings set = {.start = "^BEGIN", .timeout_ms = 1000};
    struct ml_t t;

    ml_open(&t, &set);
    assert_int_equal(ml_push(&t, "BEGIN", 0), VG_OK);
    assert_int_equal(ml_push(&t, "", 1), VG_OK);
    assert_int_equal(ml_push(&t, "", 2), VG_OK);
    assert_int_equal(ml_flush(&t, 3, true), VG_OK);
    ml_expect(&t, 0, "BEGIN\n\n", 3);
    ml_close(&t);
}

static void crlf_lines(void **state)
{
    static const char *const java[] = {"java.lang.IllegalStateException\r", "\r",
                                       "\tat a.B.c(B.java:1)\r", "next\r"};
    static const char *const py[] = {"Traceback (most recent call last):\r",
                                     "  File \"x.py\", line 1, in <module>\r",
                                     "KeyboardInterrupt\r", "\r",
                                     "The above exception was the direct cause of the "
                                     "following exception:\r"};
    struct ml_t t;

    ml_open_preset(&t, "java");
    ml_push_all(&t, java, VG_ARRAY_LEN(java));
    assert_int_equal(t.s.n, 2);
    /* the '\r' stays: the group reads as the CRLF text it came from */
    ml_expect(&t, 0, "java.lang.IllegalStateException\r\n\r\n\tat a.B.c(B.java:1)\r", 3);
    ml_expect(&t, 1, "next\r", 1);
    ml_close(&t);
    ml_open_preset(&t, "python");
    ml_push_all(&t, py, VG_ARRAY_LEN(py));
    assert_int_equal(t.s.n, 0);
    assert_int_equal(ml_flush(&t, 9, true), VG_OK);
    assert_int_equal(t.s.g[0].lines, 5);
    ml_close(&t);
}

static void nul_and_invalid_utf8(void **state)
{
    static const char line[] = "\xff\xfe java.lang.Exception: \x00 bad \xc3";
    static const char frame[] = "\tat \xe2\x82(A.java:1)";
    struct ml_t t;

    ml_open_preset(&t, "java");
    assert_int_equal(ml_pushn(&t, line, sizeof(line) - 1, 0), VG_OK);
    assert_int_equal(ml_pushn(&t, frame, sizeof(frame) - 1, 1), VG_OK);
    assert_int_equal(ml_flush(&t, 2, true), VG_OK);
    assert_int_equal(t.s.n, 1);
    assert_int_equal(t.s.g[0].lines, 2);
    assert_int_equal(t.s.g[0].len, sizeof(line) - 1 + 1 + sizeof(frame) - 1);
    assert_memory_equal(t.s.g[0].text, line, sizeof(line) - 1);
    assert_memory_equal(t.s.g[0].text + sizeof(line), frame, sizeof(frame) - 1);
    ml_close(&t);
}

static void one_mib_line(void **state)
{
    size_t n = 1 << 20;
    char *big = malloc(n + 1);
    struct vg_multiline_settings cut = {.preset = "java", .timeout_ms = 1, .max_bytes = 65536};
    struct ml_t t;

    assert_non_null(big);
    memset(big, 'x', n);
    big[n] = '\0';
    ml_open_preset(&t, "java");
    assert_int_equal(ml_pushn(&t, big, n, 0), VG_OK);
    assert_int_equal(t.s.n, 1);
    assert_int_equal(t.s.g[0].len, n);
    assert_ptr_equal(t.s.g[0].ptr, big);
    memcpy(big + n - 11, "Exception: ", 11);
    assert_int_equal(ml_pushn(&t, big, n, 1), VG_OK);
    assert_int_equal(ml_push(&t, "\tat a(A.java:1)", 2), VG_OK);
    assert_int_equal(ml_flush(&t, 3, true), VG_OK);
    assert_int_equal(t.s.n, 2);
    assert_int_equal(t.s.g[1].len, n + 1 + 15);
    assert_false(t.s.g[1].truncated);
    ml_close(&t);
    ml_open(&t, &cut);
    assert_int_equal(ml_pushn(&t, big, n, 0), VG_OK);
    assert_int_equal(ml_push(&t, "\tat a(A.java:1)", 1), VG_OK);
    assert_int_equal(ml_flush(&t, 2, false), VG_OK);
    assert_int_equal(t.s.n, 1);
    assert_int_equal(t.s.g[0].len, 65536);
    assert_int_equal(t.s.g[0].lines, 2);
    assert_true(t.s.g[0].truncated);
    ml_close(&t);
    free(big);
}

static void group_buffer_is_reused(void **state)
{
    struct ml_t t;
    size_t i;

    ml_open_preset(&t, "java");
    for (i = 0; i < 6; i++)
        assert_int_equal(ml_push(&t, i % 2 ? "\tat a(A.java:1)" : "java.lang.Error: x", (int64_t)i),
                         VG_OK);
    assert_int_equal(ml_flush(&t, 6, true), VG_OK);
    assert_int_equal(t.s.n, 3);
    /* every group came from the same buffer: no allocation per group */
    assert_ptr_equal(t.s.g[0].ptr, t.s.g[1].ptr);
    assert_ptr_equal(t.s.g[1].ptr, t.s.g[2].ptr);
    ml_close(&t);
}

#define ML_CASE(f, p)                                                                              \
    {                                                                                              \
        f "/" p, fixture_groups, NULL, NULL, &(struct ml_case)                                     \
        {                                                                                          \
            f, p                                                                                   \
        }                                                                                          \
    }

int main(void)
{
    const struct CMUnitTest tests[] = {
        ML_CASE("java_caused_by", "java"),
        ML_CASE("java_caused_by", "python"),
        ML_CASE("java_caused_by", "go"),
        ML_CASE("java_suppressed_interleaved", "java"),
        ML_CASE("java_suppressed_interleaved", "python"),
        ML_CASE("java_suppressed_interleaved", "go"),
        ML_CASE("python_plain", "java"),
        ML_CASE("python_plain", "python"),
        ML_CASE("python_plain", "go"),
        ML_CASE("python_chained", "java"),
        ML_CASE("python_chained", "python"),
        ML_CASE("python_chained", "go"),
        ML_CASE("go_panic", "java"),
        ML_CASE("go_panic", "python"),
        ML_CASE("go_panic", "go"),
        ML_CASE("go_deadlock", "java"),
        ML_CASE("go_deadlock", "python"),
        ML_CASE("go_deadlock", "go"),
        cmocka_unit_test(java_trace_is_one_group),
        cmocka_unit_test(normal_lines_stay_alone),
        cmocka_unit_test(python_chained_joins_and_ends),
        cmocka_unit_test(go_http_panic_serving),
        cmocka_unit_test(start_only_takes_every_other_line),
        cmocka_unit_test(continue_only_opens_on_every_other_line),
        cmocka_unit_test(start_and_continue),
        cmocka_unit_test(two_states_share_rules),
        cmocka_unit_test(max_lines_emits_at_once_and_goes_on),
        cmocka_unit_test(max_lines_one),
        cmocka_unit_test(max_bytes_cuts_and_consumes_the_rest),
        cmocka_unit_test(max_bytes_cut_at_a_separator),
        cmocka_unit_test(max_bytes_cuts_a_lone_line),
        cmocka_unit_test(timeout_flush_waits_for_the_last_line),
        cmocka_unit_test(force_flush_ignores_age),
        cmocka_unit_test(pending_and_deadline),
        cmocka_unit_test(huge_timeout_saturates),
        cmocka_unit_test(emit_error_closing_a_group),
        cmocka_unit_test(emit_error_on_the_line_itself),
        cmocka_unit_test(emit_error_at_max_lines),
        cmocka_unit_test(emit_error_on_flush_keeps_the_group),
        cmocka_unit_test(config_needs_something),
        cmocka_unit_test(config_preset_with_patterns),
        cmocka_unit_test(config_unknown_preset),
        cmocka_unit_test(config_bad_patterns),
        cmocka_unit_test(config_refuses_utf_mode),
        cmocka_unit_test(config_negative_timeout),
        cmocka_unit_test(config_every_preset_compiles),
        cmocka_unit_test(empty_lines),
        cmocka_unit_test(empty_lines_in_a_start_group),
        cmocka_unit_test(crlf_lines),
        cmocka_unit_test(nul_and_invalid_utf8),
        cmocka_unit_test(one_mib_line),
        cmocka_unit_test(group_buffer_is_reused),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
