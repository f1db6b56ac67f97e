/*
 * util.c - status codes, errors, growable buffers, files, hashing and clocks.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "vigil.h"

const char *vg_strerror(int code)
{
    switch (code) {
    case VG_OK:
        return "ok";
    case VG_ENOMEM:
        return "out of memory";
    case VG_EINVAL:
        return "invalid argument";
    case VG_EIO:
        return "input/output error";
    case VG_ECONFIG:
        return "configuration error";
    case VG_EPARSE:
        return "malformed input";
    case VG_EAGAIN:
        return "try again";
    case VG_ENOENT:
        return "not found";
    case VG_EBUSY:
        return "busy";
    case VG_ESTOP:
        return "stopping";
    default:
        return "unknown error";
    }
}

int vg_error_set(struct vg_error *err, int code, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL)
        return code;
    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return code;
}

void vg_buf_init(struct vg_buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void vg_buf_reset(struct vg_buf *b)
{
    b->len = 0;
    if (b->data != NULL)
        b->data[0] = '\0';
}

void vg_buf_free(struct vg_buf *b)
{
    free(b->data);
    vg_buf_init(b);
}

/* Makes room for extra bytes plus a terminating NUL; grows geometrically. */
int vg_buf_reserve(struct vg_buf *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    size_t cap;
    char *p;

    if (need <= b->cap)
        return VG_OK;
    cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    p = vg_realloc(b->data, cap);
    if (p == NULL)
        return VG_ENOMEM;
    b->data = p;
    b->cap = cap;
    return VG_OK;
}

int vg_buf_append(struct vg_buf *b, const void *p, size_t n)
{
    if (vg_buf_reserve(b, n) != VG_OK)
        return VG_ENOMEM;
    if (n > 0)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return VG_OK;
}

int vg_buf_puts(struct vg_buf *b, const char *s)
{
    return vg_buf_append(b, s, strlen(s));
}

int vg_buf_putc(struct vg_buf *b, char c)
{
    return vg_buf_append(b, &c, 1);
}

int vg_buf_printf(struct vg_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return VG_EINVAL;
    if (vg_buf_reserve(b, (size_t)n) != VG_OK)
        return VG_ENOMEM;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return VG_OK;
}

/* Prometheus' float format: integers without exponent up to 1e15, else the
 * shortest representation that reads back to the same double. */
int vg_buf_put_double(struct vg_buf *b, double v)
{
    char tmp[40];
    int prec;

    if (isnan(v))
        return vg_buf_puts(b, "NaN");
    if (isinf(v))
        return vg_buf_puts(b, v > 0 ? "+Inf" : "-Inf");
    /* the range check comes first: casting a larger double is undefined */
    if (fabs(v) < 1e15 && v == (double)(int64_t)v) {
        snprintf(tmp, sizeof(tmp), "%lld", (long long)(int64_t)v);
        return vg_buf_puts(b, tmp);
    }
    for (prec = 6; prec <= 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    return vg_buf_puts(b, tmp);
}

size_t vg_utf8_seq(const unsigned char *s, size_t n)
{
    uint32_t cp;
    size_t len, i;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        len = 2;
        cp = s[0] & 0x1f;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        len = 3;
        cp = s[0] & 0x0f;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        len = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/* Bytes that go into a JSON string as they are: printable ASCII but '"'
 * and '\\'. */
static const unsigned char util_json_plain[256] = {
    [0x20] = 1, [0x21] = 1, [0x23 ... 0x5b] = 1, [0x5d ... 0x7e] = 1, [0x7f] = 1,
};

/* Appends the escape of one byte that is not plain (p[0], n bytes left);
 * returns the bytes taken, 0 on out of memory. */
static size_t util_json_escape(struct vg_buf *b, const unsigned char *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    char esc[6] = {'\\', 'u', '0', '0', hex[p[0] >> 4], hex[p[0] & 0xf]};
    size_t len;

    if (p[0] == '"' || p[0] == '\\') {
        esc[1] = (char)p[0];
        return vg_buf_append(b, esc, 2) == VG_OK ? 1 : 0;
    }
    if (p[0] < 0x20) {
        const char *s = p[0] == '\n' ? "\\n" : p[0] == '\r' ? "\\r" : p[0] == '\t' ? "\\t" : NULL;

        return (s != NULL ? vg_buf_puts(b, s) : vg_buf_append(b, esc, 6)) == VG_OK ? 1 : 0;
    }
    len = vg_utf8_seq(p, n);
    if (len == 0) /* not UTF-8: U+FFFD */
        return vg_buf_puts(b, "\xef\xbf\xbd") == VG_OK ? 1 : 0;
    return vg_buf_append(b, p, len) == VG_OK ? len : 0;
}

/* Bytes from p[i] on, to at most n, that need no escaping: eight at a
 * time while no byte of the word is a control byte, '"', '\\' or 0x80 and
 * above (the word test of "Bit Twiddling Hacks"), then byte by byte. */
static size_t util_json_plain_run(const unsigned char *p, size_t i, size_t n)
{
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    uint64_t w, q, bs;

    while (i + 8 <= n) {
        memcpy(&w, p + i, 8);
        q = w ^ (ones * '"');
        bs = w ^ (ones * '\\');
        /* a byte below 0x20, a zero byte of q or bs (a '"' or '\\' in w), a high bit */
        if ((((w - ones * 0x20) & ~w) | ((q - ones) & ~q) | ((bs - ones) & ~bs) | w) & highs)
            break;
        i += 8;
    }
    while (i < n && util_json_plain[p[i]])
        i++;
    return i;
}

int vg_buf_json_string(struct vg_buf *b, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, run, took;

    /* room for the quotes and every byte as it is: plain runs are copied
     * without a check, and only an escape (rare) makes more room */
    if (vg_buf_reserve(b, n + 2) != VG_OK)
        return VG_ENOMEM;
    b->data[b->len++] = '"';
    while (i < n) {
        /* the longest run that needs no escaping, copied at once */
        run = util_json_plain_run(p, i, n);
        memcpy(b->data + b->len, s + i, run - i);
        b->len += run - i;
        i = run;
        if (i >= n)
            break;
        took = util_json_escape(b, p + i, n - i);
        if (took == 0)
            return VG_ENOMEM;
        i += took;
        if (vg_buf_reserve(b, n - i + 1) != VG_OK)
            return VG_ENOMEM;
    }
    b->data[b->len++] = '"';
    b->data[b->len] = '\0';
    return VG_OK;
}

int vg_grow(void **arr, size_t *cap, size_t need, size_t size)
{
    size_t n = *cap ? *cap : 16;
    void *p;

    if (need <= *cap)
        return VG_OK;
    while (n < need) {
        if (n > SIZE_MAX / 2 / size)
            return VG_ENOMEM;
        n *= 2;
    }
    p = vg_realloc(*arr, n * size);
    if (p == NULL)
        return VG_ENOMEM;
    *arr = p;
    *cap = n;
    return VG_OK;
}

int vg_write_all(int fd, const void *p, size_t n)
{
    struct pollfd pfd = {fd, POLLOUT, 0};
    const char *c = p;
    ssize_t w;

    while (n > 0) {
        w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (poll(&pfd, 1, 1000) <= 0) {
                errno = EAGAIN;
                return VG_EIO;
            }
            continue;
        }
        if (w <= 0) {
            if (w == 0)
                errno = ENOSPC;
            return VG_EIO;
        }
        c += w;
        n -= (size_t)w;
    }
    return VG_OK;
}

/* One level of vg_mkdirs: made, or already a directory. */
static int util_mkdir_one(const char *dir)
{
    struct stat st;

    if (mkdir(dir, 0750) == 0)
        return VG_OK;
    if (errno != EEXIST)
        return VG_EIO;
    if (stat(dir, &st) != 0)
        return VG_EIO;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return VG_EIO;
    }
    return VG_OK;
}

int vg_mkdirs(const char *dir)
{
    char tmp[PATH_MAX];
    size_t len = strlen(dir), i;

    if (len == 0 || len >= sizeof(tmp))
        return VG_EINVAL;
    memcpy(tmp, dir, len + 1);
    for (i = 1; i <= len; i++) {
        if (tmp[i] != '/' && tmp[i] != '\0')
            continue;
        tmp[i] = '\0';
        if (util_mkdir_one(tmp) != VG_OK)
            return VG_EIO;
        tmp[i] = dir[i];
    }
    return VG_OK;
}

uint64_t vg_fnv1a_more(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    size_t i;

    for (i = 0; i < n; i++) {
        h ^= s[i];
        h *= UINT64_C(1099511628211);
    }
    return h;
}

uint64_t vg_fnv1a(const void *p, size_t n)
{
    return vg_fnv1a_more(VG_FNV1A_INIT, p, n);
}

uint64_t vg_hash_bytes(const void *p, size_t n)
{
    const unsigned char *s = p;
    uint64_t h = UINT64_C(0x9e3779b97f4a7c15) ^ (uint64_t)n, w;

    for (; n >= 8; n -= 8, s += 8) {
        memcpy(&w, s, 8);
        h = (h ^ w) * UINT64_C(0xbf58476d1ce4e5b9);
        h ^= h >> 31;
    }
    w = 0;
    if (n > 0)
        memcpy(&w, s, n);
    h = (h ^ w) * UINT64_C(0x94d049bb133111eb);
    h ^= h >> 29;
    h *= UINT64_C(0xbf58476d1ce4e5b9);
    return h ^ (h >> 32);
}

static int64_t util_clock_ns(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * VG_NS_PER_SEC + ts.tv_nsec;
}

int64_t vg_now_ns(void)
{
    return util_clock_ns(CLOCK_REALTIME);
}

int64_t vg_mono_ns(void)
{
    return util_clock_ns(CLOCK_MONOTONIC);
}
