/* http.c — HTTP on the WebSocket port: /healthz, /metrics, /api/..., static files. */
#include "api.h"
#include "log.h"
#include "metrics.h"
#include "server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#ifdef WEFT_HAVE_TOOLS
#include "weft/tools.h"
#endif

#define HTTP_CHUNK 16384

void http_state_cleanup(http_state *h)
{
    if (h->job) /* the worker still has it: it is dropped when it comes back */
        h->job->wsi = NULL;
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

#ifdef WEFT_HAVE_TOOLS
/* The document a /api/docs/NAME[/ROUTE] path names, or "" for the list
 * (the same last-segment rule as the API itself: a name may hold '/'). */
static void api_doc_name(const char *path, char *name, size_t cap)
{
    static const char *const subs[] = {"/text", "/log", "/blame", "/diff", "/versions"};
    const char *rest = strncmp(path, "/api/docs/", 10) == 0 ? path + 10 : "";
    size_t n = strlen(rest);
    if (n && rest[n - 1] == '/')
        n--;
    for (size_t k = 0; k < sizeof subs / sizeof subs[0]; k++) {
        size_t sl = strlen(subs[k]);
        if (n > sl && memcmp(rest + n - sl, subs[k], sl) == 0) {
            n -= sl;
            break;
        }
    }
    copy_utf8(name, cap, rest, n);
}

/* With a secret the history API is private like the documents: it needs a
 * token (Authorization: Bearer TOKEN, or ?token=TOKEN) that grants the
 * document, read-only is enough; listing documents needs a token for every
 * document ("*"). 0 or the HTTP status to refuse with. */
static int api_authorize(server *srv, struct lws *wsi, const char *path, const char **why)
{
    const config *c = srv->cfg;
    if (!c->secret)
        return 0;
    char buf[WEFT_TOKEN_MAX + 16];
    const char *tok = NULL;
    int n = lws_hdr_copy(wsi, buf, sizeof buf, WSI_TOKEN_HTTP_AUTHORIZATION);
    if (n > 7 && strncasecmp(buf, "Bearer ", 7) == 0)
        tok = buf + 7;
    else
        tok = lws_get_urlarg_by_name(wsi, "token=", buf, (int)sizeof buf);
    if (!tok) {
        *why = "a token is required (Authorization: Bearer TOKEN or ?token=)";
        return 401;
    }
    weft_token t;
    int rc = weft_token_verify(c->secret, c->secret_len, tok, (uint64_t)time(NULL), &t);
    if (rc) {
        *why = rc == WEFT_TOOLS_E_EXPIRED ? "token expired" : "invalid token";
        return 401;
    }
    char name[1025];
    api_doc_name(path, name, sizeof name);
    if (name[0] ? !weft_token_allows(&t, name) : strcmp(t.doc, "*") != 0) {
        *why = name[0] ? "token does not grant this document"
                       : "listing documents needs a token for every document (\"*\")";
        return 403;
    }
    return 0;
}
#endif

/* /api/...: queued for the worker; the reply comes from http_api_drain. */
static int route_api(server *srv, struct lws *wsi, http_state *h, const char *path,
                     const char **ctype)
{
    *ctype = "application/json";
#ifdef WEFT_HAVE_TOOLS
    const char *why = NULL;
    int refuse = api_authorize(srv, wsi, path, &why);
    if (refuse) {
        char body[256];
        snprintf(body, sizeof body, "{\"error\":\"%s\"}\n", why);
        reply_text(h, body);
        metrics.auth_failures++;
        return refuse;
    }
    char query[2048];
    query_join(wsi, query, sizeof query);
    api_job *j = calloc(1, sizeof *j);
    if (j) {
        weft_buf_init(&j->out);
        j->wsi = wsi;
        j->path = path_reencode(path);
        j->query = query[0] ? strdup(query) : NULL;
    }
    if (!j || !j->path || (query[0] && !j->query) || api_submit(srv->api, j)) {
        if (j)
            api_job_free(j);
        reply_text(h, "{\"error\":\"out of memory\"}\n");
        return 500;
    }
    h->job = j;
    lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, 120);
    return 0;
#else
    (void)srv;
    (void)wsi;
    (void)path;
    reply_text(h, "{\"error\":\"this build has no history API (server/tools missing)\"}\n");
    return 503;
#endif
}

void http_api_drain(server *srv)
{
    api_job *j = srv->api ? api_done(srv->api) : NULL;
    while (j) {
        api_job *next = j->next;
        if (j->wsi) {
            http_state *h = &((conn_data *)lws_wsi_user(j->wsi))->h;
            h->job = NULL;
            if (j->out.n == 0) {
                reply_text(h, "{\"error\":\"internal error\"}\n");
                h->status = 500;
            } else {
                reply_owned(h, j->out.p, j->out.n); /* takes the buffer */
                weft_buf_init(&j->out);
                h->status = j->status;
            }
            h->ready = h->body != NULL;
            log_debug("http api path=%s status=%d bytes=%zu", j->path, h->status, h->len);
            lws_set_timeout(j->wsi, NO_PENDING_TIMEOUT, 0);
            lws_callback_on_writable(j->wsi);
        }
        api_job_free(j);
        j = next;
    }
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
    memset(h, 0, sizeof *h);
    if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) <= 0) {
        reply_text(h, "method not allowed\n");
        h->ctype = "text/plain; charset=utf-8";
        h->status = 405;
    } else {
        h->status = route(srv, wsi, h, path, &h->ctype);
    }
    if (h->job)
        return 0; /* answered later */
    if (!h->body) {
        log_error("http path=%s status=500 reason=oom", path);
        return -1;
    }
    log_debug("http path=%s status=%d bytes=%zu", path, h->status, h->len);
    h->ready = true;
    lws_callback_on_writable(wsi);
    return 0;
}

static int http_write_headers(struct lws *wsi, http_state *h)
{
    unsigned char hdr[LWS_PRE + 1024], *start = hdr + LWS_PRE, *p = start, *end = hdr + sizeof hdr;
    if (lws_add_http_common_headers(wsi, (unsigned)h->status, h->ctype, h->len, &p, end) ||
        lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:",
                                    (const unsigned char *)"no-store", 8, &p, end) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    h->headers_sent = true;
    lws_callback_on_writable(wsi);
    return 0;
}

static int http_write(struct lws *wsi, http_state *h)
{
    if (!h->ready)
        return 0;
    if (!h->headers_sent)
        return http_write_headers(wsi, h);
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
