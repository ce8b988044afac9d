/* test_golden.c — tests/golden/protocol-v<N>.json, byte for byte:
 *  messages:  value (JSON) -> msgpack-c -> hex;  hex -> decode -> encode -> hex
 *  values:    op batches and version vectors, the same way
 *  snapshots: value -> hex;  hex -> load into a doc -> encode -> hex, text
 *  rejects:   hex -> decode fails with the named error
 * The JS suite reads the same file. */
#include <jansson.h>
#include <msgpack.h>

#include "ptest.h"

static uint8_t frame[1 << 16];

static int bytes_of(const char *hex, size_t *n)
{
    long r = ptest_unhex(hex, frame, sizeof frame);
    if (r < 0)
        return -1;
    *n = (size_t)r;
    return 0;
}

static int sbuf_write(void *data, const char *buf, size_t len)
{
    return msgpack_sbuffer_write(data, buf, len);
}

/* The JSON convention of the golden file, packed with msgpack-c's own
 * size-choosing functions. */
static int pack_json(msgpack_packer *pk, const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_NULL:
        return msgpack_pack_nil(pk);
    case JSON_TRUE:
        return msgpack_pack_true(pk);
    case JSON_FALSE:
        return msgpack_pack_false(pk);
    case JSON_INTEGER: {
        json_int_t i = json_integer_value(v);
        if (i < 0 || i > (json_int_t)UINT32_MAX)
            return -1;
        return msgpack_pack_uint32(pk, (uint32_t)i);
    }
    case JSON_STRING:
        return msgpack_pack_str_with_body(pk, json_string_value(v), json_string_length(v));
    case JSON_OBJECT: {
        const char *hex = json_string_value(json_object_get(v, "bin"));
        static uint8_t bin[1 << 16];
        long n = hex ? ptest_unhex(hex, bin, sizeof bin) : -1;
        if (n < 0)
            return -1;
        return msgpack_pack_bin_with_body(pk, bin, (size_t)n);
    }
    case JSON_ARRAY: {
        size_t i;
        json_t *e;
        if (msgpack_pack_array(pk, json_array_size(v)))
            return -1;
        json_array_foreach(v, i, e) if (pack_json(pk, e)) return -1;
        return 0;
    }
    default:
        return -1;
    }
}

static void check_value(const char *name, const json_t *value, size_t n)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, sbuf_write);
    if (pack_json(&pk, value) || sb.size != n || memcmp(sb.data, frame, n) != 0) {
        char *h = ptest_hex(sb.data, sb.size);
        fprintf(stderr, "%s: value packs to %s\n", name, h);
        free(h);
        ptest_failures++;
    }
    msgpack_sbuffer_destroy(&sb);
}

static void check_same(const char *name, const weft_buf *b, size_t n)
{
    if (b->n != n || memcmp(b->p, frame, n) != 0) {
        char *h = ptest_hex(b->p, b->n);
        fprintf(stderr, "%s: re-encodes to %s\n", name, h);
        free(h);
        ptest_failures++;
    }
}

static int count_types(const json_t *msgs, const char *type)
{
    size_t i;
    json_t *e;
    int k = 0;
    json_array_foreach(msgs, i, e) k +=
        strcmp(json_string_value(json_object_get(e, "type")), type) == 0;
    return k;
}

int main(int argc, char **argv)
{
    json_error_t jerr;
    json_t *root, *e;
    size_t i, n;
    weft_proto_msg m;
    weft_buf out;
    if (argc != 2) {
        fprintf(stderr, "usage: %s tests/golden/protocol-vN.json\n", argv[0]);
        return 2;
    }
    root = json_load_file(argv[1], 0, &jerr);
    if (!root) {
        fprintf(stderr, "%s:%d: %s\n", argv[1], jerr.line, jerr.text);
        return 1;
    }
    CHECK(json_integer_value(json_object_get(root, "protocol")) == WEFT_PROTO_VERSION);
    CHECK(strcmp(json_string_value(json_object_get(root, "subprotocol")), WEFT_PROTO_SUBPROTOCOL) ==
          0);
    weft_proto_msg_init(&m);
    weft_buf_init(&out);

    json_t *msgs = json_object_get(root, "messages");
    static const char *types[] = {"hello", "welcome", "ops",  "ack",  "presence",
                                  "leave", "ping",    "pong", "error"};
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++)
        CHECK(count_types(msgs, types[t]) > 0); /* every message type has a vector */
    int nmsg = 0;
    json_array_foreach(msgs, i, e)
    {
        const char *name = json_string_value(json_object_get(e, "name"));
        nmsg++;
        if (bytes_of(json_string_value(json_object_get(e, "hex")), &n)) {
            CHECK(!"bad hex");
            continue;
        }
        check_value(name, json_object_get(e, "value"), n);
        int rc = weft_proto_decode(frame, n, NULL, &m);
        if (rc) {
            fprintf(stderr, "%s: decode: %s\n", name, weft_proto_strerror(rc));
            ptest_failures++;
            continue;
        }
        CHECK(m.type >= 1 && m.type <= 9 &&
              strcmp(types[m.type - 1], json_string_value(json_object_get(e, "type"))) == 0);
        CHECK_RC(weft_proto_encode(&m, &out), 0);
        check_same(name, &out, n);
        if (m.type == WEFT_MSG_WELCOME && m.body == WEFT_BODY_SNAPSHOT) {
            weft_doc *d = weft_doc_new(WEFT_NONE);
            uint32_t lsn;
            CHECK_RC(weft_proto_snapshot_load((const uint8_t *)m.snapshot.p, m.snapshot.len, NULL,
                                              d, &lsn),
                     0);
            CHECK(lsn == m.lsn);
            weft_doc_free(d);
        }
    }

    int nval = 0;
    json_array_foreach(json_object_get(root, "values"), i, e)
    {
        const char *name = json_string_value(json_object_get(e, "name"));
        const char *kind = json_string_value(json_object_get(e, "kind"));
        nval++;
        if (bytes_of(json_string_value(json_object_get(e, "hex")), &n)) {
            CHECK(!"bad hex");
            continue;
        }
        check_value(name, json_object_get(e, "value"), n);
        if (strcmp(kind, "batch") == 0) {
            CHECK_RC(weft_proto_batch_decode(frame, n, NULL, &m), 0);
            CHECK_RC(weft_proto_batch_encode(m.parents, m.nparents, m.ops, m.nops, &out), 0);
        } else {
            CHECK(strcmp(kind, "vv") == 0);
            CHECK_RC(weft_proto_vv_decode(frame, n, NULL, &m.vv), 0);
            CHECK_RC(weft_proto_vv_encode(&m.vv, &out), 0);
        }
        check_same(name, &out, n);
    }

    int nsnap = 0;
    json_array_foreach(json_object_get(root, "snapshots"), i, e)
    {
        const char *name = json_string_value(json_object_get(e, "name"));
        const char *text = json_string_value(json_object_get(e, "text"));
        weft_doc *d = weft_doc_new(WEFT_NONE);
        weft_buf t;
        uint32_t lsn = 0;
        nsnap++;
        weft_buf_init(&t);
        if (bytes_of(json_string_value(json_object_get(e, "hex")), &n)) {
            CHECK(!"bad hex");
            continue;
        }
        check_value(name, json_object_get(e, "value"), n);
        CHECK_RC(weft_proto_snapshot_load(frame, n, NULL, d, &lsn), 0);
        CHECK(lsn == json_integer_value(json_object_get(e, "lsn")));
        CHECK_RC(weft_doc_check(d), 0);
        CHECK_RC(weft_doc_text(d, &t), 0);
        CHECK(t.n == strlen(text) && memcmp(t.p, text, t.n) == 0);
        CHECK_RC(weft_proto_snapshot_encode(d, lsn, &out), 0);
        check_same(name, &out, n);
        weft_buf_cleanup(&t);
        weft_doc_free(d);
    }

    int nrej = 0;
    json_array_foreach(json_object_get(root, "rejects"), i, e)
    {
        const char *name = json_string_value(json_object_get(e, "name"));
        const char *want = json_string_value(json_object_get(e, "error"));
        nrej++;
        if (bytes_of(json_string_value(json_object_get(e, "hex")), &n)) {
            CHECK(!"bad hex");
            continue;
        }
        int rc = weft_proto_decode(frame, n, NULL, &m);
        const char *got = weft_proto_errname(rc);
        if (!got || strcmp(got, want) != 0) {
            fprintf(stderr, "%s: got %s, want %s\n", name, got ? got : "success", want);
            ptest_failures++;
        }
    }
    CHECK(nmsg >= 9 && nval >= 2 && nsnap >= 1 && nrej >= 30);
    printf("golden: %d messages, %d values, %d snapshots, %d rejects, %d failures\n", nmsg, nval,
           nsnap, nrej, ptest_failures);
    weft_buf_cleanup(&out);
    weft_proto_msg_cleanup(&m);
    json_decref(root);
    return ptest_failures != 0;
}
