/* tutil.h — checks and a filled store shared by the tools tests.
 *
 * The fixture builds a document the way a server would: two users edit
 * their own replicas (agents 0 and 1 of weft_doc), every local change is
 * encoded with weft_proto_batch_encode and appended through the storage API,
 * and a third, server-side replica integrates the batches in LSN order and
 * records the text after each LSN (the expected answer of "text at N"). */
#ifndef WEFT_TOOLS_TUTIL_H
#define WEFT_TOOLS_TUTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weft/protocol.h"
#include "weft/tools.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);               \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

#define CHECK_EQ(a, b)                                                                             \
    do {                                                                                           \
        long long a_ = (long long)(a), b_ = (long long)(b);                                        \
        if (a_ != b_) {                                                                            \
            fprintf(stderr, "%s:%d: %s = %lld, want %lld\n", __FILE__, __LINE__, #a, a_, b_);      \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *a_ = (a), *b_ = (b);                                                           \
        if (!a_ || !b_ || strcmp(a_, b_) != 0) {                                                   \
            fprintf(stderr, "%s:%d: %s = \"%s\", want \"%s\"\n", __FILE__, __LINE__, #a,           \
                    a_ ? a_ : "(null)", b_ ? b_ : "(null)");                                       \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

#define FX_MAX 64

typedef struct fx {
    char dir[256], db[300];
    weft_store *st;
    weft_store_doc doc;
    weft_doc *rep[2]; /* alice (agent 0), bob (agent 1) */
    weft_doc *server;
    uint64_t lsn;
    int64_t time;
    char *text[FX_MAX]; /* text after LSN i (text[0] = "") */
    int64_t at[FX_MAX]; /* received_at of LSN i */
} fx;

/* A fresh store in a temporary directory with document "notes" filled by
 * the standard two-user session (deletes, concurrency, Unicode, JSON
 * special characters) and snapshots at LSN 3 and 6. */
void fx_open(fx *f);
/* Only the store and the "notes" document with its two agents. */
void fx_open_empty(fx *f);
void fx_close(fx *f);

/* Replica `who` inserts / deletes; the ops become one batch. */
void fx_insert(fx *f, int who, uint32_t pos, const char *text);
void fx_delete(fx *f, int who, uint32_t pos, uint32_t len);
/* A replace in one batch: delete then insert. */
void fx_replace(fx *f, int who, uint32_t pos, uint32_t len, const char *text);
/* Delivers every op the other replica lacks to replica `who`. */
void fx_sync(fx *f, int who);
/* Stores a snapshot of the server replica at the current LSN. */
void fx_snapshot(fx *f);

/* Runs the CLI with argv (NULL-terminated) and default db f->db; stdout
 * and stderr go to malloc'ed strings (free them). Returns the exit code. */
int fx_cli(fx *f, char **out, char **err, const char *const *argv);

#endif
