/* Outbound queue: FIFO order across growth, shared frames, byte accounting
 * (only counted entries count against --outbound-max), metrics gauge. */
#include "check.h"
#include "metrics.h"
#include "outq.h"

#include <string.h>

static void test_fifo_and_growth(void)
{
    outq q;
    outq_init(&q);
    frame *f[40];
    for (int i = 0; i < 40; i++) {
        char b[8];
        int n = snprintf(b, sizeof b, "m%d", i);
        f[i] = frame_new(b, (size_t)n);
        CHECK(outq_push(&q, f[i], i % 2 == 0) == 0);
        if (i == 5) { /* pop a few so the ring wraps while growing */
            frame *p = outq_pop(&q);
            CHECK(p == f[0]);
            frame_unref(p);
        }
    }
    for (int i = 1; i < 40; i++) {
        frame *p = outq_pop(&q);
        CHECK(p == f[i]);
        frame_unref(p);
    }
    CHECK(outq_empty(&q));
    CHECK(q.bytes == 0 && q.bytes_all == 0);
    for (int i = 0; i < 40; i++)
        frame_unref(f[i]);
    outq_cleanup(&q);
}

static void test_shared_frame(void)
{
    outq a, b;
    outq_init(&a);
    outq_init(&b);
    uint64_t before = metrics.outbound_bytes;
    frame *f = frame_new("broadcast", 9);
    CHECK(outq_push(&a, f, true) == 0);
    CHECK(outq_push(&b, f, false) == 0);
    frame_unref(f); /* the queues hold it now */
    CHECK(f->refs == 2);
    CHECK(a.bytes == 9 && b.bytes == 0 && b.bytes_all == 9);
    CHECK(metrics.outbound_bytes == before + 18);
    CHECK(memcmp(f->data, "broadcast", 9) == 0);
    outq_cleanup(&a); /* drops a's reference */
    CHECK(f->refs == 1);
    outq_cleanup(&b); /* frees it (ASan would notice otherwise) */
    CHECK(metrics.outbound_bytes == before);
}

int main(void)
{
    test_fifo_and_growth();
    test_shared_frame();
    return CHECK_DONE();
}
