/*
 * grep.c - the `grep` filter: keeps or drops records by a regex on the
 * body or on one field, as Fluent Bit's grep and Vector's filter do.
 *
 * A record is kept when it matches `include` (if given) and does not match
 * `exclude` (if given). A record without the field matches neither. A
 * field that is not a string is matched on its JSON text (42, true). A
 * match stopped by the match limit counts as no match, and is counted.
 */
#include <stddef.h>
#include <string.h>

#include "filter.h"

struct grep_ctx {
    /* options */
    char *field;
    char *include;
    char *exclude;
    /* built */
    bool body;
    size_t field_len;
    struct vg_pattern inc;
    struct vg_pattern exc;
    struct vg_buf scratch; /* the text of a field that is not a string */
    uint64_t dropped;
    uint64_t limits;
};

static const struct vg_option grep_options[] = {
    {"field", VG_OPT_STR, VG_FILTER_BODY, offsetof(struct grep_ctx, field),
     "what the patterns are matched against: body, or a field (other types by their JSON text)", 0,
     NULL},
    {"include", VG_OPT_STR, NULL, offsetof(struct grep_ctx, include),
     "PCRE2 pattern: only records that match it are kept", 0, NULL},
    {"exclude", VG_OPT_STR, NULL, offsetof(struct grep_ctx, exclude),
     "PCRE2 pattern: records that match it are dropped", 0, NULL},
    {NULL, VG_OPT_STR, NULL, 0, NULL, 0, NULL},
};

static int grep_build(void *ctx, const char *name, struct vg_check *chk)
{
    struct grep_ctx *x = ctx;
    int rc = VG_OK;

    (void)name;
    if (x->field == NULL || x->field[0] == '\0') {
        vg_check_error(chk, "field", "option 'field': must not be empty");
        rc = VG_ECONFIG;
    } else {
        x->body = vg_filter_is_body(x->field);
        x->field_len = strlen(x->field);
    }
    if (x->include == NULL && x->exclude == NULL) {
        vg_check_error(chk, NULL, "option 'include' or 'exclude' is needed");
        rc = VG_ECONFIG;
    }
    if (x->include != NULL && vg_filter_compile(chk, "include", x->include, &x->inc) != VG_OK)
        rc = VG_ECONFIG;
    if (x->exclude != NULL && vg_filter_compile(chk, "exclude", x->exclude, &x->exc) != VG_OK)
        rc = VG_ECONFIG;
    return rc;
}

/* Whether pt matches s[0..len); a limit reached is no match, counted. */
static bool grep_match(struct grep_ctx *x, struct vg_pattern *pt, const char *s, size_t len)
{
    int rc = vg_pattern_match(pt, s, len, 0);

    if (rc < 0 && vg_pattern_is_limit(rc))
        x->limits++;
    return rc >= 0;
}

static int grep_run(void *ctx, struct vg_prec *pr)
{
    struct grep_ctx *x = ctx;
    const char *s = NULL;
    size_t len = 0;
    int have = vg_filter_lookup(pr, x->field, x->field_len, x->body, &x->scratch, &s, &len);
    bool keep = true;

    if (have < 0)
        return VG_ENOMEM;
    if (x->inc.code != NULL)
        keep = have == 1 && grep_match(x, &x->inc, s, len);
    if (keep && x->exc.code != NULL && have == 1)
        keep = !grep_match(x, &x->exc, s, len);
    if (keep)
        return VG_FILTER_KEEP;
    x->dropped++;
    return VG_FILTER_DROP;
}

static void grep_metrics(void *ctx, struct vg_emit *e, const char *collector, const char *step)
{
    const struct grep_ctx *x = ctx;

    vg_filter_count_dropped(e, x->dropped, collector, step);
    vg_filter_count_limits(e, x->limits, collector, step);
}

static void grep_destroy(void *ctx)
{
    struct grep_ctx *x = ctx;

    vg_pattern_free(&x->inc);
    vg_pattern_free(&x->exc);
    vg_buf_free(&x->scratch);
}

const struct vg_filter_ops vg_filter_grep = {
    .name = "grep",
    .doc = "keep or drop records by a regex on the body or a field",
    .options = grep_options,
    .ctx_size = sizeof(struct grep_ctx),
    .build = grep_build,
    .run = grep_run,
    .metrics = grep_metrics,
    .destroy = grep_destroy,
};
