/*
 * engine.h - the engine loop: timers, signals, collectors, the HTTP server
 * and the pipeline, wired from a plan.
 */
#ifndef VG_ENGINE_H
#define VG_ENGINE_H

#include "http.h"
#include "plan.h"
#include "vigil.h"

struct vg_engine;

/* Builds every plugin of the plan (the plan stays owned by the caller and
 * must outlive the engine; the engine takes the plugins' contexts). Binds
 * the HTTP server. Signals must already be blocked (vg_engine_block_signals)
 * before any thread starts. Returns VG_OK or an error describing which
 * plugin failed. */
int vg_engine_create(struct vg_plan *plan, struct vg_engine **out, struct vg_error *err);
/* Runs until SIGTERM or SIGINT, then drains within agent.shutdown_timeout.
 * Returns the process exit code (0 after an orderly shutdown). */
int vg_engine_run(struct vg_engine *e);
void vg_engine_destroy(struct vg_engine *e);
/* Blocks SIGTERM, SIGINT and SIGHUP (taken through signalfd) and ignores
 * SIGPIPE; call first in main so that every thread inherits the mask. */
int vg_engine_block_signals(void);
/* How the engine reads its configuration again on SIGHUP (main.c holds
 * the loader, which agent/ does not link against). */
struct vg_engine_reloader {
    /* Loads the configuration again: its plan into plan (zeroed), its tree
     * into *cfg and *root. Logs every error; VG_OK, or VG_ECONFIG with
     * nothing left to free. */
    int (*load)(void *arg, struct vg_plan *plan, void **cfg, const struct vg_config_node **root);
    void (*free_plan)(void *arg, struct vg_plan *plan); /* what is left of a plan */
    void (*free_cfg)(void *arg, void *cfg);
    void *arg;
};
/* Sets the reloader; the engine takes cfg (the tree the running plan was
 * built from, root its root) and frees it, and the plan's contents, when
 * destroyed. */
void vg_engine_set_reloader(struct vg_engine *e, const struct vg_engine_reloader *r, void *cfg,
                            const struct vg_config_node *root);
/* The HTTP port bound, 0 if none (for tests). */
uint16_t vg_engine_http_port(const struct vg_engine *e);

/* Self metrics (agent/self.c): vigil_build_info and process_*. */
void vg_self_collect(struct vg_emit *e);

#endif
