/*
 * snapcodec.c — snapshot encode/load through the protocol codec, or
 * SNAP_UNAVAILABLE when the bench is built without it (snapcodec.h).
 */
#include "snapcodec.h"

#include <stddef.h>

#ifdef WEFT_BENCH_HAVE_PROTOCOL
#include <weft/protocol.h>

int snap_encode(const weft_doc *doc, weft_buf *out)
{
    return weft_proto_snapshot_encode(doc, 0, out);
}

int snap_load(const char *msg, size_t len, weft_doc **out)
{
    weft_proto_limits lim = WEFT_PROTO_LIMITS_DEFAULT;
    uint32_t lsn;
    weft_doc *doc = weft_doc_new(WEFT_NONE);
    int rc =
        doc ? weft_proto_snapshot_load((const uint8_t *)msg, len, &lim, doc, &lsn) : WEFT_E_NOMEM;
    if (rc) {
        weft_doc_free(doc);
        doc = NULL;
    }
    *out = doc;
    return rc;
}

const char *snap_strerror(int err)
{
    return weft_proto_strerror(err);
}

#else

int snap_encode(const weft_doc *doc, weft_buf *out)
{
    (void)doc;
    out->n = 0;
    return SNAP_UNAVAILABLE;
}

int snap_load(const char *msg, size_t len, weft_doc **out)
{
    (void)msg;
    (void)len;
    *out = NULL;
    return SNAP_UNAVAILABLE;
}

const char *snap_strerror(int err)
{
    return weft_strerror(err);
}

#endif
