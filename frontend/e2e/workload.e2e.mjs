#!/usr/bin/env node
// workload.e2e.mjs — the workload screens in Chromium against a real demo server:
//   VIEWER    /personal lists their jobs (as many as the API says), opens the
//             memory hog they own (ads.ctr_feature_backfill): the runs chart and
//             table, "Analyze now" and its findings, the lineage graph; tries to
//             RAISE the job's priority and sees the server's refusal (the
//             priority stays, checked through the API); /bu is read-only;
//   BU_ADMIN  /bu lists the Ads subtree's jobs with the P0 limit, changes a
//             job's priority in place, and it sticks (API and a reload).
//
// Env:
//   TESLA_URL            base URL (required)
//   TESLA_TOKEN          an ADMIN token (required; API checks)
//   TESLA_VIEWER_TOKEN   the demo viewer's token (required)
//   TESLA_BU_TOKEN       the demo BU admin's token (required)
//   E2E_ARTIFACTS, CHROMIUM_PATH as in e2e-lib.mjs
//
// Prints one line per check and "N passed, N failed"; exit 0 only when nothing failed.

import { createRun } from './e2e-lib.mjs';

const VIEWER = process.env.TESLA_VIEWER_TOKEN ?? '';
const BU_ADMIN = process.env.TESLA_BU_TOKEN ?? '';
const HOG = 'ads.ctr_feature_backfill';
const run = createRun({
  script: 'workload.e2e.mjs',
  usage: 'TESLA_URL=… TESLA_TOKEN=tsl_admin TESLA_VIEWER_TOKEN=tsl_… TESLA_BU_TOKEN=tsl_… node e2e/workload.e2e.mjs',
  totalTimeoutMs: 180_000,
});
const { BASE, TOKEN: ADMIN, check, finish, shot } = run;
if (!VIEWER || !BU_ADMIN) {
  console.error('TESLA_VIEWER_TOKEN and TESLA_BU_TOKEN are required');
  process.exit(2);
}

/** A GraphQL request with a bearer token, outside the browser (verification). */
async function api(token, query, variables = {}) {
  const res = await fetch(`${BASE}/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = await res.json();
  if (body.errors) throw new Error(`API: ${body.errors[0].message}`);
  return body.data;
}

const priorityOf = async (id) => (await api(ADMIN, `query($id: ID!) { job(id: $id) { priority } }`, { id })).job.priority;

const { signInAs } = run;

const text = async (loc) => ((await loc.textContent()) ?? '').trim();
const PRIOS = ['P0', 'P1', 'P2', 'P3', 'P4'];

const page = await run.launch({ viewport: { width: 1440, height: 1000 } });
if (page) {
  try {
    let hogId = '';

    // ---- VIEWER ---------------------------------------------------------------------
    await check('VIEWER: /personal lists their jobs, as many as the API says', async () => {
      await signInAs(page, VIEWER, '/personal', 'personal-page');
      await page.getByTestId('job-row').first().waitFor();
      const { me } = await api(VIEWER, `{ me { person { jobs(first: 50) { totalCount nodes { id name } } } } }`);
      const want = me.person.jobs.nodes.map((j) => j.name).sort();
      const got = (await page.getByTestId('job-row').evaluateAll((rows) => rows.map((r) => r.dataset.job))).sort();
      if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`page ${got.join(',')} ≠ API ${want.join(',')}`);
      if (!got.includes(HOG)) throw new Error(`${HOG} is not among the viewer's jobs`);
      hogId = me.person.jobs.nodes.find((j) => j.name === HOG).id;
      if (!(await page.getByTestId('run-dots').count())) throw new Error('no last-run dots');
      await shot(page, 'workload-personal.png', { fullPage: true });
      return `${got.length} jobs`;
    });

    await check('VIEWER: the job page shows facts, the runs chart and the runs table', async () => {
      await page.locator(`[data-testid="job-row"][data-job="${HOG}"] [data-testid="job-link"]`).click();
      await page.locator(`[data-testid="job-page"][data-job="${HOG}"]`).waitFor();
      if (!page.url().endsWith(`/jobs/${encodeURIComponent(hogId)}`) && !page.url().includes('/jobs/')) throw new Error(`URL ${page.url()}`);
      await page.locator('[data-testid="runs-chart"] canvas').waitFor();
      await page.getByTestId('run-row').first().waitFor();
      const rows = await page.getByTestId('run-row').count();
      const owner = await text(page.getByTestId('job-owner'));
      if (!/viewer/.test(owner)) throw new Error(`owner shows ${owner}`);
      return `${rows} runs on the first page`;
    });

    await check('VIEWER: "Analyze now" finds the over-provisioned memory, with advice and evidence', async () => {
      await page.getByTestId('analyze-job').click();
      await page.locator('[data-testid="action-ok"], [data-testid="action-error"]').first().waitFor({ timeout: 20_000 });
      if (await page.getByTestId('action-error').count()) throw new Error(await text(page.getByTestId('action-error')));
      const f = page.locator('[data-testid="finding"][data-heuristic="MEMORY_OVERPROVISIONED"]');
      await f.waitFor();
      const sev = await f.getAttribute('data-severity');
      if (!['SEVERE', 'CRITICAL', 'MODERATE'].includes(sev)) throw new Error(`severity ${sev}`);
      if (!(await f.locator('.evidence .fact').count())) throw new Error('no evidence shown');
      const score = await text(page.getByTestId('stat-score'));
      if (/—/.test(score.replace('Score', ''))) throw new Error(`score not shown: ${score}`);
      return `MEMORY_OVERPROVISIONED ${sev}`;
    });

    await check('VIEWER: the lineage graph renders from the job', async () => {
      const g = page.getByTestId('lineage');
      await g.waitFor({ timeout: 15_000 });
      await page.locator('[data-testid="lineage-chart"] canvas').waitFor();
      const nodes = Number(await g.getAttribute('data-nodes'));
      const edges = Number(await g.getAttribute('data-edges'));
      const want = await api(ADMIN, `query($id: ID!) { lineage(node: $id, depth: 2, maxNodes: 200) { nodes { __typename } edges { from } } }`, { id: hogId });
      if (nodes !== want.lineage.nodes.length || edges !== want.lineage.edges.length)
        throw new Error(`graph ${nodes} nodes/${edges} edges, API ${want.lineage.nodes.length}/${want.lineage.edges.length}`);
      if (nodes < 2) throw new Error('the lineage has only the job');
      await g.scrollIntoViewIfNeeded();
      await shot(page, 'workload-job.png', { fullPage: true });
      return `${nodes} nodes, ${edges} edges`;
    });

    await check('VIEWER: selecting a lineage node expands it (merged as the API walks it), shows its path and links to its job', async () => {
      const g = page.getByTestId('lineage');
      await page.locator('.lineage-nodes summary').click();
      const other = page.locator('[data-testid="lineage-node"][data-type="Job"][data-expanded="false"]').first();
      const otherId = await other.getAttribute('data-id');
      await other.click();
      await page.locator('[data-testid="lineage"][data-expanded="2"][data-busy="false"]').waitFor();
      const q = `query($id: ID!, $d: Int!) { lineage(node: $id, depth: $d, maxNodes: 200) { nodes { ... on Job { id } ... on Dataset { id } } } }`;
      const a = await api(ADMIN, q, { id: hogId, d: 2 });
      const b = await api(ADMIN, q, { id: otherId, d: 1 });
      const want = new Set([...a.lineage.nodes, ...b.lineage.nodes].map((n) => n.id)).size;
      const got = Number(await g.getAttribute('data-nodes'));
      if (got !== want) throw new Error(`graph has ${got} nodes, the two walks ${want}`);
      const sel = page.getByTestId('lineage-selected');
      if ((await sel.getAttribute('data-id')) !== otherId) throw new Error('the node is not selected');
      if (!/edges? from this job/.test(await text(sel))) throw new Error(`selection reads ${await text(sel)}`);
      await shot(page, 'workload-lineage.png', { fullPage: false });
      await sel.getByTestId('lineage-job-link').click();
      await page.locator('[data-testid="job-page"]').waitFor();
      if (!decodeURIComponent(page.url()).endsWith(`/jobs/${otherId}`)) throw new Error(`went to ${page.url()}`);
      await page.goBack();
      await page.locator(`[data-testid="job-page"][data-job="${HOG}"]`).waitFor();
      return `${got} nodes after expanding`;
    });

    await check('VIEWER: raising their own job is refused with the server’s message; the priority stays', async () => {
      let before = await priorityOf(hogId);
      if (before === 'P0') {
        // Nothing is higher than P0: an admin lowers it first so a raise is possible.
        await api(ADMIN, `mutation($id: ID!) { setJobPriority(input: {job: $id, priority: P2}) { priority } }`, { id: hogId });
        await page.reload();
        before = 'P2';
      }
      const higher = PRIOS[PRIOS.indexOf(before) - 1];
      const sel = page.locator('[data-testid="job-facts"] [data-testid="priority-select"]');
      await sel.waitFor();
      await sel.selectOption(higher);
      const err = page.locator('[data-testid="job-facts"] [data-testid="priority-error"]');
      await err.waitFor();
      const msg = await text(err);
      if (!/owner/i.test(msg) || !/lower/i.test(msg)) throw new Error(`refusal reads: ${msg}`);
      if ((await sel.inputValue()) !== before) throw new Error(`the select shows ${await sel.inputValue()}, not ${before}`);
      if ((await priorityOf(hogId)) !== before) throw new Error('the priority changed');
      await page.evaluate(() => window.scrollTo(0, 0));
      await shot(page, 'workload-refused.png', { fullPage: false });
      return msg;
    });

    await check('VIEWER: /bu is read-only', async () => {
      await page.goto(`${BASE}/bu`);
      await page.getByTestId('bu-readonly').waitFor();
      await page.getByTestId('job-row').first().waitFor();
      if (await page.getByTestId('priority-select').count()) throw new Error('a viewer gets a priority selector in /bu');
    });

    // ---- BU_ADMIN -------------------------------------------------------------------
    let changed = { id: '', to: '' };
    await check('BU_ADMIN: /bu lists the Ads subtree with its P0 limit and changes a priority in place', async () => {
      await signInAs(page, BU_ADMIN, '/bu', 'bu-page');
      await page.getByTestId('job-row').first().waitFor();
      const limit = await text(page.getByTestId('stat-p0-limit'));
      if (!/\d/.test(limit)) throw new Error(`P0 limit reads ${limit}`);
      const row = page.locator('[data-testid="job-row"]').filter({ has: page.locator('[data-testid="priority-select"]') }).nth(1);
      const id = await row.getAttribute('data-id');
      const before = await row.locator('[data-testid="priority-select"]').inputValue();
      const to = before === 'P4' ? 'P3' : PRIOS[PRIOS.indexOf(before) + 1];
      await row.locator('[data-testid="priority-select"]').selectOption(to);
      await row.locator('[data-testid="priority-ok"], [data-testid="priority-error"]').first().waitFor();
      if (await row.getByTestId('priority-error').count()) throw new Error(await text(row.getByTestId('priority-error')));
      changed = { id, to };
      await shot(page, 'workload-bu.png', { fullPage: true });
      return `${await row.getAttribute('data-job')}: ${before} → ${to} (${limit})`;
    });

    await check('BU_ADMIN: the findings to act on hold the analysed memory hog; the queues are listed', async () => {
      const row = page.locator('[data-testid="serious-row"]').filter({ hasText: HOG });
      await row.waitFor();
      await row.locator('[data-testid="severity"][data-severity="CRITICAL"], [data-testid="severity"][data-severity="SEVERE"]').waitFor();
      const queues = await page.getByTestId('queue-row').count();
      if (!queues) throw new Error('no queue listed');
      return `${queues} queues`;
    });

    await check('BU_ADMIN: the change sticks (API and a reload)', async () => {
      if (!changed.id) throw new Error('nothing was changed');
      const got = await priorityOf(changed.id);
      if (got !== changed.to) throw new Error(`API says ${got}`);
      // The listing is ordered by priority, so the job may have moved to a later
      // page: its own page shows the same selector.
      await page.goto(`${BASE}/jobs/${encodeURIComponent(changed.id)}`);
      const sel = page.locator('[data-testid="job-facts"] [data-testid="priority-select"]');
      await sel.waitFor();
      if ((await sel.inputValue()) !== changed.to) throw new Error(`after reload the select shows ${await sel.inputValue()}`);
    });

    // ---- ADMIN ----------------------------------------------------------------------
    await check('ADMIN: /bu picks any BU and lists its subtree’s jobs as the API does', async () => {
      // A BU outside Ads that has jobs in the demo fleet.
      const all = await api(ADMIN, `{ jobs(first: 100) { nodes { bu { id code } } } }`);
      const bu = all.jobs.nodes.map((j) => j.bu).find((b) => b && !b.code.startsWith('ADS'));
      if (!bu) throw new Error('no job outside Ads has a BU');
      const want = await api(ADMIN, `query($bu: ID!) { jobs(filter: {bu: $bu}, first: 50) { totalCount nodes { name } } }`, { bu: bu.id });
      try {
        await signInAs(page, ADMIN, `/bu?bu=${bu.code}`, 'bu-page');
        await page.getByTestId('bu-select').waitFor();
        await page.getByTestId('job-row').first().waitFor();
      } catch (err) {
        await shot(page, 'workload-admin-failed.png', { fullPage: true });
        throw err;
      }
      const names = (await page.getByTestId('job-row').evaluateAll((rows) => rows.map((r) => r.dataset.job))).sort();
      const api_ = want.jobs.nodes.map((j) => j.name).sort();
      if (JSON.stringify(names) !== JSON.stringify(api_)) throw new Error(`page ${names.join(',')} ≠ API ${api_.join(',')}`);
      if ((await page.getByTestId('bu-select').inputValue()) !== bu.code) throw new Error(`the select does not show ${bu.code}`);
      if ((await page.getByTestId('priority-select').count()) !== names.length) throw new Error('an admin lacks a selector on some row');
      return `${bu.code}: ${names.length} jobs`;
    });
  } catch (err) {
    run.report(false, 'script', String(err?.message ?? err).split('\n')[0]);
  }
  finish();
}
