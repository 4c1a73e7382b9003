// e2e-lib.mjs — the shared frame of the browser scripts: environment, Chromium
// launch, one line per check, the page-error collector, the watchdog and the
// closing line "N passed, N failed" (exit 0 only when nothing failed; 2 on a
// usage error).

import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));

export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'];

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

export function assert(cond, message) {
  if (!cond) throw new Error(message);
}

/**
 * Reads TESLA_URL / TESLA_TOKEN / E2E_ARTIFACTS / CHROMIUM_PATH, and returns
 * the run: check(), report(), finish(), launch() and the page-problem list.
 */
export function createRun({ script, usage, totalTimeoutMs }) {
  const BASE = (process.env.TESLA_URL ?? '').replace(/\/+$/, '');
  const TOKEN = process.env.TESLA_TOKEN ?? '';
  const ARTIFACTS = path.resolve(process.env.E2E_ARTIFACTS ?? path.join(here, 'artifacts'));
  const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!BASE || !TOKEN) {
    console.error(`usage: ${usage}`);
    process.exit(2);
  }
  mkdirSync(ARTIFACTS, { recursive: true });

  let passed = 0;
  let failed = 0;
  let finished = false;
  let browser = null;
  const problems = [];
  /** While set (a function of the message text and URL), matching console errors are expected noise. */
  let tolerate = null;

  function report(ok, name, detail = '') {
    if (finished) return ok;
    if (ok) passed++;
    else failed++;
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? ` — ${detail}` : ''}`);
    return ok;
  }

  async function check(name, fn) {
    if (finished) return false;
    try {
      const detail = await fn();
      return report(true, name, typeof detail === 'string' ? detail : '');
    } catch (err) {
      return report(false, name, String(err?.message ?? err).split('\n')[0]);
    }
  }

  function finish() {
    if (finished) return;
    report(problems.length === 0, 'no page errors or console errors', problems.slice(0, 5).join(' | '));
    finished = true;
    console.log(`${passed} passed, ${failed} failed`);
    const code = failed === 0 ? 0 : 1;
    const done = () => process.exit(code);
    if (browser) browser.close().then(done, done);
    else done();
    setTimeout(done, 3000).unref();
  }

  const watchdog = setTimeout(() => {
    report(false, 'whole run finished in time', `still running after ${Math.round(totalTimeoutMs / 1000)}s`);
    finish();
  }, totalTimeoutMs);
  watchdog.unref();

  // The session probe answers 401 before sign-in: Chromium logs that as a console error.
  function expected(msg, url) {
    if (/status of 401/.test(msg) && new URL(url || '/', BASE).pathname === '/api/v1/session') return true;
    return tolerate ? tolerate(msg, url) : false;
  }

  async function launch({ viewport }) {
    try {
      browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 20_000 });
    } catch (err) {
      report(false, 'launch Chromium', String(err?.message ?? err).split('\n')[0]);
      finish();
      return null;
    }
    const context = await browser.newContext({ viewport });
    context.setDefaultTimeout(10_000);
    context.setDefaultNavigationTimeout(15_000);
    const page = await context.newPage();
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}${err.stack ? ` (${err.stack.split('\n').slice(1, 4).join(' <- ').trim()})` : ''}`));
    page.on('console', (msg) => {
      if (msg.type() !== 'error') return;
      const url = msg.location()?.url ?? '';
      if (!expected(msg.text(), url)) problems.push(`console.error: ${msg.text()}${url ? ` (${url})` : ''}`);
    });
    return page;
  }

  /**
   * Opens `path` as the person holding `token`: signs out whoever is signed in,
   * signs in with the token and resolves once `landing` (a test id) shows.
   */
  async function signInAs(page, token, path, landing) {
    await page.goto(`${BASE}${path}`);
    const signOut = page.getByTestId('sign-out');
    await page.locator('[data-testid="signin-form"], [data-testid="sign-out"]').first().waitFor();
    const switching = await signOut.isVisible();
    if (switching) {
      // Queries of the page still in flight when the session ends are answered
      // 401 (and the app returns to sign-in): expected while switching people.
      // The browser may report such an answer after the sign-in form shows, so
      // they stay expected until the new person's page has landed.
      tolerate = (msg, url) => /status of 401/.test(msg) && new URL(url || '/', BASE).pathname === '/query';
    }
    try {
      if (switching) {
        await signOut.click();
        await page.getByTestId('signin-form').waitFor();
      }
      await page.getByTestId('token-input').fill(token);
      await page.getByTestId('signin-submit').click();
      await page.getByTestId(landing).waitFor({ timeout: 20_000 });
    } finally {
      tolerate = null;
    }
  }

  /** Signs in on the sign-in form of the current page; resolves once `landing` (a test id) shows. */
  async function signIn(page, landing) {
    await page.getByTestId('signin-form').waitFor({ state: 'visible' });
    await page.getByTestId('token-input').fill(TOKEN);
    await page.getByTestId('signin-submit').click();
    await page.locator(`[data-testid="${landing}"], [data-testid="signin-error"]`).first().waitFor({ state: 'visible', timeout: 20_000 });
    if (await page.getByTestId('signin-error').isVisible()) {
      throw new Error(`sign-in refused: ${(await page.getByTestId('signin-error').textContent())?.trim()}`);
    }
  }

  return {
    BASE,
    TOKEN,
    ARTIFACTS,
    check,
    report,
    finish,
    launch,
    signIn,
    signInAs,
    problems,
    shot: (page, name, opts = {}) => page.screenshot({ path: path.join(ARTIFACTS, name), ...opts }),
    setTolerate(fn) {
      tolerate = fn;
    },
    clearWatchdog: () => clearTimeout(watchdog),
    get finished() {
      return finished;
    },
  };
}
