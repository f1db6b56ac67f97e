/*
 * fuzz_runtime.c - the container runtime decoders (CRI, Docker json-file)
 * and the RFC 3339 parser on arbitrary bytes: the whole input as one line,
 * then each of its '\n'-separated lines, as the tailer hands them over.
 * Every accepted line must point its message inside the input (CRI) or the
 * scratch buffer (Docker); the sanitizers catch any read out of bounds.
 */
#include <stdint.h>
#include <string.h>

#include "parse/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_cri(const char *line, size_t len)
{
    struct vg_runtime_line out;

    if (vg_cri_decode(line, len, &out) != VG_OK)
        return;
    if (out.msg < line || out.msg > line + len || out.msg_len != (size_t)(line + len - out.msg))
        __builtin_trap();
    if (out.stream != VG_STREAM_STDOUT && out.stream != VG_STREAM_STDERR)
        __builtin_trap();
    if (out.attrs != NULL)
        __builtin_trap();
}

static void fuzz_docker(const char *line, size_t len, struct vg_buf *scratch)
{
    struct vg_runtime_line out;
    int rc = vg_docker_decode(line, len, scratch, &out);

    if (rc != VG_OK) {
        /* a refused line leaves nothing behind in the scratch buffer */
        if (scratch->len != 0)
            __builtin_trap();
        return;
    }
    /* the unescaped text is never longer than the line it came from */
    if (out.msg != scratch->data || out.msg_len != scratch->len || scratch->len > len ||
        scratch->len >= scratch->cap || scratch->data[scratch->len] != '\0')
        __builtin_trap();
    if (out.attrs != NULL &&
        (out.attrs < line || out.attrs + out.attrs_len > line + len || out.attrs_len == 0))
        __builtin_trap();
    if (out.stream > VG_STREAM_OTHER)
        __builtin_trap();
}

static void fuzz_time(const char *s, size_t len)
{
    int64_t ns = 0;

    if (vg_time_parse_rfc3339(s, len, &ns) == VG_OK && len < 20)
        __builtin_trap();
}

static void fuzz_line(const char *line, size_t len, struct vg_buf *scratch)
{
    fuzz_cri(line, len);
    fuzz_docker(line, len, scratch);
    fuzz_time(line, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* libFuzzer hands over an exact-size heap copy, so a read one byte past
     * the end is caught */
    const char *in = (const char *)data;
    const char *p, *nl, *end = in + size;
    struct vg_buf scratch;

    vg_buf_init(&scratch);
    fuzz_line(in, size, &scratch);
    for (p = in; p < end; p = nl + 1) {
        nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL)
            nl = end;
        fuzz_line(p, (size_t)(nl - p), &scratch);
    }
    vg_buf_free(&scratch);
    return 0;
}
