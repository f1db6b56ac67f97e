/*
 * modify.c - the `modify` filter: renames, copies, sets and removes fields,
 * as Fluent Bit's modify and Logstash's mutate do. The key `body` names
 * the record's body (a field named "body" cannot be addressed).
 *
 * Whatever order the options are written in, each record sees them in one
 * fixed order: rename, copy, set, remove; within an option, in the order
 * of its map or list. So a copy reads the names a rename left, a set wins
 * over a copied value, and remove comes last (copy: {a: b} with remove:
 * [a] moves a to b).
 *
 * set's values are YAML scalars typed as YAML's core schema types them
 * when unquoted: 42 an int, 1.5 a float, true/false a bool, null or ~ JSON
 * null; anything else, and every quoted value, a string. A value set on
 * the body is its text as written.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "filter.h"

enum mod_op { MOD_RENAME, MOD_COPY, MOD_SET, MOD_REMOVE };

struct mod_action {
    enum mod_op op;
    char *from; /* rename, copy: the key read */
    size_t from_len;
    bool from_body;
    char *to; /* the key written (set, rename, copy) or removed */
    size_t to_len;
    bool to_body;
    char *text;            /* set: the value as written */
    struct vg_field value; /* set: the typed value (strings point into text) */
};

struct modify_ctx {
    /* options */
    const struct vg_config_node *rename;
    const struct vg_config_node *copy;
    const struct vg_config_node *set;
    struct vg_strlist remove;
    /* built: the actions, in the order they are applied */
    struct mod_action *acts;
    size_t n_acts;
    size_t cap_acts;
    struct vg_buf scratch; /* the text of a field copied to the body */
    uint64_t changed;
};

static const struct vg_option modify_options[] = {
    {"rename", VG_OPT_NODE, NULL, offsetof(struct modify_ctx, rename),
     "map of field: its new name (applied first)", 0, NULL},
    {"copy", VG_OPT_NODE, NULL, offsetof(struct modify_ctx, copy),
     "map of field: the field its value is copied to (after rename)", 0, NULL},
    {"set", VG_OPT_NODE, NULL, offsetof(struct modify_ctx, set),
     "map of field: value (after copy; unquoted numbers, true, false, null keep their type)", 0,
     NULL},
    {"remove", VG_OPT_STRLIST, NULL, offsetof(struct modify_ctx, remove),
     "fields to remove (applied last)", 0, NULL},
    {NULL, VG_OPT_STR, NULL, 0, NULL, 0, NULL},
};

/* ------------------------------------------------------------------------
 * Building.
 */

static const char *mod_kind(const struct vg_config_node *n)
{
    return n->kind == VG_NODE_MAP ? "a map" : n->kind == VG_NODE_SEQ ? "a sequence" : "a scalar";
}

/* The next action, zeroed; NULL when out of memory. */
static struct mod_action *mod_push(struct modify_ctx *x, enum mod_op op)
{
    struct mod_action *a;

    if (vg_grow((void **)&x->acts, &x->cap_acts, x->n_acts + 1, sizeof(*x->acts)) != VG_OK)
        return NULL;
    a = &x->acts[x->n_acts++];
    memset(a, 0, sizeof(*a));
    a->op = op;
    return a;
}

/* Sets *key to a copy of s with its length and whether it names the body. */
static int mod_key(const char *s, char **key, size_t *len, bool *body)
{
    *key = vg_strdup(s);
    if (*key == NULL)
        return VG_ENOMEM;
    *len = strlen(s);
    *body = vg_filter_is_body(s);
    return VG_OK;
}

/* An unquoted scalar as YAML's core schema reads an int or a float into
 * v; false (v untouched) for anything else. */
static bool mod_number(const char *s, struct vg_field *v)
{
    const char *digits = s + (s[0] == '-' || s[0] == '+');
    char *end = NULL;
    int64_t i;
    double d;

    if (strspn(digits, "0123456789") == 0 && digits[0] != '.')
        return false;
    if (digits[strspn(digits, "0123456789")] == '\0') {
        errno = 0;
        i = strtoll(s, &end, 10);
        if (errno != 0 || end == s || *end != '\0')
            return false;
        v->type = VG_FIELD_INT;
        v->v.i = i;
        return true;
    }
    if (digits[strspn(digits, "0123456789.eE+-")] != '\0')
        return false;
    d = strtod(s, &end);
    if (end == s || *end != '\0')
        return false;
    v->type = VG_FIELD_DOUBLE;
    v->v.d = d;
    return true;
}

/* The typed value of a set entry (see the top of the file). */
static void mod_value(struct mod_action *a, bool quoted)
{
    static const char *const yes[] = {"true", "True", "TRUE"}, *const no[] = {"false", "False",
                                                                              "FALSE"};
    static const char *const null[] = {"null", "Null", "NULL", "~", ""};
    size_t i;

    a->value.key = a->to;
    a->value.type = VG_FIELD_STR;
    a->value.v.s.ptr = a->text;
    a->value.v.s.len = strlen(a->text);
    if (quoted || mod_number(a->text, &a->value))
        return;
    for (i = 0; i < VG_ARRAY_LEN(yes); i++) {
        if (strcmp(a->text, yes[i]) == 0 || strcmp(a->text, no[i]) == 0) {
            a->value.type = VG_FIELD_BOOL;
            a->value.v.b = strcmp(a->text, yes[i]) == 0;
        }
    }
    for (i = 0; i < VG_ARRAY_LEN(null); i++) {
        if (strcmp(a->text, null[i]) == 0) {
            a->value.type = VG_FIELD_JSON;
            a->value.v.s.ptr = "null";
            a->value.v.s.len = 4;
        }
    }
}

/* One entry of a rename, copy or set map. */
static int mod_entry(struct modify_ctx *x, struct vg_check *chk, const char *option, enum mod_op op,
                     const struct vg_config_node *c)
{
    char at[VG_ERROR_MAX];
    struct mod_action *a;

    snprintf(at, sizeof(at), "%s.%s", option, c->key);
    if (c->kind != VG_NODE_SCALAR) {
        vg_check_error(chk, at, "option '%s': the value of '%s' is %s, not a scalar", option,
                       c->key, mod_kind(c));
        return VG_ECONFIG;
    }
    if (c->key[0] == '\0' || (op != MOD_SET && c->value[0] == '\0')) {
        vg_check_error(chk, at, "option '%s': a field name is empty", option);
        return VG_ECONFIG;
    }
    a = mod_push(x, op);
    if (a == NULL)
        return VG_ENOMEM;
    if (op == MOD_SET) {
        a->text = vg_strdup(c->value);
        if (a->text == NULL || mod_key(c->key, &a->to, &a->to_len, &a->to_body) != VG_OK)
            return VG_ENOMEM;
        mod_value(a, c->quoted);
        return VG_OK;
    }
    if (mod_key(c->key, &a->from, &a->from_len, &a->from_body) != VG_OK ||
        mod_key(c->value, &a->to, &a->to_len, &a->to_body) != VG_OK)
        return VG_ENOMEM;
    return VG_OK;
}

/* The entries of a rename, copy or set option, in map order. */
static int mod_map(struct modify_ctx *x, struct vg_check *chk, const char *option,
                   const struct vg_config_node *map, enum mod_op op)
{
    const struct vg_config_node *c;
    int rc = VG_OK, r;

    if (map == NULL)
        return VG_OK;
    if (map->kind != VG_NODE_MAP) {
        vg_check_error(chk, option, "option '%s': expected a map of %s, found %s", option,
                       op == MOD_SET ? "field: value" : "field: field", mod_kind(map));
        return VG_ECONFIG;
    }
    for (c = map->children; c != NULL && rc != VG_ENOMEM; c = c->next) {
        r = mod_entry(x, chk, option, op, c);
        rc = r != VG_OK ? r : rc;
    }
    return rc;
}

static int mod_removes(struct modify_ctx *x, struct vg_check *chk)
{
    struct mod_action *a;
    size_t i;

    for (i = 0; i < x->remove.n; i++) {
        if (x->remove.v[i][0] == '\0') {
            vg_check_error(chk, "remove", "option 'remove': a field name is empty");
            return VG_ECONFIG;
        }
        a = mod_push(x, MOD_REMOVE);
        if (a == NULL || mod_key(x->remove.v[i], &a->to, &a->to_len, &a->to_body) != VG_OK)
            return VG_ENOMEM;
    }
    return VG_OK;
}

static int modify_build(void *ctx, const char *name, struct vg_check *chk)
{
    struct modify_ctx *x = ctx;
    int rc[4];
    size_t i;

    (void)name;
    if (x->rename == NULL && x->copy == NULL && x->set == NULL && x->remove.n == 0) {
        vg_check_error(chk, NULL, "option 'rename', 'copy', 'set' or 'remove' is needed");
        return VG_ECONFIG;
    }
    rc[0] = mod_map(x, chk, "rename", x->rename, MOD_RENAME);
    rc[1] = rc[0] == VG_ENOMEM ? VG_ENOMEM : mod_map(x, chk, "copy", x->copy, MOD_COPY);
    rc[2] = rc[1] == VG_ENOMEM ? VG_ENOMEM : mod_map(x, chk, "set", x->set, MOD_SET);
    rc[3] = rc[2] == VG_ENOMEM ? VG_ENOMEM : mod_removes(x, chk);
    for (i = 0; i < VG_ARRAY_LEN(rc); i++) {
        if (rc[i] != VG_OK)
            return rc[i];
    }
    return VG_OK;
}

/* ------------------------------------------------------------------------
 * Running: each action answers 1 (the record changed), 0 or VG_ENOMEM.
 */

static int mod_done(int rc)
{
    return rc == VG_OK ? 1 : rc;
}

/* rename and copy. */
static int mod_move(struct modify_ctx *x, struct vg_prec *pr, const struct mod_action *a)
{
    const struct vg_field *f;
    const char *s;
    size_t len;
    int rc;

    if (strcmp(a->from, a->to) == 0)
        return 0;
    if (a->from_body) {
        rc = vg_prec_set_str(pr, a->to, a->to_len, pr->r->body, pr->r->body_len);
        if (rc == VG_OK && a->op == MOD_RENAME)
            rc = vg_prec_set_body(pr, "", 0);
        return mod_done(rc);
    }
    f = vg_prec_find(pr, a->from, a->from_len);
    if (f == NULL)
        return 0;
    if (!a->to_body) {
        if (a->op == MOD_RENAME)
            return mod_done(vg_prec_rename(pr, a->from, a->from_len, a->to, a->to_len));
        return mod_done(vg_prec_set_copy(pr, a->to, a->to_len, f));
    }
    rc = vg_filter_field_text(f, &x->scratch, &s, &len);
    if (rc == VG_OK)
        rc = vg_prec_set_body(pr, s, len);
    if (rc == VG_OK && a->op == MOD_RENAME)
        vg_prec_remove(pr, a->from, a->from_len);
    return mod_done(rc);
}

static int mod_remove(struct vg_prec *pr, const struct mod_action *a)
{
    int changed = 0;

    if (a->to_body)
        return pr->r->body_len == 0 ? 0 : mod_done(vg_prec_set_body(pr, "", 0));
    /* a parser may have left repeated keys: every one goes */
    while (vg_prec_remove(pr, a->to, a->to_len))
        changed = 1;
    return changed;
}

static int mod_apply(struct modify_ctx *x, struct vg_prec *pr, const struct mod_action *a)
{
    switch (a->op) {
    case MOD_SET:
        if (a->to_body)
            return mod_done(vg_prec_set_body(pr, a->text, strlen(a->text)));
        return mod_done(vg_prec_set_copy(pr, a->to, a->to_len, &a->value));
    case MOD_REMOVE:
        return mod_remove(pr, a);
    default:
        return mod_move(x, pr, a);
    }
}

/* On VG_ENOMEM the actions applied before the failing one stay applied. */
static int modify_run(void *ctx, struct vg_prec *pr)
{
    struct modify_ctx *x = ctx;
    bool changed = false;
    size_t i;
    int rc;

    for (i = 0; i < x->n_acts; i++) {
        rc = mod_apply(x, pr, &x->acts[i]);
        if (rc < 0)
            return rc;
        changed = changed || rc > 0;
    }
    x->changed += changed;
    return VG_FILTER_KEEP;
}

static void modify_metrics(void *ctx, struct vg_emit *e, const char *collector, const char *step)
{
    const struct modify_ctx *x = ctx;

    vg_filter_count_changed(e, x->changed, collector, step);
}

static void modify_destroy(void *ctx)
{
    struct modify_ctx *x = ctx;
    size_t i;

    for (i = 0; i < x->n_acts; i++) {
        free(x->acts[i].from);
        free(x->acts[i].to);
        free(x->acts[i].text);
    }
    free(x->acts);
    vg_buf_free(&x->scratch);
}

const struct vg_filter_ops vg_filter_modify = {
    .name = "modify",
    .doc = "rename, copy, set and remove fields (and the body)",
    .options = modify_options,
    .ctx_size = sizeof(struct modify_ctx),
    .build = modify_build,
    .run = modify_run,
    .metrics = modify_metrics,
    .destroy = modify_destroy,
};
