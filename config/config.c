/*
 * config.c - the YAML loader: libyaml events to a vg_config_node tree, with
 * ${VAR} expansion, positions for every node and one list of every error.
 *
 * The tree is built from libyaml's event stream with an explicit stack, so
 * that hostile nesting is refused at CFG_MAX_DEPTH instead of exhausting the
 * C stack. Errors that leave the tree usable (an unset variable, a duplicate
 * key) are collected and parsing goes on; errors that do not (YAML syntax,
 * an alias) stop it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "alloc.h"
#include "config.h"

#define CFG_MAX_DEPTH   64
#define CFG_MAX_FILE    (4u << 20) /* a config larger than this is a mistake */
#define CFG_MAX_ERRORS  200        /* errors kept; memory stays bounded */
#define CFG_MAX_VARNAME 128

/* ------------------------------------------------------------------------
 * Error lists.
 */

void vg_errors_init(struct vg_errors *e)
{
    memset(e, 0, sizeof(*e));
}

static void cfg_strs_free(char **v, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void vg_errors_free(struct vg_errors *e)
{
    cfg_strs_free(e->msgs, e->n);
    cfg_strs_free(e->warns, e->n_warns);
    free(e->at);
    memset(e, 0, sizeof(*e));
}

/* Appends a copy of msg to *v. Past CFG_MAX_ERRORS one last line says so
 * and the rest is dropped; an allocation failure drops the message silently
 * since there is nowhere left to report it. False when nothing was added. */
static bool cfg_strs_push(char ***v, size_t n, const char *msg)
{
    char **grown;
    char *copy;

    if (n > CFG_MAX_ERRORS)
        return false;
    if (n == CFG_MAX_ERRORS)
        msg = "too many errors; the rest are not shown";
    copy = vg_strdup(msg);
    if (copy == NULL)
        return false;
    grown = vg_realloc(*v, (n + 1) * sizeof(*grown));
    if (grown == NULL) {
        free(copy);
        return false;
    }
    grown[n] = copy;
    *v = grown;
    return true;
}

/* One error per value: what a value that was already refused (an unset
 * variable, say) makes of the options and checks after it would only
 * repeat the first error. */
static void cfg_errors_push(struct vg_errors *e, const struct vg_config_node *at, const char *msg)
{
    const struct vg_config_node **ats;

    if (at != NULL && at->kind == VG_NODE_SCALAR && vg_errors_about(e, 0, at))
        return;
    ats = vg_realloc(e->at, (e->n + 1) * sizeof(*ats));

    if (ats == NULL)
        return;
    e->at = ats;
    if (!cfg_strs_push(&e->msgs, e->n, msg))
        return;
    e->at[e->n++] = at;
}

static void cfg_add(struct vg_errors *e, const struct vg_config_node *at, bool warning,
                    const char *fmt, va_list ap) VG_PRINTF(4, 0);

/* Adds "FILE:LINE: " (when at is given), "warning: " for a warning, then
 * fmt, to the errors or the warnings. Secrets in the message (a URL's
 * credentials, a secret option's value) are masked before it is kept. */
static void cfg_add(struct vg_errors *e, const struct vg_config_node *at, bool warning,
                    const char *fmt, va_list ap)
{
    char msg[VG_ERROR_MAX * 2], masked[VG_ERROR_MAX * 2];
    const char *tag = warning ? "warning: " : "", *text;
    size_t off = 0;
    int n;

    msg[0] = '\0';
    n = at != NULL ? snprintf(msg, sizeof(msg), "%s:%d: %s",
                              at->file != NULL ? at->file : "<config>", at->line, tag)
                   : snprintf(msg, sizeof(msg), "%s", tag);
    if (n > 0)
        off = (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1;
    vsnprintf(msg + off, sizeof(msg) - off, fmt, ap);
    text = vg_secret_mask(msg, NULL, masked, sizeof(masked));
    if (!warning)
        cfg_errors_push(e, at, text);
    else if (cfg_strs_push(&e->warns, e->n_warns, text))
        e->n_warns++;
}

void vg_errors_add(struct vg_errors *e, const struct vg_config_node *at, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    cfg_add(e, at, false, fmt, ap);
    va_end(ap);
}

void vg_errors_warn(struct vg_errors *e, const struct vg_config_node *at, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    cfg_add(e, at, true, fmt, ap);
    va_end(ap);
}

void vg_errors_entryv(struct vg_errors *e, size_t from, const struct vg_config_node *at, bool once,
                      const char *where, const char *fmt, va_list ap)
{
    char msg[VG_ERROR_MAX];

    if (once && vg_errors_about(e, from, at))
        return;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    vg_errors_add(e, at, "%s: %s", where, msg);
}

bool vg_errors_about(const struct vg_errors *e, size_t from, const struct vg_config_node *at)
{
    size_t i;

    for (i = from; at != NULL && i < e->n; i++)
        if (e->at[i] == at)
            return true;
    return false;
}

static int cfg_error_line(const struct vg_errors *e, size_t i)
{
    if (i == CFG_MAX_ERRORS) /* "too many errors" comes last */
        return INT_MAX;
    return e->at[i] != NULL ? e->at[i]->line : 0;
}

/* In the order of the file's lines (errors without a line first, then the
 * order they were found in), whatever stage found them. */
void vg_errors_print(const struct vg_errors *e, FILE *f)
{
    size_t order[CFG_MAX_ERRORS + 1];
    size_t i, j, n = e->n < VG_ARRAY_LEN(order) ? e->n : VG_ARRAY_LEN(order);

    for (i = 0; i < n; i++) {
        for (j = i; j > 0 && cfg_error_line(e, order[j - 1]) > cfg_error_line(e, i); j--)
            order[j] = order[j - 1];
        order[j] = i;
    }
    for (i = 0; i < n; i++)
        fprintf(f, "%s\n", e->msgs[order[i]]);
}

void vg_errors_print_warnings(const struct vg_errors *e, FILE *f)
{
    size_t i;

    for (i = 0; i < e->n_warns; i++)
        fprintf(f, "%s\n", e->warns[i]);
}

/* ------------------------------------------------------------------------
 * Nodes.
 */

const struct vg_config_node *vg_node_get(const struct vg_config_node *map, const char *key)
{
    const struct vg_config_node *c;

    if (map == NULL || map->kind != VG_NODE_MAP || key == NULL)
        return NULL;
    for (c = map->children; c != NULL; c = c->next)
        if (c->key != NULL && strcmp(c->key, key) == 0)
            return c;
    return NULL;
}

/* Frees a tree. Depth is bounded by CFG_MAX_DEPTH, so recursion is safe. */
static void cfg_node_free(struct vg_config_node *n)
{
    struct vg_config_node *c, *next;

    if (n == NULL)
        return;
    for (c = n->children; c != NULL; c = next) {
        next = c->next;
        cfg_node_free(c);
    }
    free(n->key);
    free(n->value);
    free(n);
}

void vg_config_free(struct vg_config *cfg)
{
    if (cfg == NULL)
        return;
    cfg_node_free(cfg->root);
    free(cfg->file);
    free(cfg);
}

/* ------------------------------------------------------------------------
 * The builder: a stack of open maps and sequences.
 */
struct cfg_frame {
    struct vg_config_node *node; /* the map or sequence being filled */
    struct vg_config_node *tail;
    char *pending_key; /* map: a key waiting for its value */
    int key_line;
    int key_col;
};

struct cfg_builder {
    const char *file; /* owned by the vg_config */
    const char *text;
    size_t len;
    struct vg_errors *errs;
    struct cfg_frame stack[CFG_MAX_DEPTH];
    int depth;
    struct vg_config_node *root;
    int documents;
    bool failed;        /* an error was reported; the tree is discarded at the end */
    bool values_failed; /* a value is wrong (duplicate key, unset variable); the tree is whole */
    bool stop;          /* an error after which the event stream cannot be followed */
};

static void cfg_error_at(struct cfg_builder *b, yaml_mark_t mark, const char *fmt, ...)
    VG_PRINTF(3, 4);

/* Reports "FILE:LINE:COL: message" for a position that has no node yet. */
static void cfg_error_at(struct cfg_builder *b, yaml_mark_t mark, const char *fmt, ...)
{
    char msg[VG_ERROR_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    vg_errors_add(b->errs, NULL, "%s:%zu:%zu: %s", b->file, mark.line + 1, mark.column + 1, msg);
    b->failed = true;
}

/* True for a shell variable name: [A-Za-z_][A-Za-z0-9_]*. */
static bool cfg_var_name_ok(const char *s, size_t n)
{
    size_t i;

    if (n == 0 || n >= CFG_MAX_VARNAME)
        return false;
    for (i = 0; i < n; i++) {
        char c = s[i];

        if (!(c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              (i > 0 && c >= '0' && c <= '9')))
            return false;
    }
    return true;
}

/*
 * Expands one reference ref[0..n): "${NAME}" or "${NAME:-default}". An
 * empty variable counts as unset for ":-", as in the shell. Returns VG_OK,
 * VG_ECONFIG (reported against node) or VG_ENOMEM.
 */
static int cfg_expand_var(struct cfg_builder *b, const struct vg_config_node *node, const char *ref,
                          size_t n, struct vg_buf *out)
{
    const char *body = ref + 2, *end = ref + n - 1; /* between "${" and "}" */
    const char *sep = memmem(body, (size_t)(end - body), ":-", 2);
    size_t name_len = (size_t)((sep != NULL ? sep : end) - body);
    char name[CFG_MAX_VARNAME];
    const char *val;

    if (!cfg_var_name_ok(body, name_len)) {
        vg_errors_add(b->errs, node, "invalid variable reference '%.*s'", (int)n, ref);
        return VG_ECONFIG;
    }
    memcpy(name, body, name_len);
    name[name_len] = '\0';
    val = getenv(name);
    if (val != NULL && val[0] != '\0')
        return vg_buf_puts(out, val) == VG_OK ? VG_OK : VG_ENOMEM;
    if (sep != NULL)
        return vg_buf_append(out, sep + 2, (size_t)(end - sep - 2)) == VG_OK ? VG_OK : VG_ENOMEM;
    if (val != NULL)
        return VG_OK;
    vg_errors_add(b->errs, node,
                  "environment variable '%s' is not set (write ${%s:-default} to give a "
                  "default)",
                  name, name);
    return VG_ECONFIG;
}

/*
 * Expands ${VAR}, ${VAR:-default} and $$ in src[0..len) into out; any other
 * '$' is kept. Every problem is reported against node (its line) and makes
 * the result an error; returns VG_OK, VG_ECONFIG or VG_ENOMEM.
 */
static int cfg_expand(struct cfg_builder *b, const struct vg_config_node *node, const char *src,
                      size_t len, struct vg_buf *out)
{
    size_t i = 0;
    int rc = VG_OK, r;

    while (i < len) {
        const char *close;

        if (src[i] != '$' || i + 1 >= len || (src[i + 1] != '$' && src[i + 1] != '{')) {
            if (vg_buf_putc(out, src[i]) != VG_OK)
                return VG_ENOMEM;
            i++;
            continue;
        }
        if (src[i + 1] == '$') {
            if (vg_buf_putc(out, '$') != VG_OK)
                return VG_ENOMEM;
            i += 2;
            continue;
        }
        close = memchr(src + i + 2, '}', len - i - 2);
        if (close == NULL) {
            vg_errors_add(b->errs, node, "unterminated '${' in '%.*s' (write '$$' for a '$')",
                          (int)len, src);
            return VG_ECONFIG;
        }
        r = cfg_expand_var(b, node, src + i, (size_t)(close - (src + i)) + 1, out);
        if (r == VG_ENOMEM)
            return r;
        if (r != VG_OK)
            rc = r;
        i = (size_t)(close - src) + 1;
    }
    return rc;
}

/* Sets node->value from a scalar event: expanded, NUL-terminated. */
static int cfg_scalar_value(struct cfg_builder *b, struct vg_config_node *node,
                            const yaml_event_t *ev)
{
    const char *src = (const char *)ev->data.scalar.value;
    size_t len = ev->data.scalar.length;
    struct vg_buf out;
    int rc;

    if (memchr(src, '\0', len) != NULL) {
        vg_errors_add(b->errs, node, "a NUL byte in a value is not supported");
        b->failed = true;
        return VG_OK;
    }
    vg_buf_init(&out);
    rc = cfg_expand(b, node, src, len, &out);
    if (rc == VG_ECONFIG)
        b->values_failed = true;
    if (rc == VG_ENOMEM)
        goto out;
    if (vg_buf_reserve(&out, 1) != VG_OK) {
        rc = VG_ENOMEM;
        goto out;
    }
    out.data[out.len] = '\0';
    node->value = out.data;
    out.data = NULL;
    rc = VG_OK;
out:
    vg_buf_free(&out);
    return rc;
}

/* A scalar event seen where its map expects a key: keep it as the pending
 * key. Returns VG_OK or VG_ENOMEM. */
static int cfg_take_key(struct cfg_builder *b, struct cfg_frame *f, const yaml_event_t *ev)
{
    const char *key = (const char *)ev->data.scalar.value;
    size_t len = ev->data.scalar.length;

    if (memchr(key, '\0', len) != NULL) {
        cfg_error_at(b, ev->start_mark, "a NUL byte in a key is not supported");
        b->stop = true;
        return VG_OK;
    }
    f->pending_key = vg_strndup(key, len);
    if (f->pending_key == NULL)
        return VG_ENOMEM;
    f->key_line = (int)ev->start_mark.line + 1;
    f->key_col = (int)ev->start_mark.column + 1;
    return VG_OK;
}

/* Links a new node under the open frame (or as the root). A map value takes
 * its key and the key's position. */
static void cfg_attach(struct cfg_builder *b, struct vg_config_node *n)
{
    struct cfg_frame *f;

    if (b->depth == 0) {
        b->root = n;
        return;
    }
    f = &b->stack[b->depth - 1];
    if (f->node->kind == VG_NODE_MAP) {
        n->key = f->pending_key;
        n->line = f->key_line;
        n->col = f->key_col;
        f->pending_key = NULL;
    }
    if (f->tail != NULL)
        f->tail->next = n;
    else
        f->node->children = n;
    f->tail = n;
    f->node->n_children++;
}

/* Handles a scalar, mapping-start or sequence-start event: a new node, or a
 * map key. Returns VG_OK or VG_ENOMEM; YAML-level problems set b->failed. */
static int cfg_on_node(struct cfg_builder *b, const yaml_event_t *ev, enum vg_node_kind kind)
{
    struct cfg_frame *parent = b->depth > 0 ? &b->stack[b->depth - 1] : NULL;
    struct vg_config_node *n;
    int rc = VG_OK;

    if (parent != NULL && parent->node->kind == VG_NODE_MAP && parent->pending_key == NULL) {
        if (kind != VG_NODE_SCALAR) {
            cfg_error_at(b, ev->start_mark, "a map or sequence as a key is not supported");
            b->stop = true;
            return VG_OK;
        }
        return cfg_take_key(b, parent, ev);
    }
    if (kind != VG_NODE_SCALAR && b->depth >= CFG_MAX_DEPTH) {
        cfg_error_at(b, ev->start_mark, "nested more than %d levels deep", CFG_MAX_DEPTH);
        b->stop = true;
        return VG_OK;
    }
    n = vg_calloc(1, sizeof(*n));
    if (n == NULL)
        return VG_ENOMEM;
    n->kind = kind;
    n->file = b->file;
    n->line = (int)ev->start_mark.line + 1;
    n->col = (int)ev->start_mark.column + 1;
    cfg_attach(b, n);
    if (kind == VG_NODE_SCALAR) {
        n->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
        rc = cfg_scalar_value(b, n, ev);
    } else {
        struct cfg_frame *f = &b->stack[b->depth++];

        memset(f, 0, sizeof(*f));
        f->node = n;
    }
    return rc;
}

static int cfg_cmp_key(const void *pa, const void *pb)
{
    const struct vg_config_node *a = *(const struct vg_config_node *const *)pa;
    const struct vg_config_node *b = *(const struct vg_config_node *const *)pb;
    int c = strcmp(a->key, b->key);

    if (c != 0)
        return c;
    return (a->line > b->line) - (a->line < b->line);
}

/* Reports every key of map given more than once, at its later positions.
 * Sorting keeps this O(n log n) for maps of any size. */
static int cfg_check_duplicates(struct cfg_builder *b, const struct vg_config_node *map)
{
    struct vg_config_node **v;
    struct vg_config_node *c;
    size_t i = 0, first = 0;

    if (map->n_children < 2)
        return VG_OK;
    v = vg_malloc(map->n_children * sizeof(*v));
    if (v == NULL)
        return VG_ENOMEM;
    for (c = map->children; c != NULL; c = c->next)
        v[i++] = c;
    qsort(v, map->n_children, sizeof(*v), cfg_cmp_key);
    for (i = 1; i < map->n_children; i++) {
        if (strcmp(v[i - 1]->key, v[i]->key) != 0) {
            first = i;
            continue;
        }
        vg_errors_add(b->errs, v[i], "duplicate key '%s' (first given at line %d)", v[i]->key,
                      v[first]->line);
        b->values_failed = true;
    }
    free(v);
    return VG_OK;
}

/* Closes the innermost map or sequence. */
static int cfg_on_end(struct cfg_builder *b)
{
    struct cfg_frame *f;
    int rc = VG_OK;

    if (b->depth == 0)
        return VG_OK;
    f = &b->stack[--b->depth];
    free(f->pending_key);
    f->pending_key = NULL;
    if (f->node->kind == VG_NODE_MAP)
        rc = cfg_check_duplicates(b, f->node);
    return rc;
}

/* Counts the line of a byte offset, for reader errors that carry no mark. */
static size_t cfg_line_of(const struct cfg_builder *b, size_t offset)
{
    size_t i, line = 1;

    for (i = 0; i < offset && i < b->len; i++)
        if (b->text[i] == '\n')
            line++;
    return line;
}

/* Reports the parser's own error as FILE:LINE:COL: problem (context). */
static void cfg_yaml_error(struct cfg_builder *b, const yaml_parser_t *p)
{
    const char *problem = p->problem != NULL ? p->problem : "invalid YAML";

    b->failed = true;
    if (p->error == YAML_MEMORY_ERROR) {
        vg_errors_add(b->errs, NULL, "%s: out of memory while parsing", b->file);
    } else if (p->error == YAML_READER_ERROR) {
        vg_errors_add(b->errs, NULL, "%s:%zu: %s (byte offset %zu)", b->file,
                      cfg_line_of(b, p->problem_offset), problem, p->problem_offset);
    } else if (p->context != NULL) {
        vg_errors_add(b->errs, NULL, "%s:%zu:%zu: %s (%s at line %zu)", b->file,
                      p->problem_mark.line + 1, p->problem_mark.column + 1, problem, p->context,
                      p->context_mark.line + 1);
    } else {
        vg_errors_add(b->errs, NULL, "%s:%zu:%zu: %s", b->file, p->problem_mark.line + 1,
                      p->problem_mark.column + 1, problem);
    }
}

/* Refuses anchors, aliases and documents after the first. */
static bool cfg_refused(struct cfg_builder *b, const yaml_event_t *ev)
{
    const yaml_char_t *anchor = NULL;

    if (ev->type == YAML_ALIAS_EVENT) {
        cfg_error_at(b, ev->start_mark, "aliases ('*%s') are not supported; repeat the value",
                     (const char *)ev->data.alias.anchor);
        return true;
    }
    if (ev->type == YAML_SCALAR_EVENT)
        anchor = ev->data.scalar.anchor;
    else if (ev->type == YAML_MAPPING_START_EVENT)
        anchor = ev->data.mapping_start.anchor;
    else if (ev->type == YAML_SEQUENCE_START_EVENT)
        anchor = ev->data.sequence_start.anchor;
    if (anchor != NULL) {
        cfg_error_at(b, ev->start_mark, "anchors ('&%s') are not supported; repeat the value",
                     (const char *)anchor);
        return true;
    }
    if (ev->type == YAML_DOCUMENT_START_EVENT && ++b->documents > 1) {
        cfg_error_at(b, ev->start_mark, "more than one YAML document in one file");
        return true;
    }
    return false;
}

/* Handles one event; sets *done at the end of the stream. */
static int cfg_on_event(struct cfg_builder *b, const yaml_event_t *ev, bool *done)
{
    if (cfg_refused(b, ev)) {
        b->stop = true;
        return VG_OK;
    }
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        return cfg_on_node(b, ev, VG_NODE_SCALAR);
    case YAML_MAPPING_START_EVENT:
        return cfg_on_node(b, ev, VG_NODE_MAP);
    case YAML_SEQUENCE_START_EVENT:
        return cfg_on_node(b, ev, VG_NODE_SEQ);
    case YAML_MAPPING_END_EVENT:
    case YAML_SEQUENCE_END_EVENT:
        return cfg_on_end(b);
    case YAML_STREAM_END_EVENT:
        *done = true;
        return VG_OK;
    default:
        return VG_OK;
    }
}

/* Runs the parser over the text until the end, a fatal error or ENOMEM. */
static int cfg_parse(struct cfg_builder *b)
{
    yaml_parser_t parser;
    bool done = false;
    int rc = VG_OK;

    if (yaml_parser_initialize(&parser) == 0)
        return VG_ENOMEM;
    yaml_parser_set_input_string(&parser, (const unsigned char *)b->text, b->len);
    while (!done && !b->stop && rc == VG_OK) {
        yaml_event_t ev;

        if (yaml_parser_parse(&parser, &ev) == 0) {
            cfg_yaml_error(b, &parser);
            break;
        }
        rc = cfg_on_event(b, &ev, &done);
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    while (b->depth > 0) {
        free(b->stack[b->depth - 1].pending_key);
        b->depth--;
    }
    return rc;
}

/* A plain null scalar as the whole document counts as an empty document. */
static bool cfg_is_null_root(const struct vg_config_node *n)
{
    return n->kind == VG_NODE_SCALAR && !n->quoted &&
           (n->value[0] == '\0' || strcmp(n->value, "~") == 0 || strcmp(n->value, "null") == 0);
}

/* Checks what the whole document is: a map, or nothing. */
static void cfg_check_root(struct cfg_builder *b)
{
    if (b->root == NULL || b->failed)
        return;
    if (cfg_is_null_root(b->root)) {
        cfg_node_free(b->root);
        b->root = NULL;
        return;
    }
    if (b->root->kind != VG_NODE_MAP) {
        vg_errors_add(b->errs, b->root,
                      "the configuration must be a map of sections (agent, collectors, "
                      "outputs), found a %s",
                      b->root->kind == VG_NODE_SEQ ? "sequence" : "scalar");
        b->failed = true;
    }
}

int vg_config_load_string(const char *text, size_t len, const char *name, struct vg_config **out,
                          struct vg_errors *errs)
{
    struct vg_config *cfg = vg_calloc(1, sizeof(*cfg));
    struct cfg_builder *b = vg_calloc(1, sizeof(*b));
    int rc;

    *out = NULL;
    if (cfg == NULL || b == NULL)
        goto nomem;
    cfg->file = vg_strdup(name != NULL ? name : "<config>");
    if (cfg->file == NULL)
        goto nomem;
    b->file = cfg->file;
    b->text = text;
    b->len = len;
    b->errs = errs;
    rc = cfg_parse(b);
    if (rc != VG_OK)
        goto nomem;
    cfg_check_root(b);
    cfg->root = b->root;
    b->root = NULL;
    if (b->failed) {
        vg_config_free(cfg);
        free(b);
        return VG_ECONFIG;
    }
    rc = b->values_failed ? VG_ECONFIG : VG_OK;
    free(b);
    *out = cfg;
    return rc;
nomem:
    if (b != NULL)
        cfg_node_free(b->root);
    free(b);
    vg_config_free(cfg);
    vg_errors_add(errs, NULL, "%s: out of memory while loading the configuration",
                  name != NULL ? name : "<config>");
    return VG_ECONFIG;
}

/* Reads a whole file of at most CFG_MAX_FILE bytes into a malloc'd buffer. */
static int cfg_read_file(const char *path, char **text, size_t *len, struct vg_errors *errs)
{
    size_t cap = 8192, n = 0;
    char *buf = NULL;
    int fd, rc = VG_ECONFIG;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        vg_errors_add(errs, NULL, "%s: cannot open: %s", path, vg_errno_str(errno));
        return VG_ECONFIG;
    }
    for (;;) {
        ssize_t got;

        if (n == cap || buf == NULL) {
            char *grown;

            if (buf != NULL)
                cap *= 2;
            grown = vg_realloc(buf, cap);
            if (grown == NULL) {
                vg_errors_add(errs, NULL, "%s: out of memory", path);
                goto out;
            }
            buf = grown;
        }
        got = read(fd, buf + n, cap - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            vg_errors_add(errs, NULL, "%s: cannot read: %s", path, vg_errno_str(errno));
            goto out;
        }
        if (got == 0)
            break;
        n += (size_t)got;
        if (n > CFG_MAX_FILE) {
            vg_errors_add(errs, NULL, "%s: larger than %u MiB; not a configuration file", path,
                          CFG_MAX_FILE >> 20);
            goto out;
        }
    }
    *text = buf;
    *len = n;
    buf = NULL;
    rc = VG_OK;
out:
    free(buf);
    close(fd);
    return rc;
}

int vg_config_load_file(const char *path, struct vg_config **out, struct vg_errors *errs)
{
    char *text = NULL;
    size_t len = 0;
    int rc;

    *out = NULL;
    rc = cfg_read_file(path, &text, &len, errs);
    if (rc == VG_OK)
        rc = vg_config_load_string(text, len, path, out, errs);
    free(text);
    return rc;
}
