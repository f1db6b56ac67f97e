/*
 * gpu_nvml.c - the gpu_nvml collector: NVIDIA GPUs through NVML, loaded
 * with dlopen at start, under Prometheus names or dcgm-exporter's.
 *
 * An NVML call can hang for good when a GPU falls off the bus, so every
 * call runs on the collector's own worker thread. collect() (engine
 * thread) asks the worker for a snapshot and waits at most `timeout`; a
 * collection that misses it fails (vigil_collector_success 0; the engine
 * logs it, rate-limited, and backs the interval off), and while the worker is still stuck later
 * collections fail at once instead of waiting again. Neither the engine loop nor any other
 * collector ever waits on NVML. At shutdown a stuck worker is left behind
 * after a short grace, as the pipeline leaves a stuck output.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gpu_nvml_emit.h"
#include "gpu_nvml_read.h"

#define GN_PLUGIN   "gpu_nvml"
#define GN_GRACE_MS 500 /* how long destroy waits for the worker to end */

/*
 * The worker and what it shares with the collector. mu guards pending,
 * quit, exited, refs, asked_ns and the ready pointer; lib, next_try_ns,
 * warned and work belong to the worker thread alone, library and retry_ns
 * never change after creation.
 */
struct gn_job {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned refs; /* the collector's and the thread's */
    bool pending;  /* a snapshot was asked for and is not ready yet */
    bool quit;
    bool exited;
    int64_t asked_ns; /* when the pending request was made */
    char *library;
    char *instance;
    int64_t retry_ns;
    int64_t next_try_ns;
    bool warned; /* the library failure was logged */
    struct gn_snapshot *work;
    struct gn_snapshot *ready;
    struct gn_lib lib;
};

/* The names of a GPU, kept for when it is lost and NVML no longer says. */
struct gn_ident {
    char uuid[GN_TEXT_MAX];
    char name[GN_TEXT_MAX];
    char bus_id[32];
};

struct gn_ctx {
    /* options */
    char *library;
    char *naming;
    char *proc_root;
    int64_t timeout_ms;
    int64_t retry_ms;
    /* state */
    struct gn_job *job;
    struct gn_snapshot *snap;
    struct gn_ident ident[GN_GPU_MAX];
};

static const struct vg_option gn_options[] = {
    {"library", VG_OPT_STR, "libnvidia-ml.so.1", offsetof(struct gn_ctx, library),
     "the NVML library to load (a name the loader searches for, or a path)", 0, NULL},
    {"naming", VG_OPT_ENUM, "prometheus", offsetof(struct gn_ctx, naming),
     "metric names: prometheus (base units) or dcgm (dcgm-exporter's DCGM_FI_DEV_* and labels)", 0,
     "prometheus|dcgm"},
    {"proc_root", VG_OPT_STR, "/proc", offsetof(struct gn_ctx, proc_root),
     "where /proc/<pid>/cgroup of GPU processes is read (containers of the GPU processes)", 0,
     NULL},
    {"timeout", VG_OPT_DURATION, "5s", offsetof(struct gn_ctx, timeout_ms),
     "longest wait for NVML in one collection; a slower one fails", VG_OPT_MIN, NULL, 1},
    {"init_retry", VG_OPT_DURATION, "5m", offsetof(struct gn_ctx, retry_ms),
     "time between tries to load NVML when it is missing or has no driver", VG_OPT_MIN, NULL, 1},
    {NULL, VG_OPT_STR, NULL, 0, NULL, 0, NULL},
};

/* ------------------------------------------------------------------------
 * The worker.
 */

static void gn_job_release(struct gn_job *job)
{
    bool last;

    pthread_mutex_lock(&job->mu);
    last = --job->refs == 0;
    pthread_mutex_unlock(&job->mu);
    if (!last)
        return;
    pthread_cond_destroy(&job->cv);
    pthread_mutex_destroy(&job->mu);
    free(job->work);
    free(job->ready);
    free(job->library);
    free(job->instance);
    free(job);
}

/* Loads NVML when it is not up and the retry time has come; logs the
 * first failure at warn and the later ones at debug, so a node without
 * GPUs says it once. */
static void gn_job_load(struct gn_job *job)
{
    char why[512];
    int64_t now = vg_mono_ns();

    if (job->lib.up || now < job->next_try_ns)
        return;
    if (gn_lib_open(&job->lib, job->library, why, sizeof(why)) != VG_OK) {
        char every[32];

        job->next_try_ns = vg_add_sat(now, job->retry_ns);
        vg_duration_text(job->retry_ns / VG_NS_PER_MS, every, sizeof(every));
        vg_log(job->warned ? VG_LOG_DEBUG : VG_LOG_WARN, GN_PLUGIN, job->instance,
               "%s; no GPU metrics (vigil_gpu_backend_up 0), trying again every %s", why, every);
        job->warned = true;
        return;
    }
    vg_log(VG_LOG_INFO, GN_PLUGIN, job->instance, "NVML loaded from %s", job->library);
    job->warned = false;
}

/* One snapshot into job->work (worker thread, no lock held). */
static void gn_job_collect(struct gn_job *job)
{
    char why[512];

    memset(job->work, 0, sizeof(*job->work));
    gn_job_load(job);
    if (!job->lib.up)
        return;
    if (gn_lib_read(&job->lib, job->work, why, sizeof(why)) != VG_OK) {
        vg_log(VG_LOG_WARN, GN_PLUGIN, job->instance, "%s; unloading NVML to try again later", why);
        gn_lib_close(&job->lib);
        job->next_try_ns = vg_add_sat(vg_mono_ns(), job->retry_ns);
        job->work->backend_up = false;
        job->work->n_gpus = 0;
    }
}

/* Serves snapshot requests until told to quit; holds one reference. */
static void *gn_job_thread(void *arg)
{
    struct gn_job *job = arg;

    pthread_mutex_lock(&job->mu);
    for (;;) {
        struct gn_snapshot *t;

        while (!job->pending && !job->quit)
            pthread_cond_wait(&job->cv, &job->mu);
        if (job->quit)
            break;
        pthread_mutex_unlock(&job->mu);
        gn_job_collect(job);
        pthread_mutex_lock(&job->mu);
        t = job->ready;
        job->ready = job->work;
        job->work = t;
        job->pending = false;
        pthread_cond_broadcast(&job->cv);
    }
    pthread_mutex_unlock(&job->mu);
    gn_lib_close(&job->lib);
    pthread_mutex_lock(&job->mu);
    job->exited = true;
    pthread_cond_broadcast(&job->cv);
    pthread_mutex_unlock(&job->mu);
    gn_job_release(job);
    return NULL;
}

/* A deadline timeout_ms from now on the monotonic clock. */
static struct timespec gn_deadline(int64_t timeout_ms)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)(timeout_ms / 1000);
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

/* The job's allocations and its synchronisation; NULL on failure. */
static struct gn_job *gn_job_alloc(const struct gn_ctx *ctx, const char *instance)
{
    struct gn_job *job = calloc(1, sizeof(*job));
    pthread_condattr_t ca;

    if (job == NULL)
        return NULL;
    job->work = calloc(1, sizeof(*job->work));
    job->ready = calloc(1, sizeof(*job->ready));
    job->library = strdup(ctx->library);
    job->instance = strdup(instance);
    job->retry_ns = vg_ms_to_ns_sat(ctx->retry_ms);
    pthread_mutex_init(&job->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&job->cv, &ca);
    pthread_condattr_destroy(&ca);
    job->refs = 1;
    if (job->work == NULL || job->ready == NULL || job->library == NULL || job->instance == NULL) {
        gn_job_release(job);
        return NULL;
    }
    return job;
}

/* A new worker thread; VG_OK or VG_ENOMEM / VG_EIO. */
static int gn_job_start(struct gn_ctx *ctx, const char *instance)
{
    struct gn_job *job = gn_job_alloc(ctx, instance);
    pthread_attr_t ta;
    pthread_t tid;
    int rc;

    if (job == NULL)
        return VG_ENOMEM;
    job->refs = 2;
    pthread_attr_init(&ta);
    pthread_attr_setdetachstate(&ta, PTHREAD_CREATE_DETACHED);
    rc = pthread_create(&tid, &ta, gn_job_thread, job);
    pthread_attr_destroy(&ta);
    if (rc != 0) {
        job->refs = 1;
        gn_job_release(job);
        return VG_EIO;
    }
    ctx->job = job;
    return VG_OK;
}

/* Tells the worker to end, waits a short grace for it, and lets it go. */
static void gn_job_stop(struct gn_job *job)
{
    struct timespec ts = gn_deadline(GN_GRACE_MS);

    pthread_mutex_lock(&job->mu);
    job->quit = true;
    pthread_cond_broadcast(&job->cv);
    while (!job->exited)
        if (pthread_cond_timedwait(&job->cv, &job->mu, &ts) == ETIMEDOUT)
            break;
    if (!job->exited)
        vg_log(VG_LOG_WARN, GN_PLUGIN, job->instance,
               "NVML still has not answered; leaving its thread behind");
    pthread_mutex_unlock(&job->mu);
    gn_job_release(job);
}

/* ------------------------------------------------------------------------
 * The collector.
 */

/*
 * Asks the worker for a snapshot and waits at most the timeout; on success
 * ctx->snap holds it. VG_EAGAIN while an earlier request is still stuck,
 * VG_EIO when this one missed the deadline; either says why through
 * vg_collector_fail, and the engine logs it.
 */
static int gn_ask(struct vg_collector *c, struct gn_ctx *ctx)
{
    struct gn_job *job = ctx->job;
    struct timespec ts;
    double stuck_s;
    bool answered;

    pthread_mutex_lock(&job->mu);
    if (job->pending) {
        stuck_s = (double)(vg_mono_ns() - job->asked_ns) / 1e9;
        pthread_mutex_unlock(&job->mu);
        vg_collector_fail(c, "NVML has not answered for %.1fs (a GPU off the bus?)", stuck_s);
        return VG_EAGAIN;
    }
    job->pending = true;
    job->asked_ns = vg_mono_ns();
    pthread_cond_broadcast(&job->cv);
    ts = gn_deadline(ctx->timeout_ms);
    while (job->pending)
        if (pthread_cond_timedwait(&job->cv, &job->mu, &ts) == ETIMEDOUT)
            break;
    answered = !job->pending;
    if (answered) {
        struct gn_snapshot *t = ctx->snap;

        ctx->snap = job->ready;
        job->ready = t;
    }
    pthread_mutex_unlock(&job->mu);
    if (answered)
        return VG_OK;
    vg_collector_fail(c, "NVML did not answer within %.1fs", (double)ctx->timeout_ms / 1000.0);
    return VG_EIO;
}

/* Fills the names NVML no longer gives for a lost GPU from the last time
 * it did, remembers them otherwise, and shares each GPU's bus id. */
static void gn_identify(struct gn_ctx *ctx)
{
    size_t i;

    for (i = 0; i < ctx->snap->n_gpus; i++) {
        struct gn_gpu *g = &ctx->snap->gpus[i];
        struct gn_ident *id = &ctx->ident[i];

        if (g->uuid[0] == '\0')
            memcpy(g->uuid, id->uuid, sizeof(g->uuid));
        else
            memcpy(id->uuid, g->uuid, sizeof(id->uuid));
        if (g->name[0] == '\0')
            memcpy(g->name, id->name, sizeof(g->name));
        else
            memcpy(id->name, g->name, sizeof(id->name));
        if (g->bus_id[0] == '\0')
            memcpy(g->bus_id, id->bus_id, sizeof(g->bus_id));
        else
            memcpy(id->bus_id, g->bus_id, sizeof(id->bus_id));
        if (g->bus_id[0] != '\0' && g->uuid[0] != '\0')
            vg_gpu_put(g->bus_id, g->index, g->uuid);
    }
}

static int gn_collect(struct vg_collector *c, struct vg_emit *emit)
{
    struct gn_ctx *ctx = c->ctx;
    struct gn_emit_opts o;
    int rc = gn_ask(c, ctx);

    if (rc != VG_OK)
        return rc;
    gn_identify(ctx);
    o.naming = strcmp(ctx->naming, "dcgm") == 0 ? GN_NAMING_DCGM : GN_NAMING_PROMETHEUS;
    o.node = c->node_name != NULL ? c->node_name : "";
    o.proc_root = ctx->proc_root;
    return gn_emit_snapshot(emit, ctx->snap, &o);
}

static void gn_destroy(struct vg_collector *c)
{
    struct gn_ctx *ctx = c->ctx;

    if (ctx == NULL)
        return;
    if (ctx->job != NULL)
        gn_job_stop(ctx->job);
    ctx->job = NULL;
    free(ctx->snap);
    ctx->snap = NULL;
}

static int gn_init(struct vg_collector *c, const struct vg_config_node *cfg, struct vg_error *err)
{
    struct gn_ctx *ctx = c->ctx;
    char every[32], limit[32];

    if (ctx->library == NULL || ctx->library[0] == '\0')
        return vg_error_set(err, VG_ECONFIG, "option library: must not be empty");
    if (ctx->proc_root == NULL || ctx->proc_root[0] == '\0')
        return vg_error_set(err, VG_ECONFIG, "option proc_root: must not be empty");
    ctx->snap = calloc(1, sizeof(*ctx->snap));
    if (ctx->snap == NULL)
        return vg_error_set(err, VG_ENOMEM, "out of memory");
    if (gn_job_start(ctx, c->name) != VG_OK) {
        gn_destroy(c);
        return vg_error_set(err, VG_EIO, "cannot start the NVML thread");
    }
    vg_duration_text(c->interval_ms, every, sizeof(every));
    vg_duration_text(ctx->timeout_ms, limit, sizeof(limit));
    vg_log(VG_LOG_INFO, GN_PLUGIN, c->name,
           "collecting GPUs through %s every %s (naming %s, waiting at most %s for NVML)",
           ctx->library, every, ctx->naming, limit);
    return VG_OK;
}

const struct vg_collector_ops vg_collector_gpu_nvml = {
    .name = "gpu_nvml",
    .doc = "NVIDIA GPUs through NVML (loaded at run time), Prometheus or dcgm-exporter names",
    .options = gn_options,
    .ctx_size = sizeof(struct gn_ctx),
    .default_interval_ms = 15000,
    .init = gn_init,
    .collect = gn_collect,
    .destroy = gn_destroy,
};
