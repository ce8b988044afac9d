/* token_fuzz.c — libFuzzer target for weft_token_verify. Every input is
 * tried twice: as a token string, and as a payload signed with the fuzz
 * key (so the payload parser behind the signature check is reached too).
 * Besides sanitizer cleanliness it requires: only TOKEN/EXPIRED/0 come
 * back, and an accepted token re-mints to exactly its own bytes (one
 * token per content: no malleable encodings). */
#include "fuzz_target.h"
#include "tools_int.h"

#include <stdio.h>

static const uint8_t KEY[] = "weft fuzz key: not a secret";
#define KEYLEN (sizeof KEY - 1)

static void must_remint(const char *tok, const weft_token *t)
{
    char again[WEFT_TOKEN_MAX];
    if (weft_token_mint(KEY, KEYLEN, t, again, sizeof again) != 0 || strcmp(again, tok) != 0) {
        fprintf(stderr, "accepted token does not re-mint to itself: %s\n", tok);
        abort();
    }
    if (!weft_token_allows(t, t->doc) && t->doc[strlen(t->doc) - 1] != '*')
        abort(); /* an exact pattern grants its own name */
}

static void try_token(const char *s)
{
    weft_token t;
    int rc = weft_token_verify(KEY, KEYLEN, s, 1000000, &t);
    if (rc == 0 || rc == WEFT_TOOLS_E_EXPIRED)
        must_remint(s, &t);
    else if (rc != WEFT_TOOLS_E_TOKEN)
        abort();
    (void)weft_token_allows(&t, s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char s[1024];
    size_t n = size < sizeof s - 1 ? size : sizeof s - 1;
    memcpy(s, data, n);
    s[n] = 0;
    try_token(s);
    char tok[WEFT_TOKEN_MAX];
    if (tools__token_sign(KEY, KEYLEN, data, size, tok, sizeof tok) == 0)
        try_token(tok);
    return 0;
}
