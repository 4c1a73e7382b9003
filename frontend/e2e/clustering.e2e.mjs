#!/usr/bin/env node
// clustering.e2e.mjs — the machine clustering page in Chromium against a real
// server that has not clustered yet (the Go harness leaves the job out):
//   VIEWER    sees the empty state and no "Run analysis now" button;
//   OPERATOR  runs the analysis from the page and sees the scatter, the group
//             table with counts adding up to the hosts shown, the run's facts
//             and outliers; a dot's tooltip names its host and a click opens
//             the host page; the kind, cluster and rack filters narrow the
//             counts while the fleet counts stay;
//   VIEWER    then sees the run, still without the button.
// Each figure on the page is checked against the API.
//
// Env:
//   TESLA_URL             base URL (required)
//   TESLA_TOKEN           an ADMIN token (required; API checks)
//   TESLA_OPERATOR_TOKEN  an OPERATOR token (required)
//   TESLA_VIEWER_TOKEN    a VIEWER token (required)
//   E2E_ARTIFACTS, CHROMIUM_PATH as in e2e-lib.mjs
//
// Prints one line per check and "N passed, N failed"; exit 0 only when nothing failed.

import { createRun } from './e2e-lib.mjs';

const OPERATOR = process.env.TESLA_OPERATOR_TOKEN ?? '';
const VIEWER = process.env.TESLA_VIEWER_TOKEN ?? '';
const run = createRun({
  script: 'clustering.e2e.mjs',
  usage: 'TESLA_URL=… TESLA_TOKEN=tsl_admin TESLA_OPERATOR_TOKEN=tsl_… TESLA_VIEWER_TOKEN=tsl_… node e2e/clustering.e2e.mjs',
  totalTimeoutMs: 150_000,
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
  return res.json();
}

const VIEW = `query($f: MachineClusteringFilter) { machineClustering(filter: $f) {
  computedAt chosenK hostCount fleetHostCount groups { label hostCount fleetHostCount } } }`;

async function clusteringVia(filter = null) {
  const body = await api(ADMIN, VIEW, { f: filter });
  if (body.errors) throw new Error(`API: ${body.errors[0].message}`);
  return body.data.machineClustering;
}

const { signInAs } = run;

const text = async (loc) => ((await loc.textContent()) ?? '').trim();
const num = (s) => Number(String(s).replace(/[^\d.-]/g, ''));

/** The group rows as {label, hosts, fleet}. */
async function groupRows(page) {
  return page.getByTestId('group-row').evaluateAll((rows) =>
    rows.map((r) => ({ label: Number(r.dataset.label), hosts: Number(r.dataset.hosts), fleet: Number(r.dataset.fleetHosts) })),
  );
}

/** The "Hosts shown" figure on the page. */
async function shownHosts(page) {
  return num(await text(page.getByTestId('stat-hosts').locator('.stat-value')));
}

/** Waits until the page shows `hostCount` hosts (a filtered view arrived). */
async function waitShown(page, hostCount, what) {
  await page
    .waitForFunction(
    (n) => {
      const el = document.querySelector('[data-testid="stat-hosts"] .stat-value');
      return el && Number(el.textContent.replace(/[^\d.-]/g, '')) === n && !document.querySelector('[data-testid="clustering-filters"] .spinner');
    },
    hostCount,
    { timeout: 15_000 },
  )
    .catch(async () => {
      await shot(page, 'clustering-filter-failed.png', { fullPage: true });
      const shown = await page.getByTestId('stat-hosts').locator('.stat-value').textContent().catch(() => 'no figure');
      throw new Error(`${what}: the page shows ${shown} hosts, the API ${hostCount} (${page.url()})`);
    });
}

/**
 * A point of the chart that is over a dot: ECharts turns the cursor into a
 * pointer there. Scans the plot with synthetic mouse moves from the middle out
 * (the projection is centred, so the cloud is densest there).
 */
async function findDot(page) {
  return page.getByTestId('clustering-chart').evaluate(async (el) => {
    const box = el.getBoundingClientRect();
    const cx = box.left + box.width / 2;
    const cy = box.top + box.height / 2;
    const target = el.querySelector('canvas') ?? el;
    for (let r = 0; r < Math.max(box.width, box.height) / 2; r += 4) {
      for (let a = 0; a < 360; a += r ? Math.max(3, 360 / (r * 1.2)) : 360) {
        const x = cx + r * Math.cos((a * Math.PI) / 180);
        const y = cy + r * Math.sin((a * Math.PI) / 180);
        if (x < box.left + 70 || x > box.right - 30 || y < box.top + 50 || y > box.bottom - 50) continue;
        target.dispatchEvent(new MouseEvent('mousemove', { clientX: x, clientY: y, bubbles: true }));
        const cursor = el.firstElementChild ? getComputedStyle(el.firstElementChild).cursor : '';
        if (cursor === 'pointer') return { x, y };
      }
    }
    return null;
  });
}

const page = await run.launch({ viewport: { width: 1440, height: 1000 } });
if (!page) process.exit(1);

try {
  // ---- VIEWER, before the first run -------------------------------------------
  await check('VIEWER: empty state before the first run, no run button', async () => {
    await signInAs(page, VIEWER, '/intelligence/clustering', 'clustering-page');
    await page.getByTestId('clustering-empty').waitFor();
    const msg = await text(page.getByTestId('clustering-empty'));
    if (!/No clustering yet: it runs hourly; operators can run it now/.test(msg)) throw new Error(msg);
    if (await page.getByTestId('run-clustering').count()) throw new Error('a viewer sees "Run analysis now"');
    if ((await clusteringVia()) !== null) throw new Error('the API already has a clustering');
    await shot(page, 'clustering-empty.png', { fullPage: false });
  });

  await check('the nav links to the page (no "coming soon")', async () => {
    const link = page.getByTestId('nav-/intelligence/clustering');
    await link.waitFor();
    if ((await link.getAttribute('aria-current')) !== 'page') throw new Error('the nav link is not the current page');
    if (await link.locator('.soon-dot').count()) throw new Error('the nav marks it "coming soon"');
    if (await page.getByTestId('coming-soon').count()) throw new Error('a coming-soon panel is shown');
  });

  // ---- OPERATOR -------------------------------------------------------------------
  await check('OPERATOR: "Run analysis now" runs it and the page shows the result', async () => {
    await signInAs(page, OPERATOR, '/intelligence/clustering', 'clustering-page');
    await page.getByTestId('clustering-empty').waitFor();
    await page.getByTestId('run-clustering').click();
    await page.locator('[data-testid="action-ok"], [data-testid="action-error"]').first().waitFor({ timeout: 60_000 });
    if (await page.getByTestId('action-error').count()) throw new Error(await text(page.getByTestId('action-error')));
    await page.getByTestId('clustering-chart').locator('canvas').first().waitFor({ timeout: 20_000 });
    await page.getByTestId('group-row').first().waitFor();
    return await text(page.getByTestId('action-ok'));
  });

  let fleet = null;
  await check('OPERATOR: the group table counts add up and agree with the API', async () => {
    fleet = await clusteringVia();
    if (!fleet) throw new Error('the API has no clustering after the run');
    const rows = await groupRows(page);
    if (rows.length !== fleet.groups.length || rows.length !== fleet.chosenK) throw new Error(`${rows.length} rows, API ${fleet.groups.length} groups, k=${fleet.chosenK}`);
    if (rows.length < 2) throw new Error(`only ${rows.length} group`);
    const sum = rows.reduce((s, r) => s + r.hosts, 0);
    if (sum !== fleet.hostCount || (await shownHosts(page)) !== fleet.hostCount) throw new Error(`rows sum ${sum}, shown ${await shownHosts(page)}, API ${fleet.hostCount}`);
    for (const r of rows) {
      const g = fleet.groups.find((x) => x.label === r.label);
      if (!g || g.hostCount !== r.hosts || g.fleetHostCount !== r.fleet) throw new Error(`group ${r.label}: page ${r.hosts}/${r.fleet}, API ${g?.hostCount}/${g?.fleetHostCount}`);
    }
    if (num(await text(page.getByTestId('chosen-k'))) !== fleet.chosenK) throw new Error('k differs');
    const cands = await page.getByTestId('candidates').locator('.candidate').count();
    if (cands < 1 || !(await page.locator('.candidate.chosen').count())) throw new Error(`${cands} candidates, none marked chosen`);
    // Centroid values are in readable units: percentages for the utilisations.
    const first = await page.getByTestId('group-row').first().locator('td').nth(3).textContent();
    if (!/%$/.test(first.trim())) throw new Error(`CPU mean cell "${first}"`);
    await shot(page, 'clustering.png', { fullPage: true });
    return `${fleet.hostCount} hosts in ${rows.length} groups: ${rows.map((r) => `${r.label}:${r.hosts}`).join(' ')}`;
  });

  await check('OPERATOR: outliers link to their hosts', async () => {
    const links = page.getByTestId('outlier').locator('a');
    const n = await links.count();
    if (n === 0) {
      await page.getByText('No outlier').waitFor();
      return 'no outliers in this run';
    }
    if (n > 20) throw new Error(`${n} outliers listed`);
    const href = await links.first().getAttribute('href');
    if (!/^\/hosts\/[^/]+$/.test(href ?? '')) throw new Error(`href ${href}`);
    return `${n} listed`;
  });

  await check("OPERATOR: a dot's tooltip names its host; a click opens the host page", async () => {
    const dot = await findDot(page);
    if (!dot) throw new Error('no dot found under the pointer');
    await page.mouse.move(dot.x, dot.y);
    const tip = page.getByTestId('clustering-chart').locator('div').filter({ hasText: /cluster / }).last();
    await tip.waitFor();
    const tipText = await text(tip);
    const hostname = tipText.split('cluster ')[0].trim();
    if (!hostname) throw new Error(`tooltip "${tipText}"`);
    await page.mouse.click(dot.x, dot.y);
    await page.waitForURL((u) => u.pathname === `/hosts/${encodeURIComponent(hostname)}`, { timeout: 10_000 });
    await page.locator(`[data-testid="machine-page"][data-hostname="${hostname}"]`).waitFor();
    await page.goBack();
    await page.getByTestId('group-row').first().waitFor();
    return hostname;
  });

  await check('OPERATOR: the kind, cluster and rack filters narrow the counts; fleet counts stay', async () => {
    const clusters = (await api(ADMIN, `{ clusters(first: 100, orderBy: { field: NAME }) { nodes { id name kind } } }`)).data.clusters.nodes;
    const c = clusters[0];
    // Kind.
    await page.getByTestId('kind-filter').selectOption(c.kind);
    const byKind = await clusteringVia({ kinds: [c.kind] });
    await waitShown(page, byKind.hostCount, `kind ${c.kind}`);
    if (!(byKind.hostCount > 0 && byKind.hostCount <= fleet.hostCount)) throw new Error(`kind ${c.kind}: ${byKind.hostCount}`);
    let rows = await groupRows(page);
    if (rows.reduce((s, r) => s + r.hosts, 0) !== byKind.hostCount) throw new Error('kind: rows do not add up');
    for (const r of rows) if (r.fleet !== fleet.groups.find((g) => g.label === r.label).fleetHostCount) throw new Error('kind: a fleet count changed');
    if (!new URL(page.url()).search.includes(`kind=${c.kind}`)) throw new Error(`URL ${page.url()}`);
    // Cluster (the picker offers the clusters of the kind).
    const offered = await page.getByTestId('cluster-filter').locator('option').allTextContents();
    const ofKind = clusters.filter((x) => x.kind === c.kind).map((x) => x.name);
    if (JSON.stringify(offered.slice(1)) !== JSON.stringify(ofKind)) throw new Error(`picker offers ${offered.join(',')}`);
    await page.getByTestId('cluster-filter').selectOption(c.name);
    const byCluster = await clusteringVia({ clusterIds: [c.id] });
    await waitShown(page, byCluster.hostCount, `cluster ${c.name}`);
    rows = await groupRows(page);
    if (rows.reduce((s, r) => s + r.hosts, 0) !== byCluster.hostCount) throw new Error('cluster: rows do not add up');
    // Rack: one of the cluster's racks.
    const host = (await api(ADMIN, `query($c: String) { hosts(first: 1, filter: { clusterName: $c, state: ONLINE }) { nodes { rack } } }`, { c: c.name })).data.hosts.nodes[0];
    await page.getByTestId('rack-filter').fill(host.rack);
    const byRack = await clusteringVia({ clusterIds: [c.id], rack: host.rack });
    await waitShown(page, byRack.hostCount, `rack ${host.rack}`);
    if (!(byRack.hostCount <= byCluster.hostCount)) throw new Error(`rack ${host.rack}: ${byRack.hostCount} > ${byCluster.hostCount}`);
    // The URL keeps the filters: a reload shows the same view.
    await page.reload();
    await waitShown(page, byRack.hostCount, 'after a reload');
    return `fleet ${fleet.hostCount} → ${c.kind} ${byKind.hostCount} → ${c.name} ${byCluster.hostCount} → rack ${host.rack} ${byRack.hostCount}`;
  });

  // ---- VIEWER, after the run ------------------------------------------------------------
  await check('VIEWER: sees the run, still without the button', async () => {
    await signInAs(page, VIEWER, '/intelligence/clustering', 'clustering-page');
    await page.getByTestId('group-row').first().waitFor();
    await page.getByTestId('clustering-chart').locator('canvas').first().waitFor();
    if (await page.getByTestId('run-clustering').count()) throw new Error('a viewer sees "Run analysis now"');
    if ((await shownHosts(page)) !== fleet.hostCount) throw new Error(`shows ${await shownHosts(page)} hosts`);
  });
} catch (err) {
  run.report(false, 'script', String(err?.message ?? err).split('\n')[0]);
} finally {
  finish();
}
