// weft.js — the Weft client: one Session per (document, connection), over
// the WebAssembly engine and the weft.1 protocol (docs/protocol.md). An ES
// module for browsers and Node; documented in docs/client.md.
//
//   const s = connect('ws://localhost:8080/ws', { doc: 'notes', user: { name: 'Ada', color: '#3b82f6' } });
//   await s.ready;
//   s.on('change', ({ changes, remote }) => { if (remote) editor.dispatch({ changes }); });
//   s.insert(0, 'hello');
//
// How it stays correct (docs/client.md, "Guarantees"):
//  - every local edit goes into the engine at once and into an outbox of
//    wire batches; the outbox is sent while synced and kept while not;
//  - a hello carries the session's agent and version vector; the welcome
//    brings what the client lacks and next_seq, the first of the client's
//    own seqs the server does not hold durably; the outbox is re-sent from
//    there (trimmed), so nothing is lost, and the engine and the server
//    drop anything they already have, so nothing is duplicated;
//  - acks drop outbox batches; `unacked` counts the seqs still waiting.
import {
  encode, decodeMessage, hello, opsMsg, presenceMsg, ping as pingMsg, pong as pongMsg,
  T, BODY, CLOSE, SUBPROTOCOL, ProtoError,
} from './codec.js';
import { snapshotSections } from './snapshot.js';
import { getEngine, Replica, trimWire, NONE } from './engine.js';

export { ProtoError, CLOSE, SUBPROTOCOL };
export { encode, decodeMessage, decodeValue } from './codec.js';
export { decodeSnapshot } from './snapshot.js';

// Close codes after which reconnecting cannot help: the session ends.
const FATAL = new Set([
  CLOSE.UNSUPPORTED_DATA, CLOSE.POLICY, CLOSE.BAD_MESSAGE, CLOSE.PROTO_VERSION, CLOSE.BAD_TOKEN,
  CLOSE.TOKEN_EXPIRED, CLOSE.FORBIDDEN, CLOSE.READ_ONLY, CLOSE.UNKNOWN_DOC, CLOSE.DOC_TOO_LARGE,
  CLOSE.BAD_OP, CLOSE.AGENT_CONFLICT,
]);

const DEFAULTS = {
  pingInterval: 15000, // an app-level ping this often
  pingTimeout: 30000, // no frame at all for this long: the link is dead
  connectTimeout: 10000, // a WebSocket handshake that takes longer is dropped
  backoffBase: 250, // first reconnect delay (then doubled), with jitter
  backoffMax: 10000,
  presenceRefresh: 15000, // re-send my presence (the server expires it after 30 s)
};

const now = () => Date.now();

// The anchor of the wire ([side, agent?, seq]) and the engine's.
const wireAnchor = (a) => [a.assoc < 0 ? 1 : 0, a.agent === NONE ? null : a.agent, a.seq];
const engineAnchor = ([side, agent, seq]) => ({ agent: agent ?? NONE, seq, assoc: side ? -1 : 0 });

// One change from a to b (UTF-16), never splitting a surrogate pair.
function diffText(a, b) {
  let p = 0;
  const max = Math.min(a.length, b.length);
  while (p < max && a.charCodeAt(p) === b.charCodeAt(p)) p++;
  if (p > 0 && p < max + 1 && (a.charCodeAt(p - 1) & 0xfc00) === 0xd800) p--;
  let s = 0;
  while (s < max - p && a.charCodeAt(a.length - 1 - s) === b.charCodeAt(b.length - 1 - s)) s++;
  if (s > 0 && (a.charCodeAt(a.length - s) & 0xfc00) === 0xdc00) s--;
  if (p === a.length && p === b.length) return [];
  return [{ from: p, to: a.length - s, insert: b.slice(p, b.length - s) }];
}

export class Session {
  constructor(url, opts = {}) {
    if (!opts.doc) throw new Error('weft: connect() needs opts.doc');
    this.url = url;
    this.doc = opts.doc;
    this.token = opts.token ?? null;
    this.user = opts.user ?? null;
    this.opts = { ...DEFAULTS, ...opts };
    this.WebSocket = opts.WebSocket ?? globalThis.WebSocket;
    if (!this.WebSocket) throw new Error('weft: no WebSocket (in Node, pass { WebSocket } from the ws package)');

    this.state = 'connecting';
    this.agent = null;
    this.lsn = 0;
    this.error = null; // {code, reason} of a fatal close
    this._listeners = new Map();
    this._engine = null;
    this._replica = null;
    this._outbox = []; // [{batch, end}], end = my next seq after the batch
    this._pending = []; // local engine ops not yet in a batch
    this._acked = 0; // my seqs below this are durable on the server
    this._peers = new Map(); // agent -> {clock, state, anchor16, head16}
    this._sel = null; // {anchor, head} engine anchors of my selection
    this._clock = 0;
    this._ws = null;
    this._gen = 0;
    this._inbox = Promise.resolve();
    this._welcome = null;
    this._attempt = 0;
    this._timers = { reconnect: null, beat: null, presence: null, connect: null };
    this._lastStatus = '';
    this._closed = false;
    this.ready = new Promise((resolve, reject) => { this._ready = { resolve, reject, done: false }; });
    this.ready.catch(() => {});
    this._start();
  }

  // ---- events -------------------------------------------------------------------
  // on('change' | 'presence' | 'status' | 'error', fn); returns an unsubscribe function.
  on(name, fn) {
    if (!this._listeners.has(name)) this._listeners.set(name, new Set());
    this._listeners.get(name).add(fn);
    return () => this.off(name, fn);
  }
  off(name, fn) { this._listeners.get(name)?.delete(fn); }
  _emit(name, arg) {
    for (const fn of [...(this._listeners.get(name) ?? [])]) {
      try {
        fn(arg);
      } catch (e) {
        setTimeout(() => { throw e; });
      }
    }
  }

  _setState(state) {
    this.state = state;
    this._status();
  }
  _status() {
    const s = { state: this.state, unacked: this.unacked };
    const key = `${s.state}/${s.unacked}`;
    if (key === this._lastStatus) return;
    this._lastStatus = key;
    this._emit('status', s);
  }

  // ---- reading --------------------------------------------------------------------
  get text() { return this._replica ? this._replica.doc.text() : (this._finalText ?? ''); }
  get length16() { return this._replica ? this._replica.doc.len16() : 0; }
  // My seqs (characters inserted or deleted) the server has not acknowledged.
  get unacked() {
    if (!this._replica || this.agent === null) return 0;
    return Math.max(0, this._replica.doc.nextSeq(this.agent) - this._acked);
  }
  get version() { return this._replica ? this._replica.doc.version() : []; }
  get peers() { return this._peerList(); }

  // ---- local edits -------------------------------------------------------------------
  _editable() {
    if (this._closed) throw new Error('weft: session closed');
    if (!this._replica) throw new Error('weft: not synced yet (await session.ready before editing)');
    return this._replica.doc;
  }
  insert(index16, text) {
    if (!text) return;
    const ops = this._editable().insert16(index16, text);
    this._local(ops, [{ from: index16, to: index16, insert: text }]);
  }
  delete(index16, length16) {
    if (!length16) return;
    const ops = this._editable().delete16(index16, length16);
    this._local(ops, [{ from: index16, to: index16 + length16, insert: '' }]);
  }
  // Several edits as one change event; changes = [{from, to, insert}] applied in order.
  apply(changes) {
    const doc = this._editable();
    const ops = doc.transact((d) => {
      for (const c of changes) {
        if (c.to > c.from) d.delete16(c.from, c.to - c.from);
        if (c.insert) d.insert16(c.from, c.insert);
      }
    });
    this._local(ops, changes);
  }

  _local(ops, changes) {
    if (ops.length) {
      this._pending.push(...ops);
      if (this._pending.length === ops.length) queueMicrotask(() => this._flush());
    }
    this._emit('change', { changes, remote: false });
    this._status();
    if (this._peers.size) this._emitPresence();
  }

  // Turns pending local ops into one batch in the outbox; sends it if synced.
  _flush() {
    if (!this._pending.length || !this._replica) return;
    const batch = this._replica.localBatch(this._pending);
    this._pending = [];
    this._outbox.push({ batch, end: this._replica.doc.nextSeq(this.agent) });
    if (this.state === 'synced') this._send(opsMsg(batch));
  }

  // ---- presence --------------------------------------------------------------------
  // My cursor (anchor16 === head16) or selection, in UTF-16 offsets; null clears it.
  setSelection(anchor16, head16 = anchor16) {
    if (anchor16 === null || anchor16 === undefined) {
      this._sel = null;
    } else {
      const doc = this._editable();
      const a = doc.anchor(doc.posFrom16(anchor16), 0);
      const h = head16 === anchor16 ? a : doc.anchor(doc.posFrom16(head16), 0);
      this._sel = { anchor: a, head: h };
    }
    this._sendPresence();
  }
  setUser(user) {
    this.user = user;
    this._sendPresence();
  }

  _sendPresence() {
    if (this.state !== 'synced') return; // sent after the next welcome
    this._clock = (this._clock + 1) >>> 0;
    const u = [this.user?.name ?? '', this.user?.color ?? this.user?.colour ?? ''];
    const st = this._sel ? [wireAnchor(this._sel.anchor), wireAnchor(this._sel.head), u] : null;
    this._send(presenceMsg(this.agent, this._clock, st));
  }

  _resolve(a, last) {
    const doc = this._replica?.doc;
    if (!doc) return last;
    const p = doc.anchorPos(a);
    return p === null ? last : doc.pos16(p);
  }

  _peerList() {
    const out = [];
    for (const [agent, p] of this._peers) {
      if (!p.state) continue;
      p.anchor16 = this._resolve(p.state.anchor, p.anchor16);
      p.head16 = this._resolve(p.state.head, p.head16);
      out.push({ agent, name: p.state.user[0], color: p.state.user[1], anchor: p.anchor16 ?? 0, head: p.head16 ?? 0 });
    }
    return out;
  }
  _emitPresence() { this._emit('presence', this._peerList()); }

  // A presence entry [agent, clock, state]: kept if newer (or equal with nil).
  _presence(agent, clock, st) {
    if (agent === this.agent) {
      // The server says my entry is gone (expired): bump my clock and re-send.
      if (st === null && this._sel && clock >= this._clock) {
        this._clock = clock;
        this._sendPresence();
      }
      return false;
    }
    const old = this._peers.get(agent);
    if (old && !(clock > old.clock || (clock === old.clock && st === null))) return false;
    if (st === null) {
      this._peers.delete(agent);
    } else {
      this._peers.set(agent, {
        clock,
        state: { anchor: engineAnchor(st[0]), head: engineAnchor(st[1]), user: st[2] },
        anchor16: old?.anchor16, head16: old?.head16,
      });
    }
    return true;
  }

  // ---- connection ---------------------------------------------------------------------
  async _start() {
    try {
      this._engine = await getEngine(this.opts.wasm);
    } catch (e) {
      this._fatal({ code: 0, reason: `cannot load the engine: ${e.message}` });
      return;
    }
    if (!this._closed) this._open();
  }

  _open() {
    const gen = ++this._gen;
    this._welcome = null;
    this._setState('connecting');
    let ws;
    try {
      ws = new this.WebSocket(this.url, SUBPROTOCOL);
    } catch (e) {
      this._emit('error', e);
      this._lost(gen, 0, e.message);
      return;
    }
    this._ws = ws;
    ws.binaryType = 'arraybuffer';
    // Before the socket opens nothing else watches it: a handshake that
    // hangs (a half-dead server or proxy) would otherwise hang forever.
    clearTimeout(this._timers.connect);
    this._timers.connect = setTimeout(() => {
      if (gen === this._gen && this.state === 'connecting') this._drop(gen, 'connect timeout');
    }, this.opts.connectTimeout);
    ws.onopen = () => {
      if (gen !== this._gen) return;
      clearTimeout(this._timers.connect);
      this._heard = now();
      this._pinged = now();
      this._setState('online');
      this._send(hello({
        doc: this.doc, token: this.token, agent: this.agent,
        vv: this._replica ? this._replica.doc.version() : [],
        user: this.user ? [this.user.name ?? '', this.user.color ?? this.user.colour ?? ''] : null,
      }));
      this._beat(gen);
    };
    ws.onmessage = (ev) => {
      if (gen !== this._gen) return;
      this._heard = now();
      const data = ev.data;
      this._inbox = this._inbox.then(() => this._frame(gen, data)).catch((e) => {
        if (gen !== this._gen) return;
        this._emit('error', e);
        // A frame we cannot follow: start over on a new connection.
        this._drop(gen, e.message);
      });
    };
    ws.onerror = () => {};
    ws.onclose = (ev) => {
      if (gen !== this._gen) return;
      this._inbox.then(() => this._lost(gen, ev.code, ev.reason));
    };
  }

  _send(msg) {
    const ws = this._ws;
    if (ws && ws.readyState === 1) ws.send(encode(msg));
  }

  // Heartbeat: a ping every pingInterval; nothing heard for pingTimeout = dead.
  _beat(gen) {
    clearInterval(this._timers.beat);
    const tick = Math.max(50, Math.min(this.opts.pingInterval, this.opts.pingTimeout / 3));
    this._timers.beat = setInterval(() => {
      if (gen !== this._gen) return;
      const t = now();
      if (t - this._heard >= this.opts.pingTimeout) {
        this._drop(gen, 'heartbeat timeout');
      } else if (t - this._pinged >= this.opts.pingInterval) {
        this._pinged = t;
        this._send(pingMsg(t));
      }
    }, tick);
  }

  // Abandons the current socket (dead link, a frame we cannot follow) and
  // reconnects: like an abnormal close (1006), never fatal.
  _drop(gen, reason) {
    if (gen !== this._gen) return;
    const ws = this._ws;
    try {
      if (typeof ws.terminate === 'function') ws.terminate();
      else ws.close();
    } catch { /* already closed */ }
    this._lost(gen, 1006, reason);
  }

  _lost(gen, code, reason) {
    if (gen !== this._gen || this._closed) return;
    this._gen++; // ignore anything the old socket still delivers
    this._ws = null;
    clearTimeout(this._timers.connect);
    clearInterval(this._timers.beat);
    clearInterval(this._timers.presence);
    this._flush();
    if (this._peers.size) {
      this._peers.clear();
      this._emitPresence();
    }
    if (FATAL.has(code)) {
      this._fatal({ code, reason: this._lastError?.[1] === code ? this._lastError[2] : reason });
      return;
    }
    this._setState('offline');
    const delay = Math.min(this.opts.backoffMax, this.opts.backoffBase * 2 ** this._attempt);
    this._attempt = Math.min(this._attempt + 1, 20);
    const jittered = delay / 2 + Math.random() * (delay / 2);
    this._timers.reconnect = setTimeout(() => { if (!this._closed) this._open(); }, jittered);
  }

  _fatal(err) {
    this.error = err;
    this._emit('error', Object.assign(new Error(`weft: closed ${err.code}: ${err.reason}`), err));
    this._shutdown();
    if (!this._ready.done) this._ready.reject(Object.assign(new Error(`weft: ${err.reason} (${err.code})`), err));
  }

  // Ends the session: no reconnects; the text stays readable.
  close() {
    if (this._closed) return;
    const ws = this._ws;
    this._gen++;
    this._flush();
    if (ws) {
      try { ws.close(1000); } catch { /* ignore */ }
    }
    this._shutdown();
    if (!this._ready.done) this._ready.reject(new Error('weft: session closed before it synced'));
  }

  _shutdown() {
    this._closed = true;
    this._ws = null;
    clearTimeout(this._timers.reconnect);
    clearTimeout(this._timers.connect);
    clearInterval(this._timers.beat);
    clearInterval(this._timers.presence);
    this._setState('closed');
    if (this._replica) {
      this._finalText = this._replica.doc.text();
      this._replica.free();
      this._replica = null;
    }
  }

  // ---- incoming frames --------------------------------------------------------------
  async _frame(gen, data) {
    if (gen !== this._gen) return;
    if (typeof data === 'string') throw new ProtoError('SHAPE', 'text frame from the server');
    const m = decodeMessage(data instanceof ArrayBuffer ? new Uint8Array(data) : data);
    switch (m[0]) {
      case T.WELCOME: return this._onWelcome(gen, m);
      case T.OPS: return this._onOps(m);
      case T.ACK:
        if (m[1] === this.agent && m[2] > this._acked) {
          this._acked = m[2];
          this._outbox = this._outbox.filter((b) => b.end > this._acked);
          this._status();
        }
        this.lsn = Math.max(this.lsn, m[3]);
        return;
      case T.PRESENCE:
        if (this._presence(m[1], m[2], m[3])) this._emitPresence();
        return;
      case T.LEAVE:
        if (this._peers.delete(m[1])) this._emitPresence();
        return;
      case T.PING:
        this._send(pongMsg(m[1]));
        return;
      case T.PONG:
        return;
      case T.ERROR:
        this._lastError = m;
        return;
      default:
        throw new ProtoError('UNEXPECTED', `message type ${m[0]} from the server`);
    }
  }

  _remote(patches) {
    if (!patches.length) return;
    const changes = patches.map((p) => ({ from: p.pos16, to: p.pos16 + p.del16, insert: p.text }));
    this._emit('change', { changes, remote: true });
  }

  _onOps(m) {
    if (!this._replica) throw new ProtoError('UNEXPECTED', 'ops before welcome');
    this._flush(); // local ops first: their batch's parents were the frontier before these
    if (m[1] !== null) this.lsn = Math.max(this.lsn, m[1]);
    this._remote(this._replica.applyBatch(m[2]));
    if (this._peers.size) this._emitPresence();
  }

  async _onWelcome(gen, m) {
    const [, agent, nextSeq, vv, lsn, kind, body, pres, more] = m;
    const first = this._welcome === null;
    if (first) {
      this._welcome = { agent, nextSeq, vv, lsn };
      this._flush();
      if (this.agent !== null && agent !== this.agent) {
        // The server refused my agent (its database lost it, or a token of
        // another user): ops of the old agent can never be accepted, and
        // sending them would be an AGENT_CONFLICT. Say so; start afresh.
        if (this.unacked > 0)
          this._emit('error', new Error(`weft: the server gave agent ${agent} instead of ${this.agent}; ${this.unacked} unacknowledged seqs are dropped`));
        this._outbox = [];
      }
      if (kind === BODY.SNAPSHOT) {
        const sec = await snapshotSections(body);
        if (gen !== this._gen) return;
        this._loadSnapshot(sec, agent);
      } else if (!this._replica) {
        this._replica = new Replica(this._engine, this._engine.newDoc(agent));
      }
      if (this._replica.doc.agent !== agent) this._replica.doc.setAgent(agent);
      if (this.agent !== agent) this._acked = 0;
      this.agent = agent;
    } else if (kind === BODY.SNAPSHOT) {
      throw new ProtoError('UNEXPECTED', 'snapshot in a later welcome chunk');
    }
    if (kind === BODY.OPS) {
      const patches = [];
      for (const [, batch] of body) patches.push(...this._replica.applyBatch(batch));
      this._remote(patches);
    }
    if (pres.length) {
      this._peers.clear();
      for (const [a, c, st] of pres) this._presence(a, c, st);
    }
    if (more) return;

    // The last chunk: re-send what the server lacks, then we are in sync.
    this.lsn = Math.max(this.lsn, lsn);
    this._acked = Math.max(this._acked, nextSeq);
    this._outbox = this._outbox.filter((b) => b.end > this._acked);
    this._attempt = 0;
    this.state = 'synced';
    for (const b of this._outbox) {
      const ops = b.batch[1].map((w) => trimWire(w, this._acked)).filter(Boolean);
      if (ops.length) this._send(opsMsg([b.batch[0], ops]));
    }
    this._status();
    this._emitPresence();
    if (this._sel) this._sendPresence();
    clearInterval(this._timers.presence);
    this._timers.presence = setInterval(() => {
      if (gen === this._gen && this._sel) this._sendPresence();
    }, this.opts.presenceRefresh);
    if (!this._ready.done) {
      this._ready.done = true;
      this._ready.resolve(this);
    }
  }

  // A snapshot body: a fresh document; on a reconnect the ops only this
  // client has (its unacknowledged edits) are applied on top, and the
  // editor gets one change from the old text to the new one.
  _loadSnapshot(sec, agent) {
    const fresh = Replica.fromSections(this._engine, sec, agent);
    if (!this._replica) {
      this._replica = fresh;
      const text = fresh.doc.text();
      if (text) this._emit('change', { changes: [{ from: 0, to: 0, insert: text }], remote: true });
      return;
    }
    const before = this._replica.doc.text();
    const mine = this._replica.doc.opsSince(fresh.doc.version());
    if (mine.length) fresh.doc.apply(mine, { patches: false });
    // Parents of later batches: the last seq of every agent known (an
    // over-approximation of the frontier, every entry known to the server
    // or in the outbox ahead of them).
    const heads = new Map();
    for (const f of this._replica.frontier.concat(fresh.frontier))
      if (!(heads.get(f.agent) >= f.seq)) heads.set(f.agent, f.seq);
    fresh.frontier = [...heads].map(([a, s]) => ({ agent: a, seq: s })).sort((a, b) => a.agent - b.agent);
    this._replica.free();
    this._replica = fresh;
    const changes = diffText(before, fresh.doc.text());
    if (changes.length) this._emit('change', { changes, remote: true });
  }
}

// Opens a session; it connects (and reconnects) in the background.
export function connect(url, opts) {
  return new Session(url, opts);
}

// ---- the JSON history API (docs/api.md) --------------------------------------------
// baseUrl: the server's http(s) origin, e.g. 'http://localhost:8080' (a ws(s)
// URL is accepted too).
function apiUrl(baseUrl, doc, route, query = {}) {
  const base = String(baseUrl).replace(/^ws(s?):/, 'http$1:').replace(/\/ws\/?$/, '').replace(/\/+$/, '');
  const q = Object.entries(query).filter(([, v]) => v !== undefined && v !== null)
    .map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
  return `${base}/api/docs/${encodeURIComponent(doc)}${route ? `/${route}` : ''}${q ? `?${q}` : ''}`;
}

// token: sent as a Bearer token; the server requires one when it has a secret.
async function getJson(url, token) {
  const r = await fetch(url, token ? { headers: { authorization: `Bearer ${token}` } } : undefined);
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw Object.assign(new Error(`weft: GET ${url}: HTTP ${r.status}${body.error ? `: ${body.error}` : ''}`), { status: r.status });
  return body;
}

// Each takes an optional { token } last: the access token for this document.
// {lsn, created, versions: [{lsn, time, agent, user}], next}
export const fetchVersions = (baseUrl, doc, { from, limit, token } = {}) =>
  getJson(apiUrl(baseUrl, doc, 'versions', { from, limit }), token);
// {lsn, text} at version lsn (default: the head)
export const fetchText = (baseUrl, doc, lsn, { token } = {}) => getJson(apiUrl(baseUrl, doc, 'text', { lsn }), token);
// {lsn, spans: [{text, agent, user, time}]}
export const fetchBlame = (baseUrl, doc, lsn, { token } = {}) => getJson(apiUrl(baseUrl, doc, 'blame', { lsn }), token);
// {from, to, ops: [{op: 'eq' | 'ins' | 'del', text}]}
export const fetchDiff = (baseUrl, doc, from, to, { token } = {}) =>
  getJson(apiUrl(baseUrl, doc, 'diff', { from, to }), token);
