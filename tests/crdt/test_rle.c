/*
 * test_rle.c — brief §10 scenario 18: run-length edge cases. Inserts inside
 * a run, at its first and last char, deleting its middle, deleting the
 * rest (re-merge of tombstones), trimmed re-deliveries splitting runs,
 * forward typing merging into one run, backward typing not merging; and a
 * long single-document session that grows the content tree past several
 * levels. After every step the canonical runs (weft_run_iter) must equal
 * the oracle's per-char list merged by the canonical rule (brief §9.2).
 */
#include "ops.h"
#include "session.h"

#include <stdlib.h>

typedef struct twin {
    rep *e, *o;
} twin;

static void same(twin *t, const char *what)
{
    eng_rep *er = t->e->impl;
    eng_same_as_oracle(er->d, t->o->impl, what);
    CHECK_OK(weft_doc_check(er->d));
}

static void both_ins(twin *t, uint32_t pos, const char *s, const char *what)
{
    rep_ins(t->e, pos, s);
    rep_ins(t->o, pos, s);
    CHECK(top_equal(&t->e->own.v[t->e->own.n - 1], &t->o->own.v[t->o->own.n - 1]));
    same(t, what);
}

static void both_del(twin *t, uint32_t pos, uint32_t len, const char *what)
{
    rep_del(t->e, pos, len);
    rep_del(t->o, pos, len);
    same(t, what);
}

static size_t canon_count(const weft_doc *d)
{
    orun *r;
    size_t n = eng_runs(d, &r);
    oracle_runs_free(r, n);
    return n;
}

static void test_edges(void)
{
    twin a = {rep_engine_new(1), rep_oracle_new(1)};
    twin b = {rep_engine_new(2), rep_oracle_new(2)};
    both_ins(&a, 0, "abcdefgh", "one run");
    CHECK_EQ(canon_count(((eng_rep *)a.e->impl)->d), 1);
    both_ins(&a, 8, "ij", "append to own run extends it");
    CHECK_EQ(canon_count(((eng_rep *)a.e->impl)->d), 1);
    rep_sync(b.e, a.e);
    rep_sync(b.o, a.o);
    same(&b, "synced");
    both_ins(&b, 4, "X", "insert inside a run");
    both_ins(&b, 0, "F", "insert before its first char");
    both_ins(&b, 2, "S", "insert after its first char");
    both_ins(&b, 12, "L", "insert before its last char");
    both_ins(&b, 14, "E", "insert after its last char");
    both_del(&b, 7, 2, "delete the middle of a run");
    both_del(&b, 5, 2, "delete next to a tombstone");
    both_del(&b, 4, 1, "delete the rest between inserts");
    rep_sync(a.e, b.e);
    rep_sync(a.o, b.o);
    same(&a, "merged back");
    /* delete the whole remainder: tombstones of one run merge back */
    both_del(&a, 0, weft_doc_len(((eng_rep *)a.e->impl)->d), "everything deleted");
    both_ins(&a, 0, "new", "typed into an empty doc full of tombstones");
    for (int i = 0; i < 5; i++)
        both_ins(&a, 3 + (uint32_t)i, "t", "forward typing char by char");
    for (int i = 0; i < 5; i++)
        both_ins(&a, 0, "b", "backward typing char by char");
    rep_free(a.e), rep_free(a.o), rep_free(b.e), rep_free(b.o);
}

static void test_trim_splits(void)
{
    /* deliveries that are half known split the incoming op, not the doc */
    weft_doc *d = weft_doc_new(WEFT_NONE);
    oracle *o = oracle_new(WEFT_NONE);
    weft_op ops[] = {
        ins_op(1, 0, NONE, NONE, "ab"),
        ins_op(1, 0, NONE, NONE, "abcd"),
        ins_op(1, 3, ID(1, 2), NONE, "defg"),
        ins_op(2, 0, ID(1, 4), ID(1, 5), "XY"),
        ins_op(1, 0, NONE, NONE, "abcdefgh"),
        del_op(2, 2, ID(1, 2), 3),
        del_op(2, 2, ID(1, 2), 5),
        ins_op(2, 7, ID(2, 1), ID(1, 5), "Z"),
    };
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        int want = oracle_apply(o, &ops[i]);
        CHECK_RC(weft_doc_apply(d, &ops[i], NULL), want);
        CHECK_OK(weft_doc_check(d));
        eng_same_as_oracle(d, o, "trimmed delivery");
    }
    weft_doc_free(d);
    oracle_free(o);
}

/* One document, many edits: the content tree grows (leaves of 32 runs,
 * inner nodes of 16) and shrinks; runs compared with the oracle often. */
static void test_long(void)
{
    uint64_t seed = test_seed(18);
    session s;
    session_init(&s, 2, seed);
    s.check_each = false;
    s.p_delete = 25;
    s.p_back = 30;
    s.max_text = 3;
    snprintf(test_ctx, sizeof test_ctx, "rle long seed=%llu", (unsigned long long)seed);
    unsigned long steps = test_iters(3000);
    for (unsigned long k = 0; k < steps; k++) {
        session_edit(&s, rng_chance(&s.r, 1, 4));
        if (rng_chance(&s.r, 1, 10))
            session_deliver_some(&s, rng_below(&s.r, 2));
        if (k % 100 == 99) {
            session_check(&s, 0);
            session_check(&s, 1);
        }
    }
    session_converge(&s);
    printf("rle long: %zu canonical runs, %zu in memory, %u visible chars\n",
           canon_count(s.rep[0].d), weft_doc_run_count(s.rep[0].d), weft_doc_len(s.rep[0].d));
    session_free(&s);
    test_ctx[0] = 0;
}

/* A large paste, then edits all over it from two replicas: thousands of
 * runs, many leaves, deep inner nodes. */
static void test_big_paste(void)
{
    uint64_t seed = test_seed(181);
    session s;
    session_init(&s, 2, seed);
    s.check_each = false;
    snprintf(test_ctx, sizeof test_ctx, "rle big paste seed=%llu", (unsigned long long)seed);
    sbuf big;
    sbuf_init(&big);
    for (int k = 0; k < 1500; k++) {
        char buf[64];
        uint32_t ncp;
        size_t b = rand_text(&s.r, 6, buf, &ncp);
        sbuf_put(&big, buf, b);
    }
    session_insert(&s, 0, 0, big.p, big.n);
    sbuf_free(&big);
    session_converge(&s);
    unsigned long steps = test_iters(3000) / 2;
    for (unsigned long k = 0; k < steps; k++) {
        size_t i = rng_below(&s.r, 2);
        uint32_t len = weft_doc_len(s.rep[i].d);
        if (rng_chance(&s.r, 1, 2) && len > 10)
            session_delete(&s, i, rng_below(&s.r, len - 3), 1 + rng_below(&s.r, 3));
        else
            session_insert(&s, i, rng_below(&s.r, len + 1), "\xF0\x9F\x98\x80q", 5);
        if (rng_chance(&s.r, 1, 20))
            session_deliver_some(&s, 1 - i);
        if (k % 250 == 0)
            session_check(&s, i);
    }
    session_converge(&s);
    printf("rle big paste: %zu canonical runs, %u visible chars\n", canon_count(s.rep[0].d),
           weft_doc_len(s.rep[0].d));
    session_free(&s);
    test_ctx[0] = 0;
}

int main(void)
{
    test_edges();
    test_trim_splits();
    test_long();
    test_big_paste();
    printf("test_rle: all passed\n");
    return 0;
}
