#!/usr/bin/env node
// Load generator for `weft serve`: C clients spread over D documents, each
// typing one character per op batch with W batches in flight (a new one
// goes out when an ack comes back). Reports durable acks per second, the
// author's ack latency (send -> ack, i.e. broadcast + group commit) and the
// peers' latency (send -> broadcast received), p50/p99.
//
//   node server/bench/load.mjs [--url ws://127.0.0.1:8080/ws] [--clients 50]
//        [--docs 5] [--window 4] [--secs 5]
//
// Start the server with a high --rate (the default 2000 op messages/s per
// connection is not the limit being measured). Uses the ws and
// @msgpack/msgpack packages installed for tests/server (scripts/dev setup).
import { createRequire } from 'node:module';

const require = createRequire(new URL('../../tests/server/package.json', import.meta.url));
const WebSocket = require('ws');
const { encode, decode } = require('@msgpack/msgpack');

const opt = { url: 'ws://127.0.0.1:8080/ws', clients: 50, docs: 5, window: 4, secs: 5 };
for (let i = 2; i < process.argv.length; i += 2) {
  const k = process.argv[i].replace(/^--/, '');
  if (!(k in opt)) throw new Error(`unknown option ${process.argv[i]}`);
  opt[k] = k === 'url' ? process.argv[i + 1] : Number(process.argv[i + 1]);
}

const ackLat = [];
const peerLat = [];
const sentAt = new Map(); // "agent:seq" -> ms
let acks = 0;
let running = true;

function pump(c) {
  while (running && c.inflight < opt.window) {
    const s = c.seq++;
    const t = performance.now();
    sentAt.set(`${c.agent}:${s}`, t);
    c.pending.push([s + 1, t]);
    c.inflight++;
    c.ws.send(encode([3, null, [[], [[0, c.agent, s, s ? [c.agent, s - 1] : null, null, 'x']]]]));
  }
}

function onMessage(c, m, resolve) {
  if (m[0] === 2 && !m[8] && c.agent === null) {
    c.agent = m[1];
    resolve(c);
  } else if (m[0] === 4) {
    const now = performance.now();
    while (c.pending.length && c.pending[0][0] <= m[2]) {
      ackLat.push(now - c.pending.shift()[1]);
      acks++;
      c.inflight--;
    }
    pump(c);
  } else if (m[0] === 3) {
    const op = m[2][1][0];
    const t = sentAt.get(`${op[1]}:${op[2]}`);
    if (t !== undefined) peerLat.push(performance.now() - t);
  } else if (m[0] === 9) {
    console.error(`server error ${m[1]}: ${m[2]}`);
  }
}

function open(doc) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(opt.url, 'weft.1', { perMessageDeflate: false });
    const c = { ws, agent: null, seq: 0, inflight: 0, pending: [] };
    ws.on('message', (d) => onMessage(c, decode(d), resolve));
    ws.on('error', reject);
    ws.on('open', () => ws.send(encode([1, 1, doc, null, null, [], ['load', '#888888']])));
  });
}

const pct = (a, p) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length ? Number(s[Math.floor(p * (s.length - 1))].toFixed(2)) : null;
};

const run = `${Date.now()}`;
const clients = [];
for (let i = 0; i < opt.clients; i++) clients.push(await open(`load-${run}-${i % opt.docs}`));
const t0 = performance.now();
for (const c of clients) pump(c);
await new Promise((r) => setTimeout(r, opt.secs * 1000));
running = false;
const dt = (performance.now() - t0) / 1000;
console.log(JSON.stringify({
  clients: opt.clients, docs: opt.docs, window: opt.window, secs: Number(dt.toFixed(1)),
  acks_per_s: Math.round(acks / dt),
  ack_ms_p50: pct(ackLat, 0.5), ack_ms_p99: pct(ackLat, 0.99),
  peer_ms_p50: pct(peerLat, 0.5), peer_ms_p99: pct(peerLat, 0.99),
}));
for (const c of clients) c.ws.terminate();
process.exit(0);
