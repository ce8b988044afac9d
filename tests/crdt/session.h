/*
 * session.h — a seeded multi-replica editing session: every replica is an
 * engine document, its oracle twin and an editor mirror. Local edits are
 * compared op-for-op with what the oracle would generate; deliveries go to
 * both the engine and the twin, with return codes compared; after every
 * step the engine is checked (weft_doc_check), against its twin (text,
 * runs, version, parked count) and against its patched editor mirror.
 */
#ifndef WEFT_SESSION_H
#define WEFT_SESSION_H

#include "eng.h"

enum { SESSION_MAX = 6 };

typedef struct replica {
    weft_doc *d;
    oracle *o;
    mirror m;
    uint32_t agent;
} replica;

typedef struct session {
    rng r;
    size_t n;
    replica rep[SESSION_MAX];
    toplist pool; /* every op generated so far, generation order */
    /* knobs */
    uint32_t p_delete; /* percent of edits that delete */
    uint32_t p_back;   /* percent of inserts typed backwards */
    uint32_t max_text; /* code points per insert */
    bool random_order; /* deliveries may break causality (parking) */
    bool duplicates;   /* deliveries may repeat ops */
    bool check_each;   /* full engine-vs-oracle comparison after each step */
    unsigned long steps;
} session;

void session_init(session *s, size_t n, uint64_t seed);
void session_free(session *s);
/* Local edits on replica i, checked against the pinned rule. */
void session_insert(session *s, size_t i, uint32_t pos, const char *text, size_t bytes);
void session_delete(session *s, size_t i, uint32_t pos, uint32_t len);
/* One random local edit on replica i. */
void session_edit(session *s, size_t i);
/* Delivers a random selection of the pool to replica i. */
void session_deliver_some(session *s, size_t i);
/* Delivers one op to replica i (engine and twin), comparing outcomes. */
int session_deliver(session *s, size_t i, const weft_op *op);
/* A random edit or delivery. */
void session_step(session *s);
/* Delivers everything to everyone; CHECKs all replicas are identical. */
void session_converge(session *s);
/* Full comparison of replica i with its twin and mirror. */
void session_check(session *s, size_t i);
/* Random position conversions, id_at and deleter vs the oracle. */
void session_check_positions(session *s, size_t i);

#endif
