#!/usr/bin/env node
// tools.e2e.mjs — the queue and job analysis screens in Chromium against a
// real server on the demo fleet (jobs analysed before the server starts):
//   OPERATOR  /tools/queues: picks batch-wh-01, sees its queue tree (every
//             queue of the API, indented, with share bars), selects a queue
//             and sees its usage chart, its top consumers (largest share as
//             the API's, linking to /jobs/<id>) and its findings;
//   OPERATOR  /tools/jobs: the worst jobs by score in the API's order; load
//             more; filtered by batch-wh-01, every page, each pathological job
//             with its pathology graded SEVERE or CRITICAL; by waste
//             ads.ctr_feature_backfill first with the memory advice; filters
//             kept over a reload; "Analyze" on a row;
//   VIEWER    /tools/jobs: only their own jobs, and may analyse one.
//
// Env:
//   TESLA_URL             base URL (required)
//   TESLA_TOKEN           an ADMIN token (required; API checks)
//   TESLA_OPERATOR_TOKEN  an OPERATOR token (required)
//   TESLA_VIEWER_TOKEN    a VIEWER token (required; the demo viewer owns ads.ctr_feature_backfill)
//   TESLA_PATHOLOGICAL    the pathological jobs as job=HEURISTIC,… (optional)
//   E2E_ARTIFACTS, CHROMIUM_PATH as in e2e-lib.mjs
//
// Prints one line per check and "N passed, N failed"; exit 0 only when nothing failed.

import { assert, createRun } from './e2e-lib.mjs';

const OPERATOR = process.env.TESLA_OPERATOR_TOKEN ?? '';
const VIEWER = process.env.TESLA_VIEWER_TOKEN ?? '';
// [job, the heuristic its pathology shows in]
const PATHOLOGICAL = (process.env.TESLA_PATHOLOGICAL ?? 'ads.ctr_feature_backfill=MEMORY_OVERPROVISIONED')
  .split(',')
  .filter(Boolean)
  .map((p) => p.split('='));
const CLUSTER = 'batch-wh-01';
const MEMORY_JOB = 'ads.ctr_feature_backfill';
const run = createRun({
  script: 'tools.e2e.mjs',
  usage: 'TESLA_URL=… TESLA_TOKEN=tsl_admin TESLA_OPERATOR_TOKEN=tsl_… TESLA_VIEWER_TOKEN=tsl_… node e2e/tools.e2e.mjs',
  totalTimeoutMs: 180_000,
});
const { BASE, TOKEN: ADMIN, check, finish, shot } = run;
if (!OPERATOR || !VIEWER) {
  console.error('TESLA_OPERATOR_TOKEN and TESLA_VIEWER_TOKEN are required');
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

const { signInAs } = run;

/** The rows of the worst-jobs table as {job, score, waste}. */
async function worstRows(page) {
  return page.getByTestId('worst-row').evaluateAll((rows) => rows.map((r) => ({ job: r.dataset.job, score: Number(r.dataset.score), waste: Number(r.dataset.waste) })));
}

/** Waits until the worst-jobs table shows `names` in order (a listing arrived). */
async function waitRows(page, names, what) {
  await page
    .waitForFunction(
      (want) => {
        const got = [...document.querySelectorAll('[data-testid="worst-row"]')].map((r) => r.dataset.job);
        return got.length === want.length && got.every((n, i) => n === want[i]);
      },
      names,
      { timeout: 15_000 },
    )
    .catch(async () => {
      await shot(page, 'jobs-failed.png', { fullPage: true });
      const got = (await worstRows(page)).map((r) => r.job);
      throw new Error(`${what}: the page shows [${got.slice(0, 6).join(', ')}…] (${got.length}), the API [${names.slice(0, 6).join(', ')}…] (${names.length})`);
    });
}

const WORST = `query($by: WorstJobsBy, $first: Int, $after: String, $cluster: ID) {
  worstJobs(by: $by, first: $first, after: $after, cluster: $cluster) { nodes { score waste job { id name owner { login } } } pageInfo { hasNextPage endCursor } } }`;

async function main() {
  const page = await run.launch({ viewport: { width: 1440, height: 1000 } });
  if (!page) return;

  const clusters = (await api(ADMIN, `{ clusters(first: 100) { nodes { id name } } }`)).clusters.nodes;
  const cluster = clusters.find((c) => c.name === CLUSTER);
  assert(cluster, `${CLUSTER} is in the demo fleet`);
  const queues = (await api(ADMIN, `query($c: ID) { queues(cluster: $c, first: 100) { totalCount nodes { id path } } }`, { c: cluster.id })).queues;

  // --- Queue analysis ---------------------------------------------------------
  await check('operator signs in on /tools/queues', async () => {
    await signInAs(page, OPERATOR, '/tools/queues', 'queues-page');
  });

  await check(`picking ${CLUSTER} shows its whole queue tree, indented, parents first`, async () => {
    await page.getByTestId('queue-cluster').selectOption(CLUSTER);
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid="queue-row"]').length === n, queues.totalCount, { timeout: 15_000 });
    const paths = await page.getByTestId('queue-row').evaluateAll((rows) => rows.map((r) => r.dataset.path));
    assert(paths[0] === 'root', `the first row is root, not ${paths[0]}`);
    assert([...paths].sort().join() === queues.nodes.map((q) => q.path).sort().join(), 'every queue of the API once');
    for (let i = 1; i < paths.length; i++) {
      const parent = paths[i].split('.').slice(0, -1).join('.');
      assert(paths.slice(0, i).includes(parent), `${paths[i]} comes after its parent`);
    }
    const pad = (p) => page.locator(`[data-testid="queue-row"][data-path="${p}"] td`).first().evaluate((td) => parseFloat(getComputedStyle(td).paddingLeft));
    const leaf = paths.find((p) => p.split('.').length === 3);
    assert((await pad(leaf)) > (await pad('root')), 'a leaf is indented under root');
    assert((await page.getByTestId('share-bar').count()) === paths.length, 'a share bar per queue');
    return `${paths.length} queues`;
  });

  // The leaf queue whose jobs used the most over the last day, so the consumers are not empty.
  const leafQueues = queues.nodes.filter((q) => q.path.split('.').length === 3);
  let target = null;
  for (const q of leafQueues) {
    const d = await api(ADMIN, `query($id: ID!) { queue(id: $id) { jobs(first: 100) { totalCount edges { node { id name } share } } } }`, { id: q.id });
    const top = [...d.queue.jobs.edges].sort((a, b) => (b.share ?? -1) - (a.share ?? -1))[0];
    if (top && top.share > 0 && (!target || d.queue.jobs.totalCount > target.total)) target = { ...q, total: d.queue.jobs.totalCount, top };
  }

  await check('selecting a queue shows its usage chart, top consumers and findings', async () => {
    assert(target, 'a leaf queue with consumers');
    await page.locator(`[data-testid="queue-row"][data-path="${target.path}"]`).click();
    await page.getByTestId('queue-detail').waitFor();
    await page.getByTestId('queue-chart').locator('canvas').first().waitFor({ timeout: 15_000 });
    await page.getByTestId('consumer-row').first().waitFor({ timeout: 15_000 });
    await page.getByTestId('queue-findings').getByTestId('finding').first().waitFor({ timeout: 15_000 });
    assert(new URL(page.url()).searchParams.get('queue') === target.path, 'the queue is kept in the URL');
    // The default range of the page is the last 24 hours; the API's default share window is 7 days, so compare with the page's window.
    const rows = await page.getByTestId('consumer-row').count();
    assert(rows === Math.min(20, target.total), `${rows} consumer rows for ${target.total} jobs`);
    const heuristics = await page.getByTestId('queue-findings').getByTestId('finding').evaluateAll((fs) => fs.map((f) => f.dataset.heuristic));
    assert(heuristics.every((h) => ['STARVED', 'HOARDED', 'IDLE'].includes(h)), `queue findings: ${heuristics}`);
    const advice = (await page.getByTestId('queue-findings').getByTestId('finding-advice').first().textContent())?.trim();
    assert(advice, 'the worst finding has advice');
    await shot(page, 'queues.png', { fullPage: true });
    return `${target.path}: ${rows} consumers, findings ${heuristics.join(', ')}`;
  });

  await check('the largest consumer is the API\'s, and its name links to /jobs/<id>', async () => {
    const first = page.getByTestId('consumer-row').first();
    const from = new Date(Date.now() - 24 * 3600e3).toISOString();
    const d = await api(ADMIN, `query($id: ID!, $from: Time) { queue(id: $id) { jobs(first: 100, from: $from) { edges { node { id name } share } } } }`, { id: target.id, from });
    const top = [...d.queue.jobs.edges].sort((a, b) => (b.share ?? -1) - (a.share ?? -1))[0];
    const name = (await first.getByTestId('job-link').textContent())?.trim();
    const shares = d.queue.jobs.edges.filter((e) => e.node.name === name).map((e) => e.share);
    assert(Math.abs((shares[0] ?? -1) - top.share) < 0.02, `the page's first consumer ${name} has the largest share (${top.node.name} ${top.share})`);
    const href = await first.getByTestId('job-link').getAttribute('href');
    assert(href?.startsWith('/jobs/'), `links to ${href}`);
    await first.getByTestId('job-link').click();
    await page.waitForURL((u) => u.pathname.startsWith('/jobs/'), { timeout: 10_000 });
    await page.goBack();
    await page.getByTestId('queue-detail').waitFor();
    return name;
  });

  await check('the range picker reloads the chart for the range', async () => {
    await page.getByTestId('range-picker').locator('[data-value="7d"]').click();
    await page.waitForURL((u) => u.searchParams.get('range') === '7d');
    await page.getByTestId('queue-chart').locator('canvas').first().waitFor({ timeout: 15_000 });
  });

  // --- Job analysis -----------------------------------------------------------
  const byScore = (await api(OPERATOR, WORST, { by: 'SCORE', first: 25 })).worstJobs;
  await check('/tools/jobs ranks the worst jobs by score in the API\'s order', async () => {
    await page.goto(`${BASE}/tools/jobs`);
    await page.getByTestId('jobs-page').waitFor();
    await waitRows(page, byScore.nodes.map((n) => n.job.name), 'by score');
    return `${byScore.nodes.length} rows`;
  });

  await check('"Load more" appends the next keyset page', async () => {
    if (!byScore.pageInfo.hasNextPage) return 'one page only';
    const next = (await api(OPERATOR, WORST, { by: 'SCORE', first: 25, after: byScore.pageInfo.endCursor })).worstJobs;
    await page.getByTestId('load-more').click();
    await waitRows(page, [...byScore.nodes, ...next.nodes].map((n) => n.job.name), 'after load more');
    return `${byScore.nodes.length + next.nodes.length} rows`;
  });

  // Every analysed job of the cluster, by score, through "Load more".
  const inCluster = [];
  for (let after = null; ; ) {
    const p = (await api(OPERATOR, WORST, { by: 'SCORE', first: 25, after, cluster: cluster.id })).worstJobs;
    inCluster.push(...p.nodes);
    if (!p.pageInfo.hasNextPage) break;
    after = p.pageInfo.endCursor;
  }
  await check(`filtered by ${CLUSTER}, every page: the pathological jobs with their pathology graded`, async () => {
    await page.getByTestId('cluster-filter').selectOption(CLUSTER);
    await waitRows(page, inCluster.slice(0, 25).map((n) => n.job.name), 'filtered by cluster');
    while (await page.getByTestId('load-more').isVisible()) {
      const n = await page.getByTestId('worst-row').count();
      await page.getByTestId('load-more').click();
      await page.waitForFunction((k) => document.querySelectorAll('[data-testid="worst-row"]').length > k, n);
    }
    await waitRows(page, inCluster.map((n) => n.job.name), 'every page of the cluster');
    const names = (await worstRows(page)).map((r) => r.job);
    const out = [];
    for (const [job, heuristic] of PATHOLOGICAL) {
      const at = names.indexOf(job);
      assert(at >= 0, `${job} is listed`);
      const row = page.locator(`[data-testid="worst-row"][data-job="${job}"]`);
      await row.getByTestId('toggle-findings').click();
      const f = page.locator(`[data-testid="findings-row"] [data-testid="finding"][data-heuristic="${heuristic}"]`);
      await f.waitFor();
      const sev = await f.getAttribute('data-severity');
      assert(sev === 'SEVERE' || sev === 'CRITICAL', `${job}: ${heuristic} graded ${sev}`);
      await row.getByTestId('toggle-findings').click();
      out.push(`${job} #${at + 1} ${heuristic} ${sev}`);
    }
    return out.join('; ');
  });

  await check(`by waste, ${MEMORY_JOB} comes first, with its memory advice`, async () => {
    const byWaste = (await api(OPERATOR, WORST, { by: 'WASTE', first: 25, cluster: cluster.id })).worstJobs;
    await page.getByTestId('rank-by').locator('[data-value="WASTE"]').click();
    await page.waitForURL((u) => u.searchParams.get('by') === 'WASTE' && u.searchParams.get('cluster') === CLUSTER);
    await waitRows(page, byWaste.nodes.map((n) => n.job.name), 'by waste');
    const rows = await worstRows(page);
    assert(rows.every((r, i) => i === 0 || r.waste <= rows[i - 1].waste + 1e-9), 'waste descends');
    assert(rows[0].job === MEMORY_JOB, `first by waste: ${rows[0].job}`);
    const row = page.locator(`[data-testid="worst-row"][data-job="${MEMORY_JOB}"]`);
    await row.getByTestId('toggle-findings').click();
    const memory = page.locator('[data-testid="findings-row"] [data-heuristic="MEMORY_OVERPROVISIONED"]');
    await memory.waitFor();
    const advice = (await memory.getByTestId('finding-advice').textContent())?.trim() ?? '';
    assert(/^Request [\d.]+ GB instead of [\d.]+ GB/.test(advice), `advice: ${advice}`);
    assert((await memory.locator('.evidence-item').count()) > 0, 'evidence shown');
    await shot(page, 'jobs.png', { fullPage: true });
    return advice.slice(0, 100);
  });

  await check('the filters are kept over a reload; cleared, by waste is the API\'s whole ranking', async () => {
    await page.reload();
    await page.getByTestId('worst-row').first().waitFor();
    assert((await worstRows(page))[0].job === MEMORY_JOB, 'same first row after a reload');
    const all = (await api(OPERATOR, WORST, { by: 'WASTE', first: 25 })).worstJobs;
    await page.getByTestId('cluster-filter').selectOption('');
    await waitRows(page, all.nodes.map((n) => n.job.name), 'by waste, all clusters');
  });

  await check('"Analyze" analyses a job now and says so', async () => {
    const job = await page.getByTestId('worst-row').first().getAttribute('data-job');
    const row = page.locator(`[data-testid="worst-row"][data-job="${job}"]`);
    await row.getByTestId('analyze-job').click();
    const ok = row.getByTestId('action-ok');
    await row.locator('[data-testid="action-ok"], [data-testid="action-error"]').first().waitFor({ timeout: 15_000 });
    assert(await ok.isVisible(), `refused: ${await row.getByTestId('action-error').textContent().catch(() => '')}`);
    return `${job}: ${(await ok.textContent())?.trim()}`;
  });

  // --- A viewer ----------------------------------------------------------------
  await check('a viewer sees only their own jobs and may analyse one', async () => {
    const mine = (await api(VIEWER, WORST, { by: 'SCORE', first: 25 })).worstJobs.nodes;
    await signInAs(page, VIEWER, '/tools/jobs', 'jobs-page');
    await waitRows(page, mine.map((n) => n.job.name), 'the viewer\'s jobs');
    assert(mine.some((n) => n.job.name === MEMORY_JOB), `the viewer owns ${MEMORY_JOB}`);
    const logins = new Set(mine.map((n) => n.job.owner?.login));
    assert(logins.size === 1, `one owner: ${[...logins]}`);
    const row = page.locator(`[data-testid="worst-row"][data-job="${MEMORY_JOB}"]`);
    await row.getByTestId('analyze-job').click();
    await row.getByTestId('action-ok').waitFor({ timeout: 15_000 });
    return `${mine.length} jobs`;
  });

  finish();
}

main().catch((err) => {
  run.report(false, 'script ran to the end', String(err?.message ?? err).split('\n')[0]);
  finish();
});
