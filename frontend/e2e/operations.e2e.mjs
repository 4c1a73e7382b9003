#!/usr/bin/env node
// operations.e2e.mjs — the Aquila screens in Chromium against a real server
// running a working (simulated) operation engine:
//   OPERATOR  restarts a cluster from its Operations panel and lands on the
//             live operation page, whose progress advances to SUCCEEDED through
//             the operationProgress subscription (no reload); a second restart
//             is paused from its button, a third is refused with the CONFLICT's
//             message, the paused one is on the operations list and the big
//             screen, then it is resumed and aborted (after a confirm);
//   VIEWER    sees the paused operation's page without any action button;
//   OPERATOR  on the Stacks page registers a package (a bad checksum first:
//             the error shows next to the checksum field) and creates a stack
//             version from it, whose dependency graph is drawn.
//
// Env:
//   TESLA_URL           base URL (required)
//   TESLA_TOKEN         an OPERATOR token (required)
//   TESLA_VIEWER_TOKEN  a VIEWER token (required)
//   TESLA_CLUSTER       the cluster to restart (required)
//   E2E_ARTIFACTS, CHROMIUM_PATH as in e2e-lib.mjs
//
// Prints one line per check and "N passed, N failed"; exit 0 only when nothing failed.

import { createRun } from './e2e-lib.mjs';

const VIEWER = process.env.TESLA_VIEWER_TOKEN ?? '';
const CLUSTER = process.env.TESLA_CLUSTER ?? '';
const run = createRun({
  script: 'operations.e2e.mjs',
  usage: 'TESLA_URL=… TESLA_TOKEN=tsl_operator TESLA_VIEWER_TOKEN=tsl_… TESLA_CLUSTER=name node e2e/operations.e2e.mjs',
  totalTimeoutMs: 120_000,
});
const { BASE, TOKEN, check, finish, shot, signInAs } = run;
if (!VIEWER || !CLUSTER) {
  console.error('TESLA_VIEWER_TOKEN and TESLA_CLUSTER are required');
  process.exit(2);
}

async function api(token, query, variables = {}) {
  const res = await fetch(`${BASE}/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return res.json();
}

const text = async (loc) => ((await loc.textContent()) ?? '').trim();

/** Waits until the operation page's title shows `state`; on a timeout, says what the page and the API show. */
async function waitState(page, state, timeout = 20_000) {
  try {
    await page.waitForFunction((want) => document.querySelector('[data-testid="operation-title"] [data-testid="operation-state"]')?.getAttribute('data-state') === want, state, { timeout });
  } catch (err) {
    const shown = await page.evaluate(() => ({
      state: document.querySelector('[data-testid="operation-title"] [data-testid="operation-state"]')?.getAttribute('data-state'),
      percent: document.querySelector('.op-progress-row [data-testid="operation-progress"]')?.getAttribute('data-percent'),
      live: document.querySelector('[data-testid="operation-live"]')?.textContent,
    }));
    const id = decodeURIComponent(new URL(page.url()).pathname.split('/').pop() ?? '');
    const r = await api(TOKEN, `query($id: ID!) { operation(id: $id) { state progress tasksTotal tasksSucceeded currentStage stages { state total succeeded running pending } } }`, { id });
    throw new Error(`waiting for ${state}: page ${JSON.stringify(shown)}; API ${JSON.stringify(r.data ?? r.errors).slice(0, 400)}`);
  }
}

/** Opens the restart dialog on the cluster page and submits it: the first service only, so a run takes seconds. */
async function restart(page, batch, reason, { refused = false } = {}) {
  await page.getByTestId('restart-open').click();
  await page.getByTestId('restart-dialog').waitFor();
  const first = await page.getByTestId('restart-services').locator('option').first().getAttribute('value');
  if (!first) throw new Error('no service to pick');
  await page.getByTestId('restart-services').selectOption([first]);
  await page.getByTestId('restart-batch').fill(String(batch));
  await page.getByTestId('restart-reason').fill(reason);
  await page.getByTestId('restart-submit').click();
  await page.locator('[data-testid="operation-page"], [data-testid="restart-error"]').first().waitFor();
  const error = (await page.getByTestId('restart-error').count()) ? await text(page.getByTestId('restart-error')) : null;
  if (refused && !error) throw new Error('the restart was not refused');
  if (!refused && error) throw new Error(`refused: ${error}`);
  return error;
}

const HEX = 'ab'.repeat(32);
const page = await run.launch({ viewport: { width: 1440, height: 1300 } });
if (!page) process.exit(1);
let pausedUrl = '';

try {
  await check('OPERATOR: restarts the cluster from its page and lands on the live operation', async () => {
    await signInAs(page, TOKEN, `/clusters/${encodeURIComponent(CLUSTER)}`, 'cluster-operations');
    await page.getByTestId('restart-open').waitFor();
    await restart(page, 25, 'e2e rolling restart');
    await page.getByTestId('operation-page').waitFor();
    await page.getByTestId('operation-title').waitFor();
    if (!/\/aquila\/operations\/[^/]+$/.test(new URL(page.url()).pathname)) throw new Error(`landed on ${page.url()}`);
    return `${await text(page.getByTestId('operation-title'))}`;
  });

  await check('OPERATOR: progress advances to SUCCEEDED live, without a reload', async () => {
    // A mark that a reload would wipe, and the progress values seen.
    await page.evaluate(() => {
      window.__noReload = true;
      window.__percents = [];
      setInterval(() => {
        const p = document.querySelector('.op-progress-row [data-testid="operation-progress"]')?.getAttribute('data-percent');
        if (p !== undefined && p !== null && window.__percents.at(-1) !== p) window.__percents.push(p);
      }, 50);
    });
    await waitState(page, 'SUCCEEDED', 30_000);
    await page.waitForFunction(() => document.querySelector('.op-progress-row [data-testid="operation-progress"]')?.getAttribute('data-percent') === '100');
    const seen = await page.evaluate(() => window.__percents.map(Number));
    if (!(await page.evaluate(() => window.__noReload === true))) throw new Error('the page was reloaded');
    if (seen.length < 3) throw new Error(`progress seen only as ${seen.join(', ')}`);
    const stages = await page.locator('[data-testid="stage-row"]').count();
    const tasks = await page.locator('[data-testid="task-row"]').count();
    if (!stages || !tasks) throw new Error(`${stages} stages, ${tasks} tasks`);
    if (await page.getByTestId('op-action-PAUSE').count()) throw new Error('a finished operation offers Pause');
    await page.getByTestId('task-output-toggle').first().click();
    await page.getByTestId('task-output').first().waitFor();
    await shot(page, 'operation-succeeded.png', { fullPage: true });
    return `progress ${seen.join(' → ')}; ${stages} stages, ${tasks} tasks shown`;
  });

  await check('OPERATOR: a second restart is paused from its button', async () => {
    await page.goto(`${BASE}/clusters/${encodeURIComponent(CLUSTER)}`);
    await page.getByTestId('restart-open').waitFor();
    await restart(page, 3, 'e2e controlled restart');
    await page.getByTestId('operation-page').waitFor();
    await page.getByTestId('op-action-PAUSE').click();
    await waitState(page, 'PAUSED');
    await page.getByTestId('op-action-RESUME').waitFor();
    pausedUrl = page.url();
    return `${await text(page.getByTestId('operation-counts'))}`;
  });

  await check('OPERATOR: another restart of the held cluster shows the CONFLICT', async () => {
    await page.goto(`${BASE}/clusters/${encodeURIComponent(CLUSTER)}`);
    await page.getByTestId('active-operation-link').waitFor();
    const state = await page.getByTestId('active-operation').getByTestId('operation-state').getAttribute('data-state');
    if (state !== 'PAUSED') throw new Error(`active operation ${state}`);
    const msg = await restart(page, 10, 'e2e conflict', { refused: true });
    if (!/RESTART|operation|already/i.test(msg)) throw new Error(`message: ${msg}`);
    return msg;
  });

  await check('the operations list and the big screen show the paused one', async () => {
    await page.goto(`${BASE}/aquila/operations`);
    await page.getByTestId('active-operations-table').getByTestId('operation-row').first().waitFor();
    const row = await text(page.getByTestId('active-operations-table').getByTestId('operation-row').first());
    if (!row.includes(CLUSTER)) throw new Error(`row: ${row}`);
    await page.goto(`${BASE}/screen`);
    await page.getByTestId('screen-operation').first().waitFor({ timeout: 20_000 });
    const tile = await text(page.getByTestId('screen-operation').first());
    if (!tile.includes(CLUSTER)) throw new Error(`screen: ${tile}`);
    return `${row.slice(0, 60)} | screen: ${tile}`;
  });

  await check('VIEWER: sees the paused operation without any action button', async () => {
    const context = await page.context().browser().newContext({ viewport: { width: 1440, height: 1100 } });
    try {
      const vpage = await context.newPage();
      await signInAs(vpage, VIEWER, new URL(pausedUrl).pathname, 'operation-title');
      await vpage.waitForFunction(() => document.querySelector('[data-testid="operation-title"] [data-testid="operation-state"]')?.getAttribute('data-state') === 'PAUSED');
      await vpage.getByTestId('stage-row').first().waitFor();
      const buttons = await vpage.locator('[data-testid^="op-action-"]').count();
      if (buttons) throw new Error(`${buttons} action buttons`);
      // Nor a restart button on the cluster page.
      await shot(vpage, 'operation-viewer.png', { fullPage: true });
      await vpage.goto(`${BASE}/clusters/${encodeURIComponent(CLUSTER)}`);
      await vpage.getByTestId('active-operation-link').waitFor();
      if (await vpage.getByTestId('restart-open').count()) throw new Error('a viewer is offered Restart services');
      return 'no buttons on the operation or the cluster';
    } finally {
      await context.close();
    }
  });

  await check('OPERATOR: resumes, then aborts after a confirm', async () => {
    await page.goto(pausedUrl);
    await page.getByTestId('op-action-RESUME').click();
    await waitState(page, 'RUNNING');
    await page.getByTestId('op-action-ABORT').click();
    await page.getByTestId('op-confirm').waitFor();
    await page.getByTestId('op-confirm-yes').click();
    await waitState(page, 'ABORTED');
    if (await page.getByTestId('op-action-error').count()) throw new Error(await text(page.getByTestId('op-action-error')));
    return `${await text(page.getByTestId('operation-counts'))}`;
  });

  await check('OPERATOR: registers a package, a bad checksum refused next to its field', async () => {
    // The package the new one depends on, through the API.
    const base = await api(
      TOKEN,
      `mutation($in: RegisterServicePackageInput!) { registerServicePackage(input: $in) { package { id } userErrors { message } } }`,
      { in: { service: 'E2EBASE', info: { version: '1.0.0', checksum: `sha256:${HEX}`, source: { kind: 'RPM', uri: 'https://repo.example/e2ebase-1.0.0.rpm' } } } },
    );
    if (!base.data?.registerServicePackage?.package) throw new Error(`base package: ${JSON.stringify(base)}`);
    await page.goto(`${BASE}/aquila/stacks`);
    await page.getByTestId('open-register-package').click();
    await page.getByTestId('register-package-form').waitFor();
    await page.getByTestId('pkg-service').fill('e2eapp');
    await page.getByTestId('pkg-version').fill('1.0.0');
    await page.getByTestId('pkg-checksum').fill('sha256:nothex');
    await page.getByTestId('pkg-source-uri').fill('https://repo.example/e2eapp-1.0.0.rpm');
    await page.getByTestId('pkg-dep-service').first().fill('E2EBASE');
    await page.getByTestId('pkg-dep-constraint').first().fill('>=1.0');
    await page.getByTestId('pkg-health-kind').selectOption('HTTP');
    await page.getByTestId('pkg-health-target').fill('http://localhost:8080/health');
    await page.getByTestId('pkg-submit').click();
    const fieldError = page.locator('.field-bad:has([data-testid="pkg-checksum"]) [data-testid="field-error"]');
    await fieldError.waitFor();
    const refused = await text(fieldError);
    await page.getByTestId('pkg-checksum').fill(`sha256:${HEX}`);
    await page.getByTestId('pkg-submit').click();
    await page.getByTestId('stacks-done').waitFor();
    const done = await text(page.getByTestId('stacks-done'));
    if (!done.includes('E2EAPP')) throw new Error(done);
    return `refused: ${refused}; ${done}`;
  });

  await check('OPERATOR: creates a stack version whose dependency graph is drawn', async () => {
    await page.getByTestId('open-new-version').click();
    await page.getByTestId('new-version-form').waitFor();
    await page.getByTestId('ver-stack').fill('E2E');
    await page.getByTestId('ver-version').fill('1.0.0');
    await page.locator('[data-testid="ver-pick"][data-service="E2EBASE"]').selectOption('1.0.0');
    await page.locator('[data-testid="ver-pick"][data-service="E2EAPP"]').selectOption('1.0.0');
    await page.getByTestId('ver-submit').click();
    await page.waitForFunction(() => /Created E2E 1\.0\.0/.test(document.querySelector('[data-testid="stacks-done"]')?.textContent ?? ''));
    const version = page.locator('[data-testid="stack-version"][data-version="E2E 1.0.0"]');
    await version.getByTestId('dep-graph').waitFor();
    const nodes = await version.getByTestId('dep-node').count();
    const edges = await version.locator('[data-testid="dep-edge"][data-state="satisfied"]').count();
    if (nodes !== 2 || edges !== 1) throw new Error(`${nodes} nodes, ${edges} satisfied edges`);
    const order = await text(version.getByTestId('start-order'));
    if (!/E2EBASE.*E2EAPP/.test(order)) throw new Error(order);
    const rows = await version.getByTestId('package-row').count();
    await version.scrollIntoViewIfNeeded();
    await shot(page, 'stacks-graph.png', { fullPage: true });
    return `${order}; ${nodes} nodes, ${edges} edge, ${rows} packages`;
  });
} catch (err) {
  run.report(false, 'the run', String(err?.message ?? err).split('\n')[0]);
}
finish();
