/*
 * process.c - the processing stage of one record collector: its steps
 * (parser_rules first, then processors: parsers and filters in order),
 * run by the collector's sink on each record once the collector has
 * finished it and before it is sealed into a batch, on the engine thread.
 *
 * A parser step parses the body (or one field) and sets the fields it
 * finds; it never drops a record: a line it does not match is kept whole
 * and marked parse_error=true. A parsed key that names one of the fields
 * the collector set (namespace, pod, stream, ...) is left out and
 * counted, so that a line cannot claim to come from another pod. A filter
 * step may change the record or drop it; a dropped record is still
 * acknowledged to its collector with its batch (see record.c).
 */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "parse/parser.h"
#include "process.h"

enum proc_kind { PROC_PARSER, PROC_FILTER, PROC_RULES };

/* A parser as a step uses it. */
struct proc_parser {
    struct vg_parser *parser;
    char *name;
    char *field;       /* NULL: the body */
    char *message_key; /* NULL: message, msg or log */
    bool keep_body;
    uint64_t conflicts; /* parsed keys that named a source field: left out */
    uint64_t nomem;     /* fields that could not be set (out of memory) */
};

struct proc_rule {
    char *glob[4]; /* namespace, pod, container, image; NULL: any */
    struct proc_parser par;
};

/* The fields a rule looks at, and the rule the last record picked. */
static const char *const proc_rule_keys[4] = {"namespace", "pod", "container", "image"};

struct proc_rules {
    struct proc_rule *v;
    size_t n;
    /* the last record's values (records come in runs from one container) */
    char *last[4];
    size_t last_len[4];
    bool last_valid;
    ssize_t last_pick; /* -1: no rule */
};

struct proc_step {
    enum proc_kind kind;
    char *name;
    struct proc_parser *alts; /* PROC_PARSER: tried in order, the first that matches wins */
    size_t n_alts;
    const struct vg_filter_ops *ops; /* PROC_FILTER */
    void *ctx;
    uint64_t dropped;
    uint64_t failed; /* run gave an error: the record went on unchanged */
};

struct vg_process {
    struct proc_step *steps;
    size_t n, cap;
    struct proc_rules rules; /* its step is steps[0] when rules.n > 0 */
};

struct vg_process *vg_process_new(void)
{
    return vg_calloc(1, sizeof(struct vg_process));
}

size_t vg_process_steps(const struct vg_process *p)
{
    return p->n;
}

static int proc_parser_init(struct proc_parser *pp, const char *name, struct vg_parser *parser,
                            const struct vg_process_parser_opts *o)
{
    memset(pp, 0, sizeof(*pp));
    pp->parser = parser;
    pp->keep_body = o->keep_body;
    pp->name = vg_strdup(name);
    pp->field = o->field != NULL ? vg_strdup(o->field) : NULL;
    pp->message_key = o->message_key != NULL ? vg_strdup(o->message_key) : NULL;
    if (pp->name == NULL || (o->field != NULL && pp->field == NULL) ||
        (o->message_key != NULL && pp->message_key == NULL))
        return VG_ENOMEM;
    return VG_OK;
}

static void proc_parser_free(struct proc_parser *pp)
{
    vg_parser_destroy(pp->parser);
    free(pp->name);
    free(pp->field);
    free(pp->message_key);
}

/* A new step at the end (or at position 0 when first). */
static struct proc_step *proc_step_add(struct vg_process *p, bool first)
{
    struct proc_step *s;

    if (vg_grow((void **)&p->steps, &p->cap, p->n + 1, sizeof(*p->steps)) != VG_OK)
        return NULL;
    if (first) {
        memmove(p->steps + 1, p->steps, p->n * sizeof(*p->steps));
        s = &p->steps[0];
    } else {
        s = &p->steps[p->n];
    }
    memset(s, 0, sizeof(*s));
    p->n++;
    return s;
}

/* Adds a parser to step s (a parser step). */
static int proc_add_alt(struct proc_step *s, const char *name, struct vg_parser *parser,
                        const struct vg_process_parser_opts *o)
{
    struct proc_parser *v = vg_realloc(s->alts, (s->n_alts + 1) * sizeof(*v));

    if (v == NULL) {
        vg_parser_destroy(parser);
        return VG_ENOMEM;
    }
    s->alts = v;
    return proc_parser_init(&s->alts[s->n_alts++], name, parser, o);
}

int vg_process_add_parser(struct vg_process *p, const char *name, struct vg_parser *parser,
                          const struct vg_process_parser_opts *o)
{
    struct proc_step *s = proc_step_add(p, false);

    if (s == NULL) {
        vg_parser_destroy(parser);
        return VG_ENOMEM;
    }
    s->kind = PROC_PARSER;
    s->name = vg_strdup(name);
    if (s->name == NULL) {
        vg_parser_destroy(parser);
        return VG_ENOMEM;
    }
    return proc_add_alt(s, name, parser, o);
}

int vg_process_add_alternative(struct vg_process *p, const char *name, struct vg_parser *parser,
                               const struct vg_process_parser_opts *o)
{
    if (p->n == 0 || p->steps[p->n - 1].kind != PROC_PARSER) {
        vg_parser_destroy(parser);
        return VG_EINVAL;
    }
    return proc_add_alt(&p->steps[p->n - 1], name, parser, o);
}

int vg_process_add_filter(struct vg_process *p, const char *name, const struct vg_filter_ops *ops,
                          void *ctx)
{
    struct proc_step *s = proc_step_add(p, false);

    if (s == NULL) {
        ops->destroy(ctx);
        vg_options_free(ops->options, ctx);
        free(ctx);
        return VG_ENOMEM;
    }
    s->kind = PROC_FILTER;
    s->ops = ops;
    s->ctx = ctx;
    s->name = vg_strdup(name);
    return s->name != NULL ? VG_OK : VG_ENOMEM;
}

static int proc_rule_fill(struct proc_rule *r, const struct vg_process_rule *rule)
{
    const char *g[4] = {rule->namespace_, rule->pod, rule->container, rule->image};
    size_t i;

    for (i = 0; i < 4; i++) {
        r->glob[i] = g[i] != NULL ? vg_strdup(g[i]) : NULL;
        if (g[i] != NULL && r->glob[i] == NULL)
            return VG_ENOMEM;
    }
    return VG_OK;
}

int vg_process_add_rule(struct vg_process *p, const struct vg_process_rule *rule,
                        const char *parser_name, struct vg_parser *parser,
                        const struct vg_process_parser_opts *o)
{
    struct proc_rules *rs = &p->rules;
    struct proc_rule *r;
    struct proc_step *s;

    if (rs->n == 0) {
        s = proc_step_add(p, true);
        if (s != NULL)
            s->name = vg_strdup("parser_rules");
        if (s == NULL || s->name == NULL) {
            vg_parser_destroy(parser);
            return VG_ENOMEM;
        }
        s->kind = PROC_RULES;
    }
    r = vg_realloc(rs->v, (rs->n + 1) * sizeof(*rs->v));
    if (r == NULL) {
        vg_parser_destroy(parser);
        return VG_ENOMEM;
    }
    rs->v = r;
    r = &rs->v[rs->n++];
    memset(r, 0, sizeof(*r));
    if (proc_parser_init(&r->par, parser_name, parser, o) != VG_OK)
        return VG_ENOMEM;
    return proc_rule_fill(r, rule);
}

/* ---- running ---------------------------------------------------------------- */

/* What a parser's fields go to. */
struct proc_emit {
    struct proc_parser *pp;
    struct vg_prec *pr;
};

static int proc_set_field(void *arg, const struct vg_parse_field *f)
{
    struct proc_emit *a = arg;
    struct vg_prec *pr = a->pr;
    int rc = VG_OK;

    if (f->key_len == 0 || memchr(f->key, '\0', f->key_len) != NULL)
        return VG_OK; /* no key a record could carry */
    pr->value_in_body =
        a->pp->field == NULL && !pr->body_replaced && f->type == VG_FIELD_STR &&
        (uintptr_t)f->v.s.ptr >= (uintptr_t)pr->r->body &&
        f->v.s.len <= pr->r->body_len - ((uintptr_t)f->v.s.ptr - (uintptr_t)pr->r->body);
    switch (f->type) {
    case VG_FIELD_STR:
        rc = vg_prec_set_str(pr, f->key, f->key_len, f->v.s.ptr, f->v.s.len);
        break;
    case VG_FIELD_JSON:
        rc = vg_prec_set_json(pr, f->key, f->key_len, f->v.s.ptr, f->v.s.len);
        break;
    case VG_FIELD_INT:
        rc = vg_prec_set_int(pr, f->key, f->key_len, f->v.i);
        break;
    case VG_FIELD_DOUBLE:
        rc = vg_prec_set_double(pr, f->key, f->key_len, f->v.d);
        break;
    case VG_FIELD_BOOL:
        rc = vg_prec_set_bool(pr, f->key, f->key_len, f->v.b);
        break;
    }
    pr->value_in_body = false;
    if (rc == VG_EBUSY)
        a->pp->conflicts++; /* a field the collector set: it keeps its value */
    else if (rc != VG_OK)
        a->pp->nomem++; /* the field is left out; the record goes on */
    return VG_OK;
}

/* keep_body false: the body becomes the message field, which goes. */
static void proc_take_message(struct proc_parser *pp, struct vg_prec *pr)
{
    static const char *const keys[] = {"message", "msg", "log"};
    struct vg_field *f = NULL;
    const char *key = pp->message_key;
    size_t i;

    for (i = 0; key == NULL && i < VG_ARRAY_LEN(keys); i++) {
        f = vg_prec_find(pr, keys[i], strlen(keys[i]));
        if (f != NULL && !vg_prec_is_source_field(pr, f))
            key = keys[i];
    }
    if (key == NULL)
        return;
    f = vg_prec_find(pr, key, strlen(key));
    if (f == NULL || vg_prec_is_source_field(pr, f) || f->type != VG_FIELD_STR)
        return;
    if (vg_prec_set_body(pr, f->v.s.ptr, f->v.s.len) == VG_OK)
        vg_prec_remove(pr, key, strlen(key));
}

/* Runs one parser on the record: VG_OK when it matched (its errors, such
 * as a bad time, mark the record), VG_EPARSE when it did not (nothing set;
 * the caller marks the record once no parser is left). */
static int proc_parse(struct proc_parser *pp, struct vg_prec *pr)
{
    struct proc_emit a = {pp, pr};
    struct vg_parse_result res;
    const struct vg_field *src;
    const char *text = pr->r->body;
    size_t len = pr->r->body_len;
    int rc;

    if (pp->field != NULL) {
        src = vg_prec_find(pr, pp->field, strlen(pp->field));
        if (src == NULL || src->type != VG_FIELD_STR)
            return VG_OK; /* nothing to parse: the record goes on as it is */
        text = src->v.s.ptr;
        len = src->v.s.len;
    }
    pr->protect = true;
    rc = vg_parser_run(pp->parser, text, len, pr->now_ns, proc_set_field, &a, &res);
    pr->protect = false;
    if (rc != VG_OK)
        return VG_EPARSE; /* no match: kept whole */
    if (res.flags & VG_PARSE_ERRORS)
        pr->parse_error = true;
    if (res.flags & VG_PARSE_TIME)
        pr->r->time_ns = res.time_ns;
    if (!pp->keep_body)
        proc_take_message(pp, pr);
    return VG_OK;
}

/* A parser step: the first of its parsers that matches; none: marked. */
static void proc_parse_step(struct proc_step *s, struct vg_prec *pr)
{
    size_t i;

    for (i = 0; i < s->n_alts; i++)
        if (proc_parse(&s->alts[i], pr) == VG_OK)
            return;
    pr->parse_error = true;
}

/* The text of a string field of the record, or "" when it has none. */
static const char *proc_field_text(const struct vg_prec *pr, const char *key, size_t *len)
{
    const struct vg_field *f = vg_prec_find(pr, key, strlen(key));

    if (f == NULL || f->type != VG_FIELD_STR) {
        *len = 0;
        return "";
    }
    *len = f->v.s.len;
    return f->v.s.ptr;
}

/* True when the record's fields are those of the last record the rules
 * saw; else remembers them. */
static bool proc_rules_same(struct proc_rules *rs, const char *const *v, const size_t *len)
{
    size_t i;
    char *copy;

    for (i = 0; rs->last_valid && i < 4; i++)
        if (len[i] != rs->last_len[i] || memcmp(v[i], rs->last[i], len[i]) != 0)
            break;
    if (rs->last_valid && i == 4)
        return true;
    rs->last_valid = true;
    for (i = 0; i < 4; i++) {
        copy = vg_realloc(rs->last[i], len[i] + 1);
        if (copy == NULL) {
            rs->last_valid = false; /* asked again next time */
            return false;
        }
        memcpy(copy, v[i], len[i]);
        copy[len[i]] = '\0';
        rs->last[i] = copy;
        rs->last_len[i] = len[i];
    }
    return false;
}

/* The first rule whose globs all match, or -1. */
static ssize_t proc_rules_pick(const struct proc_rules *rs, char *const *v)
{
    size_t i, k;

    for (i = 0; i < rs->n; i++) {
        for (k = 0; k < 4; k++)
            if (rs->v[i].glob[k] != NULL && fnmatch(rs->v[i].glob[k], v[k], 0) != 0)
                break;
        if (k == 4)
            return (ssize_t)i;
    }
    return -1;
}

static void proc_rules_run(struct proc_rules *rs, struct vg_prec *pr)
{
    const char *v[4];
    size_t len[4], i;

    for (i = 0; i < 4; i++)
        v[i] = proc_field_text(pr, proc_rule_keys[i], &len[i]);
    if (!proc_rules_same(rs, v, len)) {
        if (!rs->last_valid)
            return; /* out of memory: this record goes unparsed */
        rs->last_pick = proc_rules_pick(rs, rs->last);
    }
    if (rs->last_pick >= 0 && proc_parse(&rs->v[rs->last_pick].par, pr) != VG_OK)
        pr->parse_error = true;
}

int vg_process_run(struct vg_process *p, struct vg_prec *pr)
{
    struct proc_step *s;
    size_t i;
    int rc;

    for (i = 0; i < p->n; i++) {
        s = &p->steps[i];
        if (s->kind == PROC_RULES) {
            proc_rules_run(&p->rules, pr);
        } else if (s->kind == PROC_PARSER) {
            proc_parse_step(s, pr);
        } else {
            rc = s->ops->run(s->ctx, pr);
            if (rc == VG_FILTER_DROP) {
                s->dropped++;
                return VG_FILTER_DROP;
            }
            if (rc != VG_FILTER_KEEP)
                s->failed++;
        }
    }
    if (pr->parse_error && vg_prec_set_bool(pr, "parse_error", 11, true) != VG_OK)
        return VG_FILTER_KEEP; /* out of memory: the record goes without its mark */
    return VG_FILTER_KEEP;
}

/* ---- metrics ---------------------------------------------------------------- */

static void proc_parser_metrics(const struct proc_parser *pp, struct vg_emit *e,
                                const char *collector)
{
    static const char *const errs_help =
        "Records a parser did not match or matched with an error (kept whole, with "
        "parse_error=true), by reason.";
    struct vg_parser_stats st;

    vg_parser_stats(pp->parser, &st);
    vg_emit_counter(e, "vigil_parse_records_total", "Records a parser step ran on.",
                    (double)st.lines, "collector", collector, "parser", pp->name, NULL);
    vg_emit_counter(e, "vigil_parse_errors_total", errs_help, (double)(st.nomatch - st.limit),
                    "collector", collector, "parser", pp->name, "reason", "no_match", NULL);
    vg_emit_counter(e, "vigil_parse_errors_total", errs_help, (double)st.limit, "collector",
                    collector, "parser", pp->name, "reason", "match_limit", NULL);
    vg_emit_counter(e, "vigil_parse_errors_total", errs_help, (double)st.bad_time, "collector",
                    collector, "parser", pp->name, "reason", "bad_time", NULL);
    vg_emit_counter(e, "vigil_parse_errors_total", errs_help, (double)st.bad_type, "collector",
                    collector, "parser", pp->name, "reason", "bad_type", NULL);
    vg_emit_counter(e, "vigil_parse_errors_total", errs_help, (double)st.too_many, "collector",
                    collector, "parser", pp->name, "reason", "too_many_fields", NULL);
    vg_emit_counter(e, "vigil_parse_field_conflicts_total",
                    "Parsed fields left out because they named a field the collector set "
                    "(namespace, pod, stream, ...).",
                    (double)pp->conflicts, "collector", collector, "parser", pp->name, NULL);
}

void vg_process_emit_metrics(struct vg_process *p, struct vg_emit *e, const char *collector)
{
    const struct proc_step *s;
    size_t i, k;

    for (i = 0; i < p->rules.n; i++)
        proc_parser_metrics(&p->rules.v[i].par, e, collector);
    for (i = 0; i < p->n; i++) {
        s = &p->steps[i];
        for (k = 0; k < s->n_alts; k++)
            proc_parser_metrics(&s->alts[k], e, collector);
        if (s->kind != PROC_FILTER)
            continue;
        vg_emit_counter(e, "vigil_filter_dropped_total", "Records a filter step dropped.",
                        (double)s->dropped, "collector", collector, "step", s->name, NULL);
        vg_emit_counter(e, "vigil_filter_errors_total",
                        "Records a filter step could not handle (out of memory): passed on "
                        "unchanged.",
                        (double)s->failed, "collector", collector, "step", s->name, NULL);
        if (s->ops->metrics != NULL)
            s->ops->metrics(s->ctx, e, collector, s->name);
    }
}

void vg_process_destroy(struct vg_process *p)
{
    size_t i, k;

    if (p == NULL)
        return;
    for (i = 0; i < p->n; i++) {
        struct proc_step *s = &p->steps[i];

        for (k = 0; k < s->n_alts; k++)
            proc_parser_free(&s->alts[k]);
        free(s->alts);
        if (s->kind == PROC_FILTER) {
            s->ops->destroy(s->ctx);
            vg_options_free(s->ops->options, s->ctx);
            free(s->ctx);
        }
        free(s->name);
    }
    for (i = 0; i < p->rules.n; i++) {
        proc_parser_free(&p->rules.v[i].par);
        for (k = 0; k < 4; k++)
            free(p->rules.v[i].glob[k]);
    }
    for (k = 0; k < 4; k++)
        free(p->rules.last[k]);
    free(p->rules.v);
    free(p->steps);
    free(p);
}
