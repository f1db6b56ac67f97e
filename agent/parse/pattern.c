/*
 * pattern.c - PCRE2 patterns compiled once, matched without allocating
 * (see pattern.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "parser.h"
#include "pattern.h"

#define PT_JIT_STACK_START (32 * 1024)
#define PT_JIT_STACK_MAX   (1024 * 1024)

/* PCRE2 allocates through the core's allocator, so that tests can fail it. */
static void *pt_malloc(size_t size, void *data)
{
    (void)data;
    return vg_malloc(size);
}

static void pt_free(void *p, void *data)
{
    (void)data;
    free(p);
}

int vg_pattern_code(const char *pattern, pcre2_general_context *gctx, pcre2_code **out, char *why,
                    size_t why_size)
{
    pcre2_compile_context *cctx = pcre2_compile_context_create(gctx);
    PCRE2_UCHAR msg[256];
    PCRE2_SIZE off = 0;
    int ecode = 0;

    *out = NULL;
    if (cctx == NULL) {
        snprintf(why, why_size, "out of memory");
        return VG_ENOMEM;
    }
    pcre2_set_newline(cctx, PCRE2_NEWLINE_ANYCRLF);
    *out = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, PCRE2_NEVER_UTF, &ecode, &off,
                         cctx);
    pcre2_compile_context_free(cctx);
    if (*out != NULL) {
        /* without the JIT (a platform or pattern it does not cover) the
         * interpreter runs, slower, under the same limits */
        (void)pcre2_jit_compile(*out, PCRE2_JIT_COMPLETE);
        return VG_OK;
    }
    if (ecode == PCRE2_ERROR_NOMEMORY || ecode == PCRE2_ERROR_HEAP_FAILED) {
        snprintf(why, why_size, "out of memory");
        return VG_ENOMEM;
    }
    pcre2_get_error_message(ecode, msg, sizeof(msg));
    snprintf(why, why_size, "%s at offset %zu", (const char *)msg, (size_t)off);
    return VG_ECONFIG;
}

/* Match data, match context, limit and JIT stack, made once. */
static int pt_match_setup(struct vg_pattern *pt, uint32_t match_limit)
{
    size_t jit_size = 0;

    pt->md = pcre2_match_data_create_from_pattern(pt->code, pt->gctx);
    pt->mctx = pcre2_match_context_create(pt->gctx);
    if (pt->md == NULL || pt->mctx == NULL)
        return VG_ENOMEM;
    pcre2_set_match_limit(pt->mctx, match_limit);
    pt->jit = pcre2_pattern_info(pt->code, PCRE2_INFO_JITSIZE, &jit_size) == 0 && jit_size > 0;
    if (!pt->jit)
        return VG_OK;
    pt->jit_stack = pcre2_jit_stack_create(PT_JIT_STACK_START, PT_JIT_STACK_MAX, pt->gctx);
    if (pt->jit_stack == NULL)
        return VG_ENOMEM;
    pcre2_jit_stack_assign(pt->mctx, NULL, pt->jit_stack);
    return VG_OK;
}

int vg_pattern_compile(struct vg_pattern *pt, const char *pattern, uint32_t match_limit, char *why,
                       size_t why_size)
{
    int rc;

    pt->gctx = pcre2_general_context_create(pt_malloc, pt_free, NULL);
    if (pt->gctx == NULL) {
        snprintf(why, why_size, "out of memory");
        return VG_ENOMEM;
    }
    rc = vg_pattern_code(pattern, pt->gctx, &pt->code, why, why_size);
    if (rc != VG_OK)
        return rc;
    rc = pt_match_setup(pt, match_limit);
    if (rc != VG_OK)
        snprintf(why, why_size, "out of memory");
    return rc;
}

void vg_pattern_free(struct vg_pattern *pt)
{
    pcre2_jit_stack_free(pt->jit_stack);
    pcre2_match_context_free(pt->mctx);
    pcre2_match_data_free(pt->md);
    pcre2_code_free(pt->code);
    pcre2_general_context_free(pt->gctx);
    memset(pt, 0, sizeof(*pt));
}

int vg_pattern_match(struct vg_pattern *pt, const char *s, size_t len, size_t start)
{
    if (s == NULL) /* an empty text may come without its bytes */
        s = "";
    if (pt->jit)
        return pcre2_jit_match(pt->code, (PCRE2_SPTR)s, len, start, 0, pt->md, pt->mctx);
    return pcre2_match(pt->code, (PCRE2_SPTR)s, len, start, 0, pt->md, pt->mctx);
}

bool vg_pattern_is_limit(int rc)
{
    return rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
           rc == PCRE2_ERROR_HEAPLIMIT || rc == PCRE2_ERROR_JIT_STACKLIMIT ||
           rc == PCRE2_ERROR_NOMEMORY;
}

/* ------------------------------------------------------------------------
 * vg_regex (parser.h): a pattern on its own, for the log metrics.
 */

struct vg_regex {
    struct vg_pattern pt;
};

int vg_regex_create(const char *pattern, uint32_t match_limit, struct vg_regex **out, char *why,
                    size_t why_size)
{
    struct vg_regex *re = vg_calloc(1, sizeof(*re));
    int rc;

    *out = NULL;
    if (re == NULL) {
        snprintf(why, why_size, "out of memory");
        return VG_ENOMEM;
    }
    rc = vg_pattern_compile(&re->pt, pattern,
                            match_limit != 0 ? match_limit : VG_PARSER_MATCH_LIMIT, why, why_size);
    if (rc != VG_OK) {
        vg_regex_destroy(re);
        return rc;
    }
    *out = re;
    return VG_OK;
}

void vg_regex_destroy(struct vg_regex *re)
{
    if (re == NULL)
        return;
    vg_pattern_free(&re->pt);
    free(re);
}

int vg_regex_match(struct vg_regex *re, const char *s, size_t len, bool *limit)
{
    int rc = vg_pattern_match(&re->pt, s, len, 0);

    *limit = rc < 0 && vg_pattern_is_limit(rc);
    /* the match data fits the pattern: every group has its pair */
    return rc > 0 ? rc : VG_EPARSE;
}

bool vg_regex_span(const struct vg_regex *re, int pairs, uint32_t number, size_t *start,
                   size_t *len)
{
    const PCRE2_SIZE *ov = vg_pattern_ovector(&re->pt);

    if (pairs <= 0 || number >= (uint32_t)pairs || ov[2 * number] == PCRE2_UNSET ||
        ov[2 * number + 1] < ov[2 * number])
        return false;
    *start = ov[2 * number];
    *len = ov[2 * number + 1] - ov[2 * number];
    return true;
}

size_t vg_regex_name_count(const struct vg_regex *re)
{
    uint32_t count = 0;

    pcre2_pattern_info(re->pt.code, PCRE2_INFO_NAMECOUNT, &count);
    return count;
}

const char *vg_regex_name(const struct vg_regex *re, size_t i, uint32_t *number)
{
    uint32_t entry = 0;
    PCRE2_SPTR table = NULL;
    const unsigned char *e;

    pcre2_pattern_info(re->pt.code, PCRE2_INFO_NAMEENTRYSIZE, &entry);
    pcre2_pattern_info(re->pt.code, PCRE2_INFO_NAMETABLE, &table);
    e = table + i * entry;
    *number = (uint32_t)(e[0] << 8 | e[1]);
    return (const char *)e + 2;
}

int vg_regex_group(const struct vg_regex *re, const char *name)
{
    int n = pcre2_substring_number_from_name(re->pt.code, (PCRE2_SPTR)name);

    return n > 0 ? n : -1;
}
