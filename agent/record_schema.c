/*
 * record_schema.c - the JSON shapes a record is written in, one per value
 * of an output's `record_schema`, by one encoder. A schema is data: where
 * each well-known field goes (rs_names), and its head, the object of the
 * other fields and the names it keeps for itself there (rs_schemas).
 *
 * A place is a path of objects and a key, separated by '/':
 * "kubernetes/pod/name" nests, "resource/k8s.pod.name" is the dotted key
 * "k8s.pod.name" of the object "resource". The writer opens and closes
 * objects as the places go, so that an object is written once, its places
 * following each other in rs_names order.
 *
 * For a record of the container_logs collector:
 *
 * ecs:  {"@timestamp":T,"message":BODY,"stream":..,"log":{"level":..,
 *        "file":{"path":..}},"kubernetes":{"namespace":..,"pod":{"name":..,
 *        "uid":..},"container":{"name":..}},"container":{"id":..,"name":..,
 *        "image":{"name":..}},"host":{"name":..},<other fields>,
 *        "labels":{<fields whose name was taken>}}
 * otel: {"timestamp":T,"severity_text":"WARN","severity_number":13,"body":BODY,
 *        "attributes":{"log.iostream":..,"log.file.path":..,<other fields>,
 *        "labels":{..}},"resource":{"k8s.namespace.name":..,"k8s.pod.name":..,
 *        "k8s.pod.uid":..,"k8s.container.name":..,"k8s.container.restart_count":N,
 *        "container.id":..,"container.name":..,"container.image.name":..,
 *        "host.name":..}}
 * es:   {"@timestamp":T,"message":<the field message, else BODY>,<other fields>}
 * flat: {"time":T,"body":BODY,<every field>} (vg_record_to_json)
 *
 * An object never holds a key twice (Elasticsearch refuses such documents):
 * the first field of a well-known name with the expected type takes its
 * place, and any other field (another type, a repeat) is an other field.
 * An other field whose name the schema writes in that object itself (ecs:
 * message, log, host...; otel: log.iostream...), or that repeats an other
 * field's name, goes into `labels` instead; one that would repeat a name
 * there too, and one with an empty name, is left out. The es shape keeps
 * no labels: it leaves such fields out.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "parse/parser.h"
#include "vigil.h"

/* The columns of rs_names and the entries of rs_schemas. */
enum rs_column { RS_ECS, RS_OTEL, RS_ES, RS_COLUMNS };

/* The well-known fields, in the order their places are written. */
enum rs_row {
    RS_STREAM,
    RS_LEVEL,
    RS_FILE,
    RS_NAMESPACE,
    RS_POD,
    RS_POD_UID,
    RS_CONTAINER,
    RS_RESTART_COUNT,
    RS_CONTAINER_ID,
    RS_CONTAINER_NAME,
    RS_IMAGE,
    RS_NODE,
    RS_MESSAGE,
    RS_ROWS
};

#define RS_STR (1u << VG_FIELD_STR)
#define RS_INT (1u << VG_FIELD_INT)
#define RS_ANY                                                                                     \
    (RS_STR | RS_INT | (1u << VG_FIELD_DOUBLE) | (1u << VG_FIELD_BOOL) | (1u << VG_FIELD_JSON))
/* The place of a field the head of the schema writes (the severity, the body). */
#define RS_HEAD ""

struct rs_name {
    const char *key;
    unsigned types;                /* the field types that take the place */
    const char *place[RS_COLUMNS]; /* NULL: an other field in that schema */
};

/* clang-format off */
static const struct rs_name rs_names[RS_ROWS] = {
    /*                     key                types    ecs                           otel                                     es */
    [RS_STREAM]         = {"stream",          RS_STR, {"stream",                     "attributes/log.iostream",               NULL}},
    [RS_LEVEL]          = {"level",           RS_STR, {"log/level",                  RS_HEAD,                                 NULL}},
    [RS_FILE]           = {"file",            RS_STR, {"log/file/path",              "attributes/log.file.path",              NULL}},
    [RS_NAMESPACE]      = {"namespace",       RS_STR, {"kubernetes/namespace",       "resource/k8s.namespace.name",           NULL}},
    [RS_POD]            = {"pod",             RS_STR, {"kubernetes/pod/name",        "resource/k8s.pod.name",                 NULL}},
    [RS_POD_UID]        = {"pod_uid",         RS_STR, {"kubernetes/pod/uid",         "resource/k8s.pod.uid",                  NULL}},
    [RS_CONTAINER]      = {"container",       RS_STR, {"kubernetes/container/name",  "resource/k8s.container.name",           NULL}},
    [RS_RESTART_COUNT]  = {"restart_count",   RS_INT, {NULL,                         "resource/k8s.container.restart_count",  NULL}},
    [RS_CONTAINER_ID]   = {"container_id",    RS_STR, {"container/id",               "resource/container.id",                 NULL}},
    [RS_CONTAINER_NAME] = {"container_name",  RS_STR, {"container/name",             "resource/container.name",               NULL}},
    [RS_IMAGE]          = {"image",           RS_STR, {"container/image/name",       "resource/container.image.name",         NULL}},
    [RS_NODE]           = {"node",            RS_STR, {"host/name",                  "resource/host.name",                    NULL}},
    [RS_MESSAGE]        = {"message",         RS_ANY, {NULL,                         NULL,                                    RS_HEAD}},
};
/* clang-format on */

struct rs_schema {
    const char *time_key;
    const char *body_key;
    const char *others;          /* object of the other fields; "": the top level */
    const char *labels;          /* object of those whose name is taken; NULL: left out */
    const char *const *reserved; /* names the schema writes in `others` itself */
};

/* Every first part of a place inside `others`, the head's keys and labels. */
static const char *const rs_ecs_reserved[] = {
    "@timestamp", "message", "stream", "log", "kubernetes", "container", "host", "labels", NULL};
static const char *const rs_otel_reserved[] = {"log.iostream", "log.file.path", "labels", NULL};
static const char *const rs_es_reserved[] = {"@timestamp", "message", NULL};

static const struct rs_schema rs_schemas[RS_COLUMNS] = {
    [RS_ECS] = {"@timestamp", "message", "", "labels", rs_ecs_reserved},
    [RS_OTEL] = {"timestamp", "body", "attributes", "attributes/labels", rs_otel_reserved},
    [RS_ES] = {"@timestamp", "message", "", NULL, rs_es_reserved},
};

/* OpenTelemetry's severity text and number of each level, TRACE to FATAL. */
static const struct {
    const char *text;
    const char *number;
} rs_severities[] = {{"\"TRACE\"", "1"}, {"\"DEBUG\"", "5"},  {"\"INFO\"", "9"},
                     {"\"WARN\"", "13"}, {"\"ERROR\"", "17"}, {"\"FATAL\"", "21"}};

static const struct {
    const char *name;
    enum vg_record_schema schema;
} rs_words[] = {
    {"flat", VG_RECORD_SCHEMA_FLAT},
    {"ecs", VG_RECORD_SCHEMA_ECS},
    {"otel", VG_RECORD_SCHEMA_OTEL},
};

enum vg_record_schema vg_record_schema_parse(const char *name)
{
    size_t i;

    for (i = 0; name != NULL && i < VG_ARRAY_LEN(rs_words); i++)
        if (strcmp(name, rs_words[i].name) == 0)
            return rs_words[i].schema;
    return VG_RECORD_SCHEMA_DEFAULT;
}

/* Appends `,"key":` (the comma only with comma); the punctuation is
 * stored in place, as every member of every record goes through here. */
static inline int rs_put_key(struct vg_buf *out, bool comma, const char *key, size_t len)
{
    if (vg_buf_reserve(out, 1) != VG_OK)
        return VG_ENOMEM;
    if (comma)
        out->data[out->len++] = ',';
    if (vg_buf_json_string(out, key, len) != VG_OK || vg_buf_reserve(out, 1) != VG_OK)
        return VG_ENOMEM;
    out->data[out->len++] = ':';
    return VG_OK;
}

/*
 * Appends {"time":...,"body":...,<fields in insertion order>}. A field
 * named "time" or "body" is written as well, after the record's own: the
 * object then has a duplicate key, which most readers resolve to the last
 * one. Returns VG_OK or VG_ENOMEM (out then holds a partial object).
 */
int vg_record_to_json(const struct vg_record *r, struct vg_buf *out)
{
    static const char head[] = "{\"time\":\"", mid[] = "\",\"body\":";
    const struct vg_field *f;
    int rc;

    /* head, the 30-byte time and mid written in place */
    if (vg_buf_reserve(out, sizeof(head) + 32 + sizeof(mid)) != VG_OK)
        return VG_ENOMEM;
    memcpy(out->data + out->len, head, sizeof(head) - 1);
    out->len += sizeof(head) - 1;
    vg_record_format_time(r->time_ns, out->data + out->len, 32);
    out->len += strlen(out->data + out->len);
    memcpy(out->data + out->len, mid, sizeof(mid));
    out->len += sizeof(mid) - 1;
    rc = vg_buf_json_string(out, r->body != NULL ? r->body : "", r->body_len);
    for (f = r->fields; f != NULL && rc == VG_OK; f = f->next) {
        rc = rs_put_key(out, true, f->key, strlen(f->key));
        if (rc == VG_OK)
            rc = vg_field_to_json(f, out);
    }
    if (rc == VG_OK)
        rc = vg_buf_putc(out, '}');
    return rc;
}

/* ---- the nested writer ------------------------------------------------------ */

/* Writes members into nested objects. The first error sticks in rc and
 * makes every later call do nothing. */
struct rs_writer {
    struct vg_buf *out;
    const char *obj; /* the objects open now, as a path ("" for none) */
    size_t obj_len;
    bool first; /* the innermost open object has no member yet */
    int rc;
};

/* Length of the longest run of whole parts that the paths a and b start with. */
static size_t rs_common(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t i = 0, c = 0;

    while (i < alen && i < blen && a[i] == b[i]) {
        if (a[i] == '/')
            c = i;
        i++;
    }
    if ((i == alen || a[i] == '/') && (i == blen || b[i] == '/'))
        c = i;
    return c;
}

/* Closes the objects of the open path past its first `keep` bytes. */
static void rs_close(struct rs_writer *w, size_t keep)
{
    size_t i;

    for (i = keep; i < w->obj_len && w->rc == VG_OK; i++) {
        if (i == keep || w->obj[i] == '/') {
            w->rc = vg_buf_putc(w->out, '}');
            w->first = false;
        }
    }
}

/* Makes obj[0..len) the open path: closes what it does not share with the
 * path open now and opens the rest. obj must outlive the next call. */
static void rs_enter(struct rs_writer *w, const char *obj, size_t len)
{
    size_t c, i, end;

    if (obj == w->obj && len == w->obj_len)
        return;
    c = rs_common(w->obj, w->obj_len, obj, len);
    i = c;
    rs_close(w, c);
    if (i < len && obj[i] == '/')
        i++;
    while (i < len && w->rc == VG_OK) {
        end = i;
        while (end < len && obj[end] != '/')
            end++;
        w->rc = rs_put_key(w->out, !w->first, obj + i, end - i);
        if (w->rc == VG_OK)
            w->rc = vg_buf_putc(w->out, '{');
        w->first = true;
        i = end + 1;
    }
    w->obj = obj;
    w->obj_len = len;
}

/* Starts the member key of object obj[0..len); its value is written next. */
static void rs_key(struct rs_writer *w, const char *obj, size_t len, const char *key,
                   size_t key_len)
{
    rs_enter(w, obj, len);
    if (w->rc == VG_OK)
        w->rc = rs_put_key(w->out, !w->first, key, key_len);
    w->first = false;
}

/* A member at a place of rs_names (its last '/' ends the object path). */
static void rs_place(struct rs_writer *w, const char *place, const struct vg_field *f)
{
    const char *slash = strrchr(place, '/');
    size_t obj_len = slash != NULL ? (size_t)(slash - place) : 0;
    const char *key = slash != NULL ? slash + 1 : place;

    rs_key(w, place, obj_len, key, strlen(key));
    if (w->rc == VG_OK)
        w->rc = vg_field_to_json(f, w->out);
}

/* ---- the schemas ------------------------------------------------------------ */

/* The row of a well-known name, or -1. */
static int rs_row(const char *key)
{
    int i;

    for (i = 0; i < RS_ROWS; i++)
        if (key[0] == rs_names[i].key[0] && strcmp(key, rs_names[i].key) == 0)
            return i;
    return -1;
}

/* What a record holds of a schema's places, found before writing. */
struct rs_scan {
    const struct vg_field *wk[RS_ROWS]; /* the field that takes each place, or NULL */
    uint64_t placed;                    /* bit i: the field at index i (< 64) takes one */
};

/* Fills sc for column col: the first field of each well-known name whose
 * type the place takes. */
static void rs_find(const struct vg_record *r, enum rs_column col, struct rs_scan *sc)
{
    const struct vg_field *f;
    unsigned i = 0;
    int row;

    for (f = r->fields; f != NULL; f = f->next, i++) {
        row = rs_row(f->key);
        if (row < 0 || sc->wk[row] != NULL || rs_names[row].place[col] == NULL ||
            (rs_names[row].types & (1u << f->type)) == 0)
            continue;
        sc->wk[row] = f;
        if (i < 64)
            sc->placed |= UINT64_C(1) << i;
    }
}

/* True when f, at index i of its record, takes a place. */
static bool rs_placed(const struct rs_scan *sc, const struct vg_field *f, unsigned i)
{
    int row;

    if (i < 64)
        return (sc->placed >> i) & 1u;
    row = rs_row(f->key);
    return row >= 0 && sc->wk[row] == f;
}

/* Where an other field goes. */
enum rs_where { RS_OTHERS, RS_LABELS, RS_NOWHERE };

/* Where f, an other field at index i, goes: by its name and the other
 * fields of that name before it. */
static enum rs_where rs_where(const struct rs_schema *s, const struct vg_record *r,
                              const struct rs_scan *sc, const struct vg_field *f, unsigned i)
{
    const struct vg_field *g;
    unsigned j, seen = 0;

    if (f->key[0] == '\0')
        return RS_NOWHERE;
    for (j = 0; s->reserved[j] != NULL && seen == 0; j++)
        if (f->key[0] == s->reserved[j][0] && strcmp(f->key, s->reserved[j]) == 0)
            seen = 1;
    for (g = r->fields, j = 0; j < i && seen < 3; g = g->next, j++)
        if (g->key[0] == f->key[0] && strcmp(g->key, f->key) == 0 && !rs_placed(sc, g, j))
            seen++;
    if (seen == 0)
        return RS_OTHERS;
    return seen == 1 && s->labels != NULL ? RS_LABELS : RS_NOWHERE;
}

/* The other fields that go to `want`, in their order, into obj. Returns
 * whether some field went to labels. */
static bool rs_others(struct rs_writer *w, const struct rs_schema *s, const struct vg_record *r,
                      const struct rs_scan *sc, enum rs_where want, const char *obj)
{
    const struct vg_field *f;
    size_t obj_len = strlen(obj);
    bool labels = false;
    enum rs_where to;
    unsigned i = 0;

    for (f = r->fields; f != NULL && w->rc == VG_OK; f = f->next, i++) {
        if (rs_placed(sc, f, i))
            continue;
        to = rs_where(s, r, sc, f, i);
        labels = labels || to == RS_LABELS;
        if (to != want)
            continue;
        rs_key(w, obj, obj_len, f->key, strlen(f->key));
        if (w->rc == VG_OK)
            w->rc = vg_field_to_json(f, w->out);
    }
    return labels;
}

/* The places of column col that lie inside the object `others` (inside)
 * or outside it, in rs_names order. */
static void rs_rows(struct rs_writer *w, enum rs_column col, const struct vg_field *const *wk,
                    bool inside)
{
    const char *others = rs_schemas[col].others, *place;
    size_t n = strlen(others);
    int row;

    for (row = 0; row < RS_ROWS; row++) {
        place = rs_names[row].place[col];
        if (wk[row] == NULL || place[0] == '\0')
            continue;
        if ((n == 0 || (strncmp(place, others, n) == 0 && place[n] == '/')) == inside)
            rs_place(w, place, wk[row]);
    }
}

/* OpenTelemetry's severity_text and severity_number from a level field: a
 * level vigil knows gets its name and number; any other text is kept as
 * severity_text alone. */
static void rs_severity(struct rs_writer *w, const struct vg_field *level)
{
    enum vg_level lv;

    rs_key(w, "", 0, "severity_text", 13);
    if (vg_level_parse(level->v.s.ptr, level->v.s.len, &lv) != VG_OK) {
        if (w->rc == VG_OK)
            w->rc = vg_field_to_json(level, w->out);
        return;
    }
    if (w->rc == VG_OK)
        w->rc = vg_buf_puts(w->out, rs_severities[lv - VG_LEVEL_TRACE].text);
    rs_key(w, "", 0, "severity_number", 15);
    if (w->rc == VG_OK)
        w->rc = vg_buf_puts(w->out, rs_severities[lv - VG_LEVEL_TRACE].number);
}

/* Appends the record time, quoted: "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ". */
static int rs_put_time(struct vg_buf *out, int64_t time_ns)
{
    if (vg_buf_reserve(out, 34) != VG_OK)
        return VG_ENOMEM;
    out->data[out->len++] = '"';
    vg_record_format_time(time_ns, out->data + out->len, 32);
    out->len += 30;
    out->data[out->len++] = '"';
    out->data[out->len] = '\0';
    return VG_OK;
}

/* The time, the severity (otel) and the body. */
static void rs_head(struct rs_writer *w, enum rs_column col, const struct vg_record *r,
                    const struct vg_field *const *wk)
{
    const struct rs_schema *s = &rs_schemas[col];

    rs_key(w, "", 0, s->time_key, strlen(s->time_key));
    if (w->rc == VG_OK)
        w->rc = rs_put_time(w->out, r->time_ns);
    if (wk[RS_LEVEL] != NULL && rs_names[RS_LEVEL].place[col][0] == '\0')
        rs_severity(w, wk[RS_LEVEL]);
    rs_key(w, "", 0, s->body_key, strlen(s->body_key));
    if (w->rc != VG_OK)
        return;
    if (wk[RS_MESSAGE] != NULL)
        w->rc = vg_field_to_json(wk[RS_MESSAGE], w->out);
    else
        w->rc = vg_buf_json_string(w->out, r->body != NULL ? r->body : "", r->body_len);
}

static int rs_encode(const struct vg_record *r, enum rs_column col, struct vg_buf *out)
{
    const struct rs_schema *s = &rs_schemas[col];
    struct rs_scan sc = {{NULL}, 0};
    struct rs_writer w = {out, "", 0, true, VG_OK};

    rs_find(r, col, &sc);
    w.rc = vg_buf_putc(out, '{');
    rs_head(&w, col, r, sc.wk);
    rs_rows(&w, col, sc.wk, true);
    if (rs_others(&w, s, r, &sc, RS_OTHERS, s->others))
        rs_others(&w, s, r, &sc, RS_LABELS, s->labels);
    rs_rows(&w, col, sc.wk, false);
    rs_enter(&w, "", 0);
    if (w.rc == VG_OK)
        w.rc = vg_buf_putc(out, '}');
    return w.rc;
}

int vg_record_encode(const struct vg_record *r, enum vg_record_schema schema, struct vg_buf *out)
{
    switch (schema) {
    case VG_RECORD_SCHEMA_ECS:
        return rs_encode(r, RS_ECS, out);
    case VG_RECORD_SCHEMA_OTEL:
        return rs_encode(r, RS_OTEL, out);
    case VG_RECORD_SCHEMA_ES:
        return rs_encode(r, RS_ES, out);
    case VG_RECORD_SCHEMA_DEFAULT:
    case VG_RECORD_SCHEMA_FLAT:
        break;
    }
    return vg_record_to_json(r, out);
}
