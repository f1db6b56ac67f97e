/*
 * http.h - the HTTP server (libmicrohttpd driven by a thread of its own):
 * /metrics, /healthz, /readyz, /api/v1/alerts.
 */
#ifndef VG_HTTP_H
#define VG_HTTP_H

#include <stdatomic.h>

#include "http_conns.h"
#include "metrics.h"

/* Shared by the engine (writer) and the HTTP thread (reader); atomics only. */
struct vg_health {
    _Atomic int64_t heartbeat_ns; /* vg_mono_ns() of the engine loop's last turn */
    _Atomic int64_t stall_ns;     /* /healthz answers 503 once the heartbeat is older */
    atomic_bool ready;            /* /readyz: config loaded and collectors started */
    _Atomic int not_ready;        /* why not, when !ready: enum vg_not_ready */
};

/* What /readyz's 503 says. */
enum vg_not_ready {
    VG_NOT_READY_STARTING,   /* starting or stopping */
    VG_NOT_READY_OUTPUT,     /* an output is down or stopped */
    VG_NOT_READY_CHECKPOINT, /* checkpoints cannot be written */
    VG_NOT_READY_N
};

/* Splits "host:port", "[v6]:port" or ":port" (all addresses). */
int vg_parse_listen(const char *listen, char *host, size_t host_len, uint16_t *port,
                    struct vg_error *err);

struct vg_http;
struct vg_emit;
/* Binds and starts serving within limits. A busy port or a bad address is
 * an error naming it. */
int vg_http_start(const char *listen, const struct vg_http_limits *limits,
                  struct vg_metric_store *store, struct vg_health *health, struct vg_http **out,
                  struct vg_error *err);
/* Serves json[0..len) (copied) at /api/v1/alerts from now on. VG_OK or
 * VG_ENOMEM (the previous body stays). h may be NULL (no server). */
int vg_http_publish_alerts(struct vg_http *h, const char *json, size_t len);
/* The port actually bound (useful with port 0). */
uint16_t vg_http_port(const struct vg_http *h);
void vg_http_stop(struct vg_http *h);
/* vigil_http_*: open connections, refusals, timeouts, failed accepts. */
void vg_http_emit_metrics(struct vg_http *h, struct vg_emit *e);

/* The decision behind /healthz, exposed for tests. */
bool vg_health_alive(const struct vg_health *h, int64_t now_mono_ns);

#endif
