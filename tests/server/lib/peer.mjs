// A peer that outlives its connections, like a real editor tab: one replica
// and one agent across reconnects, an outbox of the batches it made (online
// or offline), and the reconnect rule of docs/protocol.md: hello with the
// agent and the full local version, then resend every batch from the
// welcome's next_seq on.
import { Client } from './client.mjs';
import { opsMsg } from './codec.mjs';
import { sleep, defer } from './harness.mjs';

export class Peer {
  constructor(t, name, user) {
    this.t = t;
    this.name = name;
    this.user = user;
    this.replica = null;
    this.agent = null;
    this.outbox = []; // {batch, first, end}
    this.client = null;
    this.welcomes = [];
  }

  get online() { return !!this.client && !this.client.closeInfo && this.client.welcome?.done; }

  // Connects and joins `doc`; retries while the server is down (up to `retryMs`).
  async connect(server, doc, { retryMs = 8000 } = {}) {
    const end = Date.now() + retryMs;
    for (;;) {
      try {
        return await this.connectOnce(server, doc);
      } catch (e) {
        if (Date.now() > end || !/ECONNREFUSED|ECONNRESET|closed 1006|socket hang up|before open/.test(e.message)) throw e;
        await sleep(50);
      }
    }
  }

  async connectOnce(server, doc) {
    const c = await Client.connect(server.wsUrl, { name: this.name });
    defer(this.t, () => { if (!c.closeInfo) c.ws.terminate(); });
    c.replica = this.replica;
    const w = await c.join({ doc, user: this.user, agent: this.agent, replica: true });
    if (this.agent !== null && w.agent !== this.agent)
      throw new Error(`${this.name}: reconnect got agent ${w.agent}, had ${this.agent}`);
    this.agent = w.agent;
    this.replica = c.replica;
    this.client = c;
    c.closed.then((ci) => {
      const err = c.ofType(9).at(-1);
      if (err) (this.closes ??= []).push(`closed ${ci.code} ${JSON.stringify(err)} after: ${this.history.at(-1)}`);
    });
    this.welcomes.push(w);
    this.history = this.history ?? [];
    this.history.push(`welcome next_seq=${w.nextSeq} lsn=${w.lsn} kind=${w.kind} local=${this.replica.doc.nextSeq(this.agent)} outbox=${this.outbox.map((b) => `${b.first}-${b.end}`).join(',')}`);
    this.outbox = this.outbox.filter((b) => b.end > w.nextSeq);
    for (const b of this.outbox) {
      if (b.first < w.nextSeq)
        throw new Error(`${this.name}: welcome next_seq ${w.nextSeq} falls inside a batch ${b.first}..${b.end}`);
      c.send(opsMsg(b.batch));
    }
    return w;
  }

  edit(fn) {
    const batch = this.replica.edit(fn);
    if (!batch) return null;
    this.outbox.push({ batch, first: batch[1][0][2], end: this.replica.doc.nextSeq(this.agent) });
    if (this.online) this.client.send(opsMsg(batch));
    return batch;
  }

  async disconnect(how = 'close') {
    const c = this.client;
    if (!c || c.closeInfo) return;
    if (how === 'drop') await c.terminate();
    else await c.close();
  }

  async settle(timeout = 10000) {
    const want = this.replica.doc.nextSeq(this.agent);
    await this.client.until(() => {
      if (this.client.closeInfo) throw new Error(`${this.name}: closed ${this.client.closeInfo.code} (${this.client.closeInfo.reason}) while settling; frames: ${this.client.lastFrames()}`);
      // Ops below the welcome's next_seq are durable (acked in an earlier session).
      return Math.max(this.client.acked.nextSeq, this.client.welcome.nextSeq) >= want;
    }, { timeout, what: `${this.name}: ack of seq < ${want}` });
  }
}
