#!/usr/bin/env node
// compare.mjs — replays one editing trace through Weft (native and wasm) and
// its peers (Yjs, Automerge, Loro) in the same run, and prints one table with
// ratios against the native engine, plus the machine and commit.
//
//   node bench/peers/compare.mjs [TRACE.json.gz] [--runs=N] [--runs=PEER=N]
//        [--only=name,name] [--json] [--build=DIR]
//
//   TRACE     default ../shared/traces/automerge-paper.json.gz (repo-relative)
//   --runs    timed runs per peer, median reported (default 5); expensive
//             peers get fewer (Automerge: N/5, at least 1) unless given
//             explicitly, e.g. --runs=automerge=3
//   --only    peers: weft-native, weft-wasm, yjs, loro, automerge
//   --json    one JSON object on stdout instead of the table
//   --build   CMake build dir holding bench/weft-trace-bench and
//             crdt/wasm/weft_crdt.wasm (default build/)
//
// Exit status: 0 every peer that ran ended with endContent; 1 one did not;
// 2 usage; 77 the trace file does not exist.
// Each peer runs in its own Node process (run-peer.mjs); its resident
// memory is measured in yet another fresh process. The native row comes
// from build/bench/weft-trace-bench --json (last line of its output); if
// that program is not built, the row shows as missing.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve, basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { parseArgs } from 'node:util';
import { peers } from './peers.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const ALL = ['weft-native', 'weft-wasm', 'yjs', 'loro', 'automerge'];

const { values: opt, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    runs: { type: 'string', multiple: true, default: [] },
    only: { type: 'string' },
    json: { type: 'boolean', default: false },
    build: { type: 'string', default: join(root, 'build') },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (opt.help) {
  const lines = readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1);
  console.log(lines.slice(0, lines.findIndex((l) => !l.startsWith('//'))).join('\n'));
  process.exit(0);
}

const defaultTrace = [join(root, '../shared/traces/automerge-paper.json.gz'), '/work/shared/traces/automerge-paper.json.gz']
  .find(existsSync);
const tracePath = resolve(positionals[0] ?? defaultTrace ?? 'automerge-paper.json.gz');
if (!existsSync(tracePath)) {
  console.error(`compare: no trace at ${tracePath}`);
  process.exit(77); // like weft-trace-bench: ctest reports "skipped"
}
const only = opt.only ? opt.only.split(',').map((s) => s.trim()).filter(Boolean) : ALL;
for (const name of only)
  if (!ALL.includes(name)) {
    console.error(`compare: unknown peer "${name}" (known: ${ALL.join(', ')})`);
    process.exit(2);
  }

let baseRuns = 5;
const runsFor = {};
for (const r of opt.runs) {
  const m = /^(?:([\w-]+)=)?(\d+)$/.exec(r);
  if (!m || +m[2] < 1) {
    console.error(`compare: bad --runs ${r}`);
    process.exit(2);
  }
  if (m[1]) runsFor[m[1]] = +m[2];
  else baseRuns = +m[2];
}
const runsOf = (name) => runsFor[name] ?? Math.max(1, Math.floor(baseRuns / (peers[name]?.cost ?? 1)));

const log = (s) => process.stderr.write(`${s}\n`);

function sh(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

function machine() {
  const commit = sh('git', ['-C', root, 'rev-parse', '--short=12', 'HEAD']);
  const dirty = sh('git', ['-C', root, 'status', '--porcelain', '--untracked-files=no']);
  return {
    nproc: os.availableParallelism ? os.availableParallelism() : os.cpus().length,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    memGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    commit: commit ? commit + (dirty ? '+dirty' : '') : 'unknown',
    date: new Date().toISOString(),
  };
}

function lastJson(stdout) {
  const lines = stdout.trim().split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const l = lines[i].trim();
    if (l.startsWith('{')) return JSON.parse(l);
  }
  throw new Error('no JSON line in output');
}

function runNative(runs) {
  const exe = join(opt.build, 'bench/weft-trace-bench');
  if (!existsSync(exe)) return { peer: 'weft-native', missing: `not built (${exe})` };
  const r = spawnSync(exe, ['--json', '--runs', String(runs), tracePath], {
    encoding: 'utf8', maxBuffer: 1 << 26, stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (r.error) return { peer: 'weft-native', missing: String(r.error) };
  try {
    const j = lastJson(r.stdout);
    return { peer: 'weft-native', lib: 'crdt/ native (weft-trace-bench)', runs, ...j, exitCode: r.status };
  } catch (e) {
    return { peer: 'weft-native', missing: `exit ${r.status}, ${e.message}` };
  }
}

function runJs(name, runs, tmp) {
  const wasm = join(opt.build, 'crdt/wasm/weft_crdt.wasm');
  if (name === 'weft-wasm' && !existsSync(wasm)) return { peer: name, missing: `not built (${wasm})` };
  if (name !== 'weft-wasm' && !existsSync(join(here, 'node_modules'))) {
    return { peer: name, missing: 'no node_modules: run `npm ci` in bench/peers' };
  }
  const memFile = join(tmp, `${name}.mem`);
  const script = join(here, 'run-peer.mjs');
  const common = [`--peer=${name}`, `--wasm=${wasm}`];
  const r = spawnSync(process.execPath, ['--expose-gc', script, ...common, `--runs=${runs}`, `--dump-mem=${memFile}`, tracePath], {
    encoding: 'utf8', maxBuffer: 1 << 26, stdio: ['ignore', 'pipe', 'inherit'],
  });
  let res;
  try {
    res = lastJson(r.stdout);
  } catch (e) {
    return { peer: name, missing: `failed (exit ${r.status}${r.error ? `, ${r.error}` : ''})` };
  }
  const m = spawnSync(process.execPath, ['--expose-gc', script, ...common, `--mem=${memFile}`], {
    encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    res.rssDeltaLoaded = lastJson(m.stdout).rssDeltaLoaded;
  } catch {
    res.rssDeltaLoaded = null;
  }
  return res;
}

// ---- run ---------------------------------------------------------------------
const trace = JSON.parse(gunzipSync(readFileSync(tracePath)).toString('utf8'));
const traceInfo = {
  name: basename(tracePath).replace(/\.json\.gz$/, ''),
  path: tracePath,
  txns: trace.txns.length,
  patches: trace.txns.reduce((n, t) => n + t.patches.length, 0),
  endChars: [...trace.endContent].length,
};
const info = machine();
const tmp = mkdtempSync(join(os.tmpdir(), 'weft-peers-'));
const results = [];
log(`trace ${traceInfo.name}: ${traceInfo.txns} txns, ${traceInfo.patches} patches`);
for (const name of ALL.filter((n) => only.includes(n))) {
  const runs = runsOf(name);
  log(`running ${name} (${runs} run${runs > 1 ? 's' : ''}) ...`);
  const t0 = performance.now();
  const r = name === 'weft-native' ? runNative(runs) : runJs(name, runs, tmp);
  log(`  ${name}: ${r.missing ? `missing: ${r.missing}` : `done in ${((performance.now() - t0) / 1000).toFixed(1)} s`}`);
  results.push(r);
}
rmSync(tmp, { recursive: true, force: true });

const native = results.find((r) => r.peer === 'weft-native' && !r.missing);
const ratio = (r, k) => (native && r[k] != null && native[k] ? r[k] / native[k] : null);
for (const r of results)
  if (!r.missing) r.vsNative = Object.fromEntries(['replayMs', 'remoteMs', 'encodeMs', 'encodedBytes', 'loadMs', 'rssDeltaLoaded']
    .map((k) => [k, ratio(r, k) === null ? null : +ratio(r, k).toFixed(2)]));

if (opt.json) {
  console.log(JSON.stringify({ machine: info, trace: traceInfo, results }, null, 2));
} else {
  const ms = (x) => (x == null ? '-' : x >= 100 ? x.toFixed(0) : x.toFixed(1));
  const x = (v) => (v == null ? '' : `${v >= 10 ? v.toFixed(0) : v >= 0.1 ? v.toFixed(1) : v.toFixed(2)}x`);
  const kb = (b) => (b == null ? '-' : (b / 1024).toFixed(0));
  const mb = (b) => (b == null ? '-' : (b / 2 ** 20).toFixed(1));
  const head = ['peer', 'runs', 'replay ms', '', 'remote ms', '', 'encode ms', 'snap KiB', '', 'load ms', '', 'mem MiB', '', 'text'];
  const rows = results.map((r) => r.missing
    ? [r.peer, '-', `missing: ${r.missing}`]
    : [r.peer, String(r.runs ?? ''), ms(r.replayMs), x(ratio(r, 'replayMs')), ms(r.remoteMs), x(ratio(r, 'remoteMs')),
      ms(r.encodeMs), kb(r.encodedBytes), x(ratio(r, 'encodedBytes')), ms(r.loadMs), x(ratio(r, 'loadMs')),
      mb(r.rssDeltaLoaded), x(ratio(r, 'rssDeltaLoaded')), r.textOk ? 'ok' : 'WRONG']);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.filter((r) => i === 0 || r.length > 3).map((r) => (r[i] ?? '').length)));
  const fmt = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(`Weft vs peers — trace ${traceInfo.name} (${traceInfo.txns} txns, ${traceInfo.patches} patches, ${traceInfo.endChars} chars at end)`);
  console.log(`machine: ${info.nproc} CPUs, ${info.cpu}, ${info.memGiB} GiB, ${info.os}; node ${info.node}; commit ${info.commit}; ${info.date}`);
  if (native?.commit && native.commit !== info.commit) console.log(`weft-trace-bench reports commit ${native.commit}`);
  console.log('');
  console.log(fmt(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(r.length > 3 ? fmt(r) : `${r[0].padEnd(widths[0])}  ${r[2]}`);
  console.log('');
  console.log('Nx = ratio to weft-native (lower is better for every column). replay: local edits, one');
  console.log('transaction per trace txn; remote: a fresh replica built from the whole history in the');
  console.log("peer's own op/update format; snap: the peer's snapshot encoding; mem: resident memory gained");
  console.log('while building that replica, measured in a fresh process (approximate for JS peers).');
  for (const r of results.filter((q) => !q.missing)) {
    const extra = r.replayJsOpsMs != null ? `; replay with ops decoded to JS objects: ${ms(r.replayJsOpsMs)} ms` : '';
    console.log(`  ${r.peer}: ${r.lib ?? ''}${r.notes ? ` — ${r.notes}` : ''}${extra}`);
  }
}
process.exit(results.some((r) => !r.missing && !r.textOk) ? 1 : 0);
