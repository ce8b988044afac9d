// Joining and syncing: hello -> welcome (new agent, snapshot for an empty
// client, exactly the missing ops for a client with a version), broadcast
// to the others, and a reconnect with offline edits on both sides.
import assert from 'node:assert/strict';
import { stest, startServer, sleep, freePort } from './lib/harness.mjs';
import { connect, joined, T } from './lib/client.mjs';
import { decodeSnapshot } from './lib/snapshot.mjs';
import { haveEngine } from './lib/replica.mjs';

const ada = ['Ada', '#3b82f6'];
const bob = ['Bob', '#ef4444'];
const noEngine = !haveEngine() && 'no weft_crdt.wasm';

const vvGet = (vv, agent) => (vv.find(([a]) => a === agent) ?? [agent, 0])[1];

stest('join: a new document welcomes with a fresh agent, empty version and nothing to load', async (t) => {
  const s = await startServer(t);
  const c = await connect(t, s);
  const w = await c.join({ doc: 'fresh', user: ada });
  const m = c.ofType(T.WELCOME)[0];
  assert.equal(m.length, 9, 'welcome has 9 fields');
  assert.equal(w.nextSeq, 0);
  assert.deepEqual(w.vv, []);
  assert.equal(w.lsn, 0);
  assert.equal(w.kind, 0, 'nothing to send for an empty document');
  assert.equal(m[6], null);
  assert.equal(m[8], false);
  assert.ok(Number.isInteger(w.agent) && w.agent !== 0xffffffff);
  // Another session gets another agent.
  const d = await connect(t, s);
  const w2 = await d.join({ doc: 'fresh', user: bob });
  assert.notEqual(w2.agent, w.agent, 'two sessions got the same agent');
  assert.deepEqual(c.bad, []);
  assert.deepEqual(d.bad, []);
});

stest('sync: ops are broadcast with their LSN, acked to the author, and a late joiner gets a snapshot', async (t) => {
  const s = await startServer(t);
  const a = await joined(t, s, { doc: 'notes', user: ada });
  const b = await joined(t, s, { doc: 'notes', user: bob });
  const batch = a.append('hello world');
  const got = await b.next((m) => m[0] === T.OPS, { what: 'broadcast of a\'s ops' });
  assert.ok(Number.isInteger(got.m[1]) && got.m[1] >= 1, `broadcast lsn ${got.m[1]}`);
  assert.deepEqual(got.m[2], batch, 'the broadcast carries the batch as sent');
  assert.equal(b.text, 'hello world');
  const ack = await a.waitAcked();
  assert.equal(ack.nextSeq, 11);
  assert.equal(ack.lsn, got.m[1], 'ack and broadcast name the same LSN');
  assert.equal(a.ofType(T.ACK)[0][1], a.agent);
  assert.equal(a.ofType(T.OPS).length, 0, 'the author must not get its own ops back');
  assert.equal(b.ofType(T.ACK).length, 0, 'only the author gets an ack');

  // An empty client: a snapshot with the whole state.
  const c = await connect(t, s);
  const w = await c.join({ doc: 'notes', user: bob, vv: [] });
  assert.equal(w.kind, 1, 'an empty client gets a snapshot');
  const snap = decodeSnapshot(c.ofType(T.WELCOME)[0][6]);
  assert.equal(snap.text, 'hello world');
  assert.deepEqual(snap.vv, w.vv);
  assert.deepEqual(w.vv, [[a.agent, 11]]);
  assert.equal(w.lsn, ack.lsn);
  assert.equal(w.nextSeq, 0, 'a new agent starts at seq 0');
  assert.equal(await s.text('notes'), 'hello world');
  for (const x of [a, b, c]) assert.deepEqual(x.bad, []);
}, { skip: noEngine });

stest('sync: a client with a version gets exactly the ops it lacks, and nothing when up to date', async (t) => {
  const s = await startServer(t);
  const a = await joined(t, s, { doc: 'd', user: ada });
  a.append('one ');
  await a.waitAcked();
  const b = await joined(t, s, { doc: 'd', user: bob });
  assert.equal(b.text, 'one ');
  const vvB = b.replica.version();
  await b.close();

  a.append('two ');
  await a.waitAcked();
  a.deleteAt(0, 4);
  const last = await a.waitAcked();

  // b comes back with its version: kind 2, only the two later batches.
  const b2 = await connect(t, s);
  b2.replica = b.replica;
  b.replica = null;
  const w = await b2.join({ doc: 'd', user: bob, vv: vvB });
  assert.equal(w.kind, 2, `expected missing ops (kind 2), got kind ${w.kind}`);
  const bodies = b2.ofType(T.WELCOME).flatMap((m) => (m[5] === 2 ? m[6] : []));
  const ops = bodies.flatMap(([, batch]) => batch[1]);
  for (const op of ops) {
    assert.equal(op[1], a.agent);
    assert.ok(op[2] >= vvGet(vvB, a.agent), `op seq ${op[2]} was already in the client's version`);
  }
  const lsns = bodies.map(([lsn]) => lsn);
  assert.deepEqual(lsns, [...lsns].sort((x, y) => x - y), 'LSNs increase');
  assert.equal(new Set(lsns).size, lsns.length);
  assert.equal(lsns.at(-1), last.lsn);
  assert.equal(w.lsn, last.lsn);
  assert.equal(b2.text, 'two ');
  assert.deepEqual(b2.replica.version(), w.vv);

  // Up to date: nothing to send.
  const c = await connect(t, s);
  const w3 = await c.join({ doc: 'd', user: bob, vv: w.vv });
  assert.equal(w3.kind, 0, `an up-to-date client got body kind ${w3.kind}`);
  assert.equal(w3.lsn, last.lsn);
  for (const x of [a, b2, c]) assert.deepEqual(x.bad, []);
}, { skip: noEngine });

stest('sync: a large catch-up arrives in chunks (more=true ... more=false) and loads whole', async (t) => {
  const s = await startServer(t);
  const a = await joined(t, s, { doc: 'big', user: ada });
  a.append('start\n');
  await a.waitAcked();
  const b = await joined(t, s, { doc: 'big', user: bob });
  const vvB = b.replica.version();
  await b.close();
  // 1000 batches of 2 KB (2 MB, twice the default client frame limit).
  const line = 'x'.repeat(2047) + '\n';
  for (let i = 0; i < 1000; i++) {
    a.append(line);
    if (i % 100 === 99) await a.waitAcked({ timeout: 10000 });
  }
  await a.waitAcked({ timeout: 10000 });
  const b2 = await connect(t, s);
  b2.replica = b.replica;
  b.replica = null;
  const w = await b2.join({ doc: 'big', user: bob, vv: vvB, timeout: 15000 });
  const frames = b2.ofType(T.WELCOME);
  for (const f of frames.slice(0, -1)) assert.equal(f[8], true, 'all chunks but the last say more=true');
  assert.equal(frames.at(-1)[8], false);
  for (const f of frames) {
    assert.equal(f[1], w.agent);
    assert.deepEqual(f[3], w.vv, 'every chunk repeats the same vv');
    assert.equal(f[4], w.lsn, 'every chunk repeats the same lsn');
  }
  if (w.kind === 2) assert.ok(frames.length >= 2, `2 MB of missing ops came in ${frames.length} welcome frame(s)`);
  else t.diagnostic(`the server answered the large gap with body kind ${w.kind} (${frames.length} frames)`);
  assert.equal(b2.text, a.text);
  assert.equal(b2.text.length, 6 + 1000 * 2048);
  assert.deepEqual(b2.bad, []);
}, { skip: noEngine });

stest('reconnect: offline edits on both sides converge; the client keeps its agent and continues its seq', async (t) => {
  const s = await startServer(t);
  const a = await joined(t, s, { doc: 'trip', user: ada });
  const b = await joined(t, s, { doc: 'trip', user: bob });
  a.append('shared start. ');
  await a.waitAcked();
  await b.until(() => b.text === 'shared start. ', { what: 'b sees a\'s text' });
  b.append('b online. ');
  await b.waitAcked();
  await a.until(() => a.text.includes('b online'), { what: 'a sees b' });
  const agentB = b.agent;
  const ackedB = b.acked.nextSeq;

  // b goes offline and keeps typing; a types meanwhile.
  await b.close();
  const rb = b.replica;
  b.replica = null;
  const offlineB = rb.edit((d) => { d.insert(0, '[b offline] '); d.insert(d.len(), ' (b end)'); });
  a.insertAt(0, '[a while b away] ');
  a.deleteAt(a.text.indexOf('start'), 5);
  await a.waitAcked();

  // b reconnects with its agent and its full local version (own unsent ops included).
  const b2 = await connect(t, s);
  b2.replica = rb;
  const w = await b2.join({ doc: 'trip', user: bob, agent: agentB });
  assert.equal(w.agent, agentB, 'the reconnecting client must keep its agent');
  assert.equal(w.nextSeq, ackedB, 'next_seq = first seq the server does not have');
  // resend what the server lacks, from next_seq on
  const missing = rb.doc.opsSince(w.vv).filter((op) => op.agent === agentB);
  assert.ok(missing.length > 0);
  assert.equal(missing[0].seq, w.nextSeq);
  assert.equal(offlineB[1][0][2], ackedB, 'offline ops continued the seq');
  b2.send([T.OPS, null, offlineB]);
  await b2.until(() => b2.acked.nextSeq >= rb.doc.nextSeq(agentB), { what: 'ack of the offline ops' });
  await a.until(() => a.text === b2.text, { what: `convergence: a=${JSON.stringify(a.text)} b=${JSON.stringify(b2.text)}` });
  const text = a.text;
  assert.ok(text.includes('[a while b away] ') && text.includes('[b offline] ') && text.includes(' (b end)'), text);
  assert.ok(!text.includes('start'), 'a\'s delete survived');
  assert.equal(await s.text('trip'), text);
  for (const x of [a, b2]) assert.deepEqual(x.bad, []);
}, { skip: noEngine });

stest('reconnect while the old connection still looks alive: two sessions never hold one agent', async (t) => {
  const s = await startServer(t);
  const a = await joined(t, s, { doc: 'dup', user: ada });
  a.append('abc');
  await a.waitAcked();
  const a2 = await connect(t, s);
  const w = await a2.join({ doc: 'dup', user: ada, agent: a.agent, vv: [] });
  if (w.agent === a.agent) {
    // Taken over: the old session must be told and closed.
    const ci = await a.closed;
    assert.notEqual(ci.code, 1006, 'the old session was dropped without a close frame');
    assert.equal(w.nextSeq, 3);
  } else {
    assert.equal(a.closeInfo, null, 'the old session was closed although the new one got another agent');
  }
  assert.deepEqual(a2.bad, []);
}, { skip: noEngine });

// After a crash the server may have broadcast ops it never committed: a
// client that built on them resends its own ops, which then wait (park) for
// the lost ones until their author reconnects and resends them. Simulated
// without a crash: b learns a's op out of band.
stest('ops that build on ops the server does not have yet wait for them, also across several batches', async (t) => {
  const s = await startServer(t);
  const a = await joined(t, s, { doc: 'lost', user: ada });
  const b = await joined(t, s, { doc: 'lost', user: bob });
  const c = a.replica.edit((d) => d.insert(0, 'lost op '));   // a's op, not sent
  b.replica.applyBatch(c);                                    // b saw it "before the crash"
  for (const piece of ['b1 ', 'b2 ', 'b3 ']) b.append(piece);  // three batches on top of it
  await sleep(300);
  assert.equal(b.closeInfo, null, `b was closed: ${JSON.stringify(b.ofType(T.ERROR))}`);
  assert.deepEqual(b.ofType(T.ERROR), []);
  a.send([T.OPS, null, c]);                                   // a resends after "reconnecting"
  await a.waitAcked();
  await b.waitAcked();
  const text = await s.text('lost');
  assert.equal(text, 'lost op b1 b2 b3 ');
  await a.until(() => a.text === text, { what: 'a gets b\'s ops once they apply' });
  assert.equal(b.text, text);
}, { skip: noEngine });

stest('a client whose ops are parked reconnects, resends from next_seq and keeps typing without an error', async (t) => {
  const s = await startServer(t);
  const a = await joined(t, s, { doc: 'parked-reconnect', user: ada });
  const b = await joined(t, s, { doc: 'parked-reconnect', user: bob });
  const c = a.replica.edit((d) => d.insert(0, 'lost op '));   // a's op, not sent yet
  b.replica.applyBatch(c);                                    // b saw it "before the crash"
  const sent = [];
  for (const piece of ['b1 ', 'b2 ']) sent.push({ batch: b.append(piece), end: b.replica.doc.nextSeq(b.agent) });
  await sleep(300);
  const agentB = b.agent;
  await b.close();
  // b comes back: resend whatever is at or above next_seq, then type on.
  const b2 = await connect(t, s);
  b2.replica = b.replica;
  b.replica = null;
  const w = await b2.join({ doc: 'parked-reconnect', user: bob, agent: agentB });
  for (const x of sent) if (x.end > w.nextSeq) {
    assert.equal(x.batch[1][0][2] >= w.nextSeq, true, `next_seq ${w.nextSeq} inside a batch`);
    b2.send([T.OPS, null, x.batch]);
  }
  b2.append('b3 ');
  await sleep(300);
  assert.equal(b2.closeInfo, null, `b was closed after its reconnect (welcome next_seq ${w.nextSeq}): ${JSON.stringify(b2.ofType(T.ERROR))}`);
  a.send([T.OPS, null, c]);
  await a.waitAcked();
  await b2.waitAcked();
  const text = await s.text('parked-reconnect');
  assert.equal(text, 'lost op b1 b2 b3 ');
  await a.until(() => a.text === text);
}, { skip: noEngine });

stest('a hello whose version names agents the server never saw still gets everything it lacks', async (t) => {
  const s = await startServer(t);
  const a = await joined(t, s, { doc: 'vv', user: ada });
  a.append('server text');
  await a.waitAcked();
  // Claims ops of agents 4000000 and 4000001 the server does not know: it
  // lacks all of a's ops, so it must get them (as ops or a snapshot).
  const c = await connect(t, s);
  const w = await c.join({ doc: 'vv', user: bob, vv: [[4000000, 10], [4000001, 3]], replica: false });
  assert.ok(w.kind === 1 || w.kind === 2, `body kind ${w.kind}`);
  if (w.kind === 2) {
    const ops = c.ofType(T.WELCOME).flatMap((m) => (m[5] === 2 ? m[6] : [])).flatMap(([, b]) => b[1]);
    assert.equal(ops.filter((op) => op[1] === a.agent).map((op) => op[5]).join(''), 'server text');
  } else {
    assert.equal(decodeSnapshot(c.ofType(T.WELCOME)[0][6]).text, 'server text');
  }
  assert.deepEqual(w.vv, [[a.agent, 11]], 'the welcome vv is the server\'s, not the client\'s');
  // And one that claims more of a's ops than exist gets no error either.
  const d = await connect(t, s);
  const w2 = await d.join({ doc: 'vv', user: bob, vv: [[a.agent, 500]], replica: false });
  assert.equal(w2.lsn, w.lsn);
  await d.ping(5);
}, { skip: noEngine });

stest('IPv6: --listen [::1]:PORT serves WebSocket and HTTP on the loopback', async (t) => {
  if (!(await freePort('::1').catch(() => null))) return t.skip('no IPv6 loopback on this machine');
  const s = await startServer(t, { v6: true });
  assert.ok(s.log.includes(`weft: listening on http://[::1]:${s.port}/`));
  const a = await joined(t, s, { doc: 'six', user: ada });
  a.append('v6');
  await a.waitAcked();
  assert.equal(await s.text('six'), 'v6');
}, { skip: noEngine });
