/* check.h — the smallest test helper: CHECK(cond) reports and counts failures. */
#ifndef WEFT_SERVER_UNIT_CHECK_H
#define WEFT_SERVER_UNIT_CHECK_H

#include <stdio.h>

static int check_failures;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);               \
            check_failures++;                                                                      \
        }                                                                                          \
    } while (0)

#define CHECK_DONE() (check_failures ? (fprintf(stderr, "%d failures\n", check_failures), 1) : 0)

#endif
