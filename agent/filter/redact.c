/*
 * redact.c - the `redact` filter: masks secrets and personal data in the
 * body and in string fields, with built-in presets and one regex of the
 * user's.
 *
 * Rules run one after the other on each text (the presets in the order
 * listed, then `regex`), each on what the one before left. A rule's match
 * becomes its replacement; matches of no bytes are left alone. Each
 * preset has a cheap prefilter (memmem of a literal such as "eyJ" or
 * "://", a run of 13 digits for cards) that skips its regex on a text it
 * cannot match, so that most fields of most records cost a few memchr.
 * Without `fields`, the texts are the body and every string or JSON field
 * but the collector's own (namespace, pod, container_id, file, ...: ids
 * and paths, where a run of digits that passes the Luhn check is no card
 * number); `fields` names the texts instead, collector's fields included.
 * A JSON field is redacted as text; one that is no longer valid JSON
 * afterwards becomes a string field. A match stopped by the match limit
 * ends that rule's pass over that text (what follows stays as it was) and
 * is counted.
 *
 * Out of memory half-way through a record (VG_ENOMEM), what was masked
 * stays masked: a secret is never put back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"
#include "parse/json.h"

#define RD_MASK "[REDACTED]"

/* What the counters are labelled with: a preset, or the user's regex. */
enum rd_slot { RD_BEARER, RD_BASIC, RD_AWS, RD_JWT, RD_EMAIL, RD_CARD, RD_REGEX, RD_SLOTS };

static const char *const rd_names[RD_SLOTS] = {"bearer", "basic_auth", "aws_key", "jwt",
                                               "email",  "card",       "regex"};
#define RD_KNOWN "bearer, basic_auth, aws_key, jwt, email, card"

/* One rule of a preset. */
struct rd_def {
    enum rd_slot slot;
    const char *pattern;
    const char *replace; /* $1 is the first group */
    struct rd_lit {
        const char *s;
        size_t n;
    } need[2]; /* a text without either literal cannot match (s NULL: none) */
    bool (*maybe)(const char *s, size_t len); /* a finer prefilter, or NULL */
    bool (*valid)(const char *s, size_t len); /* false: leave this match alone */
};

/* A piece of a replacement: literal text, or a group of the match. */
struct rd_piece {
    const char *text;
    size_t len;
    int group; /* -1: text */
};

struct rd_rule {
    const struct rd_def *def;
    struct vg_pattern pt;
    struct rd_piece *pieces;
    size_t n_pieces;
    size_t cap_pieces;
};

/* ------------------------------------------------------------------------
 * Presets: prefilters, checks and patterns.
 */

#define RD_ONES  UINT64_C(0x0101010101010101)
#define RD_HIGHS UINT64_C(0x8080808080808080)

/* Whether lit occurs at s[i], in any case when lit is in lower case. */
static bool rd_at(const char *s, size_t i, const struct rd_lit *lit)
{
    size_t k;

    for (k = 0; k < lit->n && ((unsigned char)s[i + k] | 0x20) == (unsigned char)lit->s[k]; k++)
        ;
    return k == lit->n;
}

/* Whether lit occurs in s[0..len), in any case when lit is in lower case
 * (the patterns take "Bearer", "bearer" and "BEARER" alike). The texts
 * are mostly short (a field, a line): eight bytes at a time, looking for
 * the literal's first byte, costs less there than memmem's setup. */
static bool rd_has(const char *s, size_t len, const struct rd_lit *lit)
{
    uint64_t w, v, c0;
    size_t i = 0, end, k;

    if (lit->s == NULL || len < lit->n)
        return false;
    if (lit->n == 1)
        return memchr(s, lit->s[0], len) != NULL;
    c0 = RD_ONES * (unsigned char)lit->s[0];
    end = len - lit->n + 1; /* the last place it may start, plus one */
    for (; i + 8 <= end; i += 8) {
        memcpy(&w, s + i, 8);
        v = (w | RD_ONES * 0x20) ^ c0;
        if (((v - RD_ONES) & ~v & RD_HIGHS) == 0)
            continue; /* no byte of the word is the first byte, in any case */
        for (k = 0; k < 8; k++)
            if (rd_at(s, i + k, lit))
                return true;
    }
    for (; i < end; i++)
        if (rd_at(s, i, lit))
            return true;
    return false;
}

/* A run of 13 digits, single spaces or dashes between them allowed: what
 * the card pattern needs before it can match. */
static bool rd_maybe_card(const char *s, size_t len)
{
    size_t i, run = 0;
    bool sep = false;

    for (i = 0; i < len; i++) {
        if (s[i] >= '0' && s[i] <= '9') {
            sep = false;
            if (++run >= 13)
                return true;
        } else if ((s[i] == ' ' || s[i] == '-') && run > 0 && !sep) {
            sep = true;
        } else {
            run = 0;
            sep = false;
        }
    }
    return false;
}

/* The Luhn check of the digits of s (13 to 19 of them, not all zero). */
static bool rd_valid_card(const char *s, size_t len)
{
    unsigned sum = 0, n = 0, d, nonzero = 0;
    size_t i = len;

    while (i-- > 0) {
        if (s[i] < '0' || s[i] > '9')
            continue;
        d = (unsigned)(s[i] - '0');
        nonzero |= d;
        if (n++ % 2 == 1)
            d = d * 2 > 9 ? d * 2 - 9 : d * 2;
        sum += d;
    }
    return n >= 13 && n <= 19 && nonzero != 0 && sum % 10 == 0;
}

static int rd_b64(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

static bool rd_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

/* "Basic <base64>" whose base64 decodes to user:password (it has a ':'),
 * so that "basic settings" in prose is left alone. */
static bool rd_valid_basic(const char *s, size_t len)
{
    uint32_t acc = 0;
    size_t i = 0;
    int bits = 0, v;

    while (i < len && !rd_space(s[i]))
        i++;
    while (i < len && rd_space(s[i]))
        i++;
    for (; i < len && s[i] != '='; i++) {
        v = rd_b64(s[i]);
        if (v < 0)
            return false;
        acc = ((acc << 6) | (uint32_t)v) & 0xffffffu;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (((acc >> bits) & 0xffu) == ':')
                return true;
        }
    }
    return false;
}

#define RD_LIT(x)                                                                                  \
    {                                                                                              \
        x, sizeof(x) - 1                                                                           \
    }
#define RD_NONE                                                                                    \
    {                                                                                              \
        NULL, 0                                                                                    \
    }

/* The presets' rules, in the order a preset's rules run. */
// clang-format off
static const struct rd_def rd_defs[] = {
    {RD_BEARER, "\\b((?:[Bb]earer|BEARER)\\s+)[A-Za-z0-9._~+/=-]{8,}",
     "$1" RD_MASK, {RD_LIT("bearer"), RD_NONE}, NULL, NULL},
    {RD_BASIC, "\\b((?:[Bb]asic|BASIC)\\s+)[A-Za-z0-9+/]{4,}={0,2}",
     "$1" RD_MASK, {RD_LIT("basic"), RD_NONE}, NULL, rd_valid_basic},
    {RD_BASIC, "\\b([A-Za-z][A-Za-z0-9+.-]{0,31}://[^\\s:@/?#\\[\\]]*:)[^\\s@/?#\\[\\]]+@",
     "$1" RD_MASK "@", {RD_LIT("://"), RD_NONE}, NULL, NULL},
    {RD_AWS, "\\b(?:AKIA|ASIA)[A-Z0-9]{16}\\b",
     RD_MASK, {RD_LIT("akia"), RD_LIT("asia")}, NULL, NULL},
    {RD_AWS, "((?:[Ss]ecret|SECRET)[_-]?(?i:access[_-]?key)[\"']?\\s*[:=]\\s*[\"']?)"
             "[A-Za-z0-9/+=]{16,}",
     "$1" RD_MASK, {RD_LIT("secret"), RD_NONE}, NULL, NULL},
    {RD_JWT, "\\beyJ[A-Za-z0-9_-]{2,}\\.[A-Za-z0-9_-]{2,}\\.[A-Za-z0-9_-]*",
     RD_MASK, {RD_LIT("eyj"), RD_NONE}, NULL, NULL},
    {RD_EMAIL, "(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@(?:[A-Za-z0-9-]+\\.)+[A-Za-z]{2,}",
     RD_MASK, {RD_LIT("@"), RD_NONE}, NULL, NULL},
    {RD_CARD, "(?<![0-9])[0-9](?:[ -]?[0-9]){12,18}(?![0-9])",
     RD_MASK, {RD_NONE, RD_NONE}, rd_maybe_card, rd_valid_card},
};
// clang-format on

#define RD_MAX_RULES (VG_ARRAY_LEN(rd_defs) + 1)

struct redact_ctx {
    /* options */
    struct vg_strlist presets;
    char *regex;
    char *replace;
    struct vg_strlist fields;
    /* built */
    struct rd_def user; /* the rule of regex and replace */
    struct rd_rule rules[RD_MAX_RULES];
    size_t n_rules;
    bool used[RD_SLOTS];
    bool body;            /* the body is redacted */
    struct vg_buf buf[2]; /* a text between rules, each rule writing the other */
    uint64_t matches[RD_SLOTS];
    uint64_t changed;
    uint64_t limits;
};

static const struct vg_option redact_options[] = {
    {"presets", VG_OPT_STRLIST, NULL, offsetof(struct redact_ctx, presets),
     "built-in rules: " RD_KNOWN, 0, NULL},
    {"regex", VG_OPT_STR, NULL, offsetof(struct redact_ctx, regex),
     "PCRE2 pattern of what to mask (after the presets)", 0, NULL},
    {"replace", VG_OPT_STR, NULL, offsetof(struct redact_ctx, replace),
     "what a match of regex becomes (default " RD_MASK "); $1, ${1} or ${name} put a group back, "
     "$$ is a '$'",
     0, NULL},
    {"fields", VG_OPT_STRLIST, NULL, offsetof(struct redact_ctx, fields),
     "fields to redact (body for the body); default: the body and every string field the "
     "collector did not set",
     0, NULL},
    {NULL, VG_OPT_STR, NULL, 0, NULL, 0, NULL},
};

/* ------------------------------------------------------------------------
 * Building.
 */

static int rd_piece(struct rd_rule *rule, const char *text, size_t len, int group)
{
    struct rd_piece *p;

    if (group < 0 && len == 0)
        return VG_OK;
    if (vg_grow((void **)&rule->pieces, &rule->cap_pieces, rule->n_pieces + 1,
                sizeof(*rule->pieces)) != VG_OK)
        return VG_ENOMEM;
    p = &rule->pieces[rule->n_pieces++];
    p->text = text;
    p->len = len;
    p->group = group;
    return VG_OK;
}

/* The group a reference names: "$1" (one digit), "${12}" or "${name}" at
 * ref; *used is how many bytes it takes, 0 when ref is no reference. The
 * group's number, or -1 for a name the pattern does not have. */
static int rd_group_ref(const struct rd_rule *rule, const char *ref, size_t *used)
{
    char name[64];
    const char *end;
    size_t n;
    int rc;

    *used = 0;
    if (ref[1] >= '0' && ref[1] <= '9') {
        *used = 2;
        return ref[1] - '0';
    }
    end = ref[1] == '{' ? strchr(ref + 2, '}') : NULL;
    n = end != NULL ? (size_t)(end - ref - 2) : 0;
    if (n == 0 || n >= sizeof(name))
        return 0;
    *used = n + 3;
    memcpy(name, ref + 2, n);
    name[n] = '\0';
    if (strspn(name, "0123456789") == n)
        return n > 4 ? -1 : (int)strtol(name, NULL, 10);
    rc = pcre2_substring_number_from_name(rule->pt.code, (PCRE2_SPTR)name);
    return rc < 0 ? -1 : rc;
}

/*
 * Splits a replacement into pieces. VG_OK, VG_ENOMEM, or VG_ECONFIG with
 * the reference that names no group of the pattern in bad[].
 */
static int rd_template(struct rd_rule *rule, const char *t, char *bad, size_t bad_size)
{
    uint32_t groups = 0;
    const char *lit = t;
    size_t used;
    int g;

    pcre2_pattern_info(rule->pt.code, PCRE2_INFO_CAPTURECOUNT, &groups);
    for (t = strchr(t, '$'); t != NULL; t = strchr(t, '$')) {
        if (rd_piece(rule, lit, (size_t)(t - lit), -1) != VG_OK)
            return VG_ENOMEM;
        g = t[1] == '$' ? -2 : rd_group_ref(rule, t, &used);
        if (g == -2 || used == 0) {
            lit = t + (g == -2 ? 1 : 0); /* "$$" keeps one '$', a lone '$' stays */
            t += g == -2 ? 2 : 1;
            continue;
        }
        if (g < 0 || (uint32_t)g > groups) {
            snprintf(bad, bad_size, "%.*s", (int)used, t);
            return VG_ECONFIG;
        }
        if (rd_piece(rule, NULL, 0, g) != VG_OK)
            return VG_ENOMEM;
        t += used;
        lit = t;
    }
    return rd_piece(rule, lit, strlen(lit), -1);
}

/* Adds a rule: the pattern compiled (errors against option), the
 * replacement split. */
static int rd_add(struct redact_ctx *x, struct vg_check *chk, const struct rd_def *d,
                  const char *option)
{
    struct rd_rule *rule = &x->rules[x->n_rules++];
    char bad[64];
    int rc;

    rule->def = d;
    x->used[d->slot] = true;
    rc = vg_filter_compile(chk, option, d->pattern, &rule->pt);
    if (rc != VG_OK)
        return rc;
    rc = rd_template(rule, d->replace, bad, sizeof(bad));
    if (rc == VG_ECONFIG)
        vg_check_error(chk, "replace", "option 'replace': '%s' names no group of the regex", bad);
    return rc;
}

/* The slot of a preset's name, or RD_REGEX when there is none. */
static enum rd_slot rd_preset(const char *name)
{
    int slot;

    for (slot = 0; slot < RD_REGEX; slot++) {
        if (strcmp(rd_names[slot], name) == 0)
            break;
    }
    return (enum rd_slot)slot;
}

/* The rules of the presets, in the order listed (a name listed twice
 * counts once). */
static int rd_presets(struct redact_ctx *x, struct vg_check *chk)
{
    enum rd_slot slot;
    size_t i, k;
    int rc;

    for (i = 0; i < x->presets.n; i++) {
        slot = rd_preset(x->presets.v[i]);
        if (slot == RD_REGEX) {
            vg_check_error(chk, "presets",
                           "option 'presets': unknown preset '%s' (known: " RD_KNOWN ")",
                           x->presets.v[i]);
            return VG_ECONFIG;
        }
        if (x->used[slot])
            continue;
        for (k = 0; k < VG_ARRAY_LEN(rd_defs); k++) {
            rc = rd_defs[k].slot == slot ? rd_add(x, chk, &rd_defs[k], "presets") : VG_OK;
            if (rc != VG_OK)
                return rc;
        }
    }
    return VG_OK;
}

/* Which texts are redacted: `fields`, or the body and every string. */
static int rd_fields(struct redact_ctx *x, struct vg_check *chk)
{
    size_t i;

    x->body = x->fields.n == 0;
    for (i = 0; i < x->fields.n; i++) {
        if (x->fields.v[i][0] == '\0') {
            vg_check_error(chk, "fields", "option 'fields': a field name is empty");
            return VG_ECONFIG;
        }
        x->body = x->body || vg_filter_is_body(x->fields.v[i]);
    }
    return VG_OK;
}

static int redact_build(void *ctx, const char *name, struct vg_check *chk)
{
    struct redact_ctx *x = ctx;
    int rc = rd_fields(x, chk), r;

    (void)name;
    if (x->regex == NULL && x->replace != NULL) {
        vg_check_error(chk, "replace", "option 'replace' needs option 'regex'");
        rc = VG_ECONFIG;
    }
    if (x->regex == NULL && x->presets.n == 0) {
        vg_check_error(chk, NULL, "option 'presets' or 'regex' is needed");
        return VG_ECONFIG;
    }
    if (x->regex != NULL && x->regex[0] == '\0') {
        vg_check_error(chk, "regex", "option 'regex': must not be empty");
        return VG_ECONFIG;
    }
    r = rd_presets(x, chk);
    x->user.slot = RD_REGEX;
    x->user.pattern = x->regex;
    x->user.replace = x->replace != NULL ? x->replace : RD_MASK;
    if (r == VG_OK && x->regex != NULL)
        r = rd_add(x, chk, &x->user, "regex");
    return r != VG_OK ? r : rc;
}

/* ------------------------------------------------------------------------
 * Running.
 */

/* Appends the replacement of the match whose rc pairs are in ov. */
static int rd_expand(const struct rd_rule *rule, const char *s, const PCRE2_SIZE *ov, int rc,
                     struct vg_buf *out)
{
    const struct rd_piece *p;
    size_t i;
    int g;

    for (i = 0; i < rule->n_pieces; i++) {
        p = &rule->pieces[i];
        g = p->group;
        if (g < 0 && vg_buf_append(out, p->text, p->len) != VG_OK)
            return VG_ENOMEM;
        if (g >= 0 && g < rc && ov[2 * g] != PCRE2_UNSET && ov[2 * g + 1] > ov[2 * g] &&
            vg_buf_append(out, s + ov[2 * g], ov[2 * g + 1] - ov[2 * g]) != VG_OK)
            return VG_ENOMEM;
    }
    return VG_OK;
}

/* False when the prefilters of d show that s[0..len) cannot match. */
static bool rd_maybe(const struct rd_def *d, const char *s, size_t len)
{
    if (d->need[0].s != NULL && !rd_has(s, len, &d->need[0]) && !rd_has(s, len, &d->need[1]))
        return false;
    return d->maybe == NULL || d->maybe(s, len);
}

/*
 * Replaces the matches of rule in s[0..len), writing the result to out
 * (untouched when nothing matched). The number of matches replaced, or
 * VG_ENOMEM.
 */
static int64_t rd_apply(struct redact_ctx *x, struct rd_rule *rule, const char *s, size_t len,
                        struct vg_buf *out)
{
    size_t pos = 0, done = 0;
    const PCRE2_SIZE *ov;
    int64_t n = 0;
    int rc;

    while (pos <= len) {
        rc = vg_pattern_match(&rule->pt, s, len, pos);
        if (rc < 0) {
            x->limits += vg_pattern_is_limit(rc);
            break;
        }
        ov = vg_pattern_ovector(&rule->pt);
        if (ov[1] <= ov[0] || ov[0] < done ||
            (rule->def->valid != NULL && !rule->def->valid(s + ov[0], ov[1] - ov[0]))) {
            pos = ov[1] > pos ? ov[1] : pos + 1;
            continue;
        }
        if (n++ == 0)
            vg_buf_reset(out);
        if (vg_buf_append(out, s + done, ov[0] - done) != VG_OK ||
            rd_expand(rule, s, ov, rc, out) != VG_OK)
            return VG_ENOMEM;
        done = pos = ov[1];
    }
    if (n > 0 && vg_buf_append(out, s + done, len - done) != VG_OK)
        return VG_ENOMEM;
    return n;
}

/*
 * Runs the rules of `only` (bit i: rule i) over s[0..len); *maybe gets the
 * rules whose prefilter passed. 1 with the result in *out, *out_len (in
 * one of x->buf) when something was replaced, 0 when nothing was, or
 * VG_ENOMEM.
 */
static int rd_text(struct redact_ctx *x, const char *s, size_t len, uint32_t only, uint32_t *maybe,
                   const char **out, size_t *out_len)
{
    struct rd_rule *rule;
    size_t i, k = 0;
    int64_t n;

    *out = s;
    *out_len = len;
    *maybe = 0;
    for (i = 0; i < x->n_rules; i++) {
        rule = &x->rules[i];
        if (!(only & (UINT32_C(1) << i)) || !rd_maybe(rule->def, *out, *out_len))
            continue;
        *maybe |= UINT32_C(1) << i;
        n = rd_apply(x, rule, *out, *out_len, &x->buf[k]);
        if (n < 0)
            return VG_ENOMEM;
        if (n == 0)
            continue;
        x->matches[rule->def->slot] += (uint64_t)n;
        *out = x->buf[k].data != NULL ? x->buf[k].data : "";
        *out_len = x->buf[k].len;
        k ^= 1;
    }
    return *out != s;
}

/* Whether f is one of the texts to redact; own: the collector set it. */
static bool rd_wants(const struct redact_ctx *x, const struct vg_field *f, bool own)
{
    size_t i;

    if (f->type != VG_FIELD_STR && f->type != VG_FIELD_JSON)
        return false;
    if (x->fields.n == 0)
        return !own;
    for (i = 0; i < x->fields.n; i++) {
        if (strcmp(x->fields.v[i], f->key) == 0)
            return true;
    }
    return false;
}

/* Gives f the redacted text (a copy in the arena); a JSON field that is
 * no longer JSON becomes a string. */
static int rd_set_field(struct vg_prec *pr, struct vg_field *f, const char *s, size_t len)
{
    char *p = vg_prec_alloc(pr, len);

    if (p == NULL)
        return VG_ENOMEM;
    if (len > 0)
        memcpy(p, s, len);
    f->v.s.ptr = p;
    f->v.s.len = len;
    if (f->type == VG_FIELD_JSON && vg_json_parse(p, len, NULL, NULL) != VG_OK)
        f->type = VG_FIELD_STR;
    return VG_OK;
}

/* The rules whose prefilter s[0..len) passes (bit i: rule i). */
static uint32_t rd_maybe_mask(const struct redact_ctx *x, const char *s, size_t len)
{
    uint32_t m = 0;
    size_t i;

    for (i = 0; i < x->n_rules; i++)
        if (rd_maybe(x->rules[i].def, s, len))
            m |= UINT32_C(1) << i;
    return m;
}

/*
 * The body first, then the string fields. A field a parser read from the
 * body as it still is (in_body) holds bytes of it: a literal a prefilter
 * looks for cannot be in it when it is not in the body, so such a field
 * is only tried with the rules whose prefilter the body passed.
 */
static int redact_run(void *ctx, struct vg_prec *pr)
{
    struct redact_ctx *x = ctx;
    struct vg_field *f;
    bool changed = false, own = pr->mark != NULL, same_body = x->body && !pr->body_replaced;
    uint32_t all = (UINT32_C(1) << x->n_rules) - 1, in_body = all, maybe;
    const char *s;
    size_t len;
    int rc;

    if (x->body) {
        /* taken on the body as the parser read it, before a rule changes it */
        in_body = rd_maybe_mask(x, pr->r->body != NULL ? pr->r->body : "", pr->r->body_len);
        rc = rd_text(x, pr->r->body != NULL ? pr->r->body : "", pr->r->body_len, in_body, &maybe,
                     &s, &len);
        if (rc == 1)
            rc = vg_prec_set_body(pr, s, len) == VG_OK ? 1 : VG_ENOMEM;
        if (rc < 0)
            return rc;
        changed = rc == 1;
    }
    for (f = pr->r->fields; f != NULL; own = own && f != pr->mark, f = f->next) {
        if (!rd_wants(x, f, own) || (same_body && f->in_body && in_body == 0))
            continue;
        rc = rd_text(x, f->v.s.ptr != NULL ? f->v.s.ptr : "", f->v.s.len,
                     same_body && f->in_body ? in_body : all, &maybe, &s, &len);
        if (rc == 1)
            rc = rd_set_field(pr, f, s, len) == VG_OK ? 1 : VG_ENOMEM;
        if (rc < 0)
            return rc;
        changed = changed || rc == 1;
    }
    x->changed += changed;
    return VG_FILTER_KEEP;
}

static void redact_metrics(void *ctx, struct vg_emit *e, const char *collector, const char *step)
{
    const struct redact_ctx *x = ctx;
    size_t i;

    for (i = 0; i < RD_SLOTS; i++) {
        if (x->used[i])
            vg_emit_counter(e, "vigil_redact_matches_total",
                            "Matches a redact step replaced, by preset (or regex).",
                            (double)x->matches[i], "collector", collector, "step", step, "rule",
                            rd_names[i], NULL);
    }
    vg_filter_count_changed(e, x->changed, collector, step);
    vg_filter_count_limits(e, x->limits, collector, step);
}

static void redact_destroy(void *ctx)
{
    struct redact_ctx *x = ctx;
    size_t i;

    for (i = 0; i < x->n_rules; i++) {
        vg_pattern_free(&x->rules[i].pt);
        free(x->rules[i].pieces);
    }
    vg_buf_free(&x->buf[0]);
    vg_buf_free(&x->buf[1]);
}

const struct vg_filter_ops vg_filter_redact = {
    .name = "redact",
    .doc = "mask secrets and personal data (presets, or a regex) in the body and string fields",
    .options = redact_options,
    .ctx_size = sizeof(struct redact_ctx),
    .build = redact_build,
    .run = redact_run,
    .metrics = redact_metrics,
    .destroy = redact_destroy,
};
