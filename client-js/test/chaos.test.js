// Seeded chaos: three sessions insert unique tokens and delete whole ones
// while sockets are killed at random and the server is restarted (once
// gracefully, once by SIGKILL). At the end: every session synced with
// nothing unacknowledged, one text, every surviving token exactly once,
// every deleted token gone, and the change events rebuild the text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, session, until, mirror, haveServer, sleep } from './harness.js';

const skip = !haveServer() && 'no weft binary or weft_crdt.wasm (build first)';
const SEED = Number(process.env.WEFT_CHAOS_SEED || 20261121);

test(`chaos (seed ${SEED}): kills, restarts, concurrent edits; exactly once`, { skip, timeout: 120000 }, async (t) => {
  const srv = await startServer(t);
  const ss = [0, 1, 2].map((i) => session(t, srv, { doc: 'chaos', user: { name: `u${i}`, color: '#123456' }, backoffBase: 10, backoffMax: 150 }));
  await Promise.all(ss.map((s) => s.ready));
  const ms = ss.map(mirror);
  let seed = SEED;
  const rnd = (n) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
  const deleted = new Set();
  const all = [];
  let next = 0;
  for (let step = 0; step < 400; step++) {
    const s = ss[rnd(3)];
    const text = s.text;
    const live = [...text.matchAll(/<\d+[^>]*>/g)];
    const r = rnd(100);
    if (r < 12 && live.length) {
      const m = live[rnd(live.length)]; // delete one whole token this session sees
      s.delete(m.index, m[0].length);
      deleted.add(m[0]);
    } else if (r < 16) {
      s._ws?.terminate();
    } else {
      const tok = `<${next++}${['', 'é', '😀', '中'][rnd(4)]}>`;
      all.push(tok);
      // Between tokens only, so tokens never nest.
      const gaps = [0, ...live.map((m) => m.index + m[0].length)];
      s.insert(gaps[rnd(gaps.length)], tok);
    }
    if (step === 130) await srv.stop();
    if (step === 160) await srv.start();
    if (step === 260) await srv.stop('SIGKILL');
    if (step === 290) await srv.start();
    if (rnd(4) === 0) await sleep(rnd(8));
  }
  t.after(() => {
    if (ss.every((s) => s.state === 'synced' && s.unacked === 0)) return;
    // Enough to tell a client bug from a server one.
    console.error('sessions [state, unacked, ws readyState, agent, attempt]:',
      JSON.stringify(ss.map((s) => [s.state, s.unacked, s._ws?.readyState, s.agent, s._attempt])));
    console.error(`server log tail:\n${srv.log.slice(-40).join('\n')}`);
  });
  await until(() => ss.every((s) => s.state === 'synced' && s.unacked === 0), { timeout: 30000, what: `synced: ${ss.map((s) => `${s.state}/${s.unacked}`)}` });
  await until(() => ss.every((s) => s.text === ss[0].text), { timeout: 10000, what: 'convergence' });
  const final = ss[0].text;
  for (const tok of all) {
    const n = final.split(tok).length - 1;
    assert.equal(n, deleted.has(tok) ? 0 : 1, `${tok} appears ${n} times`);
  }
  ss.forEach((s, i) => assert.equal(ms[i].text, s.text, `session ${i}: change events rebuild the text`));
  assert.ok(all.length > 250, `${all.length} tokens`);
});
