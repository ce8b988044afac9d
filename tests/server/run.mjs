// ctest entry point: `node run.mjs FILE.test.mjs` runs `node --test FILE`,
// or exits 77 (ctest SKIP_RETURN_CODE) when the weft binary is not built
// yet, so the suite stays green while the server is being written.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const file = process.argv[2];
const bin = process.env.WEFT_BIN;
if (!file) {
  console.error('usage: node run.mjs FILE.test.mjs');
  process.exit(2);
}
if (process.env.WEFT_NEEDS_SERVER !== '0' && (!bin || !existsSync(bin))) {
  console.log(`SKIP: ${file}: no weft binary at ${bin || '(WEFT_BIN unset)'}`);
  process.exit(77);
}
if (!existsSync(new URL('./node_modules/ws/package.json', import.meta.url))) {
  console.error('tests/server: node_modules missing: run `npm ci` in tests/server (scripts/dev setup does)');
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--test', '--test-reporter=spec', file], { stdio: 'inherit' });
process.exit(r.status ?? 1);
