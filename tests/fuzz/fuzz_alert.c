/*
 * fuzz_alert.c - the alert rule engine's parsers on arbitrary bytes: the
 * expression, count and clear parsers and the templates (text from a
 * configuration), and the state file's reader (bytes from the disk). What
 * must hold: no crash, no leak, an error always says why, an expansion of
 * a template holds at least its text outside the actions, and a state
 * file's alerts belong to the one configured rule.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alert/rules_internal.h"
#include "alert/template.h"
#include "fuzz_parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fz_exprs(const char *text)
{
    struct vg_alert_selector sel;
    struct vg_alert_test t = {VG_CMP_GT, 85}, keep;
    char why[256] = "", win[64];

    if (vg_alert_expr_parse(text, &sel, &t, why, sizeof(why)) != VG_OK)
        fz_check(why[0] != '\0');
    else
        fz_check(sel.metric != NULL && sel.metric[0] != '\0');
    vg_alert_selector_free(&sel);
    why[0] = '\0';
    if (vg_alert_count_parse(text, &t, win, sizeof(win), why, sizeof(why)) != VG_OK)
        fz_check(why[0] != '\0');
    else
        fz_check(win[0] != '\0');
    why[0] = '\0';
    if (vg_alert_clear_parse(text, &t, &keep, why, sizeof(why)) != VG_OK)
        fz_check(why[0] != '\0');
}

static void fz_template(const char *text)
{
    struct vg_label l[] = {{"gpu", "0"}, {"node", "n1"}};
    struct vg_buf b;
    char why[256];

    vg_buf_init(&b);
    (void)vg_alert_template_check(text, why, sizeof(why));
    fz_check(vg_alert_template_expand(text, l, 2, 86.5, &b) == VG_OK);
    if (strstr(text, "{{") == NULL)
        fz_check(b.len == strlen(text));
    vg_buf_free(&b);
}

static void fz_state(const uint8_t *data, size_t size)
{
    struct vg_alert_runner *r = vg_alert_runner_create(15000, NULL);
    struct vg_alert_selector sel;
    struct vg_alert_test t;
    struct vg_alert_rule_spec spec = {0};
    struct vg_error err = {0};
    char why[64];
    size_t active;

    fz_check(r != NULL);
    fz_check(vg_alert_expr_parse("m > 1", &sel, &t, why, sizeof(why)) == VG_OK);
    spec.name = "GpuHot";
    spec.sel = &sel;
    spec.fire = t;
    fz_check(vg_alert_runner_add(r, &spec, &err) == VG_OK);
    fz_check(vg_alert_state_parse(r, (const char *)data, size) == VG_OK);
    active = vg_alert_runner_active(r, NULL);
    fz_check(active <= r->rules[0].n_inst);
    vg_alert_runner_destroy(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);

    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0'; /* the parsers take NUL-terminated text */
    fz_exprs(text);
    fz_template(text);
    fz_state(data, size);
    free(text);
    return 0;
}
