/*
 * timer.h — one-shot timers on the server's libev loop.
 *
 * The server's timers do not use lws_sul: on lws 4.1's libev plugin a
 * timer scheduled earlier than the one lws has already armed waits for
 * that later one (its idle callback re-sets an active ev_timer, which libev
 * ignores), so a 50 ms presence flush could take 250 ms. These are plain
 * ev_timers on the same loop: precise, and cancelling a zeroed or idle
 * timer is a no-op. Callbacks run on the service thread like every lws
 * callback.
 */
#ifndef WEFT_SERVER_TIMER_H
#define WEFT_SERVER_TIMER_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct wtimer wtimer;
typedef void (*wtimer_fn)(wtimer *t);

struct wtimer {
    ev_timer ev;
    wtimer_fn fn;
};

/* The server's event loop, which every timer runs on: serve.c creates it,
 * sets it here before anything is scheduled, runs and destroys it. */
void wtimer_set_loop(struct ev_loop *loop);
struct ev_loop *wtimer_loop(void);
/* (Re)arms t to call fn once, ms milliseconds from now. */
void wtimer_schedule(wtimer *t, wtimer_fn fn, int64_t ms);
void wtimer_cancel(wtimer *t);
bool wtimer_pending(const wtimer *t);

#endif
