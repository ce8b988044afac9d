// browser-join.mjs — a browser joining a big document: headless Chromium
// opens `weft serve`'s page, imports the client bundle the server embeds
// (/weft.js) and joins the automerge-paper document again and again, each
// time a fresh session (new agent, full welcome), until it holds the final
// text. Prints medians; the first join also compiles the wasm engine and is
// reported on its own.
//
//   scripts/dev build && (cd client-js && npm ci)    # chromium: apt-get install chromium
//   node bench/client/browser-join.mjs [--joins 20] [--trace ../shared/traces/automerge-paper.json.gz]
//
// The document is built and uploaded by weft-load (S4's builder, one join).
import { parseArgs } from 'node:util';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { skipUnlessReady, startServer, launchBrowser, repoRoot } from '../../tests/e2e/harness.mjs';

const { values } = parseArgs({
  options: {
    joins: { type: 'string', default: '20' },
    trace: { type: 'string', default: join(repoRoot, '../shared/traces/automerge-paper.json.gz') },
  },
});
skipUnlessReady();
const joins = Math.max(1, Number(values.joins) | 0);
const server = await startServer();
let browser;
try {
  const ws = server.url.replace('http:', 'ws:') + '/ws';
  const prefix = `browser-join-${process.pid}-`;
  const up = spawnSync(join(repoRoot, 'build/bench/weft-load'), ['--url', ws, '--scenario', 'S4', '--trace', values.trace,
    '--joins', '1', '--cold-wait', '0', '--room-prefix', prefix], { encoding: 'utf8' });
  if (up.status !== 0) throw new Error(`weft-load could not build the document:\n${up.stderr}`);
  const chars = JSON.parse(up.stdout.trim().split('\n').pop()).docChars;

  browser = await launchBrowser();
  const page = await browser.newPage();
  await page.goto(server.url + '/');
  const ms = await page.evaluate(async ({ ws, doc, joins, chars }) => {
    const { connect } = await import('/weft.js');
    const out = [];
    for (let i = 0; i < joins; i++) {
      const t0 = performance.now();
      const s = connect(ws, { doc });
      await s.ready;
      const t1 = performance.now();
      const n = [...s.text].length;
      s.close();
      if (n !== chars) throw new Error(`join ${i}: ${n} chars, want ${chars}`);
      out.push(t1 - t0);
    }
    return out;
  }, { ws, doc: `${prefix}0`, joins, chars });
  const rest = ms.slice(1).sort((a, b) => a - b);
  const med = rest.length ? rest[rest.length >> 1] : ms[0];
  const ver = await browser.version();
  console.log(`Chromium ${ver}: automerge-paper (${chars} chars), ${joins} joins, connect -> session.ready with the full text`);
  console.log(`first join (compiles the wasm engine): ${ms[0].toFixed(2)} ms; then median ${med.toFixed(2)} ms, ` +
    `min ${rest.length ? rest[0].toFixed(2) : '-'}, max ${rest.length ? rest[rest.length - 1].toFixed(2) : '-'}`);
} finally {
  if (browser) await browser.close();
  await server.stop();
}
