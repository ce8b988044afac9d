/* msg.c — weft_proto_msg lifecycle and builders. */
#include <stdlib.h>
#include <string.h>

#include "proto_int.h"

void weft_proto_msg_init(weft_proto_msg *m)
{
    memset(m, 0, sizeof *m);
    weft_vv_init(&m->vv);
}

void weft_proto_msg_cleanup(weft_proto_msg *m)
{
    weft_vv_cleanup(&m->vv);
    free(m->presence);
    free(m->batches);
    free(m->parents);
    free(m->ops);
    memset(m, 0, sizeof *m);
}

void weft_proto_msg_reset(weft_proto_msg *m)
{
    weft_proto_msg keep = *m;
    memset(m, 0, sizeof *m);
    m->vv = keep.vv;
    m->vv.n = 0;
    m->presence = keep.presence;
    m->presence_cap = keep.presence_cap;
    m->batches = keep.batches;
    m->batches_cap = keep.batches_cap;
    m->parents = keep.parents;
    m->parents_cap = keep.parents_cap;
    m->ops = keep.ops;
    m->ops_cap = keep.ops_cap;
}

int weft_proto_msg_add_batch(weft_proto_msg *m, bool has_lsn, uint32_t lsn, const weft_id *parents,
                             size_t nparents, const weft_op *ops, size_t nops)
{
    int rc;
    if ((rc = proto__grow((void **)&m->batches, &m->batches_cap, m->nbatches + 1,
                          sizeof *m->batches)) ||
        (rc = proto__grow((void **)&m->parents, &m->parents_cap, m->nparents + nparents,
                          sizeof *m->parents)) ||
        (rc = proto__grow((void **)&m->ops, &m->ops_cap, m->nops + nops, sizeof *m->ops)))
        return rc;
    weft_proto_batch *b = &m->batches[m->nbatches++];
    b->has_lsn = has_lsn;
    b->lsn = lsn;
    b->parents_off = m->nparents;
    b->nparents = nparents;
    b->ops_off = m->nops;
    b->nops = nops;
    if (nparents)
        memcpy(m->parents + m->nparents, parents, nparents * sizeof *parents);
    if (nops)
        memcpy(m->ops + m->nops, ops, nops * sizeof *ops);
    m->nparents += nparents;
    m->nops += nops;
    return 0;
}

int weft_proto_msg_add_presence(weft_proto_msg *m, const weft_proto_presence *p)
{
    int rc =
        proto__grow((void **)&m->presence, &m->presence_cap, m->npresence + 1, sizeof *m->presence);
    if (rc)
        return rc;
    m->presence[m->npresence++] = *p;
    return 0;
}
