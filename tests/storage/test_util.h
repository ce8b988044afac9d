/* test_util.h — tiny helpers shared by the storage tests. */
#ifndef WEFT_STORE_TEST_UTIL_H
#define WEFT_STORE_TEST_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weft/storage.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);               \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

#define CHECK_RC(expr, want)                                                                       \
    do {                                                                                           \
        int rc_ = (expr);                                                                          \
        if (rc_ != (want)) {                                                                       \
            fprintf(stderr, "%s:%d: %s = %d (%s), want %d (%s)\n", __FILE__, __LINE__, #expr, rc_, \
                    weft_store_strerror(rc_), (want), weft_store_strerror(want));                  \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

#define CHECK_OK(expr) CHECK_RC(expr, 0)

/* A fresh temporary directory (mkdtemp) and paths inside it. */
static inline void test_tmpdir(char *dir, size_t n, const char *tag)
{
    const char *base = getenv("TMPDIR");
    snprintf(dir, n, "%s/weft-%s-XXXXXX", base && *base ? base : "/tmp", tag);
    CHECK(mkdtemp(dir) != NULL);
}

static inline void test_rmdir(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}

/* Deterministic payload bytes for (agent, seq): length 1 .. 200, with an
 * occasional large one (overflow pages), so any corruption shows. */
static inline size_t test_payload(uint32_t agent, uint32_t seq, uint8_t *buf, size_t cap)
{
    uint64_t x = ((uint64_t)agent << 32 | seq) * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull;
    size_t len = 1 + (size_t)(x % 200);
    if (seq % 97 == 13)
        len = 3000 + (size_t)(x % 9000);
    if (len > cap)
        len = cap;
    for (size_t i = 0; i < len; i++) {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        buf[i] = (uint8_t)((x * 0x2545F4914F6CDD1Dull) >> 56);
    }
    return len;
}

#endif
