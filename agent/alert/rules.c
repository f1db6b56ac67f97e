/*
 * rules.c - the rule engine's rules and their evaluation: each rule walks
 * the store's series of its metric, keeps one instance per matching
 * series that is active (or, for a rule that reduces, that it has samples
 * of), and moves each instance through its states.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert/rules_internal.h"
#include "alert/template.h"
#include "alloc.h"

#define RULES_MIN_BUCKETS 16

struct vg_alert_runner *vg_alert_runner_create(int64_t interval_ms, const char *external_url)
{
    struct vg_alert_runner *r = vg_calloc(1, sizeof(*r));
    size_t len;

    if (r == NULL)
        return NULL;
    r->interval_ms = interval_ms > 0 ? interval_ms : 15000;
    vg_buf_init(&r->key);
    vg_buf_init(&r->text);
    if (external_url != NULL && external_url[0] != '\0') {
        len = strlen(external_url);
        while (len > 0 && external_url[len - 1] == '/')
            len--;
        r->generator_url = vg_malloc(len + sizeof("/api/v1/alerts"));
        if (r->generator_url == NULL) {
            free(r);
            return NULL;
        }
        memcpy(r->generator_url, external_url, len);
        memcpy(r->generator_url + len, "/api/v1/alerts", sizeof("/api/v1/alerts"));
    }
    return r;
}

static void rules_inst_free(struct alert_inst *inst, size_t n_annot)
{
    size_t i;

    for (i = 0; inst->annot != NULL && i < n_annot; i++)
        free(inst->annot[i]);
    free(inst->annot);
    free(inst->labels);
    free(inst->lab_mem);
    free(inst->hist);
    free(inst->key);
    free(inst);
}

static void rules_strs_free(char **v, size_t n)
{
    size_t i;

    for (i = 0; v != NULL && i < n; i++)
        free(v[i]);
    free(v);
}

static void rules_rule_free(struct alert_rule *rule)
{
    struct alert_inst *inst, *next;
    size_t i;

    for (i = 0; i < rule->n_buckets; i++) {
        for (inst = rule->buckets[i]; inst != NULL; inst = next) {
            next = inst->next;
            rules_inst_free(inst, rule->n_annotations);
        }
    }
    free(rule->buckets);
    vg_alert_selector_free(&rule->sel);
    free(rule->labels);
    free(rule->annotations);
    rules_strs_free(rule->label_strs, 2 * rule->n_labels);
    rules_strs_free(rule->annotation_strs, 2 * rule->n_annotations);
    rules_strs_free(rule->notify, rule->n_notify);
    rules_strs_free(rule->group_by, rule->n_group_by);
    free(rule->name);
}

void vg_alert_runner_destroy(struct vg_alert_runner *r)
{
    size_t i;

    if (r == NULL)
        return;
    for (i = 0; i < r->n_rules; i++)
        rules_rule_free(&r->rules[i]);
    free(r->rules);
    free(r->generator_url);
    free(r->state_path);
    free(r->msgs);
    free(r->ann);
    free(r->lab);
    vg_buf_free(&r->key);
    vg_buf_free(&r->text);
    free(r);
}

static int rules_strs_copy(char ***out, const char *const *in, size_t n)
{
    size_t i;

    *out = NULL;
    if (n == 0)
        return VG_OK;
    *out = vg_calloc(n, sizeof(**out));
    if (*out == NULL)
        return VG_ENOMEM;
    for (i = 0; i < n; i++) {
        (*out)[i] = vg_strdup(in[i]);
        if ((*out)[i] == NULL)
            return VG_ENOMEM;
    }
    return VG_OK;
}

/* Copies n labels into *out, their strings into *strs (name, value, ...). */
static int rules_labels_copy(struct vg_label **out, char ***strs, const struct vg_label *in,
                             size_t n)
{
    const char **flat = vg_calloc(2 * n + 1, sizeof(*flat));
    size_t i;
    int rc;

    *out = NULL;
    *strs = NULL;
    if (flat == NULL)
        return VG_ENOMEM;
    for (i = 0; i < n; i++) {
        flat[2 * i] = in[i].name;
        flat[2 * i + 1] = in[i].value;
    }
    rc = rules_strs_copy(strs, flat, 2 * n);
    free(flat);
    if (rc != VG_OK || n == 0)
        return rc;
    *out = vg_calloc(n, sizeof(**out));
    if (*out == NULL)
        return VG_ENOMEM;
    for (i = 0; i < n; i++)
        (*out)[i] = (struct vg_label){(*strs)[2 * i], (*strs)[2 * i + 1]};
    return VG_OK;
}

static void rules_spec_scalars(struct alert_rule *rule, const struct vg_alert_rule_spec *spec)
{
    rule->fire = spec->fire;
    rule->keep = spec->keep;
    rule->has_clear = spec->has_clear;
    rule->reduce = spec->reduce;
    rule->window_ns = vg_ms_to_ns_sat(spec->window_ms);
    rule->for_ns = vg_ms_to_ns_sat(spec->for_ms);
    rule->keep_firing_ns = vg_ms_to_ns_sat(spec->keep_firing_for_ms);
    rule->from_zero = spec->from_zero;
    rule->group_wait_ms = spec->group_wait_ms;
    rule->group_interval_ms = spec->group_interval_ms;
    rule->repeat_interval_ms = spec->repeat_interval_ms;
    rule->send_resolved = spec->send_resolved;
}

int vg_alert_runner_add(struct vg_alert_runner *r, struct vg_alert_rule_spec *spec,
                        struct vg_error *err)
{
    struct alert_rule *rule;
    int rc;

    if (spec->name == NULL || spec->sel == NULL || spec->sel->metric == NULL)
        return vg_error_set(err, VG_EINVAL, "a rule needs a name and a selector");
    if (vg_alert_rule_find(r, spec->name) != NULL)
        return vg_error_set(err, VG_EINVAL, "a rule named '%s' exists already", spec->name);
    if (vg_grow((void **)&r->rules, &r->cap_rules, r->n_rules + 1, sizeof(*r->rules)) != VG_OK)
        return vg_error_set(err, VG_ENOMEM, "out of memory");
    rule = &r->rules[r->n_rules];
    memset(rule, 0, sizeof(*rule));
    rule->sel = *spec->sel;
    memset(spec->sel, 0, sizeof(*spec->sel));
    rules_spec_scalars(rule, spec);
    rule->name = vg_strdup(spec->name);
    rule->buckets = vg_calloc(RULES_MIN_BUCKETS, sizeof(*rule->buckets));
    rule->n_buckets = RULES_MIN_BUCKETS;
    rule->n_labels = spec->n_labels;
    rule->n_annotations = spec->n_annotations;
    rule->n_notify = spec->n_notify;
    rule->n_group_by = spec->n_group_by;
    rc = rule->name == NULL || rule->buckets == NULL ? VG_ENOMEM : VG_OK;
    if (rc == VG_OK)
        rc = rules_labels_copy(&rule->labels, &rule->label_strs, spec->labels, spec->n_labels);
    if (rc == VG_OK)
        rc = rules_labels_copy(&rule->annotations, &rule->annotation_strs, spec->annotations,
                               spec->n_annotations);
    if (rc == VG_OK)
        rc = rules_strs_copy(&rule->notify, spec->notify, spec->n_notify);
    if (rc == VG_OK)
        rc = rules_strs_copy(&rule->group_by, spec->group_by, spec->n_group_by);
    if (rc != VG_OK) {
        rules_rule_free(rule);
        return vg_error_set(err, VG_ENOMEM, "out of memory");
    }
    r->n_rules++;
    return VG_OK;
}

size_t vg_alert_runner_rule_count(const struct vg_alert_runner *r)
{
    return r != NULL ? r->n_rules : 0;
}

int64_t vg_alert_runner_interval_ms(const struct vg_alert_runner *r)
{
    return r->interval_ms;
}

void vg_alert_runner_set_notify(struct vg_alert_runner *r, vg_alert_notify_fn fn, void *arg)
{
    r->notify = fn;
    r->notify_arg = arg;
}

struct alert_rule *vg_alert_rule_find(struct vg_alert_runner *r, const char *name)
{
    size_t i;

    for (i = 0; i < r->n_rules; i++)
        if (strcmp(r->rules[i].name, name) == 0)
            return &r->rules[i];
    return NULL;
}

/* ------------------------------------------------------------------------
 * Instances.
 */

struct alert_inst *vg_alert_inst_find(const struct alert_rule *rule, const char *key, size_t len,
                                      uint64_t h)
{
    struct alert_inst *inst;

    for (inst = rule->buckets[h & (rule->n_buckets - 1)]; inst != NULL; inst = inst->next)
        if (inst->hash == h && inst->key_len == len &&
            (len == 0 || memcmp(inst->key, key, len) == 0))
            return inst;
    return NULL;
}

static void rules_grow_buckets(struct alert_rule *rule)
{
    size_t nn = rule->n_buckets * 2, i;
    struct alert_inst **nb, *inst, *next;

    if (rule->n_inst <= rule->n_buckets)
        return;
    nb = vg_calloc(nn, sizeof(*nb));
    if (nb == NULL)
        return; /* longer chains */
    for (i = 0; i < rule->n_buckets; i++) {
        for (inst = rule->buckets[i]; inst != NULL; inst = next) {
            next = inst->next;
            inst->next = nb[inst->hash & (nn - 1)];
            nb[inst->hash & (nn - 1)] = inst;
        }
    }
    free(rule->buckets);
    rule->buckets = nb;
    rule->n_buckets = nn;
}

static int rules_label_cmp(const void *a, const void *b)
{
    return strcmp(((const struct vg_label *)a)->name, ((const struct vg_label *)b)->name);
}

/* Puts l into set (n entries) unless a label of that name is there; with
 * replace, its value replaces the one there. */
static void rules_label_put(struct vg_label *set, size_t *n, struct vg_label l, bool replace)
{
    size_t i;

    for (i = 0; i < *n; i++) {
        if (strcmp(set[i].name, l.name) == 0) {
            if (replace)
                set[i].value = l.value;
            return;
        }
    }
    set[(*n)++] = l;
}

/* The alert's labels of inst: the series' (its key), the rule's over
 * them, the agent's node where neither gave one (as Prometheus's external
 * labels: a page says which node it is about), alertname over all;
 * sorted, in one block of strings. */
static int rules_inst_labels(const struct alert_rule *rule, struct alert_inst *inst)
{
    size_t max = inst->key_len / 2 + rule->n_labels + 2, n = 0, i, bytes = 0;
    struct vg_label *set = vg_calloc(max + 1, sizeof(*set));
    const char *p = inst->key, *end = inst->key + inst->key_len;
    char *mem;

    if (set == NULL)
        return VG_ENOMEM;
    while (p < end) {
        struct vg_label l = {p, p + strlen(p) + 1};

        p = l.value + strlen(l.value) + 1;
        rules_label_put(set, &n, l, false);
    }
    for (i = 0; i < rule->n_labels; i++)
        rules_label_put(set, &n, rule->labels[i], true);
    if (vg_node_name()[0] != '\0')
        rules_label_put(set, &n, (struct vg_label){"node", vg_node_name()}, false);
    rules_label_put(set, &n, (struct vg_label){"alertname", rule->name}, true);
    qsort(set, n, sizeof(*set), rules_label_cmp);
    for (i = 0; i < n; i++)
        bytes += strlen(set[i].name) + strlen(set[i].value) + 2;
    mem = vg_malloc(bytes);
    if (mem == NULL) {
        free(set);
        return VG_ENOMEM;
    }
    inst->lab_mem = mem;
    for (i = 0; i < n; i++) {
        size_t a = strlen(set[i].name) + 1, b = strlen(set[i].value) + 1;

        memcpy(mem, set[i].name, a);
        memcpy(mem + a, set[i].value, b);
        set[i].name = mem;
        set[i].value = mem + a;
        mem += a + b;
    }
    inst->labels = set;
    inst->n_labels = n;
    return VG_OK;
}

struct alert_inst *vg_alert_inst_add(struct alert_rule *rule, const char *key, size_t len,
                                     uint64_t h)
{
    struct alert_inst *inst = vg_calloc(1, sizeof(*inst));
    size_t b;

    if (inst == NULL)
        return NULL;
    inst->key = vg_malloc(len + 1);
    if (inst->key == NULL) {
        free(inst);
        return NULL;
    }
    if (len > 0) /* a series without labels: key may be NULL */
        memcpy(inst->key, key, len);
    inst->key[len] = '\0';
    inst->key_len = len;
    inst->hash = h;
    inst->value = NAN;
    if (rules_inst_labels(rule, inst) != VG_OK) {
        rules_inst_free(inst, rule->n_annotations);
        return NULL;
    }
    b = h & (rule->n_buckets - 1);
    inst->next = rule->buckets[b];
    rule->buckets[b] = inst;
    rule->n_inst++;
    rules_grow_buckets(rule);
    return inst;
}

void vg_alert_inst_annotate(struct vg_alert_runner *r, const struct alert_rule *rule,
                            struct alert_inst *inst)
{
    size_t i;

    if (rule->n_annotations == 0)
        return;
    if (inst->annot == NULL)
        inst->annot = vg_calloc(rule->n_annotations, sizeof(*inst->annot));
    for (i = 0; inst->annot != NULL && i < rule->n_annotations; i++) {
        char *copy;

        vg_buf_reset(&r->text);
        if (vg_alert_template_expand(rule->annotations[i].value, inst->labels, inst->n_labels,
                                     inst->value, &r->text) != VG_OK ||
            vg_buf_putc(&r->text, '\0') != VG_OK)
            continue;
        if (inst->annot[i] != NULL && strcmp(inst->annot[i], r->text.data) == 0)
            continue; /* the same text: no allocation */
        copy = vg_strdup(r->text.data);
        if (copy == NULL)
            continue;
        free(inst->annot[i]);
        inst->annot[i] = copy;
    }
}

/* ------------------------------------------------------------------------
 * Samples and their reduction over a window.
 */

/* Keeps (t, v) and drops samples older than the one at or before the
 * window's start (that one is the base of rate and increase). */
static void rules_hist_push(const struct alert_rule *rule, struct alert_inst *inst, int64_t t,
                            double v)
{
    int64_t from = t - rule->window_ns;
    size_t drop = 0;

    while (drop + 1 < inst->n_hist && inst->hist[drop + 1].t <= from)
        drop++;
    if (inst->n_hist - drop >= VG_ALERT_HISTORY_MAX)
        drop++;
    if (drop > 0) {
        memmove(inst->hist, inst->hist + drop, (inst->n_hist - drop) * sizeof(*inst->hist));
        inst->n_hist -= drop;
    }
    if (inst->n_hist == inst->cap_hist && vg_grow((void **)&inst->hist, &inst->cap_hist,
                                                  inst->n_hist + 1, sizeof(*inst->hist)) != VG_OK)
        return;
    inst->hist[inst->n_hist].t = t;
    inst->hist[inst->n_hist].v = v;
    inst->n_hist++;
}

/* The increase of a counter from sample `from` to the last, resets seen
 * as a fall (the new value is all increase). */
static double rules_increase(const struct alert_inst *inst, size_t from, double base)
{
    double sum = 0, prev = base;
    size_t i;

    for (i = from; i < inst->n_hist; i++) {
        double v = inst->hist[i].v;

        sum += v >= prev ? v - prev : v;
        prev = v;
    }
    return sum;
}

/* rate or increase at now: the base is the last sample at or before the
 * window's start, else the first one (or 0 for a series born inside the
 * window of a rule that counts from 0). NaN without two points. */
static double rules_delta(const struct alert_rule *rule, const struct alert_inst *inst, int64_t now)
{
    int64_t from = now - rule->window_ns;
    const struct alert_sample *last = &inst->hist[inst->n_hist - 1];
    int64_t base_t = inst->hist[0].t;
    double inc;

    if (rule->from_zero && inst->first_seen > from) {
        inc = rules_increase(inst, 0, 0);
        base_t = from;
    } else if (inst->n_hist < 2) {
        return NAN;
    } else {
        inc = rules_increase(inst, 1, inst->hist[0].v);
    }
    if (rule->reduce == VG_REDUCE_INCREASE)
        return inc;
    if (last->t <= base_t)
        return NAN;
    return inc / ((double)(last->t - base_t) / 1e9);
}

/* avg, max or min of the samples inside the window. */
static double rules_aggregate(const struct alert_rule *rule, const struct alert_inst *inst,
                              int64_t now)
{
    double acc = NAN, sum = 0;
    size_t i, n = 0;

    for (i = 0; i < inst->n_hist; i++) {
        double v = inst->hist[i].v;

        if (inst->hist[i].t <= now - rule->window_ns || isnan(v))
            continue;
        sum += v;
        n++;
        if (isnan(acc) || (rule->reduce == VG_REDUCE_MAX && v > acc) ||
            (rule->reduce == VG_REDUCE_MIN && v < acc))
            acc = v;
    }
    if (rule->reduce == VG_REDUCE_AVG)
        return n > 0 ? sum / (double)n : NAN;
    return acc;
}

static double rules_reduce(const struct alert_rule *rule, struct alert_inst *inst, int64_t now,
                           double v)
{
    rules_hist_push(rule, inst, now, v);
    if (inst->n_hist == 0)
        return NAN;
    if (rule->reduce == VG_REDUCE_RATE || rule->reduce == VG_REDUCE_INCREASE)
        return rules_delta(rule, inst, now);
    return rules_aggregate(rule, inst, now);
}

/* ------------------------------------------------------------------------
 * The state machine.
 */

/* Whether the condition holds for inst with value v (NaN: no value). */
static bool rules_holds(const struct alert_rule *rule, const struct alert_inst *inst, double v)
{
    if (isnan(v))
        return false;
    if (inst->state == ALERT_FIRING && rule->has_clear)
        return vg_alert_test_holds(&rule->keep, v);
    return vg_alert_test_holds(&rule->fire, v);
}

static void rules_set_state(struct vg_alert_runner *r, struct alert_inst *inst, enum alert_state s)
{
    inst->state = s;
    r->dirty = true;
}

/* How long a firing alert stays firing after its condition last held.
 * A log rule's counter that is gone (silent past the log metrics' expiry,
 * or not counted again since a restart) had its last match inside the
 * window of the last evaluation that held: it keeps firing for a window. */
static int64_t rules_keep_ns(const struct alert_rule *rule, double v)
{
    if (rule->from_zero && isnan(v) && rule->window_ns > rule->keep_firing_ns)
        return rule->window_ns;
    return rule->keep_firing_ns;
}

/* Moves inst one evaluation on, at now, with its value v (NaN: the
 * series is gone or has no value yet). */
static void rules_step(struct vg_alert_runner *r, const struct alert_rule *rule,
                       struct alert_inst *inst, double v, int64_t now)
{
    bool active = inst->state == ALERT_PENDING || inst->state == ALERT_FIRING;

    if (rules_holds(rule, inst, v)) {
        inst->last_true = now;
        inst->value = v;
        if (!active) {
            inst->active_at = now;
            inst->fired_at = 0;
            inst->resolved_at = 0;
            rules_set_state(r, inst, ALERT_PENDING);
        }
        if (inst->state == ALERT_PENDING && now - inst->active_at >= rule->for_ns) {
            inst->fired_at = now;
            rules_set_state(r, inst, ALERT_FIRING);
        }
    } else if (inst->state == ALERT_PENDING) {
        rules_set_state(r, inst, ALERT_NONE);
    } else if (inst->state == ALERT_FIRING) {
        if (!isnan(v))
            inst->value = v;
        if (now - inst->last_true < rules_keep_ns(rule, v))
            return;
        inst->resolved_at = now;
        rules_set_state(r, inst, ALERT_RESOLVED);
    }
    if (inst->state == ALERT_PENDING || inst->state == ALERT_FIRING ||
        (active && inst->state == ALERT_RESOLVED))
        vg_alert_inst_annotate(r, rule, inst);
}

/* What a rule's walk of the store needs. */
struct rules_walk {
    struct vg_alert_runner *r;
    struct alert_rule *rule;
    int64_t now;
};

/* The labels of a series' key into r->lab (grown as needed); NULL when
 * out of memory. */
static const struct vg_label *rules_labels(struct vg_alert_runner *r, const char *key, size_t len,
                                           size_t n)
{
    if (n > r->cap_lab && vg_grow((void **)&r->lab, &r->cap_lab, n, sizeof(*r->lab)) != VG_OK)
        return NULL;
    vg_store_labels_split(key, len, r->lab, n);
    return r->lab;
}

static void rules_on_series(void *arg, const char *key, size_t len, size_t n, double value)
{
    struct rules_walk *w = arg;
    struct alert_rule *rule = w->rule;
    const struct vg_label *labels;
    struct alert_inst *inst;
    uint64_t h;
    /* Without a window, a series that does not meet the condition matters
     * only when it has an alert already; found by its key, it matched the
     * selector before (same labels), so most series cost no matching. */
    bool idle = rule->reduce == VG_REDUCE_NONE && !vg_alert_test_holds(&rule->fire, value);

    if (idle && rule->n_inst == 0)
        return;
    if (!idle) {
        labels = rules_labels(w->r, key, len, n);
        if (labels == NULL || !vg_alert_selector_matches(&rule->sel, labels, n))
            return;
    }
    h = vg_hash_bytes(key, len);
    inst = vg_alert_inst_find(rule, key, len, h);
    if (inst == NULL && idle)
        return;
    if (inst == NULL)
        inst = vg_alert_inst_add(rule, key, len, h);
    if (inst == NULL)
        return;
    inst->seen = true;
    if (rule->reduce != VG_REDUCE_NONE && inst->n_hist == 0)
        inst->first_seen = w->now; /* (re)born: a counter starts over */
    if (rule->reduce != VG_REDUCE_NONE)
        value = rules_reduce(rule, inst, w->now, value);
    rules_step(w->r, rule, inst, value, w->now);
}

/* After the walk: an instance not seen lost its series (the condition no
 * longer holds); instances with nothing left to say go. */
static void rules_sweep(struct vg_alert_runner *r, struct alert_rule *rule, int64_t now)
{
    struct alert_inst **pp, *inst;
    size_t i;

    for (i = 0; i < rule->n_buckets; i++) {
        pp = &rule->buckets[i];
        for (inst = *pp; inst != NULL; inst = *pp) {
            bool seen = inst->seen;

            inst->seen = false;
            if (!seen) {
                inst->n_hist = 0;
                rules_step(r, rule, inst, NAN, now);
            }
            if (inst->state == ALERT_PENDING || inst->state == ALERT_FIRING ||
                (inst->state == ALERT_RESOLVED &&
                 now - inst->resolved_at < VG_ALERT_RESOLVED_KEEP_NS) ||
                (seen && rule->reduce != VG_REDUCE_NONE)) {
                pp = &inst->next;
                continue;
            }
            if (inst->state == ALERT_RESOLVED)
                r->dirty = true;
            *pp = inst->next;
            rule->n_inst--;
            rules_inst_free(inst, rule->n_annotations);
        }
    }
}

void vg_alert_runner_eval(struct vg_alert_runner *r, struct vg_metric_store *st, int64_t now_ns)
{
    int64_t t0 = vg_mono_ns();
    size_t i;

    for (i = 0; i < r->n_rules; i++) {
        struct rules_walk w = {r, &r->rules[i], now_ns};

        vg_store_each_series(st, w.rule->sel.metric, rules_on_series, &w);
        rules_sweep(r, w.rule, now_ns);
    }
    r->last_eval_s = (double)(vg_mono_ns() - t0) / 1e9;
    vg_alert_runner_save(r);
    vg_alert_notify(r, now_ns);
}

size_t vg_alert_runner_active(const struct vg_alert_runner *r, size_t *firing)
{
    const struct alert_inst *inst;
    size_t i, b, n = 0, f = 0;

    for (i = 0; i < r->n_rules; i++) {
        for (b = 0; b < r->rules[i].n_buckets; b++) {
            for (inst = r->rules[i].buckets[b]; inst != NULL; inst = inst->next) {
                n += inst->state == ALERT_PENDING || inst->state == ALERT_FIRING;
                f += inst->state == ALERT_FIRING;
            }
        }
    }
    if (firing != NULL)
        *firing = f;
    return n;
}
