/* test_messages.c — every message type round-trips; truncations,
 * mutations and encoder misuse are rejected with the right codes. */
#include "ptest.h"
#include "samples.h"

static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)rng;
}

/* encode -> decode -> encode gives the same bytes; every proper prefix is
 * TRUNCATED; mutations never crash and, when accepted, re-encode to
 * exactly the mutated bytes (one encoding per value). */
static void round_trips(void)
{
    weft_proto_msg m, back;
    weft_buf a, b, scratch;
    weft_proto_msg_init(&m);
    weft_proto_msg_init(&back);
    weft_buf_init(&a);
    weft_buf_init(&b);
    weft_buf_init(&scratch);
    long accepted = 0, tried = 0;
    for (int i = 0; i < sample_msg_count(); i++) {
        const char *name = sample_msg(i, &m, &scratch);
        CHECK_RC(weft_proto_encode(&m, &a), 0);
        CHECK_RC(weft_proto_decode((uint8_t *)a.p, a.n, NULL, &back), 0);
        CHECK(back.type == m.type);
        CHECK_RC(weft_proto_encode(&back, &b), 0);
        if (a.n != b.n || memcmp(a.p, b.p, a.n) != 0) {
            fprintf(stderr, "%s: round trip differs\n", name);
            ptest_failures++;
        }
        for (size_t k = 0; k < a.n; k++)
            CHECK_RC(weft_proto_decode((uint8_t *)a.p, k, NULL, &back), WEFT_PROTO_E_TRUNCATED);
        uint8_t *mut = malloc(a.n + 8);
        for (int r = 0; r < 4000; r++) {
            size_t n = a.n;
            memcpy(mut, a.p, n);
            int edits = 1 + (int)(rnd() % 3);
            for (int e = 0; e < edits; e++) {
                uint32_t what = rnd() % 8;
                size_t at = rnd() % n;
                if (what < 5)
                    mut[at] = (uint8_t)rnd();
                else if (what < 6)
                    mut[at] ^= (uint8_t)(1u << (rnd() % 8));
                else if (what < 7 && n > 1)
                    n--; /* cut the end */
                else if (n < a.n + 8)
                    mut[n++] = (uint8_t)rnd();
            }
            tried++;
            if (weft_proto_decode(mut, n, NULL, &back) == 0) {
                accepted++;
                CHECK_RC(weft_proto_encode(&back, &b), 0);
                if (b.n != n || memcmp(b.p, mut, n) != 0) {
                    char *h = ptest_hex(mut, n);
                    fprintf(stderr, "%s: accepted mutation re-encodes differently: %s\n", name, h);
                    free(h);
                    ptest_failures++;
                }
            }
        }
        free(mut);
    }
    printf("mutations: %ld tried, %ld accepted (all canonical)\n", tried, accepted);
    weft_proto_msg_cleanup(&m);
    weft_proto_msg_cleanup(&back);
    weft_buf_cleanup(&a);
    weft_buf_cleanup(&b);
    weft_buf_cleanup(&scratch);
}

static void fields(void)
{
    weft_proto_msg m, back;
    weft_buf a, scratch;
    weft_proto_msg_init(&m);
    weft_proto_msg_init(&back);
    weft_buf_init(&a);
    weft_buf_init(&scratch);
    for (int i = 0; i < sample_msg_count(); i++) {
        const char *name = sample_msg(i, &m, &scratch);
        CHECK_RC(weft_proto_encode(&m, &a), 0);
        CHECK_RC(weft_proto_decode((uint8_t *)a.p, a.n, NULL, &back), 0);
        if (strcmp(name, "hello-reconnect") == 0) {
            CHECK(back.proto == 1 && back.has_token && back.has_agent && back.agent == 7);
            CHECK(back.doc.len == 12 && memcmp(back.doc.p, "team/spec.md", 12) == 0);
            CHECK(back.vv.n == 2 && back.vv.v[1].agent == 7 && back.vv.v[1].next_seq == 300);
            CHECK(back.has_user && back.user.colour.len == 7);
        } else if (strcmp(name, "hello-minimal") == 0) {
            CHECK(!back.has_token && !back.has_agent && !back.has_user && back.vv.n == 0);
        } else if (strcmp(name, "welcome-ops-chunk") == 0) {
            CHECK(back.body == WEFT_BODY_OPS && back.nbatches == 2 && back.more);
            CHECK(back.batches[0].lsn == 40 && back.batches[1].lsn == 41);
            CHECK(back.batches[1].nparents == 2 &&
                  back.parents[back.batches[1].parents_off + 1].seq == 299);
            CHECK(back.nops == 2 && back.ops[0].kind == WEFT_OP_INS && back.ops[0].len == 2);
            CHECK(back.ops[1].kind == WEFT_OP_DEL && back.ops[1].target.agent == 7);
            CHECK(back.npresence == 2 && back.presence[0].has_state && !back.presence[1].has_state);
            CHECK(back.presence[0].head.assoc == -1 && back.presence[0].head.id.seq == 1 &&
                  back.presence[0].head.id.agent == WEFT_NONE);
        } else if (strcmp(name, "ops-broadcast") == 0) {
            CHECK(back.nbatches == 1 && back.batches[0].has_lsn && back.batches[0].lsn == 1234);
            CHECK(back.ops[0].len == 5 && back.ops[0].bytes == 10); /* code points vs bytes */
            CHECK(back.ops[0].ol.agent == 7 && back.ops[0].or.agent == 3);
            CHECK(back.ops[1].len == 3 && back.ops[1].id.seq == 7);
        } else if (strcmp(name, "ops-client") == 0) {
            CHECK(!back.batches[0].has_lsn && weft_id_is_none(back.ops[0].ol));
        } else if (strcmp(name, "presence") == 0) {
            CHECK(back.npresence == 1 && back.presence[0].anchor.id.agent == WEFT_NONE &&
                  back.presence[0].anchor.id.seq == 0 && back.presence[0].anchor.assoc == 0);
        } else if (strcmp(name, "error") == 0) {
            CHECK(back.code == 4002 && back.message.len == 13);
        } else if (strcmp(name, "ack-int-max") == 0) {
            CHECK(back.lsn == UINT32_MAX && back.next_seq == 65535);
        }
    }
    weft_proto_msg_cleanup(&m);
    weft_proto_msg_cleanup(&back);
    weft_buf_cleanup(&a);
    weft_buf_cleanup(&scratch);
}

static void limits(void)
{
    weft_proto_msg m;
    weft_buf a;
    uint8_t deep[64];
    weft_proto_msg_init(&m);
    weft_buf_init(&a);
    CHECK_RC(weft_proto_encode_ping(&a, WEFT_MSG_PING, 70000), 0);
    weft_proto_limits lim = WEFT_PROTO_LIMITS_DEFAULT;
    lim.max_frame = a.n - 1;
    CHECK_RC(weft_proto_decode((uint8_t *)a.p, a.n, &lim, &m), WEFT_PROTO_E_TOOBIG);
    lim.max_frame = a.n;
    CHECK_RC(weft_proto_decode((uint8_t *)a.p, a.n, &lim, &m), 0);
    CHECK(m.t == 70000);
    /* depth: 8 nested arrays pass the scan, 9 do not; 40 never reach msgpack-c */
    for (size_t d = 1; d <= 40; d++) {
        memset(deep, 0x91, d);
        deep[d] = 0x00;
        int rc = weft_proto_scan(deep, d + 1, NULL);
        CHECK(d <= WEFT_PROTO_MAX_DEPTH ? rc == 0 : rc == WEFT_PROTO_E_DEPTH);
        CHECK(weft_proto_decode(deep, d + 1, NULL, &m) != 0);
    }
    lim = WEFT_PROTO_LIMITS_DEFAULT;
    lim.max_depth = 1000; /* clamped to the hard cap */
    memset(deep, 0x91, 40);
    deep[40] = 0;
    CHECK_RC(weft_proto_scan(deep, 41, &lim), WEFT_PROTO_E_DEPTH);
    /* memory bombs: declared counts beyond the frame */
    static const uint8_t bomb1[] = {0xdd, 0xff, 0xff, 0xff, 0xff};
    static const uint8_t bomb2[] = {0x92, 0x07, 0xdc, 0xff, 0xff, 0x00};
    static const uint8_t bomb3[] = {0x93, 0x09, 0x01, 0xdb, 0xff, 0xff, 0xff, 0xff};
    CHECK_RC(weft_proto_decode(bomb1, sizeof bomb1, NULL, &m), WEFT_PROTO_E_TRUNCATED);
    CHECK_RC(weft_proto_decode(bomb2, sizeof bomb2, NULL, &m), WEFT_PROTO_E_TRUNCATED);
    CHECK_RC(weft_proto_decode(bomb3, sizeof bomb3, NULL, &m), WEFT_PROTO_E_TRUNCATED);
    /* a big but honest frame: 70000 Del ops (array32 of ops) decodes */
    weft_op *ops = calloc(70000, sizeof *ops);
    for (uint32_t i = 0; i < 70000; i++) {
        ops[i].kind = WEFT_OP_DEL;
        ops[i].id = (weft_id){1, i};
        ops[i].target = (weft_id){2, i};
        ops[i].len = 1;
    }
    weft_proto_msg_reset(&m);
    m.type = WEFT_MSG_OPS;
    CHECK_RC(weft_proto_msg_add_batch(&m, false, 0, NULL, 0, ops, 70000), 0);
    CHECK_RC(weft_proto_encode(&m, &a), 0);
    CHECK((uint8_t)a.p[5] == 0xdd); /* 93 03 c0 92 90 dd ... */
    CHECK_RC(weft_proto_decode((uint8_t *)a.p, a.n, NULL, &m), 0);
    CHECK(m.nops == 70000 && m.ops[69999].target.seq == 69999);
    free(ops);
    weft_proto_msg_cleanup(&m);
    weft_buf_cleanup(&a);
}

static void encoder_rejects(void)
{
    weft_proto_msg m;
    weft_buf a;
    weft_op op = {WEFT_OP_INS, {1, 0}, 2, WEFT_ID_NONE, WEFT_ID_NONE, WEFT_ID_NONE, "ab", 2};
    weft_proto_msg_init(&m);
    weft_buf_init(&a);
    CHECK_RC(weft_proto_encode_leave(&a, WEFT_NONE), WEFT_PROTO_E_VALUE);
    CHECK(a.n == 0);
    CHECK_RC(weft_proto_encode_ack(&a, WEFT_NONE, 1, 1), WEFT_PROTO_E_VALUE);
    CHECK_RC(weft_proto_encode_ping(&a, WEFT_MSG_ACK, 1), WEFT_PROTO_E_TYPE);
    CHECK_RC(weft_proto_encode_error(&a, 4000, "bad \xff"), WEFT_PROTO_E_UTF8);
    CHECK_RC(weft_proto_encode_error(&a, 4000, "bad message"), 0);
    m.type = 42;
    CHECK_RC(weft_proto_encode(&m, &a), WEFT_PROTO_E_TYPE);
    m.type = WEFT_MSG_OPS;
    CHECK_RC(weft_proto_encode(&m, &a), WEFT_PROTO_E_VALUE); /* no batch */
    CHECK_RC(weft_proto_msg_add_batch(&m, false, 0, NULL, 0, &op, 1), 0);
    CHECK_RC(weft_proto_encode(&m, &a), 0);
    m.ops[0].len = 3; /* text has 2 code points */
    CHECK_RC(weft_proto_encode(&m, &a), WEFT_PROTO_E_VALUE);
    m.ops[0].len = 2;
    m.ops[0].text = "\xed\xa0\x80x";
    m.ops[0].bytes = 4;
    CHECK_RC(weft_proto_encode(&m, &a), WEFT_PROTO_E_UTF8);
    m.ops[0] = op;
    m.ops[0].id.seq = UINT32_MAX - 1; /* seq + len overflows the seq space */
    CHECK_RC(weft_proto_encode(&m, &a), WEFT_PROTO_E_VALUE);
    weft_proto_msg_reset(&m);
    m.type = WEFT_MSG_HELLO;
    m.doc.p = "d";
    m.doc.len = 1;
    CHECK_RC(weft_vv_set(&m.vv, 3, 1), 0);
    CHECK_RC(weft_proto_encode(&m, &a), 0);
    m.vv.v[0].next_seq = 0; /* zero entries are not sent */
    CHECK_RC(weft_proto_encode(&m, &a), WEFT_PROTO_E_VALUE);
    weft_proto_msg_reset(&m);
    m.type = WEFT_MSG_WELCOME;
    m.body = WEFT_BODY_SNAPSHOT;
    m.snapshot.p = "\x07";
    m.snapshot.len = 1; /* not an array */
    CHECK_RC(weft_proto_encode(&m, &a), WEFT_PROTO_E_VALUE);
    /* any array header will do (fuzzer find: array16), but not one that
     * would make the welcome deeper than a decoder accepts */
    m.snapshot.p = "\xdc\x00\x10\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10";
    m.snapshot.len = 19;
    CHECK_RC(weft_proto_encode(&m, &a), 0);
    CHECK_RC(weft_proto_decode((uint8_t *)a.p, a.n, NULL, &m), 0);
    CHECK(m.body == WEFT_BODY_SNAPSHOT && m.snapshot.len == 19);
    m.snapshot.p = "\x91\x91\x91\x91\x91\x91\x91\x00"; /* depth 7: welcome depth 8 */
    m.snapshot.len = 8;
    CHECK_RC(weft_proto_encode(&m, &a), 0);
    CHECK_RC(weft_proto_decode((uint8_t *)a.p, a.n, NULL, &m), 0);
    m.snapshot.p = "\x91\x91\x91\x91\x91\x91\x91\x91\x00"; /* one too deep */
    m.snapshot.len = 9;
    CHECK_RC(weft_proto_encode(&m, &a), WEFT_PROTO_E_VALUE);
    weft_proto_msg_reset(&m);
    m.type = WEFT_MSG_WELCOME;
    weft_proto_presence p = {3, 1, false, {{0, 0}, 0}, {{0, 0}, 0}, {{NULL, 0}, {NULL, 0}}};
    m.body = WEFT_BODY_NONE;
    CHECK_RC(weft_proto_msg_add_presence(&m, &p), 0);
    CHECK_RC(weft_proto_msg_add_presence(&m, &p), 0);
    CHECK_RC(weft_proto_encode(&m, &a), WEFT_PROTO_E_ORDER); /* duplicate agent */
    weft_proto_msg_cleanup(&m);
    weft_buf_cleanup(&a);
}

static void standalone(void)
{
    weft_proto_msg m;
    weft_vv vv;
    weft_buf a;
    weft_proto_msg_init(&m);
    weft_vv_init(&vv);
    weft_buf_init(&a);
    static const uint8_t unsorted[] = {0x92, 0x92, 0x07, 0x01, 0x92, 0x03, 0x01};
    static const uint8_t zero[] = {0x91, 0x92, 0x07, 0x00};
    static const uint8_t bomb[] = {0x92, 0x90, 0xdd, 0xff, 0xff, 0xff, 0xff};
    CHECK_RC(weft_proto_vv_decode(unsorted, sizeof unsorted, NULL, &vv), WEFT_PROTO_E_ORDER);
    CHECK(vv.n == 0);
    CHECK_RC(weft_proto_vv_decode(zero, sizeof zero, NULL, &vv), WEFT_PROTO_E_VALUE);
    CHECK_RC(weft_proto_batch_decode(bomb, sizeof bomb, NULL, &m), WEFT_PROTO_E_TRUNCATED);
    CHECK_RC(weft_vv_set(&vv, 9, 4), 0);
    CHECK_RC(weft_vv_set(&vv, 2, 70000), 0);
    CHECK_RC(weft_proto_vv_encode(&vv, &a), 0);
    CHECK_RC(weft_proto_vv_decode((uint8_t *)a.p, a.n, NULL, &vv), 0);
    CHECK(vv.n == 2 && vv.v[0].agent == 2 && vv.v[0].next_seq == 70000 && vv.v[1].agent == 9);
    CHECK_RC(weft_proto_batch_encode(NULL, 0, NULL, 0, &a), WEFT_PROTO_E_VALUE); /* no ops */
    weft_proto_msg_cleanup(&m);
    weft_vv_cleanup(&vv);
    weft_buf_cleanup(&a);
}

static void names(void)
{
#define NAMED_(name, val, msg)                                                                     \
    CHECK(strcmp(weft_proto_strerror(val), msg) == 0);                                             \
    CHECK(strcmp(weft_proto_errname(val), #name) == 0);                                            \
    CHECK(weft_proto_err_close(val) >= 1000);
    WEFT_PROTO_ERRNO_MAP(NAMED_)
#undef NAMED_
#define CLOSE_(name, val, msg) CHECK(strcmp(weft_close_reason(val), msg) == 0);
    WEFT_CLOSE_MAP(CLOSE_)
#undef CLOSE_
    CHECK(strcmp(weft_proto_strerror(0), "success") == 0);
    CHECK(strcmp(weft_proto_strerror(WEFT_E_UTF8), weft_strerror(WEFT_E_UTF8)) == 0);
    CHECK(weft_proto_errname(WEFT_E_UTF8) == NULL);
    CHECK(weft_close_reason(1234) == NULL);
    CHECK(weft_proto_err_close(WEFT_PROTO_E_TOOBIG) == 1009);
    CHECK(weft_proto_err_close(WEFT_PROTO_E_UTF8) == 4000);
    CHECK(weft_proto_err_close(WEFT_E_NOMEM) == 1011);
    CHECK(weft_proto_err_close(WEFT_E_BADLOAD) == 4000);
}

int main(void)
{
    round_trips();
    fields();
    limits();
    encoder_rejects();
    standalone();
    names();
    printf("%s: %d failures\n", __FILE__, ptest_failures);
    return ptest_failures != 0;
}
