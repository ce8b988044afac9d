/* auth.c — who a session is: signed tokens (server/tools) or open mode. */
#include "log.h"
#include "server.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef WEFT_HAVE_TOOLS
#include "weft/tools.h"
#endif

void copy_utf8(char *dst, size_t cap, const char *src, size_t len)
{
    if (len >= cap) {
        len = cap - 1;
        while (len > 0 && ((uint8_t)src[len] & 0xc0) == 0x80)
            len--; /* src[len] would be a continuation byte: cut before its lead */
    }
    memcpy(dst, src, len);
    dst[len] = 0;
}

static uint32_t auth_open(session *s, const weft_proto_msg *m)
{
    s->write = true;
    s->token_exp = 0;
    s->user_named = m->has_user && m->user.name.len > 0;
    if (s->user_named)
        copy_utf8(s->user, sizeof s->user, m->user.name.p, m->user.name.len);
    else
        strcpy(s->user, "anonymous");
    return 0;
}

#ifdef WEFT_HAVE_TOOLS
static uint32_t auth_token(session *s, const weft_proto_msg *m, const char *tok, const char **why)
{
    const config *c = s->srv->cfg;
    weft_token t;
    int rc = weft_token_verify(c->secret, c->secret_len, tok, (uint64_t)time(NULL), &t);
    if (rc == WEFT_TOOLS_E_EXPIRED) {
        *why = "token expired";
        return WEFT_CLOSE_TOKEN_EXPIRED;
    }
    if (rc) {
        *why = "invalid token";
        return WEFT_CLOSE_BAD_TOKEN;
    }
    char doc[1025];
    copy_utf8(doc, sizeof doc, m->doc.p, m->doc.len);
    if (!weft_token_allows(&t, doc)) {
        *why = "token does not grant this document";
        return WEFT_CLOSE_FORBIDDEN;
    }
    copy_utf8(s->user, sizeof s->user, t.user, strnlen(t.user, sizeof t.user));
    s->user_named = true;
    s->write = t.write;
    s->token_exp = t.exp;
    return 0;
}
#endif

uint32_t auth_hello(session *s, const weft_proto_msg *m, const char **why)
{
    const config *c = s->srv->cfg;
    if (m->has_user)
        copy_utf8(s->colour, sizeof s->colour, m->user.colour.p, m->user.colour.len);
    if (!c->secret)
        return auth_open(s, m);
    char *tok = NULL;
    if (m->has_token)
        tok = strndup(m->token.p, m->token.len);
    else if (s->query_token)
        tok = strdup(s->query_token);
    if (!tok) {
        *why = "a token is required";
        return WEFT_CLOSE_POLICY;
    }
#ifdef WEFT_HAVE_TOOLS
    uint32_t code = auth_token(s, m, tok, why);
#else
    uint32_t code = WEFT_CLOSE_INTERNAL;
    *why = "this build has no token support (server/tools missing)";
#endif
    free(tok);
    return code;
}
