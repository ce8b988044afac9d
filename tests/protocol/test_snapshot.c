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
    /* the text alone, without building a document, is the document's */
    CHECK_RC(weft_doc_text(d, &b), 0);
    weft_buf t;
    weft_buf_init(&t);
    CHECK_RC(weft_proto_snapshot_text((uint8_t *)a.p, a.n, NULL, &t, &lsn2), 0);
    if (t.n != b.n || memcmp(t.p, b.p, b.n) != 0 || t.p[t.n] != 0 || lsn2 != lsn) {
        fprintf(stderr, "%s: snapshot_text differs from the document's text\n", name);
        ptest_failures++;
    }
    weft_buf_cleanup(&t);
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

/* Canonical msgpack headers, appended at out[*n]. */
static void put_uint(uint8_t *out, size_t *n, uint32_t v)
{
    if (v < 0x80) {
        out[(*n)++] = (uint8_t)v;
    } else if (v < 0x100) {
        out[(*n)++] = 0xcc;
        out[(*n)++] = (uint8_t)v;
    } else if (v < 0x10000) {
        out[(*n)++] = 0xcd;
        out[(*n)++] = (uint8_t)(v >> 8);
        out[(*n)++] = (uint8_t)v;
    } else {
        out[(*n)++] = 0xce;
        for (int s = 24; s >= 0; s -= 8)
            out[(*n)++] = (uint8_t)(v >> s);
    }
}

static void put_bin(uint8_t *out, size_t *n, const uint8_t *p, size_t len)
{
    if (len < 0x100) {
        out[(*n)++] = 0xc4;
        out[(*n)++] = (uint8_t)len;
    } else if (len < 0x10000) {
        out[(*n)++] = 0xc5;
        out[(*n)++] = (uint8_t)(len >> 8);
        out[(*n)++] = (uint8_t)len;
    } else {
        out[(*n)++] = 0xc6;
        for (int s = 24; s >= 0; s -= 8)
            out[(*n)++] = (uint8_t)(len >> s);
    }
    memcpy(out + *n, p, len);
    *n += len;
}

/* A section [declared, deflate(p)] (declared = len unless told). */
static void put_section(uint8_t *out, size_t *n, const void *p, size_t len, uint32_t declared)
{
    static uint8_t z[1 << 16];
    size_t zn;
    if (raw_deflate(p, len, z, sizeof z, &zn))
        abort();
    out[(*n)++] = 0x92;
    put_uint(out, n, declared);
    put_bin(out, n, z, zn);
}

/* Ways to spoil a hand-made snapshot's frame. */
enum {
    F_14_COLUMNS = 1,  /* the columns array is one short */
    F_BARE_BIN = 2,    /* column 0 is a bin, not [len, bin] */
    F_STR = 4,         /* column 0 is [len, str] */
    F_THREE = 8,       /* column 0 is [len, bin, 0] */
    F_LEN_PLUS = 16,   /* column 3 declares one byte more than it has */
    F_LEN_MINUS = 32,  /* column 3 declares one byte less */
    F_TEXT_PLUS = 64,  /* the text declares one byte more */
    F_TEXT_MINUS = 128 /* the text declares one byte less */
};

/* [3, 0, vv, columns, text] with the 15 columns given as hex varint bytes
 * separated by '|' (empty = no values). */
static size_t make_snapshot(uint8_t *out, const char *vvhex, const char *spec, const char *text,
                            int flags)
{
    uint8_t col[256];
    char hex[512];
    size_t n = 0;
    out[n++] = 0x95;
    out[n++] = 0x03;
    out[n++] = 0x00;
    n += (size_t)ptest_unhex(vvhex, out + n, 64);
    out[n++] = (flags & F_14_COLUMNS) ? 0x9e : 0x9f;
    for (int i = 0; i < 15; i++) {
        const char *bar = strchr(spec, '|');
        size_t k = bar ? (size_t)(bar - spec) : strlen(spec);
        if (k >= sizeof hex || (i < 14) != (bar != NULL))
            abort();
        memcpy(hex, spec, k);
        hex[k] = 0;
        long m = ptest_unhex(hex, col, sizeof col);
        if (m < 0)
            abort();
        spec = bar ? bar + 1 : spec + k;
        if (i == 14 && (flags & F_14_COLUMNS))
            break;
        uint32_t declared = (uint32_t)m;
        if (i == 3 && (flags & F_LEN_PLUS))
            declared++;
        if (i == 3 && (flags & F_LEN_MINUS))
            declared--;
        if (i == 0 && (flags & F_BARE_BIN)) {
            put_bin(out, &n, col, (size_t)m);
        } else if (i == 0 && (flags & F_STR)) {
            out[n++] = 0x92;
            put_uint(out, &n, declared);
            out[n++] = 0xa0; /* "" */
        } else if (i == 0 && (flags & F_THREE)) {
            size_t at = n;
            put_section(out, &n, col, (size_t)m, declared);
            out[at] = 0x93;
            out[n++] = 0x00;
        } else {
            put_section(out, &n, col, (size_t)m, declared);
        }
    }
    size_t tn = strlen(text);
    uint32_t declared =
        (uint32_t)tn + ((flags & F_TEXT_PLUS) ? 1 : 0) - ((flags & F_TEXT_MINUS) ? 1 : 0);
    put_section(out, &n, text, tn, declared);
    return n;
}
static int load(const uint8_t *p, size_t n, const weft_proto_limits *lim)
{
    weft_doc *d = weft_doc_new(WEFT_NONE);
    uint32_t lsn;
    int rc = weft_proto_snapshot_load(p, n, lim, d, &lsn);
    weft_doc_free(d);
    return rc;
}

/* weft_proto_snapshot_text's code for the same bytes. */
static int text_rc(const uint8_t *p, size_t n, const weft_proto_limits *lim)
{
    weft_buf t;
    uint32_t lsn;
    weft_buf_init(&t);
    int rc = weft_proto_snapshot_text(p, n, lim, &t, &lsn);
    weft_buf_cleanup(&t);
    return rc;
}

/* Column order: agents | r_agent r_seq r_len r_flags r_x r_xa | d_agent
 * d_seq d_tagent d_tseq d_len | s_agent s_seq s_len. One run "hi" by
 * agent 1, no deletes, one span. */
#define GOOD_COLS "01|00|00|02|00||||||||00|00|02"

/* Loads a one-agent snapshot, text "hi", vv {1: 2}, with these columns. */
static int load_cols(const char *spec)
{
    static uint8_t snap[4096];
    size_t n = make_snapshot(snap, "91 92 01 02", spec, "hi", 0);
    return load(snap, n, NULL);
}

static int load_flags(int flags)
{
    static uint8_t snap[4096];
    size_t n = make_snapshot(snap, "91 92 01 02", GOOD_COLS, "hi", flags);
    return load(snap, n, NULL);
}

/* Varint columns must be canonical and exactly as long as their values. */
static void bad_varints(void)
{
    CHECK_RC(load_cols(GOOD_COLS), 0);
    /* overlong: 2 as 82 00, 1 as 81 00, 0 as 80 00, 2 in five bytes */
    CHECK_RC(load_cols("01|00|00|8200|00||||||||00|00|02"), WEFT_PROTO_E_NONCANONICAL);
    CHECK_RC(load_cols("8100|00|00|02|00||||||||00|00|02"), WEFT_PROTO_E_NONCANONICAL);
    CHECK_RC(load_cols("01|8000|00|02|00||||||||00|00|02"), WEFT_PROTO_E_NONCANONICAL);
    CHECK_RC(load_cols("01|00|00|02|00||||||||00|00|8280808000"), WEFT_PROTO_E_NONCANONICAL);
    /* >= 2^32: a fifth byte above 0x0f, or a sixth byte */
    CHECK_RC(load_cols("8180808010|00|00|02|00||||||||00|00|02"), WEFT_PROTO_E_INTRANGE);
    CHECK_RC(load_cols("01|00|00|ffffffff1f|00||||||||00|00|02"), WEFT_PROTO_E_INTRANGE);
    CHECK_RC(load_cols("01|00|00|8280808080|00||||||||00|00|02"), WEFT_PROTO_E_INTRANGE);
    CHECK_RC(load_cols("01|00|00|828080808000|00||||||||00|00|02"), WEFT_PROTO_E_INTRANGE);
    /* 2^32 - 1 is a valid varint, too long for a run here */
    CHECK_RC(load_cols("01|00|00|ffffffff0f|00||||||||00|00|02"), WEFT_PROTO_E_VALUE);
    /* truncated: a column ends inside a value, or before the last run's */
    CHECK_RC(load_cols("01|00|00|82|00||||||||00|00|02"), WEFT_PROTO_E_TRUNCATED);
    CHECK_RC(load_cols("01|00|0080|02|00||||||||00|00|02"), WEFT_PROTO_E_TRUNCATED);
    CHECK_RC(load_cols("01|00||02|00||||||||00|00|02"), WEFT_PROTO_E_TRUNCATED);
    CHECK_RC(load_cols("01|00|00|02|||||||||00|00|02"), WEFT_PROTO_E_TRUNCATED);
    CHECK_RC(load_cols("01|00|00|02|00||||||||00|00|"), WEFT_PROTO_E_TRUNCATED);
    CHECK_RC(load_cols("01|00|00|02|00|||00|||||00|00|02"), WEFT_PROTO_E_TRUNCATED);
    CHECK_RC(load_cols("01|00|00|02|00||||||||00|00|ff"), WEFT_PROTO_E_TRUNCATED);
    CHECK_RC(load_cols("ff|00|00|02|00||||||||00|00|02"), WEFT_PROTO_E_TRUNCATED);
    /* trailing values in a column the decoder reads to its end */
    CHECK_RC(load_cols("01|00|00|02|00||||||||00|00|0200"), WEFT_PROTO_E_TRAILING);
    CHECK_RC(load_cols("01|00|0000|02|00||||||||00|00|02"), WEFT_PROTO_E_TRAILING);
    CHECK_RC(load_cols("01|00|00|02|0000||||||||00|00|02"), WEFT_PROTO_E_TRAILING);
    CHECK_RC(load_cols("01|00|00|02|00|05|||||||00|00|02"), WEFT_PROTO_E_TRAILING);
    CHECK_RC(load_cols("01|00|00|02|00||00||||||00|00|02"), WEFT_PROTO_E_TRAILING);
    CHECK_RC(load_cols("01|00|00|02|00||||01||||00|00|02"), WEFT_PROTO_E_TRAILING);
    CHECK_RC(load_cols("01|00|00|02|00||||||||00|0000|02"), WEFT_PROTO_E_TRAILING);
    /* trailing garbage: an unfinished value after the last one */
    CHECK_RC(load_cols("01|00|00|0280|00||||||||00|00|02"), WEFT_PROTO_E_TRUNCATED);
    CHECK_RC(load_cols("01|00|00|02|00||||||||00|00|0280"), WEFT_PROTO_E_TRUNCATED);
    /* an agent index past the agents column */
    CHECK_RC(load_cols("01|01|00|02|00||||||||00|00|02"), WEFT_PROTO_E_VALUE);

    /* The largest agent, 0xfffffffe, takes a five-byte varint and loads. */
    static uint8_t snap[4096];
    size_t n = make_snapshot(snap, "91 92 ce fffffffe 02", "feffffff0f|00|00|02|00||||||||00|00|02",
                             "hi", 0);
    CHECK_RC(load(snap, n, NULL), 0);
}

/* Loads agent 1's "hi" (seqs 0, 1), deleted by its seqs 2 and 3, vv
 * {1: 4}, with these delete columns (d_tagent as d_agent). */
static int load_dels(const char *dagent, const char *dseq, const char *dtseq, const char *dlen)
{
    static uint8_t snap[4096];
    char spec[256];
    snprintf(spec, sizeof spec, "01|00|00|02|01|||%s|%s|%s|%s|%s|00|00|04", dagent, dseq, dagent,
             dtseq, dlen);
    size_t n = make_snapshot(snap, "91 92 01 04", spec, "hi", 0);
    return load(snap, n, NULL);
}

/* Delete records are the engine's compact ones, each exactly as the engine
 * keeps it. */
static void delete_records(void)
{
    CHECK_RC(load_dels("00", "04", "02", "05"), 0); /* reverse: 2 removed 1, 3 removed 0 */
    CHECK_RC(load_dels("00", "04", "00", "04"), 0); /* forward: 2 removed 0, 3 removed 1 */
    /* the reverse record as two forward ones: the engine merges them */
    CHECK_RC(load_dels("0000", "0400", "0201", "0202"), WEFT_PROTO_E_NONCANONICAL);
    /* a forward record split in two */
    CHECK_RC(load_dels("0000", "0400", "0002", "0202"), WEFT_PROTO_E_NONCANONICAL);
    /* a reverse record of one char (it is forward), then another */
    CHECK_RC(load_dels("0000", "0400", "0201", "0302"), WEFT_PROTO_E_NONCANONICAL);
    /* a reverse record reaching below seq 0 */
    CHECK_RC(load_dels("00", "04", "00", "05"), WEFT_PROTO_E_VALUE);
    /* length 0, either direction */
    CHECK_RC(load_dels("00", "04", "02", "00"), WEFT_PROTO_E_VALUE);
    CHECK_RC(load_dels("00", "04", "02", "01"), WEFT_PROTO_E_VALUE);
    /* a reverse record targeting a delete's seq (2) */
    CHECK_RC(load_dels("00", "04", "04", "05"), WEFT_E_BADLOAD);
    /* one char deleted twice, the other not at all */
    CHECK_RC(load_dels("0000", "0400", "0200", "0202"), WEFT_E_BADLOAD);
    /* d_len with a value left over */
    CHECK_RC(load_dels("00", "04", "02", "0505"), WEFT_PROTO_E_TRAILING);
}

static void corrupt(void)
{
    static uint8_t snap[4096];
    size_t n;
    CHECK_RC(load_flags(0), 0);
    /* the frame: 15 sections of [len, bin], then the text's */
    CHECK_RC(load_flags(F_14_COLUMNS), WEFT_PROTO_E_SHAPE);
    n = make_snapshot(snap, "91 92 01 02", GOOD_COLS, "hi", F_14_COLUMNS);
    CHECK_RC(text_rc(snap, n, NULL), WEFT_PROTO_E_SHAPE);
    n = make_snapshot(snap, "91 92 01 02", GOOD_COLS, "hi", F_TEXT_PLUS);
    CHECK_RC(text_rc(snap, n, NULL), WEFT_PROTO_E_INFLATE);
    CHECK_RC(load_flags(F_BARE_BIN), WEFT_PROTO_E_SHAPE);
    CHECK_RC(load_flags(F_STR), WEFT_PROTO_E_SHAPE);
    CHECK_RC(load_flags(F_THREE), WEFT_PROTO_E_SHAPE);
    /* a declared length other than the inflated one */
    CHECK_RC(load_flags(F_LEN_PLUS), WEFT_PROTO_E_INFLATE);
    CHECK_RC(load_flags(F_LEN_MINUS), WEFT_PROTO_E_INFLATE);
    CHECK_RC(load_flags(F_TEXT_PLUS), WEFT_PROTO_E_INFLATE);
    CHECK_RC(load_flags(F_TEXT_MINUS), WEFT_PROTO_E_INFLATE);
    /* text with more code points than the runs */
    n = make_snapshot(snap, "91 92 01 02", GOOD_COLS, "hij", 0);
    CHECK_RC(load(snap, n, NULL), WEFT_PROTO_E_VALUE);
    CHECK_RC(text_rc(snap, n, NULL), WEFT_PROTO_E_VALUE);
    /* ... or fewer */
    n = make_snapshot(snap, "91 92 01 02", GOOD_COLS, "h", 0);
    CHECK_RC(text_rc(snap, n, NULL), WEFT_PROTO_E_VALUE);
    /* invalid UTF-8 text */
    n = make_snapshot(snap, "91 92 01 02", GOOD_COLS, "h\xff", 0);
    CHECK_RC(load(snap, n, NULL), WEFT_PROTO_E_UTF8);
    CHECK_RC(text_rc(snap, n, NULL), WEFT_PROTO_E_UTF8);
    /* vv that does not match the content: only the full load sees it */
    n = make_snapshot(snap, "91 92 01 03", GOOD_COLS, "hi", 0);
    CHECK_RC(load(snap, n, NULL), WEFT_PROTO_E_VVMISMATCH);
    CHECK_RC(text_rc(snap, n, NULL), 0);
    /* the text reader checks the run lengths and flags it reads */
    n = make_snapshot(snap, "91 92 01 02", "01|00|00|02|20||||||||00|00|02", "hi", 0);
    CHECK_RC(text_rc(snap, n, NULL), WEFT_PROTO_E_VALUE);
    n = make_snapshot(snap, "91 92 01 02", "01|00|00|02|0000||||||||00|00|02", "hi", 0);
    CHECK_RC(text_rc(snap, n, NULL), WEFT_PROTO_E_TRAILING);
    n = make_snapshot(snap, "91 92 01 02", "01|00|00|00|00||||||||00|00|02", "hi", 0);
    CHECK_RC(text_rc(snap, n, NULL), WEFT_PROTO_E_VALUE);
    /* an agent nobody uses */
    CHECK_RC(load_cols("0105|00|00|02|00||||||||00|00|02"), WEFT_PROTO_E_NONCANONICAL);
    /* agents not increasing */
    CHECK_RC(load_cols("0101|00|00|02|00||||||||00|00|02"), WEFT_PROTO_E_ORDER);
    /* two runs that should be one: "h" then "i" continuing it */
    CHECK_RC(load_cols("01|0000|0000|0101|0002||||||||00|00|02"), WEFT_PROTO_E_NONCANONICAL);
    /* origin code 3 (other agent) naming what code 1 would say */
    CHECK_RC(load_cols("01|0000|0001|0101|0006|00|00||||||00|00|02"), WEFT_PROTO_E_NONCANONICAL);
    /* an unknown format, and formats 1 and 2 (never released) */
    n = make_snapshot(snap, "91 92 01 02", GOOD_COLS, "hi", 0);
    snap[1] = 0x04;
    CHECK_RC(load(snap, n, NULL), WEFT_PROTO_E_FORMAT);
    snap[1] = 0x02;
    CHECK_RC(load(snap, n, NULL), WEFT_PROTO_E_FORMAT);
    snap[1] = 0x01;
    CHECK_RC(load(snap, n, NULL), WEFT_PROTO_E_FORMAT);

    /* Decompression bombs: 16 MiB of spaces deflate to a few KiB. */
    size_t big = 16u << 20;
    char *spaces = malloc(big);
    uint8_t *z = malloc(1 << 20), *frame = malloc((1 << 20) + 64);
    size_t zn, fn, head;
    memset(spaces, ' ', big);
    CHECK(raw_deflate(spaces, big, z, 1 << 20, &zn) == 0);
    weft_proto_limits lim = WEFT_PROTO_LIMITS_DEFAULT;
    lim.max_inflate = 1u << 20;
    /* everything up to the text section (which is 92 00 c4 02 03 00) */
    head = make_snapshot(frame, "91 92 01 02", GOOD_COLS, "", 0) - 6;
    /* declared honestly, over the caller's limit: refused before inflating */
    fn = head;
    frame[fn++] = 0x92;
    put_uint(frame, &fn, (uint32_t)big);
    put_bin(frame, &fn, z, zn);
    CHECK_RC(load(frame, fn, &lim), WEFT_PROTO_E_BOMB);
    CHECK_RC(text_rc(frame, fn, &lim), WEFT_PROTO_E_BOMB);
    /* the limit counts the columns too */
    lim.max_inflate = big + 7; /* the columns take 8 bytes */
    CHECK_RC(load(frame, fn, &lim), WEFT_PROTO_E_BOMB);
    lim.max_inflate = big + 8;
    CHECK_RC(load(frame, fn, &lim), WEFT_PROTO_E_VALUE); /* 16 MiB of text for 2 code points */
    lim.max_inflate = 1u << 20;
    /* declared small, inflates to 16 MiB: stops at the declared size */
    fn = head;
    frame[fn++] = 0x92;
    put_uint(frame, &fn, 2);
    put_bin(frame, &fn, z, zn);
    CHECK_RC(load(frame, fn, &lim), WEFT_PROTO_E_INFLATE);
    CHECK_RC(text_rc(frame, fn, &lim), WEFT_PROTO_E_INFLATE);
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
    for (int i = 0; i < 4; i++) {
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
    printf("snapshot mutations: %ld of 12000 accepted\n", accepted);
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
    CHECK_RC(weft_proto_snapshot_text((uint8_t *)snap.p, snap.n, NULL, &t2b, &lsn), 0);
    CHECK(t2b.n == text.n && memcmp(t2b.p, text.p, text.n) == 0 && lsn == 259778);
    CHECK(same_state(d, back));
    CHECK_RC(weft_doc_check(back), 0);
    size_t runs = 0;
    weft_run_iter it;
    weft_run r;
    weft_run_iter_init(&it, d);
    while (weft_run_iter_next(&it, &r))
        runs++;
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    printf("%s: %zu canonical runs, %zu delete records, %zu spans\n", base, runs,
           weft_doc_del_count(d), weft_doc_span_count(d));
    printf("%s snapshot (full history): %zu bytes (limit %ld; for automerge-paper, Yjs V2 "
           "without deleted text: 159929)\n",
           base, snap.n, limit);
    {
        /* section sizes: [2, lsn, vv, [[len, bin] x 15], [len, bin]] */
        msgpack_unpacked up;
        size_t off = 0;
        msgpack_unpacked_init(&up);
        if (msgpack_unpack_next(&up, snap.p, snap.n, &off) == MSGPACK_UNPACK_SUCCESS) {
            const msgpack_object *f = up.data.via.array.ptr;
            const msgpack_object_array *cols = &f[3].via.array;
            unsigned long long raw = 0, z = 0;
            printf("  columns (inflated -> deflated):");
            for (uint32_t c = 0; c < cols->size; c++) {
                const msgpack_object *sec = cols->ptr[c].via.array.ptr;
                raw += sec[0].via.u64;
                z += sec[1].via.bin.size;
                printf(" %llu->%u", (unsigned long long)sec[0].via.u64, sec[1].via.bin.size);
            }
            const msgpack_object *t = f[4].via.array.ptr;
            printf("\n  columns %llu bytes -> %llu deflated; text %llu bytes -> %u deflated\n", raw,
                   z, (unsigned long long)t[0].via.u64, t[1].via.bin.size);
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
    bad_varints();
    delete_records();
    mutations();
    printf("%s: %d failures\n", __FILE__, ptest_failures);
    return ptest_failures != 0;
}
