/*
 * config.h - the config/ module: YAML loader, value parsers, option tables
 * and the plan builder. It depends on agent/ (the plugin API, the registry
 * and the plan types of plan.h); agent/ does not include it: only main.c,
 * which wires the two, does.
 */
#ifndef VG_CONFIG_H
#define VG_CONFIG_H

#include <stdarg.h>
#include <stdio.h>

#include "plan.h"
#include "vigil.h"

/* Every error found in one run, each "file:line: where: message". */
struct vg_errors {
    char **msgs;
    const struct vg_config_node **at; /* the node each error is about */
    size_t n;
    char **warns; /* "FILE:LINE: warning: ..." */
    size_t n_warns;
};

void vg_errors_init(struct vg_errors *e);
void vg_errors_free(struct vg_errors *e);
/* Adds "FILE:LINE: " + message (node may be NULL: no position). */
void vg_errors_add(struct vg_errors *e, const struct vg_config_node *at, const char *fmt, ...)
    VG_PRINTF(3, 4);
/* Adds a warning, "FILE:LINE: warning: " + message: something that will not
 * work as written (on this host), which does not make the config invalid. */
void vg_errors_warn(struct vg_errors *e, const struct vg_config_node *at, const char *fmt, ...)
    VG_PRINTF(3, 4);
/* True when an error from index `from` on is about node at. */
bool vg_errors_about(const struct vg_errors *e, size_t from, const struct vg_config_node *at);
/* Adds "FILE:LINE: where: " + message at `at`; with once, nothing when an
 * error from index `from` on is about `at` already (a refused value has
 * said enough). For the errors of one entry of a section. */
void vg_errors_entryv(struct vg_errors *e, size_t from, const struct vg_config_node *at, bool once,
                      const char *where, const char *fmt, va_list ap) VG_PRINTF(6, 0);
void vg_errors_print(const struct vg_errors *e, FILE *f); /* one per line */
void vg_errors_print_warnings(const struct vg_errors *e, FILE *f);

/* A loaded configuration: the node tree and the memory behind it. */
struct vg_config {
    struct vg_config_node *root; /* a map, or NULL for an empty document */
    char *file;                  /* name used in messages */
    void *priv;                  /* loader's own */
};

/* Parses YAML (a file, or text with a display name). ${VAR} and
 * ${VAR:-default} are expanded in scalars; an unset ${VAR} without default is
 * an error. YAML syntax errors are reported with line and column. Returns
 * VG_OK, or VG_ECONFIG with errs filled: *out is NULL when the document
 * could not be read whole, and set (to be freed) when only values are
 * wrong (a duplicate key, an unset variable), so that the plan can still
 * be built to report every other error too. */
int vg_config_load_file(const char *path, struct vg_config **out, struct vg_errors *errs);
int vg_config_load_string(const char *text, size_t len, const char *name, struct vg_config **out,
                          struct vg_errors *errs);
void vg_config_free(struct vg_config *cfg);

/* The embedded default configuration (config/default.yaml). */
extern const char vg_default_config[];
extern const size_t vg_default_config_len;

/* Value parsers, shared by the option tables and by plugins. */
int vg_parse_duration_ms(const char *s, int64_t *out); /* VG_OK or VG_EPARSE */
int vg_parse_size(const char *s, uint64_t *out);
int vg_parse_bool(const char *s, bool *out);
int vg_parse_int(const char *s, int64_t *out);
int vg_parse_double(const char *s, double *out);

/* Closest name to `word` among candidates within an edit distance that makes
 * a useful suggestion, or NULL. */
const char *vg_suggest(const char *word, const char *const *candidates, size_t n);

/*
 * Applies option tables to a map node: each table fills its own context.
 * Several tables share one map (the engine's common options plus the
 * plugin's). Defaults are filled first; then every key of the map must
 * belong to one table. Each problem is added to errs as
 *   FILE:LINE: WHERE: unknown option 'pth' (did you mean 'path'?)
 * where WHERE is e.g. "outputs[1] (file)". Returns VG_OK or VG_ECONFIG.
 * `ignore` lists keys accepted without a table (such as "type"), may be NULL.
 */
int vg_options_apply(const struct vg_option *const *tables, void *const *ctxs, size_t n_tables,
                     const struct vg_config_node *map, const char *where, const char *const *ignore,
                     struct vg_errors *errs);
/* Checks the value of option o stored in ctx against its range (and the
 * caps of durations and sizes). VG_OK, or VG_EPARSE with why[] saying
 * "must be between 1 and 64, not TEXT" (text: the value as written). */
int vg_option_check_range(const struct vg_option *o, const void *ctx, const char *text, char *why,
                          size_t why_size);
/* Fills defaults only (no map). */
int vg_options_defaults(const struct vg_option *table, void *ctx, struct vg_errors *errs);
/* Prints a table for --list-options: name, type, default, doc. */
void vg_options_print(const struct vg_option *table, const char *indent, FILE *f);
const char *vg_opt_type_name(enum vg_opt_type t);

/* ------------------------------------------------------------------------
 * The plan (types in agent/plan.h): a configuration checked against the
 * registry and every option table, ready for the engine to instantiate.
 * Building it reports every error of the file in one run; it has no side
 * effects (no file opened, no port bound), so --check-config is exactly
 * vg_plan_build.
 */
/* The agent: section's table; it fills struct vg_agent_settings. */
extern const struct vg_option vg_agent_options[];

/* Options every collector takes besides its own: name, interval. */
struct vg_collector_settings {
    char *name;
    int64_t interval_ms;                /* 0: the plugin's default */
    const struct vg_config_node *steps; /* processors/parser/parser_rules: read by
                                           vg_plan_processes from the collector's map */
};
extern const struct vg_option vg_collector_common_options[];

/* Checks the whole tree: top-level keys, agent:, each collectors[i] and
 * outputs[i] (type known, options valid, names unique). Returns VG_OK or
 * VG_ECONFIG with every error in errs. The plan borrows nodes from cfg. */
int vg_plan_build(const struct vg_config *cfg, struct vg_plan *plan, struct vg_errors *errs);
/* Frees what is left in the plan (a ctx taken by the engine is set to NULL). */
void vg_plan_free(struct vg_plan *plan);
/*
 * One processing step of a filter type: its options applied to a new
 * context (ignoring `type` and `name`), then its build. Errors, as
 * "WHERE: ..." at their file and line, go to errs. On VG_OK *ctx_out owns
 * the built context (vg_filter_free); on error it is NULL.
 */
struct vg_filter_ops;
int vg_filter_plan(const struct vg_filter_ops *ops, const struct vg_config_node *entry,
                   const char *where, const char *name, void **ctx_out, struct vg_errors *errs);
void vg_filter_free(const struct vg_filter_ops *ops, void *ctx);

/* The processing steps of every record collector (process_plan.c), from
 * the parsers: and filters: sections and each collector's parser_rules:,
 * parser: and processors:, into plan->collectors[i].process. */
int vg_plan_processes(const struct vg_config_node *root, struct vg_plan *plan,
                      struct vg_errors *errs);

/* Runs a plugin's check callback on a filled context (nothing when check is
 * NULL): its errors go to errs as "FILE:LINE: where: ..." unless the
 * entry's option errors (from index first) already cover them. */
struct vg_check;
int vg_plan_run_check(int (*check)(const void *, struct vg_check *), const void *ctx,
                      const struct vg_config_node *entry, const char *where, struct vg_errors *errs,
                      size_t first);

/* --list-options' part for parsers, parser_rules and filter types. */
void vg_plan_list_steps(FILE *f);

/*
 * The `log_metrics:` section (config/log_metrics_plan.c): metrics counted
 * from log records (agent/log_metrics.h). section is the section's node,
 * or NULL when the file has none (then only the always-on counters);
 * collectors names the collectors that emit records (their instance
 * names), which `source` may name or match with globs. Every problem goes
 * to errs as "FILE:LINE: log_metrics[I] (NAME): ..."; a glob that matches
 * no collector is a warning. Returns VG_OK with *out owning the result
 * (vg_log_metrics_destroy), VG_ECONFIG, or VG_ENOMEM; *out is NULL on
 * error. No side effect: --check-config may call it.
 */
struct vg_log_metrics;
int vg_log_metrics_plan(const struct vg_config_node *section, const char *const *collectors,
                        size_t n_collectors, struct vg_log_metrics **out, struct vg_errors *errs);
/* The option table of one `log_metrics:` entry, for --list-options. */
extern const struct vg_option vg_log_metrics_options[];

/*
 * The rule half of the `alerts:` section (config/alerts_plan.c): interval,
 * external_url and rules (agent/alert/rules.h); the notifier keys are
 * known and left to the notifier plan. section is the section's node or
 * NULL; collectors names the record collectors that a log rule's `source`
 * may name; each log rule becomes a counter of lm (which may be NULL when
 * the log metrics could not be planned: the rules are only checked). A
 * rule's `notify` names must be keys of alerts.notifiers. Every problem
 * goes to errs as "FILE:LINE: alerts.rules[I] (NAME): ...". Returns VG_OK
 * with *out the runner (NULL when there is no rule), VG_ECONFIG or
 * VG_ENOMEM. No side effect: --check-config calls it.
 */
struct vg_alert_runner;
int vg_alerts_plan(const struct vg_config_node *section, const char *const *collectors,
                   size_t n_collectors, struct vg_log_metrics *lm, struct vg_alert_runner **out,
                   struct vg_errors *errs);
/* The option tables of the section and of one rule, for --list-options. */
extern const struct vg_option vg_alerts_options[];
extern const struct vg_option vg_alert_rule_options[];

/* --list-options: every table, agent first, then collectors and outputs. */
void vg_plan_list_options(FILE *f);

#endif
