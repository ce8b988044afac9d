// Tests of weft-engine.js (the JS API over the wasm engine) in Node.
//   node engine.test.mjs --wasm build/crdt/wasm/weft_crdt.wasm
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { loadEngine, WeftError, NONE, OP_INS, OP_DEL, APPLIED, DUPLICATE, PARKED } from '../weft-engine.js';

const { values: opt } = parseArgs({ options: { wasm: { type: 'string' } } });
const engine = await loadEngine(opt.wasm);

// Applies editor patches (UTF-16 units) to a JS string, as an editor would.
function applyPatches16(s, patches) {
  for (const p of patches) s = s.slice(0, p.pos16) + p.text + s.slice(p.pos16 + p.del16);
  return s;
}

// splitmix64 in BigInt, to match the C driver's habits (no Math.random).
function rng(seed) {
  let s = BigInt.asUintN(64, BigInt(seed));
  return (n) => {
    s = BigInt.asUintN(64, s + 0x9e3779b97f4a7c15n);
    let z = s;
    z = BigInt.asUintN(64, (z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n);
    z = BigInt.asUintN(64, (z ^ (z >> 27n)) * 0x94d049bb133111ebn);
    z = z ^ (z >> 31n);
    return Number(z % BigInt(n));
  };
}

test('loads from bytes and from a path, with no WASI imports needed', async () => {
  const mod = new WebAssembly.Module(readFileSync(opt.wasm));
  const imports = WebAssembly.Module.imports(mod).map((i) => `${i.module}.${i.name}`);
  console.log(`# weft_crdt.wasm imports: ${imports.join(', ') || '(none)'}`);
  // The engine is pure (no I/O); at most libc's exit/stdio plumbing, which
  // weft-engine.js answers with inert functions, may appear.
  const allowed = ['proc_exit', 'fd_write', 'fd_close', 'fd_seek', 'fd_fdstat_get'].map((n) => `wasi_snapshot_preview1.${n}`);
  assert.deepEqual(imports.filter((i) => !allowed.includes(i)), []);
  const e2 = await loadEngine(readFileSync(opt.wasm));
  const d = e2.newDoc(3);
  d.insert(0, 'ok');
  assert.equal(d.text(), 'ok');
  d.free();
});

test('loads over HTTP like a browser (streaming, and a server without the wasm MIME type)', async () => {
  const bytes = readFileSync(opt.wasm);
  const server = createServer((req, res) => {
    if (req.url === '/typed.wasm') res.setHeader('Content-Type', 'application/wasm');
    if (req.url === '/missing.wasm') res.statusCode = 404;
    res.end(req.url === '/missing.wasm' ? 'no' : bytes);
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const base = `http://127.0.0.1:${server.address().port}`;
  try {
    for (const path of ['/typed.wasm', '/untyped.wasm']) {
      const e = await loadEngine(new URL(path, base));
      const d = e.newDoc(1);
      d.insert(0, path);
      assert.equal(d.text(), path);
    }
    await assert.rejects(loadEngine(`${base}/missing.wasm`), /HTTP 404/);
  } finally {
    server.close();
  }
});

test('insert via UTF-16 offsets with emoji, ops carry code points', () => {
  const a = engine.newDoc(1);
  const ops1 = a.insert16(0, 'ab👋cd');
  assert.equal(a.text(), 'ab👋cd');
  assert.equal(a.len(), 5);
  assert.equal(a.len16(), 6);
  assert.equal(a.bytes(), 8);
  assert.equal(ops1.length, 1);
  assert.deepEqual(ops1[0], { kind: OP_INS, agent: 1, seq: 0, len: 5, ol: null, or: null, target: null, text: 'ab👋cd' });
  const ops2 = a.insert16(4, 'X'); // after the emoji: code point 3
  assert.equal(a.text(), 'ab👋Xcd');
  assert.deepEqual(ops2[0].ol, { agent: 1, seq: 2 });
  assert.equal(ops2[0].seq, 5);
  assert.equal(a.pos16(3), 4);
  assert.equal(a.posFrom16(4), 3);
  assert.throws(() => a.insert16(3, 'Y'), (e) => e instanceof WeftError && e.code === -4); // inside the pair
  assert.equal(a.text(), 'ab👋Xcd');
  const del = a.delete16(2, 2); // the emoji
  assert.equal(a.text(), 'abXcd');
  assert.deepEqual(del, [{ kind: OP_DEL, agent: 1, seq: 6, len: 1, ol: null, or: null, target: { agent: 1, seq: 2 }, text: '' }]);
  a.check();
  a.free();
});

test('ops from one Doc apply to another; patches reproduce the text in UTF-16', () => {
  const a = engine.newDoc(1), b = engine.newDoc(2);
  let shadow = '';
  const ops = [...a.insert(0, 'héllo 🌍 wörld'), ...a.delete(1, 1), ...a.insert(1, 'e')];
  for (const op of ops) {
    const r = b.applyOp(op);
    assert.equal(r.status, APPLIED);
    shadow = applyPatches16(shadow, r.patches);
  }
  assert.equal(b.text(), 'hello 🌍 wörld');
  assert.equal(shadow, b.text());
  assert.equal(b.applyOp(ops[0]).status, DUPLICATE);
  // Concurrent edits both ways through opsSince(version).
  const va = a.version(), vb = b.version();
  const fromA = [...a.insert16(8, '!'), ...a.delete(0, 1)];
  const fromB = [...b.insert(b.len(), ' 🎉'), ...b.insert(0, 'Say: ')];
  assert.deepEqual(a.opsSince(va), fromA);
  assert.deepEqual(b.opsSince(vb), fromB);
  const pb = b.apply(a.opsSince(vb));
  const sa0 = a.text();
  const pa = a.apply(b.opsSince(va));
  assert.equal(a.text(), b.text());
  assert.equal(applyPatches16(sa0, pa), a.text());
  assert.ok(pb.length > 0);
  assert.deepEqual(a.runs(), b.runs());
  assert.deepEqual(a.version(), b.version());
  a.check();
  b.check();
  a.free();
  b.free();
});

test('transactions merge ops; parked ops wait for their dependencies', () => {
  const a = engine.newDoc(5), b = engine.newDoc(6);
  const ops = a.transact((d) => {
    d.insert(0, 'a');
    d.insert(1, 'b');
    d.insert(2, 'c');
  });
  assert.equal(ops.length, 1);
  assert.equal(ops[0].text, 'abc');
  const more = a.insert(3, 'd');
  assert.equal(b.applyOp(more[0]).status, PARKED);
  assert.equal(b.parked(), 1);
  assert.equal(b.text(), '');
  const r = b.applyOp(ops[0]);
  assert.equal(r.status, APPLIED);
  assert.equal(b.parked(), 0);
  assert.equal(b.text(), 'abcd');
  assert.equal(applyPatches16('', r.patches), 'abcd');
  a.free();
  b.free();
});

test('anchors follow concurrent inserts and deletes', () => {
  const a = engine.newDoc(1), b = engine.newDoc(2);
  b.apply(a.insert(0, 'hello world'));
  const anc = a.anchor(6, 1); // before "world", bound to 'w'
  assert.deepEqual({ agent: anc.agent, seq: anc.seq }, a.idAt(6));
  const end = a.anchor(a.len(), 1);
  assert.equal(end.agent, NONE);
  a.apply(b.insert(0, '👋 '));
  assert.equal(a.anchorPos(anc), 8);
  a.apply(b.delete(8, 1)); // delete 'w' itself: resolves to where it was
  assert.equal(a.text(), '👋 hello orld');
  assert.equal(a.anchorPos(anc), 8);
  assert.deepEqual(a.deleter(anc), { agent: 2, seq: 2 });
  a.insert(a.len(), '!');
  assert.equal(a.anchorPos(end), a.len());
  assert.equal(a.anchorPos({ agent: 99, seq: 0, assoc: 0 }), null);
  a.free();
  b.free();
});

test('snapshots: objects and bytes load into equal documents', () => {
  const a = engine.newDoc(1), b = engine.newDoc(2);
  b.apply(a.insert(0, 'The quick brown 🦊'));
  a.apply(b.delete(4, 6));
  a.apply(b.insert(4, 'slow '));
  const snap = a.snapshot();
  const c = engine.loadDoc(snap, 3);
  assert.equal(c.text(), a.text());
  assert.deepEqual(c.runs(), a.runs());
  assert.deepEqual(c.dels(), a.dels());
  assert.deepEqual(c.spans(), a.spans());
  assert.deepEqual(c.version(), a.version());
  c.check();
  const d = engine.loadDoc(a.snapshotBytes());
  assert.equal(d.text(), a.text());
  // The loaded document keeps editing and syncing.
  const ops = c.insert(0, '> ');
  a.apply(ops);
  assert.equal(a.text(), c.text());
  assert.deepEqual(c.runs().some((r) => r.deleted), true);
  // Bulk path between engines.
  const e = engine.newDoc();
  e.applyBytes(a.opsSinceBytes());
  assert.equal(e.text(), a.text());
  assert.deepEqual(e.runs(), a.runs());
  assert.equal(e.textAt([[1, 17]]), 'The quick brown 🦊');
  for (const x of [a, b, c, d, e]) x.free();
});

test('seeded random editing at UTF-16 offsets matches a JS string model and converges', () => {
  const alphabet = ['a', 'b', ' ', 'é', '中', '👋', '🎉', '𝄞', 'x\ny'];
  for (const seed of [1, 2, 3]) {
    const rand = rng(seed);
    const docs = [engine.newDoc(10), engine.newDoc(0x80000000), engine.newDoc(3)];
    const model = ['', '', ''];
    for (let step = 0; step < 300; step++) {
      const i = rand(3), d = docs[i];
      const act = rand(10);
      if (act < 5) {
        // A cursor position that is not inside a surrogate pair.
        const cps = [...model[i]];
        const cp = rand(cps.length + 1), pos16 = cps.slice(0, cp).join('').length;
        let text = '';
        for (let k = rand(4) + 1; k > 0; k--) text += alphabet[rand(alphabet.length)];
        d.insert16(pos16, text);
        model[i] = model[i].slice(0, pos16) + text + model[i].slice(pos16);
      } else if (act < 8 && model[i].length) {
        const cps = [...model[i]];
        const cp = rand(cps.length), n = 1 + rand(Math.min(4, cps.length - cp));
        const pos16 = cps.slice(0, cp).join('').length, len16 = cps.slice(cp, cp + n).join('').length;
        d.delete16(pos16, len16);
        model[i] = model[i].slice(0, pos16) + model[i].slice(pos16 + len16);
      } else {
        const j = (i + 1 + rand(2)) % 3;
        model[i] = applyPatches16(model[i], d.apply(docs[j].opsSince(d.version())));
      }
      assert.equal(d.text(), model[i], `seed ${seed} step ${step}`);
      assert.equal(d.len16(), model[i].length);
    }
    for (let round = 0; round < 2; round++)
      for (const d of docs) for (const s of docs) if (d !== s) d.apply(s.opsSince(d.version()), { patches: false });
    assert.equal(docs[1].text(), docs[0].text());
    assert.equal(docs[2].text(), docs[0].text());
    assert.deepEqual(docs[1].runs(), docs[0].runs());
    for (const d of docs) {
      d.check();
      d.free();
    }
  }
});

test('errors are WeftErrors with the engine code and message', () => {
  const a = engine.newDoc(1);
  assert.throws(() => a.delete(0, 1), (e) => e instanceof WeftError && e.code === -4 && /range/.test(e.message));
  const ro = engine.newDoc();
  assert.throws(() => ro.insert(0, 'x'), (e) => e.code === -11);
  assert.equal(engine.strerror(-2), 'invalid UTF-8');
  a.free();
  ro.free();
});
