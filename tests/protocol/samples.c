#include <stdlib.h>
#include <string.h>

#include "samples.h"

#define S(lit) ((weft_proto_str){(lit), (uint32_t)(sizeof(lit) - 1)})

static weft_op ins(uint32_t agent, uint32_t seq, weft_id ol, weft_id or, const char *text,
                   uint32_t cps)
{
    weft_op op = {WEFT_OP_INS, {agent, seq}, cps,  ol,
                  or,          WEFT_ID_NONE, text, (uint32_t)strlen(text)};
    return op;
}

static weft_op del(uint32_t agent, uint32_t seq, uint32_t tagent, uint32_t tseq, uint32_t len)
{
    weft_op op = {WEFT_OP_DEL,  {agent, seq},   len,  WEFT_ID_NONE,
                  WEFT_ID_NONE, {tagent, tseq}, NULL, 0};
    return op;
}

static void vv_add(weft_vv *vv, uint32_t agent, uint32_t next)
{
    if (weft_vv_set(vv, agent, next))
        abort();
}

static weft_proto_presence pres(uint32_t agent, uint32_t clock, bool state)
{
    weft_proto_presence p;
    memset(&p, 0, sizeof p);
    p.agent = agent;
    p.clock = clock;
    p.has_state = state;
    if (state) {
        p.anchor = (weft_anchor){{agent, 40}, 0};
        p.head = (weft_anchor){WEFT_ANCHOR_END_ID, -1};
        p.user.name = S("Ada Lovelace");
        p.user.colour = S("#3b82f6");
    }
    return p;
}

static const char text32[] = "thirty-two bytes of text, str8!!";
static char text300[301];

enum {
    HELLO_MIN,
    HELLO_FULL,
    HELLO_UNICODE,
    WELCOME_EMPTY,
    WELCOME_OPS,
    WELCOME_SNAPSHOT,
    OPS_CLIENT,
    OPS_SERVER,
    OPS_STR8,
    OPS_STR16,
    OPS_ARRAY16,
    ACK,
    ACK_INTS,
    ACK_MAX,
    PRESENCE_STATE,
    PRESENCE_NIL,
    LEAVE,
    PING,
    PONG,
    ERROR,
    N_SAMPLES
};

int sample_msg_count(void)
{
    return N_SAMPLES;
}

const char *sample_msg(int i, weft_proto_msg *m, weft_buf *scratch)
{
    weft_op ops[16];
    weft_id par[2];
    weft_proto_presence p;
    weft_proto_msg_reset(m);
    if (!text300[0]) {
        for (int k = 0; k < 300; k++)
            text300[k] = (char)('a' + k % 26);
    }
    switch (i) {
    case HELLO_MIN:
        m->type = WEFT_MSG_HELLO;
        m->proto = WEFT_PROTO_VERSION;
        m->doc = S("notes");
        return "hello-minimal";
    case HELLO_FULL:
        m->type = WEFT_MSG_HELLO;
        m->proto = WEFT_PROTO_VERSION;
        m->doc = S("team/spec.md");
        m->has_token = true;
        m->token = S("v1.ada.rw.1767225600.Jd8xQ2");
        m->has_agent = true;
        m->agent = 7;
        vv_add(&m->vv, 3, 10);
        vv_add(&m->vv, 7, 300);
        m->has_user = true;
        m->user.name = S("Ada Lovelace");
        m->user.colour = S("#3b82f6");
        return "hello-reconnect";
    case HELLO_UNICODE:
        m->type = WEFT_MSG_HELLO;
        m->proto = WEFT_PROTO_VERSION;
        m->doc = S("na\xc3\xafve \xf0\x9f\x93\x9d");
        m->has_user = true;
        m->user.name = S("J\xc3\xbcrgen");
        m->user.colour = S("");
        return "hello-unicode";
    case WELCOME_EMPTY:
        m->type = WEFT_MSG_WELCOME;
        m->agent = 0;
        m->next_seq = 0;
        m->lsn = 0;
        m->body = WEFT_BODY_NONE;
        return "welcome-empty-doc";
    case WELCOME_OPS:
        m->type = WEFT_MSG_WELCOME;
        m->agent = 7;
        m->next_seq = 300;
        vv_add(&m->vv, 3, 12);
        vv_add(&m->vv, 7, 300);
        m->lsn = 41;
        m->body = WEFT_BODY_OPS;
        ops[0] = ins(3, 10, (weft_id){3, 9}, WEFT_ID_NONE, "ok", 2);
        par[0] = (weft_id){3, 9};
        if (weft_proto_msg_add_batch(m, true, 40, par, 1, ops, 1))
            abort();
        ops[0] = del(3, 12, 7, 5, 1);
        par[0] = (weft_id){3, 11};
        par[1] = (weft_id){7, 299};
        if (weft_proto_msg_add_batch(m, true, 41, par, 2, ops, 1))
            abort();
        p = pres(3, 17, true);
        if (weft_proto_msg_add_presence(m, &p))
            abort();
        p = pres(5, 2, false);
        if (weft_proto_msg_add_presence(m, &p))
            abort();
        m->more = true;
        return "welcome-ops-chunk";
    case WELCOME_SNAPSHOT: {
        const char *name;
        uint32_t lsn;
        weft_doc *d = sample_doc(1, &name, &lsn);
        if (!d || weft_proto_snapshot_encode(d, lsn, scratch))
            abort();
        m->type = WEFT_MSG_WELCOME;
        m->agent = 9;
        m->next_seq = 0;
        if (weft_doc_version(d, &m->vv))
            abort();
        m->lsn = lsn;
        m->body = WEFT_BODY_SNAPSHOT;
        m->snapshot.p = scratch->p;
        m->snapshot.len = (uint32_t)scratch->n;
        p = pres(1, 1, true);
        if (weft_proto_msg_add_presence(m, &p))
            abort();
        weft_doc_free(d);
        return "welcome-snapshot";
    }
    case OPS_CLIENT:
        m->type = WEFT_MSG_OPS;
        ops[0] = ins(7, 0, WEFT_ID_NONE, WEFT_ID_NONE, "Hi", 2);
        if (weft_proto_msg_add_batch(m, false, 0, NULL, 0, ops, 1))
            abort();
        return "ops-client";
    case OPS_SERVER:
        m->type = WEFT_MSG_OPS;
        ops[0] = ins(7, 2, (weft_id){7, 1}, (weft_id){3, 0}, "\xe2\x86\x92\xf0\x9f\x98\x80 ok", 5);
        ops[1] = del(7, 7, 3, 4, 3);
        par[0] = (weft_id){3, 9};
        par[1] = (weft_id){7, 1};
        if (weft_proto_msg_add_batch(m, true, 1234, par, 2, ops, 2))
            abort();
        return "ops-broadcast";
    case OPS_STR8:
        m->type = WEFT_MSG_OPS;
        ops[0] = ins(1, 0, WEFT_ID_NONE, WEFT_ID_NONE, text32, 32);
        if (weft_proto_msg_add_batch(m, false, 0, NULL, 0, ops, 1))
            abort();
        return "ops-str8";
    case OPS_STR16:
        m->type = WEFT_MSG_OPS;
        ops[0] = ins(1, 0, WEFT_ID_NONE, WEFT_ID_NONE, text300, 300);
        if (weft_proto_msg_add_batch(m, false, 0, NULL, 0, ops, 1))
            abort();
        return "ops-str16";
    case OPS_ARRAY16:
        m->type = WEFT_MSG_OPS;
        for (int k = 0; k < 16; k++)
            ops[k] = del(2, (uint32_t)(100 + k), 1, (uint32_t)(64 - k), 1);
        if (weft_proto_msg_add_batch(m, false, 0, NULL, 0, ops, 16))
            abort();
        return "ops-array16";
    case ACK:
        m->type = WEFT_MSG_ACK;
        m->agent = 7;
        m->next_seq = 9;
        m->lsn = 1234;
        return "ack";
    case ACK_INTS:
        m->type = WEFT_MSG_ACK;
        m->agent = 127;
        m->next_seq = 128;
        m->lsn = 65536;
        return "ack-int-formats";
    case ACK_MAX:
        m->type = WEFT_MSG_ACK;
        m->agent = 255;
        m->next_seq = 65535;
        m->lsn = UINT32_MAX;
        return "ack-int-max";
    case PRESENCE_STATE:
        m->type = WEFT_MSG_PRESENCE;
        p = pres(7, 3, true);
        p.anchor = (weft_anchor){WEFT_ANCHOR_START_ID, 0};
        p.head = (weft_anchor){{3, 4}, -1};
        if (weft_proto_msg_add_presence(m, &p))
            abort();
        return "presence";
    case PRESENCE_NIL:
        m->type = WEFT_MSG_PRESENCE;
        p = pres(7, 4, false);
        if (weft_proto_msg_add_presence(m, &p))
            abort();
        return "presence-gone";
    case LEAVE:
        m->type = WEFT_MSG_LEAVE;
        m->agent = 7;
        return "leave";
    case PING:
        m->type = WEFT_MSG_PING;
        m->t = 123456789;
        return "ping";
    case PONG:
        m->type = WEFT_MSG_PONG;
        m->t = 123456789;
        return "pong";
    case ERROR:
        m->type = WEFT_MSG_ERROR;
        m->code = WEFT_CLOSE_BAD_TOKEN;
        m->message = S("invalid token");
        return "error";
    }
    return NULL;
}

const char *sample_value(int i, weft_buf *out, const char **kind)
{
    weft_op ops[2];
    weft_id par[2] = {{3, 9}, {7, 1}};
    weft_vv vv;
    int rc = 0;
    const char *name = NULL;
    weft_vv_init(&vv);
    *kind = i < 2 ? "batch" : "vv";
    switch (i) {
    case 0:
        ops[0] = ins(7, 0, WEFT_ID_NONE, WEFT_ID_NONE, "Hi", 2);
        rc = weft_proto_batch_encode(NULL, 0, ops, 1, out);
        name = "batch-first-edit";
        break;
    case 1:
        ops[0] = ins(7, 2, (weft_id){7, 1}, (weft_id){3, 0}, "x", 1);
        ops[1] = del(7, 3, 3, 4, 2);
        rc = weft_proto_batch_encode(par, 2, ops, 2, out);
        name = "batch-after-merge";
        break;
    case 2:
        rc = weft_proto_vv_encode(&vv, out);
        name = "vv-empty";
        break;
    case 3:
        vv_add(&vv, 0, 1);
        vv_add(&vv, 3, 200);
        vv_add(&vv, 70000, 65536);
        rc = weft_proto_vv_encode(&vv, out);
        name = "vv-three-agents";
        break;
    }
    weft_vv_cleanup(&vv);
    if (rc)
        abort();
    return name;
}

static void must(int rc)
{
    if (rc < 0)
        abort();
}

weft_doc *sample_doc(int i, const char **name, uint32_t *lsn)
{
    weft_doc *d, *b;
    weft_oplist ops;
    switch (i) {
    case 0:
        *name = "snapshot-empty";
        *lsn = 0;
        return weft_doc_new(WEFT_NONE);
    case 1:
        /* One author: typing, a backspace, a jump back, a delete. */
        *name = "snapshot-one-agent";
        *lsn = 6;
        d = weft_doc_new(1);
        must(weft_doc_insert(d, 0, "Hello wrld", 10, NULL));
        must(weft_doc_delete(d, 9, 1, NULL));
        must(weft_doc_insert(d, 7, "o", 1, NULL));
        must(weft_doc_insert(d, 10, "d!", 2, NULL));
        must(weft_doc_delete(d, 0, 1, NULL));
        must(weft_doc_insert(d, 0, "h", 1, NULL));
        return d;
    case 2:
        /* Two authors typing concurrently at one spot, then one deletes
         * across both, and a unicode run. */
        *name = "snapshot-two-agents";
        *lsn = 9;
        d = weft_doc_new(1);
        b = weft_doc_new(2);
        weft_oplist_init(&ops);
        must(weft_doc_insert(d, 0, "<>", 2, &ops));
        for (size_t k = 0; k < ops.n; k++)
            must(weft_doc_apply(b, &ops.ops[k], NULL));
        weft_oplist_clear(&ops);
        must(weft_doc_insert(b, 1, "two", 3, &ops));
        must(weft_doc_insert(d, 1, "one", 3, NULL));
        for (size_t k = 0; k < ops.n; k++)
            must(weft_doc_apply(d, &ops.ops[k], NULL));
        weft_oplist_clear(&ops);
        must(weft_doc_delete(d, 2, 3, NULL));
        must(weft_doc_insert(d, 4, "\xc3\xa9\xf0\x9f\x98\x80", 6, NULL));
        weft_oplist_cleanup(&ops);
        weft_doc_free(b);
        return d;
    case 3:
        /* Backspacing (reverse delete records, format 3) next to a
         * selection delete (forward), then typing over it. */
        *name = "snapshot-backspace";
        *lsn = 12;
        d = weft_doc_new(3);
        must(weft_doc_insert(d, 0, "teh quick fox", 13, NULL));
        for (uint32_t k = 0; k < 12; k++) /* back to "t" */
            must(weft_doc_delete(d, 12 - k, 1, NULL));
        must(weft_doc_insert(d, 1, "he slow fox", 11, NULL));
        must(weft_doc_delete(d, 4, 4, NULL)); /* a selection: "the  fox" */
        must(weft_doc_insert(d, 4, "red", 3, NULL));
        return d;
    }
    return NULL;
}
