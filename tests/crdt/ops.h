/* ops.h — building ops by hand in tests. */
#ifndef WEFT_TEST_OPS_H
#define WEFT_TEST_OPS_H

#include <string.h>

#include "testutil.h"

#define ID(a, s) ((weft_id){(a), (s)})
#define NONE WEFT_ID_NONE

static inline weft_op ins_op(uint32_t a, uint32_t s, weft_id ol, weft_id or, const char *t)
{
    weft_op op;
    memset(&op, 0, sizeof op);
    op.kind = WEFT_OP_INS;
    op.id = (weft_id){a, s};
    op.ol = ol;
    op.or = or ;
    op.target = WEFT_ID_NONE;
    op.text = t;
    op.bytes = (uint32_t)strlen(t);
    long n = u8_decode(t, op.bytes, NULL);
    op.len = n > 0 ? (uint32_t)n : 0;
    return op;
}

static inline weft_op del_op(uint32_t a, uint32_t s, weft_id target, uint32_t len)
{
    weft_op op;
    memset(&op, 0, sizeof op);
    op.kind = WEFT_OP_DEL;
    op.id = (weft_id){a, s};
    op.ol = op.or = WEFT_ID_NONE;
    op.target = target;
    op.len = len;
    return op;
}

#endif
