// codec.js — weft.1 frames over @msgpack/msgpack (docs/protocol.md).
//
// Encoding: @msgpack/msgpack already writes the canonical formats for the
// values the protocol uses (uints < 2^32 in their smallest format, str / bin /
// array with the shortest header), as long as no value is a float, negative,
// undefined or a map. The builders below only ever produce such values.
//
// Decoding is strict, in the same order as the C codec (server/protocol/src/
// scan.c, decode.c) so that a rejected frame names the same error:
//   1. scan(): a header walker that never trusts a declared length — frame
//      size, every array count / str / bin length against the bytes left,
//      nesting depth, exactly one value, and the canonical rules (smallest
//      int / str / bin / array formats, no maps, floats, ext, negatives,
//      valid UTF-8);
//   2. the msgpack library parses the (now harmless) bytes;
//   3. shape(): arity and field types of the message [SHAPE], the message
//      type [TYPE], values out of range [VALUE], sets not strictly
//      increasing [ORDER].
// Errors are thrown as ProtoError with .code = the WEFT_PROTO_E_* name.
import { Encoder, Decoder } from '@msgpack/msgpack';

export const PROTO_VERSION = 1;
export const SUBPROTOCOL = 'weft.1';
export const MAX_FRAME = 16 << 20;
export const MAX_DEPTH = 8;
export const NONE = 0xffffffff;

export const T = { HELLO: 1, WELCOME: 2, OPS: 3, ACK: 4, PRESENCE: 5, LEAVE: 6, PING: 7, PONG: 8, ERROR: 9 };
export const BODY = { NONE: 0, SNAPSHOT: 1, OPS: 2 };

export const CLOSE = {
  NORMAL: 1000, GOING_AWAY: 1001, PROTOCOL_ERROR: 1002, UNSUPPORTED_DATA: 1003, POLICY: 1008,
  TOO_LARGE: 1009, INTERNAL: 1011, TRY_AGAIN: 1013, BAD_MESSAGE: 4000, PROTO_VERSION: 4001,
  BAD_TOKEN: 4002, TOKEN_EXPIRED: 4003, FORBIDDEN: 4004, READ_ONLY: 4005, UNKNOWN_DOC: 4006,
  RATE_LIMIT: 4007, DOC_TOO_LARGE: 4008, BAD_OP: 4009, AGENT_CONFLICT: 4010, UNEXPECTED: 4011,
  HELLO_TIMEOUT: 4012, IDLE_TIMEOUT: 4013, TOO_MANY: 4014,
};

export class ProtoError extends Error {
  constructor(code, message) {
    super(`${code}: ${message}`);
    this.name = 'ProtoError';
    this.code = code;
  }
}
const fail = (code, message) => { throw new ProtoError(code, message); };

const encoder = new Encoder({ ignoreUndefined: false, useBigInt64: false, forceIntegerToFloat: false });
const decoder = new Decoder({ useBigInt64: false });

// A value (arrays, uints < 2^32, strings, Uint8Arrays, null, booleans) to bytes.
export function encode(value) {
  return encoder.encode(value);
}

// ---- 1. the scan ------------------------------------------------------------

// Whether p[i..end) is valid UTF-8: no overlongs, surrogates, code points
// above U+10FFFF or truncated sequences (the WHATWG / C codec rules).
function utf8Ok(p, i, end) {
  while (i < end) {
    const b = p[i];
    if (b < 0x80) { i++; continue; }
    let n, min;
    if (b >= 0xc2 && b <= 0xdf) { n = 1; min = 0x80; }
    else if (b >= 0xe0 && b <= 0xef) { n = 2; min = 0x800; }
    else if (b >= 0xf0 && b <= 0xf4) { n = 3; min = 0x10000; }
    else return false;
    if (i + n >= end) return false;
    let cp = b & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      const c = p[i + k];
      if ((c & 0xc0) !== 0x80) return false;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += n + 1;
  }
  return true;
}

const be16 = (p, i) => (p[i] << 8) | p[i + 1];
const be32 = (p, i) => ((p[i] << 24) >>> 0) + ((p[i + 1] << 16) | (p[i + 2] << 8) | p[i + 3]);

const FIXED = { 0xcc: 1, 0xd0: 1, 0xc4: 1, 0xd9: 1, 0xcd: 2, 0xd1: 2, 0xc5: 2, 0xda: 2, 0xdc: 2,
  0xce: 4, 0xd2: 4, 0xc6: 4, 0xdb: 4, 0xdd: 4, 0xcf: 8, 0xd3: 8 };

// One header at p[i..len): {kind: 's' scalar | 'a' array | 'str' | 'bin', n, h}.
function header(p, i, len) {
  const b = p[i];
  if (b <= 0x7f || b === 0xc0 || b === 0xc2 || b === 0xc3) return { kind: 's', n: 0, h: 1 };
  if (b >= 0xe0) fail('NEGATIVE', 'negative fixint');
  if (b >= 0x90 && b <= 0x9f) return { kind: 'a', n: b & 0x0f, h: 1 };
  if (b >= 0xa0 && b <= 0xbf) return { kind: 'str', n: b & 0x1f, h: 1 };
  if ((b >= 0x80 && b <= 0x8f) || b === 0xde || b === 0xdf) fail('MAP', 'maps are not allowed');
  if (b === 0xca || b === 0xcb) fail('FLOAT', 'floats are not allowed');
  if ((b >= 0xc7 && b <= 0xc9) || (b >= 0xd4 && b <= 0xd8)) fail('EXT', 'ext types are not allowed');
  if (b === 0xc1) fail('RESERVED', 'reserved byte c1');
  const need = FIXED[b];
  if (len - i - 1 < need) fail('TRUNCATED', 'header runs past the frame');
  const q = i + 1, h = 1 + need;
  const nc = (cond) => { if (cond) fail('NONCANONICAL', `longer format than needed (0x${b.toString(16)})`); };
  switch (b) {
    case 0xcc: nc(p[q] < 0x80); return { kind: 's', n: 0, h };
    case 0xcd: nc(be16(p, q) < 0x100); return { kind: 's', n: 0, h };
    case 0xce: nc(be32(p, q) < 0x10000); return { kind: 's', n: 0, h };
    case 0xcf:
      if (be32(p, q)) fail('INTRANGE', 'integer >= 2^32');
      return fail('NONCANONICAL', 'uint64 holding < 2^32');
    case 0xd0: case 0xd1: case 0xd2: case 0xd3:
      if (p[q] & 0x80) fail('NEGATIVE', 'negative integer');
      return fail('NONCANONICAL', 'signed format holding a non-negative');
    case 0xc4: return { kind: 'bin', n: p[q], h };
    case 0xc5: { const n = be16(p, q); nc(n < 0x100); return { kind: 'bin', n, h }; }
    case 0xc6: { const n = be32(p, q); nc(n < 0x10000); return { kind: 'bin', n, h }; }
    case 0xd9: { const n = p[q]; nc(n < 0x20); return { kind: 'str', n, h }; }
    case 0xda: { const n = be16(p, q); nc(n < 0x100); return { kind: 'str', n, h }; }
    case 0xdb: { const n = be32(p, q); nc(n < 0x10000); return { kind: 'str', n, h }; }
    case 0xdc: { const n = be16(p, q); nc(n < 0x10); return { kind: 'a', n, h }; }
    case 0xdd: { const n = be32(p, q); nc(n < 0x10000); return { kind: 'a', n, h }; }
    default: return fail('RESERVED', `byte 0x${b.toString(16)}`);
  }
}

// The bounds pre-check of docs/protocol.md §1 on untrusted bytes.
export function scan(p, { maxFrame = MAX_FRAME, maxDepth = MAX_DEPTH } = {}) {
  const len = p.length;
  if (len > maxFrame) fail('TOOBIG', `frame of ${len} bytes`);
  const left = [];
  let i = 0;
  for (;;) {
    if (i >= len) fail('TRUNCATED', 'frame ends inside a value');
    const { kind, n, h } = header(p, i, len);
    i += h;
    const rest = len - i;
    if (kind === 'a') {
      if (left.length + 1 > maxDepth) fail('DEPTH', `arrays nested deeper than ${maxDepth}`);
      if (n > rest) fail('TRUNCATED', `array of ${n} in ${rest} bytes`);
      if (n > 0) { left.push(n); continue; }
    } else if (kind === 'str' || kind === 'bin') {
      if (n > rest) fail('TRUNCATED', `${kind} of ${n} bytes in ${rest}`);
      if (kind === 'str' && !utf8Ok(p, i, i + n)) fail('UTF8', 'string is not valid UTF-8');
      i += n;
    }
    while (left.length > 0 && --left[left.length - 1] === 0) left.pop();
    if (left.length === 0) break;
  }
  if (i !== len) fail('TRAILING', `${len - i} bytes after the value`);
}

// ---- 3. shapes ----------------------------------------------------------------

const isArr = Array.isArray;
const arr = (o, n) => { if (!isArr(o) || o.length !== n) fail('SHAPE', `expected an array of ${n}`); return o; };
const arrAny = (o) => { if (!isArr(o)) fail('SHAPE', 'expected an array'); return o; };
const u32 = (o) => { if (typeof o !== 'number') fail('SHAPE', 'expected an unsigned integer'); return o; };
const agentOf = (o) => { if (u32(o) === NONE) fail('VALUE', 'agent 0xffffffff is reserved'); return o; };
const str = (o) => { if (typeof o !== 'string') fail('SHAPE', 'expected a str'); return o; };
const bool = (o) => { if (typeof o !== 'boolean') fail('SHAPE', 'expected a bool'); return o; };
const fits = (seq, len) => seq + len <= 0xffffffff;
export const cpLen = (s) => {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdbff) n++;
  }
  return n;
};

function idOrNil(o) {
  if (o === null) return;
  arr(o, 2);
  agentOf(o[0]);
  u32(o[1]);
}

function op(o) {
  arr(o, 6);
  const kind = u32(o[0]);
  agentOf(o[1]);
  const seq = u32(o[2]);
  let len;
  if (kind === 0) {
    idOrNil(o[3]);
    idOrNil(o[4]);
    len = cpLen(str(o[5]));
    if (len === 0) fail('VALUE', 'empty insert');
  } else if (kind === 1) {
    agentOf(o[3]);
    const tseq = u32(o[4]);
    len = u32(o[5]);
    if (len === 0 || !fits(tseq, len)) fail('VALUE', 'delete length');
  } else {
    fail('VALUE', `op kind ${kind}`);
  }
  if (!fits(seq, len)) fail('VALUE', 'seq + len >= 2^32');
}

export function checkBatch(o) {
  arr(o, 2);
  const parents = arrAny(o[0]), ops = arrAny(o[1]);
  if (ops.length === 0) fail('VALUE', 'batch without ops');
  for (let i = 0; i < parents.length; i++) {
    if (parents[i] === null) fail('SHAPE', 'nil parent');
    idOrNil(parents[i]);
    if (i > 0) {
      const [a0, s0] = parents[i - 1], [a1, s1] = parents[i];
      if (!(a0 < a1 || (a0 === a1 && s0 < s1))) fail('ORDER', 'parents not strictly increasing');
    }
  }
  ops.forEach(op);
}

export function checkVV(o) {
  arrAny(o);
  for (let i = 0; i < o.length; i++) {
    arr(o[i], 2);
    agentOf(o[i][0]);
    if (u32(o[i][1]) === 0) fail('VALUE', 'next_seq 0 in a version vector');
    if (i > 0 && o[i][0] <= o[i - 1][0]) fail('ORDER', 'version vector not sorted');
  }
}

function anchor(o) {
  arr(o, 3);
  if (u32(o[0]) > 1) fail('VALUE', `anchor side ${o[0]}`);
  if (o[1] !== null) agentOf(o[1]);
  u32(o[2]);
  if (o[1] === null && o[2] > 1) fail('VALUE', 'anchor without agent must be START or END');
}

function user(o) {
  arr(o, 2);
  str(o[0]);
  str(o[1]);
}

function presence(o, at) {
  agentOf(o[at]);
  u32(o[at + 1]);
  const st = o[at + 2];
  if (st === null) return;
  arr(st, 3);
  anchor(st[0]);
  anchor(st[1]);
  user(st[2]);
}

function checkMessage(m) {
  const it = arrAny(m);
  if (it.length === 0 || typeof it[0] !== 'number') fail('SHAPE', 'no message type');
  const n = it.length;
  switch (it[0]) {
    case T.HELLO:
      if (n !== 7) fail('SHAPE', 'hello has 7 fields');
      u32(it[1]);
      str(it[2]);
      if (it[3] !== null) str(it[3]);
      if (it[4] !== null) agentOf(it[4]);
      checkVV(it[5]);
      if (it[6] !== null) user(it[6]);
      return;
    case T.WELCOME: {
      if (n !== 9) fail('SHAPE', 'welcome has 9 fields');
      agentOf(it[1]);
      u32(it[2]);
      checkVV(it[3]);
      u32(it[4]);
      const kind = u32(it[5]);
      if (kind === BODY.NONE) {
        if (it[6] !== null) fail('SHAPE', 'welcome without body has a body');
      } else if (kind === BODY.SNAPSHOT) {
        if (!isArr(it[6])) fail('SHAPE', 'snapshot body is not an array');
      } else if (kind === BODY.OPS) {
        const ent = arrAny(it[6]);
        if (ent.length === 0) fail('VALUE', 'welcome ops body is empty');
        ent.forEach((e, i) => {
          arr(e, 2);
          u32(e[0]);
          if (i > 0 && e[0] <= ent[i - 1][0]) fail('ORDER', 'welcome LSNs not increasing');
          checkBatch(e[1]);
        });
      } else {
        fail('VALUE', `welcome body kind ${kind}`);
      }
      const pres = arrAny(it[7]);
      pres.forEach((e, i) => {
        arr(e, 3);
        presence(e, 0);
        if (i > 0 && e[0] <= pres[i - 1][0]) fail('ORDER', 'presence not sorted');
      });
      bool(it[8]);
      return;
    }
    case T.OPS:
      if (n !== 3) fail('SHAPE', 'ops has 3 fields');
      if (it[1] !== null) u32(it[1]);
      checkBatch(it[2]);
      return;
    case T.ACK:
      if (n !== 4) fail('SHAPE', 'ack has 4 fields');
      agentOf(it[1]);
      u32(it[2]);
      u32(it[3]);
      return;
    case T.PRESENCE:
      if (n !== 4) fail('SHAPE', 'presence has 4 fields');
      presence(it, 1);
      return;
    case T.LEAVE:
      if (n !== 2) fail('SHAPE', 'leave has 2 fields');
      agentOf(it[1]);
      return;
    case T.PING:
    case T.PONG:
      if (n !== 2) fail('SHAPE', 'ping/pong has 2 fields');
      u32(it[1]);
      return;
    case T.ERROR:
      if (n !== 3) fail('SHAPE', 'error has 3 fields');
      u32(it[1]);
      str(it[2]);
      return;
    default:
      fail('TYPE', `unknown message type ${it[0]}`);
  }
}

function parse(bytes, limits) {
  const p = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  scan(p, limits);
  return decoder.decode(p);
}

// One frame (Uint8Array / ArrayBuffer) to its message array; throws ProtoError.
export function decodeMessage(bytes, limits) {
  const m = parse(bytes, limits);
  checkMessage(m);
  return m;
}

// Standalone values as storage keeps them: kind 'batch', 'vv' or
// 'snapshot' (its fields are checked by decodeSnapshot), or 'any' (scan only).
export function decodeValue(bytes, kind, limits) {
  const v = parse(bytes, limits);
  if (kind === 'batch') checkBatch(v);
  else if (kind === 'vv') checkVV(v);
  else if (kind === 'snapshot') arrAny(v); // snapshot.js checks the rest
  else if (kind === 'any') return v;
  else throw new Error(`unknown value kind ${kind}`);
  return v;
}

// ---- builders (client -> server) ----------------------------------------------
export const hello = ({ doc, token = null, agent = null, vv = [], user: u = null, proto = PROTO_VERSION }) =>
  [T.HELLO, proto, doc, token ?? null, agent ?? null, vv, u];
export const opsMsg = (batch) => [T.OPS, null, batch];
export const presenceMsg = (agent, clock, state) => [T.PRESENCE, agent, clock, state];
export const ping = (t) => [T.PING, t >>> 0];
export const pong = (t) => [T.PONG, t >>> 0];
