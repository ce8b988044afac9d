/*
 * test_anchor.c — brief §10 scenario 24 / §6: cursor anchors. An anchor
 * survives concurrent inserts before it; an anchor on a char deleted
 * concurrently resolves to the gap where it was; the END anchor follows
 * appends; assoc < 0 stays left of text typed at the gap (assoc >= 0 goes
 * right of it); an unknown ID gives WEFT_E_NOTFOUND. Then random sessions
 * compare weft_doc_anchor / weft_doc_anchor_pos with the oracle's §6
 * pseudocode after every step.
 */
#include "ops.h"
#include "session.h"

#include <stdlib.h>

static uint32_t apos(const weft_doc *d, weft_anchor a)
{
    uint32_t p = 12345;
    CHECK_OK(weft_doc_anchor_pos(d, a, &p));
    return p;
}

static void sync_to(weft_doc *dst, const weft_oplist *l)
{
    for (size_t i = 0; i < l->n; i++)
        CHECK(weft_doc_apply(dst, &l->ops[i], NULL) >= 0);
}

static void test_cases(void)
{
    weft_doc *a = weft_doc_new(1), *b = weft_doc_new(2);
    weft_oplist la, lb;
    weft_oplist_init(&la);
    weft_oplist_init(&lb);
    CHECK_OK(weft_doc_insert(a, 0, "hello", 5, &la));
    sync_to(b, &la);
    weft_oplist_clear(&la);

    weft_anchor r3, l3, end, start, l0;
    CHECK_OK(weft_doc_anchor(a, 3, 0, &r3));  /* binds to 'l' (index 3) */
    CHECK_OK(weft_doc_anchor(a, 3, -1, &l3)); /* binds to 'l' (index 2) */
    CHECK_OK(weft_doc_anchor(a, 5, 0, &end));
    CHECK_OK(weft_doc_anchor(a, 0, -1, &start));
    CHECK_OK(weft_doc_anchor(a, 0, 0, &l0)); /* binds to 'h' */
    CHECK(r3.id.agent == 1 && r3.id.seq == 3 && r3.assoc >= 0);
    CHECK(l3.id.agent == 1 && l3.id.seq == 2 && l3.assoc < 0);
    CHECK(end.id.agent == WEFT_NONE && end.id.seq == WEFT_ANCHOR_END_ID.seq);
    CHECK(start.id.agent == WEFT_NONE && start.id.seq == WEFT_ANCHOR_START_ID.seq);
    CHECK_EQ(apos(a, r3), 3);
    CHECK_EQ(apos(a, l3), 3);
    CHECK_EQ(apos(a, end), 5);
    CHECK_EQ(apos(a, start), 0);

    /* concurrent inserts before the anchor */
    CHECK_OK(weft_doc_insert(b, 0, "😀>", 5, &lb));
    sync_to(a, &lb);
    weft_oplist_clear(&lb);
    CHECK_EQ(apos(a, r3), 5);
    CHECK_EQ(apos(a, l3), 5);
    CHECK_EQ(apos(a, l0), 2);
    CHECK_EQ(apos(a, start), 0);
    CHECK_EQ(apos(a, end), 7);

    /* text typed at the anchored gap: assoc<0 stays left, assoc>=0 right */
    CHECK_OK(weft_doc_insert(a, 5, "ZZ", 2, &la));
    CHECK_EQ(apos(a, l3), 5);
    CHECK_EQ(apos(a, r3), 7);
    /* END follows appends (local and remote) */
    CHECK_OK(weft_doc_insert(a, weft_doc_len(a), "!", 1, &la));
    CHECK_EQ(apos(a, end), weft_doc_len(a));
    sync_to(b, &la);
    weft_oplist_clear(&la);
    CHECK_OK(weft_doc_insert(b, weft_doc_len(b), "??", 2, &lb));
    sync_to(a, &lb);
    weft_oplist_clear(&lb);
    CHECK_EQ(apos(a, end), weft_doc_len(a));

    /* the anchored chars are deleted concurrently: the gap where they were.
     * a: "😀>helZZlo!??"; b deletes "lZZl" (4 at 4) */
    CHECK_OK(weft_doc_delete(b, 4, 4, &lb));
    sync_to(a, &lb);
    weft_oplist_clear(&lb);
    CHECK_EQ(apos(a, r3), 4);
    CHECK_EQ(apos(a, l3), 4);
    weft_buf t;
    weft_buf_init(&t);
    CHECK_OK(weft_doc_text(a, &t));
    CHECK_STR(t.p, t.n, "😀>heo!??");
    weft_buf_cleanup(&t);
    /* everything deleted */
    CHECK_OK(weft_doc_delete(a, 0, weft_doc_len(a), NULL));
    CHECK_EQ(apos(a, r3), 0);
    CHECK_EQ(apos(a, end), 0);

    /* unknown anchor ID: NOTFOUND (the caller keeps its last position) */
    weft_anchor unk = {ID(77, 3), 0};
    uint32_t p = 99;
    CHECK_RC(weft_doc_anchor_pos(a, unk, &p), WEFT_E_NOTFOUND);
    /* an anchor naming a delete's seq is not a char */
    weft_anchor del = {ID(2, 5), 0}; /* b's delete seqs are 4..7 */
    CHECK(weft_doc_anchor_pos(a, del, &p) < 0);
    CHECK_RC(weft_doc_anchor(a, 1, 0, &unk), WEFT_E_RANGE);

    weft_oplist_cleanup(&la);
    weft_oplist_cleanup(&lb);
    weft_doc_free(a);
    weft_doc_free(b);
}

static void compare_anchors(session *s, size_t i, weft_anchor *held, size_t nheld)
{
    replica *p = &s->rep[i];
    uint32_t len = weft_doc_len(p->d);
    for (int q = 0; q < 4; q++) {
        uint32_t pos = rng_below(&s->r, len + 1);
        int32_t assoc = rng_chance(&s->r, 1, 2) ? -1 : 0;
        weft_anchor ea, oa;
        CHECK_OK(weft_doc_anchor(p->d, pos, assoc, &ea));
        CHECK_OK(oracle_anchor(p->o, pos, assoc, &oa));
        CHECK_MSG(weft_id_eq(ea.id, oa.id) && ea.id.seq == oa.id.seq &&
                      (ea.assoc < 0) == (oa.assoc < 0),
                  "anchor(%u, %d): engine (%u,%u), brief §6 says (%u,%u)", pos, assoc, ea.id.agent,
                  ea.id.seq, oa.id.agent, oa.id.seq);
        CHECK_EQ(apos(p->d, ea), pos);
        held[rng_below(&s->r, (uint32_t)nheld)] = ea;
    }
    for (size_t k = 0; k < nheld; k++) {
        uint32_t ep = 0, op = 0;
        int erc = weft_doc_anchor_pos(p->d, held[k], &ep);
        int orc = oracle_anchor_pos(p->o, held[k], &op);
        CHECK_RC(erc, orc);
        if (!erc)
            CHECK_MSG(ep == op, "anchor (%u,%u) assoc %d: engine pos %u, brief §6 says %u",
                      held[k].id.agent, held[k].id.seq, held[k].assoc, ep, op);
    }
}

static void test_random(void)
{
    uint64_t seed = test_seed(24);
    unsigned long iters = test_iters(30);
    for (unsigned long it = 0; it < iters; it++) {
        session s;
        session_init(&s, 3, seed * 17 + it);
        s.check_each = false;
        snprintf(test_ctx, sizeof test_ctx, "anchor seed=%llu iter=%lu", (unsigned long long)seed,
                 it);
        weft_anchor held[SESSION_MAX][8];
        for (size_t i = 0; i < SESSION_MAX; i++)
            for (size_t k = 0; k < 8; k++)
                held[i][k] = (weft_anchor){WEFT_ANCHOR_END_ID, 0};
        for (int k = 0; k < 100; k++) {
            session_step(&s);
            size_t i = rng_below(&s.r, (uint32_t)s.n);
            compare_anchors(&s, i, held[i], 8);
        }
        session_converge(&s);
        for (size_t i = 0; i < s.n; i++)
            compare_anchors(&s, i, held[i], 8);
        session_free(&s);
    }
    test_ctx[0] = 0;
}

int main(void)
{
    test_cases();
    test_random();
    printf("test_anchor: all passed\n");
    return 0;
}
