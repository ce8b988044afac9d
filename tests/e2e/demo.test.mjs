// demo.test.mjs — the demo editor in two headless Chromium pages against a
// real `weft serve`: concurrent typing at one spot converges, remote cursors
// show, an offline page's edits merge without duplicates, the history slider
// shows an earlier version, blame shows both authors, no console errors.
// Run directly (`node tests/e2e/demo.test.mjs`) so a missing browser can exit
// 77, which ctest reports as skipped.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  skipUnlessReady, startServer, launchBrowser, openUser, until, outDir, repoRoot,
} from './harness.mjs';

skipUnlessReady();

const DOC = `e2e-${process.pid}`;
let server, browser, ada, bob;

async function shot(u, file) {
  const path = join(outDir, file);
  await u.page.screenshot({ path });
  return path;
}

/** Puts u's caret at UTF-16 offset `pos` with the keyboard (one press per grapheme). */
async function caretAt(u, pos) {
  const before = (await u.text()).slice(0, pos);
  const presses = [...new Intl.Segmenter('en', { granularity: 'grapheme' }).segment(before)].length;
  await u.page.locator('.cm-content').click();
  await u.page.keyboard.press('Control+Home');
  for (let i = 0; i < presses; i++) await u.page.keyboard.press('ArrowRight');
}

async function converged(what) {
  let a, b;
  return until(async () => {
    [a, b] = [await ada.text(), await bob.text()];
    return a === b && what(a) ? a : null;
  }, 'both pages to show the same text').catch((e) => {
    e.message += `\nada: ${JSON.stringify(a)}\nbob: ${JSON.stringify(b)}`;
    throw e;
  });
}

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  ada = await openUser(browser, server.url, { name: 'Ada Lovelace', color: '#2563eb', doc: DOC });
  bob = await openUser(browser, server.url, { name: 'Bob Kahn', color: '#db2777', doc: DOC });
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
});

test('one page types, the other sees it', async () => {
  await caretAt(ada, 0);
  await ada.page.keyboard.type('Weft keeps everyone in step.', { delay: 5 });
  await converged((t) => t === 'Weft keeps everyone in step.');
});

test('two pages type at the same spot at the same time and converge', async () => {
  // both carets right after "Weft"
  await caretAt(ada, 4);
  await caretAt(bob, 4);
  await Promise.all([
    ada.page.keyboard.type(' [ada types here]', { delay: 15 }),
    bob.page.keyboard.type(' [bob types here]', { delay: 15 }),
  ]);
  const text = await converged((t) => t.includes('[ada types here]') && t.includes('[bob types here]'));
  // FugueMax never interleaves two runs typed concurrently at one place
  assert.match(text, /^Weft( \[ada types here\]| \[bob types here\]){2} keeps everyone in step\.$/);
});

test('each page sees the other\'s cursor and selection, with a name', async () => {
  await until(
    () => ada.page.locator('.cm-weft-caret-label', { hasText: 'Bob Kahn' }).count(),
    "Bob's caret on Ada's page",
  );
  await until(
    () => bob.page.locator('.cm-weft-caret-label', { hasText: 'Ada Lovelace' }).count(),
    "Ada's caret on Bob's page",
  );
  // Bob selects a word: Ada sees it tinted
  await caretAt(bob, 0);
  await bob.page.keyboard.press('Shift+Control+ArrowRight');
  await until(() => ada.page.locator('.cm-weft-selection').count(), "Bob's selection on Ada's page");
  // presence in the header and the side panel
  await until(() => ada.page.locator('#people .person-name', { hasText: 'Bob Kahn' }).count(), 'Bob listed');
  await until(async () => (await ada.page.locator('#status').getAttribute('data-state')) === 'synced', 'synced');
  await shot(ada, 'cursors-ada.png');
  await shot(bob, 'cursors-bob.png');
});

test('copy link puts the shareable URL on the clipboard', async () => {
  await ada.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
  await ada.page.locator('#copy-link').click();
  await ada.page.locator('#toast.show').waitFor();
  const copied = await ada.page.evaluate(() => navigator.clipboard.readText());
  assert.equal(copied, `${server.url}/?doc=${DOC}`);
  assert.equal(await ada.page.locator('#share-url').inputValue(), copied);
});

test('undo takes back only my own edit, around a peer\'s', async () => {
  const start = await ada.text();
  await caretAt(ada, start.length);
  await ada.page.keyboard.type(' Mine.', { delay: 5 });
  await converged((t) => t.endsWith(' Mine.'));
  await caretAt(bob, 0);
  await bob.page.keyboard.type('Yours: ', { delay: 5 });
  await converged((t) => t.startsWith('Yours: ') && t.endsWith(' Mine.'));
  await ada.page.locator('.cm-content').focus();
  await ada.page.keyboard.press('Control+z');
  await converged((t) => t === `Yours: ${start}`);
  await bob.page.locator('.cm-content').focus();
  await bob.page.keyboard.press('Control+z');
  await converged((t) => t === start);
});

test('a page goes offline, edits, comes back and converges without duplicates', async () => {
  const before = await ada.text();
  bob.allow(/WebSocket connection to .* failed|ERR_INTERNET_DISCONNECTED|net::ERR_/);
  await bob.context.setOffline(true);
  await until(async () => (await bob.page.locator('#status').getAttribute('data-state')) === 'offline',
    "Bob's status to say offline", 45000);
  // Bob edits offline, Ada edits online
  await caretAt(bob, before.length);
  await bob.page.keyboard.type(' Offline line from Bob.', { delay: 5 });
  await until(async () => /unsent/.test(await bob.page.locator('#status').innerText()), 'an unsent count');
  await shot(bob, 'offline-bob.png');
  await caretAt(ada, 0);
  await ada.page.keyboard.type('Online: ', { delay: 5 });
  assert.ok(!(await ada.text()).includes('Offline line'), 'Ada must not see offline edits yet');

  await bob.context.setOffline(false);
  const text = await converged((t) => t.includes('Offline line from Bob.') && t.startsWith('Online: '));
  assert.equal(text.split('Offline line from Bob.').length, 2, 'the offline edit appears exactly once');
  assert.equal(text.split('Online: ').length, 2, 'the online edit appears exactly once');
  assert.equal(text, `Online: ${before} Offline line from Bob.`);
  await until(async () => (await bob.page.locator('#status').getAttribute('data-state')) === 'synced', 'Bob synced');
  await until(async () => !(await bob.page.locator('#status-unacked').isVisible()), 'no unsent edits left');
  bob.disallowAll();
});

test('the history slider shows an earlier version', async () => {
  const live = await ada.text();
  await ada.page.locator('#tab-history').click();
  const slider = ada.page.locator('#history-slider');
  const head = await until(async () => +(await slider.getAttribute('max')), 'the version list');
  assert.ok(head >= 4, `a few versions exist (head ${head})`);
  await ada.page.locator('#history-changes').uncheck();
  await until(async () => (await ada.page.locator('#history-text').innerText()) === live, 'the head version');

  const earlier = Math.max(1, Math.floor(head / 3));
  await slider.fill(String(earlier));
  const want = await (await fetch(`${server.url}/api/docs/${DOC}/text?lsn=${earlier}`)).json();
  await until(async () => (await ada.page.locator('#history-text').innerText()) === want.text, `version ${earlier}`);
  assert.notEqual(want.text, live);
  assert.match(await ada.page.locator('#history-label').innerText(), new RegExp(`Version ${earlier} of ${head}`));
  await ada.page.locator('#history-changes').check();
  await until(() => ada.page.locator('#history-text ins').count(), 'the changes of that version');
  await shot(ada, 'history.png');

  // the replay plays on from the chosen version to the head
  await ada.page.locator('#history-play').click();
  await until(async () => (await ada.page.locator('#history-label').innerText()).startsWith(`Version ${head} of ${head}`),
    'the replay to reach the head', 30000);
  assert.equal(await ada.page.locator('#history-text').innerText(), live);

  await ada.page.locator('#history-live').click();
  assert.ok(await ada.page.locator('#panel-edit').isVisible());
  assert.equal(await ada.text(), live);
});

test('blame shows two authors', async () => {
  await ada.page.locator('#tab-blame').click();
  await until(() => ada.page.locator('#blame-legend .legend-item').count(), 'the blame legend');
  const names = await ada.page.locator('#blame-legend .legend-name').allInnerTexts();
  assert.deepEqual(names.sort(), ['Ada Lovelace', 'Bob Kahn']);
  const users = await ada.page.locator('#blame-text .blame-span').evaluateAll((els) => [...new Set(els.map((e) => e.dataset.user))].sort());
  assert.deepEqual(users, ['Ada Lovelace', 'Bob Kahn']);
  assert.equal(await ada.page.locator('#blame-text').innerText(), await ada.text());
  await shot(ada, 'blame.png');
  await ada.page.locator('#tab-edit').click();
});

test('multi-change transactions and characters beyond the BMP converge', async () => {
  // one transaction, three changes: indent three lines at once
  await caretAt(ada, 0);
  await ada.page.keyboard.press('Control+End');
  await ada.page.keyboard.insertText('\none\ntwo\nthree');
  await converged((t) => t.endsWith('\none\ntwo\nthree'));
  await ada.page.keyboard.press('Shift+ArrowUp');
  await ada.page.keyboard.press('Shift+ArrowUp');
  await ada.page.keyboard.press('Tab');
  let text = await converged((t) => /\n {2}one\n {2}two\n {2}three$/.test(t));
  // UTF-16: a surrogate pair and a skin-tone modifier, then typing after them on the other page
  const at = text.indexOf('two');
  await caretAt(ada, at);
  await ada.page.keyboard.insertText('👋🏽 ');
  await converged((t) => t.includes('👋🏽 two'));
  await caretAt(bob, at + '👋🏽 '.length);
  await bob.page.keyboard.type('hello ', { delay: 5 });
  text = await converged((t) => t.includes('👋🏽 hello two'));
  // undo, step by step: the emoji, then the three-line indent (one event)
  await ada.page.locator('.cm-content').focus();
  await ada.page.keyboard.press('Control+z');
  await converged((t) => !t.includes('👋🏽') && t.includes('\n  hello two'));
  await ada.page.keyboard.press('Control+z');
  await converged((t) => t.endsWith('\none\nhello two\nthree'));
});

test('the demo fits a narrow window', async () => {
  const carol = await openUser(browser, server.url, {
    name: 'Carol Shaw', color: '#059669', doc: DOC, viewport: { width: 390, height: 780 },
  });
  try {
    const overflow = await carol.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `no horizontal scrolling (${overflow} px too wide)`);
    assert.equal(await carol.text(), await ada.text());
    await shot(carol, 'narrow.png');
    for (const view of ['history', 'blame']) {
      await carol.page.locator(`#tab-${view}`).click();
      await carol.page.locator(view === 'history' ? '#history-text' : '#blame-legend .legend-item').first().waitFor();
      const o = await carol.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(o <= 0, `${view}: no horizontal scrolling (${o} px too wide)`);
      await shot(carol, `narrow-${view}.png`);
    }
    assert.deepEqual(carol.errors, []);
  } finally {
    await carol.context.close();
  }
});

test('a first visit asks for a name and colour, and keeps them', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const errors = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(e.message));
  try {
    await page.goto(`${server.url}/#${DOC}`);
    const dialog = page.locator('#profile');
    await dialog.waitFor({ state: 'visible' });
    await page.screenshot({ path: join(outDir, 'first-visit.png') });
    await page.locator('#profile-name').fill('Dana Scott');
    await page.locator('#profile-colors .swatch').nth(4).click();
    await page.locator('#profile-save').click();
    await page.waitForFunction(() => window.weftDemo.ready);
    assert.equal(new URL(page.url()).searchParams.get('doc'), DOC, '#NAME becomes a shareable ?doc=NAME');
    const stored = await page.evaluate(() => JSON.parse(localStorage.getItem('weft.user')));
    assert.equal(stored.name, 'Dana Scott');
    await until(() => ada.page.locator('#people .person-name', { hasText: 'Dana Scott' }).count(), 'Dana on Ada\'s page');
    await page.reload();
    await page.waitForFunction(() => window.weftDemo.ready);
    assert.ok(!(await dialog.isVisible()), 'asked only once');
    // a new name reconnects; the others see it
    await page.locator('#me').click();
    await page.locator('#profile-name').fill('Dana S.');
    await page.locator('#profile-save').click();
    await page.waitForFunction(() => window.weftDemo.ready);
    await until(() => ada.page.locator('#people .person-name', { hasText: 'Dana S.' }).count(), 'the new name on Ada\'s page');
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('open a document by name; the README screenshot', async () => {
  const name = 'Launch plan';
  for (const u of [ada, bob]) {
    await u.page.locator('#doc-name').fill(name);
    await u.page.locator('#open-doc').click();
    await u.page.waitForFunction((n) => window.weftDemo.doc === n && window.weftDemo.ready, name);
    assert.equal(new URL(u.page.url()).searchParams.get('doc'), name);
  }
  await caretAt(ada, 0);
  await ada.page.keyboard.insertText(
    'Launch plan: Weft 1.0\n\n' +
    'Goal: ship real-time collaborative editing to every customer workspace by the end of the quarter.\n\n' +
    'Milestones\n' +
    '• Private beta with five design partners (week 2)\n' +
    '• Offline editing and version history in the editor (week 4)\n' +
    '• Public launch, pricing page and docs (week 6)\n\n' +
    'Open questions\n' +
    '• Do we keep history forever, or compact it after a year?\n' +
    '• Which editors come first: CodeMirror, ProseMirror or Monaco?');
  await converged((t) => t.endsWith('Monaco?'));
  await bob.page.locator('.cm-content').click();
  await bob.page.keyboard.press('Control+End');
  await bob.page.keyboard.type('\n• Who writes the migration guide? I can take it.', { delay: 8 });
  const text = await converged((t) => t.endsWith('I can take it.'));
  // Ada selects "five design partners"; Grace joins and puts her caret in a question
  const at = text.indexOf('five design partners');
  await caretAt(ada, at);
  for (let i = 0; i < 'five design partners'.length; i++) await ada.page.keyboard.press('Shift+ArrowRight');
  const grace = await openUser(browser, server.url, { name: 'Grace Hopper', color: '#059669', doc: name });
  const graceAt = text.indexOf('compact it') + 'compact'.length;
  await caretAt(grace, graceAt);
  const peerAt = (u, who) => u.page.evaluate((n) => window.weftDemo.peers.find((p) => p.name === n), who);
  await until(async () => (await peerAt(bob, 'Grace Hopper'))?.head === graceAt, "Grace's caret where she put it");
  await until(async () => {
    const p = await peerAt(bob, 'Ada Lovelace');
    return p && p.anchor === at && p.head === at + 'five design partners'.length;
  }, "Ada's selection where she made it");
  await until(() => bob.page.locator('.cm-weft-caret-label', { hasText: 'Grace Hopper' }).count(), "Grace's caret");
  await until(() => bob.page.locator('.cm-weft-selection').count(), "Ada's selection on Bob's page");
  await until(() => ada.page.locator('.cm-weft-caret-label', { hasText: 'Bob Kahn' }).count(), "Bob's caret");
  await until(async () => (await bob.page.locator('#status').getAttribute('data-state')) === 'synced', 'synced');
  await bob.page.mouse.move(0, 0);
  const path = await shot(bob, 'demo-launch-plan.png');
  await shot(ada, 'demo-launch-plan-ada.png');
  if (process.env.WEFT_UPDATE_SCREENSHOT === '1') copyFileSync(path, join(repoRoot, 'docs/demo.png'));
  assert.deepEqual(grace.errors, []);
  await grace.context.close();
});

test('a session the server ends says why, and the editor stops taking edits', async () => {
  const small = await startServer(['--max-doc', '60']);
  let u;
  try {
    u = await openUser(browser, small.url, { name: 'Eve', color: '#7c3aed', doc: 'tiny' });
    await caretAt(u, 0);
    await u.page.keyboard.insertText('x'.repeat(100)); // over the 60-byte limit: close 4008
    await until(async () => (await u.page.locator('#status').getAttribute('data-state')) === 'closed', 'closed');
    assert.match(await u.page.locator('#doc-meta').innerText(), /Disconnected: .*limit/);
    const before = await u.text();
    await u.page.locator('.cm-content').click();
    await u.page.keyboard.type('more');
    assert.equal(await u.text(), before, 'read-only once closed');
    await shot(u, 'closed.png');
    assert.deepEqual(u.errors, []);
  } finally {
    if (u) await u.context.close();
    await small.stop();
  }
});

test('no console errors on either page', () => {
  assert.deepEqual(ada.errors, []);
  assert.deepEqual(bob.errors, []);
});
