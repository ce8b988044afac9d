// weft-engine.js — the Weft CRDT engine (crdt/, compiled to WebAssembly) for
// JavaScript. An ES module for Node and browsers; no dependencies.
//
//   import { loadEngine } from './weft-engine.js';
//   const engine = await loadEngine();          // or loadEngine(urlOrPathOrBytes)
//   const doc = engine.newDoc(7);               // local agent 7
//   const ops = doc.insert(0, 'héllo 👋');      // code-point positions
//   doc.insert16(8, '!');                        // UTF-16 positions (editors)
//   other.apply(ops);                            // -> editor patches
//
// Ops are plain objects {kind, agent, seq, len, ol, or, target, text}:
//   kind OP_INS: `text` (len code points) after origin-left `ol` and before
//                origin-right `or` ({agent, seq}, or null for START / END);
//   kind OP_DEL: deletes target.seq .. target.seq+len-1 of target.agent.
// Positions are Unicode code points unless a name ends in 16 (UTF-16 units).
// Errors throw WeftError with the engine's negative code in `.code`.
//
// The wasm exports (wf_*) and their flat encodings are described at the top
// of crdt/wasm/api.c. Memory views are re-made after every call, because any
// call may grow the wasm memory.

export const NONE = 0xffffffff; // agent value of START / END and "no agent"
export const OP_INS = 0;
export const OP_DEL = 1;
export const APPLIED = 0;
export const DUPLICATE = 1;
export const PARKED = 2;

const OP_WORDS = 12, PATCH_WORDS = 8, RUN_WORDS = 10, DEL_WORDS = 5, SPAN_WORDS = 3;
const isNode = typeof process !== 'undefined' && !!process.versions?.node;

export class WeftError extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'WeftError';
    this.code = code;
  }
}

// Imports the engine might name: wasi-libc pulls in WASI calls only for
// stdio and exit, which the engine does not use. Anything the module does
// import gets an inert function, so a stray reference cannot make instantiation fail.
function inertImports(module, memoryRef) {
  const imports = {};
  for (const imp of WebAssembly.Module.imports(module)) {
    if (imp.kind !== 'function') continue;
    const ns = (imports[imp.module] ??= {});
    if (imp.name === 'proc_exit') {
      ns[imp.name] = (code) => { throw new WeftError(-12, `wasm called proc_exit(${code})`); };
    } else if (imp.name === 'fd_write') {
      ns[imp.name] = (fd, iovs, iovsLen, nwritten) => {
        const mem = memoryRef.memory;
        const dv = new DataView(mem.buffer);
        let total = 0, text = '';
        for (let i = 0; i < iovsLen; i++) {
          const p = dv.getUint32(iovs + 8 * i, true), n = dv.getUint32(iovs + 8 * i + 4, true);
          text += new TextDecoder().decode(new Uint8Array(mem.buffer, p, n));
          total += n;
        }
        if (text) console.error(`[weft wasm fd ${fd}] ${text.trimEnd()}`);
        dv.setUint32(nwritten, total, true);
        return 0;
      };
    } else {
      ns[imp.name] = () => 52; // WASI ENOSYS
    }
  }
  return imports;
}

async function compileFrom(source) {
  if (source instanceof WebAssembly.Module) return source;
  if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) return WebAssembly.compile(source);
  if (source === undefined && isNode && process.env.WEFT_WASM) source = process.env.WEFT_WASM;
  if (source === undefined) source = new URL('./weft_crdt.wasm', import.meta.url);
  const url = source instanceof URL ? source : null;
  if (isNode && (!url || url.protocol === 'file:') && !/^https?:/.test(String(source))) {
    const { readFile } = await import('node:fs/promises');
    return WebAssembly.compile(await readFile(source));
  }
  if (WebAssembly.compileStreaming) {
    try {
      return await WebAssembly.compileStreaming(fetch(source));
    } catch (e) {
      // e.g. served without Content-Type: application/wasm: fetch it again
      // (the first body may be consumed) and compile the bytes.
    }
  }
  const r = await fetch(source);
  if (!r.ok) throw new Error(`weft-engine: fetching ${source}: HTTP ${r.status}`);
  return WebAssembly.compile(await r.arrayBuffer());
}

// Loads the engine. `source`: a path or URL of weft_crdt.wasm, its bytes, or
// a compiled WebAssembly.Module. Default: $WEFT_WASM in Node, else the file
// next to this module.
export async function loadEngine(source) {
  const module = await compileFrom(source);
  const memoryRef = { memory: null };
  const instance = await WebAssembly.instantiate(module, inertImports(module, memoryRef));
  memoryRef.memory = instance.exports.memory;
  if (instance.exports._initialize) instance.exports._initialize();
  return new Engine(instance);
}

const idOrNull = (agent, seq) => (agent === NONE ? null : { agent, seq });

export class Engine {
  constructor(instance) {
    this.x = instance.exports;
    this.memory = instance.exports.memory;
    this.enc = new TextEncoder();
    this.dec = new TextDecoder('utf-8', { fatal: true });
    this._buf = null;
    this._scratch = 0;
    this._scratchCap = 0;
  }

  // ---- memory -------------------------------------------------------------
  get u8() {
    if (this._buf !== this.memory.buffer) {
      this._buf = this.memory.buffer;
      this._u8 = new Uint8Array(this._buf);
      this._u32 = new Uint32Array(this._buf);
    }
    return this._u8;
  }
  get u32() {
    this.u8;
    return this._u32;
  }

  // A scratch area of at least `bytes` bytes, 8-aligned, reused by every call.
  scratch(bytes) {
    if (bytes > this._scratchCap) {
      if (this._scratch) this.x.wf_free(this._scratch);
      let cap = Math.max(256, this._scratchCap);
      while (cap < bytes) cap *= 2;
      this._scratch = this.x.wf_malloc(cap);
      if (!this._scratch) throw new WeftError(-1, 'out of memory');
      this._scratchCap = cap;
    }
    return this._scratch;
  }

  // Writes `text` as UTF-8 at `ptr` (room for 3 bytes per UTF-16 unit needed).
  writeText(text, ptr) {
    const n = text.length, u8 = this.u8;
    if (n <= 16) {
      // Keystrokes: short ASCII is copied directly (TextEncoder costs more).
      let i = 0;
      for (; i < n; i++) {
        const c = text.charCodeAt(i);
        if (c >= 0x80) break;
        u8[ptr + i] = c;
      }
      if (i === n) return n;
    }
    return this.enc.encodeInto(text, u8.subarray(ptr, ptr + 3 * n)).written;
  }

  strerror(code) {
    this.x.wf_strerror(code);
    return this.outString();
  }

  check(rc) {
    if (rc < 0) throw new WeftError(rc, `weft: ${this.strerror(rc)} (${rc})`);
    return rc;
  }

  // ---- the output area ------------------------------------------------------
  outPtr() { return this.x.wf_out_ptr(); }
  outString() {
    const p = this.x.wf_out_ptr(), n = this.x.wf_out_len();
    return n ? this.dec.decode(this.u8.subarray(p, p + n)) : '';
  }
  outBytes() {
    const p = this.x.wf_out_ptr(), n = this.x.wf_out_len();
    return this.u8.slice(p, p + n);
  }
  outWords(n) {
    const p = this.x.wf_out_ptr() >>> 2;
    return this.u32.subarray(p, p + n);
  }

  decodeOps(ptr = this.x.wf_out_ptr()) {
    const u32 = this.u32, u8 = this.u8, b = ptr >>> 2;
    const n = u32[b], textStart = ptr + u32[b + 1];
    const ops = new Array(n);
    for (let i = 0; i < n; i++) {
      const w = b + 2 + i * OP_WORDS, kind = u32[w];
      const off = textStart + u32[w + 10];
      ops[i] = {
        kind,
        agent: u32[w + 1],
        seq: u32[w + 2],
        len: u32[w + 3],
        ol: kind === OP_INS ? idOrNull(u32[w + 4], u32[w + 5]) : null,
        or: kind === OP_INS ? idOrNull(u32[w + 6], u32[w + 7]) : null,
        target: kind === OP_DEL ? { agent: u32[w + 8], seq: u32[w + 9] } : null,
        text: kind === OP_INS ? this.dec.decode(u8.subarray(off, off + u32[w + 11])) : '',
      };
    }
    return ops;
  }

  decodePatches(ptr = this.x.wf_out_ptr()) {
    const u32 = this.u32, u8 = this.u8, b = ptr >>> 2;
    const n = u32[b], textStart = ptr + u32[b + 1];
    const patches = new Array(n);
    for (let i = 0; i < n; i++) {
      const w = b + 2 + i * PATCH_WORDS, off = textStart + u32[w + 6];
      patches[i] = {
        pos: u32[w], del: u32[w + 1], ins: u32[w + 2],
        pos16: u32[w + 3], del16: u32[w + 4], ins16: u32[w + 5],
        text: this.dec.decode(u8.subarray(off, off + u32[w + 7])),
      };
    }
    return patches;
  }

  // Encodes ops (plain objects) into the scratch area; returns its pointer.
  encodeOps(ops) {
    let textCap = 0;
    for (const op of ops) textCap += op.kind === OP_INS ? 3 * op.text.length : 0;
    const head = 4 * (2 + ops.length * OP_WORDS);
    const ptr = this.scratch(head + textCap);
    const u32 = this.u32, b = ptr >>> 2;
    u32[b] = ops.length;
    u32[b + 1] = head;
    let off = 0;
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i], w = b + 2 + i * OP_WORDS, ins = op.kind === OP_INS;
      u32[w] = op.kind;
      u32[w + 1] = op.agent;
      u32[w + 2] = op.seq;
      u32[w + 3] = op.len;
      u32[w + 4] = ins && op.ol ? op.ol.agent : NONE;
      u32[w + 5] = ins && op.ol ? op.ol.seq : 0;
      u32[w + 6] = ins && op.or ? op.or.agent : NONE;
      u32[w + 7] = ins && op.or ? op.or.seq : 0;
      u32[w + 8] = ins ? NONE : op.target.agent;
      u32[w + 9] = ins ? 0 : op.target.seq;
      const n = ins ? this.writeText(op.text, ptr + head + off) : 0;
      u32[w + 10] = off;
      u32[w + 11] = n;
      off += n;
    }
    return ptr;
  }

  // A version vector [[agent, nextSeq], ...] into the scratch area.
  encodeVV(vv) {
    const ptr = this.scratch(4 * (1 + 2 * vv.length));
    const u32 = this.u32, b = ptr >>> 2;
    u32[b] = vv.length;
    vv.forEach(([agent, next], i) => {
      u32[b + 1 + 2 * i] = agent;
      u32[b + 2 + 2 * i] = next;
    });
    return ptr;
  }

  // ---- documents --------------------------------------------------------------
  newDoc(agent = NONE) {
    return new Doc(this, agent);
  }

  // A document from a snapshot's inflated sections (15 column Uint8Arrays
  // and the text's) and its version vector [[agent, nextSeq], ...], loaded
  // by the server's own decoder compiled in (server/protocol/src/snapcols.c):
  // the caller inflates the sections and checks the frame. A rejected
  // snapshot throws a WeftError whose .proto names the WEFT_PROTO_E_* code
  // ('VALUE', 'NONCANONICAL', ...; '' for an engine code).
  loadSnapshot(columns, text, vv, agent = NONE) {
    const parts = [...columns, text];
    let total = 4 * parts.length;
    for (const p of parts) total += p.length;
    const ptr = this.x.wf_malloc(total);
    if (!ptr) throw new WeftError(-1, 'out of memory');
    let doc = null;
    try {
      doc = new Doc(this, NONE);
      const u32 = this.u32, u8 = this.u8;
      let off = ptr + 4 * parts.length;
      parts.forEach((p, i) => {
        u32[(ptr >>> 2) + i] = p.length;
        u8.set(p, off);
        off += p.length;
      });
      const rc = this.x.wf_load_snapshot(doc.h, ptr, this.encodeVV(vv));
      if (rc < 0) {
        const err = new WeftError(rc, `weft: ${this.strerror(rc)} (${rc})`);
        this.x.wf_proto_errname(rc);
        err.proto = this.outString();
        throw err;
      }
      if (agent !== NONE) doc.setAgent(agent);
    } catch (e) {
      if (doc) doc.free();
      throw e;
    } finally {
      this.x.wf_free(ptr);
    }
    return doc;
  }

  // A document loaded from snapshot() output (objects or snapshotBytes()).
  loadDoc(snapshot, agent = NONE) {
    const doc = new Doc(this, NONE);
    try {
      doc.load(snapshot);
      if (agent !== NONE) doc.setAgent(agent);
    } catch (e) {
      doc.free();
      throw e;
    }
    return doc;
  }
}

export class Doc {
  constructor(engine, agent = NONE) {
    this.e = engine;
    this.x = engine.x;
    this.h = this.x.wf_doc_new(agent >>> 0);
    if (!this.h) throw new WeftError(-1, 'out of memory');
    this.inTxn = 0;
  }

  free() {
    if (this.h) this.x.wf_doc_free(this.h);
    this.h = 0;
  }

  setAgent(agent) { this.e.check(this.x.wf_set_agent(this.h, agent >>> 0)); }
  get agent() { return this.x.wf_agent(this.h) >>> 0; }
  len() { return this.x.wf_len(this.h) >>> 0; }
  len16() { return this.x.wf_len16(this.h) >>> 0; }
  bytes() { return this.x.wf_bytes(this.h) >>> 0; }
  nextSeq(agent) { return this.x.wf_next_seq(this.h, agent >>> 0) >>> 0; }
  parked() { return this.x.wf_parked(this.h) >>> 0; }
  mem() { return this.x.wf_mem(this.h) >>> 0; }
  runCount() { return this.x.wf_run_count(this.h) >>> 0; }
  pos16(pos) { return this.e.check(this.x.wf_pos16(this.h, pos)); }
  posFrom16(pos16) { return this.e.check(this.x.wf_pos_from16(this.h, pos16)); }
  // Throws unless every engine invariant holds.
  check() { this.e.check(this.x.wf_check(this.h)); }

  // ---- local edits --------------------------------------------------------------
  // Each returns the ops to send, or [] inside transact() (which returns them all).
  _finish() {
    if (this.inTxn) return [];
    this.e.check(this.x.wf_take_ops(this.h));
    return this.e.decodeOps();
  }
  _edit(fn) {
    try {
      this.e.check(fn());
    } catch (e) {
      if (!this.inTxn) this.x.wf_drop_ops(this.h);
      throw e;
    }
    return this._finish();
  }
  insert(pos, text) {
    const p = this.e.scratch(3 * text.length + 1), n = this.e.writeText(text, p);
    return this._edit(() => this.x.wf_insert(this.h, pos, p, n));
  }
  delete(pos, len) {
    return this._edit(() => this.x.wf_delete(this.h, pos, len));
  }
  insert16(pos16, text) {
    const p = this.e.scratch(3 * text.length + 1), n = this.e.writeText(text, p);
    return this._edit(() => this.x.wf_insert16(this.h, pos16, p, n));
  }
  delete16(pos16, len16) {
    return this._edit(() => this.x.wf_delete16(this.h, pos16, len16));
  }
  // Runs fn(doc); every edit inside is one transaction: returns all its ops
  // (adjacent ops merged by the engine).
  transact(fn) {
    this.inTxn++;
    try {
      fn(this);
    } finally {
      this.inTxn--;
    }
    return this._finish();
  }
  // Benchmarks: ends a transaction without reading its ops.
  dropOps() { this.x.wf_drop_ops(this.h); }

  // ---- remote ops ---------------------------------------------------------------
  // One op: {status: APPLIED | DUPLICATE | PARKED, patches}.
  applyOp(op, { patches = true } = {}) {
    const ins = op.kind === OP_INS;
    const p = this.e.scratch(ins ? 3 * op.text.length + 1 : 1);
    const n = ins ? this.e.writeText(op.text, p) : 0;
    const status = this.e.check(this.x.wf_apply(this.h, op.kind, op.agent, op.seq, op.len,
      ins && op.ol ? op.ol.agent : NONE, ins && op.ol ? op.ol.seq : 0,
      ins && op.or ? op.or.agent : NONE, ins && op.or ? op.or.seq : 0,
      ins ? NONE : op.target.agent, ins ? 0 : op.target.seq, p, n, patches ? 1 : 0));
    return { status, patches: patches ? this.e.decodePatches() : [] };
  }
  // An op or a list of ops, in order; returns the editor patches of all.
  apply(ops, { patches = true } = {}) {
    if (!Array.isArray(ops)) ops = [ops];
    const ptr = this.e.encodeOps(ops);
    this.e.check(this.x.wf_apply_ops(this.h, ptr, patches ? 1 : 0));
    return patches ? this.e.decodePatches() : [];
  }
  // The flat encoding (api.c) of opsSince(vv), and applying one: the cheap
  // path between two engines (no JS objects in between).
  opsSinceBytes(vv = null) {
    this.e.check(this.x.wf_ops_since(this.h, vv ? this.e.encodeVV(vv) : 0));
    return this.e.outBytes();
  }
  applyBytes(bytes, { patches = false } = {}) {
    const ptr = this.e.scratch(bytes.length);
    this.e.u8.set(bytes, ptr);
    this.e.check(this.x.wf_apply_ops(this.h, ptr, patches ? 1 : 0));
    return patches ? this.e.decodePatches() : [];
  }

  // ---- reading ------------------------------------------------------------------
  text() {
    this.e.check(this.x.wf_text(this.h));
    return this.e.outString();
  }
  textAt(vv) {
    this.e.check(this.x.wf_text_at(this.h, this.e.encodeVV(vv)));
    return this.e.outString();
  }
  // [[agent, nextSeq], ...] sorted by agent.
  version() {
    this.e.check(this.x.wf_version(this.h));
    const n = this.e.outWords(1)[0], w = this.e.outWords(1 + 2 * n), vv = [];
    for (let i = 0; i < n; i++) vv.push([w[1 + 2 * i], w[2 + 2 * i]]);
    return vv;
  }
  opsSince(vv = null) {
    this.e.check(this.x.wf_ops_since(this.h, vv ? this.e.encodeVV(vv) : 0));
    return this.e.decodeOps();
  }
  idAt(pos) {
    this.e.check(this.x.wf_id_at(this.h, pos));
    const w = this.e.outWords(2);
    return { agent: w[0], seq: w[1] };
  }
  // The delete that first removed `id`, or null if it is visible or unknown.
  deleter(id) {
    const rc = this.x.wf_deleter(this.h, id.agent, id.seq);
    if (rc === -9) return null;
    this.e.check(rc);
    const w = this.e.outWords(2);
    return { agent: w[0], seq: w[1] };
  }

  // ---- cursor anchors --------------------------------------------------------------
  // {agent, seq, assoc}; agent NONE with seq 0 / 1 names START / END.
  anchor(pos, assoc = 0) {
    this.e.check(this.x.wf_anchor(this.h, pos, assoc | 0));
    const w = this.e.outWords(3);
    return { agent: w[0], seq: w[1], assoc: w[2] | 0 };
  }
  // The gap the anchor names now, or null for an unknown ID.
  anchorPos(a) {
    const rc = this.x.wf_anchor_pos(this.h, a.agent, a.seq, a.assoc | 0);
    if (rc === -9) return null;
    return this.e.check(rc);
  }

  // ---- snapshots -------------------------------------------------------------------
  runs() {
    this.e.check(this.x.wf_runs(this.h));
    const e = this.e, ptr = e.outPtr(), u32 = e.u32, u8 = e.u8, b = ptr >>> 2;
    const n = u32[b], textStart = ptr + u32[b + 1], runs = new Array(n);
    for (let i = 0; i < n; i++) {
      const w = b + 2 + i * RUN_WORDS, off = textStart + u32[w + 8];
      runs[i] = {
        agent: u32[w], seq: u32[w + 1], len: u32[w + 2],
        ol: idOrNull(u32[w + 3], u32[w + 4]), or: idOrNull(u32[w + 5], u32[w + 6]),
        deleted: u32[w + 7] !== 0,
        text: e.dec.decode(u8.subarray(off, off + u32[w + 9])),
      };
    }
    return runs;
  }
  dels() {
    this.e.check(this.x.wf_dels(this.h));
    const n = this.e.outWords(1)[0], w = this.e.outWords(1 + n * DEL_WORDS), dels = [];
    for (let i = 0, k = 1; i < n; i++, k += DEL_WORDS)
      dels.push({ agent: w[k], seq: w[k + 1], target: { agent: w[k + 2], seq: w[k + 3] }, len: w[k + 4] });
    return dels;
  }
  spans() {
    this.e.check(this.x.wf_spans(this.h));
    const n = this.e.outWords(1)[0], w = this.e.outWords(1 + n * SPAN_WORDS), spans = [];
    for (let i = 0, k = 1; i < n; i++, k += SPAN_WORDS) spans.push({ agent: w[k], seq: w[k + 1], len: w[k + 2] });
    return spans;
  }
  snapshot() {
    return { runs: this.runs(), dels: this.dels(), spans: this.spans() };
  }
  // The same in the flat encodings (Uint8Arrays): compact and fast to load.
  snapshotBytes() {
    this.e.check(this.x.wf_runs(this.h));
    const runs = this.e.outBytes();
    this.e.check(this.x.wf_dels(this.h));
    const dels = this.e.outBytes();
    this.e.check(this.x.wf_spans(this.h));
    return { runs, dels, spans: this.e.outBytes() };
  }

  // Loads a snapshot (objects or bytes) into this new, empty document.
  load(snap) {
    const e = this.e, x = this.x;
    const put = (bytes) => {
      const p = e.scratch(bytes.length);
      e.u8.set(bytes, p);
      return p;
    };
    e.check(x.wf_load_runs(this.h, snap.runs instanceof Uint8Array ? put(snap.runs) : encodeRuns(e, snap.runs)));
    e.check(x.wf_load_dels(this.h, snap.dels instanceof Uint8Array ? put(snap.dels) : encodeWords(e, snap.dels,
      (d) => [d.agent, d.seq, d.target.agent, d.target.seq, d.len])));
    e.check(x.wf_load_spans(this.h, snap.spans instanceof Uint8Array ? put(snap.spans) : encodeWords(e, snap.spans,
      (s) => [s.agent, s.seq, s.len])));
    e.check(x.wf_load_finish(this.h));
  }
}

function encodeRuns(e, runs) {
  let textCap = 0;
  for (const r of runs) textCap += 3 * r.text.length;
  const head = 4 * (2 + runs.length * RUN_WORDS), ptr = e.scratch(head + textCap);
  const u32 = e.u32, b = ptr >>> 2;
  u32[b] = runs.length;
  u32[b + 1] = head;
  let off = 0;
  runs.forEach((r, i) => {
    const w = b + 2 + i * RUN_WORDS;
    const n = e.writeText(r.text, ptr + head + off);
    u32.set([r.agent, r.seq, r.len, r.ol ? r.ol.agent : NONE, r.ol ? r.ol.seq : 0,
      r.or ? r.or.agent : NONE, r.or ? r.or.seq : 0, r.deleted ? 1 : 0, off, n], w);
    off += n;
  });
  return ptr;
}

function encodeWords(e, items, fields) {
  const rows = items.map(fields), width = rows.length ? rows[0].length : 0;
  const ptr = e.scratch(4 * (1 + rows.length * width)), u32 = e.u32, b = ptr >>> 2;
  u32[b] = rows.length;
  rows.forEach((row, i) => u32.set(row, b + 1 + i * width));
  return ptr;
}
