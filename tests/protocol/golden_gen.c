/* golden_gen.c — writes tests/golden/protocol-v1.json from samples.c and
 * the reject table below. Run by hand when the protocol version changes:
 *   weft_proto_golden_gen > tests/golden/protocol-v<N>.json
 * The tests then hold the C codec (and the JS one) to those bytes. */
#include <msgpack.h>

#include "ptest.h"
#include "samples.h"

static const struct {
    const char *name, *hex, *error;
} rejects[] = {
    {"empty-frame", "", "TRUNCATED"},
    {"memory-bomb-array32", "dd ffffffff", "TRUNCATED"},
    {"memory-bomb-in-ops", "93 03 c0 92 90 dd ffffffff", "TRUNCATED"},
    {"str-longer-than-frame", "93 09 01 db 7fffffff 41", "TRUNCATED"},
    {"bin-longer-than-frame", "92 07 c6 ffffffff", "TRUNCATED"},
    {"truncated-array", "92 07", "TRUNCATED"},
    {"truncated-str", "93 09 01 a5 4142", "TRUNCATED"},
    {"truncated-uint32", "92 07 ce 0001", "TRUNCATED"},
    {"trailing-byte", "92 07 00 00", "TRAILING"},
    {"two-frames", "92 07 00 92 07 00", "TRAILING"},
    {"map", "81 00 00", "MAP"},
    {"map-field", "92 07 80", "MAP"},
    {"map16", "de 0000", "MAP"},
    {"float32", "92 07 ca 00000000", "FLOAT"},
    {"float64", "92 07 cb 0000000000000000", "FLOAT"},
    {"fixext", "92 07 d4 01 00", "EXT"},
    {"ext8", "92 07 c7 01 01 00", "EXT"},
    {"reserved-c1", "92 07 c1", "RESERVED"},
    {"negative-fixint", "92 07 ff", "NEGATIVE"},
    {"negative-int8", "92 07 d0 80", "NEGATIVE"},
    {"negative-int64", "92 07 d3 ffffffffffffffff", "NEGATIVE"},
    {"int8-non-negative", "92 07 d0 05", "NONCANONICAL"},
    {"uint8-below-128", "92 07 cc 05", "NONCANONICAL"},
    {"uint16-below-256", "92 07 cd 00ff", "NONCANONICAL"},
    {"uint32-below-65536", "92 07 ce 0000ffff", "NONCANONICAL"},
    {"uint64-below-2^32", "92 07 cf 00000000ffffffff", "NONCANONICAL"},
    {"uint64-2^32", "92 07 cf 0000000100000000", "INTRANGE"},
    {"str8-below-32", "93 09 01 d9 01 41", "NONCANONICAL"},
    {"str16-below-256", "93 09 01 da 0001 41", "NONCANONICAL"},
    {"bin16-below-256", "92 07 c5 0001 00", "NONCANONICAL"},
    {"array16-below-16", "dc 0002 07 00", "NONCANONICAL"},
    {"array32-below-65536", "dd 00000002 07 00", "NONCANONICAL"},
    {"too-deep", "91 91 91 91 91 91 91 91 91 00", "DEPTH"},
    {"invalid-utf8", "93 09 01 a1 ff", "UTF8"},
    {"overlong-utf8", "93 09 01 a2 c0 af", "UTF8"},
    {"surrogate-utf8", "93 09 01 a3 eda080", "UTF8"},
    {"not-an-array", "07", "SHAPE"},
    {"empty-array", "90", "SHAPE"},
    {"type-not-int", "91 a1 41", "SHAPE"},
    {"unknown-type", "91 63", "TYPE"},
    {"type-zero", "92 00 00", "TYPE"},
    {"ping-extra-field", "93 07 00 00", "SHAPE"},
    {"ping-str", "92 07 a1 41", "SHAPE"},
    {"ack-missing-field", "93 04 07 09", "SHAPE"},
    {"leave-agent-none", "92 06 ce ffffffff", "VALUE"},
    {"hello-vv-unsorted", "97 01 01 a1 64 c0 c0 92 92 07 01 92 03 01 c0", "ORDER"},
    {"hello-vv-duplicate", "97 01 01 a1 64 c0 c0 92 92 03 01 92 03 02 c0", "ORDER"},
    {"hello-vv-zero", "97 01 01 a1 64 c0 c0 91 92 03 00 c0", "VALUE"},
    {"hello-token-int", "97 01 01 a1 64 05 c0 90 c0", "SHAPE"},
    {"ops-empty-batch", "93 03 c0 92 90 90", "VALUE"},
    {"ops-empty-text", "93 03 c0 92 90 91 96 00 07 00 c0 c0 a0", "VALUE"},
    {"ops-bad-kind", "93 03 c0 92 90 91 96 02 07 00 c0 c0 a1 41", "VALUE"},
    {"ops-del-len-zero", "93 03 c0 92 90 91 96 01 07 05 03 00 00", "VALUE"},
    {"ops-seq-overflow", "93 03 c0 92 90 91 96 00 07 ce ffffffff c0 c0 a1 41", "VALUE"},
    {"ops-parents-unsorted", "93 03 c0 92 92 92 07 01 92 03 01 91 96 01 07 05 03 00 01", "ORDER"},
    {"ops-parent-nil", "93 03 c0 92 91 c0 91 96 01 07 05 03 00 01", "SHAPE"},
    {"presence-anchor-bad-end", "94 05 07 01 93 93 00 c0 02 93 00 c0 00 92 a0 a0", "VALUE"},
    {"presence-anchor-bad-side", "94 05 07 01 93 93 02 c0 00 93 00 c0 00 92 a0 a0", "VALUE"},
    {"welcome-bad-body-kind", "99 02 07 00 90 00 03 c0 90 c2", "VALUE"},
    {"welcome-ops-empty", "99 02 07 00 90 00 02 90 90 c2", "VALUE"},
    {"welcome-lsn-order",
     "99 02 07 00 90 05 02 92 92 05 92 90 91 96 01 07 05 03 00 01 92 05 92 90 91 96 01 07 06 03 "
     "00 01 90 c2",
     "ORDER"},
};

static void json_str(const char *p, size_t n)
{
    putchar('"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static void json_obj(const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        printf("null");
        break;
    case MSGPACK_OBJECT_BOOLEAN:
        printf(o->via.boolean ? "true" : "false");
        break;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        printf("%llu", (unsigned long long)o->via.u64);
        break;
    case MSGPACK_OBJECT_STR:
        json_str(o->via.str.ptr, o->via.str.size);
        break;
    case MSGPACK_OBJECT_BIN: {
        char *h = ptest_hex(o->via.bin.ptr, o->via.bin.size);
        printf("{\"bin\": \"%s\"}", h);
        free(h);
        break;
    }
    case MSGPACK_OBJECT_ARRAY:
        putchar('[');
        for (uint32_t i = 0; i < o->via.array.size; i++) {
            if (i)
                printf(", ");
            json_obj(&o->via.array.ptr[i]);
        }
        putchar(']');
        break;
    default:
        abort();
    }
}

/* Prints the value and hex of one vector (after the caller's fields). */
static void vector_end(const weft_buf *b)
{
    msgpack_unpacked up;
    size_t off = 0;
    msgpack_unpacked_init(&up);
    if (msgpack_unpack_next(&up, b->p, b->n, &off) != MSGPACK_UNPACK_SUCCESS || off != b->n)
        abort();
    char *h = ptest_hex(b->p, b->n);
    printf(",\n     \"value\": ");
    json_obj(&up.data);
    printf(",\n     \"hex\": \"%s\"}", h);
    free(h);
    msgpack_unpacked_destroy(&up);
}

static const char *type_name(uint32_t t)
{
    static const char *names[] = {NULL,       "hello", "welcome", "ops",  "ack",
                                  "presence", "leave", "ping",    "pong", "error"};
    return t < 10 ? names[t] : NULL;
}

int main(void)
{
    weft_proto_msg m, back;
    weft_buf out, scratch;
    weft_proto_msg_init(&m);
    weft_proto_msg_init(&back);
    weft_buf_init(&out);
    weft_buf_init(&scratch);
    printf("{\n  \"protocol\": %d,\n  \"subprotocol\": \"%s\",\n", WEFT_PROTO_VERSION,
           WEFT_PROTO_SUBPROTOCOL);
    printf("  \"convention\": \"value is the msgpack value as JSON: null = nil, true/false = "
           "bool, number = unsigned integer < 2^32, string = str (UTF-8), {\\\"bin\\\": hex} = "
           "bin, array = array. hex is the exact canonical encoding. Reject vectors must fail "
           "with the named error (docs/protocol.md). Snapshot bins are raw deflate (zlib level "
           "9); other deflaters may produce other bytes for the same content.\",\n");
    printf("  \"messages\": [\n");
    for (int i = 0; i < sample_msg_count(); i++) {
        const char *name = sample_msg(i, &m, &scratch);
        if (weft_proto_encode(&m, &out) || weft_proto_decode((uint8_t *)out.p, out.n, NULL, &back))
            abort();
        printf("    {\"name\": \"%s\", \"type\": \"%s\"", name, type_name(m.type));
        vector_end(&out);
        printf(i + 1 < sample_msg_count() ? ",\n" : "\n");
    }
    printf("  ],\n  \"values\": [\n");
    const char *vname, *kind;
    for (int i = 0; (vname = sample_value(i, &out, &kind)); i++) {
        printf("%s    {\"name\": \"%s\", \"kind\": \"%s\"", i ? ",\n" : "", vname, kind);
        vector_end(&out);
    }
    printf("\n  ],\n  \"snapshots\": [\n");
    const char *name;
    uint32_t lsn;
    weft_doc *d;
    for (int i = 0; (d = sample_doc(i, &name, &lsn)); i++) {
        weft_buf text;
        weft_buf_init(&text);
        if (weft_doc_text(d, &text) || weft_proto_snapshot_encode(d, lsn, &out))
            abort();
        printf("%s    {\"name\": \"%s\", \"lsn\": %u, \"text\": ", i ? ",\n" : "", name,
               (unsigned)lsn);
        json_str(text.p, text.n);
        vector_end(&out);
        weft_buf_cleanup(&text);
        weft_doc_free(d);
    }
    printf("\n  ],\n  \"rejects\": [\n");
    size_t nrej = sizeof rejects / sizeof rejects[0];
    for (size_t i = 0; i < nrej; i++) {
        uint8_t buf[256];
        long n = ptest_unhex(rejects[i].hex, buf, sizeof buf);
        int rc = n < 0 ? 0 : weft_proto_decode(buf, (size_t)n, NULL, &back);
        const char *got = weft_proto_errname(rc);
        if (n < 0 || !got || strcmp(got, rejects[i].error) != 0) {
            fprintf(stderr, "reject %s: got %s, want %s\n", rejects[i].name, got ? got : "OK",
                    rejects[i].error);
            return 1;
        }
        char *h = ptest_hex(buf, (size_t)n);
        printf("    {\"name\": \"%s\", \"hex\": \"%s\", \"error\": \"%s\"}%s\n", rejects[i].name, h,
               rejects[i].error, i + 1 < nrej ? "," : "");
        free(h);
    }
    printf("  ]\n}\n");
    weft_proto_msg_cleanup(&m);
    weft_proto_msg_cleanup(&back);
    weft_buf_cleanup(&out);
    weft_buf_cleanup(&scratch);
    return 0;
}
