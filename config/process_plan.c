/*
 * process_plan.c - the processing steps of each record collector, from the
 * top-level `parsers:` and `filters:` sections and the collector's own
 * `parser_rules:`, `parser:` and `processors:` options. Every problem is
 * reported with its file and line; every step is built (regexes compiled)
 * here, so --check-config refuses what the agent would.
 *
 * A step is a name (a parser or filter declared under parsers:/filters:,
 * or a built-in parser: nginx, apache, json, ...) or an inline map with a
 * `type:` (a parser type, a built-in parser's name, or a filter type).
 * Each collector gets its own instances: parsers keep per-line scratch
 * and counters.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "config.h"
#include "parse/parse.h"
#include "parse/parser.h"
#include "process.h"

#define PP_WHERE 192

/* The options of a parser (declared, inline, or named by a rule). */
struct pp_opts {
    char *name;
    char *pattern;
    const struct vg_config_node *types;
    char *time_key, *time_format, *time_offset;
    bool time_keep;
    int64_t match_limit;
    bool strict;
    char *merge_into;
    char *field;
    bool keep_body;
    char *message_key;
};

#define PP_OPT(name, type, def, field, doc)                                                        \
    {                                                                                              \
        name, type, def, offsetof(struct pp_opts, field), doc, 0, NULL                             \
    }

static const struct vg_option pp_options[] = {
    PP_OPT("name", VG_OPT_STR, NULL, name, "the parser's name, for processors: and metrics"),
    PP_OPT("pattern", VG_OPT_STR, NULL, pattern, "regex: PCRE2, named groups become fields"),
    PP_OPT("types", VG_OPT_NODE, NULL, types, "{field: int|float|bool|string}: conversions"),
    PP_OPT("time_key", VG_OPT_STR, NULL, time_key, "the field holding the record's time"),
    PP_OPT("time_format", VG_OPT_STR, NULL, time_format,
           "strftime-like format of time_key (%f/%L fractions, %z); default: automatic"),
    PP_OPT("time_offset", VG_OPT_STR, NULL, time_offset,
           "zone of times that give none, such as +01:00; default UTC"),
    PP_OPT("time_keep", VG_OPT_BOOL, "false", time_keep, "keep time_key's field once read"),
    {"match_limit", VG_OPT_INT, "0", offsetof(struct pp_opts, match_limit),
     "regex: PCRE2 match limit (0: the default, 100000); a line past it is kept whole",
     VG_OPT_RANGE, NULL, 0, 1000000000},
    PP_OPT("strict", VG_OPT_BOOL, "false", strict, "json: refuse raw control bytes in strings"),
    PP_OPT("merge_into", VG_OPT_STR, NULL, merge_into,
           "json: put the members into one object field of this name"),
    PP_OPT("field", VG_OPT_STR, NULL, field, "the field to parse; default: the body"),
    PP_OPT("keep_body", VG_OPT_BOOL, "true", keep_body,
           "false: the body becomes the parsed message field (message_key)"),
    PP_OPT("message_key", VG_OPT_STR, NULL, message_key,
           "with keep_body false: the field that becomes the body; default: message, msg, log"),
    {NULL, 0, NULL, 0, NULL, 0, NULL},
};

/* A parser or filter declared under parsers: or filters:. */
struct pp_decl {
    const char *name;
    const char *type;
    const struct vg_config_node *node;
    bool filter;
    bool ok; /* it built: its uses build too (their errors would repeat its own) */
};

struct pp_work {
    struct pp_decl *decls;
    size_t n, cap;
    struct vg_errors *errs;
    struct vg_errors quiet; /* errors of a declaration's uses: said once, at it */
};

/* The built-in parsers' names, for suggestions. */
static const char *const pp_builtins[] = {"nginx", "apache", "syslog_rfc3164", "syslog_rfc5424",
                                          "klog",  "json",   "logfmt",         "level"};
static const char *const pp_parser_types[] = {"regex",          "json",           "logfmt", "klog",
                                              "syslog_rfc3164", "syslog_rfc5424", "level"};

/* The `types:` map as parser settings; false after reporting a bad entry. */
static bool pp_types(const struct vg_config_node *map, const char *where,
                     struct vg_parser_type **out, size_t *n, struct vg_errors *errs)
{
    const struct vg_config_node *c;
    size_t i = 0;

    *out = NULL;
    *n = 0;
    if (map == NULL)
        return true;
    if (map->kind != VG_NODE_MAP) {
        vg_errors_add(errs, map, "%s: option 'types': expected a map {field: int|float|bool}",
                      where);
        return false;
    }
    *out = vg_calloc(map->n_children + 1, sizeof(**out));
    if (*out == NULL)
        return false;
    for (c = map->children; c != NULL; c = c->next, i++) {
        (*out)[i].key = c->key;
        if (c->kind != VG_NODE_SCALAR || vg_parser_type_parse(c->value, &(*out)[i].type) != VG_OK) {
            vg_errors_add(errs, c, "%s: option 'types': '%s' must be int, float, bool or string",
                          where, c->key);
            return false;
        }
    }
    *n = i;
    return true;
}

/* The settings of a parser of that type: a built-in's, with what the
 * entry gives over them. */
static bool pp_settings(const struct vg_config_node *entry, const char *type, struct pp_opts *o,
                        const char *where, struct vg_parser_settings *s, struct vg_errors *errs)
{
    if (vg_parser_builtin(type, s) != VG_OK) {
        memset(s, 0, sizeof(*s));
        s->type = type;
    }
    s->name = o->name != NULL ? o->name : type;
    if (o->pattern != NULL)
        s->pattern = o->pattern;
    if (o->time_key != NULL)
        s->time_key = o->time_key;
    if (o->time_format != NULL)
        s->time_format = o->time_format;
    if (vg_node_get(entry, "time_keep") != NULL)
        s->time_keep = o->time_keep;
    if (o->match_limit > 0)
        s->match_limit = (uint32_t)o->match_limit;
    if (vg_node_get(entry, "strict") != NULL)
        s->strict = o->strict;
    if (o->merge_into != NULL)
        s->merge_into = o->merge_into;
    if (o->time_offset != NULL &&
        vg_time_offset_parse(o->time_offset, &s->time_offset_s) != VG_OK) {
        vg_errors_add(errs, vg_node_get(entry, "time_offset"),
                      "%s: option 'time_offset': '%s' is no zone offset (such as +01:00 or "
                      "-0500)",
                      where, o->time_offset);
        return false;
    }
    return true;
}

/* Builds a parser from a map entry of that type. On VG_OK *out owns it and
 * *o holds its step options (vg_options_free(pp_options, o) after use). */
static int pp_parser(const struct vg_config_node *entry, const char *type, const char *where,
                     struct pp_opts *o, struct vg_parser **out, struct vg_errors *errs)
{
    static const char *const ignore[] = {"type", NULL};
    const struct vg_option *tables[1] = {pp_options};
    void *ctxs[1] = {o};
    struct vg_parser_settings s;
    struct vg_parser_type *types = NULL;
    struct vg_error err = {0};
    const struct vg_config_node *at;
    int rc;

    *out = NULL;
    memset(o, 0, sizeof(*o));
    rc = vg_options_apply(tables, ctxs, 1, entry, where, ignore, errs);
    if (rc != VG_OK)
        return rc;
    if (!pp_settings(entry, type, o, where, &s, errs) ||
        !pp_types(o->types, where, &types, &s.n_types, errs)) {
        free(types);
        return VG_ECONFIG;
    }
    s.types = types != NULL ? types : s.types;
    rc = vg_parser_create(&s, out, &err);
    free(types);
    if (rc == VG_OK)
        return VG_OK;
    at = strstr(err.msg, "pattern") != NULL ? vg_node_get(entry, "pattern") : NULL;
    vg_errors_add(errs, at != NULL ? at : entry, "%s: %s", where, err.msg);
    return rc;
}

/* ---- declarations ----------------------------------------------------------- */

static const struct pp_decl *pp_find(const struct pp_work *w, const char *name)
{
    size_t i;

    for (i = 0; i < w->n; i++)
        if (strcmp(w->decls[i].name, name) == 0)
            return &w->decls[i];
    return NULL;
}

/* The `type:` and `name:` of a declared entry; NULL after reporting. */
static const char *pp_decl_type(const struct vg_config_node *e, const char *where,
                                const char **name, struct vg_errors *errs)
{
    const struct vg_config_node *t = vg_node_get(e, "type"), *n = vg_node_get(e, "name");

    if (e->kind != VG_NODE_MAP) {
        vg_errors_add(errs, e, "%s: expected a map with a 'name' and a 'type'", where);
        return NULL;
    }
    if (n == NULL || n->kind != VG_NODE_SCALAR || n->value[0] == '\0') {
        vg_errors_add(errs, n != NULL ? n : e,
                      "%s: missing 'name' (the name processors: lists it by)", where);
        return NULL;
    }
    if (t == NULL || t->kind != VG_NODE_SCALAR) {
        vg_errors_add(errs, t != NULL ? t : e, "%s: missing 'type'", where);
        return NULL;
    }
    *name = n->value;
    return t->value;
}

static void pp_unknown_type(const struct vg_config_node *at, const char *where, const char *type,
                            bool filter, struct vg_errors *errs)
{
    const char *names[32] = {NULL}, *pick;
    size_t n = 0, i;

    if (filter) {
        for (i = 0; vg_filter_registry[i] != NULL && n < VG_ARRAY_LEN(names); i++)
            names[n++] = vg_filter_registry[i]->name;
    } else {
        for (i = 0; i < VG_ARRAY_LEN(pp_parser_types); i++)
            names[n++] = pp_parser_types[i];
        for (i = 0; i < VG_ARRAY_LEN(pp_builtins); i++)
            names[n++] = pp_builtins[i];
    }
    pick = vg_suggest(type, names, n);
    if (pick != NULL)
        vg_errors_add(errs, at, "%s: unknown %s type '%s' (did you mean '%s'?)", where,
                      filter ? "filter" : "parser", type, pick);
    else
        vg_errors_add(errs, at, "%s: unknown %s type '%s'", where, filter ? "filter" : "parser",
                      type);
}

static bool pp_parser_type_known(const char *type)
{
    struct vg_parser_settings s;
    size_t i;

    for (i = 0; i < VG_ARRAY_LEN(pp_parser_types); i++)
        if (strcmp(type, pp_parser_types[i]) == 0)
            return true;
    return vg_parser_builtin(type, &s) == VG_OK;
}

/* Builds an entry once to report its errors at the declaration. */
static bool pp_try(const struct vg_config_node *e, const char *type, bool filter, const char *name,
                   const char *where, struct vg_errors *errs)
{
    struct vg_parser *parser;
    struct pp_opts o;
    void *ctx;
    int rc;

    if (filter) {
        rc = vg_filter_plan(vg_filter_find(type), e, where, name, &ctx, errs);
        vg_filter_free(vg_filter_find(type), ctx);
        return rc == VG_OK;
    }
    rc = pp_parser(e, type, where, &o, &parser, errs);
    vg_parser_destroy(parser);
    vg_options_free(pp_options, &o);
    return rc == VG_OK;
}

static int pp_declare(struct pp_work *w, const struct vg_config_node *sec, bool filter)
{
    const struct vg_config_node *e;
    const char *name, *type, *what = filter ? "filters" : "parsers";
    char where[PP_WHERE];
    size_t i = 0;
    int rc = VG_OK;

    for (e = sec != NULL && sec->kind == VG_NODE_SEQ ? sec->children : NULL; e != NULL;
         e = e->next, i++) {
        snprintf(where, sizeof(where), "%s[%zu]", what, i);
        type = pp_decl_type(e, where, &name, w->errs);
        if (type == NULL) {
            rc = VG_ECONFIG;
            continue;
        }
        snprintf(where, sizeof(where), "%s[%zu] (%s)", what, i, name);
        if (filter ? vg_filter_find(type) == NULL : !pp_parser_type_known(type)) {
            pp_unknown_type(vg_node_get(e, "type"), where, type, filter, w->errs);
            rc = VG_ECONFIG;
            continue;
        }
        if (pp_find(w, name) != NULL) {
            vg_errors_add(w->errs, vg_node_get(e, "name"),
                          "%s: '%s' is declared twice (parsers and filters share one set of "
                          "names)",
                          where, name);
            rc = VG_ECONFIG;
            continue;
        }
        if (vg_grow((void **)&w->decls, &w->cap, w->n + 1, sizeof(*w->decls)) != VG_OK)
            return VG_ENOMEM;
        w->decls[w->n] = (struct pp_decl){name, type, e, filter, false};
        w->decls[w->n].ok = pp_try(e, type, filter, name, where, w->errs);
        rc = w->decls[w->n++].ok ? rc : VG_ECONFIG;
    }
    if (sec != NULL && sec->kind != VG_NODE_SEQ &&
        !(sec->kind == VG_NODE_SCALAR && !sec->quoted && sec->value[0] == '\0')) {
        vg_errors_add(w->errs, sec, "%s: expected a sequence of maps ('- name: ...')", what);
        rc = VG_ECONFIG;
    }
    return rc;
}

/* ---- steps ------------------------------------------------------------------ */

/* Where a parser goes: a step of its own, an alternative of the step
 * before (a list in processors:), or a rule of parser_rules. */
struct pp_to {
    enum { PP_STEP, PP_ALT, PP_RULE } kind;
    const struct vg_process_rule *rule;
};

static const struct pp_to pp_step = {PP_STEP, NULL};

static int pp_attach(struct vg_process *p, const struct pp_to *to, const char *name,
                     struct vg_parser *parser, const struct vg_process_parser_opts *po)
{
    if (to->kind == PP_RULE)
        return vg_process_add_rule(p, to->rule, name, parser, po);
    if (to->kind == PP_ALT)
        return vg_process_add_alternative(p, name, parser, po);
    return vg_process_add_parser(p, name, parser, po);
}

/* Adds a parser step (or a rule's parser) built from a map entry. */
static int pp_add_parser(struct vg_process *p, const struct pp_to *to,
                         const struct vg_config_node *e, const char *type, const char *name,
                         const char *where, struct vg_errors *errs)
{
    struct vg_process_parser_opts po;
    struct vg_parser *parser;
    struct pp_opts o;
    int rc = pp_parser(e, type, where, &o, &parser, errs);

    if (rc == VG_OK) {
        po = (struct vg_process_parser_opts){o.field, o.keep_body, o.message_key};
        rc = pp_attach(p, to, o.name != NULL ? o.name : name, parser, &po);
    }
    vg_options_free(pp_options, &o);
    return rc;
}

/* A built-in parser named by a step, with the step defaults. */
static int pp_add_builtin(struct vg_process *p, const struct pp_to *to, const char *name)
{
    struct vg_process_parser_opts po = {NULL, true, NULL};
    struct vg_parser_settings s;
    struct vg_parser *parser;
    struct vg_error err = {0};

    if (vg_parser_builtin(name, &s) != VG_OK || vg_parser_create(&s, &parser, &err) != VG_OK)
        return VG_ECONFIG;
    return pp_attach(p, to, name, parser, &po);
}

static int pp_add_filter(struct vg_process *p, const struct vg_config_node *e, const char *type,
                         const char *name, const char *where, struct vg_errors *errs)
{
    const struct vg_filter_ops *ops = vg_filter_find(type);
    void *ctx;
    int rc = vg_filter_plan(ops, e, where, name, &ctx, errs);

    return rc == VG_OK ? vg_process_add_filter(p, name, ops, ctx) : rc;
}

/* The names a step may give, for a suggestion. */
static const char *pp_suggest_step(const struct pp_work *w, const char *word)
{
    const char **names = vg_calloc(w->n + VG_ARRAY_LEN(pp_builtins) + 1, sizeof(*names));
    const char *pick;
    size_t i, n = 0;

    if (names == NULL)
        return NULL;
    for (i = 0; i < w->n; i++)
        names[n++] = w->decls[i].name;
    for (i = 0; i < VG_ARRAY_LEN(pp_builtins); i++)
        names[n++] = pp_builtins[i];
    pick = vg_suggest(word, names, n);
    free(names);
    return pick;
}

/* A step given by name: declared, else a built-in parser; a filter only
 * as a step of its own. */
static int pp_add_named(struct pp_work *w, struct vg_process *p, const struct pp_to *to,
                        const struct vg_config_node *at, const char *where)
{
    const struct pp_decl *d = pp_find(w, at->value);
    struct vg_parser_settings s;
    const char *pick;
    bool parser_only = to->kind != PP_STEP;

    if (d != NULL && d->filter && parser_only) {
        vg_errors_add(w->errs, at, "%s: '%s' is a filter, not a parser", where, at->value);
        return VG_ECONFIG;
    }
    if (d != NULL && !d->ok)
        return VG_ECONFIG; /* said at the declaration */
    if (d != NULL && d->filter)
        return pp_add_filter(p, d->node, d->type, d->name, where, &w->quiet);
    if (d != NULL)
        return pp_add_parser(p, to, d->node, d->type, d->name, where, &w->quiet);
    if (vg_parser_builtin(at->value, &s) == VG_OK)
        return pp_add_builtin(p, to, at->value);
    pick = pp_suggest_step(w, at->value);
    if (pick != NULL)
        vg_errors_add(w->errs, at, "%s: unknown %s '%s' (did you mean '%s'?)", where,
                      parser_only ? "parser" : "step", at->value, pick);
    else
        vg_errors_add(w->errs, at,
                      "%s: unknown %s '%s' (declare it under parsers: or filters:, or use a "
                      "built-in parser: %s)",
                      where, parser_only ? "parser" : "step", at->value, vg_parser_builtin_names());
    return VG_ECONFIG;
}

static int pp_add_one(struct pp_work *w, struct vg_process *p, const struct pp_to *to,
                      const struct vg_config_node *e, const char *where);

/* A list in processors: parsers tried in order, the first that matches
 * wins; a line none matches is marked parse_error. */
static int pp_add_choice(struct pp_work *w, struct vg_process *p, const struct vg_config_node *seq,
                         const char *where)
{
    static const struct pp_to alt = {PP_ALT, NULL};
    const struct vg_config_node *e;
    char at[PP_WHERE + 96];
    size_t j = 0;
    int rc = VG_OK;

    if (seq->n_children == 0) {
        vg_errors_add(w->errs, seq, "%s: an empty list of parsers", where);
        return VG_ECONFIG;
    }
    for (e = seq->children; e != NULL; e = e->next, j++) {
        snprintf(at, sizeof(at), "%s[%zu]", where, j);
        if (pp_add_one(w, p, rc == VG_OK && j > 0 ? &alt : &pp_step, e, at) != VG_OK)
            rc = VG_ECONFIG;
    }
    return rc;
}

/* One entry of processors: a name, a list of parsers, or an inline map. */
static int pp_add_step(struct pp_work *w, struct vg_process *p, const struct vg_config_node *e,
                       const char *where)
{
    if (e->kind == VG_NODE_SEQ)
        return pp_add_choice(w, p, e, where);
    return pp_add_one(w, p, &pp_step, e, where);
}

/* A name or an inline map with a type, going where `to` says. */
static int pp_add_one(struct pp_work *w, struct vg_process *p, const struct pp_to *to,
                      const struct vg_config_node *e, const char *where)
{
    const struct vg_config_node *t = vg_node_get(e, "type"), *n = vg_node_get(e, "name");
    const char *name;

    if (e->kind == VG_NODE_SCALAR)
        return pp_add_named(w, p, to, e, where);
    if (e->kind != VG_NODE_MAP || t == NULL || t->kind != VG_NODE_SCALAR) {
        vg_errors_add(w->errs, t != NULL ? t : e,
                      "%s: a step is a parser or filter name, or a map with a 'type'", where);
        return VG_ECONFIG;
    }
    name = n != NULL && n->kind == VG_NODE_SCALAR ? n->value : t->value;
    if (vg_filter_find(t->value) != NULL && to->kind == PP_STEP)
        return pp_add_filter(p, e, t->value, name, where, w->errs);
    if (pp_parser_type_known(t->value))
        return pp_add_parser(p, to, e, t->value, name, where, w->errs);
    if (vg_filter_find(t->value) != NULL) {
        vg_errors_add(w->errs, t, "%s: '%s' is a filter, not a parser", where, t->value);
        return VG_ECONFIG;
    }
    pp_unknown_type(t, where, t->value, vg_filter_find(t->value) != NULL, w->errs);
    return VG_ECONFIG;
}

/* ---- collectors ------------------------------------------------------------- */

static const struct vg_option pp_rule_options[] = {
    {"namespace", VG_OPT_STR, NULL, offsetof(struct vg_process_rule, namespace_),
     "glob on the record's namespace", 0, NULL},
    {"pod", VG_OPT_STR, NULL, offsetof(struct vg_process_rule, pod), "glob on the pod", 0, NULL},
    {"container", VG_OPT_STR, NULL, offsetof(struct vg_process_rule, container),
     "glob on the container", 0, NULL},
    {"image", VG_OPT_STR, NULL, offsetof(struct vg_process_rule, image), "glob on the image", 0,
     NULL},
    {NULL, 0, NULL, 0, NULL, 0, NULL},
};

static int pp_add_rule(struct pp_work *w, struct vg_process *p, const struct vg_config_node *e,
                       const char *where)
{
    static const char *const ignore[] = {"parser", NULL};
    const struct vg_option *tables[1] = {pp_rule_options};
    const struct vg_config_node *par = vg_node_get(e, "parser");
    struct vg_process_rule rule;
    struct pp_to to = {PP_RULE, &rule};
    void *ctxs[1] = {&rule};
    int rc;

    memset(&rule, 0, sizeof(rule));
    if (e->kind != VG_NODE_MAP || par == NULL || par->kind != VG_NODE_SCALAR) {
        vg_errors_add(w->errs, par != NULL ? par : e,
                      "%s: a rule is a map of globs (namespace, pod, container, image) and a "
                      "'parser'",
                      where);
        return VG_ECONFIG;
    }
    rc = vg_options_apply(tables, ctxs, 1, e, where, ignore, w->errs);
    if (rc == VG_OK)
        rc = pp_add_named(w, p, &to, par, where);
    vg_options_free(pp_rule_options, &rule);
    return rc;
}

/* Runs add on each entry of a sequence option of collector i. */
static int pp_each(struct pp_work *w, struct vg_process *p, const struct vg_config_node *seq,
                   const char *where, const char *option,
                   int (*add)(struct pp_work *, struct vg_process *, const struct vg_config_node *,
                              const char *))
{
    const struct vg_config_node *e;
    char at[PP_WHERE + 64];
    size_t j = 0;
    int rc = VG_OK;

    if (seq->kind != VG_NODE_SEQ) {
        vg_errors_add(w->errs, seq, "%s: option '%s': expected a sequence", where, option);
        return VG_ECONFIG;
    }
    for (e = seq->children; e != NULL; e = e->next, j++) {
        snprintf(at, sizeof(at), "%s: %s[%zu]", where, option, j);
        if (add(w, p, e, at) != VG_OK)
            rc = VG_ECONFIG;
    }
    return rc;
}

/* The steps of collector i, or NULL (none, or an error reported). */
static int pp_collector(struct pp_work *w, struct vg_plan_collector *pc, size_t i)
{
    const struct vg_config_node *rules = vg_node_get(pc->node, "parser_rules");
    const struct vg_config_node *par = vg_node_get(pc->node, "parser");
    const struct vg_config_node *procs = vg_node_get(pc->node, "processors");
    char where[PP_WHERE], at[PP_WHERE + 32];
    struct vg_process *p;
    int rc = VG_OK;

    if (rules == NULL && par == NULL && procs == NULL)
        return VG_OK;
    snprintf(where, sizeof(where), "collectors[%zu] (%s)", i, pc->ops->name);
    if (!pc->ops->records) {
        vg_errors_add(w->errs,
                      rules != NULL ? rules
                      : par != NULL ? par
                                    : procs,
                      "%s: the %s collector emits no records: parsers and filters do not apply",
                      where, pc->ops->name);
        return VG_ECONFIG;
    }
    if (par != NULL && procs != NULL) {
        vg_errors_add(w->errs, par,
                      "%s: give 'parser' (one step) or 'processors' (a list), not both", where);
        return VG_ECONFIG;
    }
    p = vg_process_new();
    if (p == NULL)
        return VG_ENOMEM;
    if (rules != NULL && pp_each(w, p, rules, where, "parser_rules", pp_add_rule) != VG_OK)
        rc = VG_ECONFIG;
    if (par != NULL) {
        snprintf(at, sizeof(at), "%s: option 'parser'", where);
        if (pp_add_step(w, p, par, at) != VG_OK)
            rc = VG_ECONFIG;
    }
    if (procs != NULL && pp_each(w, p, procs, where, "processors", pp_add_step) != VG_OK)
        rc = VG_ECONFIG;
    if (rc != VG_OK || vg_process_steps(p) == 0) {
        vg_process_destroy(p);
        return rc;
    }
    pc->process = p;
    return VG_OK;
}

void vg_plan_list_steps(FILE *f)
{
    size_t i;

    fprintf(f,
            "\nparsers (- name: NAME, type: TYPE under 'parsers:', or inline in processors:)"
            "\n  types: %s; built-in: %s\n",
            "regex, json, logfmt, klog, syslog_rfc3164, syslog_rfc5424, level",
            vg_parser_builtin_names());
    vg_options_print(pp_options, "  ", f);
    fprintf(f, "\nparser_rules entries (under a collector's parser_rules:, with parser: NAME):\n");
    vg_options_print(pp_rule_options, "  ", f);
    fprintf(f, "\nlog_metrics entries (- name: NAME under 'log_metrics:'):\n");
    vg_options_print(vg_log_metrics_options, "  ", f);
    for (i = 0; vg_filter_registry[i] != NULL; i++) {
        const struct vg_filter_ops *ops = vg_filter_registry[i];

        fprintf(f, "\nfilter %s: %s\n", ops->name, ops->doc != NULL ? ops->doc : "");
        vg_options_print(ops->options, "  ", f);
    }
}

int vg_plan_processes(const struct vg_config_node *root, struct vg_plan *plan,
                      struct vg_errors *errs)
{
    struct pp_work w;
    size_t i;
    int rc = VG_OK;

    memset(&w, 0, sizeof(w));
    w.errs = errs;
    vg_errors_init(&w.quiet);
    if (pp_declare(&w, vg_node_get(root, "parsers"), false) != VG_OK)
        rc = VG_ECONFIG;
    if (pp_declare(&w, vg_node_get(root, "filters"), true) != VG_OK)
        rc = VG_ECONFIG;
    for (i = 0; i < plan->n_collectors; i++)
        if (plan->collectors[i].ops != NULL && plan->collectors[i].node != NULL &&
            pp_collector(&w, &plan->collectors[i], i) != VG_OK)
            rc = VG_ECONFIG;
    vg_errors_free(&w.quiet);
    free(w.decls);
    return rc;
}
