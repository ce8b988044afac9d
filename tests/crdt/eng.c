#include "eng.h"

#include <stdlib.h>
#include <string.h>

void eng_text(const weft_doc *d, sbuf *b)
{
    weft_buf wb;
    weft_buf_init(&wb);
    CHECK_OK(weft_doc_text(d, &wb));
    b->n = 0;
    sbuf_put(b, wb.p ? wb.p : "", wb.n);
    CHECK_EQ(wb.n, weft_doc_bytes(d));
    weft_buf_cleanup(&wb);
}

size_t eng_runs(const weft_doc *d, orun **out)
{
    size_t n = 0, cap = 16;
    orun *r = calloc(cap, sizeof *r);
    CHECK(r);
    weft_run_iter it;
    weft_run run;
    weft_run_iter_init(&it, d);
    while (weft_run_iter_next(&it, &run)) {
        if (n == cap) {
            cap *= 2;
            r = realloc(r, cap * sizeof *r);
            CHECK(r);
        }
        CHECK(run.len > 0);
        CHECK_EQ(u8_decode(run.text, run.bytes, NULL), run.len);
        orun *c = &r[n++];
        memset(c, 0, sizeof *c);
        c->agent = run.agent;
        c->seq = run.seq;
        c->len = run.len;
        c->ol = run.ol;
        c->or = run.or ;
        c->deleted = run.deleted;
        sbuf_init(&c->text);
        sbuf_put(&c->text, run.text, run.bytes);
    }
    *out = r;
    return n;
}

void eng_same_as_oracle(const weft_doc *d, const oracle *o, const char *what)
{
    sbuf a, b;
    sbuf_init(&a);
    sbuf_init(&b);
    eng_text(d, &a);
    oracle_text(o, &b);
    CHECK_MSG(a.n == b.n && memcmp(a.p, b.p, a.n) == 0, "%s: engine text \"%s\" != oracle \"%s\"",
              what, a.p, b.p);
    CHECK_EQ(weft_doc_len(d), oracle_len(o));
    CHECK_EQ(weft_doc_len16(d), oracle_len16(o));
    sbuf_free(&a);
    sbuf_free(&b);
    orun *ra, *rb;
    size_t na = eng_runs(d, &ra), nb = oracle_runs(o, &rb);
    CHECK_MSG(runs_compare(ra, na, rb, nb, what) == 0, "%s: engine runs != oracle runs", what);
    oracle_runs_free(ra, na);
    oracle_runs_free(rb, nb);
}

void eng_same_docs(const weft_doc *x, const weft_doc *y, const char *what)
{
    sbuf a, b;
    sbuf_init(&a);
    sbuf_init(&b);
    eng_text(x, &a);
    eng_text(y, &b);
    CHECK_MSG(a.n == b.n && memcmp(a.p, b.p, a.n) == 0, "%s: texts differ: \"%s\" vs \"%s\"", what,
              a.p, b.p);
    sbuf_free(&a);
    sbuf_free(&b);
    orun *ra, *rb;
    size_t na = eng_runs(x, &ra), nb = eng_runs(y, &rb);
    CHECK_MSG(runs_compare(ra, na, rb, nb, what) == 0, "%s: runs differ", what);
    oracle_runs_free(ra, na);
    oracle_runs_free(rb, nb);
}

/* ---- mirror ---- */

void mirror_init(mirror *m)
{
    memset(m, 0, sizeof *m);
}

void mirror_free(mirror *m)
{
    free(m->cp);
    free(m->u);
    mirror_init(m);
}

static void cp_splice(mirror *m, size_t pos, size_t del, const uint32_t *ins, size_t nins)
{
    CHECK(pos + del <= m->n);
    if (m->n - del + nins > m->cap) {
        m->cap = (m->n + nins) * 2 + 16;
        m->cp = realloc(m->cp, m->cap * sizeof *m->cp);
        CHECK(m->cp);
    }
    memmove(m->cp + pos + nins, m->cp + pos + del, (m->n - pos - del) * sizeof *m->cp);
    if (nins)
        memcpy(m->cp + pos, ins, nins * sizeof *m->cp);
    m->n = m->n - del + nins;
}

static void u_splice(mirror *m, size_t pos, size_t del, const uint16_t *ins, size_t nins)
{
    CHECK(pos + del <= m->nu);
    if (m->nu - del + nins > m->capu) {
        m->capu = (m->nu + nins) * 2 + 16;
        m->u = realloc(m->u, m->capu * sizeof *m->u);
        CHECK(m->u);
    }
    memmove(m->u + pos + nins, m->u + pos + del, (m->nu - pos - del) * sizeof *m->u);
    if (nins)
        memcpy(m->u + pos, ins, nins * sizeof *m->u);
    m->nu = m->nu - del + nins;
}

/* Decodes utf8 into code points and UTF-16 units (caller frees both). */
static void decode_both(const char *s, size_t bytes, uint32_t **cps, size_t *ncp, uint16_t **us,
                        size_t *nu)
{
    long n = u8_decode(s, bytes, NULL);
    CHECK_MSG(n >= 0, "invalid UTF-8 from the engine");
    *cps = calloc((size_t)n + 1, sizeof **cps);
    *us = calloc(2 * (size_t)n + 1, sizeof **us);
    CHECK(*cps && *us);
    u8_decode(s, bytes, *cps);
    *ncp = (size_t)n;
    size_t k = 0;
    for (long i = 0; i < n; i++) {
        uint32_t c = (*cps)[i];
        if (c >= 0x10000) {
            c -= 0x10000;
            (*us)[k++] = (uint16_t)(0xD800 + (c >> 10));
            (*us)[k++] = (uint16_t)(0xDC00 + (c & 0x3FF));
        } else {
            (*us)[k++] = (uint16_t)c;
        }
    }
    *nu = k;
}

void mirror_set(mirror *m, const char *utf8, size_t bytes)
{
    m->n = m->nu = 0;
    mirror_insert(m, 0, utf8, bytes);
}

static size_t u16_off(const mirror *m, size_t pos)
{
    size_t u = 0;
    for (size_t i = 0; i < pos; i++)
        u += u16_units(m->cp[i]);
    return u;
}

void mirror_insert(mirror *m, uint32_t pos, const char *utf8, size_t bytes)
{
    uint32_t *cps;
    uint16_t *us;
    size_t ncp, nu;
    decode_both(utf8, bytes, &cps, &ncp, &us, &nu);
    size_t p16 = u16_off(m, pos);
    cp_splice(m, pos, 0, cps, ncp);
    u_splice(m, p16, 0, us, nu);
    free(cps);
    free(us);
}

void mirror_delete(mirror *m, uint32_t pos, uint32_t len)
{
    size_t p16 = u16_off(m, pos), e16 = u16_off(m, pos + len);
    cp_splice(m, pos, len, NULL, 0);
    u_splice(m, p16, e16 - p16, NULL, 0);
}

void mirror_patches(mirror *m, const weft_patchlist *pl)
{
    for (size_t i = 0; i < pl->n; i++) {
        const weft_patch *p = &pl->p[i];
        CHECK_MSG(p->del > 0 || p->ins > 0, "empty patch %zu", i);
        CHECK_MSG((size_t)p->pos + p->del <= m->n, "patch %zu: pos %u del %u beyond %zu cps", i,
                  p->pos, p->del, m->n);
        CHECK_MSG((size_t)p->pos16 + p->del16 <= m->nu, "patch %zu: pos16 beyond text", i);
        /* the UTF-16 fields describe the same change */
        CHECK_EQ(p->pos16, u16_off(m, p->pos));
        CHECK_EQ(p->del16, u16_off(m, p->pos + p->del) - p->pos16);
        uint32_t *cps;
        uint16_t *us;
        size_t ncp, nu;
        decode_both(p->text ? p->text : "", p->bytes, &cps, &ncp, &us, &nu);
        CHECK_EQ(ncp, p->ins);
        CHECK_EQ(nu, p->ins16);
        /* apply each view using only its own fields */
        cp_splice(m, p->pos, p->del, cps, ncp);
        u_splice(m, p->pos16, p->del16, us, nu);
        free(cps);
        free(us);
    }
}

void mirror_same(const mirror *m, const weft_doc *d, const char *what)
{
    sbuf t;
    sbuf_init(&t);
    eng_text(d, &t);
    uint32_t *cps;
    uint16_t *us;
    size_t ncp, nu;
    decode_both(t.p, t.n, &cps, &ncp, &us, &nu);
    CHECK_MSG(ncp == m->n && (ncp == 0 || memcmp(cps, m->cp, ncp * sizeof *cps) == 0),
              "%s: patched editor text (code points) != document text \"%s\"", what, t.p);
    CHECK_MSG(nu == m->nu && (nu == 0 || memcmp(us, m->u, nu * sizeof *us) == 0),
              "%s: patched editor text (UTF-16) != document text \"%s\"", what, t.p);
    CHECK_EQ(weft_doc_len(d), ncp);
    CHECK_EQ(weft_doc_len16(d), nu);
    free(cps);
    free(us);
    sbuf_free(&t);
}

/* ---- rep backend ---- */

static void copy_out(weft_oplist *l, toplist *out)
{
    if (out)
        toplist_push_all(out, l->ops, l->n);
}

static int re_insert(rep *r, uint32_t pos, const char *s, size_t n, toplist *out)
{
    eng_rep *e = r->impl;
    weft_oplist l;
    weft_oplist_init(&l);
    int rc = weft_doc_insert(e->d, pos, s, n, &l);
    if (rc == 0)
        mirror_insert(&e->m, pos, s, n);
    copy_out(&l, out);
    weft_oplist_cleanup(&l);
    CHECK_OK(weft_doc_check(e->d));
    mirror_same(&e->m, e->d, "after local insert");
    return rc;
}

static int re_del(rep *r, uint32_t pos, uint32_t len, toplist *out)
{
    eng_rep *e = r->impl;
    weft_oplist l;
    weft_oplist_init(&l);
    int rc = weft_doc_delete(e->d, pos, len, &l);
    if (rc == 0)
        mirror_delete(&e->m, pos, len);
    copy_out(&l, out);
    weft_oplist_cleanup(&l);
    CHECK_OK(weft_doc_check(e->d));
    mirror_same(&e->m, e->d, "after local delete");
    return rc;
}

static int re_apply(rep *r, const weft_op *op)
{
    eng_rep *e = r->impl;
    weft_patchlist pl;
    weft_patchlist_init(&pl);
    int rc = weft_doc_apply(e->d, op, &pl);
    CHECK_OK(weft_doc_check(e->d));
    mirror_patches(&e->m, &pl);
    mirror_same(&e->m, e->d, "after remote op");
    weft_patchlist_cleanup(&pl);
    return rc;
}

static void re_text(const rep *r, sbuf *b)
{
    eng_text(((const eng_rep *)r->impl)->d, b);
}
static uint32_t re_next_seq(const rep *r, uint32_t a)
{
    return weft_doc_next_seq(((const eng_rep *)r->impl)->d, a);
}
static size_t re_runs(const rep *r, orun **out)
{
    return eng_runs(((const eng_rep *)r->impl)->d, out);
}
static void re_destroy(rep *r)
{
    eng_rep *e = r->impl;
    weft_doc_free(e->d);
    mirror_free(&e->m);
    free(e);
}

static const rep_vt engine_vt = {"engine", re_insert,   re_del,  re_apply,
                                 re_text,  re_next_seq, re_runs, re_destroy};

rep *rep_engine_new(uint32_t agent)
{
    rep *r = calloc(1, sizeof *r);
    eng_rep *e = calloc(1, sizeof *e);
    CHECK(r && e);
    e->d = weft_doc_new(agent);
    CHECK(e->d);
    mirror_init(&e->m);
    r->vt = &engine_vt;
    r->impl = e;
    r->agent = agent;
    toplist_init(&r->own);
    toplist_init(&r->log);
    return r;
}
