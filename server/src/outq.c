/* outq.c — refcounted frames, per-connection FIFO of references. */
#include "outq.h"

#include "metrics.h"

#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>

frame *frame_new(const void *bytes, size_t len)
{
    frame *f = malloc(sizeof *f + LWS_PRE + len);
    if (!f)
        return NULL;
    f->refs = 1;
    f->len = len;
    f->data = (unsigned char *)(f + 1) + LWS_PRE;
    if (len)
        memcpy(f->data, bytes, len);
    return f;
}

frame *frame_ref(frame *f)
{
    f->refs++;
    return f;
}

void frame_unref(frame *f)
{
    if (f && --f->refs == 0)
        free(f);
}

void outq_init(outq *q)
{
    memset(q, 0, sizeof *q);
}

void outq_cleanup(outq *q)
{
    frame *f;
    while ((f = outq_pop(q)) != NULL)
        frame_unref(f);
    free(q->items);
    memset(q, 0, sizeof *q);
}

static int outq_grow(outq *q)
{
    size_t cap = q->cap ? q->cap * 2 : 16;
    outq_item *items = malloc(cap * sizeof *items);
    if (!items)
        return -1;
    for (size_t i = 0; i < q->n; i++)
        items[i] = q->items[(q->head + i) % q->cap];
    free(q->items);
    q->items = items;
    q->cap = cap;
    q->head = 0;
    return 0;
}

int outq_push(outq *q, frame *f, bool counted)
{
    if (q->n == q->cap && outq_grow(q))
        return -1;
    q->items[(q->head + q->n) % q->cap] = (outq_item){frame_ref(f), counted};
    q->n++;
    q->bytes_all += f->len;
    metrics.outbound_bytes += f->len;
    if (counted)
        q->bytes += f->len;
    return 0;
}

frame *outq_pop(outq *q)
{
    if (q->n == 0)
        return NULL;
    outq_item it = q->items[q->head];
    q->head = (q->head + 1) % q->cap;
    q->n--;
    q->bytes_all -= it.f->len;
    metrics.outbound_bytes -= it.f->len;
    if (it.counted)
        q->bytes -= it.f->len;
    return it.f;
}
