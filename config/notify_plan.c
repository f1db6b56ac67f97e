/*
 * notify_plan.c - the notifier part of the `alerts:` section: the grouping
 * defaults, the outbox bound and each entry of `notifiers:` (a map of name
 * to notifier) checked against the registry, the common notifier options
 * and its plugin's table and check callback. The other keys of `alerts:`
 * (interval, external_url, rules, and any unknown one) are the rule
 * engine's plan to check. Every problem is reported, each at its file and
 * line.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert/notifier.h"
#include "alloc.h"
#include "config.h"

#define NP_WHERE_MAX 160
#define NP_KEYS_MAX  64

const struct vg_option vg_notify_options[] = {
    {"group_by", VG_OPT_STRLIST, "alertname", offsetof(struct vg_notify_defaults, group_by),
     "labels whose values make a group (one message per group); [...]: every label", 0, NULL},
    {"group_wait", VG_OPT_DURATION, "30s", offsetof(struct vg_notify_defaults, group_wait_ms),
     "how long a new group waits for more alerts before its first message", VG_OPT_MIN, NULL, 0},
    {"group_interval", VG_OPT_DURATION, "5m",
     offsetof(struct vg_notify_defaults, group_interval_ms),
     "how long a group waits before a message about alerts new to it or resolved", VG_OPT_MIN, NULL,
     100},
    {"repeat_interval", VG_OPT_DURATION, "4h",
     offsetof(struct vg_notify_defaults, repeat_interval_ms),
     "how long before a message that changed nothing is sent again", VG_OPT_MIN, NULL, 100},
    {"send_resolved", VG_OPT_BOOL, "true", offsetof(struct vg_notify_defaults, send_resolved),
     "send a message when alerts resolve", 0, NULL},
    {"outbox_max", VG_OPT_INT, "1000", offsetof(struct vg_notify_defaults, outbox_max),
     "most notifications waiting; past it the oldest repeats go first", VG_OPT_RANGE, NULL, 1,
     1000000},
    {NULL, 0, NULL, 0, NULL, 0, NULL},
};

const struct vg_option vg_notifier_common_options[] = {
    {"max_age", VG_OPT_DURATION, "1h", offsetof(struct vg_notifier_plan_entry, max_age_ms),
     "a notification not delivered by then is given up (retries stop)", VG_OPT_MIN, NULL, 1000},
    {"timeout", VG_OPT_DURATION, "10s", offsetof(struct vg_notifier_plan_entry, timeout_ms),
     "longest time one delivery may take", VG_OPT_RANGE, NULL, 100, 300000},
    {NULL, 0, NULL, 0, NULL, 0, NULL},
};

/* The keys of the section that other plans own: every key of the map that
 * is not in vg_notify_options and not `notifiers`, NULL-terminated. */
static void np_others(const struct vg_config_node *alerts, const char **keys)
{
    const struct vg_config_node *c;
    size_t i, n = 0;
    bool mine;

    keys[n++] = "notifiers";
    for (c = alerts->children; c != NULL && n + 1 < NP_KEYS_MAX; c = c->next) {
        mine = false;
        for (i = 0; vg_notify_options[i].name != NULL; i++)
            mine = mine || strcmp(c->key, vg_notify_options[i].name) == 0;
        if (!mine && c->key != NULL)
            keys[n++] = c->key;
    }
    keys[n] = NULL;
}

/* Reports an unknown type with the closest known one, or the list. */
static void np_unknown_type(const char *where, const struct vg_config_node *type,
                            struct vg_errors *errs)
{
    const char *names[32];
    const char *pick;
    char list[256];
    size_t n, len = 0;

    list[0] = '\0';
    for (n = 0; n < VG_ARRAY_LEN(names) && vg_notifier_registry[n] != NULL; n++) {
        names[n] = vg_notifier_registry[n]->name;
        len +=
            (size_t)snprintf(list + len, sizeof(list) - len, "%s%s", n > 0 ? ", " : "", names[n]);
        len = len < sizeof(list) ? len : sizeof(list) - 1;
    }
    pick = vg_suggest(type->value, names, n);
    if (pick != NULL)
        vg_errors_add(errs, type, "%s: unknown notifier type '%s' (did you mean '%s'?)", where,
                      type->value, pick);
    else
        vg_errors_add(errs, type, "%s: unknown notifier type '%s' (known: %s)", where, type->value,
                      list);
}

/* A notifier's name: letters, digits, '_', '-' and '.'. */
static bool np_name_ok(const char *s)
{
    size_t i;

    for (i = 0; s[i] != '\0'; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-' || s[i] == '.'))
            return false;
    return i > 0;
}

/* The type of entry (reported when missing or unknown), or NULL. */
static const struct vg_notifier_ops *np_type(const struct vg_config_node *entry, const char *where,
                                             struct vg_errors *errs)
{
    const struct vg_config_node *type;
    const struct vg_notifier_ops *ops;

    if (entry->kind != VG_NODE_MAP) {
        vg_errors_add(errs, entry,
                      "%s: expected a map with a 'type' (slack, email or alertmanager)", where);
        return NULL;
    }
    type = vg_node_get(entry, "type");
    if (type == NULL || type->kind != VG_NODE_SCALAR) {
        vg_errors_add(errs, type != NULL ? type : entry,
                      "%s: missing 'type' (slack, email or alertmanager)", where);
        return NULL;
    }
    ops = vg_notifier_find(type->value);
    if (ops == NULL)
        np_unknown_type(where, type, errs);
    return ops;
}

static int np_entry(struct vg_notifier_plan_entry *e, const struct vg_config_node *entry,
                    struct vg_errors *errs)
{
    static const char *const ignore[] = {"type", NULL};
    const struct vg_option *tables[2] = {vg_notifier_common_options, NULL};
    void *ctxs[2] = {e, NULL};
    char where[NP_WHERE_MAX];
    size_t first = errs->n;
    int rc;

    snprintf(where, sizeof(where), "alerts.notifiers.%s", entry->key);
    e->node = entry;
    e->name = vg_strdup(entry->key);
    if (e->name == NULL)
        return VG_ENOMEM;
    if (!np_name_ok(entry->key))
        vg_errors_add(errs, entry, "%s: a notifier's name holds letters, digits, '_', '-', '.'",
                      where);
    e->ops = np_type(entry, where, errs);
    if (e->ops == NULL)
        return VG_ECONFIG;
    snprintf(where, sizeof(where), "alerts.notifiers.%s (%s)", entry->key, e->ops->name);
    e->ctx = vg_calloc(1, e->ops->ctx_size > 0 ? e->ops->ctx_size : 1);
    if (e->ctx == NULL)
        return VG_ENOMEM;
    tables[1] = e->ops->options;
    ctxs[1] = e->ctx;
    rc = vg_options_apply(tables, ctxs, 2, entry, where, ignore, errs);
    if (vg_plan_run_check(e->ops->check, e->ctx, entry, where, errs, first) != VG_OK)
        rc = VG_ECONFIG;
    return errs->n > first && rc == VG_OK ? VG_ECONFIG : rc;
}

static int np_notifiers(const struct vg_config_node *sec, struct vg_notifier_plan *plan,
                        struct vg_errors *errs)
{
    const struct vg_config_node *c;
    int rc = VG_OK, r;

    if (sec->kind != VG_NODE_MAP) {
        vg_errors_add(errs, sec,
                      "alerts.notifiers: expected a map of names to notifiers "
                      "(oncall: {type: slack, ...})");
        return VG_ECONFIG;
    }
    plan->v = vg_calloc(sec->n_children + 1, sizeof(*plan->v));
    if (plan->v == NULL)
        return VG_ENOMEM;
    for (c = sec->children; c != NULL; c = c->next) {
        r = np_entry(&plan->v[plan->n++], c, errs);
        if (r == VG_ENOMEM)
            return r;
        rc = r != VG_OK ? r : rc;
    }
    return rc;
}

int vg_notifiers_plan(const struct vg_config_node *alerts, struct vg_notifier_plan *plan,
                      struct vg_errors *errs)
{
    const struct vg_option *tables[1] = {vg_notify_options};
    void *ctxs[1] = {&plan->defaults};
    const char *others[NP_KEYS_MAX];
    const struct vg_config_node *sec;
    size_t first = errs->n;
    int rc, r;

    memset(plan, 0, sizeof(*plan));
    if (alerts == NULL || alerts->kind != VG_NODE_MAP)
        return vg_options_defaults(vg_notify_options, &plan->defaults, errs);
    np_others(alerts, others);
    rc = vg_options_apply(tables, ctxs, 1, alerts, "alerts", others, errs);
    sec = vg_node_get(alerts, "notifiers");
    if (sec != NULL && !(sec->kind == VG_NODE_SCALAR && sec->value[0] == '\0')) {
        r = np_notifiers(sec, plan, errs);
        rc = r == VG_ENOMEM || rc == VG_OK ? r : rc;
    }
    return errs->n > first && rc == VG_OK ? VG_ECONFIG : rc;
}

void vg_notifiers_plan_free(struct vg_notifier_plan *plan)
{
    size_t i;

    for (i = 0; i < plan->n; i++) {
        struct vg_notifier_plan_entry *e = &plan->v[i];

        if (e->ctx != NULL && e->ops != NULL)
            vg_options_free(e->ops->options, e->ctx);
        free(e->ctx);
        free(e->name);
    }
    free(plan->v);
    vg_options_free(vg_notify_options, &plan->defaults);
    memset(plan, 0, sizeof(*plan));
}
