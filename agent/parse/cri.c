/*
 * cri.c - the CRI log line that containerd and CRI-O write for every chunk a
 * container prints: "<RFC3339Nano> <stdout|stderr> <P|F>[:tags] <content>".
 * This is the agent's hottest path, so it neither allocates nor copies: the
 * decoded content points into the line it came from.
 */
#include <string.h>

#include "parse.h"

/* "stdout " / "stderr ", with the space that ends the field */
#define CRI_STREAM_LEN 7

const char *vg_stream_name(enum vg_stream s)
{
    switch (s) {
    case VG_STREAM_STDOUT:
        return "stdout";
    case VG_STREAM_STDERR:
        return "stderr";
    case VG_STREAM_OTHER:
        break;
    }
    return "other";
}

/*
 * Reads the stream field and its separating space at *p, advancing *p past
 * both. VG_OK, or VG_EPARSE for anything but "stdout" and "stderr".
 */
static int cri_stream(const char **p, const char *end, enum vg_stream *out)
{
    const char *s = *p;

    if (end - s < CRI_STREAM_LEN)
        return VG_EPARSE;
    if (memcmp(s, "stdout ", CRI_STREAM_LEN) == 0)
        *out = VG_STREAM_STDOUT;
    else if (memcmp(s, "stderr ", CRI_STREAM_LEN) == 0)
        *out = VG_STREAM_STDERR;
    else
        return VG_EPARSE;
    *p = s + CRI_STREAM_LEN;
    return VG_OK;
}

/*
 * Reads the tag field at *p: 'P' (partial) or 'F' (full), optionally
 * followed by ':' and further tags up to the next space, which are
 * ignored (the CRI keeps the field open for additions). Leaves *p at the
 * content: past the single space after the tag, or at end when the line
 * stops right after it. VG_OK or VG_EPARSE.
 */
static int cri_tag(const char **p, const char *end, bool *partial)
{
    const char *s = *p;
    const char *sp;

    if (s == end || (*s != 'P' && *s != 'F'))
        return VG_EPARSE;
    *partial = *s == 'P';
    s++;
    if (s < end && *s == ':') {
        sp = memchr(s, ' ', (size_t)(end - s));
        s = sp != NULL ? sp : end;
    }
    if (s < end) {
        if (*s != ' ')
            return VG_EPARSE;
        s++;
    }
    *p = s;
    return VG_OK;
}

/* See parse.h. *out is written only on success; msg points into line. */
int vg_cri_decode(const char *line, size_t len, struct vg_runtime_line *out)
{
    const char *end, *sp, *p;
    enum vg_stream stream;
    bool partial;
    int64_t ns;

    if (line == NULL || len == 0)
        return VG_EPARSE;
    end = line + len;
    sp = memchr(line, ' ', len);
    if (sp == NULL || vg_time_parse_rfc3339(line, (size_t)(sp - line), &ns) != VG_OK)
        return VG_EPARSE;
    p = sp + 1;
    if (cri_stream(&p, end, &stream) != VG_OK || cri_tag(&p, end, &partial) != VG_OK)
        return VG_EPARSE;
    out->time_ns = ns;
    out->stream = stream;
    out->partial = partial;
    out->msg = p;
    out->msg_len = (size_t)(end - p);
    out->attrs = NULL;
    out->attrs_len = 0;
    return VG_OK;
}
