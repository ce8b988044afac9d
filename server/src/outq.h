/* outq.h — refcounted frames and the per-connection outbound queue.
 *
 * A frame is encoded once and shared by every recipient (a broadcast): each
 * queue entry holds a reference. The bytes sit after LWS_PRE bytes of
 * headroom so lws_write() can put the WebSocket header in front in place.
 */
#ifndef WEFT_SERVER_OUTQ_H
#define WEFT_SERVER_OUTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct frame {
    int refs;
    size_t len;
    unsigned char *data; /* len bytes, preceded by LWS_PRE bytes of headroom */
} frame;

/* A new frame holding a copy of bytes[0..len), one reference. NULL on OOM. */
frame *frame_new(const void *bytes, size_t len);
frame *frame_ref(frame *f);
void frame_unref(frame *f);

typedef struct outq_item {
    frame *f;
    bool counted; /* counts against the slow-consumer cap */
} outq_item;

/* FIFO ring of frame references (caller-allocated; _init / _cleanup). */
typedef struct outq {
    outq_item *items;
    size_t head, n, cap;
    size_t bytes;     /* queued bytes that count against the cap */
    size_t bytes_all; /* every queued byte */
} outq;

void outq_init(outq *q);
/* Drops every entry (their references) and frees the ring. */
void outq_cleanup(outq *q);
/* Appends a reference to f (takes a new one). counted=false for the initial
 * sync, which must not count as falling behind. 0 or -1 on OOM. */
int outq_push(outq *q, frame *f, bool counted);
/* Removes the first entry and hands its reference to the caller; NULL if empty. */
frame *outq_pop(outq *q);
static inline bool outq_empty(const outq *q)
{
    return q->n == 0;
}

#endif
