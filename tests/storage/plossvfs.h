/*
 * plossvfs.h — a VFS that simulates losing power.
 *
 * It wraps the default VFS. Before every write or truncate it appends an undo
 * record (the bytes and size it is about to replace) to a log file, and
 * after every xSync it appends a "synced" mark for that file. It does not
 * really fsync: the simulation decides what survives. After the process
 * using it is killed, plossvfs_power_cut() reads the log and undoes, per
 * file, a random suffix of the writes made since that file's last sync: the
 * disk kept everything that was synced and some prefix (maybe none, maybe
 * all) of what was not. What a correct program acknowledged must survive
 * every such cut.
 *
 * The shared-memory index (-shm) is not a durable file and is rebuilt by the
 * next opener, as after a real power cut.
 */
#ifndef WEFT_STORE_PLOSSVFS_H
#define WEFT_STORE_PLOSSVFS_H

#include <stdint.h>

/* In the process that writes: register as the default VFS, log to log_path. */
int plossvfs_install(const char *log_path);

/* In the survivor, after the writer died: apply the cut. Returns the number
 * of writes undone, or -1 on a malformed log. seed picks the cut points. */
long plossvfs_power_cut(const char *log_path, uint64_t seed);

#endif
