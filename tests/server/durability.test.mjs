// Persist, then acknowledge: an ack reaches the author only after the
// batch is committed (so after the broadcast to the others), and whatever
// was acknowledged survives a SIGKILL. A clean restart keeps the state.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { stest, startServer, sleep, WEFT_BIN, tempDir } from './lib/harness.mjs';
import { Peer } from './lib/peer.mjs';
import { connect, joined, T, CLOSE } from './lib/client.mjs';
import { haveEngine, toWire } from './lib/replica.mjs';
import { decodeSnapshot } from './lib/snapshot.mjs';

const ada = ['Ada', '#3b82f6'];
const bob = ['Bob', '#ef4444'];
const noEngine = !haveEngine() && 'no weft_crdt.wasm';
const vvGet = (vv, agent) => (vv.find(([a]) => a === agent) ?? [agent, 0])[1];

stest('acks: every ack comes after the broadcast of its batch to the others, with the same LSN', async (t) => {
  const s = await startServer(t);
  const a = await joined(t, s, { doc: 'order', user: ada });
  const b = await joined(t, s, { doc: 'order', user: bob });
  const late = [];
  for (let i = 0; i < 20; i++) {
    a.append(`line ${i}\n`);
    const ack = await a.next((m) => m[0] === T.ACK && m[2] === a.replica.doc.nextSeq(a.agent), { what: `ack ${i}` });
    const bc = await b.next((m) => m[0] === T.OPS && m[2][1].some((op) => op[1] === a.agent && op[2] + (op[0] === 0 ? Array.from(op[5]).length : op[5]) === ack.m[2]), { what: `broadcast ${i}` });
    assert.equal(bc.m[1], ack.m[3], 'broadcast and ack carry the same LSN');
    // 2 ms of slack for two sockets that became readable in one poll pass.
    if (ack.at + 2 < bc.at) late.push({ i, ackAt: ack.at.toFixed(2), broadcastAt: bc.at.toFixed(2) });
  }
  assert.deepEqual(late, [], 'acks that arrived before the broadcast to the other member');
  const lsns = a.ofType(T.ACK).map((m) => m[3]);
  for (let i = 1; i < lsns.length; i++) assert.ok(lsns[i] > lsns[i - 1], `ack LSNs must increase: ${lsns}`);
  assert.equal(b.text, a.text);
}, { skip: noEngine });

stest('acks: an acknowledged batch survives a SIGKILL right after its ack (5 rounds)', async (t) => {
  const s = await startServer(t);
  let expect = '';
  for (let round = 0; round < 5; round++) {
    const a = await joined(t, s, { doc: 'kill', user: ada });
    assert.equal(a.text, expect, `round ${round}: text after restart`);
    a.append(`r${round};`);
    await a.waitAcked();
    await s.kill();
    expect += `r${round};`;
    await s.start({ samePort: true });
  }
  assert.equal(await s.text('kill'), expect);
}, { skip: noEngine });

stest('SIGKILL under load: after a restart every acknowledged op is present', async (t) => {
  const s = await startServer(t, { args: ['--snapshot-every', '50'] });
  const clients = [];
  for (let i = 0; i < 3; i++) clients.push(await joined(t, s, { doc: 'load', user: [`u${i}`, '#000000'] }));
  // Each client appends markers "<cI.K>" as fast as the socket takes them;
  // a marker is acked once the ack's next_seq passes its last char.
  const markers = clients.map(() => []);
  let stop = false;
  const pumps = clients.map(async (c, i) => {
    for (let k = 0; !stop && !c.closeInfo; k++) {
      const m = `<c${i}.${k}>`;
      const start = c.replica.doc.nextSeq(c.agent);
      c.append(m);
      markers[i].push({ m, end: start + m.length });
      // ~1000 batches/s per client: heavy but within what the server
      // sustains (flooding past that is limits.test.mjs's overload test).
      if (c.ws.bufferedAmount > 65536 || k % 4 === 3) await sleep(3);
    }
  });
  await sleep(1500);
  const acked = clients.map((c) => c.acked.nextSeq);
  assert.ok(acked.every((n) => n > 0), `some client got no ack in 1.5 s: ${acked}`);
  // A last burst from everyone and the kill right behind it: it lands while
  // those batches are read, applied or committed (the slow-fsync test below
  // places a kill inside a commit deterministically).
  stop = true;
  await Promise.all(pumps);
  clients.forEach((c, i) => {
    for (let k = 0; k < 10; k++) {
      const m = `<c${i}.last${k}>`;
      const start = c.replica.doc.nextSeq(c.agent);
      c.append(m);
      markers[i].push({ m, end: start + m.length });
    }
  });
  await s.kill();
  // Acks that arrived before the kill: read after it, as the client saw them.
  const final = clients.map((c) => c.acked.nextSeq);
  const unacked = clients.reduce((n, c, i) => n + markers[i].filter((m) => m.end > final[i]).length, 0);
  assert.ok(unacked > 0, 'the kill did not happen under load (every op was acked)');
  t.diagnostic(`killed with ${unacked} markers sent but not acked`);
  // The database is consistent after kill -9 (log replay == snapshots).
  execFileSync(WEFT_BIN, ['check', '--db', s.db], { stdio: 'pipe', timeout: 30000 });
  await s.start({ samePort: true });

  const text = await s.text('load');
  let checked = 0;
  clients.forEach((c, i) => {
    for (const { m, end } of markers[i]) {
      if (end > final[i]) break;
      checked++;
      assert.equal(text.split(m).length - 1, 1, `acked marker ${m} (seq < ${end} ≤ ack ${final[i]}) present once after restart`);
    }
  });
  assert.ok(checked >= 3, `only ${checked} acked markers`);
  // The server's version covers every ack.
  const n = await connect(t, s);
  const w = await n.join({ doc: 'load', user: ada, vv: [] });
  assert.equal(w.kind, 1);
  const snap = decodeSnapshot(n.ofType(T.WELCOME)[0][6]);
  assert.equal(snap.text, text, 'the snapshot after restart equals the API text');
  clients.forEach((c, i) => assert.ok(vvGet(w.vv, c.agent) >= final[i], `agent ${c.agent}: server has ${vvGet(w.vv, c.agent)}, acked ${final[i]}`));
  // The clients reconnect with their agents and resend what was not acked
  // (ops may depend on other clients' unacked ops: resend all, then wait).
  const back = [];
  for (const [i, c] of clients.entries()) {
    const r = await connect(t, s);
    r.replica = c.replica;
    c.replica = null;
    const w2 = await r.join({ doc: 'load', user: [`u${i}`, '#000000'], agent: c.agent });
    assert.equal(w2.agent, c.agent, 'reconnect keeps the agent');
    assert.ok(w2.nextSeq >= final[i], `next_seq ${w2.nextSeq} below the ack ${final[i]}`);
    const rest = r.replica.doc.opsSince(w2.vv).filter((op) => op.agent === c.agent);
    if (rest.length) r.send([T.OPS, null, [[], rest.map(toWire)]]);
    back.push(r);
  }
  for (const r of back) await r.waitAcked({ timeout: 10000 });
  const finalText = await s.text('load');
  for (const r of back) await r.until(() => r.text === finalText, { what: 'convergence after recovery', timeout: 5000 });
}, { skip: noEngine, timeout: 30000 });

stest('restart: SIGTERM closes clients with 1001, exits 0, and the text after restart equals the text before', async (t) => {
  const s = await startServer(t, { args: ['--snapshot-every', '7'] });
  const a = await joined(t, s, { doc: 'keep', user: ada });
  const b = await joined(t, s, { doc: 'keep', user: bob });
  for (let i = 0; i < 30; i++) {
    (i % 2 ? a : b).append(`${i} `);
    if (i % 5 === 4) a.deleteAt(0, 1);
  }
  await a.waitAcked();
  await b.waitAcked();
  await a.until(() => a.text === b.text && a.replica.version().length === 2, { what: 'a and b agree' });
  const before = await s.text('keep');
  assert.equal(before, a.text);
  const lsnBefore = (await s.json('/api/docs/keep/text')).lsn;
  const r = await s.stop(10000);
  assert.equal(r.forced, undefined, 'weft serve did not exit within 10 s of SIGTERM');
  assert.equal(r.code, 0, `exit code ${r.code} signal ${r.signal}`);
  for (const c of [a, b]) {
    const ci = await c.closed;
    assert.equal(ci.code, CLOSE.GOING_AWAY, `${c.name} closed with ${ci.code}`);
  }
  await s.start({ samePort: true });
  assert.equal(await s.text('keep'), before);
  assert.equal((await s.json('/api/docs/keep/text')).lsn, lsnBefore);
  // a comes back up to date: nothing to send.
  const a2 = await connect(t, s);
  a2.replica = a.replica;
  a.replica = null;
  const w = await a2.join({ doc: 'keep', user: ada, agent: a.agent });
  assert.equal(w.kind, 0, `an up-to-date client got body kind ${w.kind} after restart`);
  assert.equal(w.lsn, lsnBefore);
  assert.equal(w.agent, a.agent);
  a2.append('!');
  const ack = await a2.waitAcked();
  assert.equal(ack.lsn, lsnBefore + 1, 'LSNs continue densely after a restart');
  assert.equal(await s.text('keep'), before + '!');
}, { skip: noEngine });

stest('rooms unload when idle and reload intact', async (t) => {
  const s = await startServer(t, { args: ['--idle-unload', '1', '--snapshot-every', '3'] });
  const a = await joined(t, s, { doc: 'idle', user: ada });
  a.append('before unload ');
  a.deleteAt(0, 7);
  await a.waitAcked();
  await a.close();
  await sleep(2500);
  const m = await s.metrics();
  assert.equal(m.get('weft_rooms'), 0, 'the idle room was not unloaded');
  const b = await joined(t, s, { doc: 'idle', user: bob });
  assert.equal(b.text, 'unload ');
  b.append('after');
  await b.waitAcked();
  assert.equal(await s.text('idle'), 'unload after');
}, { skip: noEngine });

stest('shutdown: ops the server took before SIGTERM are acked before the 1001 close and kept', async (t) => {
  const s = await startServer(t);
  const a = await joined(t, s, { doc: 'term', user: ada });
  const b = await joined(t, s, { doc: 'term', user: bob });
  for (let i = 0; i < 50; i++) a.append(`${i % 10}`);
  const want = a.replica.doc.nextSeq(a.agent);
  // Once b has seen the last broadcast the server holds every batch.
  await b.until(() => b.replica.doc.nextSeq(a.agent) === want, { what: 'broadcast of all 50 batches' });
  process.kill(s.pid, 'SIGTERM');
  const ci = await a.closed;
  assert.equal(ci.code, CLOSE.GOING_AWAY);
  assert.equal(a.acked.nextSeq, want, `acked up to ${a.acked.nextSeq} of ${want} before the 1001 close`);
  const r = await s.exited;
  assert.equal(r.code, 0);
  await s.start({ samePort: true });
  assert.equal(await s.text('term'), a.text);
}, { skip: noEngine });

stest('rooms: joining right around the idle-unload moment never loses or duplicates text', async (t) => {
  const s = await startServer(t, { args: ['--idle-unload', '1', '--snapshot-every', '2'] });
  let expect = '';
  const delays = [0, 300, 900, 960, 1000, 1040, 1100, 1250, 40, 990];
  for (const [i, d] of delays.entries()) {
    const c = await joined(t, s, { doc: 'flap', user: ada });
    assert.equal(c.text, expect, `round ${i} (after ${delays[i - 1]} ms idle)`);
    c.append(`${i};`);
    await c.waitAcked();
    expect += `${i};`;
    await c.close();
    await sleep(d);
  }
  assert.equal(await s.text('flap'), expect);
}, { skip: noEngine, timeout: 30000 });

// fsync made slow (LD_PRELOAD shim, fixtures/slowsync.c): the broadcast
// does not wait for it, the ack does, and batches in flight share commits.
function slowSyncLib(t) {
  const dir = tempDir(t, 'weft-slowsync-');
  const so = join(dir, 'slowsync.so');
  try {
    execFileSync('cc', ['-shared', '-fPIC', '-O2', '-o', so, fileURLToPath(new URL('./fixtures/slowsync.c', import.meta.url)), '-ldl'], { stdio: 'pipe' });
  } catch (e) {
    return null;
  }
  return so;
}

stest('acks wait for the commit (fsync), broadcasts do not, and batches in flight share commits', async (t) => {
  const so = slowSyncLib(t);
  if (!so) return t.skip('no C compiler for the fsync shim');
  const SYNC = 300;
  const s = await startServer(t, { env: { LD_PRELOAD: so, WEFT_SLOW_SYNC_MS: String(SYNC), ASAN_OPTIONS: `${process.env.ASAN_OPTIONS ?? ''}:verify_asan_link_order=0` } });
  const a = await joined(t, s, { doc: 'slow', user: ada, timeout: 10000 });
  const b = await joined(t, s, { doc: 'slow', user: bob, timeout: 10000 });
  for (let i = 0; i < 3; i++) {
    const from = b.msgs.length, fromA = a.msgs.length;
    const t0 = performance.now();
    a.append(`${i}`);
    const bc = await b.next((m) => m[0] === T.OPS, { from, what: `broadcast ${i}` });
    const ack = await a.next((m) => m[0] === T.ACK, { from: fromA, timeout: 10000, what: `ack ${i}` });
    const tb = bc.at - t0, ta = ack.at - t0;
    assert.ok(tb < SYNC / 2, `round ${i}: the broadcast took ${tb.toFixed(0)} ms with a ${SYNC} ms fsync: it waited for the commit`);
    assert.ok(ta >= SYNC * 0.9, `round ${i}: the ack came after ${ta.toFixed(0)} ms, before the ${SYNC} ms fsync could finish`);
  }
  // 20 batches at once: group commit, not 20 fsyncs in a row.
  const t0 = performance.now();
  for (let i = 0; i < 20; i++) a.append('g');
  await a.waitAcked({ timeout: 10000 });
  const all = performance.now() - t0;
  assert.ok(all < SYNC * 6, `20 batches took ${all.toFixed(0)} ms to ack with a ${SYNC} ms fsync: no group commit`);
  t.diagnostic(`20 batches acked in ${all.toFixed(0)} ms`);
}, { skip: noEngine, timeout: 30000 });

stest('a batch broadcast but killed before its commit is not acked, and its resend lands exactly once', async (t) => {
  const so = slowSyncLib(t);
  if (!so) return t.skip('no C compiler for the fsync shim');
  const env = { LD_PRELOAD: so, WEFT_SLOW_SYNC_MS: '400', ASAN_OPTIONS: `${process.env.ASAN_OPTIONS ?? ''}:verify_asan_link_order=0` };
  const s = await startServer(t, { env });
  const a = new Peer(t, 'a', ada);
  const b = new Peer(t, 'b', bob);
  await a.connect(s, 'window');
  await b.connect(s, 'window');
  a.edit((d) => d.insert(0, 'durable '));
  await a.settle();
  const from = b.client.msgs.length;
  a.edit((d) => d.insert(d.len(), 'in the window'));
  await b.client.next((m) => m[0] === T.OPS, { from, what: 'broadcast before the commit' });
  await s.kill(); // inside the 400 ms fsync
  assert.ok(a.client.acked.nextSeq < a.replica.doc.nextSeq(a.agent), 'acked although the commit could not have finished');
  s.opts.env = {}; // restart at normal speed
  await s.start({ samePort: true });
  await a.connect(s, 'window');
  await b.connect(s, 'window');
  await a.settle();
  const text = await s.text('window');
  assert.equal(text, 'durable in the window');
  await b.client.until(() => b.replica.text() === text, { what: 'b converges' });
}, { skip: noEngine, timeout: 30000 });

stest('reconnecting while the last batch is still committing: the identical resend is accepted once', async (t) => {
  const so = slowSyncLib(t);
  if (!so) return t.skip('no C compiler for the fsync shim');
  const s = await startServer(t, { env: { LD_PRELOAD: so, WEFT_SLOW_SYNC_MS: '400', ASAN_OPTIONS: `${process.env.ASAN_OPTIONS ?? ''}:verify_asan_link_order=0` } });
  const a = new Peer(t, 'a', ada);
  const b = new Peer(t, 'b', bob);
  await a.connect(s, 'race', { retryMs: 10000 });
  await b.connect(s, 'race', { retryMs: 10000 });
  a.edit((d) => d.insert(0, 'first '));
  await a.settle();
  const from = b.client.msgs.length;
  a.edit((d) => d.insert(d.len(), 'in flight'));
  await b.client.next((m) => m[0] === T.OPS, { from, what: 'broadcast (applied, commit pending)' });
  // a's network blips: a new connection with the same agent while the old
  // one is still open and the batch is not durable yet.
  const old = a.client;
  await a.connect(s, 'race');
  const w = a.welcomes.at(-1);
  t.diagnostic(`welcome next_seq ${w.nextSeq} (batch ends at ${a.replica.doc.nextSeq(a.agent)})`);
  await a.settle();
  assert.equal(a.client.closeInfo, null, `the new session was closed: ${JSON.stringify(a.client.ofType(T.ERROR))}`);
  await sleep(500);
  const text = await s.text('race');
  assert.equal(text, 'first in flight');
  await b.client.until(() => b.replica.text() === text, { what: 'b converges' });
  const closed = await Promise.race([old.closed, sleep(2000).then(() => null)]);
  assert.ok(closed, 'the old session still holds the agent');
}, { skip: noEngine, timeout: 30000 });

// A snapshot is a cache of the log: one the server cannot read (written by
// a version with another snapshot format, or damaged) must not make the
// document unloadable. The server replays the log instead and the text is
// whole.
stest('rooms: a snapshot the server cannot read is replaced by replaying the log', async (t) => {
  const s = await startServer(t, { args: ['--idle-unload', '1', '--snapshot-every', '2'] });
  const a = await joined(t, s, { doc: 'oldsnap', user: ada });
  a.append('kept through ');
  a.append('an unreadable snapshot');
  a.deleteAt(0, 5);
  await a.waitAcked();
  const want = a.text;
  const head = a.acked.lsn; // the last batch's LSN: the unload snapshot's
  assert.ok(head >= 3, `head LSN ${head}`);
  await a.close();
  process.kill(s.pid, 'SIGTERM');
  assert.equal((await s.exited).code, 0);
  // Replaces it with format 2's header (fixarray of 5, format 2) and
  // nothing valid after: the snapshot the next load picks.
  execFileSync(process.env.WEFT_PUTSNAP, [s.db, 'oldsnap', String(head), '9502'], { stdio: 'pipe' });
  await s.start({ samePort: true });
  const b = await joined(t, s, { doc: 'oldsnap', user: bob });
  assert.equal(b.text, want, 'a joiner gets the whole text');
  b.append('!');
  await b.waitAcked();
  assert.equal(await s.text('oldsnap'), want + '!');
}, { skip: (noEngine || (!process.env.WEFT_PUTSNAP && 'no putsnap fixture')) });
