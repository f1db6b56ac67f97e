/*
 * regex.c - the regex parser: a PCRE2 pattern whose named groups become
 * fields. The pattern is compiled once (pattern.h: JIT where the platform
 * has it, match data made once, so that a match allocates nothing). A
 * match limit, and a bounded JIT stack, stop a pathological pattern on a
 * hostile line: the line is then not matched (VG_PARSE_LIMIT), kept whole
 * by the caller, and counted.
 */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "parser_internal.h"
#include "pattern.h"

/* One named group, in the order of the pattern. */
struct rx_group {
    const char *name; /* in the compiled pattern's name table */
    size_t name_len;
    uint32_t number;
    uint32_t first; /* index of the first group of this name ((?J) allows repeats) */
    struct vg_parser_key key;
};

struct rx_state {
    struct vg_pattern pt;
    bool dup_names;
    struct rx_group *groups;
    size_t n_groups;
    unsigned char *emitted; /* per group, for repeated names: one field per name */
};

static int rx_by_number(const void *a, const void *b)
{
    const struct rx_group *x = a, *y = b;

    return x->number < y->number ? -1 : x->number > y->number;
}

/* The named groups from the pattern's name table, sorted by number so that
 * fields come in the order of the line. VG_OK, VG_ECONFIG, VG_ENOMEM. */
static int rx_groups(struct vg_parser *p, struct rx_state *rx, struct vg_error *err)
{
    uint32_t count = 0, entry = 0, i, k;
    PCRE2_SPTR table = NULL;

    pcre2_pattern_info(rx->pt.code, PCRE2_INFO_NAMECOUNT, &count);
    pcre2_pattern_info(rx->pt.code, PCRE2_INFO_NAMEENTRYSIZE, &entry);
    pcre2_pattern_info(rx->pt.code, PCRE2_INFO_NAMETABLE, &table);
    if (count == 0)
        return vg_error_set(err, VG_ECONFIG, "parser '%s': the pattern has no named group",
                            vg_parser_name(p));
    rx->groups = vg_calloc(count, sizeof(*rx->groups));
    rx->emitted = vg_calloc(count, 1);
    if (rx->groups == NULL || rx->emitted == NULL)
        return vg_error_set(err, VG_ENOMEM, "parser '%s': out of memory", vg_parser_name(p));
    for (i = 0; i < count; i++) {
        const unsigned char *e = table + (size_t)i * entry;

        rx->groups[i].number = (uint32_t)(e[0] << 8 | e[1]);
        rx->groups[i].name = (const char *)e + 2;
        rx->groups[i].name_len = strlen(rx->groups[i].name);
        vg_parser_key_of(p, rx->groups[i].name, rx->groups[i].name_len, &rx->groups[i].key);
    }
    rx->n_groups = count;
    qsort(rx->groups, count, sizeof(*rx->groups), rx_by_number);
    for (i = 0; i < count; i++) {
        for (k = 0; k < i && strcmp(rx->groups[k].name, rx->groups[i].name) != 0; k++)
            ;
        rx->groups[i].first = k;
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

/* Compiles the pattern with its match data. VG_OK, VG_ECONFIG, VG_ENOMEM. */
static int rx_compile(struct vg_parser *p, struct rx_state *rx, const char *pattern,
                      struct vg_error *err)
{
    char why[VG_PATTERN_WHY_MAX];
    int rc = vg_pattern_compile(&rx->pt, pattern, p->match_limit, why, sizeof(why));

    if (rc == VG_ENOMEM)
        return vg_error_set(err, VG_ENOMEM, "parser '%s': out of memory", vg_parser_name(p));
    if (rc != VG_OK)
        return vg_error_set(err, VG_ECONFIG, "parser '%s': pattern '%s': %s", vg_parser_name(p),
                            pattern, why);
    return VG_OK;
}

static int rx_init(struct vg_parser *p, const struct vg_parser_settings *s, struct vg_error *err)
{
    struct rx_state *rx;
    int rc;

    if (s->pattern == NULL || s->pattern[0] == '\0')
        return vg_error_set(err, VG_ECONFIG, "parser '%s': regex needs a pattern",
                            vg_parser_name(p));
    rx = vg_calloc(1, sizeof(*rx));
    if (rx == NULL)
        return vg_error_set(err, VG_ENOMEM, "parser '%s': out of memory", vg_parser_name(p));
    p->impl = rx;
    rc = rx_compile(p, rx, s->pattern, err);
    if (rc == VG_OK)
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
    vg_pattern_free(&rx->pt);
    free(rx->groups);
    free(rx->emitted);
    free(rx);
    p->impl = NULL;
}

/* Emits every set group of a successful match with rc pairs. */
static int rx_emit(struct vg_parse_ctx *c, struct rx_state *rx, const char *line, int rc)
{
    const PCRE2_SIZE *ov = vg_pattern_ovector(&rx->pt);
    const struct rx_group *g;
    PCRE2_SIZE s, e;
    size_t i;
    int erc;

    if (rx->dup_names)
        memset(rx->emitted, 0, rx->n_groups);
    for (i = 0; i < rx->n_groups; i++) {
        g = &rx->groups[i];
        if (g->number >= (uint32_t)rc)
            break;
        s = ov[2 * g->number];
        e = ov[2 * g->number + 1];
        if (s == PCRE2_UNSET || e < s || rx->emitted[g->first])
            continue;
        rx->emitted[g->first] = rx->dup_names;
        erc = vg_parser_put_text(c, g->name, g->name_len, line + s, e - s, &g->key);
        if (erc != VG_OK)
            return erc;
    }
    return VG_OK;
}

static int rx_run(struct vg_parse_ctx *c, const char *line, size_t len)
{
    struct rx_state *rx = c->p->impl;
    int rc;

    rc = vg_pattern_match(&rx->pt, line, len, 0);
    if (rc < 0) {
        if (vg_pattern_is_limit(rc))
            c->res->flags |= VG_PARSE_LIMIT;
        return VG_EPARSE;
    }
    /* the match data fits the pattern: every group has its pair */
    return rx_emit(c, rx, line, rc);
}

const struct vg_parser_kind vg_parser_kind_regex = {
    .name = "regex",
    .takes = VG_PARSER_TAKES_PATTERN,
    .init = rx_init,
    .fini = rx_fini,
    .run = rx_run,
};
