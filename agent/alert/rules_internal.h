/*
 * rules_internal.h - what the rule engine's files share: rules.c (rules,
 * evaluation, the state machine), rules_state.c (the state file) and
 * rules_expo.c (ALERTS, /api/v1/alerts, the notify hook's messages).
 */
#ifndef VG_ALERT_RULES_INTERNAL_H
#define VG_ALERT_RULES_INTERNAL_H

#include "alert/rules.h"

enum alert_state { ALERT_NONE, ALERT_PENDING, ALERT_FIRING, ALERT_RESOLVED };

struct alert_sample {
    int64_t t;
    double v;
};

/*
 * One alert instance: a series of a rule (key: its labels as name\0value\0
 * pairs, in name order), its state and, for a rule that reduces, the
 * series' recent samples. labels (the alert's: the series', the rule's,
 * alertname) point into lab_mem; annotations are expanded while active.
 */
struct alert_inst {
    struct alert_inst *next; /* hash chain */
    uint64_t hash;
    char *key;
    size_t key_len;
    struct vg_label *labels;
    size_t n_labels;
    char *lab_mem;
    char **annot; /* rule->n_annotations expanded texts, or NULL */
    enum alert_state state;
    int64_t active_at, fired_at, resolved_at, last_true, first_seen;
    double value;
    bool seen; /* in the evaluation that runs */
    struct alert_sample *hist;
    size_t n_hist, cap_hist;
};

struct alert_rule {
    char *name;
    struct vg_alert_selector sel;
    struct vg_alert_test fire, keep;
    bool has_clear;
    enum vg_alert_reduce reduce;
    int64_t window_ns, for_ns, keep_firing_ns;
    bool from_zero;
    struct vg_label *labels; /* strings in label_strs (name, value, ...) */
    size_t n_labels;
    struct vg_label *annotations; /* strings in annotation_strs */
    size_t n_annotations;
    char **label_strs, **annotation_strs;
    char **notify;
    size_t n_notify;
    char **group_by;
    size_t n_group_by;
    int64_t group_wait_ms, group_interval_ms, repeat_interval_ms;
    int send_resolved;
    struct alert_inst **buckets;
    size_t n_buckets, n_inst;
};

struct vg_alert_runner {
    struct alert_rule *rules;
    size_t n_rules, cap_rules;
    int64_t interval_ms;
    char *generator_url;
    vg_alert_notify_fn notify;
    void *notify_arg;
    char *state_path; /* NULL: no state kept */
    bool dirty;       /* a state changed since the last write */
    uint64_t write_errors;
    double last_eval_s; /* CPU-side duration of the last evaluation (monotonic) */
    struct vg_complain complain;
    /* scratch, reused from one evaluation to the next */
    struct vg_buf key;
    struct vg_buf text;
    struct vg_alert_msg *msgs;
    size_t cap_msgs;
    struct vg_label *ann;
    size_t cap_ann;
    struct vg_label *lab; /* a series' labels, for its selector */
    size_t cap_lab;
};

/* The instance of rule with key[0..len) (hash h), or NULL. */
struct alert_inst *vg_alert_inst_find(const struct alert_rule *rule, const char *key, size_t len,
                                      uint64_t h);
/* A new instance of rule for key, with its alert labels; NULL when out of
 * memory. */
struct alert_inst *vg_alert_inst_add(struct alert_rule *rule, const char *key, size_t len,
                                     uint64_t h);
/* The rule named name, or NULL. */
struct alert_rule *vg_alert_rule_find(struct vg_alert_runner *r, const char *name);
/* Expands the rule's annotations for inst (kept until the next call). */
void vg_alert_inst_annotate(struct vg_alert_runner *r, const struct alert_rule *rule,
                            struct alert_inst *inst);
/* Restores the states written in text[0..len) (the state file's
 * contents; hostile bytes allowed: a damaged line is skipped). VG_OK or
 * VG_ENOMEM. */
int vg_alert_state_parse(struct vg_alert_runner *r, const char *text, size_t len);
/* Hands the firing and resolved alerts to the hook. */
void vg_alert_notify(struct vg_alert_runner *r, int64_t now_ns);

#endif
