/*
 * protocol_fuzz.c — libFuzzer target over every protocol decoder.
 *
 * Each input is tried as a frame (weft_proto_decode), as a standalone op
 * batch and version vector, and as a snapshot (weft_proto_snapshot_load). Properties, beyond "no
 * crash, no leak, no sanitizer report":
 *  - a rejected input gets a WEFT_PROTO_E_* (or, for snapshots, WEFT_E_*)
 *    code, never something else;
 *  - an accepted frame, batch or vv re-encodes to exactly the input bytes
 *    (canonical: one encoding per value);
 *  - an accepted snapshot gives a document that passes weft_doc_check, and
 *    encode -> load -> encode is a fixed point (the deflate streams of the
 *    input may differ from ours, the content may not);
 *  - weft_proto_snapshot_text (the text without a document) rejects with a
 *    WEFT_PROTO_E_* code, and accepts every snapshot that loads, giving
 *    exactly the loaded document's text and log position.
 * Mutations rarely survive deflate, so the input is also used as the
 * *inflated* sections of a snapshot (columns + text, split by the first
 * byte), deflated here: that drives the column decoder and the engine's
 * load checks with structured garbage: after the first byte, the columns
 * separated by 0xff bytes (so mutations land on the varints themselves),
 * then the text.
 * Limits are small (1 MiB frames, 4 MiB inflated) to keep runs fast.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

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

static bool known_error(int rc)
{
    return weft_proto_errname(rc) != NULL || (rc < 0 && rc > -100);
}

static void snapshot_case(const uint8_t *data, size_t size)
{
    weft_doc *d = weft_doc_new(WEFT_NONE), *d2 = NULL;
    weft_buf a, b, t;
    uint32_t lsn = 0, lsn2 = 0, tlsn = 0;
    weft_buf_init(&a);
    weft_buf_init(&b);
    weft_buf_init(&t);
    REQUIRE(d);
    int trc = weft_proto_snapshot_text(data, size, &lim, &t, &tlsn);
    REQUIRE(trc == 0 || (trc < 0 && known_error(trc)));
    int rc = weft_proto_snapshot_load(data, size, &lim, d, &lsn);
    if (rc) {
        REQUIRE(known_error(rc));
        goto done;
    }
    REQUIRE(weft_doc_check(d) == 0);
    REQUIRE(trc == 0 && tlsn == lsn);
    REQUIRE(weft_doc_text(d, &a) == 0 && a.n == t.n && memcmp(a.p, t.p, t.n) == 0);
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
    weft_buf_cleanup(&t);
}

/* Canonical headers, appended at *n. */
static void put_uint(uint8_t *o, size_t *n, uint32_t v)
{
    if (v < 0x80) {
        o[(*n)++] = (uint8_t)v;
    } else if (v < 0x100) {
        o[(*n)++] = 0xcc;
        o[(*n)++] = (uint8_t)v;
    } else if (v < 0x10000) {
        o[(*n)++] = 0xcd;
        o[(*n)++] = (uint8_t)(v >> 8);
        o[(*n)++] = (uint8_t)v;
    } else {
        o[(*n)++] = 0xce;
        for (int s = 24; s >= 0; s -= 8)
            o[(*n)++] = (uint8_t)(v >> s);
    }
}

static void put_bin(uint8_t *o, size_t *n, const uint8_t *p, size_t len)
{
    if (len < 0x100) {
        o[(*n)++] = 0xc4;
        o[(*n)++] = (uint8_t)len;
    } else if (len < 0x10000) {
        o[(*n)++] = 0xc5;
        o[(*n)++] = (uint8_t)(len >> 8);
        o[(*n)++] = (uint8_t)len;
    } else {
        o[(*n)++] = 0xc6;
        for (int s = 24; s >= 0; s -= 8)
            o[(*n)++] = (uint8_t)(len >> s);
    }
    memcpy(o + *n, p, len);
    *n += len;
}

static size_t deflate_raw(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    REQUIRE(deflateInit2(&z, 1, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK);
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
    size_t got = z.total_out;
    deflateEnd(&z);
    return got;
}

/* [len, deflate(p)] */
static void put_section(uint8_t *o, size_t *n, const uint8_t *p, size_t len)
{
    static uint8_t z[1 << 17];
    o[(*n)++] = 0x92;
    put_uint(o, n, (uint32_t)len);
    put_bin(o, n, z, deflate_raw(p, len, z, sizeof z));
}

/* [3, 7, vv, [section x 15], section(text)]; cols holds the 15 columns,
 * each preceded by its length (4 bytes, native order). */
static size_t build_snapshot(uint8_t *o, const uint8_t *cols, const uint8_t *text, size_t tn,
                             const weft_vv *vv)
{
    size_t n = 0;
    o[n++] = 0x95;
    o[n++] = 0x03; /* snapshot format 3 */
    o[n++] = 0x07;
    if (vv->n < 16) {
        o[n++] = (uint8_t)(0x90 | vv->n);
    } else {
        o[n++] = 0xdc;
        o[n++] = (uint8_t)(vv->n >> 8);
        o[n++] = (uint8_t)vv->n;
    }
    for (size_t i = 0; i < vv->n; i++) {
        o[n++] = 0x92;
        put_uint(o, &n, vv->v[i].agent);
        put_uint(o, &n, vv->v[i].next_seq);
    }
    o[n++] = 0x9f;
    for (int c = 0; c < 15; c++) {
        uint32_t len;
        memcpy(&len, cols, 4);
        put_section(o, &n, cols + 4, len);
        cols += 4 + len;
    }
    put_section(o, &n, text, tn);
    return n;
}

/* The 15 columns: the pieces of in[0..n) between 0xff bytes (the rest of
 * the input goes to the last one), as build_snapshot takes them. */
static void split_columns(const uint8_t *in, size_t n, uint8_t *o)
{
    size_t start = 0;
    for (int c = 0; c < 15; c++) {
        size_t end = start;
        if (c < 14)
            while (end < n && in[end] != 0xff)
                end++;
        else
            end = n;
        uint32_t len = (uint32_t)(end - start);
        memcpy(o, &len, 4);
        memcpy(o + 4, in + start, len);
        o += 4 + len;
        start = end < n ? end + 1 : n;
    }
}

/* The input as inflated snapshot sections; a second pass with the version
 * the first one loaded, so the whole success path runs too. */
static void sections_case(const uint8_t *data, size_t size)
{
    static uint8_t snap[1 << 18], cols[20000 + 15 * 4];
    if (size < 2 || size > 20000)
        return;
    size_t tn = data[0] % 32;
    if (tn > size - 1)
        tn = size - 1;
    const uint8_t *text = data + size - tn;
    weft_vv vv;
    weft_vv_init(&vv);
    weft_doc *d = weft_doc_new(WEFT_NONE);
    uint32_t lsn;
    split_columns(data + 1, size - 1 - tn, cols);
    size_t n = build_snapshot(snap, cols, text, tn, &vv);
    int rc = weft_proto_snapshot_load(snap, n, &lim, d, &lsn);
    REQUIRE(rc == 0 || known_error(rc));
    /* VVMISMATCH comes only after a complete, checked load. */
    if (rc == WEFT_PROTO_E_VVMISMATCH && weft_doc_version(d, &vv) == 0 && vv.n < 1000) {
        n = build_snapshot(snap, cols, text, tn, &vv);
        snapshot_case(snap, n);
    }
    weft_doc_free(d);
    weft_vv_cleanup(&vv);
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
    rc = weft_proto_batch_decode(data, size, &lim, &m);
    if (rc == 0) {
        REQUIRE(weft_proto_batch_encode(m.parents, m.nparents, m.ops, m.nops, &out) == 0);
        REQUIRE(out.n == size && memcmp(out.p, data, size) == 0);
    } else {
        REQUIRE(weft_proto_errname(rc) != NULL);
    }
    rc = weft_proto_vv_decode(data, size, &lim, &m.vv);
    if (rc == 0) {
        REQUIRE(weft_proto_vv_encode(&m.vv, &out) == 0);
        REQUIRE(out.n == size && memcmp(out.p, data, size) == 0);
    } else {
        REQUIRE(weft_proto_errname(rc) != NULL);
    }
    weft_proto_msg_cleanup(&m);
    weft_buf_cleanup(&out);
    snapshot_case(data, size);
    sections_case(data, size);
    return 0;
}
