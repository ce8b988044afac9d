/* test_token.c — tokens: round trip, every byte tampered, wrong key,
 * expiry, patterns, malformed and signed-but-malformed payloads; base64
 * strictness and time parsing underneath. */
#include "tools_int.h"
#include "tutil.h"

#include <unistd.h>

static const uint8_t KEY[] = "0123456789abcdef0123456789abcdef";
#define KEYLEN 32

static weft_token tok(const char *user, const char *doc, bool write, uint64_t exp)
{
    weft_token t;
    memset(&t, 0, sizeof t);
    strcpy(t.user, user);
    strcpy(t.doc, doc);
    t.write = write;
    t.exp = exp;
    return t;
}

static void test_round_trip(void)
{
    char s[WEFT_TOKEN_MAX];
    weft_token in = tok("alice", "team/*", true, 2000000000), out;
    CHECK(weft_token_mint(KEY, KEYLEN, &in, s, sizeof s) == 0);
    CHECK(strchr(s, '.') && !strchr(s, '=') && !strchr(s, '+') && !strchr(s, '/'));
    CHECK(weft_token_verify(KEY, KEYLEN, s, 1900000000, &out) == 0);
    CHECK_STR(out.user, "alice");
    CHECK_STR(out.doc, "team/*");
    CHECK(out.write && out.exp == 2000000000);
    /* the longest fields fit in WEFT_TOKEN_MAX */
    char u[64], d[128];
    memset(u, 'u', 63);
    u[63] = 0;
    memset(d, 'd', 127);
    d[127] = 0;
    in = tok(u, d, false, UINT64_MAX);
    CHECK(weft_token_mint(KEY, KEYLEN, &in, s, sizeof s) == 0);
    CHECK(strlen(s) < WEFT_TOKEN_MAX);
    CHECK(weft_token_verify(KEY, KEYLEN, s, 5, &out) == 0);
    CHECK_STR(out.user, u);
    CHECK_STR(out.doc, d);
    CHECK(!out.write && out.exp == UINT64_MAX);
    /* non-ASCII */
    in = tok("J\xc3\xbcrgen \xe6\x97\xa5", "caf\xc3\xa9", true, 0);
    CHECK(weft_token_mint(KEY, KEYLEN, &in, s, sizeof s) == 0);
    CHECK(weft_token_verify(KEY, KEYLEN, s, 5, &out) == 0);
    CHECK_STR(out.user, in.user);
    /* a small buffer */
    CHECK(weft_token_mint(KEY, KEYLEN, &in, s, 20) == WEFT_TOOLS_E_TOOBIG);
}

static void test_tamper(void)
{
    char s[WEFT_TOKEN_MAX], t[WEFT_TOKEN_MAX];
    weft_token in = tok("bob", "notes", true, 0), out;
    CHECK(weft_token_mint(KEY, KEYLEN, &in, s, sizeof s) == 0);
    size_t n = strlen(s);
    static const unsigned char masks[] = {0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80};
    for (size_t i = 0; i < n; i++) {
        for (size_t m = 0; m < sizeof masks; m++) {
            strcpy(t, s);
            t[i] = (char)(t[i] ^ masks[m]);
            if (t[i] == 0)
                continue;
            int rc = weft_token_verify(KEY, KEYLEN, t, 0, &out);
            if (rc != WEFT_TOOLS_E_TOKEN) {
                fprintf(stderr, "byte %zu mask %02x: %d\n", i, masks[m], rc);
                exit(1);
            }
        }
        strcpy(t, s); /* truncated */
        t[i] = 0;
        CHECK(weft_token_verify(KEY, KEYLEN, t, 0, &out) == WEFT_TOOLS_E_TOKEN);
    }
    strcpy(t, s); /* extended */
    strcat(t, "A");
    CHECK(weft_token_verify(KEY, KEYLEN, t, 0, &out) == WEFT_TOOLS_E_TOKEN);
    uint8_t other[KEYLEN];
    memcpy(other, KEY, KEYLEN);
    other[31] ^= 1;
    CHECK(weft_token_verify(other, KEYLEN, s, 0, &out) == WEFT_TOOLS_E_TOKEN);
    CHECK(weft_token_verify(KEY, KEYLEN - 1, s, 0, &out) == WEFT_TOOLS_E_TOKEN);
    CHECK(weft_token_verify(KEY, 0, s, 0, &out) == WEFT_TOOLS_E_INVAL);
    CHECK(weft_token_verify(NULL, KEYLEN, s, 0, &out) == WEFT_TOOLS_E_INVAL);
}

static void test_expiry(void)
{
    char s[WEFT_TOKEN_MAX];
    weft_token in = tok("carol", "d", true, 1000), out;
    CHECK(weft_token_mint(KEY, KEYLEN, &in, s, sizeof s) == 0);
    CHECK(weft_token_verify(KEY, KEYLEN, s, 999, &out) == 0);
    CHECK(weft_token_verify(KEY, KEYLEN, s, 1000, &out) == WEFT_TOOLS_E_EXPIRED);
    CHECK_STR(out.user, "carol"); /* filled, so the server can say who */
    CHECK(weft_token_verify(KEY, KEYLEN, s, UINT64_MAX, &out) == WEFT_TOOLS_E_EXPIRED);
    in.exp = 0;
    CHECK(weft_token_mint(KEY, KEYLEN, &in, s, sizeof s) == 0);
    CHECK(weft_token_verify(KEY, KEYLEN, s, UINT64_MAX, &out) == 0);
}

static void test_patterns(void)
{
    weft_token t = tok("u", "notes", true, 0);
    CHECK(weft_token_allows(&t, "notes"));
    CHECK(!weft_token_allows(&t, "notes2"));
    CHECK(!weft_token_allows(&t, "note"));
    CHECK(!weft_token_allows(&t, ""));
    CHECK(!weft_token_allows(&t, NULL));
    t = tok("u", "team/*", true, 0);
    CHECK(weft_token_allows(&t, "team/"));
    CHECK(weft_token_allows(&t, "team/a/b"));
    CHECK(!weft_token_allows(&t, "team"));
    CHECK(!weft_token_allows(&t, "teams/x"));
    t = tok("u", "*", true, 0);
    CHECK(weft_token_allows(&t, "anything"));
    CHECK(weft_token_allows(&t, ""));
    t = tok("u", "a*b", true, 0); /* '*' only matters at the end */
    CHECK(weft_token_allows(&t, "a*b"));
    CHECK(!weft_token_allows(&t, "axb"));
    CHECK(!weft_token_allows(NULL, "x"));
    memset(t.doc, 'x', sizeof t.doc); /* not NUL-terminated: grants nothing */
    CHECK(!weft_token_allows(&t, "x"));
}

static void test_mint_rejects(void)
{
    char s[WEFT_TOKEN_MAX];
    static const char *const bad[] = {"",     "a\nb",         "tab\there", "del\x7f",
                                      "\xc3", "\xed\xa0\x80", "\xc0\xaf"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        weft_token t = tok(bad[i], "doc", true, 0);
        CHECK(weft_token_mint(KEY, KEYLEN, &t, s, sizeof s) == WEFT_TOOLS_E_INVAL);
        t = tok("user", bad[i], true, 0);
        CHECK(weft_token_mint(KEY, KEYLEN, &t, s, sizeof s) == WEFT_TOOLS_E_INVAL);
    }
    weft_token t = tok("u", "d", true, 0);
    memset(t.user, 'x', sizeof t.user); /* no NUL */
    CHECK(weft_token_mint(KEY, KEYLEN, &t, s, sizeof s) == WEFT_TOOLS_E_INVAL);
    t = tok("u", "d", true, 0);
    CHECK(weft_token_mint(KEY, 0, &t, s, sizeof s) == WEFT_TOOLS_E_INVAL);
    uint8_t big[WEFT_TOKEN_KEY_MAX + 1] = {0};
    CHECK(weft_token_mint(big, sizeof big, &t, s, sizeof s) == WEFT_TOOLS_E_INVAL);
}

static void test_verify_rejects(void)
{
    weft_token out;
    static const char *const bad[] = {
        "",
        ".",
        "abc",
        "abc.",
        ".abc",
        "a.b.c",
        "MQ.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "MQ==.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "M Q.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(weft_token_verify(KEY, KEYLEN, bad[i], 0, &out) == WEFT_TOOLS_E_TOKEN);
    CHECK(weft_token_verify(KEY, KEYLEN, NULL, 0, &out) == WEFT_TOOLS_E_TOKEN);
    char *huge = malloc(100000);
    memset(huge, 'A', 99999);
    huge[99999] = 0;
    huge[10] = '.';
    CHECK(weft_token_verify(KEY, KEYLEN, huge, 0, &out) == WEFT_TOOLS_E_TOKEN);
    free(huge);
    /* correctly signed payloads that are not well formed */
    static const char *const payloads[] = {
        "",
        "1",
        "1\nu\nd\nrw",
        "1\nu\nd\nrw\n0\n",
        "1\nu\nd\nrw\n0\nextra",
        "2\nu\nd\nrw\n0",
        "1\n\nd\nrw\n0",
        "1\nu\n\nrw\n0",
        "1\nu\nd\nw\n0",
        "1\nu\nd\nRW\n0",
        "1\nu\nd\nrw\n",
        "1\nu\nd\nrw\n01",
        "1\nu\nd\nrw\n+1",
        "1\nu\nd\nrw\n-1",
        "1\nu\nd\nrw\n18446744073709551616",
        "1\nu\nd\nrw\n1 ",
        "1\nu\x01\nd\nrw\n0",
        "1\nu\xff\nd\nrw\n0",
        "1\nuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuu\nd\nrw\n0",
    };
    char s[WEFT_TOKEN_MAX];
    for (size_t i = 0; i < sizeof payloads / sizeof payloads[0]; i++) {
        const char *p = payloads[i];
        CHECK(tools__token_sign(KEY, KEYLEN, (const uint8_t *)p, strlen(p), s, sizeof s) == 0);
        int rc = weft_token_verify(KEY, KEYLEN, s, 0, &out);
        if (rc != WEFT_TOOLS_E_TOKEN) {
            fprintf(stderr, "payload %zu accepted (%d)\n", i, rc);
            exit(1);
        }
    }
    const char *ok = "1\nu\nd\nrw\n18446744073709551615";
    CHECK(tools__token_sign(KEY, KEYLEN, (const uint8_t *)ok, strlen(ok), s, sizeof s) == 0);
    CHECK(weft_token_verify(KEY, KEYLEN, s, 0, &out) == 0);
    CHECK(out.exp == UINT64_MAX);
}

static void test_key_load(void)
{
    char path[] = "/tmp/weft-key-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("s3cret \n\r\n", f);
    fclose(f);
    uint8_t key[64];
    size_t n;
    CHECK(weft_token_key_load(path, key, sizeof key, &n) == 0);
    CHECK(n == 6 && memcmp(key, "s3cret", 6) == 0);
    CHECK(weft_token_key_load(path, key, 4, &n) == WEFT_TOOLS_E_TOOBIG);
    f = fopen(path, "w");
    fputs("\n", f);
    fclose(f);
    CHECK(weft_token_key_load(path, key, sizeof key, &n) == WEFT_TOOLS_E_INVAL);
    unlink(path);
    CHECK(weft_token_key_load(path, key, sizeof key, &n) == WEFT_TOOLS_E_IO);
}

static void test_b64(void)
{
    uint8_t in[64], out[64];
    char s[128];
    for (size_t n = 0; n < 40; n++) {
        for (size_t i = 0; i < n; i++)
            in[i] = (uint8_t)(i * 37 + n);
        for (int url = 0; url < 2; url++) {
            tools__b64_encode(in, n, url, s);
            CHECK(strlen(s) == tools__b64_len(n, url));
            size_t got;
            CHECK(tools__b64_decode(s, strlen(s), url, out, sizeof out, &got) == 0);
            CHECK(got == n && memcmp(in, out, n) == 0);
        }
    }
    size_t got;
    CHECK(tools__b64_decode("QR", 2, true, out, sizeof out, &got) == -1);   /* trailing bits */
    CHECK(tools__b64_decode("QQ", 2, true, out, sizeof out, &got) == 0);    /* "A" */
    CHECK(tools__b64_decode("QQ==", 4, true, out, sizeof out, &got) == -1); /* padding in url */
    CHECK(tools__b64_decode("QQ", 2, false, out, sizeof out, &got) == -1);  /* std needs it */
    CHECK(tools__b64_decode("QQ==", 4, false, out, sizeof out, &got) == 0);
    CHECK(tools__b64_decode("QQ=A", 4, false, out, sizeof out, &got) == -1);
    CHECK(tools__b64_decode("Q", 1, true, out, sizeof out, &got) == -1);
    CHECK(tools__b64_decode("QUJD", 4, false, out, 2, &got) == -1); /* no room */
}

static void test_time(void)
{
    int64_t ms;
    CHECK(tools__time_parse("1700000000", &ms) == 0 && ms == 1700000000000);
    CHECK(tools__time_parse("2026-11-21T10:00:00Z", &ms) == 0 && ms == 1795255200000);
    CHECK(tools__time_parse("2026-11-21T10:00:00.25Z", &ms) == 0 && ms == 1795255200250);
    CHECK(tools__time_parse("1970-01-01T00:00:00Z", &ms) == 0 && ms == 0);
    CHECK(tools__time_parse("2024-02-29T00:00:00Z", &ms) == 0);
    CHECK(tools__time_parse("2023-02-29T00:00:00Z", &ms) == -1);
    CHECK(tools__time_parse("2026-11-21 10:00:00Z", &ms) == -1);
    CHECK(tools__time_parse("2026-11-21T10:00:00+01:00", &ms) == -1);
    CHECK(tools__time_parse("2026-13-01T00:00:00Z", &ms) == -1);
    CHECK(tools__time_parse("-5", &ms) == -1);
    CHECK(tools__time_parse("", &ms) == -1);
    char buf[40];
    tools__time_format(1795255200250, buf, sizeof buf);
    CHECK_STR(buf, "2026-11-21T10:00:00.250Z");
    tools__time_format(0, buf, sizeof buf);
    CHECK_STR(buf, "1970-01-01T00:00:00.000Z");
    uint64_t v;
    CHECK(tools__parse_u64("0", 1, 10, &v) == 0 && v == 0);
    CHECK(tools__parse_u64("10", 2, 10, &v) == 0 && v == 10);
    CHECK(tools__parse_u64("11", 2, 10, &v) == -1);
    CHECK(tools__parse_u64("00", 2, 10, &v) == -1);
    CHECK(tools__parse_u64("9", 1, 8, &v) == -1);
    CHECK(tools__parse_u64("18446744073709551615", 20, UINT64_MAX, &v) == 0 && v == UINT64_MAX);
    CHECK(tools__parse_u64("18446744073709551616", 20, UINT64_MAX, &v) == -1);
}

static void test_json(void)
{
    weft_buf b;
    weft_buf_init(&b);
    CHECK(tools__json_str(&b, "a\"b\\c\n\x01\xe2\x80\xa8\xff\xc3\xa9", 13) == 0);
    CHECK_STR(b.p, "\"a\\\"b\\\\c\\n\\u0001\\u2028\xef\xbf\xbd\xc3\xa9\"");
    weft_buf_cleanup(&b);
}

int main(void)
{
    test_round_trip();
    test_tamper();
    test_expiry();
    test_patterns();
    test_mint_rejects();
    test_verify_rejects();
    test_key_load();
    test_b64();
    test_time();
    test_json();
    printf("tools token: ok\n");
    return 0;
}
