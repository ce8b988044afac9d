// run-peer.mjs — measures one peer in its own process (started by
// compare.mjs), so no library's heap, JIT state or wasm memory skews another.
//
//   node --expose-gc run-peer.mjs --peer=NAME [--runs=N] [--wasm=PATH] TRACE
//       timed runs; the last line of output is one JSON object
//   node --expose-gc run-peer.mjs --peer=NAME --mem=FILE [--wasm=PATH]
//       resident memory gained while building a document from FILE (the
//       peer's memForm bytes, written by a timed run with --dump-mem=FILE)
import { readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { parseArgs } from 'node:util';
import { peers } from './peers.mjs';

const { values: opt, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    peer: { type: 'string' },
    runs: { type: 'string', default: '5' },
    wasm: { type: 'string' },
    mem: { type: 'string' },
    'dump-mem': { type: 'string' },
  },
});

const peer = peers[opt.peer];
if (!peer) {
  console.error(`unknown peer ${opt.peer}; known: ${Object.keys(peers).join(', ')}`);
  process.exit(2);
}
const gc = globalThis.gc ?? (() => {});
const now = () => performance.now();

function median(xs) {
  const s = [...xs].sort((a, b) => a - b), m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function settle() {
  for (let i = 0; i < 3; i++) gc();
}

// Times fn() `runs` times; each result is checked, then freed.
function timed(runs, fn, check) {
  const ms = [];
  let ok = true;
  for (let i = 0; i < runs; i++) {
    const t0 = now();
    const state = fn();
    ms.push(now() - t0);
    ok &&= check(state);
    if (i + 1 < runs) peer.free(state);
    else return { ms, ok, state };
  }
  return { ms, ok, state: null };
}

await peer.init({ wasm: opt.wasm });

if (opt.mem) {
  const bytes = new Uint8Array(readFileSync(opt.mem));
  settle();
  const rss0 = process.memoryUsage.rss();
  const state = peer.memBuild(bytes);
  settle();
  const rss1 = process.memoryUsage.rss();
  const len = peer.text(state).length; // keeps state alive until measured
  console.log(JSON.stringify({ peer: opt.peer, rssDeltaLoaded: rss1 - rss0, textLength: len }));
  process.exit(0);
}

const tracePath = positionals[0];
const trace = JSON.parse(gunzipSync(readFileSync(tracePath)).toString('utf8'));
const runs = Math.max(1, parseInt(opt.runs, 10) || 1);
const textIs = (s) => peer.text(s) === trace.endContent;

// Warm-up (JIT, wasm tiers) for cheap peers only: an expensive one is
// dominated by its own work and a warm-up would double its time.
if (peer.cost === 1) peer.free(peer.replay(trace));
settle();

const rep = timed(runs, () => peer.replay(trace), textIs);
const form = peer.remoteForm(rep.state);
const rem = timed(runs, () => peer.remote(form), textIs);
peer.free(rem.state);
const encMs = [];
let bytes;
for (let i = 0; i < runs; i++) {
  const t0 = now();
  bytes = peer.encode(rep.state);
  encMs.push(now() - t0);
}
const ld = timed(runs, () => peer.load(bytes), textIs);
peer.free(ld.state);

const result = {
  peer: opt.peer,
  lib: peer.lib(),
  runs,
  replayMs: median(rep.ms),
  remoteMs: median(rem.ms),
  encodeMs: median(encMs),
  encodedBytes: bytes.length,
  loadMs: median(ld.ms),
  textOk: rep.ok && rem.ok && ld.ok,
  replayRunsMs: rep.ms.map((x) => +x.toFixed(1)),
  notes: peer.notes,
};
if (peer.replayJsOps) {
  const js = timed(runs, () => peer.replayJsOps(trace), (s) => peer.text(s) === trace.endContent);
  result.replayJsOpsMs = median(js.ms);
  result.textOk &&= js.ok;
  peer.free(js.state);
}
if (opt['dump-mem']) writeFileSync(opt['dump-mem'], peer.memForm(rep.state));
peer.free(rep.state);
console.log(JSON.stringify(result));
