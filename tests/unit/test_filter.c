/*
 * test_filter.c - the filter types (agent/filter/): each built from YAML
 * through vg_filter_plan as a config would build it, then run on records
 * made by hand. grep (include, exclude, both, a missing field, an int
 * field); modify (each operation, the body, value types, the fixed
 * order); redact (every preset on what it must mask and what it must
 * leave, a regex with group references, fields, JSON fields); throttle
 * (bursts, refill, keys apart, overflow, forgetting, on a clock of the
 * test's); level (fields, JSON members, the body, spellings, default);
 * metrics; and the message of every configuration error.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "config.h"
#include "core.h"
#include "filter/filter.h"
#include "metrics.h"
#include "pipeline.h"
#include "process.h"
#include "torture.h"

/* A step and a record to run it on. */
struct fx {
    struct vg_config *cfg;
    const struct vg_filter_ops *ops;
    void *ctx;
    struct vg_arena arena;
    uint64_t bytes;
    struct vg_record r;
    struct vg_prec pr;
    int64_t now_ns; /* a throttle step's clock */
};

static int64_t fx_clock(void *arg)
{
    return *(const int64_t *)arg;
}

/* Builds the step that yaml (a map with `type`) describes; asserts that
 * it builds. */
static void fx_build(struct fx *f, const char *yaml)
{
    struct vg_errors errs;
    const struct vg_config_node *type;
    size_t i;

    memset(f, 0, sizeof(*f));
    vg_errors_init(&errs);
    assert_int_equal(vg_config_load_string(yaml, strlen(yaml), "t.yaml", &f->cfg, &errs), VG_OK);
    type = vg_node_get(f->cfg->root, "type");
    assert_non_null(type);
    f->ops = vg_filter_find(type->value);
    assert_non_null(f->ops);
    if (vg_filter_plan(f->ops, f->cfg->root, "filters[0]", "s", &f->ctx, &errs) != VG_OK)
        for (i = 0; i < errs.n; i++)
            print_message("unexpected error: %s\n", errs.msgs[i]);
    assert_int_equal(errs.n, 0);
    assert_non_null(f->ctx);
    vg_errors_free(&errs);
    if (strcmp(f->ops->name, "throttle") == 0)
        vg_filter_throttle_clock(f->ctx, fx_clock, &f->now_ns);
    vg_arena_init(&f->arena, 4096);
}

static void fx_free(struct fx *f)
{
    vg_filter_free(f->ops, f->ctx);
    vg_config_free(f->cfg);
    vg_arena_free(&f->arena);
}

/* A new record with that body (NULL: none). */
static void fx_record(struct fx *f, const char *body)
{
    memset(&f->r, 0, sizeof(f->r));
    f->pr = (struct vg_prec){&f->r, &f->arena, &f->bytes, NULL, 0, false};
    if (body != NULL)
        assert_int_equal(vg_prec_set_body(&f->pr, body, strlen(body)), VG_OK);
}

static void fx_str(struct fx *f, const char *key, const char *value)
{
    assert_int_equal(vg_prec_set_str(&f->pr, key, strlen(key), value, strlen(value)), VG_OK);
}

static void fx_json(struct fx *f, const char *key, const char *value)
{
    assert_int_equal(vg_prec_set_json(&f->pr, key, strlen(key), value, strlen(value)), VG_OK);
}

static void fx_int(struct fx *f, const char *key, int64_t value)
{
    assert_int_equal(vg_prec_set_int(&f->pr, key, strlen(key), value), VG_OK);
}

static int fx_run(struct fx *f)
{
    return f->ops->run(f->ctx, &f->pr);
}

static const struct vg_field *fx_field(struct fx *f, const char *key)
{
    return vg_prec_find(&f->pr, key, strlen(key));
}

/* The field of that key, which must be there with that type. */
static const struct vg_field *fx_typed(struct fx *f, const char *key, enum vg_field_type type)
{
    const struct vg_field *fl = fx_field(f, key);

    assert_non_null(fl);
    assert_int_equal(fl->type, type);
    return fl;
}

/* A string field's value (NULL when there is none, fails when it is not
 * a string). */
static const char *fx_get(struct fx *f, const char *key)
{
    const struct vg_field *fl = fx_field(f, key);

    if (fl == NULL)
        return NULL;
    assert_int_equal(fl->type, VG_FIELD_STR);
    return fl->v.s.ptr;
}

static void assert_body(struct fx *f, const char *body)
{
    assert_int_equal(f->r.body_len, strlen(body));
    assert_memory_equal(f->r.body, body, f->r.body_len);
}

/* The step's metrics as /metrics shows them (malloc'd). */
static char *fx_metrics(struct fx *f)
{
    struct vg_samples *s = vg_samples_create();
    struct vg_metric_store *st = vg_store_create();
    struct vg_emit e = {s, NULL};
    struct vg_rendered *out;
    char *text;

    assert_non_null(s);
    assert_non_null(st);
    f->ops->metrics(f->ctx, &e, "clog", "s");
    assert_int_equal(vg_store_commit(st, "filter", s), VG_OK);
    out = vg_store_render(st, VG_EXPO_TEXT, false);
    assert_non_null(out);
    text = strndup(vg_rendered_data(out), vg_rendered_len(out));
    assert_non_null(text);
    vg_rendered_release(out);
    vg_store_destroy(st);
    vg_samples_destroy(s);
    return text;
}

static void assert_metric(struct fx *f, const char *line)
{
    char *text = fx_metrics(f);

    if (strstr(text, line) == NULL)
        print_message("no line '%s' in:\n%s", line, text);
    assert_non_null(strstr(text, line));
    free(text);
}

/* Runs a one-field redaction: body in, body out. */
static void assert_redacts(struct fx *f, const char *in, const char *want)
{
    fx_record(f, in);
    assert_int_equal(fx_run(f), VG_FILTER_KEEP);
    if (f->r.body_len != strlen(want) || memcmp(f->r.body, want, f->r.body_len) != 0)
        print_message("in:   %s\nwant: %s\ngot:  %.*s\n", in, want, (int)f->r.body_len, f->r.body);
    assert_body(f, want);
}

static void assert_keeps(struct fx *f, const char *in)
{
    assert_redacts(f, in, in);
}

/* ------------------------------------------------------------------------
 * grep
 */

static void grep_include_keeps_only_matches(void **state)
{
    struct fx f;

    (void)state;
    fx_build(&f, "type: grep\ninclude: 'ERROR|WARN'\n");
    fx_record(&f, "2026-12-02 ERROR disk full");
    assert_int_equal(fx_run(&f), VG_FILTER_KEEP);
    fx_record(&f, "2026-12-02 INFO all fine");
    assert_int_equal(fx_run(&f), VG_FILTER_DROP);
    fx_record(&f, NULL);
    assert_int_equal(fx_run(&f), VG_FILTER_DROP);
    assert_metric(&f, "vigil_filter_dropped_total{collector=\"clog\",step=\"s\"} 2");
    fx_free(&f);
}

static void grep_exclude_drops_matches(void **state)
{
    struct fx f;

    (void)state;
    fx_build(&f, "type: grep\nexclude: '^GET /healthz'\n");
    fx_record(&f, "GET /healthz 200");
    assert_int_equal(fx_run(&f), VG_FILTER_DROP);
    fx_record(&f, "GET /api 200");
    assert_int_equal(fx_run(&f), VG_FILTER_KEEP);
    fx_free(&f);
}

static void grep_include_and_exclude_both_apply(void **state)
{
    struct fx f;

    (void)state;
    fx_build(&f, "type: grep\ninclude: error\nexclude: expected\n");
    fx_record(&f, "an error");
    assert_int_equal(fx_run(&f), VG_FILTER_KEEP);
    fx_record(&f, "an expected error");
    assert_int_equal(fx_run(&f), VG_FILTER_DROP);
    fx_record(&f, "all fine");
    assert_int_equal(fx_run(&f), VG_FILTER_DROP);
    fx_free(&f);
}

/* A record without the field matches neither pattern. */
static void grep_missing_field_matches_nothing(void **state)
{
    struct fx inc, exc;

    (void)state;
    fx_build(&inc, "type: grep\nfield: namespace\ninclude: '^kube-'\n");
    fx_build(&exc, "type: grep\nfield: namespace\nexclude: '^kube-'\n");
    fx_record(&inc, "x");
    fx_str(&inc, "namespace", "kube-system");
    assert_int_equal(fx_run(&inc), VG_FILTER_KEEP);
    fx_record(&inc, "x");
    fx_str(&inc, "pod", "kube-proxy");
    assert_int_equal(fx_run(&inc), VG_FILTER_DROP);
    fx_record(&exc, "x");
    fx_str(&exc, "pod", "kube-proxy");
    assert_int_equal(fx_run(&exc), VG_FILTER_KEEP);
    fx_record(&exc, "x");
    fx_str(&exc, "namespace", "kube-public");
    assert_int_equal(fx_run(&exc), VG_FILTER_DROP);
    fx_free(&inc);
    fx_free(&exc);
}

/* Other types are matched on their JSON text. */
static void grep_int_field_matches_its_text(void **state)
{
    struct fx f;

    (void)state;
    fx_build(&f, "type: grep\nfield: status\ninclude: '^5[0-9][0-9]$'\n");
    fx_record(&f, "x");
    fx_int(&f, "status", 503);
    assert_int_equal(fx_run(&f), VG_FILTER_KEEP);
    fx_record(&f, "x");
    fx_int(&f, "status", 200);
    assert_int_equal(fx_run(&f), VG_FILTER_DROP);
    fx_record(&f, "x");
    fx_str(&f, "status", "500");
    assert_int_equal(fx_run(&f), VG_FILTER_KEEP);
    fx_free(&f);
}

/* A pattern that backtracks without end is stopped, counted, no match. */
static void grep_match_limit_counts_as_no_match(void **state)
{
    char line[64];
    struct fx f;

    (void)state;
    /* a 'y' to find, but not at the end: PCRE2 cannot rule it out at once */
    memset(line, 'x', sizeof(line) - 3);
    memcpy(line + sizeof(line) - 3, "yz", 3);
    fx_build(&f, "type: grep\nexclude: '^(x+x+)+y$'\n");
    fx_record(&f, line);
    assert_int_equal(fx_run(&f), VG_FILTER_KEEP);
    assert_metric(&f, "vigil_filter_regex_limit_total{collector=\"clog\",step=\"s\"} 1");
    fx_free(&f);
}

/* ------------------------------------------------------------------------
 * modify
 */

static void modify_set_types_unquoted_scalars(void **state)
{
    const struct vg_field *fl;
    struct fx f;

    (void)state;
    fx_build(&f, "type: modify\nset: {env: prod, replicas: 3, ratio: 0.5, on: true, tag: '3',"
                 " none: null, v: 1.2.3}\n");
    fx_record(&f, "x");
    fx_str(&f, "env", "dev");
    assert_int_equal(fx_run(&f), VG_FILTER_KEEP);
    assert_string_equal(fx_get(&f, "env"), "prod");
    fl = fx_typed(&f, "replicas", VG_FIELD_INT);
    assert_int_equal(fl->v.i, 3);
    fl = fx_typed(&f, "ratio", VG_FIELD_DOUBLE);
    assert_true(fl->v.d == 0.5);
    fl = fx_typed(&f, "on", VG_FIELD_BOOL);
    assert_true(fl->v.b);
    assert_string_equal(fx_get(&f, "tag"), "3");
    fl = fx_typed(&f, "none", VG_FIELD_JSON);
    assert_memory_equal(fl->v.s.ptr, "null", 4);
    assert_string_equal(fx_get(&f, "v"), "1.2.3");
    assert_metric(&f, "vigil_filter_changed_total{collector=\"clog\",step=\"s\"} 1");
    fx_free(&f);
}

static void modify_rename_copy_remove(void **state)
{
    const struct vg_field *fl;
    struct fx f;

    (void)state;
    fx_build(&f, "type: modify\nrename: {msg: message, nope: x}\ncopy: {status: code}\n"
                 "remove: [secret, stream]\n");
    fx_record(&f, "x");
    fx_str(&f, "msg", "hello");
    fx_int(&f, "status", 404);
    fx_str(&f, "secret", "s1");
    fx_str(&f, "secret", "s2"); /* replaces: one field */
    fx_str(&f, "stream", "stdout");
    assert_int_equal(fx_run(&f), VG_FILTER_KEEP);
    assert_null(fx_field(&f, "msg"));
    assert_string_equal(fx_get(&f, "message"), "hello");
    assert_null(fx_field(&f, "x"));
    fl = fx_typed(&f, "code", VG_FIELD_INT);
    assert_int_equal(fl->v.i, 404);
    assert_int_equal(fx_typed(&f, "status", VG_FIELD_INT)->v.i, 404);
    assert_null(fx_field(&f, "secret"));
    assert_null(fx_field(&f, "stream"));
    /* nothing to do: not counted as changed */
    fx_record(&f, "x");
    assert_int_equal(fx_run(&f), VG_FILTER_KEEP);
    assert_metric(&f, "vigil_filter_changed_total{collector=\"clog\",step=\"s\"} 1");
    fx_free(&f);
}

/* rename, copy, set, remove, whatever order the options are written in. */
static void modify_applies_in_a_fixed_order(void **state)
{
    const struct vg_field *fl;
    struct fx f;

    (void)state;
    fx_build(&f, "type: modify\nremove: [a]\nset: {b: set}\ncopy: {a: b}\nrename: {x: a}\n");
    fx_record(&f, "x");
    fx_str(&f, "x", "from-x");
    assert_int_equal(fx_run(&f), VG_FILTER_KEEP);
    /* x renamed to a, a copied to b, b set, a removed */
    assert_null(fx_field(&f, "x"));
    assert_null(fx_field(&f, "a"));
    assert_string_equal(fx_get(&f, "b"), "set");
    fl = f.r.fields;
    assert_non_null(fl);
    assert_null(fl->next);
    fx_free(&f);
}

static void modify_addresses_the_body(void **state)
{
    struct fx f, g, h;

    (void)state;
    fx_build(&f, "type: modify\ncopy: {body: raw, message: body}\n");
    fx_record(&f, "original line");
    fx_str(&f, "message", "parsed message");
    assert_int_equal(fx_run(&f), VG_FILTER_KEEP);
    assert_string_equal(fx_get(&f, "raw"), "original line");
    assert_body(&f, "parsed message");
    assert_string_equal(fx_get(&f, "message"), "parsed message");

    fx_build(&g, "type: modify\nrename: {code: body}\nset: {body2: 1}\n");
    fx_record(&g, "line");
    fx_int(&g, "code", 42);
    assert_int_equal(fx_run(&g), VG_FILTER_KEEP);
    assert_body(&g, "42");
    assert_null(fx_field(&g, "code"));

    fx_build(&h, "type: modify\nset: {body: 42}\nrename: {body: line}\n");
    fx_record(&h, "text");
    assert_int_equal(fx_run(&h), VG_FILTER_KEEP);
    assert_string_equal(fx_get(&h, "line"), "text");
    assert_body(&h, "42"); /* renamed away first, then set */
    fx_free(&f);
    fx_free(&g);
    fx_free(&h);

    fx_build(&f, "type: modify\nremove: body\n");
    fx_record(&f, "gone");
    assert_int_equal(fx_run(&f), VG_FILTER_KEEP);
    assert_int_equal(f.r.body_len, 0);
    fx_free(&f);
}

/* ------------------------------------------------------------------------
 * redact
 */

static void redact_bearer(void **state)
{
    struct fx f;

    (void)state;
    fx_build(&f, "type: redact\npresets: [bearer]\n");
    assert_redacts(&f, "{\"headers\":{\"Authorization\":\"Bearer abcDEF123456.xyz\"}}",
                   "{\"headers\":{\"Authorization\":\"Bearer [REDACTED]\"}}");
    assert_redacts(&f, "auth=\"bearer 0123456789abcdef\" ok", "auth=\"bearer [REDACTED]\" ok");
    assert_redacts(&f, "Authorization: BEARER  tok_live_ABCDEFGH",
                   "Authorization: BEARER  [REDACTED]");
    assert_keeps(&f, "the bearer of bad news");
    assert_keeps(&f, "{\"token_type\":\"bearer\",\"expires_in\":3600}");
    assert_metric(&f,
                  "vigil_redact_matches_total{collector=\"clog\",rule=\"bearer\",step=\"s\"} 3");
    assert_metric(&f, "vigil_filter_changed_total{collector=\"clog\",step=\"s\"} 3");
    fx_free(&f);
}

static void redact_basic_auth(void **state)
{
    struct fx f;

    (void)state;
    fx_build(&f, "type: redact\npresets: basic_auth\n");
    assert_redacts(&f,
                   "Authorization: Basic dXNlcjpwYXNzd29yZA==", "Authorization: Basic [REDACTED]");
    assert_redacts(&f, "dial postgres://admin:s3cr3t@db.example.com:5432/app failed",
                   "dial postgres://admin:[REDACTED]@db.example.com:5432/app failed");
    assert_redacts(&f, "redis://:hunter2@cache:6379", "redis://:[REDACTED]@cache:6379");
    assert_keeps(&f, "basic settings applied");
    assert_keeps(&f, "GET https://example.com:8443/users/me@home 200");
    assert_keeps(&f, "Basic auth disabled");
    fx_free(&f);
}

static void redact_aws_key(void **state)
{
    struct fx f;

    (void)state;
    fx_build(&f, "type: redact\npresets: [aws_key]\n");
    assert_redacts(&f, "using key AKIAIOSFODNN7EXAMPLE for s3", "using key [REDACTED] for s3");
    assert_redacts(&f, "ASIAY34FZKBOKMUTVV7A", "[REDACTED]");
    assert_redacts(&f, "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n",
                   "aws_secret_access_key=[REDACTED]\n");
    assert_redacts(&f, "{\"SecretAccessKey\": \"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\"}",
                   "{\"SecretAccessKey\": \"[REDACTED]\"}");
    assert_keeps(&f, "AKIA12345 is too short");
    assert_keeps(&f, "akiaiosfodnn7example");
    assert_keeps(&f, "XAKIAIOSFODNN7EXAMPLEX");
    fx_free(&f);
}

static void redact_jwt(void **state)
{
    struct fx f;

    (void)state;
    fx_build(&f, "type: redact\npresets: [jwt]\n");
    assert_redacts(&f,
                   "token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9P"
                   "lFUP0THsR8U&x=1",
                   "token=[REDACTED]&x=1");
    assert_redacts(&f, "unsigned eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0. end",
                   "unsigned [REDACTED] end");
    assert_keeps(&f, "eyJ alone is no token");
    assert_keeps(&f, "keyJust.some.words");
    fx_free(&f);
}

static void redact_email(void **state)
{
    struct fx f;

    (void)state;
    fx_build(&f, "type: redact\npresets: [email]\n");
    assert_redacts(&f, "user john.doe+tag@example.co.uk logged in", "user [REDACTED] logged in");
    assert_redacts(&f, "to=<a@b.io>,cc=c_d@mail.example.org", "to=<[REDACTED]>,cc=[REDACTED]");
    assert_keeps(&f, "root@localhost said hi");
    assert_keeps(&f, "price @ 5 each");
    assert_keeps(&f, "no at sign here");
    fx_free(&f);
}

static void redact_card_needs_luhn(void **state)
{
    struct fx f;

    (void)state;
    fx_build(&f, "type: redact\npresets: [card]\n");
    assert_redacts(&f, "paid with 4111 1111 1111 1111 ok", "paid with [REDACTED] ok");
    assert_redacts(&f, "card=4111-1111-1111-1111;", "card=[REDACTED];");
    assert_redacts(&f, "5500000000000004", "[REDACTED]");
    assert_redacts(&f, "amex 378282246310005.", "amex [REDACTED].");
    assert_keeps(&f, "paid with 4111 1111 1111 1112 ok");            /* Luhn fails */
    assert_keeps(&f, "order 1234567890123456 shipped");              /* Luhn fails */
    assert_keeps(&f, "2026-12-02T14:05:06.123456789Z took 1234 ms"); /* no 13-digit run */
    assert_keeps(&f, "id 41111111111111111111111");                  /* too long */
    assert_keeps(&f, "zeros 0000000000000000");
    assert_metric(&f, "vigil_redact_matches_total{collector=\"clog\",rule=\"card\",step=\"s\"} 4");
    fx_free(&f);
}

/* The presets run in the order listed; every string field is redacted,
 * other types are not; a JSON field stays JSON. */
static void redact_every_string_field(void **state)
{
    const struct vg_field *fl;
    struct fx f;

    (void)state;
    fx_build(&f, "type: redact\npresets: [email, jwt, bearer]\n");
    fx_record(&f, "mail a@b.io");
    fx_str(&f, "user", "c@d.io");
    fx_json(&f, "ctx", "{\"to\":\"e@f.io\",\"n\":1}");
    fx_int(&f, "n", 4111111111111111);
    fx_str(&f, "clean", "nothing here");
    assert_int_equal(fx_run(&f), VG_FILTER_KEEP);
    assert_body(&f, "mail [REDACTED]");
    assert_string_equal(fx_get(&f, "user"), "[REDACTED]");
    fl = fx_typed(&f, "ctx", VG_FIELD_JSON);
    assert_string_equal(fl->v.s.ptr, "{\"to\":\"[REDACTED]\",\"n\":1}");
    assert_int_equal(fx_typed(&f, "n", VG_FIELD_INT)->v.i, 4111111111111111);
    assert_string_equal(fx_get(&f, "clean"), "nothing here");
    assert_metric(&f, "vigil_redact_matches_total{collector=\"clog\",rule=\"email\",step=\"s\"} 3");
    assert_metric(&f, "vigil_redact_matches_total{collector=\"clog\",rule=\"jwt\",step=\"s\"} 0");
    assert_metric(&f, "vigil_filter_changed_total{collector=\"clog\",step=\"s\"} 1");
    fx_free(&f);
}

static void redact_regex_with_group_references(void **state)
{
    struct fx f;

    (void)state;
    /* the loader expands ${VAR} and $$: a file says $${key} for ${key} */
    fx_build(&f, "type: redact\nregex: '(?<key>password|passwd)=(\\S+)'\n"
                 "replace: '$${key}=*** (was $$$$$${2}'\n");
    assert_redacts(&f, "login password=hunter2 passwd=x ok",
                   "login password=*** (was $hunter2 passwd=*** (was $x ok");
    fx_free(&f);
    fx_build(&f, "type: redact\nregex: 'secret=\\S+'\n");
    assert_redacts(&f, "a secret=1 b", "a [REDACTED] b");
    assert_metric(&f, "vigil_redact_matches_total{collector=\"clog\",rule=\"regex\",step=\"s\"} 1");
    fx_free(&f);
}

/* The collector's own fields (ids, paths) are left alone unless listed. */
static void redact_leaves_collector_fields(void **state)
{
    static const char id[] = "f00d4111111111111111beef";
    struct fx f, g;

    (void)state;
    fx_build(&f, "type: redact\npresets: [card, email]\n");
    fx_build(&g, "type: redact\npresets: [card, email]\nfields: [container_id, msg]\n");
    fx_record(&f, "x");
    fx_str(&f, "container_id", id);
    f.pr.mark = f.r.fields_tail;
    fx_str(&f, "msg", "4111111111111111 a@b.io");
    assert_int_equal(fx_run(&f), VG_FILTER_KEEP);
    assert_string_equal(fx_get(&f, "container_id"), id);
    assert_string_equal(fx_get(&f, "msg"), "[REDACTED] [REDACTED]");
    fx_record(&g, "a@b.io");
    fx_str(&g, "container_id", id);
    g.pr.mark = g.r.fields_tail;
    assert_int_equal(fx_run(&g), VG_FILTER_KEEP);
    assert_string_equal(fx_get(&g, "container_id"), "f00d[REDACTED]beef");
    assert_body(&g, "a@b.io");
    fx_free(&f);
    fx_free(&g);
}

/* `fields` limits the texts; a JSON field left invalid becomes a string. */
static void redact_fields_and_broken_json(void **state)
{
    const struct vg_field *fl;
    struct fx f;

    (void)state;
    fx_build(&f, "type: redact\nregex: '\\}'\nreplace: ''\nfields: [obj, msg]\n");
    fx_record(&f, "{body}");
    fx_json(&f, "obj", "{\"a\":\"b\"}");
    fx_str(&f, "msg", "m}");
    fx_str(&f, "other", "o}");
    assert_int_equal(fx_run(&f), VG_FILTER_KEEP);
    assert_body(&f, "{body}");
    fl = fx_typed(&f, "obj", VG_FIELD_STR);
    assert_string_equal(fl->v.s.ptr, "{\"a\":\"b\"");
    assert_string_equal(fx_get(&f, "msg"), "m");
    assert_string_equal(fx_get(&f, "other"), "o}");
    fx_free(&f);
}

/* ------------------------------------------------------------------------
 * throttle
 */

static void th_record(struct fx *f, const char *ns, const char *pod, const char *container)
{
    fx_record(f, "line");
    if (ns != NULL)
        fx_str(f, "namespace", ns);
    if (pod != NULL)
        fx_str(f, "pod", pod);
    if (container != NULL)
        fx_str(f, "container", container);
}

/* Runs n records of one key; the number kept. */
static int th_pass(struct fx *f, int n, const char *ns, const char *pod, const char *container)
{
    int kept = 0, i;

    for (i = 0; i < n; i++) {
        th_record(f, ns, pod, container);
        kept += fx_run(f) == VG_FILTER_KEEP;
    }
    return kept;
}

static void throttle_burst_then_refill(void **state)
{
    struct fx f;

    (void)state;
    fx_build(&f, "type: throttle\nrate: 10\nburst: 20\n");
    f.now_ns = 1000 * VG_NS_PER_SEC;
    assert_int_equal(th_pass(&f, 25, "ns", "web-1", "app"), 20);
    f.now_ns += VG_NS_PER_SEC / 2; /* 5 tokens back */
    assert_int_equal(th_pass(&f, 10, "ns", "web-1", "app"), 5);
    f.now_ns += 100 * VG_NS_PER_SEC; /* full again, no more */
    assert_int_equal(th_pass(&f, 30, "ns", "web-1", "app"), 20);
    assert_metric(&f, "vigil_log_throttled_total{collector=\"clog\",container=\"app\","
                      "namespace=\"ns\",pod=\"web-1\",step=\"s\"} 20");
    assert_metric(&f, "vigil_filter_dropped_total{collector=\"clog\",step=\"s\"} 20");
    assert_metric(&f, "vigil_throttle_keys{collector=\"clog\",step=\"s\"} 1");
    fx_free(&f);
}

/* Keys are apart; a missing field counts as an empty one. */
static void throttle_keys_are_independent(void **state)
{
    struct fx f;

    (void)state;
    fx_build(&f, "type: throttle\nrate: 1\n"); /* burst 1 */
    assert_int_equal(th_pass(&f, 3, "a", "p", "c"), 1);
    assert_int_equal(th_pass(&f, 3, "b", "p", "c"), 1);
    assert_int_equal(th_pass(&f, 3, "a", "p", "d"), 1);
    assert_int_equal(th_pass(&f, 3, "a", "p", NULL), 1);
    assert_int_equal(th_pass(&f, 3, "a", "p", ""), 0);
    assert_int_equal(th_pass(&f, 3, NULL, NULL, NULL), 1);
    assert_int_equal(th_pass(&f, 3, "a", "p", "c"), 0);
    assert_metric(&f, "vigil_log_throttled_total{collector=\"clog\",container=\"c\","
                      "namespace=\"b\",pod=\"p\",step=\"s\"} 2");
    assert_metric(&f, "vigil_log_throttled_total{collector=\"clog\",container=\"c\","
                      "namespace=\"a\",pod=\"p\",step=\"s\"} 5");
    assert_metric(&f, "vigil_log_throttled_total{collector=\"clog\",container=\"\","
                      "namespace=\"a\",pod=\"p\",step=\"s\"} 5");
    assert_metric(&f, "vigil_throttle_keys{collector=\"clog\",step=\"s\"} 5");
    fx_free(&f);
}

/* Beyond max_keys new keys share one bucket; idle keys are forgotten. */
static void throttle_overflow_and_forget(void **state)
{
    struct fx f;

    (void)state;
    fx_build(&f, "type: throttle\nrate: 2\nburst: 2\nmax_keys: 2\nforget_after: 1m\n"
                 "key: [pod]\n");
    assert_int_equal(th_pass(&f, 1, NULL, "a", NULL), 1);
    assert_int_equal(th_pass(&f, 1, NULL, "b", NULL), 1);
    assert_int_equal(th_pass(&f, 2, NULL, "c", NULL), 2); /* the overflow bucket */
    assert_int_equal(th_pass(&f, 2, NULL, "d", NULL), 0); /* shares it */
    assert_metric(&f, "vigil_throttle_overflow_records_total{collector=\"clog\",step=\"s\"} 4");
    assert_metric(&f, "vigil_throttle_overflow_dropped_total{collector=\"clog\",step=\"s\"} 2");
    f.now_ns += 61 * VG_NS_PER_SEC;
    assert_int_equal(th_pass(&f, 1, NULL, "c", NULL), 1); /* a and b forgotten: c has its own */
    assert_metric(&f, "vigil_throttle_keys{collector=\"clog\",step=\"s\"} 1");
    assert_int_equal(th_pass(&f, 3, NULL, "c", NULL), 1);
    assert_metric(&f, "vigil_log_throttled_total{collector=\"clog\",pod=\"c\",step=\"s\"} 2");
    fx_free(&f);
}

/* A rate below one a second still lets a record through now and then. */
static void throttle_slow_rate_and_labels(void **state)
{
    struct fx f;

    (void)state;
    fx_build(&f, "type: throttle\nrate: 0.5\nkey: [kubernetes.pod, 1x]\n");
    fx_record(&f, "l");
    fx_str(&f, "kubernetes.pod", "p");
    assert_int_equal(fx_run(&f), VG_FILTER_KEEP);
    fx_record(&f, "l");
    fx_str(&f, "kubernetes.pod", "p");
    assert_int_equal(fx_run(&f), VG_FILTER_DROP);
    f.now_ns += 2 * VG_NS_PER_SEC;
    fx_record(&f, "l");
    fx_str(&f, "kubernetes.pod", "p");
    assert_int_equal(fx_run(&f), VG_FILTER_KEEP);
    assert_metric(&f, "vigil_log_throttled_total{_1x=\"\",collector=\"clog\",kubernetes_pod=\"p\","
                      "step=\"s\"} 1");
    fx_free(&f);
}

/* ------------------------------------------------------------------------
 * level
 */

static void level_assert(struct fx *f, const char *want)
{
    assert_int_equal(fx_run(f), VG_FILTER_KEEP);
    if (want == NULL) {
        assert_null(fx_field(f, "level"));
        return;
    }
    assert_non_null(fx_get(f, "level"));
    assert_string_equal(fx_get(f, "level"), want);
}

static void level_from_fields(void **state)
{
    static const char *const cases[][3] = {
        {"level", "WARN", "warn"},
        {"level", "warning", "warn"},
        {"lvl", "E", "error"},
        {"severity", "err", "error"},
        {"loglevel", "30", "info"},
        {"levelname", "CRITICAL", "fatal"},
        {"severity", " Debug ", "debug"},
        {"level", "trace", "trace"},
    };
    struct fx f;
    size_t i;

    (void)state;
    fx_build(&f, "type: level\n");
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fx_record(&f, "INFO body says otherwise");
        fx_str(&f, cases[i][0], cases[i][1]);
        level_assert(&f, cases[i][2]);
    }
    fx_record(&f, "x");
    fx_int(&f, "level", 50); /* bunyan */
    level_assert(&f, "error");
    fx_record(&f, "x");
    fx_int(&f, "severity", 4); /* syslog */
    level_assert(&f, "warn");
    fx_record(&f, "x");
    fx_str(&f, "level", "banana"); /* not a level: the next place is tried */
    fx_str(&f, "severity", "fatal");
    level_assert(&f, "fatal");
    fx_free(&f);
}

static void level_from_json_members(void **state)
{
    struct fx f;

    (void)state;
    fx_build(&f, "type: level\nfields: [log.level, meta.sev.text]\nfield: severity_text\n");
    fx_record(&f, "x");
    fx_json(&f, "log", "{\"level\":\"WARNING\",\"logger\":\"a\"}");
    assert_int_equal(fx_run(&f), VG_FILTER_KEEP);
    assert_string_equal(fx_get(&f, "severity_text"), "warn");
    fx_record(&f, "x");
    fx_str(&f, "log.level", "err");
    assert_int_equal(fx_run(&f), VG_FILTER_KEEP);
    assert_string_equal(fx_get(&f, "severity_text"), "error");
    fx_record(&f, "x");
    fx_json(&f, "meta", "{\"sev\":{\"text\":\"dbg\"}}");
    assert_int_equal(fx_run(&f), VG_FILTER_KEEP);
    assert_string_equal(fx_get(&f, "severity_text"), "debug");
    fx_record(&f, "x");
    fx_json(&f, "meta", "{\"sev\":{\"text\":50}}");
    assert_int_equal(fx_run(&f), VG_FILTER_KEEP);
    assert_string_equal(fx_get(&f, "severity_text"), "error");
    fx_free(&f);
}

static void level_from_the_body(void **state)
{
    static const char *const cases[][2] = {
        {"2026-12-02 14:05:06 WARN disk almost full", "warn"},
        {"time=2026-12-02T14:05:06Z level=error msg=boom", "error"},
        {"{\"lvl\":\"dbug\",\"msg\":\"x\"}", "debug"},
        {"E1202 14:05:06.123456       1 controller.go:123] failed", "error"},
        {"[info] started", "info"},
        {"a message with no level", NULL},
    };
    struct fx f;
    size_t i;

    (void)state;
    fx_build(&f, "type: level\n");
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fx_record(&f, cases[i][0]);
        level_assert(&f, cases[i][1]);
    }
    assert_metric(&f, "vigil_level_records_total{collector=\"clog\",level=\"none\",step=\"s\"} 1");
    assert_metric(&f, "vigil_level_records_total{collector=\"clog\",level=\"error\",step=\"s\"} 2");
    fx_free(&f);
}

static void level_default_and_no_body(void **state)
{
    struct fx f;

    (void)state;
    fx_build(&f, "type: level\ndetect_body: false\ndefault: info\n");
    fx_record(&f, "ERROR in the body only");
    level_assert(&f, "info");
    fx_record(&f, "x");
    fx_str(&f, "level", "warn"); /* already as it should be: not changed */
    level_assert(&f, "warn");
    assert_metric(&f, "vigil_filter_changed_total{collector=\"clog\",step=\"s\"} 1");
    fx_free(&f);
}

/* ------------------------------------------------------------------------
 * Memory: nothing allocated per record once warm; every allocation of a
 * build and a run failing in turn.
 */

/* One config of each type, and a record that gives each work to do. */
static const char *const every_type[] = {
    "type: grep\nfield: namespace\ninclude: '^team-'\nexclude: x\n",
    "type: modify\nrename: {msg: message}\ncopy: {pod: app}\nset: {env: prod, n: 1}\n"
    "remove: [stream]\n",
    "type: redact\npresets: [bearer, basic_auth, aws_key, jwt, email, card]\n"
    "regex: '(pw)=\\S+'\nreplace: '$1=x'\n",
    "type: throttle\nrate: 1000\n",
    "type: level\nfields: [lvl, log.level]\n",
};

static void every_record(struct fx *f)
{
    fx_record(f, "ERROR pw=1 Bearer abcdefgh1234 a@b.io 4111111111111111 AKIAIOSFODNN7EXAMPLE "
                 "https://u:p@h/ Basic dXNlcjpwYXNzd29yZA== eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.");
    fx_str(f, "namespace", "team-a");
    fx_str(f, "pod", "web-1");
    fx_str(f, "stream", "stdout");
    fx_str(f, "msg", "to c@d.io");
    fx_json(f, "log", "{\"level\":\"warn\",\"to\":\"e@f.io\"}");
}

static void filters_allocate_nothing_once_warm(void **state)
{
    struct fx f;
    size_t i;
    int rc;

    (void)state;
    for (i = 0; i < sizeof(every_type) / sizeof(every_type[0]); i++) {
        fx_build(&f, every_type[i]);
        vg_arena_free(&f.arena);
        vg_arena_init(&f.arena, 1 << 20); /* room for every copy a run makes */
        every_record(&f);
        rc = fx_run(&f);
        every_record(&f);
        vg_alloc_fail_after(0);
        assert_int_equal(fx_run(&f), rc);
        vg_alloc_reset();
        fx_free(&f);
    }
}

static void every_type_body(struct torture *t, void *arg)
{
    const char *yaml = arg;
    struct vg_config *cfg = NULL;
    struct vg_errors errs;
    const struct vg_filter_ops *ops;
    struct fx f;
    void *ctx = NULL;
    int rc;

    vg_errors_init(&errs);
    if (vg_config_load_string(yaml, strlen(yaml), "t.yaml", &cfg, &errs) != VG_OK)
        goto done;
    ops = vg_filter_find(vg_node_get(cfg->root, "type")->value);
    if (vg_filter_plan(ops, cfg->root, "filters[0]", "s", &ctx, &errs) != VG_OK) {
        assert_null(ctx);
        goto done;
    }
    memset(&f, 0, sizeof(f));
    f.ops = ops;
    f.ctx = ctx;
    vg_arena_init(&f.arena, 256);
    memset(&f.r, 0, sizeof(f.r));
    f.pr = (struct vg_prec){&f.r, &f.arena, &f.bytes, NULL, 0, false};
    if (vg_prec_set_body(&f.pr, "pw=1 a@b.io level=info", 22) == VG_OK &&
        vg_prec_set_str(&f.pr, "namespace", 9, "team-a", 6) == VG_OK) {
        rc = fx_run(&f);
        assert_true(rc == VG_FILTER_KEEP || rc == VG_FILTER_DROP || rc == VG_ENOMEM);
        torture_disarm(t);
    }
    vg_arena_free(&f.arena);
    vg_filter_free(ops, ctx);
done:
    vg_config_free(cfg);
    vg_errors_free(&errs);
}

static void filters_survive_every_failure(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(every_type) / sizeof(every_type[0]); i++)
        torture_run(every_type_body, (void *)every_type[i], 0);
}

/* ------------------------------------------------------------------------
 * Configuration errors: each exactly as --check-config prints it.
 */

static void expect_error(const char *yaml, const char *expected)
{
    struct vg_config *cfg = NULL;
    const struct vg_filter_ops *ops;
    struct vg_errors errs;
    char where[64];
    void *ctx = (void *)&errs;
    size_t i;

    vg_errors_init(&errs);
    assert_int_equal(vg_config_load_string(yaml, strlen(yaml), "t.yaml", &cfg, &errs), VG_OK);
    ops = vg_filter_find(vg_node_get(cfg->root, "type")->value);
    assert_non_null(ops);
    snprintf(where, sizeof(where), "filters[0] (%s)", ops->name);
    assert_int_not_equal(vg_filter_plan(ops, cfg->root, where, "s", &ctx, &errs), VG_OK);
    assert_null(ctx);
    if (errs.n != 1)
        for (i = 0; i < errs.n; i++)
            print_message("got: %s\n", errs.msgs[i]);
    assert_int_equal(errs.n, 1);
    assert_string_equal(errs.msgs[0], expected);
    vg_errors_free(&errs);
    vg_config_free(cfg);
}

static void config_errors_grep(void **state)
{
    (void)state;
    expect_error("type: grep\nfield: log\n",
                 "t.yaml:1: filters[0] (grep): option 'include' or 'exclude' is needed");
    expect_error("type: grep\ninclude: '(ab'\n",
                 "t.yaml:2: filters[0] (grep): option 'include': pattern '(ab': missing closing "
                 "parenthesis at offset 3");
    expect_error("type: grep\nexclude: x\nfield: ''\n",
                 "t.yaml:3: filters[0] (grep): option 'field': must not be empty");
    expect_error("type: grep\ninclude: x\nexlude: y\n",
                 "t.yaml:3: filters[0] (grep): unknown option 'exlude' (did you mean 'exclude'?)");
}

static void config_errors_modify(void **state)
{
    (void)state;
    expect_error("type: modify\n", "t.yaml:1: filters[0] (modify): option 'rename', 'copy', "
                                   "'set' or 'remove' is needed");
    expect_error("type: modify\nset: [a, b]\n", "t.yaml:2: filters[0] (modify): option 'set': "
                                                "expected a map of field: value, found a sequence");
    expect_error("type: modify\nrename:\n  a: b\n  c: [d]\n",
                 "t.yaml:4: filters[0] (modify): option 'rename': the value of 'c' is a sequence, "
                 "not a scalar");
    expect_error("type: modify\ncopy: {a: ''}\n",
                 "t.yaml:2: filters[0] (modify): option 'copy': a field name is empty");
    expect_error("type: modify\nremove: {a: b}\n",
                 "t.yaml:2: filters[0] (modify): option 'remove': expected a list of strings, "
                 "found a map");
}

static void config_errors_redact(void **state)
{
    (void)state;
    expect_error("type: redact\npresets: [bearer, jwtt]\n",
                 "t.yaml:2: filters[0] (redact): option 'presets': unknown preset 'jwtt' (known: "
                 "bearer, basic_auth, aws_key, jwt, email, card)");
    expect_error(
        "type: redact\nregex: 'a[b'\n",
        "t.yaml:2: filters[0] (redact): option 'regex': pattern 'a[b': missing terminating "
        "] for character class at offset 3");
    expect_error("type: redact\nregex: '(a)'\nreplace: 'x$2'\n",
                 "t.yaml:3: filters[0] (redact): option 'replace': '$2' names no group of the "
                 "regex");
    expect_error("type: redact\nregex: '(a)'\nreplace: '$${user}'\n",
                 "t.yaml:3: filters[0] (redact): option 'replace': '${user}' names no group of "
                 "the regex");
    expect_error("type: redact\npresets: [email]\nreplace: x\n",
                 "t.yaml:3: filters[0] (redact): option 'replace' needs option 'regex'");
    expect_error("type: redact\nfields: [msg]\n",
                 "t.yaml:1: filters[0] (redact): option 'presets' or 'regex' is needed");
}

static void config_errors_throttle(void **state)
{
    (void)state;
    expect_error("type: throttle\nrate: 0\n",
                 "t.yaml:2: filters[0] (throttle): option 'rate': must be more than 0");
    expect_error("type: throttle\nburst: 5\n",
                 "t.yaml:1: filters[0] (throttle): missing required option 'rate'");
    expect_error("type: throttle\nrate: 5\nburst: 0\n",
                 "t.yaml:3: filters[0] (throttle): option 'burst': must be at least 1, not 0");
    expect_error("type: throttle\nrate: 5\nmax_keys: 0\n",
                 "t.yaml:3: filters[0] (throttle): option 'max_keys': must be between 1 and "
                 "1000000, not 0");
    expect_error("type: throttle\nrate: 5\nkey: [namespace, step]\n",
                 "t.yaml:3: filters[0] (throttle): option 'key': field 'step' cannot be a label "
                 "of vigil_log_throttled_total (as 'step')");
    expect_error("type: throttle\nrate: 5\nkey: [a.b, a_b]\n",
                 "t.yaml:3: filters[0] (throttle): option 'key': field 'a_b' cannot be a label of "
                 "vigil_log_throttled_total (as 'a_b')");
}

static void config_errors_level(void **state)
{
    (void)state;
    expect_error("type: level\ndefault: verbose\n",
                 "t.yaml:2: filters[0] (level): option 'default': invalid value 'verbose' (one "
                 "of: trace, debug, info, warn, error, fatal)");
    expect_error("type: level\nfields: []\ndetect_body: false\n",
                 "t.yaml:1: filters[0] (level): nothing to find a level in: 'fields' is empty, "
                 "'detect_body' false and there is no 'default'");
    expect_error("type: level\nfield: ''\n",
                 "t.yaml:2: filters[0] (level): option 'field': must not be empty");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(grep_include_keeps_only_matches),
        cmocka_unit_test(grep_exclude_drops_matches),
        cmocka_unit_test(grep_include_and_exclude_both_apply),
        cmocka_unit_test(grep_missing_field_matches_nothing),
        cmocka_unit_test(grep_int_field_matches_its_text),
        cmocka_unit_test(grep_match_limit_counts_as_no_match),
        cmocka_unit_test(modify_set_types_unquoted_scalars),
        cmocka_unit_test(modify_rename_copy_remove),
        cmocka_unit_test(modify_applies_in_a_fixed_order),
        cmocka_unit_test(modify_addresses_the_body),
        cmocka_unit_test(redact_bearer),
        cmocka_unit_test(redact_basic_auth),
        cmocka_unit_test(redact_aws_key),
        cmocka_unit_test(redact_jwt),
        cmocka_unit_test(redact_email),
        cmocka_unit_test(redact_card_needs_luhn),
        cmocka_unit_test(redact_every_string_field),
        cmocka_unit_test(redact_regex_with_group_references),
        cmocka_unit_test(redact_leaves_collector_fields),
        cmocka_unit_test(redact_fields_and_broken_json),
        cmocka_unit_test(throttle_burst_then_refill),
        cmocka_unit_test(throttle_keys_are_independent),
        cmocka_unit_test(throttle_overflow_and_forget),
        cmocka_unit_test(throttle_slow_rate_and_labels),
        cmocka_unit_test(level_from_fields),
        cmocka_unit_test(level_from_json_members),
        cmocka_unit_test(level_from_the_body),
        cmocka_unit_test(level_default_and_no_body),
        cmocka_unit_test_teardown(filters_allocate_nothing_once_warm, torture_teardown),
        cmocka_unit_test_teardown(filters_survive_every_failure, torture_teardown),
        cmocka_unit_test(config_errors_grep),
        cmocka_unit_test(config_errors_modify),
        cmocka_unit_test(config_errors_redact),
        cmocka_unit_test(config_errors_throttle),
        cmocka_unit_test(config_errors_level),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
