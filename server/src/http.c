/* http.c — HTTP on the WebSocket port: /healthz, /metrics, /api/..., static files. */
#include "log.h"
#include "metrics.h"
#include "server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef WEFT_HAVE_TOOLS
#include "weft/tools.h"
#endif

#define HTTP_CHUNK 16384

void http_state_cleanup(http_state *h)
{
    free(h->owned);
    memset(h, 0, sizeof *h);
}

static void reply_owned(http_state *h, char *body, size_t len)
{
    h->owned = body;
    h->body = (const unsigned char *)body;
    h->len = len;
    h->off = 0;
}

static void reply_text(http_state *h, const char *text)
{
    char *b = strdup(text);
    reply_owned(h, b, b ? strlen(b) : 0);
}

#ifdef WEFT_HAVE_TOOLS
/* lws has url-decoded the path: encode it again (all but unreserved and '/')
 * so a document name holding '?', '%' or '#' reaches the API intact. */
static char *path_reencode(const char *path)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(path);
    char *out = malloc(3 * n + 1), *o = out;
    if (!out)
        return NULL;
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("-._~/", *p)) {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    *o = 0;
    return out;
}

/* The query string: lws keeps each name=value as a fragment (url-decoded). */
static void query_join(struct lws *wsi, char *q, size_t cap)
{
    size_t n = 0;
    q[0] = 0;
    for (int i = 0; n + 2 < cap; i++) {
        int l = lws_hdr_copy_fragment(wsi, q + n + (n ? 1 : 0), (int)(cap - n - 1),
                                      WSI_TOKEN_HTTP_URI_ARGS, i);
        if (l <= 0)
            break;
        if (n)
            q[n] = '&';
        n += (size_t)l + (n ? 1 : 0);
    }
}
#endif

static int route_api(server *srv, struct lws *wsi, http_state *h, const char *path,
                     const char **ctype)
{
    *ctype = "application/json";
#ifdef WEFT_HAVE_TOOLS
    char query[2048];
    query_join(wsi, query, sizeof query);
    char *epath = path_reencode(path);
    weft_buf out;
    weft_buf_init(&out);
    int status = 500;
    int rc = epath ? weft_api_get(srv->store, epath, query[0] ? query : NULL, &out, &status)
                   : WEFT_TOOLS_E_NOMEM;
    free(epath);
    if (rc && status < 400)
        status = 500;
    if (out.n == 0) {
        weft_buf_cleanup(&out);
        reply_text(h, "{\"error\":\"internal error\"}\n");
        return status;
    }
    reply_owned(h, out.p, out.n); /* takes the buffer */
    return status;
#else
    (void)srv;
    (void)wsi;
    (void)path;
    reply_text(h, "{\"error\":\"this build has no history API (server/tools missing)\"}\n");
    return 503;
#endif
}

/* Fills h with the reply to GET path: the status and content type. */
static int route(server *srv, struct lws *wsi, http_state *h, const char *path, const char **ctype)
{
    *ctype = "text/plain; charset=utf-8";
    if (strcmp(path, "/healthz") == 0) {
        int failed = weft_store_failed(srv->store);
        reply_text(h, failed          ? "storage failed: restart the server\n"
                      : srv->stopping ? "stopping\n"
                                      : "ok\n");
        return failed || srv->stopping ? 503 : 200;
    }
    if (strcmp(path, "/metrics") == 0) {
        size_t len;
        char *m = metrics_render(&len);
        reply_owned(h, m, len);
        *ctype = "text/plain; version=0.0.4; charset=utf-8";
        return 200;
    }
    if (strncmp(path, "/api/", 5) == 0 || strcmp(path, "/api") == 0)
        return route_api(srv, wsi, h, path, ctype);
    if (strcmp(path, "/ws") == 0) {
        reply_text(h, "WebSocket endpoint: upgrade with subprotocol weft.1\n");
        return 426;
    }
    const static_file *f = static_find(path);
    if (!f) {
        reply_text(h, "not found\n");
        return 404;
    }
    h->body = f->data;
    h->len = f->len;
    *ctype = static_content_type(f->path);
    return 200;
}

static int http_begin(struct lws *wsi, http_state *h, const char *path)
{
    server *srv = lws_context_user(lws_get_context(wsi));
    const char *ctype;
    int status;
    memset(h, 0, sizeof *h);
    if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) <= 0) {
        reply_text(h, "method not allowed\n");
        ctype = "text/plain; charset=utf-8";
        status = 405;
    } else {
        status = route(srv, wsi, h, path, &ctype);
    }
    if (!h->body) {
        log_error("http path=%s status=500 reason=oom", path);
        return -1;
    }
    log_debug("http path=%s status=%d bytes=%zu", path, status, h->len);
    unsigned char hdr[LWS_PRE + 1024], *start = hdr + LWS_PRE, *p = start, *end = hdr + sizeof hdr;
    if (lws_add_http_common_headers(wsi, (unsigned)status, ctype, h->len, &p, end) ||
        lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:",
                                    (const unsigned char *)"no-store", 8, &p, end) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    lws_callback_on_writable(wsi);
    return 0;
}

static int http_write(struct lws *wsi, http_state *h)
{
    if (!h->body)
        return 0;
    unsigned char buf[LWS_PRE + HTTP_CHUNK];
    size_t n = h->len - h->off;
    if (n > HTTP_CHUNK)
        n = HTTP_CHUNK;
    memcpy(buf + LWS_PRE, h->body + h->off, n);
    h->off += n;
    bool final = h->off == h->len;
    if (lws_write(wsi, buf + LWS_PRE, n, final ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) != (int)n)
        return -1;
    if (!final) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    http_state_cleanup(h);
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

int http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                  size_t len)
{
    conn_data *cd = user;
    switch (reason) {
    case LWS_CALLBACK_HTTP:
        return http_begin(wsi, &cd->h, in ? (const char *)in : "/");
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return http_write(wsi, &cd->h);
    case LWS_CALLBACK_CLOSED_HTTP:
        if (cd)
            http_state_cleanup(&cd->h);
        return 0;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}
