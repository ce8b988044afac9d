// Differential test: the engine built natively and built to wasm32-wasi must
// print exactly the same bytes for the same seeded histories and for the
// brief's scenarios (crdt/wasm/diff_driver.c).
//
//   node diff.test.mjs --native build/crdt/wasm/weft-diff-driver \
//        --wasm build/crdt/wasm/weft_diff_driver.wasm [--seeds 1,2,3] [--steps 250]
//
// On a mismatch both outputs are written to $TMPDIR/weft-diff-*.txt and the
// first differing lines are shown. Self-check failures ("FAIL" lines: the
// engine disagreeing with itself or with the brief's expected text) are a
// separate subtest, so parity and correctness are reported apart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runWasiCommand } from './wasi-run.mjs';

const { values: opt } = parseArgs({
  options: {
    native: { type: 'string' },
    wasm: { type: 'string' },
    seeds: { type: 'string', default: '1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,42,1337,0xdeadbeefcafebabe' },
    steps: { type: 'string', default: '400' },
  },
});
if (!opt.native || !opt.wasm) {
  console.error('usage: diff.test.mjs --native PATH --wasm PATH [--seeds a,b] [--steps N]');
  process.exit(2);
}

function runNative(args) {
  const r = spawnSync(opt.native, args, { maxBuffer: 1 << 30 });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function firstDiff(a, b) {
  const la = a.toString('utf8').split('\n'), lb = b.toString('utf8').split('\n');
  for (let i = 0; i < Math.max(la.length, lb.length); i++) {
    if (la[i] !== lb[i]) {
      const ctx = (l) => l.slice(Math.max(0, i - 3), i + 3).map((s, k) => `  ${i - Math.min(3, i) + k + 1}: ${s}`).join('\n');
      return `first difference at line ${i + 1}\nnative:\n${ctx(la)}\nwasm:\n${ctx(lb)}`;
    }
  }
  return 'outputs differ only in bytes not split by lines';
}

const failLines = [];

function compare(name, args) {
  test(`native == wasm: ${name}`, () => {
    const n = runNative(args);
    const w = runWasiCommand(opt.wasm, args);
    assert.equal(n.code, 0, `native exited ${n.code}: ${n.stderr}`);
    assert.equal(w.code, 0, `wasm exited ${w.code}: ${w.stderr}`);
    assert.ok(n.stdout.toString().endsWith('end\n'), 'native output is incomplete');
    if (!n.stdout.equals(w.stdout)) {
      const base = join(tmpdir(), `weft-diff-${name.replace(/\W+/g, '_')}`);
      writeFileSync(`${base}.native.txt`, n.stdout);
      writeFileSync(`${base}.wasm.txt`, w.stdout);
      assert.fail(`${name}: ${n.stdout.length} vs ${w.stdout.length} bytes; ${firstDiff(n.stdout, w.stdout)}\n` +
        `full outputs: ${base}.native.txt ${base}.wasm.txt`);
    }
    for (const line of n.stdout.toString('utf8').split('\n'))
      if (/\bFAIL\b/.test(line)) failLines.push(`${name}: ${line}`);
  });
}

compare('scenarios', ['scenarios']);
for (const seed of opt.seeds.split(',')) compare(`seed ${seed}`, ['random', seed, opt.steps]);

test('driver self-checks (scenario results, convergence, patches, snapshots)', () => {
  assert.deepEqual(failLines.slice(0, 40), [], `${failLines.length} FAIL line(s)`);
});
