/* faultvfs.c — see faultvfs.h. Forwards everything to the default VFS. */
#include "faultvfs.h"

#include <pthread.h>
#include <sqlite3.h>
#include <string.h>

typedef struct ffile {
    sqlite3_file base;
    sqlite3_file *real; /* follows this struct in the same allocation */
} ffile;

static sqlite3_vfs *real_vfs;
static sqlite3_vfs fault_vfs;
static sqlite3_io_methods fault_io;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
    bool armed[2], sticky[2];
    long countdown[2]; /* fail when it reaches 0 */
    int rc[2];
    long calls[2];
    long injected;
} st;

/* 0 to go ahead, or the error to return. */
static int fault_check(enum faultvfs_kind k)
{
    int rc = 0;
    pthread_mutex_lock(&mu);
    st.calls[k]++;
    if (st.armed[k]) {
        if (st.countdown[k] > 0) {
            st.countdown[k]--;
        } else {
            rc = st.rc[k];
            st.injected++;
            if (!st.sticky[k])
                st.armed[k] = false;
        }
    }
    pthread_mutex_unlock(&mu);
    return rc;
}

void faultvfs_arm(enum faultvfs_kind kind, long after, int rc, bool sticky)
{
    pthread_mutex_lock(&mu);
    st.armed[kind] = true;
    st.sticky[kind] = sticky;
    st.countdown[kind] = after;
    st.rc[kind] = rc;
    pthread_mutex_unlock(&mu);
}

void faultvfs_disarm(void)
{
    pthread_mutex_lock(&mu);
    st.armed[0] = st.armed[1] = false;
    pthread_mutex_unlock(&mu);
}

long faultvfs_calls(enum faultvfs_kind kind)
{
    pthread_mutex_lock(&mu);
    long n = st.calls[kind];
    pthread_mutex_unlock(&mu);
    return n;
}

long faultvfs_injected(void)
{
    pthread_mutex_lock(&mu);
    long n = st.injected;
    pthread_mutex_unlock(&mu);
    return n;
}

#define REAL(f) (((ffile *)(f))->real)

static int f_close(sqlite3_file *f)
{
    int rc = REAL(f)->pMethods->xClose(REAL(f));
    return rc;
}
static int f_read(sqlite3_file *f, void *p, int n, sqlite3_int64 off)
{
    return REAL(f)->pMethods->xRead(REAL(f), p, n, off);
}
static int f_write(sqlite3_file *f, const void *p, int n, sqlite3_int64 off)
{
    int rc = fault_check(FAULT_WRITE);
    return rc ? rc : REAL(f)->pMethods->xWrite(REAL(f), p, n, off);
}
static int f_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    return REAL(f)->pMethods->xTruncate(REAL(f), size);
}
static int f_sync(sqlite3_file *f, int flags)
{
    int rc = fault_check(FAULT_SYNC);
    return rc ? rc : REAL(f)->pMethods->xSync(REAL(f), flags);
}
static int f_size(sqlite3_file *f, sqlite3_int64 *size)
{
    return REAL(f)->pMethods->xFileSize(REAL(f), size);
}
static int f_lock(sqlite3_file *f, int l)
{
    return REAL(f)->pMethods->xLock(REAL(f), l);
}
static int f_unlock(sqlite3_file *f, int l)
{
    return REAL(f)->pMethods->xUnlock(REAL(f), l);
}
static int f_reserved(sqlite3_file *f, int *out)
{
    return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}
static int f_fcntl(sqlite3_file *f, int op, void *arg)
{
    return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}
static int f_sector(sqlite3_file *f)
{
    return REAL(f)->pMethods->xSectorSize(REAL(f));
}
static int f_devchar(sqlite3_file *f)
{
    return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}
static int f_shmmap(sqlite3_file *f, int pg, int sz, int ext, void volatile **pp)
{
    return REAL(f)->pMethods->xShmMap(REAL(f), pg, sz, ext, pp);
}
static int f_shmlock(sqlite3_file *f, int off, int n, int flags)
{
    return REAL(f)->pMethods->xShmLock(REAL(f), off, n, flags);
}
static void f_shmbarrier(sqlite3_file *f)
{
    REAL(f)->pMethods->xShmBarrier(REAL(f));
}
static int f_shmunmap(sqlite3_file *f, int del)
{
    return REAL(f)->pMethods->xShmUnmap(REAL(f), del);
}
static int f_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **pp)
{
    return REAL(f)->pMethods->xFetch(REAL(f), off, n, pp);
}
static int f_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
    return REAL(f)->pMethods->xUnfetch(REAL(f), off, p);
}

static int v_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags, int *out)
{
    ffile *f = (ffile *)file;
    f->real = (sqlite3_file *)(f + 1);
    int rc = real_vfs->xOpen(real_vfs, name, f->real, flags, out);
    if (rc != SQLITE_OK || !f->real->pMethods) {
        f->base.pMethods = NULL;
        return rc;
    }
    /* Offer what the real file offers: the shm and mmap methods only if it
     * has them (our table is version 3, SQLite checks iVersion). */
    fault_io.iVersion = f->real->pMethods->iVersion;
    f->base.pMethods = &fault_io;
    return SQLITE_OK;
}
static int v_delete(sqlite3_vfs *vfs, const char *name, int sync)
{
    return real_vfs->xDelete(real_vfs, name, sync);
}
static int v_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
    return real_vfs->xAccess(real_vfs, name, flags, out);
}
static int v_fullpath(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
    return real_vfs->xFullPathname(real_vfs, name, n, out);
}
static void *v_dlopen(sqlite3_vfs *vfs, const char *name)
{
    return real_vfs->xDlOpen(real_vfs, name);
}
static void v_dlerror(sqlite3_vfs *vfs, int n, char *msg)
{
    real_vfs->xDlError(real_vfs, n, msg);
}
static void (*v_dlsym(sqlite3_vfs *vfs, void *h, const char *sym))(void)
{
    return real_vfs->xDlSym(real_vfs, h, sym);
}
static void v_dlclose(sqlite3_vfs *vfs, void *h)
{
    real_vfs->xDlClose(real_vfs, h);
}
static int v_random(sqlite3_vfs *vfs, int n, char *out)
{
    return real_vfs->xRandomness(real_vfs, n, out);
}
static int v_sleep(sqlite3_vfs *vfs, int us)
{
    return real_vfs->xSleep(real_vfs, us);
}
static int v_time(sqlite3_vfs *vfs, double *out)
{
    return real_vfs->xCurrentTime(real_vfs, out);
}
static int v_lasterr(sqlite3_vfs *vfs, int n, char *out)
{
    return real_vfs->xGetLastError(real_vfs, n, out);
}
static int v_time64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
    return real_vfs->xCurrentTimeInt64(real_vfs, out);
}

int faultvfs_install(void)
{
    if (real_vfs)
        return SQLITE_OK;
    real_vfs = sqlite3_vfs_find(NULL);
    if (!real_vfs)
        return SQLITE_ERROR;
    fault_io = (sqlite3_io_methods){
        .iVersion = 3,
        .xClose = f_close,
        .xRead = f_read,
        .xWrite = f_write,
        .xTruncate = f_truncate,
        .xSync = f_sync,
        .xFileSize = f_size,
        .xLock = f_lock,
        .xUnlock = f_unlock,
        .xCheckReservedLock = f_reserved,
        .xFileControl = f_fcntl,
        .xSectorSize = f_sector,
        .xDeviceCharacteristics = f_devchar,
        .xShmMap = f_shmmap,
        .xShmLock = f_shmlock,
        .xShmBarrier = f_shmbarrier,
        .xShmUnmap = f_shmunmap,
        .xFetch = f_fetch,
        .xUnfetch = f_unfetch,
    };
    fault_vfs = (sqlite3_vfs){
        .iVersion = 2,
        .szOsFile = (int)sizeof(ffile) + real_vfs->szOsFile,
        .mxPathname = real_vfs->mxPathname,
        .zName = "weft-fault",
        .xOpen = v_open,
        .xDelete = v_delete,
        .xAccess = v_access,
        .xFullPathname = v_fullpath,
        .xDlOpen = v_dlopen,
        .xDlError = v_dlerror,
        .xDlSym = v_dlsym,
        .xDlClose = v_dlclose,
        .xRandomness = v_random,
        .xSleep = v_sleep,
        .xCurrentTime = v_time,
        .xGetLastError = v_lasterr,
        .xCurrentTimeInt64 = v_time64,
    };
    return sqlite3_vfs_register(&fault_vfs, 1);
}
