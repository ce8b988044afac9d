// TLS: with --tls-cert/--tls-key the same port serves https and wss (a
// self-signed certificate made by openssl in the test's temp dir).
import assert from 'node:assert/strict';
import { stest, startServer } from './lib/harness.mjs';
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
    t.after(() => c.ws.terminate());
    return c;
  }, (e) => e);
  assert.ok(plain instanceof Error, 'a plaintext ws:// connection was accepted on the TLS port');
}, { skip: noEngine });
