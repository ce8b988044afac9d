// The JS side of the golden vectors (tests/golden/protocol-v1.json, checked
// in C by proto_golden): the encoder these tests (and the JS client) speak
// with must produce exactly the frozen bytes, the strict reader must accept
// them and refuse the codec-level rejects, and the golden snapshots must
// decode to their text and load into the engine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { encode, strictDecode, fromJson, hex, unhex, SUBPROTOCOL, PROTO_VERSION } from './lib/codec.mjs';
import { decodeSnapshot } from './lib/snapshot.mjs';
import { haveEngine, engine } from './lib/replica.mjs';

const goldenPath = fileURLToPath(new URL('../golden/protocol-v1.json', import.meta.url));
const golden = JSON.parse(readFileSync(goldenPath, 'utf8'));

test('golden file is protocol 1 on weft.1', () => {
  assert.equal(golden.protocol, PROTO_VERSION);
  assert.equal(golden.subprotocol, SUBPROTOCOL);
  assert.ok(golden.messages.length >= 9 && golden.rejects.length > 0);
});

for (const group of ['messages', 'values', 'snapshots']) {
  test(`golden ${group}: encoded == hex, decoded and re-encoded == hex`, () => {
    for (const g of golden[group]) {
      const value = fromJson(g.value);
      assert.equal(hex(encode(value)), g.hex, `${g.name}: encoding differs`);
      const back = strictDecode(unhex(g.hex));
      assert.deepEqual(back, value, `${g.name}: decoded value differs`);
      assert.equal(hex(encode(back)), g.hex, `${g.name}: re-encoding differs`);
    }
  });
}

test('golden messages cover every message type 1..9', () => {
  const types = new Set(golden.messages.map((g) => g.value[0]));
  for (let t = 1; t <= 9; t++) assert.ok(types.has(t), `no golden message of type ${t}`);
});

// Codec-level errors are decidable without knowing message shapes.
const CODEC_ERRORS = new Set(['TRUNCATED', 'TRAILING', 'MAP', 'FLOAT', 'EXT', 'RESERVED', 'NEGATIVE',
  'NONCANONICAL', 'INTRANGE', 'DEPTH', 'UTF8']);

test('golden rejects with codec-level errors are refused by the strict reader', () => {
  let n = 0;
  for (const g of golden.rejects) {
    if (!CODEC_ERRORS.has(g.error)) continue;
    n++;
    assert.throws(() => strictDecode(unhex(g.hex)), undefined, `${g.name} (${g.error}) was accepted`);
  }
  assert.ok(n >= 20, `only ${n} codec-level rejects`);
});

test('golden snapshots decode to their text', () => {
  for (const g of golden.snapshots) {
    const s = decodeSnapshot(strictDecode(unhex(g.hex)));
    assert.equal(s.text, g.text, g.name);
    assert.equal(s.lsn, g.lsn, g.name);
  }
});

test('the welcome-snapshot message carries a loadable snapshot', () => {
  const w = golden.messages.find((g) => g.name === 'welcome-snapshot');
  assert.ok(w);
  const m = strictDecode(unhex(w.hex));
  assert.equal(m[5], 1);
  assert.ok(decodeSnapshot(m[6]).text.length > 0);
});

test('golden snapshots load into the engine and give back the same runs', { skip: !haveEngine() && 'no weft_crdt.wasm' }, async () => {
  const eng = await engine();
  for (const g of golden.snapshots) {
    const s = decodeSnapshot(strictDecode(unhex(g.hex)));
    const doc = eng.loadDoc({ runs: s.runs, dels: s.dels, spans: s.spans });
    try {
      doc.check();
      assert.equal(doc.text(), g.text, g.name);
      assert.deepEqual(doc.version(), s.vv, g.name);
      assert.deepEqual(doc.runs(), s.runs, `${g.name}: runs`);
      assert.deepEqual(doc.dels(), s.dels, `${g.name}: dels`);
      assert.deepEqual(doc.spans(), s.spans, `${g.name}: spans`);
    } finally {
      doc.free();
    }
  }
});
