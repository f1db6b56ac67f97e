/*
 * fuzz_multiline.c - multiline grouping on arbitrary lines: the input is
 * split at '\n' and pushed through each preset and a start/continue pair,
 * with timeouts, limits and failing emits along the way. Every line must
 * land in exactly one group, in order: each group starts where the one
 * before it ended, and the last one ends at the end of the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fz_check {
    uint64_t next_off; /* where the next group must start */
    uint64_t lines;    /* lines seen in groups */
    uint64_t max_bytes;
    unsigned calls;
};

static int fz_emit(void *arg, const struct vg_multiline_group *g)
{
    struct fz_check *c = arg;

    /* every seventh emit fails, to drive the retry paths */
    if (++c->calls % 7 == 0)
        return VG_EAGAIN;
    if (g->start_off != c->next_off || g->end_off <= g->start_off || g->lines == 0)
        __builtin_trap();
    if ((int64_t)g->start_off != g->time_ns)
        __builtin_trap();
    if (c->max_bytes > 0 && g->len > c->max_bytes)
        __builtin_trap();
    if (g->len > 0 && g->text == NULL)
        __builtin_trap();
    c->next_off = g->end_off;
    c->lines += g->lines;
    return VG_OK;
}

/* Feeds every line, retrying a line whose emit failed, then flushes. */
static void fz_run(const struct vg_multiline_rules *r, uint64_t max_bytes, const uint8_t *data,
                   size_t size)
{
    struct vg_multiline *m = vg_multiline_create(r);
    struct fz_check c = {.max_bytes = max_bytes};
    uint64_t n_lines = 0;
    size_t pos = 0, end;
    const uint8_t *nl;
    int64_t now;
    int rc, tries;

    if (m == NULL)
        return;
    while (pos < size) {
        nl = memchr(data + pos, '\n', size - pos);
        end = nl != NULL ? (size_t)(nl - data) : size;
        now = (int64_t)n_lines * VG_NS_PER_MS;
        for (tries = 0; tries < 4; tries++) {
            if (vg_multiline_flush(m, now, false, fz_emit, &c) == VG_OK)
                break;
        }
        for (tries = 0, rc = -1; tries < 4 && rc != VG_OK; tries++)
            rc = vg_multiline_push(m, (const char *)data + pos, end - pos, (int64_t)pos, pos,
                                   nl != NULL ? end + 1 : end, now, fz_emit, &c);
        if (rc != VG_OK)
            __builtin_trap();
        n_lines++;
        pos = nl != NULL ? end + 1 : end;
    }
    for (tries = 0, rc = -1; tries < 4 && rc != VG_OK; tries++)
        rc = vg_multiline_flush(m, INT64_MAX, true, fz_emit, &c);
    if (rc != VG_OK || vg_multiline_pending(m, NULL) || c.lines != n_lines || c.next_off != size)
        __builtin_trap();
    vg_multiline_destroy(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct vg_multiline_settings settings[] = {
        {.preset = "java", .timeout_ms = 3},
        {.preset = "python", .timeout_ms = 1000, .max_lines = 5},
        {.preset = "go", .timeout_ms = 2, .max_bytes = 100},
        {.start = "^\\S", .cont = "^\\s+\\S", .timeout_ms = 4, .max_lines = 3, .max_bytes = 64},
    };
    static struct vg_multiline_rules *rules[VG_ARRAY_LEN(settings)];
    static int ready;
    struct vg_error err;
    size_t i;

    if (!ready) {
        for (i = 0; i < VG_ARRAY_LEN(settings); i++) {
            if (vg_multiline_compile(&settings[i], &rules[i], &err) != VG_OK)
                abort();
        }
        ready = 1;
    }
    for (i = 0; i < VG_ARRAY_LEN(settings); i++)
        fz_run(rules[i], settings[i].max_bytes, data, size);
    return 0;
}
