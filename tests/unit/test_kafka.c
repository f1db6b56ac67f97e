/*
 * test_kafka.c - the pure parts of the kafka output: topic templates
 * (parsing, errors, expansion with missing fields and illegal bytes), topic
 * checks, message keys from fields, compression names, the brokers list,
 * the rdkafka pass-through keys, secrets and the classes of librdkafka
 * errors. The output against a broker is tested end to end in
 * tests/integration/test_kafka.py (librdkafka's mock cluster).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../outputs/kafka/kafka_parse.h"
#include "sink_fixture.h"

struct kf {
    struct sink_fixture sf;
    struct vg_emit e;
    struct vg_buf out;
    struct kafka_template t;
    char why[256];
};

static int kf_setup(void **state)
{
    struct kf *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    sink_fixture_open(&f->sf, 16);
    f->e = f->sf.e;
    vg_buf_init(&f->out);
    *state = f;
    return 0;
}

static int kf_teardown(void **state)
{
    struct kf *f = *state;

    kafka_template_free(&f->t);
    vg_buf_free(&f->out);
    sink_fixture_close(&f->sf);
    free(f);
    return 0;
}

/* A record with namespace, pod, a number, a bool and a double. */
static struct vg_record *kf_record(struct kf *f)
{
    struct vg_record *r = vg_emit_record(&f->e, 0, "line", 4);

    assert_non_null(r);
    assert_int_equal(vg_record_set_str(&f->e, r, "namespace", "prod", 4), VG_OK);
    assert_int_equal(vg_record_set_str(&f->e, r, "pod", "web/1 x", 7), VG_OK);
    assert_int_equal(vg_record_set_int(&f->e, r, "shard", -12), VG_OK);
    assert_int_equal(vg_record_set_bool(&f->e, r, "canary", true), VG_OK);
    assert_int_equal(vg_record_set_double(&f->e, r, "ratio", 0.5), VG_OK);
    return r;
}

/* Parses tmpl and expands it for a fresh record into f->out (as a string). */
static const char *kf_expand(struct kf *f, const char *tmpl)
{
    struct vg_record *r = kf_record(f);

    kafka_template_free(&f->t);
    assert_int_equal(kafka_template_parse(&f->t, tmpl, f->why, sizeof(f->why)), VG_OK);
    vg_buf_reset(&f->out);
    assert_int_equal(kafka_template_expand(&f->t, r, &f->out), VG_OK);
    assert_int_equal(vg_buf_putc(&f->out, '\0'), VG_OK);
    return f->out.data;
}

static void template_without_fields_is_literal(void **state)
{
    struct kf *f = *state;

    assert_string_equal(kf_expand(f, "logs.app-1_x"), "logs.app-1_x");
    assert_false(f->t.has_fields);
    assert_int_equal(f->t.n, 1);
}

static void template_takes_record_fields(void **state)
{
    struct kf *f = *state;

    assert_string_equal(kf_expand(f, "logs-{namespace}"), "logs-prod");
    assert_true(f->t.has_fields);
    assert_string_equal(kf_expand(f, "{namespace}.{shard}.{canary}"), "prod.-12.true");
    assert_string_equal(kf_expand(f, "r{ratio}"), "r0.5");
}

static void template_missing_field_becomes_unknown(void **state)
{
    struct kf *f = *state;

    assert_string_equal(kf_expand(f, "logs-{team}-{namespace}"), "logs-unknown-prod");
}

static void template_field_bytes_illegal_in_topics_become_underscores(void **state)
{
    struct kf *f = *state;

    assert_string_equal(kf_expand(f, "p-{pod}"), "p-web_1_x");
}

static void template_errors_name_the_offset(void **state)
{
    struct kf *f = *state;
    static const struct {
        const char *tmpl, *words;
    } bad[] = {
        {"logs-{namespace", "not closed"}, {"logs-{a{b}}", "not closed"},
        {"logs-}", "closes no field"},     {"logs-{}", "empty field name"},
        {"logs/app", "not allowed"},       {"logs app", "not allowed"},
    };
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        f->why[0] = '\0';
        assert_int_equal(kafka_template_parse(&f->t, bad[i].tmpl, f->why, sizeof(f->why)),
                         VG_ECONFIG);
        assert_non_null(strstr(f->why, bad[i].words));
        assert_int_equal(f->t.n, 0);
        assert_null(f->t.parts);
    }
    assert_non_null(strstr(f->why, "offset 4"));
}

static void topic_check_refuses_empty_dots_and_long(void **state)
{
    char why[128], name[300];

    (void)state;
    assert_int_equal(kafka_topic_check("ok", 2, why, sizeof(why)), VG_OK);
    assert_int_equal(kafka_topic_check("", 0, why, sizeof(why)), VG_EINVAL);
    assert_non_null(strstr(why, "empty"));
    assert_int_equal(kafka_topic_check(".", 1, why, sizeof(why)), VG_EINVAL);
    assert_int_equal(kafka_topic_check("..", 2, why, sizeof(why)), VG_EINVAL);
    memset(name, 'a', sizeof(name));
    assert_int_equal(kafka_topic_check(name, KAFKA_TOPIC_MAX, why, sizeof(why)), VG_OK);
    assert_int_equal(kafka_topic_check(name, KAFKA_TOPIC_MAX + 1, why, sizeof(why)), VG_EINVAL);
    assert_non_null(strstr(why, "250 bytes"));
}

static void key_text_of_each_field_type(void **state)
{
    struct kf *f = *state;
    struct vg_record *r = kf_record(f);
    static const struct {
        const char *key, *text;
    } want[] = {
        {"namespace", "prod"}, {"pod", "web/1 x"}, {"shard", "-12"},
        {"canary", "true"},    {"ratio", "0.5"},
    };
    size_t i;

    for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        vg_buf_reset(&f->out);
        assert_int_equal(kafka_field_text(vg_record_field(r, want[i].key), &f->out), VG_OK);
        assert_int_equal(f->out.len, strlen(want[i].text));
        assert_memory_equal(f->out.data, want[i].text, f->out.len);
    }
}

static void compression_names(void **state)
{
    (void)state;
    assert_string_equal(kafka_compression_codec("lz4"), "lz4");
    assert_string_equal(kafka_compression_codec("ZSTD"), "zstd");
    assert_string_equal(kafka_compression_codec("none"), "none");
    assert_string_equal(kafka_compression_codec("snappy"), "snappy");
    assert_string_equal(kafka_compression_codec("gzip"), "gzip");
    assert_null(kafka_compression_codec("brotli"));
    assert_null(kafka_compression_codec(""));
    assert_null(kafka_compression_codec(NULL));
}

static void brokers_lists(void **state)
{
    char why[256];
    static const char *const good[] = {
        "k1:9092", "k1:9092,k2:9092,k3:9092", "SSL://k1:9093", "[::1]:9092", "k1",
    };
    static const struct {
        const char *s, *words;
    } bad[] = {
        {"", "empty"},          {"k1:9092,,k2:9092", "empty"},
        {"k1:0", "1..65535"},   {"k1:70000", "1..65535"},
        {"k1:92x", "1..65535"}, {":9092", "no host"},
        {"k 1:9092", "blank"},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_int_equal(kafka_brokers_check(good[i], why, sizeof(why)), VG_OK);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why[0] = '\0';
        assert_int_equal(kafka_brokers_check(bad[i].s, why, sizeof(why)), VG_ECONFIG);
        assert_non_null(strstr(why, bad[i].words));
    }
}

static void rdkafka_keys_owned_by_options_are_refused(void **state)
{
    char why[256];

    (void)state;
    assert_int_equal(kafka_rdkafka_key_check("security.protocol", why, sizeof(why)), VG_OK);
    assert_int_equal(kafka_rdkafka_key_check("sasl.username", why, sizeof(why)), VG_OK);
    assert_int_equal(kafka_rdkafka_key_check("bootstrap.servers", why, sizeof(why)), VG_ECONFIG);
    assert_non_null(strstr(why, "'brokers'"));
    assert_int_equal(kafka_rdkafka_key_check("compression.codec", why, sizeof(why)), VG_ECONFIG);
    assert_non_null(strstr(why, "'compression'"));
    assert_int_equal(kafka_rdkafka_key_check("transactional.id", why, sizeof(why)), VG_ECONFIG);
    assert_int_equal(kafka_rdkafka_key_check("statistics.interval.ms", why, sizeof(why)),
                     VG_ECONFIG);
    assert_non_null(strstr(why, "statistics"));
    assert_int_equal(kafka_rdkafka_key_check("", why, sizeof(why)), VG_ECONFIG);
}

/* librdkafka's sensitive properties (2.0.2), and keys naming a password
 * or a secret; a user name and a path are hidden with their key only. */
static void secret_keys_are_recognised(void **state)
{
    static const char *const secret[] = {
        "sasl.password",         "ssl.key.password",
        "ssl.key.pem",           "ssl_key",
        "ssl.keystore.password", "sasl.oauthbearer.config",
        "ssl.key.PASSWORD",      "sasl.oauthbearer.client.secret",
    };
    size_t i;

    (void)state;
    for (i = 0; i < VG_ARRAY_LEN(secret); i++)
        assert_int_equal(kafka_secrecy(secret[i]), KAFKA_SECRET);
    assert_int_equal(kafka_secrecy("sasl.username"), KAFKA_HIDDEN);
    assert_int_equal(kafka_secrecy("ssl.key.location"), KAFKA_HIDDEN);
    assert_int_equal(kafka_secrecy("ssl.ca.pem"), KAFKA_HIDDEN);
    assert_int_equal(kafka_secrecy("ssl.certificate.pem"), KAFKA_PLAIN);
    assert_int_equal(kafka_secrecy("security.protocol"), KAFKA_PLAIN);
    assert_int_equal(kafka_secrecy(NULL), KAFKA_PLAIN);
}

static void errors_are_classified(void **state)
{
    (void)state;
    assert_int_equal(kafka_classify(RD_KAFKA_RESP_ERR_NO_ERROR), KAFKA_DELIVERED);
    assert_int_equal(kafka_classify(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE), KAFKA_DEAD);
    assert_int_equal(kafka_classify(RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART), KAFKA_DEAD);
    assert_int_equal(kafka_classify(RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED), KAFKA_STOP);
    assert_int_equal(kafka_classify(RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED), KAFKA_STOP);
    assert_int_equal(kafka_classify(RD_KAFKA_RESP_ERR__AUTHENTICATION), KAFKA_STOP);
    assert_int_equal(kafka_classify(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT), KAFKA_RETRY);
    assert_int_equal(kafka_classify(RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION), KAFKA_RETRY);
    assert_int_equal(kafka_classify(RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT), KAFKA_RETRY);
    assert_int_equal(kafka_classify(RD_KAFKA_RESP_ERR__PURGE_QUEUE), KAFKA_RETRY);
    assert_int_equal(kafka_classify(RD_KAFKA_RESP_ERR__TRANSPORT), KAFKA_RETRY);
}

/* The brokers of librdkafka 2.0.2's statistics, shortened: the internal
 * broker and a logical coordinator are not connections of their own, and
 * a "state" inside a nested object is not the broker's. */
static void stats_count_connected_brokers(void **state)
{
    static const char doc[] =
        "{\"name\":\"vigil#producer-1\",\"type\":\"producer\",\"brokers\":{"
        "\"127.0.0.1:9093/2\":{\"name\":\"127.0.0.1:9093/2\",\"nodeid\":2,\"source\":"
        "\"configured\",\"state\":\"UP\",\"rtt\":{\"min\":0},\"toppars\":{\"logs-0\":{"
        "\"topic\":\"logs\",\"partition\":0,\"state\":\"UP\"}}},"
        "\"127.0.0.1:9094/3\":{\"nodeid\":3,\"source\":\"learned\",\"state\":\"UPDATE\"},"
        "\"127.0.0.1:9092/1\":{\"nodeid\":1,\"source\":\"configured\",\"state\":\"INIT\","
        "\"toppars\":{\"x\":{\"state\":\"UP\"}}},"
        "\":0/internal\":{\"nodeid\":-1,\"source\":\"internal\",\"state\":\"UP\"},"
        "\"GroupCoordinator\":{\"nodeid\":-1,\"source\":\"logical\",\"state\":\"UP\"}},"
        "\"tx_bytes\":316}";
    static const char down[] =
        "{\"brokers\":{\"a/1\":{\"source\":\"configured\",\"state\":\"DOWN\"},"
        "\"a/2\":{\"source\":\"learned\",\"state\":\"TRY_CONNECT\"},"
        "\"a/3\":{\"source\":\"learned\",\"state\":\"CONNECT\"}}}";
    static const char *const bad[] = {
        "", "{", "[]", "{\"brokers\":[]}", "{\"name\":\"x\"}", "{\"brokers\":{\"a\":}}",
    };
    unsigned up = 77, known = 77;
    size_t i;

    (void)state;
    assert_int_equal(kafka_stats_brokers(doc, strlen(doc), &up, &known), VG_OK);
    assert_int_equal(up, 2);
    assert_int_equal(known, 3);
    assert_int_equal(kafka_stats_brokers(down, strlen(down), &up, &known), VG_OK);
    assert_int_equal(up, 0);
    assert_int_equal(known, 3);
    assert_int_equal(kafka_stats_brokers("{\"brokers\":{}}", 14, &up, &known), VG_OK);
    assert_int_equal(up, 0);
    assert_int_equal(known, 0);
    for (i = 0; i < VG_ARRAY_LEN(bad); i++) {
        up = 77;
        known = 77;
        assert_int_equal(kafka_stats_brokers(bad[i], strlen(bad[i]), &up, &known), VG_EPARSE);
        assert_int_equal(up, 77);
        assert_int_equal(known, 77);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(template_without_fields_is_literal, kf_setup, kf_teardown),
        cmocka_unit_test_setup_teardown(template_takes_record_fields, kf_setup, kf_teardown),
        cmocka_unit_test_setup_teardown(template_missing_field_becomes_unknown, kf_setup,
                                        kf_teardown),
        cmocka_unit_test_setup_teardown(template_field_bytes_illegal_in_topics_become_underscores,
                                        kf_setup, kf_teardown),
        cmocka_unit_test_setup_teardown(template_errors_name_the_offset, kf_setup, kf_teardown),
        cmocka_unit_test(topic_check_refuses_empty_dots_and_long),
        cmocka_unit_test_setup_teardown(key_text_of_each_field_type, kf_setup, kf_teardown),
        cmocka_unit_test(compression_names),
        cmocka_unit_test(brokers_lists),
        cmocka_unit_test(rdkafka_keys_owned_by_options_are_refused),
        cmocka_unit_test(secret_keys_are_recognised),
        cmocka_unit_test(errors_are_classified),
        cmocka_unit_test(stats_count_connected_brokers),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
