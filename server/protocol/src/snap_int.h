/* snap_int.h — the deflate side of snapshots, shared by snapshot.c and
 * deflate.c; the columns themselves are cols_int.h. */
#ifndef WEFT_SNAP_INT_H
#define WEFT_SNAP_INT_H

#include "cols_int.h"
#include "proto_int.h"

/* A raw deflater (libdeflate, level 6; stored blocks when deflate saves
 * less than a third), reused for every section of a snapshot (deflate.c). */
typedef struct proto__deflater proto__deflater;
int proto__deflater_new(proto__deflater **out); /* *out NULL on failure */
void proto__deflater_free(proto__deflater *d);  /* NULL is fine */
/* Raw deflate of in[0..n) into out (replaced), one complete stream. */
int proto__deflate(proto__deflater *d, const void *in, size_t n, weft_buf *out);
/* A raw inflater (libdeflate's whole-buffer decompressor), reused for
 * every section of a snapshot. */
typedef struct proto__inflater proto__inflater;
int proto__inflater_new(proto__inflater **out); /* *out NULL on failure */
void proto__inflater_free(proto__inflater *z);  /* NULL is fine */
/* Raw inflate of in[0..n) into dst[0..want): exactly `want` bytes and one
 * complete stream, else WEFT_PROTO_E_INFLATE. dst is never NULL. */
int proto__inflate(proto__inflater *z, const uint8_t *in, size_t n, uint8_t *dst, size_t want);

#endif
