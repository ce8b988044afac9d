// Limits: frame size (1009), op rate (4007), connection count (4014),
// document size (4008) and a slow consumer's outbound queue (1013). Each
// offender gets an error message and the documented close code; everyone
// else keeps working.
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { stest, startServer, sleep, until, defer } from './lib/harness.mjs';
import { connect, joined, assertErrorClose, T, CLOSE } from './lib/client.mjs';
import { encode, opsMsg } from './lib/codec.mjs';
import { haveEngine } from './lib/replica.mjs';

const ada = ['Ada', '#3b82f6'];
const bob = ['Bob', '#ef4444'];
const noEngine = !haveEngine() && 'no weft_crdt.wasm';

async function stillServes(b, what) {
  b.append('.');
  await b.waitAcked({ timeout: 3000 }).catch((e) => { throw new Error(`bystander after ${what}: ${e.message}`); });
}

stest('frame larger than --max-frame: error + close 1009; a frame at the limit is fine', async (t) => {
  const s = await startServer(t, { args: ['--max-frame', '4096'] });
  const b = await joined(t, s, { doc: 'f', user: bob });
  const v = await joined(t, s, { doc: 'f', user: ada });
  // Just under the limit: accepted.
  const fits = 'a'.repeat(4096 - 32);
  v.send(opsMsg([[], [[0, v.agent, 0, null, null, fits]]]));
  assert.ok(encode(opsMsg([[], [[0, v.agent, 0, null, null, fits]]])).length <= 4096);
  await v.next((m) => m[0] === T.ACK, { what: 'ack of a frame under the limit' });
  // Over it.
  const big = encode(opsMsg([[], [[0, v.agent, fits.length, [v.agent, fits.length - 1], null, 'b'.repeat(5000)]]]));
  assert.ok(big.length > 4096);
  v.sendRaw(big);
  await assertErrorClose(assert, v, CLOSE.TOO_LARGE, { what: '5 KB frame, 4 KB limit' });
  await stillServes(b, 'the large frame');
  assert.equal(await s.text('f'), fits + '.');
  // Before hello too: an unauthenticated 2 MB frame.
  const early = await connect(t, s);
  early.sendRaw(new Uint8Array(2 << 20).fill(0x90));
  await assertErrorClose(assert, early, CLOSE.TOO_LARGE, { what: '2 MB first frame, 4 KB limit' });
  await stillServes(b, 'the large first frame');
}, { skip: noEngine });

stest('rate limit: a burst within 4×rate passes, a flood gets 4007', async (t) => {
  const s = await startServer(t, { args: ['--rate', '10'] });
  const b = await joined(t, s, { doc: 'r', user: bob });
  const v = await joined(t, s, { doc: 'r', user: ada });
  for (let i = 0; i < 30; i++) v.append('x');
  await v.waitAcked();
  assert.equal(v.closeInfo, null, 'closed within the burst');
  for (let i = 0; i < 200 && !v.closeInfo; i++) v.append('y');
  await assertErrorClose(assert, v, CLOSE.RATE_LIMIT, { what: 'flood of 200 op messages at --rate 10' });
  await stillServes(b, 'the flood');
  const text = await s.text('r');
  assert.ok(text.startsWith('x'.repeat(30)), text);
  assert.ok(text.length < 30 + 60, `${text.length - 30} flood ops were applied at --rate 10 (burst 40)`);
}, { skip: noEngine });

stest('max connections: the one over --max-conns gets 4014, a slot frees on close', async (t) => {
  const s = await startServer(t, { args: ['--max-conns', '3'] });
  const cs = [];
  for (let i = 0; i < 3; i++) cs.push(await joined(t, s, { doc: 'm', user: ada }));
  const over = await connect(t, s).catch((e) => e);
  if (over instanceof Error) {
    assert.fail(`the 4th connection was refused at the HTTP level (${over.message}), expected error + close 4014`);
  }
  over.send([1, 1, 'm', null, null, [], ada]);
  await assertErrorClose(assert, over, CLOSE.TOO_MANY, { what: '4th connection, --max-conns 3' });
  await stillServes(cs[0], 'the refused connection');
  await cs[2].close();
  await until(async () => (await s.metrics()).get('weft_connections') === 2, { what: 'weft_connections == 2' });
  const again = await joined(t, s, { doc: 'm', user: ada });
  again.append('in');
  await again.waitAcked();
}, { skip: noEngine });

stest('doc too large: an insert past --max-doc UTF-8 bytes gets 4008 and is not applied; deletes make room', async (t) => {
  const s = await startServer(t, { args: ['--max-doc', '100'] });
  const b = await joined(t, s, { doc: 'd', user: bob });
  const v = await joined(t, s, { doc: 'd', user: ada });
  v.append('é'.repeat(40)); // 80 bytes, 40 code points
  await v.waitAcked();
  v.append('é'.repeat(11)); // 102 bytes, only 51 code points
  await assertErrorClose(assert, v, CLOSE.DOC_TOO_LARGE, { what: '102 bytes, --max-doc 100' });
  assert.equal(await s.text('d'), 'é'.repeat(40));
  await b.until(() => b.text === 'é'.repeat(40));
  // The bystander deletes, then there is room again.
  b.deleteAt(0, 30);
  await b.waitAcked();
  b.append('0123456789'.repeat(8)); // 20 + 80 = 100 bytes: at the limit
  await b.waitAcked();
  assert.equal((await s.text('d')).length, 90);
}, { skip: noEngine });

stest('slow consumer: a client that stops reading is closed with 1013, a reading one and the writer are unaffected, and it resyncs', async (t) => {
  const s = await startServer(t, { args: ['--outbound-max', '262144', '--max-doc', '268435456', '--rate', '100000'] });
  const slow = await joined(t, s, { doc: 's', user: bob });
  const fast = await joined(t, s, { doc: 's', user: bob });
  const w = await joined(t, s, { doc: 's', user: ada });
  w.append('base ');
  await w.waitAcked();
  await slow.until(() => slow.text === 'base ');
  slow.pause();
  const m0 = await s.metrics();
  // 32 KB inserts and their deletes, one pair in flight at a time: a
  // reader that reads never has more than ~64 KB queued, 1/4 of the limit;
  // only the one that stopped reading falls behind.
  const chunk = 'z'.repeat(32 * 1024 - 64);
  let sent = 0, closes = 0;
  for (let i = 0; sent < 64 << 20; i++) {
    w.append(chunk);
    w.deleteAt(5, chunk.length);
    sent += 2 * chunk.length;
    await w.waitAcked({ timeout: 10000 });
    if (i % 16 === 15) {
      closes = (await s.metrics()).get('weft_slow_consumer_closes_total') - (m0.get('weft_slow_consumer_closes_total') ?? 0);
      if (closes >= 1) break;
    }
  }
  assert.ok(closes >= 1, `weft_slow_consumer_closes_total did not move after ${sent >> 20} MB broadcast to a paused client`);
  assert.equal(closes, 1, 'only the paused client may be closed');
  t.diagnostic(`paused client cut off after ${(sent / 1048576).toFixed(1)} MB`);
  const m1 = await s.metrics();
  assert.ok(m1.has('weft_outbound_queue_bytes'), 'no weft_outbound_queue_bytes gauge');
  slow.resume();
  await assertErrorClose(assert, slow, CLOSE.TRY_AGAIN, { what: 'paused client', timeout: 10000 });
  // The writer and the reading client never noticed.
  assert.equal(w.closeInfo, null);
  w.append('after');
  await w.waitAcked();
  await fast.until(() => fast.text === 'base after', { timeout: 10000, what: 'the reading client keeps up' });
  assert.equal(fast.closeInfo, null);
  // Nothing is lost: the slow client reconnects with what it has and catches up.
  const back = await connect(t, s);
  back.replica = slow.replica;
  slow.replica = null;
  await back.join({ doc: 's', user: bob, agent: slow.agent, timeout: 15000 });
  assert.equal(back.text, 'base after');
}, { skip: noEngine, timeout: 60000 });

stest('liveness: with --ping 1 a client that stops answering is dropped, an idle one that answers stays', async (t) => {
  const s = await startServer(t, { args: ['--ping', '1'] });
  const idle = await joined(t, s, { doc: 'l', user: bob });
  const dead = await joined(t, s, { doc: 'l', user: ada });
  dead.pause(); // no more reads: WebSocket pings go unanswered
  await until(async () => (await s.metrics()).get('weft_connections') === 1, { timeout: 6000, what: 'the unresponsive client is dropped (weft_connections 1)' });
  assert.equal(idle.closeInfo, null, 'an idle client that answers pings was dropped');
  await sleep(1000);
  assert.equal(idle.closeInfo, null);
  idle.append('still here');
  await idle.waitAcked();
}, { skip: noEngine });

// Three clients (another process) send 1000 batches/s each, half the
// default --rate, while a typist sends 10 batches/s: the typist's acks must
// keep coming (release build: worst ~0.6 s measured). Sanitizer builds are
// several times slower, so this timing is only asserted without them.
stest('load: three clients at 1000 batches/s each do not stall a normal typist\'s acks', async (t) => {
  const s = await startServer(t);
  const typist = await joined(t, s, { doc: 'flood', user: ada });
  const child = spawn(process.execPath, [fileURLToPath(new URL('./fixtures/flooder.mjs', import.meta.url)), s.wsUrl, 'flood', '3', '1000', '5000'],
    { stdio: ['ignore', 'pipe', 'inherit'], env: process.env });
  defer(t, () => { if (child.exitCode === null) child.kill('SIGKILL'); });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  await until(() => out.includes('ready'), { timeout: 10000, what: 'flooders joined' });
  const lat = [];
  for (let i = 0; i < 25; i++) {
    const t0 = performance.now();
    typist.append('t');
    const want = typist.replica.doc.nextSeq(typist.agent);
    await typist.until(() => typist.acked.nextSeq >= want, { timeout: 5000, what: `typist ack ${i} during the load (latencies so far ${lat.join(' ')})` });
    lat.push(Math.round(performance.now() - t0));
    await sleep(100);
  }
  await new Promise((r) => (child.exitCode !== null ? r() : child.on('exit', r)));
  t.diagnostic(`typist ack latencies (ms): ${lat.join(' ')}; flooders: ${out.trim().split('\n').at(-1)}`);
  assert.ok(Math.max(...lat) < 2000, `a typist waited ${Math.max(...lat)} ms for an ack: ${lat.join(' ')}`);
}, { skip: noEngine || (process.env.WEFT_SANITIZE === '1' && 'latency is not asserted under sanitizers'), timeout: 40000 });
