/*
 * proto_int.h — internals shared by the protocol codec's files.
 *
 * Decoding is two passes over untrusted bytes:
 *   1. scan.c walks the msgpack headers without allocating: canonical
 *      formats only, every declared length within the bytes that remain,
 *      depth capped, UTF-8 checked. After it, msgpack-c can allocate at most
 *      (frame bytes) x sizeof(msgpack_object), because every array element
 *      takes at least one byte.
 *   2. msgpack-c parses into a zone; msg_decode.c / snapshot.c check the
 *      shape (arity, field types, value ranges) and fill plain structs.
 * Encoding goes through msgpack_packer (which picks the smallest formats)
 * into a weft_buf; the golden vectors in tests/golden/ pin the bytes.
 */
#ifndef WEFT_PROTO_INT_H
#define WEFT_PROTO_INT_H

#include <msgpack.h>

#include "cols_int.h" /* proto__grow, proto__vv_check: the msgpack-free helpers */
#include "weft/protocol.h"

/* Hard ceiling on max_depth (msgpack-c itself gives up at 32). */
#define PROTO__DEPTH_CAP 32u

/* Scans one value at p (at most len bytes); *end = its length. */
int proto__scan_value(const uint8_t *p, size_t len, uint32_t max_depth, size_t *end);

/* Byte span of element `index` of the array that starts at p; p..len must
 * already have passed the scan. */
int proto__elem_span(const uint8_t *p, size_t len, uint32_t index, size_t *off, size_t *n);

/* Parses scanned bytes with msgpack-c into up (caller destroys it). */
int proto__unpack(const uint8_t *p, size_t len, msgpack_unpacked *up);

/* A packer writing into a weft_buf. */
typedef struct proto__writer {
    msgpack_packer pk;
    weft_buf *out;
    int err; /* first error, sticky */
} proto__writer;

void proto__writer_init(proto__writer *w, weft_buf *out); /* empties out */
/* Appends raw, already canonical msgpack bytes. */
void proto__write_raw(proto__writer *w, const void *p, size_t n);
void proto__w_u32(proto__writer *w, uint32_t v);
void proto__w_nil(proto__writer *w);
void proto__w_bool(proto__writer *w, bool v);
void proto__w_arr(proto__writer *w, uint32_t n);
void proto__w_str(proto__writer *w, const char *p, size_t n);
void proto__w_bin(proto__writer *w, const void *p, size_t n);
/* Finishes: on error empties out and returns the error. */
int proto__writer_done(proto__writer *w);

/* Shape checks on parsed objects (all return WEFT_PROTO_E_SHAPE on a
 * mismatch). */
int proto__arr(const msgpack_object *o, uint32_t n, const msgpack_object **items);
int proto__arr_any(const msgpack_object *o, const msgpack_object **items, uint32_t *n);
int proto__u32(const msgpack_object *o, uint32_t *v);
int proto__agent(const msgpack_object *o, uint32_t *v); /* u32 != WEFT_NONE */
int proto__str(const msgpack_object *o, weft_proto_str *s);
int proto__bin(const msgpack_object *o, const uint8_t **p, size_t *n);
int proto__bool(const msgpack_object *o, bool *v);
static inline bool proto__is_nil(const msgpack_object *o)
{
    return o->type == MSGPACK_OBJECT_NIL;
}

/* Version vectors: [[agent, next_seq] ...], agents strictly increasing,
 * next_seq > 0. */
int proto__vv_decode(const msgpack_object *o, weft_vv *vv);
void proto__vv_encode(proto__writer *w, const weft_vv *vv);

#endif
