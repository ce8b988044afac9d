// codemirror.js — binds a CodeMirror 6 editor to a Weft session.
//
//   import { weftBinding } from './codemirror.js';
//   const view = new EditorView({ parent, extensions: [weftBinding(session)] });
//
// Two-way sync:
// - local transactions → session.apply (or insert/delete). A transaction's changes are
//   walked in document order; iterChanges gives each change's start in the
//   *new* document (fromB), which is exactly its position once the earlier
//   changes of the same transaction have been applied, so deleting
//   [fromB, fromB + (toA - fromA)) and inserting at fromB replays them
//   sequentially on the session's text.
// - remote `change` events ({from, to, insert} applied in order, UTF-16) →
//   one view.dispatch whose ChangeSet is the composition of the sequential
//   changes, annotated with `weftRemote` so the plugin does not send them
//   back, and kept out of the undo history (undo only undoes your own edits,
//   mapped over everyone else's).
// - the main selection → session.setSelection(anchor, head) (presence).
// - presence → a StateField of decorations: a caret widget with the peer's
//   name in their colour, and a tinted mark over their selection. Between
//   presence events the decorations are mapped through every change.
//
// The editor and the session must hold the same text. If they ever disagree
// (an out-of-range change, an event during an update), the binding reconciles
// by replacing the differing middle of the editor's text with the session's.
//
// CSP: no style attributes are set through markup. Carets are coloured
// through the CSSOM (element.style), selection tints through classes whose
// rules live in a constructed stylesheet, so a strict `style-src 'self'` policy
// does not block anything.

import { Annotation, ChangeSet, StateEffect, StateField, Transaction } from '@codemirror/state';
import { Decoration, EditorView, ViewPlugin, WidgetType } from '@codemirror/view';

/** Annotation on transactions that carry remote changes (not sent back). */
export const weftRemote = Annotation.define();

const setPeersEffect = StateEffect.define();

/** A colour the binding is willing to put into a stylesheet rule. */
function safeColor(c) {
  if (typeof c !== 'string') return null;
  if (/^#[0-9a-f]{3,8}$/i.test(c)) return c;
  if (/^(rgb|rgba|hsl|hsla)\([0-9.,%\s/a-z-]{1,60}\)$/i.test(c)) return c;
  if (/^[a-z]{3,20}$/i.test(c)) return c;
  return null;
}

/** `#3b82f6` → `rgba(59, 130, 246, A)`; other colours go through color-mix. */
export function tint(color, alpha) {
  const c = safeColor(color) || '#64748b';
  let m = /^#([0-9a-f]{3})$/i.exec(c);
  const hex = m ? m[1].replace(/./g, '$&$&') : (/^#([0-9a-f]{6})/i.exec(c) || [])[1];
  if (hex) {
    const n = parseInt(hex, 16);
    return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
  }
  return `color-mix(in srgb, ${c} ${Math.round(alpha * 100)}%, transparent)`;
}

// One constructed stylesheet per document root holds the per-colour classes.
const sheets = new WeakMap();
function colorClass(view, color) {
  const c = safeColor(color) || '#64748b';
  const name = 'cm-weft-tint-' + c.toLowerCase().replace(/[^a-z0-9]/g, '_');
  const root = view.root;
  if (!root || typeof CSSStyleSheet === 'undefined' || !('adoptedStyleSheets' in root)) return name;
  let entry = sheets.get(root);
  if (!entry) {
    entry = { sheet: new CSSStyleSheet(), names: new Set() };
    root.adoptedStyleSheets = [...root.adoptedStyleSheets, entry.sheet];
    sheets.set(root, entry);
  }
  if (!entry.names.has(name)) {
    entry.sheet.insertRule(`.${name} { background-color: ${tint(c, 0.22)}; }`, entry.sheet.cssRules.length);
    entry.names.add(name);
  }
  return name;
}

class CaretWidget extends WidgetType {
  constructor(name, color, agent) {
    super();
    this.name = name;
    this.color = safeColor(color) || '#64748b';
    this.agent = agent;
  }
  eq(other) {
    return other.name === this.name && other.color === this.color && other.agent === this.agent;
  }
  toDOM() {
    const caret = document.createElement('span');
    caret.className = 'cm-weft-caret';
    caret.setAttribute('aria-hidden', 'true');
    caret.dataset.agent = String(this.agent);
    caret.style.borderLeftColor = this.color;
    const label = document.createElement('span');
    label.className = 'cm-weft-caret-label';
    label.textContent = this.name;
    label.style.backgroundColor = this.color;
    caret.appendChild(label);
    return caret;
  }
  ignoreEvent() {
    return true;
  }
}

function clamp(n, len) {
  n = Number.isFinite(n) ? Math.trunc(n) : 0;
  return n < 0 ? 0 : n > len ? len : n;
}

function buildDecorations(view, peers, doc) {
  const len = doc.length;
  const ranges = [];
  for (const p of peers) {
    if (p == null || p.head == null) continue;
    const head = clamp(p.head, len);
    const anchor = clamp(p.anchor ?? p.head, len);
    const name = p.name || `Guest ${p.agent}`;
    if (anchor !== head) {
      const from = Math.min(anchor, head), to = Math.max(anchor, head);
      ranges.push(
        Decoration.mark({
          class: `cm-weft-selection ${colorClass(view, p.color)}`,
          attributes: { title: name },
        }).range(from, to),
      );
    }
    ranges.push(
      Decoration.widget({ widget: new CaretWidget(name, p.color, p.agent), side: 1 }).range(head),
    );
  }
  return Decoration.set(ranges, true);
}

const peersField = StateField.define({
  create() {
    return Decoration.none;
  },
  update(deco, tr) {
    deco = deco.map(tr.changes);
    for (const e of tr.effects) if (e.is(setPeersEffect)) deco = e.value;
    return deco;
  },
  provide: (f) => EditorView.decorations.from(f),
});

const bindingTheme = EditorView.baseTheme({
  '.cm-weft-caret': {
    position: 'relative',
    borderLeft: '2px solid',
    marginLeft: '-1px',
    marginRight: '-1px',
    pointerEvents: 'none',
  },
  '.cm-weft-caret-label': {
    position: 'absolute',
    left: '-2px',
    bottom: '100%',
    padding: '1px 5px',
    borderRadius: '4px 4px 4px 0',
    color: '#fff',
    font: '600 11px/1.35 system-ui, -apple-system, "Segoe UI", sans-serif',
    whiteSpace: 'nowrap',
    userSelect: 'none',
    zIndex: '5',
    opacity: '0.95',
  },
  '.cm-weft-selection': { borderRadius: '2px' },
});

/** The text that differs between two strings, as one replacement. */
function middleDiff(a, b) {
  let start = 0;
  const min = Math.min(a.length, b.length);
  while (start < min && a.charCodeAt(start) === b.charCodeAt(start)) start++;
  let ea = a.length, eb = b.length;
  while (ea > start && eb > start && a.charCodeAt(ea - 1) === b.charCodeAt(eb - 1)) ea--, eb--;
  // never split a surrogate pair
  if (start > 0 && start < a.length && (a.charCodeAt(start) & 0xfc00) === 0xdc00) start--;
  return { from: start, to: ea, insert: b.slice(start, eb) };
}

/**
 * The CodeMirror extension for one session.
 * options.selection: send the local selection as presence (default true).
 */
export function weftBinding(session, options = {}) {
  const sendSelection = options.selection !== false;

  const plugin = ViewPlugin.fromClass(
    class {
      constructor(view) {
        this.view = view;
        this.session = session;
        this.lastSel = null;
        this.peers = [];
        this.off = [];
        this.onChange = (ev) => this.remoteChange(ev);
        this.onPresence = (peers) => this.setPeers(peers);
        this.onStatus = (st) => {
          if (st && (st.state === 'synced' || st.state === 'online')) this.later(() => this.reconcile());
        };
        this.off.push(listen(session, 'change', this.onChange));
        this.off.push(listen(session, 'presence', this.onPresence));
        this.off.push(listen(session, 'status', this.onStatus));
        this.later(() => {
          this.reconcile();
          this.pushSelection(view.state);
        });
        if (session.ready && typeof session.ready.then === 'function')
          session.ready.then(
            () =>
              this.later(() => {
                this.reconcile();
                this.pushSelection(this.view.state);
              }),
            () => {},
          );
      }

      later(fn) {
        queueMicrotask(() => {
          if (!this.destroyed) fn();
        });
      }

      update(u) {
        for (const tr of u.transactions) {
          if (!tr.docChanged || tr.annotation(weftRemote)) continue;
          const seq = [];
          tr.changes.iterChanges((fromA, toA, fromB, _toB, inserted) => {
            seq.push({ from: fromB, to: fromB + (toA - fromA), insert: inserted.toString() });
          });
          try {
            this.sendLocal(seq);
          } catch {
            // The session refused the edit (closed, or not synced): the
            // editor goes back to the session's text.
            this.later(() => this.reconcile());
          }
        }
        if (u.selectionSet || u.focusChanged) this.pushSelection(u.state);
      }

      /** Sequential changes (each relative to the text after the previous). */
      sendLocal(seq) {
        if (typeof this.session.apply === 'function') return this.session.apply(seq);
        for (const c of seq) {
          if (c.to > c.from) this.session.delete(c.from, c.to - c.from);
          if (c.insert) this.session.insert(c.from, c.insert);
        }
      }

      pushSelection(state) {
        if (!sendSelection || typeof this.session.setSelection !== 'function') return;
        const { anchor, head } = state.selection.main;
        if (this.lastSel && this.lastSel.anchor === anchor && this.lastSel.head === head) return;
        try {
          this.session.setSelection(anchor, head);
          this.lastSel = { anchor, head };
        } catch {
          this.lastSel = null; // not synced yet: sent once it is
        }
      }

      remoteChange(ev) {
        if (!ev || ev.remote === false) return; // local: the editor already has it
        if (this.destroyed) return;
        if (this.isUpdating()) {
          // An event raised inside our own update: apply after it, by diff.
          this.later(() => this.reconcile());
          return;
        }
        const changes = ev.changes || [];
        let doc = this.view.state.doc;
        let set = ChangeSet.empty(doc.length);
        for (const c of changes) {
          const from = c.from, to = c.to ?? c.from, insert = c.insert ?? '';
          if (!(from >= 0 && to >= from && to <= doc.length)) return this.reconcile();
          const step = ChangeSet.of({ from, to, insert }, doc.length);
          set = set.compose(step);
          doc = step.apply(doc);
        }
        if (set.empty) return;
        this.view.dispatch({
          changes: set,
          annotations: [weftRemote.of(true), Transaction.addToHistory.of(false)],
        });
        this.checkLength();
      }

      isUpdating() {
        // EditorView.updateState is set to a non-idle value during an update.
        return this.view.updateState !== undefined && this.view.updateState !== 0;
      }

      /** A cheap check after remote changes; a mismatch means reconcile. */
      checkLength() {
        const n = this.session.length16;
        if (typeof n === 'number' && n !== this.view.state.doc.length) this.reconcile();
      }

      /** Make the editor's text equal the session's with one minimal change. */
      reconcile() {
        const text = this.session.text;
        if (typeof text !== 'string' || this.destroyed) return;
        const cur = this.view.state.doc.toString();
        if (cur === text) return;
        const d = middleDiff(cur, text);
        this.view.dispatch({
          changes: d,
          annotations: [weftRemote.of(true), Transaction.addToHistory.of(false)],
        });
      }

      setPeers(peers) {
        this.peers = Array.isArray(peers) ? peers : [];
        const apply = () => {
          this.view.dispatch({
            effects: setPeersEffect.of(buildDecorations(this.view, this.peers, this.view.state.doc)),
          });
        };
        if (this.isUpdating()) this.later(apply);
        else apply();
      }

      destroy() {
        this.destroyed = true;
        for (const off of this.off) off();
      }
    },
  );

  return [peersField, bindingTheme, plugin];
}

/** session.on(event, fn) → a function that removes the listener. */
function listen(session, event, fn) {
  const r = session.on(event, fn);
  if (typeof r === 'function') return r;
  return () => {
    if (typeof session.off === 'function') session.off(event, fn);
    else if (typeof session.removeListener === 'function') session.removeListener(event, fn);
  };
}
