// HTTP on the WebSocket port: /healthz, /metrics (Prometheus text that
// parses, counters that move) and the JSON history API (text at an LSN or
// a time, the paged log, blame with two users, diff, versions).
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { stest, startServer, sleep, mintToken } from './lib/harness.mjs';
import { connect, joined, T } from './lib/client.mjs';
import { haveEngine } from './lib/replica.mjs';

const noEngine = !haveEngine() && 'no weft_crdt.wasm';
const SECRET = 'history api secret key, long enough';

stest('/healthz answers 200 and / serves a page', async (t) => {
  const s = await startServer(t);
  const h = await s.get('/healthz');
  assert.equal(h.status, 200);
  const root = await s.get('/');
  assert.equal(root.status, 200);
  assert.match(root.headers['content-type'] ?? '', /text\/html/);
  const nothing = await s.get('/no/such/file');
  assert.equal(nothing.status, 404);
  for (const path of ['/../../../../etc/passwd', '/%2e%2e/%2e%2e/%2e%2e/etc/passwd', '/static/..%2f..%2f..%2fetc/passwd']) {
    const r = await s.get(path);
    assert.ok(!/root:.*:0:0:/.test(r.body), `${path} served /etc/passwd`);
  }
});

const REQUIRED = {
  weft_connections: 'gauge', weft_rooms: 'gauge', weft_ops_total: 'counter', weft_bytes_in_total: 'counter',
  weft_bytes_out_total: 'counter', weft_commit_seconds: 'histogram', weft_outbound_queue_bytes: 'gauge',
  weft_slow_consumer_closes_total: 'counter', weft_auth_failures_total: 'counter', weft_parked_ops: 'gauge',
};

function histogram(m, name) {
  const buckets = [...m.entries()].filter(([k]) => k.startsWith(`${name}_bucket{`))
    .map(([k, v]) => ({ le: Number(/le="([^"]+)"/.exec(k)[1].replace('+Inf', 'Infinity')), v }))
    .sort((a, b) => a.le - b.le);
  return { buckets, sum: m.get(`${name}_sum`), count: m.get(`${name}_count`) };
}

stest('/metrics parses as Prometheus text, has every metric, and its counters move', async (t) => {
  const s = await startServer(t);
  const r = await s.get('/metrics');
  assert.equal(r.status, 200);
  assert.match(r.headers['content-type'] ?? '', /^text\/plain/);
  const m0 = await s.metrics();
  for (const [name, type] of Object.entries(REQUIRED)) assert.equal(m0.types.get(name), type, `# TYPE ${name} ${type}`);
  assert.equal(m0.get('weft_connections'), 0);
  assert.equal(m0.get('weft_rooms'), 0);

  const a = await joined(t, s, { doc: 'm', user: ['a', '#000000'] });
  const b = await joined(t, s, { doc: 'm', user: ['b', '#000000'] });
  for (let i = 0; i < 10; i++) a.append(`${i}`);
  await a.waitAcked();
  await b.until(() => b.text === '0123456789');
  const m1 = await s.metrics();
  assert.equal(m1.get('weft_connections'), 2);
  assert.equal(m1.get('weft_rooms'), 1);
  const ops = m1.get('weft_ops_total') - m0.get('weft_ops_total');
  assert.ok(ops >= 10, `weft_ops_total moved by ${ops} for 10 ops`);
  assert.ok(m1.get('weft_bytes_in_total') > m0.get('weft_bytes_in_total'), 'bytes in');
  assert.ok(m1.get('weft_bytes_out_total') - m0.get('weft_bytes_out_total') >= 10 * 10, 'bytes out (10 broadcasts + acks)');
  const h0 = histogram(m0, 'weft_commit_seconds'), h1 = histogram(m1, 'weft_commit_seconds');
  assert.ok(h1.buckets.length >= 2 && h1.buckets.at(-1).le === Infinity, 'histogram has buckets up to +Inf');
  for (let i = 1; i < h1.buckets.length; i++) assert.ok(h1.buckets[i].v >= h1.buckets[i - 1].v, 'cumulative buckets');
  assert.equal(h1.buckets.at(-1).v, h1.count, '+Inf bucket == _count');
  assert.ok(h1.count > (h0.count ?? 0), 'commits were counted');
  assert.ok(h1.sum > 0 && h1.sum < 60, `weft_commit_seconds_sum ${h1.sum}`);

  await a.close();
  await b.close();
  await sleep(200);
  const m2 = await s.metrics();
  assert.equal(m2.get('weft_connections'), 0, 'connections gauge after close');
  assert.equal(m2.get('weft_outbound_queue_bytes'), 0);
}, { skip: noEngine });

// ada: "hello" (L1) ... bob: " world" (L2), ada deletes the first 'l' (L3).
async function history(t) {
  const s = await startServer(t, { secret: SECRET });
  const doc = 'team/spec.md';
  const enc = encodeURIComponent(doc);
  const a = await joined(t, s, { doc, token: mintToken(s, { user: 'ada', doc: 'team/*' }), user: ['Ada', '#3b82f6'] });
  const b = await joined(t, s, { doc, token: mintToken(s, { user: 'bob', doc: 'team/*' }), user: ['Bob', '#ef4444'] });
  a.append('hello');
  const L1 = (await a.waitAcked()).lsn;
  await sleep(1100);
  const tMid = Math.floor(Date.now() / 1000);
  await sleep(1100);
  await b.until(() => b.text === 'hello');
  b.append(' world');
  const L2 = (await b.waitAcked()).lsn;
  await a.until(() => a.text === 'hello world');
  a.deleteAt(2, 1);
  const L3 = (await a.waitAcked()).lsn;
  assert.ok(L1 < L2 && L2 < L3);
  return { s, doc, enc, a, b, L1, L2, L3, tMid };
}

stest('history API: documents, text at an LSN and at a time, 404 and 400', async (t) => {
  const { s, doc, enc, L1, L2, L3, tMid } = await history(t);
  const docs = await s.json('/api/docs');
  const d = docs.find((x) => x.name === doc);
  assert.ok(d, `${doc} missing from /api/docs: ${JSON.stringify(docs)}`);
  assert.equal(d.lsn, L3);
  assert.ok('created' in d && 'updated' in d);

  assert.deepEqual(await s.json(`/api/docs/${enc}/text`), { lsn: L3, text: 'helo world' });
  assert.equal((await s.json(`/api/docs/${enc}/text?lsn=${L1}`)).text, 'hello');
  assert.equal((await s.json(`/api/docs/${enc}/text?lsn=${L2}`)).text, 'hello world');
  assert.equal((await s.json(`/api/docs/${enc}/text?lsn=${L3}`)).text, 'helo world');
  assert.equal((await s.json(`/api/docs/${enc}/text?time=${tMid}`)).text, 'hello');
  const iso = new Date(tMid * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  assert.equal((await s.json(`/api/docs/${enc}/text?time=${encodeURIComponent(iso)}`)).text, 'hello', `time=${iso}`);

  assert.equal((await s.get('/api/docs/no-such-doc/text')).status, 404);
  assert.equal((await s.get(`/api/docs/${enc}/text?lsn=abc`)).status, 400);
  assert.equal((await s.get(`/api/docs/${enc}/nonsense`)).status, 404);
}, { skip: noEngine });

stest('history API: the log, whole and paged', async (t) => {
  const { s, enc, a, b, L1, L2, L3 } = await history(t);
  const all = await s.json(`/api/docs/${enc}/log`);
  assert.equal(all.next, null);
  const ops = all.ops;
  assert.deepEqual(ops.map((o) => o.lsn), [L1, L2, L3]);
  assert.deepEqual(ops.map((o) => o.kind), ['ins', 'ins', 'del']);
  assert.deepEqual(ops.map((o) => o.user), ['ada', 'bob', 'ada']);
  assert.deepEqual(ops.map((o) => o.agent), [a.agent, b.agent, a.agent]);
  assert.deepEqual(ops.map((o) => o.seq), [0, 0, 5]);
  assert.deepEqual(ops.map((o) => o.len), [5, 6, 1]);
  for (const o of ops) assert.ok(o.time !== undefined && o.time !== null, 'op time');

  const pages = [];
  let from = null;
  for (let i = 0; i < 10; i++) {
    const p = await s.json(`/api/docs/${enc}/log?${from === null ? '' : `from=${from}&`}limit=1`);
    assert.ok(p.ops.length <= 1, `limit=1 returned ${p.ops.length} ops`);
    pages.push(...p.ops);
    if (p.next === null) break;
    assert.ok(from === null || p.next > from, 'next moves forward');
    from = p.next;
  }
  assert.deepEqual(pages, ops, 'paging with limit=1 gives the same ops');
  const mid = await s.json(`/api/docs/${enc}/log?from=${L2}&to=${L2}`);
  assert.deepEqual(mid.ops.map((o) => o.user), ['bob']);
  assert.equal((await s.get(`/api/docs/${enc}/log?limit=abc`)).status, 400);
}, { skip: noEngine });

stest('history API: blame with two users, diff between two LSNs, versions', async (t) => {
  const { s, enc, a, b, L1, L2, L3 } = await history(t);
  const blame = await s.json(`/api/docs/${enc}/blame`);
  assert.equal(blame.lsn, L3);
  assert.deepEqual(blame.spans.map((x) => [x.text, x.user, x.agent]), [['helo', 'ada', a.agent], [' world', 'bob', b.agent]]);
  const old = await s.json(`/api/docs/${enc}/blame?lsn=${L2}`);
  assert.deepEqual(old.spans.map((x) => [x.text, x.user]), [['hello', 'ada'], [' world', 'bob']]);

  const diff = await s.json(`/api/docs/${enc}/diff?from=${L1}&to=${L3}`);
  assert.equal(diff.from, L1);
  assert.equal(diff.to, L3);
  const side = (kinds) => diff.ops.filter((o) => kinds.includes(o.op)).map((o) => o.text).join('');
  assert.equal(side(['eq', 'del']), 'hello', 'eq + del = the old text');
  assert.equal(side(['eq', 'ins']), 'helo world', 'eq + ins = the new text');
  assert.equal(side(['del']), 'l');
  assert.equal(side(['ins']), ' world');
  for (const o of diff.ops) assert.ok(['eq', 'ins', 'del'].includes(o.op) && o.text.length > 0, JSON.stringify(o));

  const v = await s.json(`/api/docs/${enc}/versions`);
  const list = Array.isArray(v) ? v : Object.values(v).find(Array.isArray);
  assert.ok(Array.isArray(list), `versions: ${JSON.stringify(v)}`);
  const lsns = list.map((x) => (Array.isArray(x) ? x[0] : x.lsn));
  assert.ok(lsns.includes(L3), `versions lack the last LSN ${L3}: ${JSON.stringify(v)}`);
}, { skip: noEngine });

stest('history reads in a loop do not hold up editing', async (t) => {
  const s = await startServer(t, { args: ['--snapshot-every', '1000000'] });
  const w = await joined(t, s, { doc: 'busy', user: ['w', '#000000'] });
  // A history worth reading: 3000 batches, no snapshot to start from.
  for (let i = 0; i < 3000; i++) {
    w.append(`${i % 10}`);
    if (i % 500 === 499) await w.waitAcked({ timeout: 15000 });
  }
  const head = (await w.waitAcked({ timeout: 15000 })).lsn;
  let stop = false, reads = 0;
  const readers = Array.from({ length: 4 }, (_, k) => (async () => {
    while (!stop) {
      const path = [`/api/docs/busy/blame`, `/api/docs/busy/text?lsn=${1 + ((reads * 37) % head)}`, `/api/docs/busy/log?limit=5000`, `/api/docs/busy/diff?from=1&to=${head}`][k];
      const r = await s.get(path);
      assert.equal(r.status, 200, `${path}: ${r.body.slice(0, 200)}`);
      reads++;
    }
  })());
  const lat = [];
  try {
    await sleep(200);
    for (let i = 0; i < 15; i++) {
      const t0 = performance.now();
      w.append('!');
      await w.waitAcked({ timeout: 5000 });
      lat.push(Math.round(performance.now() - t0));
      await sleep(50);
    }
  } finally {
    stop = true;
    await Promise.all(readers);
  }
  t.diagnostic(`${reads} history reads meanwhile; ack latencies (ms): ${lat.join(' ')}`);
  assert.ok(reads >= 4, `only ${reads} history reads`);
  assert.ok(Math.max(...lat) < 1500, `acks took up to ${Math.max(...lat)} ms while history was read: ${lat.join(' ')}`);
}, { skip: noEngine, timeout: 60000 });
