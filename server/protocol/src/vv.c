/* vv.c — version vectors on the wire: [[agent, next_seq] ...], sorted by
 * agent (strictly increasing), no zero next_seq, agent never WEFT_NONE
 * (proto__vv_check, in column.c so the wasm engine has it too). */
#include "proto_int.h"

int proto__vv_decode(const msgpack_object *o, weft_vv *vv)
{
    const msgpack_object *it, *e;
    uint32_t n;
    int rc = proto__arr_any(o, &it, &n);
    if (rc)
        return rc;
    vv->n = 0;
    if ((rc = proto__grow((void **)&vv->v, &vv->cap, n, sizeof *vv->v)))
        return rc;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t agent, next;
        if ((rc = proto__arr(&it[i], 2, &e)) || (rc = proto__agent(&e[0], &agent)) ||
            (rc = proto__u32(&e[1], &next)))
            return rc;
        if (next == 0)
            return WEFT_PROTO_E_VALUE;
        if (i > 0 && agent <= vv->v[i - 1].agent)
            return WEFT_PROTO_E_ORDER;
        vv->v[i].agent = agent;
        vv->v[i].next_seq = next;
        vv->n = i + 1;
    }
    return 0;
}

void proto__vv_encode(proto__writer *w, const weft_vv *vv)
{
    proto__w_arr(w, (uint32_t)vv->n);
    for (size_t i = 0; i < vv->n; i++) {
        proto__w_arr(w, 2);
        proto__w_u32(w, vv->v[i].agent);
        proto__w_u32(w, vv->v[i].next_seq);
    }
}
