#!/usr/bin/env node
// overview.e2e.mjs — browser end-to-end test of the Tesla web app against a
// running server (the Go binary serving frontend/dist; `make e2e` starts one on a seeded demo fleet).
//
// Env:
//   TESLA_URL              base URL, e.g. http://127.0.0.1:8080 (required)
//   TESLA_TOKEN            an ADMIN API token (required)
//   TESLA_EXPECT_CLUSTERS  comma-separated cluster names that must be listed (optional)
//   E2E_ARTIFACTS          screenshot folder (default frontend/e2e/artifacts)
//   CHROMIUM_PATH          browser binary (default /usr/bin/chromium)
//
// Prints one line per check ("ok   ..." / "FAIL ..."), then exactly one line
// "N passed, N failed". Exit 0 only when nothing failed; 1 on a failed check, a
// page error or a console error; 2 on a usage error. The whole run is capped
// at 55 s.

import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const BASE = (process.env.TESLA_URL ?? '').replace(/\/+$/, '');
const TOKEN = process.env.TESLA_TOKEN ?? '';
const EXPECT = (process.env.TESLA_EXPECT_CLUSTERS ?? '')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const ARTIFACTS = path.resolve(process.env.E2E_ARTIFACTS ?? path.join(here, 'artifacts'));
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const STEP_TIMEOUT = 10_000;
const TOTAL_TIMEOUT = 55_000;

if (!BASE || !TOKEN) {
  console.error('usage: TESLA_URL=http://127.0.0.1:8080 TESLA_TOKEN=tsl_... [TESLA_EXPECT_CLUSTERS=a,b] node e2e/overview.e2e.mjs');
  process.exit(2);
}
mkdirSync(ARTIFACTS, { recursive: true });

let passed = 0;
let failed = 0;
let finished = false;
const problems = []; // page errors and console errors

function report(ok, name, detail = '') {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? ` — ${detail}` : ''}`);
  return ok;
}

/** Runs one check; an exception fails it with the message. Returns whether it passed. */
async function check(name, fn) {
  try {
    const detail = await fn();
    return report(true, name, typeof detail === 'string' ? detail : '');
  } catch (err) {
    return report(false, name, String(err?.message ?? err).split('\n')[0]);
  }
}

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

function finish(browser) {
  if (finished) return;
  finished = true;
  report(problems.length === 0, 'no page errors or console errors', problems.slice(0, 5).join(' | '));
  console.log(`${passed} passed, ${failed} failed`);
  const code = failed === 0 ? 0 : 1;
  const done = () => process.exit(code);
  if (browser) browser.close().then(done, done);
  else done();
  setTimeout(done, 3000).unref();
}

// Expected noise: the session probe answers 401 before sign-in, and so does
// the deliberate bad-token attempt. Chromium logs those as console errors.
function isExpectedConsoleError(msg) {
  const url = msg.location()?.url ?? '';
  return /status of 401/.test(msg.text()) && new URL(url, BASE).pathname === '/api/v1/session';
}

let browser;
const watchdog = setTimeout(() => {
  report(false, 'whole run finished in time', `still running after ${TOTAL_TIMEOUT / 1000}s`);
  finish(browser);
}, TOTAL_TIMEOUT);
watchdog.unref();

try {
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
    timeout: 20_000,
  });
} catch (err) {
  report(false, 'launch Chromium', String(err?.message ?? err).split('\n')[0]);
  finish(null);
}

if (browser && !finished) {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  context.setDefaultTimeout(STEP_TIMEOUT);
  context.setDefaultNavigationTimeout(STEP_TIMEOUT);
  const page = await context.newPage();
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !isExpectedConsoleError(msg)) problems.push(`console.error: ${msg.text()}`);
  });

  let signedIn = false;
  let clusterName = null;

  await check('sign-in page is shown at /', async () => {
    const res = await page.goto(`${BASE}/`, { waitUntil: 'domcontentloaded' });
    assert(res && res.ok(), `GET / answered ${res?.status()}`);
    await page.getByTestId('signin-form').waitFor({ state: 'visible' });
  });

  await check('a bad token shows a clear error', async () => {
    await page.getByTestId('token-input').fill('tsl_e2e_not_a_real_token');
    await page.getByTestId('signin-submit').click();
    const err = page.getByTestId('signin-error');
    await err.waitFor({ state: 'visible' });
    const text = (await err.textContent())?.trim() ?? '';
    assert(text.length > 0, 'error box is empty');
    return `"${text}"`;
  });

  signedIn = await check('signing in with the token lands on the clusters overview', async () => {
    await page.getByTestId('token-input').fill(TOKEN);
    await page.getByTestId('signin-submit').click();
    // Either the overview or a sign-in error (the old one is cleared on submit).
    await page.locator('[data-testid="clusters-overview"], [data-testid="signin-error"]').first().waitFor({ state: 'visible' });
    if (await page.getByTestId('signin-error').isVisible()) {
      throw new Error(`sign-in refused: ${(await page.getByTestId('signin-error').textContent())?.trim()}`);
    }
    await page.getByTestId('clusters-overview').waitFor({ state: 'visible' });
    await page.waitForURL((u) => u.pathname === '/clusters');
    const role = (await page.getByTestId('role').textContent())?.trim();
    return `signed in as ${(await page.getByTestId('who').locator('.who-login').textContent())?.trim()} (${role})`;
  });

  if (signedIn) {
    await check('summary strip and cluster table are shown', async () => {
      await page.getByTestId('summary-strip').waitFor({ state: 'visible' });
      await page.getByTestId('cluster-row').first().waitFor({ state: 'visible' });
      const n = await page.getByTestId('cluster-row').count();
      return `${n} cluster rows`;
    });

    await check(`expected clusters are listed${EXPECT.length ? ` (${EXPECT.join(', ')})` : ''}`, async () => {
      const names = (await page.getByTestId('cluster-name').allTextContents()).map((s) => s.trim());
      const missing = EXPECT.filter((n) => !names.includes(n));
      assert(missing.length === 0, `missing: ${missing.join(', ')}; listed: ${names.slice(0, 20).join(', ')}`);
      assert(names.length > 0, 'no cluster rows');
    });

    await check('hosts-by-state bar chart is drawn', async () => {
      await page.getByTestId('hosts-by-state-chart').locator('canvas').first().waitFor({ state: 'visible' });
      await page.waitForTimeout(300); // let ECharts paint before the screenshot
      await page.screenshot({ path: path.join(ARTIFACTS, 'overview.png'), fullPage: true });
      return 'overview.png';
    });

    const opened = await check('opening the first cluster with hosts shows its page', async () => {
      const rows = page.getByTestId('cluster-row');
      const n = await rows.count();
      let target = rows.first();
      for (let i = 0; i < n; i++) {
        const v = Number(await rows.nth(i).getByTestId('cluster-host-total').getAttribute('data-value'));
        if (v > 0) {
          target = rows.nth(i);
          break;
        }
      }
      clusterName = (await target.getByTestId('cluster-name').textContent())?.trim() ?? '';
      await target.getByTestId('cluster-name').locator('a').click();
      await page.getByTestId('cluster-page').waitFor({ state: 'visible' });
      await page.waitForURL((u) => decodeURIComponent(u.pathname) === `/clusters/${clusterName}`);
      return clusterName;
    });

    if (opened) {
      await check('host rows appear and the total count is shown', async () => {
        await page.getByTestId('host-row').first().waitFor({ state: 'visible' });
        const rows = await page.getByTestId('host-row').count();
        const total = Number(await page.getByTestId('host-total').getAttribute('data-value'));
        const shown = (await page.getByTestId('host-total').textContent())?.trim();
        assert(Number.isFinite(total) && total > 0, `total count is "${shown}"`);
        assert(rows > 0 && rows <= Math.min(total, 50), `${rows} rows for total ${total}`);
        return `${rows} rows shown, total ${shown}`;
      });

      await check('host-state pie is drawn', async () => {
        await page.getByTestId('host-state-pie').locator('canvas').first().waitFor({ state: 'visible' });
        await page.waitForTimeout(300);
        await page.screenshot({ path: path.join(ARTIFACTS, 'cluster.png'), fullPage: true });
        return 'cluster.png';
      });

      await check('deep link survives a reload', async () => {
        await page.reload({ waitUntil: 'domcontentloaded' });
        await page.getByTestId('cluster-page').waitFor({ state: 'visible' });
        await page.getByTestId('host-row').first().waitFor({ state: 'visible' });
      });
    }

    await check('GraphiQL renders its editor and runs a query', async () => {
      const res = await page.goto(`${BASE}/graphiql`, { waitUntil: 'domcontentloaded' });
      assert(res && res.ok(), `GET /graphiql answered ${res?.status()}`);
      await page.locator('.graphiql-container').waitFor({ state: 'visible' });
      await page.locator('.graphiql-query-editor .CodeMirror').first().waitFor({ state: 'visible' });
      await page.locator('.graphiql-execute-button').click();
      const response = page.locator('.result-window .CodeMirror');
      await response.waitFor({ state: 'visible' });
      await page.waitForFunction(
        () => /"clusterCount"|"errors"/.test(document.querySelector('.result-window .CodeMirror')?.textContent ?? ''),
        null,
        { timeout: STEP_TIMEOUT },
      );
      const text = (await response.textContent()) ?? '';
      await page.screenshot({ path: path.join(ARTIFACTS, 'graphiql.png') });
      assert(text.includes('clusterCount') && !text.includes('"errors"'), `response: ${text.replace(/\s+/g, ' ').slice(0, 160)}`);
      return 'graphiql.png';
    });
  }

  clearTimeout(watchdog);
  if (!signedIn) await page.screenshot({ path: path.join(ARTIFACTS, 'failure.png') }).catch(() => undefined);
  finish(browser);
}
