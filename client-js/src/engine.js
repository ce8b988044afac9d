// engine.js — the client's glue over the WebAssembly engine
// (crdt/wasm/weft-engine.js): loading it once, translating ops between the
// engine's objects and the wire's Ins / Del arrays, trimming ops the server
// already has, and a replica that knows the author's frontier (the parents
// of the next batch).
import { loadEngine, NONE, OP_INS, OP_DEL } from '../../crdt/wasm/weft-engine.js';
import { ProtoError } from './codec.js';

export { NONE, OP_INS, OP_DEL };

const engines = new Map();

// The engine for a wasm source (URL, path, bytes or Module; undefined = the
// file next to the bundle, or $WEFT_WASM in Node). Loaded once per source.
export function getEngine(source) {
  const key = source === undefined || typeof source === 'string' || source instanceof URL ? String(source) : source;
  let p = engines.get(key);
  if (!p) {
    p = loadEngine(source);
    p.catch(() => engines.delete(key));
    engines.set(key, p);
  }
  return p;
}

const idArr = (id) => (id ? [id.agent, id.seq] : null);
const idObj = (a) => (a ? { agent: a[0], seq: a[1] } : null);

export function cpCount(s) {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdbff) n++;
  }
  return n;
}

// Drops the first k code points of s.
function dropCodePoints(s, k) {
  let i = 0;
  for (; k > 0 && i < s.length; k--) {
    const c = s.charCodeAt(i);
    i += c >= 0xd800 && c <= 0xdbff ? 2 : 1;
  }
  return s.slice(i);
}

export function toWire(op) {
  return op.kind === OP_INS
    ? [0, op.agent, op.seq, idArr(op.ol), idArr(op.or), op.text]
    : [1, op.agent, op.seq, op.target.agent, op.target.seq, op.len];
}

export function fromWire(w) {
  if (w[0] === 0)
    return { kind: OP_INS, agent: w[1], seq: w[2], len: cpCount(w[5]), ol: idObj(w[3]), or: idObj(w[4]), target: null, text: w[5] };
  return { kind: OP_DEL, agent: w[1], seq: w[2], len: w[5], ol: null, or: null, target: { agent: w[3], seq: w[4] }, text: '' };
}

// A wire op without its seqs below `next` (docs/protocol.md: ops below the
// welcome's next_seq are durable on the server). null if nothing is left.
export function trimWire(w, next) {
  const seq = w[2];
  const len = w[0] === 0 ? cpCount(w[5]) : w[5];
  if (seq + len <= next) return null;
  if (seq >= next) return w;
  const k = next - seq;
  if (w[0] === 0) return [0, w[1], next, [w[1], next - 1], w[4], dropCodePoints(w[5], k)];
  return [1, w[1], next, w[3], w[4] + k, len - k];
}

const lastId = (op) => ({ agent: op.agent, seq: op.seq + op.len - 1 });
const cmpId = (a, b) => a.agent - b.agent || a.seq - b.seq;

// An engine document plus the frontier of what it holds.
export class Replica {
  constructor(engine, doc) {
    this.e = engine;
    this.doc = doc;
    this.frontier = []; // [{agent, seq}], sorted
  }

  // A replica from a snapshot's inflated sections (snapshot.js
  // snapshotSections), loaded in wasm by the server's decoder. Its frontier
  // is the last seq of every agent of the snapshot's vv: a safe
  // over-approximation (every one is known to the server). A rejected
  // snapshot throws a ProtoError with the decoder's code, or the engine's
  // WeftError.
  static fromSections(engine, sec, agent) {
    let doc;
    try {
      doc = engine.loadSnapshot(sec.columns, sec.text, sec.vv, agent);
    } catch (e) {
      if (e.proto) throw new ProtoError(e.proto, e.message);
      throw e;
    }
    const r = new Replica(engine, doc);
    r.frontier = sec.vv.map(([a, next]) => ({ agent: a, seq: next - 1 }));
    return r;
  }

  // Applies a wire batch [parents, ops]; returns the editor patches.
  applyBatch([parents, ops], { patches = true } = {}) {
    const objs = ops.map(fromWire);
    const out = this.doc.apply(objs, { patches });
    this.advance(parents, objs);
    return out;
  }

  advance(parents, objs) {
    const drop = new Set(parents.map(([a, s]) => `${a}:${s}`));
    const heads = new Map();
    for (const op of objs) heads.set(op.agent, lastId(op));
    this.frontier = this.frontier.filter((f) => !drop.has(`${f.agent}:${f.seq}`) && !heads.has(f.agent));
    this.frontier.push(...heads.values());
    this.frontier.sort(cmpId);
  }

  // Local ops just made by the engine -> the wire batch [parents, ops].
  localBatch(ops) {
    const parents = this.frontier.map((f) => [f.agent, f.seq]);
    this.frontier = [lastId(ops[ops.length - 1])];
    return [parents, ops.map(toWire)];
  }

  free() {
    this.doc?.free();
    this.doc = null;
  }
}
