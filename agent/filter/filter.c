/*
 * filter.c - helpers the filter types share (see filter.h).
 */
#include <string.h>

#include "filter.h"

bool vg_filter_is_body(const char *key)
{
    return strcmp(key, VG_FILTER_BODY) == 0;
}

int vg_filter_field_text(const struct vg_field *f, struct vg_buf *scratch, const char **s,
                         size_t *len)
{
    if (f->type == VG_FIELD_STR || f->type == VG_FIELD_JSON) {
        *s = f->v.s.ptr != NULL ? f->v.s.ptr : "";
        *len = f->v.s.len;
        return VG_OK;
    }
    vg_buf_reset(scratch);
    if (vg_field_to_json(f, scratch) != VG_OK)
        return VG_ENOMEM;
    *s = scratch->data;
    *len = scratch->len;
    return VG_OK;
}

int vg_filter_lookup(const struct vg_prec *pr, const char *key, size_t key_len, bool body,
                     struct vg_buf *scratch, const char **s, size_t *len)
{
    const struct vg_field *f;

    if (body) {
        *s = pr->r->body != NULL ? pr->r->body : "";
        *len = pr->r->body_len;
        return 1;
    }
    f = vg_prec_find(pr, key, key_len);
    if (f == NULL)
        return 0;
    return vg_filter_field_text(f, scratch, s, len) == VG_OK ? 1 : VG_ENOMEM;
}

int vg_filter_compile(struct vg_check *chk, const char *option, const char *pattern,
                      struct vg_pattern *pt)
{
    char why[VG_PATTERN_WHY_MAX];
    int rc = vg_pattern_compile(pt, pattern, VG_FILTER_MATCH_LIMIT, why, sizeof(why));

    if (rc == VG_ECONFIG)
        vg_check_error(chk, option, "option '%s': pattern '%s': %s", option, pattern, why);
    else if (rc != VG_OK)
        vg_check_error(chk, option, "option '%s': %s", option, why);
    return rc;
}

void vg_filter_count(struct vg_emit *e, const char *family, const char *help, uint64_t v,
                     const char *collector, const char *step)
{
    vg_emit_counter(e, family, help, (double)v, "collector", collector, "step", step, NULL);
}

void vg_filter_count_dropped(struct vg_emit *e, uint64_t v, const char *collector, const char *step)
{
    vg_filter_count(e, "vigil_filter_dropped_total", "Records a filter step dropped.", v, collector,
                    step);
}

void vg_filter_count_changed(struct vg_emit *e, uint64_t v, const char *collector, const char *step)
{
    vg_filter_count(e, "vigil_filter_changed_total", "Records a filter step changed.", v, collector,
                    step);
}

void vg_filter_count_limits(struct vg_emit *e, uint64_t v, const char *collector, const char *step)
{
    vg_filter_count(e, "vigil_filter_regex_limit_total",
                    "Matches of a filter step's patterns stopped by the PCRE2 match limit.", v,
                    collector, step);
}
