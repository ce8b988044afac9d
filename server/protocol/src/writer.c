/* writer.c — msgpack_packer into a weft_buf, with a sticky error.
 * msgpack_pack_uint32 / _str / _bin / _array already choose the smallest
 * format; the golden vectors pin that. */
#include <stdlib.h>
#include <string.h>

#include "proto_int.h"

static int buf_write(void *data, const char *src, size_t n)
{
    proto__writer *w = data;
    weft_buf *b = w->out;
    if (w->err)
        return -1;
    if (n == 0)
        return 0;
    if (n > SIZE_MAX - b->n || proto__grow((void **)&b->p, &b->cap, b->n + n, 1)) {
        w->err = WEFT_PROTO_E_NOMEM;
        return -1;
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
    return 0;
}

void proto__writer_init(proto__writer *w, weft_buf *out)
{
    w->out = out;
    w->err = 0;
    out->n = 0;
    msgpack_packer_init(&w->pk, w, buf_write);
}

void proto__write_raw(proto__writer *w, const void *p, size_t n)
{
    if (n)
        buf_write(w, p, n);
}

void proto__w_u32(proto__writer *w, uint32_t v)
{
    msgpack_pack_uint32(&w->pk, v);
}
void proto__w_nil(proto__writer *w)
{
    msgpack_pack_nil(&w->pk);
}
void proto__w_bool(proto__writer *w, bool v)
{
    if (v)
        msgpack_pack_true(&w->pk);
    else
        msgpack_pack_false(&w->pk);
}
void proto__w_arr(proto__writer *w, uint32_t n)
{
    msgpack_pack_array(&w->pk, n);
}
void proto__w_str(proto__writer *w, const char *p, size_t n)
{
    if (n > UINT32_MAX) {
        w->err = w->err ? w->err : WEFT_PROTO_E_VALUE;
        return;
    }
    msgpack_pack_str(&w->pk, n);
    msgpack_pack_str_body(&w->pk, p, n);
}
void proto__w_bin(proto__writer *w, const void *p, size_t n)
{
    if (n > UINT32_MAX) {
        w->err = w->err ? w->err : WEFT_PROTO_E_VALUE;
        return;
    }
    msgpack_pack_bin(&w->pk, n);
    msgpack_pack_bin_body(&w->pk, p, n);
}

int proto__writer_done(proto__writer *w)
{
    if (w->err)
        w->out->n = 0;
    return w->err;
}
