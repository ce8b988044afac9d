// A test client speaking weft.1 over `ws`: every frame the server sends is
// checked to be canonical msgpack and recorded with its arrival time; an
// optional Replica (the real engine) follows the document through welcome
// chunks and broadcasts, so tests can edit like a real client does.
import WebSocket from 'ws';
import { performance } from 'node:perf_hooks';
import { encode, strictDecode, hex, hello, opsMsg, T, CLOSE, SUBPROTOCOL, typeName } from './codec.mjs';
import { Replica } from './replica.mjs';
import { timeoutAfter, defer } from './harness.mjs';

let clientSeq = 0;

export class Client {
  constructor(ws, name) {
    this.ws = ws;
    this.name = name;
    this.msgs = []; // {m, at}
    this.bad = []; // frames that were not canonical or not binary
    this.waiters = [];
    this.replica = null;
    this.agent = null;
    this.acked = { nextSeq: 0, lsn: 0 };
    this.acks = [];
    this.closeInfo = null;
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        this.closeInfo = { code, reason: reason.toString(), at: performance.now() };
        resolve(this.closeInfo);
        this.wake();
      });
    });
    ws.on('error', (e) => { this.wsError = e; });
    ws.on('message', (data, isBinary) => this.onFrame(data, isBinary));
  }

  // Connects; resolves the Client once open. Rejects with .status set when
  // the HTTP upgrade was refused.
  static connect(url, { protocols = [SUBPROTOCOL], origin, headers = {}, name, tls = false } = {}) {
    const ws = new WebSocket(url, protocols ?? [], {
      origin, headers, rejectUnauthorized: false, perMessageDeflate: false, handshakeTimeout: 5000,
    });
    const c = new Client(ws, name ?? `c${++clientSeq}`);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(c));
      ws.once('unexpected-response', (req, res) => {
        const e = new Error(`upgrade refused: HTTP ${res.statusCode}`);
        e.status = res.statusCode;
        res.resume();
        ws.terminate();
        reject(e);
      });
      ws.once('error', (e) => reject(e));
      ws.once('close', (code) => reject(Object.assign(new Error(`closed ${code} before open`), { code })));
    });
  }

  onFrame(data, isBinary) {
    const at = performance.now();
    if (!isBinary) {
      this.bad.push({ why: 'text frame from the server', data: String(data) });
      return;
    }
    let m;
    try {
      m = strictDecode(new Uint8Array(data));
    } catch (e) {
      this.bad.push({ why: e.message, hex: hex(data).slice(0, 200) });
      return;
    }
    this.msgs.push({ m, at });
    try {
      this.follow(m);
    } catch (e) {
      this.bad.push({ why: `replica: ${e.message}`, msg: JSON.stringify(m).slice(0, 200) });
    }
    this.wake();
  }

  // Keeps the replica, agent and acks current, answers protocol pings.
  follow(m) {
    switch (m[0]) {
      case T.WELCOME: {
        const first = !this.inWelcome;
        this.inWelcome = m[8] === true;
        if (first) {
          this.agent = m[1];
          this.welcome = { agent: m[1], nextSeq: m[2], vv: m[3], lsn: m[4], kind: m[5], presence: m[7], chunks: 0 };
          if (this.replica) this.replica.startFrom(m[1], m[5], m[6]);
        } else if (this.replica && m[5] === 2) {
          this.replica.applyBatches(m[6]);
        } else if (this.replica && m[5] !== 0) {
          throw new Error(`welcome continuation of kind ${m[5]}`);
        }
        this.welcome.chunks++;
        if (m[7].length) this.welcome.presence = m[7];
        if (!this.inWelcome) this.welcome.done = true;
        break;
      }
      case T.OPS:
        if (this.replica) this.replica.applyBatch(m[2]);
        break;
      case T.ACK:
        this.acks.push({ agent: m[1], nextSeq: m[2], lsn: m[3] });
        if (m[2] > this.acked.nextSeq) this.acked = { nextSeq: m[2], lsn: m[3] };
        break;
      case T.PING:
        this.send([T.PONG, m[1]]);
        break;
      default:
    }
  }

  wake() {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }

  // Waits until cond() is truthy (re-checked on every frame and on close).
  async until(cond, { timeout = 5000, what = 'condition' } = {}) {
    const end = performance.now() + timeout;
    for (;;) {
      const v = cond();
      if (v) return v;
      const left = end - performance.now();
      if (left <= 0) throw new Error(`${this.name}: timed out after ${timeout} ms waiting for ${what}; last frames: ${this.lastFrames()}; close: ${JSON.stringify(this.closeInfo)}`);
      await new Promise((r) => {
        const timer = setTimeout(r, Math.min(left, 200));
        this.waiters.push(() => { clearTimeout(timer); r(); });
      });
    }
  }

  lastFrames(n = 4) {
    return this.msgs.slice(-n).map((x) => JSON.stringify(x.m, (k, v) => (v instanceof Uint8Array ? `<bin ${v.length}>` : v)).slice(0, 160)).join(' | ') || '(none)';
  }

  // The first message (from index `from`) matching pred; waits for it.
  async next(pred, { from = 0, timeout = 5000, what } = {}) {
    let i = from;
    return this.until(() => {
      for (; i < this.msgs.length; i++) if (pred(this.msgs[i].m)) return { ...this.msgs[i], idx: i };
      if (this.closeInfo) throw new Error(`${this.name}: closed (${this.closeInfo.code} ${this.closeInfo.reason}) while waiting for ${what ?? 'a message'}; last frames: ${this.lastFrames()}`);
      return null;
    }, { timeout, what: what ?? pred.toString() });
  }

  ofType(type) { return this.msgs.filter((x) => x.m[0] === type).map((x) => x.m); }

  send(value) { this.ws.send(encode(value), { binary: true }); }
  sendRaw(bytes) { this.ws.send(Buffer.from(bytes), { binary: true }); }
  sendText(s) { this.ws.send(s, { binary: false }); }

  // hello -> every welcome chunk. opts: {doc, token, agent, vv, user, replica}
  async join(opts) {
    if (opts.replica && !this.replica) this.replica = await Replica.create();
    const vv = opts.vv ?? (this.replica?.doc ? this.replica.version() : []);
    const from = this.msgs.length;
    this.send(hello({ ...opts, vv }));
    await this.until(() => {
      if (this.closeInfo) throw new Error(`${this.name}: closed ${this.closeInfo.code} (${this.closeInfo.reason}) instead of welcome; frames: ${this.lastFrames()}`);
      if (this.bad.length) throw new Error(`${this.name}: bad frame during the welcome: ${JSON.stringify(this.bad.at(-1))}`);
      return this.welcome?.done && this.msgs.length > from;
    }, { timeout: opts.timeout ?? 5000, what: 'welcome' });
    return this.welcome;
  }

  // Local edit through the replica; sends the batch. Returns it (or null).
  edit(fn) {
    const batch = this.replica.edit(fn);
    if (batch) this.send(opsMsg(batch));
    return batch;
  }

  insertAt(pos, text) { return this.edit((d) => d.insert(pos, text)); }
  append(text) { return this.edit((d) => d.insert(d.len(), text)); }
  deleteAt(pos, len) { return this.edit((d) => d.delete(pos, len)); }

  // Every op this client made is acknowledged.
  async waitAcked({ timeout = 5000 } = {}) {
    const want = this.replica.doc.nextSeq(this.agent);
    await this.until(() => {
      if (this.closeInfo) throw new Error(`${this.name}: closed ${this.closeInfo.code} (${this.closeInfo.reason}) before ack of seq < ${want}; frames: ${this.lastFrames()}`);
      // Ops below the welcome's next_seq were durable before this session.
      return Math.max(this.acked.nextSeq, this.welcome?.nextSeq ?? 0) >= want;
    }, { timeout, what: `ack of seq < ${want} (have ${this.acked.nextSeq})` });
    return this.acked;
  }

  // The server's error frame and then its close: asserts both carry `code`.
  async expectErrorClose(code, { timeout = 5000 } = {}) {
    const c = await Promise.race([this.closed, timeoutAfter(timeout)]);
    const errs = this.ofType(T.ERROR);
    if (!c) throw new Error(`${this.name}: not closed within ${timeout} ms (expected ${code}); errors: ${JSON.stringify(errs)}; frames: ${this.lastFrames()}`);
    return { close: c, errors: errs, code };
  }

  async ping(t = 4242, timeout = 3000) {
    const from = this.msgs.length;
    this.send([T.PING, t]);
    return this.next((m) => m[0] === T.PONG && m[1] === t, { from, timeout, what: `pong ${t}` });
  }

  pause() { this.ws._socket.pause(); }
  resume() { this.ws._socket.resume(); }

  close(code = 1000) {
    if (!this.closeInfo) this.ws.close(code);
    return this.closed;
  }

  terminate() { this.ws.terminate(); return this.closed; }

  get text() { return this.replica.text(); }
  describe() { return `${this.name}(agent ${this.agent})`; }
}

// Asserts an error frame [9, code, str] arrived and then a close with `code`.
export async function assertErrorClose(assert, c, code, { timeout = 5000, what = '' } = {}) {
  const { close, errors } = await c.expectErrorClose(code, { timeout });
  const label = `${what}${what ? ': ' : ''}`;
  assert.ok(errors.length >= 1, `${label}no error message before the close ${close.code}; frames: ${c.lastFrames()}`);
  const e = errors[errors.length - 1];
  assert.equal(e[1], code, `${label}error message code ${e[1]} (${e[2]}), expected ${code}`);
  assert.equal(typeof e[2], 'string');
  assert.equal(close.code, code, `${label}close code ${close.code} (${close.reason}), expected ${code}`);
  return e;
}

export const typeOf = typeName;
export { T, CLOSE };

// Connects a client to `server` for test `t`; it is terminated in teardown.
export async function connect(t, server, opts = {}) {
  const c = await Client.connect(opts.url ?? server.wsUrl, opts);
  defer(t, () => { if (!c.closeInfo) c.ws.terminate(); c.replica?.free(); });
  return c;
}

// connect + join: {doc, user, token, agent, vv, replica: true by default}.
export async function joined(t, server, joinOpts, connOpts = {}) {
  const c = await connect(t, server, connOpts);
  await c.join({ replica: true, ...joinOpts });
  return c;
}
