/*
 * engine.c - the engine loop.
 *
 * One epoll loop on the main thread owns the timers (one timerfd per
 * collector, re-armed after every collection so that a failing collector
 * can be backed off), the signals (signalfd) and the acknowledgements of the
 * pipeline (an eventfd). Collectors run here; outputs run on their own
 * workers and the HTTP server on its own thread, so nothing here waits on
 * the network.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "alert/notifier.h"
#include "alert/notify.h"
#include "alert/rules.h"
#include "alloc.h"
#include "core.h"
#include "engine.h"
#include "engine_internal.h"
#include "log_metrics.h"
#include "process.h"
#include "sd_notify.h"

/* Set once before any output worker or collector runs; read by plugins. */
static char engine_node_name[256];

const char *vg_node_name(void)
{
    return engine_node_name;
}

int vg_engine_block_signals(void)
{
    sigset_t set;

    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
        return VG_EIO;
    return VG_OK;
}

void vg_collector_fail(struct vg_collector *c, const char *fmt, ...)
{
    struct engine_collector *ec = c->priv;
    va_list ap;

    if (ec == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(ec->reason, sizeof(ec->reason), fmt, ap);
    va_end(ap);
}

void vg_collector_checkpoint_state(struct vg_collector *c, bool ok)
{
    struct engine_collector *ec = c->priv;

    if (ec == NULL)
        return;
    ec->ckpt_reported = true;
    ec->ckpt_failing = !ok;
    if (!ok)
        ec->ckpt_errors_total++;
}

/* Ready: started, not stopping, every output up (none stopped, none
 * failing its sends), every checkpoint writable. Otherwise the reason. */
static bool engine_ready(const struct vg_engine *e, enum vg_not_ready *why)
{
    size_t i;

    *why = VG_NOT_READY_STARTING;
    if (!e->started || e->stopping)
        return false;
    *why = VG_NOT_READY_OUTPUT;
    if (vg_pipeline_outputs_stopped(e->pipeline) || vg_pipeline_outputs_down(e->pipeline))
        return false;
    *why = VG_NOT_READY_CHECKPOINT;
    for (i = 0; i < e->n_collectors; i++)
        if (e->collectors[i]->ckpt_failing)
            return false;
    return true;
}

/* Publishes readiness and its reason for /readyz. */
static void engine_publish_ready(struct vg_engine *e)
{
    enum vg_not_ready why;
    bool ready = engine_ready(e, &why);

    atomic_store(&e->health.not_ready, (int)why);
    atomic_store(&e->health.ready, ready);
}

int vg_engine_watch_fd(struct vg_engine *e, int fd, struct engine_watch *w)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = w};

    if (epoll_ctl(e->epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0)
        return VG_EIO;
    return VG_OK;
}

int vg_collector_watch_fd(struct vg_collector *c, int fd)
{
    struct engine_collector *ec = c->priv;
    struct engine_watch *w;

    if (ec == NULL)
        return VG_EINVAL;
    w = vg_calloc(1, sizeof(*w));
    if (w == NULL)
        return VG_ENOMEM;
    w->kind = ENGINE_SRC_COLLECTOR_FD;
    w->ec = ec;
    w->fd = fd;
    if (vg_engine_watch_fd(ec->e, fd, w) != VG_OK) {
        free(w);
        return VG_EIO;
    }
    w->next = ec->fd_watches;
    ec->fd_watches = w;
    return VG_OK;
}

void vg_collector_unwatch_fd(struct vg_collector *c, int fd)
{
    struct engine_collector *ec = c->priv;
    struct engine_watch **pp, *w;

    if (ec == NULL)
        return;
    for (pp = &ec->fd_watches; *pp != NULL; pp = &(*pp)->next) {
        w = *pp;
        if (w->fd != fd)
            continue;
        epoll_ctl(ec->e->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
        *pp = w->next;
        free(w);
        return;
    }
}

void vg_collector_wake(struct vg_collector *c, int64_t delay_ms)
{
    struct engine_collector *ec = c->priv;

    if (ec == NULL)
        return;
    if (delay_ms < 0)
        delay_ms = 0;
    if (ec->wake_ms < 0 || delay_ms < ec->wake_ms)
        ec->wake_ms = delay_ms;
}

/* Arms a one-shot timer delay_ms from now (0 is taken as 1 ms: a zero
 * it_value would disarm the timer). */
void vg_engine_arm(int fd, int64_t delay_ms)
{
    struct itimerspec its = {{0, 0}, {0, 0}};

    if (delay_ms < 1)
        delay_ms = 1;
    its.it_value.tv_sec = delay_ms / 1000;
    its.it_value.tv_nsec = (delay_ms % 1000) * 1000000L;
    timerfd_settime(fd, 0, &its, NULL);
}

void vg_engine_disarm(int fd)
{
    struct itimerspec its = {{0, 0}, {0, 0}};

    timerfd_settime(fd, 0, &its, NULL);
}

/* The wait before the next collection: the interval, doubled for each
 * consecutive failure (at most 2^5 times, at most 5 minutes unless the
 * interval itself is longer). */
static int64_t engine_next_delay(const struct engine_collector *ec)
{
    int64_t delay = ec->c.interval_ms;
    unsigned shift =
        ec->failures < ENGINE_BACKOFF_MAX_SHIFT ? ec->failures : ENGINE_BACKOFF_MAX_SHIFT;

    if (shift == 0)
        return ec->wake_ms >= 0 && ec->wake_ms < delay ? ec->wake_ms : delay;
    delay = delay > (INT64_MAX >> shift) ? INT64_MAX : delay << shift;
    if (delay > ENGINE_BACKOFF_CAP_MS)
        delay =
            ec->c.interval_ms > ENGINE_BACKOFF_CAP_MS ? ec->c.interval_ms : ENGINE_BACKOFF_CAP_MS;
    return delay;
}

/* Runs one collection, commits its samples, enqueues its records and
 * re-arms its timer. */
void vg_engine_collect(struct vg_engine *e, struct engine_collector *ec)
{
    struct vg_emit emit = {.samples = ec->samples, .sink = ec->sink};
    const char *type = ec->c.ops->name;
    int64_t t0 = vg_mono_ns();
    int rc;

    ec->reason[0] = '\0';
    ec->wake_ms = -1;
    rc = ec->c.ops->collect(&ec->c, &emit);
    ec->held = ec->sink != NULL && vg_sink_paused(ec->sink);
    ec->last_duration_s = (double)(vg_mono_ns() - t0) / 1e9;
    ec->ran = true;
    if (vg_store_commit(e->store, ec->owner, ec->samples) != VG_OK)
        vg_complain(&ec->complain, VG_LOG_WARN, type, ec->c.name,
                    "some samples were refused by the metric store");
    if (ec->sink != NULL)
        vg_sink_flush(ec->sink);
    if (rc == VG_OK) {
        ec->last_ok = true;
        if (ec->failures > 0)
            vg_complain_clear(&ec->complain, type, ec->c.name, "collection");
        ec->failures = 0;
    } else {
        ec->last_ok = false;
        ec->failures++;
        ec->errors_total++;
        vg_complain(&ec->complain, VG_LOG_ERROR, type, ec->c.name,
                    "collection failed: %s; next try in %lld ms",
                    ec->reason[0] ? ec->reason : vg_strerror(rc), (long long)engine_next_delay(ec));
    }
    if (!e->stopping)
        vg_engine_arm(ec->timer_fd, engine_next_delay(ec));
}

/* After acknowledgements: collectors held back by full queues run again as
 * soon as there is room. */
static void engine_resume_held(struct vg_engine *e)
{
    size_t i;

    for (i = 0; i < e->n_collectors && !e->stopping; i++) {
        struct engine_collector *ec = e->collectors[i];

        if (ec->held && !vg_sink_paused(ec->sink))
            vg_engine_collect(e, ec);
    }
}

static void engine_emit_collector_metrics(struct vg_engine *e, struct vg_emit *emit)
{
    size_t i;

    for (i = 0; i < e->n_collectors; i++) {
        struct engine_collector *ec = e->collectors[i];
        const char *name = ec->c.name;

        if (ec->ran) {
            vg_emit_gauge(emit, "vigil_collector_duration_seconds",
                          "Duration of the last collection of a collector.", ec->last_duration_s,
                          "collector", name, NULL);
            vg_emit_gauge(emit, "vigil_collector_success",
                          "Whether the last collection of a collector succeeded.",
                          ec->last_ok ? 1 : 0, "collector", name, NULL);
        }
        vg_emit_counter(emit, "vigil_collector_errors_total",
                        "Collections of a collector that failed.", (double)ec->errors_total,
                        "collector", name, NULL);
        vg_emit_counter(emit, "vigil_input_records_total", "Records emitted by a collector.",
                        (double)vg_sink_records_total(ec->sink), "collector", name, NULL);
        vg_emit_counter(emit, "vigil_input_bytes_total", "Bytes of records emitted by a collector.",
                        (double)vg_sink_bytes_total(ec->sink), "collector", name, NULL);
        vg_emit_counter(emit, "vigil_input_acked_records_total",
                        "Records of a collector delivered by every output they were routed to.",
                        (double)vg_sink_acked_total(ec->sink), "collector", name, NULL);
        if (vg_sink_process(ec->sink) != NULL) {
            vg_process_emit_metrics(vg_sink_process(ec->sink), emit, name);
            vg_emit_counter(emit, "vigil_input_dropped_total",
                            "Records of a collector that its filters dropped (acknowledged, "
                            "sent nowhere).",
                            (double)vg_sink_dropped_total(ec->sink), "collector", name, NULL);
        }
        vg_emit_gauge(emit, "vigil_input_paused",
                      "Whether a collector is held back because its outputs are full.",
                      vg_sink_paused(ec->sink) ? 1 : 0, "collector", name, NULL);
        if (ec->ckpt_reported)
            vg_emit_counter(emit, "vigil_checkpoint_errors_total",
                            "Writes of a collector's checkpoints to state_dir that failed "
                            "(/readyz fails until one succeeds).",
                            (double)ec->ckpt_errors_total, "collector", name, NULL);
    }
}

/* The log metrics into the store: at every tick, and just before an
 * evaluation of the alert rules so that a log rule sees the lines counted
 * up to that moment (a page within one evaluation interval). */
static void engine_log_metrics(struct vg_engine *e)
{
    struct vg_emit emit = {.samples = e->logm_samples, .sink = NULL};

    if (e->plan->log_metrics == NULL || e->logm_samples == NULL)
        return;
    vg_log_metrics_emit(e->plan->log_metrics, &emit, vg_mono_ns());
    vg_store_commit(e->store, ENGINE_LOGM_OWNER, e->logm_samples);
}

/* The once-a-second tick: heartbeat for /healthz and the self metrics. */
static void engine_tick(struct vg_engine *e)
{
    struct vg_emit emit = {.samples = e->self_samples, .sink = NULL};
    struct vg_sd_stats sd_stats = {.collectors = e->n_collectors, .outputs = e->plan->n_outputs};
    size_t i;

    atomic_store(&e->health.heartbeat_ns, vg_mono_ns());
    if (e->started && !e->stopping)
        engine_publish_ready(e);
    for (i = 0; i < e->n_collectors; i++)
        sd_stats.records_total += vg_sink_records_total(e->collectors[i]->sink);
    sd_stats.outputs_down = vg_pipeline_outputs_down(e->pipeline);
    vg_sd_notify_tick(&e->sd, vg_mono_ns(), &sd_stats);
    vg_self_collect(&emit);
    engine_emit_collector_metrics(e, &emit);
    vg_pipeline_emit_metrics(e->pipeline, &emit);
    vg_http_emit_metrics(e->http, &emit);
    if (e->notifiers != NULL)
        vg_notifier_emit_metrics(e->notifiers, &emit);
    vg_engine_reload_emit(e, &emit);
    vg_store_commit(e->store, ENGINE_SELF_OWNER, e->self_samples);
    engine_log_metrics(e);
}

/* One evaluation of the alert rules: states, ALERTS on /metrics and the
 * body of /api/v1/alerts. The rules read the store under its lock, one
 * family at a time; the collectors wait at most that long. */
static void engine_alerts(struct vg_engine *e)
{
    struct vg_alert_runner *r = e->plan->alerts;

    engine_log_metrics(e);
    vg_alert_runner_eval(r, e->store, vg_now_ns());
    if (vg_alert_runner_emit(r, e->alert_samples) != VG_OK)
        vg_log(VG_LOG_WARN, "alerts", "rules", "some ALERTS samples could not be staged");
    vg_store_commit(e->store, ENGINE_ALERTS_OWNER, e->alert_samples);
    vg_buf_reset(&e->alerts_json);
    if (vg_alert_runner_json(r, &e->alerts_json) == VG_OK)
        vg_http_publish_alerts(e->http, e->alerts_json.data, e->alerts_json.len);
}

static void engine_on_signal(struct vg_engine *e)
{
    struct signalfd_siginfo si;

    while (read(e->signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (si.ssi_signo == SIGHUP) {
            vg_engine_reload(e);
        } else {
            vg_log(VG_LOG_INFO, "engine", "main", "%s: shutting down",
                   si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
            e->stopping = true;
        }
    }
}

static void engine_dispatch(struct vg_engine *e, struct engine_watch *w)
{
    uint64_t expirations;

    switch (w->kind) {
    case ENGINE_SRC_SIGNAL:
        engine_on_signal(e);
        break;
    case ENGINE_SRC_ACK:
        vg_pipeline_process_acks(e->pipeline);
        engine_resume_held(e);
        break;
    case ENGINE_SRC_TICK:
        if (read(e->tick_fd, &expirations, sizeof(expirations)) > 0)
            engine_tick(e);
        break;
    case ENGINE_SRC_COLLECTOR:
        if (read(w->ec->timer_fd, &expirations, sizeof(expirations)) > 0)
            vg_engine_collect(e, w->ec);
        break;
    case ENGINE_SRC_COLLECTOR_FD:
        if (!e->stopping)
            vg_engine_collect(e, w->ec);
        break;
    case ENGINE_SRC_ALERTS:
        if (read(e->alerts_fd, &expirations, sizeof(expirations)) > 0 && !e->stopping &&
            e->plan->alerts != NULL)
            engine_alerts(e);
        break;
    }
}

/* Gives the notifiers half the shutdown timeout to deliver what they hold
 * (groups waiting out group_wait included); what is left is counted as
 * dropped and logged. */
void vg_engine_stop_notifiers(struct vg_engine *e, int64_t timeout_ms)
{
    size_t left;

    if (e->notifiers == NULL)
        return;
    left = vg_notifier_stop(e->notifiers, timeout_ms / 2);
    if (left > 0)
        vg_log(VG_LOG_WARN, "alerts", "notifiers",
               "%zu notices not delivered within half the shutdown timeout", left);
}

/* Stops the collectors' timers, drains the outputs within the shutdown
 * timeout and stops the HTTP server. Returns the exit code. */
static int engine_shutdown(struct vg_engine *e)
{
    int64_t timeout_ms = e->plan->agent.shutdown_timeout_ms;
    size_t i;
    int rc;

    vg_sd_notify_stopping(&e->sd);
    for (i = 0; i < e->n_collectors; i++)
        vg_engine_disarm(e->collectors[i]->timer_fd);
    atomic_store(&e->health.not_ready, VG_NOT_READY_STARTING);
    atomic_store(&e->health.ready, false);
    if (e->plan->alerts != NULL)
        vg_alert_runner_save(e->plan->alerts);
    vg_engine_stop_notifiers(e, timeout_ms);
    rc = vg_pipeline_drain(e->pipeline, vg_add_sat(vg_mono_ns(), vg_ms_to_ns_sat(timeout_ms)));
    if (rc != VG_OK)
        vg_log(VG_LOG_WARN, "engine", "main",
               "shutdown timeout of %lld ms reached: undelivered records stay unacknowledged",
               (long long)timeout_ms);
    vg_log(VG_LOG_INFO, "engine", "main", "stopped");
    return 0;
}

int vg_engine_run(struct vg_engine *e)
{
    struct epoll_event events[16];
    int i, n;

    vg_log(VG_LOG_INFO, "engine", "main",
           "vigil %s running: %zu collector%s, %zu output%s, http %s, state_dir %s", VIGIL_VERSION,
           e->n_collectors, e->n_collectors == 1 ? "" : "s", e->plan->n_outputs,
           e->plan->n_outputs == 1 ? "" : "s",
           e->plan->agent.http_listen[0] ? e->plan->agent.http_listen : "off",
           e->plan->agent.state_dir);
    while (!e->stopping) {
        n = epoll_wait(e->epoll_fd, events, (int)VG_ARRAY_LEN(events), ENGINE_TICK_MS);
        if (n < 0 && errno != EINTR) {
            vg_log(VG_LOG_ERROR, "engine", "main", "epoll_wait: %s", vg_errno_str(errno));
            break;
        }
        atomic_store(&e->health.heartbeat_ns, vg_mono_ns());
        for (i = 0; i < n; i++)
            engine_dispatch(e, events[i].data.ptr);
    }
    return engine_shutdown(e);
}

struct vg_output *vg_engine_output_new(struct vg_plan_output *po, struct vg_error *err)
{
    struct vg_output *o = vg_calloc(1, sizeof(*o));
    struct vg_error perr = {0};

    if (o == NULL) {
        vg_error_set(err, VG_ENOMEM, "out of memory");
        return NULL;
    }
    o->ops = po->ops;
    o->name = vg_strdup(po->name);
    if (o->name == NULL) { /* the plan keeps ctx and frees it */
        free(o);
        vg_error_set(err, VG_ENOMEM, "out of memory");
        return NULL;
    }
    o->ctx = po->ctx;
    po->ctx = NULL; /* the pipeline destroys it with the output */
    o->record_schema = vg_record_schema_parse(po->settings.record_schema);
    if (o->ops->init != NULL && o->ops->init(o, po->node, &perr) != VG_OK) {
        vg_error_set(err, VG_ECONFIG, "output %s (%s): %s", o->name, o->ops->name, perr.msg);
        vg_pipeline_output_free(o);
        return NULL;
    }
    return o;
}

static int engine_setup_outputs(struct vg_engine *e, struct vg_error *err)
{
    size_t i;

    for (i = 0; i < e->plan->n_outputs; i++) {
        struct vg_plan_output *po = &e->plan->outputs[i];
        struct vg_output *o = vg_engine_output_new(po, err);
        struct vg_error perr = {0};

        if (o == NULL)
            return err->code != 0 ? err->code : VG_ECONFIG;
        if (vg_pipeline_add_output(e->pipeline, o, &po->settings, &perr) != VG_OK)
            return vg_error_set(err, perr.code, "output %s: %s", po->name, perr.msg);
    }
    return VG_OK;
}

/* Sends the collector's batches to the outputs whose `inputs` take it. */
int vg_engine_route(struct vg_engine *e, struct engine_collector *ec)
{
    bool *takes = vg_calloc(e->plan->n_outputs + 1, sizeof(*takes));
    size_t i;
    int rc;

    if (takes == NULL)
        return VG_ENOMEM;
    for (i = 0; i < e->plan->n_outputs; i++)
        takes[i] = vg_output_takes(&e->plan->outputs[i].settings, ec->c.name);
    rc = vg_sink_route(ec->sink, takes);
    free(takes);
    return rc;
}

static int engine_setup_collector(struct vg_engine *e, struct engine_collector *ec,
                                  struct vg_plan_collector *pc, struct vg_error *err)
{
    struct vg_error perr = {0};

    ec->timer_fd = -1;
    ec->c.ops = pc->ops;
    ec->c.name = pc->name;
    ec->c.interval_ms = pc->interval_ms > 0 ? pc->interval_ms : pc->ops->default_interval_ms;
    if (ec->c.interval_ms <= 0)
        ec->c.interval_ms = 15000;
    ec->c.ctx = pc->ctx;
    ec->c.priv = ec;
    ec->watch.kind = ENGINE_SRC_COLLECTOR;
    ec->watch.ec = ec;
    ec->e = e;
    ec->wake_ms = -1;
    ec->c.node_name = e->node_name;
    ec->c.state_dir = e->plan->agent.state_dir;
    snprintf(ec->owner, sizeof(ec->owner), "collector:%s", pc->name);
    ec->samples = vg_samples_create();
    ec->sink = vg_pipeline_sink(e->pipeline, &ec->c);
    if (ec->sink != NULL && pc->ops->records && e->plan->log_metrics != NULL)
        vg_sink_set_log_metrics(ec->sink, e->plan->log_metrics);
    if (ec->sink != NULL && pc->process != NULL) {
        vg_sink_set_process(ec->sink, pc->process);
        pc->process = NULL; /* the sink owns it now */
    }
    ec->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (ec->samples == NULL || ec->sink == NULL || ec->timer_fd < 0 ||
        vg_engine_route(e, ec) != VG_OK)
        return vg_error_set(err, VG_ENOMEM, "collector %s: cannot allocate its state", pc->name);
    if (pc->ops->init != NULL && pc->ops->init(&ec->c, pc->node, &perr) != VG_OK)
        return vg_error_set(err, VG_ECONFIG, "collector %s (%s): %s", pc->name, pc->ops->name,
                            perr.msg);
    if (vg_engine_watch_fd(e, ec->timer_fd, &ec->watch) != VG_OK)
        return vg_error_set(err, VG_EIO, "epoll: %s", vg_errno_str(errno));
    return VG_OK;
}

/* Frees what vg_engine_collector_new made, whatever it got to. */
void vg_engine_collector_free(struct vg_engine *e, struct engine_collector *ec)
{
    if (ec == NULL)
        return;
    if (ec->c.ctx != NULL) {
        if (ec->c.ops->destroy != NULL)
            ec->c.ops->destroy(&ec->c);
        vg_options_free(ec->c.ops->options, ec->c.ctx);
        free(ec->c.ctx);
    }
    if (ec->samples != NULL)
        vg_samples_destroy(ec->samples);
    if (ec->timer_fd >= 0)
        close(ec->timer_fd); /* leaves the epoll set with it */
    while (ec->fd_watches != NULL) {
        struct engine_watch *w = ec->fd_watches;

        ec->fd_watches = w->next;
        if (e->epoll_fd >= 0)
            epoll_ctl(e->epoll_fd, EPOLL_CTL_DEL, w->fd, NULL);
        free(w);
    }
    vg_engine_gen_unref(e, ec->gen);
    vg_engine_gen_unref(e, ec->proc_gen);
    free(ec);
}

struct engine_collector *vg_engine_collector_new(struct vg_engine *e, struct vg_plan_collector *pc,
                                                 struct engine_gen *gen, struct vg_error *err)
{
    struct engine_collector *ec = vg_calloc(1, sizeof(*ec));
    int rc;

    if (ec == NULL) {
        vg_error_set(err, VG_ENOMEM, "collector %s: out of memory", pc->name);
        return NULL;
    }
    ec->node = pc->node;
    ec->gen = vg_engine_gen_ref(gen);
    ec->proc_gen = vg_engine_gen_ref(gen);
    rc = engine_setup_collector(e, ec, pc, err);
    pc->ctx = NULL; /* the engine owns it now */
    if (rc != VG_OK) {
        vg_engine_collector_free(e, ec);
        return NULL;
    }
    return ec;
}

struct engine_gen *vg_engine_gen_ref(struct engine_gen *g)
{
    if (g != NULL)
        g->refs++;
    return g;
}

void vg_engine_gen_unref(struct vg_engine *e, struct engine_gen *g)
{
    if (g == NULL || --g->refs > 0)
        return;
    if (e->reloader.free_cfg != NULL)
        e->reloader.free_cfg(e->reloader.arg, g->cfg);
    free(g);
}

static int engine_setup_fds(struct vg_engine *e, struct vg_error *err)
{
    sigset_t set;
    struct itimerspec tick = {{ENGINE_TICK_MS / 1000, 0}, {ENGINE_TICK_MS / 1000, 0}};

    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    e->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    e->signal_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    e->tick_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (e->epoll_fd < 0 || e->signal_fd < 0 || e->tick_fd < 0)
        return vg_error_set(err, VG_EIO, "cannot create the engine's descriptors: %s",
                            vg_errno_str(errno));
    timerfd_settime(e->tick_fd, 0, &tick, NULL);
    e->signal_watch.kind = ENGINE_SRC_SIGNAL;
    e->ack_watch.kind = ENGINE_SRC_ACK;
    e->tick_watch.kind = ENGINE_SRC_TICK;
    if (vg_engine_watch_fd(e, e->signal_fd, &e->signal_watch) != VG_OK ||
        vg_engine_watch_fd(e, e->tick_fd, &e->tick_watch) != VG_OK ||
        vg_engine_watch_fd(e, vg_pipeline_ack_fd(e->pipeline), &e->ack_watch) != VG_OK)
        return vg_error_set(err, VG_EIO, "epoll: %s", vg_errno_str(errno));
    return VG_OK;
}

/* The rule engine's hook: every evaluation's alerts to the notifiers. */
static void engine_notify(void *arg, const struct vg_alert_msg *alerts, size_t n, int64_t now_ns)
{
    vg_notifier_put(arg, alerts, n, now_ns);
}

/* The notifier set (after the node name is known: messages carry it),
 * with what it told before a restart, started and hooked to the rules. */
static int engine_setup_notifiers(struct vg_engine *e, struct vg_error *err)
{
    struct vg_error serr = {0};

    if (e->plan->notifiers == NULL)
        return VG_OK;
    if (e->notifiers == NULL) { /* else kept by a reload that changed only the rules */
        e->notifiers = vg_notifier_create(e->plan->notifiers, err);
        if (e->notifiers == NULL)
            return VG_EIO;
        if (vg_notifier_open_state(e->notifiers, e->plan->agent.state_dir, &serr) != VG_OK)
            vg_log(VG_LOG_WARN, "alerts", "notifiers",
                   "notifications told are not kept across restarts: %s", serr.msg);
        if (vg_notifier_start(e->notifiers, err) != VG_OK)
            return VG_EIO;
    }
    if (e->plan->alerts != NULL)
        vg_alert_runner_set_notify(e->plan->alerts, engine_notify, e->notifiers);
    return VG_OK;
}

/* The rule engine: its states from state_dir, its timer and its
 * notifiers. Again after a reload that changed them: the timer and the
 * samples are made once. */
int vg_engine_setup_alerts(struct vg_engine *e, struct vg_error *err)
{
    struct vg_alert_runner *r = e->plan->alerts;
    int64_t ms;
    struct itimerspec its;
    struct vg_error serr = {0};

    if (engine_setup_notifiers(e, err) != VG_OK)
        return VG_EIO;
    if (r == NULL)
        return VG_OK;
    if (vg_alert_runner_open_state(r, e->plan->agent.state_dir, &serr) != VG_OK)
        vg_log(VG_LOG_WARN, "alerts", "rules", "alert states are not kept across restarts: %s",
               serr.msg);
    ms = vg_alert_runner_interval_ms(r);
    its.it_interval.tv_sec = ms / 1000;
    its.it_interval.tv_nsec = (ms % 1000) * 1000000L;
    its.it_value = its.it_interval;
    if (e->alert_samples == NULL)
        e->alert_samples = vg_samples_create();
    if (e->alerts_fd < 0) {
        e->alerts_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        e->alerts_watch.kind = ENGINE_SRC_ALERTS;
        if (e->alerts_fd >= 0 && vg_engine_watch_fd(e, e->alerts_fd, &e->alerts_watch) != VG_OK)
            return vg_error_set(err, VG_EIO, "epoll: %s", vg_errno_str(errno));
    }
    if (e->alert_samples == NULL || e->alerts_fd < 0)
        return vg_error_set(err, VG_ENOMEM, "alerts: cannot allocate the rule engine's state");
    timerfd_settime(e->alerts_fd, 0, &its, NULL);
    return VG_OK;
}

struct vg_pipeline *vg_engine_pipeline_new(const struct vg_engine *e)
{
    const struct vg_agent_settings *a = &e->plan->agent;
    char dead_letter_dir[4096];
    struct vg_pipeline_settings ps = {a->batch_max_records, a->batch_max_bytes, dead_letter_dir};

    snprintf(dead_letter_dir, sizeof(dead_letter_dir), "%s/dead-letter", a->state_dir);
    return vg_pipeline_create(&ps);
}

static int engine_setup(struct vg_engine *e, struct vg_error *err)
{
    struct vg_agent_settings *a = &e->plan->agent;
    size_t i;
    int rc;

    if (a->node_name != NULL && a->node_name[0] != '\0')
        snprintf(e->node_name, sizeof(e->node_name), "%s", a->node_name);
    else if (gethostname(e->node_name, sizeof(e->node_name) - 1) != 0)
        snprintf(e->node_name, sizeof(e->node_name), "unknown");
    snprintf(engine_node_name, sizeof(engine_node_name), "%s", e->node_name);
    if (vg_mkdirs(a->state_dir) != VG_OK)
        vg_log(VG_LOG_WARN, "engine", "main", "cannot create state_dir %s: %s", a->state_dir,
               vg_errno_str(errno));
    e->store = vg_store_create();
    e->self_samples = vg_samples_create();
    e->logm_samples = vg_samples_create();
    e->pipeline = vg_engine_pipeline_new(e);
    if (e->store == NULL || e->self_samples == NULL || e->logm_samples == NULL ||
        e->pipeline == NULL)
        return vg_error_set(err, VG_ENOMEM, "out of memory");
    rc = engine_setup_outputs(e, err);
    if (rc != VG_OK)
        return rc;
    rc = engine_setup_fds(e, err);
    if (rc == VG_OK)
        rc = vg_engine_setup_alerts(e, err);
    if (rc != VG_OK)
        return rc;
    e->collectors = vg_calloc(e->plan->n_collectors + 1, sizeof(*e->collectors));
    if (e->collectors == NULL)
        return vg_error_set(err, VG_ENOMEM, "out of memory");
    for (i = 0; i < e->plan->n_collectors; i++) {
        e->collectors[i] = vg_engine_collector_new(e, &e->plan->collectors[i], NULL, err);
        if (e->collectors[i] == NULL)
            return err->code != 0 ? err->code : VG_ECONFIG;
        e->n_collectors = i + 1;
    }
    return VG_OK;
}

/* Starts what runs beside the loop: the output workers and the HTTP server. */
static int engine_start(struct vg_engine *e, struct vg_error *err)
{
    struct vg_agent_settings *a = &e->plan->agent;
    size_t i;
    int rc;

    vg_sd_notify_init(&e->sd, vg_ms_to_ns_sat(ENGINE_TICK_MS));
    atomic_store(&e->health.heartbeat_ns, vg_mono_ns());
    atomic_store(&e->health.stall_ns, vg_ms_to_ns_sat(a->http_stall_ms));
    rc = vg_pipeline_start(e->pipeline, err);
    if (rc != VG_OK)
        return rc;
    if (a->http_listen != NULL && a->http_listen[0] != '\0') {
        struct vg_http_limits limits = {
            .max_connections = (unsigned)a->http_max_conns,
            .max_per_client = (unsigned)a->http_max_per_client,
            .request_timeout_ns = vg_ms_to_ns_sat(a->http_request_ms),
        };

        rc = vg_http_start(a->http_listen, &limits, e->store, &e->health, &e->http, err);
        if (rc != VG_OK)
            return rc;
    }
    /* The first collections run now, so that /readyz turns 200 only once
     * /metrics holds every collector's values; then on their intervals. */
    for (i = 0; i < e->n_collectors; i++)
        vg_engine_collect(e, e->collectors[i]);
    e->started = true;
    e->last_reload_ok = true;
    e->last_reload_ok_s = (double)vg_now_ns() / 1e9;
    engine_tick(e);
    if (e->plan->alerts != NULL)
        engine_alerts(e);
    vg_sd_notify_ready(&e->sd); /* after engine_tick published /readyz */
    return VG_OK;
}

int vg_engine_create(struct vg_plan *plan, struct vg_engine **out, struct vg_error *err)
{
    struct vg_engine *e = vg_calloc(1, sizeof(*e));
    int rc;

    *out = NULL;
    if (e == NULL)
        return vg_error_set(err, VG_ENOMEM, "out of memory");
    e->plan = plan;
    e->epoll_fd = e->signal_fd = e->tick_fd = e->alerts_fd = -1;
    vg_buf_init(&e->alerts_json);
    rc = engine_setup(e, err);
    if (rc == VG_OK)
        rc = engine_start(e, err);
    if (rc != VG_OK) {
        vg_engine_destroy(e);
        return rc;
    }
    *out = e;
    return VG_OK;
}

void vg_engine_set_reloader(struct vg_engine *e, const struct vg_engine_reloader *r, void *cfg,
                            const struct vg_config_node *root)
{
    struct engine_gen *g = vg_calloc(1, sizeof(*g));
    size_t i;

    e->reloader = *r;
    if (g == NULL) { /* the plugins keep pointing into cfg: it is left to the exit */
        e->reloader.load = NULL;
        e->reloader.free_plan = NULL;
        return;
    }
    g->cfg = cfg;
    e->root = root;
    e->plan_gen = vg_engine_gen_ref(g);
    e->alerts_gen = vg_engine_gen_ref(g);
    e->notify_gen = vg_engine_gen_ref(g);
    for (i = 0; i < e->n_collectors; i++) {
        e->collectors[i]->gen = vg_engine_gen_ref(g);
        e->collectors[i]->proc_gen = vg_engine_gen_ref(g);
    }
    e->out_gens = vg_calloc(e->plan->n_outputs + 1, sizeof(*e->out_gens));
    for (i = 0; e->out_gens != NULL && i < e->plan->n_outputs; i++)
        e->out_gens[i] = vg_engine_gen_ref(g);
    if (e->out_gens == NULL) /* one reference stands for them all */
        vg_engine_gen_ref(g);
}

uint16_t vg_engine_http_port(const struct vg_engine *e)
{
    return e->http != NULL ? vg_http_port(e->http) : 0;
}

static void engine_close(int fd)
{
    if (fd >= 0)
        close(fd);
}

void vg_engine_destroy(struct vg_engine *e)
{
    size_t i;

    if (e == NULL)
        return;
    if (e->http != NULL)
        vg_http_stop(e->http);
    if (e->pipeline != NULL)
        vg_pipeline_destroy(e->pipeline);
    for (i = 0; i < e->n_collectors; i++)
        vg_engine_collector_free(e, e->collectors[i]);
    free(e->collectors);
    if (e->self_samples != NULL)
        vg_samples_destroy(e->self_samples);
    if (e->alert_samples != NULL)
        vg_samples_destroy(e->alert_samples);
    if (e->logm_samples != NULL)
        vg_samples_destroy(e->logm_samples);
    vg_buf_free(&e->alerts_json);
    if (e->notifiers != NULL)
        vg_notifier_destroy(e->notifiers);
    engine_close(e->alerts_fd);
    if (e->store != NULL)
        vg_store_destroy(e->store);
    engine_close(e->epoll_fd);
    engine_close(e->signal_fd);
    engine_close(e->tick_fd);
    vg_engine_gen_unref(e, e->alerts_gen);
    vg_engine_gen_unref(e, e->notify_gen);
    for (i = 0; e->out_gens != NULL && i < e->plan->n_outputs; i++)
        vg_engine_gen_unref(e, e->out_gens[i]);
    free(e->out_gens);
    if (e->reloader.free_plan != NULL)
        e->reloader.free_plan(e->reloader.arg, e->plan); /* before its tree */
    vg_engine_gen_unref(e, e->plan_gen);
    free(e);
}
