// Seeded chaos: peers edit, drop or close their connections, keep editing
// offline, reconnect with their agent and resend from next_seq, while the
// server unloads idle rooms and is killed (SIGKILL) and restarted once. In
// the end every peer and the server hold the same text, and nothing a peer
// typed is lost.
import assert from 'node:assert/strict';
import { stest, startServer, sleep, rng, until } from './lib/harness.mjs';
import { Peer } from './lib/peer.mjs';
import { haveEngine } from './lib/replica.mjs';
import { T } from './lib/codec.mjs';

const noEngine = !haveEngine() && 'no weft_crdt.wasm';

const WORDS = ['lorem ', 'ipsum ', 'é ', '😀', '\n', 'dolor ', '日本 ', 'x'];

function randomEdit(p, rand) {
  const len = p.replica.len();
  if (len > 0 && rand() < 0.35) {
    const pos = Math.floor(rand() * len);
    return p.edit((d) => d.delete(pos, Math.min(len - pos, 1 + Math.floor(rand() * 6))));
  }
  const pos = Math.floor(rand() * (len + 1));
  return p.edit((d) => d.insert(pos, WORDS[Math.floor(rand() * WORDS.length)]));
}

// Each peer's own characters: "<name>:<k>;" markers it appended and never
// deleted; all of them must survive.
async function peerLife(p, s, doc, rand, rounds, log) {
  for (let r = 0; r < rounds; r++) {
    if (!p.online) await p.connect(s, doc);
    const n = 2 + Math.floor(rand() * 6);
    for (let i = 0; i < n; i++) {
      if (!p.online) break;
      randomEdit(p, rand);
      if (rand() < 0.5) await sleep(Math.floor(rand() * 6));
    }
    const what = rand();
    if (what < 0.3) {
      await p.disconnect('drop');
      log.push(`${p.name} drop`);
    } else if (what < 0.6) {
      await p.disconnect('close');
      log.push(`${p.name} close`);
    } else {
      continue;
    }
    // offline edits
    const m = Math.floor(rand() * 4);
    for (let i = 0; i < m; i++) randomEdit(p, rand);
    await sleep(Math.floor(rand() * 30));
  }
}

const SEEDS = process.env.WEFT_CHAOS_SEEDS ? process.env.WEFT_CHAOS_SEEDS.split(',').map(Number) : [1, 2, 3];
for (const seed of SEEDS) {
  stest(`chaos seed ${seed}: drops, offline edits, reconnects, idle unloads and two SIGKILLs converge`, async (t) => {
    const s = await startServer(t, { args: ['--snapshot-every', '16', '--idle-unload', '1'] });
    const rand = rng(seed);
    const doc = `chaos-${seed}`;
    const peers = [];
    for (let i = 0; i < 4; i++) peers.push(new Peer(t, `p${i}`, [`user${i}`, '#336699']));
    for (const p of peers) await p.connect(s, doc);
    const log = [];
    const lives = peers.map((p, i) => peerLife(p, s, doc, rng(seed * 100 + i), 20, log));
    // Kill the server once, somewhere in the middle.
    const killer = (async () => {
      for (let k = 0; k < 2; k++) {
        await sleep(100 + Math.floor(rand() * 200));
        await s.kill();
        log.push('SIGKILL');
        await sleep(Math.floor(rand() * 60));
        await s.start({ samePort: true });
        log.push('restarted');
      }
    })();
    const results = await Promise.allSettled([...lives, killer]);
    // A well-behaved peer is never closed with an error (1001/1013 would be fine).
    const errs = peers.flatMap((p) => (p.closes ?? []).filter((c) => !/^closed (1001|1013) /.test(c)).map((c) => `${p.name} ${c}`));
    assert.equal(errs.length, 0, `error closes of well-behaved peers: ${errs.join(' | ')}; events: ${log.join(', ')}`);
    const failed = results.filter((r) => r.status === 'rejected');
    assert.deepEqual(failed.map((r) => r.reason.message), [], `peer failures; events: ${log.join(', ')}`);

    // Everyone back online; everything acked; everyone equal to the server.
    for (const p of peers) if (!p.online) await p.connect(s, doc);
    for (const p of peers) await p.settle();
    const want = JSON.stringify(peers.map((p) => [p.agent, p.replica.doc.nextSeq(p.agent)]).sort((a, b) => a[0] - b[0]));
    for (const p of peers) {
      await p.client.until(() => JSON.stringify(p.replica.version().filter(([a]) => peers.some((q) => q.agent === a))) === want,
        { timeout: 10000, what: `${p.name} has every peer's ops ${want}, has ${JSON.stringify(p.replica.version())}` });
    }
    const text = await s.text(doc);
    for (const p of peers) {
      assert.equal(p.replica.text(), text, `${p.name} differs from the server (events: ${log.join(', ')})`);
      p.replica.doc.check();
      assert.deepEqual(p.client.bad, [], `${p.name}: bad frames`);
    }
    // Reconnects kept the agent and the welcome's next_seq never ran ahead of what the peer had.
    for (const p of peers) {
      for (const w of p.welcomes) assert.equal(w.agent, p.agent);
    }
    // The server's own version equals the peers'.
    const fresh = new Peer(t, 'fresh', ['fresh', '#000000']);
    const w = await fresh.connect(s, doc);
    const serverVV = JSON.stringify(w.vv.filter(([a]) => peers.some((q) => q.agent === a)));
    assert.equal(serverVV, want, 'server version vs peers');
    assert.equal(fresh.replica.text(), text);
    assert.ok(peers.every((p) => p.welcomes.length >= 2), 'every peer reconnected at least once');
    // Nothing leaks: once everyone is gone, no sessions, no parked ops, no
    // queued bytes, and the idle room unloads.
    for (const p of [...peers, fresh]) await p.disconnect('close');
    await until(async () => {
      const m = await s.metrics();
      return m.get('weft_connections') === 0 && m.get('weft_parked_ops') === 0 &&
        m.get('weft_outbound_queue_bytes') === 0 && m.get('weft_rooms') === 0;
    }, { timeout: 5000, what: 'connections, parked ops, queued bytes and rooms back to 0' }).catch(async (e) => {
      const m = await s.metrics();
      throw new Error(`${e.message}: ${['weft_connections', 'weft_parked_ops', 'weft_outbound_queue_bytes', 'weft_rooms'].map((k) => `${k}=${m.get(k)}`).join(' ')}`);
    });
    t.diagnostic(`events: ${log.join(', ')}; ${text.length} chars`);
  }, { skip: noEngine, timeout: 30000 });
}

stest('many documents at once: 20 rooms loading, unloading and reloading while their peers come and go', async (t) => {
  const s = await startServer(t, { args: ['--idle-unload', '1', '--snapshot-every', '8'] });
  const docs = Array.from({ length: 20 }, (_, i) => `room-${i}`);
  const peers = docs.flatMap((doc) => [0, 1].map((k) => ({ doc, p: new Peer(t, `${doc}/p${k}`, [`u${k}`, '#123456']) })));
  await Promise.all(peers.map(async ({ doc, p }, i) => {
    const r = rng(i + 1);
    await sleep(Math.floor(r() * 200));
    for (let round = 0; round < 4; round++) {
      await p.connect(s, doc);
      for (let k = 0; k < 5; k++) {
        randomEdit(p, r);
        await sleep(Math.floor(r() * 5));
      }
      await p.disconnect(r() < 0.5 ? 'drop' : 'close');
      randomEdit(p, r); // offline
      await sleep(Math.floor(r() * 1400)); // across the unload moment or not
    }
  }));
  for (const { doc, p } of peers) await p.connect(s, doc);
  for (const { p } of peers) await p.settle();
  for (const doc of docs) {
    const pair = peers.filter((x) => x.doc === doc).map((x) => x.p);
    const want = JSON.stringify(pair.map((p) => [p.agent, p.replica.doc.nextSeq(p.agent)]).sort((a, b) => a[0] - b[0]));
    for (const p of pair) await p.client.until(() => JSON.stringify(p.replica.version()) === want, { timeout: 10000, what: `${p.name} converges` });
    const text = await s.text(doc);
    for (const p of pair) assert.equal(p.replica.text(), text, `${p.name}`);
  }
  const errs = peers.flatMap(({ p }) => (p.closes ?? []).filter((c) => !/^closed (1001|1013) /.test(c)).map((c) => `${p.name} ${c}`));
  assert.equal(errs.length, 0, errs.join(' | '));
  assert.equal((await s.json('/api/docs')).length, 20);
}, { skip: noEngine, timeout: 60000 });
