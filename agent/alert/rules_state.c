/*
 * rules_state.c - the rule engine's states across restarts, in
 * <state_dir>/checkpoints/alerts (read with the checkpoint store's
 * reader, written whole and atomically with its writer).
 *
 * Format: a header line, then one alert a line, fields split by tabs,
 * tabs, newlines and backslashes inside a field escaped (\t \n \\):
 *   <rule> <state: pending|firing|resolved> <active_at> <fired_at>
 *   <resolved_at> <last_true> <value> [<label name> <label value>]...
 * Times are UNIX ns; the labels are the series', in name order.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert/rules_internal.h"
#include "alloc.h"
#include "checkpoint.h"

#define STATE_HEADER   "# vigil alerts v1\n"
#define STATE_MAX_FILE (UINT64_C(64) << 20)
#define STATE_FIELDS   7 /* before the labels */

static const char *const state_names[] = {"none", "pending", "firing", "resolved"};

static int state_line(struct vg_buf *b, const struct alert_rule *rule,
                      const struct alert_inst *inst)
{
    const char *p = inst->key, *end = inst->key + inst->key_len;
    int rc = vg_checkpoint_escape(b, rule->name);

    if (rc == VG_OK)
        rc = vg_buf_printf(b, "\t%s\t%lld\t%lld\t%lld\t%lld\t%.17g", state_names[inst->state],
                           (long long)inst->active_at, (long long)inst->fired_at,
                           (long long)inst->resolved_at, (long long)inst->last_true, inst->value);
    for (; rc == VG_OK && p < end; p += strlen(p) + 1) {
        rc = vg_buf_putc(b, '\t');
        if (rc == VG_OK)
            rc = vg_checkpoint_escape(b, p);
    }
    return rc == VG_OK ? vg_buf_putc(b, '\n') : rc;
}

static int state_render(const struct vg_alert_runner *r, struct vg_buf *b)
{
    const struct alert_inst *inst;
    size_t i, k;
    int rc = vg_buf_puts(b, STATE_HEADER);

    for (i = 0; rc == VG_OK && i < r->n_rules; i++)
        for (k = 0; rc == VG_OK && k < r->rules[i].n_buckets; k++)
            for (inst = r->rules[i].buckets[k]; rc == VG_OK && inst != NULL; inst = inst->next)
                if (inst->state != ALERT_NONE)
                    rc = state_line(b, &r->rules[i], inst);
    return rc;
}

int vg_alert_runner_save(struct vg_alert_runner *r)
{
    struct vg_buf b;
    int rc;

    if (r->state_path == NULL || !r->dirty)
        return VG_OK;
    vg_buf_init(&b);
    rc = state_render(r, &b);
    if (rc == VG_OK)
        rc = vg_checkpoint_write_atomic(r->state_path, b.data, b.len);
    vg_buf_free(&b);
    if (rc != VG_OK) {
        r->write_errors++;
        vg_complain(&r->complain, VG_LOG_ERROR, "alerts", "state",
                    "cannot write %s: %s; alert states are kept in memory only until it can be",
                    r->state_path, rc == VG_ENOMEM ? "out of memory" : vg_errno_str(errno));
        return VG_EIO;
    }
    vg_complain_clear(&r->complain, "alerts", "state", "writing the alert states");
    r->dirty = false;
    return VG_OK;
}

/* The parsed line before its labels. */
struct state_entry {
    char *f[STATE_FIELDS];
    enum alert_state state;
    int64_t t[4];
    double value;
};

static bool state_entry(char *line, struct state_entry *e, char **labels)
{
    char *next = line, *end;
    size_t i;

    for (i = 0; i < STATE_FIELDS; i++) {
        if (next == NULL)
            return false;
        e->f[i] = next;
        next = vg_checkpoint_field(next);
    }
    *labels = next;
    for (i = 1; i < VG_ARRAY_LEN(state_names); i++)
        if (strcmp(e->f[1], state_names[i]) == 0)
            break;
    if (i == VG_ARRAY_LEN(state_names))
        return false;
    e->state = (enum alert_state)i;
    for (i = 0; i < 4; i++) /* UNIX ns, 0 for never: now - t must not overflow */
        if (!vg_checkpoint_i64(e->f[2 + i], &e->t[i]) || e->t[i] < 0)
            return false;
    e->value = strtod(e->f[6], &end);
    return *end == '\0';
}

/* The series key of the label fields from p on, into r->key. */
static bool state_key(struct vg_alert_runner *r, char *p)
{
    size_t n = 0;

    vg_buf_reset(&r->key);
    while (p != NULL) {
        char *f = p;

        p = vg_checkpoint_field(p);
        if (vg_buf_append(&r->key, f, strlen(f) + 1) != VG_OK)
            return false;
        n++;
    }
    return n % 2 == 0;
}

/* Restores one line; false when it is damaged. */
static bool state_restore(struct vg_alert_runner *r, char *line)
{
    struct state_entry e;
    struct alert_rule *rule;
    struct alert_inst *inst;
    char *labels;
    uint64_t h;

    if (!state_entry(line, &e, &labels) || !state_key(r, labels))
        return false;
    rule = vg_alert_rule_find(r, e.f[0]);
    if (rule == NULL)
        return true; /* a rule no longer configured: forgotten */
    h = vg_hash_bytes(r->key.data, r->key.len);
    inst = vg_alert_inst_find(rule, r->key.data, r->key.len, h);
    if (inst == NULL)
        inst = vg_alert_inst_add(rule, r->key.data, r->key.len, h);
    if (inst == NULL)
        return true;
    inst->state = e.state;
    inst->active_at = e.t[0];
    inst->fired_at = e.t[1];
    inst->resolved_at = e.t[2];
    inst->last_true = e.t[3];
    inst->value = e.value;
    vg_alert_inst_annotate(r, rule, inst);
    return true;
}

static bool state_restore_cb(void *arg, char *line)
{
    return state_restore(arg, line);
}

int vg_alert_state_parse(struct vg_alert_runner *r, const char *text, size_t len)
{
    return vg_checkpoint_lines(text, len, state_restore_cb, r, "alerts", "state",
                               r->state_path != NULL ? r->state_path
                                                     : "checkpoints/" VG_ALERT_STATE_FILE);
}

static int state_parse(void *arg, const char *text, size_t len)
{
    return vg_alert_state_parse(arg, text, len);
}

int vg_alert_runner_open_state(struct vg_alert_runner *r, const char *state_dir,
                               struct vg_error *err)
{
    char *path = NULL;
    int rc;

    free(r->state_path);
    r->state_path = NULL;
    rc = vg_checkpoint_load_file(state_dir, VG_ALERT_STATE_FILE, STATE_MAX_FILE, &path, state_parse,
                                 r, err);
    if (rc != VG_OK) {
        free(path);
        return rc;
    }
    r->state_path = path;
    return VG_OK;
}
