// harness.mjs — a real `weft serve` and Debian's Chromium for the browser tests.
//
// Environment (set by tests/e2e/CMakeLists.txt):
//   WEFT_BIN        the weft binary (with the demo embedded)
//   WEFT_CHROMIUM   Chromium (default /usr/bin/chromium)
//   WEFT_CLIENT_DIR client-js/, where playwright-core is installed
//   WEFT_E2E_OUT    where screenshots go (default: a temp dir)
//   WEFT_UPDATE_SCREENSHOT=1  also write docs/demo.png
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { existsSync, mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '../..');
export const weftBin = process.env.WEFT_BIN || join(repoRoot, 'build/server/weft');
export const chromiumPath = process.env.WEFT_CHROMIUM || '/usr/bin/chromium';
const clientDir = process.env.WEFT_CLIENT_DIR || join(repoRoot, 'client-js');
export const outDir = process.env.WEFT_E2E_OUT || mkdtempSync(join(tmpdir(), 'weft-e2e-out-'));
mkdirSync(outDir, { recursive: true });

/** Exits 77 (ctest: skipped) when the browser, the server or playwright-core is missing. */
export function skipUnlessReady() {
  const missing = [];
  if (!existsSync(chromiumPath)) missing.push(`${chromiumPath} (apt-get install chromium)`);
  if (!existsSync(weftBin)) missing.push(`${weftBin} (cmake --build build)`);
  if (!existsSync(join(clientDir, 'node_modules/playwright-core'))) missing.push('playwright-core (npm ci in client-js)');
  if (missing.length) {
    console.log(`# SKIP browser tests: missing ${missing.join(', ')}`);
    process.exit(77);
  }
}

export function playwright() {
  return createRequire(join(clientDir, 'package.json'))('playwright-core');
}

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

/** Starts `weft serve` on a free port with a fresh database (and extraArgs); resolves once it listens. */
export async function startServer(extraArgs = []) {
  const dir = mkdtempSync(join(tmpdir(), 'weft-e2e-'));
  const port = await freePort();
  const args = ['serve', '--listen', `127.0.0.1:${port}`, '--db', join(dir, 'x.db'), '--log-level', 'warn', ...extraArgs];
  const child = spawn(weftBin, args, {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  // Never outlive the test process, however it ends.
  const reap = () => child.exitCode === null && child.signalCode === null && process.kill(child.pid, 'SIGKILL');
  process.once('exit', reap);
  let stderr = '';
  await new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`weft serve did not start:\n${stderr}`)), 15000);
    child.stderr.on('data', (d) => {
      stderr += d;
      if (stderr.includes('weft: listening on')) {
        clearTimeout(timer);
        res();
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      rej(new Error(`weft serve exited with ${code}:\n${stderr}`));
    });
  });
  child.stderr.on('data', () => {}); // keep draining
  const url = `http://127.0.0.1:${port}`;
  const index = await fetch(`${url}/`).catch(() => null);
  if (!index || !index.ok) {
    process.kill(child.pid, 'SIGTERM');
    console.log(`# SKIP browser tests: ${weftBin} serves no demo page (built without the client bundle?)`);
    process.exit(77);
  }
  return {
    url,
    log: () => stderr,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        process.kill(child.pid, 'SIGTERM');
        const t = setTimeout(() => child.exitCode === null && process.kill(child.pid, 'SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function launchBrowser() {
  const { chromium } = playwright();
  return chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/**
 * A new context (its own storage: one user) and page on the demo.
 * Every console error and page error is recorded in `errors`; `allow(re)`
 * tolerates matching console errors for a while (the browser's own log
 * lines for a WebSocket that fails while the page is offline).
 */
export async function openUser(browser, baseUrl, { name, color, doc, viewport = { width: 1280, height: 800 } }) {
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1 });
  await context.addInitScript(
    ([n, c]) => localStorage.setItem('weft.user', JSON.stringify({ name: n, color: c })),
    [name, color],
  );
  const page = await context.newPage();
  const errors = [];
  const allowed = [];
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const text = m.text();
    if (allowed.some((re) => re.test(text))) return;
    errors.push(`console: ${text}`);
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  await page.goto(`${baseUrl}/?doc=${encodeURIComponent(doc)}`);
  try {
    await page.waitForFunction(() => window.weftDemo && window.weftDemo.ready, null, { timeout: 15000 });
  } catch (e) {
    await page.screenshot({ path: join(outDir, `not-ready-${name.replace(/\W+/g, '_')}.png`) }).catch(() => {});
    e.message += `\npage errors: ${JSON.stringify(errors)}`;
    throw e;
  }
  return {
    name, color, context, page, errors,
    allow(re) { allowed.push(re); },
    disallowAll() { allowed.length = 0; },
    text: () => page.evaluate(() => window.weftDemo.text),
  };
}

/** Polls fn() until it returns a truthy value. */
export async function until(fn, what, timeout = 15000) {
  const end = Date.now() + timeout;
  let last;
  while (Date.now() < end) {
    last = await fn();
    if (last) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
}
