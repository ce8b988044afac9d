// main.js — the Weft demo editor: a document by name (from the URL, so the
// link is shareable), a CodeMirror 6 editor bound to a Weft session, who is
// here, the connection state, and the History and Blame views.
import { EditorState, Compartment } from '@codemirror/state';
import { EditorView, keymap, placeholder } from '@codemirror/view';
import { defaultKeymap, history as undoHistory, historyKeymap, indentWithTab } from '@codemirror/commands';
import { connect } from '../src/weft.js';
import { weftBinding } from '../src/codemirror.js';
import { $, avatar, colorFor, el, toast } from './ui.js';
import { loadProfile, editProfile } from './profile.js';
import { HistoryView } from './history.js';
import { BlameView } from './blame.js';

const BASE = location.origin;
const WS_URL = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/ws`;

const STATUS_TEXT = {
  connecting: 'Connecting…',
  online: 'Syncing…',
  synced: 'Synced',
  offline: 'Offline',
  closed: 'Disconnected',
};

const app = {
  profile: null,
  doc: null,
  session: null,
  view: null,
  peers: [],
  mode: 'edit',
  editable: new Compartment(),
};

const colorOf = (name) => {
  if (app.profile && name === app.profile.name) return app.profile.color;
  const p = app.peers.find((x) => x.name === name);
  return p && p.color ? p.color : colorFor(name);
};
const historyView = new HistoryView({ base: BASE, colorOf });
const blameView = new BlameView({ base: BASE, colorOf });

/* ---------- the document name and the URL ---------- */

function validName(n) {
  return typeof n === 'string' && n.length > 0 && new TextEncoder().encode(n).length <= 127 &&
    !/[\u0000-\u001f\u007f]/.test(n);
}

function docFromUrl() {
  const q = new URLSearchParams(location.search).get('doc');
  if (q && validName(q.trim())) return q.trim();
  const h = decodeURIComponent(location.hash.slice(1) || '').trim();
  if (validName(h)) return h;
  return null;
}

function randomDocName() {
  const words = ['notes', 'draft', 'plan', 'ideas', 'memo', 'spec'];
  const rnd = crypto.getRandomValues(new Uint32Array(1))[0].toString(36).slice(0, 5);
  return `${words[rnd.charCodeAt(0) % words.length]}-${rnd}`;
}

function docUrl(doc) {
  const u = new URL(location.href);
  u.hash = '';
  u.search = `?doc=${encodeURIComponent(doc)}`;
  return u.toString();
}

/* ---------- the session and the editor ---------- */

// The editor lives in a shadow root: CodeMirror then styles it through
// constructed stylesheets, which a strict `style-src 'self'` policy allows
// (on a document it would add <style> elements, which it blocks).
function editorRoot() {
  const host = $('editor');
  return host.shadowRoot || host.attachShadow({ mode: 'open' });
}

const docTheme = EditorView.theme({
  '&': { flex: '1 1 auto', minWidth: '0', color: 'var(--ink, #111827)' },
  '&.cm-focused': { outline: 'none' },
  '.cm-scroller': { fontFamily: 'var(--font-doc, Georgia, serif)', fontSize: '17px', lineHeight: '1.7' },
  '.cm-content': { padding: '34px 48px 48px', maxWidth: '820px', caretColor: 'var(--ink, #111827)' },
  '.cm-line': { padding: '0' },
  '.cm-placeholder': { color: '#9ca3af', fontStyle: 'italic' },
  '@media (max-width: 720px)': {
    '.cm-content': { padding: '26px 18px 32px' },
    '.cm-scroller': { fontSize: '16px' },
  },
});

function openDoc(doc, { push = true } = {}) {
  if (app.session && doc === app.doc) return;
  closeDoc();
  app.doc = doc;
  if (push) history.pushState({ doc }, '', docUrl(doc));
  else history.replaceState({ doc }, '', docUrl(doc));
  document.title = `${doc} — Weft`;
  $('doc-name').value = doc;
  $('share-url').value = docUrl(doc);

  // A shorter heartbeat than the library's default: an editor should say
  // "Offline" within seconds of the link dying, not half a minute.
  const session = connect(WS_URL, {
    doc,
    user: { name: app.profile.name, color: app.profile.color },
    pingInterval: 5000,
    pingTimeout: 12000,
  });
  app.session = session;
  session.on('status', (st) => {
    if (session !== app.session) return;
    showStatus(st);
    if (st.state === 'closed' && app.ready) {
      app.view.dispatch({ effects: app.editable.reconfigure(EditorState.readOnly.of(true)) });
    }
    if (st.state === 'closed' && session.error) {
      const why = session.error.reason || `code ${session.error.code}`;
      app.closedReason = `Disconnected: ${why}. Reload to reconnect.`;
      renderMeta();
      toast(`Disconnected: ${why}`);
      if (!app.ready) $('editor-loading').textContent = `Could not open this document: ${why}`;
    }
  });
  session.on('presence', (peers) => {
    if (session !== app.session) return;
    app.peers = Array.isArray(peers) ? peers : [];
    renderPeople();
  });

  $('editor-loading').hidden = false;
  app.view = new EditorView({
    parent: editorRoot(),
    state: EditorState.create({
      doc: typeof session.text === 'string' ? session.text : '',
      extensions: [
        app.editable.of([EditorView.editable.of(false), EditorState.readOnly.of(true)]),
        undoHistory(),
        keymap.of([...defaultKeymap, ...historyKeymap, indentWithTab]),
        EditorView.lineWrapping,
        docTheme,
        EditorView.updateListener.of((u) => u.docChanged && scheduleMeta()),
        placeholder('Start writing — everyone with the link sees it as you type.'),
        EditorView.contentAttributes.of({ 'aria-label': `Document ${doc}`, spellcheck: 'true' }),
        weftBinding(session),
      ],
    }),
  });
  Promise.resolve(session.ready).then(
    () => {
      if (session !== app.session) return;
      $('editor-loading').hidden = true;
      app.view.dispatch({ effects: app.editable.reconfigure([]) });
      app.ready = true;
      if (app.mode === 'edit') app.view.focus();
    },
    () => {
      if (session === app.session) $('editor-loading').textContent = 'Could not open this document.';
    },
  );
  renderPeople();
  if (app.mode !== 'edit') setMode(app.mode);
}

function closeDoc() {
  app.ready = false;
  app.closedReason = null;
  if (app.view) app.view.destroy();
  if (app.session) app.session.close();
  app.view = null;
  app.session = null;
  app.peers = [];
}

/* ---------- header: status, presence ---------- */

function showStatus(st) {
  app.status = st;
  const unacked = st.unacked;
  // The browser knows it is offline before any heartbeat can tell.
  const state = navigator.onLine === false && st.state !== 'closed' ? 'offline' : st.state;
  const box = $('status');
  box.dataset.state = state;
  document.querySelector('.app').classList.toggle('is-offline', state === 'offline' || state === 'closed');
  $('status-label').textContent = STATUS_TEXT[state] || state;
  const n = unacked | 0;
  const u = $('status-unacked');
  u.hidden = n === 0;
  u.textContent = `${n} unsent`;
  box.title = n
    ? `${n} character${n === 1 ? '' : 's'} of your edits not yet stored by the server`
    : 'Every edit is stored on the server';
}

let metaPending = false;
function scheduleMeta() {
  if (metaPending) return;
  metaPending = true;
  requestAnimationFrame(() => {
    metaPending = false;
    renderMeta();
  });
}

function renderMeta() {
  const meta = $('doc-meta');
  meta.classList.toggle('doc-meta-error', !!app.closedReason);
  if (app.closedReason) return void (meta.textContent = app.closedReason);
  const text = app.view ? app.view.state.doc.toString() : '';
  const words = (text.match(/[\p{L}\p{N}][\p{L}\p{N}'’-]*/gu) || []).length;
  const people = uniquePeers().length + 1;
  meta.textContent =
    `${words.toLocaleString()} word${words === 1 ? '' : 's'} · ${people === 1 ? 'only you' : `${people} people editing`}`;
}

function uniquePeers() {
  const seen = new Set();
  return app.peers.filter((p) => p && !seen.has(p.agent) && seen.add(p.agent));
}

function renderPeople() {
  const me = app.profile;
  const peers = uniquePeers();
  const bar = $('avatars');
  bar.replaceChildren();
  for (const p of peers.slice(0, 5)) {
    const a = avatar(p.name || `Guest ${p.agent}`, p.color || colorFor(p.name), 'avatar-peer');
    a.dataset.agent = String(p.agent);
    bar.append(a);
  }
  if (peers.length > 5) bar.append(el('span', 'avatar avatar-more', `+${peers.length - 5}`));

  const meAvatar = $('me-avatar');
  meAvatar.textContent = avatar(me.name, me.color).textContent;
  meAvatar.style.backgroundColor = me.color;
  $('me').title = `You are ${me.name} — click to change`;

  const list = $('people');
  list.replaceChildren();
  const row = (name, color, note) => {
    const li = el('li', 'person');
    li.append(avatar(name, color, 'avatar-sm'), el('span', 'person-name', name));
    if (note) li.append(el('span', 'person-note', note));
    list.append(li);
  };
  row(me.name, me.color, 'you');
  for (const p of peers) row(p.name || `Guest ${p.agent}`, p.color || colorFor(p.name), '');
  if (!peers.length) list.append(el('li', 'person-empty', 'Share the link to write together.'));
  renderMeta();
}

/* ---------- Edit / History / Blame ---------- */

function setMode(mode) {
  app.mode = mode;
  for (const t of document.querySelectorAll('.tab')) {
    const on = t.dataset.view === mode;
    t.setAttribute('aria-selected', String(on));
    t.tabIndex = on ? 0 : -1;
  }
  $('panel-edit').hidden = mode !== 'edit';
  $('panel-history').hidden = mode !== 'history';
  $('panel-blame').hidden = mode !== 'blame';
  if (mode === 'history') historyView.open(app.doc);
  else historyView.close();
  if (mode === 'blame') blameView.open(app.doc);
  else blameView.close();
  if (mode === 'edit' && app.view) app.view.focus();
}

/* ---------- wiring ---------- */

function wire() {
  $('doc-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const name = $('doc-name').value.trim();
    if (!validName(name)) return toast('Names are 1–127 bytes, without control characters');
    openDoc(name);
  });
  $('copy-link').addEventListener('click', () => copyLink());
  $('share-url').addEventListener('focus', (e) => e.target.select());
  for (const t of document.querySelectorAll('.tab')) t.addEventListener('click', () => setMode(t.dataset.view));
  document.querySelector('.tabs').addEventListener('keydown', (e) => {
    const order = ['edit', 'history', 'blame'];
    const d = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : 0;
    if (!d) return;
    const next = order[(order.indexOf(app.mode) + d + order.length) % order.length];
    setMode(next);
    $(`tab-${next}`).focus();
  });
  $('history-live').addEventListener('click', () => setMode('edit'));
  $('me').addEventListener('click', async () => {
    const before = app.profile;
    const p = await editProfile(before);
    if (p.name === before.name && p.color === before.color) return;
    app.profile = p;
    const doc = app.doc;
    closeDoc(); // the name travels in hello: reconnect as the new me
    openDoc(doc, { push: false });
  });
  for (const ev of ['online', 'offline'])
    window.addEventListener(ev, () => app.status && showStatus(app.status));
  window.addEventListener('popstate', () => {
    const doc = docFromUrl();
    if (doc && doc !== app.doc) openDoc(doc, { push: false });
  });
  window.addEventListener('hashchange', () => {
    const doc = docFromUrl();
    if (doc && doc !== app.doc) openDoc(doc, { push: false });
  });
}

async function copyLink() {
  const url = docUrl(app.doc);
  try {
    await navigator.clipboard.writeText(url);
  } catch {
    const input = $('share-url');
    input.value = url;
    input.select();
    if (!document.execCommand || !document.execCommand('copy')) return toast('Copy the link from the Share box');
  }
  toast('Link copied — send it to a colleague');
}

async function main() {
  wire();
  app.profile = loadProfile() || (await editProfile(null));
  renderPeople();
  openDoc(docFromUrl() || randomDocName(), { push: false });
}

// A read-only handle for the browser tests and the curious (devtools).
window.weftDemo = {
  get ready() { return app.ready === true; },
  get text() { return app.view ? app.view.state.doc.toString() : null; },
  get doc() { return app.doc; },
  get peers() { return uniquePeers().map((p) => ({ ...p })); },
  get status() { return $('status').dataset.state; },
};

main();
