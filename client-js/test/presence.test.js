// Presence: my selection travels as engine anchors and arrives as UTF-16
// offsets that follow later edits; names and colours; peers leave when
// their session closes; presence comes back after a reconnect.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, session, until, haveServer } from './harness.js';

const skip = !haveServer() && 'no weft binary or weft_crdt.wasm (build first)';
const fast = { backoffBase: 20, backoffMax: 200 };

function latest(s) {
  const box = { peers: [] };
  s.on('presence', (p) => { box.peers = p; });
  return box;
}

test('a selection arrives with name, colour and offsets that follow edits', { skip }, async (t) => {
  const srv = await startServer(t);
  const a = session(t, srv, { doc: 'p', user: { name: 'Ada', color: '#3b82f6' }, ...fast });
  const b = session(t, srv, { doc: 'p', user: { name: 'Bob', color: '#ef4444' }, ...fast });
  await Promise.all([a.ready, b.ready]);
  const pb = latest(b), pa = latest(a);
  a.insert(0, 'hello 👋 world');
  await until(() => b.text === a.text);
  a.setSelection(9, 14); // 'world', after the emoji (2 UTF-16 units)
  await until(() => pb.peers.length === 1 && pb.peers[0].head === 14, { what: `presence at b: ${JSON.stringify(pb.peers)}` });
  assert.deepEqual(pb.peers[0], { agent: a.agent, name: 'Ada', color: '#3b82f6', anchor: 9, head: 14 });
  assert.ok(pa.peers.every((p) => p.agent !== a.agent), 'my own entry is not among the peers');

  // b types before the selection: the resolved offsets move with the text.
  b.insert(0, '🎉🎉 ');
  await until(() => a.text === b.text);
  assert.deepEqual(b.peers.map((p) => [p.anchor, p.head]), [[14, 19]]);
  assert.deepEqual(pb.peers.map((p) => [p.anchor, p.head]), [[14, 19]], 'a presence event after the local edit');

  // A cursor (anchor = head) and a cleared selection.
  a.setSelection(0);
  await until(() => pb.peers[0]?.head === 0 && pb.peers[0].anchor === 0);
  a.setSelection(null);
  await until(() => pb.peers.length === 0, { what: 'cleared' });
});

test('peers go away when their session closes, and come back after a reconnect', { skip }, async (t) => {
  const srv = await startServer(t);
  const a = session(t, srv, { doc: 'q', user: { name: 'Ada', color: '#111' }, ...fast });
  const b = session(t, srv, { doc: 'q', user: { name: 'Bob', color: '#222' }, ...fast });
  await Promise.all([a.ready, b.ready]);
  const pb = latest(b);
  a.insert(0, 'abc');
  await until(() => b.text === 'abc');
  a.setSelection(1, 2);
  await until(() => pb.peers.length === 1);

  // a's socket dies: b loses a's entry; a reconnects and re-sends it.
  a._ws.terminate();
  await until(() => pb.peers.length === 0, { what: 'a gone at b' });
  await until(() => pb.peers.length === 1 && pb.peers[0].anchor === 1 && pb.peers[0].head === 2, { what: 'a back at b' });

  // A third session gets the current presence in its welcome.
  const c = session(t, srv, { doc: 'q', user: { name: 'Cy', color: '#333' }, ...fast });
  const pc = latest(c);
  await c.ready;
  await until(() => pc.peers.some((p) => p.name === 'Ada' && p.anchor === 1 && p.head === 2), { what: `welcome presence at c: ${JSON.stringify(pc.peers)}` });

  a.close();
  assert.equal(a.state, 'closed');
  await until(() => pb.peers.length === 0 && !pc.peers.some((p) => p.name === 'Ada'), { what: 'a left' });
});
