/*
 * crashkit.h — the kill -9 harness behind test_crash.c and test_powerloss.c.
 *
 * Each round forks a child that allocates a fresh agent and appends batches
 * (groups of 1..64 per "turn", with a snapshot now and then) as fast as it
 * can, reporting every acknowledged batch on a pipe as soon as its
 * completion arrives. The parent SIGKILLs it after a random 2..120 ms (one
 * round in four counted from the fork, the others from the child's first
 * report). The test may then damage the files further (test_powerloss.c
 * cuts the power), and the parent reopens the database (WAL recovery) and
 * checks:
 *
 *  - PRAGMA integrity_check is "ok";
 *  - every reported batch is present, byte-identical, at a dense LSN;
 *  - what the round stored is a prefix 0..m-1 of the agent's seqs (commits
 *    are whole: no batch from the middle of a group without its
 *    predecessors), each row byte-identical to what the child generated;
 *  - every snapshot is byte-identical to what its writer generated;
 *  - earlier rounds' rows are untouched (the head only grows).
 *
 * A round is crashkit_kill() then crashkit_check(); a failed check exits.
 */
#ifndef WEFT_STORE_TEST_CRASHKIT_H
#define WEFT_STORE_TEST_CRASHKIT_H

#include "test_util.h"

/* One line on the pipe: the child's agent with seq UINT32_MAX first, then
 * one per acknowledged batch. */
typedef struct crashkit_report {
    uint32_t agent, seq;
} crashkit_report;

/* Caller-allocated: crashkit_init() / crashkit_cleanup(). */
typedef struct crashkit {
    char dir[256], path[512]; /* a fresh temporary directory; the database in it */
    uint64_t seed;            /* from the seed variable, or the default */
    int rounds;               /* from the rounds variable, or the default */
    weft_store_doc doc;
    uint64_t rng;  /* draws the kill timing */
    uint64_t head; /* the last LSN stored by the rounds so far */
    crashkit_report *reps;
    size_t cap;
    size_t total_reported, total_rows;
} crashkit;

/* What one round did. */
typedef struct crashkit_round {
    uint32_t delay_ms;
    bool from_fork; /* the delay counted from the fork, not the first report */
    size_t reports; /* lines read, the agent's included; 0: killed before it */
    size_t acked;   /* batches reported committed (set by crashkit_check) */
    size_t stored;  /* rows the round left in the database (likewise) */
} crashkit_round;

/* Runs in the child before it opens the store; nonzero makes it _exit(9). */
typedef int (*crashkit_setup_fn)(void *ctx);

/* Makes the directory "<tag>" (database "<tag>.db") and the document; reads
 * the seed and the round count from the two environment variables. */
void crashkit_init(crashkit *k, const char *tag, const char *seed_env, const char *rounds_env);

/* Forks the writer (setup, may be NULL, runs first in the child), reads its
 * reports, SIGKILLs it at the drawn moment and reaps it. */
void crashkit_kill(crashkit *k, crashkit_setup_fn setup, void *ctx, crashkit_round *r);

/* Checks the database after the round (see the top) and advances the head.
 * Returns false, having checked only integrity and that it opens, when the
 * child died before it reported its agent. */
bool crashkit_check(crashkit *k, crashkit_round *r);

/* Frees the reports and removes the directory. */
void crashkit_cleanup(crashkit *k);

#endif
