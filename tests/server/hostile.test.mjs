// Malformed and hostile frames: each one gets an error message with its
// code and then a close with the same code (docs/protocol.md §4), and the
// server keeps serving a bystander connected to the same document the
// whole time.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { stest, startServer, sleep, until, defer, rng } from './lib/harness.mjs';
import { connect, joined, assertErrorClose, T, CLOSE } from './lib/client.mjs';
import { encode, hello, opsMsg, presenceMsg, strictDecode, unhex, START } from './lib/codec.mjs';
import { haveEngine } from './lib/replica.mjs';

const ada = ['Ada', '#3b82f6'];
const bob = ['Bob', '#ef4444'];
const noEngine = !haveEngine() && 'no weft_crdt.wasm';
const golden = JSON.parse(readFileSync(fileURLToPath(new URL('../golden/protocol-v1.json', import.meta.url)), 'utf8'));

// Seeded bytes, so a failure replays.
function randomBytes(seed, n) {
  const r = rng(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(r() * 256);
  return out;
}

function replaceBytes(bytes, from, to) {
  const b = Buffer.from(bytes), i = b.indexOf(Buffer.from(from));
  assert.ok(i >= 0);
  return Buffer.concat([b.subarray(0, i), Buffer.from(to), b.subarray(i + from.length)]);
}

// A server with a bystander that types between the hostile cases.
async function arena(t, args = []) {
  const s = await startServer(t, { args });
  const b = await joined(t, s, { doc: 'arena', user: bob });
  let n = 0;
  const alive = async (what) => {
    b.append(`${n++} `);
    await b.waitAcked({ timeout: 3000 }).catch((e) => { throw new Error(`bystander after ${what}: ${e.message}`); });
    await b.ping(n);
    assert.equal(b.closeInfo, null, `bystander closed after ${what}`);
  };
  // One hostile case: a fresh victim (joined unless `joinFirst` is false)
  // sends something; expects error(code) + close(code), then the bystander works.
  const attack = async (what, code, send, { joinFirst = true, timeout = 5000 } = {}) => {
    const v = await connect(t, s, { name: `victim(${what})` });
    let w = null;
    if (joinFirst) w = await v.join({ doc: 'arena', user: ada, replica: false });
    await send(v, w);
    await assertErrorClose(assert, v, code, { what, timeout });
    assert.deepEqual(v.bad, [], `${what}: frames from the server that were not canonical`);
    await alive(what);
  };
  // After the victims are gone only the bystander is connected: no session
  // leaks on the error paths.
  const noLeaks = async () => {
    await until(async () => (await s.metrics()).get('weft_connections') === 1, { timeout: 5000, what: 'weft_connections back to 1 (the bystander)' })
      .catch(async (e) => { throw new Error(`${e.message}: weft_connections=${(await s.metrics()).get('weft_connections')}`); });
  };
  defer(t, async () => { if (!b.closeInfo && s.child?.exitCode === null) await noLeaks(); });
  return { s, b, attack, alive, noLeaks };
}

stest('hostile before hello: text frame, ops, presence, random bytes, a bad version', async (t) => {
  const { attack } = await arena(t);
  await attack('text frame', CLOSE.UNSUPPORTED_DATA, (v) => v.sendText('[1,1,"arena",null,null,[],null]'), { joinFirst: false });
  await attack('ops before hello', CLOSE.UNEXPECTED, (v) => v.send(opsMsg([[], [[0, 5, 0, null, null, 'x']]])), { joinFirst: false });
  await attack('presence before hello', CLOSE.UNEXPECTED, (v) => v.send(presenceMsg(5, 1, [START, START, ada])), { joinFirst: false });
  await attack('ping before hello', CLOSE.UNEXPECTED, (v) => v.send([T.PING, 1]), { joinFirst: false });
  await attack('random bytes before hello', CLOSE.BAD_MESSAGE, (v) => v.sendRaw(randomBytes(1, 64)), { joinFirst: false });
  await attack('hello with protocol version 2', CLOSE.PROTO_VERSION, (v) => v.send(hello({ doc: 'arena', user: ada, proto: 2 })), { joinFirst: false });
}, { skip: noEngine });

stest('hostile after hello: garbage, truncation, non-canonical encodings, memory bomb, nesting, bad UTF-8', async (t) => {
  const { attack } = await arena(t);
  for (const seed of [1, 2, 3]) {
    const bytes = randomBytes(seed, 200);
    assert.throws(() => strictDecode(bytes));
    await attack(`random bytes #${seed}`, CLOSE.BAD_MESSAGE, (v) => v.sendRaw(bytes));
  }
  await attack('truncated ops', CLOSE.BAD_MESSAGE, (v, w) => v.sendRaw(encode(opsMsg([[], [[0, w.agent, 0, null, null, 'hello']]])).slice(0, -3)));
  await attack('two messages in one frame', CLOSE.BAD_MESSAGE, (v) => v.sendRaw(Buffer.concat([encode([T.PING, 1]), encode([T.PING, 2])])));
  await attack('ping with uint16 for 5', CLOSE.BAD_MESSAGE, (v) => v.sendRaw([0x92, 0x07, 0xcd, 0x00, 0x05]));
  await attack('array16 header for 2 elements', CLOSE.BAD_MESSAGE, (v) => v.sendRaw([0xdc, 0x00, 0x02, 0x07, 0x05]));
  await attack('str8 header for a short op text', CLOSE.BAD_MESSAGE, (v, w) =>
    v.sendRaw(replaceBytes(encode(opsMsg([[], [[0, w.agent, 0, null, null, 'hi']]])), [0xa2, 0x68, 0x69], [0xd9, 0x02, 0x68, 0x69])));
  await attack('a map instead of an array', CLOSE.BAD_MESSAGE, (v) => v.sendRaw([0x82, 0xa1, 0x74, 0x07, 0xa1, 0x78, 0x01]));
  await attack('float in a ping', CLOSE.BAD_MESSAGE, (v) => v.sendRaw([0x92, 0x07, 0xcb, 0x40, 0, 0, 0, 0, 0, 0, 0]));
  await attack('memory bomb dd ff ff ff ff', CLOSE.BAD_MESSAGE, (v) => v.sendRaw([0xdd, 0xff, 0xff, 0xff, 0xff]));
  await attack('memory bomb inside ops', CLOSE.BAD_MESSAGE, (v) => v.sendRaw([0x93, 0x03, 0xc0, 0x92, 0x90, 0xdd, 0xff, 0xff, 0xff, 0xff]));
  await attack('str32 claiming 4 GiB', CLOSE.BAD_MESSAGE, (v) => v.sendRaw([0x92, 0x07, 0xdb, 0xff, 0xff, 0xff, 0xff]));
  await attack('nesting 40 deep', CLOSE.BAD_MESSAGE, (v) => v.sendRaw([...new Array(40).fill(0x91), 0x07]));
  await attack('nesting 100000 deep', CLOSE.BAD_MESSAGE, (v) => v.sendRaw([...new Array(100000).fill(0x91), 0x07]));
  await attack('invalid UTF-8 in an op', CLOSE.BAD_MESSAGE, (v, w) =>
    v.sendRaw(replaceBytes(encode(opsMsg([[], [[0, w.agent, 0, null, null, 'ab']]])), [0xa2, 0x61, 0x62], [0xa2, 0xc3, 0x28])));
  await attack('surrogate in an op', CLOSE.BAD_MESSAGE, (v, w) =>
    v.sendRaw(replaceBytes(encode(opsMsg([[], [[0, w.agent, 0, null, null, 'abc']]])), [0xa3, 0x61, 0x62, 0x63], [0xa3, 0xed, 0xa0, 0x80])));
  await attack('overlong UTF-8 in a doc name', CLOSE.BAD_MESSAGE, (v) =>
    v.sendRaw(replaceBytes(encode(hello({ doc: 'ab', user: ada })), [0xa2, 0x61, 0x62], [0xa2, 0xc0, 0xaf])), { joinFirst: false });
  await attack('empty frame', CLOSE.BAD_MESSAGE, (v) => v.sendRaw([]));
}, { skip: noEngine });

stest('hostile after hello: every golden reject vector is refused with 4000', async (t) => {
  const { attack } = await arena(t);
  for (const g of golden.rejects) await attack(`golden reject ${g.name} (${g.error})`, CLOSE.BAD_MESSAGE, (v) => v.sendRaw(unhex(g.hex)));
}, { timeout: 30000, skip: noEngine });

stest('hostile protocol use: another agent\'s ops or presence, a second hello, server-only messages, seq gaps and reuse', async (t) => {
  const { attack } = await arena(t);
  await attack('ops of another agent', CLOSE.AGENT_CONFLICT, (v, w) => v.send(opsMsg([[], [[0, w.agent + 1, 0, null, null, 'x']]])));
  await attack('a batch mixing in another agent', CLOSE.AGENT_CONFLICT, (v, w) =>
    v.send(opsMsg([[], [[0, w.agent, 0, null, null, 'x'], [0, w.agent + 1, 0, null, null, 'y']]])));
  await attack('presence of another agent', CLOSE.AGENT_CONFLICT, (v, w) => v.send(presenceMsg(w.agent + 1, 1, [START, START, ada])));
  await attack('a second hello', CLOSE.UNEXPECTED, (v) => v.send(hello({ doc: 'arena', user: ada })));
  await attack('an ack from a client', CLOSE.UNEXPECTED, (v, w) => v.send([T.ACK, w.agent, 1, 1]));
  await attack('a welcome from a client', CLOSE.UNEXPECTED, (v, w) => v.send([T.WELCOME, w.agent, 0, [], 0, 0, null, [], false]));
  await attack('an error from a client', CLOSE.UNEXPECTED, (v) => v.send([T.ERROR, 4000, 'you first']));
  // Causally impossible ops: they reference the author's own ops at or after themselves.
  for (const [name, mk] of [
    ['insert after itself', (a) => [0, a, 0, [a, 0], null, 'x']],
    ['insert after its own future op', (a) => [0, a, 0, [a, 7], null, 'x']],
    ['insert before its own future op', (a) => [0, a, 0, null, [a, 3], 'x']],
    ['insert inside itself', (a) => [0, a, 0, [a, 1], null, 'xyz']],
    ['delete of itself', (a) => [1, a, 0, a, 0, 1]],
    ['delete of its own future op', (a) => [1, a, 0, a, 5, 1]],
  ]) await attack(name, CLOSE.BAD_OP, (v, w) => v.send(opsMsg([[], [mk(w.agent)]])));
  await attack('first op with seq 5 (gap)', CLOSE.BAD_OP, (v, w) => v.send(opsMsg([[], [[0, w.agent, 5, null, null, 'x']]])));
  await attack('seq reused with other text', CLOSE.AGENT_CONFLICT, async (v, w) => {
    v.send(opsMsg([[], [[0, w.agent, 0, null, null, 'ab']]]));
    await v.next((m) => m[0] === T.ACK, { what: 'ack of the first op' });
    v.send(opsMsg([[], [[0, w.agent, 0, null, null, 'xy']]]));
  });
}, { skip: noEngine });

stest('parking: ops with unknown dependencies are held up to --max-parked, beyond that error + close', async (t) => {
  const { s, attack, b } = await arena(t, ['--max-parked', '5']);
  const unknown = 987654;
  await attack('ops parked beyond the bound', CLOSE.BAD_OP, async (v, w) => {
    // Within the bound: held, no error, the connection lives.
    for (let i = 0; i < 3; i++) v.send(opsMsg([[[unknown, i]], [[0, w.agent, i, [unknown, i], null, 'p']]]));
    await v.ping(77);
    assert.equal(v.ofType(T.ERROR).length, 0, `an error for ops within the parking bound: ${JSON.stringify(v.ofType(T.ERROR))}`);
    assert.equal(v.closeInfo, null);
    // Paced, so this tests the bound (the rate limit test covers a burst).
    for (let i = 3; i < 20 && !v.closeInfo; i++) {
      v.send(opsMsg([[[unknown, i]], [[0, w.agent, i, [unknown, i], null, 'p']]]));
      await sleep(5);
    }
  });
  const m = await s.metrics();
  assert.ok(m.has('weft_parked_ops'), 'weft_parked_ops missing from /metrics');
  assert.ok(!b.text.includes('p'), 'parked ops must not show up');
  // The document is not poisoned for good: after a restart a new writer works.
  await s.restart();
  const c = await joined(t, s, { doc: 'arena', user: bob });
  c.append('after restart');
  await c.waitAcked({ timeout: 3000 }).catch((e) => { throw new Error(`a fresh writer after restart: ${e.message}`); });
}, { skip: noEngine });

stest('hello timeout: no hello within 10 s gets 4012', async (t) => {
  const { attack } = await arena(t);
  const t0 = Date.now();
  await attack('silence', CLOSE.HELLO_TIMEOUT, () => {}, { joinFirst: false, timeout: 14000 });
  assert.ok(Date.now() - t0 >= 9000, `closed after ${Date.now() - t0} ms, before the 10 s`);
}, { timeout: 25000, skip: noEngine });
