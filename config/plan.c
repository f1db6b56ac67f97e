/*
 * plan.c - the whole configuration checked against the registry and every
 * option table: the agent's settings and one entry per collector and output,
 * each with its context filled, ready for the engine.
 */
#include <fnmatch.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alert/notifier.h"
#include "alert/rules.h"
#include "alloc.h"
#include "config.h"
#include "core.h"
#include "http.h"
#include "log_metrics.h"
#include "process.h"

#define PLAN_MAX_NAME  64
#define PLAN_LIMIT_MAX 4096 /* highest max_collectors and max_outputs */

#define AGENT_OPT(name, type, def, field, doc)                                                     \
    {                                                                                              \
        name, type, def, offsetof(struct vg_agent_settings, field), doc, 0, NULL                   \
    }

/* Writes dir (an absolute path; trailing slashes dropped) then suffix into
 * buf; false when dir is unset or relative (XDG's rule) or it does not fit. */
static bool plan_dir_under(char *buf, size_t size, const char *dir, const char *suffix)
{
    size_t n;
    int w;

    if (dir == NULL || dir[0] != '/')
        return false;
    n = strlen(dir);
    while (n > 0 && dir[n - 1] == '/')
        n--;
    w = snprintf(buf, size, "%.*s%s", (int)n, dir, suffix);
    return w > 0 && (size_t)w < size;
}

/* The default state_dir, per user, so that users of one machine never
 * share a folder that the first of them owns: $VIGIL_STATE_DIR, else
 * $XDG_STATE_HOME/vigil, else $HOME/.local/state/vigil, else
 * /tmp/vigil-state-UID. */
static const char *plan_state_dir_default(char *buf, size_t size)
{
    const char *own = getenv("VIGIL_STATE_DIR");
    int w;

    if (own != NULL && own[0] != '\0') {
        w = snprintf(buf, size, "%s", own);
        if (w > 0 && (size_t)w < size)
            return buf;
    }
    if (plan_dir_under(buf, size, getenv("XDG_STATE_HOME"), "/vigil") ||
        plan_dir_under(buf, size, getenv("HOME"), "/.local/state/vigil"))
        return buf;
    snprintf(buf, size, "/tmp/vigil-state-%lu", (unsigned long)geteuid());
    return buf;
}

const struct vg_option vg_agent_options[] = {
    AGENT_OPT("node_name", VG_OPT_STR, "", node_name,
              "node name in records and labels; empty: the host name"),
    {"state_dir", VG_OPT_STR, NULL, offsetof(struct vg_agent_settings, state_dir),
     "directory for checkpoints and dead letters; default, per user: $VIGIL_STATE_DIR, "
     "$XDG_STATE_HOME/vigil, $HOME/.local/state/vigil or /tmp/vigil-state-UID",
     0, NULL, 0, 0, plan_state_dir_default},
    AGENT_OPT("shutdown_timeout", VG_OPT_DURATION, "10s", shutdown_timeout_ms,
              "longest wait for output queues to drain at exit"),
    AGENT_OPT("http.listen", VG_OPT_STR, "127.0.0.1:9469", http_listen,
              "address of /metrics /healthz /readyz; empty: no server"),
    AGENT_OPT("http.stall_timeout", VG_OPT_DURATION, "30s", http_stall_ms,
              "/healthz fails when the engine loop is stuck this long"),
    {"http.max_connections", VG_OPT_INT, "256", offsetof(struct vg_agent_settings, http_max_conns),
     "connections the HTTP server holds at once; a quarter of them (8 at most) are kept for "
     "127.0.0.1 and ::1",
     VG_OPT_RANGE, NULL, 16, 4096},
    {"http.max_connections_per_client", VG_OPT_INT, "8",
     offsetof(struct vg_agent_settings, http_max_per_client),
     "connections one client address may hold at once", VG_OPT_RANGE, NULL, 1, 4096},
    {"http.request_timeout", VG_OPT_DURATION, "10s",
     offsetof(struct vg_agent_settings, http_request_ms),
     "longest a request and its answer may take, from connecting or from the previous answer; "
     "slow bytes do not extend it",
     VG_OPT_RANGE, NULL, 1000, 3600000},
    {"log.level", VG_OPT_ENUM, "info", offsetof(struct vg_agent_settings, log_level),
     "least severe level of the agent's own log", 0, "debug|info|warn|error"},
    {"log.format", VG_OPT_ENUM, "logfmt", offsetof(struct vg_agent_settings, log_format),
     "format of the agent's own log on stderr", 0, "logfmt|json"},
    {"batch.max_records", VG_OPT_INT, "1000", offsetof(struct vg_agent_settings, batch_max_records),
     "records per batch before it is sealed", VG_OPT_MIN, NULL, 1, 0},
    {"batch.max_bytes", VG_OPT_SIZE, "1MiB", offsetof(struct vg_agent_settings, batch_max_bytes),
     "bytes per batch before it is sealed", VG_OPT_MIN, NULL, 1, 0},
    {"max_collectors", VG_OPT_INT, "256", offsetof(struct vg_agent_settings, max_collectors),
     "most collectors a config may declare (each has a timer and its own state)", VG_OPT_RANGE,
     NULL, 1, PLAN_LIMIT_MAX},
    {"max_outputs", VG_OPT_INT, "32", offsetof(struct vg_agent_settings, max_outputs),
     "most outputs a config may declare (each has its own threads and queue)", VG_OPT_RANGE, NULL,
     1, PLAN_LIMIT_MAX},
    {NULL, 0, NULL, 0, NULL, 0, NULL},
};

const struct vg_option vg_collector_common_options[] = {
    {"name", VG_OPT_STR, NULL, offsetof(struct vg_collector_settings, name),
     "instance name in metrics and logs; default: the type (type.1, type.2 when repeated)", 0,
     NULL},
    {"interval", VG_OPT_DURATION, "0", offsetof(struct vg_collector_settings, interval_ms),
     "time between collections; 0: the collector's default", 0, NULL},
    {"processors", VG_OPT_NODE, NULL, offsetof(struct vg_collector_settings, steps),
     "record collectors: parsers and filters run on each record, in order (names declared "
     "under parsers:/filters:, built-in parsers, or inline maps with a type)",
     0, NULL},
    {"parser", VG_OPT_NODE, NULL, offsetof(struct vg_collector_settings, steps),
     "record collectors: one parser step (shorthand for processors: [NAME])", 0, NULL},
    {"parser_rules", VG_OPT_NODE, NULL, offsetof(struct vg_collector_settings, steps),
     "record collectors: [{namespace, pod, container, image: globs, parser: NAME}]: the first "
     "rule that matches a record picks its parser, before processors",
     0, NULL},
    {NULL, 0, NULL, 0, NULL, 0, NULL},
};

/* Outputs take a name too; the rest of their common options belong to the
 * pipeline (vg_output_common_options). Only `name` of the struct is used. */
static const struct vg_option plan_output_name_options[] = {
    {"name", VG_OPT_STR, NULL, offsetof(struct vg_collector_settings, name),
     "instance name in metrics, logs and the dead-letter file; default: the type", 0, NULL},
    {NULL, 0, NULL, 0, NULL, 0, NULL},
};

static const char *const plan_sections[] = {"agent",   "collectors",  "outputs", "parsers",
                                            "filters", "log_metrics", "alerts"};
/* Sections of the design that this version does not implement yet. */
static const char *const plan_unsupported[] = {"notifiers"};
static const char *const plan_ignore[] = {"type", NULL};

/* What differs between the collectors and outputs sections. */
struct plan_kind {
    const char *section; /* "collectors" */
    const char *noun;    /* "collector" */
    const char *example; /* "node" */
};

static const struct plan_kind plan_collectors = {"collectors", "collector", "node"};
static const struct plan_kind plan_outputs = {"outputs", "output", "stdout"};

/* The registered names of a kind, in registry order. */
static const char *plan_type_name(const struct plan_kind *k, size_t i)
{
    if (k == &plan_collectors)
        return vg_collector_registry[i] != NULL ? vg_collector_registry[i]->name : NULL;
    return vg_output_registry[i] != NULL ? vg_output_registry[i]->name : NULL;
}

/* Writes "generator, node, textfile". */
static void plan_type_list(const struct plan_kind *k, char *out, size_t size)
{
    size_t i, len = 0;

    out[0] = '\0';
    for (i = 0; plan_type_name(k, i) != NULL; i++) {
        int n = snprintf(out + len, size - len, "%s%s", i > 0 ? ", " : "", plan_type_name(k, i));

        if (n < 0 || (size_t)n >= size - len)
            return;
        len += (size_t)n;
    }
}

/* Reports an unknown type, with the closest known one or the full list. */
static void plan_unknown_type(const struct plan_kind *k, const char *where,
                              const struct vg_config_node *type, struct vg_errors *errs)
{
    const char *names[128];
    const char *pick;
    char list[512];
    size_t n;

    for (n = 0; n < VG_ARRAY_LEN(names) && plan_type_name(k, n) != NULL; n++)
        names[n] = plan_type_name(k, n);
    pick = vg_suggest(type->value, names, n);
    if (pick != NULL) {
        vg_errors_add(errs, type, "%s: unknown %s type '%s' (did you mean '%s'?)", where, k->noun,
                      type->value, pick);
        return;
    }
    plan_type_list(k, list, sizeof(list));
    vg_errors_add(errs, type, "%s: unknown %s type '%s' (known: %s)", where, k->noun, type->value,
                  list);
}

/*
 * Checks entry i of a section: a map with a scalar `type` that the registry
 * knows. Returns the type's name (borrowed from the node) or NULL after
 * reporting why not.
 */
static const char *plan_entry_type(const struct plan_kind *k, size_t i,
                                   const struct vg_config_node *entry, struct vg_errors *errs)
{
    const struct vg_config_node *type;
    char where[64], list[512];

    snprintf(where, sizeof(where), "%s[%zu]", k->section, i);
    if (entry->kind != VG_NODE_MAP) {
        vg_errors_add(errs, entry,
                      "%s: expected a map with a 'type' (such as '- type: %s'), "
                      "found %s",
                      where, k->example, entry->kind == VG_NODE_SEQ ? "a sequence" : "a scalar");
        return NULL;
    }
    type = vg_node_get(entry, "type");
    if (type == NULL) {
        plan_type_list(k, list, sizeof(list));
        vg_errors_add(errs, entry, "%s: missing 'type' (one of: %s)", where, list);
        return NULL;
    }
    if (type->kind != VG_NODE_SCALAR) {
        vg_errors_add(errs, type, "%s: 'type' must be a plugin name, found a %s", where,
                      type->kind == VG_NODE_MAP ? "map" : "sequence");
        return NULL;
    }
    if ((k == &plan_collectors && vg_collector_find(type->value) == NULL) ||
        (k == &plan_outputs && vg_output_find(type->value) == NULL)) {
        plan_unknown_type(k, where, type, errs);
        return NULL;
    }
    return type->value;
}

/* A name is used in metric labels and in file names: keep it plain. */
static bool plan_name_ok(const char *s)
{
    size_t i, len = strlen(s);

    if (len == 0 || len > PLAN_MAX_NAME)
        return false;
    for (i = 0; i < len; i++) {
        char c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return false;
    }
    return true;
}

/* The `type:` of a planned entry's map. */
static const char *plan_node_type(const struct vg_config_node *entry)
{
    return vg_node_get(entry, "type")->value;
}

/*
 * Gives every entry without a `name:` its default (type, then type.1,
 * type.2 among the unnamed entries of that type), then reports names used
 * twice. names[i] is NULL for unnamed entries on entry; every name is
 * malloc'd on success. Returns VG_OK, VG_ECONFIG or VG_ENOMEM.
 */
static int plan_names(const struct plan_kind *k, char **names,
                      const struct vg_config_node *const *nodes, const size_t *index, size_t n,
                      bool *explicit_name, struct vg_errors *errs)
{
    size_t i, j;
    int rc = VG_OK;

    for (i = 0; i < n; i++) {
        const char *type = plan_node_type(nodes[i]);
        size_t seq = 0;
        char buf[PLAN_MAX_NAME + 32];

        if (explicit_name[i])
            continue;
        for (j = 0; j < i; j++)
            if (!explicit_name[j] && strcmp(plan_node_type(nodes[j]), type) == 0)
                seq++;
        if (seq == 0)
            snprintf(buf, sizeof(buf), "%s", type);
        else
            snprintf(buf, sizeof(buf), "%s.%zu", type, seq);
        names[i] = vg_strdup(buf);
        if (names[i] == NULL)
            return VG_ENOMEM;
    }
    for (i = 1; i < n; i++) {
        for (j = 0; j < i; j++) {
            if (strcmp(names[i], names[j]) != 0)
                continue;
            vg_errors_add(errs, nodes[i],
                          "%s[%zu] (%s): duplicate %s name '%s' (also %s[%zu]); give each a "
                          "distinct 'name'",
                          k->section, index[i], plan_node_type(nodes[i]), k->noun, names[i],
                          k->section, index[j]);
            rc = VG_ECONFIG;
            break;
        }
    }
    return rc;
}

/* Checks an explicit `name:`; reports a bad one against the entry. */
static bool plan_check_name(const char *where, const struct vg_config_node *entry, const char *name,
                            struct vg_errors *errs)
{
    const struct vg_config_node *at = vg_node_get(entry, "name");

    if (plan_name_ok(name))
        return true;
    vg_errors_add(errs, at != NULL ? at : entry,
                  "%s: option 'name': invalid name '%s' (1 to %d letters, digits, '_', '-', "
                  "'.')",
                  where, name, PLAN_MAX_NAME);
    return false;
}

/* A section's value: a sequence, or nothing (an empty or null scalar). */
static bool plan_section_seq(const struct plan_kind *k, const struct vg_config_node *sec,
                             struct vg_errors *errs)
{
    if (sec == NULL || sec->kind == VG_NODE_SEQ)
        return sec != NULL;
    if (sec->kind == VG_NODE_SCALAR && !sec->quoted &&
        (sec->value[0] == '\0' || strcmp(sec->value, "~") == 0 || strcmp(sec->value, "null") == 0))
        return false;
    vg_errors_add(errs, sec, "%s: expected a sequence of %s maps ('- type: %s'), found a %s",
                  k->section, k->noun, k->example, sec->kind == VG_NODE_MAP ? "map" : "scalar");
    return false;
}

/* The plan builder's side of a plugin's check callback. */
struct vg_check {
    struct vg_errors *errs;
    const struct vg_config_node *entry;
    const char *where; /* "outputs[0] (file)" */
    int rc;
    size_t first; /* the entry's first error: its option errors come before the check's */
};

/* The child of map whose key is the longest one that option starts with,
 * whole or up to a dot, or NULL: a key may hold dots itself
 * ("rdkafka.sasl.password" names sasl.password in the rdkafka map). */
static const struct vg_config_node *plan_option_child(const struct vg_config_node *map,
                                                      const char *option)
{
    const struct vg_config_node *c, *best = NULL;
    size_t len, best_len = 0;

    for (c = map->kind == VG_NODE_MAP ? map->children : NULL; c != NULL; c = c->next) {
        len = c->key != NULL ? strlen(c->key) : 0;
        if (len > best_len && strncmp(option, c->key, len) == 0 &&
            (option[len] == '\0' || option[len] == '.')) {
            best = c;
            best_len = len;
        }
    }
    return best;
}

/* The node of a dotted option name inside entry, or NULL. */
static const struct vg_config_node *plan_option_node(const struct vg_config_node *entry,
                                                     const char *option)
{
    const struct vg_config_node *n = entry;

    while (n != NULL && option != NULL && option[0] != '\0') {
        n = plan_option_child(n, option);
        if (n == NULL)
            return NULL;
        option += strlen(n->key);
        option += option[0] == '.' ? 1 : 0;
    }
    return n;
}

/*
 * A check runs even when some options of its entry were refused (those hold
 * their defaults then), so that every error shows at once; what it says
 * about a node that already has an error (a refused option), or about an
 * option not given when the entry has errors (most often the same option
 * misspelt), would only repeat it, and is left out.
 */
void vg_check_error(struct vg_check *chk, const char *option, const char *fmt, ...)
{
    const struct vg_config_node *at = plan_option_node(chk->entry, option);
    char msg[VG_ERROR_MAX];
    va_list ap;

    chk->rc = VG_ECONFIG;
    if (at == NULL)
        at = chk->entry;
    if (vg_errors_about(chk->errs, 0, at) || (at == chk->entry && chk->errs->n > chk->first))
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    vg_errors_add(chk->errs, at, "%s: %s", chk->where, msg);
}

void vg_check_warn(struct vg_check *chk, const char *option, const char *fmt, ...)
{
    const struct vg_config_node *at = plan_option_node(chk->entry, option);
    char msg[VG_ERROR_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    vg_errors_warn(chk->errs, at != NULL ? at : chk->entry, "%s: %s", chk->where, msg);
}

/* Runs a plugin's check callback (when it has one) on a filled context;
 * first is the index of the entry's first error. */
static int plan_run_check(int (*check)(const void *, struct vg_check *), const void *ctx,
                          const struct vg_config_node *entry, const char *where,
                          struct vg_errors *errs, size_t first)
{
    struct vg_check chk = {errs, entry, where, VG_OK, first};

    if (check == NULL)
        return VG_OK;
    if (check(ctx, &chk) != VG_OK && chk.rc == VG_OK)
        vg_check_error(&chk, NULL, "invalid configuration");
    return chk.rc;
}

int vg_plan_run_check(int (*check)(const void *, struct vg_check *), const void *ctx,
                      const struct vg_config_node *entry, const char *where, struct vg_errors *errs,
                      size_t first)
{
    return plan_run_check(check, ctx, entry, where, errs, first);
}

int vg_filter_plan(const struct vg_filter_ops *ops, const struct vg_config_node *entry,
                   const char *where, const char *name, void **ctx_out, struct vg_errors *errs)
{
    static const char *const ignore[] = {"type", "name", NULL};
    const struct vg_option *tables[1] = {ops->options};
    void *ctx = vg_calloc(1, ops->ctx_size > 0 ? ops->ctx_size : 1);
    struct vg_check chk = {errs, entry, where, VG_OK, errs->n};
    void *ctxs[1] = {ctx};
    int rc;

    *ctx_out = NULL;
    if (ctx == NULL)
        return VG_ENOMEM;
    rc = vg_options_apply(tables, ctxs, 1, entry, where, ignore, errs);
    if (ops->build(ctx, name, &chk) != VG_OK && chk.rc == VG_OK)
        vg_check_error(&chk, NULL, "invalid configuration");
    if (rc == VG_OK)
        rc = chk.rc;
    if (rc != VG_OK) {
        vg_filter_free(ops, ctx);
        return rc;
    }
    *ctx_out = ctx;
    return VG_OK;
}

void vg_filter_free(const struct vg_filter_ops *ops, void *ctx)
{
    if (ctx == NULL)
        return;
    ops->destroy(ctx);
    vg_options_free(ops->options, ctx);
    free(ctx);
}

/*
 * Plans one collector: ctx allocated and filled, name and interval taken
 * from the common options. On error the entry is left empty (ctx freed).
 */
static int plan_collector(struct vg_plan_collector *pc, size_t i,
                          const struct vg_config_node *entry, char **name, bool *explicit_name,
                          struct vg_errors *errs)
{
    const struct vg_collector_ops *ops = vg_collector_find(plan_node_type(entry));
    struct vg_collector_settings common = {NULL, 0};
    const struct vg_option *tables[2] = {vg_collector_common_options, ops->options};
    void *ctxs[2];
    char where[128];
    size_t first;
    int rc;

    snprintf(where, sizeof(where), "collectors[%zu] (%s)", i, ops->name);
    pc->ops = ops;
    pc->node = entry;
    pc->ctx = vg_calloc(1, ops->ctx_size > 0 ? ops->ctx_size : 1);
    if (pc->ctx == NULL)
        return VG_ENOMEM;
    ctxs[0] = &common;
    ctxs[1] = pc->ctx;
    first = errs->n;
    rc = vg_options_apply(tables, ctxs, 2, entry, where, plan_ignore, errs);
    if (common.name != NULL && !plan_check_name(where, entry, common.name, errs))
        rc = VG_ECONFIG;
    if (plan_run_check(ops->check, pc->ctx, entry, where, errs, first) != VG_OK)
        rc = VG_ECONFIG;
    pc->interval_ms = common.interval_ms > 0 ? common.interval_ms : ops->default_interval_ms;
    *explicit_name = common.name != NULL;
    *name = common.name;
    common.name = NULL;
    vg_options_free(vg_collector_common_options, &common);
    return rc;
}

/* Plans one output: ctx allocated and filled, common settings applied. */
static int plan_output(struct vg_plan_output *po, size_t i, const struct vg_config_node *entry,
                       char **name, bool *explicit_name, struct vg_errors *errs)
{
    const struct vg_output_ops *ops = vg_output_find(plan_node_type(entry));
    struct vg_collector_settings naming = {NULL, 0};
    const struct vg_option *tables[3] = {plan_output_name_options, vg_output_common_options,
                                         ops->options};
    void *ctxs[3];
    char where[128];
    size_t first;
    int rc;

    snprintf(where, sizeof(where), "outputs[%zu] (%s)", i, ops->name);
    po->ops = ops;
    po->node = entry;
    po->ctx = vg_calloc(1, ops->ctx_size > 0 ? ops->ctx_size : 1);
    if (po->ctx == NULL)
        return VG_ENOMEM;
    ctxs[0] = &naming;
    ctxs[1] = &po->settings;
    ctxs[2] = po->ctx;
    first = errs->n;
    rc = vg_options_apply(tables, ctxs, 3, entry, where, plan_ignore, errs);
    if (naming.name != NULL && !plan_check_name(where, entry, naming.name, errs))
        rc = VG_ECONFIG;
    if (plan_run_check(vg_output_settings_check, &po->settings, entry, where, errs, first) != VG_OK)
        rc = VG_ECONFIG;
    if (plan_run_check(ops->check, po->ctx, entry, where, errs, first) != VG_OK)
        rc = VG_ECONFIG;
    *explicit_name = naming.name != NULL;
    *name = naming.name;
    return rc;
}

/* True for an empty or null plain scalar: a section written but left empty. */
static bool plan_is_null(const struct vg_config_node *n)
{
    return n != NULL && n->kind == VG_NODE_SCALAR && !n->quoted &&
           (n->value[0] == '\0' || strcmp(n->value, "~") == 0 || strcmp(n->value, "null") == 0);
}

/* Working arrays of one section, indexed like the plan's entries. */
struct plan_work {
    char **names;
    const struct vg_config_node **nodes;
    size_t *index; /* position in the config's sequence */
    bool *explicit_name;
};

static void plan_work_free(struct plan_work *w, size_t n)
{
    size_t i;

    for (i = 0; w->names != NULL && i < n; i++)
        free(w->names[i]);
    free(w->names);
    free(w->nodes);
    free(w->index);
    free(w->explicit_name);
}

/* Allocates the plan's entries of a section and the working arrays. */
static int plan_alloc(const struct plan_kind *k, struct vg_plan *plan, struct plan_work *w,
                      size_t n)
{
    if (k == &plan_collectors)
        plan->collectors = vg_calloc(n, sizeof(*plan->collectors));
    else
        plan->outputs = vg_calloc(n, sizeof(*plan->outputs));
    w->names = vg_calloc(n, sizeof(*w->names));
    w->nodes = vg_calloc(n, sizeof(*w->nodes));
    w->index = vg_calloc(n, sizeof(*w->index));
    w->explicit_name = vg_calloc(n, sizeof(*w->explicit_name));
    if ((k == &plan_collectors ? (void *)plan->collectors : (void *)plan->outputs) == NULL ||
        w->names == NULL || w->nodes == NULL || w->index == NULL || w->explicit_name == NULL)
        return VG_ENOMEM;
    return VG_OK;
}

/* Plans entry i of a section into slot m. */
static int plan_entry(const struct plan_kind *k, struct vg_plan *plan, struct plan_work *w,
                      size_t m, size_t i, const struct vg_config_node *entry,
                      struct vg_errors *errs)
{
    w->nodes[m] = entry;
    w->index[m] = i;
    if (k == &plan_collectors) {
        plan->n_collectors = m + 1;
        return plan_collector(&plan->collectors[m], i, entry, &w->names[m], &w->explicit_name[m],
                              errs);
    }
    plan->n_outputs = m + 1;
    return plan_output(&plan->outputs[m], i, entry, &w->names[m], &w->explicit_name[m], errs);
}

/*
 * Plans every entry of the collectors or outputs section. Entries with an
 * unknown type are reported and left out; the others stay in the plan even
 * when their options are wrong, so that vg_plan_free releases them.
 */
/* Refuses a section with more entries than the agent's limit for it: each
 * entry costs threads, timers and descriptors, and ten thousand of them is
 * a generated config gone wrong rather than a node's work. */
static bool plan_count_ok(const struct plan_kind *k, const struct vg_config_node *sec,
                          const struct vg_plan *plan, struct vg_errors *errs)
{
    bool outputs = k == &plan_outputs;
    int64_t max = outputs ? plan->agent.max_outputs : plan->agent.max_collectors;

    if (max <= 0 || sec->n_children <= (size_t)max)
        return true;
    vg_errors_add(errs, sec,
                  "%s: %zu entries, more than agent.%s (%lld); raise it if they are "
                  "all meant",
                  k->section, sec->n_children, outputs ? "max_outputs" : "max_collectors",
                  (long long)max);
    return false;
}

static int plan_section(const struct plan_kind *k, const struct vg_config_node *sec,
                        struct vg_plan *plan, struct vg_errors *errs)
{
    struct plan_work w = {NULL, NULL, NULL, NULL};
    const struct vg_config_node *entry;
    size_t i = 0, m = 0, j;
    int rc = VG_OK, r;

    if (!plan_section_seq(k, sec, errs))
        return sec == NULL || plan_is_null(sec) ? VG_OK : VG_ECONFIG;
    if (sec->n_children == 0)
        return VG_OK;
    if (!plan_count_ok(k, sec, plan, errs))
        return VG_ECONFIG;
    r = plan_alloc(k, plan, &w, sec->n_children);
    for (entry = sec->children; r == VG_OK && entry != NULL; entry = entry->next, i++) {
        if (plan_entry_type(k, i, entry, errs) == NULL) {
            rc = VG_ECONFIG;
            continue;
        }
        r = plan_entry(k, plan, &w, m++, i, entry, errs);
        if (r == VG_ECONFIG) {
            rc = VG_ECONFIG;
            r = VG_OK;
        }
    }
    if (r == VG_OK)
        r = plan_names(k, w.names, w.nodes, w.index, m, w.explicit_name, errs);
    if (r == VG_ECONFIG)
        rc = VG_ECONFIG;
    for (j = 0; r != VG_ENOMEM && j < m; j++) {
        if (k == &plan_collectors)
            plan->collectors[j].name = w.names[j];
        else
            plan->outputs[j].name = w.names[j];
        w.names[j] = NULL;
    }
    if (r == VG_ENOMEM) {
        vg_errors_add(errs, sec, "%s: out of memory", k->section);
        rc = VG_ECONFIG;
    }
    plan_work_free(&w, m);
    return rc;
}

/* Reports every top-level key other than agent, collectors and outputs. */
static int plan_top_level(const struct vg_config_node *root, struct vg_errors *errs)
{
    const struct vg_config_node *c;
    int rc = VG_OK;

    for (c = root->children; c != NULL; c = c->next) {
        const char *pick;
        size_t i;
        bool known = false, later = false;

        for (i = 0; i < VG_ARRAY_LEN(plan_sections); i++)
            known = known || strcmp(c->key, plan_sections[i]) == 0;
        for (i = 0; i < VG_ARRAY_LEN(plan_unsupported); i++)
            later = later || strcmp(c->key, plan_unsupported[i]) == 0;
        if (known)
            continue;
        rc = VG_ECONFIG;
        pick = vg_suggest(c->key, plan_sections, VG_ARRAY_LEN(plan_sections));
        if (later)
            vg_errors_add(
                errs, c,
                "unknown top-level section '%s': not supported by this version "
                "(sections: agent, collectors, outputs, parsers, filters, log_metrics, alerts)",
                c->key);
        else if (pick != NULL)
            vg_errors_add(errs, c, "unknown top-level section '%s' (did you mean '%s'?)", c->key,
                          pick);
        else
            vg_errors_add(errs, c,
                          "unknown top-level section '%s' (sections: agent, collectors, "
                          "outputs, parsers, filters, log_metrics, alerts)",
                          c->key);
    }
    return rc;
}

void vg_check_folder(struct vg_check *chk, const char *option, const char *path, const char *why)
{
    struct stat st;

    if (path == NULL || path[0] == '\0')
        return;
    if (stat(path, &st) != 0)
        vg_check_warn(chk, option, "folder '%s' does not exist (yet): %s", path, why);
    else if (!S_ISDIR(st.st_mode))
        vg_check_warn(chk, option, "'%s' is not a folder: %s", path, why);
}

void vg_check_parent_folder(struct vg_check *chk, const char *option, const char *path, size_t len,
                            const char *why)
{
    const char *slash = memrchr(path, '/', len);
    char dir[PATH_MAX];

    if (slash == NULL)
        return; /* the working directory */
    snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
    vg_check_folder(chk, option, dir, why);
}

/* Warns when state_dir cannot be written, or created (its nearest existing
 * parent cannot be written), by this user. */
/* Cuts path back to the nearest part of it that exists ("/" or "." at the
 * end), with its stat in *st; false when even that one cannot be stat'ed. */
static bool plan_nearest_existing(char *path, struct stat *st)
{
    char *slash;

    while (stat(path, st) != 0) {
        slash = strrchr(path, '/');
        if (slash == NULL || slash == path) {
            snprintf(path, 2, "%s", slash == NULL ? "." : "/");
            return stat(path, st) == 0;
        }
        *slash = '\0';
    }
    return true;
}

static void plan_check_state_dir(struct vg_check *chk, const char *dir)
{
    char path[PATH_MAX];
    struct stat st;
    bool exists;

    if (dir == NULL || dir[0] == '\0' || strlen(dir) >= sizeof(path))
        return;
    snprintf(path, sizeof(path), "%s", dir);
    if (!plan_nearest_existing(path, &st))
        return;
    exists = strcmp(path, dir) == 0;
    if (!S_ISDIR(st.st_mode))
        vg_check_warn(chk, "state_dir", "state_dir '%s' cannot be created: '%s' is not a folder",
                      dir, path);
    else if (access(path, W_OK | X_OK) == 0)
        return;
    else if (exists)
        vg_check_warn(chk, "state_dir",
                      "state_dir '%s' is not writable by this user (uid %u): checkpoints cannot "
                      "be kept",
                      dir, (unsigned)geteuid());
    else
        vg_check_warn(chk, "state_dir",
                      "state_dir '%s' cannot be created by this user (uid %u): '%s' is not "
                      "writable",
                      dir, (unsigned)geteuid(), path);
}

/* Checks what the agent's table cannot declare: a state_dir to create and
 * an address the HTTP server can listen on. */
static int plan_check_agent(const struct vg_config_node *agent, struct vg_plan *plan,
                            struct vg_errors *errs, size_t first)
{
    struct vg_check chk = {errs, agent, "agent", VG_OK, first};
    const char *listen = plan->agent.http_listen;
    struct vg_error err = {0};
    char host[256];
    uint16_t port;

    if (plan->agent.state_dir == NULL || plan->agent.state_dir[0] == '\0')
        vg_check_error(&chk, "state_dir",
                       "option 'state_dir': must not be empty (the directory for checkpoints "
                       "and dead letters)");
    if (listen != NULL && listen[0] != '\0' &&
        vg_parse_listen(listen, host, sizeof(host), &port, &err) != VG_OK)
        vg_check_error(&chk, "http.listen", "option 'http.listen': %s", err.msg);
    if (chk.rc == VG_OK)
        plan_check_state_dir(&chk, plan->agent.state_dir);
    return chk.rc;
}

/* The node of the j-th entry of an output's `inputs` list, or the output's. */
static const struct vg_config_node *plan_input_node(const struct vg_plan_output *po, size_t j)
{
    const struct vg_config_node *seq = vg_node_get(po->node, "inputs"), *c;

    if (seq == NULL || seq->kind != VG_NODE_SEQ)
        return seq != NULL ? seq : po->node;
    for (c = seq->children; c != NULL && j > 0; c = c->next)
        j--;
    return c != NULL ? c : seq;
}

/* One `inputs` entry of output i: it must take some collector. */
static bool plan_check_input(const struct vg_plan *plan, size_t i, size_t j, const char **names,
                             struct vg_errors *errs)
{
    const struct vg_plan_output *po = &plan->outputs[i];
    const char *want = po->settings.inputs.v[j], *pick;
    size_t k;

    for (k = 0; k < plan->n_collectors; k++)
        if (plan->collectors[k].name != NULL && fnmatch(want, plan->collectors[k].name, 0) == 0)
            return true;
    pick = vg_suggest(want, names, plan->n_collectors);
    if (pick != NULL)
        vg_errors_add(errs, plan_input_node(po, j),
                      "outputs[%zu] (%s): option 'inputs': '%s' names no collector (did you mean "
                      "'%s'?)",
                      i, po->ops->name, want, pick);
    else
        vg_errors_add(errs, plan_input_node(po, j),
                      "outputs[%zu] (%s): option 'inputs': '%s' names no collector", i,
                      po->ops->name, want);
    return false;
}

/* Routes: every `inputs` entry names a collector (an error otherwise), and
 * a collector that emits records with no output taking them is a warning
 * (its records are acknowledged at once and go nowhere). */
static int plan_check_routes(const struct vg_plan *plan, struct vg_errors *errs)
{
    const char **names = vg_calloc(plan->n_collectors + 1, sizeof(*names));
    int rc = VG_OK;
    size_t i, j;

    if (names == NULL)
        return VG_ENOMEM;
    for (i = 0; i < plan->n_collectors; i++)
        names[i] = plan->collectors[i].name;
    for (i = 0; i < plan->n_outputs; i++)
        for (j = 0; j < plan->outputs[i].settings.inputs.n; j++)
            if (!plan_check_input(plan, i, j, names, errs))
                rc = VG_ECONFIG;
    for (i = 0; rc == VG_OK && plan->n_outputs > 0 && i < plan->n_collectors; i++) {
        const struct vg_plan_collector *pc = &plan->collectors[i];

        if (pc->name == NULL || pc->ops == NULL)
            continue;
        for (j = 0; j < plan->n_outputs; j++)
            if (vg_output_takes(&plan->outputs[j].settings, pc->name))
                break;
        if (pc->ops->records && j == plan->n_outputs)
            vg_errors_warn(errs, pc->node,
                           "collectors[%zu] ('%s'): no output takes its records (see the outputs' "
                           "'inputs'): they are dropped",
                           i, pc->name);
    }
    free(names);
    return rc;
}

/* The instance names of the collectors that emit records, for the
 * `source` globs of log metrics and log rules; *n set. NULL: no memory. */
static const char **plan_record_names(const struct vg_plan *plan, size_t *n)
{
    const char **names = vg_calloc(plan->n_collectors + 1, sizeof(*names));
    size_t i;

    *n = 0;
    for (i = 0; names != NULL && i < plan->n_collectors; i++)
        if (plan->collectors[i].ops != NULL && plan->collectors[i].ops->records &&
            plan->collectors[i].name != NULL)
            names[(*n)++] = plan->collectors[i].name;
    return names;
}

/* The notifiers of the alerts: section, kept only when there is one. */
static int plan_notifiers(const struct vg_config_node *alerts, struct vg_plan *plan,
                          struct vg_errors *errs)
{
    struct vg_notifier_plan *np = vg_calloc(1, sizeof(*np));
    int rc;

    if (np == NULL)
        return VG_ENOMEM;
    rc = vg_notifiers_plan(alerts, np, errs);
    if (rc != VG_OK || np->n == 0) {
        vg_notifiers_plan_free(np);
        free(np);
        return rc;
    }
    plan->notifiers = np;
    return VG_OK;
}

/* The log_metrics: and alerts: sections (log rules count through the log
 * metrics). */
static int plan_log_metrics(const struct vg_config_node *root, struct vg_plan *plan,
                            struct vg_errors *errs)
{
    const struct vg_config_node *sec = vg_node_get(root, "log_metrics");
    const struct vg_config_node *alerts = vg_node_get(root, "alerts");
    size_t n;
    const char **names = plan_record_names(plan, &n);
    int rc, r;

    if (names == NULL)
        return VG_ENOMEM;
    rc = vg_log_metrics_plan(plan_is_null(sec) ? NULL : sec, names, n, &plan->log_metrics, errs);
    r = vg_alerts_plan(plan_is_null(alerts) ? NULL : alerts, names, n, plan->log_metrics,
                       &plan->alerts, errs);
    free(names);
    if (rc == VG_OK)
        rc = r;
    r = plan_notifiers(plan_is_null(alerts) ? NULL : alerts, plan, errs);
    return rc != VG_OK ? rc : r;
}

/* Warns when the configuration would do nothing useful. */
static void plan_check_empty(const struct vg_config *cfg, const struct vg_plan *plan,
                             struct vg_errors *errs)
{
    const struct vg_config_node *root = cfg != NULL ? cfg->root : NULL;
    const struct vg_config_node *outs = vg_node_get(root, "outputs");

    if (plan->n_collectors == 0 && plan->n_outputs == 0)
        vg_errors_warn(errs, root,
                       "%s: no collectors and no outputs: the agent would only serve its own "
                       "metrics",
                       cfg != NULL && cfg->file != NULL ? cfg->file : "the configuration");
    else if (plan->n_collectors == 0)
        vg_errors_warn(errs, root,
                       "no collectors: nothing is collected but the agent's own "
                       "metrics");
    else if (plan->n_outputs == 0)
        vg_errors_warn(errs, outs != NULL ? outs : root,
                       "no outputs: records are collected and dropped (metrics are still served "
                       "on /metrics)");
}

int vg_plan_build(const struct vg_config *cfg, struct vg_plan *plan, struct vg_errors *errs)
{
    const struct vg_config_node *root = cfg != NULL ? cfg->root : NULL;
    const struct vg_config_node *agent = vg_node_get(root, "agent");
    const struct vg_option *tables[1] = {vg_agent_options};
    void *ctxs[1];
    size_t first;
    int rc = VG_OK;

    memset(plan, 0, sizeof(*plan));
    ctxs[0] = &plan->agent;
    if (root != NULL && plan_top_level(root, errs) != VG_OK)
        rc = VG_ECONFIG;
    if (plan_is_null(agent))
        agent = NULL;
    first = errs->n;
    if (vg_options_apply(tables, ctxs, 1, agent, "agent", NULL, errs) != VG_OK)
        rc = VG_ECONFIG;
    if (plan_check_agent(agent, plan, errs, first) != VG_OK)
        rc = VG_ECONFIG;
    if (plan_section(&plan_collectors, vg_node_get(root, "collectors"), plan, errs) != VG_OK)
        rc = VG_ECONFIG;
    if (plan_section(&plan_outputs, vg_node_get(root, "outputs"), plan, errs) != VG_OK)
        rc = VG_ECONFIG;
    if (plan_check_routes(plan, errs) != VG_OK)
        rc = VG_ECONFIG;
    if (root != NULL && vg_plan_processes(root, plan, errs) != VG_OK)
        rc = VG_ECONFIG;
    if (plan_log_metrics(root, plan, errs) != VG_OK)
        rc = VG_ECONFIG;
    if (rc == VG_OK)
        plan_check_empty(cfg, plan, errs);
    return rc;
}

void vg_plan_free(struct vg_plan *plan)
{
    size_t i;

    if (plan == NULL)
        return;
    for (i = 0; plan->collectors != NULL && i < plan->n_collectors; i++) {
        struct vg_plan_collector *pc = &plan->collectors[i];

        if (pc->ctx != NULL) {
            vg_options_free(pc->ops->options, pc->ctx);
            free(pc->ctx);
        }
        vg_process_destroy(pc->process);
        free(pc->name);
    }
    for (i = 0; plan->outputs != NULL && i < plan->n_outputs; i++) {
        struct vg_plan_output *po = &plan->outputs[i];

        if (po->ctx != NULL) {
            vg_options_free(po->ops->options, po->ctx);
            free(po->ctx);
        }
        vg_options_free(vg_output_common_options, &po->settings);
        free(po->name);
    }
    free(plan->collectors);
    free(plan->outputs);
    vg_log_metrics_destroy(plan->log_metrics);
    vg_alert_runner_destroy(plan->alerts);
    if (plan->notifiers != NULL) {
        vg_notifiers_plan_free(plan->notifiers);
        free(plan->notifiers);
    }
    vg_options_free(vg_agent_options, &plan->agent);
    memset(plan, 0, sizeof(*plan));
}

/* Prints `name` and the pipeline's options as one aligned table. */
static void plan_print_output_common(FILE *f)
{
    size_t n = 0;
    struct vg_option *all;

    while (vg_output_common_options[n].name != NULL)
        n++;
    all = vg_calloc(n + 2, sizeof(*all));
    if (all == NULL) {
        vg_options_print(plan_output_name_options, "  ", f);
        vg_options_print(vg_output_common_options, "  ", f);
        return;
    }
    all[0] = plan_output_name_options[0];
    memcpy(all + 1, vg_output_common_options, n * sizeof(*all));
    vg_options_print(all, "  ", f);
    free(all);
}

/* The notifiers' part of the alerts: section, and each notifier type. */
static void plan_print_notifiers(FILE *f)
{
    size_t i;

    fprintf(f, "\nalerts: (the notifiers' keys)\n");
    vg_options_print(vg_notify_options, "  ", f);
    fprintf(f, "\nevery notifier (NAME: {type: TYPE} under 'alerts.notifiers:'):\n");
    vg_options_print(vg_notifier_common_options, "  ", f);
    for (i = 0; vg_notifier_registry[i] != NULL; i++) {
        const struct vg_notifier_ops *ops = vg_notifier_registry[i];

        fprintf(f, "\nnotifier %s: %s\n", ops->name, ops->doc != NULL ? ops->doc : "");
        vg_options_print(ops->options, "  ", f);
    }
}

void vg_plan_list_options(FILE *f)
{
    size_t i;

    fprintf(f, "agent: (top-level section 'agent:'; dotted names are nested maps)\n");
    vg_options_print(vg_agent_options, "  ", f);
    fprintf(f, "\nevery collector (- type: NAME under 'collectors:'):\n");
    vg_options_print(vg_collector_common_options, "  ", f);
    fprintf(f, "\nevery output (- type: NAME under 'outputs:'):\n");
    plan_print_output_common(f);
    for (i = 0; vg_collector_registry[i] != NULL; i++) {
        const struct vg_collector_ops *ops = vg_collector_registry[i];

        fprintf(f, "\ncollector %s: %s\n", ops->name, ops->doc != NULL ? ops->doc : "");
        if (ops->options == NULL || ops->options[0].name == NULL)
            fprintf(f, "  (no options of its own)\n");
        vg_options_print(ops->options, "  ", f);
    }
    for (i = 0; vg_output_registry[i] != NULL; i++) {
        const struct vg_output_ops *ops = vg_output_registry[i];

        fprintf(f, "\noutput %s: %s\n", ops->name, ops->doc != NULL ? ops->doc : "");
        if (ops->options == NULL || ops->options[0].name == NULL)
            fprintf(f, "  (no options of its own)\n");
        vg_options_print(ops->options, "  ", f);
    }
    vg_plan_list_steps(f);
    fprintf(f, "\nalerts: (top-level section; the rule engine's keys)\n");
    vg_options_print(vg_alerts_options, "  ", f);
    fprintf(f, "\nevery alert rule (- name: NAME under 'alerts.rules:'):\n");
    vg_options_print(vg_alert_rule_options, "  ", f);
    plan_print_notifiers(f);
}
