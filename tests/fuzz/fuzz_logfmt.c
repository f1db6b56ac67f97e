/*
 * fuzz_logfmt.c - the logfmt parser on arbitrary bytes, with a time_key and
 * types (fuzz_parser.h says what must hold); a line that matches has at
 * least one field unless every pair was the time.
 */
#include "fuzz_parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vg_parser *fz_plain, *fz_typed;

static void fz_line(const char *line, size_t len)
{
    struct fz_fields f;
    unsigned flags;

    if (fz_run(fz_plain, line, len, &f, &flags) == VG_OK)
        fz_check(f.n > 0);
    (void)fz_run(fz_typed, line, len, NULL, NULL);
}

static void fz_setup(void)
{
    static const struct vg_parser_type types[] = {
        {"status", VG_FIELD_INT}, {"duration", VG_FIELD_DOUBLE}, {"ok", VG_FIELD_BOOL}};
    struct vg_parser_settings s = {.type = "logfmt"};

    fz_plain = fz_make(&s);
    s.types = types;
    s.n_types = 3;
    s.time_key = "time";
    fz_typed = fz_make(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fz_plain == NULL)
        fz_setup();
    fz_each_line(data, size, fz_line);
    return 0;
}
