/* op_trim: cutting the first k seqs off an insert (by code points, UTF-8
 * aware, origin-left becomes the char before the cut) or a delete. */
#include "check.h"
#include "server.h"

#include <string.h>

static void test_insert_utf8(void)
{
    const char *text = "a\xc3\xa9\xf0\x9f\x98\x80z"; /* a é 😀 z: 4 code points, 8 bytes */
    weft_op op = {.kind = WEFT_OP_INS,
                  .id = {7, 10},
                  .len = 4,
                  .ol = WEFT_ID_NONE,
                  .or = {3, 5},
                  .text = text,
                  .bytes = 8};
    weft_op k = op;
    op_trim(&k, 2);
    CHECK(k.id.agent == 7 && k.id.seq == 12 && k.len == 2);
    CHECK(k.bytes == 5 && memcmp(k.text, "\xf0\x9f\x98\x80z", 5) == 0);
    CHECK(k.ol.agent == 7 && k.ol.seq == 11);
    CHECK(k.or.agent == 3 && k.or.seq == 5);
    k = op;
    op_trim(&k, 3);
    CHECK(k.len == 1 && k.bytes == 1 && k.text[0] == 'z' && k.ol.seq == 12);
}

static void test_delete(void)
{
    weft_op op = {.kind = WEFT_OP_DEL, .id = {2, 100}, .len = 10, .target = {4, 50}};
    op_trim(&op, 4);
    CHECK(op.id.seq == 104 && op.len == 6 && op.target.agent == 4 && op.target.seq == 54);
}

int main(void)
{
    test_insert_utf8();
    test_delete();
    return CHECK_DONE();
}
