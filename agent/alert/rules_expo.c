/*
 * rules_expo.c - what the rule engine shows: ALERTS and ALERTS_FOR_STATE
 * for /metrics, the body of /api/v1/alerts, and the messages of the
 * notify hook.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alert/rules_internal.h"
#include "alloc.h"

#define EXPO_ALERTS_HELP "Alerts pending and firing, as Prometheus exposes them."
#define EXPO_FOR_HELP    "The time (UNIX seconds) each pending or firing alert became active."

void vg_alert_format_value(double v, char *out, size_t size)
{
    int prec;

    if (isnan(v)) {
        snprintf(out, size, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(out, size, "%sInf", v > 0 ? "+" : "-");
        return;
    }
    /* the shortest %e that reads back as v, as Go's 'e' with precision -1 */
    for (prec = 0; prec < 17; prec++) {
        snprintf(out, size, "%.*e", prec, v);
        if (strtod(out, NULL) == v)
            return;
    }
    snprintf(out, size, "%.17e", v);
}

void vg_alert_format_time(int64_t ns, char *out, size_t size)
{
    time_t sec = (time_t)(ns / VG_NS_PER_SEC);
    long frac = (long)(ns % VG_NS_PER_SEC);
    char base[32], digits[16];
    struct tm tm;
    int n = 9;

    if (frac < 0) {
        frac += VG_NS_PER_SEC;
        sec--;
    }
    gmtime_r(&sec, &tm);
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    if (frac == 0) {
        snprintf(out, size, "%sZ", base);
        return;
    }
    snprintf(digits, sizeof(digits), "%09ld", frac);
    while (n > 1 && digits[n - 1] == '0')
        n--;
    snprintf(out, size, "%s.%.*sZ", base, n, digits);
}

static bool expo_active(const struct alert_inst *inst)
{
    return inst->state == ALERT_PENDING || inst->state == ALERT_FIRING;
}

/* A walk over every instance of every rule. */
struct expo_iter {
    size_t rule, bucket;
    const struct alert_inst *inst;
};

/* The next instance (its rule in *rule), or NULL at the end. Start with
 * a zeroed iterator. */
static const struct alert_inst *expo_next(const struct vg_alert_runner *r, struct expo_iter *it,
                                          const struct alert_rule **rule)
{
    if (it->inst != NULL)
        it->inst = it->inst->next;
    while (it->inst == NULL && it->rule < r->n_rules) {
        const struct alert_rule *ru = &r->rules[it->rule];

        if (it->bucket < ru->n_buckets) {
            it->inst = ru->buckets[it->bucket++];
            continue;
        }
        it->rule++;
        it->bucket = 0;
    }
    *rule = it->inst != NULL ? &r->rules[it->rule] : NULL;
    return it->inst;
}

/* The labels of inst and one more (name, value) into the scratch. */
static struct vg_label *expo_labels_plus(struct vg_alert_runner *r, const struct alert_inst *inst,
                                         const char *name, const char *value, size_t *n)
{
    if (vg_grow((void **)&r->ann, &r->cap_ann, inst->n_labels + 1, sizeof(*r->ann)) != VG_OK)
        return NULL;
    memcpy(r->ann, inst->labels, inst->n_labels * sizeof(*r->ann));
    *n = inst->n_labels;
    if (name != NULL)
        r->ann[(*n)++] = (struct vg_label){name, value};
    return r->ann;
}

/* The rule engine's own health. */
static int expo_self(const struct vg_alert_runner *r, struct vg_samples *s)
{
    int rc = vg_samples_add(s, "vigil_alert_rules", VG_METRIC_GAUGE, "Alerting rules configured.",
                            "", NULL, 0, (double)r->n_rules);

    if (rc == VG_OK)
        rc = vg_samples_add(s, "vigil_alert_evaluation_duration_seconds", VG_METRIC_GAUGE,
                            "Duration of the last evaluation of every alerting rule.", "", NULL, 0,
                            r->last_eval_s);
    if (rc == VG_OK && r->state_path != NULL)
        rc = vg_samples_add(s, "vigil_alert_state_write_errors_total", VG_METRIC_COUNTER,
                            "Writes of the alert states to state_dir that failed.", "", NULL, 0,
                            (double)r->write_errors);
    return rc;
}

int vg_alert_runner_emit(struct vg_alert_runner *r, struct vg_samples *s)
{
    const struct alert_rule *rule;
    const struct alert_inst *inst;
    struct expo_iter it = {0, 0, NULL};
    struct vg_label *l;
    size_t n;
    int rc = expo_self(r, s), x;

    for (inst = expo_next(r, &it, &rule); inst != NULL; inst = expo_next(r, &it, &rule)) {
        if (!expo_active(inst))
            continue;
        l = expo_labels_plus(r, inst, "alertstate",
                             inst->state == ALERT_FIRING ? "firing" : "pending", &n);
        if (l == NULL)
            return VG_ENOMEM;
        x = vg_samples_add(s, "ALERTS", VG_METRIC_GAUGE, EXPO_ALERTS_HELP, "", l, n, 1);
        if (x == VG_OK)
            x = vg_samples_add(s, "ALERTS_FOR_STATE", VG_METRIC_GAUGE, EXPO_FOR_HELP, "", l, n - 1,
                               (double)(inst->active_at / VG_NS_PER_SEC));
        if (x != VG_OK && rc == VG_OK)
            rc = x;
    }
    return rc;
}

/* {"name":"value",...} of n labels. */
static int expo_json_map(struct vg_buf *b, const struct vg_label *l, size_t n)
{
    size_t i;
    int rc = vg_buf_putc(b, '{');

    for (i = 0; rc == VG_OK && i < n; i++) {
        if (i > 0)
            rc = vg_buf_putc(b, ',');
        if (rc == VG_OK)
            rc = vg_buf_json_string(b, l[i].name, strlen(l[i].name));
        if (rc == VG_OK)
            rc = vg_buf_putc(b, ':');
        if (rc == VG_OK)
            rc = vg_buf_json_string(b, l[i].value, strlen(l[i].value));
    }
    return rc == VG_OK ? vg_buf_putc(b, '}') : rc;
}

/* The annotations of inst (expanded; a failed expansion shows the
 * template) into the scratch. */
static const struct vg_label *expo_annotations(struct vg_alert_runner *r,
                                               const struct alert_rule *rule,
                                               const struct alert_inst *inst, size_t at)
{
    size_t i;

    if (vg_grow((void **)&r->ann, &r->cap_ann, at + rule->n_annotations + 1, sizeof(*r->ann)) !=
        VG_OK)
        return NULL;
    for (i = 0; i < rule->n_annotations; i++) {
        r->ann[at + i].name = rule->annotations[i].name;
        r->ann[at + i].value = inst->annot != NULL && inst->annot[i] != NULL
                                   ? inst->annot[i]
                                   : rule->annotations[i].value;
    }
    return r->ann + at;
}

static int expo_json_alert(struct vg_alert_runner *r, const struct alert_rule *rule,
                           const struct alert_inst *inst, struct vg_buf *b)
{
    const struct vg_label *ann = expo_annotations(r, rule, inst, 0);
    char when[64], value[64];
    int rc;

    if (ann == NULL)
        return VG_ENOMEM;
    vg_alert_format_time(inst->active_at, when, sizeof(when));
    vg_alert_format_value(inst->value, value, sizeof(value));
    rc = vg_buf_puts(b, "{\"labels\":");
    if (rc == VG_OK)
        rc = expo_json_map(b, inst->labels, inst->n_labels);
    if (rc == VG_OK)
        rc = vg_buf_puts(b, ",\"annotations\":");
    if (rc == VG_OK)
        rc = expo_json_map(b, ann, rule->n_annotations);
    if (rc == VG_OK)
        rc = vg_buf_printf(b, ",\"state\":\"%s\",\"activeAt\":\"%s\",\"value\":\"%s\"}",
                           inst->state == ALERT_FIRING ? "firing" : "pending", when, value);
    return rc;
}

int vg_alert_runner_json(struct vg_alert_runner *r, struct vg_buf *b)
{
    const struct alert_rule *rule;
    const struct alert_inst *inst;
    struct expo_iter it = {0, 0, NULL};
    bool first = true;
    int rc = vg_buf_puts(b, "{\"status\":\"success\",\"data\":{\"alerts\":[");

    for (inst = expo_next(r, &it, &rule); inst != NULL; inst = expo_next(r, &it, &rule)) {
        if (rc != VG_OK || !expo_active(inst))
            continue;
        if (!first)
            rc = vg_buf_putc(b, ',');
        first = false;
        if (rc == VG_OK)
            rc = expo_json_alert(r, rule, inst, b);
    }
    return rc == VG_OK ? vg_buf_puts(b, "]}}") : rc;
}

/* The message of inst, its annotations at r->ann[at...]. */
static void expo_msg(struct vg_alert_runner *r, const struct alert_rule *rule,
                     const struct alert_inst *inst, struct vg_alert_msg *m)
{
    memset(m, 0, sizeof(*m));
    m->labels = inst->labels;
    m->n_labels = inst->n_labels;
    m->n_annotations = rule->n_annotations;
    m->starts_at_ns = inst->fired_at;
    m->ends_at_ns = inst->state == ALERT_RESOLVED ? inst->resolved_at : 0;
    m->value = inst->value;
    m->notify = (const char *const *)rule->notify;
    m->n_notify = rule->n_notify;
    m->generator_url = r->generator_url;
    m->group_by = (const char *const *)rule->group_by;
    m->n_group_by = rule->n_group_by;
    m->group_wait_ms = rule->group_wait_ms;
    m->group_interval_ms = rule->group_interval_ms;
    m->repeat_interval_ms = rule->repeat_interval_ms;
    m->send_resolved = rule->send_resolved;
}

void vg_alert_notify(struct vg_alert_runner *r, int64_t now_ns)
{
    const struct alert_rule *rule;
    const struct alert_inst *inst;
    struct expo_iter it = {0, 0, NULL};
    size_t n = 0, n_ann = 0, i;

    if (r->notify == NULL)
        return;
    for (inst = expo_next(r, &it, &rule); inst != NULL; inst = expo_next(r, &it, &rule)) {
        if (inst->state != ALERT_FIRING && inst->state != ALERT_RESOLVED)
            continue;
        if (vg_grow((void **)&r->msgs, &r->cap_msgs, n + 1, sizeof(*r->msgs)) != VG_OK ||
            expo_annotations(r, rule, inst, n_ann) == NULL) {
            vg_complain(&r->complain, VG_LOG_WARN, "alerts", "rules",
                        "out of memory: some alerts were not handed to the notifiers");
            break;
        }
        expo_msg(r, rule, inst, &r->msgs[n]);
        r->msgs[n].annotations = (const struct vg_label *)(uintptr_t)n_ann; /* offset for now */
        n_ann += rule->n_annotations;
        n++;
    }
    /* the scratch may have moved while it grew: offsets become pointers last */
    for (i = 0; i < n; i++)
        r->msgs[i].annotations = r->ann + (uintptr_t)r->msgs[i].annotations;
    r->notify(r->notify_arg, r->msgs, n, now_ns);
}
