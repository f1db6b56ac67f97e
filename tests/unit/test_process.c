/*
 * test_process.c - the processing stage from configuration to record: a
 * collector's parser_rules, parser and processors built by the plan, run
 * by its sink on each record; parsed fields, types, time, keep_body,
 * fields the collector set that a line cannot overwrite, parse_error on a
 * line a parser does not match, and the configuration errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "plan.h"
#include "process.h"
#include "sink_fixture.h"

extern const struct vg_collector_ops vg_collector_generator;

struct tpr {
    struct sink_fixture sf;
    struct vg_config *cfg;
    struct vg_plan plan;
    struct vg_errors errs;
    struct vg_buf out;
};

static int tpr_setup(void **state)
{
    struct tpr *t = calloc(1, sizeof(*t));

    assert_non_null(t);
    sink_fixture_open(&t->sf, 1000);
    vg_errors_init(&t->errs);
    vg_buf_init(&t->out);
    *state = t;
    return 0;
}

static int tpr_teardown(void **state)
{
    struct tpr *t = *state;

    vg_plan_free(&t->plan);
    vg_config_free(t->cfg);
    vg_errors_free(&t->errs);
    vg_buf_free(&t->out);
    sink_fixture_close(&t->sf);
    free(t);
    return 0;
}

/* Builds the processes of a config's collectors; returns vg_plan_processes'
 * code. The plan holds one generator collector per entry of collectors:. */
static int tpr_build(struct tpr *t, const char *yaml)
{
    const struct vg_config_node *cols, *c;
    size_t n = 0;

    assert_int_equal(vg_config_load_string(yaml, strlen(yaml), "p.yaml", &t->cfg, &t->errs), VG_OK);
    cols = vg_node_get(t->cfg->root, "collectors");
    assert_non_null(cols);
    t->plan.collectors = calloc(cols->n_children, sizeof(*t->plan.collectors));
    assert_non_null(t->plan.collectors);
    for (c = cols->children; c != NULL; c = c->next, n++) {
        t->plan.collectors[n].ops = &vg_collector_generator;
        t->plan.collectors[n].node = c;
    }
    t->plan.n_collectors = n;
    return vg_plan_processes(t->cfg->root, &t->plan, &t->errs);
}

/* The text of every error, one per line. */
static const char *tpr_errors(struct tpr *t)
{
    size_t i;

    t->out.len = 0;
    for (i = 0; i < t->errs.n; i++)
        vg_buf_printf(&t->out, "%s\n", t->errs.msgs[i]);
    return t->out.data != NULL ? t->out.data : "";
}

/* Gives the sink collector 0's process and emits one record of pod
 * shop/web-1 (container nginx) with that body; returns it processed (the
 * open batch's last record, or NULL when dropped). */
static const struct vg_record *tpr_run(struct tpr *t, const char *body)
{
    struct vg_emit *e = &t->sf.e;
    struct vg_batch *b;
    struct vg_record *r;
    size_t before;

    if (vg_sink_process(e->sink) == NULL) {
        assert_non_null(t->plan.collectors[0].process);
        vg_sink_set_process(e->sink, t->plan.collectors[0].process);
        t->plan.collectors[0].process = NULL;
    }
    before = e->sink->open != NULL ? e->sink->open->n_recs : 0;
    r = vg_emit_record(e, 1000, body, strlen(body));
    assert_non_null(r);
    assert_int_equal(vg_record_set_str(e, r, "namespace", "shop", 4), VG_OK);
    assert_int_equal(vg_record_set_str(e, r, "pod", "web-1", 5), VG_OK);
    assert_int_equal(vg_record_set_str(e, r, "container", "nginx", 5), VG_OK);
    assert_int_equal(vg_record_set_str(e, r, "stream", "stdout", 6), VG_OK);
    vg_sink_finish_record(e->sink);
    b = e->sink->open;
    return b->n_recs > before ? b->recs[b->n_recs - 1] : NULL;
}

/* The record as flat JSON. */
static const char *tpr_json(struct tpr *t, const struct vg_record *r)
{
    t->out.len = 0;
    assert_int_equal(vg_record_to_json(r, &t->out), VG_OK);
    return t->out.data;
}

static void nginx_line_becomes_typed_fields_and_its_time(void **state)
{
    struct tpr *t = *state;
    static const char line[] = "10.0.0.1 - bob [02/Dec/2026:10:00:01 +0100] \"GET /a?b=1 "
                               "HTTP/1.1\" 404 153 \"-\" \"curl/8.0\"";
    const struct vg_record *r;
    const struct vg_field *f;

    assert_int_equal(tpr_build(t, "collectors:\n  - parser: nginx\n"), VG_OK);
    r = tpr_run(t, line);
    assert_non_null(r);
    assert_int_equal(r->time_ns, INT64_C(1796202001) * 1000000000);
    f = vg_record_field(r, "status");
    assert_non_null(f);
    assert_int_equal(f->type, VG_FIELD_INT);
    assert_int_equal(f->v.i, 404);
    f = vg_record_field(r, "path");
    assert_non_null(f);
    assert_memory_equal(f->v.s.ptr, "/a?b=1", 6);
    assert_null(vg_record_field(r, "parse_error"));
    /* the body stays the line */
    assert_int_equal(r->body_len, strlen(line));
}

static void json_body_with_keep_body_false_takes_its_message(void **state)
{
    struct tpr *t = *state;
    const struct vg_record *r;

    assert_int_equal(tpr_build(t, "parsers:\n  - {name: j, type: json, keep_body: false}\n"
                                  "collectors:\n  - processors: [j]\n"),
                     VG_OK);
    r = tpr_run(t, "{\"msg\":\"hello\",\"n\":3,\"ok\":true,\"x\":null,\"obj\":{\"a\":[1]},"
                   "\"namespace\":\"kube-system\",\"pod\":\"evil\"}");
    assert_non_null(r);
    assert_string_equal(
        tpr_json(t, r),
        "{\"time\":\"1970-01-01T00:00:00.000001000Z\",\"body\":\"hello\","
        "\"namespace\":\"shop\",\"pod\":\"web-1\",\"container\":\"nginx\","
        "\"stream\":\"stdout\",\"n\":3,\"ok\":true,\"x\":null,\"obj\":{\"a\":[1]}}");
}

static void line_a_parser_does_not_match_is_kept_whole_and_marked(void **state)
{
    struct tpr *t = *state;
    const struct vg_record *r;
    const struct vg_field *f;

    assert_int_equal(tpr_build(t, "collectors:\n  - processors: [nginx]\n"), VG_OK);
    r = tpr_run(t, "not an access line");
    assert_non_null(r);
    assert_int_equal(r->body_len, 18);
    f = vg_record_field(r, "parse_error");
    assert_non_null(f);
    assert_int_equal(f->type, VG_FIELD_BOOL);
    assert_true(f->v.b);
    assert_null(vg_record_field(r, "status"));
}

static void parser_rules_pick_by_glob_first_match_wins(void **state)
{
    struct tpr *t = *state;
    const struct vg_record *r;

    assert_int_equal(tpr_build(t, "collectors:\n"
                                  "  - parser_rules:\n"
                                  "      - {namespace: 'kube-*', parser: klog}\n"
                                  "      - {namespace: shop, container: 'ngin?', parser: logfmt}\n"
                                  "      - {namespace: shop, parser: json}\n"),
                     VG_OK);
    r = tpr_run(t, "a=1 b=two");
    assert_non_null(r);
    assert_non_null(vg_record_field(r, "a"));
    assert_int_equal(vg_record_field(r, "a")->type, VG_FIELD_STR);
    assert_non_null(vg_record_field(r, "b"));
    r = tpr_run(t, "c=3"); /* the same container: the same pick */
    assert_non_null(vg_record_field(r, "c"));
}

static void a_field_can_be_parsed_instead_of_the_body(void **state)
{
    struct tpr *t = *state;
    const struct vg_record *r;

    assert_int_equal(tpr_build(t, "collectors:\n"
                                  "  - processors: [json, {type: logfmt, field: detail}]\n"),
                     VG_OK);
    r = tpr_run(t, "{\"detail\":\"user=ann op=login\"}");
    assert_non_null(r);
    assert_non_null(vg_record_field(r, "user"));
    assert_non_null(vg_record_field(r, "op"));
}

static void a_list_of_parsers_takes_the_first_that_matches(void **state)
{
    struct tpr *t = *state;
    const struct vg_record *r;

    assert_int_equal(tpr_build(t, "collectors:\n  - processors: [[nginx, json, klog]]\n"), VG_OK);
    r = tpr_run(t, "{\"a\":1}");
    assert_non_null(vg_record_field(r, "a"));
    assert_null(vg_record_field(r, "parse_error"));
    r = tpr_run(t, "I0102 15:04:05.000000       1 main.go:12] started");
    assert_non_null(vg_record_field(r, "source_file"));
    assert_null(vg_record_field(r, "parse_error"));
    r = tpr_run(t, "none of them");
    assert_non_null(vg_record_field(r, "parse_error"));
}

/* Redaction skips a field read from the body only when the body cannot
 * hold what it looks for: a field the parser unescaped (not bytes of the
 * body) is still redacted, and so is a field of a body that holds one. */
static void redaction_reaches_parsed_fields(void **state)
{
    struct tpr *t = *state;
    const struct vg_record *r;
    const struct vg_field *f;

    assert_int_equal(tpr_build(t,
                               "collectors:\n"
                               "  - processors: [json, {type: redact, presets: [email, bearer]}]\n"
                               "  - processors: [{type: regex, pattern: '^(?<all>.*)$'},\n"
                               "                 {type: redact, presets: [bearer]}]\n"),
                     VG_OK);
    r = tpr_run(t, "{\"who\":\"ann\\u0040example.com\",\"note\":\"x\"}");
    f = vg_record_field(r, "who");
    assert_non_null(f);
    assert_null(memmem(f->v.s.ptr, f->v.s.len, "example", 7));
    assert_null(memmem(f->v.s.ptr, f->v.s.len, "ann@", 4));
    sink_fixture_close(&t->sf);
    sink_fixture_open(&t->sf, 1000);
    t->plan.collectors[0].process = t->plan.collectors[1].process;
    t->plan.collectors[1].process = NULL;
    r = tpr_run(t, "Authorization: Bearer abcdefghijkl0123");
    assert_null(memmem(r->body, r->body_len, "abcdefgh", 8));
    f = vg_record_field(r, "all");
    assert_non_null(f);
    assert_true(f->in_body);
    assert_null(memmem(f->v.s.ptr, f->v.s.len, "abcdefgh", 8));
}

static void configuration_errors_name_their_line(void **state)
{
    struct tpr *t = *state;

    assert_int_equal(tpr_build(t, "parsers:\n"
                                  "  - {name: bad, type: regex, pattern: '(?<a>x'}\n"
                                  "  - {name: noname_type}\n"
                                  "  - {name: t, type: jsno}\n"
                                  "filters:\n"
                                  "  - {name: bad, type: nosuch}\n"
                                  "collectors:\n"
                                  "  - processors: [ngnix, bad, {type: regex}]\n"
                                  "  - parser: nginx\n"
                                  "    processors: [json]\n"
                                  "  - parser_rules: [{namespace: x}]\n"),
                     VG_ECONFIG);
    assert_string_equal(
        tpr_errors(t),
        "p.yaml:2: parsers[0] (bad): parser 'bad': pattern '(?<a>x': missing closing "
        "parenthesis at offset 6\n"
        "p.yaml:3: parsers[1]: missing 'type'\n"
        "p.yaml:4: parsers[2] (t): unknown parser type 'jsno' (did you mean 'json'?)\n"
        "p.yaml:6: filters[0] (bad): unknown filter type 'nosuch'\n"
        "p.yaml:8: collectors[0] (generator): processors[0]: unknown step 'ngnix' (did you mean "
        "'nginx'?)\n"
        "p.yaml:8: collectors[0] (generator): processors[2]: parser 'regex': regex needs a "
        "pattern\n"
        "p.yaml:9: collectors[1] (generator): give 'parser' (one step) or 'processors' (a "
        "list), not both\n"
        "p.yaml:11: collectors[2] (generator): parser_rules[0]: a rule is a map of globs "
        "(namespace, pod, container, image) and a 'parser'\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(nginx_line_becomes_typed_fields_and_its_time, tpr_setup,
                                        tpr_teardown),
        cmocka_unit_test_setup_teardown(json_body_with_keep_body_false_takes_its_message, tpr_setup,
                                        tpr_teardown),
        cmocka_unit_test_setup_teardown(line_a_parser_does_not_match_is_kept_whole_and_marked,
                                        tpr_setup, tpr_teardown),
        cmocka_unit_test_setup_teardown(parser_rules_pick_by_glob_first_match_wins, tpr_setup,
                                        tpr_teardown),
        cmocka_unit_test_setup_teardown(a_field_can_be_parsed_instead_of_the_body, tpr_setup,
                                        tpr_teardown),
        cmocka_unit_test_setup_teardown(a_list_of_parsers_takes_the_first_that_matches, tpr_setup,
                                        tpr_teardown),
        cmocka_unit_test_setup_teardown(redaction_reaches_parsed_fields, tpr_setup, tpr_teardown),
        cmocka_unit_test_setup_teardown(configuration_errors_name_their_line, tpr_setup,
                                        tpr_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
