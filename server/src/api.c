/* api.c — one worker thread answering history API requests. */
#include "api.h"

#include <pthread.h>
#include <stdlib.h>

#ifdef WEFT_HAVE_TOOLS
#include "weft/tools.h"
#endif

struct api_worker {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    api_job *todo, **todo_tail;
    api_job *done;
    weft_store *store;
    struct lws_context *ctx;
};

void api_job_free(api_job *j)
{
    free(j->path);
    free(j->query);
    weft_buf_cleanup(&j->out);
    free(j);
}

static void api_run(api_worker *w, api_job *j)
{
#ifdef WEFT_HAVE_TOOLS
    j->status = 500;
    if (weft_api_get(w->store, j->path, j->query, &j->out, &j->status) && j->status < 400)
        j->status = 500;
#else
    (void)w;
    j->status = 503;
#endif
}

static api_job *api_take(api_worker *w)
{
    pthread_mutex_lock(&w->mu);
    while (!w->todo && !w->stop)
        pthread_cond_wait(&w->cv, &w->mu);
    api_job *j = w->todo;
    if (j) {
        w->todo = j->next;
        if (!w->todo)
            w->todo_tail = &w->todo;
    }
    pthread_mutex_unlock(&w->mu);
    return j;
}

static void *api_main(void *arg)
{
    api_worker *w = arg;
    api_job *j;
    while ((j = api_take(w)) != NULL) {
        api_run(w, j);
        pthread_mutex_lock(&w->mu);
        j->next = w->done;
        w->done = j;
        pthread_mutex_unlock(&w->mu);
        lws_cancel_service(w->ctx); /* the only lws call allowed off the loop */
    }
    return NULL;
}

api_worker *api_start(weft_store *store, struct lws_context *ctx)
{
    api_worker *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->store = store;
    w->ctx = ctx;
    w->todo_tail = &w->todo;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    if (pthread_create(&w->thread, NULL, api_main, w)) {
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->cv);
        free(w);
        return NULL;
    }
    return w;
}

int api_submit(api_worker *w, api_job *j)
{
    j->next = NULL;
    pthread_mutex_lock(&w->mu);
    *w->todo_tail = j;
    w->todo_tail = &j->next;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return 0;
}

api_job *api_done(api_worker *w)
{
    pthread_mutex_lock(&w->mu);
    api_job *list = w->done;
    w->done = NULL;
    pthread_mutex_unlock(&w->mu);
    return list;
}

static void free_list(api_job *j)
{
    while (j) {
        api_job *next = j->next;
        api_job_free(j);
        j = next;
    }
}

void api_stop(api_worker *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    api_job *todo = w->todo; /* not started: dropped */
    w->todo = NULL;
    w->todo_tail = &w->todo;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    free_list(todo);
    free_list(w->done);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w);
}
