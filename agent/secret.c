/*
 * secret.c - secrets kept out of messages: the values of secret options
 * and the credentials of URLs ("scheme://user:password@host") become
 * VG_SECRET_MASK in every log line (log.c), every configuration error
 * (config.c) and every failure an output reports (pipeline_worker.c).
 *
 * The values are registered while the plan is built and read by every
 * thread that logs; secret_mu guards the list. A value stays registered
 * until vg_secret_forget_all (tests) or the end of the process.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "vigil.h"

static pthread_mutex_t secret_mu = PTHREAD_MUTEX_INITIALIZER;
static char **secret_v; /* the registered values, under secret_mu */
static size_t secret_n, secret_cap;

int vg_secret_add(const char *value)
{
    size_t i;
    char *copy = NULL;
    void *v;
    int rc = VG_OK;

    if (value == NULL || strlen(value) < VG_SECRET_MIN)
        return VG_OK;
    pthread_mutex_lock(&secret_mu);
    for (i = 0; i < secret_n; i++)
        if (strcmp(secret_v[i], value) == 0)
            goto out;
    v = secret_v;
    rc = vg_grow(&v, &secret_cap, secret_n + 1, sizeof(*secret_v));
    secret_v = v;
    if (rc == VG_OK)
        copy = vg_strdup(value);
    if (copy == NULL) {
        rc = VG_ENOMEM;
        goto out;
    }
    secret_v[secret_n++] = copy;
out:
    pthread_mutex_unlock(&secret_mu);
    return rc;
}

void vg_secret_forget_all(void)
{
    size_t i;

    pthread_mutex_lock(&secret_mu);
    for (i = 0; i < secret_n; i++) {
        memset(secret_v[i], 0, strlen(secret_v[i]));
        free(secret_v[i]);
    }
    free(secret_v);
    secret_v = NULL;
    secret_n = 0;
    secret_cap = 0;
    pthread_mutex_unlock(&secret_mu);
}

/* The masked text as it is written: out[0..len), cut at size - 1. */
struct secret_out {
    char *p;
    size_t len, size;
};

static void secret_put(struct secret_out *o, const char *s, size_t n)
{
    size_t room = o->size - 1 - o->len;

    if (n > room)
        n = room;
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

/* A byte that ends a URL in running text. */
static bool secret_url_end(char c)
{
    return c == '\0' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '"' || c == '\'' ||
           c == '`' || c == '<' || c == '>';
}

/* At p, just past "://": the length of the userinfo up to its last '@'
 * before the end of the URL (or before the next "://"), 0 when none. A
 * path that holds an '@' is masked too: better too much than too little. */
static size_t secret_userinfo_len(const char *p)
{
    size_t i, at = 0;

    for (i = 0; !secret_url_end(p[i]) && strncmp(p + i, "://", 3) != 0; i++)
        if (p[i] == '@')
            at = i;
    return at;
}

/* The length of the longest registered secret (or of also[0..also_len))
 * that starts at p, 0 when none. Under secret_mu. */
static size_t secret_match(const char *p, const char *also, size_t also_len)
{
    size_t i, n, best = 0;

    if (also_len > 0 && strncmp(p, also, also_len) == 0)
        best = also_len;
    for (i = 0; i < secret_n; i++) {
        if (secret_v[i][0] != p[0])
            continue;
        n = strlen(secret_v[i]);
        if (n > best && strncmp(p, secret_v[i], n) == 0)
            best = n;
    }
    return best;
}

const char *vg_secret_mask(const char *text, const char *also, char *out, size_t size)
{
    struct secret_out o = {out, 0, size};
    const char *p = text != NULL ? text : "";
    size_t n, also_len = also != NULL ? strlen(also) : 0;

    if (size == 0)
        return out;
    pthread_mutex_lock(&secret_mu);
    while (*p != '\0' && o.len + 1 < size) {
        n = secret_match(p, also, also_len);
        if (n > 0) {
            secret_put(&o, VG_SECRET_MASK, sizeof(VG_SECRET_MASK) - 1);
            p += n;
            continue;
        }
        if (strncmp(p, "://", 3) == 0) {
            secret_put(&o, p, 3);
            p += 3;
            n = secret_userinfo_len(p);
            if (n > 0)
                secret_put(&o, VG_SECRET_MASK, sizeof(VG_SECRET_MASK) - 1);
            p += n;
            continue;
        }
        secret_put(&o, p, 1);
        p++;
    }
    pthread_mutex_unlock(&secret_mu);
    out[o.len] = '\0';
    return out;
}
