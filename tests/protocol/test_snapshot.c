/* test_snapshot.c — snapshots: round trips through the engine (sample and
 * random multi-agent documents), bombs and corrupt input, and with
 * --trace FILE LIMIT the automerge-paper measurement: replay, encode,
 * report bytes, fail above LIMIT, load back and compare. */
#include <jansson.h>
#include <msgpack.h>
#include <time.h>
#include <zlib.h>

#include "ptest.h"
#include "samples.h"

static uint64_t rng = 0x2545f4914f6cdd1du;
static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)rng;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Same text, canonical runs, delete records, spans and version. */
static int same_state(const weft_doc *a, const weft_doc *b)
{
    weft_run_iter ia, ib;
    weft_run ra, rb;
    weft_vv va, vb;
    int same = 1;
    weft_run_iter_init(&ia, a);
    weft_run_iter_init(&ib, b);
    for (;;) {
        bool ha = weft_run_iter_next(&ia, &ra), hb = weft_run_iter_next(&ib, &rb);
        if (ha != hb)
            return 0;
        if (!ha)
            break;
        if (ra.agent != rb.agent || ra.seq != rb.seq || ra.len != rb.len ||
            !weft_id_eq(ra.ol, rb.ol) || !weft_id_eq(ra.or, rb.or) || ra.deleted != rb.deleted ||
            ra.bytes != rb.bytes || memcmp(ra.text, rb.text, ra.bytes) != 0)
            return 0;
    }
    if (weft_doc_del_count(a) != weft_doc_del_count(b) ||
        weft_doc_span_count(a) != weft_doc_span_count(b))
        return 0;
    for (size_t i = 0; i < weft_doc_del_count(a); i++) {
        weft_del x = weft_doc_del_get(a, i), y = weft_doc_del_get(b, i);
        if (!weft_id_eq(x.id, y.id) || !weft_id_eq(x.target, y.target) || x.len != y.len)
            return 0;
    }
    for (size_t i = 0; i < weft_doc_span_count(a); i++) {
        weft_span x = weft_doc_span_get(a, i), y = weft_doc_span_get(b, i);
        if (x.agent != y.agent || x.seq != y.seq || x.len != y.len)
            return 0;
    }
    weft_vv_init(&va);
    weft_vv_init(&vb);
    if (weft_doc_version(a, &va) || weft_doc_version(b, &vb) || va.n != vb.n ||
        (va.n && memcmp(va.v, vb.v, va.n * sizeof *va.v) != 0))
        same = 0;
    weft_vv_cleanup(&va);
    weft_vv_cleanup(&vb);
    return same;
}

/* encode -> load -> same state -> encode gives the same bytes. */
static void round_trip(const char *name, const weft_doc *d, uint32_t lsn)
{
    weft_buf a, b;
    uint32_t lsn2 = 0;
    weft_buf_init(&a);
    weft_buf_init(&b);
    weft_doc *back = weft_doc_new(WEFT_NONE);
    CHECK_RC(weft_proto_snapshot_encode(d, lsn, &a), 0);
    int rc = weft_proto_snapshot_load((uint8_t *)a.p, a.n, NULL, back, &lsn2);
    if (rc) {
        fprintf(stderr, "%s: load: %s\n", name, weft_proto_strerror(rc));
        ptest_failures++;
    } else {
        CHECK(lsn2 == lsn);
        CHECK_RC(weft_doc_check(back), 0);
        if (!same_state(d, back)) {
            fprintf(stderr, "%s: loaded state differs\n", name);
            ptest_failures++;
        }
        CHECK_RC(weft_proto_snapshot_encode(back, lsn, &b), 0);
        CHECK(a.n == b.n && memcmp(a.p, b.p, a.n) == 0);
    }
    weft_doc_free(back);
    weft_buf_cleanup(&a);
    weft_buf_cleanup(&b);
}

static void samples(void)
{
    const char *name;
    uint32_t lsn;
    weft_doc *d;
    for (int i = 0; (d = sample_doc(i, &name, &lsn)); i++) {
        round_trip(name, d, lsn);
        weft_doc_free(d);
    }
}

/* A client loads the welcome's snapshot into a document that already has
 * its agent, then edits on top of it. */
static void load_then_edit(void)
{
    const char *name;
    uint32_t lsn;
    weft_buf a, t;
    weft_oplist ops;
    weft_buf_init(&a);
    weft_buf_init(&t);
    weft_oplist_init(&ops);
    weft_doc *d = sample_doc(2, &name, &lsn);
    weft_doc *c = weft_doc_new(9);
    CHECK_RC(weft_proto_snapshot_encode(d, lsn, &a), 0);
    CHECK_RC(weft_proto_snapshot_load((uint8_t *)a.p, a.n, NULL, c, &lsn), 0);
    CHECK_RC(weft_doc_insert(c, 0, ">", 1, &ops), 0);
    CHECK(ops.n == 1 && ops.ops[0].id.agent == 9 && ops.ops[0].id.seq == 0);
    CHECK(weft_doc_apply(d, &ops.ops[0], NULL) == WEFT_APPLIED);
    CHECK_RC(weft_doc_text(c, &t), 0);
    CHECK(t.n == 12 && memcmp(t.p, "><owo", 5) == 0);
    round_trip("load-then-edit", c, lsn + 1);
    CHECK(same_state(c, d));
    weft_doc_free(c);
    weft_doc_free(d);
    weft_buf_cleanup(&a);
    weft_buf_cleanup(&t);
    weft_oplist_cleanup(&ops);
}

/* Random edits on three replicas with random syncs: concurrent runs,
 * tombstones, interleaved agents, unicode. */
static void random_docs(void)
{
    static const char *pieces[] = {"a", "bc", "def", "\xc3\xa9", "\xf0\x9f\x98\x80", "xyz w"};
    for (int round = 0; round < 40; round++) {
        weft_doc *r[3];
        weft_oplist log[3];
        size_t sent[3][3] = {{0}};
        for (int k = 0; k < 3; k++) {
            r[k] = weft_doc_new((uint32_t)(k * 5 + 1));
            weft_oplist_init(&log[k]);
        }
        int steps = 10 + round * 5;
        for (int s = 0; s < steps; s++) {
            int k = (int)(rnd() % 3);
            uint32_t len = weft_doc_len(r[k]);
            uint32_t what = rnd() % 10;
            if (what < 6 || len == 0) {
                const char *p = pieces[rnd() % 6];
                CHECK(weft_doc_insert(r[k], rnd() % (len + 1), p, strlen(p), &log[k]) >= 0);
            } else if (what < 9) {
                uint32_t pos = rnd() % len;
                uint32_t n = 1 + rnd() % (len - pos < 4 ? len - pos : 4);
                CHECK(weft_doc_delete(r[k], pos, n, &log[k]) >= 0);
            } else {
                int to = (int)(rnd() % 3);
                for (int from = 0; from < 3; from++) {
                    if (from == to)
                        continue;
                    for (size_t i = sent[from][to]; i < log[from].n; i++)
                        CHECK(weft_doc_apply(r[to], &log[from].ops[i], NULL) >= 0);
                    sent[from][to] = log[from].n;
                }
            }
        }
        for (int k = 0; k < 3; k++) {
            char name[32];
            snprintf(name, sizeof name, "random-%d-%d", round, k);
            round_trip(name, r[k], (uint32_t)round);
        }
        for (int k = 0; k < 3; k++) {
            weft_doc_free(r[k]);
            weft_oplist_cleanup(&log[k]);
        }
    }
}

/* ---- hand-made snapshots --------------------------------------------------- */

static int raw_deflate(const void *in, size_t n, uint8_t *out, size_t cap, size_t *outn)
{
    z_stream z = {0};
    if (deflateInit2(&z, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    int rc = deflate(&z, Z_FINISH);
    *outn = z.total_out;
    deflateEnd(&z);
    return rc == Z_STREAM_END ? 0 : -1;
}

/* [1, 0, vv, meta_len, meta_z, text_len, text_z] from raw sections. */
static size_t make_snapshot(uint8_t *out, const char *vvhex, const void *meta, size_t mn,
                            uint32_t meta_len, const void *text, size_t tn, uint32_t text_len)
{
    static uint8_t z[1 << 20];
    size_t zn, n = 0;
    out[n++] = 0x97;
    out[n++] = 0x01;
    out[n++] = 0x00;
    n += (size_t)ptest_unhex(vvhex, out + n, 64);
    out[n++] = 0xce;
    for (int s = 24; s >= 0; s -= 8)
        out[n++] = (uint8_t)(meta_len >> s);
    if (meta_len < 0x10000) { /* keep it canonical: rewrite as the small form */
        n -= 5;
        if (meta_len < 0x80)
            out[n++] = (uint8_t)meta_len;
        else if (meta_len < 0x100) {
            out[n++] = 0xcc;
            out[n++] = (uint8_t)meta_len;
        } else {
            out[n++] = 0xcd;
            out[n++] = (uint8_t)(meta_len >> 8);
            out[n++] = (uint8_t)meta_len;
        }
    }
    if (raw_deflate(meta, mn, z, sizeof z, &zn))
        abort();
    out[n++] = 0xc4; /* all test sections compress below 256 bytes */
    if (zn >= 256)
        abort();
    out[n++] = (uint8_t)zn;
    memcpy(out + n, z, zn);
    n += zn;
    if (text_len < 0x80) {
        out[n++] = (uint8_t)text_len;
    } else {
        out[n++] = 0xce;
        for (int s = 24; s >= 0; s -= 8)
            out[n++] = (uint8_t)(text_len >> s);
    }
    if (raw_deflate(text, tn, z, sizeof z, &zn) || zn >= 256)
        abort();
    out[n++] = 0xc4;
    out[n++] = (uint8_t)zn;
    memcpy(out + n, z, zn);
    return n + zn;
}

static int load(const uint8_t *p, size_t n, const weft_proto_limits *lim)
{
    weft_doc *d = weft_doc_new(WEFT_NONE);
    uint32_t lsn;
    int rc = weft_proto_snapshot_load(p, n, lim, d, &lsn);
    weft_doc_free(d);
    return rc;
}

static void corrupt(void)
{
    static uint8_t snap[4096], meta[256];
    /* One run "hi" by agent 1: agents [1], r_agent [0], r_seq [0], r_len [2],
     * r_flags [0], r_x [], r_xa [], dels empty, spans [0] [0] [2]. */
    static const char good_meta[] =
        "9f 9101 9100 9100 9102 9100 90 90 90 90 90 90 90 9100 9100 9102";
    size_t mn = (size_t)ptest_unhex(good_meta, meta, sizeof meta);
    size_t n = make_snapshot(snap, "91 92 01 02", meta, mn, (uint32_t)mn, "hi", 2, 2);
    CHECK_RC(load(snap, n, NULL), 0);
    /* text length declared wrong, either way */
    n = make_snapshot(snap, "91 92 01 02", meta, mn, (uint32_t)mn, "hi", 2, 3);
    CHECK_RC(load(snap, n, NULL), WEFT_PROTO_E_INFLATE);
    n = make_snapshot(snap, "91 92 01 02", meta, mn, (uint32_t)mn, "hi", 2, 1);
    CHECK_RC(load(snap, n, NULL), WEFT_PROTO_E_INFLATE);
    /* text with more code points than the runs */
    n = make_snapshot(snap, "91 92 01 02", meta, mn, (uint32_t)mn, "hij", 3, 3);
    CHECK_RC(load(snap, n, NULL), WEFT_PROTO_E_VALUE);
    /* invalid UTF-8 text */
    n = make_snapshot(snap, "91 92 01 02", meta, mn, (uint32_t)mn, "h\xff", 2, 2);
    CHECK_RC(load(snap, n, NULL), WEFT_PROTO_E_UTF8);
    /* vv that does not match the content */
    n = make_snapshot(snap, "91 92 01 03", meta, mn, (uint32_t)mn, "hi", 2, 2);
    CHECK_RC(load(snap, n, NULL), WEFT_PROTO_E_VVMISMATCH);
    /* an agent nobody uses */
    static const char unused[] =
        "9f 920105 9100 9100 9102 9100 90 90 90 90 90 90 90 9100 9100 9102";
    mn = (size_t)ptest_unhex(unused, meta, sizeof meta);
    n = make_snapshot(snap, "91 92 01 02", meta, mn, (uint32_t)mn, "hi", 2, 2);
    CHECK_RC(load(snap, n, NULL), WEFT_PROTO_E_NONCANONICAL);
    /* two runs that should be one: "h" then "i" continuing it */
    static const char split[] =
        "9f 9101 920000 920000 920101 920002 90 90 90 90 90 90 90 9100 9100 9102";
    mn = (size_t)ptest_unhex(split, meta, sizeof meta);
    n = make_snapshot(snap, "91 92 01 02", meta, mn, (uint32_t)mn, "hi", 2, 2);
    CHECK_RC(load(snap, n, NULL), WEFT_PROTO_E_NONCANONICAL);
    /* origin code 3 (other agent) naming what code 1 would say */
    static const char oc[] =
        "9f 9101 920000 920001 920101 920006 9100 9100 90 90 90 90 90 9100 9100 9102";
    mn = (size_t)ptest_unhex(oc, meta, sizeof meta);
    n = make_snapshot(snap, "91 92 01 02", meta, mn, (uint32_t)mn, "hi", 2, 2);
    CHECK_RC(load(snap, n, NULL), WEFT_PROTO_E_NONCANONICAL);
    /* a map inside the compressed meta */
    static const char map[] = "9f 80 9100 9100 9102 9100 90 90 90 90 90 90 90 9100 9100 9102";
    mn = (size_t)ptest_unhex(map, meta, sizeof meta);
    n = make_snapshot(snap, "91 92 01 02", meta, mn, (uint32_t)mn, "hi", 2, 2);
    CHECK_RC(load(snap, n, NULL), WEFT_PROTO_E_MAP);
    /* an unknown format */
    mn = (size_t)ptest_unhex(good_meta, meta, sizeof meta);
    n = make_snapshot(snap, "91 92 01 02", meta, mn, (uint32_t)mn, "hi", 2, 2);
    snap[1] = 0x02;
    CHECK_RC(load(snap, n, NULL), WEFT_PROTO_E_FORMAT);

    /* Decompression bombs: 16 MiB of spaces deflate to a few KiB. */
    size_t big = 16u << 20;
    char *spaces = malloc(big);
    uint8_t *z = malloc(1 << 20), *frame = malloc((1 << 20) + 64);
    size_t zn;
    memset(spaces, ' ', big);
    CHECK(raw_deflate(spaces, big, z, 1 << 20, &zn) == 0);
    /* declared honestly, over the caller's limit: refused before inflating */
    weft_proto_limits lim = WEFT_PROTO_LIMITS_DEFAULT;
    lim.max_inflate = 1u << 20;
    size_t fn = 0;
    mn = (size_t)ptest_unhex(good_meta, meta, sizeof meta);
    {
        /* everything up to the text length field, then text_len = 16 MiB */
        size_t head = make_snapshot(frame, "91 92 01 02", meta, mn, (uint32_t)mn, "", 0, 0);
        /* frame ends with: 00 c4 02 03 00 (text_len 0, empty stream) */
        head -= 5;
        fn = head;
        frame[fn++] = 0xce;
        for (int s = 24; s >= 0; s -= 8)
            frame[fn++] = (uint8_t)(big >> s);
        frame[fn++] = zn < 0x10000 ? 0xc5 : 0xc6;
        if (zn < 0x10000) {
            frame[fn++] = (uint8_t)(zn >> 8);
            frame[fn++] = (uint8_t)zn;
        }
        memcpy(frame + fn, z, zn);
        fn += zn;
    }
    CHECK_RC(load(frame, fn, &lim), WEFT_PROTO_E_BOMB);
    /* declared small, inflates to 16 MiB: stops at the declared size */
    {
        size_t head = make_snapshot(frame, "91 92 01 02", meta, mn, (uint32_t)mn, "", 0, 0);
        head -= 5;
        fn = head;
        frame[fn++] = 0x02; /* claims 2 bytes */
        frame[fn++] = zn < 0x10000 ? 0xc5 : 0xc6;
        if (zn < 0x10000) {
            frame[fn++] = (uint8_t)(zn >> 8);
            frame[fn++] = (uint8_t)zn;
        }
        memcpy(frame + fn, z, zn);
        fn += zn;
    }
    CHECK_RC(load(frame, fn, &lim), WEFT_PROTO_E_INFLATE);
    free(spaces);
    free(z);
    free(frame);
}

/* Random byte mutations of real snapshots: never crash, never leak. */
static void mutations(void)
{
    const char *name;
    uint32_t lsn;
    weft_buf a;
    weft_buf_init(&a);
    long accepted = 0;
    for (int i = 0; i < 3; i++) {
        weft_doc *d = sample_doc(i, &name, &lsn);
        CHECK_RC(weft_proto_snapshot_encode(d, lsn, &a), 0);
        uint8_t *m = malloc(a.n);
        for (int r = 0; r < 3000; r++) {
            memcpy(m, a.p, a.n);
            int edits = 1 + (int)(rnd() % 3);
            for (int e = 0; e < edits; e++)
                m[rnd() % a.n] = (uint8_t)rnd();
            accepted += load(m, a.n, NULL) == 0;
        }
        free(m);
        weft_doc_free(d);
    }
    printf("snapshot mutations: %ld of 9000 accepted\n", accepted);
    weft_buf_cleanup(&a);
}

/* ---- the automerge-paper trace ------------------------------------------------ */

static json_t *load_trace(const char *path)
{
    gzFile f = gzopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 24, n = 0;
    char *buf = malloc(cap);
    int r;
    while ((r = gzread(f, buf + n, (unsigned)(cap - n))) > 0) {
        n += (size_t)r;
        if (n == cap)
            buf = realloc(buf, cap *= 2);
    }
    gzclose(f);
    json_error_t err;
    json_t *root = json_loadb(buf, n, 0, &err);
    free(buf);
    return root;
}

static int trace(const char *path, long limit)
{
    json_t *root = load_trace(path);
    if (!root) {
        printf("trace %s not found: skipped\n", path);
        return 77;
    }
    weft_doc *d = weft_doc_new(1);
    size_t i, j;
    json_t *txn, *patch;
    double t0 = now();
    json_array_foreach(json_object_get(root, "txns"), i, txn)
    {
        json_array_foreach(json_object_get(txn, "patches"), j, patch)
        {
            uint32_t pos = (uint32_t)json_integer_value(json_array_get(patch, 0));
            uint32_t del = (uint32_t)json_integer_value(json_array_get(patch, 1));
            const char *ins = json_string_value(json_array_get(patch, 2));
            if (del)
                CHECK_RC(weft_doc_delete(d, pos, del, NULL), 0);
            if (ins[0])
                CHECK_RC(weft_doc_insert(d, pos, ins, strlen(ins), NULL), 0);
        }
    }
    double t1 = now();
    weft_buf text, snap, t2b;
    weft_buf_init(&text);
    weft_buf_init(&snap);
    weft_buf_init(&t2b);
    CHECK_RC(weft_doc_text(d, &text), 0);
    const char *end = json_string_value(json_object_get(root, "endContent"));
    CHECK(text.n == strlen(end) && memcmp(text.p, end, text.n) == 0);
    CHECK_RC(weft_proto_snapshot_encode(d, 259778, &snap), 0);
    double t2 = now();
    weft_doc *back = weft_doc_new(WEFT_NONE);
    uint32_t lsn;
    CHECK_RC(weft_proto_snapshot_load((uint8_t *)snap.p, snap.n, NULL, back, &lsn), 0);
    double t3 = now();
    CHECK_RC(weft_doc_text(back, &t2b), 0);
    CHECK(t2b.n == text.n && memcmp(t2b.p, text.p, text.n) == 0);
    CHECK(same_state(d, back));
    CHECK_RC(weft_doc_check(back), 0);
    size_t runs = 0;
    weft_run_iter it;
    weft_run r;
    weft_run_iter_init(&it, d);
    while (weft_run_iter_next(&it, &r))
        runs++;
    printf("automerge-paper: %zu canonical runs, %zu delete records, %zu spans\n", runs,
           weft_doc_del_count(d), weft_doc_span_count(d));
    printf("automerge-paper snapshot (full history): %zu bytes (limit %ld; Yjs V2 without "
           "deleted text: 159929)\n",
           snap.n, limit);
    {
        /* section sizes: [1, lsn, vv, meta_len, meta_z, text_len, text_z] */
        msgpack_unpacked up;
        size_t off = 0;
        msgpack_unpacked_init(&up);
        if (msgpack_unpack_next(&up, snap.p, snap.n, &off) == MSGPACK_UNPACK_SUCCESS) {
            const msgpack_object *f = up.data.via.array.ptr;
            printf("  columns %llu bytes -> %u deflated; text %llu bytes -> %u deflated\n",
                   (unsigned long long)f[3].via.u64, f[4].via.bin.size,
                   (unsigned long long)f[5].via.u64, f[6].via.bin.size);
        }
        msgpack_unpacked_destroy(&up);
    }
    printf("replay %.0f ms, encode %.1f ms, load %.1f ms\n", (t1 - t0) * 1e3, (t2 - t1) * 1e3,
           (t3 - t2) * 1e3);
    CHECK((long)snap.n <= limit);
    weft_doc_free(back);
    weft_doc_free(d);
    weft_buf_cleanup(&text);
    weft_buf_cleanup(&snap);
    weft_buf_cleanup(&t2b);
    json_decref(root);
    return ptest_failures != 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--trace") == 0)
        return trace(argv[2], atol(argv[3]));
    samples();
    load_then_edit();
    random_docs();
    corrupt();
    mutations();
    printf("%s: %d failures\n", __FILE__, ptest_failures);
    return ptest_failures != 0;
}
