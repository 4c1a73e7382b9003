#!/usr/bin/env node
// csp.e2e.mjs — checks the security headers of the real server's pages and that
// the web app (/, a cluster page, /screen) and GraphiQL (/graphiql) work under its
// Content-Security-Policy with not a single violation, in headless Chromium.
//
// Env:
//   TESLA_URL      base URL, e.g. http://127.0.0.1:8080 (required)
//   TESLA_TOKEN    an API token that may read platform data (required)
//   E2E_ARTIFACTS  screenshot folder (default frontend/e2e/artifacts)
//   CHROMIUM_PATH  browser binary (default /usr/bin/chromium)
//
// Violations are caught twice: `securitypolicyviolation` events (reported from
// every page through a binding) and Chromium's console errors ("Refused to …"),
// which the shared page-error collector turns into a failure. A last check
// injects an inline script to prove the policy is enforced at all.
//
// Prints one line per check ("ok   ..." / "FAIL ..."), then exactly one line
// "N passed, N failed". Exit 0 only when nothing failed; 2 on a usage error.

import { assert, createRun, sleep } from './e2e-lib.mjs';

const run = createRun({
  script: 'csp',
  usage: 'TESLA_URL=http://127.0.0.1:8080 TESLA_TOKEN=tsl_... node e2e/csp.e2e.mjs',
  totalTimeoutMs: 120_000,
});
const { BASE, check } = run;

const violations = [];

/** Requires the security headers on a page response. */
function requireHeaders(res, what) {
  assert(res && res.ok(), `GET ${what} answered ${res?.status()}`);
  const h = res.headers();
  const csp = h['content-security-policy'] ?? '';
  assert(/(^|;)\s*script-src 'self'(;|$)/.test(csp), `${what}: script-src is not exactly 'self': ${csp}`);
  assert(!/unsafe-eval/.test(csp), `${what}: CSP allows eval: ${csp}`);
  assert(/frame-ancestors 'none'/.test(csp), `${what}: no frame-ancestors 'none': ${csp}`);
  assert(/object-src 'none'/.test(csp), `${what}: no object-src 'none': ${csp}`);
  assert(h['x-content-type-options'] === 'nosniff', `${what}: X-Content-Type-Options is ${h['x-content-type-options']}`);
  assert(h['referrer-policy'], `${what}: no Referrer-Policy`);
  return csp;
}

function violationsSince(n) {
  return violations.slice(n).map((v) => `${v.directive} blocked ${v.blocked || 'inline'} at ${v.source}:${v.line}`);
}

const page = await run.launch({ viewport: { width: 1600, height: 1000 } });
if (page) {
  await page.context().exposeBinding('__teslaCspViolation', (_src, v) => violations.push(v));
  await page.context().addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__teslaCspViolation({
        directive: e.effectiveDirective,
        blocked: e.blockedURI,
        source: e.sourceFile,
        line: e.lineNumber,
        sample: e.sample,
      });
    });
  });

  const signedIn = await check('/ has the security headers; sign-in and the clusters overview work', async () => {
    const mark = violations.length;
    const res = await page.goto(`${BASE}/`, { waitUntil: 'domcontentloaded' });
    const csp = requireHeaders(res, '/');
    await run.signIn(page, 'clusters-overview');
    await page.getByTestId('cluster-row').first().waitFor({ state: 'visible' });
    await page.getByTestId('hosts-by-state-chart').locator('canvas').first().waitFor({ state: 'visible' });
    await sleep(500);
    const v = violationsSince(mark);
    assert(v.length === 0, `${v.length} violations: ${v.slice(0, 3).join(' | ')}`);
    return csp;
  });

  if (signedIn) {
    await check('a cluster page with its charts has no violations', async () => {
      const mark = violations.length;
      await page.getByTestId('cluster-name').first().locator('a').click();
      await page.getByTestId('cluster-page').waitFor({ state: 'visible' });
      await page.getByTestId('host-row').first().waitFor({ state: 'visible' });
      const pie = page.getByTestId('host-state-pie').locator('canvas').first();
      await pie.waitFor({ state: 'visible' });
      // Hovering opens ECharts' HTML tooltip, which styles itself from script.
      const box = await pie.boundingBox();
      for (const [fx, fy] of [[0.5, 0.3], [0.3, 0.5], [0.7, 0.5], [0.5, 0.7]]) {
        await page.mouse.move(box.x + box.width * fx, box.y + box.height * fy);
        await sleep(150);
      }
      await sleep(500);
      const v = violationsSince(mark);
      assert(v.length === 0, `${v.length} violations: ${v.slice(0, 3).join(' | ')}`);
    });

    await check('/screen has the headers, renders its charts and goes live with no violations', async () => {
      const mark = violations.length;
      const res = await page.goto(`${BASE}/screen`, { waitUntil: 'domcontentloaded' });
      requireHeaders(res, '/screen');
      await page.getByTestId('big-screen').waitFor({ state: 'visible', timeout: 20_000 });
      await page.getByTestId('screen-trend-chart').locator('canvas').first().waitFor({ state: 'visible', timeout: 20_000 });
      const deadline = Date.now() + 20_000;
      let status = '';
      while (Date.now() < deadline) {
        status = await page.getByTestId('big-screen').getAttribute('data-live-status');
        if (status === 'live') break;
        await sleep(250);
      }
      assert(status === 'live', `the websocket did not go live (status ${status})`);
      await sleep(500);
      const v = violationsSince(mark);
      assert(v.length === 0, `${v.length} violations: ${v.slice(0, 3).join(' | ')}`);
      await run.shot(page, 'csp-screen.png');
    });

    await check('/graphiql has the headers, runs a query and opens the docs with no violations', async () => {
      const mark = violations.length;
      const res = await page.goto(`${BASE}/graphiql`, { waitUntil: 'domcontentloaded' });
      requireHeaders(res, '/graphiql');
      await page.locator('.graphiql-container').waitFor({ state: 'visible' });
      await page.locator('.graphiql-query-editor .CodeMirror').first().waitFor({ state: 'visible' });
      await page.locator('.graphiql-execute-button').click();
      await page.locator('.graphiql-response .CodeMirror-code').filter({ hasText: '"data"' }).first().waitFor({ state: 'visible', timeout: 15_000 });
      await page.locator('[aria-label="Show Documentation Explorer"]').first().click();
      await page.locator('.graphiql-doc-explorer').waitFor({ state: 'visible' });
      // Autocompletion renders hint popups: type into the editor to open one.
      await page.locator('.graphiql-query-editor .CodeMirror').first().click();
      await page.keyboard.press('Control+End');
      await page.keyboard.type('\n{ clu');
      await sleep(800);
      const v = violationsSince(mark);
      assert(v.length === 0, `${v.length} violations: ${v.slice(0, 3).join(' | ')}`);
      await run.shot(page, 'csp-graphiql.png');
    });
  }

  await check('the policy is enforced: an injected inline script does not run', async () => {
    await page.goto(`${BASE}/`, { waitUntil: 'domcontentloaded' });
    const mark = violations.length;
    // The console error this provokes is the point of the check.
    run.setTolerate((msg) => /Content Security Policy/.test(msg) && /inline script/i.test(msg));
    const ran = await page.evaluate(async () => {
      const s = document.createElement('script');
      s.textContent = 'window.__teslaInlineRan = true';
      document.head.appendChild(s);
      await new Promise((r) => setTimeout(r, 200));
      return window.__teslaInlineRan === true;
    });
    await sleep(300);
    run.setTolerate(null);
    assert(!ran, 'the inline script ran');
    const v = violations.slice(mark);
    assert(v.some((x) => x.directive === 'script-src-elem' || x.directive === 'script-src'), 'no violation was reported');
    violations.length = mark; // expected, not a finding
  });

  await check('no Content-Security-Policy violation anywhere', async () => {
    assert(violations.length === 0, `${violations.length}: ${violationsSince(0).slice(0, 5).join(' | ')}`);
  });
}
run.finish();
