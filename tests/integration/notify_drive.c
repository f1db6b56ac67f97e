/*
 * notify_drive.c - drives the notifier set as the rule engine will: the
 * `alerts:` section of a config file is planned, the set started, and a
 * timeline of alert sets fed through vg_notifier_put at its times; then
 * the set is stopped and its counts printed, one line per notifier and
 * result ("notifier=NAME result=sent count=2"), then "left=N".
 *
 * usage: notify_drive CONFIG TIMELINE [STOP_DEADLINE_MS]
 *
 * TIMELINE has one line per alert, "SECONDS NOTIFY LABELS [ANNOTATIONS]":
 * NOTIFY is a comma-separated list of notifier names, LABELS and
 * ANNOTATIONS are "name=value" pairs separated by commas, values
 * percent-encoded. Lines with the same SECONDS make one put; "SECONDS -"
 * is an empty put and "SECONDS end" stops. An alert starts at the first
 * put that names it. Bad input ends the run with status 2 and a message.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alert/notifier.h"
#include "config.h"

#define ND_MAX_ALERTS 2000
#define ND_MAX_PAIRS  32
#define ND_LINE_MAX   8192

struct nd_alert {
    char *text; /* the line's own copy, cut into the strings below */
    struct vg_label labels[ND_MAX_PAIRS], ann[ND_MAX_PAIRS];
    const char *notify[ND_MAX_PAIRS];
    struct vg_alert_msg m;
};

/* Alerts seen so far and when each started (by its labels' text). */
static struct {
    char *key[ND_MAX_ALERTS];
    int64_t start[ND_MAX_ALERTS];
    size_t n;
} nd_seen;

static void nd_decode(char *s)
{
    char *w = s, hex[3] = {0};

    for (; *s != '\0'; s++) {
        if (*s == '%' && s[1] != '\0' && s[2] != '\0') {
            hex[0] = s[1];
            hex[1] = s[2];
            *w++ = (char)strtol(hex, NULL, 16);
            s += 2;
        } else {
            *w++ = *s;
        }
    }
    *w = '\0';
}

/* Splits "a=b,c=d" into pairs (in place); returns how many, or -1. */
static int nd_pairs(char *s, struct vg_label *v)
{
    char *save = NULL, *tok, *eq;
    int n = 0;

    for (tok = strtok_r(s, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
        eq = strchr(tok, '=');
        if (eq == NULL || n == ND_MAX_PAIRS)
            return -1;
        *eq = '\0';
        nd_decode(eq + 1);
        v[n].name = tok;
        v[n++].value = eq + 1;
    }
    return n;
}

static int nd_cmp(const void *a, const void *b)
{
    return strcmp(((const struct vg_label *)a)->name, ((const struct vg_label *)b)->name);
}

static int64_t nd_start(const char *key, int64_t now)
{
    size_t i;

    for (i = 0; i < nd_seen.n; i++)
        if (strcmp(nd_seen.key[i], key) == 0)
            return nd_seen.start[i];
    if (nd_seen.n < ND_MAX_ALERTS) {
        nd_seen.key[nd_seen.n] = strdup(key);
        nd_seen.start[nd_seen.n++] = now;
    }
    return now;
}

/* Reads "NOTIFY LABELS [ANNOTATIONS]" into a. VG_OK or VG_EPARSE. */
static int nd_alert_parse(struct nd_alert *a, const char *rest, int64_t now)
{
    char *save = NULL, *notify, *labels, *ann, *tok;
    int n;

    memset(a, 0, sizeof(*a));
    a->text = strdup(rest);
    notify = strtok_r(a->text, " \n", &save);
    labels = strtok_r(NULL, " \n", &save);
    ann = strtok_r(NULL, " \n", &save);
    if (notify == NULL || labels == NULL)
        return VG_EPARSE;
    a->m.starts_at_ns = nd_start(labels, now);
    for (tok = strtok_r(notify, ",", &save); tok != NULL && a->m.n_notify < ND_MAX_PAIRS;
         tok = strtok_r(NULL, ",", &save))
        a->notify[a->m.n_notify++] = tok;
    n = nd_pairs(labels, a->labels);
    if (n <= 0)
        return VG_EPARSE;
    qsort(a->labels, (size_t)n, sizeof(a->labels[0]), nd_cmp);
    a->m.labels = a->labels;
    a->m.n_labels = (size_t)n;
    n = ann != NULL ? nd_pairs(ann, a->ann) : 0;
    if (n < 0)
        return VG_EPARSE;
    a->m.annotations = a->ann;
    a->m.n_annotations = (size_t)n;
    a->m.notify = a->notify;
    a->m.generator_url = "http://127.0.0.1:9469/alerts";
    a->m.group_wait_ms = a->m.group_interval_ms = a->m.repeat_interval_ms = -1;
    a->m.send_resolved = -1;
    return VG_OK;
}

static void nd_sleep_until(int64_t when)
{
    struct timespec ts;
    int64_t d = when - vg_now_ns();

    if (d <= 0)
        return;
    ts.tv_sec = (time_t)(d / VG_NS_PER_SEC);
    ts.tv_nsec = (long)(d % VG_NS_PER_SEC);
    nanosleep(&ts, NULL);
}

static void nd_put(struct vg_notifier_set *ns, struct nd_alert *a, size_t n)
{
    static struct vg_alert_msg m[ND_MAX_ALERTS];
    size_t i;

    for (i = 0; i < n; i++)
        m[i] = a[i].m;
    vg_notifier_put(ns, m, n, vg_now_ns());
    for (i = 0; i < n; i++)
        free(a[i].text);
}

/* Feeds the timeline; returns 0, or 2 on bad input. */
static int nd_run(struct vg_notifier_set *ns, FILE *f, int64_t t0)
{
    static struct nd_alert a[ND_MAX_ALERTS];
    char line[ND_LINE_MAX], *rest;
    double at, cur = -1;
    size_t n = 0;

    while (fgets(line, sizeof(line), f) != NULL) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        at = strtod(line, &rest);
        if (rest == line || at < cur) {
            fprintf(stderr, "timeline: bad time in '%s'\n", line);
            return 2;
        }
        if (at != cur && cur >= 0) {
            nd_put(ns, a, n);
            n = 0;
        }
        cur = at;
        nd_sleep_until(t0 + (int64_t)(at * (double)VG_NS_PER_SEC));
        rest += strspn(rest, " ");
        if (strncmp(rest, "end", 3) == 0)
            return 0;
        if (rest[0] == '-')
            continue;
        if (n == ND_MAX_ALERTS || nd_alert_parse(&a[n], rest, vg_now_ns()) != VG_OK) {
            fprintf(stderr, "timeline: bad alert '%s'\n", line);
            return 2;
        }
        n++;
    }
    if (n > 0)
        nd_put(ns, a, n);
    return 0;
}

static int nd_plan(const char *path, struct vg_config **cfg, struct vg_notifier_plan *plan)
{
    struct vg_errors errs;
    int rc;

    vg_errors_init(&errs);
    rc = vg_config_load_file(path, cfg, &errs);
    if (rc == VG_OK)
        rc = vg_notifiers_plan(vg_node_get((*cfg)->root, "alerts"), plan, &errs);
    vg_errors_print(&errs, stderr);
    vg_errors_free(&errs);
    return rc;
}

static void nd_report(struct vg_notifier_set *ns, const struct vg_notifier_plan *plan, size_t left)
{
    static const char *const results[] = {"sent", "failed", "expired", "dropped", "retried"};
    size_t i, r;

    for (i = 0; i < plan->n; i++)
        for (r = 0; r < VG_ARRAY_LEN(results); r++)
            printf("notifier=%s result=%s count=%llu\n", plan->v[i].name, results[r],
                   (unsigned long long)vg_notifier_count(ns, plan->v[i].name, results[r]));
    printf("left=%zu\n", left);
}

int main(int argc, char **argv)
{
    struct vg_notifier_plan plan;
    struct vg_config *cfg = NULL;
    struct vg_notifier_set *ns;
    struct vg_error err = {0};
    FILE *f;
    int rc;

    if (argc < 3) {
        fprintf(stderr, "usage: notify_drive CONFIG TIMELINE [STOP_DEADLINE_MS]\n");
        return 2;
    }
    vg_log_setup(VG_LOG_INFO, false);
    signal(SIGPIPE, SIG_IGN); /* as the agent: a peer that closes is an error, not a death */
    memset(&plan, 0, sizeof(plan));
    if (nd_plan(argv[1], &cfg, &plan) != VG_OK)
        return 2;
    ns = vg_notifier_create(&plan, &err);
    if (ns == NULL || vg_notifier_start(ns, &err) != VG_OK) {
        fprintf(stderr, "notify_drive: %s\n", err.msg);
        return 1;
    }
    f = fopen(argv[2], "r");
    rc = f != NULL ? nd_run(ns, f, vg_now_ns()) : 2;
    if (f != NULL)
        fclose(f);
    nd_report(ns, &plan, vg_notifier_stop(ns, argc > 3 ? strtoll(argv[3], NULL, 10) : 30000));
    vg_notifier_destroy(ns);
    vg_notifiers_plan_free(&plan);
    vg_config_free(cfg);
    return rc;
}
