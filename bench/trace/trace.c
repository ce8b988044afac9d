/*
 * trace.c — gzip JSON trace -> compact edit list (zlib gzread + jansson).
 */
#include "trace.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

uint32_t trace_count_cps(const char *s, size_t bytes)
{
    uint32_t n = 0;
    for (size_t i = 0; i < bytes; i++)
        n += ((unsigned char)s[i] & 0xC0) != 0x80;
    return n;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* jansson pulls the decompressed JSON through this callback. */
static size_t gz_pull(void *buf, size_t len, void *data)
{
    unsigned chunk = len > (1u << 30) ? 1u << 30 : (unsigned)len;
    int n = gzread((gzFile)data, buf, chunk);
    return n < 0 ? (size_t)-1 : (size_t)n;
}

int trace_grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 1024;
    while (ncap < need)
        ncap *= 2;
    void *np = realloc(*p, ncap * elem);
    if (!np)
        return TRACE_ENOMEM;
    *p = np;
    *cap = ncap;
    return 0;
}

typedef struct builder {
    trace *t;
    size_t patch_cap, txn_cap, text_cap;
} builder;

static int add_patch(builder *b, uint32_t pos, uint32_t del, const char *s, size_t bytes)
{
    trace *t = b->t;
    if (trace_grow((void **)&t->patches, &b->patch_cap, t->npatches + 1, sizeof *t->patches) ||
        trace_grow((void **)&t->text, &b->text_cap, t->text_bytes + bytes, 1))
        return TRACE_ENOMEM;
    trace_patch *p = &t->patches[t->npatches++];
    p->pos = pos;
    p->del = del;
    p->ins = trace_count_cps(s, bytes);
    p->bytes = (uint32_t)bytes;
    p->off = t->text_bytes;
    if (bytes)
        memcpy(t->text + t->text_bytes, s, bytes);
    t->text_bytes += bytes;
    t->ins_cps += p->ins;
    t->del_cps += del;
    return 0;
}

static int end_txn(builder *b)
{
    trace *t = b->t;
    if (trace_grow((void **)&t->txn_end, &b->txn_cap, t->ntxns + 1, sizeof *t->txn_end))
        return TRACE_ENOMEM;
    size_t start = t->ntxns ? t->txn_end[t->ntxns - 1] : 0;
    if (t->npatches - start > 1)
        t->multi_patch_txns++;
    t->txn_end[t->ntxns++] = t->npatches;
    return 0;
}

static int get_u32(const json_t *v, uint32_t *out)
{
    if (!json_is_integer(v))
        return -1;
    json_int_t x = json_integer_value(v);
    if (x < 0 || x > (json_int_t)UINT32_MAX)
        return -1;
    *out = (uint32_t)x;
    return 0;
}

static int convert_txn(builder *b, const json_t *txn, size_t ti, char *err, size_t errlen)
{
    const json_t *patches = json_object_get(txn, "patches");
    if (!json_is_array(patches) || json_array_size(patches) == 0) {
        set_err(err, errlen, "txns[%zu]: no patches array", ti);
        return TRACE_EFORMAT;
    }
    for (size_t pi = 0; pi < json_array_size(patches); pi++) {
        const json_t *p = json_array_get(patches, pi);
        const json_t *ins = json_array_get(p, 2);
        uint32_t pos, del;
        if (!json_is_array(p) || json_array_size(p) != 3 || get_u32(json_array_get(p, 0), &pos) ||
            get_u32(json_array_get(p, 1), &del) || !json_is_string(ins)) {
            set_err(err, errlen, "txns[%zu].patches[%zu]: not [pos, del, text]", ti, pi);
            return TRACE_EFORMAT;
        }
        int rc = add_patch(b, pos, del, json_string_value(ins), json_string_length(ins));
        if (rc)
            return rc;
    }
    return end_txn(b);
}

static int convert(trace *t, const json_t *root, char *err, size_t errlen)
{
    builder b = {.t = t};
    const json_t *start = json_object_get(root, "startContent");
    const json_t *end = json_object_get(root, "endContent");
    const json_t *txns = json_object_get(root, "txns");
    if (!json_is_string(start) || !json_is_string(end) || !json_is_array(txns)) {
        set_err(err, errlen, "not a trace: need startContent, endContent, txns");
        return TRACE_EFORMAT;
    }
    int rc = 0;
    /* A non-empty start text becomes a first transaction inserting it. */
    if (json_string_length(start) &&
        ((rc = add_patch(&b, 0, 0, json_string_value(start), json_string_length(start))) ||
         (rc = end_txn(&b))))
        return rc;
    for (size_t i = 0; i < json_array_size(txns); i++)
        if ((rc = convert_txn(&b, json_array_get(txns, i), i, err, errlen)))
            return rc;
    t->end_bytes = json_string_length(end);
    t->end = malloc(t->end_bytes ? t->end_bytes : 1);
    if (!t->end)
        return TRACE_ENOMEM;
    memcpy(t->end, json_string_value(end), t->end_bytes);
    t->end_cps = trace_count_cps(t->end, t->end_bytes);
    return 0;
}

int trace_load(trace *t, const char *path, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    int rc = 0;
    json_t *root = NULL;
    json_error_t jerr;
    FILE *probe = fopen(path, "rb");
    if (!probe) {
        set_err(err, errlen, "%s: %s", path, strerror(errno));
        return errno == ENOENT ? TRACE_ENOENT : TRACE_EIO;
    }
    fclose(probe);
    gzFile gz = gzopen(path, "rb");
    if (!gz) {
        set_err(err, errlen, "%s: cannot open", path);
        return TRACE_EIO;
    }
    gzbuffer(gz, 1 << 17);
    root = json_load_callback(gz_pull, gz, 0, &jerr);
    if (!root) {
        set_err(err, errlen, "%s: line %d: %s", path, jerr.line, jerr.text);
        rc = TRACE_EIO;
        goto out;
    }
    rc = convert(t, root, err, errlen);
    if (rc == TRACE_ENOMEM)
        set_err(err, errlen, "%s: out of memory", path);
out:
    json_decref(root);
    gzclose(gz);
    return rc;
}

void trace_cleanup(trace *t)
{
    free(t->patches);
    free(t->txn_end);
    free(t->text);
    free(t->end);
    memset(t, 0, sizeof *t);
}
