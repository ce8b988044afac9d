/*
 * trace.h — an editing trace (josephg/editing-traces "sequential" format,
 * see /work/shared/traces/README.md) decoded into a compact edit list.
 *
 * Loading is not part of any timing: the replay loops read only these flat
 * arrays, so JSON and gzip costs never show up in the engine's numbers.
 */
#ifndef WEFT_BENCH_TRACE_H
#define WEFT_BENCH_TRACE_H

#include <stddef.h>
#include <stdint.h>

/* One splice: at code point `pos` delete `del` code points, then insert
 * text[off .. off+bytes) (UTF-8, `ins` code points). */
typedef struct trace_patch {
    uint32_t pos, del, ins;
    uint32_t bytes;
    size_t off;
} trace_patch;

typedef struct trace {
    trace_patch *patches;
    size_t npatches;
    /* txn i covers patches[txn_end[i-1] .. txn_end[i]) (txn_end[-1] = 0). */
    size_t *txn_end;
    size_t ntxns;
    char *text; /* every insert's bytes, back to back */
    size_t text_bytes;
    char *end; /* endContent, UTF-8, not NUL-terminated */
    size_t end_bytes;
    /* Statistics, for the report. */
    uint64_t ins_cps, del_cps;
    size_t multi_patch_txns;
    uint32_t end_cps;
} trace;

/* Error codes of trace_load (the bench's own; not WEFT_E_*). */
enum {
    TRACE_ENOENT = -1,  /* file does not exist */
    TRACE_EIO = -2,     /* unreadable or not gzip/JSON */
    TRACE_EFORMAT = -3, /* JSON that is not a trace */
    TRACE_ENOMEM = -4
};

/* Reads a gzip JSON trace into *t (caller-allocated; trace_cleanup frees
 * what it holds, also after a failure). On failure a message goes to err. */
int trace_load(trace *t, const char *path, char *err, size_t errlen);
void trace_cleanup(trace *t);

/* Code points in a UTF-8 string (counts non-continuation bytes). */
uint32_t trace_count_cps(const char *s, size_t bytes);

/* Reallocates *p (elements of elem bytes, capacity *cap) to hold at least
 * need, doubling from 1024: 0, or TRACE_ENOMEM with *p and *cap unchanged. */
int trace_grow(void **p, size_t *cap, size_t need, size_t elem);

#endif
