/* integrity.h — PRAGMA integrity_check on a database file, for the tests
 * that look at the file after a crash or a fault. */
#ifndef WEFT_STORE_TEST_INTEGRITY_H
#define WEFT_STORE_TEST_INTEGRITY_H

#include <sqlite3.h>

#include "test_util.h"

/* Opens path read-only on its own connection; exits with SQLite's report
 * unless it is "ok". */
static inline void test_integrity_ok(const char *path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    CHECK(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    CHECK(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW);
    const char *res = (const char *)sqlite3_column_text(st, 0);
    if (!res || strcmp(res, "ok") != 0) {
        fprintf(stderr, "integrity_check: %s\n", res ? res : "(null)");
        exit(1);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
}

#endif
