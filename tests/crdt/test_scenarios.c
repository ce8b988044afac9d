/*
 * test_scenarios.c — brief §10 scenarios 1-14 against the engine (expected
 * texts from the brief), the ops the engine generates compared field by
 * field with the oracle's (pinned generation rule), and scenario 15: every
 * scenario's ops integrated in every dependency-respecting order (when
 * <= 8 ops) and in >= 100 random ones on fresh documents -> the same text
 * and the same canonical runs, equal to the oracle's. Every step also runs
 * weft_doc_check and replays the editor patches (rep backend in eng.c).
 */
#include "eng.h"

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
    rep *r = rep_engine_new(WEFT_NONE);
    for (size_t i = 0; i < n; i++) {
        int rc = r->vt->apply(r, &c->ops->v[perm[i]]);
        if (rc != WEFT_APPLIED) {
            fprintf(stderr, "order:");
            for (size_t k = 0; k <= i; k++) {
                fprintf(stderr, "\n  ");
                top_print(stderr, &c->ops->v[perm[k]]);
            }
            fputc('\n', stderr);
        }
        CHECK_RC(rc, WEFT_APPLIED);
    }
    CHECK_EQ(weft_doc_parked(((eng_rep *)r->impl)->d), 0);
    rep_expect(r, c->expect, __FILE__, __LINE__);
    orun *runs;
    size_t nr = r->vt->runs(r, &runs);
    if (runs_compare(c->ref, c->nref, runs, nr, "oracle vs engine in this order")) {
        fprintf(stderr, "order:");
        for (size_t k = 0; k < n; k++) {
            fprintf(stderr, "\n  ");
            top_print(stderr, &c->ops->v[perm[k]]);
        }
        fputc('\n', stderr);
        CHECK_MSG(0, "canonical runs depend on the delivery order");
    }
    oracle_runs_free(runs, nr);
    c->count++;
    rep_free(r);
}

int main(void)
{
    rng r;
    rng_seed(&r, test_seed(15));
    for (size_t s = 0; s < n_scenarios; s++) {
        const scenario *sc = &scenarios[s];
        toplist eops, oops;
        toplist_init(&eops);
        toplist_init(&oops);
        scenario_run(sc, rep_oracle_new, &oops);
        scenario_run(sc, rep_engine_new, &eops);

        snprintf(test_ctx, sizeof test_ctx, "scenario %s: generated ops", sc->name);
        for (size_t i = 0; i < eops.n && i < oops.n; i++)
            if (!top_equal(&eops.v[i], &oops.v[i])) {
                fprintf(stderr, "engine op:  ");
                top_print(stderr, &eops.v[i]);
                fprintf(stderr, "\noracle op:  ");
                top_print(stderr, &oops.v[i]);
                fputc('\n', stderr);
                CHECK_MSG(0, "op %zu differs from the pinned generation rule", i);
            }
        CHECK_EQ(eops.n, oops.n);

        /* 15: delivery orders */
        snprintf(test_ctx, sizeof test_ctx, "scenario 15, orders of %s", sc->name);
        oracle *o = oracle_new(WEFT_NONE);
        for (size_t i = 0; i < oops.n; i++) /* own ops per replica: not causal */
            CHECK(oracle_apply(o, &oops.v[i]) >= 0);
        CHECK_EQ(oracle_parked(o), 0);
        order_ctx c = {&eops, sc->expect, NULL, 0, 0};
        c.nref = oracle_runs(o, &c.ref);
        oracle_free(o);
        uint64_t deps[64];
        op_deps(&eops, deps);
        if (eops.n <= 8)
            all_orders(deps, eops.n, replay_order, &c);
        size_t perm[64];
        for (int k = 0; k < 100; k++) {
            random_order(&r, deps, eops.n, perm);
            replay_order(perm, eops.n, &c);
        }
        oracle_runs_free(c.ref, c.nref);
        printf("scenario %-42s ok (%zu ops, %zu orders)\n", sc->name, eops.n, c.count);
        toplist_free(&eops);
        toplist_free(&oops);
        test_ctx[0] = 0;
    }
    printf("test_scenarios: all passed\n");
    return 0;
}
