/*
 * regex.c - the regex parser: a PCRE2 pattern whose named groups become
 * fields. The pattern is compiled once, with the JIT where the platform has
 * it; a line is matched with pcre2_jit_match (no option checks on the hot
 * path) into match data made once from the pattern, so that a match
 * allocates nothing. A match limit, and a bounded JIT stack, stop a
 * pathological pattern on a hostile line: the line is then not matched
 * (VG_PARSE_LIMIT), kept whole by the caller, and counted.
 *
 * Patterns are compiled with PCRE2_NEVER_UTF (lines may be invalid UTF-8;
 * bytes are matched as bytes) and the ANYCRLF newline convention, as the
 * multiline rules are.
 *
 * The compiled pattern with its match data (struct vg_regex) is shared
 * with whatever else matches records by a user's pattern (log_metrics), so
 * that every such pattern gets the same flags, limits and messages.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "parser_internal.h"

#define RX_JIT_STACK_START (32 * 1024)
#define RX_JIT_STACK_MAX   (1024 * 1024)

/* One named group, in the order of the pattern. */
struct rx_group {
    const char *name; /* in the compiled pattern's name table */
    size_t name_len;
    uint32_t number;
    uint32_t first; /* index of the first group of this name ((?J) allows repeats) */
    struct vg_parser_key key;
};

/* A compiled pattern with everything a match needs, made once. */
struct vg_regex {
    pcre2_general_context *gctx;
    pcre2_code *code;
    pcre2_match_data *md;
    pcre2_match_context *mctx;
    pcre2_jit_stack *jit_stack;
    bool jit;
};

struct rx_state {
    struct vg_regex *re;
    bool dup_names;
    struct rx_group *groups;
    size_t n_groups;
    unsigned char *emitted; /* per group, for repeated names: one field per name */
};

/* PCRE2 allocates through the core's allocator, so that tests can fail it. */
static void *rx_malloc(size_t size, void *data)
{
    (void)data;
    return vg_malloc(size);
}

static void rx_free(void *p, void *data)
{
    (void)data;
    free(p);
}

/* ------------------------------------------------------------------------
 * Compiled patterns, shared with whoever else matches records.
 */

/* Compiles the pattern (JIT when possible). VG_OK, VG_ECONFIG, VG_ENOMEM. */
static int rx_compile(struct vg_regex *re, const char *pattern, char *why, size_t why_size)
{
    pcre2_compile_context *cctx = pcre2_compile_context_create(re->gctx);
    PCRE2_UCHAR msg[256];
    PCRE2_SIZE off = 0;
    int ecode = 0;

    if (cctx == NULL)
        return VG_ENOMEM;
    pcre2_set_newline(cctx, PCRE2_NEWLINE_ANYCRLF);
    re->code = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, PCRE2_NEVER_UTF, &ecode,
                             &off, cctx);
    pcre2_compile_context_free(cctx);
    if (re->code == NULL) {
        if (ecode == PCRE2_ERROR_NOMEMORY || ecode == PCRE2_ERROR_HEAP_FAILED)
            return VG_ENOMEM;
        pcre2_get_error_message(ecode, msg, sizeof(msg));
        snprintf(why, why_size, "%s at offset %zu", (const char *)msg, (size_t)off);
        return VG_ECONFIG;
    }
    /* without the JIT (a platform or pattern it does not cover) the
     * interpreter runs, slower, under the same limits */
    re->jit = pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE) == 0;
    return VG_OK;
}

/* Match data, match context, limit and JIT stack, made once. */
static int rx_match_setup(struct vg_regex *re, uint32_t match_limit)
{
    re->md = pcre2_match_data_create_from_pattern(re->code, re->gctx);
    re->mctx = pcre2_match_context_create(re->gctx);
    if (re->md == NULL || re->mctx == NULL)
        return VG_ENOMEM;
    pcre2_set_match_limit(re->mctx, match_limit);
    if (!re->jit)
        return VG_OK;
    re->jit_stack = pcre2_jit_stack_create(RX_JIT_STACK_START, RX_JIT_STACK_MAX, re->gctx);
    if (re->jit_stack == NULL)
        return VG_ENOMEM;
    pcre2_jit_stack_assign(re->mctx, NULL, re->jit_stack);
    return VG_OK;
}

int vg_regex_create(const char *pattern, uint32_t match_limit, struct vg_regex **out, char *why,
                    size_t why_size)
{
    struct vg_regex *re = vg_calloc(1, sizeof(*re));
    int rc = VG_ENOMEM;

    *out = NULL;
    snprintf(why, why_size, "out of memory");
    if (re == NULL)
        return VG_ENOMEM;
    re->gctx = pcre2_general_context_create(rx_malloc, rx_free, NULL);
    if (re->gctx != NULL)
        rc = rx_compile(re, pattern, why, why_size);
    if (rc == VG_OK)
        rc = rx_match_setup(re, match_limit != 0 ? match_limit : VG_PARSER_MATCH_LIMIT);
    if (rc != VG_OK) {
        vg_regex_destroy(re);
        return rc;
    }
    *out = re;
    return VG_OK;
}

void vg_regex_destroy(struct vg_regex *re)
{
    if (re == NULL)
        return;
    pcre2_jit_stack_free(re->jit_stack);
    pcre2_match_context_free(re->mctx);
    pcre2_match_data_free(re->md);
    pcre2_code_free(re->code);
    pcre2_general_context_free(re->gctx);
    free(re);
}

/* The errors that mean "a limit stopped the match", not "no match". */
static bool rx_is_limit(int rc)
{
    return rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
           rc == PCRE2_ERROR_HEAPLIMIT || rc == PCRE2_ERROR_JIT_STACKLIMIT ||
           rc == PCRE2_ERROR_NOMEMORY;
}

int vg_regex_match(struct vg_regex *re, const char *s, size_t len, bool *limit)
{
    int rc;

    if (re->jit)
        rc = pcre2_jit_match(re->code, (PCRE2_SPTR)s, len, 0, 0, re->md, re->mctx);
    else
        rc = pcre2_match(re->code, (PCRE2_SPTR)s, len, 0, 0, re->md, re->mctx);
    *limit = rc < 0 && rx_is_limit(rc);
    /* the match data fits the pattern: every group has its pair */
    return rc > 0 ? rc : VG_EPARSE;
}

bool vg_regex_span(const struct vg_regex *re, int pairs, uint32_t number, size_t *start,
                   size_t *len)
{
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(re->md);

    if (pairs <= 0 || number >= (uint32_t)pairs || ov[2 * number] == PCRE2_UNSET ||
        ov[2 * number + 1] < ov[2 * number])
        return false;
    *start = ov[2 * number];
    *len = ov[2 * number + 1] - ov[2 * number];
    return true;
}

size_t vg_regex_name_count(const struct vg_regex *re)
{
    uint32_t count = 0;

    pcre2_pattern_info(re->code, PCRE2_INFO_NAMECOUNT, &count);
    return count;
}

const char *vg_regex_name(const struct vg_regex *re, size_t i, uint32_t *number)
{
    uint32_t entry = 0;
    PCRE2_SPTR table = NULL;
    const unsigned char *e;

    pcre2_pattern_info(re->code, PCRE2_INFO_NAMEENTRYSIZE, &entry);
    pcre2_pattern_info(re->code, PCRE2_INFO_NAMETABLE, &table);
    e = table + i * entry;
    *number = (uint32_t)(e[0] << 8 | e[1]);
    return (const char *)e + 2;
}

int vg_regex_group(const struct vg_regex *re, const char *name)
{
    int n = pcre2_substring_number_from_name(re->code, (PCRE2_SPTR)name);

    return n > 0 ? n : -1;
}

/* ------------------------------------------------------------------------
 * The regex parser.
 */

static int rx_by_number(const void *a, const void *b)
{
    const struct rx_group *x = a, *y = b;

    return x->number < y->number ? -1 : x->number > y->number;
}

/* The named groups from the pattern's name table, sorted by number so that
 * fields come in the order of the line. VG_OK, VG_ECONFIG, VG_ENOMEM. */
static int rx_groups(struct vg_parser *p, struct rx_state *rx, struct vg_error *err)
{
    size_t count = vg_regex_name_count(rx->re), i, k;

    if (count == 0)
        return vg_error_set(err, VG_ECONFIG, "parser '%s': the pattern has no named group",
                            vg_parser_name(p));
    rx->groups = vg_calloc(count, sizeof(*rx->groups));
    rx->emitted = vg_calloc(count, 1);
    if (rx->groups == NULL || rx->emitted == NULL)
        return vg_error_set(err, VG_ENOMEM, "parser '%s': out of memory", vg_parser_name(p));
    for (i = 0; i < count; i++) {
        rx->groups[i].name = vg_regex_name(rx->re, i, &rx->groups[i].number);
        rx->groups[i].name_len = strlen(rx->groups[i].name);
        vg_parser_key_of(p, rx->groups[i].name, rx->groups[i].name_len, &rx->groups[i].key);
    }
    rx->n_groups = count;
    qsort(rx->groups, count, sizeof(*rx->groups), rx_by_number);
    for (i = 0; i < count; i++) {
        for (k = 0; k < i && strcmp(rx->groups[k].name, rx->groups[i].name) != 0; k++)
            ;
        rx->groups[i].first = (uint32_t)k;
        rx->dup_names = rx->dup_names || k < i;
    }
    return VG_OK;
}

/* True when the pattern has a group of that name. */
static bool rx_has_group(const struct rx_state *rx, const char *name)
{
    size_t i;

    for (i = 0; i < rx->n_groups; i++) {
        if (strcmp(rx->groups[i].name, name) == 0)
            return true;
    }
    return false;
}

/* time_key and the keys of types must name groups: a typo would otherwise
 * only show as records without their time. */
static int rx_check_keys(const struct vg_parser *p, const struct rx_state *rx, struct vg_error *err)
{
    size_t i;

    if (p->time_key != NULL && !rx_has_group(rx, p->time_key))
        return vg_error_set(err, VG_ECONFIG,
                            "parser '%s': time_key '%s' is not a named group of the pattern",
                            vg_parser_name(p), p->time_key);
    for (i = 0; i < p->n_types; i++) {
        if (!rx_has_group(rx, p->types[i].key))
            return vg_error_set(err, VG_ECONFIG,
                                "parser '%s': types names '%s', not a named group of the pattern",
                                vg_parser_name(p), p->types[i].key);
    }
    return VG_OK;
}

static int rx_init(struct vg_parser *p, const struct vg_parser_settings *s, struct vg_error *err)
{
    struct rx_state *rx;
    char why[VG_ERROR_MAX];
    int rc;

    if (s->pattern == NULL || s->pattern[0] == '\0')
        return vg_error_set(err, VG_ECONFIG, "parser '%s': regex needs a pattern",
                            vg_parser_name(p));
    rx = vg_calloc(1, sizeof(*rx));
    if (rx == NULL)
        return vg_error_set(err, VG_ENOMEM, "parser '%s': out of memory", vg_parser_name(p));
    p->impl = rx;
    rc = vg_regex_create(s->pattern, p->match_limit, &rx->re, why, sizeof(why));
    if (rc == VG_ECONFIG)
        return vg_error_set(err, rc, "parser '%s': pattern '%s': %s", vg_parser_name(p), s->pattern,
                            why);
    if (rc != VG_OK)
        return vg_error_set(err, rc, "parser '%s': out of memory", vg_parser_name(p));
    rc = rx_groups(p, rx, err);
    if (rc == VG_OK)
        rc = rx_check_keys(p, rx, err);
    return rc;
}

static void rx_fini(struct vg_parser *p)
{
    struct rx_state *rx = p->impl;

    if (rx == NULL)
        return;
    vg_regex_destroy(rx->re);
    free(rx->groups);
    free(rx->emitted);
    free(rx);
    p->impl = NULL;
}

/* Emits every set group of a successful match with rc pairs. */
static int rx_emit(struct vg_parse_ctx *c, struct rx_state *rx, const char *line, int rc)
{
    const struct rx_group *g;
    size_t i, s, n;
    int erc;

    if (rx->dup_names)
        memset(rx->emitted, 0, rx->n_groups);
    for (i = 0; i < rx->n_groups; i++) {
        g = &rx->groups[i];
        if (g->number >= (uint32_t)rc)
            break;
        if (!vg_regex_span(rx->re, rc, g->number, &s, &n) || rx->emitted[g->first])
            continue;
        rx->emitted[g->first] = rx->dup_names;
        erc = vg_parser_put_text(c, g->name, g->name_len, line + s, n, &g->key);
        if (erc != VG_OK)
            return erc;
    }
    return VG_OK;
}

static int rx_run(struct vg_parse_ctx *c, const char *line, size_t len)
{
    struct rx_state *rx = c->p->impl;
    bool limit = false;
    int rc = vg_regex_match(rx->re, line, len, &limit);

    if (rc < 0) {
        if (limit)
            c->res->flags |= VG_PARSE_LIMIT;
        return VG_EPARSE;
    }
    return rx_emit(c, rx, line, rc);
}

const struct vg_parser_kind vg_parser_kind_regex = {
    .name = "regex",
    .takes = VG_PARSER_TAKES_PATTERN,
    .init = rx_init,
    .fini = rx_fini,
    .run = rx_run,
};
