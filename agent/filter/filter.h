/*
 * filter.h - what the filter types of agent/filter/ (grep, modify, redact,
 * throttle, level) share: a field's text, the compile of a regex option
 * with its error, the counters every step emits under its collector and
 * step labels, and the clock of a throttle step for tests.
 */
#ifndef VG_FILTER_H
#define VG_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parse/pattern.h"
#include "process.h"

/* PCRE2 match limit of a filter's patterns (as the regex parser's). */
#define VG_FILTER_MATCH_LIMIT 100000u

/* The key that names the record's body rather than a field. */
#define VG_FILTER_BODY "body"

/* True when key names the body. */
bool vg_filter_is_body(const char *key);

/*
 * The text of f in *s, *len: a string's or JSON field's own bytes, else the
 * value as JSON writes it (42, 1.5, true), built in scratch (reset first;
 * no allocation once it is large enough). VG_OK or VG_ENOMEM.
 */
int vg_filter_field_text(const struct vg_field *f, struct vg_buf *scratch, const char **s,
                         size_t *len);

/*
 * The text of what key names in the record: the body when body is set,
 * else the first field of that key (vg_filter_field_text). 1 found, 0 not
 * there, or VG_ENOMEM.
 */
int vg_filter_lookup(const struct vg_prec *pr, const char *key, size_t key_len, bool body,
                     struct vg_buf *scratch, const char **s, size_t *len);

/*
 * Compiles the regex of an option into pt (vg_pattern_compile with
 * VG_FILTER_MATCH_LIMIT), reporting a bad one against the option as
 * "option 'include': pattern '(a': missing closing parenthesis at offset
 * 2". VG_OK, VG_ECONFIG or VG_ENOMEM; pt is vg_pattern_free'd by the
 * caller either way.
 */
int vg_filter_compile(struct vg_check *chk, const char *option, const char *pattern,
                      struct vg_pattern *pt);

/* A counter of a step: family{collector, step} = v. */
void vg_filter_count(struct vg_emit *e, const char *family, const char *help, uint64_t v,
                     const char *collector, const char *step);
/* The counters several types emit, one family and help text each:
 * vigil_filter_dropped_total (records dropped), vigil_filter_changed_total
 * (records changed) and vigil_filter_regex_limit_total (matches stopped by
 * the match limit). */
void vg_filter_count_dropped(struct vg_emit *e, uint64_t v, const char *collector,
                             const char *step);
void vg_filter_count_changed(struct vg_emit *e, uint64_t v, const char *collector,
                             const char *step);
void vg_filter_count_limits(struct vg_emit *e, uint64_t v, const char *collector, const char *step);

/* The monotonic clock of a throttle step (vg_mono_ns unless set here), for
 * tests that drive time themselves; ctx is the step's built context. */
typedef int64_t (*vg_filter_clock_fn)(void *arg);
void vg_filter_throttle_clock(void *ctx, vg_filter_clock_fn now, void *arg);

#endif
