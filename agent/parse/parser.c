/*
 * parser.c - the parser object: settings checked and copied once, the
 * built-in parsers by name, and what every type does alike when it emits
 * a field (time_key, types, counting).
 */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "parser_internal.h"

/* A typed text longer than this is no number. */
#define PS_NUM_MAX 64

static const struct vg_parser_kind *const ps_kinds[] = {
    &vg_parser_kind_regex, &vg_parser_kind_json,           &vg_parser_kind_logfmt,
    &vg_parser_kind_klog,  &vg_parser_kind_syslog_rfc3164, &vg_parser_kind_syslog_rfc5424,
    &vg_parser_kind_level,
};

/* ------------------------------------------------------------------------
 * Built-in parsers.
 */

/*
 * nginx's and Apache's "combined" format (Apache's "common" too: the
 * referer and user agent are optional), the same layout:
 *   $remote_addr - $remote_user [$time_local] "$request" $status
 *   $body_bytes_sent "$http_referer" "$http_user_agent"
 * Whatever follows (ingress-nginx's upstream fields, $http_x_forwarded_for)
 * is left in the body. A request that is not "METHOD PATH HTTP/x" (a TLS
 * handshake on a plain port, an empty one) is kept whole as `request`.
 * Quoted texts allow \" as Apache escapes it; nginx writes \x22.
 */
#define PS_QUOTED "[^\"\\\\]*+(?:\\\\.[^\"\\\\]*+)*+"
static const char ps_combined[] =
    "^(?<remote_addr>\\S++) \\S++ (?<remote_user>\\S++) \\[(?<time>[^\\]]++)\\] "
    "\"(?:(?<method>[A-Za-z]+) (?<path>[^ \"]++)(?: (?<protocol>HTTP/[0-9.]+))?"
    "|(?<request>" PS_QUOTED "))\" "
    "(?<status>\\d{3}) (?<body_bytes>\\d+|-)"
    "(?: \"(?<referer>" PS_QUOTED ")\" \"(?<user_agent>" PS_QUOTED ")\")?";

static const struct vg_parser_type ps_combined_types[] = {
    {"status", VG_FIELD_INT},
    {"body_bytes", VG_FIELD_INT},
};

/* nginx and Apache write the same layout. */
#define PS_COMBINED(builtin)                                                                       \
    {                                                                                              \
        .name = builtin, .type = "regex", .pattern = ps_combined, .types = ps_combined_types,      \
        .n_types = VG_ARRAY_LEN(ps_combined_types), .time_key = "time",                            \
        .time_format = "%d/%b/%Y:%H:%M:%S %z"                                                      \
    }

static const struct vg_parser_settings ps_builtins[] = {
    PS_COMBINED("nginx"),
    PS_COMBINED("apache"),
    {.name = "syslog_rfc3164", .type = "syslog_rfc3164", .time_key = "time"},
    {.name = "syslog_rfc5424", .type = "syslog_rfc5424", .time_key = "time"},
    {.name = "klog", .type = "klog", .time_key = "time", .time_format = "%m%d %H:%M:%S.%f"},
    {.name = "json", .type = "json"},
    {.name = "logfmt", .type = "logfmt"},
    {.name = "level", .type = "level"},
};

int vg_parser_builtin(const char *name, struct vg_parser_settings *out)
{
    size_t i;

    for (i = 0; name != NULL && i < VG_ARRAY_LEN(ps_builtins); i++) {
        if (strcmp(name, ps_builtins[i].name) == 0) {
            *out = ps_builtins[i];
            return VG_OK;
        }
    }
    return VG_ENOENT;
}

const char *vg_parser_builtin_names(void)
{
    return "nginx, apache, syslog_rfc3164, syslog_rfc5424, klog, json, logfmt, level";
}

int vg_parser_type_parse(const char *name, enum vg_field_type *out)
{
    static const struct {
        const char *name;
        enum vg_field_type type;
    } names[] = {
        {"int", VG_FIELD_INT},       {"integer", VG_FIELD_INT}, {"float", VG_FIELD_DOUBLE},
        {"double", VG_FIELD_DOUBLE}, {"bool", VG_FIELD_BOOL},   {"boolean", VG_FIELD_BOOL},
        {"string", VG_FIELD_STR},
    };
    size_t i;

    for (i = 0; name != NULL && i < VG_ARRAY_LEN(names); i++) {
        if (strcmp(name, names[i].name) == 0) {
            *out = names[i].type;
            return VG_OK;
        }
    }
    return VG_EPARSE;
}

/* ------------------------------------------------------------------------
 * Making and destroying.
 */

static const struct vg_parser_kind *ps_find_kind(const char *type)
{
    size_t i;

    for (i = 0; type != NULL && i < VG_ARRAY_LEN(ps_kinds); i++) {
        if (strcmp(type, ps_kinds[i]->name) == 0)
            return ps_kinds[i];
    }
    return NULL;
}

/* A copy of s, or NULL for NULL and "" alike; *fail when out of memory. */
static char *ps_dup(const char *s, bool *fail)
{
    char *d;

    if (s == NULL || s[0] == '\0')
        return NULL;
    d = vg_strdup(s);
    if (d == NULL)
        *fail = true;
    return d;
}

/* Refuses what the type does not take and what no type accepts. */
static int ps_check(const struct vg_parser_settings *s, const struct vg_parser_kind *kind,
                    const char *name, struct vg_error *err)
{
    size_t i;

    if (!(kind->takes & VG_PARSER_TAKES_PATTERN) && (s->pattern != NULL || s->match_limit > 0))
        return vg_error_set(err, VG_ECONFIG, "parser '%s': type %s takes no pattern", name,
                            kind->name);
    if (!(kind->takes & VG_PARSER_TAKES_JSON) && (s->strict || s->merge_into != NULL))
        return vg_error_set(err, VG_ECONFIG,
                            "parser '%s': strict and merge_into are json options, not %s", name,
                            kind->name);
    for (i = 0; i < s->n_types; i++) {
        if (s->types[i].key == NULL || s->types[i].type == VG_FIELD_JSON)
            return vg_error_set(err, VG_ECONFIG, "parser '%s': bad entry %zu in types", name, i);
    }
    if (s->time_offset_s <= -86400 || s->time_offset_s >= 86400)
        return vg_error_set(err, VG_ECONFIG, "parser '%s': time offset beyond a day", name);
    return VG_OK;
}

/* Copies the settings every type shares into p. VG_OK or VG_ENOMEM. */
static int ps_copy(struct vg_parser *p, const struct vg_parser_settings *s, const char *name)
{
    bool fail = false;
    size_t i;

    p->name = ps_dup(name, &fail);
    p->time_key = ps_dup(s->time_key, &fail);
    p->time_key_len = p->time_key != NULL ? strlen(p->time_key) : 0;
    p->merge_into = ps_dup(s->merge_into, &fail);
    p->time_keep = s->time_keep;
    p->strict = s->strict;
    p->match_limit = s->match_limit > 0 ? s->match_limit : VG_PARSER_MATCH_LIMIT;
    if (s->n_types > 0) {
        p->types = vg_calloc(s->n_types, sizeof(*p->types));
        fail = fail || p->types == NULL;
    }
    for (i = 0; p->types != NULL && i < s->n_types; i++) {
        p->types[i].type = s->types[i].type;
        p->types[i].key = vg_strdup(s->types[i].key);
        fail = fail || p->types[i].key == NULL;
        p->n_types = i + 1;
    }
    return fail ? VG_ENOMEM : VG_OK;
}

int vg_parser_create(const struct vg_parser_settings *s, struct vg_parser **out,
                     struct vg_error *err)
{
    const char *name = s->name != NULL ? s->name : s->type != NULL ? s->type : "?";
    const struct vg_parser_kind *kind = ps_find_kind(s->type);
    struct vg_parser *p = NULL;
    struct vg_error why = {0};
    size_t i;
    int rc;

    *out = NULL;
    if (kind == NULL)
        return vg_error_set(err, VG_ECONFIG,
                            "parser '%s': unknown type '%s' (known: regex, json, logfmt, klog, "
                            "syslog_rfc3164, syslog_rfc5424, level)",
                            name, s->type != NULL ? s->type : "");
    rc = ps_check(s, kind, name, err);
    if (rc != VG_OK)
        return rc;
    p = vg_calloc(1, sizeof(*p));
    if (p == NULL)
        return vg_error_set(err, VG_ENOMEM, "parser '%s': out of memory", name);
    p->kind = kind;
    vg_buf_init(&p->key_buf);
    vg_buf_init(&p->val_buf);
    if (ps_copy(p, s, name) != VG_OK) {
        rc = vg_error_set(err, VG_ENOMEM, "parser '%s': out of memory", name);
        goto fail;
    }
    rc = vg_time_format_init(&p->time_fmt, s->time_format, &why);
    if (rc != VG_OK) {
        rc = vg_error_set(err, rc, "parser '%s': %s", name, why.msg);
        goto fail;
    }
    p->time_fmt.offset_s = s->time_offset_s;
    for (i = 0; i < kind->n_fixed && i < VG_PARSER_FIXED_MAX; i++)
        vg_parser_key_of(p, kind->fixed[i], strlen(kind->fixed[i]), &p->fixed[i]);
    rc = kind->init != NULL ? kind->init(p, s, err) : VG_OK;
    if (rc != VG_OK)
        goto fail;
    *out = p;
    return VG_OK;
fail:
    vg_parser_destroy(p);
    return rc;
}

void vg_parser_destroy(struct vg_parser *p)
{
    size_t i;

    if (p == NULL)
        return;
    if (p->kind->fini != NULL)
        p->kind->fini(p);
    for (i = 0; i < p->n_types; i++)
        free((char *)p->types[i].key);
    free(p->types);
    free(p->name);
    free(p->time_key);
    free(p->merge_into);
    free(p->spans);
    vg_buf_free(&p->key_buf);
    vg_buf_free(&p->val_buf);
    free(p);
}

const char *vg_parser_name(const struct vg_parser *p)
{
    return p->name != NULL ? p->name : p->kind->name;
}

void vg_parser_stats(const struct vg_parser *p, struct vg_parser_stats *out)
{
    *out = p->stats;
}

/* ------------------------------------------------------------------------
 * Running.
 */

static void ps_count(struct vg_parser_stats *st, unsigned flags)
{
    st->lines++;
    st->nomatch += (flags & VG_PARSE_NOMATCH) ? 1 : 0;
    st->limit += (flags & VG_PARSE_LIMIT) ? 1 : 0;
    st->bad_time += (flags & VG_PARSE_BAD_TIME) ? 1 : 0;
    st->bad_type += (flags & VG_PARSE_BAD_TYPE) ? 1 : 0;
    st->too_many += (flags & VG_PARSE_TOO_MANY) ? 1 : 0;
}

int vg_parser_run(struct vg_parser *p, const char *line, size_t len, int64_t now_ns,
                  vg_parse_emit_fn fn, void *arg, struct vg_parse_result *res)
{
    struct vg_parse_ctx c = {.p = p, .now_ns = now_ns, .fn = fn, .arg = arg, .res = res};
    int rc;

    res->flags = 0;
    res->time_ns = 0;
    if (line == NULL && len > 0)
        return VG_EINVAL;
    rc = p->kind->run(&c, line != NULL ? line : "", len);
    if (rc == VG_EPARSE && !c.emit_error)
        res->flags |= VG_PARSE_NOMATCH;
    ps_count(&p->stats, res->flags);
    return rc;
}

void vg_parser_key_of(const struct vg_parser *p, const char *key, size_t key_len,
                      struct vg_parser_key *out)
{
    size_t i;

    out->type = VG_FIELD_STR;
    out->is_time =
        p->time_key != NULL && key_len == p->time_key_len && memcmp(key, p->time_key, key_len) == 0;
    for (i = 0; i < p->n_types; i++) {
        if (strlen(p->types[i].key) == key_len && memcmp(p->types[i].key, key, key_len) == 0) {
            out->type = p->types[i].type;
            return;
        }
    }
}

int vg_parser_put(struct vg_parse_ctx *c, const struct vg_parse_field *f)
{
    int rc = c->fn(c->arg, f);

    if (rc != VG_OK)
        c->emit_error = true;
    return rc;
}

bool vg_parser_take_time(struct vg_parse_ctx *c, const char *val, size_t val_len)
{
    int64_t ns;

    if (vg_time_parse(&c->p->time_fmt, val, val_len, c->now_ns, &ns) != VG_OK) {
        c->res->flags |= VG_PARSE_BAD_TIME;
        return false;
    }
    c->res->flags |= VG_PARSE_TIME;
    c->res->time_ns = ns;
    return true;
}

int vg_parser_push_span(struct vg_parse_ctx *c, const struct vg_parser_span *s)
{
    struct vg_parser *p = c->p;

    if (c->n_spans >= VG_PARSER_MAX_FIELDS) {
        c->res->flags |= VG_PARSE_TOO_MANY;
        return VG_OK;
    }
    if (c->n_spans == p->spans_cap &&
        vg_grow((void **)&p->spans, &p->spans_cap, c->n_spans + 1, sizeof(*p->spans)) != VG_OK)
        return VG_ENOMEM;
    p->spans[c->n_spans++] = *s;
    return VG_OK;
}

/* ------------------------------------------------------------------------
 * Typed values.
 */

/* A decimal integer with an optional sign that fits int64. */
static bool ps_to_int(const char *s, size_t len, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    int64_t v = 0;

    if (len > 0 && (s[0] == '-' || s[0] == '+'))
        neg = s[i++] == '-';
    if (i == len)
        return false;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9' || __builtin_mul_overflow(v, 10, &v) ||
            __builtin_sub_overflow(v, s[i] - '0', &v))
            return false;
    }
    /* counted downwards so that INT64_MIN fits */
    if (!neg && v == INT64_MIN)
        return false;
    *out = neg ? v : -v;
    return true;
}

/* Digits at s[*i]; returns how many. */
static size_t ps_digits(const char *s, size_t len, size_t *i)
{
    size_t start = *i;

    while (*i < len && s[*i] >= '0' && s[*i] <= '9')
        (*i)++;
    return *i - start;
}

/* A decimal number: [+-] digits [. digits] [e [+-] digits], or .5; no
 * hexadecimal, inf or nan, which strtod would take. */
static bool ps_to_double(const char *s, size_t len, double *out)
{
    char buf[PS_NUM_MAX + 1];
    size_t i = 0, n;

    if (len == 0 || len > PS_NUM_MAX)
        return false;
    if (s[0] == '-' || s[0] == '+')
        i++;
    n = ps_digits(s, len, &i);
    if (i < len && s[i] == '.') {
        i++;
        n += ps_digits(s, len, &i);
    }
    if (n == 0)
        return false;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < len && (s[i] == '-' || s[i] == '+'))
            i++;
        if (ps_digits(s, len, &i) == 0)
            return false;
    }
    if (i != len)
        return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    *out = strtod(buf, NULL);
    return true;
}

/* s[0..len) equals word (lowercase) in any case; no locale involved. */
static bool ps_word_is(const char *s, size_t len, const char *word)
{
    size_t i;
    char c;

    if (strlen(word) != len)
        return false;
    for (i = 0; i < len; i++) {
        c = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] + ('a' - 'A')) : s[i];
        if (c != word[i])
            return false;
    }
    return true;
}

/* true/false, yes/no, on/off, 1/0, in any case. */
static bool ps_to_bool(const char *s, size_t len, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    size_t i;

    for (i = 0; i < VG_ARRAY_LEN(yes); i++) {
        if (ps_word_is(s, len, yes[i])) {
            *out = true;
            return true;
        }
        if (ps_word_is(s, len, no[i])) {
            *out = false;
            return true;
        }
    }
    return false;
}

/* Converts f's text (in f->v.s) to type; false when it does not convert. */
static bool ps_convert(struct vg_parse_field *f, enum vg_field_type type)
{
    const char *s = f->v.s.ptr;
    size_t len = f->v.s.len;
    int64_t i;
    double d;
    bool b;

    if (type == VG_FIELD_INT && ps_to_int(s, len, &i))
        f->v.i = i;
    else if (type == VG_FIELD_DOUBLE && ps_to_double(s, len, &d))
        f->v.d = d;
    else if (type == VG_FIELD_BOOL && ps_to_bool(s, len, &b))
        f->v.b = b;
    else
        return false;
    f->type = type;
    return true;
}

int vg_parser_put_text(struct vg_parse_ctx *c, const char *key, size_t key_len, const char *val,
                       size_t val_len, const struct vg_parser_key *k)
{
    struct vg_parse_field f = {.key = key, .key_len = key_len, .type = VG_FIELD_STR};

    f.v.s.ptr = val;
    f.v.s.len = val_len;
    if (k->is_time && vg_parser_take_time(c, val, val_len) && !c->p->time_keep)
        return VG_OK;
    if (k->type != VG_FIELD_STR) {
        /* "-" is how access logs say "none" */
        if (val_len == 0 || (val_len == 1 && val[0] == '-'))
            return VG_OK;
        if (!ps_convert(&f, k->type))
            c->res->flags |= VG_PARSE_BAD_TYPE;
    }
    return vg_parser_put(c, &f);
}
