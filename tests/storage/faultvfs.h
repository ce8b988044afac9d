/*
 * faultvfs.h — a test VFS that wraps the default one and injects errors.
 *
 * faultvfs_install() registers it as the default VFS, so every connection
 * opened afterwards (the store's too) goes through it. Arm it to fail the
 * Nth xWrite or xSync call from now (counting across all files) with the
 * given SQLite result code; every later call of that kind fails too while
 * `sticky` is set (a full disk stays full), else only that one.
 */
#ifndef WEFT_STORE_FAULTVFS_H
#define WEFT_STORE_FAULTVFS_H

#include <stdbool.h>

enum faultvfs_kind { FAULT_WRITE = 0, FAULT_SYNC = 1 };

int faultvfs_install(void);
void faultvfs_arm(enum faultvfs_kind kind, long after, int rc, bool sticky);
void faultvfs_disarm(void);
/* Calls of each kind seen so far, and faults injected. */
long faultvfs_calls(enum faultvfs_kind kind);
long faultvfs_injected(void);

#endif
