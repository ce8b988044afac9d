// Decodes a protocol snapshot value (docs/protocol.md §5) into the engine's
// load format {runs, dels, spans} plus the visible text, so a test client
// can start from a welcome's snapshot exactly like the browser client does.
import { inflateRawSync } from 'node:zlib';

const unzz = (z) => ((z >>> 1) ^ -(z & 1)) >>> 0;
const add32 = (a, b) => (a + b) >>> 0;

function inflateExact(bin, len, what) {
  const out = len === 0 && bin.length <= 2 ? Buffer.alloc(0) : inflateRawSync(Buffer.from(bin));
  if (out.length !== len) throw new Error(`snapshot ${what}: inflated ${out.length} bytes, declared ${len}`);
  return out;
}

// Splits UTF-8 text into strings of the given code point counts.
function splitCodePoints(text, counts) {
  const cps = Array.from(text);
  const total = counts.reduce((a, b) => a + b, 0);
  if (total !== cps.length) throw new Error(`snapshot text has ${cps.length} code points, runs say ${total}`);
  const parts = [];
  let at = 0;
  for (const n of counts) {
    parts.push(cps.slice(at, at + n).join(''));
    at += n;
  }
  return parts;
}

// Reads a column: unsigned LEB128 varints back to back (docs/protocol.md §5).
function varints(buf, what) {
  const out = [];
  let v = 0, shift = 0, inValue = false;
  for (const b of buf) {
    v += (b & 0x7f) * 2 ** shift;
    shift += 7;
    inValue = true;
    if (b < 0x80) {
      if (v > 0xffffffff) throw new Error(`snapshot ${what}: value over 2^32`);
      out.push(v);
      v = 0;
      shift = 0;
      inValue = false;
    } else if (shift > 28) {
      throw new Error(`snapshot ${what}: varint longer than 5 bytes`);
    }
  }
  if (inValue) throw new Error(`snapshot ${what}: truncated varint`);
  return out;
}

// Section = [len, bin]: raw deflate of exactly len bytes.
function section([len, bin], what) {
  return inflateExact(bin, len, what);
}

// value: [3, lsn, vv, columns: [Section x 15], text: Section] (already msgpack-decoded).
export function decodeSnapshot(value) {
  if (!Array.isArray(value) || value.length !== 5 || value[0] !== 3) throw new Error('not a format-3 snapshot');
  const [, lsn, vv, cols, textSec] = value;
  if (!Array.isArray(cols) || cols.length !== 15) throw new Error('snapshot does not have 15 columns');
  const meta = cols.map((c, i) => varints(section(c, `column ${i}`), `column ${i}`));
  const text = section(textSec, 'text').toString('utf8');
  const [agents, rAgent, rSeq, rLen, rFlags, rX, rXa, dAgent, dSeq, dTagent, dTseq, dLen, sAgent, sSeq, sLen] = meta;

  // Pass 1: agent, seq, len of every run (seq deltas against the end of the
  // same agent's previous run in document order).
  const runs = [];
  const endOf = new Map();
  for (let i = 0; i < rAgent.length; i++) {
    const agent = agents[rAgent[i]];
    const seq = add32(endOf.get(agent) ?? 0, unzz(rSeq[i]));
    const len = rLen[i];
    endOf.set(agent, add32(seq, len));
    runs.push({ agent, seq, len, deleted: (rFlags[i] & 1) !== 0, ol: null, or: null, text: '' });
  }
  // Pass 2: origins, consuming r_x / r_xa in run order, ol before or.
  let x = 0, xa = 0;
  runs.forEach((r, i) => {
    const olCode = (rFlags[i] >> 1) & 3, orCode = (rFlags[i] >> 3) & 3;
    if (olCode === 1) {
      const p = runs[i - 1];
      r.ol = { agent: p.agent, seq: add32(p.seq, p.len - 1) };
    } else if (olCode === 2) {
      r.ol = { agent: r.agent, seq: (r.seq - rX[x++] - 1) >>> 0 };
    } else if (olCode === 3) {
      r.ol = { agent: agents[rXa[xa++]], seq: rX[x++] };
    }
    if (orCode === 1) {
      const n = runs[i + 1];
      r.or = { agent: n.agent, seq: n.seq };
    } else if (orCode === 2) {
      r.or = { agent: r.agent, seq: add32(r.seq, unzz(rX[x++])) };
    } else if (orCode === 3) {
      r.or = { agent: agents[rXa[xa++]], seq: rX[x++] };
    }
  });
  if (x !== rX.length || xa !== rXa.length) throw new Error('snapshot origin columns not fully consumed');
  splitCodePoints(text, runs.map((r) => r.len)).forEach((t, i) => (runs[i].text = t));

  const dels = [];
  const dEnd = new Map();
  let prevT = 0;
  for (let i = 0; i < dAgent.length; i++) {
    const agent = agents[dAgent[i]];
    const seq = add32(dEnd.get(agent) ?? 0, unzz(dSeq[i]));
    const tseq = add32(prevT, unzz(dTseq[i]));
    prevT = tseq;
    // d_len = len << 1 | rev; the engine loads forward pieces: a reverse
    // (backspace) record, seq+k removed tseq-k, is one piece per char.
    const len = Math.floor(dLen[i] / 2), tagent = agents[dTagent[i]];
    dEnd.set(agent, add32(seq, len));
    if (dLen[i] % 2 === 0) dels.push({ agent, seq, target: { agent: tagent, seq: tseq }, len });
    else for (let k = 0; k < len; k++) dels.push({ agent, seq: add32(seq, k), target: { agent: tagent, seq: tseq - k }, len: 1 });
  }
  const spans = [];
  const sEnd = new Map();
  for (let i = 0; i < sAgent.length; i++) {
    const agent = agents[sAgent[i]];
    const seq = add32(sEnd.get(agent) ?? 0, unzz(sSeq[i]));
    sEnd.set(agent, add32(seq, sLen[i]));
    spans.push({ agent, seq, len: sLen[i] });
  }
  const visible = runs.filter((r) => !r.deleted).map((r) => r.text).join('');
  return { lsn, vv, runs, dels, spans, text: visible };
}
