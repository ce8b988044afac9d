/*
 * schema.c — the database schema and its forward migrations.
 *
 * PRAGMA user_version holds the schema version; migrations[v] takes a
 * database from version v to v+1. They run in one BEGIN IMMEDIATE
 * transaction, so a crash mid-migration leaves the old version intact and
 * two processes opening the same new file do not both migrate it. A
 * database newer than this program is refused (WEFT_STORE_E_SCHEMA), never
 * touched. docs/storage.md documents every table; a new version appends a
 * migration here and never edits an old one (tests/storage keeps a frozen
 * version-1 database to prove old files still open).
 */
#include <stdio.h>
#include <string.h>

#include "store_int.h"

static const char *const migrations[] = {
    /* 0 -> 1 */
    "CREATE TABLE documents("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  created INTEGER NOT NULL,"
    "  next_agent INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE agents("
    "  doc INTEGER NOT NULL,"
    "  agent INTEGER NOT NULL,"
    "  user TEXT,"
    "  created INTEGER NOT NULL,"
    "  PRIMARY KEY(doc, agent)) WITHOUT ROWID;"
    "CREATE TABLE ops("
    "  doc INTEGER NOT NULL,"
    "  lsn INTEGER NOT NULL,"
    "  agent INTEGER NOT NULL,"
    "  seq INTEGER NOT NULL,"
    "  len INTEGER NOT NULL,"
    "  author TEXT,"
    "  received_at INTEGER NOT NULL,"
    "  bytes BLOB NOT NULL,"
    "  PRIMARY KEY(doc, lsn)) WITHOUT ROWID;"
    "CREATE UNIQUE INDEX ops_id ON ops(doc, agent, seq);"
    "CREATE TABLE snapshots("
    "  id INTEGER PRIMARY KEY,"
    "  doc INTEGER NOT NULL,"
    "  lsn INTEGER NOT NULL,"
    "  created INTEGER NOT NULL,"
    "  state BLOB NOT NULL,"
    "  UNIQUE(doc, lsn));",
};

#define N_MIGRATIONS (sizeof migrations / sizeof migrations[0])

int weft_store_schema_version(void)
{
    return (int)N_MIGRATIONS;
}

int store__exec(sqlite3 *db, const char *sql)
{
    return store__map_rc(sqlite3_exec(db, sql, NULL, NULL, NULL));
}

int store__prepare(sqlite3 *db, const char *sql, sqlite3_stmt **out)
{
    int rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, out, NULL);
    if (rc != SQLITE_OK) {
        *out = NULL;
        return store__map_rc(rc) ? store__map_rc(rc) : WEFT_STORE_E_BACKEND;
    }
    return 0;
}

/* Runs a one-integer query ("PRAGMA user_version") into *out. */
static int query_int(sqlite3 *db, const char *sql, int64_t *out)
{
    sqlite3_stmt *st = NULL;
    int err = store__prepare(db, sql, &st);
    if (err)
        return err;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
        rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
        *out = 0;
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return store__map_rc(rc);
}

/* A file with no user_version must hold no tables at all: we never adopt
 * somebody else's database. */
static int check_identity(sqlite3 *db, int64_t version)
{
    int64_t app = 0, tables = 0;
    int err = query_int(db, "PRAGMA application_id", &app);
    if (!err)
        err = query_int(db, "SELECT count(*) FROM sqlite_schema", &tables);
    if (err)
        return err;
    if (app != 0 && app != STORE_APPLICATION_ID)
        return WEFT_STORE_E_CORRUPT;
    if (version == 0 && tables != 0)
        return WEFT_STORE_E_CORRUPT;
    if (version > (int64_t)N_MIGRATIONS)
        return WEFT_STORE_E_SCHEMA;
    if (version < 0)
        return WEFT_STORE_E_CORRUPT;
    return 0;
}

int store__migrate(sqlite3 *db)
{
    int64_t version = 0;
    char sql[96];
    int err = query_int(db, "PRAGMA user_version", &version);
    if (err)
        return err;
    if ((err = check_identity(db, version)) != 0)
        return err;
    if (version == (int64_t)N_MIGRATIONS)
        return 0;

    if ((err = store__exec(db, "BEGIN IMMEDIATE")) != 0)
        return err;
    /* Re-read under the write lock: another process may have migrated. */
    if ((err = query_int(db, "PRAGMA user_version", &version)) != 0)
        goto rollback;
    if ((err = check_identity(db, version)) != 0)
        goto rollback;
    for (; version < (int64_t)N_MIGRATIONS; version++) {
        if ((err = store__exec(db, migrations[version])) != 0)
            goto rollback;
    }
    snprintf(sql, sizeof sql, "PRAGMA user_version=%d; PRAGMA application_id=%d", (int)N_MIGRATIONS,
             STORE_APPLICATION_ID);
    if ((err = store__exec(db, sql)) != 0)
        goto rollback;
    if ((err = store__exec(db, "COMMIT")) != 0)
        goto rollback;
    return 0;

rollback:
    if (!sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return err;
}
