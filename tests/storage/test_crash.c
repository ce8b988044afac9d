/*
 * test_crash.c — kill -9 at random moments; nothing acknowledged is lost.
 *
 * Each round forks a writer, SIGKILLs it after a random 2..120 ms, reopens
 * the database (WAL recovery) and checks integrity, that every batch the
 * writer reported committed is present and byte-identical at a dense LSN,
 * that the round stored a whole prefix of the writer's seqs, and that
 * earlier rounds are untouched. The harness and the checks are in
 * crashkit.h.
 *
 * WEFT_CRASH_SEED and WEFT_CRASH_ROUNDS override the defaults.
 *
 * What this proves and what not: SIGKILL kills the process, not the
 * machine, so the kernel still writes back what the process wrote; this
 * checks SQLite's commit atomicity and our "report only after commit"
 * logic. Power loss is a different test (test_powerloss.c, and see
 * docs/storage.md).
 */
#include "crashkit.h"

int main(void)
{
    crashkit k;
    crashkit_init(&k, "crash", "WEFT_CRASH_SEED", "WEFT_CRASH_ROUNDS");
    for (int round = 0; round < k.rounds; round++) {
        crashkit_round r;
        crashkit_kill(&k, NULL, NULL, &r);
        if (!crashkit_check(&k, &r))
            continue;
        printf("round %2d: killed %3u ms after %s, %6zu acknowledged, %6zu stored\n", round,
               r.delay_ms, r.from_fork ? "fork " : "start", r.acked, r.stored);
    }
    printf("seed %llu: %d rounds, %zu acknowledged batches, %zu stored, all present\n",
           (unsigned long long)k.seed, k.rounds, k.total_reported, k.total_rows);
    CHECK(k.total_reported > 0);
    crashkit_cleanup(&k);
    return 0;
}
