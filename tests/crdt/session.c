#include "session.h"

#include <stdlib.h>
#include <string.h>

void session_init(session *s, size_t n, uint64_t seed)
{
    memset(s, 0, sizeof *s);
    CHECK(n <= SESSION_MAX);
    rng_seed(&s->r, seed);
    s->n = n;
    toplist_init(&s->pool);
    for (size_t i = 0; i < n; i++) {
        /* agents out of creation order, one of them large (unsigned compares) */
        uint32_t agent = i == 1 ? 0xFFFFFFF0u : (uint32_t)(n - i) * 3;
        s->rep[i].agent = agent;
        s->rep[i].d = weft_doc_new(agent);
        CHECK(s->rep[i].d);
        s->rep[i].o = oracle_new(agent);
        mirror_init(&s->rep[i].m);
    }
    s->p_delete = 30;
    s->p_back = 15;
    s->max_text = 6;
    s->random_order = true;
    s->duplicates = true;
    s->check_each = true;
}

void session_free(session *s)
{
    for (size_t i = 0; i < s->n; i++) {
        weft_doc_free(s->rep[i].d);
        oracle_free(s->rep[i].o);
        mirror_free(&s->rep[i].m);
    }
    toplist_free(&s->pool);
}

static void print_op(const char *what, const weft_op *op)
{
    fprintf(stderr, "%s", what);
    top_print(stderr, op);
    fputc('\n', stderr);
}

void session_check(session *s, size_t i)
{
    replica *p = &s->rep[i];
    CHECK_OK(weft_doc_check(p->d));
    CHECK_OK(oracle_check(p->o));
    char what[64];
    snprintf(what, sizeof what, "replica %zu (agent %u)", i, p->agent);
    eng_same_as_oracle(p->d, p->o, what);
    mirror_same(&p->m, p->d, what);
    /* version vectors agree */
    weft_vv vv;
    weft_vv_init(&vv);
    CHECK_OK(weft_doc_version(p->d, &vv));
    weft_vv_entry ov[64];
    size_t on = oracle_version(p->o, ov, 64);
    CHECK_EQ(vv.n, on);
    for (size_t k = 0; k < on && k < vv.n; k++) {
        CHECK_EQ(vv.v[k].agent, ov[k].agent);
        CHECK_EQ(vv.v[k].next_seq, ov[k].next_seq);
        CHECK_EQ(weft_doc_next_seq(p->d, ov[k].agent), ov[k].next_seq);
    }
    weft_vv_cleanup(&vv);
    session_check_positions(s, i);
}

void session_check_positions(session *s, size_t i)
{
    replica *p = &s->rep[i];
    uint32_t len = weft_doc_len(p->d);
    for (int q = 0; q < 3; q++) {
        uint32_t pos = rng_below(&s->r, len + 1), u = 0, back = 0;
        uint32_t want16 = oracle_pos16(p->o, pos);
        CHECK_OK(weft_doc_pos16(p->d, pos, &u));
        CHECK_MSG(u == want16, "pos16(%u) = %u, want %u", pos, u, want16);
        CHECK_OK(weft_doc_pos_from16(p->d, u, &back));
        CHECK_EQ(back, pos);
        if (pos < len) {
            weft_id eid, oid;
            uint32_t cp;
            CHECK_OK(weft_doc_id_at(p->d, pos, &eid));
            CHECK_OK(oracle_char_at(p->o, pos, &oid, &cp));
            CHECK_MSG(eid.agent == oid.agent && eid.seq == oid.seq, "id_at(%u)", pos);
            if (cp >= 0x10000) /* the middle of a surrogate pair */
                CHECK_RC(weft_doc_pos_from16(p->d, u + 1, &back), WEFT_E_RANGE);
        }
    }
    uint32_t x;
    CHECK_RC(weft_doc_pos16(p->d, len + 1, &x), WEFT_E_RANGE);
    CHECK_RC(weft_doc_pos_from16(p->d, weft_doc_len16(p->d) + 1, &x), WEFT_E_RANGE);
    CHECK_RC(weft_doc_id_at(p->d, len, &(weft_id){0, 0}), WEFT_E_RANGE);
    /* who deleted a few tombstones: the first deleter in apply order */
    for (int q = 0; q < 3 && s->pool.n; q++) {
        const weft_op *op = &s->pool.v[rng_below(&s->r, (uint32_t)s->pool.n)];
        if (op->kind != WEFT_OP_INS)
            continue;
        weft_id c = {op->id.agent, op->id.seq + rng_below(&s->r, op->len)}, who, owho;
        int erc = weft_doc_deleter(p->d, c, &who);
        int orc = oracle_deleter(p->o, c, &owho);
        CHECK_MSG(erc == orc, "deleter(%u,%u): engine %s, oracle %s", c.agent, c.seq,
                  test_errname(erc), test_errname(orc));
        if (!erc)
            CHECK_MSG(who.agent == owho.agent && who.seq == owho.seq,
                      "deleter(%u,%u): engine (%u,%u), first applied (%u,%u)", c.agent, c.seq,
                      who.agent, who.seq, owho.agent, owho.seq);
    }
}

void session_insert(session *s, size_t i, uint32_t pos, const char *text, size_t bytes)
{
    replica *p = &s->rep[i];
    weft_op want;
    CHECK_OK(oracle_plan_insert(p->o, pos, text, bytes, &want));
    weft_oplist l;
    weft_oplist_init(&l);
    CHECK_OK(weft_doc_insert(p->d, pos, text, bytes, &l));
    CHECK_EQ(l.n, 1);
    if (!top_equal(&l.ops[0], &want)) {
        print_op("engine generated: ", &l.ops[0]);
        print_op("pinned rule says: ", &want);
        CHECK_MSG(0, "local insert at %u on replica %zu breaks the generation rule", pos, i);
    }
    CHECK_RC(oracle_apply(p->o, &l.ops[0]), WEFT_APPLIED);
    toplist_push(&s->pool, &l.ops[0]);
    weft_oplist_cleanup(&l);
    mirror_insert(&p->m, pos, text, bytes);
}

void session_delete(session *s, size_t i, uint32_t pos, uint32_t len)
{
    replica *p = &s->rep[i];
    weft_id *want = calloc(len, sizeof *want);
    CHECK(want);
    CHECK_OK(oracle_plan_delete(p->o, pos, len, want));
    uint32_t next = weft_doc_next_seq(p->d, p->agent);
    weft_oplist l;
    weft_oplist_init(&l);
    CHECK_OK(weft_doc_delete(p->d, pos, len, &l));
    /* one Del per maximal contiguous piece, deleter seqs consecutive,
     * targets = the visible chars of the range in order */
    uint32_t k = 0;
    for (size_t j = 0; j < l.n; j++) {
        const weft_op *op = &l.ops[j];
        CHECK_EQ(op->kind, WEFT_OP_DEL);
        CHECK_EQ(op->id.agent, p->agent);
        CHECK_EQ(op->id.seq, next + k);
        for (uint32_t q = 0; q < op->len; q++, k++) {
            CHECK_MSG(k < len, "delete generated too many targets");
            CHECK_MSG(op->target.agent == want[k].agent && op->target.seq + q == want[k].seq,
                      "delete target %u: engine (%u,%u), visible char (%u,%u)", k, op->target.agent,
                      op->target.seq + q, want[k].agent, want[k].seq);
        }
        if (j > 0) {
            const weft_op *pr = &l.ops[j - 1];
            CHECK_MSG(!(pr->target.agent == op->target.agent &&
                        pr->target.seq + pr->len == op->target.seq),
                      "delete pieces %zu and %zu are not maximal", j - 1, j);
        }
        CHECK_RC(oracle_apply(p->o, op), WEFT_APPLIED);
        toplist_push(&s->pool, op);
    }
    CHECK_EQ(k, len);
    weft_oplist_cleanup(&l);
    free(want);
    mirror_delete(&p->m, pos, len);
}

void session_edit(session *s, size_t i)
{
    replica *p = &s->rep[i];
    uint32_t len = weft_doc_len(p->d);
    if (len > 0 && rng_below(&s->r, 100) < s->p_delete) {
        uint32_t pos = rng_below(&s->r, len);
        uint32_t max = len - pos < 8 ? len - pos : 8;
        session_delete(s, i, pos, 1 + rng_below(&s->r, max));
    } else if (rng_below(&s->r, 100) < s->p_back) {
        /* backward typing: a few chars each at the same position */
        uint32_t pos = rng_below(&s->r, len + 1), n = 2 + rng_below(&s->r, 4);
        for (uint32_t k = 0; k < n; k++) {
            char buf[8];
            uint32_t ncp;
            size_t b = rand_text(&s->r, 1, buf, &ncp);
            session_insert(s, i, pos, buf, b);
        }
    } else {
        char buf[64];
        uint32_t ncp;
        size_t b = rand_text(&s->r, s->max_text, buf, &ncp);
        uint32_t pos = rng_below(&s->r, len + 1);
        session_insert(s, i, pos, buf, b);
        /* sometimes keep typing forward, char by char */
        uint32_t more = rng_chance(&s->r, 1, 3) ? rng_below(&s->r, 4) : 0;
        for (uint32_t k = 0; k < more; k++) {
            b = rand_text(&s->r, 1, buf, &ncp);
            pos += 1;
            if (pos > weft_doc_len(p->d))
                break;
            session_insert(s, i, pos, buf, b);
        }
    }
    if (s->check_each)
        session_check(s, i);
}

int session_deliver(session *s, size_t i, const weft_op *op)
{
    replica *p = &s->rep[i];
    size_t parked_before = weft_doc_parked(p->d);
    weft_patchlist pl;
    weft_patchlist_init(&pl);
    int want = oracle_apply(p->o, op);
    int got = weft_doc_apply(p->d, op, &pl);
    if (got != want) {
        print_op("op: ", op);
        CHECK_MSG(0, "replica %zu: weft_doc_apply returned %d (%s), oracle says %d (%s)", i, got,
                  test_errname(got), want, test_errname(want));
    }
    if (got == WEFT_PARKED || got == WEFT_DUPLICATE)
        CHECK_MSG(pl.n == 0, "a %s op produced %zu patches", test_errname(got), pl.n);
    if (got == WEFT_PARKED)
        CHECK(weft_doc_parked(p->d) >= parked_before && weft_doc_parked(p->d) <= parked_before + 1);
    mirror_patches(&p->m, &pl);
    weft_patchlist_cleanup(&pl);
    /* The oracle keeps one copy of an op re-delivered while parked; the
     * engine may keep each delivery: only emptiness must agree. */
    CHECK(weft_doc_parked(p->d) >= oracle_parked(p->o));
    CHECK((weft_doc_parked(p->d) == 0) == (oracle_parked(p->o) == 0));
    return got;
}

static bool knows(const replica *p, const weft_op *op)
{
    return (uint64_t)op->id.seq + op->len <= weft_doc_next_seq(p->d, op->id.agent);
}

void session_deliver_some(session *s, size_t i)
{
    replica *p = &s->rep[i];
    size_t cand[4096], nc = 0;
    for (size_t k = 0; k < s->pool.n && nc < 4096; k++)
        if (!knows(p, &s->pool.v[k]) || (s->duplicates && rng_chance(&s->r, 1, 20)))
            cand[nc++] = k;
    if (!nc)
        return;
    size_t take = 1 + rng_below(&s->r, (uint32_t)(nc < 12 ? nc : 12));
    if (s->random_order) {
        for (size_t k = 0; k < take; k++) {
            size_t j = k + rng_below(&s->r, (uint32_t)(nc - k));
            size_t t = cand[k];
            cand[k] = cand[j];
            cand[j] = t;
        }
    }
    /* pool order is a causal order, so the unshuffled prefix is causal */
    for (size_t k = 0; k < take; k++) {
        const weft_op *op = &s->pool.v[cand[k]];
        session_deliver(s, i, op);
        if (s->duplicates && rng_chance(&s->r, 1, 10))
            session_deliver(s, i, op);
    }
    if (s->check_each)
        session_check(s, i);
}

void session_step(session *s)
{
    size_t i = rng_below(&s->r, (uint32_t)s->n);
    if (rng_chance(&s->r, 3, 5))
        session_edit(s, i);
    else
        session_deliver_some(s, i);
    s->steps++;
}

void session_converge(session *s)
{
    for (size_t i = 0; i < s->n; i++) {
        for (size_t k = 0; k < s->pool.n; k++)
            if (!knows(&s->rep[i], &s->pool.v[k]))
                session_deliver(s, i, &s->pool.v[k]);
        CHECK_EQ(weft_doc_parked(s->rep[i].d), 0);
        CHECK_EQ(weft_doc_parked_bytes(s->rep[i].d), 0);
        session_check(s, i);
    }
    for (size_t i = 1; i < s->n; i++)
        eng_same_docs(s->rep[0].d, s->rep[i].d, "converged replicas");
}
