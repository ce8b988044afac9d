/*
 * timer.c — precise timers for the event loop: a min-heap of deadlines
 * behind one timerfd that lws polls as an adopted file descriptor.
 *
 * Why not lws_sul: libwebsockets 4.1's poll loop turns the time to the next
 * sul into a poll() timeout in whole milliseconds, rounding down
 * (lib/plat/unix/unix-service.c), so the last millisecond before every
 * timer is a busy loop of poll(0) calls. A typist every 10 ms spent ~10% of
 * its time spinning, which would have made the client look expensive and
 * steal a core from the server. A timerfd wakes poll() at the deadline with
 * microsecond precision and costs nothing in between.
 */
#include "load.h"

#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

static struct {
    int fd;
    struct lws *wsi;
    ltimer **heap;
    size_t n, cap;
    int64_t armed; /* deadline the timerfd is set to, 0 = none */
    bool dispatching;
} T = {.fd = -1};

/* ---- the heap -------------------------------------------------------------------- */

static void heap_set(size_t i, ltimer *t)
{
    T.heap[i] = t;
    t->slot = i + 1;
}

static void heap_up(size_t i)
{
    ltimer *t = T.heap[i];
    while (i > 0 && T.heap[(i - 1) / 2]->due_ns > t->due_ns) {
        heap_set(i, T.heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    heap_set(i, t);
}

static void heap_down(size_t i)
{
    ltimer *t = T.heap[i];
    for (;;) {
        size_t l = 2 * i + 1, m = l + 1, k = i;
        int64_t best = t->due_ns;
        if (l < T.n && T.heap[l]->due_ns < best)
            best = T.heap[k = l]->due_ns;
        if (m < T.n && T.heap[m]->due_ns < best)
            k = m;
        if (k == i)
            break;
        heap_set(i, T.heap[k]);
        i = k;
    }
    heap_set(i, t);
}

static void heap_remove(ltimer *t)
{
    size_t i = t->slot - 1;
    t->slot = 0;
    ltimer *last = T.heap[--T.n];
    if (i == T.n)
        return;
    heap_set(i, last);
    heap_up(i);
    heap_down(last->slot - 1);
}

/* ---- the timerfd ----------------------------------------------------------------- */

static void arm(void)
{
    int64_t due = T.n ? T.heap[0]->due_ns : 0;
    if (due == T.armed || T.fd < 0)
        return;
    struct itimerspec its;
    memset(&its, 0, sizeof its);
    if (due) {
        if (due < 1)
            due = 1;
        its.it_value.tv_sec = due / 1000000000;
        its.it_value.tv_nsec = due % 1000000000;
    }
    timerfd_settime(T.fd, TFD_TIMER_ABSTIME, &its, NULL);
    T.armed = due;
}

void timer_at(ltimer *t, int64_t due_ns, ltimer_cb cb)
{
    if (t->slot)
        heap_remove(t);
    if (T.n == T.cap) {
        size_t cap = T.cap ? T.cap * 2 : 256;
        ltimer **h = realloc(T.heap, cap * sizeof *h);
        if (!h)
            return;
        T.heap = h;
        T.cap = cap;
    }
    t->due_ns = due_ns;
    t->cb = cb;
    heap_set(T.n++, t);
    heap_up(T.n - 1);
    if (!T.dispatching)
        arm();
}

void timer_cancel(ltimer *t)
{
    if (t->slot)
        heap_remove(t);
    if (!T.dispatching)
        arm();
}

/* Runs every timer that is due; callbacks may schedule more. */
static void dispatch(void)
{
    uint64_t expirations;
    if (read(T.fd, &expirations, sizeof expirations) < 0) { /* nothing to read: fine */
    }
    T.armed = 0; /* a fired timerfd is disarmed */
    T.dispatching = true;
    int64_t now = mono_ns();
    while (T.n && T.heap[0]->due_ns <= now) {
        ltimer *t = T.heap[0];
        heap_remove(t);
        t->cb(t);
        now = mono_ns();
    }
    T.dispatching = false;
    arm();
}

int timer_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                   size_t len)
{
    if (reason == LWS_CALLBACK_RAW_RX_FILE && wsi == T.wsi)
        dispatch();
    return 0;
}

int timers_init(struct lws_context *ctx)
{
    T.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (T.fd < 0)
        return -1;
    lws_sock_file_fd_type u;
    u.filefd = T.fd;
    struct lws_vhost *vh = lws_get_vhost_by_name(ctx, "default");
    T.wsi = vh ? lws_adopt_descriptor_vhost(vh, LWS_ADOPT_RAW_FILE_DESC, u, "weft-load-timer", NULL)
               : NULL;
    return T.wsi ? 0 : -1;
}
