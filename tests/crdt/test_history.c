/*
 * test_history.c — brief §10 scenario 23: the text at a version. For
 * random prefixes of a replica's apply order (weft_doc_ops_since(NULL)),
 * weft_doc_text_at(vv_prefix) on the fully merged document equals the
 * text of a fresh document that replayed only that prefix, and the
 * oracle's text_at. Prefixes of *other* replicas' apply orders are
 * versions this document never passed through (e.g. a concurrent double
 * delete applied in the other order): they must work too, and so must
 * versions that end in the middle of an op.
 */
#include "ops.h"
#include "session.h"

#include <stdlib.h>

static void vv_of_prefix(const weft_oplist *l, size_t k, weft_vv *vv)
{
    weft_vv_init(vv);
    for (size_t i = 0; i < k; i++) {
        const weft_op *op = &l->ops[i];
        uint32_t end = op->id.seq + op->len;
        if (weft_vv_get(vv, op->id.agent) < end)
            CHECK_OK(weft_vv_set(vv, op->id.agent, end));
    }
}

/* The first j code points of op (j < op->len): still a causal cut. */
static weft_op head_of(const weft_op *op, uint32_t j)
{
    weft_op h = *op;
    h.len = j;
    if (op->kind == WEFT_OP_INS) {
        uint32_t b = 0;
        for (uint32_t q = 0; q < j; q++) {
            b++;
            while (b < op->bytes && ((unsigned char)op->text[b] & 0xC0) == 0x80)
                b++;
        }
        h.bytes = b;
    }
    return h;
}

/* Prefix of k ops, plus the first `part` code points of op k if part > 0. */
static void check_cut(const weft_doc *d, const oracle *o, const weft_oplist *order, size_t k,
                      uint32_t part)
{
    weft_vv vv;
    vv_of_prefix(order, k, &vv);
    weft_op head = {0};
    if (part) {
        head = head_of(&order->ops[k], part);
        CHECK_OK(weft_vv_set(&vv, head.id.agent, head.id.seq + part));
    }
    weft_doc *f = weft_doc_new(WEFT_NONE);
    for (size_t i = 0; i < k; i++)
        CHECK_RC(weft_doc_apply(f, &order->ops[i], NULL), WEFT_APPLIED);
    if (part)
        CHECK_RC(weft_doc_apply(f, &head, NULL), WEFT_APPLIED);
    sbuf want, got, orc;
    sbuf_init(&want);
    sbuf_init(&got);
    sbuf_init(&orc);
    eng_text(f, &want);
    weft_buf b;
    weft_buf_init(&b);
    CHECK_OK(weft_doc_text_at(d, &vv, &b));
    sbuf_put(&got, b.p ? b.p : "", b.n);
    weft_buf_cleanup(&b);
    oracle_text_at(o, &vv, &orc);
    CHECK_MSG(want.n == orc.n && memcmp(want.p, orc.p, want.n) == 0,
              "prefix %zu: oracle text_at \"%s\" != replay \"%s\"", k, orc.p, want.p);
    CHECK_MSG(got.n == want.n && memcmp(got.p, want.p, got.n) == 0,
              "prefix %zu: text_at \"%s\" != replay of the prefix \"%s\"", k, got.p, want.p);
    sbuf_free(&want);
    sbuf_free(&got);
    sbuf_free(&orc);
    weft_vv_cleanup(&vv);
    weft_doc_free(f);
}

static void check_prefix(const weft_doc *d, const oracle *o, const weft_oplist *order, size_t k)
{
    check_cut(d, o, order, k, 0);
}

static void test_double_delete_order(void)
{
    /* a applies its own delete first; the server log has b's first */
    weft_doc *a = weft_doc_new(1);
    oracle *o = oracle_new(1);
    weft_oplist l;
    weft_oplist_init(&l);
    CHECK_OK(weft_doc_insert(a, 0, "abc", 3, &l));
    CHECK_OK(weft_doc_delete(a, 1, 1, &l));
    weft_op db = del_op(2, 0, ID(1, 1), 1);
    CHECK_RC(weft_doc_apply(a, &db, NULL), WEFT_APPLIED);
    for (size_t i = 0; i < l.n; i++)
        CHECK_RC(oracle_apply(o, &l.ops[i]), WEFT_APPLIED);
    CHECK_RC(oracle_apply(o, &db), WEFT_APPLIED);
    weft_vv_entry e[2] = {{1, 3}, {2, 1}}; /* insert + b's delete only */
    weft_vv vv = {e, 2, 2};
    weft_buf b;
    weft_buf_init(&b);
    CHECK_OK(weft_doc_text_at(a, &vv, &b));
    CHECK_STR(b.p, b.n, "ac");
    e[1].next_seq = 0;
    vv.n = 1;
    CHECK_OK(weft_doc_text_at(a, &vv, &b));
    CHECK_STR(b.p, b.n, "abc");
    e[0].next_seq = 2;
    CHECK_OK(weft_doc_text_at(a, &vv, &b));
    CHECK_STR(b.p, b.n, "ab");
    vv.n = 0;
    CHECK_OK(weft_doc_text_at(a, &vv, &b));
    CHECK_EQ(b.n, 0);
    weft_buf_cleanup(&b);
    weft_oplist_cleanup(&l);
    weft_doc_free(a);
    oracle_free(o);
}

static void test_random(void)
{
    uint64_t seed = test_seed(23);
    unsigned long iters = test_iters(25);
    for (unsigned long it = 0; it < iters; it++) {
        session s;
        session_init(&s, 3, seed * 131 + it);
        s.check_each = false;
        snprintf(test_ctx, sizeof test_ctx, "history seed=%llu iter=%lu", (unsigned long long)seed,
                 it);
        for (int k = 0; k < 100; k++)
            session_step(&s);
        /* apply orders of each replica before the final merge, then after */
        weft_oplist orders[SESSION_MAX];
        for (size_t i = 0; i < s.n; i++) {
            weft_oplist_init(&orders[i]);
            CHECK_OK(weft_doc_ops_since(s.rep[i].d, NULL, &orders[i]));
        }
        session_converge(&s);
        weft_oplist full;
        weft_oplist_init(&full);
        CHECK_OK(weft_doc_ops_since(s.rep[0].d, NULL, &full));
        const weft_doc *d = s.rep[0].d;
        const oracle *o = s.rep[0].o;
        /* every prefix of replica 0's final order, or a random sample */
        for (size_t k = 0; k <= full.n; k++)
            if (full.n <= 40 || rng_chance(&s.r, 1, 3) || k == full.n)
                check_prefix(d, o, &full, k);
        /* versions that cut an op in the middle (a run split by V) */
        for (int q = 0; q < 10 && full.n; q++) {
            size_t k = rng_below(&s.r, (uint32_t)full.n);
            if (full.ops[k].len > 1)
                check_cut(d, o, &full, k, 1 + rng_below(&s.r, full.ops[k].len - 1));
        }
        /* prefixes of the other replicas' (pre-merge) orders */
        for (size_t i = 1; i < s.n; i++)
            for (int q = 0; q < 6; q++)
                check_prefix(d, o, &orders[i], rng_below(&s.r, (uint32_t)orders[i].n + 1));
        for (size_t i = 0; i < s.n; i++)
            weft_oplist_cleanup(&orders[i]);
        weft_oplist_cleanup(&full);
        session_free(&s);
    }
    test_ctx[0] = 0;
}

int main(void)
{
    test_double_delete_order();
    test_random();
    printf("test_history: all passed\n");
    return 0;
}
