/*
 * snapcodec.h — the seam between weft-trace-bench and the protocol codec's
 * snapshot (weft_proto_snapshot_encode / _load, server/protocol).
 *
 * Built with the codec when the weft_protocol target exists (the build
 * defines WEFT_BENCH_HAVE_PROTOCOL); without it both functions answer
 * SNAP_UNAVAILABLE and the report prints null for encodeMs, encodedBytes and
 * loadMs. Changing codecs is one function body each in snapcodec.c.
 */
#ifndef WEFT_BENCH_SNAPCODEC_H
#define WEFT_BENCH_SNAPCODEC_H

#include <weft/crdt.h>

#define SNAP_UNAVAILABLE 1

/* Encodes doc as a snapshot into out (replacing its contents):
 * 0, SNAP_UNAVAILABLE, or a negative error. */
int snap_encode(const weft_doc *doc, weft_buf *out);

/* Decodes a snapshot into a new document (*out, caller frees):
 * 0, SNAP_UNAVAILABLE, or a negative error (*out NULL). */
int snap_load(const char *msg, size_t len, weft_doc **out);

/* Message for an error of the two functions above. */
const char *snap_strerror(int err);

#endif
