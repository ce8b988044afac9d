/*
 * weft/protocol.h — the Weft wire protocol: every WebSocket message, op
 * batches, version vectors and document snapshots, to and from msgpack.
 *
 * The byte layout of every message is specified as field tables in
 * docs/protocol.md; tests/golden/ holds frozen (message, bytes) pairs that
 * the C and the JS test suites both check. Changing a golden file means a
 * new WEFT_PROTO_VERSION.
 *
 * Canonical form: every frame is one msgpack array; arrays only (no maps),
 * no floats, no ext types, no negative integers, integers < 2^32, and every
 * value in its smallest format. A value therefore has exactly one encoding
 * and the decoders reject every other one with a WEFT_PROTO_E_* code.
 *
 * Untrusted bytes are bounded before msgpack-c sees them: a frame size cap,
 * every declared array/str/bin length checked against the bytes that
 * remain, a nesting depth cap (weft_proto_scan()).
 *
 * Errors: functions returning int give 0 on success and a negative
 * WEFT_PROTO_E_* code (or a WEFT_E_* code of the engine, for snapshots) on
 * failure; weft_proto_strerror() names both families.
 */
#ifndef WEFT_PROTOCOL_H
#define WEFT_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "weft/crdt.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever a byte of tests/golden/ changes (after the first
 * release; before it, tests/golden/README.md says what may change). */
#define WEFT_PROTO_VERSION 1
/* The WebSocket subprotocol name ("weft." + WEFT_PROTO_VERSION). */
#define WEFT_PROTO_SUBPROTOCOL "weft.1"

/* ---- errors ------------------------------------------------------------ */

/* Decoding/encoding errors. Values are -100.. so they never collide with
 * the engine's WEFT_E_* codes (-1 .. -99). */
#define WEFT_PROTO_ERRNO_MAP(X)                                                                    \
    X(NOMEM, -101, "out of memory")                                                                \
    X(TOOBIG, -102, "frame larger than the limit")                                                 \
    X(TRUNCATED, -103, "frame ends inside a value")                                                \
    X(TRAILING, -104, "bytes after the message")                                                   \
    X(NONCANONICAL, -105, "value not in its smallest msgpack format")                              \
    X(MAP, -106, "msgpack map (only arrays are allowed)")                                          \
    X(FLOAT, -107, "msgpack float (not allowed)")                                                  \
    X(EXT, -108, "msgpack ext type (not allowed)")                                                 \
    X(NEGATIVE, -109, "negative integer (not allowed)")                                            \
    X(INTRANGE, -110, "integer >= 2^32 (not allowed)")                                             \
    X(RESERVED, -111, "reserved msgpack byte 0xc1")                                                \
    X(DEPTH, -112, "arrays nested too deeply")                                                     \
    X(UTF8, -113, "string is not valid UTF-8")                                                     \
    X(TYPE, -114, "unknown message type")                                                          \
    X(SHAPE, -115, "wrong number or type of fields")                                               \
    X(VALUE, -116, "field value out of range")                                                     \
    X(ORDER, -117, "entries not in strictly increasing order")                                     \
    X(FORMAT, -118, "unknown snapshot format")                                                     \
    X(INFLATE, -119, "corrupt compressed data")                                                    \
    X(BOMB, -120, "decompressed size over the limit")                                              \
    X(ZLIB, -121, "compression failed")                                                            \
    X(VVMISMATCH, -122, "snapshot version vector does not match its content")

typedef enum weft_proto_err {
#define WEFT_PROTO_ERR_ENUM_(name, val, msg) WEFT_PROTO_E_##name = (val),
    WEFT_PROTO_ERRNO_MAP(WEFT_PROTO_ERR_ENUM_)
#undef WEFT_PROTO_ERR_ENUM_
} weft_proto_err;

/* Message for a WEFT_PROTO_E_* code; falls back to weft_strerror() for the
 * engine's WEFT_E_* codes ("success" for 0, "unknown error" otherwise). */
const char *weft_proto_strerror(int err);
/* The identifier of a WEFT_PROTO_E_* code without prefix ("NONCANONICAL"),
 * as used in tests/golden/; NULL for anything else. */
const char *weft_proto_errname(int err);

/* ---- close codes ----------------------------------------------------------- */

/* WebSocket close codes Weft uses, and the code of the error message sent
 * just before such a close (docs/protocol.md, "Close codes"). 1000-1015 are
 * RFC 6455 codes; 4000-4999 are Weft's own. */
#define WEFT_CLOSE_MAP(X)                                                                          \
    X(NORMAL, 1000, "normal closure")                                                              \
    X(GOING_AWAY, 1001, "server shutting down or document unloading")                              \
    X(PROTOCOL_ERROR, 1002, "WebSocket protocol error")                                            \
    X(UNSUPPORTED_DATA, 1003, "text frame (only binary frames are accepted)")                      \
    X(POLICY, 1008, "policy violation (origin not allowed, no token)")                             \
    X(TOO_LARGE, 1009, "frame larger than the limit")                                              \
    X(INTERNAL, 1011, "internal server error")                                                     \
    X(TRY_AGAIN, 1013, "try again later (overloaded or slow consumer: reconnect and resync)")      \
    X(BAD_MESSAGE, 4000, "undecodable or non-canonical message")                                   \
    X(PROTO_VERSION, 4001, "unsupported protocol version")                                         \
    X(BAD_TOKEN, 4002, "invalid token")                                                            \
    X(TOKEN_EXPIRED, 4003, "token expired")                                                        \
    X(FORBIDDEN, 4004, "token does not grant this document")                                       \
    X(READ_ONLY, 4005, "write on a read-only session")                                             \
    X(UNKNOWN_DOC, 4006, "no such document")                                                       \
    X(RATE_LIMIT, 4007, "rate limit exceeded")                                                     \
    X(DOC_TOO_LARGE, 4008, "document size limit reached")                                          \
    X(BAD_OP, 4009, "operation rejected by the engine")                                            \
    X(AGENT_CONFLICT, 4010, "agent not owned by this session, or reused with different ops")       \
    X(UNEXPECTED, 4011, "message not allowed in this state (e.g. ops before hello)")               \
    X(HELLO_TIMEOUT, 4012, "no hello in time")                                                     \
    X(IDLE_TIMEOUT, 4013, "connection idle too long")                                              \
    X(TOO_MANY, 4014, "too many connections")

typedef enum weft_close_code {
#define WEFT_CLOSE_ENUM_(name, val, msg) WEFT_CLOSE_##name = (val),
    WEFT_CLOSE_MAP(WEFT_CLOSE_ENUM_)
#undef WEFT_CLOSE_ENUM_
} weft_close_code;

/* Description of a close code; NULL if Weft does not use it. */
const char *weft_close_reason(uint32_t code);
/* The close code for a decoding error: WEFT_CLOSE_TOO_LARGE for
 * WEFT_PROTO_E_TOOBIG, WEFT_CLOSE_INTERNAL for NOMEM/ZLIB (and the engine's
 * WEFT_E_NOMEM), otherwise WEFT_CLOSE_BAD_MESSAGE. */
uint32_t weft_proto_err_close(int err);

/* ---- limits ------------------------------------------------------------------ */

typedef struct weft_proto_limits {
    size_t max_frame;   /* bytes in one frame */
    uint32_t max_depth; /* array nesting (the frame itself is depth 1), <= 32 */
    size_t max_inflate; /* decompressed bytes of one snapshot */
} weft_proto_limits;

/* Defaults: 16 MiB frames, depth 8, 64 MiB of decompressed snapshot. A
 * server takes a much smaller max_frame for what clients send. */
#define WEFT_PROTO_MAX_FRAME (16u << 20)
#define WEFT_PROTO_MAX_DEPTH 8u
#define WEFT_PROTO_MAX_INFLATE (64u << 20)
#define WEFT_PROTO_LIMITS_DEFAULT                                                                  \
    ((weft_proto_limits){WEFT_PROTO_MAX_FRAME, WEFT_PROTO_MAX_DEPTH, WEFT_PROTO_MAX_INFLATE})

/*
 * The bounds pre-check every decoder runs first: `len` bytes must hold
 * exactly one canonical msgpack value (rules above), within the limits,
 * with valid UTF-8 in every str. Never allocates. Exposed for tests and
 * fuzzers; the decoders call it themselves.
 */
int weft_proto_scan(const uint8_t *p, size_t len, const weft_proto_limits *lim);

/* ---- messages ------------------------------------------------------------------ */

typedef enum weft_proto_type {
    WEFT_MSG_HELLO = 1,    /* client -> server, first message */
    WEFT_MSG_WELCOME = 2,  /* server -> client, answer to hello (maybe chunked) */
    WEFT_MSG_OPS = 3,      /* both directions: one op batch */
    WEFT_MSG_ACK = 4,      /* server -> author: batch durable */
    WEFT_MSG_PRESENCE = 5, /* both directions */
    WEFT_MSG_LEAVE = 6,    /* server -> client: a session left */
    WEFT_MSG_PING = 7,     /* either direction */
    WEFT_MSG_PONG = 8,     /* answer to ping */
    WEFT_MSG_ERROR = 9     /* server -> client, then a close with the same code */
} weft_proto_type;

/* Body kinds of a welcome. */
typedef enum weft_proto_body {
    WEFT_BODY_NONE = 0,     /* the client lacks nothing */
    WEFT_BODY_SNAPSHOT = 1, /* an encoded snapshot (weft_proto_snapshot_*) */
    WEFT_BODY_OPS = 2       /* op batches with their LSNs */
} weft_proto_body;

/* A byte string. Decoded strings point into the frame (not NUL-terminated). */
typedef struct weft_proto_str {
    const char *p;
    uint32_t len;
} weft_proto_str;

/* A user's display: name and colour (e.g. "#3b82f6"). */
typedef struct weft_proto_user {
    weft_proto_str name, colour;
} weft_proto_user;

/* One session's presence. has_state false = the session's state is gone
 * (nil on the wire). assoc travels as its sign only: decoded anchors have
 * assoc 0 (>= 0) or -1 (< 0). */
typedef struct weft_proto_presence {
    uint32_t agent, clock;
    bool has_state;
    weft_anchor anchor, head; /* selection anchor and head (cursor) */
    weft_proto_user user;
} weft_proto_presence;

/* One op batch: parents[parents_off ..+nparents] and ops[ops_off ..+nops]
 * of the message. has_lsn false = nil (client -> server ops). */
typedef struct weft_proto_batch {
    bool has_lsn;
    uint32_t lsn;
    size_t parents_off, nparents;
    size_t ops_off, nops;
} weft_proto_batch;

/*
 * A decoded (or to-be-encoded) message. Caller-allocated: _init / _cleanup.
 * Which fields a type uses (docs/protocol.md has the wire order):
 *   HELLO     proto, doc, has_token/token, has_agent/agent, vv, has_user/user
 *   WELCOME   agent, next_seq, vv, lsn, body, snapshot (BODY_SNAPSHOT) or
 *             batches/parents/ops (BODY_OPS, every batch has an LSN),
 *             presence[0..npresence), more
 *   OPS       batches[0] (exactly one), parents, ops
 *   ACK       agent, next_seq, lsn
 *   PRESENCE  presence[0] (npresence == 1)
 *   LEAVE     agent
 *   PING/PONG t
 *   ERROR     code, message
 * Decoded strings, op texts and the snapshot point into the frame, which
 * must outlive the message. Arrays are owned by the message.
 */
typedef struct weft_proto_msg {
    uint32_t type; /* weft_proto_type */
    uint32_t proto;
    weft_proto_str doc;
    bool has_token;
    weft_proto_str token;
    bool has_agent; /* HELLO only; the others always carry an agent */
    uint32_t agent;
    weft_vv vv;
    bool has_user;
    weft_proto_user user;
    uint32_t next_seq, lsn;
    uint32_t body;           /* weft_proto_body */
    weft_proto_str snapshot; /* encoded snapshot value */
    bool more;               /* more welcome chunks follow */
    weft_proto_presence *presence;
    size_t npresence, presence_cap;
    weft_proto_batch *batches;
    size_t nbatches, batches_cap;
    weft_id *parents;
    size_t nparents, parents_cap;
    weft_op *ops;
    size_t nops, ops_cap;
    uint32_t t;
    uint32_t code;
    weft_proto_str message;
} weft_proto_msg;

void weft_proto_msg_init(weft_proto_msg *m);
void weft_proto_msg_cleanup(weft_proto_msg *m);
/* Forgets the contents, keeps the arrays' memory. */
void weft_proto_msg_reset(weft_proto_msg *m);

/* Builders for encoding: append to the message's arrays (copying the
 * value; strings and op texts are not copied). */
int weft_proto_msg_add_batch(weft_proto_msg *m, bool has_lsn, uint32_t lsn, const weft_id *parents,
                             size_t nparents, const weft_op *ops, size_t nops);
int weft_proto_msg_add_presence(weft_proto_msg *m, const weft_proto_presence *p);

/* Decodes one frame into m (reset first). On failure m is reset and the
 * error says why. lim NULL = WEFT_PROTO_LIMITS_DEFAULT. */
int weft_proto_decode(const uint8_t *frame, size_t len, const weft_proto_limits *lim,
                      weft_proto_msg *m);

/* Encodes m into out (replacing its contents). Values the wire cannot
 * carry (agent WEFT_NONE, empty text, unsorted vv, ...) give
 * WEFT_PROTO_E_VALUE / _ORDER / _UTF8 and leave out empty. */
int weft_proto_encode(const weft_proto_msg *m, weft_buf *out);

/* Shortcuts for the small server messages (out is replaced). */
int weft_proto_encode_ack(weft_buf *out, uint32_t agent, uint32_t next_seq, uint32_t lsn);
int weft_proto_encode_leave(weft_buf *out, uint32_t agent);
int weft_proto_encode_ping(weft_buf *out, uint32_t type, uint32_t t); /* PING or PONG */
int weft_proto_encode_error(weft_buf *out, uint32_t code, const char *message);

/* ---- standalone values --------------------------------------------------------- */

/* One op batch (`[parents, ops]`, docs/protocol.md) on its own, e.g. for
 * an op log row. Decoding fills m->batches[0], m->parents and m->ops
 * (m->type 0); texts point into p. */
int weft_proto_batch_encode(const weft_id *parents, size_t nparents, const weft_op *ops,
                            size_t nops, weft_buf *out);
int weft_proto_batch_decode(const uint8_t *p, size_t len, const weft_proto_limits *lim,
                            weft_proto_msg *m);

/* A version vector (`[[agent, next_seq] ...]`) on its own. Decoding
 * replaces vv's entries. */
int weft_proto_vv_encode(const weft_vv *vv, weft_buf *out);
int weft_proto_vv_decode(const uint8_t *p, size_t len, const weft_proto_limits *lim, weft_vv *vv);

/* ---- snapshots -------------------------------------------------------------------- */

/* Encodes the whole state of doc (canonical runs with tombstone text,
 * delete records, apply order, version vector) plus the log position lsn
 * as one msgpack value (the welcome's snapshot, or what storage keeps).
 * out is replaced. */
int weft_proto_snapshot_encode(const weft_doc *doc, uint32_t lsn, weft_buf *out);

/* Loads an encoded snapshot into doc, which must be new and empty, and
 * finishes the load (weft_doc_load_finish). *lsn gets the log position.
 * Decompression stops at lim->max_inflate bytes (WEFT_PROTO_E_BOMB).
 * Engine rejections come back as WEFT_E_* codes. On failure doc is in an
 * unspecified state: free it. */
int weft_proto_snapshot_load(const uint8_t *p, size_t len, const weft_proto_limits *lim,
                             weft_doc *doc, uint32_t *lsn);

/* The visible text of an encoded snapshot (NUL-terminated, `text->n`
 * bytes without the NUL; replaced), without building a document: it
 * inflates only r_len, r_flags and the text section, so a client can show
 * a large document before weft_proto_snapshot_load has built the replica
 * it needs to edit (automerge-paper: ~0.3 ms against ~2 ms). It checks the
 * frame, the bomb limit, the run lengths and flags against the text and
 * the text's UTF-8; everything else (origins, deletes, the version) only
 * weft_proto_snapshot_load checks, so a snapshot whose text this accepts
 * may still fail to load. */
int weft_proto_snapshot_text(const uint8_t *p, size_t len, const weft_proto_limits *lim,
                             weft_buf *text, uint32_t *lsn);

#ifdef __cplusplus
}
#endif
#endif
