// hocus-server.mjs — @hocuspocus/server on 127.0.0.1:PORT, as its README
// starts it, optionally with @hocuspocus/extension-sqlite on a file.
//
//   node hocus-server.mjs --port 18100 [--sqlite /tmp/x/hocus.db]
//
// Everything else is Hocuspocus's default configuration (store debounce 2 s,
// maxDebounce 10 s, unload a document as soon as its last client leaves).
// Prints one line `{"event":"listening","port":N}` on stdout when the port
// accepts connections. SIGTERM/SIGINT stop it (Hocuspocus's own handler
// stores pending documents first).
import { parseArgs } from 'node:util';
import { Server } from '@hocuspocus/server';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    sqlite: { type: 'string' },
  },
  strict: true,
});
const port = Number(values.port);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  process.stderr.write('usage: node hocus-server.mjs --port PORT [--sqlite FILE]\n');
  process.exit(2);
}

const extensions = [];
if (values.sqlite) {
  // A dynamic import, so the plain server runs even where the optional
  // native module (better-sqlite3) could not be built.
  const { SQLite } = await import('@hocuspocus/extension-sqlite');
  extensions.push(new SQLite({ database: values.sqlite }));
}

const server = new Server({ port, address: '127.0.0.1', quiet: true, extensions });
await server.listen();
process.stdout.write(JSON.stringify({ event: 'listening', port }) + '\n');
