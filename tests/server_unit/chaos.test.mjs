// Chaos run against the real `weft serve`: clients that reuse agents,
// resend overlapping seqs, send random origins (many unknown: parked),
// deletes of random targets, presence, pings, garbage frames, and drop
// their connections, for WEFT_CHAOS_SECS seconds. Then SIGTERM must exit 0
// (under ASan: no sanitizer report) and `weft check` must find the log
// replayable and equal to every snapshot. Seeded: a failure replays.
//   WEFT_BIN=build/server/weft node tests/server_unit/chaos.test.mjs
import { createRequire } from 'node:module';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';

const require = createRequire(new URL('../server/package.json', import.meta.url));
let WebSocket, encode, decode;
try {
  WebSocket = require('ws');
  ({ encode, decode } = require('@msgpack/msgpack'));
} catch {
  console.log('SKIP: tests/server/node_modules missing (npm ci there; scripts/dev setup does)');
  process.exit(77);
}

const BIN = process.env.WEFT_BIN;
const SECS = Number(process.env.WEFT_CHAOS_SECS || 10);
const SEED = Number(process.env.WEFT_CHAOS_SEED || 1);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let seed = SEED;
const rnd = (n) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

function startServer(db, port, extra) {
  const child = spawn(BIN, ['serve', '--listen', `127.0.0.1:${port}`, '--db', db, '--log-level', 'warn', ...extra],
    { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.on('data', (d) => { log += d; });
  const ready = new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no listening line:\n${log}`)), 10000);
    child.stderr.on('data', () => { if (log.includes('weft: listening on')) { clearTimeout(t); resolve(); } });
  });
  const exited = new Promise((resolve) => child.on('exit', (code, sig) => resolve({ code, sig })));
  return { child, ready, exited, log: () => log };
}

function client(url, stats, byDoc) {
  const ws = new WebSocket(url, 'weft.1', { perMessageDeflate: false });
  const doc = `chaos${rnd(3)}`;
  const known = (byDoc[doc] ||= []);
  const c = { ws, doc, known, agent: null, seq: 0, closed: false };
  ws.on('message', (d) => {
    const m = decode(d);
    if (m[0] === 2 && c.agent === null) { c.agent = m[1]; c.seq = m[2]; stats.welcomes++; }
    if (m[0] === 3) for (const op of m[2][1]) if (op[0] === 0) known.push([op[1], op[2]]);
  });
  ws.on('close', (code) => { stats.closes[code] = (stats.closes[code] || 0) + 1; c.closed = true; });
  ws.on('error', () => { c.closed = true; });
  ws.on('open', () => {
    const vv = rnd(3) === 0 ? [[rnd(4), 1 + rnd(50)]] : [];
    ws.send(encode([1, 1, doc, null, rnd(4) === 0 ? rnd(6) : null, vv, [`c${rnd(5)}`, '#123456']]));
  });
  return c;
}

function randId(known, unknownToo) {
  const r = rnd(10);
  if (r < 3 || !known.length) return null;
  if (r < 5) return unknownToo ? [rnd(8), rnd(100)] : null;
  return known[rnd(known.length)];
}

function step(c, unknownToo) {
  const known = c.known;
  if (c.closed || c.agent === null || c.ws.readyState !== 1) return;
  const r = rnd(100);
  if (r < 60) {
    const text = 'xyzé😀'.slice(0, 1 + rnd(5));
    const seq = Math.max(0, rnd(10) === 0 ? c.seq + rnd(3) - 1 : c.seq);
    const agent = rnd(20) === 0 ? c.agent + 1 : c.agent;
    c.ws.send(encode([3, null, [[], [[0, agent, seq, randId(known, unknownToo), randId(known, unknownToo), text]]]]));
    if (seq === c.seq) c.seq += [...text].length; // known only once the server broadcasts it
  } else if (r < 75 && known.length) {
    const t = known[rnd(known.length)];
    c.ws.send(encode([3, null, [[], [[1, c.agent, c.seq, t[0], t[1], 1 + rnd(2)]]]]));
  } else if (r < 90) {
    const a = [0, rnd(2) ? c.agent : null, rnd(3)];
    c.ws.send(encode([5, c.agent, rnd(100), rnd(5) ? [a, a, ['n', '#fff']] : null]));
  } else if (r < 93) c.ws.send(encode([7, rnd(1000)]));
  else if (r < 95) c.ws.send(Buffer.from([0x93, rnd(256), rnd(256), rnd(256)]));
  else if (r < 98) { c.ws.terminate(); c.closed = true; }
  else { c.ws.close(); c.closed = true; }
}

async function round(dir, unknownToo) {
  const db = join(dir, unknownToo ? 'parked.db' : 'plain.db');
  const port = await freePort();
  const s = startServer(db, port, ['--snapshot-every', '20', '--idle-unload', '1', '--max-parked', '50']);
  await s.ready;
  const url = `ws://127.0.0.1:${port}/ws`;
  const stats = { closes: {}, welcomes: 0 };
  const byDoc = {};
  const clients = [];
  for (let i = 0; i < 12; i++) clients.push(client(url, stats, byDoc));
  const end = Date.now() + SECS * 1000;
  while (Date.now() < end) {
    for (let i = 0; i < clients.length; i++) {
      if (clients[i].closed) clients[i] = client(url, stats, byDoc);
      else step(clients[i], unknownToo);
    }
    for (const k of Object.values(byDoc)) if (k.length > 2000) k.splice(0, 1000);
    await sleep(2);
  }
  for (const c of clients) c.ws.terminate();
  await sleep(200);
  s.child.kill('SIGTERM');
  const ex = await s.exited;
  const log = s.log();
  console.log(`seed ${SEED} ${unknownToo ? 'with' : 'without'} unknown origins: ${JSON.stringify(stats)}`);
  if (ex.code !== 0 || /Sanitizer|runtime error/.test(log)) throw new Error(`server exit ${JSON.stringify(ex)}:\n${log.slice(-4000)}`);
  const chk = spawnSync(BIN, ['check', '--db', db], { encoding: 'utf8' });
  console.log(chk.stdout.trim());
  if (chk.status !== 0 || !/ 0 problems/.test(chk.stdout)) throw new Error(`weft check failed (${chk.status}):\n${chk.stdout}${chk.stderr}`);
}

if (!BIN) { console.log('SKIP: WEFT_BIN unset'); process.exit(77); }
const dir = mkdtempSync(join(tmpdir(), 'weft-chaos-'));
try {
  await round(dir, false);
  await round(dir, true);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
