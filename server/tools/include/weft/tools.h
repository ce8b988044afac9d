/*
 * weft/tools.h — access tokens, the JSON history API and the `weft` command
 * line tools (every command but `serve`).
 *
 * Tokens (docs/api.md, "Tokens"): base64url(payload) "." base64url(HMAC-
 * SHA256(key, first part)), no padding, at most WEFT_TOKEN_MAX - 1 chars.
 * The payload names a user, a document pattern (an exact name, or a prefix
 * ending in '*'), read-only or read-write, and an expiry in Unix seconds
 * (0: never).
 *
 * The history API and the CLI read the op log through storage's synchronous
 * read API and rebuild past versions with the engine: a version is the
 * latest snapshot at or before an LSN plus the batches after it.
 *
 * Errors: 0 on success, negative WEFT_TOOLS_E_* codes (-201 ..) on failure,
 * named by weft_tools_strerror().
 */
#ifndef WEFT_TOOLS_H
#define WEFT_TOOLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "weft/crdt.h"
#include "weft/storage.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- errors ------------------------------------------------------------ */

#define WEFT_TOOLS_ERRNO_MAP(X)                                                                    \
    X(NOMEM, -201, "out of memory")                                                                \
    X(INVAL, -202, "invalid argument")                                                             \
    X(TOKEN, -203, "malformed token or bad signature")                                             \
    X(EXPIRED, -204, "token expired")                                                              \
    X(NOTFOUND, -205, "no such document")                                                          \
    X(CORRUPT, -206, "stored data does not decode or apply")                                       \
    X(MISMATCH, -207, "rebuilt state differs from what was stored")                                \
    X(STORE, -208, "storage error")                                                                \
    X(IO, -209, "I/O error")                                                                       \
    X(FORMAT, -210, "not a valid Weft export file")                                                \
    X(EXISTS, -211, "document already exists")                                                     \
    X(TOOBIG, -212, "value too large")

typedef enum weft_tools_err {
#define WEFT_TOOLS_ERR_ENUM_(name, val, msg) WEFT_TOOLS_E_##name = (val),
    WEFT_TOOLS_ERRNO_MAP(WEFT_TOOLS_ERR_ENUM_)
#undef WEFT_TOOLS_ERR_ENUM_
} weft_tools_err;

/* Message for a WEFT_TOOLS_E_* code ("success" for 0, "unknown error"
 * otherwise). */
const char *weft_tools_strerror(int err);

/* ---- tokens -------------------------------------------------------------- */

/* Longest token including its NUL: a bigger buffer is never needed, and
 * verify rejects longer strings before looking at them. */
#define WEFT_TOKEN_MAX 512
/* Longest key accepted (bytes); keys must be at least 1 byte (use 32). */
#define WEFT_TOKEN_KEY_MAX 4096

/* doc: an exact name, or a prefix pattern ending in '*' ("*" = every
 * document). user and doc are NUL-terminated, non-empty, valid UTF-8
 * without control characters. exp: Unix seconds, 0 = never expires. */
typedef struct weft_token {
    char user[64];
    char doc[128];
    bool write;
    uint64_t exp;
} weft_token;

/* Writes the NUL-terminated token into out[0..cap). WEFT_TOOLS_E_INVAL for
 * an empty/oversized key or a field that breaks the rules above,
 * WEFT_TOOLS_E_TOOBIG if cap is too small (WEFT_TOKEN_MAX always fits). */
int weft_token_mint(const uint8_t *key, size_t keylen, const weft_token *t, char *out, size_t cap);

/* Checks tok's signature (constant time) and then its payload. 0 and *out
 * filled; WEFT_TOOLS_E_TOKEN for anything malformed or a bad signature;
 * WEFT_TOOLS_E_EXPIRED (with *out filled) when exp != 0 and now >= exp.
 * now is Unix seconds. Never reads past the string's NUL. */
int weft_token_verify(const uint8_t *key, size_t keylen, const char *tok, uint64_t now,
                      weft_token *out);

/* true when the token's pattern grants document `doc`. */
bool weft_token_allows(const weft_token *t, const char *doc);

/* Reads a secret file: its bytes minus trailing whitespace (isspace(): so
 * `echo` and editors' final newlines do not matter). 0 and *len; WEFT_TOOLS_E_IO,
 * WEFT_TOOLS_E_INVAL for an empty key, WEFT_TOOLS_E_TOOBIG above cap. */
int weft_token_key_load(const char *path, uint8_t *key, size_t cap, size_t *len);

/* ---- JSON history API ---------------------------------------------------------- */

/*
 * Answers GET `path` (the request path, e.g. "/api/docs/notes/text") with
 * `query` (the raw query string without '?', or NULL). Replaces out's
 * contents with a JSON body and sets *status: 200, 400 (bad parameter),
 * 404 (unknown route or document) or 500 (storage or stored data broken);
 * error bodies are {"error": "..."}. Returns 0 when a body was produced,
 * WEFT_TOOLS_E_NOMEM if not even an error body could be. Routes and fields
 * are in docs/api.md. Blocks on storage reads: history of a large document
 * can take a while.
 */
int weft_api_get(weft_store *st, const char *path, const char *query, weft_buf *out, int *status);

/* ---- command line ---------------------------------------------------------------- */

/*
 * Runs a `weft` command other than serve. argv is main()'s: argv[0] the
 * program, argv[1] the command ("cat", "log", "blame", "diff", "replay",
 * "export", "import", "token", "check", "--help", "help"). default_db is the
 * database used without --db. Returns the process exit code: 0 success,
 * 1 failure (including replay/check mismatches), 2 usage error.
 */
int weft_cli_run(int argc, char **argv, const char *default_db);

/* The same, writing to out and err instead of stdout and stderr (tests). */
int weft_cli_run_io(int argc, char **argv, const char *default_db, FILE *out, FILE *err);

#ifdef __cplusplus
}
#endif
#endif
