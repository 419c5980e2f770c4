// Headless Chromium for the web signer tests (playwright-core against Debian's /usr/bin/chromium),
// the built web signer, and what a page did: console errors, uncaught errors, every request.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';

export const ROOT = join(import.meta.dirname, '../..');
export const SCREENSHOTS = join(ROOT, 'test-output/screenshots');
export const CHROMIUM = process.env.OURSQL_TEST_CHROMIUM ?? '/usr/bin/chromium';

export function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium (or set OURSQL_TEST_CHROMIUM)`);
  return chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
}

/** The web signer the node serves; built here when `npm install` has not built it yet. */
export async function ensureWebSignerBuilt(): Promise<void> {
  if (existsSync(join(ROOT, 'dist/web-signer/index.html'))) return;
  const { build } = await import('vite');
  await build({ configFile: join(ROOT, 'vite.config.ts'), logLevel: 'warn' });
}

export interface SeenRequest { url: string; method: string; body: string }

/** Records a page's console errors, uncaught errors and requests (URL and body) from now on. */
export function watch(page: Page) {
  const problems: string[] = [];
  const requests: SeenRequest[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console.error: ${m.text()} (${m.location().url})`);
  });
  page.on('pageerror', (e) => problems.push(`uncaught: ${e.stack ?? e.message}`));
  page.on('request', (r) => requests.push({ url: r.url(), method: r.method(), body: r.postData() ?? '' }));
  return { problems, requests };
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** Waits until the locator's text matches `re` (the app updates asynchronously). */
export async function waitForText(locator: Locator, re: RegExp, timeout = 20_000): Promise<string> {
  const end = Date.now() + timeout;
  let last = '';
  while (Date.now() < end) {
    last = (await locator.first().textContent({ timeout: 1000 }).catch(() => null)) ?? '';
    if (re.test(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`text ${re} not seen in time; last text: ${JSON.stringify(last.replace(/\s+/g, ' ').trim())}`);
}

/** `[data-test=name]` anywhere, through shadow roots (Playwright's CSS engine pierces them). */
export const byTest = (page: Page | Locator, name: string): Locator => page.locator(`[data-test="${name}"]`);
