/*
 * klog.c - the klog parser: the header that Kubernetes components (and
 * anything using glog) put before each message,
 *
 *   Lmmdd hh:mm:ss.uuuuuu threadid file:line] msg
 *   I0102 15:04:05.000000       1 file.go:12] msg
 *
 * L is the severity letter (I, W, E, F), the thread id is padded with
 * spaces. Fields: time (the text "mmdd hh:mm:ss.uuuuuu", read as time_key
 * when it is "time": the klog built-in), level (info, warn, error, fatal),
 * thread (int), file, line (int), message (the rest, klog's structured
 * `"msg" key="value"` included as it is).
 */
#include <string.h>

#include "parser_internal.h"

enum { KL_TIME, KL_LEVEL, KL_THREAD, KL_FILE, KL_LINE, KL_MESSAGE, KL_NKEYS };

static const char *const kl_names[KL_NKEYS] = {"time",        "level",       "thread",
                                               "source_file", "source_line", "message"};

/* One line's header, pointing into the line. */
struct kl_line {
    char letter;
    const char *time;
    size_t time_len;
    int64_t thread;
    const char *file;
    size_t file_len;
    int64_t line;
    const char *msg;
    size_t msg_len;
};

static bool kl_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Digits at *p (at least one, at most 18) as a number; *p moves past. */
static bool kl_number(const char **p, const char *end, int64_t *out)
{
    const char *s = *p;
    int64_t v = 0;

    while (s < end && kl_digit(*s) && s - *p < 18)
        v = v * 10 + (*s++ - '0');
    if (s == *p || (s < end && kl_digit(*s)))
        return false;
    *p = s;
    *out = v;
    return true;
}

/* "mmdd hh:mm:ss[.frac]" at p: the shape only, the time parser judges the
 * values. Returns its end, or NULL. */
static const char *kl_time_end(const char *p, const char *end)
{
    static const char shape[] = "dddd dd:dd:dd";
    size_t i;

    if ((size_t)(end - p) < sizeof(shape) - 1)
        return NULL;
    for (i = 0; i < sizeof(shape) - 1; i++) {
        if (shape[i] == 'd' ? !kl_digit(p[i]) : p[i] != shape[i])
            return NULL;
    }
    p += sizeof(shape) - 1;
    if (p < end && *p == '.') {
        p++;
        while (p < end && kl_digit(*p))
            p++;
    }
    return p;
}

/* "file:line]" at p (the file may hold ':'; the last one counts). */
static const char *kl_source(const char *p, const char *end, struct kl_line *kl)
{
    const char *close = memchr(p, ']', (size_t)(end - p));
    const char *colon = NULL, *q;

    if (close == NULL)
        return NULL;
    for (q = p; q < close; q++) {
        if (*q == ':')
            colon = q;
        else if (*q == ' ')
            return NULL;
    }
    if (colon == NULL || colon == p)
        return NULL;
    q = colon + 1;
    if (!kl_number(&q, close, &kl->line) || q != close)
        return NULL;
    kl->file = p;
    kl->file_len = (size_t)(colon - p);
    return close + 1;
}

/* Reads the header; VG_OK or VG_EPARSE when the line has none. */
static int kl_read(const char *line, size_t len, struct kl_line *kl)
{
    const char *p = line + 1, *end = line + len, *t;

    if (len == 0 || memchr("IWEF", line[0], 4) == NULL)
        return VG_EPARSE;
    kl->letter = line[0];
    t = kl_time_end(p, end);
    if (t == NULL || t == end || *t != ' ')
        return VG_EPARSE;
    kl->time = p;
    kl->time_len = (size_t)(t - p);
    p = t;
    while (p < end && *p == ' ')
        p++;
    if (!kl_number(&p, end, &kl->thread) || p == end || *p != ' ')
        return VG_EPARSE;
    p = kl_source(p + 1, end, kl);
    if (p == NULL)
        return VG_EPARSE;
    if (p < end && *p == ' ')
        p++;
    kl->msg = p;
    kl->msg_len = (size_t)(end - p);
    return VG_OK;
}

/* An integer field. */
static int kl_put_int(struct vg_parse_ctx *c, int field, int64_t v)
{
    struct vg_parse_field f = {.key = kl_names[field], .type = VG_FIELD_INT};

    f.key_len = strlen(f.key);
    f.v.i = v;
    return vg_parser_put(c, &f);
}

/* A text field, through time_key and types. */
static int kl_put_text(struct vg_parse_ctx *c, int field, const char *val, size_t len)
{
    return vg_parser_put_text(c, kl_names[field], strlen(kl_names[field]), val, len,
                              &c->p->fixed[field]);
}

static int kl_emit(struct vg_parse_ctx *c, const struct kl_line *kl)
{
    enum vg_level level = VG_LEVEL_INFO;
    const char *name;
    int rc;

    (void)vg_level_parse(&kl->letter, 1, &level);
    name = vg_level_name(level);
    rc = kl_put_text(c, KL_TIME, kl->time, kl->time_len);
    if (rc == VG_OK)
        rc = kl_put_text(c, KL_LEVEL, name, strlen(name));
    if (rc == VG_OK)
        rc = kl_put_int(c, KL_THREAD, kl->thread);
    if (rc == VG_OK)
        rc = kl_put_text(c, KL_FILE, kl->file, kl->file_len);
    if (rc == VG_OK)
        rc = kl_put_int(c, KL_LINE, kl->line);
    if (rc == VG_OK)
        rc = kl_put_text(c, KL_MESSAGE, kl->msg, kl->msg_len);
    return rc;
}

static int kl_run(struct vg_parse_ctx *c, const char *line, size_t len)
{
    struct kl_line kl;

    if (kl_read(line, len, &kl) != VG_OK)
        return VG_EPARSE;
    return kl_emit(c, &kl);
}

const struct vg_parser_kind vg_parser_kind_klog = {
    .name = "klog",
    .takes = 0,
    .fixed = kl_names,
    .n_fixed = KL_NKEYS,
    .run = kl_run,
};
