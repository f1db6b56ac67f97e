/*
 * fuzz_syslog.c - the RFC 3164 and RFC 5424 syslog parsers on arbitrary
 * bytes (fuzz_parser.h says what must hold); a matched line has its
 * message, or for RFC 5424 at least the fields its priority gives.
 */
#include "fuzz_parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vg_parser *fz_3164, *fz_5424;

static void fz_line(const char *line, size_t len)
{
    struct fz_fields f;

    if (fz_run(fz_3164, line, len, &f, NULL) == VG_OK)
        fz_check(f.n >= 1);
    if (fz_run(fz_5424, line, len, &f, NULL) == VG_OK)
        fz_check(f.n >= 3);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fz_3164 == NULL) {
        fz_3164 = fz_builtin("syslog_rfc3164");
        fz_5424 = fz_builtin("syslog_rfc5424");
    }
    fz_each_line(data, size, fz_line);
    return 0;
}
