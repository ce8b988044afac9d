// TLS: with --tls-cert/--tls-key the same port serves https and wss (a
// self-signed certificate made by openssl in the test's temp dir).
import assert from 'node:assert/strict';
import { stest, startServer, defer } from './lib/harness.mjs';
import { Client, connect, joined, T } from './lib/client.mjs';
import { haveEngine } from './lib/replica.mjs';

const noEngine = !haveEngine() && 'no weft_crdt.wasm';

stest('TLS: wss sync and https API on one port; plain ws is not served', async (t) => {
  const s = await startServer(t, { tls: true });
  assert.match(s.wsUrl, /^wss:/);
  assert.ok(s.log.some((l) => l === `weft: listening on https://127.0.0.1:${s.port}/`));
  const a = await joined(t, s, { doc: 'secure', user: ['Ada', '#3b82f6'] });
  const b = await joined(t, s, { doc: 'secure', user: ['Bob', '#ef4444'] });
  a.append('over tls');
  await a.waitAcked();
  await b.until(() => b.text === 'over tls', { what: 'broadcast over wss' });
  const h = await s.get('/healthz');
  assert.equal(h.status, 200);
  assert.equal(await s.text('secure'), 'over tls');
  // A plaintext WebSocket to the TLS port must not reach the document.
  const plain = await Client.connect(`ws://127.0.0.1:${s.port}/ws`).then((c) => {
    defer(t, () => c.ws.terminate());
    return c;
  }, (e) => e);
  assert.ok(plain instanceof Error, 'a plaintext ws:// connection was accepted on the TLS port');
}, { skip: noEngine });

stest('TLS: large frames and a chunked catch-up over wss arrive whole', async (t) => {
  const s = await startServer(t, { tls: true });
  const a = await joined(t, s, { doc: 'bulk', user: ['Ada', '#3b82f6'] });
  a.append('start ');
  await a.waitAcked();
  const b = await joined(t, s, { doc: 'bulk', user: ['Bob', '#ef4444'] });
  const vvB = b.replica.version();
  await b.close();
  a.append('p'.repeat(900 * 1024)); // one 900 KB frame
  await a.waitAcked({ timeout: 10000 });
  for (let i = 0; i < 400; i++) a.append(`${i % 10}`.repeat(4096));
  await a.waitAcked({ timeout: 15000 });
  // Ops catch-up (chunked) and a snapshot, both over TLS.
  const b2 = await connect(t, s);
  b2.replica = b.replica;
  b.replica = null;
  await b2.join({ doc: 'bulk', user: ['Bob', '#ef4444'], vv: vvB, timeout: 15000 });
  const c = await joined(t, s, { doc: 'bulk', user: ['Cy', '#000000'], timeout: 15000 });
  const text = await s.text('bulk');
  assert.equal(text.length, 6 + 900 * 1024 + 400 * 4096);
  assert.equal(b2.text, text);
  assert.equal(c.text, text);
}, { skip: noEngine, timeout: 40000 });
