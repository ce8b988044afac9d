// Many clients editing one document at once converge: every replica ends
// with the same text, equal to what the server says
// (/api/docs/NAME/text), and the server's version covers every ack.
import assert from 'node:assert/strict';
import { stest, startServer, sleep, rng } from './lib/harness.mjs';
import { connect, joined, T } from './lib/client.mjs';
import { haveEngine } from './lib/replica.mjs';

const noEngine = !haveEngine() && 'no weft_crdt.wasm';

const ALPHABET = ['a', 'b', 'c', ' ', 'é', '→', '😀', '\n', '日本'];

async function randomEditing(c, rand, steps) {
  for (let i = 0; i < steps; i++) {
    const len = c.replica.len();
    const r = rand();
    if (len > 0 && r < 0.3) {
      const pos = Math.floor(rand() * len);
      c.deleteAt(pos, Math.min(len - pos, 1 + Math.floor(rand() * 4)));
    } else {
      let text = '';
      const n = 1 + Math.floor(rand() * 5);
      for (let k = 0; k < n; k++) text += ALPHABET[Math.floor(rand() * ALPHABET.length)];
      c.insertAt(Math.floor(rand() * (len + 1)), text);
    }
    if (rand() < 0.5) await sleep(Math.floor(rand() * 8));
  }
}

stest('10 clients editing one document at random converge to the server\'s text', async (t) => {
  const s = await startServer(t, { args: ['--snapshot-every', '64'] });
  const clients = [];
  for (let i = 0; i < 10; i++) clients.push(await joined(t, s, { doc: 'many', user: [`user${i}`, '#123456'] }));
  const agents = new Set(clients.map((c) => c.agent));
  assert.equal(agents.size, 10, 'every session has its own agent');
  await Promise.all(clients.map((c, i) => randomEditing(c, rng(1000 + i), 60)));
  for (const c of clients) await c.waitAcked({ timeout: 10000 });
  // Everyone has everyone's ops once the versions agree.
  const want = JSON.stringify(clients.map((c) => [c.agent, c.replica.doc.nextSeq(c.agent)]).sort((x, y) => x[0] - y[0]));
  for (const c of clients) {
    await c.until(() => JSON.stringify(c.replica.version()) === want, { timeout: 10000, what: `${c.name}: version ${want}` });
  }
  const server = await s.text('many');
  for (const c of clients) {
    assert.equal(c.text, server, `${c.describe()} differs from the server`);
    c.replica.doc.check();
    assert.deepEqual(c.bad, [], `${c.name}: bad frames`);
  }
  assert.ok(server.length > 0);
  // A newcomer loads the same from its welcome snapshot.
  const n = await joined(t, s, { doc: 'many', user: ['late', '#000000'] });
  assert.equal(n.text, server);
  assert.equal(n.welcome.kind, 1);
  // And the broadcast LSNs each client saw are strictly increasing.
  for (const c of clients) {
    const lsns = c.ofType(T.OPS).map((m) => m[1]);
    for (let i = 1; i < lsns.length; i++) assert.ok(lsns[i] > lsns[i - 1], `${c.name}: broadcast LSNs ${lsns[i - 1]} then ${lsns[i]}`);
  }
}, { skip: noEngine });

stest('two documents on one server stay separate', async (t) => {
  const s = await startServer(t);
  const a = await joined(t, s, { doc: 'one', user: ['a', '#000000'] });
  const b = await joined(t, s, { doc: 'two', user: ['b', '#000000'] });
  a.append('for one');
  b.append('for two');
  await a.waitAcked();
  await b.waitAcked();
  await sleep(100);
  assert.equal(a.ofType(T.OPS).length, 0, 'ops of another document were broadcast');
  assert.equal(b.ofType(T.OPS).length, 0, 'ops of another document were broadcast');
  assert.equal(await s.text('one'), 'for one');
  assert.equal(await s.text('two'), 'for two');
  const docs = (await s.json('/api/docs')).map((d) => d.name).sort();
  assert.deepEqual(docs, ['one', 'two']);
}, { skip: noEngine });

stest('joining while someone types: every joiner gets each later LSN exactly once and ends equal', async (t) => {
  const s = await startServer(t, { args: ['--snapshot-every', '40'] });
  const w = await joined(t, s, { doc: 'stream', user: ['writer', '#000000'] });
  let stop = false;
  const pump = (async () => {
    for (let i = 0; !stop; i++) {
      w.append(`${i % 10}`);
      if (i % 3 === 0) w.deleteAt(0, 1);
      await sleep(2);
    }
  })();
  const joiners = [];
  for (let i = 0; i < 5; i++) {
    await sleep(80);
    joiners.push(await joined(t, s, { doc: 'stream', user: [`j${i}`, '#000000'] }));
  }
  await sleep(100);
  stop = true;
  await pump;
  const last = await w.waitAcked({ timeout: 10000 });
  const text = await s.text('stream');
  for (const j of joiners) {
    await j.until(() => j.text === text, { timeout: 5000, what: `${j.name} converges` });
    const lsns = j.ofType(T.OPS).map((m) => m[1]);
    const want = [];
    for (let l = j.welcome.lsn + 1; l <= last.lsn; l++) want.push(l);
    assert.deepEqual(lsns, want, `${j.name}: broadcasts after welcome lsn ${j.welcome.lsn}`);
    assert.deepEqual(j.bad, []);
  }
}, { skip: noEngine });

stest('document names are any UTF-8: the API finds them URL-encoded', async (t) => {
  const s = await startServer(t);
  const names = ['naïve 📝', 'team/spec.md', 'a b+c', '100%', 'what?', 'h#1'];
  for (const name of names) {
    const a = await joined(t, s, { doc: name, user: ['a', '#000000'] });
    a.append(`text of ${name}`);
    await a.waitAcked();
  }
  const listed = (await s.json('/api/docs')).map((d) => d.name).sort();
  assert.deepEqual(listed, [...names].sort());
  const wrong = [];
  for (const name of names) {
    const r = await s.get(`/api/docs/${encodeURIComponent(name)}/text`);
    if (r.status !== 200 || JSON.parse(r.body).text !== `text of ${name}`) wrong.push(`${JSON.stringify(name)} -> ${r.status} ${r.body}`);
  }
  assert.deepEqual(wrong, [], 'GET /api/docs/<encodeURIComponent(name)>/text');
}, { skip: noEngine });
