#include "rep.h"

#include <stdlib.h>
#include <string.h>

/* ---- oracle backend ---- */

static int ro_insert(rep *r, uint32_t pos, const char *s, size_t n, toplist *out)
{
    return oracle_insert(r->impl, pos, s, n, out);
}
static int ro_del(rep *r, uint32_t pos, uint32_t len, toplist *out)
{
    return oracle_delete(r->impl, pos, len, out);
}
static int ro_apply(rep *r, const weft_op *op)
{
    int rc = oracle_apply(r->impl, op);
    CHECK_OK(oracle_check(r->impl));
    return rc;
}
static void ro_text(const rep *r, sbuf *b)
{
    oracle_text(r->impl, b);
}
static uint32_t ro_next_seq(const rep *r, uint32_t a)
{
    return oracle_next_seq(r->impl, a);
}
static size_t ro_runs(const rep *r, orun **out)
{
    return oracle_runs(r->impl, out);
}
static void ro_destroy(rep *r)
{
    oracle_free(r->impl);
}

static const rep_vt oracle_vt = {"oracle", ro_insert,   ro_del,  ro_apply,
                                 ro_text,  ro_next_seq, ro_runs, ro_destroy};

rep *rep_oracle_new(uint32_t agent)
{
    rep *r = calloc(1, sizeof *r);
    CHECK(r);
    r->vt = &oracle_vt;
    r->impl = oracle_new(agent);
    r->agent = agent;
    toplist_init(&r->own);
    toplist_init(&r->log);
    return r;
}

void rep_free(rep *r)
{
    if (!r)
        return;
    r->vt->destroy(r);
    toplist_free(&r->own);
    toplist_free(&r->log);
    free(r);
}

/* ---- generic helpers ---- */

static void record_local(rep *r, toplist *tmp)
{
    toplist_push_all(&r->own, tmp->v, tmp->n);
    toplist_push_all(&r->log, tmp->v, tmp->n);
    toplist_free(tmp);
}

void rep_ins(rep *r, uint32_t pos, const char *s)
{
    toplist tmp;
    toplist_init(&tmp);
    CHECK_OK(r->vt->insert(r, pos, s, strlen(s), &tmp));
    record_local(r, &tmp);
}

void rep_ins_back(rep *r, uint32_t pos, const char *s)
{
    size_t i = 0, n = strlen(s);
    while (i < n) {
        size_t k = 1;
        while (i + k < n && ((unsigned char)s[i + k] & 0xC0) == 0x80)
            k++;
        toplist tmp;
        toplist_init(&tmp);
        CHECK_OK(r->vt->insert(r, pos, s + i, k, &tmp));
        record_local(r, &tmp);
        i += k;
    }
}

void rep_del(rep *r, uint32_t pos, uint32_t len)
{
    toplist tmp;
    toplist_init(&tmp);
    CHECK_OK(r->vt->del(r, pos, len, &tmp));
    record_local(r, &tmp);
}

static bool rep_knows(const rep *r, const weft_op *op)
{
    return (uint64_t)op->id.seq + op->len <= r->vt->next_seq(r, op->id.agent);
}

void rep_sync(rep *dst, const rep *src)
{
    for (size_t i = 0; i < src->log.n; i++) {
        const weft_op *op = &src->log.v[i];
        if (rep_knows(dst, op))
            continue;
        int rc = dst->vt->apply(dst, op);
        if (rc != WEFT_APPLIED) {
            fprintf(stderr, "op: ");
            top_print(stderr, op);
            fputc('\n', stderr);
        }
        CHECK_RC(rc, WEFT_APPLIED);
        toplist_push(&dst->log, op);
    }
}

void rep_merge_all(rep **reps, size_t n)
{
    for (int round = 0; round < 2; round++)
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++)
                if (i != j)
                    rep_sync(reps[i], reps[j]);
}

void rep_expect(const rep *r, const char *want, const char *file, int line)
{
    sbuf b;
    sbuf_init(&b);
    r->vt->text(r, &b);
    if (!test_str_eq(b.p ? b.p : "", b.n, want))
        test_fail(file, line, "%s replica (agent %u): text \"%.*s\", want \"%s\"", r->vt->name,
                  r->agent, (int)b.n, b.p ? b.p : "", want);
    sbuf_free(&b);
}

static void id_fmt(FILE *f, weft_id id)
{
    if (weft_id_is_none(id))
        fprintf(f, "-");
    else
        fprintf(f, "%u.%u", id.agent, id.seq);
}

void runs_print(FILE *f, const orun *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "    run %u.%u len=%u ol=", r[i].agent, r[i].seq, r[i].len);
        id_fmt(f, r[i].ol);
        fprintf(f, " or=");
        id_fmt(f, r[i].or);
        fprintf(f, " %s \"%.*s\"\n", r[i].deleted ? "DEL" : "vis", (int)r[i].text.n,
                r[i].text.p ? r[i].text.p : "");
    }
}

static bool run_eq(const orun *a, const orun *b)
{
    return a->agent == b->agent && a->seq == b->seq && a->len == b->len &&
           weft_id_eq(a->ol, b->ol) && weft_id_eq(a->or, b->or) && a->deleted == b->deleted &&
           a->text.n == b->text.n &&
           (a->text.n == 0 || memcmp(a->text.p, b->text.p, a->text.n) == 0);
}

int runs_compare(const orun *a, size_t na, const orun *b, size_t nb, const char *what)
{
    bool same = na == nb;
    for (size_t i = 0; same && i < na; i++)
        same = run_eq(&a[i], &b[i]);
    if (same)
        return 0;
    fprintf(stderr, "run lists differ (%s):\n  first (%zu runs):\n", what, na);
    runs_print(stderr, a, na);
    fprintf(stderr, "  second (%zu runs):\n", nb);
    runs_print(stderr, b, nb);
    return 1;
}

/* ---- scenarios (brief §10; agents a=1 < b=2 < c=3) ---- */

enum { A = 1, B = 2, C = 3 };

static size_t s1(rep_factory mk, rep **r)
{
    r[0] = mk(A), r[1] = mk(B);
    rep_ins(r[0], 0, "A");
    rep_ins(r[1], 0, "B");
    return 2;
}

static size_t s2(rep_factory mk, rep **r)
{
    r[0] = mk(A), r[1] = mk(B);
    rep_ins(r[0], 0, "abc");
    rep_ins(r[1], 0, "xyz");
    return 2;
}

static size_t s2b(rep_factory mk, rep **r)
{
    /* forward typing char by char (each char its own op) */
    r[0] = mk(A), r[1] = mk(B);
    for (int i = 0; i < 3; i++) {
        rep_ins(r[0], (uint32_t)i, (const char[]){(char)('a' + i), 0});
        rep_ins(r[1], (uint32_t)i, (const char[]){(char)('x' + i), 0});
    }
    return 2;
}

static size_t s3(rep_factory mk, rep **r)
{
    r[0] = mk(A), r[1] = mk(B);
    rep_ins_back(r[0], 0, "cba");
    rep_ins_back(r[1], 0, "zyx");
    return 2;
}

static size_t s4(rep_factory mk, rep **r)
{
    r[0] = mk(A), r[1] = mk(B);
    rep_ins(r[0], 0, "M");
    rep_ins(r[0], 0, "L");
    rep_ins(r[0], 2, "R");
    rep_ins(r[1], 0, "m");
    rep_ins(r[1], 0, "l");
    rep_ins(r[1], 2, "r");
    REP_EXPECT(r[0], "LMR");
    return 2;
}

static size_t s5(rep_factory mk, rep **r)
{
    r[0] = mk(3), r[1] = mk(1), r[2] = mk(2);
    rep_ins(r[0], 0, "b");
    rep_sync(r[1], r[0]);
    rep_ins(r[1], 0, "a");
    rep_ins(r[2], 0, "x");
    return 3;
}

static size_t fig7(rep_factory mk, rep **r, uint32_t ax, uint32_t ay)
{
    r[0] = mk(A), r[1] = mk(B), r[2] = mk(C), r[3] = mk(ax), r[4] = mk(ay);
    rep_ins(r[0], 0, "A");
    rep_ins(r[1], 0, "B");
    rep_ins(r[2], 0, "C");
    rep_sync(r[3], r[0]);
    rep_sync(r[3], r[2]);
    REP_EXPECT(r[3], "AC");
    rep_ins(r[3], 1, "X");
    rep_sync(r[4], r[0]);
    rep_sync(r[4], r[1]);
    REP_EXPECT(r[4], "AB");
    rep_ins(r[4], 1, "Y");
    return 5;
}
static size_t s6(rep_factory mk, rep **r)
{
    return fig7(mk, r, 4, 5);
}
static size_t s6b(rep_factory mk, rep **r)
{
    return fig7(mk, r, 5, 4);
}

static size_t s7(rep_factory mk, rep **r)
{
    r[0] = mk(A), r[1] = mk(B), r[2] = mk(C);
    rep_ins(r[0], 0, "<>");
    rep_sync(r[1], r[0]);
    rep_sync(r[2], r[0]);
    rep_ins(r[0], 1, "one");
    rep_ins(r[1], 1, "two");
    rep_ins(r[2], 1, "three");
    return 3;
}

static size_t s8(rep_factory mk, rep **r)
{
    r[0] = mk(A), r[1] = mk(B);
    rep_ins(r[0], 0, "Q");
    rep_sync(r[1], r[0]);
    rep_ins_back(r[0], 1, "cba");
    REP_EXPECT(r[0], "Qabc");
    rep_ins(r[1], 1, "xyz");
    return 2;
}

static size_t s9(rep_factory mk, rep **r)
{
    r[0] = mk(A), r[1] = mk(B);
    rep_ins(r[0], 0, "ab");
    rep_sync(r[1], r[0]);
    rep_ins(r[0], 1, "X");
    rep_del(r[1], 0, 2);
    REP_EXPECT(r[1], "");
    return 2;
}

static size_t s10(rep_factory mk, rep **r)
{
    r[0] = mk(A), r[1] = mk(B);
    rep_ins(r[0], 0, "abc");
    rep_sync(r[1], r[0]);
    rep_del(r[0], 1, 1);
    rep_ins(r[0], 1, "X");
    rep_ins(r[1], 2, "Y");
    return 2;
}

static size_t s11(rep_factory mk, rep **r)
{
    r[0] = mk(A), r[1] = mk(B);
    rep_ins(r[0], 0, "abc");
    rep_sync(r[1], r[0]);
    rep_del(r[0], 1, 1);
    rep_del(r[1], 1, 1);
    rep_merge_all(r, 2);
    /* both deletes are logged and counted in the version vector */
    for (int i = 0; i < 2; i++) {
        CHECK_EQ(r[i]->vt->next_seq(r[i], A), 4);
        CHECK_EQ(r[i]->vt->next_seq(r[i], B), 1);
    }
    return 2;
}

static size_t s12(rep_factory mk, rep **r)
{
    r[0] = mk(A), r[1] = mk(B);
    rep_ins(r[0], 0, "abcd");
    rep_sync(r[1], r[0]);
    rep_del(r[0], 1, 2);
    rep_ins(r[1], 2, "X");
    return 2;
}

static size_t s13(rep_factory mk, rep **r)
{
    r[0] = mk(A), r[1] = mk(B);
    rep_ins(r[0], 0, "hello");
    rep_sync(r[1], r[0]);
    rep_ins(r[0], 5, " world");
    rep_ins(r[1], 0, "Say: ");
    rep_sync(r[0], r[1]);
    rep_ins(r[0], 0, ">");
    return 2;
}

static void expect_ins(const weft_op *op, weft_id id, weft_id ol, weft_id or, const char *text)
{
    CHECK_EQ(op->kind, WEFT_OP_INS);
    CHECK_EQ(op->id.agent, id.agent);
    CHECK_EQ(op->id.seq, id.seq);
    CHECK_EQ(op->len, strlen(text));
    CHECK_EQ(op->ol.agent, ol.agent);
    if (!weft_id_is_none(ol))
        CHECK_EQ(op->ol.seq, ol.seq);
    CHECK_EQ(op->or.agent, or.agent);
    if (!weft_id_is_none(or))
        CHECK_EQ(op->or.seq, or.seq);
    CHECK(op->bytes == strlen(text) && memcmp(op->text, text, op->bytes) == 0);
}

static void expect_del(const weft_op *op, weft_id id, weft_id target, uint32_t len)
{
    CHECK_EQ(op->kind, WEFT_OP_DEL);
    CHECK_EQ(op->id.agent, id.agent);
    CHECK_EQ(op->id.seq, id.seq);
    CHECK_EQ(op->target.agent, target.agent);
    CHECK_EQ(op->target.seq, target.seq);
    CHECK_EQ(op->len, len);
}

static size_t s14(rep_factory mk, rep **r)
{
    /* Generation rule pinned (brief §1.4): origin right is the very next
     * item after origin left in the full list, tombstones included. */
    r[0] = mk(A), r[1] = mk(B);
    rep *b = r[1];
    rep_ins(r[0], 0, "abc");
    CHECK_EQ(r[0]->own.n, 1);
    expect_ins(&r[0]->own.v[0], (weft_id){A, 0}, WEFT_ID_NONE, WEFT_ID_NONE, "abc");
    rep_sync(b, r[0]);

    rep_del(b, 1, 1); /* delete 'b' */
    CHECK_EQ(b->own.n, 1);
    expect_del(&b->own.v[0], (weft_id){B, 0}, (weft_id){A, 1}, 1);
    rep_ins(b, 1, "X"); /* ol = 'a' (visible), or = 'b' (tombstone) */
    CHECK_EQ(b->own.n, 2);
    expect_ins(&b->own.v[1], (weft_id){B, 1}, (weft_id){A, 0}, (weft_id){A, 1}, "X");
    REP_EXPECT(b, "aXc");

    rep_del(b, 0, 1); /* delete 'a'; list: a~ X b~ c */
    expect_del(&b->own.v[2], (weft_id){B, 2}, (weft_id){A, 0}, 1);
    rep_ins(b, 0, "Y"); /* ol = START, or = 'a' (tombstone) */
    expect_ins(&b->own.v[3], (weft_id){B, 3}, WEFT_ID_NONE, (weft_id){A, 0}, "Y");

    rep_del(b, 2, 1); /* delete 'c'; list: Y a~ X b~ c~ */
    expect_del(&b->own.v[4], (weft_id){B, 4}, (weft_id){A, 2}, 1);
    rep_ins(b, 2, "Z"); /* ol = X, or = 'b' (tombstone right after X) */
    expect_ins(&b->own.v[5], (weft_id){B, 5}, (weft_id){B, 1}, (weft_id){A, 1}, "Z");
    rep_ins(b, 3, "W"); /* ol = Z, or = 'b' again */
    CHECK_EQ(b->own.n, 7);
    expect_ins(&b->own.v[6], (weft_id){B, 6}, (weft_id){B, 5}, (weft_id){A, 1}, "W");
    REP_EXPECT(b, "YXZW");

    /* a multi-code-point delete over two agents' chars makes one Del per
     * contiguous piece: Y | X | Z W */
    rep_del(b, 0, 4);
    CHECK_EQ(b->own.n, 10);
    expect_del(&b->own.v[7], (weft_id){B, 7}, (weft_id){B, 3}, 1);
    expect_del(&b->own.v[8], (weft_id){B, 8}, (weft_id){B, 1}, 1);
    expect_del(&b->own.v[9], (weft_id){B, 9}, (weft_id){B, 5}, 2);
    rep_ins(b, 0, "end"); /* list: Y~ a~ X~ Z~ W~ b~ c~ -> or = Y */
    expect_ins(&b->own.v[10], (weft_id){B, 11}, WEFT_ID_NONE, (weft_id){B, 3}, "end");
    return 2;
}

const scenario scenarios[] = {
    {"1 concurrent single chars", "AB", s1},
    {"2 forward runs", "abcxyz", s2},
    {"2b forward runs, char by char", "abcxyz", s2b},
    {"3 backward runs", "abcxyz", s3},
    {"4 runs with tails", "LMRlmr", s4},
    {"5 yjs multi-replica anomaly", "xab", s5},
    {"6 fig. 7 (X<Y)", "AXYBC", s6},
    {"6b fig. 7 (Y<X)", "AXYBC", s6b},
    {"7 three-way typing at one spot", "<onetwothree>", s7},
    {"8 mixed directions", "Qabcxyz", s8},
    {"9 insert vs deletion of both neighbours", "X", s9},
    {"10 origin right is a tombstone", "aXYc", s10},
    {"11 concurrent double delete", "ac", s11},
    {"12 delete range vs insert inside it", "aXd", s12},
    {"13 prepend/append after merge", ">Say: hello world", s13},
    {"14 generation rule is pinned", "end", s14},
};
const size_t n_scenarios = sizeof scenarios / sizeof scenarios[0];

void scenario_run(const scenario *sc, rep_factory mk, toplist *ops)
{
    rep *r[8] = {0};
    snprintf(test_ctx, sizeof test_ctx, "scenario %s", sc->name);
    size_t n = sc->run(mk, r);
    rep_merge_all(r, n);
    orun *r0 = NULL;
    size_t n0 = r[0]->vt->runs(r[0], &r0);
    for (size_t i = 0; i < n; i++) {
        rep_expect(r[i], sc->expect, __FILE__, __LINE__);
        orun *ri = NULL;
        size_t ni = r[i]->vt->runs(r[i], &ri);
        CHECK_MSG(runs_compare(r0, n0, ri, ni, sc->name) == 0, "replica %zu runs differ", i);
        oracle_runs_free(ri, ni);
        if (ops)
            toplist_push_all(ops, r[i]->own.v, r[i]->own.n);
    }
    oracle_runs_free(r0, n0);
    for (size_t i = 0; i < n; i++)
        rep_free(r[i]);
    test_ctx[0] = 0;
}

/* ---- delivery orders ---- */

static int op_containing(const toplist *ops, weft_id id)
{
    if (weft_id_is_none(id))
        return -1;
    for (size_t i = 0; i < ops->n; i++) {
        const weft_op *o = &ops->v[i];
        if (o->id.agent == id.agent && id.seq >= o->id.seq && id.seq - o->id.seq < o->len)
            return (int)i;
    }
    CHECK_MSG(0, "op set does not contain (%u,%u)", id.agent, id.seq);
    return -1;
}

void op_deps(const toplist *ops, uint64_t *deps)
{
    CHECK(ops->n <= 64);
    for (size_t i = 0; i < ops->n; i++) {
        const weft_op *o = &ops->v[i];
        uint64_t d = 0;
        int k;
        if (o->id.seq > 0)
            d |= 1ull << op_containing(ops, (weft_id){o->id.agent, o->id.seq - 1});
        if (o->kind == WEFT_OP_INS) {
            if ((k = op_containing(ops, o->ol)) >= 0)
                d |= 1ull << k;
            if ((k = op_containing(ops, o->or)) >= 0)
                d |= 1ull << k;
        } else {
            for (uint32_t j = 0; j < o->len; j++)
                d |= 1ull << op_containing(ops, (weft_id){o->target.agent, o->target.seq + j});
        }
        deps[i] = d & ~(1ull << i);
    }
}

void random_order(rng *r, const uint64_t *deps, size_t n, size_t *perm)
{
    uint64_t done = 0;
    for (size_t k = 0; k < n; k++) {
        size_t ready[64], nr = 0;
        for (size_t i = 0; i < n; i++)
            if (!(done >> i & 1) && (deps[i] & ~done) == 0)
                ready[nr++] = i;
        CHECK_MSG(nr > 0, "dependency cycle");
        perm[k] = ready[rng_below(r, (uint32_t)nr)];
        done |= 1ull << perm[k];
    }
}

static size_t orders_rec(const uint64_t *deps, size_t n, size_t *perm, size_t k, uint64_t done,
                         void (*fn)(const size_t *, size_t, void *), void *ctx)
{
    if (k == n) {
        fn(perm, n, ctx);
        return 1;
    }
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        if (!(done >> i & 1) && (deps[i] & ~done) == 0) {
            perm[k] = i;
            count += orders_rec(deps, n, perm, k + 1, done | 1ull << i, fn, ctx);
        }
    return count;
}

size_t all_orders(const uint64_t *deps, size_t n, void (*fn)(const size_t *, size_t, void *),
                  void *ctx)
{
    size_t perm[64] = {0};
    return orders_rec(deps, n, perm, 0, 0, fn, ctx);
}
