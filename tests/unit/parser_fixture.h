/*
 * parser_fixture.h - runs a parser (agent/parse/parser.h) on a line and
 * writes what it emitted as one string, fields joined by '|', each as
 * key=T:value with T one of s (string), i (int), d (double, %.17g), b
 * (bool), j (JSON text):
 *
 *   remote_addr=s:10.0.0.1|status=i:200|...
 *
 * The collecting callback allocates nothing, so that the fixture can run
 * with every allocation failing (a parser's steady state must not need any).
 */
#ifndef VG_PARSER_FIXTURE_H
#define VG_PARSER_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse/parser.h"

#define PF_OUT_MAX 8192
/* 2026-12-02T14:05:06Z */
#define PF_T1   INT64_C(1796220306)
#define PF_T1NS (PF_T1 * VG_NS_PER_SEC)
/* "now" for the runs: a few hours after PF_T1 */
#define PF_NOW (PF_T1NS + INT64_C(5) * 3600 * VG_NS_PER_SEC)

struct pf_out {
    char text[PF_OUT_MAX];
    size_t len;
    size_t fields;
    size_t stop_at; /* the emit callback fails at this field (0: never) ... */
    int stop_rc;    /* ... with this code (0: VG_ENOMEM) */
};

static inline void pf_append(struct pf_out *o, const char *s, size_t n)
{
    if (n > PF_OUT_MAX - 1 - o->len)
        n = PF_OUT_MAX - 1 - o->len;
    memcpy(o->text + o->len, s, n);
    o->len += n;
    o->text[o->len] = '\0';
}

static inline int pf_collect(void *arg, const struct vg_parse_field *f)
{
    struct pf_out *o = arg;
    char num[64];
    int n = 0;

    if (o->stop_at > 0 && o->fields + 1 == o->stop_at)
        return o->stop_rc != 0 ? o->stop_rc : VG_ENOMEM;
    if (o->fields++ > 0)
        pf_append(o, "|", 1);
    pf_append(o, f->key, f->key_len);
    switch (f->type) {
    case VG_FIELD_STR:
    case VG_FIELD_JSON:
        pf_append(o, f->type == VG_FIELD_STR ? "=s:" : "=j:", 3);
        pf_append(o, f->v.s.ptr, f->v.s.len);
        return VG_OK;
    case VG_FIELD_INT:
        n = snprintf(num, sizeof(num), "=i:%lld", (long long)f->v.i);
        break;
    case VG_FIELD_DOUBLE:
        n = snprintf(num, sizeof(num), "=d:%.17g", f->v.d);
        break;
    case VG_FIELD_BOOL:
        n = snprintf(num, sizeof(num), "=b:%s", f->v.b ? "true" : "false");
        break;
    }
    pf_append(o, num, (size_t)n);
    return VG_OK;
}

/* Runs p on an exact-size copy of line (ASan sees reads past its end). */
static inline int pf_run_len(struct vg_parser *p, const char *line, size_t len, int64_t now,
                             struct pf_out *o, struct vg_parse_result *res)
{
    char *copy = malloc(len > 0 ? len : 1);
    int rc;

    if (copy == NULL)
        return VG_ENOMEM;
    memcpy(copy, line, len);
    o->len = 0;
    o->fields = 0;
    o->text[0] = '\0';
    rc = vg_parser_run(p, copy, len, now, pf_collect, o, res);
    free(copy);
    return rc;
}

static inline int pf_run(struct vg_parser *p, const char *line, struct pf_out *o,
                         struct vg_parse_result *res)
{
    return pf_run_len(p, line, strlen(line), PF_NOW, o, res);
}

/* A parser from settings; fails the test when it cannot be made. */
static inline struct vg_parser *pf_make(const struct vg_parser_settings *s)
{
    struct vg_parser *p = NULL;
    struct vg_error err = {0};

    if (vg_parser_create(s, &p, &err) != VG_OK) {
        fprintf(stderr, "parser: %s\n", err.msg);
        abort();
    }
    return p;
}

/* A built-in parser by name. */
static inline struct vg_parser *pf_builtin(const char *name)
{
    struct vg_parser_settings s;

    if (vg_parser_builtin(name, &s) != VG_OK)
        abort();
    return pf_make(&s);
}

#endif
