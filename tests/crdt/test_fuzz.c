/*
 * test_fuzz.c — brief §10 scenario 19 plus editor patches: seeded
 * multi-replica sessions (3-5 replicas, multi-byte and astral text,
 * forward and backward typing, range deletes) with random partial syncs
 * in random, even non-causal, orders with duplicates. After every step:
 * weft_doc_check, engine == oracle twin (text, canonical runs, version,
 * parked count, apply return codes), and the editor copy patched with the
 * weft_patchlists equals the document in code points and UTF-16. At the
 * end everything is delivered everywhere and all replicas are identical.
 * Also: weft_doc_ops_since(V) from one replica brings a replica at V up
 * to date, and ops_since(NULL) replayed on a fresh doc reproduces it.
 *
 * WEFT_SEED=n picks the seed, WEFT_ITERS=n the number of sessions.
 */
#include "session.h"

#include <stdlib.h>
#include <string.h>

/* ops_since(V_j) of replica i applied to replica j: every op applies
 * (trimmed, dependency order), and j then covers i's version. */
static void check_ops_since(session *s, size_t i, size_t j)
{
    replica *a = &s->rep[i], *b = &s->rep[j];
    weft_vv va, vb;
    weft_vv_init(&va);
    weft_vv_init(&vb);
    CHECK_OK(weft_doc_version(a->d, &va));
    CHECK_OK(weft_doc_version(b->d, &vb));
    weft_oplist l;
    weft_oplist_init(&l);
    CHECK_OK(weft_doc_ops_since(a->d, &vb, &l));
    for (size_t k = 0; k < l.n; k++) {
        const weft_op *op = &l.ops[k];
        /* trimmed: nothing b already has */
        CHECK_MSG((uint64_t)op->id.seq >= weft_vv_get(&vb, op->id.agent),
                  "ops_since returned a known seq (%u,%u)", op->id.agent, op->id.seq);
        int rc = session_deliver(s, j, op);
        /* b may hold some of these parked already: they then apply from
         * the park when their dependency arrives, so DUPLICATE is fine */
        CHECK_MSG(rc == WEFT_APPLIED || rc == WEFT_DUPLICATE, "op %zu of ops_since: %s", k,
                  test_errname(rc));
    }
    weft_vv_cleanup(&vb);
    weft_vv_init(&vb);
    CHECK_OK(weft_doc_version(b->d, &vb));
    CHECK_MSG(weft_vv_leq(&va, &vb), "after ops_since replica %zu lacks ops of %zu", j, i);
    session_check(s, j);
    weft_oplist_cleanup(&l);
    weft_vv_cleanup(&va);
    weft_vv_cleanup(&vb);
}

/* ops_since(NULL) replayed on a fresh doc gives the same document. */
static void check_replay_all(session *s, size_t i)
{
    weft_oplist l;
    weft_oplist_init(&l);
    CHECK_OK(weft_doc_ops_since(s->rep[i].d, NULL, &l));
    weft_doc *f = weft_doc_new(WEFT_NONE);
    for (size_t k = 0; k < l.n; k++)
        CHECK_RC(weft_doc_apply(f, &l.ops[k], NULL), WEFT_APPLIED);
    CHECK_OK(weft_doc_check(f));
    eng_same_docs(s->rep[i].d, f, "ops_since(NULL) replay");
    weft_doc_free(f);
    weft_oplist_cleanup(&l);
}

int main(void)
{
    uint64_t seed = test_seed(20261121);
    unsigned long iters = test_iters(120);
    unsigned long total_steps = 0, total_ops = 0;
    for (unsigned long it = 0; it < iters; it++) {
        session s;
        size_t nrep = 3 + (size_t)(it % 3);
        session_init(&s, nrep, seed + it);
        snprintf(test_ctx, sizeof test_ctx,
                 "fuzz seed=%llu (WEFT_SEED=%llu WEFT_ITERS=%lu, session %lu)",
                 (unsigned long long)(seed + it), (unsigned long long)seed, iters, it);
        s.random_order = it % 4 != 0;
        s.duplicates = it % 2 == 0;
        int steps = 120 + (int)rng_below(&s.r, 120);
        for (int k = 0; k < steps; k++) {
            session_step(&s);
            if (rng_chance(&s.r, 1, 25)) {
                size_t i = rng_below(&s.r, (uint32_t)nrep), j = rng_below(&s.r, (uint32_t)nrep);
                if (i != j)
                    check_ops_since(&s, i, j);
            }
        }
        session_converge(&s);
        check_replay_all(&s, rng_below(&s.r, (uint32_t)nrep));
        total_steps += s.steps;
        total_ops += s.pool.n;
        session_free(&s);
    }
    /* one long session: documents large enough for a deep content tree */
    {
        session s;
        session_init(&s, 3, seed ^ 0x5eed);
        snprintf(test_ctx, sizeof test_ctx, "fuzz long session seed=%llu",
                 (unsigned long long)(seed ^ 0x5eed));
        s.check_each = false;
        s.p_delete = 20;
        unsigned long steps = test_iters(120) * 12;
        for (unsigned long k = 0; k < steps; k++) {
            session_step(&s);
            if (k % 97 == 0)
                for (size_t i = 0; i < s.n; i++)
                    session_check(&s, i);
        }
        session_converge(&s);
        check_replay_all(&s, 2);
        printf("long session: %lu steps, %u chars, %zu runs\n", steps, weft_doc_len(s.rep[0].d),
               weft_doc_run_count(s.rep[0].d));
        session_free(&s);
    }
    test_ctx[0] = 0;
    printf("test_fuzz: %lu sessions, %lu steps, %lu ops: all converged\n", iters, total_steps,
           total_ops);
    return 0;
}
