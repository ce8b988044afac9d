/*
 * test_snapshot.c — brief §10 scenario 22: snapshot round trip. A live
 * document's canonical runs (weft_run_iter), delete records
 * (weft_doc_del_get's forward pieces, or weft_doc_delrec_get's compact
 * records) and apply-order spans (weft_doc_span_get) are loaded
 * into a fresh document (weft_doc_load_run/_del/_span/_finish); the copy
 * must equal the original (text, runs, version, records, ops_since), and
 * stay equal while more ops (remote and local) are applied to both.
 * Inconsistent snapshots must be refused with WEFT_E_BADLOAD.
 */
#include "ops.h"
#include "session.h"

#include <stdlib.h>

typedef struct snap {
    weft_run *runs;
    sbuf *texts;
    size_t nruns;
    weft_del *dels;
    size_t ndels;
    weft_span *spans;
    size_t nspans;
} snap;

/* compact: delete records from weft_doc_delrec_get, else forward pieces */
static void snap_take_as(const weft_doc *d, snap *s, bool compact)
{
    memset(s, 0, sizeof *s);
    size_t cap = 16;
    s->runs = malloc(cap * sizeof *s->runs);
    s->texts = malloc(cap * sizeof *s->texts);
    weft_run_iter it;
    weft_run r;
    weft_run_iter_init(&it, d);
    while (weft_run_iter_next(&it, &r)) {
        if (s->nruns == cap) {
            cap *= 2;
            s->runs = realloc(s->runs, cap * sizeof *s->runs);
            s->texts = realloc(s->texts, cap * sizeof *s->texts);
        }
        sbuf_init(&s->texts[s->nruns]);
        sbuf_put(&s->texts[s->nruns], r.text, r.bytes);
        s->runs[s->nruns++] = r;
    }
    for (size_t i = 0; i < s->nruns; i++)
        s->runs[i].text = s->texts[i].p; /* own the text */
    s->ndels = compact ? weft_doc_delrec_count(d) : weft_doc_del_count(d);
    s->dels = calloc(s->ndels + 1, sizeof *s->dels);
    for (size_t i = 0; i < s->ndels; i++)
        s->dels[i] = compact ? weft_doc_delrec_get(d, i) : weft_doc_del_get(d, i);
    s->nspans = weft_doc_span_count(d);
    s->spans = calloc(s->nspans + 1, sizeof *s->spans);
    for (size_t i = 0; i < s->nspans; i++)
        s->spans[i] = weft_doc_span_get(d, i);
}

static void snap_take(const weft_doc *d, snap *s)
{
    snap_take_as(d, s, false);
}

static void snap_free(snap *s)
{
    for (size_t i = 0; i < s->nruns; i++)
        sbuf_free(&s->texts[i]);
    free(s->texts);
    free(s->runs);
    free(s->dels);
    free(s->spans);
}

/* Loads s (optionally skipping/altering one element) into a new doc.
 * Returns the first negative code seen, or 0 with *out set. */
static int snap_load(const snap *s, uint32_t agent, weft_doc **out)
{
    weft_doc *d = weft_doc_new(agent);
    CHECK(d);
    int rc = 0;
    for (size_t i = 0; i < s->nruns && !rc; i++)
        rc = weft_doc_load_run(d, &s->runs[i]);
    for (size_t i = 0; i < s->ndels && !rc; i++)
        rc = weft_doc_load_del(d, &s->dels[i]);
    for (size_t i = 0; i < s->nspans && !rc; i++)
        rc = weft_doc_load_span(d, &s->spans[i]);
    if (!rc)
        rc = weft_doc_load_finish(d);
    if (rc) {
        weft_doc_free(d);
        *out = NULL;
        return rc;
    }
    *out = d;
    return 0;
}

static void same_logs(const weft_doc *a, const weft_doc *b)
{
    CHECK_EQ(weft_doc_del_count(a), weft_doc_del_count(b));
    for (size_t i = 0; i < weft_doc_del_count(a); i++) {
        weft_del x = weft_doc_del_get(a, i), y = weft_doc_del_get(b, i);
        CHECK(x.id.agent == y.id.agent && x.id.seq == y.id.seq &&
              x.target.agent == y.target.agent && x.target.seq == y.target.seq && x.len == y.len);
        CHECK(!x.rev && !y.rev);
    }
    CHECK_EQ(weft_doc_delrec_count(a), weft_doc_delrec_count(b));
    for (size_t i = 0; i < weft_doc_delrec_count(a); i++) {
        weft_del x = weft_doc_delrec_get(a, i), y = weft_doc_delrec_get(b, i);
        CHECK(x.id.agent == y.id.agent && x.id.seq == y.id.seq &&
              x.target.agent == y.target.agent && x.target.seq == y.target.seq &&
              x.len == y.len && x.rev == y.rev && (!x.rev || x.len >= 2));
    }
    CHECK_EQ(weft_doc_span_count(a), weft_doc_span_count(b));
    weft_vv va, vb;
    weft_vv_init(&va);
    weft_vv_init(&vb);
    CHECK_OK(weft_doc_version(a, &va));
    CHECK_OK(weft_doc_version(b, &vb));
    CHECK(weft_vv_leq(&va, &vb) && weft_vv_leq(&vb, &va));
    weft_vv_cleanup(&va);
    weft_vv_cleanup(&vb);
    weft_oplist la, lb;
    weft_oplist_init(&la);
    weft_oplist_init(&lb);
    CHECK_OK(weft_doc_ops_since(a, NULL, &la));
    CHECK_OK(weft_doc_ops_since(b, NULL, &lb));
    CHECK_EQ(la.n, lb.n);
    for (size_t i = 0; i < la.n && i < lb.n; i++)
        CHECK_MSG(top_equal(&la.ops[i], &lb.ops[i]), "ops_since differs at %zu", i);
    weft_oplist_cleanup(&la);
    weft_oplist_cleanup(&lb);
}

static void test_round_trip(void)
{
    uint64_t seed = test_seed(22);
    unsigned long iters = test_iters(30);
    for (unsigned long it = 0; it < iters; it++) {
        session s;
        session_init(&s, 3, seed * 31 + it);
        s.check_each = false;
        s.random_order = false; /* nothing parked: parked ops are not state */
        snprintf(test_ctx, sizeof test_ctx, "snapshot seed=%llu iter=%lu", (unsigned long long)seed,
                 it);
        for (int k = 0; k < 80; k++)
            session_step(&s);
        size_t src = 0;
        snap sn;
        snap_take(s.rep[src].d, &sn);
        weft_doc *copy;
        CHECK_OK(snap_load(&sn, s.rep[src].agent, &copy));
        CHECK_OK(weft_doc_check(copy));
        eng_same_docs(s.rep[src].d, copy, "loaded snapshot");
        same_logs(s.rep[src].d, copy);
        /* a second round trip is byte-identical */
        snap sn2;
        snap_take(copy, &sn2);
        CHECK_EQ(sn2.nruns, sn.nruns);
        snap_free(&sn2);
        /* the compact records load to the same document, each kept as it is */
        weft_doc *copy2;
        snap_take_as(s.rep[src].d, &sn2, true);
        CHECK_OK(snap_load(&sn2, s.rep[src].agent, &copy2));
        CHECK_OK(weft_doc_check(copy2));
        eng_same_docs(s.rep[src].d, copy2, "loaded compact snapshot");
        same_logs(s.rep[src].d, copy2);
        CHECK_EQ(weft_doc_delrec_count(copy2), sn2.ndels);
        weft_doc_free(copy2);
        snap_free(&sn2);

        /* more remote ops, then a local edit, on both */
        for (size_t k = 0; k < s.pool.n; k++) {
            const weft_op *op = &s.pool.v[k];
            int a = weft_doc_apply(s.rep[src].d, op, NULL);
            int b = weft_doc_apply(copy, op, NULL);
            CHECK_MSG(a == b, "op %zu: original %s, loaded copy %s", k, test_errname(a),
                      test_errname(b));
        }
        CHECK_OK(weft_doc_check(copy));
        eng_same_docs(s.rep[src].d, copy, "after more ops");
        weft_oplist la, lb;
        weft_oplist_init(&la);
        weft_oplist_init(&lb);
        uint32_t pos = weft_doc_len(copy) / 2;
        CHECK_OK(weft_doc_insert(s.rep[src].d, pos, "snap😀", strlen("snap😀"), &la));
        CHECK_OK(weft_doc_insert(copy, pos, "snap😀", strlen("snap😀"), &lb));
        CHECK(la.n == 1 && lb.n == 1 && top_equal(&la.ops[0], &lb.ops[0]));
        if (weft_doc_len(copy) > 3) {
            weft_oplist_clear(&la);
            weft_oplist_clear(&lb);
            CHECK_OK(weft_doc_delete(s.rep[src].d, 1, 3, &la));
            CHECK_OK(weft_doc_delete(copy, 1, 3, &lb));
            CHECK_EQ(la.n, lb.n);
            for (size_t i = 0; i < la.n && i < lb.n; i++)
                CHECK(top_equal(&la.ops[i], &lb.ops[i]));
        }
        weft_oplist_cleanup(&la);
        weft_oplist_cleanup(&lb);
        eng_same_docs(s.rep[src].d, copy, "after local edits");
        same_logs(s.rep[src].d, copy);
        weft_doc_free(copy);

        /* corrupted snapshots are refused */
        if (sn.nspans > 0) {
            snap bad = sn;
            bad.nspans--; /* a seq range not covered */
            CHECK_MSG(snap_load(&bad, WEFT_NONE, &copy) < 0, "missing span accepted");
        }
        if (sn.ndels > 0) {
            snap bad = sn;
            bad.ndels--; /* a deleted run without a delete record (or a gap) */
            CHECK_MSG(snap_load(&bad, WEFT_NONE, &copy) < 0, "missing delete record accepted");
        }
        for (size_t i = 0; i < sn.nruns; i++)
            if (!sn.runs[i].deleted) {
                sn.runs[i].deleted = true; /* flag disagrees with the records */
                CHECK_MSG(snap_load(&sn, WEFT_NONE, &copy) < 0, "wrong deleted flag accepted");
                sn.runs[i].deleted = false;
                break;
            }
        if (sn.nruns > 1) {
            snap bad = sn;
            bad.runs = malloc(sn.nruns * sizeof *bad.runs);
            memcpy(bad.runs, sn.runs + 1, (sn.nruns - 1) * sizeof *bad.runs);
            bad.nruns--; /* a run missing */
            CHECK_MSG(snap_load(&bad, WEFT_NONE, &copy) < 0, "missing run accepted");
            free(bad.runs);
        }
        snap_free(&sn);
        session_free(&s);
    }
    test_ctx[0] = 0;
}

static void test_small(void)
{
    /* empty document */
    weft_doc *e = weft_doc_new(5), *c;
    snap sn;
    snap_take(e, &sn);
    CHECK_EQ(sn.nruns, 0);
    CHECK_OK(snap_load(&sn, 5, &c));
    eng_same_docs(e, c, "empty");
    snap_free(&sn);
    weft_doc_free(c);
    /* a run whose origin is missing */
    weft_run r = {7, 0, 1, ID(9, 0), NONE, false, "x", 1};
    weft_span sp = {7, 0, 1};
    weft_doc *d = weft_doc_new(WEFT_NONE);
    int rc = weft_doc_load_run(d, &r);
    if (!rc)
        rc = weft_doc_load_span(d, &sp);
    if (!rc)
        rc = weft_doc_load_finish(d);
    CHECK_MSG(rc < 0, "snapshot with a dangling origin accepted");
    weft_doc_free(d);
    weft_doc_free(e);
}

/* "abcd" typed by agent 1 (seqs 0-3), then deleted by these records
 * (deleter seqs from 4 on); the load result, and the records it keeps. */
static int load_abcd(const weft_del *dels, size_t n, weft_doc **out)
{
    weft_run r = {1, 0, 4, NONE, NONE, true, "abcd", 4};
    uint32_t dl = 0;
    for (size_t i = 0; i < n; i++)
        dl += dels[i].len;
    weft_span sp = {1, 0, 4 + dl};
    weft_doc *d = weft_doc_new(WEFT_NONE);
    CHECK(d);
    int rc = weft_doc_load_run(d, &r);
    for (size_t i = 0; i < n && !rc; i++)
        rc = weft_doc_load_del(d, &dels[i]);
    if (!rc)
        rc = weft_doc_load_span(d, &sp);
    if (!rc)
        rc = weft_doc_load_finish(d);
    if (!rc)
        CHECK_OK(weft_doc_check(d));
    if (rc || !out)
        weft_doc_free(d);
    else
        *out = d;
    return rc;
}

#define DEL(seq, tseq, len, rev) ((weft_del){ID(1, seq), ID(1, tseq), len, rev})

static bool rec_is(const weft_doc *d, size_t i, weft_del want)
{
    weft_del x = weft_doc_delrec_get(d, i);
    return x.id.seq == want.id.seq && x.target.seq == want.target.seq && x.len == want.len &&
           x.rev == want.rev;
}

/* Delete records in compact form: validated, and merged as the engine
 * merges deletes. */
static void test_delrecs(void)
{
    weft_doc *d;
    /* backspacing all four: one reverse record, kept */
    weft_del back[] = {DEL(4, 3, 4, true)};
    CHECK_OK(load_abcd(back, 1, &d));
    CHECK(weft_doc_delrec_count(d) == 1 && rec_is(d, 0, back[0]));
    CHECK_EQ(weft_doc_del_count(d), 4); /* forward pieces: 4->3, 5->2, 6->1, 7->0 */
    weft_del p = weft_doc_del_get(d, 2);
    CHECK(p.id.seq == 6 && p.target.seq == 1 && p.len == 1 && !p.rev);
    weft_doc_free(d);
    /* the same as forward pieces merges back into it */
    weft_del pieces[] = {DEL(4, 3, 1, false), DEL(5, 2, 1, false), DEL(6, 1, 1, false),
                         DEL(7, 0, 1, false)};
    CHECK_OK(load_abcd(pieces, 4, &d));
    CHECK(weft_doc_delrec_count(d) == 1 && rec_is(d, 0, back[0]));
    weft_doc_free(d);
    /* a reverse record continuing a reverse one merges whole */
    weft_del two[] = {DEL(4, 3, 2, true), DEL(6, 1, 2, true)};
    CHECK_OK(load_abcd(two, 2, &d));
    CHECK(weft_doc_delrec_count(d) == 1 && rec_is(d, 0, back[0]));
    weft_doc_free(d);
    /* a reverse record whose first char continues a forward one: that
     * char joins it, the rest stays reverse (0, 1 forward; then 2; 3 back) */
    weft_del fr[] = {DEL(4, 0, 2, false), DEL(6, 3, 2, true)};
    CHECK_OK(load_abcd(fr, 2, &d));
    CHECK_EQ(weft_doc_delrec_count(d), 2);
    CHECK(rec_is(d, 0, DEL(4, 0, 2, false)) && rec_is(d, 1, DEL(6, 3, 2, true)));
    weft_doc_free(d);
    weft_del fr2[] = {DEL(4, 0, 2, false), DEL(6, 2, 2, true)}; /* 6->2 continues 0, 1 */
    CHECK_EQ(load_abcd(fr2, 2, NULL), WEFT_E_BADLOAD); /* 3 is never deleted */
    weft_del fr3[] = {DEL(4, 0, 1, false), DEL(5, 1, 1, false), DEL(6, 3, 2, true)};
    CHECK_OK(load_abcd(fr3, 3, &d));
    CHECK(weft_doc_delrec_count(d) == 2 && rec_is(d, 0, DEL(4, 0, 2, false)) &&
          rec_is(d, 1, DEL(6, 3, 2, true)));
    weft_doc_free(d);
    /* malformed: a reverse record of one char, one reaching below seq 0,
     * targets that are delete seqs, a char deleted twice */
    weft_del one[] = {DEL(4, 3, 1, true)};
    CHECK_EQ(load_abcd(one, 1, NULL), WEFT_E_BADLOAD);
    weft_del under[] = {DEL(4, 2, 4, true)};
    CHECK_EQ(load_abcd(under, 1, NULL), WEFT_E_BADLOAD);
    weft_del dseq[] = {DEL(4, 5, 4, true)};
    CHECK_EQ(load_abcd(dseq, 1, NULL), WEFT_E_BADLOAD);
    weft_del twice[] = {DEL(4, 3, 2, true), DEL(6, 3, 2, true)};
    CHECK_EQ(load_abcd(twice, 2, NULL), WEFT_E_BADLOAD);
}

/* Origins must name inserted chars on the right side of their run. */
static void test_origins(void)
{
    /* runs "ab" (1:0-1) then "c" (2:0) in this order */
    struct {
        weft_id ol1, or1, ol2, or2;
        bool ok;
    } cases[] = {
        {NONE, NONE, ID(1, 1), NONE, true},          /* c after b */
        {NONE, ID(2, 0), NONE, NONE, true},          /* ab before c */
        {ID(2, 0), NONE, NONE, NONE, false},         /* ol after its run */
        {NONE, NONE, NONE, ID(1, 0), false},         /* or before its run */
        {NONE, NONE, ID(2, 0), NONE, false},         /* ol is the run itself */
        {NONE, ID(1, 1), NONE, NONE, false},         /* or inside its own run */
        {NONE, NONE, ID(1, 2), NONE, false},         /* ol past the agent's seqs */
        {NONE, NONE, ID(3, 0), NONE, false},         /* unknown agent */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        weft_run a = {1, 0, 2, cases[i].ol1, cases[i].or1, false, "ab", 2};
        weft_run c = {2, 0, 1, cases[i].ol2, cases[i].or2, false, "c", 1};
        weft_span s1 = {1, 0, 2}, s2 = {2, 0, 1};
        weft_doc *d = weft_doc_new(WEFT_NONE);
        int rc = weft_doc_load_run(d, &a);
        if (!rc)
            rc = weft_doc_load_run(d, &c);
        if (!rc)
            rc = weft_doc_load_span(d, &s1);
        if (!rc)
            rc = weft_doc_load_span(d, &s2);
        if (!rc)
            rc = weft_doc_load_finish(d);
        CHECK_MSG(cases[i].ok ? rc == 0 : rc == WEFT_E_BADLOAD, "origin case %zu: %s", i,
                  test_errname(rc));
        if (!rc)
            CHECK_OK(weft_doc_check(d));
        weft_doc_free(d);
    }
}

/* Documents big enough for several tree levels and index chunks load
 * with every invariant (the bulk builders). */
static void test_big(void)
{
    for (uint32_t n = 1; n <= 40000; n = n * 3 + 1) {
        weft_doc *src = weft_doc_new(1);
        CHECK(src);
        for (uint32_t i = 0; i < n; i++) /* one run per char: each typed at the front */
            CHECK_OK(weft_doc_insert(src, 0, "x", 1, NULL));
        for (uint32_t i = 0; i < n / 3; i++) /* backspacing from the middle */
            CHECK_OK(weft_doc_delete(src, n / 2 - i, 1, NULL));
        snap sn;
        snap_take_as(src, &sn, true);
        weft_doc *copy;
        CHECK_OK(snap_load(&sn, 1, &copy));
        CHECK_OK(weft_doc_check(copy));
        eng_same_docs(src, copy, "big");
        same_logs(src, copy);
        CHECK_OK(weft_doc_insert(copy, n / 2, "yz", 2, NULL)); /* the tree still edits */
        CHECK_OK(weft_doc_check(copy));
        snap_free(&sn);
        weft_doc_free(copy);
        weft_doc_free(src);
    }
}

int main(void)
{
    test_small();
    test_delrecs();
    test_origins();
    test_big();
    test_round_trip();
    printf("test_snapshot: all passed\n");
    return 0;
}
