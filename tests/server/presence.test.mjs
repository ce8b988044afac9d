// Presence: a cursor appears for the others, moves, is part of a late
// joiner's welcome, is throttled (latest state wins) and goes away when
// its connection closes.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { stest, startServer, sleep, WEFT_BIN, haveServer } from './lib/harness.mjs';
import { connect, joined, T } from './lib/client.mjs';
import { haveEngine } from './lib/replica.mjs';
import { presenceMsg } from './lib/codec.mjs';

const ada = ['Ada', '#3b82f6'];
const bob = ['Bob', '#ef4444'];
const noEngine = !haveEngine() && 'no weft_crdt.wasm';

// A wire anchor for the gap at `pos` in c's replica.
function anchorAt(c, pos, assoc = 0) {
  const a = c.replica.doc.anchor(pos, assoc);
  return [a.assoc < 0 ? 1 : 0, a.agent === 0xffffffff ? null : a.agent, a.seq];
}

const presenceOf = (agent, pred = () => true) => (m) => m[0] === T.PRESENCE && m[1] === agent && pred(m);
const goneOf = (agent) => (m) => (m[0] === T.LEAVE && m[1] === agent) || (m[0] === T.PRESENCE && m[1] === agent && m[3] === null);

stest('presence appears, moves, is in a late joiner\'s welcome, and leaves on close', async (t) => {
  const s = await startServer(t);
  const a = await joined(t, s, { doc: 'p', user: ada });
  const b = await joined(t, s, { doc: 'p', user: bob });
  a.append('hello world');
  await a.waitAcked();
  await b.until(() => b.text === 'hello world');

  const cursor = [anchorAt(a, 5), anchorAt(a, 5), ada];
  a.send(presenceMsg(a.agent, 1, cursor));
  const p1 = await b.next(presenceOf(a.agent, (m) => m[2] === 1), { what: 'a\'s cursor' });
  assert.deepEqual(p1.m[3][0], cursor[0], 'anchor relayed unchanged');
  assert.deepEqual(p1.m[3][1], cursor[1], 'head relayed unchanged');
  assert.equal(p1.m[3][2][0], 'Ada', 'user name');
  assert.equal(b.replica.doc.anchorPos({ agent: p1.m[3][0][1], seq: p1.m[3][0][2], assoc: 0 }), 5);

  // A selection: anchor 0, head 5 (a moves).
  const sel = [anchorAt(a, 0), anchorAt(a, 5, -1), ada];
  a.send(presenceMsg(a.agent, 2, sel));
  const p2 = await b.next(presenceOf(a.agent, (m) => m[2] === 2), { what: 'a\'s selection' });
  assert.deepEqual(p2.m[3].slice(0, 2), sel.slice(0, 2));
  assert.equal(a.ofType(T.PRESENCE).filter((m) => m[1] === a.agent).length, 0, 'own presence is not echoed');

  // A late joiner gets everyone's presence in its welcome.
  await sleep(100);
  const c = await connect(t, s);
  const w = await c.join({ doc: 'p', user: bob, replica: true });
  const entry = w.presence.find((e) => e[0] === a.agent);
  assert.ok(entry, `a's presence missing from welcome: ${JSON.stringify(w.presence)}`);
  assert.equal(entry[1], 2, 'the latest clock');
  assert.deepEqual(entry[2].slice(0, 2), sel.slice(0, 2));
  const agents = w.presence.map((e) => e[0]);
  assert.deepEqual(agents, [...agents].sort((x, y) => x - y), 'presence sorted by agent');
  assert.equal(new Set(agents).size, agents.length, 'no duplicate presence entries');

  // a leaves: both others hear it.
  await a.close();
  await b.next(goneOf(a.agent), { what: 'a leaving (b)' });
  await c.next(goneOf(a.agent), { what: 'a leaving (c)' });
  // and a newcomer no longer sees a
  const d = await connect(t, s);
  const w2 = await d.join({ doc: 'p', user: bob, replica: true });
  const stale = w2.presence.find((e) => e[0] === a.agent && e[2] !== null);
  assert.equal(stale, undefined, 'a closed connection still present in a welcome');
  for (const x of [a, b, c, d]) assert.deepEqual(x.bad, []);
}, { skip: noEngine });

stest('presence is throttled per member and the latest state wins', async (t) => {
  const s = await startServer(t);
  const a = await joined(t, s, { doc: 'q', user: ada });
  const b = await joined(t, s, { doc: 'q', user: bob });
  a.append('0123456789');
  await a.waitAcked();
  const t0 = Date.now();
  for (let clock = 1; clock <= 200; clock++) {
    const p = anchorAt(a, clock % 10);
    a.send(presenceMsg(a.agent, clock, [p, p, ada]));
  }
  const sentMs = Date.now() - t0;
  const last = await b.next(presenceOf(a.agent, (m) => m[2] === 200), { what: 'the last state (clock 200)' });
  await sleep(300);
  const seen = b.ofType(T.PRESENCE).filter((m) => m[1] === a.agent);
  const budget = Math.ceil((sentMs + 400) / 50) + 3;
  assert.ok(seen.length <= budget, `${seen.length} presence relays for 200 updates in ${sentMs} ms (throttle: ≤ 1 per 50 ms, ~${budget})`);
  const clocks = seen.map((m) => m[2]);
  assert.deepEqual(clocks, [...clocks].sort((x, y) => x - y), 'relayed clocks increase');
  assert.equal(clocks.at(-1), 200);
  assert.deepEqual(last.m[3][0], anchorAt(a, 0));
}, { skip: noEngine });

function serveHelp() {
  if (!haveServer()) return '';
  try {
    return execFileSync(WEFT_BIN, ['serve', '--help'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    return `${e.stdout ?? ''}${e.stderr ?? ''}`;
  }
}
const ttlFlag = /--presence-(ttl|expiry|timeout)\b/.exec(serveHelp())?.[0];

stest('presence expires when not refreshed', async (t) => {
  const s = await startServer(t, { args: [ttlFlag, '2'] });
  const a = await joined(t, s, { doc: 'r', user: ada });
  const b = await joined(t, s, { doc: 'r', user: bob });
  a.send(presenceMsg(a.agent, 1, [[0, null, 0], [0, null, 0], ada]));
  await b.next(presenceOf(a.agent, (m) => m[2] === 1));
  const t0 = Date.now();
  const gone = await b.next((m) => m[0] === T.PRESENCE && m[1] === a.agent && m[3] === null, { timeout: 8000, what: 'expiry' });
  assert.ok(Date.now() - t0 >= 1500, 'expired too early');
  assert.equal(gone.m[2], 2, 'expiry is sent with clock + 1');
  assert.equal(a.closeInfo, null, 'expiry must not close the connection');
}, { skip: !ttlFlag && 'the server has no option to shorten the 30 s presence expiry (asked in the report)' });

// The real 30 s expiry; too slow for every run (WEFT_TEST_SLOW=1 runs it).
stest('presence expires 30 s after the last refresh (slow)', async (t) => {
  const s = await startServer(t);
  const a = await joined(t, s, { doc: 'slow', user: ada });
  const b = await joined(t, s, { doc: 'slow', user: bob });
  a.send(presenceMsg(a.agent, 1, [[0, null, 0], [0, null, 0], ada]));
  await b.next(presenceOf(a.agent, (m) => m[2] === 1));
  const t0 = Date.now();
  const gone = await b.next((m) => m[0] === T.PRESENCE && m[1] === a.agent && m[3] === null, { timeout: 40000, what: 'expiry' });
  const after = Date.now() - t0;
  assert.ok(after >= 29000 && after <= 36000, `expired after ${after} ms`);
  assert.equal(gone.m[2], 2, 'expiry is sent with clock + 1');
  assert.equal(a.closeInfo, null, 'expiry must not close the connection');
  // A late joiner no longer sees the expired entry.
  const c = await joined(t, s, { doc: 'slow', user: bob });
  assert.equal(c.welcome.presence.find((e) => e[0] === a.agent && e[2] !== null), undefined);
}, { skip: (noEngine || (!process.env.WEFT_TEST_SLOW && 'slow (35 s): set WEFT_TEST_SLOW=1')), timeout: 45000 });

stest('presence leaves when a connection dies without a close frame', async (t) => {
  const s = await startServer(t, { args: ['--ping', '1'] });
  const a = await joined(t, s, { doc: 'die', user: ada });
  const b = await joined(t, s, { doc: 'die', user: bob });
  const c = await joined(t, s, { doc: 'die', user: bob });
  a.send(presenceMsg(a.agent, 1, [[0, null, 0], [0, null, 0], ada]));
  c.send(presenceMsg(c.agent, 1, [[0, null, 0], [0, null, 0], bob]));
  await b.next(presenceOf(a.agent, (m) => m[2] === 1));
  await b.next(presenceOf(c.agent, (m) => m[2] === 1));
  await a.terminate(); // TCP reset, no close frame
  await b.next(goneOf(a.agent), { timeout: 4000, what: 'a (reset) leaving' });
  c.pause(); // silent: only the ping timeout notices
  await b.next(goneOf(c.agent), { timeout: 6000, what: 'c (silent) leaving after the ping timeout' });
}, { skip: noEngine });
