/*
 * test_errors.c — bad input is a return value, never a crash: positions
 * out of range (WEFT_E_RANGE), edits on a document without a local agent
 * (WEFT_E_READONLY), malformed remote ops (len 0, reserved agent
 * WEFT_NONE, unknown kind, origins naming a delete's seq, origin right
 * before origin left, delete targets that are deletes, seq overflow) all
 * give negative codes and leave the document unchanged; random hostile
 * origins are placed exactly as the oracle places them.
 */
#include "eng.h"
#include "ops.h"

#include <stdlib.h>

static void expect_text(const weft_doc *d, const char *want)
{
    sbuf t;
    sbuf_init(&t);
    eng_text(d, &t);
    CHECK_STR(t.p, t.n, want);
    sbuf_free(&t);
}

static void test_ranges(void)
{
    weft_doc *d = weft_doc_new(1);
    CHECK_OK(weft_doc_insert(d, 0, "abc", 3, NULL));
    CHECK_RC(weft_doc_insert(d, 4, "x", 1, NULL), WEFT_E_RANGE);
    CHECK_RC(weft_doc_insert(d, UINT32_MAX, "x", 1, NULL), WEFT_E_RANGE);
    CHECK_RC(weft_doc_delete(d, 3, 1, NULL), WEFT_E_RANGE);
    CHECK_RC(weft_doc_delete(d, 1, 3, NULL), WEFT_E_RANGE);
    CHECK_RC(weft_doc_delete(d, 2, UINT32_MAX, NULL), WEFT_E_RANGE); /* pos+len wraps */
    CHECK_RC(weft_doc_delete(d, UINT32_MAX, 2, NULL), WEFT_E_RANGE);
    weft_id id;
    CHECK_RC(weft_doc_id_at(d, 3, &id), WEFT_E_RANGE);
    CHECK_OK(weft_doc_id_at(d, 2, &id));
    CHECK(id.agent == 1 && id.seq == 2);
    uint32_t u;
    CHECK_RC(weft_doc_pos16(d, 4, &u), WEFT_E_RANGE);
    CHECK_RC(weft_doc_pos_from16(d, 4, &u), WEFT_E_RANGE);
    weft_anchor a;
    CHECK_RC(weft_doc_anchor(d, 4, 0, &a), WEFT_E_RANGE);
    expect_text(d, "abc");
    CHECK_EQ(weft_doc_next_seq(d, 1), 3);
    /* zero-length edits change nothing and generate no ops */
    weft_oplist l;
    weft_oplist_init(&l);
    CHECK(weft_doc_delete(d, 1, 0, &l) >= 0);
    CHECK(weft_doc_insert(d, 1, "", 0, &l) >= 0);
    CHECK_EQ(l.n, 0);
    weft_oplist_cleanup(&l);
    CHECK_EQ(weft_doc_next_seq(d, 1), 3);
    CHECK_OK(weft_doc_check(d));
    weft_doc_free(d);

    /* no local agent */
    weft_doc *s = weft_doc_new(WEFT_NONE);
    CHECK_EQ(weft_doc_agent(s), WEFT_NONE);
    CHECK_RC(weft_doc_insert(s, 0, "x", 1, NULL), WEFT_E_READONLY);
    CHECK_OK(weft_doc_set_agent(s, 4));
    CHECK_EQ(weft_doc_agent(s), 4);
    CHECK_OK(weft_doc_insert(s, 0, "x", 1, NULL));
    CHECK_EQ(weft_doc_next_seq(s, 4), 1);
    weft_doc_free(s);
}

static void test_set_agent_continues(void)
{
    /* a doc that already holds agent 7's ops continues at its next seq */
    weft_doc *a = weft_doc_new(7), *b = weft_doc_new(WEFT_NONE);
    weft_oplist l;
    weft_oplist_init(&l);
    CHECK_OK(weft_doc_insert(a, 0, "abc", 3, &l));
    CHECK_OK(weft_doc_delete(a, 0, 1, &l));
    for (size_t i = 0; i < l.n; i++)
        CHECK_RC(weft_doc_apply(b, &l.ops[i], NULL), WEFT_APPLIED);
    weft_oplist_clear(&l);
    CHECK_OK(weft_doc_set_agent(b, 7));
    CHECK_OK(weft_doc_insert(b, 0, "z", 1, &l));
    CHECK_EQ(l.n, 1);
    CHECK_EQ(l.ops[0].id.seq, 4);
    weft_oplist_cleanup(&l);
    weft_doc_free(a);
    weft_doc_free(b);
}

static void test_malformed(void)
{
    weft_doc *d = weft_doc_new(WEFT_NONE);
    weft_op base[] = {ins_op(1, 0, NONE, NONE, "abc"),
                      del_op(1, 3, ID(1, 1), 1)}; /* (1,3) is a delete */
    for (size_t i = 0; i < 2; i++)
        CHECK_RC(weft_doc_apply(d, &base[i], NULL), WEFT_APPLIED);
    weft_op k7 = ins_op(3, 0, NONE, NONE, "x");
    k7.kind = 7;
    weft_op nulltext = ins_op(3, 0, NONE, NONE, "x");
    nulltext.text = NULL;
    struct {
        const char *what;
        weft_op op;
    } cases[] = {
        {"insert of len 0", ins_op(3, 0, NONE, NONE, "")},
        {"delete of len 0", del_op(3, 0, ID(1, 0), 0)},
        {"insert by agent WEFT_NONE", ins_op(WEFT_NONE, 0, NONE, NONE, "x")},
        {"delete by agent WEFT_NONE", del_op(WEFT_NONE, 0, ID(1, 0), 1)},
        {"unknown kind", k7},
        {"text NULL with bytes", nulltext},
        {"origin left is a delete seq", ins_op(3, 0, ID(1, 3), NONE, "x")},
        {"origin right is a delete seq", ins_op(3, 0, ID(1, 0), ID(1, 3), "x")},
        {"origin right before origin left", ins_op(3, 0, ID(1, 2), ID(1, 0), "x")},
        {"origin right == origin left", ins_op(3, 0, ID(1, 1), ID(1, 1), "x")},
        {"delete target is a delete seq", del_op(3, 0, ID(1, 3), 1)},
        {"delete target range reaches a delete seq", del_op(3, 0, ID(1, 2), 2)},
        {"delete target agent WEFT_NONE", del_op(3, 0, NONE, 1)},
        {"insert seq overflow", ins_op(3, UINT32_MAX, NONE, NONE, "xy")},
        {"delete seq overflow", del_op(3, UINT32_MAX - 1, ID(1, 0), 3)},
        {"delete target seq overflow", del_op(3, 0, ID(1, UINT32_MAX), 2)},
        {"insert own origin in the future", ins_op(3, 0, ID(3, 5), NONE, "x")},
        {"delete own future seq", del_op(3, 0, ID(3, 0), 1)},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(test_ctx, sizeof test_ctx, "malformed op: %s", cases[i].what);
        weft_patchlist pl;
        weft_patchlist_init(&pl);
        int rc = weft_doc_apply(d, &cases[i].op, &pl);
        CHECK_MSG(rc < 0, "accepted with %d (%s)", rc, test_errname(rc));
        CHECK(weft_strerror(rc) && strcmp(weft_strerror(rc), "unknown error") != 0);
        CHECK_EQ(pl.n, 0);
        weft_patchlist_cleanup(&pl);
        CHECK_EQ(weft_doc_parked(d), 0);
        CHECK_EQ(weft_doc_next_seq(d, 3), 0);
        CHECK_EQ(weft_doc_next_seq(d, WEFT_NONE), 0);
        expect_text(d, "ac");
        CHECK_OK(weft_doc_check(d));
    }
    test_ctx[0] = 0;
    /* a well-formed op still applies afterwards */
    weft_op ok = ins_op(3, 0, ID(1, 0), ID(1, 1), "x");
    CHECK_RC(weft_doc_apply(d, &ok, NULL), WEFT_APPLIED);
    expect_text(d, "axc");
    weft_doc_free(d);
}

/* Origins in the wrong order inside one run: the region walk cannot see
 * that, so it must be checked by ID. Accepting such an op puts the char
 * before its own origin left, and a replica whose runs are split
 * differently refuses it: the replicas diverge. */
static void test_same_run_origins(void)
{
    weft_op cases[] = {
        ins_op(2, 0, ID(1, 3), ID(1, 1), "X"), /* right origin before left */
        ins_op(2, 0, ID(1, 3), ID(1, 3), "X"), /* right origin == left */
        ins_op(2, 0, ID(1, 3), ID(1, 0), "X"), /* right origin = run start */
        ins_op(2, 0, ID(1, 5), ID(1, 4), "X"),
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(test_ctx, sizeof test_ctx, "same-run origins case %zu", i);
        weft_doc *d = weft_doc_new(WEFT_NONE);
        weft_op base = ins_op(1, 0, NONE, NONE, "abcdef"); /* one run */
        CHECK_RC(weft_doc_apply(d, &base, NULL), WEFT_APPLIED);
        int rc = weft_doc_apply(d, &cases[i], NULL);
        CHECK_MSG(rc < 0, "accepted (%s): origin right is not after origin left", test_errname(rc));
        expect_text(d, "abcdef");
        CHECK_EQ(weft_doc_next_seq(d, 2), 0);
        CHECK_OK(weft_doc_check(d));
        weft_doc_free(d);
    }
    test_ctx[0] = 0;
}

static void test_strerror(void)
{
    CHECK(strcmp(weft_strerror(0), "success") == 0);
    CHECK(strcmp(weft_strerror(-999), "unknown error") == 0);
    CHECK(strcmp(weft_strerror(5), "unknown error") == 0);
#define STR_(name, val, msg) CHECK(strcmp(weft_strerror(val), msg) == 0);
    WEFT_ERRNO_MAP(STR_)
#undef STR_
}

static void test_vv(void)
{
    weft_vv a, b;
    weft_vv_init(&a);
    weft_vv_init(&b);
    CHECK(weft_vv_leq(&a, &b));
    CHECK_OK(weft_vv_set(&a, 5, 3));
    CHECK_OK(weft_vv_set(&a, 1, 2));
    CHECK_OK(weft_vv_set(&a, 0xFFFFFFF0u, 9));
    CHECK_EQ(a.n, 3);
    CHECK(a.v[0].agent == 1 && a.v[1].agent == 5 && a.v[2].agent == 0xFFFFFFF0u);
    CHECK_EQ(weft_vv_get(&a, 5), 3);
    CHECK_EQ(weft_vv_get(&a, 6), 0);
    CHECK(!weft_vv_leq(&a, &b));
    CHECK(weft_vv_leq(&b, &a));
    CHECK_OK(weft_vv_set(&b, 1, 2));
    CHECK_OK(weft_vv_set(&b, 5, 4));
    CHECK(!weft_vv_leq(&a, &b));
    CHECK_OK(weft_vv_set(&b, 0xFFFFFFF0u, 9));
    CHECK(weft_vv_leq(&a, &b));
    CHECK_OK(weft_vv_set(&a, 5, 0)); /* 0 removes the entry */
    CHECK_EQ(a.n, 2);
    CHECK_EQ(weft_vv_get(&a, 5), 0);
    weft_vv_cleanup(&a);
    weft_vv_cleanup(&b);
}

/* Ops no correct client generates but a buggy or hostile one can send:
 * origins anywhere (left before right), deletes of anything. The engine
 * must not crash, must keep its invariants, and must place them exactly
 * as the per-char pseudocode does (a deterministic function of the op
 * sequence); origins in the wrong order must be refused by both. */
static void test_random_origins(void)
{
    uint64_t seed = test_seed(5);
    unsigned long iters = test_iters(30);
    for (unsigned long it = 0; it < iters; it++) {
        rng r;
        rng_seed(&r, seed * 1009 + it);
        snprintf(test_ctx, sizeof test_ctx, "random origins seed=%llu iter=%lu",
                 (unsigned long long)seed, it);
        weft_doc *d = weft_doc_new(WEFT_NONE);
        oracle *o = oracle_new(WEFT_NONE);
        mirror m;
        mirror_init(&m);
        uint32_t next[4] = {0, 0, 0, 0};
        for (int step = 0; step < 150; step++) {
            uint32_t a = rng_below(&r, 4);
            size_t n = oracle_size(o);
            weft_op op;
            char buf[64];
            bool bad = false;
            if (n > 0 && rng_chance(&r, 1, 4)) {
                weft_id t = oracle_item_at(o, rng_below(&r, (uint32_t)n));
                uint32_t len = 1 + rng_below(&r, 3);
                if (t.seq + len > oracle_next_seq(o, t.agent))
                    len = 1;
                op = del_op(a, next[a], t, len);
                /* the range may cross into a delete's seqs: then refused */
            } else {
                long p = (long)rng_below(&r, (uint32_t)n + 1) - 1; /* -1: START */
                long q = p + 1 + (long)rng_below(&r, (uint32_t)(n - (size_t)(p + 1)) + 1);
                weft_id ol = p < 0 ? NONE : oracle_item_at(o, (size_t)p);
                weft_id or = q >= (long)n ? NONE : oracle_item_at(o, (size_t)q);
                if (!weft_id_is_none(ol) && !weft_id_is_none(or) && rng_chance(&r, 1, 10)) {
                    weft_id tmp = ol; /* right before left */
                    ol = or ;
                    or = tmp;
                    bad = true;
                }
                uint32_t ncp;
                size_t b = rand_text(&r, 4, buf, &ncp);
                buf[b] = 0;
                op = ins_op(a, next[a], ol, or, buf);
            }
            weft_patchlist pl;
            weft_patchlist_init(&pl);
            int want = oracle_apply(o, &op);
            int got = weft_doc_apply(d, &op, &pl);
            if (got != want) {
                top_print(stderr, &op);
                fputc('\n', stderr);
            }
            CHECK_MSG(got == want, "step %d: engine %s, oracle %s", step, test_errname(got),
                      test_errname(want));
            if (bad)
                CHECK(got < 0);
            if (got == WEFT_APPLIED)
                next[a] += op.len;
            mirror_patches(&m, &pl);
            weft_patchlist_cleanup(&pl);
            CHECK_OK(weft_doc_check(d));
            if (step % 10 == 0 || got != WEFT_APPLIED) {
                eng_same_as_oracle(d, o, "random origins");
                mirror_same(&m, d, "random origins");
            }
        }
        eng_same_as_oracle(d, o, "random origins");
        weft_doc_free(d);
        oracle_free(o);
        mirror_free(&m);
    }
    test_ctx[0] = 0;
}

int main(void)
{
    test_ranges();
    test_set_agent_continues();
    test_malformed();
    test_same_run_origins();
    test_strerror();
    test_vv();
    test_random_origins();
    printf("test_errors: all passed\n");
    return 0;
}
