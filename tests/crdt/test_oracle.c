/*
 * test_oracle.c — validates the reference oracle on its own, before any
 * engine comparison depends on it: every scenario of brief §10 (1-14) must
 * give the brief's expected text; every dependency-respecting delivery
 * order of each scenario's ops must give the same text and runs (15);
 * trimming, duplicates, parking and conflicts behave as §5.2 says; a
 * random multi-replica run converges and keeps the oracle's invariants,
 * and agrees with an independent tree-form FugueMax (treemodel.c).
 */
#include "rep.h"
#include "treemodel.h"

#include <stdlib.h>
#include <string.h>

typedef struct order_ctx {
    const toplist *ops;
    const char *expect;
    orun *ref;
    size_t nref;
    size_t count;
} order_ctx;

static void replay_order(const size_t *perm, size_t n, void *vctx)
{
    order_ctx *c = vctx;
    oracle *o = oracle_new(WEFT_NONE);
    for (size_t i = 0; i < n; i++)
        CHECK_RC(oracle_apply(o, &c->ops->v[perm[i]]), WEFT_APPLIED);
    CHECK_OK(oracle_check(o));
    sbuf t;
    sbuf_init(&t);
    oracle_text(o, &t);
    CHECK_STR(t.p, t.n, c->expect);
    sbuf_free(&t);
    orun *runs;
    size_t nr = oracle_runs(o, &runs);
    if (!c->ref) {
        c->ref = runs;
        c->nref = nr;
    } else {
        CHECK(runs_compare(c->ref, c->nref, runs, nr, "delivery order") == 0);
        oracle_runs_free(runs, nr);
    }
    c->count++;
    oracle_free(o);
}

static void test_scenarios(void)
{
    rng r;
    rng_seed(&r, test_seed(15));
    for (size_t s = 0; s < n_scenarios; s++) {
        toplist ops;
        toplist_init(&ops);
        scenario_run(&scenarios[s], rep_oracle_new, &ops);
        snprintf(test_ctx, sizeof test_ctx, "scenario 15 orders of %s", scenarios[s].name);
        uint64_t deps[64];
        op_deps(&ops, deps);
        order_ctx c = {&ops, scenarios[s].expect, NULL, 0, 0};
        if (ops.n <= 8)
            all_orders(deps, ops.n, replay_order, &c);
        size_t perm[64];
        for (int k = 0; k < 100; k++) {
            random_order(&r, deps, ops.n, perm);
            replay_order(perm, ops.n, &c);
        }
        oracle_runs_free(c.ref, c.nref);
        /* the tree-form FugueMax agrees with the brief too */
        random_order(&r, deps, ops.n, perm);
        tmodel *t = tmodel_new();
        for (size_t i = 0; i < ops.n; i++)
            tmodel_apply(t, &ops.v[perm[i]]);
        sbuf tt;
        sbuf_init(&tt);
        tmodel_text(t, &tt);
        CHECK_MSG(test_str_eq(tt.p, tt.n, scenarios[s].expect), "tree FugueMax gives \"%s\"", tt.p);
        sbuf_free(&tt);
        tmodel_free(t);
        printf("oracle scenario %-42s ok (%zu ops, %zu orders)\n", scenarios[s].name, ops.n,
               c.count);
        toplist_free(&ops);
    }
    test_ctx[0] = 0;
}

static weft_op ins_op(uint32_t a, uint32_t s, weft_id ol, weft_id or, const char *t)
{
    weft_op op = {0};
    op.kind = WEFT_OP_INS;
    op.id = (weft_id){a, s};
    op.ol = ol;
    op.or = or ;
    op.target = WEFT_ID_NONE;
    op.text = t;
    op.bytes = (uint32_t)strlen(t);
    op.len = (uint32_t)u8_decode(t, op.bytes, NULL);
    return op;
}

static weft_op del_op(uint32_t a, uint32_t s, weft_id target, uint32_t len)
{
    weft_op op = {0};
    op.kind = WEFT_OP_DEL;
    op.id = (weft_id){a, s};
    op.ol = op.or = WEFT_ID_NONE;
    op.target = target;
    op.len = len;
    return op;
}

static void expect_text(const oracle *o, const char *want)
{
    sbuf t;
    sbuf_init(&t);
    oracle_text(o, &t);
    CHECK_STR(t.p, t.n, want);
    sbuf_free(&t);
}

/* §5.2: duplicates, trimming, parking, conflicts, malformed ops. */
static void test_apply_rules(void)
{
    oracle *o = oracle_new(WEFT_NONE);
    weft_op abc = ins_op(1, 0, WEFT_ID_NONE, WEFT_ID_NONE, "abc");
    weft_op bcde = ins_op(1, 1, (weft_id){1, 0}, WEFT_ID_NONE, "bcde");
    weft_op de = ins_op(1, 3, (weft_id){1, 2}, WEFT_ID_NONE, "de");
    CHECK_RC(oracle_apply(o, &de), WEFT_PARKED); /* seq gap */
    CHECK_EQ(oracle_parked(o), 1);
    CHECK_RC(oracle_apply(o, &abc), WEFT_APPLIED);
    CHECK_EQ(oracle_parked(o), 0);
    expect_text(o, "abcde");
    CHECK_RC(oracle_apply(o, &abc), WEFT_DUPLICATE);
    CHECK_RC(oracle_apply(o, &bcde), WEFT_DUPLICATE);
    weft_op bad = ins_op(1, 1, (weft_id){1, 0}, WEFT_ID_NONE, "bX");
    CHECK_RC(oracle_apply(o, &bad), WEFT_E_CONFLICT);
    weft_op more = ins_op(1, 3, (weft_id){1, 2}, WEFT_ID_NONE, "def"); /* half known */
    CHECK_RC(oracle_apply(o, &more), WEFT_APPLIED);
    expect_text(o, "abcdef");
    weft_op d1 = del_op(2, 0, (weft_id){1, 1}, 2);
    weft_op d2 = del_op(2, 0, (weft_id){1, 1}, 3); /* overlaps d1, trims */
    CHECK_RC(oracle_apply(o, &d1), WEFT_APPLIED);
    CHECK_RC(oracle_apply(o, &d2), WEFT_APPLIED);
    expect_text(o, "aef");
    CHECK_EQ(oracle_next_seq(o, 2), 3);
    weft_op ghost = del_op(3, 0, (weft_id){9, 0}, 1); /* missing target */
    CHECK_RC(oracle_apply(o, &ghost), WEFT_PARKED);
    weft_op viadel = ins_op(4, 0, (weft_id){2, 0}, WEFT_ID_NONE, "q"); /* origin = delete seq */
    CHECK(oracle_apply(o, &viadel) < 0);
    weft_op zero = ins_op(4, 0, WEFT_ID_NONE, WEFT_ID_NONE, "");
    CHECK(oracle_apply(o, &zero) < 0);
    weft_op backwards = ins_op(4, 0, (weft_id){1, 4}, (weft_id){1, 1}, "q");
    CHECK(oracle_apply(o, &backwards) < 0);
    weft_op g = ins_op(9, 0, (weft_id){1, 0}, WEFT_ID_NONE, "G");
    CHECK_RC(oracle_apply(o, &g), WEFT_APPLIED);
    CHECK_EQ(oracle_parked(o), 0);
    CHECK_EQ(oracle_next_seq(o, 3), 1);
    expect_text(o, "aef");
    CHECK_OK(oracle_check(o));
    oracle_free(o);
}

/* Double delete + text_at with a version the local apply order never had. */
static void test_text_at(void)
{
    oracle *o = oracle_new(WEFT_NONE);
    weft_op abc = ins_op(1, 0, WEFT_ID_NONE, WEFT_ID_NONE, "abc");
    weft_op da = del_op(1, 3, (weft_id){1, 1}, 1);
    weft_op db = del_op(2, 0, (weft_id){1, 1}, 1);
    CHECK_RC(oracle_apply(o, &abc), WEFT_APPLIED);
    CHECK_RC(oracle_apply(o, &da), WEFT_APPLIED);
    CHECK_RC(oracle_apply(o, &db), WEFT_APPLIED);
    weft_vv_entry e[2] = {{1, 3}, {2, 1}};
    weft_vv vv = {e, 2, 2};
    sbuf t;
    sbuf_init(&t);
    oracle_text_at(o, &vv, &t);
    CHECK_STR(t.p, t.n, "ac");
    e[1].next_seq = 0;
    oracle_text_at(o, &vv, &t);
    CHECK_STR(t.p, t.n, "abc");
    vv.n = 1;
    e[0].next_seq = 2;
    oracle_text_at(o, &vv, &t);
    CHECK_STR(t.p, t.n, "ab");
    sbuf_free(&t);
    oracle_free(o);
}

/* Random multi-replica edits with random (even non-causal) delivery,
 * duplicates included: every replica converges to the same text and runs. */
static void test_fuzz(void)
{
    uint64_t seed = test_seed(1);
    unsigned long iters = test_iters(200);
    for (unsigned long it = 0; it < iters; it++) {
        rng r;
        rng_seed(&r, seed * 1000003u + it);
        snprintf(test_ctx, sizeof test_ctx, "oracle fuzz seed=%llu iter=%lu",
                 (unsigned long long)seed, it);
        enum { NR = 4 };
        oracle *o[NR];
        toplist all;
        toplist_init(&all);
        size_t delivered[NR] = {0};
        for (int i = 0; i < NR; i++)
            o[i] = oracle_new((uint32_t)(i * 7 + 1));
        for (int step = 0; step < 60; step++) {
            int i = (int)rng_below(&r, NR);
            uint32_t len = oracle_len(o[i]);
            if (len > 0 && rng_chance(&r, 1, 3)) {
                uint32_t p = rng_below(&r, len), n = 1 + rng_below(&r, len - p < 5 ? len - p : 5);
                CHECK_OK(oracle_delete(o[i], p, n, &all));
            } else {
                char buf[64];
                uint32_t ncp;
                size_t b = rand_text(&r, 4, buf, &ncp);
                CHECK_OK(oracle_insert(o[i], rng_below(&r, len + 1), buf, b, &all));
            }
            /* random partial delivery from the global pool, any order */
            int j = (int)rng_below(&r, NR);
            for (int k = 0; k < 3 && all.n; k++) {
                size_t x = rng_below(&r, (uint32_t)all.n);
                int rc = oracle_apply(o[j], &all.v[x]);
                CHECK(rc >= 0);
            }
            CHECK_OK(oracle_check(o[j]));
            (void)delivered;
        }
        sbuf t0, ti;
        sbuf_init(&t0);
        sbuf_init(&ti);
        /* list-form oracle == tree FugueMax on prefixes of the history
         * (generation order is causal) */
        for (int q = 0; q < 3; q++) {
            size_t k = q == 2 ? all.n : rng_below(&r, (uint32_t)all.n + 1);
            oracle *po = oracle_new(WEFT_NONE);
            tmodel *pt = tmodel_new();
            for (size_t x = 0; x < k; x++) {
                CHECK_RC(oracle_apply(po, &all.v[x]), WEFT_APPLIED);
                tmodel_apply(pt, &all.v[x]);
            }
            oracle_text(po, &t0);
            tmodel_text(pt, &ti);
            CHECK_MSG(t0.n == ti.n && memcmp(t0.p, ti.p, t0.n) == 0,
                      "prefix %zu: oracle \"%s\" != tree FugueMax \"%s\"", k, t0.p, ti.p);
            oracle_free(po);
            tmodel_free(pt);
        }
        orun *r0, *ri;
        size_t n0 = 0, ni;
        for (int i = 0; i < NR; i++) {
            for (size_t x = 0; x < all.n; x++)
                CHECK(oracle_apply(o[i], &all.v[x]) >= 0);
            CHECK_EQ(oracle_parked(o[i]), 0);
            CHECK_OK(oracle_check(o[i]));
            if (i == 0) {
                oracle_text(o[0], &t0);
                n0 = oracle_runs(o[0], &r0);
                continue;
            }
            oracle_text(o[i], &ti);
            CHECK_STR(ti.p, ti.n, t0.p);
            ni = oracle_runs(o[i], &ri);
            CHECK(runs_compare(r0, n0, ri, ni, "oracle fuzz") == 0);
            oracle_runs_free(ri, ni);
        }
        oracle_runs_free(r0, n0);
        sbuf_free(&t0);
        sbuf_free(&ti);
        for (int i = 0; i < NR; i++)
            oracle_free(o[i]);
        toplist_free(&all);
    }
    test_ctx[0] = 0;
    printf("oracle fuzz: %lu runs converged\n", iters);
}

int main(void)
{
    test_scenarios();
    test_apply_rules();
    test_text_at();
    test_fuzz();
    printf("test_oracle: all passed\n");
    return 0;
}
