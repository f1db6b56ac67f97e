/*
 * docker.c - the json-file log driver's line: one JSON object per chunk a
 * container prints, {"log":"...","stream":"stdout","time":"...","attrs":{...}}.
 *
 * The line goes through the JSON reader's lenient scan once (the runtime
 * writes raw control bytes inside strings as they came, and dropping the
 * line would lose the log); the scan hands over each member of the object
 * as it reads it, and only "log" is then unescaped, straight into the
 * caller's buffer. Nothing is allocated but that buffer, and only when it
 * must grow.
 */
#include <string.h>

#include "json.h"
#include "parse.h"

/* A "time" value with escapes is unescaped into a stack buffer of this
 * size; a longer one cannot be a time. */
#define DK_TIME_MAX 64

/* What the known keys gave so far. */
struct dk_state {
    struct vg_buf *scratch;
    int64_t time_ns;
    enum vg_stream stream;
    bool have_log;
    bool have_time;
    const char *attrs;
    size_t attrs_len;
};

/* Unescapes the "log" string into scratch (reset first: a repeated key
 * keeps the last). VG_OK, VG_EPARSE (not a string) or VG_ENOMEM. */
static int dk_log(struct dk_state *st, const struct vg_json_value *val)
{
    int rc;

    if (val->kind != VG_JSON_STRING)
        return VG_EPARSE;
    vg_buf_reset(st->scratch);
    rc = vg_json_unescape(val, st->scratch);
    if (rc != VG_OK)
        return rc;
    st->have_log = true;
    return VG_OK;
}

/* Reads the "stream" value: a string; other than stdout/stderr is OTHER. */
static int dk_stream(struct dk_state *st, const struct vg_json_value *val)
{
    if (val->kind != VG_JSON_STRING)
        return VG_EPARSE;
    st->stream = VG_STREAM_OTHER;
    if (vg_json_string_is(val, "stdout"))
        st->stream = VG_STREAM_STDOUT;
    else if (vg_json_string_is(val, "stderr"))
        st->stream = VG_STREAM_STDERR;
    return VG_OK;
}

/* Reads the "time" value: an RFC 3339 string. VG_OK or VG_EPARSE. */
static int dk_time(struct dk_state *st, const struct vg_json_value *val)
{
    char buf[DK_TIME_MAX];
    const char *s;
    size_t n;

    if (val->kind != VG_JSON_STRING)
        return VG_EPARSE;
    s = val->ptr + 1;
    n = val->len - 2;
    if (memchr(s, '\\', n) != NULL) {
        if (vg_json_unescape_to(val, buf, sizeof(buf), &n) != VG_OK)
            return VG_EPARSE;
        s = buf;
    }
    if (vg_time_parse_rfc3339(s, n, &st->time_ns) != VG_OK)
        return VG_EPARSE;
    st->have_time = true;
    return VG_OK;
}

/* Whether the key (a string value, quotes included) is name[0..n): byte
 * for byte when it has no escape, which is the rule; unescaped otherwise. */
static bool dk_key_is(const struct vg_json_value *key, bool plain, const char *name, size_t n)
{
    if (plain)
        return key->len == n + 2 && memcmp(key->ptr + 1, name, n) == 0;
    return vg_json_string_is(key, name);
}

/* One member of the line's object, handed over by the scan. */
static int dk_member(void *arg, const struct vg_json_value *key, const struct vg_json_value *val)
{
    struct dk_state *st = arg;
    bool plain = memchr(key->ptr, '\\', key->len) == NULL;

    if (dk_key_is(key, plain, "log", 3))
        return dk_log(st, val);
    if (dk_key_is(key, plain, "stream", 6))
        return dk_stream(st, val);
    if (dk_key_is(key, plain, "time", 4))
        return dk_time(st, val);
    if (dk_key_is(key, plain, "attrs", 5)) {
        /* the raw JSON text, whatever its type */
        st->attrs = val->ptr;
        st->attrs_len = val->len;
    }
    return VG_OK;
}

/* See parse.h. *out is written only on success (msg is scratch->data);
 * on failure scratch is left empty, never holding half a message. */
int vg_docker_decode(const char *line, size_t len, struct vg_buf *scratch,
                     struct vg_runtime_line *out)
{
    struct dk_state st = {.scratch = scratch, .stream = VG_STREAM_OTHER};
    struct vg_json_value top;
    int rc = VG_EPARSE;

    vg_buf_reset(scratch);
    if (line == NULL || len == 0)
        goto fail;
    rc = vg_json_scan(line, len, VG_JSON_LENIENT, dk_member, &st, &top, NULL);
    if (rc != VG_OK)
        goto fail;
    rc = VG_EPARSE;
    if (top.kind != VG_JSON_OBJECT || !st.have_log || !st.have_time)
        goto fail;
    out->partial = true;
    /* the runtime's own line ending marks a complete message; drop it */
    if (scratch->len > 0 && scratch->data[scratch->len - 1] == '\n') {
        scratch->len--;
        scratch->data[scratch->len] = '\0';
        out->partial = false;
    }
    out->time_ns = st.time_ns;
    out->stream = st.stream;
    out->msg = scratch->data;
    out->msg_len = scratch->len;
    out->attrs = st.attrs;
    out->attrs_len = st.attrs_len;
    return VG_OK;
fail:
    vg_buf_reset(scratch);
    return rc;
}
