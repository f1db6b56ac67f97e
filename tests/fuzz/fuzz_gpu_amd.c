/*
 * fuzz_gpu_amd.c - the gpu_amd collector's sysfs value parsers on
 * arbitrary bytes. The first byte picks the parser, the rest is the file;
 * each buffer is exactly the input's size, so a read past it is caught.
 */
#include <stdint.h>
#include <string.h>

#include "../../collectors/gpu_amd/gpu_amd_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What every parser promises: a NUL-terminated out that fits. */
static void fz_text_ok(int rc, const char *out, size_t size)
{
    if (rc == VG_OK && strnlen(out, size) >= size)
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data + 1;
    const char *why = NULL;
    char out[GA_TEXT_MAX];
    uint64_t v = 0;
    unsigned id = 0;
    double d = 0;

    if (size < 1)
        return 0;
    size--;
    switch (data[0] % 6) {
    case 0:
        if (ga_parse_u64(text, size, 255, &v, &why) == VG_OK && v > 255)
            __builtin_trap();
        break;
    case 1:
        if (ga_parse_hex_id(text, size, &id, &why) == VG_OK && id > 0xffff)
            __builtin_trap();
        break;
    case 2:
        if (ga_parse_link_speed(text, size, &d, &why) == VG_OK && !(d > 0 && d <= 128e9))
            __builtin_trap();
        break;
    case 3:
        fz_text_ok(ga_parse_text(text, size, out, sizeof(out), &why), out, sizeof(out));
        break;
    case 4:
        fz_text_ok(ga_parse_uevent_slot(text, size, out, sizeof(out)), out, sizeof(out));
        break;
    default:
        if (ga_temp_field(text, size) > GA_F_COUNT)
            __builtin_trap();
        break;
    }
    return 0;
}
