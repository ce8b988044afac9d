// Positions: the library takes and reports UTF-16 offsets (an editor's),
// the engine and the wire count code points. Emoji, combining marks and
// CJK at the edges of edits; random editing against a JS string model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, session, until, mirror, haveServer } from './harness.js';

const skip = !haveServer() && 'no weft binary or weft_crdt.wasm (build first)';
const fast = { backoffBase: 20, backoffMax: 200 };

test('emoji and other astral characters: UTF-16 offsets both ways', { skip }, async (t) => {
  const srv = await startServer(t);
  const a = session(t, srv, { doc: 'u', ...fast }), b = session(t, srv, { doc: 'u', ...fast });
  await Promise.all([a.ready, b.ready]);
  const changes = [];
  b.on('change', (c) => { if (c.remote) changes.push(...c.changes); });
  const mb = mirror(b);

  a.insert(0, '👋🏽 hi');  // 👋🏽 = 4 UTF-16 units, 2 code points
  await until(() => b.text === '👋🏽 hi');
  a.insert(4, '🌍');       // after the emoji + skin tone
  await until(() => b.text === '👋🏽🌍 hi');
  assert.deepEqual(changes.at(-1), { from: 4, to: 4, insert: '🌍' }, 'the remote change is in UTF-16 units');
  b.insert(b.length16, ' 𝒳中é');
  await until(() => a.text === '👋🏽🌍 hi 𝒳中é');
  a.delete(2, 2); // the skin tone modifier only
  await until(() => b.text === '👋🌍 hi 𝒳中é');
  assert.deepEqual(changes.at(-1), { from: 2, to: 4, insert: '' });
  b.delete(0, 4); // 👋🌍
  await until(() => a.text === ' hi 𝒳中é');
  assert.equal(a.length16, ' hi 𝒳中é'.length);
  a.apply([{ from: 4, to: 6, insert: 'X' }, { from: 0, to: 0, insert: '🙂' }]); // 𝒳 -> X, then a prefix
  await until(() => b.text === '🙂 hi X中é');
  assert.equal(mb.text, b.text);
  await until(() => a.unacked === 0 && b.unacked === 0);
});

test('a UTF-16 offset inside a surrogate pair is refused, nothing changes', { skip }, async (t) => {
  const srv = await startServer(t);
  const a = session(t, srv, { doc: 'split', ...fast });
  await a.ready;
  a.insert(0, 'a😀b');
  assert.throws(() => a.insert(2, 'x'));
  assert.equal(a.text, 'a😀b');
  assert.equal(a.unacked, 3, 'unacked counts seqs: code points');
  await until(() => a.unacked === 0);
});

test('random edits with astral characters against a string model, two sessions', { skip }, async (t) => {
  const srv = await startServer(t);
  const a = session(t, srv, { doc: 'r16', ...fast }), b = session(t, srv, { doc: 'r16', ...fast });
  await Promise.all([a.ready, b.ready]);
  const ma = mirror(a), mb = mirror(b);
  let model = '';
  let seed = 7;
  const rnd = (n) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
  const pieces = ['x', 'é', '😀', '👩‍💻', '中文', '🇫🇷', 'a\u0301', '\n'];
  // Code point boundaries of the model, as UTF-16 offsets.
  const bounds = () => {
    const out = [0];
    for (const ch of model) out.push(out.at(-1) + ch.length);
    return out;
  };
  for (let i = 0; i < 300; i++) {
    const s = i % 2 ? a : b;
    await until(() => a.text === model && b.text === model, { what: `step ${i}` });
    const bs = bounds();
    if (model.length && rnd(3) === 0) {
      const k = rnd(bs.length - 1), n = 1 + rnd(Math.min(3, bs.length - 1 - k));
      s.delete(bs[k], bs[k + n] - bs[k]);
      model = model.slice(0, bs[k]) + model.slice(bs[k + n]);
    } else {
      const at = bs[rnd(bs.length)], p = pieces[rnd(pieces.length)];
      s.insert(at, p);
      model = model.slice(0, at) + p + model.slice(at);
    }
    assert.equal(s.text, model);
  }
  await until(() => a.text === model && b.text === model && a.unacked === 0 && b.unacked === 0);
  assert.equal(ma.text, model);
  assert.equal(mb.text, model);
});
