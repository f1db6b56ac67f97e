/*
 * multiline.c - grouping of decoded lines into multiline events (stack
 * traces), as a small state machine of (states, regex, next state) rules.
 *
 * A rule applies in the states of its `from` mask. With no group open, the
 * rules of ML_START are tried and the first match opens a group in its next
 * state; with a group open, the rules of the current state are tried and the
 * first match appends the line and moves on, while a line that matches none
 * closes the group and is then tried as a start itself.
 *
 * Each line's match results are cached per pattern, so a pattern shared by
 * two rules (start-only user patterns test it negated) runs once per line.
 * Patterns are compiled with PCRE2_NEVER_UTF (log lines may be invalid
 * UTF-8) and the ANYCRLF newline convention, so that `$` also matches before
 * the '\r' of a CRLF line.
 */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "parse.h"
#include "pattern.h"

#define ML_MAX_PATS  16
#define ML_MAX_RULES 16
#define ML_ALWAYS    0xff /* a rule without a pattern: matches every line */
#define ML_START     0    /* the state with no group open */
#define ML_S(state)  (1u << (state))

/* A rule as the presets declare it. */
struct ml_def {
    uint32_t from; /* ML_S() mask of the states it applies in */
    const char *re;
    uint8_t to;
};

struct ml_rule {
    uint32_t from;
    uint8_t pat; /* index into pats, or ML_ALWAYS */
    uint8_t to;
    bool negate; /* the rule matches the lines the pattern does not */
};

/* Read-only once compiled: shared by every state, on any thread. */
struct vg_multiline_rules {
    pcre2_code *pats[ML_MAX_PATS];
    size_t n_pats;
    struct ml_rule rules[ML_MAX_RULES];
    size_t n_rules;
    int64_t timeout_ms;
    uint64_t max_lines;
    uint64_t max_bytes;
};

struct vg_multiline {
    const struct vg_multiline_rules *r;
    pcre2_match_data *md; /* one per state: rules are shared, match data is not */
    struct vg_buf buf;    /* the open group's text, reused from group to group */
    bool open;
    uint8_t state; /* ML_START, or the state of the open (or cut) group */
    int64_t time_ns;
    int64_t last_mono_ns;
    uint64_t start_off;
    uint64_t end_off;
    uint64_t lines;
    bool truncated;
    int8_t seen[ML_MAX_PATS]; /* this line's result per pattern: -1 unknown, 0, 1 */
};

/* What ml_take must put back when the emit of a full group fails. */
struct ml_snapshot {
    size_t len;
    bool open;
    uint8_t state;
    int64_t time_ns;
    int64_t last_mono_ns;
    uint64_t start_off;
    uint64_t end_off;
    uint64_t lines;
    bool truncated;
};

/* ------------------------------------------------------------------------
 * Presets, modelled on the stack traces that the JVM, CPython and the Go
 * runtime print.
 */
enum { J_EXC = 1, J_AFTER, J_FRAMES };

static const struct ml_def ml_java[] = {
    {ML_S(ML_START) | ML_S(J_EXC), "(?:Exception|Error|Throwable|V8 errors stack trace)(?::|$)",
     J_AFTER},
    {ML_S(J_AFTER), "^[\\t ]*nested exception is:", J_EXC},
    {ML_S(J_AFTER), "^$", J_AFTER},
    {ML_S(J_AFTER) | ML_S(J_FRAMES), "^[\\t ]+(?:eval )?at ", J_FRAMES},
    {ML_S(J_AFTER) | ML_S(J_FRAMES), "^[\\t ]*(?:Caused by|Suppressed):", J_AFTER},
    {ML_S(J_AFTER) | ML_S(J_FRAMES), "^[\\t ]*\\.\\.\\. \\d+ (?:more|common frames omitted)",
     J_FRAMES},
    /* .NET traces share the shape */
    {ML_S(J_AFTER) | ML_S(J_FRAMES), "^[\\t ]+--- End of inner exception stack trace ---$",
     J_FRAMES},
    {ML_S(J_AFTER) | ML_S(J_FRAMES),
     "^--- End of stack trace from previous location where exception was thrown ---$", J_FRAMES},
};

enum { P_TB = 1, P_EXC, P_CHAIN };

static const struct ml_def ml_python[] = {
    {ML_S(ML_START), "^Traceback \\(most recent call last\\):$", P_TB},
    /* "  File ..." lines, their code lines and the "    ^^^^" markers */
    {ML_S(P_TB), "^[\\t ]", P_TB},
    {ML_S(P_TB), "^(?:[^\\s.():]+\\.)*[^\\s.():]+(?::|$)", P_EXC},
    /* a chained traceback follows a blank line and one of two sentences */
    {ML_S(P_EXC), "^$", P_EXC},
    {ML_S(P_EXC), "^During handling of the above exception, another exception occurred:$", P_CHAIN},
    {ML_S(P_EXC), "^The above exception was the direct cause of the following exception:$",
     P_CHAIN},
    {ML_S(P_CHAIN), "^$", P_CHAIN},
    {ML_S(P_CHAIN), "^Traceback \\(most recent call last\\):$", P_TB},
};

enum { G_PANIC = 1, G_SIGNAL, G_ROUTINE, G_FRAME1, G_FRAME2, G_END };

static const struct ml_def ml_go[] = {
    {ML_S(ML_START), "\\bpanic: ", G_PANIC},
    {ML_S(ML_START), "^fatal error: ", G_PANIC},
    {ML_S(ML_START), "http: panic serving", G_ROUTINE},
    {ML_S(G_PANIC), "^\\tpanic: ", G_PANIC}, /* a panic during a panic */
    {ML_S(G_PANIC), "^\\[signal ", G_SIGNAL},
    {ML_S(G_PANIC) | ML_S(G_SIGNAL) | ML_S(G_ROUTINE) | ML_S(G_FRAME1), "^$", G_ROUTINE},
    {ML_S(G_ROUTINE), "^goroutine \\d+ [^\\[]*\\[[^\\]]+\\]:$", G_FRAME1},
    {ML_S(G_ROUTINE), "^runtime stack:$", G_FRAME1},
    {ML_S(G_FRAME1), "^(?:[^\\s.:]+\\.)*[^\\s.():]+\\(|^created by ", G_FRAME2},
    {ML_S(G_FRAME1), "^\\.\\.\\.additional frames elided\\.\\.\\.$", G_FRAME1},
    {ML_S(G_FRAME2), "^\\s", G_FRAME1},
    {ML_S(G_FRAME1) | ML_S(G_ROUTINE), "^exit status \\d+$", G_END},
};

struct ml_preset {
    const char *name;
    const struct ml_def *defs;
    size_t n;
};

_Static_assert(VG_ARRAY_LEN(ml_java) <= ML_MAX_RULES, "java preset too large");
_Static_assert(VG_ARRAY_LEN(ml_python) <= ML_MAX_RULES, "python preset too large");
_Static_assert(VG_ARRAY_LEN(ml_go) <= ML_MAX_RULES, "go preset too large");

static const struct ml_preset ml_presets[] = {
    {"java", ml_java, VG_ARRAY_LEN(ml_java)},
    {"python", ml_python, VG_ARRAY_LEN(ml_python)},
    {"go", ml_go, VG_ARRAY_LEN(ml_go)},
};

/* ------------------------------------------------------------------------
 * Compiling.
 */

/* Compiles one pattern into r->pats; JIT when the platform has it (its
 * failure only costs speed: pcre2_match falls back to the interpreter).
 * VG_ECONFIG names the pattern (`what` says which), the error and offset. */
static int ml_add_pattern(struct vg_multiline_rules *r, const char *what, const char *re,
                          struct vg_error *err)
{
    char why[VG_PATTERN_WHY_MAX];
    pcre2_code *code;
    int rc = vg_pattern_code(re, NULL, &code, why, sizeof(why));

    if (rc == VG_ENOMEM)
        return vg_error_set(err, VG_ENOMEM, "multiline: out of memory");
    if (rc != VG_OK)
        return vg_error_set(err, VG_ECONFIG, "multiline %s pattern '%s': %s", what, re, why);
    r->pats[r->n_pats++] = code;
    return VG_OK;
}

static void ml_add_rule(struct vg_multiline_rules *r, uint32_t from, uint8_t pat, uint8_t to,
                        bool negate)
{
    struct ml_rule *rule = &r->rules[r->n_rules++];

    rule->from = from;
    rule->pat = pat;
    rule->to = to;
    rule->negate = negate;
}

/* A preset's rules, one pattern each. */
static int ml_build_preset(struct vg_multiline_rules *r, const struct ml_preset *p,
                           struct vg_error *err)
{
    size_t i;
    int rc;

    for (i = 0; i < p->n; i++) {
        rc = ml_add_pattern(r, p->name, p->defs[i].re, err);
        if (rc != VG_OK)
            return rc;
        ml_add_rule(r, p->defs[i].from, (uint8_t)(r->n_pats - 1), p->defs[i].to, false);
    }
    return VG_OK;
}

/* User patterns as parse.h maps them onto the state machine; state 1 is
 * "in a group". */
static int ml_build_user(struct vg_multiline_rules *r, const char *start, const char *cont,
                         struct vg_error *err)
{
    int rc = VG_OK;

    if (start != NULL) {
        rc = ml_add_pattern(r, "start", start, err);
        if (rc != VG_OK)
            return rc;
        ml_add_rule(r, ML_S(ML_START), 0, 1, false);
    }
    if (cont != NULL) {
        rc = ml_add_pattern(r, "continue", cont, err);
        if (rc != VG_OK)
            return rc;
        ml_add_rule(r, ML_S(1), (uint8_t)(r->n_pats - 1), 1, false);
    }
    if (cont == NULL) /* start alone: every line that is not a start continues */
        ml_add_rule(r, ML_S(1), 0, 1, true);
    if (start == NULL) /* continue alone: every other line opens a group */
        ml_add_rule(r, ML_S(ML_START), ML_ALWAYS, 1, false);
    return VG_OK;
}

/* Finds the preset by name; VG_ECONFIG naming the known ones otherwise. */
static int ml_find_preset(const char *name, const struct ml_preset **out, struct vg_error *err)
{
    size_t i;

    for (i = 0; i < VG_ARRAY_LEN(ml_presets); i++) {
        if (strcmp(ml_presets[i].name, name) == 0) {
            *out = &ml_presets[i];
            return VG_OK;
        }
    }
    return vg_error_set(err, VG_ECONFIG, "unknown multiline preset '%s' (known: java, python, go)",
                        name);
}

static const char *ml_given(const char *s)
{
    return s != NULL && s[0] != '\0' ? s : NULL;
}

/* Checks that the settings name exactly one way of grouping and sane limits.
 * An empty string counts as not given. */
static int ml_check_settings(const struct vg_multiline_settings *s, struct vg_error *err)
{
    const char *preset = ml_given(s->preset);
    bool patterns = ml_given(s->start) != NULL || ml_given(s->cont) != NULL;

    if (preset == NULL && !patterns)
        return vg_error_set(err, VG_ECONFIG, "multiline needs a preset, start or continue");
    if (preset != NULL && patterns)
        return vg_error_set(err, VG_ECONFIG,
                            "multiline preset '%s' cannot be combined with start or continue",
                            preset);
    if (s->timeout_ms < 0)
        return vg_error_set(err, VG_ECONFIG, "multiline timeout must not be negative");
    return VG_OK;
}

/* Validates the settings and compiles every pattern once. On success *out
 * owns the rules (vg_multiline_rules_destroy); on error *out is NULL and err
 * says why: VG_ECONFIG for settings and patterns, VG_ENOMEM. */
int vg_multiline_compile(const struct vg_multiline_settings *s, struct vg_multiline_rules **out,
                         struct vg_error *err)
{
    const struct ml_preset *preset = NULL;
    struct vg_multiline_rules *r = NULL;
    int rc;

    *out = NULL;
    rc = ml_check_settings(s, err);
    if (rc != VG_OK)
        goto done;
    if (ml_given(s->preset) != NULL) {
        rc = ml_find_preset(s->preset, &preset, err);
        if (rc != VG_OK)
            goto done;
    }
    r = vg_calloc(1, sizeof(*r));
    if (r == NULL) {
        rc = vg_error_set(err, VG_ENOMEM, "multiline: out of memory");
        goto done;
    }
    r->timeout_ms = s->timeout_ms;
    r->max_lines = s->max_lines;
    r->max_bytes = s->max_bytes;
    if (preset != NULL)
        rc = ml_build_preset(r, preset, err);
    else
        rc = ml_build_user(r, ml_given(s->start), ml_given(s->cont), err);
    if (rc != VG_OK)
        goto done;
    *out = r;
    r = NULL;
done:
    vg_multiline_rules_destroy(r);
    return rc;
}

void vg_multiline_rules_destroy(struct vg_multiline_rules *r)
{
    size_t i;

    if (r == NULL)
        return;
    for (i = 0; i < r->n_pats; i++)
        pcre2_code_free(r->pats[i]);
    free(r);
}

/* ------------------------------------------------------------------------
 * Grouping.
 */

/* A state for one stream; NULL when out of memory. The rules must outlive it. */
struct vg_multiline *vg_multiline_create(const struct vg_multiline_rules *r)
{
    struct vg_multiline *m = vg_calloc(1, sizeof(*m));

    if (m == NULL)
        return NULL;
    /* only whether a rule matched is ever asked: one pair is enough */
    m->md = pcre2_match_data_create(1, NULL);
    if (m->md == NULL) {
        free(m);
        return NULL;
    }
    m->r = r;
    vg_buf_init(&m->buf);
    return m;
}

void vg_multiline_destroy(struct vg_multiline *m)
{
    if (m == NULL)
        return;
    pcre2_match_data_free(m->md);
    vg_buf_free(&m->buf);
    free(m);
}

/* Whether the rule matches the line; each pattern runs at most once a line.
 * A match error (a limit reached) counts as no match. */
static bool ml_test(struct vg_multiline *m, const struct ml_rule *rule, const char *line,
                    size_t len)
{
    int rc;

    if (rule->pat == ML_ALWAYS)
        return true;
    if (m->seen[rule->pat] < 0) {
        rc = pcre2_match(m->r->pats[rule->pat], (PCRE2_SPTR)line, len, 0, 0, m->md, NULL);
        m->seen[rule->pat] = rc >= 0 ? 1 : 0;
    }
    return (m->seen[rule->pat] == 1) != rule->negate;
}

/* The first rule of `state` that the line matches, or NULL. */
static const struct ml_rule *ml_find(struct vg_multiline *m, uint8_t state, const char *line,
                                     size_t len)
{
    const struct ml_rule *rule;
    size_t i;

    for (i = 0; i < m->r->n_rules; i++) {
        rule = &m->r->rules[i];
        if ((rule->from & ML_S(state)) && ml_test(m, rule, line, len))
            return rule;
    }
    return NULL;
}

/* Hands the open group to fn. On success the group is closed (its buffer
 * kept for the next one); on fn's error it stays open, unchanged. */
static int ml_emit_open(struct vg_multiline *m, vg_multiline_emit_fn fn, void *arg)
{
    struct vg_multiline_group g = {
        .text = m->buf.data != NULL ? m->buf.data : "",
        .len = m->buf.len,
        .time_ns = m->time_ns,
        .start_off = m->start_off,
        .end_off = m->end_off,
        .lines = m->lines,
        .truncated = m->truncated,
    };
    int rc = fn(arg, &g);

    if (rc != VG_OK)
        return rc;
    m->open = false;
    return VG_OK;
}

/* Hands one line to fn as a group of its own, cut to max_bytes; no copy. */
static int ml_emit_line(const struct vg_multiline *m, const char *line, size_t len, int64_t time_ns,
                        uint64_t start_off, uint64_t end_off, vg_multiline_emit_fn fn, void *arg)
{
    uint64_t max = m->r->max_bytes;
    struct vg_multiline_group g = {
        .text = line,
        .len = max > 0 && len > max ? (size_t)max : len,
        .time_ns = time_ns,
        .start_off = start_off,
        .end_off = end_off,
        .lines = 1,
    };

    g.truncated = g.len < len;
    return fn(arg, &g);
}

/* Appends the line (after a '\n' unless it is the first) to the open group,
 * keeping at most max_bytes of text: the rest is dropped and marked. */
static int ml_append(struct vg_multiline *m, const char *line, size_t len)
{
    uint64_t max = m->r->max_bytes;
    size_t sep = m->lines > 0 ? 1 : 0;
    size_t room = SIZE_MAX;
    size_t n;

    if (max > 0)
        room = m->buf.len < max ? (size_t)(max - m->buf.len) : 0;
    if (room < sep + len)
        m->truncated = true;
    if (room < sep)
        return VG_OK;
    n = room - sep < len ? room - sep : len;
    /* reserving first keeps the two appends from failing half-way */
    if (vg_buf_reserve(&m->buf, sep + n) != VG_OK)
        return VG_ENOMEM;
    if (sep > 0)
        vg_buf_putc(&m->buf, '\n');
    vg_buf_append(&m->buf, line, n);
    return VG_OK;
}

static void ml_save(const struct vg_multiline *m, struct ml_snapshot *s)
{
    s->len = m->buf.len;
    s->open = m->open;
    s->state = m->state;
    s->time_ns = m->time_ns;
    s->last_mono_ns = m->last_mono_ns;
    s->start_off = m->start_off;
    s->end_off = m->end_off;
    s->lines = m->lines;
    s->truncated = m->truncated;
}

static void ml_restore(struct vg_multiline *m, const struct ml_snapshot *s)
{
    m->buf.len = s->len;
    if (m->buf.data != NULL)
        m->buf.data[s->len] = '\0';
    m->open = s->open;
    m->state = s->state;
    m->time_ns = s->time_ns;
    m->last_mono_ns = s->last_mono_ns;
    m->start_off = s->start_off;
    m->end_off = s->end_off;
    m->lines = s->lines;
    m->truncated = s->truncated;
}

/* Takes a line that a rule matched: opens a group if none is open, appends
 * and moves to the rule's state. A group reaching max_lines is emitted at
 * once, and its state is kept so that the rest of the trace goes on forming
 * groups rather than lines of their own. On any error everything is as it
 * was before the call, so the line can be fed again. */
static int ml_take(struct vg_multiline *m, const struct ml_rule *rule, const char *line, size_t len,
                   int64_t time_ns, uint64_t start_off, uint64_t end_off, int64_t now_ns,
                   vg_multiline_emit_fn fn, void *arg)
{
    struct ml_snapshot snap;
    int rc;

    ml_save(m, &snap);
    if (!m->open) {
        vg_buf_reset(&m->buf);
        m->open = true;
        m->time_ns = time_ns;
        m->start_off = start_off;
        m->lines = 0;
        m->truncated = false;
    }
    rc = ml_append(m, line, len);
    if (rc != VG_OK)
        goto fail;
    m->lines++;
    m->end_off = end_off;
    m->last_mono_ns = now_ns;
    m->state = rule->to;
    if (m->r->max_lines == 0 || m->lines < m->r->max_lines)
        return VG_OK;
    rc = ml_emit_open(m, fn, arg);
    if (rc == VG_OK)
        return VG_OK;
fail:
    ml_restore(m, &snap);
    return rc;
}

/* Feeds one line; see parse.h. Every error leaves the state so that the same
 * line can be fed again: a group that fails to be emitted stays open and the
 * line is not appended; a line whose own emit fails was not taken (a group it
 * closed before that was emitted and is gone, as it should be). */
int vg_multiline_push(struct vg_multiline *m, const char *line, size_t len, int64_t time_ns,
                      uint64_t start_off, uint64_t end_off, int64_t now_ns, vg_multiline_emit_fn fn,
                      void *arg)
{
    const struct ml_rule *rule;
    int rc;

    if (line == NULL && len > 0)
        return VG_EINVAL;
    if (line == NULL) /* PCRE2 10.42 refuses a NULL subject even when empty */
        line = "";
    memset(m->seen, -1, sizeof(m->seen));
    if (m->state != ML_START) {
        rule = ml_find(m, m->state, line, len);
        if (rule != NULL)
            return ml_take(m, rule, line, len, time_ns, start_off, end_off, now_ns, fn, arg);
        if (m->open) {
            rc = ml_emit_open(m, fn, arg);
            if (rc != VG_OK)
                return rc;
        }
        m->state = ML_START;
    }
    rule = ml_find(m, ML_START, line, len);
    if (rule != NULL)
        return ml_take(m, rule, line, len, time_ns, start_off, end_off, now_ns, fn, arg);
    return ml_emit_line(m, line, len, time_ns, start_off, end_off, fn, arg);
}

/* Emits the open group once it is due (or at once with force) and forgets
 * the trace it belonged to; on fn's error the group stays open. */
int vg_multiline_flush(struct vg_multiline *m, int64_t now_ns, bool force, vg_multiline_emit_fn fn,
                       void *arg)
{
    int rc;

    if (!m->open)
        return VG_OK;
    if (!force && now_ns < vg_multiline_deadline(m))
        return VG_OK;
    rc = ml_emit_open(m, fn, arg);
    if (rc != VG_OK)
        return rc;
    m->state = ML_START;
    return VG_OK;
}

bool vg_multiline_pending(const struct vg_multiline *m, uint64_t *start_off)
{
    if (m->open && start_off != NULL)
        *start_off = m->start_off;
    return m->open;
}

/* The last line's time plus the timeout, saturated at INT64_MAX. */
int64_t vg_multiline_deadline(const struct vg_multiline *m)
{
    int64_t t = m->r->timeout_ms;

    if (!m->open)
        return INT64_MAX;
    if (t > INT64_MAX / VG_NS_PER_MS)
        return INT64_MAX;
    t *= VG_NS_PER_MS;
    if (m->last_mono_ns > INT64_MAX - t)
        return INT64_MAX;
    return m->last_mono_ns + t;
}
