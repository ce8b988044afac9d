// Access control with --secret-file: every way a token can fail gets an
// error message and then the documented close code; grants work exactly
// as the token says (doc patterns, read-only); the server stamps the
// user's name from the token; the Origin and subprotocol checks.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stest, startServer, sleep, until, timeoutAfter, defer } from './lib/harness.mjs';
import { mintToken } from './lib/harness.mjs';
import { Client, connect, joined, assertErrorClose, T, CLOSE } from './lib/client.mjs';
import { hello, opsMsg, presenceMsg, START } from './lib/codec.mjs';
import { haveEngine } from './lib/replica.mjs';

const SECRET = 'correct horse battery staple, 32+ bytes of key';
const ada = ['Ada', '#3b82f6'];
const noEngine = !haveEngine() && 'no weft_crdt.wasm';

async function helloClose(t, s, helloOpts, code, what, connOpts = {}) {
  const c = await connect(t, s, connOpts);
  c.send(hello({ user: ada, ...helloOpts }));
  const e = await assertErrorClose(assert, c, code, { what });
  assert.equal(c.ofType(T.WELCOME).length, 0, `${what}: got a welcome`);
  return e;
}

// Flips one character of the signature part (after the last '.').
function badSignature(tok) {
  const i = tok.length - 2;
  const ch = tok[i] === 'A' ? 'B' : 'A';
  return tok.slice(0, i) + ch + tok.slice(i + 1);
}

stest('auth: no token, garbage, bad signature, expired and wrong document are refused with their codes', async (t) => {
  const s = await startServer(t, { secret: SECRET });
  const m0 = await s.metrics();
  const good = mintToken(s, { user: 'ada', doc: 'team/*' });

  await helloClose(t, s, { doc: 'team/a', token: null }, CLOSE.POLICY, 'no token');
  await helloClose(t, s, { doc: 'team/a', token: 'not a token' }, CLOSE.BAD_TOKEN, 'garbage token');
  await helloClose(t, s, { doc: 'team/a', token: badSignature(good) }, CLOSE.BAD_TOKEN, 'bad signature');
  // A token signed with another key.
  const otherKey = join(s.dir, 'other-secret');
  writeFileSync(otherKey, 'another key, not the server\'s one');
  const foreign = mintToken({ opts: { secretFile: otherKey } }, { user: 'ada', doc: 'team/*' });
  await helloClose(t, s, { doc: 'team/a', token: foreign }, CLOSE.BAD_TOKEN, 'token of another key');
  await helloClose(t, s, { doc: 'private', token: good }, CLOSE.FORBIDDEN, 'doc outside the pattern');
  await helloClose(t, s, { doc: 'team', token: good }, CLOSE.FORBIDDEN, '"team" is not under "team/*"');
  const exact = mintToken(s, { user: 'ada', doc: 'notes' });
  await helloClose(t, s, { doc: 'notes2', token: exact }, CLOSE.FORBIDDEN, 'exact name is not a prefix');

  const short = mintToken(s, { user: 'ada', doc: 'team/*', ttl: 1 });
  await sleep(2200);
  await helloClose(t, s, { doc: 'team/a', token: short }, CLOSE.TOKEN_EXPIRED, 'expired token');

  // The same good token works, for any doc under the prefix.
  for (const doc of ['team/a', 'team/b/c']) {
    const c = await connect(t, s);
    const w = await c.join({ doc, token: good, user: ada });
    assert.equal(w.kind, 0);
  }
  const ex = await connect(t, s);
  await ex.join({ doc: 'notes', token: exact, user: ada });

  const m1 = await s.metrics();
  const fails = m1.get('weft_auth_failures_total') - (m0.get('weft_auth_failures_total') ?? 0);
  assert.ok(fails >= 8, `weft_auth_failures_total moved by ${fails} for 8 refusals`);
});

stest('auth: the token may come as ?token= on the URL', async (t) => {
  const s = await startServer(t, { secret: SECRET });
  const good = mintToken(s, { user: 'ada', doc: 'q' });
  const c = await Client.connect(`${s.wsUrl}?token=${encodeURIComponent(good)}`);
  defer(t, () => c.ws.terminate());
  c.send(hello({ doc: 'q', user: ada }));
  await c.next((m) => m[0] === T.WELCOME, { what: 'welcome with the query token' });
  const d = await Client.connect(`${s.wsUrl}?token=${encodeURIComponent(badSignature(good))}`);
  defer(t, () => d.ws.terminate());
  d.send(hello({ doc: 'q', user: ada }));
  await assertErrorClose(assert, d, CLOSE.BAD_TOKEN, { what: 'bad query token' });
});

stest('auth: a read-only session reads, its ops are refused with 4005 and never applied', async (t) => {
  const s = await startServer(t, { secret: SECRET });
  const w = await joined(t, s, { doc: 'ro', token: mintToken(s, { user: 'writer', doc: 'ro' }), user: ada });
  w.append('written');
  await w.waitAcked();
  const r = await joined(t, s, { doc: 'ro', token: mintToken(s, { user: 'reader', doc: 'ro', readOnly: true }), user: ada });
  assert.equal(r.text, 'written', 'a read-only session still reads');

  r.append(' by reader');
  const err = await r.next((m) => m[0] === T.ERROR, { what: 'error for a read-only op' });
  assert.equal(err.m[1], CLOSE.READ_ONLY);
  // Keep trying: the connection is closed with 4005 after a few.
  for (let i = 0; i < 50 && !r.closeInfo; i++) {
    r.append('x');
    await sleep(20);
  }
  const ci = await Promise.race([r.closed, timeoutAfter(3000)]);
  assert.ok(ci, 'a read-only session that keeps sending ops is never closed');
  assert.equal(ci.code, CLOSE.READ_ONLY);
  await sleep(200);
  assert.equal(await s.text('ro'), 'written', 'a read-only op was applied');
  assert.equal(w.ofType(T.OPS).length, 0, 'a read-only op was broadcast');
  assert.equal(r.ofType(T.ACK).length, 0, 'a read-only op was acked');
  // The writer is unaffected.
  w.append('!');
  await w.waitAcked();
}, { skip: noEngine });

stest('auth: presence carries the token\'s user, not the name the client claims', async (t) => {
  const s = await startServer(t, { secret: SECRET });
  const a = await joined(t, s, { doc: 'p', token: mintToken(s, { user: 'ada', doc: 'p' }), user: ['Mallory', '#000000'] });
  const b = await joined(t, s, { doc: 'p', token: mintToken(s, { user: 'bob', doc: 'p' }), user: ['Bob', '#ef4444'] });
  a.send(presenceMsg(a.agent, 1, [START, START, ['Mallory', '#000000']]));
  const p = await b.next((m) => m[0] === T.PRESENCE && m[1] === a.agent, { what: 'a\'s presence' });
  assert.equal(p.m[3][2][0], 'ada', `presence name ${JSON.stringify(p.m[3][2])}`);
}, { skip: noEngine });

stest('auth: an agent is only reused for the same user', async (t) => {
  const s = await startServer(t, { secret: SECRET });
  const a = await joined(t, s, { doc: 'ag', token: mintToken(s, { user: 'ada', doc: 'ag' }), user: ada });
  a.append('mine');
  await a.waitAcked();
  await a.close();
  // bob asks for ada's agent: he must get another one.
  const b = await connect(t, s);
  const w = await b.join({ doc: 'ag', token: mintToken(s, { user: 'bob', doc: 'ag' }), agent: a.agent, vv: [], user: ada });
  assert.notEqual(w.agent, a.agent, 'another user took over ada\'s agent');
  // ada gets hers back.
  const a2 = await connect(t, s);
  const w2 = await a2.join({ doc: 'ag', token: mintToken(s, { user: 'ada', doc: 'ag' }), agent: a.agent, vv: [], user: ada });
  assert.equal(w2.agent, a.agent);
  assert.equal(w2.nextSeq, 4);
}, { skip: noEngine });

stest('auth: with a secret, a foreign Origin is refused (1008); the same-host origin is accepted', async (t) => {
  const s = await startServer(t, { secret: SECRET });
  const tok = mintToken(s, { user: 'ada', doc: 'o' });
  let refused = false;
  try {
    const c = await connect(t, s, { origin: 'http://evil.example' });
    c.send(hello({ doc: 'o', token: tok, user: ada }));
    await assertErrorClose(assert, c, CLOSE.POLICY, { what: 'foreign origin' });
    refused = true;
  } catch (e) {
    if (e.status === undefined) throw e;
    assert.equal(e.status, 403, `foreign origin refused at upgrade with HTTP ${e.status}`);
    refused = true;
  }
  assert.ok(refused);
  const ok = await connect(t, s, { origin: `http://127.0.0.1:${s.port}` });
  await ok.join({ doc: 'o', token: tok, user: ada });
});

stest('subprotocol: a client without weft.1 gets an error and close 1002', async (t) => {
  const s = await startServer(t);
  // (A client that asks for another subprotocol cannot be told: a browser
  // fails the handshake itself when the answer lacks its protocol.)
  for (const protocols of [[]]) {
    const c = await connect(t, s, { protocols });
    c.send(hello({ doc: 'x', user: ada }));
    await assertErrorClose(assert, c, CLOSE.PROTOCOL_ERROR, { what: `subprotocols ${JSON.stringify(protocols)}` });
  }
});

stest('open mode: without a secret everyone may write, and the start warns about it', async (t) => {
  const s = await startServer(t);
  await until(() => s.log.some((l) => /warn/i.test(l) && /(secret|open|auth|token)/i.test(l)), { timeout: 3000, what: 'a warning about open mode on stderr' });
  const c = await connect(t, s, { origin: 'http://anything.example' });
  const w = await c.join({ doc: 'open', user: ada, replica: false });
  assert.equal(w.kind, 0);
  c.send(opsMsg([[], [[0, w.agent, 0, null, null, 'hi']]]));
  await c.next((m) => m[0] === T.ACK, { what: 'ack in open mode' });
  assert.equal(await s.text('open'), 'hi');
});

stest('auth: a session whose token expires is closed with 4003', async (t) => {
  const s = await startServer(t, { secret: SECRET });
  const c = await joined(t, s, { doc: 'e', token: mintToken(s, { user: 'ada', doc: 'e', ttl: 2 }), user: ada });
  const t0 = Date.now();
  await assertErrorClose(assert, c, CLOSE.TOKEN_EXPIRED, { what: 'token expiring mid-session', timeout: 6000 });
  assert.ok(Date.now() - t0 >= 500, 'closed long before the token expired');
}, { skip: noEngine });

stest('auth: WEFT_SECRET in the environment works like --secret-file', async (t) => {
  const s = await startServer(t, { env: { WEFT_SECRET: SECRET } });
  const c = await connect(t, s);
  c.send(hello({ doc: 'env', user: ada }));
  await assertErrorClose(assert, c, CLOSE.POLICY, { what: 'no token with WEFT_SECRET set' });
  // A token minted with the same key is accepted.
  const keyFile = join(s.dir, 'same-key');
  writeFileSync(keyFile, SECRET);
  const tok = mintToken({ opts: { secretFile: keyFile } }, { user: 'ada', doc: 'env' });
  const d = await connect(t, s);
  await d.join({ doc: 'env', token: tok, user: ada });
});

stest('auth: a read-only token cannot create a document (4006)', async (t) => {
  const s = await startServer(t, { secret: SECRET });
  await helloClose(t, s, { doc: 'nothing-here', token: mintToken(s, { user: 'viewer', doc: '*', readOnly: true }) }, CLOSE.UNKNOWN_DOC, 'read-only hello for a missing doc');
  const docs = await s.json('/api/docs');
  assert.equal(docs.length, 0, `a read-only hello created ${JSON.stringify(docs)}`);
});

stest('auth: --allow-origin lists the accepted origins; * accepts any', async (t) => {
  const s = await startServer(t, { secret: SECRET, args: ['--allow-origin', 'https://app.example', '--allow-origin', 'https://other.example'] });
  const tok = mintToken(s, { user: 'ada', doc: 'o' });
  for (const origin of ['https://app.example', 'https://other.example']) {
    const c = await connect(t, s, { origin });
    await c.join({ doc: 'o', token: tok, user: ada });
  }
  // (Whether the same-host origin stays allowed next to an explicit list is
  // not specified; not asserted.)
  for (const origin of ['https://evil.example', 'https://app.example.evil.example', 'http://app.example']) {
    const c = await connect(t, s, { origin }).catch((e) => e);
    if (c instanceof Error) {
      assert.equal(c.status, 403, `${origin}: ${c.message}`);
      continue;
    }
    c.send(hello({ doc: 'o', token: tok, user: ada }));
    await assertErrorClose(assert, c, CLOSE.POLICY, { what: `origin ${origin} not in the list` });
  }
  const any = await startServer(t, { secret: SECRET, args: ['--allow-origin', '*'] });
  const c = await connect(t, any, { origin: 'https://anything.example' });
  await c.join({ doc: 'o', token: mintToken(any, { user: 'ada', doc: 'o' }), user: ada });
});

stest('auth: with a secret the history API needs a token that grants the document', async (t) => {
  const s = await startServer(t, { secret: SECRET });
  const w = await joined(t, s, { doc: 'team/plan', token: mintToken(s, { user: 'ada', doc: 'team/*' }), user: ada });
  w.append('secret plan');
  await w.waitAcked();
  const m0 = await s.metrics();
  const path = `/api/docs/${encodeURIComponent('team/plan')}/text`;
  const get = (p, tok) => s.get(p, tok === undefined ? { auth: false } : { headers: { authorization: `Bearer ${tok}` } });

  const none = await get(path);
  assert.equal(none.status, 401, 'no token');
  assert.ok(!none.body.includes('secret plan'), 'the text leaks without a token');
  assert.equal((await get(path, 'not a token')).status, 401, 'garbage token');
  assert.equal((await get(path, badSignature(mintToken(s, { user: 'ada', doc: 'team/*' })))).status, 401, 'bad signature');
  const other = await get(path, mintToken(s, { user: 'eve', doc: 'other/*' }));
  assert.equal(other.status, 403, 'a token for another document');
  assert.ok(!other.body.includes('secret plan'));

  const reader = mintToken(s, { user: 'bob', doc: 'team/*', readOnly: true });
  const ok = await get(path, reader);
  assert.equal(ok.status, 200, `a read-only token for the document: ${ok.body}`);
  assert.equal(JSON.parse(ok.body).text, 'secret plan');
  const q = await s.get(`${path}?token=${encodeURIComponent(reader)}`, { auth: false });
  assert.equal(q.status, 200, '?token= works too');
  const blame = await get(`/api/docs/${encodeURIComponent('team/plan')}/blame`, reader);
  assert.equal(blame.status, 200, 'every route of the document');

  assert.equal((await get('/api/docs', reader)).status, 403, 'listing needs a token for every document');
  const all = await get('/api/docs', mintToken(s, { user: 'admin', doc: '*', readOnly: true }));
  assert.equal(all.status, 200);
  assert.ok(JSON.parse(all.body).some((d) => d.name === 'team/plan'));
  const m1 = await s.metrics();
  assert.ok(m1.get('weft_auth_failures_total') >= m0.get('weft_auth_failures_total') + 5, 'refusals are counted');
});
