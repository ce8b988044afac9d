/* errors.c — weft_tools_strerror and the mapping of storage errors. */
#include "tools_int.h"

const char *weft_tools_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
#define WEFT_TOOLS_ERR_CASE_(name, val, msg)                                                       \
    case val:                                                                                      \
        return msg;
        WEFT_TOOLS_ERRNO_MAP(WEFT_TOOLS_ERR_CASE_)
#undef WEFT_TOOLS_ERR_CASE_
    default:
        return "unknown error";
    }
}

int tools__store_err(int err)
{
    switch (err) {
    case 0:
        return 0;
    case WEFT_STORE_E_NOMEM:
        return WEFT_TOOLS_E_NOMEM;
    case WEFT_STORE_E_NOTFOUND:
        return WEFT_TOOLS_E_NOTFOUND;
    case WEFT_STORE_E_CORRUPT:
        return WEFT_TOOLS_E_CORRUPT;
    default:
        return err < 0 ? WEFT_TOOLS_E_STORE : 0;
    }
}
