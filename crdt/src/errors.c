#include "weft/crdt.h"

const char *weft_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
#define WEFT_ERR_CASE_(name, val, msg)                                                             \
    case val:                                                                                      \
        return msg;
        WEFT_ERRNO_MAP(WEFT_ERR_CASE_)
#undef WEFT_ERR_CASE_
    default:
        return "unknown error";
    }
}
