// Sync through the real server: joins (empty, snapshot, ops), concurrent
// edits converging, change events that rebuild the text, acks, status
// events, the history helpers, and a fatal close.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { startServer, session, until, mirror, haveServer, WEFT_BIN, Server } from './harness.js';
import { fetchVersions, fetchText, fetchBlame } from '../src/weft.js';

const skip = !haveServer() && 'no weft binary or weft_crdt.wasm (build first)';
const fast = { backoffBase: 20, backoffMax: 200 };

test('two sessions: edits both ways, status events, acks', { skip }, async (t) => {
  const srv = await startServer(t);
  const a = session(t, srv, { doc: 'notes', user: { name: 'Ada', color: '#3b82f6' }, ...fast });
  const states = [];
  a.on('status', (s) => states.push(s.state));
  assert.equal(a.state, 'connecting');
  assert.equal(await a.ready, a);
  assert.deepEqual(states.slice(0, 3), ['connecting', 'online', 'synced']);
  assert.equal(typeof a.agent, 'number');
  const b = session(t, srv, { doc: 'notes', user: { name: 'Bob', color: '#ef4444' }, ...fast });
  await b.ready;
  assert.notEqual(a.agent, b.agent);
  const ma = mirror(a), mb = mirror(b);
  const local = [];
  a.on('change', (c) => { if (!c.remote) local.push(c); });

  a.insert(0, 'hello');
  assert.equal(a.text, 'hello', 'a local edit shows at once');
  assert.equal(a.unacked, 5);
  assert.deepEqual(local, [{ changes: [{ from: 0, to: 0, insert: 'hello' }], remote: false }]);
  await until(() => b.text === 'hello', { what: 'b sees hello' });
  b.insert(5, ' world');
  await until(() => a.text === 'hello world', { what: 'a sees world' });
  a.delete(0, 1);
  a.insert(0, 'H');
  await until(() => b.text === 'Hello world');
  await until(() => a.unacked === 0 && b.unacked === 0, { what: 'acks' });
  assert.equal(ma.text, a.text, 'a: change events rebuild the text');
  assert.equal(mb.text, b.text, 'b: change events rebuild the text');
  assert.ok(a.lsn >= 3, `lsn ${a.lsn}`);
  assert.deepEqual(a.version, b.version);
});

test('late joiners: a snapshot for an empty client, the same text and change events', { skip }, async (t) => {
  const srv = await startServer(t);
  const a = session(t, srv, { doc: 'd', ...fast });
  await a.ready;
  for (let i = 0; i < 50; i++) a.insert(a.length16, `line ${i}\n`);
  a.delete(0, 5);
  await until(() => a.unacked === 0);
  const c = session(t, srv, { doc: 'd', ...fast });
  const mc = mirror(c);
  await c.ready;
  assert.equal(c.text, a.text);
  assert.equal(mc.text, a.text, 'the initial load arrives as a change event');
});

test('concurrent random editing by three sessions converges; events match the text', { skip }, async (t) => {
  const srv = await startServer(t);
  const ss = [0, 1, 2].map((i) => session(t, srv, { doc: 'rand', user: { name: `u${i}`, color: '#000' }, ...fast }));
  await Promise.all(ss.map((s) => s.ready));
  const ms = ss.map(mirror);
  let seed = 12345;
  const rnd = (n) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
  const alphabet = ['a', 'b', 'é', '中', '😀', ' ', '\n', 'xyz'];
  for (let round = 0; round < 40; round++) {
    for (const s of ss) {
      const len = s.length16;
      if (len > 0 && rnd(3) === 0) {
        // Delete whole code points only: start and end on pair boundaries.
        const text = s.text;
        let from = rnd(len);
        if (from > 0 && (text.charCodeAt(from) & 0xfc00) === 0xdc00) from--;
        let to = Math.min(len, from + 1 + rnd(4));
        if (to < len && (text.charCodeAt(to) & 0xfc00) === 0xdc00) to++;
        s.delete(from, to - from);
      } else {
        const text = s.text;
        let at = rnd(len + 1);
        if (at > 0 && at < len && (text.charCodeAt(at) & 0xfc00) === 0xdc00) at--;
        s.insert(at, alphabet[rnd(alphabet.length)]);
      }
    }
    if (round % 5 === 0) await new Promise((r) => setTimeout(r, 5));
  }
  await until(() => ss.every((s) => s.unacked === 0), { what: 'all acked' });
  await until(() => ss[1].text === ss[0].text && ss[2].text === ss[0].text, { what: 'convergence' });
  ss.forEach((s, i) => assert.equal(ms[i].text, s.text, `session ${i}: change events rebuild the text`));
  assert.ok(ss[0].text.length > 0);
});

test('history helpers wrap the JSON API', { skip }, async (t) => {
  const srv = await startServer(t);
  const a = session(t, srv, { doc: 'team/hist', user: { name: 'Ada', color: '#111' }, ...fast });
  await a.ready;
  a.insert(0, 'one');
  await until(() => a.unacked === 0);
  a.insert(3, ' two');
  await until(() => a.unacked === 0);
  let v;
  try {
    v = await fetchVersions(srv.base, 'team/hist');
  } catch (e) {
    if (e.status === 503) return t.skip('this weft has no history API (built without server/tools)');
    throw e;
  }
  assert.equal(v.versions.length, 2);
  assert.deepEqual((await fetchText(srv.base, 'team/hist', v.versions[0].lsn)).text, 'one');
  assert.equal((await fetchText(srv.wsUrl, 'team/hist')).text, 'one two', 'a ws URL works as the base');
  const blame = await fetchBlame(srv.base, 'team/hist');
  assert.equal(blame.spans.map((s) => s.text).join(''), 'one two');
  await assert.rejects(fetchText(srv.base, 'team/hist', 99), (e) => e.status === 400);
});

test('a bad token is fatal: ready rejects, state closed, no reconnects', { skip }, async (t) => {
  const srv = new Server(t);
  const secret = join(srv.dir, 'secret');
  writeFileSync(secret, 'topsecret');
  srv.args = ['--secret-file', secret];
  await srv.start();
  const s = session(t, srv, { doc: 'x', token: 'not-a-token', ...fast });
  const errors = [];
  s.on('error', (e) => errors.push(e));
  await assert.rejects(s.ready, (e) => e.code === 4002);
  assert.equal(s.state, 'closed');
  assert.equal(s.error.code, 4002);
  assert.ok(errors.some((e) => e.code === 4002));
  // With a real token it works (if this weft can mint them).
  let token;
  try {
    token = execFileSync(WEFT_BIN, ['token', '--secret-file', secret, '--user', 'ada', '--doc', 'x', '--ttl', '0']).toString().trim();
  } catch {
    return;
  }
  const ok = session(t, srv, { doc: 'x', token, ...fast });
  await ok.ready;
  ok.insert(0, 'hi');
  await until(() => ok.unacked === 0);
});
