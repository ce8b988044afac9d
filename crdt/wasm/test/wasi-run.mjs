// wasi-run.mjs — runs a wasm32-wasi command module with the few WASI calls a
// printf-and-exit C program makes (args, stdout/stderr, exit), capturing its
// output. Deliberately not node:wasi: that is experimental in Node 20, warns
// on stderr, and we want the bytes in memory anyway.
import { readFileSync } from 'node:fs';

const ESUCCESS = 0, EBADF = 8, ENOSYS = 52;

class Exit {
  constructor(code) { this.code = code; }
}

// Returns {code, stdout: Buffer, stderr: Buffer}.
export function runWasiCommand(wasmPath, args) {
  const module = new WebAssembly.Module(readFileSync(wasmPath));
  const argv = [wasmPath, ...args].map((a) => Buffer.from(a + '\0'));
  const streams = { 1: [], 2: [] };
  let memory;
  const view = () => new DataView(memory.buffer);
  const wasi = {
    args_sizes_get(argcPtr, sizePtr) {
      view().setUint32(argcPtr, argv.length, true);
      view().setUint32(sizePtr, argv.reduce((n, b) => n + b.length, 0), true);
      return ESUCCESS;
    },
    args_get(argvPtr, bufPtr) {
      const u8 = new Uint8Array(memory.buffer);
      argv.forEach((b, i) => {
        view().setUint32(argvPtr + 4 * i, bufPtr, true);
        u8.set(b, bufPtr);
        bufPtr += b.length;
      });
      return ESUCCESS;
    },
    environ_sizes_get(countPtr, sizePtr) {
      view().setUint32(countPtr, 0, true);
      view().setUint32(sizePtr, 0, true);
      return ESUCCESS;
    },
    environ_get() { return ESUCCESS; },
    fd_write(fd, iovs, iovsLen, nwrittenPtr) {
      if (!streams[fd]) return EBADF;
      const dv = view();
      let total = 0;
      for (let i = 0; i < iovsLen; i++) {
        const p = dv.getUint32(iovs + 8 * i, true), n = dv.getUint32(iovs + 8 * i + 4, true);
        streams[fd].push(Buffer.from(new Uint8Array(memory.buffer, p, n))); // copies
        total += n;
      }
      dv.setUint32(nwrittenPtr, total, true);
      return ESUCCESS;
    },
    fd_fdstat_get(fd, statPtr) {
      if (fd > 2) return EBADF;
      const dv = view();
      for (let i = 0; i < 24; i++) dv.setUint8(statPtr + i, 0);
      dv.setUint8(statPtr, 2); // character device; rights left zero
      return ESUCCESS;
    },
    fd_close() { return ESUCCESS; },
    proc_exit(code) { throw new Exit(code); },
  };
  const imports = {};
  for (const imp of WebAssembly.Module.imports(module)) {
    if (imp.kind !== 'function') continue;
    const ns = (imports[imp.module] ??= {});
    ns[imp.name] = (imp.module === 'wasi_snapshot_preview1' && wasi[imp.name]) || (() => ENOSYS);
  }
  const instance = new WebAssembly.Instance(module, imports);
  memory = instance.exports.memory;
  let code = 0;
  try {
    instance.exports._start();
  } catch (e) {
    if (!(e instanceof Exit)) throw e;
    code = e.code;
  }
  return { code, stdout: Buffer.concat(streams[1]), stderr: Buffer.concat(streams[2]) };
}
