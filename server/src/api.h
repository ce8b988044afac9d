/* api.h — the JSON history API on a thread of its own.
 *
 * weft_api_get reads the op log and rebuilds versions with the engine: a
 * blame or a diff of a large document takes long enough to stall every
 * room if it ran on the event loop. Requests go to one worker thread; its
 * answers come back through lws_cancel_service() and api_drain() on the
 * loop, which hands each to its connection (if it is still open).
 */
#ifndef WEFT_SERVER_API_H
#define WEFT_SERVER_API_H

#include <libwebsockets.h>
#include <stdbool.h>

#include "weft/crdt.h"
#include "weft/storage.h"

typedef struct api_job {
    struct api_job *next;
    struct lws *wsi; /* the loop's only: NULL once the connection closed */
    char *path, *query;
    weft_buf out;
    int status;
} api_job;

typedef struct api_worker api_worker;

/* Starts the worker. NULL on failure. */
api_worker *api_start(weft_store *store, struct lws_context *ctx);
/* Stops and joins the worker; frees every job. */
void api_stop(api_worker *w);
/* Hands j (path and query malloc'ed, taken) to the worker. 0 or -1. */
int api_submit(api_worker *w, api_job *j);
/* Takes the finished jobs (a list through next); the caller frees them. */
api_job *api_done(api_worker *w);
void api_job_free(api_job *j);

#endif
