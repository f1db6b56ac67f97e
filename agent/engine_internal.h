/*
 * engine_internal.h - what engine.c and engine_reload.c share: the
 * engine's state and the steps a reload reuses. Engine thread only.
 */
#ifndef VG_ENGINE_INTERNAL_H
#define VG_ENGINE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "engine.h"
#include "pipeline.h"
#include "sd_notify.h"

#define ENGINE_TICK_MS           1000 /* heartbeat and self metrics */
#define ENGINE_BACKOFF_MAX_SHIFT 5    /* a failing collector waits up to 32 intervals */
#define ENGINE_BACKOFF_CAP_MS    (5 * 60 * 1000)
#define ENGINE_SELF_OWNER        "vigil:self"
#define ENGINE_LOGM_OWNER        "vigil:log_metrics"
#define ENGINE_ALERTS_OWNER      "vigil:alerts"

enum engine_src {
    ENGINE_SRC_SIGNAL,
    ENGINE_SRC_ACK,
    ENGINE_SRC_TICK,
    ENGINE_SRC_COLLECTOR,
    ENGINE_SRC_COLLECTOR_FD,
    ENGINE_SRC_ALERTS,
};

/* What an epoll event points at. */
struct engine_watch {
    enum engine_src kind;
    struct engine_collector *ec;
    int fd;
    struct engine_watch *next; /* a collector's fd watches */
};

/* A collector and the engine's bookkeeping for it (engine thread only). */
struct engine_collector {
    struct vg_collector c;
    struct engine_watch watch;
    struct vg_samples *samples;
    struct vg_sink *sink;
    int timer_fd;
    char owner[128];
    unsigned failures; /* consecutive */
    double last_duration_s;
    bool last_ok;
    bool ran;
    uint64_t errors_total;
    char reason[256]; /* set by vg_collector_fail during collect */
    struct vg_complain complain;
    struct engine_watch *fd_watches; /* vg_collector_watch_fd */
    int64_t wake_ms;                 /* vg_collector_wake during collect; -1: none */
    bool held;                       /* the last collect ended paused */
    bool ckpt_reported;              /* vg_collector_checkpoint_state was called */
    bool ckpt_failing;               /* ... and the last report was a failure */
    uint64_t ckpt_errors_total;
    struct vg_engine *e;
    const struct vg_config_node *node; /* its map in the configuration */
    struct engine_gen *gen;            /* the configuration its ctx was built from */
    struct engine_gen *proc_gen;       /* ... and its sink's processing steps */
};

struct vg_engine {
    struct vg_plan *plan;
    struct engine_collector **collectors; /* each allocated alone: epoll and plugins point at it */
    size_t n_collectors;
    struct vg_metric_store *store;
    struct vg_pipeline *pipeline;
    struct vg_http *http;
    struct vg_health health;
    struct vg_samples *self_samples;
    int epoll_fd;
    int signal_fd;
    int tick_fd;
    struct engine_watch signal_watch, ack_watch, tick_watch, alerts_watch;
    int alerts_fd;                     /* the rule engine's timer, -1: no rules */
    struct vg_notifier_set *notifiers; /* alerts.notifiers; NULL: none */
    struct vg_samples *alert_samples;  /* ALERTS and ALERTS_FOR_STATE */
    struct vg_samples *logm_samples;   /* the log metrics (log rules read them) */
    struct vg_buf alerts_json;         /* /api/v1/alerts */
    char node_name[256];
    bool started;
    bool stopping;
    struct vg_sd_notify sd; /* systemd's notifications and watchdog (sd_notify.c) */
    /* reload (engine_reload.c) */
    struct vg_engine_reloader reloader; /* load NULL: SIGHUP only reopens output files */
    const struct vg_config_node *root;  /* the running configuration's tree */
    struct engine_gen *plan_gen;        /* ... the plan's */
    struct engine_gen **out_gens;       /* per plan output: its ctx's */
    struct engine_gen *alerts_gen;      /* the rules' and log metrics' */
    struct engine_gen *notify_gen;      /* the notifiers' */
    uint64_t reloads_ok, reloads_failed;
    bool last_reload_ok;
    double last_reload_ok_s; /* UNIX time of the last successful load (the first at start) */
};

/* A configuration tree that plugins built from it may still point into:
 * freed (reloader.free_cfg) when the last of them is gone. */
struct engine_gen {
    void *cfg;
    unsigned refs;
};

/* engine.c */
int vg_engine_watch_fd(struct vg_engine *e, int fd, struct engine_watch *w);
void vg_engine_arm(int fd, int64_t delay_ms);
void vg_engine_disarm(int fd);
/* Runs one collection of ec and re-arms its timer. */
void vg_engine_collect(struct vg_engine *e, struct engine_collector *ec);
/* Routes ec's sink to the plan's outputs whose `inputs` take it. */
int vg_engine_route(struct vg_engine *e, struct engine_collector *ec);
/* A collector of the plan made and initialised (its ctx and process are
 * taken from pc), holding a reference to gen; NULL with err set. */
struct engine_collector *vg_engine_collector_new(struct vg_engine *e, struct vg_plan_collector *pc,
                                                 struct engine_gen *gen, struct vg_error *err);
/* Destroys a collector (its plugin writes its checkpoints), its timer and
 * its watches, and drops its reference to its configuration. */
void vg_engine_collector_free(struct vg_engine *e, struct engine_collector *ec);
/* The output of the plan made and initialised (its ctx taken); NULL with err set. */
struct vg_output *vg_engine_output_new(struct vg_plan_output *po, struct vg_error *err);
/* An empty pipeline with the agent's batch sizes and dead-letter folder. */
struct vg_pipeline *vg_engine_pipeline_new(const struct vg_engine *e);
/* Gives the notifiers half of timeout_ms to deliver what they hold; what
 * is left is counted as dropped and logged. */
void vg_engine_stop_notifiers(struct vg_engine *e, int64_t timeout_ms);
/* The alert rules' timer and samples (made once) and the notifiers. */
int vg_engine_setup_alerts(struct vg_engine *e, struct vg_error *err);
struct engine_gen *vg_engine_gen_ref(struct engine_gen *g);
void vg_engine_gen_unref(struct vg_engine *e, struct engine_gen *g);

/* engine_reload.c */
/* SIGHUP: reads the configuration again and applies what changed. */
void vg_engine_reload(struct vg_engine *e);
/* vigil_config_* */
void vg_engine_reload_emit(struct vg_engine *e, struct vg_emit *emit);

#endif
