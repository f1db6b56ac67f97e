/*
 * engine_reload.c - SIGHUP: the configuration read again and applied.
 *
 * A configuration with any error changes nothing: the running one stays,
 * the errors are logged, vigil_config_reload_total{result="failure"}
 * counts it. A valid one is compared with the running one, plugin by
 * plugin (same name, same type, same subtree of the file):
 *
 *   - nothing changed: nothing is touched;
 *   - otherwise the collectors stop reading and the pipeline is drained
 *     (every record in flight delivered and acknowledged, within
 *     agent.shutdown_timeout), then a new pipeline takes the outputs:
 *     unchanged ones are moved into it as they are (connections and
 *     counters kept), changed and new ones were initialised before the
 *     drain (an output that fails to start refuses the reload while the
 *     old configuration still runs), removed ones are destroyed;
 *   - unchanged collectors keep running with their state (a tailed file
 *     keeps its offset and is not read again); changed ones are destroyed
 *     (their plugin writes its checkpoints of what was acknowledged) and
 *     made from the new configuration, which starts them from those
 *     checkpoints; a collector whose records could not all be delivered
 *     within the timeout is restarted from its checkpoints the same way,
 *     so its undelivered records are read again rather than lost;
 *   - the alert rules, log metrics and notifiers are rebuilt when their
 *     sections changed (alert states and what was told survive through
 *     state_dir, as across a restart);
 *   - the agent: section (listen address, state_dir, node name, batch
 *     sizes) takes effect at the next restart only: it is logged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "alert/notifier.h"
#include "alert/rules.h"
#include "alloc.h"
#include "core.h"
#include "engine_internal.h"
#include "log_metrics.h"
#include "process.h"

/* One reload being applied. */
struct reload {
    struct vg_plan plan; /* the new plan */
    struct engine_gen *gen;
    const struct vg_config_node *root;
    struct vg_output **new_outs;       /* per new output: made for it, or NULL: moved */
    long *out_old;                     /* per new output: the running one it keeps, or -1 */
    struct engine_collector **kept;    /* per new collector: the running one it keeps, or NULL */
    bool *keep_proc;                   /* per new collector: its processing steps unchanged */
    struct engine_collector **n_cols;  /* the collectors after the reload */
    struct vg_pipeline *p;             /* the new pipeline, outputs added after the drain */
    struct engine_gen **out_gens;      /* per new output: its configuration */
    bool processing_same, alerts_same; /* parsers: + filters:, alerts: + log_metrics: */
    bool notifiers_same;               /* alerts: but its rules */
};

static bool reload_str_eq(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

/* Two subtrees of configuration alike in everything but where they are. */
static bool reload_node_eq(const struct vg_config_node *a, const struct vg_config_node *b)
{
    const struct vg_config_node *ca, *cb;

    if (a == NULL || b == NULL)
        return a == b;
    if (a->kind != b->kind || a->quoted != b->quoted || a->n_children != b->n_children ||
        !reload_str_eq(a->key, b->key) || !reload_str_eq(a->value, b->value))
        return false;
    for (ca = a->children, cb = b->children; ca != NULL && cb != NULL; ca = ca->next, cb = cb->next)
        if (!reload_node_eq(ca, cb))
            return false;
    return ca == NULL && cb == NULL;
}

static bool reload_section_eq(const struct vg_config_node *a, const struct vg_config_node *b,
                              const char *key)
{
    return reload_node_eq(vg_node_get(a, key), vg_node_get(b, key));
}

/* Two alerts: sections alike but for their rules: the notifiers, their
 * grouping and the evaluation interval are the same. */
static bool reload_alerts_eq_but_rules(const struct vg_config_node *a,
                                       const struct vg_config_node *b)
{
    const struct vg_config_node *ca, *cb;

    if (a == NULL || b == NULL || a->kind != b->kind)
        return a == b;
    for (ca = a->children, cb = b->children;; ca = ca->next, cb = cb->next) {
        while (ca != NULL && reload_str_eq(ca->key, "rules"))
            ca = ca->next;
        while (cb != NULL && reload_str_eq(cb->key, "rules"))
            cb = cb->next;
        if (ca == NULL || cb == NULL)
            return ca == cb;
        if (!reload_node_eq(ca, cb))
            return false;
    }
}

/* The running collector the new plan's pc keeps, or NULL. */
static struct engine_collector *reload_find_collector(struct vg_engine *e,
                                                      const struct vg_plan_collector *pc)
{
    size_t i;

    for (i = 0; i < e->n_collectors; i++) {
        struct engine_collector *ec = e->collectors[i];

        if (strcmp(ec->c.name, pc->name) == 0 && ec->c.ops == pc->ops &&
            reload_node_eq(ec->node, pc->node))
            return ec;
    }
    return NULL;
}

/* The running output of the same name the new plan's po keeps, or -1. */
static long reload_find_output(struct vg_engine *e, const struct vg_plan_output *po)
{
    size_t i;

    for (i = 0; i < e->plan->n_outputs; i++) {
        const struct vg_plan_output *old = &e->plan->outputs[i];

        if (strcmp(old->name, po->name) == 0 && old->ops == po->ops &&
            reload_node_eq(old->node, po->node))
            return (long)i;
    }
    return -1;
}

static void reload_free(struct vg_engine *e, struct reload *r)
{
    size_t i;

    for (i = 0; r->new_outs != NULL && i < r->plan.n_outputs; i++)
        if (r->new_outs[i] != NULL)
            vg_pipeline_output_free(r->new_outs[i]);
    free(r->new_outs);
    free(r->out_old);
    vg_pipeline_destroy(r->p);
    for (i = 0; r->out_gens != NULL && i < r->plan.n_outputs; i++)
        vg_engine_gen_unref(e, r->out_gens[i]);
    free(r->out_gens);
    free(r->kept);
    free(r->keep_proc);
    free(r->n_cols);
    e->reloader.free_plan(e->reloader.arg, &r->plan);
    vg_engine_gen_unref(e, r->gen);
}

/* True when the new configuration is the running one. */
static bool reload_same(struct vg_engine *e, struct reload *r)
{
    size_t i;

    if (!r->processing_same || !r->alerts_same || !reload_section_eq(e->root, r->root, "agent") ||
        r->plan.n_collectors != e->n_collectors || r->plan.n_outputs != e->plan->n_outputs)
        return false;
    for (i = 0; i < r->plan.n_collectors; i++)
        if (r->kept[i] != e->collectors[i])
            return false;
    for (i = 0; i < r->plan.n_outputs; i++)
        if (r->out_old[i] != (long)i)
            return false;
    return true;
}

/* Compares the new plan with the running one; the outputs that change are
 * made now, while nothing has stopped yet. */
static int reload_prepare(struct vg_engine *e, struct reload *r, struct vg_error *err)
{
    size_t i;

    r->p = vg_engine_pipeline_new(e);
    r->out_gens = vg_calloc(r->plan.n_outputs + 1, sizeof(*r->out_gens));
    r->new_outs = vg_calloc(r->plan.n_outputs + 1, sizeof(*r->new_outs));
    r->out_old = vg_calloc(r->plan.n_outputs + 1, sizeof(*r->out_old));
    r->kept = vg_calloc(r->plan.n_collectors + 1, sizeof(*r->kept));
    r->keep_proc = vg_calloc(r->plan.n_collectors + 1, sizeof(*r->keep_proc));
    r->n_cols = vg_calloc(r->plan.n_collectors + 1, sizeof(*r->n_cols));
    if (r->p == NULL || r->out_gens == NULL || r->new_outs == NULL || r->out_old == NULL ||
        r->kept == NULL || r->keep_proc == NULL || r->n_cols == NULL)
        return vg_error_set(err, VG_ENOMEM, "out of memory");
    r->processing_same = reload_section_eq(e->root, r->root, "parsers") &&
                         reload_section_eq(e->root, r->root, "filters");
    r->alerts_same = reload_section_eq(e->root, r->root, "alerts") &&
                     reload_section_eq(e->root, r->root, "log_metrics");
    r->notifiers_same =
        reload_alerts_eq_but_rules(vg_node_get(e->root, "alerts"), vg_node_get(r->root, "alerts"));
    for (i = 0; i < r->plan.n_collectors; i++) {
        r->kept[i] = reload_find_collector(e, &r->plan.collectors[i]);
        r->keep_proc[i] = r->kept[i] != NULL && r->processing_same;
    }
    for (i = 0; i < r->plan.n_outputs; i++) {
        r->out_old[i] = reload_find_output(e, &r->plan.outputs[i]);
        if (r->out_old[i] >= 0)
            continue;
        r->new_outs[i] = vg_engine_output_new(&r->plan.outputs[i], err);
        if (r->new_outs[i] == NULL)
            return VG_ECONFIG;
    }
    return VG_OK;
}

/* Stops the collectors and delivers what is in flight. A kept collector
 * whose records are not all acknowledged then starts again from its
 * checkpoints instead. */
static void reload_drain(struct vg_engine *e, struct reload *r)
{
    int64_t timeout_ms = e->plan->agent.shutdown_timeout_ms;
    size_t i;

    for (i = 0; i < e->n_collectors; i++)
        vg_engine_disarm(e->collectors[i]->timer_fd);
    /* The loop is busy for the drain, at most the timeout and the second a
     * send still going is given: /healthz must not call that a stall. */
    atomic_store(&e->health.heartbeat_ns,
                 vg_add_sat(vg_mono_ns(), vg_ms_to_ns_sat(timeout_ms + 1000)));
    if (vg_pipeline_drain(e->pipeline, vg_add_sat(vg_mono_ns(), vg_ms_to_ns_sat(timeout_ms))) !=
        VG_OK)
        vg_log(VG_LOG_WARN, "engine", "reload",
               "records in flight were not all delivered within the shutdown timeout (%lld ms); "
               "their collectors start again from their checkpoints",
               (long long)timeout_ms);
    for (i = 0; i < r->plan.n_collectors; i++)
        if (r->kept[i] != NULL && !vg_sink_settled(r->kept[i]->sink)) {
            r->kept[i] = NULL;
            r->keep_proc[i] = false;
        }
}

static bool reload_is_kept(const struct reload *r, const struct engine_collector *ec)
{
    size_t i;

    for (i = 0; i < r->plan.n_collectors; i++)
        if (r->kept[i] == ec)
            return true;
    return false;
}

static bool reload_plan_has(const struct vg_plan *plan, const char *name)
{
    size_t i;

    for (i = 0; i < plan->n_collectors; i++)
        if (strcmp(plan->collectors[i].name, name) == 0)
            return true;
    return false;
}

/* Destroys the running collectors the reload does not keep; their samples
 * leave /metrics unless a collector of the same name replaces them. */
static void reload_drop_collectors(struct vg_engine *e, struct reload *r)
{
    size_t i;

    for (i = 0; i < e->n_collectors; i++) {
        struct engine_collector *ec = e->collectors[i];

        if (reload_is_kept(r, ec))
            continue;
        if (!reload_plan_has(&r->plan, ec->c.name))
            vg_store_drop_owner(e->store, ec->owner);
        vg_log(VG_LOG_INFO, ec->c.ops->name, ec->c.name, "stopped by the reload");
        vg_engine_collector_free(e, ec);
        e->collectors[i] = NULL;
    }
}

/* Fills the new pipeline with the new plan's outputs in order: the
 * unchanged ones moved from the old pipeline (one that cannot be, its
 * worker stuck, is made again), the others made by reload_prepare. */
static void reload_outputs(struct vg_engine *e, struct reload *r)
{
    size_t i;

    for (i = 0; i < r->plan.n_outputs; i++) {
        struct vg_plan_output *po = &r->plan.outputs[i];
        struct vg_output *o = r->new_outs[i];
        struct vg_error err = {0};
        long old = r->out_old[i];
        int rc;

        r->new_outs[i] = NULL; /* the pipeline's, also on error */
        if (o == NULL && old >= 0 && e->out_gens != NULL &&
            vg_pipeline_move_output(r->p, e->pipeline, po->name, &po->settings, &err) == VG_OK) {
            r->out_gens[i] = vg_engine_gen_ref(e->out_gens[old]);
            continue;
        }
        if (o == NULL)
            o = vg_engine_output_new(po, &err);
        r->out_gens[i] = vg_engine_gen_ref(r->gen);
        rc = o != NULL ? vg_pipeline_add_output(r->p, o, &po->settings, &err) : VG_ECONFIG;
        if (rc != VG_OK)
            vg_log(VG_LOG_ERROR, po->ops->name, po->name, "not running after the reload: %s",
                   err.msg);
    }
}

/* Gives the kept collectors their sink in the new pipeline (with their
 * counters), makes the others from the new plan (swapped in by now: r->kept
 * is indexed as its collectors). */
static size_t reload_collectors(struct vg_engine *e, struct reload *r, struct vg_pipeline *old)
{
    struct vg_plan *np = e->plan; /* the new plan, swapped in */
    size_t i, n = 0, failed = 0;

    for (i = 0; i < np->n_collectors; i++) {
        struct vg_plan_collector *pc = &np->collectors[i];
        struct engine_collector *ec = r->kept[i];
        struct vg_error err = {0};

        if (ec == NULL) {
            ec = vg_engine_collector_new(e, pc, r->gen, &err);
            if (ec == NULL) {
                vg_log(VG_LOG_ERROR, pc->ops->name, pc->name, "not running after the reload: %s",
                       err.msg);
                failed++;
                continue;
            }
            r->n_cols[n++] = ec;
            continue;
        }
        vg_options_free(pc->ops->options, pc->ctx); /* the running one's stays */
        free(pc->ctx);
        pc->ctx = NULL;
        ec->c.name = pc->name; /* the old plan's goes */
        ec->node = pc->node;
        ec->sink = vg_pipeline_sink(e->pipeline, &ec->c);
        if (ec->sink == NULL || vg_engine_route(e, ec) != VG_OK) {
            vg_log(VG_LOG_ERROR, pc->ops->name, pc->name, "not running after the reload: %s",
                   "out of memory");
            vg_engine_collector_free(e, ec);
            failed++;
            continue;
        }
        vg_sink_take_over(ec->sink, vg_pipeline_sink(old, &ec->c), r->keep_proc[i]);
        if (!r->keep_proc[i]) {
            vg_sink_set_process(ec->sink, pc->process);
            pc->process = NULL;
            vg_engine_gen_unref(e, ec->proc_gen);
            ec->proc_gen = vg_engine_gen_ref(r->gen);
        }
        if (pc->ops->records && e->plan->log_metrics != NULL)
            vg_sink_set_log_metrics(ec->sink, e->plan->log_metrics);
        r->n_cols[n++] = ec;
    }
    free(e->collectors);
    e->collectors = r->n_cols;
    e->n_collectors = n;
    r->n_cols = NULL;
    return failed;
}

/* Swaps what stays of the running plan into the new one: the agent:
 * section always, the rules, log metrics and notifiers when unchanged.
 * The new plan becomes the engine's; the old one is freed by the caller. */
static void reload_swap_plan(struct vg_engine *e, struct reload *r, struct vg_plan *old)
{
    struct vg_agent_settings agent = r->plan.agent;

    if (!reload_section_eq(e->root, r->root, "agent"))
        vg_log(VG_LOG_WARN, "engine", "reload",
               "the agent: section changed; it takes effect at the next restart");
    r->plan.agent = e->plan->agent;
    e->plan->agent = agent;
    if (r->alerts_same) {
        struct vg_log_metrics *lm = r->plan.log_metrics;
        struct vg_alert_runner *ar = r->plan.alerts;
        struct vg_notifier_plan *np = r->plan.notifiers;

        r->plan.log_metrics = e->plan->log_metrics;
        r->plan.alerts = e->plan->alerts;
        r->plan.notifiers = e->plan->notifiers;
        e->plan->log_metrics = lm;
        e->plan->alerts = ar;
        e->plan->notifiers = np;
    } else if (r->notifiers_same) { /* the running set goes on: its plan with it */
        struct vg_notifier_plan *np = r->plan.notifiers;

        r->plan.notifiers = e->plan->notifiers;
        e->plan->notifiers = np;
    }
    *old = *e->plan;
    *e->plan = r->plan;
    memset(&r->plan, 0, sizeof(r->plan));
}

/* New rules and log metrics: the old states saved (the new runner reads
 * them from state_dir). The notifier set goes on when only the rules
 * changed, so that the alerts of a rule removed are told resolved at the
 * next evaluation; else it is rebuilt, the notices it held delivered
 * first. */
static void reload_alerts(struct vg_engine *e, struct vg_plan *old, struct reload *r)
{
    struct vg_error err = {0};

    if (old->alerts != NULL)
        vg_alert_runner_save(old->alerts);
    if (e->notifiers != NULL && !r->notifiers_same) {
        vg_engine_stop_notifiers(e, e->plan->agent.shutdown_timeout_ms);
        vg_notifier_destroy(e->notifiers);
        e->notifiers = NULL;
    }
    if (!r->notifiers_same) {
        vg_engine_gen_unref(e, e->notify_gen);
        e->notify_gen = vg_engine_gen_ref(r->gen);
    }
    vg_engine_gen_unref(e, e->alerts_gen);
    e->alerts_gen = vg_engine_gen_ref(r->gen);
    if (e->plan->alerts == NULL) {
        if (e->alerts_fd >= 0)
            vg_engine_disarm(e->alerts_fd);
        vg_store_drop_owner(e->store, ENGINE_ALERTS_OWNER);
        if (e->http != NULL)
            vg_http_publish_alerts(e->http, "[]", 2);
    }
    if (vg_engine_setup_alerts(e, &err) != VG_OK)
        vg_log(VG_LOG_ERROR, "alerts", "rules", "not running after the reload: %s", err.msg);
}

/* Applies a valid configuration that differs from the running one.
 * Returns the number of plugins that could not be started. */
static size_t reload_apply(struct vg_engine *e, struct reload *r)
{
    struct vg_pipeline *old = e->pipeline;
    struct vg_plan old_plan;
    struct vg_error err = {0};
    size_t i, failed;

    reload_drain(e, r);
    reload_drop_collectors(e, r);
    reload_outputs(e, r);
    epoll_ctl(e->epoll_fd, EPOLL_CTL_DEL, vg_pipeline_ack_fd(old), NULL);
    e->pipeline = r->p;
    r->p = NULL;
    vg_engine_watch_fd(e, vg_pipeline_ack_fd(e->pipeline), &e->ack_watch);
    reload_swap_plan(e, r, &old_plan);
    failed = reload_collectors(e, r, old);
    vg_pipeline_destroy(old);
    for (i = 0; e->out_gens != NULL && i < old_plan.n_outputs; i++)
        vg_engine_gen_unref(e, e->out_gens[i]);
    free(e->out_gens);
    e->out_gens = r->out_gens;
    r->out_gens = NULL;
    if (!r->alerts_same)
        reload_alerts(e, &old_plan, r);
    e->reloader.free_plan(e->reloader.arg, &old_plan);
    vg_engine_gen_unref(e, e->plan_gen);
    e->plan_gen = vg_engine_gen_ref(r->gen);
    e->root = r->root;
    if (vg_pipeline_start(e->pipeline, &err) != VG_OK) {
        vg_log(VG_LOG_ERROR, "engine", "reload", "%s", err.msg);
        failed++;
    }
    for (i = 0; i < e->n_collectors; i++)
        vg_engine_arm(e->collectors[i]->timer_fd, 1);
    return failed;
}

/* Counts a reload's outcome for vigil_config_*. */
static void reload_count(struct vg_engine *e, bool ok)
{
    e->last_reload_ok = ok;
    if (!ok) {
        e->reloads_failed++;
        return;
    }
    e->reloads_ok++;
    e->last_reload_ok_s = (double)vg_now_ns() / 1e9;
}

/* Applies the loaded r, unless it is the running configuration. Returns
 * the number of plugins that could not be started. */
static size_t reload_changes(struct vg_engine *e, struct reload *r)
{
    int64_t t0 = vg_mono_ns();
    size_t failed;

    if (reload_same(e, r)) {
        vg_log(VG_LOG_INFO, "engine", "reload", "configuration unchanged");
        return 0;
    }
    failed = reload_apply(e, r);
    vg_pipeline_reopen(e->pipeline); /* the moved outputs' flag stayed behind */
    vg_log(VG_LOG_INFO, "engine", "reload",
           "configuration applied in %.1f ms: %zu collector%s, %zu output%s%s",
           (double)(vg_mono_ns() - t0) / 1e6, e->n_collectors, e->n_collectors == 1 ? "" : "s",
           e->plan->n_outputs, e->plan->n_outputs == 1 ? "" : "s",
           failed > 0 ? "; some failed to start" : "");
    return failed;
}

/* Reads the configuration again and applies it; systemd hears RELOADING=1
 * and then READY=1 (Type=notify-reload's protocol; harmless with notify). */
void vg_engine_reload(struct vg_engine *e)
{
    struct reload r;
    struct vg_error err = {0};
    void *cfg = NULL;

    memset(&r, 0, sizeof(r));
    vg_sd_notify_reloading(&e->sd);
    vg_log(VG_LOG_INFO, "engine", "reload",
           "SIGHUP: reopening output files, reading the configuration again");
    vg_pipeline_reopen(e->pipeline);
    if (e->reloader.load == NULL) {
        vg_log(VG_LOG_ERROR, "engine", "reload", "no configuration to read again");
        reload_count(e, false);
    } else if (e->reloader.load(e->reloader.arg, &r.plan, &cfg, &r.root) != VG_OK) {
        reload_count(e, false); /* the loader logged why */
    } else {
        r.gen = vg_calloc(1, sizeof(*r.gen));
        if (r.gen == NULL) {
            e->reloader.free_plan(e->reloader.arg, &r.plan); /* before its tree */
            e->reloader.free_cfg(e->reloader.arg, cfg);
        } else {
            r.gen->cfg = cfg;
            vg_engine_gen_ref(r.gen);
        }
        if (r.gen == NULL || reload_prepare(e, &r, &err) != VG_OK) {
            vg_log(VG_LOG_ERROR, "engine", "reload",
                   "reload refused: %s; the running configuration stays",
                   err.msg[0] ? err.msg : "out of memory");
            reload_count(e, false);
        } else {
            reload_count(e, reload_changes(e, &r) == 0);
        }
        reload_free(e, &r);
    }
    vg_sd_notify_ready(&e->sd);
}

void vg_engine_reload_emit(struct vg_engine *e, struct vg_emit *emit)
{
    static const char help[] = "Reloads of the configuration (SIGHUP), by result.";

    vg_emit_counter(emit, "vigil_config_reload_total", help, (double)e->reloads_ok, "result",
                    "success", NULL);
    vg_emit_counter(emit, "vigil_config_reload_total", help, (double)e->reloads_failed, "result",
                    "failure", NULL);
    vg_emit_gauge(emit, "vigil_config_last_reload_successful",
                  "Whether the last reload of the configuration was applied whole.",
                  e->last_reload_ok ? 1 : 0, NULL);
    vg_emit_gauge(emit, "vigil_config_last_reload_success_timestamp_seconds",
                  "When the configuration was last loaded whole (at start, then by a reload).",
                  e->last_reload_ok_s, NULL);
}
