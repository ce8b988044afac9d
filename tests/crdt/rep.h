/*
 * rep.h — a replica behind a small vtable, so the brief's scenarios are
 * written once and run against both the reference oracle and the engine.
 * Every replica keeps the ops it generated (`own`) and every op it knows in
 * apply order (`log`, a causal order), which is what sync() delivers.
 */
#ifndef WEFT_REP_H
#define WEFT_REP_H

#include "oracle.h"

typedef struct rep rep;

typedef struct rep_vt {
    const char *name;
    int (*insert)(rep *r, uint32_t pos, const char *s, size_t n, toplist *out);
    int (*del)(rep *r, uint32_t pos, uint32_t len, toplist *out);
    int (*apply)(rep *r, const weft_op *op);
    void (*text)(const rep *r, sbuf *b);
    uint32_t (*next_seq)(const rep *r, uint32_t agent);
    size_t (*runs)(const rep *r, orun **out);
    void (*destroy)(rep *r);
} rep_vt;

struct rep {
    const rep_vt *vt;
    void *impl;
    uint32_t agent;
    toplist own, log;
};

typedef rep *(*rep_factory)(uint32_t agent);

rep *rep_oracle_new(uint32_t agent);
rep *rep_engine_new(uint32_t agent); /* eng.c */
void rep_free(rep *r);

/* Local edits; CHECK that they succeed. */
void rep_ins(rep *r, uint32_t pos, const char *s);
/* Types each code point of s at the same pos (right-to-left typing). */
void rep_ins_back(rep *r, uint32_t pos, const char *s);
void rep_del(rep *r, uint32_t pos, uint32_t len);
/* Delivers to dst every op of src's log that dst lacks (causal order). */
void rep_sync(rep *dst, const rep *src);
/* Syncs every pair until nothing changes. */
void rep_merge_all(rep **reps, size_t n);
/* CHECKs the visible text. */
void rep_expect(const rep *r, const char *want, const char *file, int line);
#define REP_EXPECT(r, want) rep_expect((r), (want), __FILE__, __LINE__)

/* Run-list comparison: 0 if equal, else prints the difference. */
int runs_compare(const orun *a, size_t na, const orun *b, size_t nb, const char *what);
void runs_print(FILE *f, const orun *r, size_t n);

/* ---- the brief's §10 scenarios (1-14, 6 twice) ---- */
typedef struct scenario {
    const char *name;
    const char *expect;
    /* Creates its replicas with mk into reps[] (returns how many), runs the
     * script; the caller merges everything and checks `expect`. */
    size_t (*run)(rep_factory mk, rep **reps);
} scenario;

extern const scenario scenarios[];
extern const size_t n_scenarios;

/* Runs one scenario with mk: script, final merge, expected text on every
 * replica, identical runs on every replica. The union of all generated ops
 * is appended to ops (may be NULL). */
void scenario_run(const scenario *sc, rep_factory mk, toplist *ops);

/* ---- delivery orders (scenario 15) ---- */
/* deps[i] = bitmask of ops (indices < 64) op i needs first. n <= 64. */
void op_deps(const toplist *ops, uint64_t *deps);
/* A random dependency-respecting order of n ops into perm. */
void random_order(rng *r, const uint64_t *deps, size_t n, size_t *perm);
/* Calls fn for every dependency-respecting order; returns the count. */
size_t all_orders(const uint64_t *deps, size_t n,
                  void (*fn)(const size_t *perm, size_t n, void *ctx), void *ctx);

#endif
