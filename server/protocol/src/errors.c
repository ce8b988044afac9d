/* errors.c — names for WEFT_PROTO_E_* codes and WebSocket close codes. */
#include "weft/protocol.h"

const char *weft_proto_strerror(int err)
{
    switch (err) {
#define WEFT_PROTO_ERR_CASE_(name, val, msg)                                                       \
    case val:                                                                                      \
        return msg;
        WEFT_PROTO_ERRNO_MAP(WEFT_PROTO_ERR_CASE_)
#undef WEFT_PROTO_ERR_CASE_
    default:
        return weft_strerror(err);
    }
}

const char *weft_proto_errname(int err)
{
    switch (err) {
#define WEFT_PROTO_ERR_NAME_(name, val, msg)                                                       \
    case val:                                                                                      \
        return #name;
        WEFT_PROTO_ERRNO_MAP(WEFT_PROTO_ERR_NAME_)
#undef WEFT_PROTO_ERR_NAME_
    default:
        return NULL;
    }
}

const char *weft_close_reason(uint32_t code)
{
    switch (code) {
#define WEFT_CLOSE_CASE_(name, val, msg)                                                           \
    case val:                                                                                      \
        return msg;
        WEFT_CLOSE_MAP(WEFT_CLOSE_CASE_)
#undef WEFT_CLOSE_CASE_
    default:
        return NULL;
    }
}

uint32_t weft_proto_err_close(int err)
{
    switch (err) {
    case WEFT_PROTO_E_TOOBIG:
        return WEFT_CLOSE_TOO_LARGE;
    case WEFT_PROTO_E_NOMEM:
    case WEFT_PROTO_E_ZLIB:
    case WEFT_E_NOMEM:
        return WEFT_CLOSE_INTERNAL;
    default:
        return WEFT_CLOSE_BAD_MESSAGE;
    }
}
