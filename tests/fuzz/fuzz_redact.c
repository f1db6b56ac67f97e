/*
 * fuzz_redact.c - the redact filter on arbitrary bytes: every preset and a
 * regex with group references, built once from YAML as a config builds
 * it, run on a record whose body, a string field and (when the input is
 * JSON) a JSON field are the input. What must hold: the record is kept; a
 * JSON field is still valid JSON or has become a string; a field that is
 * neither a string nor JSON is untouched; and a second record with the
 * same input comes out byte for byte the same (no state leaks from one
 * record to the next). The sanitizers watch every read and write.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "parse/json.h"
#include "pipeline.h"
#include "process.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fz_yaml[] = "type: redact\n"
                              "presets: [bearer, basic_auth, aws_key, jwt, email, card]\n"
                              "regex: '(?<k>pass(?:word)?)[=:](\\S+)'\n"
                              "replace: '$${k}=<$$$$$${2}>'\n";

static const struct vg_filter_ops *fz_ops;
static void *fz_ctx;

static void fz_check(int ok)
{
    if (!ok)
        __builtin_trap();
}

static void fz_setup(void)
{
    struct vg_config *cfg = NULL;
    struct vg_errors errs;

    vg_errors_init(&errs);
    fz_check(vg_config_load_string(fz_yaml, sizeof(fz_yaml) - 1, "fuzz.yaml", &cfg, &errs) ==
             VG_OK);
    fz_ops = vg_filter_find("redact");
    fz_check(fz_ops != NULL);
    fz_check(vg_filter_plan(fz_ops, cfg->root, "fuzz", "fuzz", &fz_ctx, &errs) == VG_OK);
    /* the built step keeps nothing of the config */
    vg_config_free(cfg);
    vg_errors_free(&errs);
}

/* One record from the input, redacted. */
static void fz_redact(struct vg_prec *pr, const char *in, size_t len, bool json)
{
    fz_check(vg_prec_set_body(pr, in, len) == VG_OK);
    fz_check(vg_prec_set_str(pr, "msg", 3, in, len) == VG_OK);
    fz_check(vg_prec_set_int(pr, "n", 1, 4111111111111111) == VG_OK);
    if (json)
        fz_check(vg_prec_set_json(pr, "obj", 3, in, len) == VG_OK);
    fz_check(fz_ops->run(fz_ctx, pr) == VG_FILTER_KEEP);
}

static bool fz_same_text(const char *a, size_t alen, const char *b, size_t blen)
{
    return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

/* The contract on one redacted record, against its twin. */
static void fz_compare(const struct vg_record *r, const struct vg_record *twin)
{
    const struct vg_field *f, *g;

    fz_check(fz_same_text(r->body, r->body_len, twin->body, twin->body_len));
    for (f = r->fields, g = twin->fields; f != NULL; f = f->next, g = g->next) {
        fz_check(g != NULL && strcmp(f->key, g->key) == 0 && f->type == g->type);
        if (f->type == VG_FIELD_INT) {
            fz_check(f->v.i == 4111111111111111);
            continue;
        }
        fz_check(fz_same_text(f->v.s.ptr, f->v.s.len, g->v.s.ptr, g->v.s.len));
        if (f->type == VG_FIELD_JSON)
            fz_check(vg_json_parse(f->v.s.ptr, f->v.s.len, NULL, NULL) == VG_OK);
    }
    fz_check(g == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    bool json = size > 0 && vg_json_parse(in, size, NULL, NULL) == VG_OK;
    struct vg_record r, twin;
    struct vg_arena arena;
    uint64_t bytes = 0;
    struct vg_prec pr = {&r, &arena, &bytes, NULL, 0, false};
    struct vg_prec pt = {&twin, &arena, &bytes, NULL, 0, false};

    if (fz_ctx == NULL)
        fz_setup();
    vg_arena_init(&arena, 0);
    memset(&r, 0, sizeof(r));
    memset(&twin, 0, sizeof(twin));
    fz_redact(&pr, in, size, json);
    fz_redact(&pt, in, size, json);
    fz_compare(&r, &twin);
    vg_arena_free(&arena);
    return 0;
}
