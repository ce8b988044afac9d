/* object.c — shape checks on objects parsed by msgpack-c. The scan has
 * already ruled out maps, floats, ext, negative and >= 2^32 integers. */
#include "proto_int.h"

int proto__arr(const msgpack_object *o, uint32_t n, const msgpack_object **items)
{
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != n)
        return WEFT_PROTO_E_SHAPE;
    *items = o->via.array.ptr;
    return 0;
}

int proto__arr_any(const msgpack_object *o, const msgpack_object **items, uint32_t *n)
{
    if (o->type != MSGPACK_OBJECT_ARRAY)
        return WEFT_PROTO_E_SHAPE;
    *items = o->via.array.ptr;
    *n = o->via.array.size;
    return 0;
}

int proto__u32(const msgpack_object *o, uint32_t *v)
{
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 > UINT32_MAX)
        return WEFT_PROTO_E_SHAPE;
    *v = (uint32_t)o->via.u64;
    return 0;
}

int proto__agent(const msgpack_object *o, uint32_t *v)
{
    int rc = proto__u32(o, v);
    if (rc)
        return rc;
    return *v == WEFT_NONE ? WEFT_PROTO_E_VALUE : 0;
}

int proto__str(const msgpack_object *o, weft_proto_str *s)
{
    if (o->type != MSGPACK_OBJECT_STR)
        return WEFT_PROTO_E_SHAPE;
    s->p = o->via.str.ptr;
    s->len = o->via.str.size;
    return 0;
}

int proto__bin(const msgpack_object *o, const uint8_t **p, size_t *n)
{
    if (o->type != MSGPACK_OBJECT_BIN)
        return WEFT_PROTO_E_SHAPE;
    *p = (const uint8_t *)o->via.bin.ptr;
    *n = o->via.bin.size;
    return 0;
}

int proto__bool(const msgpack_object *o, bool *v)
{
    if (o->type != MSGPACK_OBJECT_BOOLEAN)
        return WEFT_PROTO_E_SHAPE;
    *v = o->via.boolean;
    return 0;
}

int proto__unpack(const uint8_t *p, size_t len, msgpack_unpacked *up)
{
    size_t off = 0;
    msgpack_unpack_return r = msgpack_unpack_next(up, (const char *)p, len, &off);
    if (r == MSGPACK_UNPACK_SUCCESS && off == len)
        return 0;
    if (r == MSGPACK_UNPACK_NOMEM_ERROR)
        return WEFT_PROTO_E_NOMEM;
    /* The scan accepted these bytes, so msgpack-c should too. */
    return WEFT_PROTO_E_SHAPE;
}
