// blame.js — the Blame view: the document's text, each span tinted in its
// author's colour (/api/docs/NAME/blame), with a legend of authors.
import { fetchBlame } from '../src/weft.js';
import { tint } from '../src/codemirror.js';
import { $, el, avatar, formatTime } from './ui.js';

function spansOf(r) {
  return Array.isArray(r) ? r : r && Array.isArray(r.spans) ? r.spans : [];
}

export class BlameView {
  constructor({ base, colorOf }) {
    this.base = base;
    this.colorOf = colorOf; // name → colour (presence colours first)
    this.seq = 0;
  }

  async open(doc) {
    const seq = ++this.seq;
    const legend = $('blame-legend');
    const box = $('blame-text');
    legend.replaceChildren(el('span', 'muted', 'Loading blame…'));
    let spans;
    try {
      spans = spansOf(await fetchBlame(this.base, doc));
    } catch (e) {
      if (seq === this.seq) legend.replaceChildren(el('span', 'muted', `Blame is unavailable: ${e.message || e}`));
      return;
    }
    if (seq !== this.seq) return;

    const authors = new Map(); // name → chars
    box.replaceChildren();
    for (const s of spans) {
      const who = s.user || `agent ${s.agent}`;
      const color = this.colorOf(who);
      const span = el('span', 'blame-span', s.text);
      span.dataset.user = who;
      span.style.backgroundColor = tint(color, 0.2);
      span.style.boxShadow = `inset 0 -2px 0 ${tint(color, 0.75)}`;
      span.title = `${who} · ${formatTime(s.time)}`;
      box.append(span);
      authors.set(who, (authors.get(who) || 0) + [...s.text].length);
    }
    if (!spans.length) box.append(el('span', 'empty', 'Nothing written yet.'));

    const total = [...authors.values()].reduce((a, b) => a + b, 0) || 1;
    legend.replaceChildren();
    for (const [who, n] of [...authors].sort((a, b) => b[1] - a[1])) {
      const item = el('span', 'legend-item');
      item.dataset.user = who;
      item.append(avatar(who, this.colorOf(who), 'avatar-sm'), el('span', 'legend-name', who),
        el('span', 'legend-share', `${Math.round((100 * n) / total)}%`));
      legend.append(item);
    }
  }

  close() {
    this.seq++;
  }
}
