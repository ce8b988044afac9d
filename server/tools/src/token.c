/* token.c — HMAC-SHA256 access tokens (docs/api.md, "Tokens").
 *
 *   token   = base64url(payload) "." base64url(HMAC-SHA256(key, base64url(payload)))
 *   payload = "1" LF user LF doc LF ("rw" | "r") LF exp
 *
 * The MAC covers the payload's encoded form, so nothing is parsed before the
 * signature checks out. Both parts are base64url without padding and must
 * be the canonical encoding; exp is strict decimal Unix seconds (0 = never).
 * user and doc are valid UTF-8 without control characters, so LF cannot
 * appear inside a field and the split is unambiguous.
 */
#include "tools_int.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>

#define MAC_LEN 32
#define PAYLOAD_MAX 256 /* "1\n" 63 "\n" 127 "\n" "rw" "\n" 20 digits = 217 */

static bool key_ok(const uint8_t *key, size_t keylen)
{
    return key && keylen >= 1 && keylen <= WEFT_TOKEN_KEY_MAX;
}

/* A field: 1 .. max-1 bytes of UTF-8, no control characters. */
static bool field_ok(const char *s, size_t n, size_t max)
{
    if (n == 0 || n >= max)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return false;
    }
    uint32_t cps, u16;
    return weft_utf8_count(s, n, &cps, &u16) == 0;
}

static int mac(const uint8_t *key, size_t keylen, const char *msg, size_t n, uint8_t out[MAC_LEN])
{
    unsigned int len = 0;
    if (!HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)msg, n, out, &len) ||
        len != MAC_LEN)
        return WEFT_TOOLS_E_NOMEM;
    return 0;
}

/* Signs raw payload bytes (no checks on their content): the fuzzer uses it
 * to reach the payload parser. */
int tools__token_sign(const uint8_t *key, size_t keylen, const uint8_t *payload, size_t n,
                      char *out, size_t cap)
{
    if (!key_ok(key, keylen))
        return WEFT_TOOLS_E_INVAL;
    size_t p64 = tools__b64_len(n, true), m64 = tools__b64_len(MAC_LEN, true);
    if (p64 + 1 + m64 + 1 > cap)
        return WEFT_TOOLS_E_TOOBIG;
    tools__b64_encode(payload, n, true, out);
    uint8_t m[MAC_LEN];
    int rc = mac(key, keylen, out, p64, m);
    if (rc)
        return rc;
    out[p64] = '.';
    tools__b64_encode(m, MAC_LEN, true, out + p64 + 1);
    return 0;
}

int weft_token_mint(const uint8_t *key, size_t keylen, const weft_token *t, char *out, size_t cap)
{
    if (!t || !out || !key_ok(key, keylen))
        return WEFT_TOOLS_E_INVAL;
    size_t ul = strnlen(t->user, sizeof t->user), dl = strnlen(t->doc, sizeof t->doc);
    if (!field_ok(t->user, ul, sizeof t->user) || !field_ok(t->doc, dl, sizeof t->doc))
        return WEFT_TOOLS_E_INVAL;
    char payload[PAYLOAD_MAX];
    int n = snprintf(payload, sizeof payload, "1\n%s\n%s\n%s\n%llu", t->user, t->doc,
                     t->write ? "rw" : "r", (unsigned long long)t->exp);
    if (n < 0 || (size_t)n >= sizeof payload)
        return WEFT_TOOLS_E_INVAL;
    return tools__token_sign(key, keylen, (const uint8_t *)payload, (size_t)n, out, cap);
}

/* Splits p[0..n) at LF into exactly `want` fields. */
static int split(const char *p, size_t n, const char **f, size_t *fl, size_t want)
{
    size_t k = 0, start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || p[i] == '\n') {
            if (k == want)
                return -1;
            f[k] = p + start;
            fl[k++] = i - start;
            start = i + 1;
        }
    }
    return k == want ? 0 : -1;
}

static int parse_payload(const char *p, size_t n, weft_token *out)
{
    const char *f[5];
    size_t fl[5];
    if (split(p, n, f, fl, 5) || fl[0] != 1 || f[0][0] != '1')
        return WEFT_TOOLS_E_TOKEN;
    if (!field_ok(f[1], fl[1], sizeof out->user) || !field_ok(f[2], fl[2], sizeof out->doc))
        return WEFT_TOOLS_E_TOKEN;
    bool write;
    if (fl[3] == 2 && memcmp(f[3], "rw", 2) == 0)
        write = true;
    else if (fl[3] == 1 && f[3][0] == 'r')
        write = false;
    else
        return WEFT_TOOLS_E_TOKEN;
    uint64_t exp;
    if (tools__parse_u64(f[4], fl[4], UINT64_MAX, &exp))
        return WEFT_TOOLS_E_TOKEN;
    memset(out, 0, sizeof *out);
    memcpy(out->user, f[1], fl[1]);
    memcpy(out->doc, f[2], fl[2]);
    out->write = write;
    out->exp = exp;
    return 0;
}

int weft_token_verify(const uint8_t *key, size_t keylen, const char *tok, uint64_t now,
                      weft_token *out)
{
    if (!out || !key_ok(key, keylen))
        return WEFT_TOOLS_E_INVAL;
    memset(out, 0, sizeof *out);
    if (!tok)
        return WEFT_TOOLS_E_TOKEN;
    size_t n = strnlen(tok, WEFT_TOKEN_MAX);
    if (n >= WEFT_TOKEN_MAX)
        return WEFT_TOOLS_E_TOKEN;
    const char *dot = memchr(tok, '.', n);
    if (!dot)
        return WEFT_TOOLS_E_TOKEN;
    size_t plen = (size_t)(dot - tok), slen = n - plen - 1;
    uint8_t sig[MAC_LEN + 3], want[MAC_LEN];
    size_t siglen;
    if (plen == 0 || tools__b64_decode(dot + 1, slen, true, sig, sizeof sig, &siglen) ||
        siglen != MAC_LEN)
        return WEFT_TOOLS_E_TOKEN;
    if (mac(key, keylen, tok, plen, want))
        return WEFT_TOOLS_E_NOMEM;
    if (CRYPTO_memcmp(sig, want, MAC_LEN) != 0)
        return WEFT_TOOLS_E_TOKEN;
    uint8_t payload[PAYLOAD_MAX];
    size_t pn;
    if (tools__b64_decode(tok, plen, true, payload, sizeof payload, &pn))
        return WEFT_TOOLS_E_TOKEN;
    weft_token t;
    int rc = parse_payload((const char *)payload, pn, &t);
    if (rc)
        return rc;
    *out = t;
    if (t.exp != 0 && now >= t.exp)
        return WEFT_TOOLS_E_EXPIRED;
    return 0;
}

bool weft_token_allows(const weft_token *t, const char *doc)
{
    if (!t || !doc)
        return false;
    size_t pl = strnlen(t->doc, sizeof t->doc);
    if (pl == 0 || pl == sizeof t->doc)
        return false;
    if (t->doc[pl - 1] == '*')
        return strncmp(t->doc, doc, pl - 1) == 0;
    return strcmp(t->doc, doc) == 0;
}

int weft_token_key_load(const char *path, uint8_t *key, size_t cap, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return WEFT_TOOLS_E_IO;
    size_t n = fread(key, 1, cap, f);
    int extra = n == cap ? fgetc(f) : EOF;
    int err = ferror(f);
    fclose(f);
    if (err)
        return WEFT_TOOLS_E_IO;
    if (extra != EOF)
        return WEFT_TOOLS_E_TOOBIG;
    while (n && isspace(key[n - 1]))
        n--;
    if (n == 0)
        return WEFT_TOOLS_E_INVAL;
    *len = n;
    return 0;
}
