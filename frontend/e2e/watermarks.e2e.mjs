#!/usr/bin/env node
// watermarks.e2e.mjs — browser test of the telemetry pages against a running
// server (the Go binary serving frontend/dist; `make e2e` starts one on a seeded demo fleet):
// Watermarks (heat table, at-risk list, a cluster's charts, live badge), the
// machine analysis page opened from a cluster page's host row, the machine
// search, and the Scheduler page.
//
// Env:
//   TESLA_URL       base URL, e.g. http://127.0.0.1:8080 (required)
//   TESLA_TOKEN     an API token that may read platform data (required)
//   E2E_ARTIFACTS   screenshot folder (default frontend/e2e/artifacts):
//                   watermarks.png, watermarks-detail.png, machine.png, scheduler.png
//   CHROMIUM_PATH   browser binary (default /usr/bin/chromium)
//
// Prints one line per check ("ok   ..." / "FAIL ..."), then exactly one line
// "N passed, N failed". Exit 0 only when nothing failed; 1 on a failed check, a
// page error or a console error; 2 on a usage error. Capped at 100 s.

import { assert, createRun } from './e2e-lib.mjs';

const run = createRun({
  script: 'watermarks',
  usage: 'TESLA_URL=http://127.0.0.1:8080 TESLA_TOKEN=tsl_... node e2e/watermarks.e2e.mjs',
  totalTimeoutMs: 100_000,
});
const { BASE, check } = run;

const page = await run.launch({ viewport: { width: 1440, height: 900 } });
if (page) {
  const signedIn = await check('sign in', async () => {
    await page.goto(`${BASE}/platform/watermarks`, { waitUntil: 'domcontentloaded' });
    await run.signIn(page, 'watermarks-page');
    await page.getByTestId('watermarks-page').waitFor({ state: 'visible' });
    return 'landed on /platform/watermarks';
  });

  let selected = null;
  if (signedIn) {
    await check('heat table rows appear', async () => {
      await page.getByTestId('heat-row').first().waitFor({ state: 'visible', timeout: 15_000 });
      const rows = await page.getByTestId('heat-row').count();
      const cells = await page.locator('[data-testid="heat-row"] td.heat-cell').count();
      const withData = await page.locator('[data-testid="heat-row"] td.heat-cell:not([data-status="NONE"])').count();
      assert(rows > 0, 'no rows');
      assert(withData > 0, `none of ${cells} cells has a level`);
      return `${rows} clusters, ${withData}/${cells} cells with a level`;
    });

    await check('clusters at risk are listed above the table (or the all-clear)', async () => {
      await page.locator('[data-testid="risk-list"], [data-testid="risk-empty"]').first().waitFor({ state: 'visible' });
      const risks = await page.getByTestId('risk-item').count();
      if (risks > 0) {
        // the at-risk clusters come first in the heat table
        const first = (await page.getByTestId('risk-item').first().locator('.risk-cluster').textContent())?.trim();
        const firstRow = await page.getByTestId('heat-row').first().getAttribute('data-cluster');
        assert(first === firstRow, `first risk ${first} but first heat row ${firstRow}`);
      }
      return `${risks} at risk`;
    });

    await check('the heat table follows platformPulse (live badge)', async () => {
      await page.locator('[data-testid="pulse-badge"][data-status="live"]').waitFor({ state: 'visible', timeout: 20_000 });
    });

    // Prefer the cluster whose crossing is soonest ahead (its charts show a forecast crossing).
    let focusDim = 'CPU';
    const opened = await check('clicking a cluster opens its charts and a chart canvas is drawn', async () => {
      const ahead = page.locator('[data-testid="risk-item"][data-over="false"]').first();
      if (await ahead.count()) {
        selected = await ahead.getAttribute('data-cluster');
        focusDim = (await ahead.getAttribute('data-dimension')) ?? 'CPU';
      } else {
        selected = await page.getByTestId('heat-row').first().getAttribute('data-cluster');
      }
      await page.locator(`[data-testid="heat-row"][data-cluster="${selected}"]`).getByTestId('heat-cluster').click();
      await page.waitForURL((u) => u.searchParams.get('cluster') === selected);
      await page.getByTestId('cluster-detail').waitFor({ state: 'visible' });
      await page.getByTestId('watermark-chart').first().locator('canvas').first().waitFor({ state: 'visible', timeout: 15_000 });
      const tiles = await page.getByTestId('watermark-chart').count();
      await page.waitForTimeout(600); // let ECharts paint (and the smooth scroll end)
      await page.evaluate(() => window.scrollTo(0, 0));
      await run.shot(page, 'watermarks.png', { fullPage: true });
      return `${selected}: ${tiles} charts · watermarks.png`;
    });

    if (opened) {
      await check("the cluster's live levels are shown", async () => {
        await page.getByTestId('cluster-levels').waitFor({ state: 'visible' });
        await page.locator('[data-testid="cluster-live-badge"][data-status="live"]').waitFor({ state: 'visible', timeout: 20_000 });
      });

      await check('the dimension selector shows one dimension with its forecast', async () => {
        await page.getByTestId('dimension-selector').locator(`button[data-value="${focusDim}"]`).click();
        await page.waitForURL((u) => u.searchParams.get('dim') === focusDim);
        await page.getByTestId('forecast-facts').waitFor({ state: 'visible' });
        await page.getByTestId('watermark-chart').first().locator('canvas').first().waitFor({ state: 'visible' });
        await page.waitForTimeout(400);
        await page.getByTestId('cluster-detail').screenshot({ path: `${run.ARTIFACTS}/watermarks-detail.png` });
        return `${focusDim} · watermarks-detail.png`;
      });

      await check('the range selector reloads the series (24h)', async () => {
        await page.getByTestId('range-picker').locator('button[data-value="24h"]').click();
        await page.waitForURL((u) => u.searchParams.get('range') === '24h');
        await page.getByTestId('watermark-chart').first().locator('canvas').first().waitFor({ state: 'visible' });
      });
    }

    let hostname = null;
    const machine = await check('a host row on a cluster page opens the machine page', async () => {
      await page.getByTestId('nav-/clusters').click();
      await page.getByTestId('cluster-row').first().waitFor({ state: 'visible' });
      const rows = page.getByTestId('cluster-row');
      const n = await rows.count();
      let target = rows.first();
      for (let i = 0; i < n; i++) {
        if (Number(await rows.nth(i).getByTestId('cluster-host-total').getAttribute('data-value')) > 0) {
          target = rows.nth(i);
          break;
        }
      }
      await target.getByTestId('cluster-name').locator('a').click();
      await page.getByTestId('host-link').first().waitFor({ state: 'visible' });
      // A degraded host (still reporting, but with problems) makes the more telling machine page.
      const sick = page.getByTestId('host-row').filter({ hasText: 'Degraded' });
      const link = ((await sick.count()) ? sick.first() : page.getByTestId('host-row').first()).getByTestId('host-link');
      hostname = (await link.textContent())?.trim();
      await link.click();
      await page.waitForURL((u) => decodeURIComponent(u.pathname) === `/hosts/${hostname}`);
      await page.getByTestId('machine-page').waitFor({ state: 'visible' });
      return hostname;
    });

    if (machine) {
      await check('machine page: hardware, OS, findings, service layer and peers', async () => {
        await page.getByTestId('hardware-facts').waitFor({ state: 'visible' });
        await page.getByTestId('os-facts').waitFor({ state: 'visible' });
        await page.locator('[data-testid="findings"], [data-testid="findings-empty"]').first().waitFor({ state: 'visible', timeout: 15_000 });
        await page.locator('[data-testid="components-table"], [data-testid="components-empty"]').first().waitFor({ state: 'visible' });
        await page.locator('[data-testid="peers-table"], [data-testid="peers-empty"]').first().waitFor({ state: 'visible' });
        const comps = await page.getByTestId('component-row').count();
        const bad = await page.locator('[data-testid="component-row"][data-unhealthy="true"]').count();
        return `${comps} components, ${bad} not in desired state`;
      });

      await check('machine page: metric charts are drawn', async () => {
        await page.getByTestId('host-chart-cpu').locator('canvas').first().waitFor({ state: 'visible', timeout: 15_000 });
        await page.getByTestId('range-picker').locator('button[data-value="6h"]').click();
        await page.waitForURL((u) => u.searchParams.get('range') === '6h');
        await page.getByTestId('host-chart-cpu').locator('canvas').first().waitFor({ state: 'visible' });
        await page.waitForTimeout(400);
        await page.evaluate(() => window.scrollTo(0, 0));
        await run.shot(page, 'machine.png', { fullPage: true });
        return 'machine.png';
      });

      await check('machine search finds the host', async () => {
        await page.getByTestId('nav-/tools/machines').click();
        await page.getByTestId('machine-search-page').waitFor({ state: 'visible' });
        await page.getByTestId('machine-search').fill(hostname.slice(0, Math.max(4, hostname.length - 4)));
        await page.locator(`[data-testid="machine-link"]:text-is("${hostname}")`).waitFor({ state: 'visible' });
      });
    }

    await check('the scheduler page lists the jobs', async () => {
      await page.getByTestId('nav-/platform/scheduler').click();
      await page.getByTestId('scheduler-page').waitFor({ state: 'visible' });
      await page.getByTestId('job-row').first().waitFor({ state: 'visible', timeout: 15_000 });
      const jobs = await page.getByTestId('job-row').count();
      const errors = await page.getByTestId('job-error').count();
      await page.getByTestId('job-row').first().click(); // expand its runs
      await page.waitForTimeout(200);
      await page.evaluate(() => window.scrollTo(0, 0));
      await run.shot(page, 'scheduler.png', { fullPage: true });
      return `${jobs} jobs, ${errors} with a last error · scheduler.png`;
    });
  }

  run.clearWatchdog();
  if (!signedIn) await run.shot(page, 'failure.png').catch(() => undefined);
  run.finish();
}
