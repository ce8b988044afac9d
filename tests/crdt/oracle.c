/*
 * oracle.c — per-character FugueMax reference model (see oracle.h).
 *
 * State: a pool of items (one per inserted code point, never freed), an
 * array `order` of pool indices in document order (tombstones included),
 * and per agent a table seq -> what that seq was (an inserted char or a
 * deleted target). Every operation is a linear scan; clarity over speed.
 */
#include "oracle.h"

#include <stdlib.h>
#include <string.h>

typedef struct oitem {
    weft_id id, ol, or ;
    uint32_t cp;
    uint32_t stamp;
    weft_id *dels; /* every deleter, in apply order */
    uint32_t ndels, capdels;
} oitem;

enum { K_INS = 0, K_DEL = 1 };

typedef struct oent {
    uint8_t kind;
    uint32_t item;  /* K_INS: pool index */
    weft_id target; /* K_DEL: the char this seq deleted */
} oent;

typedef struct oagent {
    uint32_t agent;
    uint32_t n, cap; /* n == next seq */
    oent *e;
} oagent;

struct oracle {
    uint32_t me;
    oitem *items;
    size_t nitems, capitems;
    uint32_t *order; /* nitems entries */
    oagent *agents;  /* sorted by agent */
    size_t nagents, capagents;
    toplist parked;
    uint32_t stamp;
};

static void *ocalloc(size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz);
    if (!p) {
        fprintf(stderr, "oracle: out of memory\n");
        exit(2);
    }
    return p;
}

static void *orealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p) {
        fprintf(stderr, "oracle: out of memory\n");
        exit(2);
    }
    return p;
}

oracle *oracle_new(uint32_t agent)
{
    oracle *o = ocalloc(1, sizeof *o);
    o->me = agent;
    toplist_init(&o->parked);
    return o;
}

void oracle_free(oracle *o)
{
    if (!o)
        return;
    for (size_t i = 0; i < o->nitems; i++)
        free(o->items[i].dels);
    free(o->items);
    free(o->order);
    for (size_t i = 0; i < o->nagents; i++)
        free(o->agents[i].e);
    free(o->agents);
    toplist_free(&o->parked);
    free(o);
}

void oracle_set_agent(oracle *o, uint32_t agent)
{
    o->me = agent;
}

/* ---- lookups -------------------------------------------------------------- */

static oagent *find_agent(const oracle *o, uint32_t a)
{
    for (size_t i = 0; i < o->nagents; i++)
        if (o->agents[i].agent == a)
            return &o->agents[i];
    return NULL;
}

static oagent *get_agent(oracle *o, uint32_t a)
{
    oagent *ag = find_agent(o, a);
    if (ag)
        return ag;
    if (o->nagents == o->capagents) {
        o->capagents = o->capagents ? 2 * o->capagents : 8;
        o->agents = orealloc(o->agents, o->capagents * sizeof *o->agents);
    }
    size_t i = o->nagents;
    while (i > 0 && o->agents[i - 1].agent > a) {
        o->agents[i] = o->agents[i - 1];
        i--;
    }
    memset(&o->agents[i], 0, sizeof o->agents[i]);
    o->agents[i].agent = a;
    o->nagents++;
    return &o->agents[i];
}

static void push_ent(oracle *o, uint32_t agent, oent e)
{
    oagent *ag = get_agent(o, agent);
    if (ag->n == ag->cap) {
        ag->cap = ag->cap ? 2 * ag->cap : 16;
        ag->e = orealloc(ag->e, ag->cap * sizeof *ag->e);
    }
    ag->e[ag->n++] = e;
}

static const oent *lookup(const oracle *o, weft_id id)
{
    if (weft_id_is_none(id))
        return NULL;
    const oagent *ag = find_agent(o, id.agent);
    return ag && id.seq < ag->n ? &ag->e[id.seq] : NULL;
}

uint32_t oracle_next_seq(const oracle *o, uint32_t agent)
{
    const oagent *ag = find_agent(o, agent);
    return ag ? ag->n : 0;
}

static long item_pos(const oracle *o, uint32_t item)
{
    for (size_t p = 0; p < o->nitems; p++)
        if (o->order[p] == item)
            return (long)p;
    fprintf(stderr, "oracle: item not in order\n");
    abort();
}

static bool id_less(weft_id a, weft_id b)
{
    return a.agent < b.agent || (a.agent == b.agent && a.seq < b.seq);
}

static bool visible(const oitem *it)
{
    return it->ndels == 0;
}

/* Order index of the visible char with visible index vpos, or -1. */
static long vis_index(const oracle *o, uint32_t vpos)
{
    uint32_t v = 0;
    for (size_t p = 0; p < o->nitems; p++)
        if (visible(&o->items[o->order[p]]) && v++ == vpos)
            return (long)p;
    return -1;
}

uint32_t oracle_len(const oracle *o)
{
    uint32_t n = 0;
    for (size_t i = 0; i < o->nitems; i++)
        n += visible(&o->items[i]);
    return n;
}

uint32_t oracle_len16(const oracle *o)
{
    uint32_t n = 0;
    for (size_t i = 0; i < o->nitems; i++)
        if (visible(&o->items[i]))
            n += u16_units(o->items[i].cp);
    return n;
}

uint32_t oracle_pos16(const oracle *o, uint32_t pos)
{
    uint32_t v = 0, u = 0;
    for (size_t p = 0; p < o->nitems && v < pos; p++) {
        const oitem *it = &o->items[o->order[p]];
        if (visible(it)) {
            v++;
            u += u16_units(it->cp);
        }
    }
    return u;
}

/* ---- integrate (brief §1.3, one char) ---------------------------------------- */

static bool stamped(const oracle *o, weft_id id, uint32_t st)
{
    const oent *e = lookup(o, id);
    return e && e->kind == K_INS && o->items[e->item].stamp == st;
}

static void integrate_char(oracle *o, weft_id id, weft_id ol, weft_id or, uint32_t cp)
{
    long L = weft_id_is_none(ol) ? -1 : item_pos(o, lookup(o, ol)->item);
    long R = weft_id_is_none(or) ? (long)o->nitems : item_pos(o, lookup(o, or)->item);
    uint32_t st = ++o->stamp;
    for (long p = L + 1; p < R; p++)
        o->items[o->order[p]].stamp = st;

    long slot = L + 1;
    bool scanning = false;
    for (long p = L + 1; p < R; p++) {
        const oitem *it = &o->items[o->order[p]];
        if (weft_id_eq(it->ol, ol)) {
            if (weft_id_eq(it->or, or)) {
                if (id_less(id, it->id))
                    break;
                scanning = false;
            } else if (stamped(o, it->or, st)) {
                scanning = true; /* its right origin is before ours */
            } else {
                scanning = false;
            }
        } else if (stamped(o, it->ol, st)) {
            /* nested under an earlier sibling: keep state */
        } else {
            break;
        }
        if (!scanning)
            slot = p + 1;
    }

    if (o->nitems == o->capitems) {
        o->capitems = o->capitems ? 2 * o->capitems : 64;
        o->items = orealloc(o->items, o->capitems * sizeof *o->items);
        o->order = orealloc(o->order, o->capitems * sizeof *o->order);
    }
    uint32_t idx = (uint32_t)o->nitems;
    oitem *n = &o->items[idx];
    memset(n, 0, sizeof *n);
    n->id = id;
    n->ol = ol;
    n->or = or ;
    n->cp = cp;
    memmove(&o->order[slot + 1], &o->order[slot], (o->nitems - (size_t)slot) * sizeof *o->order);
    o->order[slot] = idx;
    o->nitems++;
    push_ent(o, id.agent, (oent){K_INS, idx, WEFT_ID_NONE});
}

static void delete_char(oracle *o, weft_id deleter, weft_id target)
{
    oitem *it = &o->items[lookup(o, target)->item];
    if (it->ndels == it->capdels) {
        it->capdels = it->capdels ? 2 * it->capdels : 2;
        it->dels = orealloc(it->dels, it->capdels * sizeof *it->dels);
    }
    it->dels[it->ndels++] = deleter;
    push_ent(o, deleter.agent, (oent){K_DEL, 0, target});
}

/* ---- readiness, trimming, application (brief §5.2) ---------------------------- */

enum { TRY_PARK = 100 };

/* Checks a dependency ID: 0 known insert, TRY_PARK unknown, BADOP if it
 * names a delete. */
static int dep(const oracle *o, weft_id id)
{
    if (weft_id_is_none(id))
        return 0;
    const oent *e = lookup(o, id);
    if (!e)
        return TRY_PARK;
    return e->kind == K_INS ? 0 : WEFT_E_BADOP;
}

static int try_apply(oracle *o, const weft_op *op)
{
    uint32_t *cps = NULL;
    int rc;
    if (op->kind != WEFT_OP_INS && op->kind != WEFT_OP_DEL)
        return WEFT_E_BADOP;
    if (op->id.agent == WEFT_NONE)
        return WEFT_E_AGENT;
    if (op->len == 0)
        return WEFT_E_BADOP;
    if ((uint64_t)op->id.seq + op->len > UINT32_MAX)
        return WEFT_E_OVERFLOW;
    if (op->kind == WEFT_OP_INS) {
        long n = u8_decode(op->text, op->bytes, NULL);
        if (n == -1)
            return WEFT_E_UTF8;
        if (n == -2)
            return WEFT_E_SURROGATE;
        if ((uint32_t)n != op->len)
            return WEFT_E_BADOP;
        cps = ocalloc((size_t)n, sizeof *cps);
        u8_decode(op->text, op->bytes, cps);
    } else {
        if (op->target.agent == WEFT_NONE || (uint64_t)op->target.seq + op->len > UINT32_MAX) {
            rc = WEFT_E_BADOP;
            goto out;
        }
    }

    uint32_t a = op->id.agent, s = op->id.seq;
    uint32_t ns = oracle_next_seq(o, a);
    uint32_t known = ns > s ? (ns - s < op->len ? ns - s : op->len) : 0;
    for (uint32_t k = 0; k < known; k++) {
        const oent *e = lookup(o, (weft_id){a, s + k});
        if (op->kind == WEFT_OP_INS) {
            weft_id ol = k ? (weft_id){a, s + k - 1} : op->ol;
            if (e->kind != K_INS || o->items[e->item].cp != cps[k] ||
                !weft_id_eq(o->items[e->item].ol, ol) ||
                !weft_id_eq(o->items[e->item].or, op->or)) {
                rc = WEFT_E_CONFLICT;
                goto out;
            }
        } else if (e->kind != K_DEL || e->target.agent != op->target.agent ||
                   e->target.seq != op->target.seq + k) {
            rc = WEFT_E_CONFLICT;
            goto out;
        }
    }
    if (known == op->len) {
        rc = WEFT_DUPLICATE;
        goto out;
    }
    if (s + known != ns) {
        rc = TRY_PARK; /* seq gap */
        goto out;
    }

    if (op->kind == WEFT_OP_INS) {
        weft_id ol = known ? (weft_id){a, s + known - 1} : op->ol;
        int d1 = dep(o, ol), d2 = dep(o, op->or);
        if (d1 < 0 || d2 < 0) {
            rc = WEFT_E_BADOP;
            goto out;
        }
        if (d1 || d2) {
            rc = TRY_PARK;
            goto out;
        }
        if (!weft_id_is_none(ol) && !weft_id_is_none(op->or) &&
            item_pos(o, lookup(o, op->or)->item) <= item_pos(o, lookup(o, ol)->item)) {
            rc = WEFT_E_BADOP; /* origin right not after origin left */
            goto out;
        }
        for (uint32_t k = known; k < op->len; k++)
            integrate_char(o, (weft_id){a, s + k}, k ? (weft_id){a, s + k - 1} : op->ol, op->or,
                           cps[k]);
    } else {
        bool park = false;
        for (uint32_t k = known; k < op->len; k++) {
            int d = dep(o, (weft_id){op->target.agent, op->target.seq + k});
            if (d < 0) {
                rc = WEFT_E_BADOP;
                goto out;
            }
            park |= d != 0;
        }
        if (park) {
            rc = TRY_PARK;
            goto out;
        }
        for (uint32_t k = known; k < op->len; k++)
            delete_char(o, (weft_id){a, s + k}, (weft_id){op->target.agent, op->target.seq + k});
    }
    rc = WEFT_APPLIED;
out:
    free(cps);
    return rc;
}

static void drain_parked(oracle *o)
{
    bool progress = true;
    while (progress) {
        progress = false;
        for (size_t i = 0; i < o->parked.n;) {
            int rc = try_apply(o, &o->parked.v[i]);
            if (rc == TRY_PARK) {
                i++;
                continue;
            }
            top_free(&o->parked.v[i]);
            memmove(&o->parked.v[i], &o->parked.v[i + 1],
                    (o->parked.n - i - 1) * sizeof o->parked.v[0]);
            o->parked.n--;
            if (rc == WEFT_APPLIED)
                progress = true;
        }
    }
}

int oracle_apply(oracle *o, const weft_op *op)
{
    int rc = try_apply(o, op);
    if (rc == TRY_PARK) {
        /* the same op delivered twice while waiting is kept once */
        for (size_t i = 0; i < o->parked.n; i++)
            if (top_equal(&o->parked.v[i], op))
                return WEFT_PARKED;
        toplist_push(&o->parked, op);
        return WEFT_PARKED;
    }
    if (rc == WEFT_APPLIED)
        drain_parked(o);
    return rc;
}

size_t oracle_parked(const oracle *o)
{
    return o->parked.n;
}

/* ---- local edits (brief §1.4) ----------------------------------------------- */

int oracle_plan_insert(const oracle *o, uint32_t pos, const char *utf8, size_t bytes, weft_op *op)
{
    memset(op, 0, sizeof *op);
    if (o->me == WEFT_NONE)
        return WEFT_E_READONLY;
    long n = u8_decode(utf8, bytes, NULL);
    if (n == -1)
        return WEFT_E_UTF8;
    if (n == -2)
        return WEFT_E_SURROGATE;
    if (pos > oracle_len(o))
        return WEFT_E_RANGE;
    uint32_t next = oracle_next_seq(o, o->me);
    if ((uint64_t)next + (uint64_t)n > UINT32_MAX)
        return WEFT_E_OVERFLOW;
    weft_id ol = WEFT_ID_NONE, or = WEFT_ID_NONE;
    size_t after = 0;
    if (pos > 0) {
        long p = vis_index(o, pos - 1);
        ol = o->items[o->order[p]].id;
        after = (size_t)p + 1;
    }
    if (after < o->nitems)
        or = o->items[o->order[after]].id; /* visible or tombstone */
    op->kind = WEFT_OP_INS;
    op->id = (weft_id){o->me, next};
    op->len = (uint32_t)n;
    op->ol = ol;
    op->or = or ;
    op->target = WEFT_ID_NONE;
    op->text = utf8;
    op->bytes = (uint32_t)bytes;
    return 0;
}

int oracle_insert(oracle *o, uint32_t pos, const char *utf8, size_t bytes, toplist *out)
{
    weft_op op;
    int rc = oracle_plan_insert(o, pos, utf8, bytes, &op);
    if (rc || op.len == 0)
        return rc;
    rc = try_apply(o, &op);
    if (rc != WEFT_APPLIED) {
        fprintf(stderr, "oracle: own insert not applicable (%d)\n", rc);
        abort();
    }
    /* The region is empty, so the text must land exactly at pos. */
    for (uint32_t k = 0; k < op.len; k++) {
        long p = vis_index(o, pos + k);
        const oitem *it = &o->items[o->order[p]];
        if (it->id.agent != op.id.agent || it->id.seq != op.id.seq + k) {
            fprintf(stderr, "oracle: local insert did not land at its position\n");
            abort();
        }
    }
    if (out)
        toplist_push(out, &op);
    drain_parked(o);
    return 0;
}

int oracle_plan_delete(const oracle *o, uint32_t pos, uint32_t len, weft_id *targets)
{
    if (o->me == WEFT_NONE)
        return WEFT_E_READONLY;
    if ((uint64_t)pos + len > oracle_len(o))
        return WEFT_E_RANGE;
    uint32_t v = 0, k = 0;
    for (size_t p = 0; p < o->nitems && k < len; p++) {
        const oitem *it = &o->items[o->order[p]];
        if (!visible(it))
            continue;
        if (v >= pos)
            targets[k++] = it->id;
        v++;
    }
    return 0;
}

int oracle_delete(oracle *o, uint32_t pos, uint32_t len, toplist *out)
{
    weft_id *t = ocalloc(len, sizeof *t);
    int rc = oracle_plan_delete(o, pos, len, t);
    if (rc || len == 0) {
        free(t);
        return rc;
    }
    uint32_t next = oracle_next_seq(o, o->me);
    if ((uint64_t)next + len > UINT32_MAX) {
        free(t);
        return WEFT_E_OVERFLOW;
    }
    for (uint32_t i = 0; i < len;) {
        uint32_t j = i;
        while (j + 1 < len && t[j + 1].agent == t[j].agent && t[j + 1].seq == t[j].seq + 1)
            j++;
        weft_op op = {0};
        op.kind = WEFT_OP_DEL;
        op.id = (weft_id){o->me, oracle_next_seq(o, o->me)};
        op.len = j - i + 1;
        op.ol = op.or = WEFT_ID_NONE;
        op.target = t[i];
        rc = try_apply(o, &op);
        if (rc != WEFT_APPLIED) {
            fprintf(stderr, "oracle: own delete not applicable (%d)\n", rc);
            abort();
        }
        if (out)
            toplist_push(out, &op);
        i = j + 1;
    }
    free(t);
    drain_parked(o);
    return 0;
}

/* ---- reading ------------------------------------------------------------------ */

static void put_cp(sbuf *b, uint32_t cp)
{
    char tmp[4];
    sbuf_put(b, tmp, (size_t)u8_encode(cp, tmp));
}

void oracle_text(const oracle *o, sbuf *b)
{
    b->n = 0;
    sbuf_put(b, "", 0);
    for (size_t p = 0; p < o->nitems; p++) {
        const oitem *it = &o->items[o->order[p]];
        if (visible(it))
            put_cp(b, it->cp);
    }
}

static uint32_t vv_at(const weft_vv *vv, uint32_t agent)
{
    for (size_t i = 0; i < vv->n; i++)
        if (vv->v[i].agent == agent)
            return vv->v[i].next_seq;
    return 0;
}

void oracle_text_at(const oracle *o, const weft_vv *at, sbuf *b)
{
    b->n = 0;
    sbuf_put(b, "", 0);
    for (size_t p = 0; p < o->nitems; p++) {
        const oitem *it = &o->items[o->order[p]];
        bool inserted = it->id.seq < vv_at(at, it->id.agent);
        bool deleted = false;
        for (uint32_t d = 0; d < it->ndels; d++)
            deleted |= it->dels[d].seq < vv_at(at, it->dels[d].agent);
        if (inserted && !deleted)
            put_cp(b, it->cp);
    }
}

size_t oracle_version(const oracle *o, weft_vv_entry *out, size_t max)
{
    size_t k = 0;
    for (size_t i = 0; i < o->nagents; i++)
        if (o->agents[i].n) {
            if (k < max)
                out[k] = (weft_vv_entry){o->agents[i].agent, o->agents[i].n};
            k++;
        }
    return k;
}

int oracle_char_at(const oracle *o, uint32_t pos, weft_id *id, uint32_t *cp)
{
    long p = vis_index(o, pos);
    if (p < 0)
        return WEFT_E_RANGE;
    if (id)
        *id = o->items[o->order[p]].id;
    if (cp)
        *cp = o->items[o->order[p]].cp;
    return 0;
}

size_t oracle_size(const oracle *o)
{
    return o->nitems;
}

weft_id oracle_item_at(const oracle *o, size_t i)
{
    return o->items[o->order[i]].id;
}

int oracle_deleter(const oracle *o, weft_id id, weft_id *deleter)
{
    const oent *e = lookup(o, id);
    if (!e || e->kind != K_INS || o->items[e->item].ndels == 0)
        return WEFT_E_NOTFOUND;
    *deleter = o->items[e->item].dels[0];
    return 0;
}

size_t oracle_runs(const oracle *o, orun **out)
{
    orun *r = ocalloc(o->nitems, sizeof *r);
    size_t n = 0;
    for (size_t p = 0; p < o->nitems; p++) {
        const oitem *it = &o->items[o->order[p]];
        bool del = !visible(it);
        if (n > 0) {
            orun *a = &r[n - 1];
            if (a->agent == it->id.agent && it->id.seq == a->seq + a->len &&
                !weft_id_is_none(it->ol) && it->ol.agent == a->agent &&
                it->ol.seq == a->seq + a->len - 1 && weft_id_eq(it->or, a->or) &&
                a->deleted == del) {
                a->len++;
                put_cp(&a->text, it->cp);
                continue;
            }
        }
        orun *c = &r[n++];
        c->agent = it->id.agent;
        c->seq = it->id.seq;
        c->len = 1;
        c->ol = it->ol;
        c->or = it->or ;
        c->deleted = del;
        sbuf_init(&c->text);
        put_cp(&c->text, it->cp);
    }
    *out = r;
    return n;
}

void oracle_runs_free(orun *runs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sbuf_free(&runs[i].text);
    free(runs);
}

/* ---- anchors (brief §6) --------------------------------------------------------- */

int oracle_anchor(const oracle *o, uint32_t pos, int32_t assoc, weft_anchor *out)
{
    uint32_t len = oracle_len(o);
    if (pos > len)
        return WEFT_E_RANGE;
    out->assoc = assoc;
    if (assoc >= 0)
        out->id = pos == len ? WEFT_ANCHOR_END_ID : o->items[o->order[vis_index(o, pos)]].id;
    else
        out->id = pos == 0 ? WEFT_ANCHOR_START_ID : o->items[o->order[vis_index(o, pos - 1)]].id;
    return 0;
}

int oracle_anchor_pos(const oracle *o, weft_anchor a, uint32_t *pos)
{
    if (a.id.agent == WEFT_NONE) {
        *pos = a.id.seq == 1 ? oracle_len(o) : 0;
        return 0;
    }
    const oent *e = lookup(o, a.id);
    if (!e || e->kind != K_INS)
        return WEFT_E_NOTFOUND;
    uint32_t p = 0;
    for (size_t i = 0; i < o->nitems; i++) {
        const oitem *it = &o->items[o->order[i]];
        if (o->order[i] == e->item) {
            *pos = !visible(it) ? p : (a.assoc >= 0 ? p : p + 1);
            return 0;
        }
        p += visible(it);
    }
    return WEFT_E_CORRUPT;
}

/* ---- self-check ------------------------------------------------------------------ */

int oracle_check(const oracle *o)
{
    /* order is a permutation of the pool */
    char *seen = ocalloc(o->nitems, 1);
    int bad = 0;
    for (size_t p = 0; p < o->nitems; p++) {
        if (o->order[p] >= o->nitems || seen[o->order[p]])
            bad = 1;
        else
            seen[o->order[p]] = 1;
    }
    free(seen);
    if (bad)
        return WEFT_E_CORRUPT;
    /* every item lies strictly between its origins; IDs index correctly */
    for (size_t p = 0; p < o->nitems; p++) {
        const oitem *it = &o->items[o->order[p]];
        const oent *e = lookup(o, it->id);
        if (!e || e->kind != K_INS || e->item != o->order[p])
            return WEFT_E_CORRUPT;
        if (!weft_id_is_none(it->ol) && item_pos(o, lookup(o, it->ol)->item) >= (long)p)
            return WEFT_E_CORRUPT;
        if (!weft_id_is_none(it->or) && item_pos(o, lookup(o, it->or)->item) <= (long)p)
            return WEFT_E_CORRUPT;
    }
    return 0;
}
