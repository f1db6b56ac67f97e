/*
 * node_parse.c - pure parsers for the node collector's /proc sources.
 *
 * All of them walk the text line by line and split lines into fields in
 * place (spans into the caller's text): no allocation, no filesystem, so
 * they are tested on strings and fuzzed on anything.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node_parse.h"

/* More fields than this in one line are counted but not kept. */
#define NODE_MAX_FIELDS 24
#define NODE_NUM_MAX    64

struct node_lines {
    const char *p;
    const char *end;
    unsigned line;
};

static void node_lines_init(struct node_lines *it, const char *text, size_t len)
{
    it->p = text;
    it->end = text + len;
    it->line = 0;
}

/* The next line without its newline; false at the end of the text. */
static bool node_lines_next(struct node_lines *it, struct node_span *out)
{
    const char *nl;

    if (it->p >= it->end)
        return false;
    nl = memchr(it->p, '\n', (size_t)(it->end - it->p));
    out->p = it->p;
    out->n = nl != NULL ? (size_t)(nl - it->p) : (size_t)(it->end - it->p);
    it->p = nl != NULL ? nl + 1 : it->end;
    it->line++;
    return true;
}

static int node_fail(struct node_perr *pe, unsigned line, const char *what)
{
    if (pe != NULL) {
        pe->line = line;
        pe->what = what;
    }
    return VG_EPARSE;
}

static bool node_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Splits s[0..n) on blanks; keeps the first max fields in f and returns how
 * many fields there are in all. */
static size_t node_split(const char *s, size_t n, struct node_span *f, size_t max)
{
    size_t i = 0, count = 0;

    while (i < n) {
        size_t start;

        while (i < n && node_is_space(s[i]))
            i++;
        if (i == n)
            break;
        start = i;
        while (i < n && !node_is_space(s[i]))
            i++;
        if (count < max) {
            f[count].p = s + start;
            f[count].n = i - start;
        }
        count++;
    }
    return count;
}

/* The next line that is not blank, split into f (see node_split); false at
 * the end of the text. */
static bool node_lines_fields(struct node_lines *it, struct node_span *f, size_t max, size_t *nf)
{
    struct node_span line;

    while (node_lines_next(it, &line)) {
        *nf = node_split(line.p, line.n, f, max);
        if (*nf > 0)
            return true;
    }
    return false;
}

bool node_span_eq(const struct node_span *s, const char *lit)
{
    size_t n = strlen(lit);

    return s->n == n && memcmp(s->p, lit, n) == 0;
}

bool node_span_u64(const struct node_span *s, uint64_t *out)
{
    uint64_t v = 0;
    size_t i;

    if (s->n == 0)
        return false;
    for (i = 0; i < s->n; i++) {
        unsigned d = (unsigned)(s->p[i] - '0');

        if (d > 9 || v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

/* A finite decimal number (what strtod takes, minus hex, inf and nan). */
static bool node_span_double(const struct node_span *s, double *out)
{
    char buf[NODE_NUM_MAX];
    char *end = NULL;
    size_t i;
    double v;

    if (s->n == 0 || s->n >= sizeof(buf))
        return false;
    for (i = 0; i < s->n; i++) {
        char c = s->p[i];

        if (!((c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E'))
            return false;
    }
    memcpy(buf, s->p, s->n);
    buf[s->n] = '\0';
    errno = 0;
    v = strtod(buf, &end);
    if (end != buf + s->n || errno != 0 || !isfinite(v))
        return false;
    *out = v;
    return true;
}

/* ---- /proc/stat ---------------------------------------------------------- */

/* A cpuN line; f[0] is the key, already known to start with "cpu". */
static int node_stat_cpu(const struct node_span *f, size_t nf, unsigned line, node_cpu_cb cb,
                         void *arg, struct node_perr *pe)
{
    struct node_span id = {f[0].p + 3, f[0].n - 3};
    struct node_cpu_times t;
    uint64_t cpu;
    size_t i;

    memset(&t, 0, sizeof(t));
    if (!node_span_u64(&id, &cpu) || cpu > UINT32_MAX)
        return node_fail(pe, line, "bad cpu number");
    if (nf < 1 + 4)
        return node_fail(pe, line, "cpu line with fewer than 4 columns");
    t.cpu = (unsigned)cpu;
    t.n = nf - 1 < NODE_CPU_NCOLS ? (unsigned)(nf - 1) : NODE_CPU_NCOLS;
    for (i = 0; i < t.n; i++)
        if (!node_span_u64(&f[1 + i], &t.v[i]))
            return node_fail(pe, line, "bad number in cpu line");
    return cb != NULL ? cb(&t, arg) : VG_OK;
}

/* The single-number lines; unknown keys are left alone. */
static int node_stat_key(const struct node_span *f, size_t nf, unsigned line, struct node_stat *out,
                         struct node_perr *pe)
{
    static const struct {
        const char *key;
        unsigned bit;
        size_t off;
    } keys[] = {
        {"ctxt", NODE_STAT_CTXT, offsetof(struct node_stat, ctxt)},
        {"intr", NODE_STAT_INTR, offsetof(struct node_stat, intr)},
        {"processes", NODE_STAT_PROCESSES, offsetof(struct node_stat, processes)},
        {"procs_running", NODE_STAT_PROCS_RUNNING, offsetof(struct node_stat, procs_running)},
        {"procs_blocked", NODE_STAT_PROCS_BLOCKED, offsetof(struct node_stat, procs_blocked)},
        {"btime", NODE_STAT_BTIME, offsetof(struct node_stat, btime)},
    };
    size_t k;
    uint64_t v;

    for (k = 0; k < VG_ARRAY_LEN(keys); k++) {
        if (!node_span_eq(&f[0], keys[k].key))
            continue;
        if (nf < 2 || !node_span_u64(&f[1], &v))
            return node_fail(pe, line, "missing or bad number");
        memcpy((char *)out + keys[k].off, &v, sizeof(v));
        out->have |= keys[k].bit;
        return VG_OK;
    }
    return VG_OK;
}

int node_parse_stat(const char *text, size_t len, node_cpu_cb cb, void *arg, struct node_stat *out,
                    struct node_perr *pe)
{
    struct node_lines it;
    struct node_span line, f[NODE_MAX_FIELDS];
    int rc;

    memset(out, 0, sizeof(*out));
    node_lines_init(&it, text, len);
    while (node_lines_next(&it, &line)) {
        size_t nf = node_split(line.p, line.n, f, NODE_MAX_FIELDS);

        if (nf == 0)
            continue;
        if (f[0].n > 3 && memcmp(f[0].p, "cpu", 3) == 0)
            rc = node_stat_cpu(f, nf, it.line, cb, arg, pe);
        else if (node_span_eq(&f[0], "cpu"))
            rc = VG_OK;
        else
            rc = node_stat_key(f, nf, it.line, out, pe);
        if (rc != VG_OK)
            return rc;
    }
    return VG_OK;
}

/* ---- /proc/meminfo ------------------------------------------------------- */

static bool node_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == ':';
}

/* Appends s[0..n) to out at *pos, mapping characters a metric name cannot
 * hold to '_'; false when it does not fit (with room for the NUL). */
static bool node_name_put(char *out, size_t outsz, size_t *pos, const char *s, size_t n)
{
    size_t i;

    if (n >= outsz - *pos)
        return false;
    for (i = 0; i < n; i++)
        out[*pos + i] = node_name_char(s[i]) ? s[i] : '_';
    *pos += n;
    out[*pos] = '\0';
    return true;
}

int node_meminfo_name(const char *field, size_t flen, bool has_unit, char *out, size_t outsz)
{
    static const char prefix[] = "node_memory_";
    const char *open, *close = NULL;
    size_t pos = 0, i;
    bool ok;

    if (flen == 0 || outsz == 0)
        return VG_EINVAL;
    memcpy(out, "", 1);
    ok = node_name_put(out, outsz, &pos, prefix, sizeof(prefix) - 1);
    /* node_exporter's \((.*)\) is greedy: first '(' to last ')' */
    open = memchr(field, '(', flen);
    for (i = flen; open != NULL && i > (size_t)(open - field) + 1; i--) {
        if (field[i - 1] == ')') {
            close = field + i - 1;
            break;
        }
    }
    if (close != NULL) {
        ok = ok && node_name_put(out, outsz, &pos, field, (size_t)(open - field));
        ok = ok && node_name_put(out, outsz, &pos, "_", 1);
        ok = ok && node_name_put(out, outsz, &pos, open + 1, (size_t)(close - open - 1));
        ok = ok && node_name_put(out, outsz, &pos, close + 1, flen - (size_t)(close + 1 - field));
    } else {
        ok = ok && node_name_put(out, outsz, &pos, field, flen);
    }
    if (has_unit)
        ok = ok && node_name_put(out, outsz, &pos, "_bytes", 6);
    return ok ? VG_OK : VG_EINVAL;
}

int node_parse_meminfo(const char *text, size_t len, node_meminfo_cb cb, void *arg,
                       struct node_perr *pe)
{
    struct node_lines it;
    struct node_span line, f[4];
    char name[NODE_METRIC_NAME_MAX];
    double v;
    int rc;

    node_lines_init(&it, text, len);
    while (node_lines_next(&it, &line)) {
        size_t nf = node_split(line.p, line.n, f, VG_ARRAY_LEN(f));

        if (nf == 0)
            continue; /* some kernels print empty lines */
        if (nf < 2 || nf > 3)
            return node_fail(pe, it.line, "expected 'Field: value [kB]'");
        if (f[0].n < 2 || f[0].p[f[0].n - 1] != ':')
            return node_fail(pe, it.line, "field name without ':'");
        if (!node_span_double(&f[1], &v))
            return node_fail(pe, it.line, "bad number");
        if (node_meminfo_name(f[0].p, f[0].n - 1, nf == 3, name, sizeof(name)) != VG_OK)
            return node_fail(pe, it.line, "field name too long");
        /* node_exporter presumes the unit is kB */
        rc = cb(name, nf == 3 ? v * 1024.0 : v, arg);
        if (rc != VG_OK)
            return rc;
    }
    return VG_OK;
}

/* ---- /proc/loadavg ------------------------------------------------------- */

int node_parse_loadavg(const char *text, size_t len, double out[3], struct node_perr *pe)
{
    struct node_span f[3];
    struct node_lines it;
    struct node_span line;
    size_t i;

    node_lines_init(&it, text, len);
    if (!node_lines_next(&it, &line) || node_split(line.p, line.n, f, 3) < 3)
        return node_fail(pe, 1, "expected at least 3 fields");
    for (i = 0; i < 3; i++)
        if (!node_span_double(&f[i], &out[i]) || out[i] < 0)
            return node_fail(pe, 1, "bad load average");
    return VG_OK;
}

/* ---- mounts -------------------------------------------------------------- */

static bool node_is_octal(char c)
{
    return c >= '0' && c <= '7';
}

int node_unescape_octal(const char *in, size_t n, char *out, size_t outsz)
{
    size_t i = 0, o = 0;

    if (outsz == 0)
        return VG_EINVAL;
    while (i < n) {
        char c = in[i];

        if (c == '\\' && n - i >= 4 && node_is_octal(in[i + 1]) && node_is_octal(in[i + 2]) &&
            node_is_octal(in[i + 3])) {
            c = (char)(((in[i + 1] - '0') << 6) | ((in[i + 2] - '0') << 3) | (in[i + 3] - '0'));
            i += 4;
        } else {
            i++;
        }
        if (o + 1 >= outsz)
            return VG_EINVAL;
        out[o++] = c;
    }
    out[o] = '\0';
    return VG_OK;
}

bool node_mount_readonly(const char *options)
{
    const char *p = options;

    while (p != NULL && *p != '\0') {
        const char *comma = strchr(p, ',');
        size_t n = comma != NULL ? (size_t)(comma - p) : strlen(p);

        if (n == 2 && p[0] == 'r' && p[1] == 'o')
            return true;
        p = comma != NULL ? comma + 1 : NULL;
    }
    return false;
}

static bool node_span_copy(const struct node_span *s, char *out, size_t outsz)
{
    if (s->n >= outsz)
        return false;
    memcpy(out, s->p, s->n);
    out[s->n] = '\0';
    return true;
}

/* The four strings of one mount line, kept off the stack of the loop. */
struct node_mount_bufs {
    char device[NODE_MOUNT_FIELD_MAX];
    char mountpoint[NODE_MOUNT_FIELD_MAX];
    char fstype[NODE_MOUNT_FIELD_MAX];
    char options[NODE_MOUNT_FIELD_MAX];
};

static int node_mount_line(const struct node_span *f, unsigned line, struct node_mount_bufs *b,
                           node_mount_cb cb, void *arg, struct node_perr *pe)
{
    struct node_mount m;

    if (!node_span_copy(&f[0], b->device, sizeof(b->device)) ||
        !node_span_copy(&f[2], b->fstype, sizeof(b->fstype)) ||
        !node_span_copy(&f[3], b->options, sizeof(b->options)) ||
        node_unescape_octal(f[1].p, f[1].n, b->mountpoint, sizeof(b->mountpoint)) != VG_OK)
        return node_fail(pe, line, "field too long");
    m.device = b->device;
    m.mountpoint = b->mountpoint;
    m.fstype = b->fstype;
    m.options = b->options;
    return cb(&m, arg);
}

int node_parse_mounts(const char *text, size_t len, node_mount_cb cb, void *arg,
                      struct node_perr *pe)
{
    struct node_mount_bufs *b = malloc(sizeof(*b));
    struct node_lines it;
    struct node_span line, f[4];
    int rc = VG_OK;

    if (b == NULL)
        return VG_ENOMEM;
    node_lines_init(&it, text, len);
    while (node_lines_next(&it, &line)) {
        size_t nf = node_split(line.p, line.n, f, VG_ARRAY_LEN(f));

        if (nf == 0)
            continue;
        if (nf < 4) {
            rc = node_fail(pe, it.line, "mount line with fewer than 4 fields");
            goto out;
        }
        rc = node_mount_line(f, it.line, b, cb, arg, pe);
        if (rc != VG_OK)
            goto out;
    }
out:
    free(b);
    return rc;
}

/* ---- /proc/net/dev ------------------------------------------------------- */

/* Adds "<dir>_<name>" for every word of s[0..n). */
static int node_netdev_section(struct node_netdev_cols *cols, const char *dir, const char *s,
                               size_t n, struct node_perr *pe)
{
    struct node_span w[NODE_NETDEV_MAX_COLS];
    size_t nw = node_split(s, n, w, NODE_NETDEV_MAX_COLS), i;

    for (i = 0; i < nw && i < NODE_NETDEV_MAX_COLS && cols->n < NODE_NETDEV_MAX_COLS; i++) {
        int k = snprintf(cols->name[cols->n], NODE_NETDEV_NAME_MAX, "%s_%.*s", dir, (int)w[i].n,
                         w[i].p);

        if (k < 0 || k >= NODE_NETDEV_NAME_MAX)
            return node_fail(pe, 2, "column name too long");
        cols->n++;
    }
    return VG_OK;
}

/* " face |bytes packets ...|bytes packets ..." */
static int node_netdev_header(const struct node_span *line, struct node_netdev_cols *cols,
                              struct node_perr *pe)
{
    const char *end = line->p + line->n;
    const char *bar1 = memchr(line->p, '|', line->n), *bar2;
    int rc;

    cols->n = 0;
    if (bar1 == NULL)
        return node_fail(pe, 2, "header without '|'");
    bar2 = memchr(bar1 + 1, '|', (size_t)(end - bar1 - 1));
    if (bar2 == NULL)
        return node_fail(pe, 2, "header without transmit columns");
    rc = node_netdev_section(cols, "receive", bar1 + 1, (size_t)(bar2 - bar1 - 1), pe);
    if (rc == VG_OK)
        rc = node_netdev_section(cols, "transmit", bar2 + 1, (size_t)(end - bar2 - 1), pe);
    if (rc == VG_OK && cols->n == 0)
        return node_fail(pe, 2, "header names no columns");
    return rc;
}

static int node_netdev_line(const struct node_span *line, unsigned lineno,
                            const struct node_netdev_cols *cols, node_netdev_cb cb, void *arg,
                            struct node_perr *pe)
{
    struct node_span f[NODE_NETDEV_MAX_COLS], dev;
    uint64_t values[NODE_NETDEV_MAX_COLS];
    char name[NODE_NETDEV_NAME_MAX];
    const char *colon = NULL;
    size_t i, nf;

    for (i = line->n; i > 0; i--) {
        if (line->p[i - 1] == ':') {
            colon = line->p + i - 1;
            break;
        }
    }
    if (colon == NULL)
        return node_fail(pe, lineno, "device line without ':'");
    if (node_split(line->p, (size_t)(colon - line->p), &dev, 1) != 1 ||
        !node_span_copy(&dev, name, sizeof(name)))
        return node_fail(pe, lineno, "bad device name");
    nf = node_split(colon + 1, (size_t)(line->p + line->n - colon - 1), f, NODE_NETDEV_MAX_COLS);
    if (nf < cols->n)
        return node_fail(pe, lineno, "fewer values than header columns");
    for (i = 0; i < cols->n; i++)
        if (!node_span_u64(&f[i], &values[i]))
            return node_fail(pe, lineno, "bad number");
    return cb(name, cols, values, arg);
}

int node_parse_netdev(const char *text, size_t len, struct node_netdev_cols *cols,
                      node_netdev_cb cb, void *arg, struct node_perr *pe)
{
    struct node_lines it;
    struct node_span line;
    int rc;

    cols->n = 0;
    node_lines_init(&it, text, len);
    if (!node_lines_next(&it, &line) || !node_lines_next(&it, &line))
        return node_fail(pe, it.line + 1, "missing header");
    rc = node_netdev_header(&line, cols, pe);
    while (rc == VG_OK && node_lines_next(&it, &line)) {
        struct node_span f;

        if (node_split(line.p, line.n, &f, 1) == 0)
            continue;
        rc = node_netdev_line(&line, it.line, cols, cb, arg, pe);
    }
    return rc;
}

/* ---- /proc/diskstats ----------------------------------------------------- */

int node_parse_diskstats(const char *text, size_t len, node_disk_cb cb, void *arg,
                         struct node_perr *pe)
{
    struct node_lines it;
    struct node_span f[3 + NODE_DISK_NCOLS];
    size_t nf;
    struct node_disk d;
    size_t i;
    int rc;

    node_lines_init(&it, text, len);
    while (node_lines_fields(&it, f, VG_ARRAY_LEN(f), &nf)) {
        if (nf < 3 + 11)
            return node_fail(pe, it.line, "fewer than 14 fields");
        memset(&d, 0, sizeof(d));
        if (!node_span_copy(&f[2], d.name, sizeof(d.name)))
            return node_fail(pe, it.line, "device name too long");
        if (!node_span_u64(&f[0], &d.major) || !node_span_u64(&f[1], &d.minor))
            return node_fail(pe, it.line, "bad major or minor number");
        /* 4.18 added 4 discard columns, 5.5 added 2 flush columns */
        d.n = nf >= 3 + 17 ? 17 : nf >= 3 + 15 ? 15 : 11;
        for (i = 0; i < d.n; i++)
            if (!node_span_u64(&f[3 + i], &d.v[i]))
                return node_fail(pe, it.line, "bad number");
        rc = cb(&d, arg);
        if (rc != VG_OK)
            return rc;
    }
    return VG_OK;
}

/* ---- /proc/pressure/{cpu,memory,io} ---------------------------------------- */

/* The total= of a "some ..." or "full ..." line. */
static bool node_psi_total(const struct node_span *f, size_t nf, uint64_t *out)
{
    size_t i;

    for (i = 1; i < nf; i++) {
        if (f[i].n > 6 && memcmp(f[i].p, "total=", 6) == 0) {
            struct node_span v = {f[i].p + 6, f[i].n - 6};

            return node_span_u64(&v, out);
        }
    }
    return false;
}

int node_parse_pressure(const char *text, size_t len, struct node_psi *out, struct node_perr *pe)
{
    struct node_lines it;
    struct node_span f[8];
    size_t nf;

    memset(out, 0, sizeof(*out));
    node_lines_init(&it, text, len);
    while (node_lines_fields(&it, f, VG_ARRAY_LEN(f), &nf)) {
        if (node_span_eq(&f[0], "some")) {
            if (!node_psi_total(f, nf < 8 ? nf : 8, &out->some_total_us))
                return node_fail(pe, it.line, "'some' line without a valid total=");
            out->has_some = true;
        } else if (node_span_eq(&f[0], "full")) {
            if (!node_psi_total(f, nf < 8 ? nf : 8, &out->full_total_us))
                return node_fail(pe, it.line, "'full' line without a valid total=");
            out->has_full = true;
        } else {
            return node_fail(pe, it.line, "expected 'some' or 'full'");
        }
    }
    if (!out->has_some)
        return node_fail(pe, it.line > 0 ? it.line : 1, "no 'some' line");
    return VG_OK;
}

/* ---- helpers ------------------------------------------------------------- */

int node_copy_trimmed(const char *text, size_t len, char *out, size_t outsz)
{
    while (len > 0 && (node_is_space(text[len - 1]) || text[len - 1] == '\n'))
        len--;
    if (len >= outsz)
        return VG_EINVAL;
    memcpy(out, text, len);
    out[len] = '\0';
    return VG_OK;
}

/* ---- field walking for lines longer than NODE_MAX_FIELDS ------------------ */

/* The next blank-separated field of *rest into out, consuming it; false
 * when none is left. */
static bool node_next_field(struct node_span *rest, struct node_span *out)
{
    size_t i = 0, start;

    while (i < rest->n && node_is_space(rest->p[i]))
        i++;
    if (i == rest->n)
        return false;
    start = i;
    while (i < rest->n && !node_is_space(rest->p[i]))
        i++;
    out->p = rest->p + start;
    out->n = i - start;
    rest->p += i;
    rest->n -= i;
    return true;
}

/* Hexadecimal digits only (softnet_stat, nf_conntrack), no overflow. */
static bool node_span_hex(const struct node_span *s, uint64_t *out)
{
    uint64_t v = 0;
    size_t i;

    if (s->n == 0 || s->n > 16)
        return false;
    for (i = 0; i < s->n; i++) {
        char c = s->p[i];
        unsigned d;

        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            d = (unsigned)(c - 'A' + 10);
        else
            return false;
        v = v << 4 | d;
    }
    *out = v;
    return true;
}

/* Writes a "_" b (each mapped to metric name characters) into out. */
static bool node_join_name(const struct node_span *a, const struct node_span *b, char *out,
                           size_t outsz)
{
    size_t pos = 0;

    if (a->n == 0 || b->n == 0)
        return false;
    return node_name_put(out, outsz, &pos, a->p, a->n) && node_name_put(out, outsz, &pos, "_", 1) &&
           node_name_put(out, outsz, &pos, b->p, b->n);
}

/* ---- "name value" files: /proc/vmstat, /proc/net/snmp6 -------------------- */

/* The name a snmp6 key gets: "Icmp6InMsgs" -> "Icmp6_InMsgs" (split after
 * the first '6', as node_exporter does); false for keys without one. */
static bool node_snmp6_name(const struct node_span *key, char *out, size_t outsz)
{
    const char *six = memchr(key->p, '6', key->n);
    struct node_span proto, rest;

    if (six == NULL)
        return false;
    proto.p = key->p;
    proto.n = (size_t)(six - key->p) + 1;
    rest.p = six + 1;
    rest.n = key->n - proto.n;
    return node_join_name(&proto, &rest, out, outsz);
}

int node_parse_keyvalue(const char *text, size_t len, bool snmp6, node_value_cb cb, void *arg,
                        struct node_perr *pe)
{
    struct node_lines it;
    struct node_span f[3];
    size_t nf;
    char name[NODE_METRIC_NAME_MAX];
    double v;
    size_t pos;
    int rc;

    node_lines_init(&it, text, len);
    while (node_lines_fields(&it, f, VG_ARRAY_LEN(f), &nf)) {
        if (nf != 2)
            return node_fail(pe, it.line, "expected 'name value'");
        if (!node_span_double(&f[1], &v))
            return node_fail(pe, it.line, "bad number");
        pos = 0;
        if (snmp6 && !node_snmp6_name(&f[0], name, sizeof(name)))
            continue; /* not "<proto>6<name>": node_exporter skips it too */
        if (!snmp6 && !node_name_put(name, sizeof(name), &pos, f[0].p, f[0].n))
            return node_fail(pe, it.line, "name too long");
        rc = cb(name, v, arg);
        if (rc != VG_OK)
            return rc;
    }
    return VG_OK;
}

/* ---- /proc/net/{netstat,snmp} --------------------------------------------- */

/* One pair of lines "Proto: names..." and "Proto: values...". */
static int node_netstat_pair(const struct node_span *names, const struct node_span *values,
                             unsigned line, node_value_cb cb, void *arg, struct node_perr *pe)
{
    struct node_span nr = *names, vr = *values, np, vp, n, v;
    char name[NODE_METRIC_NAME_MAX];
    double d;
    int rc;

    if (!node_next_field(&nr, &np) || !node_next_field(&vr, &vp) || np.n < 2 ||
        np.p[np.n - 1] != ':' || np.n != vp.n || memcmp(np.p, vp.p, np.n) != 0)
        return node_fail(pe, line, "expected a 'Proto:' line of values after its names");
    np.n--;
    for (;;) {
        bool hn = node_next_field(&nr, &n), hv = node_next_field(&vr, &v);

        if (!hn && !hv)
            return VG_OK;
        if (hn != hv)
            return node_fail(pe, line, "as many values as names expected");
        if (!node_span_double(&v, &d))
            return node_fail(pe, line, "bad number");
        if (!node_join_name(&np, &n, name, sizeof(name)))
            return node_fail(pe, line, "name too long");
        rc = cb(name, d, arg);
        if (rc != VG_OK)
            return rc;
    }
}

int node_parse_netstat(const char *text, size_t len, node_value_cb cb, void *arg,
                       struct node_perr *pe)
{
    struct node_lines it;
    struct node_span names, values;
    int rc;

    node_lines_init(&it, text, len);
    while (node_lines_next(&it, &names)) {
        if (names.n == 0)
            continue;
        if (!node_lines_next(&it, &values))
            return node_fail(pe, it.line, "names without a line of values");
        rc = node_netstat_pair(&names, &values, it.line, cb, arg, pe);
        if (rc != VG_OK)
            return rc;
    }
    return VG_OK;
}

/* ---- /proc/net/sockstat{,6} ----------------------------------------------- */

int node_parse_sockstat(const char *text, size_t len, node_value_cb cb, void *arg,
                        struct node_perr *pe)
{
    struct node_lines it;
    struct node_span line, proto, k, v;
    char name[NODE_METRIC_NAME_MAX];
    double d;
    int rc;

    node_lines_init(&it, text, len);
    while (node_lines_next(&it, &line)) {
        if (!node_next_field(&line, &proto))
            continue;
        if (proto.n < 2 || proto.p[proto.n - 1] != ':')
            return node_fail(pe, it.line, "expected 'PROTO: name value ...'");
        proto.n--;
        while (node_next_field(&line, &k)) {
            if (!node_next_field(&line, &v) || !node_span_double(&v, &d))
                return node_fail(pe, it.line, "missing or bad number");
            if (!node_join_name(&proto, &k, name, sizeof(name)))
                return node_fail(pe, it.line, "name too long");
            rc = cb(name, d, arg);
            if (rc != VG_OK)
                return rc;
        }
    }
    return VG_OK;
}

/* ---- single-line number files --------------------------------------------- */

int node_parse_u64s(const char *text, size_t len, uint64_t *out, size_t n, struct node_perr *pe)
{
    struct node_lines it;
    struct node_span line, f;
    size_t i;

    node_lines_init(&it, text, len);
    if (!node_lines_next(&it, &line))
        return node_fail(pe, 1, "empty file");
    for (i = 0; i < n; i++)
        if (!node_next_field(&line, &f) || !node_span_u64(&f, &out[i]))
            return node_fail(pe, 1, "missing or bad number");
    return VG_OK;
}

int node_parse_int(const char *text, size_t len, int64_t *out)
{
    char buf[NODE_NUM_MAX];
    char *end = NULL;
    long long v;

    while (len > 0 && (node_is_space(text[len - 1]) || text[len - 1] == '\n'))
        len--;
    if (len == 0 || len >= sizeof(buf) || node_is_space(text[0]))
        return VG_EPARSE;
    memcpy(buf, text, len);
    buf[len] = '\0';
    errno = 0;
    v = strtoll(buf, &end, 0);
    if (end != buf + len || errno != 0)
        return VG_EPARSE;
    *out = (int64_t)v;
    return VG_OK;
}

/* ---- /proc/net/stat/nf_conntrack ------------------------------------------ */

/* The column of each wanted name in the header; -1 where there is none. */
static unsigned node_ct_columns(struct node_span header, const char *const *want, size_t nwant,
                                int *col)
{
    struct node_span f;
    unsigned have = 0;
    size_t k;
    int j = 0;

    for (k = 0; k < nwant; k++)
        col[k] = -1;
    while (node_next_field(&header, &f)) {
        for (k = 0; k < nwant; k++)
            if (node_span_eq(&f, want[k])) {
                col[k] = j;
                have |= 1u << k;
            }
        j++;
    }
    return have;
}

int node_parse_conntrack_stat(const char *text, size_t len, const char *const *want, size_t nwant,
                              uint64_t *sums, unsigned *have, struct node_perr *pe)
{
    struct node_lines it;
    struct node_span line, f;
    int col[NODE_CT_WANT_MAX];
    uint64_t v;
    size_t k;
    int j;

    if (nwant > NODE_CT_WANT_MAX)
        return VG_EINVAL;
    memset(sums, 0, nwant * sizeof(*sums));
    node_lines_init(&it, text, len);
    if (!node_lines_next(&it, &line))
        return node_fail(pe, 1, "no header line");
    *have = node_ct_columns(line, want, nwant, col);
    while (node_lines_next(&it, &line)) {
        for (j = 0; node_next_field(&line, &f); j++) {
            if (!node_span_hex(&f, &v))
                return node_fail(pe, it.line, "bad hexadecimal number");
            for (k = 0; k < nwant; k++)
                if (col[k] == j)
                    sums[k] += v;
        }
    }
    return VG_OK;
}

/* ---- /proc/net/softnet_stat ------------------------------------------------ */

int node_parse_softnet(const char *text, size_t len, node_softnet_cb cb, void *arg,
                       struct node_perr *pe)
{
    struct node_lines it;
    struct node_span f[3];
    size_t nf;
    uint64_t v[3];
    unsigned cpu = 0;
    size_t i;
    int rc;

    node_lines_init(&it, text, len);
    while (node_lines_fields(&it, f, VG_ARRAY_LEN(f), &nf)) {
        if (nf < 3)
            return node_fail(pe, it.line, "fewer than 3 columns");
        for (i = 0; i < 3; i++)
            if (!node_span_hex(&f[i], &v[i]))
                return node_fail(pe, it.line, "bad hexadecimal number");
        rc = cb(cpu++, v[0], v[1], v[2], arg);
        if (rc != VG_OK)
            return rc;
    }
    return VG_OK;
}

/* ---- /proc/net/arp ---------------------------------------------------------- */

int node_parse_arp(const char *text, size_t len, node_device_cb cb, void *arg, struct node_perr *pe)
{
    struct node_lines it;
    struct node_span f[8];
    size_t nf;
    char dev[NODE_NETDEV_NAME_MAX];
    int rc;

    node_lines_init(&it, text, len);
    while (node_lines_fields(&it, f, VG_ARRAY_LEN(f), &nf)) {
        if (node_span_eq(&f[0], "IP"))
            continue;
        if (nf < 6 || nf > VG_ARRAY_LEN(f))
            return node_fail(pe, it.line, "expected 6 columns");
        if (!node_span_copy(&f[nf - 1], dev, sizeof(dev)))
            return node_fail(pe, it.line, "device name too long");
        rc = cb(dev, arg);
        if (rc != VG_OK)
            return rc;
    }
    return VG_OK;
}

/* ---- /proc/net/udp{,6} ---------------------------------------------------- */

int node_parse_udp_queues(const char *text, size_t len, uint64_t *tx, uint64_t *rx,
                          struct node_perr *pe)
{
    struct node_lines it;
    struct node_span f[5], q, r;
    size_t nf;
    uint64_t t, v;
    const char *colon;

    *tx = *rx = 0;
    node_lines_init(&it, text, len);
    while (node_lines_fields(&it, f, VG_ARRAY_LEN(f), &nf)) {
        if (node_span_eq(&f[0], "sl"))
            continue;
        if (nf < 5)
            return node_fail(pe, it.line, "fewer than 5 columns");
        colon = memchr(f[4].p, ':', f[4].n);
        if (colon == NULL)
            return node_fail(pe, it.line, "expected tx_queue:rx_queue");
        q.p = f[4].p;
        q.n = (size_t)(colon - f[4].p);
        r.p = colon + 1;
        r.n = f[4].n - q.n - 1;
        if (!node_span_hex(&q, &t) || !node_span_hex(&r, &v))
            return node_fail(pe, it.line, "bad hexadecimal queue size");
        *tx += t;
        *rx += v;
    }
    return VG_OK;
}

/* ---- /run/udev/data/b<major>:<minor> -------------------------------------- */

/* The value of the first line "<prefix><key>=value" into *v; false when
 * there is none. */
static bool node_find_assignment(const char *text, size_t len, const char *prefix, const char *key,
                                 struct node_span *v)
{
    struct node_lines it;
    struct node_span line;
    size_t pl = strlen(prefix), kl = strlen(key), n = pl + kl + 1;

    node_lines_init(&it, text, len);
    while (node_lines_next(&it, &line)) {
        if (line.n < n || memcmp(line.p, prefix, pl) != 0 || memcmp(line.p + pl, key, kl) != 0 ||
            line.p[n - 1] != '=')
            continue;
        v->p = line.p + n;
        v->n = line.n - n;
        return true;
    }
    return false;
}

bool node_udev_prop(const char *text, size_t len, const char *key, char *out, size_t outsz)
{
    struct node_span v;

    return node_find_assignment(text, len, "E:", key, &v) && node_span_copy(&v, out, outsz);
}

/* ---- adjtimex(2) ------------------------------------------------------------ */

void node_timex_values(const struct timex *t, int state, double out[NODE_TIMEX_N])
{
    /* adjtimex(2) NOTES: freq, ppsfreq and stabil are ppm with 16 bits of fraction */
    const double ppm16frac = 1000000.0 * 65536.0;
    const double divisor = (t->status & STA_NANO) != 0 ? 1e9 : 1e6;

    out[NODE_TIMEX_SYNC] = state == TIME_ERROR ? 0.0 : 1.0;
    out[NODE_TIMEX_OFFSET] = (double)t->offset / divisor;
    out[NODE_TIMEX_FREQ] = 1.0 + (double)t->freq / ppm16frac;
    out[NODE_TIMEX_MAXERROR] = (double)t->maxerror / 1e6;
    out[NODE_TIMEX_ESTERROR] = (double)t->esterror / 1e6;
    out[NODE_TIMEX_STATUS] = (double)t->status;
    out[NODE_TIMEX_CONSTANT] = (double)t->constant;
    out[NODE_TIMEX_TICK] = (double)t->tick / 1e6;
    out[NODE_TIMEX_PPSFREQ] = (double)t->ppsfreq / ppm16frac;
    out[NODE_TIMEX_JITTER] = (double)t->jitter / divisor;
    out[NODE_TIMEX_SHIFT] = (double)t->shift;
    out[NODE_TIMEX_STABIL] = (double)t->stabil / ppm16frac;
    out[NODE_TIMEX_JITCNT] = (double)t->jitcnt;
    out[NODE_TIMEX_CALCNT] = (double)t->calcnt;
    out[NODE_TIMEX_ERRCNT] = (double)t->errcnt;
    out[NODE_TIMEX_STBCNT] = (double)t->stbcnt;
    out[NODE_TIMEX_TAI] = (double)t->tai;
}

/* ---- os-release ------------------------------------------------------------- */

bool node_os_release_value(const char *text, size_t len, const char *key, char *out, size_t outsz)
{
    struct node_span v;

    if (!node_find_assignment(text, len, "", key, &v))
        return false;
    while (v.n > 0 && node_is_space(v.p[v.n - 1]))
        v.n--;
    /* os-release(5): a value may be quoted with " or ' */
    if (v.n >= 2 && (v.p[0] == '"' || v.p[0] == '\'') && v.p[v.n - 1] == v.p[0]) {
        v.p++;
        v.n -= 2;
    }
    return node_span_copy(&v, out, outsz);
}

double node_os_version_number(const char *version_id)
{
    char buf[NODE_NUM_MAX];
    size_t n = 0;

    /* node_exporter: ^[0-9]+\.?[0-9]* of VERSION_ID, else 0 */
    while (version_id[n] >= '0' && version_id[n] <= '9' && n < sizeof(buf) - 2)
        n++;
    if (n == 0)
        return 0.0;
    if (version_id[n] == '.') {
        n++;
        while (version_id[n] >= '0' && version_id[n] <= '9' && n < sizeof(buf) - 1)
            n++;
    }
    memcpy(buf, version_id, n);
    buf[n] = '\0';
    return strtod(buf, NULL);
}
