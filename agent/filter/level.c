/*
 * level.c - the `level` filter: one severity field, spelled one way
 * (trace, debug, info, warn, error, fatal), whatever the application
 * wrote: WARN, warning, W, err, 50 (bunyan), 3 (syslog), E in klog's
 * header.
 *
 * The level is looked for in order: the fields listed in `fields` (the
 * first that holds a level wins; "log.level" is a field of that name, or
 * member level of a JSON field log), then the body (vg_level_detect:
 * "level=warn", "[ERROR]", klog's "E1202 ..."), then `default`. The result
 * goes to `field`; when nothing is found and there is no default the
 * record is left as it was.
 */
#include <string.h>

#include "filter.h"
#include "parse/json.h"
#include "parse/parser.h"

/* The longest JSON string read as a level ("informational" is 13). */
#define LV_TEXT_MAX 32

struct level_ctx {
    /* options */
    struct vg_strlist fields;
    char *field;
    bool detect_body;
    char *def;
    /* built */
    size_t field_len;
    bool has_def;
    enum vg_level def_level;
    struct vg_buf scratch; /* the text of a field that is not a string */
    uint64_t changed;
    uint64_t counts[VG_LEVEL_FATAL + 1]; /* [0]: none found */
};

static const struct vg_option level_options[] = {
    {"fields", VG_OPT_STRLIST, "level,lvl,severity,loglevel,log.level,levelname",
     offsetof(struct level_ctx, fields),
     "fields that may hold a level, in order (a.b: member b of JSON field a)", 0, NULL},
    {"field", VG_OPT_STR, "level", offsetof(struct level_ctx, field),
     "the field the level is written to", 0, NULL},
    {"detect_body", VG_OPT_BOOL, "true", offsetof(struct level_ctx, detect_body),
     "look for a level in the body when no field has one", 0, NULL},
    {"default", VG_OPT_ENUM, NULL, offsetof(struct level_ctx, def),
     "the level of records where none is found (default: the field is left out)", 0,
     "trace|debug|info|warn|error|fatal"},
    {NULL, VG_OPT_STR, NULL, 0, NULL, 0, NULL},
};

static int level_build(void *ctx, const char *name, struct vg_check *chk)
{
    struct level_ctx *x = ctx;
    int rc = VG_OK;
    size_t i;

    (void)name;
    if (x->field == NULL || x->field[0] == '\0') {
        vg_check_error(chk, "field", "option 'field': must not be empty");
        rc = VG_ECONFIG;
    } else {
        x->field_len = strlen(x->field);
    }
    for (i = 0; i < x->fields.n; i++) {
        if (x->fields.v[i][0] == '\0') {
            vg_check_error(chk, "fields", "option 'fields': a field name is empty");
            rc = VG_ECONFIG;
        }
    }
    x->has_def = x->def != NULL && vg_level_parse(x->def, strlen(x->def), &x->def_level) == VG_OK;
    if (x->fields.n == 0 && !x->detect_body && !x->has_def) {
        vg_check_error(chk, NULL,
                       "nothing to find a level in: 'fields' is empty, 'detect_body' false and "
                       "there is no 'default'");
        rc = VG_ECONFIG;
    }
    return rc;
}

/* The level in s[0..len), spaces around it allowed. */
static int lv_text(const char *s, size_t len, enum vg_level *out)
{
    while (len > 0 && (s[0] == ' ' || s[0] == '\t')) {
        s++;
        len--;
    }
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    return len > 0 ? vg_level_parse(s, len, out) : VG_EPARSE;
}

/* The level in path[0..len) (members separated by '.') of JSON text. */
static int lv_json_path(const char *json, size_t json_len, const char *path, enum vg_level *out)
{
    struct vg_json_value v;
    char name[LV_TEXT_MAX * 4], text[LV_TEXT_MAX];
    const char *dot;
    size_t n;

    if (vg_json_parse(json, json_len, &v, NULL) != VG_OK)
        return VG_EPARSE;
    for (; path != NULL; path = dot != NULL ? dot + 1 : NULL) {
        dot = strchr(path, '.');
        n = dot != NULL ? (size_t)(dot - path) : strlen(path);
        if (n >= sizeof(name))
            return VG_EPARSE;
        memcpy(name, path, n);
        name[n] = '\0';
        if (vg_json_get(&v, name, &v) != VG_OK)
            return VG_EPARSE;
    }
    if (v.kind == VG_JSON_NUMBER)
        return lv_text(v.ptr, v.len, out);
    if (v.kind != VG_JSON_STRING || vg_json_unescape_to(&v, text, sizeof(text), &n) != VG_OK)
        return VG_EPARSE;
    return lv_text(text, n, out);
}

/* The level in the field name (or the JSON field a dotted name starts
 * with). VG_OK, VG_EPARSE (none there) or VG_ENOMEM. */
static int lv_field(struct level_ctx *x, const struct vg_prec *pr, const char *name,
                    enum vg_level *out)
{
    const struct vg_field *f = vg_prec_find(pr, name, strlen(name));
    const char *s, *dot;
    size_t len;

    if (f != NULL) {
        if (vg_filter_field_text(f, &x->scratch, &s, &len) != VG_OK)
            return VG_ENOMEM;
        return f->type == VG_FIELD_JSON ? lv_json_path(s, len, NULL, out) : lv_text(s, len, out);
    }
    for (dot = strchr(name, '.'); dot != NULL; dot = strchr(dot + 1, '.')) {
        f = vg_prec_find(pr, name, (size_t)(dot - name));
        if (f != NULL && f->type == VG_FIELD_JSON)
            return lv_json_path(f->v.s.ptr, f->v.s.len, dot + 1, out);
    }
    return VG_EPARSE;
}

/* The level of the record from its fields, then its body. */
static int lv_find(struct level_ctx *x, const struct vg_prec *pr, enum vg_level *out)
{
    size_t i;
    int rc;

    for (i = 0; i < x->fields.n; i++) {
        rc = lv_field(x, pr, x->fields.v[i], out);
        if (rc != VG_EPARSE)
            return rc;
    }
    if (!x->detect_body || pr->r->body == NULL)
        return VG_EPARSE;
    return vg_level_detect(pr->r->body, pr->r->body_len, out);
}

static int level_run(void *ctx, struct vg_prec *pr)
{
    struct level_ctx *x = ctx;
    const struct vg_field *f;
    enum vg_level level;
    const char *name;
    size_t len;
    int rc = lv_find(x, pr, &level);

    if (rc == VG_ENOMEM)
        return rc;
    if (rc != VG_OK && !x->has_def) {
        x->counts[0]++;
        return VG_FILTER_KEEP;
    }
    level = rc == VG_OK ? level : x->def_level;
    x->counts[level]++;
    name = vg_level_name(level);
    len = strlen(name);
    f = vg_prec_find(pr, x->field, x->field_len);
    if (f != NULL && f->type == VG_FIELD_STR && f->v.s.len == len &&
        memcmp(f->v.s.ptr, name, len) == 0)
        return VG_FILTER_KEEP;
    if (vg_prec_set_str(pr, x->field, x->field_len, name, len) != VG_OK)
        return VG_ENOMEM;
    x->changed++;
    return VG_FILTER_KEEP;
}

static void level_metrics(void *ctx, struct vg_emit *e, const char *collector, const char *step)
{
    const struct level_ctx *x = ctx;
    int i;

    for (i = 0; i <= VG_LEVEL_FATAL; i++)
        vg_emit_counter(e, "vigil_level_records_total",
                        "Records a level step saw, by the level it found (none: no level).",
                        (double)x->counts[i], "collector", collector, "step", step, "level",
                        i == 0 ? "none" : vg_level_name((enum vg_level)i), NULL);
    vg_filter_count_changed(e, x->changed, collector, step);
}

static void level_destroy(void *ctx)
{
    struct level_ctx *x = ctx;

    vg_buf_free(&x->scratch);
}

const struct vg_filter_ops vg_filter_level = {
    .name = "level",
    .doc = "normalise the severity into one field: trace, debug, info, warn, error, fatal",
    .options = level_options,
    .ctx_size = sizeof(struct level_ctx),
    .build = level_build,
    .run = level_run,
    .metrics = level_metrics,
    .destroy = level_destroy,
};
