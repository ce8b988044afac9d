/* ptest.h — the protocol tests' tiny harness: CHECK keeps going and counts
 * failures, main returns non-zero if any. Plus hex helpers. */
#ifndef WEFT_PTEST_H
#define WEFT_PTEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weft/protocol.h"

extern int ptest_failures;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);               \
            ptest_failures++;                                                                      \
        }                                                                                          \
    } while (0)

#define CHECK_RC(expr, want)                                                                       \
    do {                                                                                           \
        int rc_ = (expr);                                                                          \
        if (rc_ != (want)) {                                                                       \
            fprintf(stderr, "%s:%d: %s = %d (%s), want %d (%s)\n", __FILE__, __LINE__, #expr, rc_, \
                    weft_proto_strerror(rc_), (int)(want), weft_proto_strerror(want));             \
            ptest_failures++;                                                                      \
        }                                                                                          \
    } while (0)

/* Hex string (spaces ignored) to bytes; returns the length or -1. */
long ptest_unhex(const char *hex, uint8_t *out, size_t cap);
/* Bytes to lowercase hex, NUL-terminated, malloc'd. */
char *ptest_hex(const void *p, size_t n);

#endif
