/* errors.c — weft_store_strerror and the SQLite result code mapping. */
#include "store_int.h"

const char *weft_store_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
    case WEFT_STORE_ALREADY:
        return "already stored";
#define WEFT_STORE_ERR_MSG_(name, val, msg)                                                        \
    case WEFT_STORE_E_##name:                                                                      \
        return msg;
        WEFT_STORE_ERRNO_MAP(WEFT_STORE_ERR_MSG_)
#undef WEFT_STORE_ERR_MSG_
    default:
        return "unknown error";
    }
}

/* Maps an SQLite result code (primary or extended) to a WEFT_STORE_E_*. */
int store__map_rc(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
        return 0;
    case SQLITE_NOMEM:
        return WEFT_STORE_E_NOMEM;
    case SQLITE_FULL:
        return WEFT_STORE_E_FULL;
    case SQLITE_IOERR:
        return WEFT_STORE_E_IO;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return WEFT_STORE_E_BUSY;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_FORMAT:
        return WEFT_STORE_E_CORRUPT;
    case SQLITE_CANTOPEN:
        return WEFT_STORE_E_CANTOPEN;
    case SQLITE_READONLY:
        return WEFT_STORE_E_READONLY;
    case SQLITE_CONSTRAINT:
        return WEFT_STORE_E_CONFLICT;
    default:
        return WEFT_STORE_E_BACKEND;
    }
}

/* Errors after which the next transaction may well succeed: the store keeps
 * running. Anything else (I/O error, corruption, surprises) fails it: after a
 * failed fsync the OS page cache no longer tells the truth about the disk. */
bool store__rc_is_transient(int err)
{
    return err == WEFT_STORE_E_FULL || err == WEFT_STORE_E_BUSY || err == WEFT_STORE_E_NOMEM;
}
