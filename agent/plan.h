/*
 * plan.h - the plan: what config/ hands the engine. config/ builds it
 * (vg_plan_build in config/config.h) from a checked configuration; the
 * engine instantiates its plugins. Only types live here, so that agent/
 * reads a plan without depending on config/.
 */
#ifndef VG_PLAN_H
#define VG_PLAN_H

#include "output_settings.h"
#include "vigil.h"

/* The agent: section (its table is vg_agent_options in config/). */
struct vg_agent_settings {
    char *node_name;             /* agent.node_name; "" = the host name */
    char *state_dir;             /* agent.state_dir */
    int64_t shutdown_timeout_ms; /* agent.shutdown_timeout */
    char *http_listen;           /* agent.http.listen; "" disables the server */
    int64_t http_stall_ms;       /* agent.http.stall_timeout: /healthz fails past it */
    int64_t http_max_conns;      /* agent.http.max_connections */
    int64_t http_max_per_client; /* agent.http.max_connections_per_client */
    int64_t http_request_ms;     /* agent.http.request_timeout */
    char *log_level;             /* agent.log.level: debug|info|warn|error */
    char *log_format;            /* agent.log.format: logfmt|json */
    uint64_t batch_max_records;  /* agent.batch.max_records */
    uint64_t batch_max_bytes;    /* agent.batch.max_bytes */
    int64_t max_collectors;      /* agent.max_collectors */
    int64_t max_outputs;         /* agent.max_outputs */
};

struct vg_plan_collector {
    const struct vg_collector_ops *ops;
    char *name;                        /* unique: name:, else type, else type.N */
    void *ctx;                         /* ops->ctx_size bytes, options applied */
    int64_t interval_ms;               /* resolved */
    const struct vg_config_node *node; /* its map in the config */
    struct vg_process *process;        /* its processing steps (process.h), or NULL */
};

struct vg_plan_output {
    const struct vg_output_ops *ops;
    char *name;
    void *ctx;
    struct vg_output_settings settings; /* vg_output_common_options applied */
    const struct vg_config_node *node;
};

struct vg_log_metrics;
struct vg_alert_runner;
struct vg_notifier_plan;

struct vg_plan {
    struct vg_agent_settings agent;
    struct vg_log_metrics *log_metrics; /* counts from records (log_metrics.h); always made */
    struct vg_alert_runner *alerts;     /* alert rules (alert/rules.h); NULL: none */
    struct vg_notifier_plan *notifiers; /* alerts.notifiers (alert/notifier.h); NULL: none */
    struct vg_plan_collector *collectors;
    size_t n_collectors;
    struct vg_plan_output *outputs;
    size_t n_outputs;
};

#endif
