// peer-client.mjs — the load generator's client for the Yjs servers:
// @y/websocket-server driven through y-websocket's WebsocketProvider, and
// @hocuspocus/server through @hocuspocus/provider. Every connection is a
// full Yjs replica (its own Y.Doc and provider) in this one process, with
// cursor presence through the provider's awareness, as an editor would.
//
//   node peer-client.mjs --system yws|hocus --url ws://127.0.0.1:PORT --scenario S1 [options]
//
// The options, scenarios and the JSON lines on stdout are the contract in
// README.md ("The contract"); diagnostics go to stderr.
//
// Latency: a typist records performance.now() under the Yjs ID (client,
// clock) of each character it inserts; a receiver's afterTransaction sees,
// per client, the clock range the remote update integrated (beforeState ..
// afterState) and looks those IDs up. Sender and receivers share this
// process, so one clock serves both.
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import { HocuspocusProvider } from '@hocuspocus/provider';

const SCENARIO_DEFAULTS = {
  S1: { rooms: 1, clients: 2, typists: 1, rate: 100, secs: 10, presence: 0 },
  S2: { rooms: 1, clients: 50, typists: 5, rate: 10, secs: 15, presence: 1 },
  S3: { rooms: 200, clients: 5, typists: 1, rate: 5, secs: 15, presence: 0 },
  S4: { rooms: 1, clients: 1, typists: 0, rate: 0, secs: 0, presence: 0, joins: 20, coldWait: 0 },
  S5: { rooms: 1000, clients: 5, typists: 0, rate: 0, secs: 5, presence: 0 },
  S6: { rooms: 10, clients: 0, typists: 0, rate: 0, secs: 10, presence: 0, writers: 50, window: 4 },
};
const CONNECT_PARALLEL = 200; // connections being opened at once
const CONNECT_TIMEOUT_MS = 90_000;
const DRAIN_TIMEOUT_MS = 10_000; // after the typing stops, for the last deliveries
const SETTLE_TIMEOUT_MS = 5_000; // for the replicas to agree
const JOIN_TIMEOUT_MS = 30_000;
const CHARS = 'abcdefghijklmnopqrstuvwxyz ';

process.setMaxListeners(0); // y-websocket adds an 'exit' listener per provider
const log = (...a) => process.stderr.write(`peer-client: ${a.join(' ')}\n`);
const emit = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function usage(msg) {
  process.stderr.write(`peer-client: ${msg}\nusage: node peer-client.mjs --system yws|hocus --url ws://HOST:PORT --scenario S1..S6 ` +
    '[--rooms N --clients N --typists N --rate CPS --secs S --presence 0|1 --room-prefix STR --seed N ' +
    '--trace PATH --joins N --cold-wait SECS --writers N --window N --threads N]\n');
  process.exit(2);
}

function options() {
  const num = { type: 'string' };
  const { values } = parseArgs({
    options: {
      system: { type: 'string' }, url: { type: 'string' }, scenario: { type: 'string' },
      rooms: num, clients: num, typists: num, rate: num, secs: num, presence: num,
      'room-prefix': { type: 'string' }, seed: num, trace: { type: 'string' },
      joins: num, 'cold-wait': num, writers: num, window: num, threads: num,
    },
    strict: true,
  });
  if (!['yws', 'hocus'].includes(values.system)) usage('--system must be yws or hocus');
  if (!values.url) usage('--url is required');
  const d = SCENARIO_DEFAULTS[values.scenario];
  if (!d) usage('--scenario must be one of S1..S6');
  const pick = (name, key = name) => {
    if (values[name] === undefined) return d[key];
    const v = Number(values[name]);
    if (!Number.isFinite(v) || v < 0) usage(`--${name} must be a non-negative number`);
    return v;
  };
  return {
    system: values.system, url: values.url.replace(/\/+$/, ''), scenario: values.scenario,
    rooms: pick('rooms'), clients: pick('clients'), typists: pick('typists'), rate: pick('rate'),
    secs: pick('secs'), presence: pick('presence'), seed: values.seed === undefined ? 1 : pick('seed'),
    joins: pick('joins'), coldWait: pick('cold-wait', 'coldWait'), writers: pick('writers'),
    window: pick('window'), trace: values.trace, threads: values.threads === undefined ? 1 : pick('threads'),
    roomPrefix: values['room-prefix'] ?? `load-${values.system}-${values.scenario}-${process.pid}-`,
  };
}

// mulberry32: a small seeded generator, so a run's typing replays from --seed.
function rng32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// A growable array of doubles (latency samples, send times by clock).
class Samples {
  constructor() { this.a = new Float64Array(1024); this.n = 0; }
  push(v) {
    if (this.n === this.a.length) { const b = new Float64Array(this.a.length * 2); b.set(this.a); this.a = b; }
    this.a[this.n++] = v;
  }
  summary() {
    if (this.n === 0) return null;
    const s = this.a.slice(0, this.n).sort();
    const q = (p) => s[Math.min(this.n - 1, Math.max(0, Math.ceil(p * this.n) - 1))];
    const r = (v) => Math.round(v * 1000) / 1000;
    return { n: this.n, p50: r(q(0.5)), p95: r(q(0.95)), p99: r(q(0.99)), max: r(s[this.n - 1]) };
  }
}

const state = { errors: 0, notes: [], live: false };

// One connection: a Y.Doc and its provider. `synced` resolves after the
// provider's first full sync with the server.
function openConn(opt, room) {
  const doc = new Y.Doc();
  const text = doc.getText('text');
  const conn = { doc, text, provider: null, awareness: null, closedOnPurpose: false };
  let resolveSynced;
  conn.synced = new Promise((r) => { resolveSynced = r; });
  const lost = (what) => {
    if (conn.closedOnPurpose) return;
    state.errors++;
    if (state.errors <= 5) log(`${what} on room ${room}`);
  };
  if (opt.system === 'yws') {
    const p = new WebsocketProvider(opt.url, room, doc, { WebSocketPolyfill: WebSocket, disableBc: true });
    p.on('sync', (s) => s && resolveSynced());
    p.on('connection-close', () => { if (state.live) lost('connection closed'); });
    p.on('connection-error', () => lost('connection error'));
    conn.provider = p;
    conn.awareness = p.awareness;
    conn.destroy = () => { conn.closedOnPurpose = true; p.destroy(); doc.destroy(); };
  } else {
    const p = new HocuspocusProvider({
      url: opt.url, name: room, document: doc, WebSocketPolyfill: WebSocket,
      onSynced: () => resolveSynced(),
      onClose: () => { if (state.live) lost('connection closed'); },
      onAuthenticationFailed: () => lost('authentication failed'),
    });
    conn.provider = p;
    conn.awareness = p.awareness;
    conn.destroy = () => { conn.closedOnPurpose = true; p.destroy(); doc.destroy(); };
  }
  conn.awareness.setLocalStateField('user', { name: `u${doc.clientID % 10000}`, color: '#3b7dd8' });
  return conn;
}

function withTimeout(promise, ms, what) {
  let t;
  return Promise.race([promise, new Promise((_, rej) => { t = setTimeout(() => rej(new Error(`${what} timed out after ${ms} ms`)), ms); })])
    .finally(() => clearTimeout(t));
}

// Opens rooms × perRoom connections, at most CONNECT_PARALLEL at a time,
// and waits until every one is synced.
async function openAll(opt, perRoom, firstRoom = 0) {
  const rooms = [];
  const pending = new Set();
  for (let r = 0; r < opt.rooms; r++) {
    const room = { name: `${opt.roomPrefix}${firstRoom + r}`, conns: [] };
    rooms.push(room);
    for (let c = 0; c < perRoom; c++) {
      while (pending.size >= CONNECT_PARALLEL) await Promise.race(pending);
      const conn = openConn(opt, room.name);
      room.conns.push(conn);
      const p = conn.synced.then(() => pending.delete(p));
      pending.add(p);
    }
  }
  await Promise.all(pending);
  return rooms;
}

function cpuSec() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

// Text each client authored, in document order, from Yjs's item list.
function authoredText(text) {
  const by = new Map();
  for (let it = text._start; it !== null; it = it.right) {
    if (it.deleted || !it.countable) continue;
    const s = it.content.getContent().join('');
    by.set(it.id.client, (by.get(it.id.client) ?? '') + s);
  }
  return by;
}

// Every replica of every room holds the same text, and that text is
// exactly the typists' characters, each typist's in the order typed.
async function converged(rooms, typedBy) {
  const deadline = performance.now() + SETTLE_TIMEOUT_MS;
  for (const room of rooms) {
    for (;;) {
      const first = room.conns[0].text.toString();
      if (room.conns.every((c) => c.text.toString() === first)) break;
      if (performance.now() > deadline) {
        log(`room ${room.name}: replicas differ`);
        return false;
      }
      await sleep(20);
    }
    const got = authoredText(room.conns[0].text);
    let total = 0;
    for (const c of room.typists ?? []) {
      const want = typedBy.get(c.doc.clientID) ?? '';
      total += want.length;
      if ((got.get(c.doc.clientID) ?? '') !== want) {
        log(`room ${room.name}: client ${c.doc.clientID}'s text is not what it typed`);
        return false;
      }
    }
    if (room.conns[0].text.length !== total) {
      log(`room ${room.name}: ${room.conns[0].text.length} chars, ${total} typed`);
      return false;
    }
  }
  return true;
}

function baseResult(opt, rooms, conns) {
  return {
    event: 'result', system: opt.system, scenario: opt.scenario, conns, rooms,
    secs: 0, sent: 0, expected: 0, delivered: 0, lat: null, opsPerSec: null, converged: null,
    ack: null, acksPerSec: null, joinWarm: null, joinCold: null, docChars: null,
    clientCpuSec: 0, errors: 0, notes: state.notes,
  };
}

// S1, S2, S3: typists type at --rate into their room; every other replica
// of the room records when each character arrives. A TypingPart holds a
// range of rooms; with --threads N each worker thread holds one part (a
// room never spans two threads, so a latency is always measured with one
// thread's clock).
class TypingPart {
  constructor(opt, firstRoom, nRooms) {
    this.opt = opt;
    this.firstRoom = firstRoom;
    this.nRooms = nRooms;
    this.sendTimes = new Map(); // clientID -> Samples indexed by clock
    this.typedBy = new Map(); // clientID -> string typed
    this.lat = new Samples();
    this.delivered = 0;
    this.sent = 0;
    this.expected = 0;
  }

  async open() {
    const opt = { ...this.opt, rooms: this.nRooms };
    this.rooms = await withTimeout(openAll(opt, opt.clients, this.firstRoom), CONNECT_TIMEOUT_MS, 'connecting');
    for (const room of this.rooms) {
      room.typists = room.conns.slice(0, opt.typists);
      for (const c of room.conns) c.doc.on('afterTransaction', (tr) => this.received(tr));
    }
    state.live = true;
  }

  received(tr) {
    if (tr.local) return;
    const now = performance.now();
    for (const [client, after] of tr.afterState) {
      const before = tr.beforeState.get(client) ?? 0;
      if (after <= before) continue;
      const st = this.sendTimes.get(client);
      if (st === undefined) continue;
      for (let k = before; k < after && k < st.n; k++) {
        this.lat.push(now - st.a[k]);
        this.delivered++;
      }
    }
  }

  // Types for --secs from now, then waits for the last deliveries.
  async run() {
    const opt = this.opt;
    const rng = rng32(opt.seed + this.firstRoom);
    const period = 1000 / opt.rate;
    const t0 = performance.now();
    const tEnd = t0 + opt.secs * 1000;
    const running = [];
    for (const room of this.rooms) {
      for (const c of room.typists) {
        const phase = rng() * period;
        running.push(new Promise((done) => this.typist(c, room.conns.length - 1, rng, t0, phase, period, tEnd, done)));
      }
    }
    await Promise.all(running);
    const typingSecs = (performance.now() - t0) / 1000;
    const drainBy = performance.now() + DRAIN_TIMEOUT_MS;
    while (this.delivered < this.expected && performance.now() < drainBy) await sleep(5);
    state.live = false;
    return { typingSecs, sent: this.sent, expected: this.expected, delivered: this.delivered, lat: this.lat.a.slice(0, this.lat.n) };
  }

  typist(c, receivers, rng, t0, phase, period, tEnd, done) {
    const id = c.doc.clientID;
    const st = new Samples();
    this.sendTimes.set(id, st);
    this.typedBy.set(id, '');
    let n = 0;
    const step = () => {
      const ch = CHARS[(rng() * CHARS.length) | 0];
      const clock = Y.getState(c.doc.store, id);
      if (clock !== st.n) throw new Error(`clock ${clock} != ${st.n} characters typed`);
      st.push(performance.now());
      const pos = c.text.length;
      c.text.insert(pos, ch);
      if (this.opt.presence) {
        const rp = Y.relativePositionToJSON(Y.createRelativePositionFromTypeIndex(c.text, pos + 1));
        c.awareness.setLocalStateField('cursor', { anchor: rp, head: rp });
      }
      this.typedBy.set(id, this.typedBy.get(id) + ch);
      this.sent++;
      this.expected += receivers;
      n++;
      const due = t0 + phase + n * period;
      if (due >= tEnd) return done();
      setTimeout(step, Math.max(0, due - performance.now()));
    };
    setTimeout(step, phase);
  }

  check() { return converged(this.rooms, this.typedBy); }
  close() { for (const r of this.rooms) for (const c of r.conns) c.destroy(); }
}

// The same interface over a worker thread holding one TypingPart.
class ThreadPart {
  constructor(opt, firstRoom, nRooms) {
    this.w = new Worker(new URL(import.meta.url), { workerData: { opt, firstRoom, nRooms }, stderr: false });
    this.queue = [];
    this.w.on('message', (m) => this.queue.shift().resolve(m));
    this.w.on('error', (e) => { for (const q of this.queue.splice(0)) q.reject(e); });
    this.w.on('exit', (code) => { for (const q of this.queue.splice(0)) q.reject(new Error(`worker exited with ${code}`)); });
  }
  call(cmd) {
    return new Promise((resolve, reject) => { this.queue.push({ resolve, reject }); this.w.postMessage(cmd); });
  }
  async open() { const m = await this.call('open'); state.errors += m.errors; }
  async run() { return this.call('run'); }
  async check() { const m = await this.call('check'); state.errors += m.errors; state.notes.push(...m.notes); return m.ok; }
  close() { this.w.postMessage('close'); }
}

// Worker side: answers the main thread's commands one at a time.
function serveWorker() {
  const { opt, firstRoom, nRooms } = workerData;
  const part = new TypingPart(opt, firstRoom, nRooms);
  parentPort.on('message', async (cmd) => {
    try {
      if (cmd === 'open') { await part.open(); parentPort.postMessage({ errors: state.errors }); }
      else if (cmd === 'run') { const r = await part.run(); parentPort.postMessage(r, [r.lat.buffer]); }
      else if (cmd === 'check') { const ok = await part.check(); parentPort.postMessage({ ok, errors: state.errors, notes: state.notes }); }
      else if (cmd === 'close') { part.close(); process.exit(0); }
    } catch (e) {
      log(`worker failed: ${e.stack ?? e}`);
      process.exit(1);
    }
  });
}

async function typing(opt) {
  const threads = Math.max(1, Math.min(opt.threads, opt.rooms));
  const parts = [];
  for (let t = 0, first = 0; t < threads; t++) {
    const n = Math.floor(opt.rooms / threads) + (t < opt.rooms % threads ? 1 : 0);
    parts.push(threads === 1 ? new TypingPart(opt, first, n) : new ThreadPart(opt, first, n));
    first += n;
  }
  await Promise.all(parts.map((p) => p.open()));
  emit({ event: 'ready' });
  await sleep(200);
  const cpu0 = cpuSec();
  emit({ event: 'measure-start' });
  const outs = await Promise.all(parts.map((p) => p.run()));
  emit({ event: 'measure-end' });
  const clientCpuSec = cpuSec() - cpu0;
  const oks = await Promise.all(parts.map((p) => p.check()));
  const lat = new Samples();
  let sent = 0, expected = 0, delivered = 0, typingSecs = 0;
  for (const o of outs) {
    for (const v of o.lat) lat.push(v);
    sent += o.sent;
    expected += o.expected;
    delivered += o.delivered;
    typingSecs = Math.max(typingSecs, o.typingSecs);
  }
  if (delivered < expected) state.notes.push(`${expected - delivered} deliveries missing after a ${DRAIN_TIMEOUT_MS / 1000} s drain`);
  if (threads > 1) state.notes.push(`client spread over ${threads} worker threads`);
  const res = baseResult(opt, opt.rooms, opt.rooms * opt.clients);
  Object.assign(res, {
    secs: round3(typingSecs), sent, expected, delivered, lat: lat.summary(),
    opsPerSec: round3(delivered / typingSecs), converged: oks.every(Boolean), clientCpuSec: round3(clientCpuSec),
  });
  return { res, conns: [], parts };
}

function round3(v) { return Math.round(v * 1000) / 1000; }

function loadTrace(path) {
  const t = JSON.parse(gunzipSync(readFileSync(path)).toString('utf8'));
  const doc = new Y.Doc();
  const text = doc.getText('text');
  for (const txn of t.txns) {
    doc.transact(() => {
      for (const [pos, del, ins] of txn.patches) {
        if (del) text.delete(pos, del);
        if (ins) text.insert(pos, ins);
      }
    });
  }
  if (text.toString() !== t.endContent) throw new Error('trace replay does not end with endContent');
  return { doc, endContent: t.endContent };
}

// One join: connect a fresh replica, wait until it holds the whole text.
async function joinOnce(opt, room, endContent) {
  const t0 = performance.now();
  const conn = openConn(opt, room);
  const full = new Promise((resolve) => {
    const check = () => {
      if (conn.text.length === endContent.length && conn.text.toString() === endContent) {
        conn.doc.off('afterTransaction', check);
        resolve();
      }
    };
    conn.doc.on('afterTransaction', check);
  });
  await withTimeout(full, JOIN_TIMEOUT_MS, `join of room ${room}`);
  const ms = performance.now() - t0;
  conn.destroy();
  return ms;
}

// S4: build the trace's document locally, hand it to the server, then time
// fresh joins: warm (the builder stays connected), then cold (after the
// builder left and --cold-wait seconds passed, again before every sample).
async function join(opt) {
  if (!opt.trace) usage('S4 needs --trace');
  const tb = performance.now();
  const { doc, endContent } = loadTrace(opt.trace);
  log(`trace replayed into Yjs in ${Math.round(performance.now() - tb)} ms, ${endContent.length} chars`);
  const room = `${opt.roomPrefix}0`;
  const builder = openConn({ ...opt }, room);
  // The builder's doc already holds the document: move it over.
  Y.applyUpdate(builder.doc, Y.encodeStateAsUpdate(doc));
  doc.destroy();
  await withTimeout(builder.synced, CONNECT_TIMEOUT_MS, 'builder sync');
  // The server has the text once a fresh replica can fetch all of it.
  await joinOnce(opt, room, endContent);
  state.live = true;
  emit({ event: 'ready' });
  const cpu0 = cpuSec();
  emit({ event: 'measure-start' });
  const t0 = performance.now();
  const warm = new Samples();
  for (let i = 0; i < opt.joins; i++) warm.push(await joinOnce(opt, room, endContent));
  const cold = new Samples();
  state.live = false;
  builder.destroy();
  if (opt.coldWait > 0) {
    for (let i = 0; i < opt.joins; i++) {
      await sleep(opt.coldWait * 1000);
      cold.push(await joinOnce(opt, room, endContent));
    }
  }
  const secs = (performance.now() - t0) / 1000;
  emit({ event: 'measure-end' });
  const res = baseResult(opt, 1, 1 + 2 * opt.joins);
  Object.assign(res, {
    secs: round3(secs), joinWarm: warm.summary(), joinCold: cold.summary(),
    docChars: endContent.length, converged: true, clientCpuSec: round3(cpuSec() - cpu0),
  });
  if (opt.coldWait <= 0) state.notes.push('no cold phase (--cold-wait 0)');
  return { res, conns: [] };
}

// S5: idle connections, all synced, held for --secs.
async function idle(opt) {
  const rooms = await withTimeout(openAll(opt, opt.clients), CONNECT_TIMEOUT_MS * 2, 'connecting');
  state.live = true;
  emit({ event: 'ready' });
  await sleep(500);
  const cpu0 = cpuSec();
  emit({ event: 'measure-start' });
  await sleep(opt.secs * 1000);
  emit({ event: 'measure-end' });
  state.live = false;
  const res = baseResult(opt, rooms.length, rooms.length * opt.clients);
  res.secs = opt.secs;
  res.clientCpuSec = round3(cpuSec() - cpu0);
  res.converged = rooms.every((r) => r.conns.every((c) => c.text.length === 0));
  return { res, conns: rooms.flatMap((r) => r.conns) };
}

// S6: writers keep --window single-character updates in flight and send the
// next when one is acknowledged; with --rate each writer instead types that
// many per second on a fixed schedule (open loop, latency from when the
// update was due, as weft-load does). Hocuspocus answers every update message
// with a SyncStatus once its in-memory document applied it (the provider's
// unsyncedChanges counter goes down); that is the only acknowledgement
// either peer has, and it is not durable. y-websocket has none.
async function durable(opt) {
  if (opt.system === 'yws') {
    state.notes.push('y-websocket has no acknowledgement of any kind: its protocol has no message confirming an update, so no durable acks to count');
    const res = baseResult(opt, opt.rooms, 0);
    emit({ event: 'ready' });
    emit({ event: 'measure-start' });
    emit({ event: 'measure-end' });
    return { res, conns: [] };
  }
  const perRoom = Math.ceil(opt.writers / opt.rooms);
  const rooms = await withTimeout(openAll({ ...opt }, perRoom), CONNECT_TIMEOUT_MS, 'connecting');
  const writers = rooms.flatMap((r) => r.conns).slice(0, opt.writers);
  state.live = true;
  emit({ event: 'ready' });
  await sleep(200);
  const ack = new Samples();
  const cpu0 = cpuSec();
  emit({ event: 'measure-start' });
  const t0 = performance.now();
  const tEnd = t0 + opt.secs * 1000;
  let sent = 0;
  let stopped = false;
  const typedBy = new Map();
  const paced = opt.rate > 0;
  const period = paced ? 1000 / opt.rate : 0;
  const sends = [];
  for (const w of writers) {
    const inflight = [];
    let head = 0;
    let last = w.provider.unsyncedChanges;
    const id = w.doc.clientID;
    typedBy.set(id, '');
    const send = (due = performance.now()) => {
      const ch = CHARS[sent % CHARS.length];
      inflight.push(due);
      w.text.insert(w.text.length, ch);
      typedBy.set(id, typedBy.get(id) + ch);
      sent++;
    };
    sends.push(send);
    w.provider.on('unsyncedChanges', ({ number }) => {
      // Sends below re-enter this handler with increments: take the
      // decrement first.
      const acked = last - number;
      last = number;
      if (acked <= 0) return;
      const now = performance.now();
      for (let k = 0; k < acked && head < inflight.length; k++) ack.push(now - inflight[head++]);
      if (!paced && !stopped && now < tEnd) while (inflight.length - head < opt.window) send();
    });
    if (!paced) for (let k = 0; k < opt.window; k++) send();
  }
  if (paced) {
    // One loop for every writer, woken every millisecond: Node's timers
    // cannot fire 20,000 times a second, and spinning would take CPU from
    // the server on the same two cores. What fell due meanwhile is sent at
    // once; its latency still counts from when it was due.
    const due = sends.map((_, i) => t0 + (period * i) / sends.length);
    let now;
    while ((now = performance.now()) < tEnd) {
      for (let i = 0; i < sends.length; i++)
        for (; due[i] <= now && due[i] < tEnd; due[i] += period) sends[i](due[i]);
      await sleep(1);
    }
  }
  while (performance.now() < tEnd) await sleep(20);
  stopped = true;
  const secs = (performance.now() - t0) / 1000;
  emit({ event: 'measure-end' });
  const drainBy = performance.now() + DRAIN_TIMEOUT_MS;
  while (ack.n < sent && performance.now() < drainBy) await sleep(10);
  state.live = false;
  for (const r of rooms) r.typists = r.conns.filter((c) => writers.includes(c));
  const ok = await converged(rooms, typedBy);
  state.notes.push('ack = Hocuspocus SyncStatus: the update was applied to the server\'s in-memory document; NOT durable (stored later by the debounced onStoreDocument)');
  const res = baseResult(opt, rooms.length, writers.length);
  Object.assign(res, {
    secs: round3(secs), sent, ack: ack.summary(), acksPerSec: round3(ack.n / secs), converged: ok,
    clientCpuSec: round3(cpuSec() - cpu0),
  });
  return { res, conns: rooms.flatMap((r) => r.conns) };
}

async function main() {
  const opt = options();
  const run = { S1: typing, S2: typing, S3: typing, S4: join, S5: idle, S6: durable }[opt.scenario];
  let out;
  try {
    out = await run(opt);
  } catch (e) {
    log(`failed: ${e.stack ?? e}`);
    const res = baseResult(opt, opt.rooms, 0);
    res.errors = state.errors + 1;
    res.converged = false;
    res.notes.push(`failed: ${e.message ?? e}`);
    out = { res, conns: [] };
  }
  out.res.errors = Math.max(out.res.errors, state.errors);
  for (const c of out.conns) c.destroy();
  for (const p of out.parts ?? []) p.close();
  const failed = out.res.errors > 0 || out.res.converged === false;
  process.stdout.write(JSON.stringify(out.res) + '\n', () => process.exit(failed ? 1 : 0));
}

if (isMainThread) main();
else serveWorker();
