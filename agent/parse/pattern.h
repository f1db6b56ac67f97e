/*
 * pattern.h - a PCRE2 pattern compiled once and matched against many
 * lines: what the regex parser, multiline rules and the grep and redact
 * filters share. Compiling gives PCRE2's own message and the offset of the
 * problem; matching runs the JIT where the platform has it, into match
 * data, a match limit and a bounded JIT stack made with the pattern, so
 * that a match allocates nothing.
 *
 * Patterns are compiled with PCRE2_NEVER_UTF (lines may be invalid UTF-8;
 * bytes are matched as bytes) and the ANYCRLF newline convention (`$` also
 * matches before the '\r' of a CRLF line). PCRE2 allocates through
 * vg_malloc, so that tests can fail it.
 */
#ifndef VG_PATTERN_H
#define VG_PATTERN_H

#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH 8
#endif

#include <pcre2.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vigil.h"

/* Most bytes of a compile error's text (PCRE2's message and the offset). */
#define VG_PATTERN_WHY_MAX 300

/* One compiled pattern; zero-initialised is "none" (vg_pattern_free is
 * then a no-op). Used by one thread at a time: the match data is shared. */
struct vg_pattern {
    pcre2_general_context *gctx;
    pcre2_code *code;
    pcre2_match_data *md; /* one pair per group of the pattern */
    pcre2_match_context *mctx;
    pcre2_jit_stack *jit_stack;
    bool jit;
};

/*
 * Compiles pattern alone (JIT where possible; without it the interpreter
 * runs, slower). gctx may be NULL (libc's allocator). VG_OK with *out set;
 * VG_ECONFIG with why = "missing closing parenthesis at offset 1"; or
 * VG_ENOMEM with why = "out of memory". *out is NULL on error.
 */
int vg_pattern_code(const char *pattern, pcre2_general_context *gctx, pcre2_code **out, char *why,
                    size_t why_size);

/*
 * Compiles pattern into pt with its match data, a match context limited to
 * match_limit backtracking steps and a JIT stack of 32 KiB growing to 1 MiB.
 * VG_OK, VG_ECONFIG or VG_ENOMEM, why as for vg_pattern_code. After an
 * error pt holds what was made so far: vg_pattern_free it.
 */
int vg_pattern_compile(struct vg_pattern *pt, const char *pattern, uint32_t match_limit, char *why,
                       size_t why_size);
void vg_pattern_free(struct vg_pattern *pt);

/* Matches s[0..len) from byte start (lookbehinds see what lies before).
 * PCRE2's result: > 0 a match (its pairs in vg_pattern_ovector), 0 never
 * (the match data fits the pattern), PCRE2_ERROR_NOMATCH, or another
 * negative code (vg_pattern_is_limit tells the limits apart). */
int vg_pattern_match(struct vg_pattern *pt, const char *s, size_t len, size_t start);

/* The pairs of the last match: [2 * n] start, [2 * n + 1] end of group n. */
static inline const PCRE2_SIZE *vg_pattern_ovector(const struct vg_pattern *pt)
{
    return pcre2_get_ovector_pointer(pt->md);
}

/* True when a negative match result means "a limit stopped the match"
 * (match limit, depth, heap, JIT stack, memory) rather than "no match". */
bool vg_pattern_is_limit(int rc);

#endif
