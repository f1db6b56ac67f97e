/*
 * fuzz_parse_json.c - the json parser on arbitrary bytes, strict and
 * lenient, with a time_key, types, and merge_into. Beyond what every parser
 * must hold to (fuzz_parser.h): a line the strict parser reads, the lenient
 * one reads the same way; with merge_into a matched line is exactly one
 * field (with its time read as without it).
 */
#include "fuzz_parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vg_parser *fz_strict, *fz_lenient, *fz_merge;

static void fz_line(const char *line, size_t len)
{
    struct fz_fields a, b, m;
    unsigned fa, fb, fm;
    int ra = fz_run(fz_strict, line, len, &a, &fa);
    int rb = fz_run(fz_lenient, line, len, &b, &fb);
    int rm = fz_run(fz_merge, line, len, &m, &fm);

    if (ra == VG_OK)
        fz_check(rb == VG_OK && a.n == b.n && a.hash == b.hash && fa == fb);
    fz_check(rm == rb);
    /* past VG_PARSER_MAX_FIELDS members the two may see different times */
    if (rm == VG_OK)
        fz_check(m.n == 1 &&
                 ((fb & VG_PARSE_TOO_MANY) || (fm & VG_PARSE_TIME) == (fb & VG_PARSE_TIME)));
}

static void fz_setup(void)
{
    static const struct vg_parser_type types[] = {{"n", VG_FIELD_INT}, {"d", VG_FIELD_DOUBLE}};
    struct vg_parser_settings s = {
        .type = "json", .time_key = "time", .types = types, .n_types = 2, .strict = true};

    fz_strict = fz_make(&s);
    s.strict = false;
    fz_lenient = fz_make(&s);
    s.merge_into = "app";
    fz_merge = fz_make(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fz_strict == NULL)
        fz_setup();
    fz_each_line(data, size, fz_line);
    return 0;
}
