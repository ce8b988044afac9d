/*
 * test_local_edits.c — the local editing fast paths (issue 2) against the
 * oracle: typing where the last insert ended, backspacing and the delete
 * key moving chars into the tombstone that continues a run, and the
 * deferred inner-node sums of the content tree. Every step compares the
 * canonical runs with the oracle's and runs weft_doc_check; the ops each
 * edit emits must equal the oracle's, and a third replica fed those ops
 * must end up the same.
 */
#include "ops.h"
#include "session.h"

#include <stdlib.h>
#include <string.h>

typedef struct twin {
    rep *e, *o;
} twin;

static weft_doc *doc_of(const twin *t)
{
    return ((eng_rep *)t->e->impl)->d;
}

static void same(twin *t, const char *what)
{
    eng_same_as_oracle(doc_of(t), t->o->impl, what);
    CHECK_OK(weft_doc_check(doc_of(t)));
}

static void last_ops_equal(twin *t)
{
    CHECK_EQ(t->e->own.n, t->o->own.n);
    CHECK(top_equal(&t->e->own.v[t->e->own.n - 1], &t->o->own.v[t->o->own.n - 1]));
}

/* Types s one code point at a time from pos (left to right). */
static uint32_t type(twin *t, uint32_t pos, const char *s, const char *what)
{
    size_t i = 0, n = strlen(s);
    while (i < n) {
        size_t k = 1;
        while (i + k < n && ((unsigned char)s[i + k] & 0xC0) == 0x80)
            k++;
        char c[8] = {0};
        memcpy(c, s + i, k);
        rep_ins(t->e, pos, c);
        rep_ins(t->o, pos, c);
        last_ops_equal(t);
        same(t, what);
        pos++;
        i += k;
    }
    return pos;
}

static void del(twin *t, uint32_t pos, uint32_t len, const char *what)
{
    rep_del(t->e, pos, len);
    rep_del(t->o, pos, len);
    last_ops_equal(t);
    same(t, what);
}

/* n backspaces from cursor pos; returns the new cursor */
static uint32_t backspace(twin *t, uint32_t pos, uint32_t n, const char *what)
{
    for (uint32_t i = 0; i < n; i++)
        del(t, --pos, 1, what);
    return pos;
}

static void sync_to(twin *dst, twin *src, const char *what)
{
    rep_sync(dst->e, src->e);
    rep_sync(dst->o, src->o);
    same(dst, what);
}

static twin twin_new(uint32_t agent)
{
    return (twin){rep_engine_new(agent), rep_oracle_new(agent)};
}

static void twin_free(twin *t)
{
    rep_free(t->e);
    rep_free(t->o);
}

static void test_backspace_runs(void)
{
    twin a = twin_new(1), c = twin_new(3);
    uint32_t cur = type(&a, 0, "hello world", "typing");
    cur = backspace(&a, cur, 1, "first backspace after typing");
    cur = backspace(&a, cur, 4, "backspace chain");
    REP_EXPECT(a.e, "hello ");
    cur = type(&a, cur, "there", "typing after backspacing");
    cur = backspace(&a, cur, 2, "backspace the new run");
    /* a run typed earlier, elsewhere: backspacing crosses run boundaries */
    type(&a, 0, "XY", "insert at 0");
    cur += 2;
    cur = backspace(&a, cur, 9, "backspace across runs");
    REP_EXPECT(a.e, "XY");
    cur = backspace(&a, cur, 2, "backspace to position 0");
    CHECK_EQ(cur, 0);
    CHECK_EQ(weft_doc_len(doc_of(&a)), 0);
    type(&a, 0, "abcdef", "typing into an empty doc full of tombstones");
    del(&a, 0, 1, "delete key at 0");
    del(&a, 0, 1, "delete key again");
    del(&a, 2, 1, "delete key in the middle");
    del(&a, 2, 1, "delete key chain");
    REP_EXPECT(a.e, "cd");
    del(&a, 1, 1, "delete the last char");
    del(&a, 0, 1, "delete the only char left");
    sync_to(&c, &a, "a third replica gets the same");
    twin_free(&a);
    twin_free(&c);
}

/* Remote ops that land next to the cursor must stop the fast paths. */
static void test_remote_next_to_cursor(void)
{
    twin a = twin_new(1), b = twin_new(2);
    uint32_t cur = type(&a, 0, "abcdef", "typing");
    sync_to(&b, &a, "b gets a's text");
    type(&b, 6, "Z", "b types right after a's cursor");
    sync_to(&a, &b, "a gets Z next to its cursor");
    cur = type(&a, cur, "gh", "a keeps typing before Z");
    REP_EXPECT(a.e, "abcdefghZ");
    cur = backspace(&a, cur, 3, "a backspaces next to Z");
    type(&b, 0, "Q", "b types at 0");
    del(&b, 5, 1, "b deletes a char a is about to backspace over");
    sync_to(&a, &b, "a gets b's edits");
    /* Q arrived before a's cursor and 'e' before it went: it stays at 5 */
    cur = backspace(&a, cur, 2, "a backspaces across b's tombstone");
    sync_to(&b, &a, "b gets a's backspaces");
    eng_same_docs(doc_of(&a), doc_of(&b), "converged");
    /* a remote insert inside the run a is backspacing */
    cur = type(&a, weft_doc_len(doc_of(&a)), "ijklmn", "a types at the end");
    cur = backspace(&a, cur, 2, "a backspaces");
    sync_to(&b, &a, "b syncs");
    type(&b, cur - 2, "R", "b types inside a's run");
    sync_to(&a, &b, "a gets R");
    cur = backspace(&a, cur + 1, 4, "a backspaces over R");
    sync_to(&b, &a, "b syncs again");
    eng_same_docs(doc_of(&a), doc_of(&b), "converged again");
    twin_free(&a);
    twin_free(&b);
}

/* Multi-byte chars: lengths in code points and UTF-16 units stay exact. */
static void test_unicode(void)
{
    twin a = twin_new(1), c = twin_new(3);
    const char *s = "h\xc3\xa9llo w\xc3\xb6rld \xf0\x9f\x98\x80!"; /* héllo wörld 😀! */
    uint32_t cur = type(&a, 0, s, "typing multi-byte chars");
    CHECK_EQ(weft_doc_len(doc_of(&a)), 14);
    CHECK_EQ(weft_doc_len16(doc_of(&a)), 15);
    cur = backspace(&a, cur, 1, "backspace '!'");
    cur = backspace(&a, cur, 1, "backspace the emoji");
    CHECK_EQ(weft_doc_len16(doc_of(&a)), 12);
    cur = backspace(&a, cur, 5, "backspace across ascii and o-umlaut");
    CHECK_EQ(weft_doc_len(doc_of(&a)), 7);
    CHECK_EQ(weft_doc_len16(doc_of(&a)), 7);
    cur = type(&a, cur, "\xf0\x9f\x8e\x89x", "typing an emoji after backspacing");
    CHECK_EQ(weft_doc_len(doc_of(&a)), 9);
    CHECK_EQ(weft_doc_len16(doc_of(&a)), 10);
    del(&a, 1, 1, "delete key on e-acute");
    del(&a, 1, 1, "delete key chain after a multi-byte char");
    cur -= 2;
    cur = backspace(&a, cur, 2, "backspace x and the emoji");
    CHECK_EQ(weft_doc_len(doc_of(&a)), 5);
    CHECK_EQ(weft_doc_len16(doc_of(&a)), 5);
    REP_EXPECT(a.e, "hlo w");
    sync_to(&c, &a, "a third replica");
    CHECK_EQ(weft_doc_len16(doc_of(&c)), 5);
    twin_free(&a);
    twin_free(&c);
}

/* Several edits into one op list: typed chars merge into one op; the list
 * replayed on a fresh replica gives the same document. */
static void test_oplist(void)
{
    weft_doc *d = weft_doc_new(1), *r = weft_doc_new(WEFT_NONE);
    weft_oplist l;
    weft_oplist_init(&l);
    static const char typed[] = "abcdefghijklmnopqrstuvwxyz0123456789ABCD";
    for (int i = 0; i < 40; i++)
        CHECK_OK(weft_doc_insert(d, (uint32_t)i, &typed[i], 1, &l));
    CHECK_EQ(l.n, 1);
    CHECK_EQ(l.ops[0].len, 40);
    CHECK_OK(weft_doc_delete(d, 39, 1, &l));
    CHECK_OK(weft_doc_delete(d, 38, 1, &l));
    CHECK_OK(weft_doc_insert(d, 38, "x", 1, &l));
    CHECK_OK(weft_doc_insert(d, 39, "y", 1, &l));
    CHECK_OK(weft_doc_insert(d, 0, "z", 1, &l));
    CHECK_OK(weft_doc_insert(d, 1, "w", 1, &l));
    for (size_t i = 0; i < l.n; i++)
        CHECK_RC(weft_doc_apply(r, &l.ops[i], NULL), WEFT_APPLIED);
    CHECK_OK(weft_doc_check(r));
    eng_same_docs(d, r, "op list replayed");
    weft_buf b;
    weft_buf_init(&b);
    CHECK_OK(weft_doc_text(r, &b));
    CHECK(test_str_eq(b.p, b.n, "zwabcdefghijklmnopqrstuvwxyz0123456789ABxy"));
    weft_buf_cleanup(&b);
    weft_oplist_cleanup(&l);
    weft_doc_free(d);
    weft_doc_free(r);
}

/* An editor's cursor walk: mostly typing, runs of backspaces and delete
 * keys, jumps, multi-byte chars, and now and then a peer's edit arriving.
 * Grows the tree past a few levels so the deferred sums cross leaves. */
static void test_cursor_walk(void)
{
    uint64_t seed = test_seed(2);
    rng g;
    rng_seed(&g, seed);
    twin a = twin_new(1), b = twin_new(2);
    static const char *chars[] = {"a", "b", " ", "e", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80"};
    uint32_t cur = 0;
    unsigned long steps = test_iters(2500);
    for (unsigned long k = 0; k < steps; k++) {
        snprintf(test_ctx, sizeof test_ctx, "cursor walk seed=%llu step=%lu",
                 (unsigned long long)seed, k);
        uint32_t len = weft_doc_len(doc_of(&a));
        uint32_t act = rng_below(&g, 100);
        if (act < 55 || len == 0) {
            const char *c = chars[rng_chance(&g, 1, 6) ? rng_below(&g, 7) : rng_below(&g, 2)];
            cur = type(&a, cur, c, "walk: type");
        } else if (act < 75 && cur > 0) {
            uint32_t n = 1 + rng_below(&g, 6);
            cur = backspace(&a, cur, n < cur ? n : cur, "walk: backspaces");
        } else if (act < 85 && cur < len) {
            uint32_t n = 1 + rng_below(&g, 4);
            for (uint32_t i = 0; i < n && cur < weft_doc_len(doc_of(&a)); i++)
                del(&a, cur, 1, "walk: delete key");
        } else if (act < 88 && cur < len) {
            uint32_t n = 1 + rng_below(&g, len - cur);
            del(&a, cur, n > 5 ? 5 : n, "walk: selection delete");
        } else if (act < 96) {
            cur = rng_below(&g, len + 1);
        } else {
            /* a peer edits near the cursor, then both sync */
            sync_to(&b, &a, "walk: peer syncs");
            uint32_t bl = weft_doc_len(doc_of(&b));
            uint32_t at = cur + rng_below(&g, 3);
            at = at > 1 ? at - 1 : 0;
            if (at > bl)
                at = bl;
            if (rng_chance(&g, 1, 2) || at == bl) {
                rep_ins(b.e, at, "P");
                rep_ins(b.o, at, "P");
                if (at < cur)
                    cur++;
            } else {
                rep_del(b.e, at, 1);
                rep_del(b.o, at, 1);
                if (at < cur)
                    cur--;
            }
            sync_to(&a, &b, "walk: peer's edit arrives");
        }
        if (cur > weft_doc_len(doc_of(&a)))
            cur = weft_doc_len(doc_of(&a));
    }
    sync_to(&b, &a, "walk: final sync");
    eng_same_docs(doc_of(&a), doc_of(&b), "walk: converged");
    twin_free(&a);
    twin_free(&b);
}

int main(void)
{
    test_backspace_runs();
    test_remote_next_to_cursor();
    test_unicode();
    test_oplist();
    test_cursor_walk();
    printf("test_local_edits: all passed\n");
    return 0;
}
