/*
 * test_oplist.c — op lists that span several local edits (an editor
 * transaction): weft_oplist merges an op into the previous one only when
 * the two form one op. Whatever it merges, replaying the list on a fresh
 * document must give the same document, and the oracle (which never
 * merges) fed the same list must agree. Forward typing and forward
 * deleting must merge; backward typing and backspacing must not.
 */
#include "ops.h"
#include "session.h"

#include <stdlib.h>

static void replay_same(const weft_doc *a, const weft_oplist *l, const char *what)
{
    weft_doc *b = weft_doc_new(WEFT_NONE);
    oracle *o = oracle_new(WEFT_NONE);
    for (size_t i = 0; i < l->n; i++) {
        CHECK_RC(weft_doc_apply(b, &l->ops[i], NULL), WEFT_APPLIED);
        CHECK_RC(oracle_apply(o, &l->ops[i]), WEFT_APPLIED);
    }
    CHECK_OK(weft_doc_check(b));
    eng_same_docs(a, b, what);
    eng_same_as_oracle(b, o, what);
    weft_doc_free(b);
    oracle_free(o);
}

static void test_shapes(void)
{
    weft_doc *d = weft_doc_new(1);
    weft_oplist l;
    weft_oplist_init(&l);
    const char *word = "héllo😀";
    uint32_t cps[8];
    long n = u8_decode(word, strlen(word), cps);
    for (long i = 0; i < n; i++) {
        char b[4];
        int k = u8_encode(cps[i], b);
        CHECK_OK(weft_doc_insert(d, (uint32_t)i, b, (size_t)k, &l));
    }
    CHECK_EQ(l.n, 1); /* forward typing is one op */
    CHECK_EQ(l.ops[0].len, 6);
    CHECK_EQ(l.ops[0].bytes, strlen(word));
    replay_same(d, &l, "forward typing");

    weft_oplist_clear(&l);
    CHECK_OK(weft_doc_insert(d, 0, "a", 1, &l));
    CHECK_OK(weft_doc_insert(d, 0, "b", 1, &l)); /* backward: ol = START again */
    CHECK_OK(weft_doc_insert(d, 0, "c", 1, &l));
    CHECK_EQ(l.n, 3);
    /* forward delete (Del key at one spot): consecutive targets, one op */
    CHECK_OK(weft_doc_delete(d, 3, 1, &l));
    CHECK_OK(weft_doc_delete(d, 3, 1, &l));
    CHECK_OK(weft_doc_delete(d, 3, 1, &l));
    CHECK_EQ(l.n, 4);
    /* backspace: targets go down, deleter seqs up: not one op */
    CHECK_OK(weft_doc_delete(d, 5, 1, &l));
    CHECK_OK(weft_doc_delete(d, 4, 1, &l));
    CHECK_EQ(l.n, 6);
    /* typing after deleting: the delete consumed seqs, no merge across */
    CHECK_OK(weft_doc_insert(d, 4, "x", 1, &l));
    CHECK_OK(weft_doc_insert(d, 5, "y", 1, &l));
    CHECK_EQ(l.n, 7);
    weft_oplist whole;
    weft_oplist_init(&whole);
    CHECK_OK(weft_doc_ops_since(d, NULL, &whole));
    replay_same(d, &whole, "transaction");
    weft_oplist_cleanup(&whole);
    weft_oplist_cleanup(&l);
    weft_doc_free(d);
}

/* Random transactions: several local edits into one list, replayed. */
static void test_random(void)
{
    uint64_t seed = test_seed(7);
    unsigned long iters = test_iters(100);
    for (unsigned long it = 0; it < iters; it++) {
        rng r;
        rng_seed(&r, seed * 7 + it);
        snprintf(test_ctx, sizeof test_ctx, "oplist seed=%llu iter=%lu", (unsigned long long)seed,
                 it);
        weft_doc *d = weft_doc_new(3);
        weft_oplist all;
        weft_oplist_init(&all);
        for (int t = 0; t < 20; t++) {
            weft_oplist l;
            weft_oplist_init(&l);
            int edits = 1 + (int)rng_below(&r, 8);
            uint32_t cursor = rng_below(&r, weft_doc_len(d) + 1);
            for (int e = 0; e < edits; e++) {
                uint32_t len = weft_doc_len(d);
                if (cursor > len)
                    cursor = len;
                uint32_t what = rng_below(&r, 4);
                if (what == 0 && cursor > 0) {
                    CHECK_OK(weft_doc_delete(d, cursor - 1, 1, &l)); /* backspace */
                    cursor--;
                } else if (what == 1 && cursor < len) {
                    CHECK_OK(weft_doc_delete(d, cursor, 1, &l)); /* delete key */
                } else {
                    char buf[32];
                    uint32_t ncp;
                    size_t b = rand_text(&r, 2, buf, &ncp);
                    CHECK_OK(weft_doc_insert(d, cursor, buf, b, &l));
                    cursor += ncp;
                }
            }
            for (size_t i = 0; i < l.n; i++)
                CHECK_OK(weft_oplist_push(&all, &l.ops[i]));
            weft_oplist_cleanup(&l);
        }
        replay_same(d, &all, "random transactions");
        weft_oplist_cleanup(&all);
        weft_doc_free(d);
    }
    test_ctx[0] = 0;
}

int main(void)
{
    test_shapes();
    test_random();
    printf("test_oplist: all passed\n");
    return 0;
}
