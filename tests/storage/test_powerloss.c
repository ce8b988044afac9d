/*
 * test_powerloss.c — kill -9 plus a simulated power cut; nothing acknowledged
 * is lost.
 *
 * Like test_crash.c, but the child's SQLite goes through plossvfs.c, which
 * logs an undo record before every write and a mark at every fsync. After
 * the kill the parent undoes, per file, a random part of what was written
 * since that file's last fsync (the disk lost its cache), then checks the
 * same promises as test_crash.c (see crashkit.h). This is the test that
 * fails if a commit is acknowledged before its fsync (synchronous=NORMAL
 * fails it at once).
 *
 * WEFT_PLOSS_SEED and WEFT_PLOSS_ROUNDS override the defaults.
 */
#include <sqlite3.h>

#include "crashkit.h"
#include "plossvfs.h"

/* In the child, before it opens the store: write through plossvfs. */
static int install_ploss(void *log_path)
{
    return plossvfs_install(log_path) != SQLITE_OK;
}

int main(void)
{
    crashkit k;
    char log_path[512];
    crashkit_init(&k, "ploss", "WEFT_PLOSS_SEED", "WEFT_PLOSS_ROUNDS");
    snprintf(log_path, sizeof log_path, "%s/undo.log", k.dir);

    size_t total_undone = 0;
    for (int round = 0; round < k.rounds; round++) {
        crashkit_round r;
        crashkit_kill(&k, install_ploss, log_path, &r);
        long undone = plossvfs_power_cut(log_path, k.seed + (uint64_t)round);
        CHECK(undone >= 0);
        total_undone += (size_t)undone;
        if (!crashkit_check(&k, &r))
            continue;
        printf("round %2d: killed %3u ms after %s, %5ld writes lost, %6zu acknowledged, %6zu "
               "stored\n",
               round, r.delay_ms, r.from_fork ? "fork " : "start", undone, r.acked, r.stored);
    }
    printf("seed %llu: %d rounds, %zu unsynced writes lost, %zu acknowledged batches, %zu "
           "stored, all present\n",
           (unsigned long long)k.seed, k.rounds, total_undone, k.total_reported, k.total_rows);
    CHECK(total_undone > 0);
    CHECK(k.total_reported > 0);
    crashkit_cleanup(&k);
    return 0;
}
