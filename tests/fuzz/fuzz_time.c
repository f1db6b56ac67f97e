/*
 * fuzz_time.c - vg_time_parse on arbitrary bytes: each line of the input
 * read by the automatic reader, the epoch modes and the formats of common
 * writers, at two "now"s (one just after a new year, for the year guess);
 * then the input's first line used as a format for the rest. The result is
 * VG_OK or VG_EPARSE, the same twice, and whatever the strict RFC 3339
 * reader accepts, the automatic one reads to the same instant.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_parser.h"
#include "parse/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fz_formats[] = {
    NULL,
    "epoch",
    "epoch_ms",
    "epoch_us",
    "epoch_ns",
    "%d/%b/%Y:%H:%M:%S %z",
    "%m%d %H:%M:%S.%f",
    "%b %e %H:%M:%S",
    "%Y-%m-%d %H:%M:%S,%L",
    "%a, %d %b %Y %I:%M:%S %p %Z",
    "%s.%f",
    "%j %y %T",
    "%F%t%R",
    "%H:%M:%S",
};

/* 2027-01-01T00:00:10Z */
#define FZ_NEW_YEAR (INT64_C(1798761610) * VG_NS_PER_SEC)

static struct vg_time_format fz_fmt[sizeof(fz_formats) / sizeof(fz_formats[0])];
static int fz_ready;

static int fz_parse(const struct vg_time_format *f, const char *s, size_t len, int64_t now,
                    int64_t *ns)
{
    int64_t again = 0;
    int rc = vg_time_parse(f, s, len, now, ns);

    fz_check(rc == VG_OK || rc == VG_EPARSE);
    fz_check(vg_time_parse(f, s, len, now, &again) == rc);
    fz_check(rc != VG_OK || again == *ns);
    return rc;
}

static void fz_line(const char *line, size_t len)
{
    int64_t ns = 0, strict = 0;
    size_t i;

    for (i = 0; i < sizeof(fz_formats) / sizeof(fz_formats[0]); i++) {
        (void)fz_parse(&fz_fmt[i], line, len, FZ_NOW, &ns);
        (void)fz_parse(&fz_fmt[i], line, len, FZ_NEW_YEAR, &ns);
    }
    if (vg_time_parse_rfc3339(line, len, &strict) == VG_OK) {
        fz_check(fz_parse(&fz_fmt[0], line, len, FZ_NOW, &ns) == VG_OK);
        fz_check(ns == strict);
    }
}

/* The first line as a format, the rest as a time. */
static void fz_own_format(const uint8_t *data, size_t size)
{
    const char *nl = memchr(data, '\n', size);
    struct vg_time_format f;
    struct vg_error err;
    size_t flen;
    char *fmt;
    int64_t ns = 0;
    int rc;

    if (nl == NULL)
        return;
    flen = (size_t)(nl - (const char *)data);
    fmt = malloc(flen + 1);
    if (fmt == NULL)
        return;
    memcpy(fmt, data, flen);
    fmt[flen] = '\0';
    rc = vg_time_format_init(&f, fmt, &err);
    fz_check(rc == VG_OK || rc == VG_ECONFIG);
    if (rc == VG_OK)
        (void)fz_parse(&f, nl + 1, size - flen - 1, FZ_NOW, &ns);
    free(fmt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vg_error err;
    size_t i;

    if (!fz_ready) {
        for (i = 0; i < sizeof(fz_formats) / sizeof(fz_formats[0]); i++)
            fz_check(vg_time_format_init(&fz_fmt[i], fz_formats[i], &err) == VG_OK);
        fz_ready = 1;
    }
    fz_each_line(data, size, fz_line);
    fz_own_format(data, size);
    return 0;
}
