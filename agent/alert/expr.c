/*
 * expr.c - parsing and matching of alert expressions (expr.h): a small
 * recursive-descent reader over one string, with the offset of every
 * problem in its message.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert/expr.h"
#include "alloc.h"
#include "parse/parser.h"

#define EXPR_VALUE_MAX 1024 /* longest matcher value */

/* A reader over text; why is set by the first error only. */
struct expr_in {
    const char *s;
    size_t pos;
    char *why;
    size_t why_size;
    int rc;
};

static void expr_fail(struct expr_in *in, const char *fmt, ...) VG_PRINTF(2, 3);

static void expr_fail(struct expr_in *in, const char *fmt, ...)
{
    char msg[256];
    va_list ap;

    if (in->rc != VG_OK)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(in->why, in->why_size, "at offset %zu: %s", in->pos, msg);
    in->rc = VG_EPARSE;
}

static void expr_space(struct expr_in *in)
{
    while (in->s[in->pos] == ' ' || in->s[in->pos] == '\t' || in->s[in->pos] == '\n')
        in->pos++;
}

static bool expr_name_char(char c, bool first, bool colon)
{
    if (isalpha((unsigned char)c) || c == '_' || (colon && c == ':'))
        return true;
    return !first && isdigit((unsigned char)c);
}

/* A metric name (colon) or label name at the reader, malloc'd; NULL when
 * there is none (reported as `what`) or out of memory. */
static char *expr_name(struct expr_in *in, bool colon, const char *what)
{
    size_t start = in->pos;
    char *name;

    while (expr_name_char(in->s[in->pos], in->pos == start, colon))
        in->pos++;
    if (in->pos == start) {
        expr_fail(in, "expected %s", what);
        return NULL;
    }
    name = vg_strndup(in->s + start, in->pos - start);
    if (name == NULL && in->rc == VG_OK) {
        snprintf(in->why, in->why_size, "out of memory");
        in->rc = VG_ENOMEM;
    }
    return name;
}

static char expr_unescape(char c)
{
    if (c == 'n')
        return '\n';
    if (c == 't')
        return '\t';
    return c;
}

/* A quoted string ("..." or '...', with \ escapes) at the reader. */
static char *expr_string(struct expr_in *in)
{
    char q = in->s[in->pos], buf[EXPR_VALUE_MAX];
    size_t n = 0;

    if (q != '"' && q != '\'') {
        expr_fail(in, "expected a quoted label value");
        return NULL;
    }
    in->pos++;
    while (in->s[in->pos] != q) {
        char c = in->s[in->pos];

        if (c == '\0') {
            expr_fail(in, "unterminated label value");
            return NULL;
        }
        if (c == '\\' && in->s[in->pos + 1] != '\0')
            c = expr_unescape(in->s[++in->pos]);
        if (n + 1 >= sizeof(buf)) {
            expr_fail(in, "label value longer than %d bytes", EXPR_VALUE_MAX - 1);
            return NULL;
        }
        buf[n++] = c;
        in->pos++;
    }
    in->pos++;
    buf[n] = '\0';
    return vg_strdup(buf);
}

static bool expr_take(struct expr_in *in, const char *tok)
{
    size_t n = strlen(tok);

    if (strncmp(in->s + in->pos, tok, n) != 0)
        return false;
    in->pos += n;
    return true;
}

static bool expr_match_op(struct expr_in *in, enum vg_alert_match_op *op)
{
    if (expr_take(in, "=~"))
        *op = VG_ALERT_RE;
    else if (expr_take(in, "!~"))
        *op = VG_ALERT_NRE;
    else if (expr_take(in, "!="))
        *op = VG_ALERT_NE;
    else if (expr_take(in, "="))
        *op = VG_ALERT_EQ;
    else
        return false;
    return true;
}

/* Compiles the pattern of a regex matcher, anchored as Prometheus does. */
static void expr_compile(struct expr_in *in, struct vg_alert_matcher *m)
{
    size_t len = strlen(m->value) + 8;
    char *anchored = vg_malloc(len), msg[256];

    if (anchored == NULL) {
        expr_fail(in, "out of memory");
        return;
    }
    snprintf(anchored, len, "^(?:%s)$", m->value);
    if (vg_regex_create(anchored, 0, &m->re, msg, sizeof(msg)) != VG_OK)
        expr_fail(in, "bad regex for label '%s': %s", m->label, msg);
    free(anchored);
}

static void expr_matcher(struct expr_in *in, struct vg_alert_selector *sel)
{
    struct vg_alert_matcher *m;

    if (sel->n == VG_ALERT_MAX_MATCHERS) {
        expr_fail(in, "more than %d label matchers", VG_ALERT_MAX_MATCHERS);
        return;
    }
    m = &sel->m[sel->n++];
    m->label = expr_name(in, false, "a label name");
    if (m->label == NULL)
        return;
    expr_space(in);
    if (!expr_match_op(in, &m->op)) {
        expr_fail(in, "expected a label matcher operator (=, !=, =~, !~)");
        return;
    }
    expr_space(in);
    m->value = expr_string(in);
    if (m->value != NULL && (m->op == VG_ALERT_RE || m->op == VG_ALERT_NRE))
        expr_compile(in, m);
}

/* "{" matchers "}" after the metric name, when there is a brace. */
static void expr_matchers(struct expr_in *in, struct vg_alert_selector *sel)
{
    if (in->s[in->pos] != '{')
        return;
    in->pos++;
    for (;;) {
        expr_space(in);
        if (in->s[in->pos] == '}')
            break;
        expr_matcher(in, sel);
        if (in->rc != VG_OK)
            return;
        expr_space(in);
        if (in->s[in->pos] == ',') {
            in->pos++;
            continue;
        }
        if (in->s[in->pos] != '}') {
            expr_fail(in, "expected ',' or '}' after a label matcher");
            return;
        }
    }
    in->pos++;
}

static bool expr_cmp(struct expr_in *in, enum vg_alert_cmp *c)
{
    static const struct {
        const char *tok;
        enum vg_alert_cmp c;
    } ops[] = {{">=", VG_CMP_GE}, {"<=", VG_CMP_LE}, {"==", VG_CMP_EQ},
               {"!=", VG_CMP_NE}, {">", VG_CMP_GT},  {"<", VG_CMP_LT}};
    size_t i;

    for (i = 0; i < VG_ARRAY_LEN(ops); i++) {
        if (expr_take(in, ops[i].tok)) {
            *c = ops[i].c;
            return true;
        }
    }
    return false;
}

/* A number at the reader: decimal, exponent, Inf, NaN. */
static bool expr_number(struct expr_in *in, double *out)
{
    const char *start = in->s + in->pos;
    char *end;

    if (*start == '\0' || isspace((unsigned char)*start))
        return false;
    errno = 0;
    *out = strtod(start, &end);
    if (end == start || errno == ERANGE)
        return false;
    in->pos += (size_t)(end - start);
    return true;
}

/* "<op> <number>" */
static void expr_test(struct expr_in *in, struct vg_alert_test *test)
{
    expr_space(in);
    if (!expr_cmp(in, &test->cmp)) {
        expr_fail(in, "expected a comparison (>, >=, <, <=, ==, !=) and a number");
        return;
    }
    expr_space(in);
    if (!expr_number(in, &test->threshold))
        expr_fail(in, "expected a number after '%s'", vg_alert_cmp_text(test->cmp));
}

static void expr_end(struct expr_in *in)
{
    expr_space(in);
    if (in->rc == VG_OK && in->s[in->pos] != '\0')
        expr_fail(in, "unexpected '%.20s'", in->s + in->pos);
}

int vg_alert_expr_parse(const char *text, struct vg_alert_selector *sel, struct vg_alert_test *test,
                        char *why, size_t why_size)
{
    struct expr_in in = {text != NULL ? text : "", 0, why, why_size, VG_OK};

    memset(sel, 0, sizeof(*sel));
    expr_space(&in);
    sel->metric = expr_name(&in, true, "a metric name");
    if (in.rc == VG_OK) {
        expr_space(&in);
        expr_matchers(&in, sel);
    }
    if (in.rc == VG_OK)
        expr_test(&in, test);
    expr_end(&in);
    return in.rc;
}

void vg_alert_selector_free(struct vg_alert_selector *sel)
{
    size_t i;

    for (i = 0; i < sel->n; i++) {
        free(sel->m[i].label);
        free(sel->m[i].value);
        vg_regex_destroy(sel->m[i].re);
    }
    free(sel->metric);
    memset(sel, 0, sizeof(*sel));
}

/* Copies a duration word ("5m", "1h30m") at the reader into word. */
static bool expr_duration(struct expr_in *in, char *word, size_t size)
{
    size_t start = in->pos;

    while (isalnum((unsigned char)in->s[in->pos]))
        in->pos++;
    if (in->pos == start || in->pos - start >= size)
        return false;
    snprintf(word, size, "%.*s", (int)(in->pos - start), in->s + start);
    return true;
}

int vg_alert_count_parse(const char *text, struct vg_alert_test *test, char *window,
                         size_t window_size, char *why, size_t why_size)
{
    struct expr_in in = {text != NULL ? text : "", 0, why, why_size, VG_OK};

    expr_test(&in, test);
    expr_space(&in);
    if (in.rc == VG_OK && !expr_take(&in, "in"))
        expr_fail(&in, "expected 'in <duration>' (such as \"> 0 in 5m\")");
    expr_space(&in);
    if (in.rc == VG_OK && !expr_duration(&in, window, window_size))
        expr_fail(&in, "expected a duration such as 5m after 'in'");
    expr_end(&in);
    return in.rc;
}

static enum vg_alert_cmp expr_negate(enum vg_alert_cmp c)
{
    static const enum vg_alert_cmp neg[] = {
        [VG_CMP_GT] = VG_CMP_LE, [VG_CMP_GE] = VG_CMP_LT, [VG_CMP_LT] = VG_CMP_GE,
        [VG_CMP_LE] = VG_CMP_GT, [VG_CMP_EQ] = VG_CMP_NE, [VG_CMP_NE] = VG_CMP_EQ,
    };

    return neg[c];
}

int vg_alert_clear_parse(const char *text, const struct vg_alert_test *fire,
                         struct vg_alert_test *keep, char *why, size_t why_size)
{
    struct expr_in in = {text != NULL ? text : "", 0, why, why_size, VG_OK};
    struct vg_alert_test t;

    expr_space(&in);
    if (expr_number(&in, &keep->threshold)) {
        keep->cmp = fire->cmp;
        expr_end(&in);
        return in.rc;
    }
    while (expr_name_char(in.s[in.pos], false, true))
        in.pos++;
    expr_test(&in, &t);
    expr_end(&in);
    if (in.rc != VG_OK)
        return in.rc;
    keep->cmp = expr_negate(t.cmp);
    keep->threshold = t.threshold;
    return VG_OK;
}

static const char *expr_label_value(const struct vg_label *labels, size_t n, const char *name)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (strcmp(labels[i].name, name) == 0)
            return labels[i].value;
    return "";
}

bool vg_alert_selector_matches(const struct vg_alert_selector *sel, const struct vg_label *labels,
                               size_t n)
{
    size_t i;
    bool limit, hit;

    for (i = 0; i < sel->n; i++) {
        const struct vg_alert_matcher *m = &sel->m[i];
        const char *v = expr_label_value(labels, n, m->label);

        if (m->op == VG_ALERT_EQ || m->op == VG_ALERT_NE)
            hit = strcmp(v, m->value) == 0;
        else
            hit = vg_regex_match(m->re, v, strlen(v), &limit) > 0;
        if (hit != (m->op == VG_ALERT_EQ || m->op == VG_ALERT_RE))
            return false;
    }
    return true;
}

bool vg_alert_test_holds(const struct vg_alert_test *t, double v)
{
    if (isnan(v))
        return false;
    switch (t->cmp) {
    case VG_CMP_GT:
        return v > t->threshold;
    case VG_CMP_GE:
        return v >= t->threshold;
    case VG_CMP_LT:
        return v < t->threshold;
    case VG_CMP_LE:
        return v <= t->threshold;
    case VG_CMP_EQ:
        return v == t->threshold;
    case VG_CMP_NE:
        return v != t->threshold;
    }
    return false;
}

const char *vg_alert_cmp_text(enum vg_alert_cmp c)
{
    static const char *const text[] = {">", ">=", "<", "<=", "==", "!="};

    return (unsigned)c < VG_ARRAY_LEN(text) ? text[c] : "?";
}
