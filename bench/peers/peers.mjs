// peers.mjs — the JS-side contestants of compare.mjs, one object each.
//
// Every peer implements the same steps on a trace (see traces/README.md):
//   replay(trace)      apply every patch locally from an empty document, one
//                      library transaction per trace transaction -> state
//   text(state)        the document's text
//   remoteForm(state)  what a fresh replica receives to catch up: the peer's
//                      own op/update encoding of the whole history
//   remote(form)       build a fresh document from it        -> state
//   encode(state)      the peer's snapshot encoding           -> Uint8Array
//   load(bytes)        a fresh document from the snapshot     -> state
//   free(state)        release wasm-side memory, if any
//   memForm(state) / memBuild(bytes)
//                      the bytes a fresh replica is built from when its
//                      resident memory is measured (in a fresh process)
//
// Positions: the traces count code points and contain nothing above U+FFFF,
// so they equal the UTF-16 offsets Yjs, Automerge and Loro use. Weft takes
// code points directly.
import { dirname, join } from 'node:path';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

function pkgVersion(name) {
  try {
    return JSON.parse(readFileSync(join(here, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return null;
  }
}

export const peers = {
  yjs: {
    cost: 1,
    lib: () => `yjs ${pkgVersion('yjs')}`,
    async init() {
      this.Y = await import('yjs');
    },
    replay(trace) {
      const Y = this.Y, doc = new Y.Doc(), text = doc.getText('text');
      for (const txn of trace.txns)
        doc.transact(() => {
          for (const [pos, del, ins] of txn.patches) {
            if (del) text.delete(pos, del);
            if (ins) text.insert(pos, ins);
          }
        });
      return doc;
    },
    text: (doc) => doc.getText('text').toString(),
    remoteForm(doc) {
      return this.Y.encodeStateAsUpdate(doc);
    },
    remote(update) {
      const doc = new this.Y.Doc();
      this.Y.applyUpdate(doc, update);
      return doc;
    },
    encode(doc) {
      return this.Y.encodeStateAsUpdateV2(doc);
    },
    load(bytes) {
      const doc = new this.Y.Doc();
      this.Y.applyUpdateV2(doc, bytes);
      return doc;
    },
    free: (doc) => doc.destroy(),
    memForm(doc) {
      return this.Y.encodeStateAsUpdate(doc);
    },
    memBuild(update) {
      return this.remote(update);
    },
    notes: 'remote = applyUpdate(encodeStateAsUpdate) into a fresh Y.Doc; snapshot = encodeStateAsUpdateV2',
  },

  automerge: {
    cost: 5, // ~20 s per replay of automerge-paper: fewer runs by default
    lib: () => `@automerge/automerge ${pkgVersion('@automerge/automerge')}`,
    async init() {
      this.A = await import('@automerge/automerge');
    },
    replay(trace) {
      const A = this.A;
      let doc = A.from({ text: '' });
      for (const txn of trace.txns)
        doc = A.change(doc, (d) => {
          for (const [pos, del, ins] of txn.patches) A.splice(d, ['text'], pos, del, ins);
        });
      return doc;
    },
    text: (doc) => doc.text.toString(),
    remoteForm(doc) {
      return this.A.getAllChanges(doc);
    },
    remote(changes) {
      const [doc] = this.A.applyChanges(this.A.init(), changes);
      return doc;
    },
    encode(doc) {
      return this.A.save(doc);
    },
    load(bytes) {
      return this.A.load(bytes);
    },
    free(doc) {
      this.A.free(doc);
    },
    memForm(doc) {
      return this.A.save(doc);
    },
    memBuild(bytes) {
      return this.A.load(bytes);
    },
    notes: 'next API (v3 default); remote = applyChanges(getAllChanges) into init(); snapshot = save()',
  },

  loro: {
    cost: 1,
    lib: () => `loro-crdt ${pkgVersion('loro-crdt')}`,
    async init() {
      this.L = await import('loro-crdt');
    },
    replay(trace) {
      const doc = new this.L.LoroDoc(), text = doc.getText('text');
      doc.setPeerId(1);
      for (const txn of trace.txns) {
        for (const [pos, del, ins] of txn.patches) {
          if (del) text.delete(pos, del);
          if (ins) text.insert(pos, ins);
        }
        doc.commit();
      }
      return doc;
    },
    text: (doc) => doc.getText('text').toString(),
    remoteForm: (doc) => doc.export({ mode: 'update' }),
    remote(update) {
      const doc = new this.L.LoroDoc();
      doc.import(update);
      return doc;
    },
    encode: (doc) => doc.export({ mode: 'snapshot' }),
    load(bytes) {
      const doc = new this.L.LoroDoc();
      doc.import(bytes);
      return doc;
    },
    free: (doc) => doc.free(),
    memForm: (doc) => doc.export({ mode: 'update' }),
    memBuild(update) {
      return this.remote(update);
    },
    notes: 'one commit() per trace txn; remote = import(export update); snapshot = export snapshot',
  },

  // The Weft engine compiled to wasm, through crdt/wasm/weft-engine.js.
  'weft-wasm': {
    cost: 1,
    lib: () => 'crdt/ via weft_crdt.wasm',
    async init(opts) {
      const { loadEngine } = await import(join(here, '../../crdt/wasm/weft-engine.js'));
      const wasm = opts.wasm;
      this.engine = await loadEngine(wasm);
      this.wasmPath = wasm;
      this.enc = new TextEncoder();
    },
    // Like the native bench: agent 1, one engine transaction (one op list)
    // per trace txn. Each txn's ops leave wasm as one flat batch (api.c
    // encoding, what a client would send), appended to one growing log so
    // that 260k batches do not become 260k JS objects.
    replay(trace) {
      const e = this.engine, x = e.x, doc = e.newDoc(1), h = doc.h;
      let log = new Uint8Array(1 << 20), used = 0;
      const ends = new Uint32Array(trace.txns.length);
      trace.txns.forEach((txn, i) => {
        for (const [pos, del, ins] of txn.patches) {
          if (del) e.check(x.wf_delete(h, pos, del));
          if (ins) {
            const p = e.scratch(3 * ins.length), n = e.writeText(ins, p);
            e.check(x.wf_insert(h, pos, p, n));
          }
        }
        e.check(x.wf_take_ops(h));
        const p = x.wf_out_ptr(), n = x.wf_out_len();
        if (used + n > log.length) {
          const bigger = new Uint8Array(Math.max(2 * log.length, used + n));
          bigger.set(log.subarray(0, used));
          log = bigger;
        }
        log.set(e.u8.subarray(p, p + n), used);
        used += n;
        ends[i] = used;
      });
      return { doc, log: { bytes: log, ends } };
    },
    // The same through the public JS API: ops decoded to plain objects.
    replayJsOps(trace) {
      const doc = this.engine.newDoc(1);
      let nops = 0;
      for (const txn of trace.txns)
        nops += doc.transact((d) => {
          for (const [pos, del, ins] of txn.patches) {
            if (del) d.delete(pos, del);
            if (ins) d.insert(pos, ins);
          }
        }).length;
      return { doc, nops };
    },
    text: (s) => s.doc.text(),
    remoteForm: (s) => s.log,
    // One batch per trace txn, as a server or peer receives them.
    remote({ bytes, ends }) {
      const e = this.engine, x = e.x, doc = e.newDoc(), h = doc.h;
      let start = 0;
      for (const end of ends) {
        const p = e.scratch(end - start);
        e.u8.set(bytes.subarray(start, end), p);
        e.check(x.wf_apply_ops(h, p, 0));
        start = end;
      }
      return { doc };
    },
    encode(s) {
      const b = s.doc.snapshotBytes(), out = new Uint8Array(b.runs.length + b.dels.length + b.spans.length + 12);
      const dv = new DataView(out.buffer);
      dv.setUint32(0, b.runs.length, true);
      dv.setUint32(4, b.dels.length, true);
      dv.setUint32(8, b.spans.length, true);
      out.set(b.runs, 12);
      out.set(b.dels, 12 + b.runs.length);
      out.set(b.spans, 12 + b.runs.length + b.dels.length);
      return out;
    },
    load(bytes) {
      const dv = new DataView(bytes.buffer, bytes.byteOffset), r = dv.getUint32(0, true), d = dv.getUint32(4, true);
      const runs = bytes.subarray(12, 12 + r), dels = bytes.subarray(12 + r, 12 + r + d);
      const spans = bytes.subarray(12 + r + d);
      return { doc: this.engine.loadDoc({ runs, dels, spans }) };
    },
    free: (s) => s.doc.free(),
    memForm: (s) => s.doc.opsSinceBytes(),
    memBuild(bytes) {
      const doc = this.engine.newDoc();
      doc.applyBytes(bytes);
      return { doc };
    },
    notes: 'snapshot = api.c flat runs/dels/spans (not the msgpack wire format); remote = one applyBytes per txn batch',
  },
};

export function peerVersion(name) {
  return peers[name]?.lib?.() ?? null;
}
