/* waker.h — what the server does with lws_cancel_service(), for tests: the
 * store's wake callback bumps a counter under a mutex; the owner thread
 * waits for it and polls completions. */
#ifndef WEFT_STORE_TEST_WAKER_H
#define WEFT_STORE_TEST_WAKER_H

#include <pthread.h>

#include "test_util.h"

typedef struct waker {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned long wakes;
} waker;

static inline void waker_init(waker *w)
{
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->wakes = 0;
}

static inline void waker_cleanup(waker *w)
{
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
}

static inline void waker_wake(void *ctx)
{
    waker *w = ctx;
    pthread_mutex_lock(&w->mu);
    w->wakes++;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

/* Polls until `want` completions arrived (into out[]), sleeping on the waker. */
static inline void waker_collect(waker *w, weft_store *s, weft_store_completion *out, size_t want)
{
    size_t got = 0;
    while (got < want) {
        pthread_mutex_lock(&w->mu);
        unsigned long seen = w->wakes;
        pthread_mutex_unlock(&w->mu);
        got += weft_store_poll(s, out + got, want - got);
        if (got >= want)
            break;
        pthread_mutex_lock(&w->mu);
        while (w->wakes == seen)
            pthread_cond_wait(&w->cv, &w->mu);
        pthread_mutex_unlock(&w->mu);
    }
}

#endif
