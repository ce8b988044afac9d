// The test harness: the real `weft serve` on a free loopback port with a
// fresh database, stopped by PID in teardown; sessions of the client library
// over `ws`; polling helpers.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import WebSocket from 'ws';
import { connect } from '../src/weft.js';

const here = new URL('.', import.meta.url).pathname;
export const WEFT_BIN = process.env.WEFT_BIN || join(here, '../../build/server/weft');
export const WASM = process.env.WEFT_WASM || join(here, '../../build/crdt/wasm/weft_crdt.wasm');
export const haveServer = () => existsSync(WEFT_BIN) && existsSync(WASM);

const live = new Set();
process.on('exit', () => {
  for (const pid of live) {
    try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  }
});

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function until(cond, { timeout = 10000, interval = 10, what = 'condition' } = {}) {
  const end = Date.now() + timeout;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await sleep(interval);
  }
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export class Server {
  constructor(t, { args = [] } = {}) {
    this.dir = mkdtempSync(join(tmpdir(), 'weft-client-test-'));
    this.db = join(this.dir, 'x.db');
    this.args = args;
    this.port = 0;
    this.child = null;
    this.log = [];
    t.after(async () => {
      await this.stop();
      rmSync(this.dir, { recursive: true, force: true });
    });
  }

  get wsUrl() { return `ws://127.0.0.1:${this.port}/ws`; }
  get base() { return `http://127.0.0.1:${this.port}`; }

  // Starts (again, on the same port if it had one) and waits for the listening
  // line. A binary being re-linked by a concurrent build (EACCES, ETXTBSY,
  // ENOENT for a moment) is waited for, up to 10 s.
  async start() {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.spawnOnce();
      } catch (e) {
        if (!['EACCES', 'ETXTBSY', 'ENOENT'].includes(e.code) || attempt >= 40) throw e;
        await sleep(250);
      }
    }
  }

  async spawnOnce() {
    if (!this.port) this.port = await freePort();
    const child = spawn(WEFT_BIN, ['serve', '--listen', `127.0.0.1:${this.port}`, '--db', this.db, ...this.args],
      { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    if (child.pid) live.add(child.pid);
    let timer = null;
    const spawnFailed = new Promise((_, reject) => child.on('error', (e) => { clearTimeout(timer); reject(e); }));
    spawnFailed.catch(() => {});
    this.exited = new Promise((r) => child.on('exit', (code, signal) => { live.delete(child.pid); r({ code, signal }); }));
    const want = `weft: listening on http://127.0.0.1:${this.port}/`;
    let partial = '';
    const listening = new Promise((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`no listening line in 10 s:\n${this.log.slice(-20).join('\n')}`)), 10000);
      child.stderr.on('data', (d) => {
        const lines = (partial + d.toString()).split('\n');
        partial = lines.pop();
        for (const l of lines) {
          this.log.push(l);
          if (process.env.WEFT_TEST_VERBOSE) process.stderr.write(`[weft] ${l}\n`);
          if (l.trim() === want) { clearTimeout(timer); resolve(); }
        }
      });
      this.exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`weft serve exited (${code}, ${signal}):\n${this.log.slice(-20).join('\n')}`));
      });
    });
    listening.catch(() => {});
    await Promise.race([listening, spawnFailed]);
    return this;
  }

  // SIGTERM (or the given signal) by PID; SIGKILL after 5 s.
  async stop(signal = 'SIGTERM') {
    const child = this.child;
    if (!child || !child.pid || child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    const timer = setTimeout(() => { try { child.kill('SIGKILL'); } catch { /* gone */ } }, 5000);
    await this.exited;
    clearTimeout(timer);
  }
}

export async function startServer(t, opts) {
  return new Server(t, opts).start();
}

// A client session for test t, closed in teardown.
export function session(t, server, opts = {}) {
  const s = connect(opts.url ?? server.wsUrl, { WebSocket, wasm: WASM, ...opts });
  t.after(() => s.close());
  return s;
}

// A JS string model of the text, kept by applying the change events, so
// tests check the changes an editor would apply, not only the engine's text.
export function mirror(s) {
  const m = { text: s.text };
  s.on('change', ({ changes }) => {
    for (const c of changes) m.text = m.text.slice(0, c.from) + c.insert + m.text.slice(c.to);
  });
  return m;
}
