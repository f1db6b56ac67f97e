/*
 * expr.h - what an alert rule compares: `expr: <selector> <op> <number>`,
 * the selector a metric name with Prometheus label matchers
 * (`gpu_temperature_celsius{gpu=~"0|1",node!="a"}`), `count: "> N in 5m"`
 * of log rules and `clear:` (a number, or `[metric] <op> <number>`).
 * Pure functions on strings: the plan checks a rule with them and the
 * runner keeps what they return.
 */
#ifndef VG_ALERT_EXPR_H
#define VG_ALERT_EXPR_H

#include <stdbool.h>
#include <stddef.h>

#include "vigil.h"

#define VG_ALERT_MAX_MATCHERS 32

enum vg_alert_match_op { VG_ALERT_EQ, VG_ALERT_NE, VG_ALERT_RE, VG_ALERT_NRE };
enum vg_alert_cmp { VG_CMP_GT, VG_CMP_GE, VG_CMP_LT, VG_CMP_LE, VG_CMP_EQ, VG_CMP_NE };

struct vg_regex;

/* One label matcher; a missing label reads as "" (as in Prometheus). */
struct vg_alert_matcher {
    char *label;
    char *value;
    enum vg_alert_match_op op;
    struct vg_regex *re; /* =~ and !~: the value anchored at both ends */
};

struct vg_alert_selector {
    char *metric;
    struct vg_alert_matcher m[VG_ALERT_MAX_MATCHERS];
    size_t n;
};

/* A comparison with a number. */
struct vg_alert_test {
    enum vg_alert_cmp cmp;
    double threshold;
};

/* Parses "<selector> <op> <number>" into sel and test. VG_OK, or VG_EPARSE
 * (VG_ENOMEM) with why saying what is wrong and where ("at offset 12:
 * expected a label matcher operator (=, !=, =~, !~)"). Undo with
 * vg_alert_selector_free, also after an error. */
int vg_alert_expr_parse(const char *text, struct vg_alert_selector *sel, struct vg_alert_test *test,
                        char *why, size_t why_size);
void vg_alert_selector_free(struct vg_alert_selector *sel);

/* Parses "<op> <number> in <duration>" (count: of a log rule); the
 * duration's text goes to window (for the caller's duration parser). */
int vg_alert_count_parse(const char *text, struct vg_alert_test *test, char *window,
                         size_t window_size, char *why, size_t why_size);

/* Parses clear: a number (the alert resolves once the rule's comparison
 * with that number no longer holds), or "[metric] <op> <number>" (it
 * resolves once that holds). The result is the test that keeps a firing
 * alert firing. */
int vg_alert_clear_parse(const char *text, const struct vg_alert_test *fire,
                         struct vg_alert_test *keep, char *why, size_t why_size);

/* Whether labels (any order) pass every matcher of sel. */
bool vg_alert_selector_matches(const struct vg_alert_selector *sel, const struct vg_label *labels,
                               size_t n);
/* Whether v <cmp> threshold holds (NaN never does). */
bool vg_alert_test_holds(const struct vg_alert_test *t, double v);
/* ">", ">=", ... */
const char *vg_alert_cmp_text(enum vg_alert_cmp c);

#endif
