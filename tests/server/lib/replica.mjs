// A client-side replica: the real engine (crdt/, compiled to WebAssembly,
// crdt/wasm/weft-engine.js) plus the translation between the engine's op
// objects and the wire's Ins/Del arrays, and the author's frontier for a
// batch's parents. Tests that need one skip when no weft_crdt.wasm was built.
import { existsSync } from 'node:fs';
import { loadEngine, OP_INS, OP_DEL } from '../../../crdt/wasm/weft-engine.js';
import { decodeSnapshot } from './snapshot.mjs';

export const WASM = process.env.WEFT_WASM || '';
export const haveEngine = () => WASM !== '' && existsSync(WASM);

let enginePromise = null;
export function engine() {
  if (!haveEngine()) throw new Error(`no weft_crdt.wasm (WEFT_WASM=${WASM || 'unset'})`);
  enginePromise ??= loadEngine(WASM);
  return enginePromise;
}

const idArr = (id) => (id ? [id.agent, id.seq] : null);
const idObj = (a) => (a ? { agent: a[0], seq: a[1] } : null);

export function toWire(op) {
  return op.kind === OP_INS
    ? [0, op.agent, op.seq, idArr(op.ol), idArr(op.or), op.text]
    : [1, op.agent, op.seq, op.target.agent, op.target.seq, op.len];
}

export function fromWire(w) {
  if (w[0] === 0)
    return { kind: OP_INS, agent: w[1], seq: w[2], len: Array.from(w[5]).length, ol: idObj(w[3]), or: idObj(w[4]), text: w[5] };
  return { kind: OP_DEL, agent: w[1], seq: w[2], len: w[5], ol: null, or: null, target: { agent: w[3], seq: w[4] }, text: '' };
}

const lastId = (op) => ({ agent: op.agent, seq: op.seq + op.len - 1 });
const cmpId = (a, b) => a.agent - b.agent || a.seq - b.seq;

export class Replica {
  // agent: the session's agent (from welcome); the doc is created on start().
  constructor(eng) {
    this.e = eng;
    this.doc = null;
    this.frontier = []; // [{agent, seq}] sorted
  }

  static async create() {
    return new Replica(await engine());
  }

  // Starts from a welcome's first chunk: body kind 0 (nothing), 1 (snapshot)
  // or 2 (batches). Later chunks go through applyBatches.
  startFrom(agent, kind, body) {
    if (this.doc && kind === 1) {
      // A snapshot for a client that has state: load it, then re-apply what
      // only the client had (its offline ops).
      const s = decodeSnapshot(body);
      const fresh = this.e.loadDoc({ runs: s.runs, dels: s.dels, spans: s.spans }, agent);
      fresh.apply(this.doc.opsSince(fresh.version()), { patches: false });
      this.doc.free();
      this.doc = fresh;
      return;
    }
    if (!this.doc) {
      if (kind === 1) {
        const s = decodeSnapshot(body);
        this.doc = this.e.loadDoc({ runs: s.runs, dels: s.dels, spans: s.spans }, agent);
        // The heads of a loaded snapshot: the last seq of every agent that
        // nothing else is known to follow is a safe over-approximation.
        this.frontier = s.vv.map(([a, next]) => ({ agent: a, seq: next - 1 }));
      } else {
        this.doc = this.e.newDoc(agent);
      }
    } else if (this.doc.agent !== agent) {
      this.doc.setAgent(agent);
    }
    if (kind === 2) this.applyBatches(body);
  }

  // [[lsn, [parents, ops]] ...]
  applyBatches(list) {
    for (const [, batch] of list) this.applyBatch(batch);
  }

  applyBatch([parents, ops]) {
    const objs = ops.map(fromWire);
    this.doc.apply(objs, { patches: false });
    const drop = new Set(parents.map(([a, s]) => `${a}:${s}`));
    const heads = new Map();
    for (const op of objs) heads.set(op.agent, lastId(op));
    this.frontier = this.frontier.filter((f) => !drop.has(`${f.agent}:${f.seq}`) && !heads.has(f.agent));
    this.frontier.push(...heads.values());
    this.frontier.sort(cmpId);
  }

  // Runs a local edit fn(doc) and returns the wire batch [parents, ops] (or
  // null when the edit produced nothing).
  edit(fn) {
    const ops = this.doc.transact(fn);
    if (ops.length === 0) return null;
    const parents = this.frontier.map((f) => [f.agent, f.seq]);
    this.frontier = [lastId(ops[ops.length - 1])];
    return [parents, ops.map(toWire)];
  }

  text() { return this.doc.text(); }
  version() { return this.doc.version(); }
  len() { return this.doc.len(); }
  free() { this.doc?.free(); this.doc = null; }
}
