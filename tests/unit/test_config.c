/*
 * test_config.c - the YAML loader and the plan: positions, ${VAR}
 * expansion, syntax errors, and bad configurations, each with the exact
 * message a user reads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "core.h"
#include "plan_fixture.h"

#ifndef VG_SOURCE_DIR
#define VG_SOURCE_DIR "."
#endif

/* Loads text named "t.yaml"; asserts success. */
static struct vg_config *load_ok(const char *yaml)
{
    struct vg_config *cfg = NULL;
    struct vg_errors errs;
    size_t i;
    int rc;

    vg_errors_init(&errs);
    rc = vg_config_load_string(yaml, strlen(yaml), "t.yaml", &cfg, &errs);
    for (i = 0; i < errs.n; i++)
        print_message("unexpected error: %s\n", errs.msgs[i]);
    assert_int_equal(rc, VG_OK);
    assert_int_equal(errs.n, 0);
    vg_errors_free(&errs);
    return cfg;
}

/* ------------------------------------------------------------------------
 * The loader.
 */

static void loader_records_lines_columns_keys_and_quoting(void **state)
{
    struct vg_config *cfg = load_ok("# comment\n"
                                    "agent:\n"
                                    "  state_dir: \"/var/lib/x\"\n"
                                    "collectors:\n"
                                    "  - type: node\n"
                                    "    interval: 15s\n"
                                    "  - { type: generator, rate: 5 }\n");
    const struct vg_config_node *agent, *dir, *cols, *first, *second;

    assert_non_null(cfg->root);
    assert_int_equal(cfg->root->kind, VG_NODE_MAP);
    assert_int_equal(cfg->root->n_children, 2);
    agent = vg_node_get(cfg->root, "agent");
    assert_non_null(agent);
    assert_int_equal(agent->kind, VG_NODE_MAP);
    assert_int_equal(agent->line, 2);
    assert_string_equal(agent->key, "agent");
    dir = vg_node_get(agent, "state_dir");
    assert_int_equal(dir->line, 3);
    assert_int_equal(dir->col, 3);
    assert_string_equal(dir->value, "/var/lib/x");
    assert_true(dir->quoted);
    assert_string_equal(dir->file, "t.yaml");
    cols = vg_node_get(cfg->root, "collectors");
    assert_int_equal(cols->kind, VG_NODE_SEQ);
    assert_int_equal(cols->n_children, 2);
    first = cols->children;
    second = first->next;
    assert_null(first->key);
    assert_int_equal(first->line, 5);
    assert_int_equal(vg_node_get(first, "interval")->line, 6);
    assert_false(vg_node_get(first, "interval")->quoted);
    assert_int_equal(second->line, 7);
    assert_string_equal(vg_node_get(second, "rate")->value, "5");
    assert_null(vg_node_get(second, "missing"));
    assert_null(vg_node_get(dir, "x"));
    vg_config_free(cfg);
}

static void loader_expands_variables_defaults_and_dollars(void **state)
{
    struct vg_config *cfg;

    setenv("VIGIL_TEST_NODE", "gpu-17", 1);
    setenv("VIGIL_TEST_EMPTY", "", 1);
    unsetenv("VIGIL_TEST_UNSET");
    cfg = load_ok("a: ${VIGIL_TEST_NODE}\n"
                  "b: ${VIGIL_TEST_UNSET:-/fallback}\n"
                  "c: ${VIGIL_TEST_EMPTY:-empty-too}\n"
                  "d: x-${VIGIL_TEST_NODE}-${VIGIL_TEST_UNSET:-}-y\n"
                  "e: 'cost $$5 and $HOME stays'\n"
                  "f: ${VIGIL_TEST_EMPTY}\n"
                  "g: ${VIGIL_TEST_UNSET:-a:-b}\n");
    assert_string_equal(vg_node_get(cfg->root, "a")->value, "gpu-17");
    assert_string_equal(vg_node_get(cfg->root, "b")->value, "/fallback");
    assert_string_equal(vg_node_get(cfg->root, "c")->value, "empty-too");
    assert_string_equal(vg_node_get(cfg->root, "d")->value, "x-gpu-17--y");
    assert_string_equal(vg_node_get(cfg->root, "e")->value, "cost $5 and $HOME stays");
    assert_string_equal(vg_node_get(cfg->root, "f")->value, "");
    assert_string_equal(vg_node_get(cfg->root, "g")->value, "a:-b");
    vg_config_free(cfg);
    unsetenv("VIGIL_TEST_NODE");
    unsetenv("VIGIL_TEST_EMPTY");
}

static void loader_reports_unset_variable_with_line(void **state)
{
    unsetenv("VIGIL_TEST_UNSET");
    EXPECT_ERRORS("agent:\n  node_name: ${VIGIL_TEST_UNSET}\n",
                  "t.yaml:2: environment variable 'VIGIL_TEST_UNSET' is not set (write "
                  "${VIGIL_TEST_UNSET:-default} to give a default)");
}

static void loader_reports_bad_variable_references(void **state)
{
    EXPECT_ERRORS("a: ${1abc}\nb: ${OPEN\nc: ${}\n",
                  "t.yaml:1: invalid variable reference '${1abc}'",
                  "t.yaml:2: unterminated '${' in '${OPEN' (write '$$' for a '$')",
                  "t.yaml:3: invalid variable reference '${}'");
}

static void loader_reports_yaml_syntax_error_with_line_and_column(void **state)
{
    EXPECT_ERRORS("agent:\n  state_dir: /x\n   bad: 1\n",
                  "t.yaml:3:7: mapping values are not allowed in this context");
    EXPECT_ERRORS("agent: {a: [1, 2}\n", "t.yaml:1:17: did not find expected ',' or ']' "
                                         "(while parsing a flow sequence at line 1)");
}

static void loader_reports_duplicate_keys(void **state)
{
    EXPECT_ERRORS("agent:\n  state_dir: /a\n  node_name: n\n  state_dir: /b\n"
                  "collectors: []\ncollectors: []\n",
                  "t.yaml:4: duplicate key 'state_dir' (first given at line 2)",
                  "t.yaml:6: duplicate key 'collectors' (first given at line 5)");
}

static void loader_refuses_anchors_and_aliases(void **state)
{
    EXPECT_ERRORS("a: &x 1\nb: *x\n",
                  "t.yaml:1:4: anchors ('&x') are not supported; repeat the value");
}

static void loader_refuses_a_root_that_is_not_a_map(void **state)
{
    EXPECT_ERRORS("- type: node\n", "t.yaml:1: the configuration must be a map of sections "
                                    "(agent, collectors, outputs), found a sequence");
}

static void loader_refuses_several_documents(void **state)
{
    EXPECT_ERRORS("a: 1\n---\nb: 2\n", "t.yaml:2:1: more than one YAML document in one file");
}

static void loader_refuses_deep_nesting(void **state)
{
    char yaml[400];
    size_t i;

    for (i = 0; i < 100; i++)
        yaml[i] = '[';
    for (i = 100; i < 200; i++)
        yaml[i] = ']';
    yaml[200] = '\0';
    EXPECT_ERRORS(yaml, "t.yaml:1:65: nested more than 64 levels deep");
}

static void loader_gives_empty_document_a_null_root(void **state)
{
    struct vg_config *cfg = load_ok("");

    assert_null(cfg->root);
    vg_config_free(cfg);
    cfg = load_ok("# nothing but a comment\n");
    assert_null(cfg->root);
    vg_config_free(cfg);
}

static void loader_reads_a_file_and_names_it_in_messages(void **state)
{
    char dir[] = "/tmp/vigil-test-config-XXXXXX";
    char path[128];
    struct vg_config *cfg = NULL;
    struct vg_errors errs;
    FILE *f;

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/vigil.yaml", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("agent:\n  state_dir: /s\n", f);
    fclose(f);
    vg_errors_init(&errs);
    assert_int_equal(vg_config_load_file(path, &cfg, &errs), VG_OK);
    assert_string_equal(cfg->file, path);
    assert_string_equal(vg_node_get(vg_node_get(cfg->root, "agent"), "state_dir")->file, path);
    vg_config_free(cfg);
    unlink(path);
    assert_int_equal(vg_config_load_file(path, &cfg, &errs), VG_ECONFIG);
    assert_null(cfg);
    assert_int_equal(errs.n, 1);
    assert_non_null(strstr(errs.msgs[0], "cannot open: No such file or directory"));
    assert_int_equal(strncmp(errs.msgs[0], path, strlen(path)), 0);
    vg_errors_free(&errs);
    rmdir(dir);
}

static void errors_add_prefixes_the_position(void **state)
{
    struct vg_config_node at = {VG_NODE_SCALAR, "f.yaml", 12, 3, NULL, NULL, false, NULL, NULL, 0};
    struct vg_errors errs;
    char *text = NULL;
    size_t len = 0;
    FILE *f;

    vg_errors_init(&errs);
    vg_errors_add(&errs, &at, "where: %s", "what");
    vg_errors_add(&errs, NULL, "no position");
    f = open_memstream(&text, &len);
    assert_non_null(f);
    vg_errors_print(&errs, f);
    fclose(f);
    assert_string_equal(text, "no position\nf.yaml:12: where: what\n");
    free(text);
    vg_errors_free(&errs);
    assert_int_equal(errs.n, 0);
}

/* Printed in line order whoever found them; a value refused once is not
 * refused again; warnings are kept apart. */
static void errors_print_in_line_order_once_per_value(void **state)
{
    struct vg_config_node a = {VG_NODE_SCALAR, "f.yaml", 9, 3, NULL, NULL, false, NULL, NULL, 0};
    struct vg_config_node b = {VG_NODE_SCALAR, "f.yaml", 4, 3, NULL, NULL, false, NULL, NULL, 0};
    struct vg_config_node m = {VG_NODE_MAP, "f.yaml", 4, 3, NULL, NULL, false, NULL, NULL, 0};
    struct vg_errors errs;
    char *text = NULL;
    size_t len = 0;
    FILE *f;

    vg_errors_init(&errs);
    vg_errors_add(&errs, &a, "nine");
    vg_errors_add(&errs, &b, "four");
    vg_errors_add(&errs, &a, "nine again"); /* same value: dropped */
    vg_errors_add(&errs, &m, "map");        /* a map may have several */
    vg_errors_add(&errs, &m, "map again");
    vg_errors_warn(&errs, &b, "look %d", 1);
    assert_int_equal(errs.n, 4);
    assert_int_equal(errs.n_warns, 1);
    assert_true(vg_errors_about(&errs, 0, &a));
    assert_false(vg_errors_about(&errs, 1, &a));
    f = open_memstream(&text, &len);
    assert_non_null(f);
    vg_errors_print(&errs, f);
    vg_errors_print_warnings(&errs, f);
    fclose(f);
    assert_string_equal(text, "f.yaml:4: four\nf.yaml:4: map\nf.yaml:4: map again\n"
                              "f.yaml:9: nine\nf.yaml:4: warning: look 1\n");
    free(text);
    vg_errors_free(&errs);
}

/* ------------------------------------------------------------------------
 * The plan: good configurations.
 */

/* Sets or (NULL) unsets the variables the default state_dir comes from. */
static void state_env(const char *own, const char *xdg, const char *home)
{
    const char *names[] = {"VIGIL_STATE_DIR", "XDG_STATE_HOME", "HOME"};
    const char *values[] = {own, xdg, home};
    size_t i;

    for (i = 0; i < 3; i++) {
        if (values[i] != NULL)
            setenv(names[i], values[i], 1);
        else
            unsetenv(names[i]);
    }
}

/* The state_dir of a config that does not set it, in the current environment. */
static void assert_default_state_dir(const char *want)
{
    struct vg_config *cfg = load_ok("collectors: [{ type: node }]\n");
    struct vg_errors errs;
    struct vg_plan plan;

    vg_errors_init(&errs);
    assert_int_equal(vg_plan_build(cfg, &plan, &errs), VG_OK);
    assert_string_equal(plan.agent.state_dir, want);
    vg_plan_free(&plan);
    vg_config_free(cfg);
    vg_errors_free(&errs);
}

static void plan_default_state_dir_is_per_user(void **state)
{
    char *home = getenv("HOME") != NULL ? strdup(getenv("HOME")) : NULL;
    char tmp[64];

    state_env("/srv/own", "/x/state", "/home/u");
    assert_default_state_dir("/srv/own");
    state_env(NULL, "/x/state/", "/home/u");
    assert_default_state_dir("/x/state/vigil");
    state_env("", "relative/state", "/home/u/");
    assert_default_state_dir("/home/u/.local/state/vigil");
    state_env(NULL, NULL, "/");
    assert_default_state_dir("/.local/state/vigil");
    snprintf(tmp, sizeof(tmp), "/tmp/vigil-state-%lu", (unsigned long)geteuid());
    state_env(NULL, "", "");
    assert_default_state_dir(tmp);
    state_env(NULL, NULL, NULL);
    assert_default_state_dir(tmp);
    state_env(NULL, NULL, home);
    free(home);
}

/* --list-options shows the default that a start would use. */
static void plan_list_options_shows_the_state_dir_in_effect(void **state)
{
    char *home = getenv("HOME") != NULL ? strdup(getenv("HOME")) : NULL;
    char *text = NULL;
    size_t len = 0;
    FILE *f;

    state_env(NULL, "/x/listed", "/home/u");
    f = open_memstream(&text, &len);
    assert_non_null(f);
    vg_plan_list_options(f);
    fclose(f);
    assert_non_null(strstr(text, "  state_dir "));
    assert_non_null(strstr(strstr(text, "  state_dir "), " /x/listed/vigil "));
    free(text);
    state_env(NULL, NULL, home);
    free(home);
}

static void plan_builds_agent_collectors_and_outputs(void **state)
{
    struct vg_config *cfg = load_ok("agent:\n"
                                    "  node_name: n1\n"
                                    "  shutdown_timeout: 2s\n"
                                    "  http: { listen: '', stall_timeout: 1m }\n"
                                    "  log: { level: debug, format: json }\n"
                                    "  batch: { max_records: 50, max_bytes: 64KiB }\n"
                                    "collectors:\n"
                                    "  - { type: node, interval: 200ms }\n"
                                    "  - { type: node, name: second }\n"
                                    "  - { type: generator }\n"
                                    "outputs:\n"
                                    "  - { type: stdout, retry_backoff: 50ms }\n"
                                    "  - { type: file, path: /tmp/x.ndjson, fsync: yes,\n"
                                    "      record_schema: ecs }\n");
    struct vg_errors errs;
    struct vg_plan plan;

    vg_errors_init(&errs);
    setenv("VIGIL_STATE_DIR", "/srv/vigil-test", 1);
    assert_int_equal(vg_plan_build(cfg, &plan, &errs), VG_OK);
    unsetenv("VIGIL_STATE_DIR");
    assert_int_equal(errs.n, 0);
    assert_string_equal(plan.agent.node_name, "n1");
    assert_string_equal(plan.agent.state_dir, "/srv/vigil-test");
    assert_int_equal(plan.agent.shutdown_timeout_ms, 2000);
    assert_string_equal(plan.agent.http_listen, "");
    assert_int_equal(plan.agent.http_stall_ms, 60000);
    assert_string_equal(plan.agent.log_level, "debug");
    assert_string_equal(plan.agent.log_format, "json");
    assert_int_equal(plan.agent.batch_max_records, 50);
    assert_int_equal(plan.agent.batch_max_bytes, 65536);
    assert_int_equal(plan.n_collectors, 3);
    assert_string_equal(plan.collectors[0].name, "node");
    assert_int_equal(plan.collectors[0].interval_ms, 200);
    assert_string_equal(plan.collectors[1].name, "second");
    assert_int_equal(plan.collectors[1].interval_ms, plan.collectors[1].ops->default_interval_ms);
    assert_string_equal(plan.collectors[2].name, "generator");
    assert_ptr_equal(plan.collectors[2].ops, vg_collector_find("generator"));
    assert_non_null(plan.collectors[2].ctx);
    assert_int_equal(plan.collectors[0].node->line, 8);
    assert_int_equal(plan.n_outputs, 2);
    assert_string_equal(plan.outputs[0].name, "stdout");
    assert_int_equal(plan.outputs[0].settings.retry_backoff_ms, 50);
    assert_string_equal(plan.outputs[1].name, "file");
    assert_null(plan.outputs[0].settings.record_schema);
    assert_string_equal(plan.outputs[1].settings.record_schema, "ecs");
    assert_int_equal(vg_record_schema_parse(plan.outputs[0].settings.record_schema),
                     VG_RECORD_SCHEMA_DEFAULT);
    assert_int_equal(vg_record_schema_parse(plan.outputs[1].settings.record_schema),
                     VG_RECORD_SCHEMA_ECS);
    vg_plan_free(&plan);
    assert_int_equal(plan.n_collectors, 0);
    vg_plan_free(&plan);
    vg_config_free(cfg);
    vg_errors_free(&errs);
}

static void plan_names_repeated_types_type_dot_n(void **state)
{
    struct vg_config *cfg = load_ok("collectors:\n"
                                    "  - type: node\n"
                                    "  - type: generator\n"
                                    "  - type: node\n"
                                    "  - { type: node, name: mine }\n"
                                    "  - type: node\n");
    struct vg_errors errs;
    struct vg_plan plan;

    vg_errors_init(&errs);
    assert_int_equal(vg_plan_build(cfg, &plan, &errs), VG_OK);
    assert_int_equal(plan.n_collectors, 5);
    assert_string_equal(plan.collectors[0].name, "node");
    assert_string_equal(plan.collectors[1].name, "generator");
    assert_string_equal(plan.collectors[2].name, "node.1");
    assert_string_equal(plan.collectors[3].name, "mine");
    assert_string_equal(plan.collectors[4].name, "node.2");
    assert_int_equal(plan.n_outputs, 0);
    vg_plan_free(&plan);
    vg_config_free(cfg);
    vg_errors_free(&errs);
}

static void plan_of_an_empty_config_has_agent_defaults(void **state)
{
    struct vg_config *cfg = load_ok("agent:\ncollectors:\noutputs: []\n");
    struct vg_errors errs;
    struct vg_plan plan;

    vg_errors_init(&errs);
    assert_int_equal(vg_plan_build(cfg, &plan, &errs), VG_OK);
    assert_int_equal(plan.n_collectors, 0);
    assert_int_equal(plan.n_outputs, 0);
    assert_string_equal(plan.agent.http_listen, "127.0.0.1:9469");
    assert_int_equal(plan.agent.shutdown_timeout_ms, 10000);
    assert_int_equal(plan.agent.http_stall_ms, 30000);
    assert_string_equal(plan.agent.log_level, "info");
    assert_string_equal(plan.agent.log_format, "logfmt");
    assert_int_equal(plan.agent.batch_max_records, 1000);
    assert_int_equal(plan.agent.batch_max_bytes, 1048576);
    vg_plan_free(&plan);
    vg_config_free(cfg);
    vg_errors_free(&errs);
}

static void plan_of_the_embedded_default_config_is_valid(void **state)
{
    struct vg_config *cfg = NULL;
    struct vg_errors errs;
    struct vg_plan plan;
    size_t i;
    int rc;

    unsetenv("NODE_NAME");
    setenv("VIGIL_STATE_DIR", "/srv/vigil-test", 1);
    vg_errors_init(&errs);
    memset(&plan, 0, sizeof(plan));
    rc = vg_config_load_string(vg_default_config, vg_default_config_len, "<default>", &cfg, &errs);
    if (rc == VG_OK)
        rc = vg_plan_build(cfg, &plan, &errs);
    for (i = 0; i < errs.n; i++)
        print_message("default config: %s\n", errs.msgs[i]);
    assert_int_equal(rc, VG_OK);
    assert_int_equal(plan.n_collectors, 3);
    assert_string_equal(plan.collectors[0].name, "node");
    assert_int_equal(plan.collectors[0].interval_ms, 15000);
    assert_string_equal(plan.collectors[1].name, "container_logs");
    assert_string_equal(plan.collectors[2].name, "generator");
    assert_int_equal(plan.n_outputs, 1);
    assert_string_equal(plan.outputs[0].name, "stdout");
    assert_string_equal(plan.agent.node_name, "");
    assert_string_equal(plan.agent.state_dir, "/srv/vigil-test"); /* the default: not set */
    unsetenv("VIGIL_STATE_DIR");
    assert_string_equal(plan.agent.http_listen, "127.0.0.1:9469");
    vg_plan_free(&plan);
    vg_config_free(cfg);
    vg_errors_free(&errs);
}

static void plan_list_options_shows_every_table(void **state)
{
    char *text = NULL;
    size_t len = 0, i;
    FILE *f = open_memstream(&text, &len);

    assert_non_null(f);
    vg_plan_list_options(f);
    fclose(f);
    assert_non_null(strstr(text, "shutdown_timeout"));
    assert_non_null(strstr(text, "http.listen"));
    assert_non_null(strstr(text, "[debug|info|warn|error]"));
    assert_non_null(strstr(text, "interval"));
    assert_non_null(strstr(text, "retry_backoff"));
    for (i = 0; vg_collector_registry[i] != NULL; i++)
        assert_non_null(strstr(text, vg_collector_registry[i]->name));
    for (i = 0; vg_output_registry[i] != NULL; i++)
        assert_non_null(strstr(text, vg_output_registry[i]->name));
    assert_non_null(strstr(text, "proc_root"));
    free(text);
}

/* ------------------------------------------------------------------------
 * The plan: bad configurations, each with its full message.
 */

static void bad_unknown_top_level_section_not_supported(void **state)
{
    EXPECT_ERRORS("agent: {}\nnotifiers:\n  x: 1\n",
                  "t.yaml:2: unknown top-level section 'notifiers': not supported by this version "
                  "(sections: agent, collectors, outputs, parsers, filters, log_metrics, alerts)");
}

static void bad_unknown_top_level_section_with_suggestion(void **state)
{
    EXPECT_ERRORS("colectors: []\nwhatever: 1\n",
                  "t.yaml:1: unknown top-level section 'colectors' (did you mean 'collectors'?)",
                  "t.yaml:2: unknown top-level section 'whatever' (sections: agent, collectors, "
                  "outputs, parsers, filters, log_metrics, alerts)");
}

static void bad_unknown_collector_type_with_suggestion(void **state)
{
    EXPECT_ERRORS("collectors:\n  - type: node\n  - type: generator\n  - type: nod\n",
                  "t.yaml:4: collectors[2]: unknown collector type 'nod' (did you mean 'node'?)");
}

static void bad_unknown_output_type_with_suggestion(void **state)
{
    EXPECT_ERRORS("outputs:\n  - type: stdot\n",
                  "t.yaml:2: outputs[0]: unknown output type 'stdot' (did you mean 'stdout'?)");
}

static void bad_unknown_collector_option_with_suggestion(void **state)
{
    EXPECT_ERRORS("collectors:\n  - type: node\n    proc_rot: /host/proc\n",
                  "t.yaml:3: collectors[0] (node): unknown option 'proc_rot' (did you mean "
                  "'proc_root'?)");
}

static void bad_unknown_output_option_with_suggestion(void **state)
{
    EXPECT_ERRORS("outputs:\n  - type: stdout\n  - type: file\n    path: /tmp/o\n    pth: /x\n",
                  "t.yaml:5: outputs[1] (file): unknown option 'pth' (did you mean 'path'?)");
}

static void bad_duration_in_agent(void **state)
{
    EXPECT_ERRORS("agent:\n  shutdown_timeout: 10\n",
                  "t.yaml:2: agent: option 'shutdown_timeout': invalid duration '10' (use ms, s, "
                  "m, h: '15s')");
}

static void bad_duration_in_collector_interval(void **state)
{
    EXPECT_ERRORS("collectors:\n  - { type: node, interval: -5s }\n",
                  "t.yaml:2: collectors[0] (node): option 'interval': invalid duration '-5s' "
                  "(use ms, s, m, h: '15s')");
}

static void bad_size(void **state)
{
    EXPECT_ERRORS("outputs:\n  - type: stdout\n    queue_max_bytes: 10 MB\n",
                  "t.yaml:3: outputs[0] (stdout): option 'queue_max_bytes': invalid size '10 MB' "
                  "(use bytes or KiB, MiB, GiB: '64KiB')");
}

static void bad_bool(void **state)
{
    EXPECT_ERRORS("outputs:\n  - { type: file, path: /tmp/o, fsync: sometimes }\n",
                  "t.yaml:2: outputs[0] (file): option 'fsync': invalid boolean 'sometimes' (use "
                  "true or false)");
}

static void bad_enum_lists_the_choices(void **state)
{
    EXPECT_ERRORS("agent:\n  log:\n    level: verbose\n",
                  "t.yaml:3: agent: option 'log.level': invalid value 'verbose' (one of: debug, "
                  "info, warn, error)");
}

static void bad_int(void **state)
{
    EXPECT_ERRORS("collectors:\n  - type: generator\n    rate: fast\n",
                  "t.yaml:3: collectors[0] (generator): option 'rate': invalid integer 'fast'");
}

static void bad_missing_type(void **state)
{
    char list[512] = "", msg[600];
    const char *expected[1] = {msg};
    size_t i, len = 0;

    /* the message lists the registry, whatever it holds */
    for (i = 0; vg_collector_registry[i] != NULL && len < sizeof(list); i++)
        len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s", i > 0 ? ", " : "",
                                vg_collector_registry[i]->name);
    assert_true(len < sizeof(list));
    snprintf(msg, sizeof(msg), "t.yaml:3: collectors[1]: missing 'type' (one of: %s)", list);
    expect_errors("collectors:\n  - type: node\n  - interval: 5s\n", expected, 1);
}

static void bad_collectors_not_a_sequence(void **state)
{
    EXPECT_ERRORS("collectors:\n  type: node\n",
                  "t.yaml:1: collectors: expected a sequence of collector maps ('- type: node'), "
                  "found a map");
}

static void bad_outputs_a_scalar(void **state)
{
    EXPECT_ERRORS("outputs: stdout\n",
                  "t.yaml:1: outputs: expected a sequence of output maps ('- type: stdout'), "
                  "found a scalar");
}

static void bad_entry_not_a_map(void **state)
{
    EXPECT_ERRORS("collectors:\n  - node\n",
                  "t.yaml:2: collectors[0]: expected a map with a 'type' (such as '- type: "
                  "node'), found a scalar");
}

static void bad_type_not_a_scalar(void **state)
{
    EXPECT_ERRORS("outputs:\n  - type: [file]\n",
                  "t.yaml:2: outputs[0]: 'type' must be a plugin name, found a sequence");
}

static void bad_duplicate_explicit_names(void **state)
{
    EXPECT_ERRORS("collectors:\n  - { type: node, name: host }\n"
                  "  - { type: generator, name: host }\n",
                  "t.yaml:3: collectors[1] (generator): duplicate collector name 'host' (also "
                  "collectors[0]); give each a distinct 'name'");
}

static void bad_explicit_name_clashes_with_default_name(void **state)
{
    EXPECT_ERRORS("outputs:\n  - type: stdout\n  - { type: discard, name: stdout }\n",
                  "t.yaml:3: outputs[1] (discard): duplicate output name 'stdout' (also "
                  "outputs[0]); give each a distinct 'name'");
}

static void bad_name_characters(void **state)
{
    EXPECT_ERRORS("outputs:\n  - type: stdout\n    name: a/b\n",
                  "t.yaml:3: outputs[0] (stdout): option 'name': invalid name 'a/b' (1 to 64 "
                  "letters, digits, '_', '-', '.')");
}

static void bad_nested_unknown_option_under_agent_http(void **state)
{
    EXPECT_ERRORS("agent:\n  http:\n    lisen: 127.0.0.1:1\n",
                  "t.yaml:3: agent: unknown option 'http.lisen' (did you mean 'http.listen'?)");
}

static void bad_scalar_where_a_map_is_expected(void **state)
{
    EXPECT_ERRORS("agent:\n  http: 127.0.0.1:9469\n",
                  "t.yaml:2: agent: option 'http': expected a map (with listen, stall_timeout, "
                  "max_connections, max_connections_per_client, request_timeout), found a scalar");
}

static void bad_agent_is_a_scalar(void **state)
{
    EXPECT_ERRORS("agent: fast\n", "t.yaml:1: agent: expected a map of options, found a scalar "
                                   "'fast'");
}

static void bad_map_where_a_scalar_is_expected(void **state)
{
    EXPECT_ERRORS("agent:\n  state_dir: { path: /x }\n",
                  "t.yaml:2: agent: option 'state_dir': expected a string, found a map");
}

static void bad_missing_required_option(void **state)
{
    EXPECT_ERRORS("outputs:\n  - type: stdout\n  - type: file\n    fsync: true\n",
                  "t.yaml:3: outputs[1] (file): missing required option 'path'");
}

static void bad_zero_batch(void **state)
{
    EXPECT_ERRORS("agent:\n  batch:\n    max_records: 0\n",
                  "t.yaml:3: agent: option 'batch.max_records': must be at least 1, not 0");
}

static void bad_value_out_of_a_declared_range(void **state)
{
    EXPECT_ERRORS("outputs:\n  - type: elasticsearch\n    url: http://es:9200\n    workers: 1000\n",
                  "t.yaml:4: outputs[0] (elasticsearch): option 'workers': must be between 1 and "
                  "64, not 1000");
    EXPECT_ERRORS("collectors:\n  - type: generator\n    rate: -1\n",
                  "t.yaml:3: collectors[0] (generator): option 'rate': must be between 0 and "
                  "1000000000, not -1");
    EXPECT_ERRORS("collectors:\n  - type: container_logs\n    max_line_bytes: 4GiB\n",
                  "t.yaml:3: collectors[0] (container_logs): option 'max_line_bytes': must be "
                  "between 16 and 1GiB, not 4GiB");
    EXPECT_ERRORS("outputs:\n  - type: stdout\n    retry_backoff: 0\n",
                  "t.yaml:3: outputs[0] (stdout): option 'retry_backoff': must be between 1ms "
                  "and 87600h, not 0");
}

static void bad_duration_past_the_cap(void **state)
{
    /* 10^11 h is 3.6e17 ms: an int64 of ms, but far past INT64_MAX in ns */
    EXPECT_ERRORS("agent:\n  shutdown_timeout: 100000000000h\n",
                  "t.yaml:2: agent: option 'shutdown_timeout': must be at most 87600h, not "
                  "100000000000h");
    EXPECT_ERRORS("outputs:\n  - type: stdout\n    queue_max_bytes: 2TiB\n",
                  "t.yaml:3: outputs[0] (stdout): option 'queue_max_bytes': must be between 1 "
                  "and 1TiB, not 2TiB");
}

static void bad_values_a_check_callback_refuses(void **state)
{
    EXPECT_ERRORS("outputs:\n  - type: file\n    path: \"\"\n",
                  "t.yaml:3: outputs[0] (file): option 'path': must not be empty");
    EXPECT_ERRORS("outputs:\n  - type: kafka\n    brokers: k:9092\n    topic: t\n"
                  "    linger: 10s\n    timeout: 5s\n",
                  "t.yaml:5: outputs[0] (kafka): option 'linger' (10000 ms) must be less than "
                  "'timeout' (5000 ms)");
    EXPECT_ERRORS("outputs:\n  - type: stdout\n    retry_backoff: 2m\n",
                  "t.yaml:3: outputs[0] (stdout): option 'retry_backoff' (120000 ms) is longer "
                  "than 'retry_backoff_max' (60000 ms)");
    EXPECT_ERRORS("agent:\n  state_dir: \"\"\n  http: { listen: \"127.0.0.1:99999\" }\n",
                  "t.yaml:2: agent: option 'state_dir': must not be empty (the directory for "
                  "checkpoints and dead letters)",
                  "t.yaml:3: agent: option 'http.listen': invalid listen address "
                  "\"127.0.0.1:99999\": the port must be a number from 0 to 65535");
}

static void bad_yaml_syntax(void **state)
{
    EXPECT_ERRORS("collectors:\n  - type: node\n  interval: 5s\n",
                  "t.yaml:3:3: did not find expected '-' indicator (while parsing a block "
                  "collection at line 2)");
}

static void bad_unset_variable(void **state)
{
    unsetenv("VIGIL_TEST_STATE");
    EXPECT_ERRORS("agent:\n  state_dir: ${VIGIL_TEST_STATE}/state\n",
                  "t.yaml:2: environment variable 'VIGIL_TEST_STATE' is not set (write "
                  "${VIGIL_TEST_STATE:-default} to give a default)");
}

static void bad_record_schema_names_the_known_ones(void **state)
{
    EXPECT_ERRORS("outputs:\n"
                  "  - { type: stdout, record_schema: foo }\n"
                  "  - { type: file, path: /tmp/x, record_schema: ECS }\n",
                  "t.yaml:2: outputs[0] (stdout): option 'record_schema': invalid value 'foo' "
                  "(one of: flat, ecs, otel)",
                  "t.yaml:3: outputs[1] (file): option 'record_schema': invalid value 'ECS' "
                  "(one of: flat, ecs, otel)");
}

static void bad_several_errors_all_reported(void **state)
{
    EXPECT_ERRORS("agent:\n"
                  "  shutdown_timeout: soon\n"
                  "  log: { level: loud }\n"
                  "collectors:\n"
                  "  - type: nod\n"
                  "  - { type: node, interval: 1x }\n"
                  "outputs:\n"
                  "  - type: stdout\n"
                  "  - type: file\n"
                  "    pth: /tmp/x\n"
                  "notifiers: []\n",
                  "t.yaml:11: unknown top-level section 'notifiers': not supported by this version "
                  "(sections: agent, collectors, outputs, parsers, filters, log_metrics, alerts)",
                  "t.yaml:2: agent: option 'shutdown_timeout': invalid duration 'soon' (use ms, "
                  "s, m, h: '15s')",
                  "t.yaml:3: agent: option 'log.level': invalid value 'loud' (one of: debug, "
                  "info, warn, error)",
                  "t.yaml:5: collectors[0]: unknown collector type 'nod' (did you mean 'node'?)",
                  "t.yaml:6: collectors[1] (node): option 'interval': invalid duration '1x' (use "
                  "ms, s, m, h: '15s')",
                  "t.yaml:10: outputs[1] (file): unknown option 'pth' (did you mean 'path'?)");
}

/* Secrets: no compiled-in plugin takes one yet, so a table of the test's
 * own is applied to an entry of a loaded file, as the plan would. */
struct secret_ctx {
    char *api_key;
};

static const struct vg_option secret_table[] = {
    {"api_key", VG_OPT_STR, NULL, offsetof(struct secret_ctx, api_key), "key", VG_OPT_SECRET, NULL},
    {NULL, 0, NULL, 0, NULL, 0, NULL},
};

static void secret_expect(const char *yaml, const char *msg)
{
    const struct vg_option *tables[1] = {secret_table};
    struct secret_ctx ctx = {NULL};
    void *ctxs[1] = {&ctx};
    static const char *const ignore[] = {"type", NULL};
    struct vg_config *cfg = load_ok(yaml);
    const struct vg_config_node *entry = vg_node_get(cfg->root, "outputs")->children;
    struct vg_errors errs;

    vg_errors_init(&errs);
    assert_int_equal(vg_options_apply(tables, ctxs, 1, entry, "outputs[0] (es)", ignore, &errs),
                     VG_ECONFIG);
    assert_int_equal(errs.n, 1);
    assert_string_equal(errs.msgs[0], msg);
    vg_options_free(secret_table, &ctx);
    vg_config_free(cfg);
    vg_errors_free(&errs);
}

static void bad_secret_file_missing(void **state)
{
    secret_expect("outputs:\n  - type: es\n    api_key_file: /nonexistent/vigil/es-key\n",
                  "t.yaml:3: outputs[0] (es): option 'api_key_file': cannot read "
                  "'/nonexistent/vigil/es-key': No such file or directory");
}

static void bad_secret_given_both_ways(void **state)
{
    secret_expect("outputs:\n  - type: es\n    api_key: abc\n    api_key_file: /etc/hostname\n",
                  "t.yaml:4: outputs[0] (es): option 'api_key' and 'api_key_file' both given; "
                  "use one");
}

/* A secret option's value, inline or from its file, is masked in every
 * error from then on, and so are a URL's credentials. */
static void secret_values_are_masked_in_errors(void **state)
{
    const struct vg_option *tables[1] = {secret_table};
    struct secret_ctx ctx = {NULL};
    void *ctxs[1] = {&ctx};
    static const char *const ignore[] = {"type", NULL};
    struct vg_config *cfg = load_ok("outputs:\n  - type: es\n    api_key: InlineKey9999\n");
    struct vg_errors errs;

    vg_errors_init(&errs);
    assert_int_equal(vg_options_apply(tables, ctxs, 1, vg_node_get(cfg->root, "outputs")->children,
                                      "outputs[0] (es)", ignore, &errs),
                     VG_OK);
    assert_string_equal(ctx.api_key, "InlineKey9999");
    vg_errors_add(&errs, NULL, "refused %s by ftp://admin:UrlSecret777@host:9200", ctx.api_key);
    assert_int_equal(errs.n, 1);
    assert_string_equal(errs.msgs[0], "refused *** by ftp://***@host:9200");
    vg_options_free(secret_table, &ctx);
    vg_config_free(cfg);
    vg_errors_free(&errs);
    vg_secret_forget_all();
}

/* The kafka output tries its rdkafka map on librdkafka in the plan: each
 * refusal in librdkafka's words, at the line of its key (keys hold dots). */
static void bad_rdkafka_properties_are_refused_at_their_line(void **state)
{
    EXPECT_ERRORS("outputs:\n  - type: kafka\n    brokers: k:9092\n    topic: t\n"
                  "    rdkafka:\n"
                  "      security.protocol: sasl_plaintext\n"
                  "      no.such.prop: 1\n"
                  "      socket.timeout.ms: soon\n"
                  "      bootstrap.servers: k:9093\n"
                  "      sasl.password: s3\n"
                  "      sasl.password_file: /nonexistent/vigil/kafka-pw\n",
                  "t.yaml:7: outputs[0] (kafka): option 'rdkafka.no.such.prop': No such "
                  "configuration property: \"no.such.prop\"",
                  "t.yaml:8: outputs[0] (kafka): option 'rdkafka.socket.timeout.ms': Invalid "
                  "value for configuration property \"socket.timeout.ms\"",
                  "t.yaml:9: outputs[0] (kafka): option 'rdkafka.bootstrap.servers': set it with "
                  "the option 'brokers' instead",
                  "t.yaml:11: outputs[0] (kafka): option 'rdkafka.sasl.password_file': cannot "
                  "read '/nonexistent/vigil/kafka-pw': No such file or directory");
    EXPECT_ERRORS("outputs:\n  - type: kafka\n    brokers: k:9092\n    topic: t\n"
                  "    rdkafka: { security.protocol: bogus }\n",
                  "t.yaml:5: outputs[0] (kafka): option 'rdkafka.security.protocol': Invalid "
                  "value \"bogus\" for configuration property \"security.protocol\"");
    EXPECT_ERRORS("outputs:\n  - type: kafka\n    brokers: k:9092\n    topic: t\n"
                  "    rdkafka: [1]\n",
                  "t.yaml:5: outputs[0] (kafka): option 'rdkafka': expected a map of librdkafka "
                  "properties");
    vg_secret_forget_all();
}

static void good_rdkafka_properties_pass_the_plan(void **state)
{
    struct vg_config *cfg = load_ok("outputs:\n  - type: kafka\n    brokers: k:9092\n"
                                    "    topic: t\n    rdkafka:\n"
                                    "      security.protocol: sasl_plaintext\n"
                                    "      sasl.mechanism: PLAIN\n"
                                    "      sasl.username: vigil\n"
                                    "      sasl.password: KafkaPw9999\n"
                                    "      socket.timeout.ms: 30000\n");
    struct vg_errors errs;
    struct vg_plan plan;
    char out[64];

    vg_errors_init(&errs);
    memset(&plan, 0, sizeof(plan));
    assert_int_equal(vg_plan_build(cfg, &plan, &errs), VG_OK);
    assert_int_equal(errs.n, 0);
    /* the password is a secret for every message from now on; the user is not */
    assert_string_equal(vg_secret_mask("KafkaPw9999 vigil", NULL, out, sizeof(out)), "*** vigil");
    vg_plan_free(&plan);
    vg_config_free(cfg);
    vg_errors_free(&errs);
    vg_secret_forget_all();
}

static void bad_fixture_file_reports_its_path(void **state)
{
    const char *path = VG_SOURCE_DIR "/tests/fixtures/config/bad-types.yaml";
    struct vg_config *cfg = NULL;
    struct vg_errors errs;
    struct vg_plan plan;
    char expected[1024];

    vg_errors_init(&errs);
    memset(&plan, 0, sizeof(plan));
    assert_int_equal(vg_config_load_file(path, &cfg, &errs), VG_OK);
    assert_int_equal(vg_plan_build(cfg, &plan, &errs), VG_ECONFIG);
    assert_int_equal(errs.n, 2);
    snprintf(expected, sizeof(expected),
             "%s:9: collectors[0] (node): option 'interval': invalid duration '15' (use ms, s, "
             "m, h: '15s')",
             path);
    assert_string_equal(errs.msgs[0], expected);
    snprintf(expected, sizeof(expected),
             "%s:13: outputs[0] (file): option 'fsync': invalid boolean 'always' (use true or "
             "false)",
             path);
    assert_string_equal(errs.msgs[1], expected);
    vg_plan_free(&plan);
    vg_config_free(cfg);
    vg_errors_free(&errs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(loader_records_lines_columns_keys_and_quoting),
        cmocka_unit_test(loader_expands_variables_defaults_and_dollars),
        cmocka_unit_test(loader_reports_unset_variable_with_line),
        cmocka_unit_test(loader_reports_bad_variable_references),
        cmocka_unit_test(loader_reports_yaml_syntax_error_with_line_and_column),
        cmocka_unit_test(loader_reports_duplicate_keys),
        cmocka_unit_test(loader_refuses_anchors_and_aliases),
        cmocka_unit_test(loader_refuses_a_root_that_is_not_a_map),
        cmocka_unit_test(loader_refuses_several_documents),
        cmocka_unit_test(loader_refuses_deep_nesting),
        cmocka_unit_test(loader_gives_empty_document_a_null_root),
        cmocka_unit_test(loader_reads_a_file_and_names_it_in_messages),
        cmocka_unit_test(errors_add_prefixes_the_position),
        cmocka_unit_test(errors_print_in_line_order_once_per_value),
        cmocka_unit_test(plan_builds_agent_collectors_and_outputs),
        cmocka_unit_test(plan_names_repeated_types_type_dot_n),
        cmocka_unit_test(plan_of_an_empty_config_has_agent_defaults),
        cmocka_unit_test(plan_of_the_embedded_default_config_is_valid),
        cmocka_unit_test(plan_list_options_shows_every_table),
        cmocka_unit_test(plan_default_state_dir_is_per_user),
        cmocka_unit_test(plan_list_options_shows_the_state_dir_in_effect),
        cmocka_unit_test(bad_unknown_top_level_section_not_supported),
        cmocka_unit_test(bad_unknown_top_level_section_with_suggestion),
        cmocka_unit_test(bad_unknown_collector_type_with_suggestion),
        cmocka_unit_test(bad_unknown_output_type_with_suggestion),
        cmocka_unit_test(bad_unknown_collector_option_with_suggestion),
        cmocka_unit_test(bad_unknown_output_option_with_suggestion),
        cmocka_unit_test(bad_duration_in_agent),
        cmocka_unit_test(bad_duration_in_collector_interval),
        cmocka_unit_test(bad_size),
        cmocka_unit_test(bad_bool),
        cmocka_unit_test(bad_enum_lists_the_choices),
        cmocka_unit_test(bad_int),
        cmocka_unit_test(bad_missing_type),
        cmocka_unit_test(bad_collectors_not_a_sequence),
        cmocka_unit_test(bad_outputs_a_scalar),
        cmocka_unit_test(bad_entry_not_a_map),
        cmocka_unit_test(bad_type_not_a_scalar),
        cmocka_unit_test(bad_duplicate_explicit_names),
        cmocka_unit_test(bad_explicit_name_clashes_with_default_name),
        cmocka_unit_test(bad_name_characters),
        cmocka_unit_test(bad_nested_unknown_option_under_agent_http),
        cmocka_unit_test(bad_scalar_where_a_map_is_expected),
        cmocka_unit_test(bad_agent_is_a_scalar),
        cmocka_unit_test(bad_map_where_a_scalar_is_expected),
        cmocka_unit_test(bad_missing_required_option),
        cmocka_unit_test(bad_zero_batch),
        cmocka_unit_test(bad_value_out_of_a_declared_range),
        cmocka_unit_test(bad_duration_past_the_cap),
        cmocka_unit_test(bad_values_a_check_callback_refuses),
        cmocka_unit_test(bad_yaml_syntax),
        cmocka_unit_test(bad_unset_variable),
        cmocka_unit_test(bad_record_schema_names_the_known_ones),
        cmocka_unit_test(bad_several_errors_all_reported),
        cmocka_unit_test(bad_secret_file_missing),
        cmocka_unit_test(bad_secret_given_both_ways),
        cmocka_unit_test(secret_values_are_masked_in_errors),
        cmocka_unit_test(bad_rdkafka_properties_are_refused_at_their_line),
        cmocka_unit_test(good_rdkafka_properties_pass_the_plan),
        cmocka_unit_test(bad_fixture_file_reports_its_path),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
