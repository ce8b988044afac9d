/*
 * test_apply.c — brief §10 scenarios 16 and 17 (§5.2 receive rules):
 * duplicates, half-known Ins runs (trimmed), overlapping Del, same ID with
 * different content (WEFT_E_CONFLICT, nothing changed), and parking: ops
 * with seq gaps / missing origins / missing targets are WEFT_PARKED,
 * counted by weft_doc_parked(), and applied once their dependencies come,
 * with the same result as causal delivery. Every outcome is also compared
 * with the oracle's.
 */
#include "ops.h"
#include "session.h"

#include <stdlib.h>

/* An engine doc and its oracle twin fed the same ops. */
typedef struct pair {
    weft_doc *d;
    oracle *o;
    mirror m;
} pair;

static void pair_init(pair *p)
{
    p->d = weft_doc_new(WEFT_NONE);
    p->o = oracle_new(WEFT_NONE);
    CHECK(p->d);
    mirror_init(&p->m);
}

static void pair_free(pair *p)
{
    weft_doc_free(p->d);
    oracle_free(p->o);
    mirror_free(&p->m);
}

static void pair_check(pair *p, bool exact_parked)
{
    CHECK_OK(weft_doc_check(p->d));
    eng_same_as_oracle(p->d, p->o, "engine vs oracle");
    mirror_same(&p->m, p->d, "patched editor copy");
    if (exact_parked)
        CHECK_EQ(weft_doc_parked(p->d), oracle_parked(p->o));
    /* an op re-delivered while parked may be kept twice by the engine */
    CHECK(weft_doc_parked(p->d) >= oracle_parked(p->o));
    CHECK((weft_doc_parked(p->d) == 0) == (oracle_parked(p->o) == 0));
}
#define pair_same(p) pair_check((p), true)

static void apply_expect(pair *p, weft_op op, int want, int line)
{
    snprintf(test_ctx, sizeof test_ctx, "test_apply.c:%d", line);
    weft_patchlist pl;
    weft_patchlist_init(&pl);
    CHECK_RC(oracle_apply(p->o, &op), want);
    int got = weft_doc_apply(p->d, &op, &pl);
    if (got != want) {
        top_print(stderr, &op);
        fputc('\n', stderr);
    }
    CHECK_RC(got, want);
    mirror_patches(&p->m, &pl);
    weft_patchlist_cleanup(&pl);
    pair_same(p);
    test_ctx[0] = 0;
}
#define APPLY(p, op, want) apply_expect((p), (op), (want), __LINE__)

static void expect_text(const weft_doc *d, const char *want)
{
    sbuf t;
    sbuf_init(&t);
    eng_text(d, &t);
    CHECK_STR(t.p, t.n, want);
    sbuf_free(&t);
}

/* A snapshot of everything observable, to prove "nothing changed". */
typedef struct observed {
    sbuf text;
    orun *runs;
    size_t nruns;
    weft_vv vv;
    size_t parked, dels, spans;
} observed;

static void observe(const weft_doc *d, observed *ob)
{
    sbuf_init(&ob->text);
    eng_text(d, &ob->text);
    ob->nruns = eng_runs(d, &ob->runs);
    weft_vv_init(&ob->vv);
    CHECK_OK(weft_doc_version(d, &ob->vv));
    ob->parked = weft_doc_parked(d);
    ob->dels = weft_doc_del_count(d);
    ob->spans = weft_doc_span_count(d);
}

static void unchanged(const weft_doc *d, observed *ob, const char *what)
{
    observed now;
    observe(d, &now);
    CHECK_MSG(now.text.n == ob->text.n && memcmp(now.text.p, ob->text.p, now.text.n) == 0,
              "%s changed the text", what);
    CHECK_MSG(runs_compare(ob->runs, ob->nruns, now.runs, now.nruns, what) == 0,
              "%s changed the runs", what);
    CHECK_MSG(weft_vv_leq(&now.vv, &ob->vv) && weft_vv_leq(&ob->vv, &now.vv),
              "%s changed the version", what);
    CHECK_MSG(now.parked == ob->parked, "%s changed the parked count", what);
    CHECK_MSG(now.dels == ob->dels && now.spans == ob->spans, "%s changed the logs", what);
    CHECK_OK(weft_doc_check(d));
    sbuf_free(&now.text);
    oracle_runs_free(now.runs, now.nruns);
    weft_vv_cleanup(&now.vv);
    sbuf_free(&ob->text);
    oracle_runs_free(ob->runs, ob->nruns);
    weft_vv_cleanup(&ob->vv);
}

static void test_duplicates_and_trim(void)
{
    pair p;
    pair_init(&p);
    APPLY(&p, ins_op(1, 0, NONE, NONE, "abc"), WEFT_APPLIED);
    APPLY(&p, ins_op(1, 0, NONE, NONE, "abc"), WEFT_DUPLICATE);
    APPLY(&p, ins_op(1, 1, ID(1, 0), NONE, "bc"), WEFT_DUPLICATE); /* known suffix */
    APPLY(&p, ins_op(1, 1, ID(1, 0), NONE, "b"), WEFT_DUPLICATE);  /* known middle */
    /* half known: first two chars known, three new */
    APPLY(&p, ins_op(1, 1, ID(1, 0), NONE, "bcdef"), WEFT_APPLIED);
    expect_text(p.d, "abcdef");
    APPLY(&p, ins_op(1, 0, NONE, NONE, "abcdefgh"), WEFT_APPLIED); /* known prefix of 6 */
    expect_text(p.d, "abcdefgh");
    /* multi-byte half-known: trimming must cut at code points, not bytes */
    APPLY(&p, ins_op(2, 0, ID(1, 7), NONE, "é😀"), WEFT_APPLIED);
    APPLY(&p, ins_op(2, 0, ID(1, 7), NONE, "é😀中€"), WEFT_APPLIED);
    expect_text(p.d, "abcdefghé😀中€");
    APPLY(&p, ins_op(2, 1, ID(2, 0), NONE, "😀中"), WEFT_DUPLICATE);

    /* deletes: duplicate and overlapping */
    APPLY(&p, del_op(3, 0, ID(1, 1), 2), WEFT_APPLIED); /* b c */
    APPLY(&p, del_op(3, 0, ID(1, 1), 2), WEFT_DUPLICATE);
    APPLY(&p, del_op(3, 1, ID(1, 2), 1), WEFT_DUPLICATE);
    APPLY(&p, del_op(3, 0, ID(1, 1), 4), WEFT_APPLIED); /* trims to d e */
    expect_text(p.d, "afghé😀中€");
    CHECK_EQ(weft_doc_next_seq(p.d, 3), 4);
    /* another agent deletes overlapping, already-deleted chars: recorded,
     * counted, nothing visible changes */
    APPLY(&p, del_op(4, 0, ID(1, 0), 3), WEFT_APPLIED);
    expect_text(p.d, "fghé😀中€");
    CHECK_EQ(weft_doc_next_seq(p.d, 4), 3);
    /* deleter of the double-deleted char is the first one applied */
    weft_id who;
    CHECK_OK(weft_doc_deleter(p.d, ID(1, 1), &who));
    CHECK(who.agent == 3 && who.seq == 0);
    CHECK_OK(weft_doc_deleter(p.d, ID(1, 0), &who));
    CHECK(who.agent == 4 && who.seq == 0);
    CHECK_RC(weft_doc_deleter(p.d, ID(1, 5), &who), WEFT_E_NOTFOUND); /* visible */
    CHECK_RC(weft_doc_deleter(p.d, ID(9, 0), &who), WEFT_E_NOTFOUND); /* unknown */
    pair_free(&p);
}

static void test_conflicts(void)
{
    pair p;
    pair_init(&p);
    APPLY(&p, ins_op(1, 0, NONE, NONE, "abc"), WEFT_APPLIED);
    APPLY(&p, ins_op(2, 0, ID(1, 0), ID(1, 1), "xy"), WEFT_APPLIED);
    APPLY(&p, del_op(3, 0, ID(1, 2), 1), WEFT_APPLIED);
    struct {
        const char *what;
        weft_op op;
    } cases[] = {
        {"same ID, different text", ins_op(1, 0, NONE, NONE, "abd")},
        {"same ID, different first char", ins_op(1, 0, NONE, NONE, "X")},
        {"known prefix differs, new suffix", ins_op(1, 2, ID(1, 1), NONE, "Zqq")},
        {"same ID, different origin left", ins_op(2, 0, ID(1, 1), ID(1, 1), "xy")},
        {"same ID, different origin right", ins_op(2, 0, ID(1, 0), ID(1, 2), "xy")},
        {"insert reusing a delete's ID", ins_op(3, 0, ID(1, 0), NONE, "q")},
        {"delete reusing an insert's ID", del_op(2, 0, ID(1, 0), 1)},
        {"same delete ID, different target", del_op(3, 0, ID(1, 1), 1)},
        {"multi-byte: same cps count, other text", ins_op(2, 0, ID(1, 0), ID(1, 1), "x\xc3\xa9")},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(test_ctx, sizeof test_ctx, "conflict case: %s", cases[i].what);
        observed ob;
        observe(p.d, &ob);
        weft_patchlist pl;
        weft_patchlist_init(&pl);
        int rc = weft_doc_apply(p.d, &cases[i].op, &pl);
        CHECK_RC(rc, WEFT_E_CONFLICT);
        CHECK_RC(oracle_apply(p.o, &cases[i].op), WEFT_E_CONFLICT);
        CHECK_EQ(pl.n, 0);
        weft_patchlist_cleanup(&pl);
        unchanged(p.d, &ob, cases[i].what);
    }
    test_ctx[0] = 0;
    expect_text(p.d, "axyb");
    pair_free(&p);
}

static void test_parking(void)
{
    pair p;
    pair_init(&p);
    /* seq gap */
    APPLY(&p, ins_op(1, 3, ID(1, 2), NONE, "de"), WEFT_PARKED);
    CHECK_EQ(weft_doc_parked(p.d), 1);
    CHECK(weft_doc_parked_bytes(p.d) >= 2);
    expect_text(p.d, "");
    /* missing origin left / right */
    APPLY(&p, ins_op(2, 0, ID(1, 4), NONE, "X"), WEFT_PARKED);
    APPLY(&p, ins_op(3, 0, NONE, ID(1, 0), "Y"), WEFT_PARKED);
    /* missing delete target; a delete waiting for a parked insert */
    APPLY(&p, del_op(4, 0, ID(2, 0), 1), WEFT_PARKED);
    APPLY(&p, del_op(5, 0, ID(1, 3), 2), WEFT_PARKED);
    CHECK_EQ(weft_doc_parked(p.d), 5);
    /* later seq of an agent whose earlier op is parked */
    APPLY(&p, ins_op(4, 1, ID(3, 0), NONE, "Z"), WEFT_PARKED);
    CHECK_EQ(weft_doc_parked(p.d), 6);
    expect_text(p.d, "");
    /* the root arrives: everything cascades in */
    APPLY(&p, ins_op(1, 0, NONE, NONE, "abc"), WEFT_APPLIED);
    CHECK_EQ(weft_doc_parked(p.d), 0);
    CHECK_EQ(weft_doc_parked_bytes(p.d), 0);
    expect_text(p.d, "YZabc");
    /* the same ops in causal order on a fresh doc give the same doc */
    weft_doc *f = weft_doc_new(WEFT_NONE);
    weft_op causal[] = {
        ins_op(1, 0, NONE, NONE, "abc"),   ins_op(1, 3, ID(1, 2), NONE, "de"),
        ins_op(2, 0, ID(1, 4), NONE, "X"), ins_op(3, 0, NONE, ID(1, 0), "Y"),
        del_op(4, 0, ID(2, 0), 1),         del_op(5, 0, ID(1, 3), 2),
        ins_op(4, 1, ID(3, 0), NONE, "Z"),
    };
    for (size_t i = 0; i < sizeof causal / sizeof causal[0]; i++)
        CHECK_RC(weft_doc_apply(f, &causal[i], NULL), WEFT_APPLIED);
    eng_same_docs(p.d, f, "parked vs causal delivery");
    weft_doc_free(f);
    /* a parked op that later arrives again in full is not applied twice */
    APPLY(&p, ins_op(6, 1, ID(6, 0), NONE, "2"), WEFT_PARKED);
    APPLY(&p, ins_op(6, 0, NONE, NONE, "12"), WEFT_APPLIED);
    CHECK_EQ(weft_doc_parked(p.d), 0);
    CHECK_EQ(weft_doc_len(p.d), 7);
    pair_free(&p);
}

/* Typing continues a run without looking the position up; a remote insert
 * landing right after that run must end this, or the next keystroke would
 * claim END as its origin-right and replicas would diverge. */
static void test_typing_after_remote_insert(void)
{
    weft_doc *a = weft_doc_new(1);
    weft_oplist ops;
    weft_oplist_init(&ops);
    CHECK_RC(weft_doc_insert(a, 0, "a", 1, NULL), 0);
    CHECK_RC(weft_doc_insert(a, 1, "b", 1, NULL), 0); /* typing */
    weft_op x = ins_op(2, 0, ID(1, 1), NONE, "X");   /* lands right after "b" */
    CHECK_RC(weft_doc_apply(a, &x, NULL), WEFT_APPLIED);
    CHECK_RC(weft_doc_insert(a, 2, "c", 1, &ops), 0); /* at the old typing spot */
    CHECK_EQ(ops.n, 1);
    CHECK(weft_id_eq(ops.ops[0].ol, ID(1, 1)));
    CHECK(weft_id_eq(ops.ops[0].or, ID(2, 0)));
    expect_text(a, "abcX");
    /* a local delete before the typing spot moves it: typing resumes by lookup */
    weft_oplist_clear(&ops);
    CHECK_RC(weft_doc_insert(a, 3, "d", 1, &ops), 0);
    CHECK_RC(weft_doc_delete(a, 0, 1, NULL), 0);
    CHECK_RC(weft_doc_insert(a, 3, "e", 1, &ops), 0);
    expect_text(a, "bcdeX");
    CHECK_RC(weft_doc_check(a), 0);
    weft_oplist_cleanup(&ops);
    weft_doc_free(a);
}

/* While an op waits for its dependencies, the same op again is kept once,
 * and an op reusing its IDs with other content is a conflict, not dropped
 * silently (the first one would win later without anyone knowing). */
static void test_parked_conflict(void)
{
    weft_doc *d = weft_doc_new(WEFT_NONE);
    weft_op a = ins_op(1, 1, ID(1, 0), NONE, "xy");
    weft_op same = ins_op(1, 1, ID(1, 0), NONE, "xy");
    weft_op other = ins_op(1, 1, ID(1, 0), NONE, "zz");
    weft_op del_a = del_op(2, 0, ID(1, 0), 1), del_b = del_op(2, 0, ID(1, 1), 1);
    CHECK_RC(weft_doc_apply(d, &a, NULL), WEFT_PARKED);
    CHECK_RC(weft_doc_apply(d, &same, NULL), WEFT_PARKED);
    CHECK_EQ(weft_doc_parked(d), 1);
    CHECK_RC(weft_doc_apply(d, &other, NULL), WEFT_E_CONFLICT);
    CHECK_RC(weft_doc_apply(d, &del_a, NULL), WEFT_PARKED);
    CHECK_RC(weft_doc_apply(d, &del_b, NULL), WEFT_E_CONFLICT);
    CHECK_EQ(weft_doc_parked(d), 2);
    weft_op root = ins_op(1, 0, NONE, NONE, "a");
    CHECK_RC(weft_doc_apply(d, &root, NULL), WEFT_APPLIED);
    CHECK_EQ(weft_doc_parked(d), 0);
    expect_text(d, "xy");
    CHECK_RC(weft_doc_check(d), 0);
    weft_doc_free(d);
}

/* Random sessions, ops delivered in uniformly random order (parking)
 * twice over, to a fresh pair: same result as the session's replicas. */
static void test_random_delivery(void)
{
    uint64_t seed = test_seed(17);
    unsigned long iters = test_iters(40);
    for (unsigned long it = 0; it < iters; it++) {
        session s;
        session_init(&s, 3, seed * 7919 + it);
        s.check_each = false;
        s.random_order = false;
        for (int k = 0; k < 60; k++)
            session_step(&s);
        session_converge(&s);
        snprintf(test_ctx, sizeof test_ctx, "random delivery seed=%llu iter=%lu",
                 (unsigned long long)seed, it);
        size_t n = s.pool.n;
        size_t *perm = malloc(2 * n * sizeof *perm);
        CHECK(perm);
        for (size_t k = 0; k < 2 * n; k++)
            perm[k] = k % n;
        for (size_t k = 2 * n; k > 1; k--) {
            size_t j = rng_below(&s.r, (uint32_t)k), t = perm[k - 1];
            perm[k - 1] = perm[j];
            perm[j] = t;
        }
        pair p;
        pair_init(&p);
        for (size_t k = 0; k < 2 * n; k++) {
            const weft_op *op = &s.pool.v[perm[k]];
            weft_patchlist pl;
            weft_patchlist_init(&pl);
            int want = oracle_apply(p.o, op);
            int got = weft_doc_apply(p.d, op, &pl);
            if (got != want) {
                top_print(stderr, op);
                fputc('\n', stderr);
            }
            CHECK_RC(got, want);
            mirror_patches(&p.m, &pl);
            weft_patchlist_cleanup(&pl);
            if (k % 8 == 0)
                pair_check(&p, false);
        }
        pair_check(&p, false);
        CHECK_EQ(weft_doc_parked(p.d), 0);
        eng_same_docs(p.d, s.rep[0].d, "random-order delivery vs session replica");
        pair_free(&p);
        free(perm);
        session_free(&s);
    }
    test_ctx[0] = 0;
}

int main(void)
{
    test_duplicates_and_trim();
    test_conflicts();
    test_parking();
    test_parked_conflict();
    test_typing_after_remote_insert();
    test_random_delivery();
    printf("test_apply: all passed\n");
    return 0;
}
