/*
 * fuzz_notify_state.c - the reader of the notifier set's state file
 * (<state_dir>/checkpoints/notify: bytes from the disk) on arbitrary
 * bytes. What must hold: no crash, no leak; every group restored is of a
 * configured notifier and tells of at least one alert; what is read,
 * written again and read back is the same text; a put and a step over the
 * restored groups make at most one notice.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alert/notify_internal.h"

/* 2026-12-02T19:05:06Z */
#define FZ_NOW (INT64_C(1796238306) * VG_NS_PER_SEC)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t fz_notices;

static void fz_check(int ok)
{
    if (!ok)
        __builtin_trap();
}

static enum vg_notify_result fz_notify(struct vg_notifier *n, const struct vg_notice *notice,
                                       struct vg_notify_reply *reply)
{
    (void)n;
    (void)notice;
    (void)reply;
    fz_notices++;
    return VG_NOTIFY_OK;
}

static const struct vg_option fz_options[] = {{NULL, 0, NULL, 0, NULL, 0, NULL}};
static const struct vg_notifier_ops fz_ops = {
    .name = "fz", .options = fz_options, .grouped = true, .notify = fz_notify};

static struct vg_notifier_set *fz_set(void)
{
    static char *by[] = {"alertname"};
    struct vg_notifier_plan_entry e;
    struct vg_notifier_plan plan;
    struct vg_error err = {0};
    struct vg_notifier_set *ns;

    memset(&plan, 0, sizeof(plan));
    memset(&e, 0, sizeof(e));
    plan.defaults.group_by.v = by;
    plan.defaults.group_by.n = 1;
    plan.defaults.group_interval_ms = 1000;
    plan.defaults.repeat_interval_ms = 3600 * 1000;
    plan.defaults.send_resolved = true;
    plan.defaults.outbox_max = 10;
    e.ops = &fz_ops;
    e.name = "rec";
    e.ctx = calloc(1, 1);
    e.max_age_ms = 1000;
    plan.v = &e;
    plan.n = 1;
    ns = vg_notifier_create(&plan, &err);
    fz_check(ns != NULL);
    ns->state_path = strdup("/nonexistent/notify"); /* as if opened: restores */
    ns->state_retry_ns = INT64_MAX;                 /* ... but never writes */
    fz_check(ns->state_path != NULL);
    return ns;
}

/* A put of one alert of group "A" and a step. */
static void fz_put(struct vg_notifier_set *ns)
{
    static const struct vg_label l[] = {{"alertname", "A"}};
    static const char *const to[] = {"rec"};
    struct vg_alert_msg m;

    memset(&m, 0, sizeof(m));
    m.labels = l;
    m.n_labels = 1;
    m.starts_at_ns = 1;
    m.notify = to;
    m.n_notify = 1;
    m.group_wait_ms = m.group_interval_ms = m.repeat_interval_ms = -1;
    m.send_resolved = -1;
    fz_notices = 0;
    vg_notifier_put(ns, &m, 1, FZ_NOW);
    vg_notifier_step(ns, FZ_NOW + VG_NS_PER_SEC);
    fz_check(fz_notices <= 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vg_notifier_set *ns = fz_set(), *again = fz_set();
    struct vg_buf one, two;
    size_t i;

    vg_buf_init(&one);
    vg_buf_init(&two);
    fz_check(vg_ns_parse(ns, (const char *)data, size) == VG_OK);
    for (i = 0; i < ns->n_saved; i++)
        fz_check(ns->saved[i].restored && ns->saved[i].n_fired > 0 &&
                 strncmp(ns->saved[i].key, "0\x1f", 2) == 0);
    fz_check(vg_ns_render(ns, &one, FZ_NOW) == VG_OK);
    fz_check(vg_ns_parse(again, one.data, one.len) == VG_OK);
    fz_check(vg_ns_render(again, &two, FZ_NOW) == VG_OK);
    fz_check(one.len == two.len && memcmp(one.data, two.data, one.len) == 0);
    fz_put(ns);
    vg_buf_free(&one);
    vg_buf_free(&two);
    vg_notifier_destroy(ns);
    vg_notifier_destroy(again);
    return 0;
}
