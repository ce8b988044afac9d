// The esbuild bundle (build/client-js/dist, what weft serves as /weft.js)
// works on its own: imported from dist/, it finds weft_crdt.wasm next to
// itself, syncs two sessions and decodes a golden frame.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import WebSocket from 'ws';
import { startServer, until, haveServer } from './harness.js';

const dist = process.env.WEFT_CLIENT_DIST || new URL('../../build/client-js/dist', import.meta.url).pathname;
const have = existsSync(join(dist, 'weft.js')) && existsSync(join(dist, 'weft_crdt.wasm'));
const skip = (!have && `no bundle in ${dist} (cmake --build build)`) || (!haveServer() && 'no weft binary');

test('dist/weft.js syncs with the wasm next to it', { skip }, async (t) => {
  const weft = await import(pathToFileURL(join(dist, 'weft.js')).href);
  for (const name of ['connect', 'fetchVersions', 'fetchText', 'fetchBlame', 'decodeMessage', 'encode'])
    assert.equal(typeof weft[name], 'function', name);
  assert.deepEqual(weft.decodeMessage(new Uint8Array([0x92, 0x08, 0x05])), [8, 5]);
  const srv = await startServer(t);
  const prev = process.env.WEFT_WASM;
  delete process.env.WEFT_WASM; // the default location: next to weft.js
  t.after(() => { if (prev !== undefined) process.env.WEFT_WASM = prev; });
  const a = weft.connect(srv.wsUrl, { doc: 'b', WebSocket }), b = weft.connect(srv.wsUrl, { doc: 'b', WebSocket });
  t.after(() => { a.close(); b.close(); });
  await Promise.all([a.ready, b.ready]);
  a.insert(0, 'bundled 📦');
  await until(() => b.text === 'bundled 📦' && a.unacked === 0);
});

test('weft serve serves the embedded bundle with the right content types', { skip }, async (t) => {
  const { readFileSync } = await import('node:fs');
  const srv = await startServer(t);
  const want = {
    '/weft.js': ['weft.js', /^text\/javascript/],
    '/weft_crdt.wasm': ['weft_crdt.wasm', /^application\/wasm$/],
    '/': ['index.html', /^text\/html/],
    '/demo.js': ['demo.js', /^text\/javascript/],
    '/demo.css': ['demo.css', /^text\/css/],
  };
  for (const [path, [file, type]] of Object.entries(want)) {
    if (!existsSync(join(dist, file))) continue; // the demo is optional
    const r = await fetch(`${srv.base}${path}`);
    assert.equal(r.status, 200, path);
    assert.match(r.headers.get('content-type'), type, path);
    const body = Buffer.from(await r.arrayBuffer());
    // The library and the engine byte for byte; the demo files change
    // often (another engineer's), so for them status and type suffice.
    if (file.startsWith('weft'))
      assert.ok(body.equals(readFileSync(join(dist, file))), `${path} is the built ${file} (rebuild weft after bundling?)`);
    else
      assert.ok(body.length > 0, path);
  }
});
