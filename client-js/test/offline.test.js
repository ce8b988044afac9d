// Offline and reconnect: the server stopped (gracefully and by SIGKILL) and
// restarted, sockets killed abruptly, a dead link found by the heartbeat,
// edits on both sides while apart. Every time: convergence, every edit
// exactly once, unacked back to 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, session, until, mirror, haveServer, sleep } from './harness.js';

const skip = !haveServer() && 'no weft binary or weft_crdt.wasm (build first)';
const fast = { backoffBase: 20, backoffMax: 300 };

// Every token appears exactly once in text.
function once(text, tokens) {
  for (const tok of tokens) {
    const n = text.split(tok).length - 1;
    assert.equal(n, 1, `"${tok}" appears ${n} times in ${JSON.stringify(text)}`);
  }
}

async function synced(ss) {
  await until(() => ss.every((s) => s.state === 'synced' && s.unacked === 0), { timeout: 15000, what: `synced + acked: ${ss.map((s) => `${s.state}/${s.unacked}`)}` });
  await until(() => ss.every((s) => s.text === ss[0].text), { timeout: 15000, what: `convergence: ${ss.map((s) => JSON.stringify(s.text))}` });
}

for (const signal of ['SIGTERM', 'SIGKILL']) {
  test(`server stopped (${signal}) and restarted: offline edits on both sides merge`, { skip }, async (t) => {
    const srv = await startServer(t);
    const a = session(t, srv, { doc: 'off', ...fast }), b = session(t, srv, { doc: 'off', ...fast });
    await Promise.all([a.ready, b.ready]);
    const ma = mirror(a), mb = mirror(b);
    a.insert(0, '[base]');
    await synced([a, b]);

    const statesA = [];
    a.on('status', (s) => statesA.push(s));
    await srv.stop(signal);
    await until(() => a.state !== 'synced' && b.state !== 'synced', { what: 'both notice' });
    a.insert(0, '<a1>');
    b.insert(b.length16, '<b1>');
    a.insert(a.length16, '<a2>');
    b.delete(0, 1); // the '[' of [base]
    assert.ok(a.unacked > 0 && b.unacked > 0);
    await sleep(100); // a few failed reconnects
    await srv.start();
    await synced([a, b]);
    once(a.text, ['<a1>', '<a2>', '<b1>', 'base]']);
    assert.ok(!a.text.includes('[base'), 'the offline delete applied');
    assert.equal(ma.text, a.text);
    assert.equal(mb.text, b.text);
    assert.ok(statesA.some((s) => s.state === 'offline'), 'went offline');
    assert.equal(statesA.at(-1).state, 'synced');
    assert.equal(statesA.at(-1).unacked, 0);
  });
}

test('abrupt socket close mid-send: the unacked tail is re-sent once', { skip }, async (t) => {
  const srv = await startServer(t);
  const a = session(t, srv, { doc: 'kill', ...fast }), b = session(t, srv, { doc: 'kill', ...fast });
  await Promise.all([a.ready, b.ready]);
  const tokens = [];
  for (let round = 0; round < 8; round++) {
    const tok = `<${round}>`;
    tokens.push(tok);
    a.insert(a.length16, tok);
    await Promise.resolve(); // the batch goes out in a microtask
    if (round % 2 === 0) a._ws?.terminate(); // before its ack can arrive
    const tb = `{${round}}`;
    tokens.push(tb);
    b.insert(0, tb);
    await sleep(round * 5);
  }
  await synced([a, b]);
  once(a.text, tokens);
  assert.equal(a.text.length, tokens.join('').length);
});

test('an empty client offline while the other writes: reconnect loads a snapshot under its edits', { skip }, async (t) => {
  const srv = await startServer(t);
  const a = session(t, srv, { doc: 'snap', ...fast });
  await a.ready;
  const ma = mirror(a);
  await srv.stop();
  await until(() => a.state !== 'synced');
  await srv.start();
  // a is still backing off: b writes meanwhile.
  const b = session(t, srv, { doc: 'snap', ...fast });
  await b.ready;
  b.insert(0, 'from b');
  await until(() => b.unacked === 0);
  await synced([a, b]);
  assert.equal(a.text, 'from b');
  assert.equal(ma.text, 'from b');
  a.insert(0, '>');
  await synced([a, b]);
  assert.equal(b.text, '>from b');
});

test('a dead link (no frames at all) is found by the heartbeat and replaced', { skip }, async (t) => {
  const srv = await startServer(t);
  const opts = { doc: 'dead', pingInterval: 100, pingTimeout: 400, ...fast };
  const a = session(t, srv, opts), b = session(t, srv, { doc: 'dead', ...fast });
  await Promise.all([a.ready, b.ready]);
  const ws = a._ws;
  ws._socket.pause(); // the socket stays open but nothing arrives: a dead link
  b.insert(0, 'while a was deaf ');
  await sleep(50);
  a.insert(a.length16, 'a typed this');
  await until(() => a._ws && a._ws !== ws, { what: 'a new socket', timeout: 5000 });
  await synced([a, b]);
  once(a.text, ['while a was deaf ', 'a typed this']);
});

test('backoff: attempts spread out while the server is down, capped', { skip }, async (t) => {
  const srv = await startServer(t);
  const a = session(t, srv, { doc: 'bo', backoffBase: 20, backoffMax: 160 });
  await a.ready;
  const connecting = [];
  a.on('status', (s) => { if (s.state === 'connecting') connecting.push(Date.now()); });
  await srv.stop();
  await sleep(1200);
  const gaps = connecting.slice(1).map((x, i) => x - connecting[i]);
  assert.ok(connecting.length >= 4 && connecting.length <= 20, `${connecting.length} attempts in 1.2 s`);
  // A gap is the backoff delay plus the time a refused connect takes to
  // fail, which a loaded machine stretches: most gaps are within the cap,
  // and the later ones are longer than the first.
  const within = gaps.filter((g) => g <= 160 + 60).length;
  assert.ok(within >= gaps.length * 0.7, `gaps within the cap: ${gaps}`);
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  assert.ok(mean(gaps.slice(-3)) > mean(gaps.slice(0, 2)), `later gaps are longer: ${gaps}`);
  await srv.start();
  await until(() => a.state === 'synced', { timeout: 5000 });
});

test('a long absence: the welcome arrives in chunks, local edits made meanwhile survive', { skip }, async (t) => {
  const srv = await startServer(t);
  const a = session(t, srv, { doc: 'long', ...fast }), b = session(t, srv, { doc: 'long', ...fast });
  await Promise.all([a.ready, b.ready]);
  a.insert(0, '[a0]');
  await synced([a, b]);
  let welcomes = 0;
  const onWelcome = a._onWelcome.bind(a);
  a._onWelcome = (gen, m) => { welcomes++; return onWelcome(gen, m); };
  a.opts.backoffBase = a.opts.backoffMax = 1500; // stay away a while
  a._ws.terminate();
  await until(() => a.state === 'offline');
  a.insert(0, '[a1]');
  const line = 'x'.repeat(1000);
  const tokens = [];
  for (let i = 0; i < 300; i++) {
    const tok = `<${i}>`;
    tokens.push(tok);
    b.insert(b.length16, tok + line);
    await Promise.resolve();
  }
  await until(() => b.unacked === 0, { timeout: 15000 });
  await synced([a, b]);
  assert.ok(welcomes >= 3, `${welcomes} welcome frames for ~300 KB`);
  once(a.text, [...tokens, '[a0]', '[a1]']);
});

test('a handshake that never completes is dropped and retried', { skip }, async (t) => {
  const net = await import('node:net');
  const held = [];
  const mute = net.createServer((c) => held.push(c)); // accepts, never answers
  await new Promise((r) => mute.listen(0, '127.0.0.1', r));
  t.after(() => { held.forEach((c) => c.destroy()); mute.close(); });
  const url = `ws://127.0.0.1:${mute.address().port}/ws`;
  const s = session(t, null, { url, doc: 'x', connectTimeout: 150, backoffBase: 10, backoffMax: 50 });
  const states = [];
  s.on('status', ({ state }) => states.push(state));
  await until(() => held.length >= 3, { what: `three attempts (${states})`, timeout: 5000 });
  assert.ok(states.includes('offline'));
  assert.equal(s.unacked, 0);
});
