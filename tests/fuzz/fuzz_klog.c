/*
 * fuzz_klog.c - the klog parser and level detection on arbitrary bytes
 * (fuzz_parser.h says what must hold): a klog line that matches has its six
 * fields (five when the time was read), and the level parser matches every
 * line.
 */
#include "fuzz_parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vg_parser *fz_klog, *fz_level;

static void fz_line(const char *line, size_t len)
{
    struct fz_fields f;
    unsigned flags;
    enum vg_level level;

    if (fz_run(fz_klog, line, len, &f, &flags) == VG_OK)
        fz_check(f.n == ((flags & VG_PARSE_TIME) ? 5u : 6u));
    fz_check(fz_run(fz_level, line, len, &f, NULL) == VG_OK);
    fz_check(f.n <= 1);
    if (vg_level_detect(line, len, &level) == VG_OK)
        fz_check(level >= VG_LEVEL_TRACE && level <= VG_LEVEL_FATAL && f.n == 1);
    if (vg_level_parse(line, len, &level) == VG_OK)
        fz_check(level >= VG_LEVEL_TRACE && level <= VG_LEVEL_FATAL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fz_klog == NULL) {
        fz_klog = fz_builtin("klog");
        fz_level = fz_builtin("level");
    }
    fz_each_line(data, size, fz_line);
    return 0;
}
