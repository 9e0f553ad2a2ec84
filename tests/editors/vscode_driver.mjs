// Drives a real VS Code (code-server, started by test_vscode.py) in Debian's Chromium with
// playwright-core, the way a user would. For each window of spec.windows (a folder of its own,
// so a VS Code window with an extension host of its own, one after the other): open a file,
// read the status bar, open the Problems panel, hover, list the lightbulb's code actions, pick
// one (e.g. "Document shout"), save. Writes what it saw to spec.result (JSON: steps, and per
// window id what the UI showed) and screenshots to spec.artifacts. Waits on UI state only.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const spec = JSON.parse(process.env.LSPILOT_TEST_SPEC);
const R = { steps: [], screenshots: [], windows: {} };
const T = spec.timeout_ms;

let failed = false;

async function step(name, fn) {
  if (failed) {
    R.steps.push({ name, ok: false, err: 'skipped after an earlier failure' });
    return false;
  }
  try {
    await fn();
    R.steps.push({ name, ok: true, err: null });
    return true;
  } catch (error) {
    failed = true;
    R.steps.push({ name, ok: false, err: String(error && error.stack ? error.stack : error) });
    if (page) {
      await shot(`failed-${name.replace(/\W+/g, '-')}`, `the screen when "${name}" failed`).catch(() => {});
    }
    return false;
  }
}

const browser = await chromium.launch({
  executablePath: spec.chromium,
  headless: true,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-dev-shm-usage',
  ],
});
const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
// The window being driven (one page per spec.windows entry).
let page;
let prefix = '';

async function shot(name, what) {
  const number = String(R.screenshots.length + 1).padStart(2, '0');
  const file = join(spec.artifacts, `${number}-${prefix}${name}.png`);
  await page.screenshot({ path: file });
  R.screenshots.push({ file, what });
}

async function command(title) {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible' });
  await input.fill('>' + title);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first().waitFor();
  await page.keyboard.press('Enter');
  await page.locator('.quick-input-widget').waitFor({ state: 'hidden' });
}

async function goTo(line, column) {
  // Quick Open in "go to line" mode (":line:column"; columns count UTF-16 code units).
  await page.keyboard.press('Control+P');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible' });
  await input.fill(`:${line}:${column}`);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: `${line}` }).first().waitFor();
  await page.keyboard.press('Enter');
  await page.locator('.quick-input-widget').waitFor({ state: 'hidden' });
  await page.locator('.statusbar-item', { hasText: `Ln ${line}, ` }).first().waitFor();
}

/**
 * The lspilot servers of this run (their environment carries the run's marker) and whether
 * `name=value` is in their environment (never the value itself: the result is an artifact).
 */
function lspilotServers(name, value) {
  const marker = `LSPILOT_EDITOR_TEST_RUN=${process.env.LSPILOT_EDITOR_TEST_RUN}`;
  const found = [];
  for (const pid of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    let environ, cmdline;
    try {
      environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    } catch {
      continue; // gone, or not ours
    }
    if (environ.includes(marker) && cmdline.some((a) => a.endsWith('/lspilot')) && cmdline.includes('serve')) {
      found.push({ pid: Number(pid), cmdline: cmdline.slice(-2), has_secret: environ.includes(`${name}=${value}`) });
    }
  }
  return found;
}

async function driveWindow(w) {
  const out = {};
  R.windows[w.id] = out;
  prefix = `${w.id}-`;
  page = await context.newPage();
  page.setDefaultTimeout(T);
  const editor = page.locator('.editor-instance .monaco-editor').first();
  const statusItem = page.locator('.statusbar-item', { hasText: 'lspilot' }).first();
  const name = (what) => `${w.id}: ${what}`;

  await step(name('workbench'), async () => {
    await page.goto(w.url);
    await page.locator('.monaco-workbench').waitFor();
    await page.locator('.explorer-folders-view, .explorer-viewlet, .part.sidebar').first().waitFor();
  });

  await step(name('open file'), async () => {
    await page.keyboard.press('Control+P');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ state: 'visible' });
    await input.fill(w.file_name);
    await page.locator('.quick-input-list .monaco-list-row', { hasText: w.file_name }).first().waitFor();
    await page.keyboard.press('Enter');
    await editor.locator('.view-lines').waitFor();
    await page.locator('.tab.active', { hasText: w.file_name }).waitFor();
    if (w.language_mode) {
      // The language VS Code gave the file: the status bar's language mode item.
      const mode = page.locator('.statusbar-item').filter({ hasText: new RegExp(`^\\s*${w.language_mode}\\s*$`) });
      await mode.first().waitFor();
      out.language_mode = (await mode.first().innerText()).trim();
    }
  });

  await step(name('status bar'), async () => {
    await page.locator('.statusbar-item', { hasText: w.status_text }).first().waitFor();
    out.status_text = (await statusItem.innerText()).trim();
    out.status_tooltip = await statusItem.getAttribute('aria-label');
    await shot('status-bar', `${w.id}: status bar item "${out.status_text}" after the server started`);
  });

  await step(name('diagnostic in Problems'), async () => {
    await editor.locator('.squiggly-warning, .squiggly-error, .squiggly-info').first().waitFor();
    await page.keyboard.press('Control+Shift+M');
    const row = page.locator('.markers-panel .monaco-list-row', { hasText: w.review_message });
    await row.first().waitFor();
    out.problem = (await row.first().innerText()).replace(/\s+/g, ' ').trim();
    await shot('problems-panel', `${w.id}: the review diagnostic in the Problems panel`);
    await page.keyboard.press('Control+Shift+M');
    await editor.click({ position: { x: 400, y: 5 } });
  });

  await step(name('hover'), async () => {
    await goTo(w.hover.line, w.hover.column);
    await command('Show or Focus Hover');
    const hover = page.locator('.monaco-hover', { hasText: w.hover.expect }).first();
    await hover.waitFor({ state: 'visible' });
    out.hover = (await hover.innerText()).trim();
    await shot('hover', `${w.id}: the hover tooltip with the explanation`);
    await page.keyboard.press('Escape');
    await hover.waitFor({ state: 'hidden' });
  });

  await step(name(`${w.action.title} from the lightbulb`), async () => {
    await goTo(w.action.line, w.action.column);
    const bulb = page.locator('.lightBulbWidget .codicon, .lightBulbWidget').first();
    await bulb.waitFor({ state: 'visible' });
    await shot('lightbulb', `${w.id}: the lightbulb on the definition line`);
    await bulb.click();
    const menu = page.locator('.action-widget').first();
    for (const title of [w.action.title, ...(w.action.also ?? [])]) {
      await menu.locator('.monaco-list-row', { hasText: title }).first().waitFor({ state: 'visible' });
    }
    out.menu = (await menu.innerText()).split('\n').map((s) => s.trim()).filter(Boolean);
    await shot('code-action-menu', `${w.id}: the code action menu with "${w.action.title}"`);
    await menu.locator('.monaco-list-row', { hasText: w.action.title }).first().click();
    await editor.locator('.view-line', { hasText: w.action.expect }).first().waitFor();
    await shot('doc-comment', `${w.id}: the doc comment inserted by ${w.action.title}`);
    await page.keyboard.press('Control+S');
    await page.locator('.tab.active.dirty').waitFor({ state: 'detached' });
  });

  if (w.secret) {
    await step(name(w.secret.command), async () => {
      // The command palette, then the extension's password input box (the same widget).
      await page.keyboard.press('F1');
      const input = page.locator('.quick-input-widget input');
      await input.waitFor({ state: 'visible' });
      await input.fill('>' + w.secret.command);
      await page.locator('.quick-input-list .monaco-list-row', { hasText: w.secret.command }).first().waitFor();
      await page.keyboard.press('Enter');
      await page.locator('.quick-input-widget', { hasText: w.secret.title }).waitFor({ state: 'visible' });
      out.secret_input_type = await input.getAttribute('type');
      await input.fill(w.secret.value);
      await shot('secret-input', `${w.id}: the password input box of "${w.secret.command}"`);
      await page.keyboard.press('Enter');
      await page.locator('.quick-input-widget').waitFor({ state: 'hidden' });
      const toast = page.locator('.notifications-toasts', { hasText: w.secret.saved });
      await toast.first().waitFor({ state: 'visible' });
      await page.locator('.statusbar-item', { hasText: w.status_text }).first().waitFor();
      await shot('secret-saved', `${w.id}: the server restarted with the secret`);
      out.servers = lspilotServers(w.secret.env, w.secret.value);
    });
  }

  await step(name('status after work'), async () => {
    out.status_text_end = (await statusItem.innerText()).trim();
    await shot('final', `${w.id}: the workbench at the end`);
  });
  await page.close();
  page = undefined;
}

try {
  for (const w of spec.windows) {
    await driveWindow(w);
  }
} finally {
  writeFileSync(spec.result, JSON.stringify(R, null, 2));
  await browser.close();
}
