/*
 * protocol_fuzz.c — libFuzzer target over every protocol decoder.
 *
 * Each input is tried as a frame (weft_proto_decode) and as a standalone
 * snapshot (weft_proto_snapshot_load). Properties, beyond "no crash, no
 * leak, no sanitizer report":
 *  - a rejected input gets a WEFT_PROTO_E_* (or, for snapshots, WEFT_E_*)
 *    code, never something else;
 *  - an accepted frame re-encodes to exactly the input bytes (canonical:
 *    one encoding per value);
 *  - an accepted snapshot gives a document that passes weft_doc_check, and
 *    encode -> load -> encode is a fixed point (the deflate streams of the
 *    input may differ from ours, the content may not).
 * Limits are small (1 MiB frames, 4 MiB inflated) to keep runs fast.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weft/protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const weft_proto_limits lim = {1u << 20, WEFT_PROTO_MAX_DEPTH, 4u << 20};

#define REQUIRE(c)                                                                                 \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "protocol_fuzz: %s:%d: %s\n", __FILE__, __LINE__, #c);                 \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static bool known_error(int rc) { return weft_proto_errname(rc) != NULL || (rc < 0 && rc > -100); }

static void snapshot_case(const uint8_t *data, size_t size)
{
    weft_doc *d = weft_doc_new(WEFT_NONE), *d2 = NULL;
    weft_buf a, b;
    uint32_t lsn = 0, lsn2 = 0;
    weft_buf_init(&a);
    weft_buf_init(&b);
    REQUIRE(d);
    int rc = weft_proto_snapshot_load(data, size, &lim, d, &lsn);
    if (rc) {
        REQUIRE(known_error(rc));
        goto done;
    }
    REQUIRE(weft_doc_check(d) == 0);
    REQUIRE(weft_proto_snapshot_encode(d, lsn, &a) == 0);
    d2 = weft_doc_new(WEFT_NONE);
    REQUIRE(d2 && weft_proto_snapshot_load((uint8_t *)a.p, a.n, NULL, d2, &lsn2) == 0);
    REQUIRE(lsn2 == lsn);
    REQUIRE(weft_proto_snapshot_encode(d2, lsn2, &b) == 0);
    REQUIRE(a.n == b.n && memcmp(a.p, b.p, a.n) == 0);
done:
    weft_doc_free(d);
    weft_doc_free(d2);
    weft_buf_cleanup(&a);
    weft_buf_cleanup(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    weft_proto_msg m;
    weft_buf out;
    weft_proto_msg_init(&m);
    weft_buf_init(&out);
    int rc = weft_proto_decode(data, size, &lim, &m);
    if (rc == 0) {
        REQUIRE(weft_proto_encode(&m, &out) == 0);
        REQUIRE(out.n == size && memcmp(out.p, data, size) == 0);
        if (m.type == WEFT_MSG_WELCOME && m.body == WEFT_BODY_SNAPSHOT)
            snapshot_case((const uint8_t *)m.snapshot.p, m.snapshot.len);
    } else {
        REQUIRE(weft_proto_errname(rc) != NULL);
    }
    weft_proto_msg_cleanup(&m);
    weft_buf_cleanup(&out);
    snapshot_case(data, size);
    return 0;
}
