/* timer.c — one-shot timers on the server's libev loop (see timer.h). */
#include "timer.h"

#include <stddef.h>

static struct ev_loop *g_loop;

void wtimer_set_loop(struct ev_loop *loop)
{
    g_loop = loop;
}

struct ev_loop *wtimer_loop(void)
{
    return g_loop;
}

static void fire(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    wtimer *t = (wtimer *)((char *)w - offsetof(wtimer, ev));
    t->fn(t);
}

void wtimer_schedule(wtimer *t, wtimer_fn fn, int64_t ms)
{
    if (!g_loop)
        return; /* no loop yet (or torn down): nothing can run it */
    if (ev_is_active(&t->ev))
        ev_timer_stop(g_loop, &t->ev);
    t->fn = fn;
    ev_timer_init(&t->ev, fire, (ev_tstamp)ms / 1000.0, 0.);
    ev_timer_start(g_loop, &t->ev);
}

void wtimer_cancel(wtimer *t)
{
    if (g_loop && ev_is_active(&t->ev))
        ev_timer_stop(g_loop, &t->ev);
}

bool wtimer_pending(const wtimer *t)
{
    return ev_is_active(&t->ev);
}
