/*
 * test_snapshot.c — brief §10 scenario 22: snapshot round trip. A live
 * document's canonical runs (weft_run_iter), delete records
 * (weft_doc_del_get) and apply-order spans (weft_doc_span_get) are loaded
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

static void snap_take(const weft_doc *d, snap *s)
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
    s->ndels = weft_doc_del_count(d);
    s->dels = calloc(s->ndels + 1, sizeof *s->dels);
    for (size_t i = 0; i < s->ndels; i++)
        s->dels[i] = weft_doc_del_get(d, i);
    s->nspans = weft_doc_span_count(d);
    s->spans = calloc(s->nspans + 1, sizeof *s->spans);
    for (size_t i = 0; i < s->nspans; i++)
        s->spans[i] = weft_doc_span_get(d, i);
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

int main(void)
{
    test_small();
    test_round_trip();
    printf("test_snapshot: all passed\n");
    return 0;
}
