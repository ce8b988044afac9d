// Runs the real `weft serve` for a test: a free port on 127.0.0.1, a fresh
// temp dir for the database, the `weft: listening on` line awaited with a
// timeout, and a stop by PID (SIGTERM, then SIGKILL) registered in the
// test's teardown. Nothing is ever stopped by name.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import http from 'node:http';
import https from 'node:https';
import { test } from 'node:test';

export const WEFT_BIN = process.env.WEFT_BIN || new URL('../../../build/server/weft', import.meta.url).pathname;
export const haveServer = () => existsSync(WEFT_BIN);

const live = new Set(); // every child still running, killed by PID on exit
process.on('exit', () => {
  for (const s of live) {
    try { process.kill(s.pid, 'SIGKILL'); } catch { /* already gone */ }
  }
});

// A seeded generator of floats in [0, 1) (mulberry32), so a failing
// randomized test replays with its seed.
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// For Promise.race only: a timer that does not keep the process alive.
export const timeoutAfter = (ms, value = null) => new Promise((r) => setTimeout(() => r(value), ms).unref());

export async function until(cond, { timeout = 5000, interval = 20, what = 'condition' } = {}) {
  const end = Date.now() + timeout;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await sleep(interval);
  }
}

// A port nobody listens on right now: bind a throwaway server to port 0.
export function freePort(host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, host, () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// Teardown in reverse order of registration (node:test runs t.after hooks
// in registration order): clients go before their server, the server
// before its temp dir.
export function defer(t, fn) {
  if (!t.weftDefer) {
    t.weftDefer = [];
    t.after(async () => {
      const errors = [];
      while (t.weftDefer.length) {
        try {
          await t.weftDefer.pop()();
        } catch (e) {
          errors.push(e);
        }
      }
      if (errors.length) throw errors[0];
    });
  }
  t.weftDefer.push(fn);
}

// A temp dir removed in the test's teardown, after everything registered later.
export function tempDir(t, prefix = 'weft-test-') {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  defer(t, () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const SANITIZER = /ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:/;

export class Server {
  constructor(opts) {
    this.opts = opts;
    this.dir = opts.dir;
    this.db = opts.db ?? join(opts.dir, 'x.db');
    this.port = 0;
    this.child = null;
    this.log = []; // stderr lines, every run
    this.exits = [];
  }

  get pid() { return this.child?.pid; }
  get scheme() { return this.opts.tls ? 'https' : 'http'; }
  // The host as it appears in --listen and URLs: 127.0.0.1 or [::1].
  get host() { return this.opts.v6 ? '[::1]' : '127.0.0.1'; }
  get base() { return `${this.scheme}://${this.host}:${this.port}`; }
  get wsUrl() { return `${this.opts.tls ? 'wss' : 'ws'}://${this.host}:${this.port}/ws`; }

  args() {
    const a = ['serve', '--listen', `${this.host}:${this.port}`, '--db', this.db];
    if (this.opts.secretFile) a.push('--secret-file', this.opts.secretFile);
    if (this.opts.tls) a.push('--tls-cert', this.opts.tls.cert, '--tls-key', this.opts.tls.key);
    return a.concat(this.opts.args ?? []);
  }

  // Starts the child and waits for the listening line. Tries another port
  // if the first one was taken in between.
  async start({ samePort = false } = {}) {
    for (let attempt = 0; ; attempt++) {
      if (!samePort || !this.port || attempt > 0) this.port = await freePort(this.opts.v6 ? '::1' : '127.0.0.1');
      try {
        await this.spawnOnce();
        return this;
      } catch (e) {
        if (attempt >= 2 || !/exited/.test(e.message)) throw e;
      }
    }
  }

  spawnOnce() {
    const env = { ...process.env, ...(this.opts.env ?? {}) };
    if (!this.opts.env?.WEFT_SECRET) delete env.WEFT_SECRET;
    const child = spawn(WEFT_BIN, this.args(), { stdio: ['ignore', 'pipe', 'pipe'], env });
    this.child = child;
    const rec = { pid: child.pid };
    live.add(rec);
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        live.delete(rec);
        this.exits.push({ code, signal });
        resolve({ code, signal });
      });
    });
    let partial = '';
    const hostRe = this.opts.v6 ? '\\[::1\\]' : '127\\.0\\.0\\.1';
    const want = new RegExp(`^weft: listening on ${this.scheme}://${hostRe}:${this.port}/$`);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line within 10 s:\n${this.tail()}`)), 10000);
      child.stderr.on('data', (d) => {
        const lines = (partial + d.toString('utf8')).split('\n');
        partial = lines.pop();
        for (const l of lines) {
          this.log.push(l);
          if (this.log.length > 5000) this.log.splice(0, 1000);
          if (want.test(l)) {
            clearTimeout(timer);
            resolve();
          }
          if (process.env.WEFT_TEST_VERBOSE) process.stderr.write(`[weft ${this.port}] ${l}\n`);
        }
      });
      child.stdout.on('data', () => {});
      this.exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`weft serve exited (code ${code}, signal ${signal}) before listening:\n${this.tail()}`));
      });
    });
  }

  tail(n = 40) { return this.log.slice(-n).join('\n'); }

  // SIGTERM, then SIGKILL after `timeout` ms. Returns {code, signal}.
  async stop(timeout = 5000) {
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return this.exits.at(-1);
    process.kill(c.pid, 'SIGTERM');
    const r = await Promise.race([this.exited, timeoutAfter(timeout)]);
    if (r) return r;
    process.kill(c.pid, 'SIGKILL');
    const k = await this.exited;
    return { ...k, forced: true };
  }

  async kill() {
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return this.exits.at(-1);
    process.kill(c.pid, 'SIGKILL');
    return this.exited;
  }

  async restart({ kill = false } = {}) {
    if (kill) await this.kill();
    else await this.stop();
    return this.start({ samePort: true });
  }

  // GET over the server's scheme; resolves {status, headers, body (string)}.
  // With a secret, /api requests carry a read-only token for every document
  // unless the caller sets its own Authorization header or auth: false.
  get(path, { headers = {}, auth = true } = {}) {
    const mod = this.opts.tls ? https : http;
    if (auth && this.opts.secretFile && path.startsWith('/api') && !headers.authorization) {
      this.readToken ??= mintToken(this, { user: 'test-reader', doc: '*', readOnly: true });
      headers = { ...headers, authorization: `Bearer ${this.readToken}` };
    }
    return new Promise((resolve, reject) => {
      const req = mod.get(`${this.base}${path}`, { headers, rejectUnauthorized: false, agent: false }, (res) => {
        const chunks = [];
        res.on('data', (d) => chunks.push(d));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.setTimeout(5000, () => req.destroy(new Error(`GET ${path}: timeout`)));
      req.on('error', reject);
    });
  }

  async json(path) {
    const r = await this.get(path);
    if (r.status !== 200) throw new Error(`GET ${path}: HTTP ${r.status}: ${r.body.slice(0, 300)}`);
    return JSON.parse(r.body);
  }

  async text(doc) {
    return (await this.json(`/api/docs/${encodeURIComponent(doc)}/text`)).text;
  }

  // Prometheus text -> Map(name{labels} -> number); throws on a bad line.
  async metrics() {
    const r = await this.get('/metrics');
    if (r.status !== 200) throw new Error(`/metrics: HTTP ${r.status}`);
    return parseProm(r.body);
  }
}

const PROM_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})?\s+(\S+)(\s+-?\d+)?$/;

export function parseProm(text) {
  const m = new Map();
  m.types = new Map();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      const t = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
      if (t) m.types.set(t[1], t[2]);
      else if (!/^# HELP \S+/.test(line) && !/^# /.test(line)) throw new Error(`bad metrics comment: ${line}`);
      continue;
    }
    const p = PROM_LINE.exec(line);
    if (!p) throw new Error(`bad metrics line: ${JSON.stringify(line)}`);
    const v = Number(p[3] === '+Inf' ? Infinity : p[3]);
    if (Number.isNaN(v) && p[3] !== 'NaN') throw new Error(`bad metrics value: ${line}`);
    m.set(p[1] + (p[2] ?? ''), v);
  }
  return m;
}

// Starts a server for test `t` and registers its stop (by PID) in teardown.
// opts: {args: [...], secret: 'key' (written to a file), tls: true, dir}
export async function startServer(t, opts = {}) {
  const dir = opts.dir ?? tempDir(t);
  const o = { ...opts, dir };
  if (opts.secret) {
    o.secretFile = join(dir, 'secret');
    writeFileSync(o.secretFile, opts.secret, { mode: 0o600 });
  }
  if (opts.tls === true) o.tls = makeCert(dir);
  const s = new Server(o);
  defer(t, async () => {
    const r = await s.stop();
    if (r?.forced) t.diagnostic(`weft serve (pid ${s.pid}) ignored SIGTERM for 5 s and was killed`);
    // A sanitizer build reports memory errors and leaks on stderr.
    const i = s.log.findIndex((l) => SANITIZER.test(l));
    if (i >= 0) throw new Error(`weft serve (port ${s.port}) sanitizer report:\n${s.log.slice(i, i + 40).join('\n')}`);
  });
  (t.weftServers ??= []).push(s);
  await s.start();
  return s;
}

export function makeCert(dir) {
  const cert = join(dir, 'cert.pem'), key = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert,
    '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  return { cert, key };
}

// `weft token ...` -> the token string.
export function mintToken(server, { user, doc, readOnly = false, ttl = null }) {
  const a = ['token', '--secret-file', server.opts.secretFile, '--user', user, '--doc', doc];
  if (readOnly) a.push('--read-only');
  if (ttl !== null) a.push('--ttl', String(ttl));
  return execFileSync(WEFT_BIN, a, { encoding: 'utf8', timeout: 10000 }).trim();
}

// A server test: skipped without the binary, bounded in time, and the tail
// of every server's log printed when it fails.
export function stest(name, fn, { timeout = 20000, skip = false } = {}) {
  const why = !haveServer() ? `no weft binary at ${WEFT_BIN}` : skip;
  test(name, { timeout, skip: why }, async (t) => {
    try {
      await fn(t);
    } catch (e) {
      for (const s of t.weftServers ?? []) console.error(`--- weft serve log (port ${s.port}, pid ${s.pid}) ---\n${s.tail(60)}`);
      throw e;
    }
  });
}
