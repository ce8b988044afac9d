// ui.js — small DOM helpers shared by the demo's views.
// No inline styles in markup (CSP): colours go through element.style (CSSOM).

export const $ = (id) => document.getElementById(id);

export const PALETTE = [
  '#2563eb', '#db2777', '#059669', '#d97706', '#7c3aed',
  '#dc2626', '#0891b2', '#65a30d', '#c026d3', '#475569',
];

/** A stable palette colour for a name that has no presence colour. */
export function colorFor(name) {
  let h = 2166136261;
  for (const ch of String(name)) h = Math.imul(h ^ ch.codePointAt(0), 16777619);
  return PALETTE[(h >>> 0) % PALETTE.length];
}

export function initials(name) {
  const words = String(name || '?').trim().split(/\s+/).filter(Boolean);
  const first = [...(words[0] || '?')][0] || '?';
  const second = words.length > 1 ? [...words[words.length - 1]][0] : '';
  return (first + second).toUpperCase();
}

export function avatar(name, color, extraClass = '') {
  const el = document.createElement('span');
  el.className = 'avatar ' + extraClass;
  el.textContent = initials(name);
  el.title = name;
  el.style.backgroundColor = color;
  return el;
}

export function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text != null) e.textContent = text;
  return e;
}

let toastTimer = 0;
export function toast(message) {
  const t = $('toast');
  t.textContent = message;
  t.hidden = false;
  t.classList.add('show');
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    t.classList.remove('show');
    toastTimer = setTimeout(() => (t.hidden = true), 250);
  }, 1800);
}

const timeFmt = new Intl.DateTimeFormat(undefined, {
  month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit',
});
export function formatTime(ms) {
  if (!Number.isFinite(ms)) return '';
  return timeFmt.format(new Date(ms));
}

export function relativeTime(ms) {
  const s = Math.round((Date.now() - ms) / 1000);
  if (!Number.isFinite(s)) return '';
  if (s < 10) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return formatTime(ms);
}
