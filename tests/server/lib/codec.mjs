// The wire codec of the server tests (docs/protocol.md): @msgpack/msgpack
// with a canonical check on top, message builders, and the close-code table.
//
// @msgpack/msgpack already writes the canonical formats for the values the
// protocol uses (unsigned integers < 2^32 in their smallest format, str/bin/
// array with the shortest header). Reading is stricter than the library:
// strictDecode() accepts a frame only if it decodes, holds nothing but arrays,
// uints < 2^32, strs, bins, nil and bools, nests at most 8 deep, and encodes
// back to exactly the same bytes (which rejects floats, larger-than-needed
// formats, signed formats, invalid UTF-8 and trailing bytes).
import { Encoder, Decoder } from '@msgpack/msgpack';

const encoder = new Encoder({ ignoreUndefined: false, useBigInt64: false });

export const PROTO_VERSION = 1;
export const SUBPROTOCOL = 'weft.1';

export const T = { HELLO: 1, WELCOME: 2, OPS: 3, ACK: 4, PRESENCE: 5, LEAVE: 6, PING: 7, PONG: 8, ERROR: 9 };

export const CLOSE = {
  NORMAL: 1000, GOING_AWAY: 1001, PROTOCOL_ERROR: 1002, UNSUPPORTED_DATA: 1003, POLICY: 1008,
  TOO_LARGE: 1009, INTERNAL: 1011, TRY_AGAIN: 1013, BAD_MESSAGE: 4000, PROTO_VERSION: 4001,
  BAD_TOKEN: 4002, TOKEN_EXPIRED: 4003, FORBIDDEN: 4004, READ_ONLY: 4005, UNKNOWN_DOC: 4006,
  RATE_LIMIT: 4007, DOC_TOO_LARGE: 4008, BAD_OP: 4009, AGENT_CONFLICT: 4010, UNEXPECTED: 4011,
  HELLO_TIMEOUT: 4012, IDLE_TIMEOUT: 4013, TOO_MANY: 4014,
};

export function encode(value) {
  return encoder.encode(value);
}

export const hex = (bytes) => Buffer.from(bytes).toString('hex');
export const unhex = (s) => new Uint8Array(Buffer.from(s, 'hex'));

// The golden file's JSON form of a msgpack value: {"bin": hex} is a bin.
export function fromJson(v) {
  if (Array.isArray(v)) return v.map(fromJson);
  if (v && typeof v === 'object' && typeof v.bin === 'string') return unhex(v.bin);
  return v;
}

function checkValue(v, depth) {
  if (depth > 8) throw new Error('DEPTH: nesting deeper than 8');
  if (v === null || v === true || v === false) return;
  // A lone surrogate can only come from surrogate bytes (ED A0-BF xx) that
  // the library decodes and re-encodes without complaint.
  if (typeof v === 'string') {
    if (!v.isWellFormed()) throw new Error('UTF8: surrogate in a str');
    return;
  }
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new Error(`number ${v} is not a uint32`);
    return;
  }
  if (v instanceof Uint8Array) return;
  if (Array.isArray(v)) {
    for (const x of v) checkValue(x, depth + 1);
    return;
  }
  throw new Error(`not allowed in weft msgpack: ${Object.prototype.toString.call(v)}`);
}

// Decodes one canonical frame; throws with the reason otherwise.
export function strictDecode(bytes) {
  const u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const value = new Decoder({ useBigInt64: false }).decode(u8);
  checkValue(value, 1);
  const again = encode(value);
  if (Buffer.compare(Buffer.from(again), Buffer.from(u8)) !== 0)
    throw new Error(`not canonical: ${hex(u8).slice(0, 80)} re-encodes as ${hex(again).slice(0, 80)}`);
  return value;
}

// ---- message builders (client -> server) -----------------------------------
export const hello = ({ doc, token = null, agent = null, vv = [], user = null, proto = PROTO_VERSION }) =>
  [T.HELLO, proto, doc, token, agent, vv, user];
export const opsMsg = (batch) => [T.OPS, null, batch];
export const presenceMsg = (agent, clock, state) => [T.PRESENCE, agent, clock, state];
export const ping = (t) => [T.PING, t >>> 0];

// Anchors: [side, agent?, seq]; START / END are [0, null, 0] / [1, null, 1].
export const START = [0, null, 0];
export const END = [1, null, 1];

export const typeName = (m) =>
  Array.isArray(m) ? Object.keys(T).find((k) => T[k] === m[0]) ?? `type ${m[0]}` : String(m);
