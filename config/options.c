/*
 * options.c - value parsers, suggestions and option tables: defaults, type
 * checks, unknown-key errors and --list-options from one declaration.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "config.h"

#define OPT_MAX_NAME    128         /* longest option name, dotted */
#define OPT_MAX_SECRET  (64u << 10) /* a secret file larger than this is a mistake */
#define OPT_MAX_SUGGEST 64          /* words longer than this get no suggestion */
#define OPT_MIN_AFFIX   3           /* shortest name suggested as a prefix or substring */
#define OPT_MAX_DEFAULT 4096        /* a default that def_fn computes */

/* ------------------------------------------------------------------------
 * Value parsers.
 */

/* Reads the digits at *p into *out; VG_EPARSE when there are none or the
 * value overflows. */
static int opt_digits(const char **p, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;

    if (*s < '0' || *s > '9')
        return VG_EPARSE;
    for (; *s >= '0' && *s <= '9'; s++) {
        uint64_t d = (uint64_t)(*s - '0');

        if (v > (UINT64_MAX - d) / 10)
            return VG_EPARSE;
        v = v * 10 + d;
    }
    *p = s;
    *out = v;
    return VG_OK;
}

/* "250ms", "15s", "5m", "2h", "1h30m" or "0": a number then a unit, repeated.
 * A bare number other than 0 is refused: "15" could mean seconds or ms. */
int vg_parse_duration_ms(const char *s, int64_t *out)
{
    const char *p = s;
    uint64_t total = 0;

    if (s == NULL || *s == '\0')
        return VG_EPARSE;
    if (strcmp(s, "0") == 0) {
        *out = 0;
        return VG_OK;
    }
    while (*p != '\0') {
        uint64_t n, mult;

        if (opt_digits(&p, &n) != VG_OK)
            return VG_EPARSE;
        if (strncmp(p, "ms", 2) == 0) {
            mult = 1;
            p += 2;
        } else if (*p == 's' || *p == 'm' || *p == 'h') {
            mult = *p == 's' ? 1000 : *p == 'm' ? 60000 : 3600000;
            p++;
        } else {
            return VG_EPARSE;
        }
        if (n > (uint64_t)INT64_MAX / mult || n * mult > (uint64_t)INT64_MAX - total)
            return VG_EPARSE;
        total += n * mult;
    }
    *out = (int64_t)total;
    return VG_OK;
}

static const struct {
    const char *suffix;
    uint64_t mult;
} opt_size_units[] = {
    {"", 1},
    {"B", 1},
    {"KiB", UINT64_C(1) << 10},
    {"MiB", UINT64_C(1) << 20},
    {"GiB", UINT64_C(1) << 30},
    {"TiB", UINT64_C(1) << 40},
    {"kB", UINT64_C(1000)},
    {"KB", UINT64_C(1000)},
    {"MB", UINT64_C(1000000)},
    {"GB", UINT64_C(1000000000)},
    {"TB", UINT64_C(1000000000000)},
};

/* "512", "64KiB", "5MiB", "1GiB", "1TiB"; "10KB" "10MB" "10GB" are powers of
 * 1000. A lone "K" or "M" is refused: it does not say which of the two. */
int vg_parse_size(const char *s, uint64_t *out)
{
    const char *p = s;
    uint64_t n;
    size_t i;

    if (s == NULL || opt_digits(&p, &n) != VG_OK)
        return VG_EPARSE;
    for (i = 0; i < VG_ARRAY_LEN(opt_size_units); i++) {
        if (strcmp(p, opt_size_units[i].suffix) != 0)
            continue;
        if (n > UINT64_MAX / opt_size_units[i].mult)
            return VG_EPARSE;
        *out = n * opt_size_units[i].mult;
        return VG_OK;
    }
    return VG_EPARSE;
}

int vg_parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on"};
    static const char *const no[] = {"false", "no", "off"};
    size_t i;

    if (s == NULL)
        return VG_EPARSE;
    for (i = 0; i < VG_ARRAY_LEN(yes); i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return VG_OK;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return VG_OK;
        }
    }
    return VG_EPARSE;
}

/* Decimal only: "010" is ten, not eight. */
int vg_parse_int(const char *s, int64_t *out)
{
    char *end = NULL;
    long long v;

    if (s == NULL || *s == '\0' || isspace((unsigned char)*s))
        return VG_EPARSE;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0')
        return VG_EPARSE;
    *out = (int64_t)v;
    return VG_OK;
}

/* Finite values only: "nan" and "inf" are not configuration. */
int vg_parse_double(const char *s, double *out)
{
    char *end = NULL;
    double v;

    if (s == NULL || *s == '\0' || isspace((unsigned char)*s))
        return VG_EPARSE;
    errno = 0;
    v = strtod(s, &end);
    if (end == s || *end != '\0' || !isfinite(v) || (errno == ERANGE && fabs(v) > 1.0))
        return VG_EPARSE;
    *out = v;
    return VG_OK;
}

/* ------------------------------------------------------------------------
 * Suggestions.
 */

/* Optimal string alignment distance (Levenshtein plus transpositions) of
 * two words of at most OPT_MAX_SUGGEST bytes. */
static size_t opt_distance(const char *a, size_t la, const char *b, size_t lb)
{
    size_t rows[3][OPT_MAX_SUGGEST + 1];
    size_t *prev2 = rows[0], *prev = rows[1], *cur = rows[2];
    size_t i, j;

    for (j = 0; j <= lb; j++)
        prev[j] = j;
    for (i = 1; i <= la; i++) {
        size_t *t;

        cur[0] = i;
        for (j = 1; j <= lb; j++) {
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t best = prev[j - 1] + cost;

            if (prev[j] + 1 < best)
                best = prev[j] + 1;
            if (cur[j - 1] + 1 < best)
                best = cur[j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                prev2[j - 2] + 1 < best)
                best = prev2[j - 2] + 1;
            cur[j] = best;
        }
        t = prev2;
        prev2 = prev;
        prev = cur;
        cur = t;
    }
    return prev[lb];
}

/* The closest candidate so far; candidates are compared as they come. */
struct opt_best {
    const char *word;
    size_t word_len;
    size_t limit; /* largest distance worth suggesting */
    size_t dist;
    char name[OPT_MAX_NAME];
    bool found;
};

static void opt_best_init(struct opt_best *b, const char *word)
{
    memset(b, 0, sizeof(*b));
    b->word = word;
    b->word_len = strlen(word);
    b->limit = b->word_len / 3 > 1 ? b->word_len / 3 : 1;
}

/* True when the shorter of a and b (at least OPT_MIN_AFFIX bytes) is inside
 * the longer; *prefix says whether it is where the longer begins. */
static bool opt_contains(const char *a, size_t la, const char *b, size_t lb, bool *prefix)
{
    const char *longer = la >= lb ? a : b, *shorter = la >= lb ? b : a;
    size_t ll = la >= lb ? la : lb, ls = la >= lb ? lb : la, i;

    if (ls < OPT_MIN_AFFIX)
        return false;
    for (i = 0; i + ls <= ll; i++) {
        if (memcmp(longer + i, shorter, ls) == 0) {
            *prefix = i == 0;
            return true;
        }
    }
    return false;
}

/* How good cand is as a suggestion for the word, lower is better: the edit
 * distance when small enough, then one part inside the other ('elastic' ->
 * 'elasticsearch', 'logging' -> 'log'), a prefix before a substring.
 * SIZE_MAX: no suggestion. */
static size_t opt_rank(const struct opt_best *b, const char *cand, size_t len)
{
    size_t d = opt_distance(b->word, b->word_len, cand, len);
    bool prefix = false;

    if (d == 0)
        return SIZE_MAX;
    if (d <= b->limit)
        return d;
    if (opt_contains(b->word, b->word_len, cand, len, &prefix))
        return b->limit + (prefix ? 1 : 2);
    return SIZE_MAX;
}

static void opt_best_consider(struct opt_best *b, const char *cand, size_t len)
{
    size_t d;

    if (b->word_len > OPT_MAX_SUGGEST || len > OPT_MAX_SUGGEST || len >= sizeof(b->name))
        return;
    d = opt_rank(b, cand, len);
    if (d == SIZE_MAX || (b->found && d >= b->dist))
        return;
    memcpy(b->name, cand, len);
    b->name[len] = '\0';
    b->dist = d;
    b->found = true;
}

const char *vg_suggest(const char *word, const char *const *candidates, size_t n)
{
    struct opt_best best;
    const char *pick = NULL;
    size_t i;

    if (word == NULL || candidates == NULL)
        return NULL;
    opt_best_init(&best, word);
    for (i = 0; i < n; i++) {
        bool before = best.found;
        size_t dist = best.dist;

        if (candidates[i] == NULL)
            continue;
        opt_best_consider(&best, candidates[i], strlen(candidates[i]));
        if (best.found && (!before || best.dist < dist))
            pick = candidates[i];
    }
    return pick;
}

/* ------------------------------------------------------------------------
 * Option values.
 */

const char *vg_opt_type_name(enum vg_opt_type t)
{
    switch (t) {
    case VG_OPT_STR:
        return "string";
    case VG_OPT_INT:
        return "int";
    case VG_OPT_DOUBLE:
        return "float";
    case VG_OPT_BOOL:
        return "bool";
    case VG_OPT_DURATION:
        return "duration";
    case VG_OPT_SIZE:
        return "size";
    case VG_OPT_STRLIST:
        return "list";
    case VG_OPT_ENUM:
        return "enum";
    case VG_OPT_NODE:
        return "yaml";
    }
    return "?";
}

static void *opt_field(const struct vg_option *opt, void *ctx)
{
    return (char *)ctx + opt->offset;
}

static void opt_set_str(const struct vg_option *opt, void *ctx, char *s)
{
    char *old;

    memcpy(&old, opt_field(opt, ctx), sizeof(old));
    free(old);
    memcpy(opt_field(opt, ctx), &s, sizeof(s));
}

static void opt_strlist_free(struct vg_strlist *l)
{
    size_t i;

    for (i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

/* True when word is one of the '|'-separated choices. */
static bool opt_enum_has(const char *choices, const char *word)
{
    size_t len = strlen(word);
    const char *p = choices;

    while (p != NULL && *p != '\0') {
        const char *bar = strchr(p, '|');
        size_t n = bar != NULL ? (size_t)(bar - p) : strlen(p);

        if (n == len && memcmp(p, word, n) == 0)
            return true;
        p = bar != NULL ? bar + 1 : NULL;
    }
    return false;
}

/* Writes "a, b, c" from "a|b|c". */
static void opt_enum_list(const char *choices, char *out, size_t size)
{
    size_t o = 0;
    const char *p;

    for (p = choices != NULL ? choices : ""; *p != '\0' && o + 3 < size; p++) {
        if (*p == '|') {
            out[o++] = ',';
            out[o++] = ' ';
        } else {
            out[o++] = *p;
        }
    }
    out[o] = '\0';
}

/* Appends one copy of item to a list. */
static int opt_strlist_push(struct vg_strlist *l, const char *item, size_t len)
{
    char **v;
    char *copy = vg_strndup(item, len);

    if (copy == NULL)
        return VG_ENOMEM;
    v = vg_realloc(l->v, (l->n + 1) * sizeof(*v));
    if (v == NULL) {
        free(copy);
        return VG_ENOMEM;
    }
    v[l->n++] = copy;
    l->v = v;
    return VG_OK;
}

/* Stores a copy of text in a string or enum option, replacing the old one. */
static int opt_str_from_text(const struct vg_option *opt, void *ctx, const char *text, char *why,
                             size_t why_size)
{
    char list[256];
    char *s;

    if (opt->type == VG_OPT_ENUM && !opt_enum_has(opt->choices, text)) {
        opt_enum_list(opt->choices, list, sizeof(list));
        snprintf(why, why_size, "invalid value '%s' (one of: %s)", text, list);
        return VG_EPARSE;
    }
    s = vg_strdup(text);
    if (s == NULL)
        return VG_ENOMEM;
    opt_set_str(opt, ctx, s);
    return VG_OK;
}

/* A list from text: one item per comma-separated piece. */
static int opt_strlist_from_text(const struct vg_option *opt, void *ctx, const char *text)
{
    struct vg_strlist l = {NULL, 0};
    const char *p = text;

    while (*p != '\0') {
        const char *comma = strchr(p, ',');
        size_t n = comma != NULL ? (size_t)(comma - p) : strlen(p);

        if (opt_strlist_push(&l, p, n) != VG_OK) {
            opt_strlist_free(&l);
            return VG_ENOMEM;
        }
        p += n + (comma != NULL ? 1 : 0);
    }
    opt_strlist_free(opt_field(opt, ctx));
    memcpy(opt_field(opt, ctx), &l, sizeof(l));
    return VG_OK;
}

/* Numbers, booleans, durations and sizes: parsed, then stored whole. */
static int opt_scalar_from_text(const struct vg_option *opt, void *ctx, const char *text, char *why,
                                size_t why_size)
{
    union {
        int64_t i64;
        uint64_t u64;
        double d;
        bool b;
    } v;
    const char *noun = "integer", *hint = "";
    size_t n = sizeof(v.i64);
    int rc = VG_EPARSE;

    switch (opt->type) {
    case VG_OPT_INT:
        rc = vg_parse_int(text, &v.i64);
        break;
    case VG_OPT_DOUBLE:
        rc = vg_parse_double(text, &v.d);
        noun = "number";
        n = sizeof(v.d);
        break;
    case VG_OPT_BOOL:
        rc = vg_parse_bool(text, &v.b);
        noun = "boolean";
        hint = " (use true or false)";
        n = sizeof(v.b);
        break;
    case VG_OPT_DURATION:
        rc = vg_parse_duration_ms(text, &v.i64);
        noun = "duration";
        hint = " (use ms, s, m, h: '15s')";
        break;
    case VG_OPT_SIZE:
        rc = vg_parse_size(text, &v.u64);
        noun = "size";
        hint = " (use bytes or KiB, MiB, GiB: '64KiB')";
        n = sizeof(v.u64);
        break;
    default:
        noun = vg_opt_type_name(opt->type);
        break;
    }
    if (rc != VG_OK) {
        snprintf(why, why_size, "invalid %s '%s'%s", noun, text, hint);
        return VG_EPARSE;
    }
    memcpy(opt_field(opt, ctx), &v, n);
    return VG_OK;
}

/*
 * Converts text to the option's type and stores it in ctx, replacing (and
 * freeing) what was there. A STRLIST from text gets one item per
 * comma-separated piece (defaults only; the config gives sequences). On a
 * bad value returns VG_EPARSE with why[] saying what was expected, and ctx
 * is unchanged; VG_ENOMEM when out of memory.
 */
static int opt_from_text(const struct vg_option *opt, void *ctx, const char *text, char *why,
                         size_t why_size)
{
    switch (opt->type) {
    case VG_OPT_STR:
    case VG_OPT_ENUM:
        return opt_str_from_text(opt, ctx, text, why, why_size);
    case VG_OPT_STRLIST:
        return opt_strlist_from_text(opt, ctx, text);
    case VG_OPT_NODE:
        snprintf(why, why_size, "a yaml option takes no default");
        return VG_EPARSE;
    default:
        return opt_scalar_from_text(opt, ctx, text, why, why_size);
    }
}

/* Stores the zero value of an option that has no default. */
static void opt_zero(const struct vg_option *opt, void *ctx)
{
    void *f = opt_field(opt, ctx);

    switch (opt->type) {
    case VG_OPT_STR:
    case VG_OPT_ENUM:
        opt_set_str(opt, ctx, NULL);
        break;
    case VG_OPT_STRLIST:
        opt_strlist_free(f);
        break;
    case VG_OPT_NODE:
        memset(f, 0, sizeof(const struct vg_config_node *));
        break;
    case VG_OPT_BOOL:
        memset(f, 0, sizeof(bool));
        break;
    case VG_OPT_DOUBLE:
        memset(f, 0, sizeof(double));
        break;
    default:
        memset(f, 0, sizeof(int64_t));
        break;
    }
}

/* The default of o in config syntax: def, or what def_fn says now (into
 * buf). NULL: none. */
static const char *opt_default(const struct vg_option *o, char *buf, size_t size)
{
    return o->def_fn != NULL ? o->def_fn(buf, size) : o->def;
}

int vg_options_defaults(const struct vg_option *table, void *ctx, struct vg_errors *errs)
{
    const struct vg_option *o;
    char text[OPT_MAX_DEFAULT];
    int rc = VG_OK;

    for (o = table; o != NULL && o->name != NULL; o++) {
        const char *def = opt_default(o, text, sizeof(text));
        char why[VG_ERROR_MAX];
        int r;

        if (def == NULL) {
            opt_zero(o, ctx);
            continue;
        }
        r = opt_from_text(o, ctx, def, why, sizeof(why));
        if (r == VG_OK)
            r = vg_option_check_range(o, ctx, def, why, sizeof(why));
        if (r == VG_ENOMEM) {
            vg_errors_add(errs, NULL, "option '%s': out of memory", o->name);
            rc = VG_ECONFIG;
        } else if (r != VG_OK) {
            /* a bug in the table, not in the user's file */
            vg_errors_add(errs, NULL, "option table: option '%s' has a bad default: %s", o->name,
                          why);
            rc = VG_ECONFIG;
        }
    }
    return rc;
}

void vg_options_free(const struct vg_option *table, void *ctx)
{
    const struct vg_option *o;

    if (ctx == NULL)
        return;
    for (o = table; o != NULL && o->name != NULL; o++) {
        if (o->type == VG_OPT_STR || o->type == VG_OPT_ENUM)
            opt_set_str(o, ctx, NULL);
        else if (o->type == VG_OPT_STRLIST)
            opt_strlist_free(opt_field(o, ctx));
    }
}

/* ------------------------------------------------------------------------
 * Applying tables to a map.
 */

/* One run of vg_options_apply. seen[] has one byte of OPT_SEEN_* flags per
 * option of every table, in table order. */
struct opt_run {
    const struct vg_option *const *tables;
    void *const *ctxs;
    size_t n_tables;
    const char *where;
    const char *const *ignore;
    struct vg_errors *errs;
    unsigned char *seen;
    int rc;
};

#define OPT_SEEN_INLINE    0x1
#define OPT_SEEN_FILE      0x2
#define OPT_SEEN_SUGGESTED 0x4 /* a typo was already reported as this option */

/* A found option: which table, which context, which seen byte. */
struct opt_hit {
    const struct vg_option *opt;
    void *ctx;
    unsigned char *seen;
};

static void opt_error(struct opt_run *r, const struct vg_config_node *at, const char *fmt, ...)
    VG_PRINTF(3, 4);

/* Adds "FILE:LINE: WHERE: message" and marks the run failed. */
static void opt_error(struct opt_run *r, const struct vg_config_node *at, const char *fmt, ...)
{
    char msg[VG_ERROR_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (r->where != NULL && r->where[0] != '\0')
        vg_errors_add(r->errs, at, "%s: %s", r->where, msg);
    else
        vg_errors_add(r->errs, at, "%s", msg);
    r->rc = VG_ECONFIG;
}

/* Looks an option up by its full (dotted) name across every table. */
static bool opt_find(const struct opt_run *r, const char *name, struct opt_hit *hit)
{
    size_t t, base = 0;

    for (t = 0; t < r->n_tables; t++) {
        const struct vg_option *o;

        for (o = r->tables[t]; o != NULL && o->name != NULL; o++, base++) {
            if (strcmp(o->name, name) != 0)
                continue;
            hit->opt = o;
            hit->ctx = r->ctxs[t];
            hit->seen = &r->seen[base];
            return true;
        }
    }
    return false;
}

/* True when some option lives under "prefix." (prefix names a nested map). */
static bool opt_is_section(const struct opt_run *r, const char *prefix)
{
    size_t t, len = strlen(prefix);

    for (t = 0; t < r->n_tables; t++) {
        const struct vg_option *o;

        for (o = r->tables[t]; o != NULL && o->name != NULL; o++)
            if (strncmp(o->name, prefix, len) == 0 && o->name[len] == '.')
                return true;
    }
    return false;
}

static bool opt_ignored(const struct opt_run *r, const char *key)
{
    const char *const *p;

    for (p = r->ignore; p != NULL && *p != NULL; p++)
        if (strcmp(*p, key) == 0)
            return true;
    return false;
}

static const char *opt_kind_name(const struct vg_config_node *n)
{
    return n->kind == VG_NODE_MAP ? "a map" : n->kind == VG_NODE_SEQ ? "a sequence" : "a scalar";
}

/* Sets a list from a scalar (one item) or a sequence of scalars. */
static int opt_set_strlist(struct opt_run *r, const struct opt_hit *h, const char *name,
                           const struct vg_config_node *n)
{
    struct vg_strlist l = {NULL, 0};
    const struct vg_config_node *c;
    size_t i = 0;

    if (n->kind == VG_NODE_MAP) {
        opt_error(r, n, "option '%s': expected a list of strings, found a map", name);
        return VG_OK;
    }
    if (n->kind == VG_NODE_SCALAR) {
        if (opt_strlist_push(&l, n->value, strlen(n->value)) != VG_OK)
            return VG_ENOMEM;
    }
    for (c = n->kind == VG_NODE_SEQ ? n->children : NULL; c != NULL; c = c->next, i++) {
        if (c->kind != VG_NODE_SCALAR) {
            opt_error(r, c, "option '%s': item %zu is %s, not a string", name, i, opt_kind_name(c));
            opt_strlist_free(&l);
            return VG_OK;
        }
        if (opt_strlist_push(&l, c->value, strlen(c->value)) != VG_OK) {
            opt_strlist_free(&l);
            return VG_ENOMEM;
        }
    }
    opt_strlist_free(opt_field(h->opt, h->ctx));
    memcpy(opt_field(h->opt, h->ctx), &l, sizeof(l));
    return VG_OK;
}

/* A unit of a duration or size, and how many of the base unit it holds. */
struct opt_unit {
    const char *unit;
    int64_t n;
};

/* Writes v in the largest unit of units (largest first, the last one 1)
 * that divides it whole. */
static void opt_unit_text(const struct opt_unit *units, int64_t v, char *out, size_t size)
{
    size_t i = 0;

    while (units[i].n > 1 && (v == 0 || v % units[i].n != 0))
        i++;
    snprintf(out, size, "%lld%s", (long long)(v / units[i].n), v != 0 ? units[i].unit : "");
}

void vg_duration_text(int64_t ms, char *out, size_t size)
{
    static const struct opt_unit durs[] = {
        {"h", INT64_C(3600000)}, {"m", 60000}, {"s", 1000}, {"ms", 1}};

    opt_unit_text(durs, ms, out, size);
}

/* Writes a bound of an option of type t in configuration syntax: "64",
 * "87600h", "1GiB". */
static void opt_bound_text(enum vg_opt_type t, int64_t v, char *out, size_t size)
{
    static const struct opt_unit sizes[] = {
        {"TiB", INT64_C(1) << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"", 1}};

    if (t == VG_OPT_DURATION)
        vg_duration_text(v, out, size);
    else if (t == VG_OPT_SIZE)
        opt_unit_text(sizes, v, out, size);
    else
        snprintf(out, size, "%lld", (long long)v);
}

/* The range of option o, with the default caps of durations and sizes. */
static void opt_range(const struct vg_option *o, bool *has_min, int64_t *min, bool *has_max,
                      int64_t *max)
{
    int64_t cap = o->type == VG_OPT_DURATION ? VG_OPT_DURATION_CAP_MS
                  : o->type == VG_OPT_SIZE   ? VG_OPT_SIZE_CAP
                                             : INT64_MAX;

    *has_min = (o->flags & VG_OPT_MIN) != 0;
    *min = *has_min ? o->min : 0;
    *has_max = (o->flags & VG_OPT_MAX) != 0 || cap != INT64_MAX;
    *max = (o->flags & VG_OPT_MAX) != 0 && o->max < cap ? o->max : cap;
}

/* True when the stored value of o in ctx is inside [min, max]. */
static bool opt_in_range(const struct vg_option *o, const void *field, bool has_min, int64_t min,
                         bool has_max, int64_t max)
{
    int64_t i = 0;
    uint64_t u = 0;
    double d = 0;

    switch (o->type) {
    case VG_OPT_INT:
    case VG_OPT_DURATION:
        memcpy(&i, field, sizeof(i));
        return (!has_min || i >= min) && (!has_max || i <= max);
    case VG_OPT_SIZE:
        memcpy(&u, field, sizeof(u));
        return (!has_min || min < 0 || u >= (uint64_t)min) &&
               (!has_max || (max >= 0 && u <= (uint64_t)max));
    case VG_OPT_DOUBLE:
        memcpy(&d, field, sizeof(d));
        return (!has_min || d >= (double)min) && (!has_max || d <= (double)max);
    default:
        return true;
    }
}

int vg_option_check_range(const struct vg_option *o, const void *ctx, const char *text, char *why,
                          size_t why_size)
{
    bool has_min, has_max;
    int64_t min, max;
    char lo[32], hi[32];

    opt_range(o, &has_min, &min, &has_max, &max);
    if (opt_in_range(o, (const char *)ctx + o->offset, has_min, min, has_max, max))
        return VG_OK;
    opt_bound_text(o->type, min, lo, sizeof(lo));
    opt_bound_text(o->type, max, hi, sizeof(hi));
    if (has_min && has_max)
        snprintf(why, why_size, "must be between %s and %s, not %s", lo, hi, text);
    else if (has_min)
        snprintf(why, why_size, "must be at least %s, not %s", lo, text);
    else
        snprintf(why, why_size, "must be at most %s, not %s", hi, text);
    return VG_EPARSE;
}

/* Puts back the default of a number refused by its range, so that check
 * callbacks, which still run, see a value the table allows. */
static void opt_restore_default(const struct vg_option *o, void *ctx)
{
    char why[VG_ERROR_MAX];

    if (o->def == NULL || opt_from_text(o, ctx, o->def, why, sizeof(why)) != VG_OK)
        opt_zero(o, ctx);
}

/* Stores the value of node n for option h (named name in messages). */
static int opt_set_node(struct opt_run *r, const struct opt_hit *h, const char *name,
                        const struct vg_config_node *n)
{
    char why[VG_ERROR_MAX];
    int rc;

    if (h->opt->type == VG_OPT_NODE) {
        memcpy(opt_field(h->opt, h->ctx), &n, sizeof(n));
        return VG_OK;
    }
    if (h->opt->type == VG_OPT_STRLIST)
        return opt_set_strlist(r, h, name, n);
    if (n->kind != VG_NODE_SCALAR) {
        opt_error(r, n, "option '%s': expected %s %s, found %s", name,
                  h->opt->type == VG_OPT_INT || h->opt->type == VG_OPT_ENUM ? "an" : "a",
                  vg_opt_type_name(h->opt->type), opt_kind_name(n));
        return VG_OK;
    }
    rc = opt_from_text(h->opt, h->ctx, n->value, why, sizeof(why));
    if (rc == VG_OK && vg_option_check_range(h->opt, h->ctx, n->value, why, sizeof(why)) != VG_OK) {
        opt_restore_default(h->opt, h->ctx);
        rc = VG_EPARSE;
    }
    if (rc == VG_EPARSE)
        opt_error(r, n, "option '%s': %s", name, why);
    return rc == VG_ENOMEM ? VG_ENOMEM : VG_OK;
}

int vg_read_secret_file(const char *path, char **out, char *why, size_t why_size)
{
    char *buf = vg_malloc(OPT_MAX_SECRET + 1);
    size_t n = 0;
    int fd = -1, rc = VG_EPARSE;
    struct stat st;

    if (buf == NULL)
        return VG_ENOMEM;
    /* non-blocking: a FIFO with no writer must not hang --check-config */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        snprintf(why, why_size, "cannot read '%s': %s", path, vg_errno_str(errno));
        goto out;
    }
    if (fstat(fd, &st) != 0) {
        snprintf(why, why_size, "cannot read '%s': %s", path, vg_errno_str(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(why, why_size, "'%s' is not a regular file", path);
        goto out;
    }
    while (n <= OPT_MAX_SECRET) {
        ssize_t got = read(fd, buf + n, OPT_MAX_SECRET + 1 - n);

        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            snprintf(why, why_size, "cannot read '%s': %s", path, vg_errno_str(errno));
            goto out;
        }
        if (got == 0)
            break;
        n += (size_t)got;
    }
    if (n > OPT_MAX_SECRET) {
        snprintf(why, why_size, "'%s' is larger than %u KiB", path, OPT_MAX_SECRET >> 10);
        goto out;
    }
    if (memchr(buf, '\0', n) != NULL) {
        snprintf(why, why_size, "'%s' holds a NUL byte", path);
        goto out;
    }
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    buf[n] = '\0';
    *out = buf;
    buf = NULL;
    rc = VG_OK;
out:
    if (fd >= 0)
        close(fd);
    free(buf);
    return rc;
}

/* NAME_file: the secret comes from the file the node names; it is
 * registered with vg_secret_add, as an inline secret is by opt_given. */
static int opt_set_secret_file(struct opt_run *r, const struct opt_hit *h, const char *key,
                               const struct vg_config_node *n)
{
    char why[VG_ERROR_MAX];
    char *secret = NULL;
    int rc;

    if (*h->seen & OPT_SEEN_INLINE) {
        opt_error(r, n, "option '%s' and '%s' both given; use one", h->opt->name, key);
        return VG_OK;
    }
    *h->seen |= OPT_SEEN_FILE;
    if (n->kind != VG_NODE_SCALAR) {
        opt_error(r, n, "option '%s': expected a file path, found %s", key, opt_kind_name(n));
        return VG_OK;
    }
    rc = vg_read_secret_file(n->value, &secret, why, sizeof(why));
    if (rc == VG_ENOMEM)
        return rc;
    if (rc != VG_OK) {
        opt_error(r, n, "option '%s': %s", key, why);
        /* given all the same, for the checks of what goes with it */
        secret = vg_strdup("(unreadable)");
        if (secret == NULL)
            return VG_ENOMEM;
    }
    if (vg_secret_add(secret) != VG_OK) {
        free(secret);
        return VG_ENOMEM;
    }
    opt_set_str(h->opt, h->ctx, secret);
    return VG_OK;
}

/* An option named name (dotted) was given at node n. */
static int opt_given(struct opt_run *r, const struct opt_hit *h, const char *name,
                     const struct vg_config_node *n)
{
    if (*h->seen & OPT_SEEN_INLINE) {
        opt_error(r, n, "option '%s' given twice", name);
        return VG_OK;
    }
    if (*h->seen & OPT_SEEN_FILE) {
        opt_error(r, n, "option '%s' and '%s_file' both given; use one", name, name);
        return VG_OK;
    }
    *h->seen |= OPT_SEEN_INLINE;
    /* registered before anything can print it */
    if ((h->opt->flags & VG_OPT_SECRET) != 0 && n->kind == VG_NODE_SCALAR &&
        vg_secret_add(n->value) != VG_OK)
        return VG_ENOMEM;
    return opt_set_node(r, h, name, n);
}

/* Offers every name valid at this level (prefix "" or "http.") to best:
 * plain options, nested sections, NAME_file of secrets, ignored keys. */
static void opt_suggest_level(const struct opt_run *r, const char *prefix, struct opt_best *best)
{
    size_t t, plen = strlen(prefix);
    const char *const *p;

    for (t = 0; t < r->n_tables; t++) {
        const struct vg_option *o;

        for (o = r->tables[t]; o != NULL && o->name != NULL; o++) {
            const char *dot;
            char file[OPT_MAX_NAME];

            if (strncmp(o->name, prefix, plen) != 0)
                continue;
            dot = strchr(o->name + plen, '.');
            opt_best_consider(best, o->name,
                              dot != NULL ? (size_t)(dot - o->name) : strlen(o->name));
            if ((o->flags & VG_OPT_SECRET) != 0 && dot == NULL) {
                snprintf(file, sizeof(file), "%s_file", o->name);
                opt_best_consider(best, file, strlen(file));
            }
        }
    }
    for (p = plen == 0 ? r->ignore : NULL; p != NULL && *p != NULL; p++)
        opt_best_consider(best, *p, strlen(*p));
}

/* Reports an unknown key, with the closest valid name at its level. */
static void opt_unknown(struct opt_run *r, const char *prefix, const char *name,
                        const struct vg_config_node *n)
{
    struct opt_best best;

    struct opt_hit h;

    opt_best_init(&best, name);
    opt_suggest_level(r, prefix, &best);
    if (best.found) {
        opt_error(r, n, "unknown option '%s' (did you mean '%s'?)", name, best.name);
        /* one message per typo: no "missing required option" for it too */
        if (opt_find(r, best.name, &h))
            *h.seen |= OPT_SEEN_SUGGESTED;
    } else {
        opt_error(r, n, "unknown option '%s'", name);
    }
}

/* Writes "listen, stall_timeout": the keys a nested map takes. */
static void opt_section_keys(const struct opt_run *r, const char *prefix, char *out, size_t size)
{
    size_t t, o_len = 0, plen = strlen(prefix);

    out[0] = '\0';
    for (t = 0; t < r->n_tables; t++) {
        const struct vg_option *o;

        for (o = r->tables[t]; o != NULL && o->name != NULL; o++) {
            int n;

            if (strncmp(o->name, prefix, plen) != 0 || o->name[plen] != '.')
                continue;
            n = snprintf(out + o_len, size - o_len, "%s%s", o_len > 0 ? ", " : "",
                         o->name + plen + 1);
            if (n < 0 || (size_t)n >= size - o_len)
                return;
            o_len += (size_t)n;
        }
    }
}

static int opt_walk(struct opt_run *r, const struct vg_config_node *map, const char *prefix);

/* Handles one key of a map at the level named by prefix. */
static int opt_key(struct opt_run *r, const struct vg_config_node *c, const char *prefix)
{
    char name[OPT_MAX_NAME], base[OPT_MAX_NAME + 2];
    size_t len;
    struct opt_hit h;

    if (snprintf(name, sizeof(name), "%s%s", prefix, c->key) >= (int)sizeof(name)) {
        opt_error(r, c, "unknown option '%s%s'", prefix, c->key);
        return VG_OK;
    }
    if (prefix[0] == '\0' && opt_ignored(r, name))
        return VG_OK;
    if (opt_find(r, name, &h))
        return opt_given(r, &h, name, c);
    len = strlen(name);
    if (len > 5 && strcmp(name + len - 5, "_file") == 0) {
        memcpy(base, name, len - 5);
        base[len - 5] = '\0';
        if (opt_find(r, base, &h) && (h.opt->flags & VG_OPT_SECRET) != 0)
            return opt_set_secret_file(r, &h, name, c);
    }
    if (opt_is_section(r, name)) {
        char keys[256];

        if (c->kind == VG_NODE_MAP) {
            snprintf(base, sizeof(base), "%s.", name);
            return opt_walk(r, c, base);
        }
        opt_section_keys(r, name, keys, sizeof(keys));
        opt_error(r, c, "option '%s': expected a map (with %s), found %s", name, keys,
                  opt_kind_name(c));
        return VG_OK;
    }
    opt_unknown(r, prefix, name, c);
    return VG_OK;
}

/* Applies every key of map, whose options are named prefix + key. */
static int opt_walk(struct opt_run *r, const struct vg_config_node *map, const char *prefix)
{
    const struct vg_config_node *c;
    int rc;

    for (c = map->children; c != NULL; c = c->next) {
        rc = opt_key(r, c, prefix);
        if (rc != VG_OK)
            return rc;
    }
    return VG_OK;
}

/* Reports every required option not given, at the map's position. */
static void opt_check_required(struct opt_run *r, const struct vg_config_node *map)
{
    size_t t, base = 0;

    for (t = 0; t < r->n_tables; t++) {
        const struct vg_option *o;

        for (o = r->tables[t]; o != NULL && o->name != NULL; o++, base++) {
            if ((o->flags & VG_OPT_REQUIRED) == 0 || r->seen[base] != 0)
                continue;
            if (o->flags & VG_OPT_SECRET)
                opt_error(r, map, "missing required option '%s' (or '%s_file')", o->name, o->name);
            else
                opt_error(r, map, "missing required option '%s'", o->name);
        }
    }
}

int vg_options_apply(const struct vg_option *const *tables, void *const *ctxs, size_t n_tables,
                     const struct vg_config_node *map, const char *where, const char *const *ignore,
                     struct vg_errors *errs)
{
    struct opt_run r = {tables, ctxs, n_tables, where, ignore, errs, NULL, VG_OK};
    size_t t, total = 0;
    int rc;

    for (t = 0; t < n_tables; t++) {
        const struct vg_option *o;

        if (vg_options_defaults(tables[t], ctxs[t], errs) != VG_OK)
            r.rc = VG_ECONFIG;
        for (o = tables[t]; o != NULL && o->name != NULL; o++)
            total++;
    }
    r.seen = vg_calloc(total + 1, 1);
    if (r.seen == NULL) {
        opt_error(&r, map, "out of memory");
        return VG_ECONFIG;
    }
    if (map != NULL && map->kind != VG_NODE_MAP) {
        opt_error(&r, map, "expected a map of options, found %s%s%s%s", opt_kind_name(map),
                  map->kind == VG_NODE_SCALAR ? " '" : "",
                  map->kind == VG_NODE_SCALAR ? map->value : "",
                  map->kind == VG_NODE_SCALAR ? "'" : "");
        goto out;
    }
    if (map != NULL) {
        rc = opt_walk(&r, map, "");
        if (rc != VG_OK)
            opt_error(&r, map, "out of memory");
    }
    opt_check_required(&r, map);
out:
    free(r.seen);
    return r.rc;
}

/* ------------------------------------------------------------------------
 * --list-options.
 */

/* Appends " (1 to 64)", " (at least 1ms)" or " (at most 1GiB)" for an
 * option with a declared range. */
static void opt_print_range(const struct vg_option *o, FILE *f)
{
    bool has_min, has_max;
    int64_t min, max;
    char lo[32], hi[32];

    if ((o->flags & VG_OPT_RANGE) == 0)
        return;
    opt_range(o, &has_min, &min, &has_max, &max);
    opt_bound_text(o->type, min, lo, sizeof(lo));
    opt_bound_text(o->type, max, hi, sizeof(hi));
    if ((o->flags & VG_OPT_RANGE) == VG_OPT_RANGE)
        fprintf(f, " (%s to %s)", lo, hi);
    else if (o->flags & VG_OPT_MIN)
        fprintf(f, " (at least %s)", lo);
    else
        fprintf(f, " (at most %s)", hi);
}

void vg_options_print(const struct vg_option *table, const char *indent, FILE *f)
{
    const struct vg_option *o;
    char text[OPT_MAX_DEFAULT];
    int name_w = 4, def_w = 7;

    for (o = table; o != NULL && o->name != NULL; o++) {
        const char *given = opt_default(o, text, sizeof(text));
        int n = (int)strlen(o->name), d = given != NULL ? (int)strlen(given) : 1;

        if (o->flags & VG_OPT_REQUIRED)
            d = (int)strlen("(required)");

        name_w = n > name_w ? n : name_w;
        def_w = d > def_w ? d : def_w;
    }
    def_w = def_w > 24 ? 24 : def_w;
    for (o = table; o != NULL && o->name != NULL; o++) {
        const char *given = opt_default(o, text, sizeof(text));
        const char *def = given != NULL && given[0] != '\0' ? given : "-";

        if (o->flags & VG_OPT_REQUIRED)
            def = "(required)";
        else if (given != NULL && given[0] == '\0')
            def = "\"\"";
        fprintf(f, "%s%-*s  %-8s  %-*s  %s", indent != NULL ? indent : "", name_w, o->name,
                vg_opt_type_name(o->type), def_w, def, o->doc != NULL ? o->doc : "");
        if (o->type == VG_OPT_ENUM && o->choices != NULL)
            fprintf(f, " [%s]", o->choices);
        if (o->flags & VG_OPT_SECRET)
            fprintf(f, " (secret; or %s_file: a file holding it)", o->name);
        opt_print_range(o, f);
        fputc('\n', f);
    }
}
