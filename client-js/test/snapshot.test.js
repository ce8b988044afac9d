// snapshot.js's delete records (format 3): compact records in the snapshot,
// forward pieces for the engine, and the engine's merge rule (mergeDel)
// deciding which records are canonical. The golden file's backspace sample
// is the source; its d_* columns are rewritten here to make the variants.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { deflateRawSync } from 'node:zlib';
import { decodeValue } from '../src/codec.js';
import { decodeSnapshot, mergeDel, snapshotColumns, snapshotSections, varints } from '../src/snapshot.js';
import { getEngine, Replica } from '../src/engine.js';
import { WASM } from './harness.js';

// The client loads snapshots with the server's decoder compiled into the
// wasm engine; the JS decoder must reject what it rejects, with the same
// code. (A build without the wasm engine checks the JS decoder alone.)
const haveWasm = existsSync(WASM);
async function engineLoad(value) {
  const r = Replica.fromSections(await getEngine(WASM), await snapshotSections(value), 5);
  const text = r.doc.text();
  r.doc.free();
  return text;
}
async function rejectsBoth(value, code) {
  await assert.rejects(decodeSnapshot(value), (e) => e.code === code, `JS decoder: ${code}`);
  if (haveWasm) await assert.rejects(engineLoad(value), (e) => e.code === code, `engine's decoder: ${code}`);
}

const golden = JSON.parse(readFileSync(new URL('../../tests/golden/protocol-v1.json', import.meta.url)));
const unhex = (s) => new Uint8Array(Buffer.from(s, 'hex'));
const sample = golden.snapshots.find((s) => s.name === 'snapshot-backspace');
const D = (seq, tseq, len, rev = false) => ({ agent: 3, seq, target: { agent: 3, seq: tseq }, len, rev });

function putVarint(out, v) {
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
}

// The sample with its delete columns (d_seq, d_tseq, d_len) replaced.
function withDels(value, dseq, dtseq, dlen) {
  const v = structuredClone(value);
  const set = (i, vals) => {
    const b = [];
    vals.forEach((x) => putVarint(b, x));
    v[3][i] = [b.length, new Uint8Array(deflateRawSync(Uint8Array.from(b)))];
  };
  set(7, dseq.map(() => 0));
  set(9, dseq.map(() => 0));
  set(8, dseq);
  set(10, dtseq);
  set(11, dlen);
  return v;
}

test('mergeDel follows the engine: forward whole, reverse char by char', () => {
  let recs = [];
  for (const d of [D(4, 3, 1), D(5, 2, 1), D(6, 1, 1)]) mergeDel(recs, d); // backspacing
  assert.deepEqual(recs, [D(4, 3, 3, true)]);
  recs = [];
  for (const d of [D(4, 0, 2), D(6, 2, 1)]) mergeDel(recs, d); // forward continues
  assert.deepEqual(recs, [D(4, 0, 3)]);
  recs = [];
  for (const d of [D(4, 0, 2), D(6, 2, 3, true)]) mergeDel(recs, d); // first char continues forward
  assert.deepEqual(recs, [D(4, 0, 3), D(7, 1, 2, true)]);
  recs = [];
  for (const d of [D(4, 1, 2), D(6, 0, 1)]) mergeDel(recs, d); // forward then back: no merge
  assert.deepEqual(recs, [D(4, 1, 2), D(6, 0, 1)]);
});

test('the backspace sample: a reverse record, forward pieces for the engine, columns re-derive', async () => {
  const value = decodeValue(unhex(sample.hex), 'snapshot');
  const snap = await decodeSnapshot(value);
  assert.equal(snap.text, sample.text);
  const raw = await snapshotSections(value);
  const dlen = varints(raw.columns[11]);
  assert.ok(dlen.some((v) => v % 2 === 1 && v > 3), 'a reverse record of 2+ chars');
  assert.ok(snap.dels.every((d) => d.len >= 1 && d.rev === undefined), 'forward pieces');
  assert.ok(snap.dels.length > dlen.length, 'the reverse record is expanded');
  // The pieces merge back into the same columns.
  const got = snapshotColumns({ runs: snap.runs, dels: snap.dels, spans: snap.spans });
  got.columns.forEach((c, i) => assert.deepEqual([...c], [...raw.columns[i]], `column ${i}`));
});

test('delete records the engine would merge are NONCANONICAL; malformed ones VALUE', async () => {
  const value = decodeValue(unhex(sample.hex), 'snapshot');
  const raw = await snapshotSections(value);
  const [dseq, dtseq, dlen] = [8, 10, 11].map((i) => varints(raw.columns[i]));
  // the sample as it is re-encodes through withDels
  await decodeSnapshot(withDels(value, dseq, dtseq, dlen));
  if (haveWasm) assert.equal(await engineLoad(withDels(value, dseq, dtseq, dlen)), sample.text);
  const r = dlen.findIndex((v) => v % 2 === 1);
  const len = dlen[r] >> 1;
  // the reverse record (T, len) as two reverse halves (T, 2) and (T - 2,
  // len - 2): the second merges into the first
  assert.ok(len >= 4);
  const zz = (d) => ((d << 1) ^ (d >> 31)) >>> 0;
  const split = {
    seq: [...dseq.slice(0, r), dseq[r], 0, ...dseq.slice(r + 1)],
    tseq: [...dtseq.slice(0, r), dtseq[r], zz(-2), ...dtseq.slice(r + 1)],
    len: [...dlen.slice(0, r), 2 * 2 + 1, (len - 2) * 2 + 1, ...dlen.slice(r + 1)],
  };
  const unzz = (z) => ((z >>> 1) ^ -(z & 1)) | 0;
  if (r + 1 < dtseq.length) split.tseq[r + 2] = zz(unzz(dtseq[r + 1]) + 2); // from T - 2, not T
  await rejectsBoth(withDels(value, split.seq, split.tseq, split.len), 'NONCANONICAL');
  // a reverse record of one char
  const one = [...dlen];
  one[r] = 3;
  await rejectsBoth(withDels(value, dseq, dtseq, one), 'NONCANONICAL');
  // length 0, and a reverse record reaching below seq 0
  const zero = [...dlen];
  zero[r] = 1;
  await rejectsBoth(withDels(value, dseq, dtseq, zero), 'VALUE');
  const low = [...dlen];
  low[r] = 2 * 1000 + 1;
  await rejectsBoth(withDels(value, dseq, dtseq, low), 'VALUE');
});

test('formats 2 and 4 are refused', async () => {
  const value = decodeValue(unhex(sample.hex), 'snapshot');
  for (const f of [2, 4]) {
    const v = [...value];
    v[0] = f;
    await rejectsBoth(v, 'FORMAT');
  }
});
