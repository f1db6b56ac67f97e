/*
 * test_notify.c - the notifier set on a fake clock (grouping, group_wait,
 * group_interval, repeat_interval, resolved notices, a storm of series as
 * one message, the outbox dropping only repeats, re-posts for the
 * notifiers that are not grouped), the message builders (Slack's JSON
 * within its limits, the RFC 5322 message with CRLF, RFC 2047 subjects, a
 * lone "." line, Alertmanager's JSON), the plan of `alerts:`, and what the
 * set told kept across restarts (no second page, one resolved notice).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../outputs/alertmanager/am_msg.h"
#include "../../outputs/email/email_msg.h"
#include "../../outputs/slack/slack_msg.h"
#include "alert/notifier.h"
#include "alloc.h"
#include "config.h"
#include "core.h"

#define SEC  VG_NS_PER_SEC
#define T0   (INT64_C(1800000000) * SEC)
#define MAXR 64

/* ------------------------------------------------------------------------
 * A notifier that records what it is handed and answers as told.
 */
struct got {
    enum vg_notice_kind kind;
    size_t n_alerts, n_firing;
    char title[256];
    int64_t end0; /* ends_at of the last alert */
};

static struct {
    struct got v[MAXR];
    size_t n;
    enum vg_notify_result answer;
    size_t calls;
} rec;

static enum vg_notify_result rec_take(const struct vg_notice *notice, struct vg_notify_reply *reply)
{
    struct got *g;

    rec.calls++;
    if (rec.answer != VG_NOTIFY_OK) {
        snprintf(reply->reason, sizeof(reply->reason), "down");
        return rec.answer;
    }
    assert_true(rec.n < MAXR);
    g = &rec.v[rec.n++];
    g->kind = notice->kind;
    g->n_alerts = notice->n_alerts;
    g->n_firing = notice->n_firing;
    g->end0 = notice->n_alerts > 0 ? notice->alerts[notice->n_alerts - 1].ends_at_ns : 0;
    vg_notice_title(notice, g->title, sizeof(g->title));
    return VG_NOTIFY_OK;
}

/* Each notifier delivers on a thread of its own once started: the
 * recorder is shared. */
static pthread_mutex_t rec_mu = PTHREAD_MUTEX_INITIALIZER;

static enum vg_notify_result rec_notify(struct vg_notifier *n, const struct vg_notice *notice,
                                        struct vg_notify_reply *reply)
{
    enum vg_notify_result r;

    pthread_mutex_lock(&rec_mu);
    r = rec_take(notice, reply);
    pthread_mutex_unlock(&rec_mu);
    return r;
}

static const struct vg_option no_options[] = {{NULL, 0, NULL, 0, NULL, 0, NULL}};

static const struct vg_notifier_ops rec_ops = {
    .name = "rec", .options = no_options, .grouped = true, .notify = rec_notify};
static const struct vg_notifier_ops cur_ops = {
    .name = "cur", .options = no_options, .grouped = false, .notify = rec_notify};

static char *by_alertname[] = {"alertname"};

/* A set with one notifier "rec" (grouped) and one "cur" (not), on the
 * given timing (seconds). */
static struct vg_notifier_set *mkset(int64_t wait_s, int64_t interval_s, int64_t repeat_s,
                                     bool send_resolved, int64_t outbox_max)
{
    struct vg_notifier_plan_entry e[2];
    struct vg_notifier_plan plan;
    struct vg_error err = {0};
    struct vg_notifier_set *ns;

    memset(&rec, 0, sizeof(rec));
    memset(&plan, 0, sizeof(plan));
    memset(e, 0, sizeof(e));
    plan.defaults.group_by.v = by_alertname;
    plan.defaults.group_by.n = 1;
    plan.defaults.group_wait_ms = wait_s * 1000;
    plan.defaults.group_interval_ms = interval_s * 1000;
    plan.defaults.repeat_interval_ms = repeat_s * 1000;
    plan.defaults.send_resolved = send_resolved;
    plan.defaults.outbox_max = outbox_max;
    e[0].ops = &rec_ops;
    e[0].name = "rec";
    e[0].ctx = calloc(1, 1);
    e[0].max_age_ms = 3600 * 1000;
    e[1].ops = &cur_ops;
    e[1].name = "cur";
    e[1].ctx = calloc(1, 1);
    e[1].max_age_ms = 3600 * 1000;
    plan.v = e;
    plan.n = 2;
    ns = vg_notifier_create(&plan, &err);
    assert_non_null(ns);
    return ns;
}

/* Alerts: name, node, to whom; labels sorted (alertname < node < severity). */
struct mk {
    struct vg_label labels[3];
    struct vg_label ann[1];
    char node[32];
    const char *notify[1];
    struct vg_alert_msg m;
};

static void mk(struct mk *x, const char *name, int node, const char *to, int64_t starts)
{
    memset(x, 0, sizeof(*x));
    snprintf(x->node, sizeof(x->node), "n%d", node);
    x->labels[0] = (struct vg_label){"alertname", name};
    x->labels[1] = (struct vg_label){"node", x->node};
    x->labels[2] = (struct vg_label){"severity", "critical"};
    x->ann[0] = (struct vg_label){"summary", "too hot"};
    x->notify[0] = to;
    x->m.labels = x->labels;
    x->m.n_labels = 3;
    x->m.annotations = x->ann;
    x->m.n_annotations = 1;
    x->m.starts_at_ns = starts;
    x->m.notify = x->notify;
    x->m.n_notify = 1;
    x->m.group_wait_ms = x->m.group_interval_ms = x->m.repeat_interval_ms = -1;
    x->m.send_resolved = -1;
}

static void put(struct vg_notifier_set *ns, struct mk *x, size_t n, int64_t now)
{
    struct vg_alert_msg m[600];
    size_t i;

    assert_true(n <= 600);
    for (i = 0; i < n; i++)
        m[i] = x[i].m;
    vg_notifier_put(ns, m, n, now);
}

/* Puts a[0..n) and steps at from, from + every, ... while before until;
 * returns the first time not done. */
static int64_t put_until(struct vg_notifier_set *ns, struct mk *a, size_t n, int64_t from,
                         int64_t until, int64_t every)
{
    int64_t t;

    for (t = from; t < until; t += every) {
        put(ns, a, n, t);
        vg_notifier_step(ns, t);
    }
    return t;
}

/* ------------------------------------------------------------------------
 * Grouping.
 */

static void group_waits_then_sends_one_message(void **state)
{
    struct vg_notifier_set *ns = mkset(30, 300, 4 * 3600, true, 1000);
    struct mk a[3];

    (void)state;
    mk(&a[0], "GpuHot", 1, "rec", T0);
    mk(&a[1], "GpuHot", 2, "rec", T0);
    mk(&a[2], "GpuHot", 3, "rec", T0);
    put(ns, a, 3, T0);
    assert_int_equal(vg_notifier_step(ns, T0), T0 + 30 * SEC);
    put(ns, a, 3, T0 + 15 * SEC);
    vg_notifier_step(ns, T0 + 29 * SEC);
    assert_int_equal(rec.n, 0);
    put(ns, a, 3, T0 + 30 * SEC);
    vg_notifier_step(ns, T0 + 30 * SEC);
    assert_int_equal(rec.n, 1);
    assert_int_equal(rec.v[0].kind, VG_NOTICE_FIRING);
    assert_int_equal(rec.v[0].n_firing, 3);
    assert_string_equal(rec.v[0].title, "[FIRING:3] GpuHot");
    vg_notifier_destroy(ns);
}

static void group_interval_then_repeat(void **state)
{
    struct vg_notifier_set *ns = mkset(30, 300, 3600, true, 1000);
    struct mk a[2];
    int64_t t;

    (void)state;
    mk(&a[0], "GpuHot", 1, "rec", T0);
    mk(&a[1], "GpuHot", 2, "rec", T0 + 60 * SEC);
    put(ns, a, 1, T0);
    vg_notifier_step(ns, T0 + 30 * SEC);
    assert_int_equal(rec.n, 1);
    /* a new alert joins: no message before the group's next interval */
    put(ns, a, 2, T0 + 60 * SEC);
    vg_notifier_step(ns, T0 + 60 * SEC);
    vg_notifier_step(ns, T0 + 329 * SEC);
    assert_int_equal(rec.n, 1);
    vg_notifier_step(ns, T0 + 330 * SEC);
    assert_int_equal(rec.n, 2);
    assert_int_equal(rec.v[1].kind, VG_NOTICE_FIRING);
    assert_int_equal(rec.v[1].n_firing, 2);
    /* nothing changes: silence until repeat_interval, then one repeat */
    t = put_until(ns, a, 2, T0 + 630 * SEC, T0 + 330 * SEC + 3600 * SEC, 300 * SEC);
    assert_int_equal(rec.n, 2);
    put(ns, a, 2, t);
    vg_notifier_step(ns, t);
    assert_int_equal(rec.n, 3);
    assert_int_equal(rec.v[2].kind, VG_NOTICE_REPEAT);
    vg_notifier_destroy(ns);
}

static void resolved_once_then_the_group_goes(void **state)
{
    struct vg_notifier_set *ns = mkset(10, 60, 3600, true, 1000);
    struct mk a[2];
    int64_t t;

    (void)state;
    mk(&a[0], "Disk", 1, "rec", T0);
    mk(&a[1], "Disk", 2, "rec", T0);
    put(ns, a, 2, T0);
    vg_notifier_step(ns, T0 + 10 * SEC);
    /* one resolves (missing from the put): said at the next interval */
    put(ns, a, 1, T0 + 20 * SEC);
    vg_notifier_step(ns, T0 + 70 * SEC);
    assert_int_equal(rec.n, 2);
    assert_int_equal(rec.v[1].kind, VG_NOTICE_FIRING);
    assert_int_equal(rec.v[1].n_alerts, 2);
    assert_int_equal(rec.v[1].n_firing, 1);
    assert_int_equal(rec.v[1].end0, T0 + 20 * SEC);
    /* the other resolves, by its end time: one resolved notice */
    a[0].m.ends_at_ns = T0 + 80 * SEC;
    put(ns, a, 1, T0 + 80 * SEC);
    vg_notifier_step(ns, T0 + 130 * SEC);
    assert_int_equal(rec.n, 3);
    assert_int_equal(rec.v[2].kind, VG_NOTICE_RESOLVED);
    assert_string_equal(rec.v[2].title, "[RESOLVED] Disk");
    for (t = T0 + 130 * SEC; t < T0 + 7200 * SEC; t += 60 * SEC) {
        put(ns, a, 0, t);
        assert_int_equal(vg_notifier_step(ns, t), INT64_MAX);
    }
    assert_int_equal(rec.n, 3);
    vg_notifier_destroy(ns);
}

static void no_resolved_notice_without_send_resolved(void **state)
{
    struct vg_notifier_set *ns = mkset(0, 60, 3600, false, 1000);
    struct mk a[1];

    (void)state;
    mk(&a[0], "Disk", 1, "rec", T0);
    put(ns, a, 1, T0);
    vg_notifier_step(ns, T0);
    put(ns, a, 0, T0 + 30 * SEC);
    vg_notifier_step(ns, T0 + 60 * SEC);
    vg_notifier_step(ns, T0 + 120 * SEC);
    assert_int_equal(rec.n, 1);
    /* fired and resolved within group_wait: never heard of */
    put(ns, a, 1, T0 + 200 * SEC);
    put(ns, a, 0, T0 + 201 * SEC);
    vg_notifier_step(ns, T0 + 300 * SEC);
    assert_int_equal(rec.n, 1);
    vg_notifier_destroy(ns);
}

static void storm_of_500_series_is_one_message(void **state)
{
    struct vg_notifier_set *ns = mkset(30, 300, 3600, true, 1000);
    static struct mk a[500];
    size_t i;

    (void)state;
    for (i = 0; i < 500; i++)
        mk(&a[i], "XidError", (int)i, "rec", T0);
    put(ns, a, 500, T0);
    put(ns, a, 500, T0 + 15 * SEC);
    vg_notifier_step(ns, T0 + 30 * SEC);
    assert_int_equal(rec.n, 1);
    assert_int_equal(rec.v[0].n_firing, 500);
    vg_notifier_destroy(ns);
}

static void rule_grouping_overrides_the_section(void **state)
{
    struct vg_notifier_set *ns = mkset(30, 300, 3600, true, 1000);
    static const char *const by[] = {"alertname", "node"};
    struct mk a[3];
    size_t i;

    (void)state;
    for (i = 0; i < 3; i++) {
        mk(&a[i], "GpuHot", (int)i % 2, "rec", T0);
        a[i].m.group_by = by;
        a[i].m.n_group_by = 2;
        a[i].m.group_wait_ms = 5000;
    }
    a[2].labels[2].value = "warning"; /* another series of node 0 */
    put(ns, a, 3, T0);
    vg_notifier_step(ns, T0 + 5 * SEC);
    assert_int_equal(rec.n, 2);
    assert_string_equal(rec.v[0].title, "[FIRING:2] GpuHot (node=n0)");
    assert_string_equal(rec.v[1].title, "[FIRING:1] GpuHot (node=n1)");
    vg_notifier_destroy(ns);
}

/* ------------------------------------------------------------------------
 * Outbox and deliveries.
 */

static void outbox_drops_only_repeats(void **state)
{
    struct vg_notifier_set *ns = mkset(0, 1, 1, true, 2);
    struct mk a[2];
    int64_t t;

    (void)state;
    rec.answer = VG_NOTIFY_RETRY; /* the peer is down */
    mk(&a[0], "A", 1, "rec", T0);
    mk(&a[1], "B", 1, "rec", T0);
    put(ns, a, 1, T0);
    vg_notifier_step(ns, T0); /* FIRING A */
    put(ns, a, 1, T0 + SEC);
    vg_notifier_step(ns, T0 + SEC); /* + REPEAT A */
    assert_int_equal(vg_notifier_queue_length(ns), 2);
    put(ns, a, 2, T0 + SEC + 1);
    vg_notifier_step(ns, T0 + SEC + 1); /* FIRING B pushes REPEAT A out */
    assert_int_equal(vg_notifier_queue_length(ns), 2);
    assert_int_equal(vg_notifier_count(ns, "rec", "dropped"), 1);
    for (t = T0 + 2 * SEC; t < T0 + 10 * SEC; t += SEC) { /* repeats: no room */
        put(ns, a, 2, t);
        vg_notifier_step(ns, t);
    }
    assert_int_equal(vg_notifier_queue_length(ns), 2);
    put(ns, a, 0, t); /* both resolve: kept beyond the bound */
    vg_notifier_step(ns, t + SEC);
    assert_int_equal(vg_notifier_queue_length(ns), 4);
    assert_true(vg_notifier_count(ns, "rec", "retried") > 0);
    rec.answer = VG_NOTIFY_OK; /* back: everything that matters, in order */
    vg_notifier_step(ns, t + 120 * SEC);
    assert_int_equal(rec.n, 4);
    assert_int_equal(rec.v[0].kind, VG_NOTICE_FIRING);
    assert_string_equal(rec.v[0].title, "[FIRING:1] A");
    assert_string_equal(rec.v[1].title, "[FIRING:1] B");
    assert_int_equal(rec.v[2].kind, VG_NOTICE_RESOLVED);
    assert_int_equal(rec.v[3].kind, VG_NOTICE_RESOLVED);
    assert_int_equal(vg_notifier_count(ns, "rec", "sent"), 4);
    assert_int_equal(vg_notifier_queue_length(ns), 0);
    vg_notifier_destroy(ns);
}

static void refused_notice_is_counted_not_retried(void **state)
{
    struct vg_notifier_set *ns = mkset(0, 60, 3600, true, 10);
    struct mk a[1];

    (void)state;
    rec.answer = VG_NOTIFY_DROP;
    mk(&a[0], "A", 1, "rec", T0);
    put(ns, a, 1, T0);
    vg_notifier_step(ns, T0);
    vg_notifier_step(ns, T0 + 10 * SEC);
    assert_int_equal(rec.calls, 1);
    assert_int_equal(vg_notifier_count(ns, "rec", "failed"), 1);
    assert_int_equal(vg_notifier_queue_length(ns), 0);
    vg_notifier_destroy(ns);
}

static void retries_stop_at_max_age(void **state)
{
    struct vg_notifier_set *ns = mkset(0, 60, 4 * 3600, true, 10);
    struct mk a[1];
    int64_t t = T0, next;
    size_t steps = 0;

    (void)state;
    rec.answer = VG_NOTIFY_RETRY;
    mk(&a[0], "A", 1, "rec", T0);
    put(ns, a, 1, T0);
    vg_notifier_step(ns, T0);
    while (vg_notifier_queue_length(ns) > 0 && steps++ < 1000) {
        next = vg_notifier_step(ns, t);
        t = next > t ? next : t + SEC;
    }
    assert_int_equal(vg_notifier_count(ns, "rec", "expired"), 1);
    assert_true(t >= T0 + 3600 * SEC);
    assert_true(rec.calls > 10 && rec.calls < 200); /* backoff, capped at a minute */
    vg_notifier_destroy(ns);
}

static void not_grouped_notifier_gets_every_put(void **state)
{
    struct vg_notifier_set *ns = mkset(30, 300, 3600, true, 1000);
    struct mk a[2];

    (void)state;
    mk(&a[0], "A", 1, "cur", T0);
    mk(&a[1], "A", 2, "cur", T0);
    put(ns, a, 2, T0);
    vg_notifier_step(ns, T0);
    put(ns, a, 2, T0 + 15 * SEC);
    vg_notifier_step(ns, T0 + 15 * SEC);
    put(ns, a, 1, T0 + 30 * SEC);
    vg_notifier_step(ns, T0 + 30 * SEC);
    assert_int_equal(rec.n, 3);
    assert_int_equal(rec.v[0].kind, VG_NOTICE_CURRENT);
    assert_int_equal(rec.v[1].n_firing, 2);
    /* the missing one resolved at that put */
    assert_int_equal(rec.v[2].n_alerts, 2);
    assert_int_equal(rec.v[2].n_firing, 1);
    assert_int_equal(rec.v[2].end0, T0 + 30 * SEC);
    vg_notifier_destroy(ns);
}

static struct vg_notice *notice_of(size_t n_alerts, const char *summary);

static void metrics_are_emitted(void **state)
{
    struct vg_notifier_set *ns = mkset(0, 60, 3600, true, 10);
    struct vg_samples *s = vg_samples_create();
    struct vg_metric_store *st = vg_store_create();
    struct vg_emit e = {s, NULL};
    struct vg_rendered *r;
    struct mk a[1];
    const char *text;

    (void)state;
    mk(&a[0], "A", 1, "rec", T0);
    put(ns, a, 1, T0);
    vg_notifier_step(ns, T0);
    rec.answer = VG_NOTIFY_RETRY;
    put(ns, a, 0, T0 + 60 * SEC);
    vg_notifier_step(ns, T0 + 60 * SEC);
    vg_notifier_emit_metrics(ns, &e);
    assert_int_equal(vg_store_commit(st, "notify", s), VG_OK);
    r = vg_store_render(st, VG_EXPO_TEXT, false);
    assert_non_null(r);
    text = vg_rendered_data(r);
    assert_non_null(strstr(text, "# TYPE vigil_notifications_total counter\n"));
    assert_non_null(
        strstr(text, "vigil_notifications_total{notifier=\"rec\",result=\"sent\"} 1\n"));
    assert_non_null(
        strstr(text, "vigil_notifications_total{notifier=\"rec\",result=\"retried\"} 1\n"));
    assert_non_null(strstr(text, "vigil_notification_queue_length{notifier=\"rec\"} 1\n"));
    assert_non_null(strstr(text, "vigil_notification_queue_length{notifier=\"cur\"} 0\n"));
    vg_rendered_release(r);
    vg_store_destroy(st);
    vg_samples_destroy(s);
    vg_notifier_destroy(ns);
}

/* One run of puts, steps and builders with allocations failing after n;
 * returns whether every allocation succeeded. */
static bool alloc_run(long n)
{
    static const char *const to[] = {"a@x.org"};
    struct vg_notifier_set *ns = mkset(0, 1, 1, true, 2);
    struct vg_notice *notice = notice_of(3, "hot");
    struct mk a[3];
    struct vg_buf b;
    unsigned long calls;

    mk(&a[0], "A", 1, "rec", T0);
    mk(&a[1], "A", 2, "rec", T0);
    mk(&a[2], "B", 1, "cur", T0);
    vg_buf_init(&b);
    vg_alloc_fail_after(n);
    put(ns, a, 3, T0);
    vg_notifier_step(ns, T0);
    put(ns, a, 2, T0 + SEC);
    vg_notifier_step(ns, T0 + 2 * SEC);
    put(ns, a, 0, T0 + 3 * SEC);
    vg_notifier_step(ns, T0 + 4 * SEC);
    slack_message(notice, "http://x/{{ $labels.node }}", "n", &b);
    vg_buf_reset(&b);
    email_message(notice, "v@x.org", to, 1, "n", T0, 1, &b);
    vg_buf_reset(&b);
    am_message(notice, &b);
    calls = vg_alloc_calls();
    vg_alloc_reset();
    vg_buf_free(&b);
    vg_notice_free(notice);
    vg_notifier_destroy(ns);
    return calls <= (unsigned long)n;
}

static void allocation_failures_are_survived(void **state)
{
    long n;

    (void)state;
    for (n = 0; n < 5000 && !alloc_run(n); n++)
        ;
    assert_true(n < 5000);
    assert_true(n > 20);
}

static void threads_deliver_and_stop(void **state)
{
    struct vg_notifier_set *ns = mkset(0, 60, 3600, true, 10);
    struct vg_error err = {0};
    struct mk a[2];
    int i;

    (void)state;
    mk(&a[0], "A", 1, "rec", vg_now_ns());
    mk(&a[1], "B", 1, "cur", vg_now_ns());
    assert_int_equal(vg_notifier_start(ns, &err), VG_OK);
    put(ns, a, 2, vg_now_ns());
    for (i = 0; i < 400 && (vg_notifier_count(ns, "rec", "sent") < 1 ||
                            vg_notifier_count(ns, "cur", "sent") < 1);
         i++)
        usleep(5000);
    assert_int_equal(vg_notifier_stop(ns, 1000), 0);
    assert_int_equal(rec.n, 2); /* read after stop joined the threads */
    assert_int_equal(vg_notifier_count(ns, "rec", "sent"), 1);
    assert_int_equal(vg_notifier_count(ns, "cur", "sent"), 1);
    vg_notifier_destroy(ns);
}

/* ------------------------------------------------------------------------
 * What the set told, across restarts (state_dir/checkpoints/notify).
 */

static void st_dir(char *dir, size_t size)
{
    snprintf(dir, size, "/tmp/test_notify.XXXXXX");
    assert_non_null(mkdtemp(dir));
}

static void st_path(char *path, size_t size, const char *dir)
{
    snprintf(path, size, "%s/checkpoints/notify", dir);
}

static void st_rm(const char *dir)
{
    char path[256];

    st_path(path, sizeof(path), dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/checkpoints", dir);
    rmdir(path);
    rmdir(dir);
}

/* A set as mkset(30 s, 300 s, repeat_s) that keeps its state in dir. */
static struct vg_notifier_set *st_set(const char *dir, int64_t repeat_s)
{
    struct vg_notifier_set *ns = mkset(30, 300, repeat_s, true, 1000);
    struct vg_error err = {0};

    assert_int_equal(vg_notifier_open_state(ns, dir, &err), VG_OK);
    return ns;
}

/* Tells a[0] (fired at T0) at T0 + 30 s, then ends as kill -9 would. */
static void st_tell(const char *dir, struct mk *a)
{
    struct vg_notifier_set *ns = st_set(dir, 3600);

    put(ns, a, 1, T0);
    vg_notifier_step(ns, T0 + 30 * SEC);
    assert_int_equal(rec.n, 1);
    assert_int_equal(rec.v[0].kind, VG_NOTICE_FIRING);
    vg_notifier_destroy(ns);
}

/* A state dir in which a[0] (GpuHot on n1, fired at T0) was told. */
static void st_told(char *dir, size_t size, struct mk *a)
{
    st_dir(dir, size);
    mk(&a[0], "GpuHot", 1, "rec", T0);
    st_tell(dir, a);
}

/* A restart on dir: a[0] put at `at`, a step at `step`. */
static struct vg_notifier_set *st_put(const char *dir, struct mk *a, int64_t at, int64_t step)
{
    struct vg_notifier_set *ns = st_set(dir, 3600);

    put(ns, a, 1, at);
    vg_notifier_step(ns, step);
    return ns;
}

/* Exactly one notice was made, of kind. */
static void st_one(enum vg_notice_kind kind)
{
    assert_int_equal(rec.n, 1);
    assert_int_equal(rec.v[0].kind, kind);
}

static void restart_does_not_page_again(void **state)
{
    struct vg_notifier_set *ns;
    struct mk a[2];
    char dir[64];
    int64_t t;

    (void)state;
    st_told(dir, sizeof(dir), a);
    mk(&a[1], "GpuHot", 2, "rec", T0 + 3640 * SEC);
    ns = st_set(dir, 3600);
    /* the same alert, handed over again: silence until repeat_interval
     * from the notice before the restart (T0 + 30 s) */
    t = put_until(ns, a, 1, T0 + 100 * SEC, T0 + 3630 * SEC, 10 * SEC);
    assert_int_equal(rec.n, 0);
    put(ns, a, 1, t);
    vg_notifier_step(ns, t);
    st_one(VG_NOTICE_REPEAT);
    /* a new alert of the group: told at the group's next interval */
    put(ns, a, 2, T0 + 3640 * SEC);
    vg_notifier_step(ns, T0 + 3929 * SEC);
    assert_int_equal(rec.n, 1);
    vg_notifier_step(ns, T0 + 3930 * SEC);
    assert_int_equal(rec.n, 2);
    assert_int_equal(rec.v[1].kind, VG_NOTICE_FIRING);
    assert_int_equal(rec.v[1].n_firing, 2);
    vg_notifier_destroy(ns);
    st_rm(dir);
}

static void restart_sends_one_resolved_notice(void **state)
{
    struct vg_notifier_set *ns;
    struct mk a[1];
    char dir[64];

    (void)state;
    st_told(dir, sizeof(dir), a);
    /* resolved while the agent was down: the rules hand it over resolved */
    a[0].m.ends_at_ns = T0 + 50 * SEC;
    ns = st_set(dir, 3600);
    put_until(ns, a, 1, T0 + 100 * SEC, T0 + 1000 * SEC, 15 * SEC);
    st_one(VG_NOTICE_RESOLVED);
    assert_string_equal(rec.v[0].title, "[RESOLVED] GpuHot");
    assert_int_equal(rec.v[0].end0, T0 + 50 * SEC);
    vg_notifier_destroy(ns);
    /* told: a further restart does not tell it again */
    ns = st_put(dir, a, T0 + 1000 * SEC, T0 + 2000 * SEC);
    assert_int_equal(rec.n, 0);
    vg_notifier_destroy(ns);
    st_rm(dir);
}

static void restart_tells_what_it_did_not_tell(void **state)
{
    struct vg_notifier_set *ns;
    struct mk a[1];
    char dir[64];

    (void)state;
    st_told(dir, sizeof(dir), a);
    /* fired again (a new start) while the agent was down: a new page */
    a[0].m.starts_at_ns = T0 + 60 * SEC;
    ns = st_put(dir, a, T0 + 100 * SEC, T0 + 330 * SEC);
    st_one(VG_NOTICE_FIRING);
    vg_notifier_destroy(ns);
    st_rm(dir);

    /* a group not seen for a day is forgotten: told as new */
    st_told(dir, sizeof(dir), a);
    ns = st_put(dir, a, T0 + 25 * 3600 * SEC, T0 + 25 * 3600 * SEC + 30 * SEC);
    st_one(VG_NOTICE_FIRING);
    vg_notifier_destroy(ns);
    st_rm(dir);
}

static void damaged_state_lines_are_skipped(void **state)
{
    static const char *const junk[] = {"rec\n", "rec\tk\t1\t2\n", "rec\tk\tx\t1\t1\tff:1\n",
                                       "rec\tk\t1\t1\t1\tzz:1\n", "rec\tk\t1\t1\t0\tff:1\n",
                                       "rec\tk\t1\t1\t1\n", "rec\tk\t1\t1\t1\tff:1\tff\n",
                                       "\t\t\t\t\t\n", "nobody\tk\t1\t1\t1\tff:1\n",
                                       /* times before 1970: now - seen would overflow */
                                       "rec\tk\t1\t-7966238000000000000\t86400000000000000\tff:1\n",
                                       "rec\tk\t-1\t1\t1\tff:1\n", "\x01\x02\xff\\\\\\", NULL};
    struct vg_notifier_set *ns;
    struct mk a[1];
    char dir[64], path[256];
    size_t i;
    FILE *f;

    (void)state;
    st_told(dir, sizeof(dir), a);
    st_path(path, sizeof(path), dir);
    f = fopen(path, "a");
    assert_non_null(f);
    for (i = 0; junk[i] != NULL; i++)
        fputs(junk[i], f);
    fclose(f);
    /* the good line still counts: no second page */
    ns = st_put(dir, a, T0 + 100 * SEC, T0 + 400 * SEC);
    assert_int_equal(rec.n, 0);
    vg_notifier_destroy(ns);
    /* nothing but garbage: read, nothing restored */
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("\xff\xfe garbage\twith\ttabs", f);
    fclose(f);
    ns = st_put(dir, a, T0 + 100 * SEC, T0 + 130 * SEC);
    st_one(VG_NOTICE_FIRING);
    vg_notifier_destroy(ns);
    st_rm(dir);
}

/* A restart with allocations failing after n; whether all succeeded. */
static bool alloc_state_run(const char *dir, long n)
{
    struct vg_notifier_set *ns = mkset(0, 60, 3600, true, 10);
    struct vg_error err = {0};
    struct mk a[2];
    unsigned long calls;

    mk(&a[0], "A", 1, "rec", T0);
    mk(&a[1], "A", 2, "rec", T0);
    vg_alloc_fail_after(n);
    vg_notifier_open_state(ns, dir, &err);
    put(ns, a, 2, T0);
    vg_notifier_step(ns, T0);
    a[1].m.ends_at_ns = T0 + SEC;
    put(ns, a, 2, T0 + SEC);
    vg_notifier_step(ns, T0 + 61 * SEC);
    calls = vg_alloc_calls();
    vg_alloc_reset();
    vg_notifier_destroy(ns);
    return calls <= (unsigned long)n;
}

static void state_survives_allocation_failures(void **state)
{
    char dir[64];
    long n;

    (void)state;
    st_dir(dir, sizeof(dir));
    for (n = 0; n < 5000 && !alloc_state_run(dir, n); n++)
        ;
    assert_true(n < 5000);
    st_rm(dir);
}

/* ------------------------------------------------------------------------
 * Message builders.
 */

static struct vg_notice *notice_of(size_t n_alerts, const char *summary)
{
    struct vg_notice *n = calloc(1, sizeof(*n));
    size_t i;

    n->kind = VG_NOTICE_FIRING;
    n->alerts = calloc(n_alerts, sizeof(*n->alerts));
    n->n_alerts = n->n_firing = n_alerts;
    n->group_labels = calloc(1, sizeof(*n->group_labels));
    n->group_labels[0] = (struct vg_label){strdup("alertname"), strdup("GpuHot")};
    n->n_group_labels = 1;
    for (i = 0; i < n_alerts; i++) {
        char node[32];

        snprintf(node, sizeof(node), "n%zu", i);
        n->alerts[i].labels = calloc(3, sizeof(struct vg_label));
        n->alerts[i].labels[0] = (struct vg_label){strdup("alertname"), strdup("GpuHot")};
        n->alerts[i].labels[1] = (struct vg_label){strdup("node"), strdup(node)};
        n->alerts[i].labels[2] = (struct vg_label){strdup("severity"), strdup("critical")};
        n->alerts[i].n_labels = 3;
        n->alerts[i].annotations = calloc(1, sizeof(struct vg_label));
        n->alerts[i].annotations[0] = (struct vg_label){strdup("summary"), strdup(summary)};
        n->alerts[i].n_annotations = 1;
        n->alerts[i].starts_at_ns = T0;
        n->alerts[i].value = 91.5;
    }
    return n;
}

/* Characters of the JSON string that starts at p (just past its quote). */
static size_t json_chars(const char *p)
{
    size_t n = 0;

    for (; *p != '"'; p++, n++) {
        if (*p == '\\')
            p += p[1] == 'u' ? 5 : 1;
        else
            while (((unsigned char)p[1] & 0xc0) == 0x80)
                p++;
    }
    return n;
}

static size_t count(const char *s, const char *what)
{
    size_t n = 0;

    for (s = strstr(s, what); s != NULL; s = strstr(s + 1, what))
        n++;
    return n;
}

static size_t slack_blocks(const char *j)
{
    return count(j, "{\"type\":\"header\"") + count(j, "{\"type\":\"section\"") +
           count(j, "{\"type\":\"context\"") + count(j, "{\"type\":\"actions\"") +
           count(j, "{\"type\":\"divider\"");
}

static void slack_message_is_within_limits(void **state)
{
    struct vg_notice *n = notice_of(500, "GPU <0> & more at 91C");
    struct vg_buf b;
    const char *p;

    (void)state;
    vg_buf_init(&b);
    assert_int_equal(slack_message(n,
                                   "http://grafana/d/x?var-node={{ $labels.node }}&v={{ $value }}",
                                   "node-1", &b),
                     VG_OK);
    assert_non_null(strstr(b.data, "{\"text\":\"[FIRING:500] GpuHot\\n- GPU &lt;0&gt; &amp; more"));
    assert_true(json_chars(b.data + 9) <= SLACK_TEXT_MAX);
    assert_true(slack_blocks(b.data) <= SLACK_BLOCKS_MAX);
    assert_non_null(strstr(b.data, "\"color\":\"#E01E5A\""));
    assert_non_null(strstr(b.data, "and 460 more alert(s)"));
    assert_non_null(strstr(b.data, "\"url\":\"http://grafana/d/x?var-node=n0&v=91.5\""));
    p = strstr(b.data, "\"type\":\"header\",\"text\":{\"type\":\"plain_text\",\"text\":\"");
    assert_non_null(p);
    vg_buf_free(&b);
    vg_notice_free(n);
}

static void slack_cuts_long_texts(void **state)
{
    static char big[20000];
    struct vg_notice *n;
    struct vg_buf b;
    const char *p;
    size_t i;

    (void)state;
    for (i = 0; i + 2 < sizeof(big); i += 2)
        memcpy(big + i, "\xc3\xa9", 2); /* é: cut on a character boundary */
    n = notice_of(3, big);
    vg_buf_init(&b);
    assert_int_equal(slack_message(n, NULL, "node-1", &b), VG_OK);
    assert_true(json_chars(b.data + 9) <= SLACK_TEXT_MAX);
    for (p = strstr(b.data, "\"mrkdwn\",\"text\":\""); p != NULL;
         p = strstr(p + 1, "\"mrkdwn\",\"text\":\""))
        assert_true(json_chars(p + 17) <= SLACK_SECTION_MAX);
    assert_null(strstr(b.data, "\\ufffd")); /* no sequence cut in two */
    assert_null(strstr(b.data, "\"actions\""));
    vg_buf_free(&b);
    vg_notice_free(n);
}

static void email_message_has_crlf_and_headers(void **state)
{
    static const char *const to[] = {"a@x.org", "b@x.org"};
    struct vg_notice *n = notice_of(2, "line one\n.\nline three\rcr\r\n");
    struct vg_buf b;
    size_t i;

    (void)state;
    vg_buf_init(&b);
    assert_int_equal(email_message(n, "vigil@x.org", to, 2, "node-1", T0, 42, &b), VG_OK);
    for (i = 0; i < b.len; i++) { /* every line break is CRLF */
        if (b.data[i] == '\n')
            assert_true(i > 0 && b.data[i - 1] == '\r');
        if (b.data[i] == '\r')
            assert_true(b.data[i + 1] == '\n');
    }
    assert_non_null(strstr(b.data, "Date: Fri, 15 Jan 2027 08:00:00 +0000\r\n"));
    assert_non_null(strstr(b.data, "\r\nFrom: vigil@x.org\r\nTo: a@x.org,\r\n b@x.org\r\n"));
    assert_non_null(strstr(b.data, "\r\nSubject: [FIRING:2] GpuHot\r\n"));
    assert_non_null(strstr(b.data, "\r\nMessage-ID: <000000000000002a.1800000000000@x.org>\r\n"));
    assert_non_null(strstr(b.data, "\r\nMIME-Version: 1.0\r\n"));
    assert_non_null(strstr(b.data, "\r\nContent-Type: text/plain; charset=UTF-8\r\n"));
    assert_non_null(strstr(b.data, "\r\nAuto-Submitted: auto-generated\r\n\r\n"));
    assert_non_null(strstr(b.data, "summary: line one\r\n.\r\nline three\r\ncr\r\n"));
    vg_buf_free(&b);
    vg_notice_free(n);
}

static void email_breaks_long_lines(void **state)
{
    static char big[5000];
    struct vg_notice *n;
    struct vg_buf b;
    const char *p, *q;

    (void)state;
    memset(big, 'x', sizeof(big) - 1);
    n = notice_of(1, big);
    vg_buf_init(&b);
    assert_int_equal(
        email_message(n, "vigil@x.org", (const char *const[]){"a@x.org"}, 1, "n", T0, 1, &b),
        VG_OK);
    for (p = b.data; (q = strstr(p, "\r\n")) != NULL; p = q + 2)
        assert_true(q - p <= EMAIL_LINE_MAX);
    vg_buf_free(&b);
    vg_notice_free(n);
}

/* Decodes one "=?UTF-8?B?...?=" word at p into out; returns past it. */
static const char *b64_word(const char *p, char *out, size_t *len)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char *end;
    unsigned v = 0, bits = 0;

    assert_int_equal(strncmp(p, "=?UTF-8?B?", 10), 0);
    end = strstr(p, "?=");
    assert_non_null(end);
    assert_true(end + 2 - p <= 75);
    for (p += 10; p < end && *p != '='; p++) {
        v = v << 6 | (unsigned)(strchr(b64, *p) - b64);
        bits += 6;
        if (bits >= 8) {
            out[(*len)++] = (char)(v >> (bits - 8));
            bits -= 8;
        }
    }
    return end + 2;
}

static void subject_is_rfc2047_encoded(void **state)
{
    const char *subject =
        "GPU \xc3\xbc"
        "berhitzt \xe2\x98\xa2 auf Knoten "
        "\xc3\xa4\xc3\xb6\xc3\xbc\xc3\xa4\xc3\xb6\xc3\xbc\xc3\xa4\xc3\xb6\xc3\xbc"
        "\xc3\xa4\xc3\xb6\xc3\xbc\xc3\xa4\xc3\xb6\xc3\xbc\xc3\xa4\xc3\xb6\xc3\xbc";
    struct vg_buf b;
    char dec[512], word[128];
    size_t len = 0, wl, words = 0;
    const char *p;

    (void)state;
    vg_buf_init(&b);
    assert_int_equal(email_encode_header(subject, &b), VG_OK);
    for (p = b.data; *p != '\0'; words++) {
        wl = 0;
        p = b64_word(p, word, &wl);
        /* each word holds whole characters: valid UTF-8 on its own */
        assert_true(wl == 0 || vg_utf8_seq((const unsigned char *)word, wl) > 0);
        assert_true((word[wl - 1] & 0x80) == 0 || (word[wl - 1] & 0xc0) == 0x80);
        memcpy(dec + len, word, wl);
        len += wl;
        if (*p != '\0') {
            assert_int_equal(strncmp(p, "\r\n ", 3), 0);
            p += 3;
        }
    }
    dec[len] = '\0';
    assert_string_equal(dec, subject);
    assert_true(words >= 2);
    vg_buf_reset(&b);
    assert_int_equal(email_encode_header("plain ASCII", &b), VG_OK);
    assert_string_equal(b.data, "plain ASCII");
    vg_buf_free(&b);
}

static void alertmanager_json(void **state)
{
    struct vg_notice *n = notice_of(2, "hot \"really\"");
    struct vg_buf b;

    (void)state;
    n->kind = VG_NOTICE_CURRENT;
    n->n_firing = 1;
    n->valid_until_ns = T0 + 240 * SEC;
    n->alerts[1].ends_at_ns = T0 + 60 * SEC;
    n->alerts[0].generator_url = strdup("http://node:9469/alerts?rule=GpuHot");
    vg_buf_init(&b);
    assert_int_equal(am_message(n, &b), VG_OK);
    assert_string_equal(
        b.data,
        "[{\"labels\":{\"alertname\":\"GpuHot\",\"node\":\"n0\",\"severity\":\"critical\"},"
        "\"annotations\":{\"summary\":\"hot \\\"really\\\"\"},"
        "\"startsAt\":\"2027-01-15T08:00:00.000Z\",\"endsAt\":\"2027-01-15T08:04:00.000Z\","
        "\"generatorURL\":\"http://node:9469/alerts?rule=GpuHot\"},"
        "{\"labels\":{\"alertname\":\"GpuHot\",\"node\":\"n1\",\"severity\":\"critical\"},"
        "\"annotations\":{\"summary\":\"hot \\\"really\\\"\"},"
        "\"startsAt\":\"2027-01-15T08:00:00.000Z\",\"endsAt\":\"2027-01-15T08:01:00.000Z\"}]");
    vg_buf_free(&b);
    vg_notice_free(n);
}

/* ------------------------------------------------------------------------
 * The plan.
 */

static int plan_of(const char *yaml, struct vg_notifier_plan *plan, struct vg_errors *errs)
{
    struct vg_config *cfg = NULL;
    int rc;

    vg_errors_init(errs);
    assert_int_equal(vg_config_load_string(yaml, strlen(yaml), "t.yaml", &cfg, errs), VG_OK);
    rc = vg_notifiers_plan(vg_node_get(cfg->root, "alerts"), plan, errs);
    vg_config_free(cfg);
    return rc;
}

static bool has_error(const struct vg_errors *e, const char *text)
{
    size_t i;

    for (i = 0; i < e->n; i++)
        if (strstr(e->msgs[i], text) != NULL)
            return true;
    return false;
}

static void plan_reads_the_section(void **state)
{
    struct vg_notifier_plan plan;
    struct vg_errors errs;

    (void)state;
    assert_int_equal(
        plan_of("alerts:\n"
                "  interval: 15s\n"
                "  rules: []\n"
                "  group_by: [alertname, node]\n"
                "  group_wait: 10s\n"
                "  notifiers:\n"
                "    s: {type: slack, webhook_url: 'https://hooks.slack.com/x/y'}\n"
                "    m: {type: email, url: 'smtp://mail:587', from: v@x.org, to: [a@x.org]}\n"
                "    am: {type: alertmanager, url: 'http://am:9093', max_age: 5m}\n",
                &plan, &errs),
        VG_OK);
    assert_int_equal(errs.n, 0);
    assert_int_equal(plan.n, 3);
    assert_int_equal(plan.defaults.group_by.n, 2);
    assert_int_equal(plan.defaults.group_wait_ms, 10000);
    assert_int_equal(plan.defaults.group_interval_ms, 300000);
    assert_int_equal(plan.defaults.repeat_interval_ms, 4 * 3600000);
    assert_true(plan.defaults.send_resolved);
    assert_int_equal(plan.defaults.outbox_max, 1000);
    assert_string_equal(plan.v[2].name, "am");
    assert_int_equal(plan.v[2].max_age_ms, 300000);
    vg_notifiers_plan_free(&plan);
    vg_errors_free(&errs);
}

static void plan_reports_every_error(void **state)
{
    struct vg_notifier_plan plan;
    struct vg_errors errs;

    (void)state;
    assert_int_equal(plan_of("alerts:\n"
                             "  group_wait: soon\n"
                             "  notifiers:\n"
                             "    s: {type: slak, webhook_url: x}\n"
                             "    h: {type: slack, webhook_url: 'http://hooks.example.org/x'}\n"
                             "    m: {type: email, url: 'smtp://mail:25', starttls: off, from: v,"
                             " to: [a@x.org], user: u}\n"
                             "    l: {type: email, url: 'smtp://127.0.0.1:25', starttls: off,"
                             " from: v@x, to: [a@x]}\n"
                             "    am: {type: alertmanager, url: 'am:9093', tmeout: 1s}\n",
                             &plan, &errs),
                     VG_ECONFIG);
    assert_true(has_error(&errs, "t.yaml:2: alerts: option 'group_wait'"));
    assert_true(has_error(&errs, "t.yaml:4: alerts.notifiers.s: unknown notifier type 'slak' "
                                 "(did you mean 'slack'?)"));
    assert_true(has_error(&errs, "t.yaml:5: alerts.notifiers.h (slack): the webhook URL must"));
    assert_true(has_error(&errs, "t.yaml:6: alerts.notifiers.m (email): 'off' sends mail"));
    assert_true(has_error(&errs, "alerts.notifiers.m (email): 'v' is not an address"));
    assert_true(has_error(&errs, "alerts.notifiers.m (email): SMTP authentication takes both"));
    assert_true(has_error(&errs, "t.yaml:8: alerts.notifiers.am (alertmanager): unknown option "
                                 "'tmeout' (did you mean 'timeout'?)"));
    assert_false(has_error(&errs, "notifiers.l"));
    vg_notifiers_plan_free(&plan);
    vg_errors_free(&errs);
}

static void plan_without_section(void **state)
{
    struct vg_notifier_plan plan;
    struct vg_errors errs;

    (void)state;
    vg_errors_init(&errs);
    assert_int_equal(vg_notifiers_plan(NULL, &plan, &errs), VG_OK);
    assert_int_equal(plan.n, 0);
    assert_int_equal(plan.defaults.group_by.n, 1);
    assert_string_equal(plan.defaults.group_by.v[0], "alertname");
    assert_int_equal(plan.defaults.group_wait_ms, 30000);
    assert_int_equal(plan.defaults.group_interval_ms, 300000);
    assert_true(plan.defaults.send_resolved);
    vg_notifiers_plan_free(&plan);
    vg_errors_free(&errs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(group_waits_then_sends_one_message),
        cmocka_unit_test(group_interval_then_repeat),
        cmocka_unit_test(resolved_once_then_the_group_goes),
        cmocka_unit_test(no_resolved_notice_without_send_resolved),
        cmocka_unit_test(storm_of_500_series_is_one_message),
        cmocka_unit_test(rule_grouping_overrides_the_section),
        cmocka_unit_test(outbox_drops_only_repeats),
        cmocka_unit_test(refused_notice_is_counted_not_retried),
        cmocka_unit_test(retries_stop_at_max_age),
        cmocka_unit_test(not_grouped_notifier_gets_every_put),
        cmocka_unit_test(metrics_are_emitted),
        cmocka_unit_test(allocation_failures_are_survived),
        cmocka_unit_test(threads_deliver_and_stop),
        cmocka_unit_test(restart_does_not_page_again),
        cmocka_unit_test(restart_sends_one_resolved_notice),
        cmocka_unit_test(restart_tells_what_it_did_not_tell),
        cmocka_unit_test(damaged_state_lines_are_skipped),
        cmocka_unit_test(state_survives_allocation_failures),
        cmocka_unit_test(slack_message_is_within_limits),
        cmocka_unit_test(slack_cuts_long_texts),
        cmocka_unit_test(email_message_has_crlf_and_headers),
        cmocka_unit_test(email_breaks_long_lines),
        cmocka_unit_test(subject_is_rfc2047_encoded),
        cmocka_unit_test(alertmanager_json),
        cmocka_unit_test(plan_reads_the_section),
        cmocka_unit_test(plan_reports_every_error),
        cmocka_unit_test(plan_without_section),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
