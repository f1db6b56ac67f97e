/*
 * alerts_bench.c - the CPU of one evaluation of the alert rules: RULES
 * rules over SERIES series in the metric store (50 families of
 * SERIES / 50 series, three labels each), every rule on one family with a
 * label matcher (a regex for one in two), one in ten with `reduce: avg`
 * over a window, thresholds such that about one series in a hundred
 * fires. Values move between evaluations (committed, not timed). Prints
 * one Markdown row: rules, series, alerts active, CPU ms per evaluation
 * (the fastest and the median of ROUNDS), its share of one core at a 15 s
 * interval, and PASS or MISS of the median against the target (under
 * 150 ms, 1% of a core).
 *
 *   build/alerts_bench [RULES [SERIES [ROUNDS]]]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alert/rules.h"
#include "metrics.h"

#define BENCH_RULES     1000
#define BENCH_SERIES    50000
#define BENCH_FAMILIES  50
#define BENCH_ROUNDS    11
#define BENCH_TARGET_MS 150.0
#define BENCH_INTERVAL  15.0 /* s */

static double bench_cpu_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Commits every series with values that move with round. */
static void bench_commit(struct vg_metric_store *st, struct vg_samples *s, long series, int round)
{
    char fam[64], gpu[16], pod[32];
    long i;

    for (i = 0; i < series; i++) {
        struct vg_label l[] = {{"gpu", gpu}, {"node", "node-1"}, {"pod", pod}};
        /* 0..99, a different one at each round; one in a hundred at 150 */
        double v = i % 100 == 0 ? 150 : (double)((i * 7 + round * 13) % 100);

        snprintf(fam, sizeof(fam), "bench_metric_%ld", i % BENCH_FAMILIES);
        snprintf(gpu, sizeof(gpu), "%ld", (i / BENCH_FAMILIES) % 8);
        snprintf(pod, sizeof(pod), "pod-%ld", i / BENCH_FAMILIES);
        if (vg_samples_add(s, fam, VG_METRIC_GAUGE, "bench", "", l, 3, v) != VG_OK) {
            fprintf(stderr, "alerts_bench: cannot stage a sample\n");
            exit(1);
        }
    }
    if (vg_store_commit(st, "bench", s) != VG_OK) {
        fprintf(stderr, "alerts_bench: cannot commit\n");
        exit(1);
    }
}

static void bench_rule(struct vg_alert_runner *r, long k)
{
    char name[32], expr[160], why[256];
    struct vg_alert_selector sel;
    struct vg_alert_rule_spec spec = {0};
    struct vg_label ann[] = {{"summary", "{{ $labels.pod }} at {{ $value }}"}};
    struct vg_error err = {0};

    snprintf(name, sizeof(name), "Rule%ld", k);
    if (k % 2 == 0)
        snprintf(expr, sizeof(expr), "bench_metric_%ld{gpu=~\"%ld|%ld|[4-7]\"} > 99",
                 k % BENCH_FAMILIES, k % 4, (k + 1) % 4);
    else
        snprintf(expr, sizeof(expr), "bench_metric_%ld{node=\"node-1\",pod!=\"pod-%ld\"} >= 100",
                 k % BENCH_FAMILIES, k);
    if (vg_alert_expr_parse(expr, &sel, &spec.fire, why, sizeof(why)) != VG_OK) {
        fprintf(stderr, "alerts_bench: %s: %s\n", expr, why);
        exit(1);
    }
    spec.name = name;
    spec.sel = &sel;
    spec.for_ms = 30000;
    spec.annotations = ann;
    spec.n_annotations = 1;
    if (k % 10 == 0) {
        spec.reduce = VG_REDUCE_AVG;
        spec.window_ms = 60000;
    }
    spec.group_wait_ms = spec.group_interval_ms = spec.repeat_interval_ms = -1;
    spec.send_resolved = -1;
    if (vg_alert_runner_add(r, &spec, &err) != VG_OK) {
        fprintf(stderr, "alerts_bench: %s\n", err.msg);
        exit(1);
    }
    vg_alert_selector_free(&sel);
}

static int bench_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    long rules = argc > 1 ? strtol(argv[1], NULL, 10) : BENCH_RULES;
    long series = argc > 2 ? strtol(argv[2], NULL, 10) : BENCH_SERIES;
    int rounds = argc > 3 ? (int)strtol(argv[3], NULL, 10) : BENCH_ROUNDS;
    struct vg_metric_store *st = vg_store_create();
    struct vg_samples *s = vg_samples_create();
    struct vg_alert_runner *r = vg_alert_runner_create(15000, NULL);
    double ms[64], t;
    int64_t now = INT64_C(1800000000) * VG_NS_PER_SEC;
    size_t active = 0, firing = 0;
    int i;

    if (st == NULL || s == NULL || r == NULL || rules < 1 || series < BENCH_FAMILIES ||
        rounds < 1 || rounds > 64) {
        fprintf(stderr, "usage: alerts_bench [RULES [SERIES [ROUNDS (1-64)]]]\n");
        return 2;
    }
    for (i = 0; i < rules; i++)
        bench_rule(r, i);
    for (i = 0; i < rounds; i++) {
        bench_commit(st, s, series, i);
        t = bench_cpu_ms();
        vg_alert_runner_eval(r, st, now);
        ms[i] = bench_cpu_ms() - t;
        now += 15 * VG_NS_PER_SEC;
        active = vg_alert_runner_active(r, &firing);
    }
    qsort(ms, (size_t)rounds, sizeof(ms[0]), bench_cmp);
    printf("| rules | series | active (firing) | CPU ms per evaluation, min | median | "
           "share of a core at 15 s | target < %.0f ms |\n",
           BENCH_TARGET_MS);
    printf("|---|---|---|---|---|---|---|\n");
    printf("| %ld | %zu | %zu (%zu) | %.1f | %.1f | %.2f%% | %s |\n", rules,
           vg_store_series_count(st), active, firing, ms[0], ms[rounds / 2],
           ms[rounds / 2] / (BENCH_INTERVAL * 10.0),
           ms[rounds / 2] < BENCH_TARGET_MS ? "PASS" : "MISS");
    vg_alert_runner_destroy(r);
    vg_samples_destroy(s);
    vg_store_destroy(st);
    return 0;
}
