/*
 * fuzz_regex.c - the regex parser on arbitrary bytes. The nginx built-in
 * and a typed pattern with a time_key read every line of the input; then
 * the input's first line is compiled as a pattern of its own (what does
 * not compile is refused with VG_ECONFIG, nothing else) with a small match
 * limit and run on the rest, so that the wrapper meets whatever PCRE2
 * patterns and subjects can be. See fuzz_parser.h for what must hold.
 */
#include "fuzz_parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vg_parser *fz_nginx, *fz_typed;

static void fz_line(const char *line, size_t len)
{
    (void)fz_run(fz_nginx, line, len, NULL, NULL);
    (void)fz_run(fz_typed, line, len, NULL, NULL);
}

static void fz_setup(void)
{
    static const struct vg_parser_type types[] = {
        {"n", VG_FIELD_INT}, {"d", VG_FIELD_DOUBLE}, {"b", VG_FIELD_BOOL}};
    struct vg_parser_settings s = {
        .type = "regex",
        .pattern = "^(?<t>\\S+) (?<n>\\S*) (?<d>\\S*)(?: (?<b>\\S+))?(?: (?<rest>.*))?$",
        .types = types,
        .n_types = 3,
        .time_key = "t",
        .time_keep = true,
    };

    fz_nginx = fz_builtin("nginx");
    fz_typed = fz_make(&s);
}

/* The first line as a pattern, the rest as its subject. */
static void fz_pattern(const uint8_t *data, size_t size)
{
    const char *nl = memchr(data, '\n', size);
    struct vg_parser_settings s = {.type = "regex", .match_limit = 2000};
    struct vg_parser *p = NULL;
    struct vg_error err;
    size_t plen = nl != NULL ? (size_t)(nl - (const char *)data) : size;
    char *pattern = malloc(plen + 1);
    int rc;

    if (pattern == NULL)
        return;
    memcpy(pattern, data, plen);
    pattern[plen] = '\0';
    s.pattern = pattern;
    rc = vg_parser_create(&s, &p, &err);
    fz_check(rc == VG_OK || rc == VG_ECONFIG);
    if (rc == VG_OK && nl != NULL)
        (void)fz_run(p, nl + 1, size - plen - 1, NULL, NULL);
    vg_parser_destroy(p);
    free(pattern);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fz_nginx == NULL)
        fz_setup();
    fz_each_line(data, size, fz_line);
    fz_pattern(data, size);
    return 0;
}
