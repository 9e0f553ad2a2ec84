// Drives a real VS Code (code-server, started by test_vscode.py) in Debian's Chromium with
// playwright-core, the way a user would: open a file, read the status bar, open the Problems
// panel, hover, pick "Document shout" from the lightbulb, save. Writes what it saw to
// spec.result (JSON) and screenshots to spec.artifacts. Waits on UI state only.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const spec = JSON.parse(process.env.LSPILOT_TEST_SPEC);
const R = { steps: [], screenshots: [] };
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
    await shot(`failed-${name.replace(/\W+/g, '-')}`, `the screen when "${name}" failed`).catch(() => {});
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
const page = await context.newPage();
page.setDefaultTimeout(T);

async function shot(name, what) {
  const file = join(spec.artifacts, `${String(R.screenshots.length + 1).padStart(2, '0')}-${name}.png`);
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

const editor = page.locator('.editor-instance .monaco-editor').first();
const statusItem = page.locator('.statusbar-item', { hasText: 'lspilot' }).first();

try {
  await step('workbench', async () => {
    await page.goto(spec.url);
    await page.locator('.monaco-workbench').waitFor();
    await page.locator('.explorer-folders-view, .explorer-viewlet, .part.sidebar').first().waitFor();
  });

  await step('open file', async () => {
    await page.keyboard.press('Control+P');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ state: 'visible' });
    await input.fill(spec.file_name);
    await page.locator('.quick-input-list .monaco-list-row', { hasText: spec.file_name }).first().waitFor();
    await page.keyboard.press('Enter');
    await editor.locator('.view-lines').waitFor();
    await page.locator('.tab.active', { hasText: spec.file_name }).waitFor();
  });

  await step('status bar', async () => {
    await page.locator('.statusbar-item', { hasText: spec.status_text }).first().waitFor();
    R.status_text = (await statusItem.innerText()).trim();
    R.status_tooltip = await statusItem.getAttribute('aria-label');
    await shot('status-bar', `status bar item "${R.status_text}" after the server started`);
  });

  await step('diagnostic in Problems', async () => {
    await editor.locator('.squiggly-warning, .squiggly-error, .squiggly-info').first().waitFor();
    await page.keyboard.press('Control+Shift+M');
    const row = page.locator('.markers-panel .monaco-list-row', { hasText: spec.review_message });
    await row.first().waitFor();
    R.problem = (await row.first().innerText()).replace(/\s+/g, ' ').trim();
    await shot('problems-panel', 'the review diagnostic in the Problems panel');
    await page.keyboard.press('Control+Shift+M');
    await editor.click({ position: { x: 400, y: 5 } });
  });

  await step('hover', async () => {
    await goTo(spec.hover.line, spec.hover.column);
    await command('Show or Focus Hover');
    const hover = page.locator('.monaco-hover', { hasText: spec.hover.expect }).first();
    await hover.waitFor({ state: 'visible' });
    R.hover = (await hover.innerText()).trim();
    await shot('hover', 'the hover tooltip with the explanation');
    await page.keyboard.press('Escape');
    await hover.waitFor({ state: 'hidden' });
  });

  await step('Document this from the lightbulb', async () => {
    await goTo(spec.action.line, spec.action.column);
    const bulb = page.locator('.lightBulbWidget .codicon, .lightBulbWidget').first();
    await bulb.waitFor({ state: 'visible' });
    await shot('lightbulb', 'the lightbulb on the def line');
    await bulb.click();
    const item = page.locator('.action-widget .monaco-list-row', { hasText: spec.action.title }).first();
    await item.waitFor({ state: 'visible' });
    R.menu = (await page.locator('.action-widget').first().innerText()).split('\n').map((s) => s.trim()).filter(Boolean);
    await shot('code-action-menu', `the code action menu with "${spec.action.title}"`);
    await item.click();
    await editor.locator('.view-line', { hasText: spec.action.expect }).first().waitFor();
    await shot('docstring', 'the docstring inserted by Document shout');
    await page.keyboard.press('Control+S');
    await page.locator('.tab.active.dirty').waitFor({ state: 'detached' });
  });

  await step('status after work', async () => {
    R.status_text_end = (await statusItem.innerText()).trim();
    await shot('final', 'the workbench at the end');
  });
} finally {
  writeFileSync(spec.result, JSON.stringify(R, null, 2));
  await browser.close();
}
