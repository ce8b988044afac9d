// Every vector of tests/golden/protocol-v1.json through the client's codec:
// messages and values decode and re-encode to the identical bytes (and the
// JSON value packs to them); snapshots load into the engine with the right
// text and their columns are what the JS encoder derives from the loaded
// document; every reject fails with its named error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { encode, decodeMessage, decodeValue, scan, ProtoError, T, BODY } from '../src/codec.js';
import { decodeSnapshot, snapshotColumns, snapshotSections } from '../src/snapshot.js';
import { getEngine, Replica } from '../src/engine.js';
import { WASM } from './harness.js';

const golden = JSON.parse(readFileSync(new URL('../../tests/golden/protocol-v1.json', import.meta.url)));
const hex = (b) => Buffer.from(b).toString('hex');
const unhex = (s) => new Uint8Array(Buffer.from(s, 'hex'));
const fromJson = (v) => (Array.isArray(v) ? v.map(fromJson) : v && typeof v === 'object' ? unhex(v.bin) : v);
const haveWasm = existsSync(WASM);

async function loadSnapshot(value) {
  const engine = await getEngine(WASM);
  const snap = await decodeSnapshot(value);
  const doc = engine.loadDoc(snap);
  try {
    doc.check();
    assert.deepEqual(doc.version(), snap.vv, 'loaded version = the snapshot vv');
    return { snap, text: doc.text(), content: doc.snapshot() };
  } finally {
    doc.free();
  }
}

test('the golden file has every section and the protocol version', () => {
  assert.equal(golden.protocol, 1);
  assert.equal(golden.subprotocol, 'weft.1');
  assert.ok(golden.messages.length >= 20 && golden.values.length >= 4 && golden.snapshots.length >= 3 && golden.rejects.length >= 60);
  const types = new Set(golden.messages.map((m) => m.value[0]));
  for (const t of Object.values(T)) assert.ok(types.has(t), `a message of type ${t}`);
});

test('messages: pack == hex, decode -> re-encode == hex', async () => {
  for (const m of golden.messages) {
    const value = fromJson(m.value);
    assert.equal(hex(encode(value)), m.hex, `${m.name}: JSON value packs to the golden bytes`);
    const decoded = decodeMessage(unhex(m.hex));
    assert.deepEqual(decoded, value, `${m.name}: decodes to the JSON value`);
    assert.equal(hex(encode(decoded)), m.hex, `${m.name}: re-encodes byte-identically`);
    assert.equal(decoded[0], T[m.type.toUpperCase()], `${m.name}: type`);
  }
});

test('values (batches, version vectors): pack == hex, decode -> re-encode == hex', () => {
  for (const v of golden.values) {
    const value = fromJson(v.value);
    assert.equal(hex(encode(value)), v.hex, `${v.name}: packs`);
    const decoded = decodeValue(unhex(v.hex), v.kind);
    assert.deepEqual(decoded, value, `${v.name}: decodes`);
    assert.equal(hex(encode(decoded)), v.hex, `${v.name}: re-encodes`);
  }
});

test('snapshots: pack == hex, re-encode == hex, load gives the text, columns re-derive', { skip: !haveWasm && `no ${WASM}` }, async () => {
  for (const s of golden.snapshots) {
    const value = fromJson(s.value);
    assert.equal(hex(encode(value)), s.hex, `${s.name}: packs`);
    const decoded = decodeValue(unhex(s.hex), 'snapshot');
    assert.equal(hex(encode(decoded)), s.hex, `${s.name}: re-encodes`);
    assert.equal(decoded[1], s.lsn, `${s.name}: lsn`);
    const { snap, text, content } = await loadSnapshot(decoded);
    assert.equal(snap.text, s.text, `${s.name}: decoded visible text`);
    assert.equal(text, s.text, `${s.name}: the engine's text after loading`);
    // Re-encoding the loaded document: the same inflated columns and text
    // (the deflated bytes may differ between deflaters).
    const want = await snapshotSections(decoded);
    const got = snapshotColumns(content);
    got.columns.forEach((c, i) => assert.equal(hex(c), hex(want.columns[i]), `${s.name}: column ${i}`));
    assert.equal(hex(got.text), hex(want.text), `${s.name}: text section`);
  }
});

// The client's own path: sections inflated in JS, loaded in wasm by the
// server's decoder. Same document as the JS decoder's.
test('snapshots: the engine\'s decoder (the client\'s path) loads the same document', { skip: !haveWasm && `no ${WASM}` }, async () => {
  const engine = await getEngine(WASM);
  for (const s of golden.snapshots) {
    const decoded = decodeValue(unhex(s.hex), 'snapshot');
    const sec = await snapshotSections(decoded);
    const r = Replica.fromSections(engine, sec, 77);
    try {
      r.doc.check();
      assert.equal(r.doc.text(), s.text, `${s.name}: text`);
      assert.deepEqual(r.doc.version(), decoded[2], `${s.name}: version`);
      assert.equal(r.doc.agent, 77, `${s.name}: the client's agent`);
      const { content } = await loadSnapshot(decoded);
      assert.deepEqual(r.doc.snapshot(), content, `${s.name}: runs, deletes and spans as the JS decoder's`);
    } finally {
      r.doc.free();
    }
  }
});

test('a welcome\'s snapshot body loads', { skip: !haveWasm && `no ${WASM}` }, async () => {
  const welcomes = golden.messages.filter((m) => m.value[0] === T.WELCOME && m.value[5] === BODY.SNAPSHOT);
  assert.ok(welcomes.length >= 1);
  for (const m of welcomes) {
    const w = decodeMessage(unhex(m.hex));
    const { snap, text } = await loadSnapshot(w[6]);
    assert.deepEqual(snap.vv, w[3], `${m.name}: the snapshot's vv is the welcome's`);
    assert.equal(typeof text, 'string');
  }
});

test('rejects: every one fails with its named error', () => {
  const seen = new Set();
  for (const r of golden.rejects) {
    seen.add(r.error);
    let err = null;
    try {
      decodeMessage(unhex(r.hex));
    } catch (e) {
      err = e;
    }
    assert.ok(err, `${r.name}: ${r.hex} was accepted`);
    assert.ok(err instanceof ProtoError, `${r.name}: threw ${err}`);
    assert.equal(err.code, r.error, `${r.name}: ${err.message}`);
  }
  assert.ok(seen.size >= 15, 'the rejects cover the error kinds');
});

test('scan: TOOBIG above the frame limit, depth limit configurable', () => {
  assert.throws(() => scan(new Uint8Array(11), { maxFrame: 10 }), (e) => e.code === 'TOOBIG');
  assert.throws(() => scan(unhex('9191919100'), { maxDepth: 3 }), (e) => e.code === 'DEPTH');
  scan(unhex('9191919100'), { maxDepth: 4 });
});
