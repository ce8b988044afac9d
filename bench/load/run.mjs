// run.mjs — the load generator's orchestrator (issue 6).
//
//   node bench/load/run.mjs [--systems weft,yws,hocus,hocus-sqlite] [--only S1,S3]
//                           [--quick] [--json FILE] [--trace PATH] [--peer-threads N]
//
// For each system it starts the server (a fresh one per scenario, in a fresh
// temporary directory, on a free loopback port), runs each scenario with that
// system's client program, samples the CPU time of the server and of the
// client from /proc/PID/stat at the client's measure-start and measure-end,
// their resident memory from /proc/PID/status every 100 ms in between, and
// prints one table with ratios (peer / weft) and the targets.
// README.md beside this file describes every column and the contract the
// client programs follow.
import { spawn, execFileSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, rmSync, createWriteStream } from 'node:fs';
import { tmpdir, cpus as osCpus, totalmem, loadavg } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import net from 'node:net';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const SYSTEMS = ['weft', 'yws', 'hocus', 'hocus-sqlite'];
const SCENARIOS = ['S1', 'S2', 'S3', 'S3x10', 'S4', 'S5', 'S6', 'S6r'];
const CLIENT_BOUND = 90; // % of one core used by the client in the measured window
const COLD_WAIT = 2; // s after the last client left; weft runs with --idle-unload 1

// Client options per scenario: the figures, and a small smoke run.
const PLAN = {
  S1: { full: { rooms: 1, clients: 2, typists: 1, rate: 100, secs: 10, presence: 0 },
        quick: { rooms: 1, clients: 2, typists: 1, rate: 100, secs: 2, presence: 0 } },
  S2: { full: { rooms: 1, clients: 50, typists: 5, rate: 10, secs: 15, presence: 1 },
        quick: { rooms: 1, clients: 10, typists: 2, rate: 10, secs: 3, presence: 1 } },
  S3: { full: { rooms: 200, clients: 5, typists: 1, rate: 5, secs: 15, presence: 0 },
        quick: { rooms: 20, clients: 5, typists: 1, rate: 5, secs: 3, presence: 0 } },
  S3x10: { full: { rooms: 200, clients: 5, typists: 1, rate: 50, secs: 15, presence: 0 },
           quick: { rooms: 20, clients: 5, typists: 1, rate: 50, secs: 3, presence: 0 } },
  S4: { full: { joins: 20, 'cold-wait': COLD_WAIT }, quick: { joins: 3, 'cold-wait': COLD_WAIT } },
  S5: { full: { rooms: 1000, clients: 5, secs: 5 }, quick: { rooms: 100, clients: 5, secs: 2 } },
  S6: { full: { writers: 50, rooms: 10, window: 4, secs: 10 }, quick: { writers: 10, rooms: 2, window: 4, secs: 2 } },
  // S6 at a fixed offered rate: 50 writers × 400 single-char batches/s = 20,000/s, the throughput floor
  S6r: { full: { writers: 50, rooms: 10, rate: 400, secs: 10 }, quick: { writers: 10, rooms: 2, rate: 100, secs: 2 } },
};
const CLIENT_TIMEOUT_S = 240; // per scenario run, connection phases included

const log = (s) => process.stderr.write(`run: ${s}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function options() {
  const { values } = parseArgs({
    options: {
      systems: { type: 'string', default: SYSTEMS.join(',') },
      only: { type: 'string', default: SCENARIOS.join(',') },
      quick: { type: 'boolean', default: false },
      json: { type: 'string' },
      trace: { type: 'string', default: resolve(root, '../shared/traces/automerge-paper.json.gz') },
      'peer-threads': { type: 'string', default: '1' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write('usage: node bench/load/run.mjs [--systems weft,yws,hocus,hocus-sqlite] [--only S1,S2,S3,S3x10,S4,S5,S6,S6r]\n' +
      '                            [--quick] [--json FILE] [--trace PATH] [--peer-threads N]\n' +
      'Runs each scenario against each system and prints one table; bench/load/README.md explains it.\n');
    process.exit(0);
  }
  const systems = values.systems.split(',').filter(Boolean);
  for (const s of systems) if (!SYSTEMS.includes(s)) throw new Error(`unknown system ${s} (one of ${SYSTEMS.join(', ')})`);
  const only = new Set();
  for (const s of values.only.split(',').filter(Boolean)) {
    if (!SCENARIOS.includes(s)) throw new Error(`unknown scenario ${s} (one of ${SCENARIOS.join(', ')})`);
    only.add(s);
    if (s === 'S3') only.add('S3x10'); // the orchestrator runs S3 again at 10x the rate
  }
  const peerThreads = Number(values['peer-threads']);
  if (!Number.isInteger(peerThreads) || peerThreads < 1) throw new Error('--peer-threads must be a positive integer');
  return { systems, scenarios: SCENARIOS.filter((s) => only.has(s)), quick: values.quick, json: values.json, trace: resolve(values.trace), peerThreads };
}

// ---- /proc ------------------------------------------------------------------

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

// utime + stime of every thread of the process, in seconds.
function cpuSeconds(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  } catch {
    return null;
  }
}

function rssBytes(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

// ---- processes ----------------------------------------------------------------

function freePort() {
  return new Promise((res, rej) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => res(port)); });
    s.on('error', rej);
  });
}

async function waitPort(port, proc, ms) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (proc.exitCode !== null) throw new Error(`server exited with ${proc.exitCode} before listening`);
    const ok = await new Promise((res) => {
      const c = net.connect(port, '127.0.0.1', () => { c.destroy(); res(true); });
      c.on('error', () => res(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`nothing listening on ${port} after ${ms} ms`);
}

// Spawns through sh so the file-descriptor limit can be raised first; exec
// keeps the PID, so the PID held is the program itself.
function spawnLimited(argv, { env, logFile, stdout = 'ignore' }) {
  const script = 'ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"';
  const out = createWriteStream(logFile, { flags: 'a' });
  const p = spawn('/bin/sh', ['-c', script, 'sh', ...argv], {
    cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', stdout, 'pipe'],
  });
  p.stderr.pipe(out);
  return p;
}

function exited(p) {
  return p.exitCode !== null || p.signalCode !== null ? Promise.resolve() : new Promise((r) => p.once('exit', r));
}

async function stop(p, ms = 5000) {
  if (p.exitCode !== null || p.signalCode !== null) return;
  p.kill('SIGTERM');
  const t = setTimeout(() => p.kill('SIGKILL'), ms);
  await exited(p);
  clearTimeout(t);
}

// ---- systems --------------------------------------------------------------------

// build/ by default; WEFT_BIN / WEFT_LOAD_BIN point at another build tree
// (the ctest smoke run uses the tree it belongs to, ASan's included).
const WEFT = process.env.WEFT_BIN || join(root, 'build/server/weft');
const WEFT_LOAD = process.env.WEFT_LOAD_BIN || join(root, 'build/bench/weft-load');
const PEER_CLIENT = join(here, 'peer-client.mjs');

function pkgVersion(name) {
  try {
    return JSON.parse(readFileSync(join(here, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return null;
  }
}

// Why a system cannot run here, or null.
async function unavailable(sys) {
  if (sys === 'weft') {
    if (!existsSync(WEFT)) return `${WEFT} not built (cmake --build build)`;
    if (!existsSync(WEFT_LOAD)) return `${WEFT_LOAD} not built (cmake --build build)`;
    return null;
  }
  if (!existsSync(join(here, 'node_modules'))) return `no node_modules in ${here} (npm ci there)`;
  if (sys === 'hocus-sqlite') {
    try {
      const { default: Sqlite } = await import('better-sqlite3');
      new Sqlite(':memory:').close();
    } catch (e) {
      return `@hocuspocus/extension-sqlite's native module better-sqlite3 is not usable: ${e.message.split('\n')[0]}`;
    }
  }
  return null;
}

function describe(sys) {
  switch (sys) {
    case 'weft': return `weft serve (${WEFT}), client build/bench/weft-load`;
    case 'yws': return `@y/websocket-server ${pkgVersion('@y/websocket-server')} with YPERSISTENCE (y-leveldb ${pkgVersion('y-leveldb')}), client y-websocket ${pkgVersion('y-websocket')} + yjs ${pkgVersion('yjs')}`;
    case 'hocus': return `@hocuspocus/server ${pkgVersion('@hocuspocus/server')} (no persistence), client @hocuspocus/provider ${pkgVersion('@hocuspocus/provider')}`;
    case 'hocus-sqlite': return `@hocuspocus/server ${pkgVersion('@hocuspocus/server')} + @hocuspocus/extension-sqlite ${pkgVersion('@hocuspocus/extension-sqlite')} (better-sqlite3 ${pkgVersion('better-sqlite3')})`;
  }
  return sys;
}

function serverArgv(sys, sc, port, dir) {
  switch (sys) {
    case 'weft': {
      const a = [WEFT, 'serve', '--listen', `127.0.0.1:${port}`, '--db', join(dir, `weft-${sc}.db`),
        '--rate', '1000000', '--max-conns', '20000', '--log-level', 'warn'];
      if (sc === 'S4') a.push('--idle-unload', '1');
      return { argv: a, env: {} };
    }
    case 'yws':
      return { argv: [process.execPath, join(here, 'node_modules/@y/websocket-server/src/server.js')],
        env: { HOST: '127.0.0.1', PORT: String(port), YPERSISTENCE: join(dir, `yws-${sc}.leveldb`) } };
    case 'hocus':
      return { argv: [process.execPath, join(here, 'hocus-server.mjs'), '--port', String(port)], env: {} };
    case 'hocus-sqlite':
      return { argv: [process.execPath, join(here, 'hocus-server.mjs'), '--port', String(port), '--sqlite', join(dir, `hocus-${sc}.db`)], env: {} };
  }
  throw new Error(sys);
}

function clientArgv(sys, sc, port, opt) {
  const scenario = { S3x10: 'S3', S6r: 'S6' }[sc] ?? sc;
  const params = { ...PLAN[sc][opt.quick ? 'quick' : 'full'] };
  const notes = [];
  if (sc === 'S4') {
    params.trace = opt.trace;
    if (sys === 'hocus') {
      params['cold-wait'] = 0;
      notes.push('cold join: none; without an extension Hocuspocus keeps documents only in memory and drops one when its last client leaves');
    }
  }
  params['room-prefix'] = `${sys}-${sc}-`;
  params.seed = 1;
  let argv;
  if (sys === 'weft') {
    argv = [WEFT_LOAD, '--url', `ws://127.0.0.1:${port}`, '--scenario', scenario];
  } else {
    argv = [process.execPath, PEER_CLIENT, '--system', sys === 'yws' ? 'yws' : 'hocus', '--url', `ws://127.0.0.1:${port}`, '--scenario', scenario];
    if (opt.peerThreads > 1 && ['S1', 'S2', 'S3', 'S3x10'].includes(sc)) params.threads = opt.peerThreads;
  }
  for (const [k, v] of Object.entries(params)) argv.push(`--${k}`, String(v));
  return { argv, notes };
}

// ---- one scenario against one system ----------------------------------------

async function runOne(sys, sc, dir, opt) {
  const port = await freePort();
  const logFile = join(dir, `${sc}.log`);
  const srvSpec = serverArgv(sys, sc, port, dir);
  const server = spawnLimited(srvSpec.argv, { env: srvSpec.env, logFile });
  const out = { system: sys, scenario: sc, port, serverPid: server.pid, loadAvg: loadavg()[0], flags: [], notes: [], failed: null };
  let client = null;
  try {
    await waitPort(port, server, 15_000);
    await sleep(300);
    out.serverRssBefore = rssBytes(server.pid);
    const { argv, notes } = clientArgv(sys, sc, port, opt);
    out.notes.push(...notes);
    out.clientArgv = argv.map((a) => a.replace(root + '/', ''));
    client = spawnLimited(argv, { env: {}, logFile, stdout: 'pipe' });
    out.clientPid = client.pid;
    const rss = { server: [], client: [] };
    let sampler = null;
    let t0 = 0, srv0 = 0, cli0 = 0;
    const lines = createInterface({ input: client.stdout });
    const timeout = setTimeout(() => { out.failed = `client still running after ${CLIENT_TIMEOUT_S} s`; client.kill('SIGKILL'); }, CLIENT_TIMEOUT_S * 1000);
    lines.on('line', (line) => {
      let m;
      try { m = JSON.parse(line); } catch { out.notes.push(`client printed a non-JSON line: ${line.slice(0, 80)}`); return; }
      if (m.event === 'ready') out.readyAt = Date.now();
      else if (m.event === 'measure-start') {
        t0 = performance.now(); srv0 = cpuSeconds(server.pid); cli0 = cpuSeconds(client.pid);
        sampler = setInterval(() => {
          const s = rssBytes(server.pid), c = rssBytes(client.pid);
          if (s !== null) rss.server.push(s);
          if (c !== null) rss.client.push(c);
        }, 100);
      } else if (m.event === 'measure-end') {
        const wall = (performance.now() - t0) / 1000;
        const srv1 = cpuSeconds(server.pid), cli1 = cpuSeconds(client.pid);
        clearInterval(sampler);
        sampler = null;
        out.window = wall;
        if (srv0 !== null && srv1 !== null) out.serverCpu = (100 * (srv1 - srv0)) / wall;
        if (cli0 !== null && cli1 !== null) out.clientCpu = (100 * (cli1 - cli0)) / wall;
      } else if (m.event === 'result') out.result = m;
    });
    const [code] = await Promise.race([
      new Promise((r) => client.once('exit', (c, s) => r([c ?? s]))),
      exited(server).then(() => [null]),
    ]);
    clearTimeout(timeout);
    if (sampler) clearInterval(sampler);
    if (server.exitCode !== null || server.signalCode !== null) out.failed ??= `server exited (${server.exitCode ?? server.signalCode}) during the run`;
    out.clientExit = code;
    out.serverRss = summarize(rss.server);
    out.clientRss = summarize(rss.client);
    if (!out.result) out.failed ??= `client exited with ${code} without a result line`;
    else if (code !== 0) out.failed ??= `client exited with ${code}`;
    if (out.clientCpu !== undefined && out.clientCpu >= CLIENT_BOUND) out.flags.push(`client-bound: the client used ${Math.round(out.clientCpu)}% of a core`);
    const planned = PLAN[sc][opt.quick ? 'quick' : 'full'].secs;
    if (['S1', 'S2', 'S3', 'S3x10'].includes(sc) && out.result?.secs > planned * 1.1) {
      out.flags.push(`behind schedule: ${planned} s of typing took ${out.result.secs.toFixed(1)} s (the client's timers fired late)`);
    }
    if (sc === 'S6r' && out.result && out.result.acksPerSec !== null) { // y-websocket: no acks, nothing sent
      const p = PLAN[sc][opt.quick ? 'quick' : 'full'];
      const want = p.writers * p.rate * p.secs;
      if (!(out.result.sent >= want * 0.9)) out.flags.push(`behind schedule: sent ${out.result.sent ?? 0} of the ${want} batches due`);
    }
    if (out.loadAvg > osCpus().length) out.flags.push(`busy machine: load average ${out.loadAvg.toFixed(1)} on ${osCpus().length} CPUs when the run started`);
    if (out.result && out.result.delivered < out.result.expected) out.flags.push(`${out.result.expected - out.result.delivered} of ${out.result.expected} deliveries missing`);
    if (out.result?.errors > 0) out.flags.push(`${out.result.errors} client errors`);
    if (out.result?.converged === false) out.flags.push('NOT converged');
    if (sc === 'S5' && out.result && out.serverRss && out.serverRssBefore) {
      out.rssPerConn = (out.serverRss.median - out.serverRssBefore) / out.result.conns;
    }
  } catch (e) {
    out.failed = e.message;
  } finally {
    if (client) await stop(client);
    await stop(server);
  }
  if (out.failed) {
    out.flags.push(`FAILED: ${out.failed}`);
    out.logTail = tail(logFile, 8);
    log(`${sys} ${sc} failed: ${out.failed}\n${out.logTail}`);
  }
  return out;
}

function tail(file, n) {
  try { return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-n).join('\n'); } catch { return ''; }
}

function summarize(xs) {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return { n: s.length, median: s[Math.floor(s.length / 2)], max: s[s.length - 1] };
}

// ---- the table --------------------------------------------------------------------

const MB = 1024 * 1024;
const res = (f) => (r) => (r.result ? f(r.result) : null);

// Each row: the scenario it comes from, how to read it, the target and
// whether weft meets it (given every system's runs of that scenario).
const ROWS = [
  { sc: 'S1', name: 'S1 edit→peer p50 ms', v: res((x) => x.lat?.p50), fmt: 'ms', target: '≤ 0.3', met: (w) => w <= 0.3 },
  { sc: 'S1', name: 'S1 edit→peer p99 ms', v: res((x) => x.lat?.p99), fmt: 'ms', target: '≤ 1', met: (w) => w <= 1 },
  { sc: 'S2', name: 'S2 fan-out p99 ms', v: res((x) => x.lat?.p99), fmt: 'ms', target: '≤ 5', met: (w) => w <= 5 },
  { sc: 'S2', name: 'S2 server CPU % core', v: (r) => r.serverCpu, fmt: 'pct', target: '≤ best peer / 5', met: (w, peers) => (bestPeer(peers, 'min') === null ? null : w <= bestPeer(peers, 'min') / 5) },
  { sc: 'S2', name: 'S2 server RSS MB', v: (r) => r.serverRss && r.serverRss.max / MB, fmt: 'mb' },
  { sc: 'S2', name: 'S2 converged', v: res((x) => x.converged), fmt: 'bool' },
  { sc: 'S3', name: 'S3 delivered ops/s', v: res((x) => x.opsPerSec), fmt: 'int' },
  { sc: 'S3', name: 'S3 p99 ms', v: res((x) => x.lat?.p99), fmt: 'ms', target: '≤ 5', met: (w) => w <= 5 },
  { sc: 'S3', name: 'S3 server CPU % core', v: (r) => r.serverCpu, fmt: 'pct', target: '≤ best peer / 5', met: (w, peers) => (bestPeer(peers, 'min') === null ? null : w <= bestPeer(peers, 'min') / 5) },
  { sc: 'S3', name: 'S3 server RSS MB', v: (r) => r.serverRss && r.serverRss.max / MB, fmt: 'mb' },
  { sc: 'S3', name: 'S3 converged', v: res((x) => x.converged), fmt: 'bool' },
  { sc: 'S3x10', name: 'S3x10 delivered ops/s', v: res((x) => x.opsPerSec), fmt: 'int' },
  { sc: 'S3x10', name: 'S3x10 p99 ms', v: res((x) => x.lat?.p99), fmt: 'ms', target: '≤ 20', met: (w) => w <= 20 },
  { sc: 'S3x10', name: 'S3x10 server CPU % core', v: (r) => r.serverCpu, fmt: 'pct' },
  { sc: 'S3x10', name: 'S3x10 server RSS MB', v: (r) => r.serverRss && r.serverRss.max / MB, fmt: 'mb' },
  { sc: 'S3x10', name: 'S3x10 converged', v: res((x) => x.converged && x.delivered === x.expected), fmt: 'bool', target: 'every client', met: (w) => w === true },
  // "text": until the client holds the document's text (weft reads it from
  // the snapshot before building its replica; the peers' clients have it
  // only once the update is applied, so their text time is their join time).
  // "replica": until the client can edit (its CRDT replica is built).
  { sc: 'S4', name: 'S4 join warm p50 ms (text)', v: res((x) => (x.joinWarmText ?? x.joinWarm)?.p50), fmt: 'ms', target: '≤ 2', met: (w) => w <= 2 },
  { sc: 'S4', name: 'S4 join warm p99 ms (text)', v: res((x) => (x.joinWarmText ?? x.joinWarm)?.p99), fmt: 'ms' },
  { sc: 'S4', name: 'S4 join warm p50 ms (replica)', v: res((x) => x.joinWarm?.p50), fmt: 'ms' },
  { sc: 'S4', name: 'S4 join cold p50 ms (text)', v: res((x) => (x.joinColdText ?? x.joinCold)?.p50), fmt: 'ms', target: '≤ 10', met: (w) => w <= 10 },
  { sc: 'S4', name: 'S4 join cold p99 ms (text)', v: res((x) => (x.joinColdText ?? x.joinCold)?.p99), fmt: 'ms' },
  { sc: 'S4', name: 'S4 join cold p50 ms (replica)', v: res((x) => x.joinCold?.p50), fmt: 'ms', target: '≤ 10', met: (w) => w <= 10 },
  { sc: 'S5', name: 'S5 server RSS KB / idle conn', v: (r) => r.rssPerConn && r.rssPerConn / 1024, fmt: 'kb', target: '≤ 10', met: (w) => w <= 10 },
  { sc: 'S5', name: 'S5 server RSS MB before clients', v: (r) => r.serverRssBefore && r.serverRssBefore / MB, fmt: 'mb' },
  { sc: 'S6', name: 'S6 acks/s', v: res((x) => x.acksPerSec), fmt: 'int', target: '≥ 20,000 durable', met: (w) => w >= 20000 },
  { sc: 'S6', name: 'S6 ack p99 ms (saturated)', v: res((x) => x.ack?.p99), fmt: 'ms' },
  { sc: 'S6r', name: 'S6r acks/s (20,000/s offered)', v: res((x) => x.acksPerSec), fmt: 'int' },
  { sc: 'S6r', name: 'S6r ack p50 ms', v: res((x) => x.ack?.p50), fmt: 'ms' },
  { sc: 'S6r', name: 'S6r ack p99 ms', v: res((x) => x.ack?.p99), fmt: 'ms', target: '≤ 10', met: (w) => w <= 10 },
];

function bestPeer(values, how) {
  const xs = values.filter((v) => typeof v === 'number');
  if (xs.length === 0) return null;
  return how === 'min' ? Math.min(...xs) : Math.max(...xs);
}

function fmt(v, kind) {
  if (v === null || v === undefined || Number.isNaN(v)) return '—';
  if (kind === 'bool') return v ? 'yes' : '**no**';
  const n = Number(v);
  if (kind === 'int') return Math.round(n).toLocaleString('en-US');
  if (kind === 'pct') return n.toFixed(n < 10 ? 1 : 0);
  if (kind === 'mb' || kind === 'kb') return n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : Math.round(n).toLocaleString('en-US');
  return n < 1 ? n.toFixed(3) : n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : Math.round(n).toLocaleString('en-US');
}

function ratio(peer, weft, kind) {
  if (kind === 'bool' || typeof peer !== 'number' || typeof weft !== 'number' || weft === 0) return '';
  const r = peer / weft;
  return r >= 10 ? `${Math.round(r)}x` : `${r.toFixed(1)}x`;
}

function table(results, systems, scenarios) {
  const peers = systems.filter((s) => s !== 'weft');
  const hasWeft = systems.includes('weft');
  const head = ['metric', ...systems.flatMap((s) => (s !== 'weft' && hasWeft ? [s, '×'] : [s])), 'target (issue 6)', 'weft vs target'];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((h, i) => (i === 0 ? '---' : '--:')).join('|')}|`];
  for (const row of ROWS) {
    if (!scenarios.includes(row.sc)) continue;
    const val = (s) => {
      const r = results[s]?.[row.sc];
      if (!r || r.failed) return null;
      const v = row.v(r);
      return v === undefined ? null : v;
    };
    const mark = (s) => {
      const r = results[s]?.[row.sc];
      if (!r) return '';
      if (r.failed) return ' (failed)';
      return r.flags.some((f) => f.startsWith('client-bound') || f.startsWith('behind schedule')) ? ' †' : '';
    };
    const w = hasWeft ? val('weft') : null;
    const cells = [row.name];
    for (const s of systems) {
      cells.push(fmt(val(s), row.fmt) + mark(s));
      if (s !== 'weft' && hasWeft) cells.push(ratio(val(s), w, row.fmt));
    }
    cells.push(row.target ?? '');
    let met = '';
    if (row.met && hasWeft) {
      const ok = w === null ? null : row.met(w, peers.map(val));
      met = ok === null ? '—' : ok ? 'met' : '**not met**';
    }
    cells.push(met);
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

// ---- main ------------------------------------------------------------------------

function machine() {
  const c = osCpus();
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD']).toString().trim();
    const dirty = execFileSync('git', ['-C', root, 'status', '--porcelain', '--untracked-files=no']).toString().trim();
    if (dirty) commit += ' (with uncommitted changes)';
  } catch { /* not a git checkout */ }
  return { cpu: c[0]?.model ?? 'unknown', nproc: c.length, memGiB: totalmem() / 1024 ** 3, node: process.version, commit };
}

async function main() {
  const opt = options();
  const m = machine();
  const started = new Date();
  const load0 = loadavg();
  console.log(`# weft load generator — ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC`);
  console.log(`machine: ${m.cpu}, ${m.nproc} CPUs, ${m.memGiB.toFixed(1)} GiB; node ${m.node}; commit ${m.commit}`);
  console.log(`load average at start: ${load0.map((x) => x.toFixed(2)).join(' ')}; ${opt.quick ? 'QUICK (smoke-test sizes)' : 'full sizes'}; trace ${opt.trace.replace(resolve(root, '..') + '/', '../')}`);
  const systems = [];
  const skipped = {};
  for (const s of opt.systems) {
    const why = await unavailable(s);
    if (why) { skipped[s] = why; log(`skipping ${s}: ${why}`); } else systems.push(s);
  }
  for (const s of systems) console.log(`- ${s}: ${describe(s)}`);
  for (const [s, why] of Object.entries(skipped)) console.log(`- ${s}: SKIPPED, ${why}`);
  if (opt.scenarios.includes('S4') && !existsSync(opt.trace)) throw new Error(`trace ${opt.trace} not found (--trace PATH)`);

  // Scenario by scenario, every system in turn: the systems compared in a
  // row run minutes apart at most, so they see about the same machine load.
  const results = {};
  const dirs = {};
  for (const sys of systems) {
    dirs[sys] = mkdtempSync(join(tmpdir(), `weft-load-${sys}-`));
    results[sys] = {};
  }
  for (const sc of opt.scenarios) {
    for (const sys of systems) {
      const dir = dirs[sys];
      log(`${sys} ${sc} ...`);
      const t = Date.now();
      const r = await runOne(sys, sc, dir, opt);
      results[sys][sc] = r;
      const x = r.result;
      log(`${sys} ${sc} done in ${((Date.now() - t) / 1000).toFixed(1)} s: ` +
        `load ${r.loadAvg.toFixed(1)}; server ${fmt(r.serverCpu, 'pct')}% cpu, ${fmt(r.serverRss && r.serverRss.max / MB, 'mb')} MB; client ${fmt(r.clientCpu, 'pct')}% cpu` +
        (x?.lat ? `; lat p50 ${x.lat.p50} p99 ${x.lat.p99}` : '') + (r.flags.length ? `; ${r.flags.join('; ')}` : ''));
    }
  }
  for (const sys of systems) {
    if (!Object.values(results[sys]).some((r) => r.failed)) rmSync(dirs[sys], { recursive: true, force: true });
    else log(`${sys}: logs kept in ${dirs[sys]}`);
  }

  const all = systems.length ? systems : opt.systems;
  console.log('');
  console.log(table(results, systems, opt.scenarios));
  console.log('');
  console.log(`× = that system / weft. † = client-bound (the client used ≥ ${CLIENT_BOUND}% of a core in the measured window) or behind schedule (its typing took over 10% longer than planned): the figure measures the client as much as the server.`);
  const flagged = [];
  const notes = [];
  for (const sys of systems) {
    for (const sc of opt.scenarios) {
      const r = results[sys][sc];
      if (!r) continue;
      for (const f of r.flags) flagged.push(`${sys} ${sc}: ${f}`);
      for (const n of [...r.notes, ...(r.result?.notes ?? [])]) notes.push(`${sys} ${sc}: ${n}`);
      if (sc !== 'S4' && r.clientCpu !== undefined && r.window >= 0.5) notes.push(`${sys} ${sc}: server ${fmt(r.serverCpu, 'pct')}% / client ${fmt(r.clientCpu, 'pct')}% of a core over ${r.window?.toFixed(1)} s (load average ${r.loadAvg.toFixed(1)} at the start)`);
    }
  }
  if (flagged.length) { console.log('\nFlagged:'); for (const f of flagged) console.log(`- ${f}`); }
  if (notes.length) { console.log('\nNotes:'); for (const n of [...new Set(notes)]) console.log(`- ${n}`); }
  const load1 = loadavg();
  console.log(`\nload average at end: ${load1.map((x) => x.toFixed(2)).join(' ')}; took ${((Date.now() - started) / 1000).toFixed(0)} s`);
  if (opt.json) {
    writeFileSync(opt.json, JSON.stringify({ machine: m, started, loadStart: load0, loadEnd: load1, options: opt, skipped, systems: all, results }, null, 1));
    log(`results in ${opt.json}`);
  }
  const failed = systems.some((s) => Object.values(results[s]).some((r) => r.failed || r.result?.converged === false));
  process.exit(failed ? 1 : 0);
}

main().catch((e) => { log(e.message); process.exit(2); });
