// snapshot.js — the format-3 snapshot of docs/protocol.md §5, decoded into
// the engine's load format {runs, dels, spans} (crdt/wasm/weft-engine.js).
// The snapshot stores delete records in the engine's compact form (a
// backspace run is one reverse record); the load format lists them
// forward-only, one piece per backspaced char, and the engine merges the
// pieces back (mergeDel below is its rule).
//
// The frame around it was already scanned and parsed by codec.js; here the
// 16 sections are inflated (raw deflate, each to exactly its declared size,
// the sum bounded before anything is inflated) and the varint columns are
// read under the canonical rules. Inflating uses DecompressionStream
// ('deflate-raw'), present in browsers and in Node >= 18, so the same code
// runs in both and the bundle needs no zlib.
import { ProtoError, checkVV } from './codec.js';

export const MAX_INFLATE = 64 << 20;
const fail = (code, message) => { throw new ProtoError(code, message); };

const unzz = (z) => ((z >>> 1) ^ -(z & 1)) >>> 0;
const add32 = (a, b) => (a + b) >>> 0;

// Inflates one section into a buffer of exactly its declared size: the
// stream is read chunk by chunk and given up as soon as it would pass that
// size, so a section that lies about its length cannot make us hold more.
// The bytes go straight into the DecompressionStream: wrapping them in a
// Blob first cost Chromium ~10 ms per join of a 122 KB snapshot (16 blobs).
async function inflateRaw(bin, len, what) {
  const ds = new DecompressionStream('deflate-raw');
  const w = ds.writable.getWriter();
  w.write(bin).catch(() => {}); // failures surface through the reader
  w.close().catch(() => {});
  const r = ds.readable.getReader();
  const out = new Uint8Array(len);
  let n = 0;
  try {
    for (;;) {
      const { done, value } = await r.read();
      if (done) break;
      if (value.length > len - n) {
        r.cancel().catch(() => {});
        fail('INFLATE', `${what}: inflates to more than the declared ${len} bytes`);
      }
      out.set(value, n);
      n += value.length;
    }
  } catch (e) {
    if (e instanceof ProtoError) throw e;
    fail('INFLATE', `${what}: bad deflate stream: ${e.message}`);
  }
  if (n !== len) fail('INFLATE', `${what}: inflated ${n} bytes, declared ${len}`);
  return out;
}

async function section(sec, what) {
  const [len, bin] = sec;
  if (len === 0 && bin.length === 0) return new Uint8Array(0);
  return inflateRaw(bin, len, what);
}

// A column: unsigned LEB128 varints back to back, canonical.
export function varints(buf, what = 'column') {
  const out = [];
  let v = 0, k = 0;
  for (let i = 0; i < buf.length; i++) {
    const b = buf[i];
    if (k === 4 && b >= 0x10) fail('INTRANGE', `${what}: varint >= 2^32`);
    v += (b & 0x7f) * 2 ** (7 * k);
    k++;
    if (b < 0x80) {
      if (k > 1 && b === 0) fail('NONCANONICAL', `${what}: overlong varint`);
      out.push(v);
      v = 0;
      k = 0;
    }
  }
  if (k) fail('TRUNCATED', `${what}: ends inside a varint`);
  return out;
}

function isSection(s) {
  return Array.isArray(s) && s.length === 2 && typeof s[0] === 'number' && s[1] instanceof Uint8Array;
}

const zz = (d) => ((d << 1) ^ (d >> 31)) >>> 0;

function putVarint(out, v) {
  v >>>= 0;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
}

// Appends delete record d ({agent, seq, target, len, rev}) to the compact
// list recs, merging it into the last record as the engine does
// (doc__del_record; crdt/src/snapshot.c load_del_append): a forward record
// as one piece, a reverse one char by char.
export function mergeDel(recs, d) {
  const l = recs[recs.length - 1];
  let { seq, len } = d;
  let tseq = d.target.seq;
  if (l && l.agent === d.agent && add32(l.seq, l.len) === seq && l.target.agent === d.target.agent) {
    const first = d.rev ? 1 : len;
    const lo = l.rev ? l.target.seq - l.len + 1 : l.target.seq;
    if ((!l.rev || l.len === 1) && l.target.seq + l.len === tseq) {
      l.rev = false;
      l.len += first;
      if (first === len) return;
      seq = add32(seq, 1);
      tseq -= 1;
      len -= 1;
    } else if ((l.rev || l.len === 1) && first === 1 && lo === tseq + 1) {
      l.rev = true;
      l.len += len;
      return;
    }
  }
  recs.push({ agent: d.agent, seq, target: { agent: d.target.agent, seq: tseq }, len, rev: !!d.rev && len > 1 });
}

// The inflated content of a document's format-3 snapshot (the 15 columns
// and the text, as the C encoder writes them before deflating), from the
// engine's canonical runs, delete records (forward pieces, as the engine
// lists them) and spans. Deflated bytes differ between deflaters; this
// content does not, so tests compare it.
export function snapshotColumns({ runs, dels: pieces, spans }) {
  const dels = [];
  for (const d of pieces) mergeDel(dels, d);
  const seen = new Set();
  const sameId = (a, b) => a && b && a.agent === b.agent && a.seq === b.seq;
  const olCode = (r, i) => {
    if (!r.ol) return 0;
    const p = runs[i - 1];
    if (p && sameId(r.ol, { agent: p.agent, seq: (p.seq + p.len - 1) >>> 0 })) return 1;
    return r.ol.agent === r.agent && r.ol.seq < r.seq ? 2 : 3;
  };
  const orCode = (r, i) => {
    if (!r.or) return 0;
    const n = runs[i + 1];
    if (n && sameId(r.or, n)) return 1;
    return r.or.agent === r.agent ? 2 : 3;
  };
  const codes = runs.map((r, i) => [olCode(r, i), orCode(r, i)]);
  runs.forEach((r, i) => {
    seen.add(r.agent);
    if (codes[i][0] === 3) seen.add(r.ol.agent);
    if (codes[i][1] === 3) seen.add(r.or.agent);
  });
  for (const d of dels) { seen.add(d.agent); seen.add(d.target.agent); }
  for (const sp of spans) seen.add(sp.agent);
  const agents = [...seen].sort((a, b) => a - b);
  const idx = new Map(agents.map((a, i) => [a, i]));
  const col = Array.from({ length: 15 }, () => []);
  agents.forEach((a) => putVarint(col[0], a));
  const endOf = new Map();
  runs.forEach((r, i) => {
    const [oc, rc] = codes[i];
    putVarint(col[1], idx.get(r.agent));
    putVarint(col[2], zz(r.seq - (endOf.get(r.agent) ?? 0)));
    endOf.set(r.agent, (r.seq + r.len) >>> 0);
    putVarint(col[3], r.len);
    putVarint(col[4], (r.deleted ? 1 : 0) | (oc << 1) | (rc << 3));
    if (oc === 2) putVarint(col[5], r.seq - r.ol.seq - 1);
    if (oc === 3) { putVarint(col[6], idx.get(r.ol.agent)); putVarint(col[5], r.ol.seq); }
    if (rc === 2) putVarint(col[5], zz(r.or.seq - r.seq));
    if (rc === 3) { putVarint(col[6], idx.get(r.or.agent)); putVarint(col[5], r.or.seq); }
  });
  const dEnd = new Map();
  let prevT = 0;
  for (const d of dels) {
    putVarint(col[7], idx.get(d.agent));
    putVarint(col[8], zz(d.seq - (dEnd.get(d.agent) ?? 0)));
    dEnd.set(d.agent, (d.seq + d.len) >>> 0);
    putVarint(col[9], idx.get(d.target.agent));
    putVarint(col[10], zz(d.target.seq - prevT));
    prevT = d.target.seq;
    putVarint(col[11], d.len * 2 + (d.rev ? 1 : 0));
  }
  const sEnd = new Map();
  for (const sp of spans) {
    putVarint(col[12], idx.get(sp.agent));
    putVarint(col[13], zz(sp.seq - (sEnd.get(sp.agent) ?? 0)));
    sEnd.set(sp.agent, (sp.seq + sp.len) >>> 0);
    putVarint(col[14], sp.len);
  }
  return {
    columns: col.map((c) => Uint8Array.from(c)),
    text: new TextEncoder().encode(runs.map((r) => r.text).join('')),
  };
}

// The frame [3, lsn, vv, [Section x 15], text Section]: shape, format and
// the declared sizes against maxInflate, before anything is inflated.
function checkFrame(value, maxInflate) {
  if (!Array.isArray(value) || value.length !== 5) fail('SHAPE', 'a snapshot is an array of 5');
  if (value[0] !== 3) fail('FORMAT', `snapshot format ${value[0]}`);
  const [, lsn, vv, cols, textSec] = value;
  if (!Array.isArray(cols) || cols.length !== 15 || !cols.every(isSection) || !isSection(textSec))
    fail('SHAPE', 'a snapshot has 15 column sections and a text section');
  const declared = cols.reduce((a, c) => a + c[0], textSec[0]);
  if (declared > maxInflate) fail('BOMB', `declares ${declared} inflated bytes`);
  return { lsn, vv, cols, textSec };
}

// A checked frame's sections, inflated: {lsn, vv, columns: [Uint8Array x
// 15], text: Uint8Array}. What the engine's loadSnapshot takes: the client
// loads snapshots with the server's decoder compiled into the wasm engine.
export async function snapshotSections(value, { maxInflate = MAX_INFLATE } = {}) {
  const { lsn, vv, cols, textSec } = checkFrame(value, maxInflate);
  checkVV(vv);
  const [columns, text] = await Promise.all([
    Promise.all(cols.map((c, i) => section(c, `column ${i}`))),
    section(textSec, 'text'),
  ]);
  return { lsn, vv, columns, text };
}

// value: [3, lsn, vv, [Section x 15], text Section], msgpack-decoded.
// Returns {lsn, vv, runs, dels, spans, text} (text: the visible text). A
// decoder in JS, checked against the C one by the golden vectors; the
// client itself loads through snapshotSections and the engine.
export async function decodeSnapshot(value, opts) {
  const { lsn, vv, columns: raw, text: textBytes } = await snapshotSections(value, opts);
  const meta = raw.map((b, i) => varints(b, `column ${i}`));
  let text;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(textBytes);
  } catch {
    fail('UTF8', 'snapshot text is not UTF-8');
  }
  const [agents, rAgent, rSeq, rLen, rFlags, rX, rXa, dAgent, dSeq, dTagent, dTseq, dLen, sAgent, sSeq, sLen] = meta;
  const agentAt = (i) => {
    if (i >= agents.length) fail('VALUE', `agent index ${i}`);
    return agents[i];
  };
  const need = (col, i, what) => {
    if (i >= col.length) fail('TRUNCATED', `${what} column too short`);
    return col[i];
  };

  const runs = [];
  const endOf = new Map();
  for (let i = 0; i < rAgent.length; i++) {
    const agent = agentAt(rAgent[i]);
    const seq = add32(endOf.get(agent) ?? 0, unzz(need(rSeq, i, 'r_seq')));
    const len = need(rLen, i, 'r_len');
    const flags = need(rFlags, i, 'r_flags');
    if (flags >= 32) fail('VALUE', `run flags ${flags}`);
    endOf.set(agent, add32(seq, len));
    runs.push({ agent, seq, len, deleted: (flags & 1) !== 0, ol: null, or: null, text: '', flags });
  }
  let x = 0, xa = 0;
  const nextX = () => need(rX, x++, 'r_x');
  const nextXa = () => agentAt(need(rXa, xa++, 'r_xa'));
  runs.forEach((r, i) => {
    const olCode = (r.flags >> 1) & 3, orCode = (r.flags >> 3) & 3;
    if (olCode === 1) {
      if (i === 0) fail('VALUE', 'first run has origin code 1');
      const p = runs[i - 1];
      r.ol = { agent: p.agent, seq: add32(p.seq, p.len - 1) };
    } else if (olCode === 2) {
      r.ol = { agent: r.agent, seq: (r.seq - nextX() - 1) >>> 0 };
    } else if (olCode === 3) {
      const agent = nextXa();
      r.ol = { agent, seq: nextX() };
    }
    if (orCode === 1) {
      if (i === runs.length - 1) fail('VALUE', 'last run has origin code 1');
      const n = runs[i + 1];
      r.or = { agent: n.agent, seq: n.seq };
    } else if (orCode === 2) {
      r.or = { agent: r.agent, seq: add32(r.seq, unzz(nextX())) };
    } else if (orCode === 3) {
      const agent = nextXa();
      r.or = { agent, seq: nextX() };
    }
    delete r.flags;
  });
  if (x !== rX.length || xa !== rXa.length) fail('TRAILING', 'origin columns not fully consumed');
  if (rSeq.length !== runs.length || rLen.length !== runs.length || rFlags.length !== runs.length)
    fail('TRAILING', 'run columns of different lengths');

  // Split the text (tombstones included) by code point counts.
  let at = 0;
  for (const r of runs) {
    const start = at;
    for (let k = 0; k < r.len; k++) {
      if (at >= text.length) fail('VALUE', 'snapshot text shorter than its runs');
      const c = text.charCodeAt(at);
      at += c >= 0xd800 && c <= 0xdbff ? 2 : 1;
    }
    r.text = text.slice(start, at);
  }
  if (at !== text.length) fail('VALUE', 'snapshot text longer than its runs');

  // Delete records, compact: d_len = len << 1 | rev. Each must be one the
  // engine keeps as it is (not merged into the one before).
  const recs = [];
  const dEnd = new Map();
  let prevT = 0;
  for (let i = 0; i < dAgent.length; i++) {
    const agent = agentAt(dAgent[i]);
    const lenRev = need(dLen, i, 'd_len');
    const len = Math.floor(lenRev / 2), rev = lenRev % 2 === 1;
    const seq = add32(dEnd.get(agent) ?? 0, unzz(need(dSeq, i, 'd_seq')));
    const tseq = add32(prevT, unzz(need(dTseq, i, 'd_tseq')));
    prevT = tseq;
    if (len === 0 || seq + len > 2 ** 32 || (rev ? tseq < len - 1 : tseq + len > 2 ** 32))
      fail('VALUE', `delete record ${i}`);
    if (rev && len === 1) fail('NONCANONICAL', `delete record ${i}: a reverse record of one char`);
    dEnd.set(agent, add32(seq, len));
    const d = { agent, seq, target: { agent: agentAt(need(dTagent, i, 'd_tagent')), seq: tseq }, len, rev };
    mergeDel(recs, { ...d, target: { ...d.target } });
    const got = recs[recs.length - 1];
    if (recs.length !== i + 1 || got.seq !== seq || got.len !== len || got.rev !== rev || got.target.seq !== tseq)
      fail('NONCANONICAL', `delete record ${i} continues the one before`);
  }
  if (dSeq.length !== recs.length || dTagent.length !== recs.length || dTseq.length !== recs.length || dLen.length !== recs.length)
    fail('TRAILING', 'delete columns of different lengths');
  // The engine's load format: forward pieces.
  const dels = [];
  for (const r of recs) {
    if (!r.rev) {
      dels.push({ agent: r.agent, seq: r.seq, target: r.target, len: r.len });
      continue;
    }
    for (let k = 0; k < r.len; k++)
      dels.push({ agent: r.agent, seq: add32(r.seq, k), target: { agent: r.target.agent, seq: r.target.seq - k }, len: 1 });
  }
  const spans = [];
  const sEnd = new Map();
  for (let i = 0; i < sAgent.length; i++) {
    const agent = agentAt(sAgent[i]);
    const seq = add32(sEnd.get(agent) ?? 0, unzz(need(sSeq, i, 's_seq')));
    const len = need(sLen, i, 's_len');
    sEnd.set(agent, add32(seq, len));
    spans.push({ agent, seq, len });
  }
  const visible = runs.filter((r) => !r.deleted).map((r) => r.text).join('');
  return { lsn, vv, runs, dels, spans, text: visible };
}
