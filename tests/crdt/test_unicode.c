/*
 * test_unicode.c — brief §10 scenario 25 (engine part; presence lives in
 * the server): astral chars (emoji) are one code point and never split;
 * UTF-16 lengths and conversions (weft_doc_len16, weft_doc_pos16,
 * weft_doc_pos_from16, inside a surrogate pair => WEFT_E_RANGE); invalid
 * UTF-8, CESU-8 surrogates and overlongs are rejected with WEFT_E_UTF8 /
 * WEFT_E_SURROGATE, locally and remotely, and nothing changes.
 */
#include "eng.h"
#include "ops.h"

#include <stdlib.h>

static void expect_text(const weft_doc *d, const char *want)
{
    sbuf t;
    sbuf_init(&t);
    eng_text(d, &t);
    CHECK_STR(t.p, t.n, want);
    sbuf_free(&t);
}

static void test_counts(void)
{
    weft_doc *d = weft_doc_new(1);
    const char *s = "a😀b€中\xF0\x90\x8D\x88z"; /* a 😀 b € 中 𐍈 z */
    weft_oplist l;
    weft_oplist_init(&l);
    CHECK_OK(weft_doc_insert(d, 0, s, strlen(s), &l));
    CHECK_EQ(l.n, 1);
    CHECK_EQ(l.ops[0].len, 7);
    CHECK_EQ(l.ops[0].bytes, strlen(s));
    CHECK_EQ(weft_doc_len(d), 7);
    CHECK_EQ(weft_doc_len16(d), 9);
    CHECK_EQ(weft_doc_bytes(d), strlen(s));
    CHECK_EQ(weft_doc_next_seq(d, 1), 7);
    static const uint32_t p16[] = {0, 1, 3, 4, 5, 6, 8, 9};
    for (uint32_t p = 0; p <= 7; p++) {
        uint32_t u = 999, back = 999;
        CHECK_OK(weft_doc_pos16(d, p, &u));
        CHECK_EQ(u, p16[p]);
        CHECK_OK(weft_doc_pos_from16(d, u, &back));
        CHECK_EQ(back, p);
    }
    uint32_t x;
    CHECK_RC(weft_doc_pos_from16(d, 2, &x), WEFT_E_RANGE); /* inside 😀 */
    CHECK_RC(weft_doc_pos_from16(d, 7, &x), WEFT_E_RANGE); /* inside 𐍈 */
    CHECK_RC(weft_doc_pos_from16(d, 10, &x), WEFT_E_RANGE);
    CHECK_RC(weft_doc_pos16(d, 8, &x), WEFT_E_RANGE);

    /* the emoji is deleted whole, never split */
    CHECK_OK(weft_doc_delete(d, 1, 1, &l));
    expect_text(d, "ab€中\xF0\x90\x8D\x88z");
    CHECK_EQ(weft_doc_len16(d), 7);
    /* insert right after an astral char */
    CHECK_OK(weft_doc_insert(d, 5, "👍", 4, &l));
    expect_text(d, "ab€中\xF0\x90\x8D\x88👍z");
    CHECK_EQ(weft_doc_len16(d), 9);
    weft_id id;
    CHECK_OK(weft_doc_id_at(d, 5, &id));
    CHECK(id.agent == 1 && id.seq == 8); /* 7 inserted + 1 deleted */

    /* remote astral text: len counts code points */
    weft_doc *r = weft_doc_new(WEFT_NONE);
    mirror m;
    mirror_init(&m);
    for (size_t i = 0; i < l.n; i++) {
        weft_patchlist pl;
        weft_patchlist_init(&pl);
        CHECK_RC(weft_doc_apply(r, &l.ops[i], &pl), WEFT_APPLIED);
        mirror_patches(&m, &pl);
        mirror_same(&m, r, "remote astral");
        weft_patchlist_cleanup(&pl);
    }
    eng_same_docs(d, r, "remote copy");
    /* NUL is a valid code point when the length is given */
    CHECK_OK(weft_doc_insert(d, 0, "x\0y", 3, NULL));
    CHECK_EQ(weft_doc_len(d), 10);
    mirror_free(&m);
    weft_oplist_cleanup(&l);
    weft_doc_free(r);
    weft_doc_free(d);
}

static const struct {
    const char *what, *bytes;
    size_t n;
    int err;
} bad[] = {
    {"overlong NUL", "\xC0\x80", 2, WEFT_E_UTF8},
    {"overlong '/'", "\xC0\xAF", 2, WEFT_E_UTF8},
    {"overlong 3-byte", "\xE0\x80\xAF", 3, WEFT_E_UTF8},
    {"overlong 4-byte", "\xF0\x80\x80\xAF", 4, WEFT_E_UTF8},
    {"CESU U+D800", "\xED\xA0\x80", 3, WEFT_E_SURROGATE},
    {"CESU U+DFFF", "\xED\xBF\xBF", 3, WEFT_E_SURROGATE},
    {"CESU-encoded emoji", "\xED\xA0\xBD\xED\xB8\x80", 6, WEFT_E_SURROGATE},
    {"above U+10FFFF", "\xF4\x90\x80\x80", 4, WEFT_E_UTF8},
    {"F5 lead byte", "\xF5\x80\x80\x80", 4, WEFT_E_UTF8},
    {"lone continuation", "a\x80", 2, WEFT_E_UTF8},
    {"truncated 3-byte", "ab\xE2\x82", 4, WEFT_E_UTF8},
    {"truncated 4-byte", "\xF0\x9F\x98", 3, WEFT_E_UTF8},
    {"bad continuation", "\xE2\x28\xA1", 3, WEFT_E_UTF8},
    {"0xFF", "\xFF", 1, WEFT_E_UTF8},
    {"0xFE", "x\xFE", 2, WEFT_E_UTF8},
};

static void test_invalid(void)
{
    weft_doc *d = weft_doc_new(1);
    CHECK_OK(weft_doc_insert(d, 0, "ok😀", 6, NULL));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(test_ctx, sizeof test_ctx, "invalid text: %s", bad[i].what);
        uint32_t cps, u16;
        CHECK_RC(weft_utf8_count(bad[i].bytes, bad[i].n, &cps, &u16), bad[i].err);
        /* local */
        size_t runs = weft_doc_run_count(d);
        weft_oplist l;
        weft_oplist_init(&l);
        CHECK_RC(weft_doc_insert(d, 1, bad[i].bytes, bad[i].n, &l), bad[i].err);
        CHECK_EQ(l.n, 0);
        weft_oplist_cleanup(&l);
        expect_text(d, "ok😀");
        CHECK_EQ(weft_doc_next_seq(d, 1), 3);
        CHECK_EQ(weft_doc_run_count(d), runs);
        CHECK_OK(weft_doc_check(d));
        /* remote, with len = anything plausible */
        for (uint32_t len = 1; len <= 2; len++) {
            weft_op op = ins_op(2, 0, ID(1, 0), ID(1, 1), "");
            op.text = bad[i].bytes;
            op.bytes = (uint32_t)bad[i].n;
            op.len = len;
            weft_patchlist pl;
            weft_patchlist_init(&pl);
            int rc = weft_doc_apply(d, &op, &pl);
            CHECK_MSG(rc == bad[i].err, "remote apply returned %d (%s), want %s", rc,
                      test_errname(rc), test_errname(bad[i].err));
            CHECK_EQ(pl.n, 0);
            weft_patchlist_cleanup(&pl);
            CHECK_EQ(weft_doc_parked(d), 0);
            CHECK_EQ(weft_doc_next_seq(d, 2), 0);
            expect_text(d, "ok😀");
        }
    }
    test_ctx[0] = 0;
    /* valid UTF-8 counts */
    uint32_t cps, u16;
    CHECK_OK(weft_utf8_count("", 0, &cps, &u16));
    CHECK(cps == 0 && u16 == 0);
    CHECK_OK(
        weft_utf8_count("a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\xF4\x8F\xBF\xBF", 14, &cps, &u16));
    CHECK(cps == 5 && u16 == 7);
    CHECK_OK(weft_utf8_count("\xEF\xBF\xBF\xED\x9F\xBF\xEE\x80\x80", 9, &cps,
                             &u16)); /* U+FFFF U+D7FF U+E000 */
    CHECK(cps == 3 && u16 == 3);
    /* remote text whose code point count disagrees with len */
    weft_op op = ins_op(2, 0, ID(1, 0), ID(1, 1), "😀😀");
    op.len = 8; /* bytes, not code points */
    CHECK(weft_doc_apply(d, &op, NULL) < 0);
    op.len = 1;
    CHECK(weft_doc_apply(d, &op, NULL) < 0);
    expect_text(d, "ok😀");
    CHECK_OK(weft_doc_check(d));
    weft_doc_free(d);
}

int main(void)
{
    test_counts();
    test_invalid();
    printf("test_unicode: all passed\n");
    return 0;
}
