#!/usr/bin/env node
// leaderboards.e2e.mjs — the Leaderboards page, health on the cluster page and
// the big screen's cost and leaderboard panels, in Chromium against a real
// server whose seeded history is billed, scored and ranked:
//   the red and black lists side by side, each entry with rank, movement,
//   value and comparison; the level, metric and period selectors change the
//   lists and stay in the URL (a reload keeps them); the hosts and jobs in
//   worst health; a cluster's health badge, components and worst hosts; the
//   big screen's cost this month with its idle share and the people's
//   efficiency red and black top 5, beside its live panels.
//
// Env:
//   TESLA_URL      base URL (required)
//   TESLA_TOKEN    an ADMIN token (required)
//   TESLA_CLUSTER  a cluster name (required)
//   E2E_ARTIFACTS, CHROMIUM_PATH as in e2e-lib.mjs
//
// Prints one line per check and "N passed, N failed"; exit 0 only when nothing failed.

import { createRun } from './e2e-lib.mjs';

const CLUSTER = process.env.TESLA_CLUSTER ?? '';
const run = createRun({
  script: 'leaderboards.e2e.mjs',
  usage: 'TESLA_URL=… TESLA_TOKEN=tsl_admin TESLA_CLUSTER=batch-wh-01 node e2e/leaderboards.e2e.mjs',
  totalTimeoutMs: 150_000,
});
const { BASE, TOKEN, check, finish, shot, signInAs } = run;
if (!CLUSTER) {
  console.error('TESLA_CLUSTER is required');
  process.exit(2);
}

const text = async (loc) => ((await loc.textContent()) ?? '').trim();

/** Waits until the lists shown are those of level/metric/period. */
async function waitChoice(page, choice) {
  await page.waitForFunction((want) => document.querySelector('[data-testid="lb-pair"]')?.getAttribute('data-choice') === want, choice, { timeout: 15_000 });
}

/** The names on the red and black lists, and how many entries each has. */
async function lists(page) {
  const names = (id) => page.locator(`[data-testid="${id}"] .lb-name`).allTextContents();
  return { red: await names('lb-red'), black: await names('lb-black') };
}

const page = await run.launch({ viewport: { width: 1440, height: 1300 } });
if (!page) process.exit(1);

try {
  let people;
  await check('red and black lists side by side, each entry with its figures', async () => {
    await signInAs(page, TOKEN, '/leaderboards', 'leaderboards-page');
    await waitChoice(page, 'PERSON/EFFICIENCY/WEEK');
    people = await lists(page);
    if (!people.red.length || !people.black.length) throw new Error(`${people.red.length} red, ${people.black.length} black`);
    const entry = page.locator('[data-testid="lb-red"] [data-testid="lb-entry"]').first();
    const rank = await entry.getAttribute('data-rank');
    const value = await text(entry.getByTestId('lb-value'));
    const comparison = await text(entry.getByTestId('lb-comparison'));
    const movement = await text(entry.getByTestId('movement'));
    if (rank !== '1' || !value || !comparison || !movement) throw new Error(`rank ${rank}, value ${value}, comparison ${comparison}, movement ${movement}`);
    await shot(page, 'leaderboards.png', { fullPage: true });
    return `${people.red.length} red, ${people.black.length} black; #1 ${people.red[0]} ${value} (${comparison})`;
  });

  await check('the metric selector changes the lists and the URL', async () => {
    await page.getByTestId('lb-metric').selectOption('FAILURE_RATE');
    await waitChoice(page, 'PERSON/FAILURE_RATE/WEEK');
    if (!new URL(page.url()).searchParams.get('metric')) throw new Error(page.url());
    const l = await lists(page);
    return `${l.red.length} red, ${l.black.length} black by failure rate`;
  });

  await check('the level selector changes the lists to jobs, with what to improve', async () => {
    await page.getByTestId('lb-metric').selectOption('EFFICIENCY');
    await page.getByTestId('lb-level').locator('[data-value="JOB"]').click();
    await waitChoice(page, 'JOB/EFFICIENCY/WEEK');
    const jobs = await lists(page);
    if (!jobs.red.length) throw new Error('no job ranked');
    if (jobs.red.join() === people.red.join()) throw new Error('the lists did not change');
    const improve = await page.locator('.lb-improve').count();
    const links = await page.getByTestId('lb-improve').count();
    if (!improve) throw new Error('no entry says what to improve');
    return `${jobs.red.length} red jobs (#1 ${jobs.red[0]}); ${improve} with advice, ${links} links to the findings`;
  });

  await check('the period selector changes the lists, and a reload keeps the choice', async () => {
    await page.getByTestId('lb-period').locator('[data-value="MONTH"]').click();
    await waitChoice(page, 'JOB/EFFICIENCY/MONTH');
    const url = new URL(page.url());
    if (url.searchParams.get('level') !== 'JOB' || url.searchParams.get('period') !== 'MONTH') throw new Error(page.url());
    const period = await text(page.getByTestId('lb-period-text'));
    await page.reload();
    await waitChoice(page, 'JOB/EFFICIENCY/MONTH');
    return `${url.search}; ${period}`;
  });

  await check('the hosts and jobs in worst health', async () => {
    await page.getByTestId('health-worst-hosts').waitFor();
    await page.getByTestId('health-worst-jobs').waitFor();
    const hosts = await page.locator('[data-testid="health-worst-hosts"] [data-testid="health-ranking-row"]').count();
    const jobs = await page.locator('[data-testid="health-worst-jobs"] [data-testid="health-ranking-row"]').count();
    if (!hosts || !jobs) throw new Error(`${hosts} hosts, ${jobs} jobs`);
    return `${hosts} hosts, ${jobs} jobs`;
  });

  await check("a cluster page shows the cluster's health with components and its worst hosts", async () => {
    await page.goto(`${BASE}/clusters/${encodeURIComponent(CLUSTER)}`);
    await page.getByTestId('cluster-page').waitFor();
    await page.getByTestId('cluster-health-badge').waitFor();
    const score = await page.getByTestId('cluster-health-badge').getAttribute('data-score');
    if (!score) throw new Error('the cluster is not scored');
    await page.getByTestId('cluster-health').waitFor();
    const components = await page.locator('[data-testid="cluster-health"] [data-testid="health-component"]').count();
    await page.getByTestId('cluster-worst-hosts').waitFor();
    const hosts = await page.locator('[data-testid="cluster-worst-hosts"] [data-testid="health-ranking-row"]').count();
    if (!components || !hosts) throw new Error(`${components} components, ${hosts} hosts`);
    await shot(page, 'cluster-health.png', { fullPage: true });
    return `health ${score}; ${components} components; ${hosts} hosts`;
  });

  await check("the big screen shows the month's cost and the efficiency lists beside its live panels", async () => {
    await page.setViewportSize({ width: 1920, height: 1080 });
    await page.goto(`${BASE}/screen`);
    await page.getByTestId('screen-kpis').waitFor({ timeout: 20_000 });
    await page.waitForFunction(() => document.querySelector('[data-testid="screen-cost"]')?.getAttribute('data-total'), null, { timeout: 20_000 });
    const total = await text(page.getByTestId('screen-cost-total'));
    const idle = await text(page.getByTestId('screen-cost-idle'));
    const clusters = await page.getByTestId('screen-cost-line').count();
    if (!(Number(total.replace(/[^0-9.]/g, '')) > 0) || !clusters) throw new Error(`total ${total}, ${clusters} clusters`);
    await page.getByTestId('screen-board-red').waitFor({ timeout: 20_000 });
    const entries = await page.getByTestId('screen-board-entry').count();
    if (!entries || entries > 10) throw new Error(`${entries} leaderboard entries`);
    // The live panels are still there and the screen goes live.
    for (const id of ['screen-clusters', 'screen-anomalies', 'screen-risks', 'screen-sick-hosts', 'screen-trend']) await page.getByTestId(id).waitFor();
    await page.waitForFunction(() => document.querySelector('[data-testid="big-screen"]')?.getAttribute('data-live-status') === 'live', null, { timeout: 20_000 });
    await shot(page, 'screen-money.png');
    return `${total} (${idle}) over ${clusters} clusters; ${entries} people on the lists`;
  });
} catch (err) {
  run.report(false, 'the run', String(err?.message ?? err).split('\n')[0]);
}
finish();
