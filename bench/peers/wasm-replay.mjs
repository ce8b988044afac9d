// wasm-replay.mjs — the engine alone, compiled to WebAssembly, replaying a
// trace in Node: local edits, one transaction per trace txn, ops dropped
// (no copy out to JS). The "wasm in Node" figure of docs/benchmarks.md;
// compare.mjs's weft-wasm row also takes each txn's ops out, as a client does.
//
//   node bench/peers/wasm-replay.mjs [TRACE.json.gz] [--runs=N] [--build=DIR]
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const opt = (k, d) => (args.find((a) => a.startsWith(`--${k}=`)) ?? `=${d}`).split('=')[1];
const tracePath = args.find((a) => !a.startsWith('--')) ?? join(root, '../shared/traces/automerge-paper.json.gz');
const runs = Number(opt('runs', 7));
const build = resolve(root, opt('build', 'build'));

const { loadEngine, Doc } = await import(join(root, 'crdt/wasm/weft-engine.js'));
const trace = JSON.parse(gunzipSync(readFileSync(tracePath)).toString());
const engine = await loadEngine(readFileSync(join(build, 'crdt/wasm/weft_crdt.wasm')));
const times = [];
for (let r = 0; r < runs + 1; r++) {
  const doc = new Doc(engine, 1);
  const t0 = performance.now();
  for (const txn of trace.txns) {
    doc.inTxn = 1; // one transaction per trace txn
    for (const [pos, del, ins] of txn.patches) {
      if (del) doc.delete(pos, del);
      if (ins) doc.insert(pos, ins);
    }
    doc.inTxn = 0;
    doc.dropOps();
  }
  const ms = performance.now() - t0;
  if (doc.text() !== trace.endContent) throw new Error('wasm replay: wrong final text');
  doc.free();
  if (r > 0) times.push(ms); // the first run warms up
}
times.sort((a, b) => a - b);
const med = times[Math.floor(times.length / 2)];
console.log(`wasm replay ${tracePath.split('/').pop()}: median ${med.toFixed(1)} ms, min ${times[0].toFixed(1)} ms over ${runs} runs (node ${process.version})`);
