/* snapshot.c — canonical runs, delete records and spans out; a document
 * rebuilt from them in. Loading checks that the pieces fit together, since
 * they come from disk or the network. */
#include "load_int.h"

void weft_run_iter_init(weft_run_iter *it, const weft_doc *d)
{
    it->doc = d;
    it->leaf = d->first_leaf;
    it->idx = 0;
}

static const run *iter_peek(weft_run_iter *it)
{
    const weft_doc *d = it->doc;
    while (it->leaf != NIL && it->idx >= d->leaves[it->leaf].n) {
        it->leaf = d->leaves[it->leaf].next;
        it->idx = 0;
    }
    return it->leaf == NIL ? NULL : &d->runs[d->leaves[it->leaf].r[it->idx]];
}

bool weft_run_iter_next(weft_run_iter *it, weft_run *out)
{
    const weft_doc *d = it->doc;
    const run *r = iter_peek(it);
    if (!r)
        return false;
    it->idx++;
    uint32_t agent = d->ag[r->slot].id;
    *out = (weft_run){agent,   r->seq, r->len, r->ol, r->or, r->deleted != 0, doc__run_text(d, r),
                      r->bytes};
    uint32_t slot = r->slot, text_end = r->text_off + r->bytes;
    const run *n;
    while ((n = iter_peek(it)) && n->slot == slot && n->seq == out->seq + out->len &&
           (n->deleted != 0) == out->deleted && n->ol.agent == agent && n->ol.seq == n->seq - 1 &&
           weft_id_eq(n->or, out->or) && n->text_off == text_end) {
        out->len += n->len;
        out->bytes += n->bytes;
        text_end += n->bytes;
        it->idx++;
    }
    return true;
}

/* Reverse records are shown as their single-char forward pieces, so the
 * public delete list is forward-only; sequential access is O(1). */
size_t weft_doc_del_count(const weft_doc *d)
{
    size_t n = 0;
    for (uint32_t i = 0; i < d->ndels; i++)
        n += d->dels[i].rev ? d->dels[i].len : 1;
    return n;
}

weft_del weft_doc_del_get(const weft_doc *d, size_t i)
{
    weft_doc *m = (weft_doc *)d; /* the cursor is a cache, not state */
    if (i < m->dget_i || m->dget_rec >= d->ndels) {
        m->dget_i = 0;
        m->dget_rec = 0;
        m->dget_off = 0;
    }
    while (m->dget_i < i && m->dget_rec < d->ndels) {
        const del_rec *r = &d->dels[m->dget_rec];
        if (r->rev && m->dget_off + 1 < r->len) {
            m->dget_off++;
        } else {
            m->dget_rec++;
            m->dget_off = 0;
        }
        m->dget_i++;
    }
    if (m->dget_rec >= d->ndels)
        return (weft_del){WEFT_ID_NONE, WEFT_ID_NONE, 0, false};
    const del_rec *r = &d->dels[m->dget_rec];
    uint32_t agent = d->ag[r->slot].id;
    if (!r->rev)
        return (weft_del){{agent, r->seq}, r->target, r->len, false};
    return (weft_del){
        {agent, r->seq + m->dget_off}, {r->target.agent, del__target_of(r, m->dget_off)}, 1, false};
}

size_t weft_doc_delrec_count(const weft_doc *d)
{
    return d->ndels;
}

weft_del weft_doc_delrec_get(const weft_doc *d, size_t i)
{
    if (i >= d->ndels)
        return (weft_del){WEFT_ID_NONE, WEFT_ID_NONE, 0, false};
    const del_rec *r = &d->dels[i];
    return (weft_del){{d->ag[r->slot].id, r->seq}, r->target, r->len, r->rev != 0};
}

size_t weft_doc_span_count(const weft_doc *d)
{
    return d->nspans;
}

weft_span weft_doc_span_get(const weft_doc *d, size_t i)
{
    const span_rec *s = &d->spans[i];
    return (weft_span){d->ag[s->slot].id, s->seq, s->len};
}

/* ---- loading -----------------------------------------------------------
 *
 * load_run and load_del only append to the run pool and the delete record
 * list: the pool of a new document is empty, so run handles are document
 * order. load_finish sorts every agent's entries (runs and delete records
 * by first seq) once and checks and builds everything from those arrays
 * (load_int.h). */

/* d->loading: 0 not loading, 1 loading, LOAD_FAILED after a failed
 * weft_doc_load_finish (the document is then only fit to be freed). */
#define LOAD_FAILED 2u

static int load_begin(weft_doc *d)
{
    if (d->loading)
        return d->loading == LOAD_FAILED ? WEFT_E_BADLOAD : 0;
    if (d->nspans || d->ndels || d->nruns || d->live_runs)
        return WEFT_E_BADLOAD;
    d->loading = 1;
    return 0;
}

int weft_doc_load_reserve(weft_doc *d, size_t runs, size_t dels, size_t bytes)
{
    int rc = load_begin(d);
    if (rc)
        return rc;
    if (runs > UINT32_MAX / 2 || dels > UINT32_MAX / 2 || bytes > UINT32_MAX / 2 ||
        doc__grow((void **)&d->runs, &d->runs_cap, (uint32_t)runs, sizeof(run)) ||
        doc__grow((void **)&d->dels, &d->dels_cap, (uint32_t)dels, sizeof(del_rec)) ||
        doc__grow((void **)&d->load_text, &d->load_text_cap, (uint32_t)bytes, 1))
        return WEFT_E_NOMEM;
    return 0;
}

/* The slot of an agent: the last one's, or doc__slot_get. */
static inline int load_slot(weft_doc *d, uint32_t agent, uint32_t *slot)
{
    if (d->ag_last < d->nag && d->ag[d->ag_last].id == agent) {
        *slot = d->ag_last;
        return 0;
    }
    return doc__slot_get(d, agent, slot);
}

int weft_doc_load_run(weft_doc *d, const weft_run *in)
{
    int rc = load_begin(d);
    if (rc)
        return rc;
    uint32_t cps, u16, slot, off;
    if (in->agent == WEFT_NONE || in->len == 0 || (uint64_t)in->seq + in->len >= UINT32_MAX ||
        (!in->text && in->bytes))
        return WEFT_E_BADLOAD;
    if ((rc = load_slot(d, in->agent, &slot)))
        return rc;
    /* duplicates and overlaps are caught by finish_sort */
    if (d->load_text_cap - d->load_text_n < in->bytes) {
        /* grow 4x (fewer copies by realloc), from 1 KiB */
        uint64_t need = (uint64_t)d->load_text_n + in->bytes,
                 nc = d->load_text_cap ? d->load_text_cap : 1024;
        if (need > UINT32_MAX / 2)
            return WEFT_E_NOMEM;
        while (nc < need)
            nc *= 4;
        if (nc > UINT32_MAX / 2)
            nc = UINT32_MAX / 2;
        if (doc__grow((void **)&d->load_text, &d->load_text_cap, (uint32_t)nc, 1))
            return WEFT_E_NOMEM;
    }
    /* copied before it is checked: load_text_n only moves past valid text */
    off = d->load_text_n;
    if (in->bytes == in->len && utf8__copy_is_ascii(d->load_text + off, in->text, in->bytes)) {
        cps = u16 = in->len;
    } else {
        if ((rc = weft_utf8_count(in->text, in->bytes, &cps, &u16)))
            return rc;
        if (cps != in->len)
            return WEFT_E_BADLOAD;
        if (in->bytes)
            memcpy(d->load_text + off, in->text, in->bytes);
    }
    d->load_text_n += in->bytes;
    agent_slot *a = &d->ag[slot];
    a->text_n += in->bytes;
    a->load_ents++;
    if (d->nruns == d->runs_cap &&
        doc__grow((void **)&d->runs, &d->runs_cap, d->nruns + 1, sizeof(run)))
        return WEFT_E_NOMEM;
    d->runs[d->nruns++] = (run){.slot = slot,
                                .seq = in->seq,
                                .len = in->len,
                                .ol = in->ol,
                                .or = in->or,
                                .text_off = off,
                                .bytes = in->bytes,
                                .u16 = u16,
                                .leaf = NIL,
                                .deleted = in->deleted};
    d->live_runs++;
    return 0;
}

/* Appends a delete record, merged into the last one by the rule of
 * doc__del_record (forward: one piece; reverse: char by char), without
 * indexing it: finish_sort indexes all of them. */
static int load_del_append(weft_doc *d, uint32_t slot, const weft_del *in)
{
    uint32_t seq = in->id.seq, len = in->len, tseq = in->target.seq;
    if (d->ndels > 0) {
        del_rec *l = &d->dels[d->ndels - 1];
        if (l->slot == slot && l->seq + l->len == seq && l->target.agent == in->target.agent) {
            uint32_t first = in->rev ? 1 : len; /* what arrives first */
            if ((!l->rev || l->len == 1) && l->target.seq + l->len == tseq) {
                l->rev = 0;
                l->len += first;
                if (first == len)
                    return 0;
                seq++; /* a reverse record's first char continued l forward */
                tseq--;
                len--;
            } else if ((l->rev || l->len == 1) && first == 1 && del__lo(l) == tseq + 1) {
                l->rev = 1;
                l->len += len; /* each char of a reverse record continues it */
                return 0;
            }
        }
    }
    if (d->ndels >= DEL_BIT - 1)
        return WEFT_E_OVERFLOW;
    if (d->ndels == d->dels_cap &&
        doc__grow((void **)&d->dels, &d->dels_cap, d->ndels + 1, sizeof(del_rec)))
        return WEFT_E_NOMEM;
    d->dels[d->ndels++] =
        (del_rec){slot, seq, (weft_id){in->target.agent, tseq}, len, in->rev && len > 1};
    d->ag[slot].load_ents++;
    return 0;
}

int weft_doc_load_del(weft_doc *d, const weft_del *in)
{
    int rc = load_begin(d);
    if (rc)
        return rc;
    uint32_t slot;
    if (in->id.agent == WEFT_NONE || in->target.agent == WEFT_NONE || in->len == 0 ||
        (uint64_t)in->id.seq + in->len >= UINT32_MAX ||
        (in->rev ? in->len < 2 || in->target.seq < in->len - 1 || in->target.seq >= UINT32_MAX - 1
                 : (uint64_t)in->target.seq + in->len >= UINT32_MAX))
        return WEFT_E_BADLOAD;
    if ((rc = load_slot(d, in->id.agent, &slot)))
        return rc;
    /* delete records of one agent are appended in seq order */
    if (d->ndels && d->dels[d->ndels - 1].slot == slot &&
        d->dels[d->ndels - 1].seq + d->dels[d->ndels - 1].len > in->id.seq)
        return WEFT_E_BADLOAD;
    return load_del_append(d, slot, in);
}

int weft_doc_load_span(weft_doc *d, const weft_span *in)
{
    int rc = load_begin(d);
    if (rc)
        return rc;
    uint32_t slot;
    if (in->agent == WEFT_NONE || in->len == 0 || (uint64_t)in->seq + in->len >= UINT32_MAX)
        return WEFT_E_BADLOAD;
    if ((rc = load_slot(d, in->agent, &slot)))
        return rc;
    if (d->ag[slot].load_next != in->seq)
        return WEFT_E_BADLOAD;
    d->ag[slot].load_next += in->len;
    return doc__span_record(d, slot, in->seq, in->len);
}

/* Every agent's entries, key << 32 | val (key: first seq; val: run handle
 * or DEL_BIT | record), sorted by key: agent slot s holds [at[s],
 * at[s+1]). */
typedef struct sorted {
    uint64_t *ent;
    uint32_t *at;
    uint64_t *work; /* scratch of the sort */
} sorted;

#define ENT_KEY(e) ((uint32_t)((e) >> 32))
#define ENT_VAL(e) ((uint32_t)(e))

static void sorted_free(sorted *t)
{
    free(t->ent);
    free(t->at);
    free(t->work);
}

#define RADIX_BITS 11
#define RADIX_MASK ((1u << RADIX_BITS) - 1)

/* Sorts e[0..n) by key (LSD radix, 11 bits a pass, as many passes as the
 * key bound max needs), tmp as scratch of the same size. Keys above max
 * leave e in some order: callers pass a bound every valid key meets and
 * fail the load on a key above it whatever the order. */
static void radix_sort(uint64_t *e, uint64_t *tmp, uint32_t n, uint32_t max)
{
    if (n < 32) { /* insertion sort */
        for (uint32_t i = 1; i < n; i++) {
            uint64_t x = e[i];
            uint32_t j = i;
            for (; j > 0 && ENT_KEY(e[j - 1]) > ENT_KEY(x); j--)
                e[j] = e[j - 1];
            e[j] = x;
        }
        return;
    }
    /* digits as even as the key bits allow: 18 bits sort in 2 passes of 9 */
    unsigned bits = 0, passes, width;
    while (bits < 32 && (max >> bits) != 0)
        bits++;
    passes = (bits + RADIX_BITS - 1) / RADIX_BITS;
    width = passes ? (bits + passes - 1) / passes : 0;
    uint64_t *src = e, *dst = tmp, mask = ((uint64_t)1 << width) - 1;
    for (unsigned p = 0, shift = 32; p < passes; p++, shift += width) {
        uint32_t cnt[RADIX_MASK + 1] = {0}, sum = 0;
        for (uint32_t i = 0; i < n; i++)
            cnt[src[i] >> shift & mask]++;
        for (uint32_t b = 0; b <= mask; b++) {
            uint32_t c = cnt[b];
            cnt[b] = sum;
            sum += c;
        }
        for (uint32_t i = 0; i < n; i++)
            dst[cnt[src[i] >> shift & mask]++] = src[i];
        uint64_t *x = src;
        src = dst;
        dst = x;
    }
    if (src != e)
        memcpy(e, src, n * sizeof *e);
}

/* One agent's sorted entries: they cover [0, n) exactly, in order, with n
 * where its spans end (sets next_seq); in the same walk its text is laid
 * out in seq order (so adjacent runs can merge) in an arena of its own. */
static int finish_agent(weft_doc *d, const sorted *t, uint32_t s)
{
    agent_slot *a = &d->ag[s];
    char *txt = malloc(a->text_n ? a->text_n : 1);
    uint32_t expect = 0, n = 0, pv = DEL_BIT; /* the entry before's value */
    if (!txt)
        return WEFT_E_NOMEM;
    for (uint32_t e = t->at[s]; e < t->at[s + 1]; e++) {
        uint32_t v = ENT_VAL(t->ent[e]);
        if (ENT_KEY(t->ent[e]) != expect) {
            free(txt);
            return WEFT_E_BADLOAD;
        }
        if (v & DEL_BIT) {
            expect += d->dels[v & ~DEL_BIT].len;
            pv = v;
            continue;
        }
        run *r = &d->runs[v];
        /* origin-left the char just before in seq (the right half of a
         * split): the entry before holds it; origins_run skips these */
        if (r->ol.agent == a->id && r->ol.seq + 1 == r->seq && ((pv & DEL_BIT) || pv >= v)) {
            free(txt);
            return WEFT_E_BADLOAD;
        }
        pv = v;
        expect += r->len;
        memcpy(txt + n, d->load_text + r->text_off, r->bytes);
        r->text_off = n;
        n += r->bytes;
    }
    free(a->text);
    a->text = txt;
    a->text_cap = a->text_n ? a->text_n : 1;
    a->next_seq = expect;
    return a->load_next == expect ? 0 : WEFT_E_BADLOAD;
}

/* Gathers and sorts every agent's entries and checks and lays them out
 * (finish_agent). */
static int finish_sort(weft_doc *d, sorted *t)
{
    uint32_t n = d->nruns + d->ndels; /* both < 2^31 */
    uint64_t *tmp = t->work = malloc(((size_t)n + 1) * sizeof *tmp);
    uint32_t *fill = malloc(((size_t)d->nag + 1) * sizeof *fill);
    t->ent = malloc(((size_t)n + 1) * sizeof *t->ent);
    t->at = calloc((size_t)d->nag + 1, sizeof *t->at);
    int rc = 0;
    if (!tmp || !fill || !t->ent || !t->at) {
        rc = WEFT_E_NOMEM;
        goto out;
    }
    for (uint32_t s = 0; s < d->nag; s++) {
        t->at[s + 1] = d->ag[s].load_ents; /* counted as they were appended */
        t->at[s + 1] += t->at[s];
        fill[s] = t->at[s];
    }
    for (uint32_t h = 0; h < d->nruns; h++)
        t->ent[fill[d->runs[h].slot]++] = (uint64_t)d->runs[h].seq << 32 | h;
    for (uint32_t i = 0; i < d->ndels; i++)
        t->ent[fill[d->dels[i].slot]++] = (uint64_t)d->dels[i].seq << 32 | DEL_BIT | i;
    for (uint32_t s = 0; s < d->nag && !rc; s++) {
        /* a valid agent's keys are below load_next (finish_agent) */
        radix_sort(t->ent + t->at[s], tmp, t->at[s + 1] - t->at[s],
                   d->ag[s].load_next ? d->ag[s].load_next - 1 : 0);
        rc = finish_agent(d, t, s);
    }
out:
    free(fill);
    return rc;
}

#define BAD_ORIGIN (NIL - 1)

/* The slot whose entries must resolve origin id (not none), BAD_ORIGIN
 * for an ID that does not exist. origins_run asks only for the origins
 * that are not the last char of the run before / the first of the run
 * after (inserted chars on the right side: nothing to look up). */
static inline uint32_t origin_slot(const weft_doc *d, weft_id id)
{
    uint32_t s = d->ag_last < d->nag && d->ag[d->ag_last].id == id.agent
                     ? d->ag_last
                     : doc__slot_find(d, id.agent);
    return s == NIL || id.seq >= d->ag[s].next_seq ? BAD_ORIGIN : s;
}

/* The entry (index in slot s's sorted entries k[0..cnt)) holding seq:
 * the last one with key <= seq, found by a branch-free binary search
 * between the entries holding the starts of seq's 64-seq block and of the
 * next (nb blocks in all). seq < next_seq < UINT32_MAX: seq + 1 does not
 * wrap, and the entries tile [0, next_seq) (finish_agent). */
static inline uint32_t origin_entry(const uint64_t *k, uint32_t cnt, const uint32_t *blk,
                                    uint32_t nb, uint32_t seq)
{
    uint32_t b = seq / 64, e = blk[b], n = (b + 1 < nb ? blk[b + 1] : cnt - 1) - e + 1;
    uint64_t lim = (uint64_t)(seq + 1) << 32;
    while (n > 1) { /* k[e] < lim; the answer is in e .. e + n - 1 */
        uint32_t half = n / 2;
        e = k[e + half] < lim ? e + half : e;
        n -= half;
    }
    return e;
}

/* The entry value (run handle, or DEL_BIT | delete record) holding origin
 * id, or BAD_ORIGIN for an ID that does not exist. */
static inline uint32_t origin_val(const weft_doc *d, const sorted *t, const uint32_t *blk,
                                  const size_t *base, weft_id id)
{
    uint32_t s = origin_slot(d, id);
    if (s == BAD_ORIGIN)
        return BAD_ORIGIN;
    const uint64_t *k = t->ent + t->at[s];
    return ENT_VAL(k[origin_entry(k, t->at[s + 1] - t->at[s], blk + base[s],
                                  (uint32_t)(base[s + 1] - base[s]), id.seq)]);
}

/* Origins exist, are inserted chars, and lie on the right sides (handles
 * are document order). The ones origin_slot cannot settle are resolved
 * at once through a table per agent: for each 64-seq block, the entry
 * holding its first seq. finish_tree checks each run as it places it
 * (one walk over the runs for both). */
typedef struct origins {
    const sorted *t;
    size_t *base; /* first block of each agent slot */
    uint32_t *blk;
} origins;

static int origins_begin(const weft_doc *d, const sorted *t, origins *ox)
{
    size_t nb = 0;
    for (uint32_t s = 0; s < d->nag; s++)
        nb += d->ag[s].next_seq / 64 + 1;
    ox->t = t;
    ox->base = malloc(((size_t)d->nag + 1) * sizeof *ox->base);
    ox->blk = malloc((nb ? nb : 1) * sizeof *ox->blk);
    if (!ox->base || !ox->blk)
        return WEFT_E_NOMEM;
    size_t b0 = 0;
    for (uint32_t s = 0; s < d->nag; s++) {
        const uint64_t *k = t->ent + t->at[s];
        uint32_t cnt = t->at[s + 1] - t->at[s], nbs = d->ag[s].next_seq / 64 + 1, e = 0;
        ox->base[s] = b0;
        for (uint32_t b = 0; b < nbs; b++) {
            uint64_t lim = ((uint64_t)b * 64 + 1) << 32;
            while (e + 1 < cnt && k[e + 1] < lim)
                e++;
            ox->blk[b0 + b] = e;
        }
        b0 += nbs;
    }
    ox->base[d->nag] = b0;
    return 0;
}

static void origins_end(origins *ox)
{
    free(ox->base);
    free(ox->blk);
}

/* Whether run h's origins are right: origin-left the last char of the run
 * before or an inserted char further left, origin-right the first char of
 * the run after or an inserted char further right (it may sit inside a
 * run: the halves of a split merge back). */
static inline bool origins_run(const weft_doc *d, const origins *ox, uint32_t h)
{
    const run *r = &d->runs[h];
    weft_id id = r->ol;
    if (id.agent != WEFT_NONE) {
        const run *p = h ? r - 1 : NULL;
        uint32_t agent = d->ag[r->slot].id;
        if ((!p || id.agent != d->ag[p->slot].id || id.seq != p->seq + p->len - 1) &&
            !(id.agent == agent && id.seq + 1 == r->seq)) { /* finish_agent checked those */
            uint32_t o = origin_val(d, ox->t, ox->blk, ox->base, id);
            if (o == BAD_ORIGIN || (o & DEL_BIT) || o >= h)
                return false;
        }
    }
    id = r->or;
    if (id.agent != WEFT_NONE) {
        const run *x = h + 1 < d->nruns ? r + 1 : NULL;
        if (!x || id.agent != d->ag[x->slot].id || id.seq != x->seq) {
            uint32_t o = origin_val(d, ox->t, ox->blk, ox->base, id);
            if (o == BAD_ORIGIN || (o & DEL_BIT) || o <= h)
                return false;
        }
    }
    return true;
}

/* Whether the tombstones are exactly the chars the delete records target.
 * Targets are marked in one bitmap per agent (seq space); then every
 * deleted run must be fully marked, every live run unmarked, and the marks
 * must all fall in deleted runs (their count equals the tombstones'). */
/* Bits [lo, hi) of word w (whose bits are w*64 .. w*64+63). */
static uint64_t range_mask(uint32_t w, uint32_t lo, uint32_t hi)
{
    uint32_t a = w * 64 > lo ? 0 : lo - w * 64, z = (w + 1) * 64 < hi ? 64 : hi - w * 64;
    uint64_t top = z == 64 ? ~(uint64_t)0 : (((uint64_t)1 << z) - 1);
    return top & ~(((uint64_t)1 << a) - 1);
}

static unsigned popcount64(uint64_t x) /* no libcall without -mpopcnt */
{
    x = x - ((x >> 1) & 0x5555555555555555u);
    x = (x & 0x3333333333333333u) + ((x >> 2) & 0x3333333333333333u);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fu;
    return (unsigned)((x * 0x0101010101010101u) >> 56);
}

/* Sets bits [lo, hi) of b (lo < hi); how many were clear. */
static uint64_t mark_range(uint64_t *b, uint32_t lo, uint32_t hi)
{
    uint32_t w = lo / 64, last = (hi - 1) / 64;
    if (w == last) { /* the usual case: one word */
        uint64_t m = (~(uint64_t)0 >> (64 - (hi - lo))) << (lo % 64);
        /* a char deleted twice (concurrent deletes) is rare */
        uint64_t fresh = (b[w] & m) ? popcount64(m & ~b[w]) : hi - lo;
        b[w] |= m;
        return fresh;
    }
    uint64_t fresh = 0;
    for (; w <= last; w++) {
        uint64_t m = range_mask(w, lo, hi);
        fresh += popcount64(m & ~b[w]);
        b[w] |= m;
    }
    return fresh;
}

/* Whether bits [seq, seq+len) of b are all set (want) or all clear. */
static bool run_marks(const uint64_t *b, const run *r, bool want)
{
    uint32_t lo = r->seq, hi = r->seq + r->len, w = lo / 64, last = (hi - 1) / 64;
    if (w == last) {
        uint64_t m = (~(uint64_t)0 >> (64 - (hi - lo))) << (lo % 64);
        return (b[w] & m) == (want ? m : 0);
    }
    for (; w <= last; w++) {
        uint64_t m = range_mask(w, lo, hi);
        if ((b[w] & m) != (want ? m : 0))
            return false;
    }
    return true;
}

/* The proof in three steps, so that loading checks the runs in the walk
 * that builds the tree: tombs_mark marks every target, tombs_run checks
 * one run, tombs_done compares the counts and frees. */
typedef struct tombs {
    uint64_t *bits;
    size_t *base; /* first word of each agent slot */
    uint64_t targeted, tomb;
    bool ok;
} tombs;

static void tombs_mark(const weft_doc *d, tombs *tb)
{
    size_t words = 0;
    for (uint32_t s = 0; s < d->nag; s++)
        words += d->ag[s].next_seq / 64 + 1;
    tb->bits = calloc(words, sizeof *tb->bits);
    tb->base = malloc(((size_t)d->nag + 1) * sizeof *tb->base);
    tb->targeted = tb->tomb = 0;
    tb->ok = tb->bits && tb->base;
    for (size_t s = 0, w = 0; tb->ok && s < d->nag; s++) {
        tb->base[s] = w;
        w += d->ag[s].next_seq / 64 + 1;
    }
    uint32_t last_agent = WEFT_NONE, ts = NIL;
    for (uint32_t i = 0; tb->ok && i < d->ndels; i++) {
        const del_rec *r = &d->dels[i];
        if (r->target.agent != last_agent) {
            last_agent = r->target.agent;
            ts = doc__slot_find(d, last_agent);
        }
        if (ts == NIL || (r->rev && r->target.seq < r->len - 1) ||
            (uint64_t)del__lo(r) + r->len > d->ag[ts].next_seq) {
            tb->ok = false;
            break;
        }
        tb->targeted += mark_range(tb->bits + tb->base[ts], del__lo(r), del__lo(r) + r->len);
    }
}

static inline void tombs_run(tombs *tb, const run *r)
{
    if (tb->ok)
        tb->ok = run_marks(tb->bits + tb->base[r->slot], r, r->deleted != 0);
    tb->tomb += r->deleted ? r->len : 0;
}

/* tombs_run for loading, where finish_agent has proved that every agent's
 * runs tile its seqs without overlap: only deleted runs need a look. If
 * each is fully marked, the marks cover the tombstones, which are distinct
 * chars; tombs_done's count (distinct marks == tombstones) then leaves no
 * mark on a live run or outside the runs. */
static inline void tombs_run_tiled(tombs *tb, const run *r)
{
    if (r->deleted) {
        tb->tomb += r->len;
        if (!tb->ok) /* the bitmap may be missing */
            return;
        const uint64_t *b = tb->bits + tb->base[r->slot];
        uint32_t lo = r->seq, hi = lo + r->len, w = lo / 64;
        if (w == (hi - 1) / 64) { /* the usual case: one word, here */
            uint64_t m = (~(uint64_t)0 >> (64 - (hi - lo))) << (lo % 64);
            tb->ok = (b[w] & m) == m;
        } else {
            tb->ok = run_marks(b, r, true);
        }
    }
}

static bool tombs_done(tombs *tb)
{
    free(tb->bits);
    free(tb->base);
    return tb->ok && tb->targeted == tb->tomb;
}

bool doc__tombs_exact(const weft_doc *d)
{
    tombs tb;
    tombs_mark(d, &tb);
    for (uint32_t lf = d->first_leaf; tb.ok && lf != NIL; lf = d->leaves[lf].next)
        for (uint32_t i = 0; i < d->leaves[lf].n; i++)
            tombs_run(&tb, &d->runs[d->leaves[lf].r[i]]);
    return tombs_done(&tb);
}


/* Builds the content tree over runs 0 .. nruns-1 in that order: full
 * leaves, full inner nodes, every leaf at one depth. The document's tree
 * is the empty one of tree__init (one leaf, no inner nodes). */
static int finish_tree(weft_doc *d, tombs *tb, const origins *ox)
{
    bool ok = true;
    uint32_t n = d->nruns, nl = (n + LEAF_MAX - 1) / LEAF_MAX;
    if (n == 0)
        return 0;
    if (doc__grow((void **)&d->leaves, &d->leaves_cap, nl, sizeof(leaf)))
        return WEFT_E_NOMEM;
    uint32_t cp = 0, u16 = 0;
    for (uint32_t l = 0; l < nl; l++) {
        leaf *L = &d->leaves[l];
        memset(L, 0, sizeof *L);
        L->parent = NIL;
        L->prev = l ? l - 1 : NIL;
        L->next = l + 1 < nl ? l + 1 : NIL;
        for (uint32_t h = l * LEAF_MAX; h < n && L->n < LEAF_MAX; h++) {
            run *r = &d->runs[h];
            tombs_run_tiled(tb, r);
            ok &= origins_run(d, ox, h);
            r->leaf = l;
            L->r[L->n] = h;
            L->vcp[L->n++] = r->deleted ? 0 : r->len;
            L->cp += r->deleted ? 0 : r->len;
            L->u16 += r->deleted ? 0 : r->u16;
        }
        cp += L->cp;
        u16 += L->u16;
    }
    d->nleaves = nl;
    if (!ok)
        return WEFT_E_BADLOAD;
    d->first_leaf = 0;
    d->last_leaf = nl - 1;
    /* levels of inner nodes above [lo, lo + cnt) until one node is left */
    uint32_t lo = 0, cnt = nl, height = 0;
    while (cnt > 1) {
        uint32_t ni = (cnt + INNER_MAX - 1) / INNER_MAX, base = d->ninners;
        if (doc__grow((void **)&d->inners, &d->inners_cap, base + ni, sizeof(inner)))
            return WEFT_E_NOMEM;
        for (uint32_t i = 0; i < ni; i++) {
            inner *P = &d->inners[base + i];
            memset(P, 0, sizeof *P);
            P->parent = NIL;
            for (uint32_t c = lo + i * INNER_MAX; c < lo + cnt && P->n < INNER_MAX; c++) {
                if (height == 0) {
                    leaf *L = &d->leaves[c];
                    L->parent = base + i;
                    L->pidx = P->n;
                    P->cp[P->n] = L->cp;
                    P->u16[P->n] = L->u16;
                } else {
                    inner *C = &d->inners[c];
                    C->parent = base + i;
                    C->pidx = P->n;
                    for (uint32_t k = 0; k < C->n; k++) {
                        P->cp[P->n] += C->cp[k];
                        P->u16[P->n] += C->u16[k];
                    }
                }
                P->child[P->n++] = c;
            }
        }
        d->ninners = base + ni;
        lo = base;
        cnt = ni;
        height++;
    }
    d->root = lo;
    d->height = height;
    d->len_cp = cp;
    d->len_u16 = u16;
    d->cache_leaf = d->typing = d->finger = NIL;
    d->hint = 0;
    d->nsplit = 0;
    return 0;
}

/* Builds each agent's ID index from its sorted entries. */
static int finish_index(weft_doc *d, const sorted *t)
{
    for (uint32_t s = 0; s < d->nag; s++) {
        int rc = idx__build(&d->ag[s].idx, t->ent + t->at[s], t->at[s + 1] - t->at[s]);
        if (rc)
            return rc;
    }
    return 0;
}

int weft_doc_load_finish(weft_doc *d)
{
    if (!d->loading)
        return d->nspans || d->live_runs ? WEFT_E_BADLOAD : 0;
    if (d->loading == LOAD_FAILED)
        return WEFT_E_BADLOAD;
    sorted t = {NULL, NULL, NULL};
    origins ox = {&t, NULL, NULL};
    int rc = finish_sort(d, &t);
    free(t.work); /* the tree and the indexes may reuse it */
    t.work = NULL;
    free(d->load_text); /* every agent's text is in its own arena now */
    d->load_text = NULL;
    d->load_text_n = d->load_text_cap = 0;
    if (!rc)
        rc = origins_begin(d, &t, &ox);
    if (!rc) { /* deletes target tombstones, and only those are deleted */
        tombs tb;
        tombs_mark(d, &tb);
        rc = finish_tree(d, &tb, &ox);
        if (!tombs_done(&tb) && !rc)
            rc = WEFT_E_BADLOAD;
    }
    origins_end(&ox);
    if (!rc)
        rc = finish_index(d, &t);
    sorted_free(&t);
    if (rc) {
        d->loading = LOAD_FAILED; /* half rebuilt: not to be loaded into again */
        return rc;
    }
    d->loading = 0; /* runs from weft_run_iter are canonical: nothing to merge */
    return 0;
}

