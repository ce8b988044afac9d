// snapshot-load.mjs — how long the JS client takes to turn a welcome's
// snapshot into an editable replica, the way client-js does it (frame
// checks, sections inflated by DecompressionStream, loaded by the server's
// column decoder inside the wasm engine), next to the JS decoder the client
// used before (one object per run, delete and span, then the engine).
//
//   build/bench/weft-trace-bench --runs 1 --snapshot-out /tmp/ap.snap ../shared/traces/automerge-paper.json.gz
//   WEFT_WASM=build/crdt/wasm/weft_crdt.wasm node bench/client/snapshot-load.mjs /tmp/ap.snap [--runs 15]
//
// Prints medians (ms) of each step; every run checks that both paths give
// the same text.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { decodeValue } from '../../client-js/src/codec.js';
import { decodeSnapshot, snapshotSections } from '../../client-js/src/snapshot.js';
import { getEngine, Replica } from '../../client-js/src/engine.js';

const { values, positionals } = parseArgs({ options: { runs: { type: 'string', default: '15' } }, allowPositionals: true });
if (positionals.length !== 1) {
  process.stderr.write('usage: node bench/client/snapshot-load.mjs SNAPSHOT_FILE [--runs N]\n');
  process.exit(2);
}
const bytes = new Uint8Array(readFileSync(positionals[0]));
const runs = Math.max(1, Number(values.runs) | 0);
const engine = await getEngine();
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
const t = { inflate: [], wasmLoad: [], client: [], jsDecode: [], jsEngine: [], jsTotal: [] };
let chars = 0;
for (let i = 0; i < runs; i++) {
  let t0 = performance.now();
  const sec = await snapshotSections(decodeValue(bytes, 'snapshot'));
  const t1 = performance.now();
  const r = Replica.fromSections(engine, sec, 5);
  const t2 = performance.now();
  t.inflate.push(t1 - t0);
  t.wasmLoad.push(t2 - t1);
  t.client.push(t2 - t0);
  const text = r.doc.text();
  chars = r.doc.len();
  r.doc.free();

  t0 = performance.now();
  const snap = await decodeSnapshot(decodeValue(bytes, 'snapshot'));
  const t3 = performance.now();
  const doc = engine.loadDoc(snap, 5);
  const t4 = performance.now();
  t.jsDecode.push(t3 - t0);
  t.jsEngine.push(t4 - t3);
  t.jsTotal.push(t4 - t0);
  if (doc.text() !== text) throw new Error('the two paths loaded different texts');
  doc.free();
}
const f = (k) => median(t[k]).toFixed(2);
console.log(`snapshot ${bytes.length} bytes, ${chars} chars, ${runs} runs, Node ${process.version}; medians in ms`);
console.log(`client-js (engine decoder): ${f('client')} = frame + inflate ${f('inflate')} + wasm load ${f('wasmLoad')}`);
console.log(`JS decoder (before):        ${f('jsTotal')} = frame + inflate + decode ${f('jsDecode')} + engine load ${f('jsEngine')}`);
