// history.js — the History view: a slider over the server's versions
// (/api/docs/NAME/versions), the text at the chosen version (/text?lsn=)
// read-only, optionally with what that version changed (/diff), and a
// replay that plays the document from version 0 to the head.
import { fetchVersions, fetchText, fetchDiff } from '../src/weft.js';
import { $, el, formatTime } from './ui.js';

function versionsOf(r) {
  const list = Array.isArray(r) ? r : r && Array.isArray(r.versions) ? r.versions : [];
  return list.filter((v) => v && Number.isFinite(v.lsn));
}

function textOf(r) {
  return typeof r === 'string' ? r : r && typeof r.text === 'string' ? r.text : '';
}

export class HistoryView {
  constructor({ base, colorOf }) {
    this.base = base;
    this.colorOf = colorOf;
    this.doc = null;
    this.versions = new Map(); // lsn → {lsn, time, agent, user}
    this.seq = 0; // answers to stale requests are dropped
    this.gen = 0; // one per open(): stops paging when the view closes
    this.cache = new Map();
    this.playing = null;
    this.slider = $('history-slider');
    this.slider.addEventListener('input', () => this.show(+this.slider.value));
    $('history-changes').addEventListener('change', () => this.show(+this.slider.value));
    $('history-play').addEventListener('click', () => (this.playing ? this.stop() : this.play()));
  }

  /** Enters the view for `doc`: loads the version list, shows the head. */
  async open(doc) {
    this.stop();
    if (doc !== this.doc) this.cache.clear();
    this.doc = doc;
    const seq = ++this.seq;
    this.setInfo('Loading history…', '');
    let first;
    try {
      first = await fetchVersions(this.base, doc);
    } catch (e) {
      if (seq === this.seq) this.fail(e);
      return;
    }
    if (seq !== this.seq) return;
    this.versions = new Map(versionsOf(first).map((v) => [v.lsn, v]));
    const head = Number.isFinite(first && first.lsn) ? first.lsn : [...this.versions.keys()].reduce((a, b) => Math.max(a, b), 0);
    this.morePages(doc, first && first.next, ++this.gen);
    this.slider.max = String(head);
    this.slider.value = String(head);
    this.slider.disabled = head === 0;
    await this.show(head);
  }

  close() {
    this.stop();
    this.seq++;
    this.gen++;
  }

  versionAt(lsn) {
    return this.versions.get(lsn);
  }

  /** A long history comes in pages: the slider covers the head at once, details fill in. */
  async morePages(doc, next, gen) {
    while (next != null && gen === this.gen) {
      let r;
      try {
        r = await fetchVersions(this.base, doc, { from: next });
      } catch {
        return; // the details of later versions stay unknown
      }
      if (gen !== this.gen) return;
      for (const v of versionsOf(r)) this.versions.set(v.lsn, v);
      next = r && r.next;
    }
    if (gen === this.gen) this.label(+this.slider.value);
  }

  label(lsn) {
    const v = this.versionAt(lsn);
    const text = lsn === 0 ? 'Version 0 — empty document' : `Version ${lsn} of ${this.slider.max}`;
    this.setInfo(text, v ? `${v.user || `agent ${v.agent}`} · ${formatTime(v.time)}` : '');
    this.slider.setAttribute('aria-valuetext', text);
  }

  async show(lsn) {
    const seq = ++this.seq;
    const v = this.versionAt(lsn);
    this.label(lsn);
    const changes = $('history-changes').checked && lsn > 0;
    const key = `${changes ? 'd' : 't'}${lsn}`;
    try {
      let value = this.cache.get(key);
      if (value === undefined) {
        value = changes
          ? ((await fetchDiff(this.base, this.doc, lsn - 1, lsn)) || {}).ops || []
          : textOf(await fetchText(this.base, this.doc, lsn));
        this.cache.set(key, value);
      }
      if (seq !== this.seq) return;
      this.render(value, v);
    } catch (e) {
      if (seq === this.seq) this.fail(e);
    }
  }

  render(value, v) {
    const box = $('history-text');
    box.replaceChildren();
    box.dataset.lsn = this.slider.value;
    if (typeof value === 'string') {
      box.textContent = value;
    } else {
      for (const op of value) {
        if (op.op === 'eq') box.append(op.text);
        else {
          const e = el(op.op === 'ins' ? 'ins' : 'del', null, op.text);
          if (op.op === 'ins' && v) e.title = `Added by ${v.user}`;
          box.append(e);
        }
      }
    }
    if (!box.textContent) box.append(el('span', 'empty', 'Nothing written yet at this version.'));
  }

  setInfo(label, detail) {
    $('history-label').textContent = label;
    $('history-detail').textContent = detail;
  }

  fail(e) {
    this.setInfo('History is unavailable', String(e && e.message ? e.message : e));
    $('history-text').replaceChildren();
  }

  /** Replays from the start (or from where the slider is, if not at the head). */
  play() {
    const head = +this.slider.max;
    if (head === 0) return;
    let at = +this.slider.value >= head ? 0 : +this.slider.value;
    const step = Math.max(1, Math.ceil(head / 150));
    $('history-play').classList.add('playing');
    const tick = async () => {
      if (!this.playing) return;
      this.slider.value = String(at);
      await this.show(at);
      if (!this.playing) return;
      if (at >= head) return this.stop();
      at = Math.min(head, at + step);
      this.playing = setTimeout(tick, 40);
    };
    this.playing = setTimeout(tick, 0);
  }

  stop() {
    if (this.playing) clearTimeout(this.playing);
    this.playing = null;
    $('history-play').classList.remove('playing');
  }
}
