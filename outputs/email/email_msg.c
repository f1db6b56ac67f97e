/*
 * email_msg.c - a notice as an Internet message (RFC 5322), in the form
 * libcurl sends it: CRLF line endings throughout, so that libcurl's
 * dot-stuffing (done on CRLF lines only) keeps a line holding a lone "."
 * from ending the DATA early, and so that no line is cut by a relay.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "email_msg.h"

#define EMAIL_WORD_BYTES 45 /* bytes per encoded word: 60 base64 chars + 12 = 72 < 75 */

static int email_base64(const unsigned char *p, size_t n, struct vg_buf *out)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i;
    int rc = VG_OK;

    for (i = 0; rc == VG_OK && i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);
        char q[4] = {b64[v >> 18 & 63], b64[v >> 12 & 63], i + 1 < n ? b64[v >> 6 & 63] : '=',
                     i + 2 < n ? b64[v & 63] : '='};

        rc = vg_buf_append(out, q, 4);
    }
    return rc;
}

static bool email_plain(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return false;
    return true;
}

int email_encode_header(const char *text, struct vg_buf *out)
{
    const unsigned char *p = (const unsigned char *)text;
    size_t len = strlen(text), i = 0, take, k;
    int rc = VG_OK;

    if (email_plain(text))
        return vg_buf_puts(out, text);
    while (rc == VG_OK && i < len) {
        take = 0;
        for (;;) { /* whole UTF-8 sequences only */
            k = vg_utf8_seq(p + i + take, len - i - take);
            k = k > 0 ? k : 1;
            if (i + take >= len || take + k > EMAIL_WORD_BYTES)
                break;
            take += k;
        }
        rc = vg_buf_puts(out, i > 0 ? "\r\n =?UTF-8?B?" : "=?UTF-8?B?");
        if (rc == VG_OK)
            rc = email_base64(p + i, take, out);
        if (rc == VG_OK)
            rc = vg_buf_puts(out, "?=");
        i += take;
    }
    return rc;
}

/* Appends s with CR, LF and other control bytes as spaces (a header value). */
static int email_header_value(const char *s, struct vg_buf *out)
{
    int rc = VG_OK;

    for (; *s != '\0' && rc == VG_OK; s++)
        rc = vg_buf_putc(out, (unsigned char)*s < 0x20 ? ' ' : *s);
    return rc;
}

/* Appends text as body lines: any CRLF, CR or LF becomes CRLF, and a line
 * longer than EMAIL_LINE_MAX is broken (on a UTF-8 boundary). *col is the
 * current line's length, kept across calls. */
static int email_body(const char *s, struct vg_buf *out, size_t *col)
{
    size_t len = strlen(s), i = 0, k;
    int rc = VG_OK;

    while (rc == VG_OK && i < len) {
        if (s[i] == '\r' || s[i] == '\n') {
            i += s[i] == '\r' && s[i + 1] == '\n' ? 2 : 1;
            rc = vg_buf_puts(out, "\r\n");
            *col = 0;
            continue;
        }
        k = vg_utf8_seq((const unsigned char *)s + i, len - i);
        k = k > 0 ? k : 1;
        if (*col + k > EMAIL_LINE_MAX) {
            rc = vg_buf_puts(out, "\r\n");
            *col = 0;
        }
        if (rc == VG_OK)
            rc = vg_buf_append(out, s + i, k);
        *col += k;
        i += k;
    }
    return rc;
}

/* Date: as RFC 5322 3.3 writes it, in UTC, names in English whatever the locale. */
static int email_date(int64_t now_ns, struct vg_buf *out)
{
    static const char days[][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t t = (time_t)(now_ns / VG_NS_PER_SEC);
    struct tm tm;

    gmtime_r(&t, &tm);
    return vg_buf_printf(out, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n", days[tm.tm_wday],
                         tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                         tm.tm_sec);
}

static int email_headers(const struct vg_notice *n, const char *from, const char *const *to,
                         size_t n_to, int64_t now_ns, uint64_t id, struct vg_buf *out)
{
    const char *domain = strrchr(from, '@');
    char title[512];
    size_t i;
    int rc = email_date(now_ns, out);

    if (rc == VG_OK)
        rc = vg_buf_puts(out, "From: ");
    if (rc == VG_OK)
        rc = email_header_value(from, out);
    for (i = 0; rc == VG_OK && i < n_to; i++) {
        rc = vg_buf_puts(out, i == 0 ? "\r\nTo: " : ",\r\n ");
        if (rc == VG_OK)
            rc = email_header_value(to[i], out);
    }
    vg_notice_title(n, title, sizeof(title));
    for (i = 0; title[i] != '\0'; i++)
        title[i] = (unsigned char)title[i] < 0x20 ? ' ' : title[i];
    if (rc == VG_OK)
        rc = vg_buf_puts(out, "\r\nSubject: ");
    if (rc == VG_OK)
        rc = email_encode_header(title, out);
    if (rc == VG_OK)
        rc = vg_buf_printf(out, "\r\nMessage-ID: <%016llx.%lld@", (unsigned long long)id,
                           (long long)(now_ns / VG_NS_PER_MS));
    if (rc == VG_OK)
        rc = email_header_value(domain != NULL && domain[1] != '\0' ? domain + 1 : "vigil", out);
    if (rc == VG_OK)
        rc = vg_buf_puts(out, ">\r\nMIME-Version: 1.0\r\n"
                              "Content-Type: text/plain; charset=UTF-8\r\n"
                              "Content-Transfer-Encoding: 8bit\r\n"
                              "Auto-Submitted: auto-generated\r\n\r\n");
    return rc;
}

/* One alert: state and labels, annotations, times. */
static int email_alert(const struct vg_notice_alert *a, struct vg_buf *out)
{
    struct vg_buf t;
    char when[32];
    size_t i, col = 0;
    int rc;

    vg_buf_init(&t);
    rc = vg_buf_puts(&t, a->ends_at_ns == 0 ? "\n[FIRING]" : "\n[RESOLVED]");
    for (i = 0; rc == VG_OK && i < a->n_labels; i++)
        rc = vg_buf_printf(&t, " %s=%s", a->labels[i].name, a->labels[i].value);
    for (i = 0; rc == VG_OK && i < a->n_annotations; i++)
        rc = vg_buf_printf(&t, "\n%s: %s", a->annotations[i].name, a->annotations[i].value);
    vg_notice_time(a->starts_at_ns, when, sizeof(when));
    if (rc == VG_OK)
        rc = vg_buf_printf(&t, "\nstarted: %s", when);
    if (rc == VG_OK && a->ends_at_ns != 0) {
        vg_notice_time(a->ends_at_ns, when, sizeof(when));
        rc = vg_buf_printf(&t, "\nresolved: %s", when);
    }
    if (rc == VG_OK && a->generator_url != NULL)
        rc = vg_buf_printf(&t, "\nsource: %s", a->generator_url);
    if (rc == VG_OK)
        rc = vg_buf_puts(&t, "\n");
    if (rc == VG_OK)
        rc = email_body(t.data, out, &col);
    vg_buf_free(&t);
    return rc;
}

int email_message(const struct vg_notice *n, const char *from, const char *const *to, size_t n_to,
                  const char *node, int64_t now_ns, uint64_t id, struct vg_buf *out)
{
    char title[512];
    size_t i, col = 0;
    int rc = email_headers(n, from, to, n_to, now_ns, id, out);

    vg_notice_title(n, title, sizeof(title));
    if (rc == VG_OK)
        rc = email_body(title, out, &col);
    if (rc == VG_OK)
        rc = vg_buf_printf(out, "\r\nnode: %s\r\n", node != NULL && node[0] != '\0' ? node : "-");
    for (i = 0; rc == VG_OK && i < n->n_alerts; i++)
        rc = email_alert(&n->alerts[i], out);
    return rc;
}
