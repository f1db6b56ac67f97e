/*
 * log.c - the agent's own log: leveled, logfmt or JSON, to stderr.
 *
 * Lines are formatted into a local buffer and written with one write(2), so
 * lines from several threads never interleave. Every message goes through
 * vg_secret_mask first (secret.c).
 */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vigil.h"

static _Atomic int log_level = VG_LOG_INFO;
static _Atomic bool log_json = false;

static const char *const log_level_names[] = {"debug", "info", "warn", "error"};

void vg_log_setup(enum vg_log_level level, bool json)
{
    atomic_store(&log_level, (int)level);
    atomic_store(&log_json, json);
}

int vg_log_level_parse(const char *s, enum vg_log_level *out)
{
    size_t i;

    for (i = 0; i < VG_ARRAY_LEN(log_level_names); i++) {
        if (strcmp(s, log_level_names[i]) == 0) {
            *out = (enum vg_log_level)i;
            return VG_OK;
        }
    }
    if (strcmp(s, "warning") == 0) {
        *out = VG_LOG_WARN;
        return VG_OK;
    }
    return VG_EINVAL;
}

bool vg_log_enabled(enum vg_log_level level)
{
    return (int)level >= atomic_load(&log_level);
}

/* Appends a logfmt value: bare when it is a plain word, else quoted. */
static void log_logfmt_value(struct vg_buf *b, const char *v)
{
    const char *p;
    bool plain = *v != '\0';

    for (p = v; *p && plain; p++)
        plain = *p > ' ' && *p != '"' && *p != '=' && *p != '\\' && (unsigned char)*p < 0x7f;
    if (plain) {
        vg_buf_puts(b, v);
        return;
    }
    /* a JSON string is a valid quoted logfmt value */
    vg_buf_json_string(b, v, strlen(v));
}

void vg_logv(enum vg_log_level level, const char *plugin, const char *instance, const char *fmt,
             va_list ap)
{
    char raw[2048], msg[2048], ts[64];
    struct vg_buf b;
    struct timespec now;
    struct tm tm;
    ssize_t w;

    if (!vg_log_enabled(level))
        return;
    vsnprintf(raw, sizeof(raw), fmt, ap);
    vg_secret_mask(raw, NULL, msg, sizeof(msg));
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (int)(now.tv_nsec / 1000000L) % 1000);
    if (plugin == NULL)
        plugin = "agent";
    if (instance == NULL)
        instance = plugin;

    vg_buf_init(&b);
    if (atomic_load(&log_json)) {
        vg_buf_printf(&b, "{\"ts\":\"%s\",\"level\":\"%s\",\"plugin\":", ts,
                      log_level_names[level]);
        vg_buf_json_string(&b, plugin, strlen(plugin));
        vg_buf_puts(&b, ",\"instance\":");
        vg_buf_json_string(&b, instance, strlen(instance));
        vg_buf_puts(&b, ",\"msg\":");
        vg_buf_json_string(&b, msg, strlen(msg));
        vg_buf_puts(&b, "}\n");
    } else {
        vg_buf_printf(&b, "ts=%s level=%s plugin=", ts, log_level_names[level]);
        log_logfmt_value(&b, plugin);
        vg_buf_puts(&b, " instance=");
        log_logfmt_value(&b, instance);
        vg_buf_puts(&b, " msg=");
        vg_buf_json_string(&b, msg, strlen(msg));
        vg_buf_putc(&b, '\n');
    }
    if (b.data != NULL) {
        w = write(STDERR_FILENO, b.data, b.len);
        (void)w; /* nowhere left to report a failing stderr */
    }
    vg_buf_free(&b);
}

const char *vg_errno_str(int errnum)
{
    static _Thread_local char buf[128];

    return strerror_r(errnum, buf, sizeof(buf)); /* GNU: may return a static string */
}

void vg_log(enum vg_log_level level, const char *plugin, const char *instance, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vg_logv(level, plugin, instance, fmt, ap);
    va_end(ap);
}

void vg_complain(struct vg_complain *c, enum vg_log_level level, const char *plugin,
                 const char *instance, const char *fmt, ...)
{
    int64_t now = vg_mono_ns();
    int64_t interval = c->interval_ns > 0 ? c->interval_ns : 60 * VG_NS_PER_SEC;
    char msg[1800];
    va_list ap;

    if (c->active && now - c->last_ns < interval) {
        c->suppressed++;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (c->suppressed > 0)
        vg_log(level, plugin, instance, "%s (%llu similar messages suppressed)", msg,
               (unsigned long long)c->suppressed);
    else
        vg_log(level, plugin, instance, "%s", msg);
    c->active = true;
    c->last_ns = now;
    c->suppressed = 0;
}

void vg_complain_clear(struct vg_complain *c, const char *plugin, const char *instance,
                       const char *what)
{
    if (!c->active)
        return;
    vg_log(VG_LOG_INFO, plugin, instance, "%s recovered", what);
    c->active = false;
    c->suppressed = 0;
}
