/*
 * notify_bench.c - what one vg_notifier_put costs the engine thread (the
 * rule engine calls it after every evaluation, and nothing on that thread
 * may block): SERIES alerts, each to three notifiers, grouped by
 * alertname (one group per notifier) or by alertname, node and gpu (one
 * group per series), puts repeated as evaluations would. Prints one
 * Markdown row per case: series, groups, ms per put (the fastest and the
 * median of the rounds), and PASS or MISS of the median against the
 * target (under 20 ms: a small part of an engine loop turn).
 *
 *   build/notify_bench [SERIES...]     (default 500 5000)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert/notifier.h"

#define NB_ROUNDS    7
#define NB_PUTS      5 /* puts per round, one evaluation apart */
#define NB_TARGET_MS 20.0
#define NB_NOTIFIERS 3

static enum vg_notify_result nb_notify(struct vg_notifier *n, const struct vg_notice *notice,
                                       struct vg_notify_reply *reply)
{
    return VG_NOTIFY_OK;
}

static const struct vg_option nb_options[] = {{NULL, 0, NULL, 0, NULL, 0, NULL}};
static const struct vg_notifier_ops nb_ops = {
    .name = "bench", .options = nb_options, .grouped = true, .notify = nb_notify};
static const char *const nb_names[NB_NOTIFIERS] = {"a", "b", "c"};
static char *nb_by_name[] = {"alertname"};
static const char *const nb_by_series[] = {"alertname", "gpu", "node"};

struct nb_alert {
    struct vg_label labels[4];
    char gpu[24], node[32];
};

static struct vg_notifier_set *nb_set(void)
{
    struct vg_notifier_plan_entry e[NB_NOTIFIERS];
    struct vg_notifier_plan plan;
    struct vg_error err = {0};
    size_t i;

    memset(&plan, 0, sizeof(plan));
    memset(e, 0, sizeof(e));
    plan.defaults.group_by.v = nb_by_name;
    plan.defaults.group_by.n = 1;
    plan.defaults.group_wait_ms = 30000;
    plan.defaults.group_interval_ms = 300000;
    plan.defaults.repeat_interval_ms = 4 * 3600000;
    plan.defaults.send_resolved = true;
    plan.defaults.outbox_max = 1000;
    for (i = 0; i < NB_NOTIFIERS; i++) {
        e[i].ops = &nb_ops;
        e[i].name = (char *)nb_names[i];
        e[i].ctx = calloc(1, 1);
        e[i].max_age_ms = 3600000;
    }
    plan.v = e;
    plan.n = NB_NOTIFIERS;
    return vg_notifier_create(&plan, &err);
}

static void nb_alerts(struct vg_alert_msg *m, struct nb_alert *a, size_t n, bool per_series)
{
    static const struct vg_label ann[] = {{"summary", "GPU hot"}};
    size_t i;

    for (i = 0; i < n; i++) {
        snprintf(a[i].gpu, sizeof(a[i].gpu), "%zu", i % 8);
        snprintf(a[i].node, sizeof(a[i].node), "node-%zu", i / 8);
        a[i].labels[0] = (struct vg_label){"alertname", "GpuHot"};
        a[i].labels[1] = (struct vg_label){"gpu", a[i].gpu};
        a[i].labels[2] = (struct vg_label){"node", a[i].node};
        a[i].labels[3] = (struct vg_label){"severity", "critical"};
        memset(&m[i], 0, sizeof(m[i]));
        m[i].labels = a[i].labels;
        m[i].n_labels = 4;
        m[i].annotations = ann;
        m[i].n_annotations = 1;
        m[i].starts_at_ns = INT64_C(1800000000) * VG_NS_PER_SEC;
        m[i].notify = nb_names;
        m[i].n_notify = NB_NOTIFIERS;
        m[i].group_by = per_series ? nb_by_series : NULL;
        m[i].n_group_by = per_series ? 3 : 0;
        m[i].group_wait_ms = m[i].group_interval_ms = m[i].repeat_interval_ms = -1;
        m[i].send_resolved = -1;
    }
}

static int nb_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* One case: the fastest and median ms per put over the rounds. */
static void nb_case(size_t n, bool per_series)
{
    struct vg_alert_msg *m = calloc(n, sizeof(*m));
    struct nb_alert *a = calloc(n, sizeof(*a));
    double ms[NB_ROUNDS];
    int64_t t0, now = INT64_C(1800000000) * VG_NS_PER_SEC;
    size_t r, k;

    nb_alerts(m, a, n, per_series);
    for (r = 0; r < NB_ROUNDS; r++) {
        struct vg_notifier_set *ns = nb_set();

        vg_notifier_put(ns, m, n, now); /* the first put makes the groups */
        t0 = vg_mono_ns();
        for (k = 0; k < NB_PUTS; k++)
            vg_notifier_put(ns, m, n, now + (int64_t)(k + 1) * 15 * VG_NS_PER_SEC);
        ms[r] = (double)(vg_mono_ns() - t0) / NB_PUTS / 1e6;
        vg_notifier_destroy(ns);
    }
    qsort(ms, NB_ROUNDS, sizeof(ms[0]), nb_cmp);
    printf("| %zu | %zu | %.2f | %.2f | %s |\n", n, per_series ? n * NB_NOTIFIERS : NB_NOTIFIERS,
           ms[0], ms[NB_ROUNDS / 2], ms[NB_ROUNDS / 2] < NB_TARGET_MS ? "PASS" : "MISS");
    free(m);
    free(a);
}

int main(int argc, char **argv)
{
    static const char *const def[] = {"500", "5000"};
    const char *const *v = argc > 1 ? (const char *const *)argv + 1 : def;
    int i, n = argc > 1 ? argc - 1 : 2;

    vg_log_setup(VG_LOG_ERROR, false);
    printf("| series | groups | fastest ms/put | median ms/put | < %.0f ms |\n", NB_TARGET_MS);
    printf("|---|---|---|---|---|\n");
    for (i = 0; i < n; i++) {
        long s = strtol(v[i], NULL, 10);

        if (s <= 0 || s > 1000000) {
            fprintf(stderr, "notify_bench: bad series count '%s'\n", v[i]);
            return 2;
        }
        nb_case((size_t)s, false);
        nb_case((size_t)s, true);
    }
    return 0;
}
