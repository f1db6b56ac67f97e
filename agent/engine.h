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
/* The HTTP port bound, 0 if none (for tests). */
uint16_t vg_engine_http_port(const struct vg_engine *e);

/* Self metrics (agent/self.c): vigil_build_info and process_*. */
void vg_self_collect(struct vg_emit *e);

#endif
