/* plossvfs.c — see plossvfs.h. */
#include "plossvfs.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { REC_OPEN = 1, REC_WRITE = 2, REC_TRUNC = 3, REC_SYNC = 4 };

/* One log record; `nold` bytes (old contents, or the path for OPEN) follow. */
typedef struct rec_hdr {
    uint32_t type, id;
    int64_t off, len, old_size, nold;
} rec_hdr;

typedef struct pfile {
    sqlite3_file base;
    int id; /* -1: not tracked (temporary files) */
    sqlite3_file *real;
} pfile;

static sqlite3_vfs *real_vfs;
static sqlite3_vfs ploss_vfs;
static sqlite3_io_methods ploss_io;
static int log_fd = -1;
static int next_id;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

/* Appends one record with one write(2): a kill leaves it whole or torn at
 * the end, and a torn record's data write never happened. */
static int log_rec(rec_hdr h, const void *extra)
{
    size_t n = sizeof h + (size_t)h.nold;
    char *buf = malloc(n);
    if (!buf)
        return SQLITE_NOMEM;
    memcpy(buf, &h, sizeof h);
    if (h.nold)
        memcpy(buf + sizeof h, extra, (size_t)h.nold);
    pthread_mutex_lock(&mu);
    ssize_t w = write(log_fd, buf, n);
    pthread_mutex_unlock(&mu);
    free(buf);
    return w == (ssize_t)n ? SQLITE_OK : SQLITE_IOERR;
}

#define REAL(f) (((pfile *)(f))->real)
#define ID(f) (((pfile *)(f))->id)

/* Logs the bytes [off, off+n) and the size before they change. */
static int log_old(sqlite3_file *f, uint32_t type, int64_t off, int64_t n)
{
    sqlite3_int64 size = 0;
    int rc = REAL(f)->pMethods->xFileSize(REAL(f), &size);
    if (rc)
        return rc;
    int64_t nold = size - off;
    if (nold < 0)
        nold = 0;
    if (nold > n)
        nold = n;
    char *old = nold ? malloc((size_t)nold) : NULL;
    if (nold && !old)
        return SQLITE_NOMEM;
    if (nold) {
        rc = REAL(f)->pMethods->xRead(REAL(f), old, (int)nold, off);
        if (rc && rc != SQLITE_IOERR_SHORT_READ) {
            free(old);
            return rc;
        }
    }
    rc = log_rec((rec_hdr){type, (uint32_t)ID(f), off, n, size, nold}, old);
    free(old);
    return rc;
}

static int p_close(sqlite3_file *f)
{
    return REAL(f)->pMethods->xClose(REAL(f));
}
static int p_read(sqlite3_file *f, void *p, int n, sqlite3_int64 off)
{
    return REAL(f)->pMethods->xRead(REAL(f), p, n, off);
}
static int p_write(sqlite3_file *f, const void *p, int n, sqlite3_int64 off)
{
    if (ID(f) >= 0) {
        int rc = log_old(f, REC_WRITE, off, n);
        if (rc)
            return rc;
    }
    return REAL(f)->pMethods->xWrite(REAL(f), p, n, off);
}
static int p_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    if (ID(f) >= 0) {
        sqlite3_int64 cur = 0;
        int rc = REAL(f)->pMethods->xFileSize(REAL(f), &cur);
        if (rc)
            return rc;
        if (cur > size && (rc = log_old(f, REC_TRUNC, size, cur - size)) != 0)
            return rc;
    }
    return REAL(f)->pMethods->xTruncate(REAL(f), size);
}
static int p_sync(sqlite3_file *f, int flags)
{
    /* No real fsync: the power cut below decides what was durable. A short
     * sleep stands in for the device's flush time, so kills often land
     * between a commit's writes and its fsync. */
    if (ID(f) >= 0)
        usleep(300);
    if (ID(f) >= 0)
        return log_rec((rec_hdr){REC_SYNC, (uint32_t)ID(f), 0, 0, 0, 0}, NULL);
    return SQLITE_OK;
}
static int p_size(sqlite3_file *f, sqlite3_int64 *s)
{
    return REAL(f)->pMethods->xFileSize(REAL(f), s);
}
static int p_lock(sqlite3_file *f, int l)
{
    return REAL(f)->pMethods->xLock(REAL(f), l);
}
static int p_unlock(sqlite3_file *f, int l)
{
    return REAL(f)->pMethods->xUnlock(REAL(f), l);
}
static int p_reserved(sqlite3_file *f, int *o)
{
    return REAL(f)->pMethods->xCheckReservedLock(REAL(f), o);
}
static int p_fcntl(sqlite3_file *f, int op, void *a)
{
    return REAL(f)->pMethods->xFileControl(REAL(f), op, a);
}
static int p_sector(sqlite3_file *f)
{
    return REAL(f)->pMethods->xSectorSize(REAL(f));
}
static int p_devchar(sqlite3_file *f)
{
    /* Claim nothing beyond what the real file claims. */
    return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}
static int p_shmmap(sqlite3_file *f, int pg, int sz, int ext, void volatile **pp)
{
    return REAL(f)->pMethods->xShmMap(REAL(f), pg, sz, ext, pp);
}
static int p_shmlock(sqlite3_file *f, int off, int n, int fl)
{
    return REAL(f)->pMethods->xShmLock(REAL(f), off, n, fl);
}
static void p_shmbarrier(sqlite3_file *f)
{
    REAL(f)->pMethods->xShmBarrier(REAL(f));
}
static int p_shmunmap(sqlite3_file *f, int d)
{
    return REAL(f)->pMethods->xShmUnmap(REAL(f), d);
}

static int v_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags, int *out)
{
    pfile *f = (pfile *)file;
    f->real = (sqlite3_file *)(f + 1);
    f->id = -1;
    int rc = real_vfs->xOpen(real_vfs, name, f->real, flags, out);
    if (rc != SQLITE_OK || !f->real->pMethods) {
        f->base.pMethods = NULL;
        return rc;
    }
    if (name && (flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_WAL | SQLITE_OPEN_MAIN_JOURNAL))) {
        pthread_mutex_lock(&mu);
        f->id = next_id++;
        pthread_mutex_unlock(&mu);
        rc = log_rec((rec_hdr){REC_OPEN, (uint32_t)f->id, 0, 0, 0, (int64_t)strlen(name)}, name);
        if (rc) {
            f->real->pMethods->xClose(f->real);
            f->base.pMethods = NULL;
            return rc;
        }
    }
    f->base.pMethods = &ploss_io;
    return SQLITE_OK;
}

static int v_delete(sqlite3_vfs *v, const char *n, int s)
{
    return real_vfs->xDelete(real_vfs, n, s);
}
static int v_access(sqlite3_vfs *v, const char *n, int fl, int *o)
{
    return real_vfs->xAccess(real_vfs, n, fl, o);
}
static int v_fullpath(sqlite3_vfs *v, const char *n, int k, char *o)
{
    return real_vfs->xFullPathname(real_vfs, n, k, o);
}
static int v_random(sqlite3_vfs *v, int n, char *o)
{
    return real_vfs->xRandomness(real_vfs, n, o);
}
static int v_sleep(sqlite3_vfs *v, int us)
{
    return real_vfs->xSleep(real_vfs, us);
}
static int v_time(sqlite3_vfs *v, double *o)
{
    return real_vfs->xCurrentTime(real_vfs, o);
}
static int v_lasterr(sqlite3_vfs *v, int n, char *o)
{
    return real_vfs->xGetLastError(real_vfs, n, o);
}
static int v_time64(sqlite3_vfs *v, sqlite3_int64 *o)
{
    return real_vfs->xCurrentTimeInt64(real_vfs, o);
}

int plossvfs_install(const char *log_path)
{
    real_vfs = sqlite3_vfs_find(NULL);
    if (!real_vfs)
        return SQLITE_ERROR;
    log_fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
    if (log_fd < 0)
        return SQLITE_CANTOPEN;
    ploss_io = (sqlite3_io_methods){
        .iVersion = 2, /* no xFetch: every change goes through xWrite */
        .xClose = p_close,
        .xRead = p_read,
        .xWrite = p_write,
        .xTruncate = p_truncate,
        .xSync = p_sync,
        .xFileSize = p_size,
        .xLock = p_lock,
        .xUnlock = p_unlock,
        .xCheckReservedLock = p_reserved,
        .xFileControl = p_fcntl,
        .xSectorSize = p_sector,
        .xDeviceCharacteristics = p_devchar,
        .xShmMap = p_shmmap,
        .xShmLock = p_shmlock,
        .xShmBarrier = p_shmbarrier,
        .xShmUnmap = p_shmunmap,
    };
    ploss_vfs = (sqlite3_vfs){
        .iVersion = 2,
        .szOsFile = (int)sizeof(pfile) + real_vfs->szOsFile,
        .mxPathname = real_vfs->mxPathname,
        .zName = "weft-powerloss",
        .xOpen = v_open,
        .xDelete = v_delete,
        .xAccess = v_access,
        .xFullPathname = v_fullpath,
        .xRandomness = v_random,
        .xSleep = v_sleep,
        .xCurrentTime = v_time,
        .xGetLastError = v_lasterr,
        .xCurrentTimeInt64 = v_time64,
    };
    return sqlite3_vfs_register(&ploss_vfs, 1);
}

/* ---- the survivor's side ------------------------------------------------- */

typedef struct lrec {
    rec_hdr h;
    char *extra;
} lrec;

#define MAX_FILES 64

long plossvfs_power_cut(const char *log_path, uint64_t seed)
{
    FILE *f = fopen(log_path, "rb");
    if (!f)
        return -1;
    lrec *v = NULL;
    size_t n = 0, cap = 0;
    long undone = -1;
    char *names[MAX_FILES] = {0};
    for (;;) {
        rec_hdr h;
        if (fread(&h, sizeof h, 1, f) != 1)
            break; /* end, or a torn last header */
        if (h.nold < 0 || h.id >= MAX_FILES)
            goto out;
        char *extra = malloc((size_t)h.nold + 1);
        if (!extra)
            goto out;
        if (h.nold && fread(extra, (size_t)h.nold, 1, f) != 1) {
            free(extra);
            break; /* torn last record: its write never happened */
        }
        extra[h.nold] = 0;
        if (h.type == REC_OPEN) {
            free(names[h.id]);
            names[h.id] = extra;
            continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 1024;
            lrec *nv = realloc(v, cap * sizeof *nv);
            if (!nv) {
                free(extra);
                goto out;
            }
            v = nv;
        }
        v[n++] = (lrec){h, extra};
    }
    /* Two handles on one file (two connections) are one file: an fsync
     * through either covers writes through both. */
    for (size_t i = 0; i < n; i++) {
        for (uint32_t j = 0; j < v[i].h.id; j++) {
            if (names[j] && names[v[i].h.id] && strcmp(names[j], names[v[i].h.id]) == 0) {
                v[i].h.id = j;
                break;
            }
        }
    }
    /* Per file: the records after its last sync are unsynced; keep a random
     * prefix of them, undo the rest (newest first). */
    size_t first_unsynced[MAX_FILES], count[MAX_FILES] = {0}, keep[MAX_FILES];
    for (int i = 0; i < MAX_FILES; i++)
        first_unsynced[i] = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i].h.type == REC_SYNC) {
            first_unsynced[v[i].h.id] = i + 1;
            count[v[i].h.id] = 0;
        } else {
            count[v[i].h.id]++;
        }
    }
    uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
    for (int i = 0; i < MAX_FILES; i++) {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        uint64_t r = x * 0x2545F4914F6CDD1Dull;
        keep[i] = (r >> 60) % 2 == 0 ? 0 : (size_t)(r % (count[i] + 1)); /* often none */
    }
    size_t seen[MAX_FILES] = {0};
    bool *undo = calloc(n ? n : 1, sizeof *undo);
    if (!undo)
        goto out;
    for (size_t i = 0; i < n; i++) {
        uint32_t id = v[i].h.id;
        if (v[i].h.type == REC_SYNC || i < first_unsynced[id])
            continue;
        if (seen[id]++ >= keep[id])
            undo[i] = true;
    }
    undone = 0;
    for (size_t i = n; i-- > 0;) {
        if (!undo[i])
            continue;
        const rec_hdr *h = &v[i].h;
        if (!names[h->id]) {
            undone = -1;
            break;
        }
        int fd = open(names[h->id], O_RDWR);
        if (fd < 0 && errno == ENOENT)
            continue; /* SQLite deleted it (a WAL goes only once checkpointed
                         and synced into the database): nothing to undo */
        if (fd < 0) {
            undone = -1;
            break;
        }
        bool ok = true;
        if (h->type == REC_TRUNC) {
            ok = ftruncate(fd, h->old_size) == 0 &&
                 pwrite(fd, v[i].extra, (size_t)h->nold, h->off) == (ssize_t)h->nold;
        } else {
            if (h->nold)
                ok = pwrite(fd, v[i].extra, (size_t)h->nold, h->off) == (ssize_t)h->nold;
            if (ok && h->off + h->len > h->old_size)
                ok = ftruncate(fd, h->old_size) == 0;
        }
        close(fd);
        if (!ok) {
            undone = -1;
            break;
        }
        undone++;
    }
    free(undo);
out:
    for (size_t i = 0; i < n; i++)
        free(v[i].extra);
    free(v);
    for (int i = 0; i < MAX_FILES; i++)
        free(names[i]);
    fclose(f);
    return undone;
}
