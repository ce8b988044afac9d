// profile.js — the user's name and colour, chosen once, kept in localStorage.
import { $, PALETTE, el } from './ui.js';

const KEY = 'weft.user';
const NAMES = ['Ada', 'Grace', 'Alan', 'Barbara', 'Edsger', 'Margaret', 'Donald', 'Frances',
  'Ken', 'Radia', 'Dennis', 'Hedy', 'Linus', 'Katherine', 'Tim', 'Sophie'];

export function loadProfile() {
  try {
    const p = JSON.parse(localStorage.getItem(KEY) || 'null');
    if (p && typeof p.name === 'string' && p.name.trim() && typeof p.color === 'string')
      return { name: p.name.trim().slice(0, 40), color: p.color };
  } catch {
    /* a corrupt entry is replaced below */
  }
  return null;
}

function saveProfile(p) {
  try {
    localStorage.setItem(KEY, JSON.stringify(p));
  } catch {
    /* private mode: the profile lasts for this page only */
  }
}

function suggestion() {
  const name = NAMES[Math.floor(Math.random() * NAMES.length)];
  const color = PALETTE[Math.floor(Math.random() * PALETTE.length)];
  return { name, color };
}

/**
 * Shows the profile dialog; resolves with {name, color} once saved.
 * `current` prefills it (null: first visit, a suggested name).
 */
export function editProfile(current) {
  const dlg = $('profile');
  const name = $('profile-name');
  const colors = $('profile-colors');
  const start = current || suggestion();
  let chosen = start.color;

  name.value = start.name;
  colors.querySelectorAll('.swatch').forEach((s) => s.remove());
  for (const c of PALETTE) {
    const b = el('button', 'swatch');
    b.type = 'button';
    b.style.backgroundColor = c;
    b.setAttribute('aria-label', `Colour ${c}`);
    b.setAttribute('aria-pressed', String(c === chosen));
    b.addEventListener('click', () => {
      chosen = c;
      colors.querySelectorAll('.swatch').forEach((s) => s.setAttribute('aria-pressed', String(s === b)));
    });
    colors.appendChild(b);
  }
  $('profile-save').textContent = current ? 'Save' : 'Start writing';
  $('profile-title').textContent = current ? 'Your name and colour' : 'Who are you?';
  $('profile-cancel').hidden = !current;

  return new Promise((resolve) => {
    const cleanup = () => {
      $('profile-form').removeEventListener('submit', done);
      $('profile-cancel').removeEventListener('click', cancelClick);
      dlg.removeEventListener('cancel', cancel);
    };
    const done = (ev) => {
      ev.preventDefault();
      const n = name.value.trim().slice(0, 40);
      if (!n) return name.focus();
      const p = { name: n, color: chosen };
      saveProfile(p);
      cleanup();
      dlg.close();
      resolve(p);
    };
    const cancel = (ev) => {
      if (!current) return ev.preventDefault(); // the first time a name is needed
      cleanup();
      resolve(current);
    };
    const cancelClick = () => {
      cleanup();
      dlg.close();
      resolve(current);
    };
    $('profile-cancel').addEventListener('click', cancelClick);
    $('profile-form').addEventListener('submit', done);
    dlg.addEventListener('cancel', cancel);
    dlg.showModal();
    name.select();
  });
}
