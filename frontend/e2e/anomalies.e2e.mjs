#!/usr/bin/env node
// anomalies.e2e.mjs — the anomalies page, the host page's anomalies and the
// big screen's severe count in Chromium against a real server on which the Go
// harness (TestBrowserAnomalies) opened episodes: a CRITICAL CPU one and two
// MEDIUM CPU ones on three hosts of one rack at the same moment, and a LOW
// memory one against peers.
//   OPERATOR  sees the counts per severity (as the API has them) and the list
//             worst first; opens the critical episode: its series with the
//             episode shaded, the peak, the kind; acknowledges it with a note
//             (the status changes, the API confirms who and the note); opens
//             the LOW one, which an admin acknowledges meanwhile through the
//             API, and is refused with the server's message; the cluster's
//             analysis names the rack onset and links to its hosts; filters
//             narrow the list as the API does; a new episode arrives live
//             (the harness opens it when the script prints RAISE-NOW);
//   VIEWER    sees the episodes but no Acknowledge button; the host page lists
//             its anomalies and links to the page filtered to the host;
//   the big screen counts the open HIGH and CRITICAL episodes as the API does.
//
// Env:
//   TESLA_URL, TESLA_TOKEN (ADMIN), TESLA_OPERATOR_TOKEN, TESLA_VIEWER_TOKEN
//   TESLA_CRITICAL_ID, TESLA_CRITICAL_HOST, TESLA_LOW_ID, TESLA_LOW_HOST,
//   TESLA_LIVE_HOST, TESLA_CLUSTER, TESLA_RACK (what the harness opened)
//   E2E_ARTIFACTS, CHROMIUM_PATH as in e2e-lib.mjs
//
// Prints one line per check and "N passed, N failed"; exit 0 only when nothing failed.

import readline from 'node:readline';
import { createRun, sleep } from './e2e-lib.mjs';

const env = (k) => process.env[k] ?? '';
const OPERATOR = env('TESLA_OPERATOR_TOKEN');
const VIEWER = env('TESLA_VIEWER_TOKEN');
const CRITICAL_ID = env('TESLA_CRITICAL_ID');
const CRITICAL_HOST = env('TESLA_CRITICAL_HOST');
const LOW_ID = env('TESLA_LOW_ID');
const LOW_HOST = env('TESLA_LOW_HOST');
const LIVE_HOST = env('TESLA_LIVE_HOST');
const CLUSTER = env('TESLA_CLUSTER');
const RACK = env('TESLA_RACK');
const run = createRun({
  script: 'anomalies.e2e.mjs',
  usage: 'TESLA_URL=… TESLA_TOKEN=tsl_admin TESLA_OPERATOR_TOKEN=… TESLA_VIEWER_TOKEN=… TESLA_CRITICAL_ID=… … node e2e/anomalies.e2e.mjs',
  totalTimeoutMs: 180_000,
});
const { BASE, TOKEN: ADMIN, check, finish, shot } = run;
if (!OPERATOR || !VIEWER || !CRITICAL_ID || !LOW_ID || !CLUSTER) {
  console.error('TESLA_OPERATOR_TOKEN, TESLA_VIEWER_TOKEN, TESLA_CRITICAL_ID, TESLA_LOW_ID and TESLA_CLUSTER are required');
  process.exit(2);
}

// Lines from the harness on stdin ("RAISE-NOW DONE").
const lines = [];
let wake = null;
readline.createInterface({ input: process.stdin }).on('line', (l) => {
  lines.push(l.trim());
  wake?.();
});
async function ask(what, timeoutMs = 30_000) {
  console.log(what);
  const deadline = Date.now() + timeoutMs;
  while (!lines.includes(`${what} DONE`)) {
    if (Date.now() > deadline) throw new Error(`the harness did not answer ${what}`);
    await new Promise((r) => {
      wake = r;
      setTimeout(r, 500);
    });
  }
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

const total = async (filter) => (await api(ADMIN, `query($f: AnomalyFilter) { anomalies(filter: $f, first: 1) { totalCount } }`, { f: filter })).anomalies.totalCount;
const UNRESOLVED = ['OPEN', 'ACKNOWLEDGED'];
const RANK = { LOW: 1, MEDIUM: 2, HIGH: 3, CRITICAL: 4 };

const { signInAs } = run;

const text = async (loc) => ((await loc.textContent()) ?? '').trim();

/** The list's rows as {id, severity, status, host}. */
async function rows(page) {
  return page.getByTestId('anomaly-row').evaluateAll((rs) => rs.map((r) => ({ id: r.dataset.id, severity: r.dataset.severity, status: r.dataset.status, host: r.dataset.host })));
}

/** Waits until the list shows n rows and no request is in flight. */
async function waitRows(page, n, what) {
  await page
    .waitForFunction(
      (n) => document.querySelectorAll('[data-testid="anomaly-row"]').length === n && document.querySelector('[data-testid="anomalies-page"]')?.dataset.list === 'ready',
      n,
      { timeout: 15_000 },
    )
    .catch(async () => {
      throw new Error(`${what}: the page shows ${await page.getByTestId('anomaly-row').count()} rows, the API ${n}`);
    });
}

/** Clicks "load more" until the list has every page; returns how many clicks. */
async function loadAll(page) {
  let clicks = 0;
  for (;;) {
    await page.waitForFunction(() => document.querySelector('[data-testid="anomalies-page"]')?.dataset.list === 'ready', null, { timeout: 15_000 });
    const more = page.getByTestId('load-more');
    if (!(await more.count())) return clicks;
    if (++clicks > 10) throw new Error('"load more" never ends');
    const before = await page.getByTestId('anomaly-row').count();
    await more.click();
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid="anomaly-row"]').length > n, before, { timeout: 15_000 });
  }
}

/**
 * Pixels of the episode's shading (rgba(224,49,49,0.14) over white) on the
 * chart's canvas: the markArea is drawn only if the episode's span is.
 */
async function shadedPixels(page) {
  return page.getByTestId('episode-chart').evaluate((el) => {
    const c = el.querySelector('canvas');
    if (!c) return -1;
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) {
      const [r, g, b] = [d[i], d[i + 1], d[i + 2]];
      // Over white, or over the series' faint blue area: red stands out from green and blue either way.
      if (r >= 220 && g >= 190 && r - g >= 10 && r - b >= 6) n++;
    }
    return n;
  });
}

const page = await run.launch({ viewport: { width: 1440, height: 1000 } });
if (!page) process.exit(1);

try {
  // ---- OPERATOR -------------------------------------------------------------------
  await check('OPERATOR: the nav opens the page (no "coming soon")', async () => {
    await signInAs(page, OPERATOR, '/clusters', 'sign-out');
    await page.getByTestId('nav-/intelligence/anomalies').click();
    await page.getByTestId('anomalies-page').waitFor();
    if (await page.getByTestId('coming-soon').count()) throw new Error('a coming-soon panel is shown');
  });

  await check('OPERATOR: counts per severity agree with the API', async () => {
    await page.getByTestId('anomaly-row').first().waitFor();
    const want = {};
    for (const s of ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW']) want[s] = await total({ statuses: UNRESOLVED, minSeverity: s });
    const got = {};
    for (const s of ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW']) {
      await page.waitForFunction((s) => document.querySelector(`[data-testid="count-${s}"]`)?.dataset.count !== '', s);
      got[s] = Number(await page.getByTestId(`count-${s}`).getAttribute('data-count'));
    }
    const per = { CRITICAL: want.CRITICAL, HIGH: want.HIGH - want.CRITICAL, MEDIUM: want.MEDIUM - want.HIGH, LOW: want.LOW - want.MEDIUM };
    for (const s of Object.keys(per)) if (per[s] !== got[s]) throw new Error(`${s}: page ${got[s]}, API ${per[s]}`);
    if (per.CRITICAL < 1 || per.LOW < 1 || per.MEDIUM < 2) throw new Error(`the harness's episodes are missing: ${JSON.stringify(per)}`);
    return JSON.stringify(got);
  });

  await check('OPERATOR: the list is sorted by severity, the critical episode first, over every page', async () => {
    const all = await total({ statuses: UNRESOLVED });
    if (all <= 50) throw new Error(`only ${all} episodes: the harness's older LOW ones are missing`);
    await page.getByTestId('load-more').waitFor();
    const first = await page.getByTestId('anomaly-row').count();
    if (first >= all) throw new Error(`${first} rows before "load more", of ${all}`);
    if (!/Low/.test(await text(page.getByTestId('load-more')))) throw new Error(`"${await text(page.getByTestId('load-more'))}": the more severe tiers are not complete`);
    const clicks = await loadAll(page);
    await waitRows(page, all, 'unresolved');
    const rs = await rows(page);
    if (new Set(rs.map((r) => r.id)).size !== rs.length) throw new Error('a row twice');
    for (let i = 1; i < rs.length; i++) if (RANK[rs[i].severity] > RANK[rs[i - 1].severity]) throw new Error(`row ${i} (${rs[i].severity}) after ${rs[i - 1].severity}`);
    if (rs[0].id !== CRITICAL_ID || rs[0].host !== CRITICAL_HOST) throw new Error(`first row ${JSON.stringify(rs[0])}`);
    await shot(page, 'anomalies.png', { fullPage: false });
    const by = {};
    for (const r of rs) by[r.severity] = (by[r.severity] ?? 0) + 1;
    return `${first} rows, then ${rs.length} after ${clicks} "load more": ${JSON.stringify(by)}`;
  });

  await check('OPERATOR: opening the critical episode shows its series with the episode shaded, the peak and the kind', async () => {
    await page.locator(`[data-testid="anomaly-row"][data-id="${CRITICAL_ID}"] [data-testid="anomaly-open"]`).click();
    await page.getByTestId('episode').waitFor();
    if (new URL(page.url()).searchParams.get('id') !== CRITICAL_ID) throw new Error(`URL ${page.url()}`);
    await page.getByTestId('episode-chart').locator('canvas').first().waitFor({ timeout: 20_000 });
    // Without the episode's band the count is 0 (the red peak dot is too
    // dark to count). With it, how many pixels count depends on the hour: the
    // simulated CPU follows the day, and where the series' blue area lies
    // under the band the blend sits at the colour test's edge — 120 to 150
    // pixels when the host runs near 75%, several hundred when it runs low.
    const enough = 60;
    let shaded = 0;
    for (let i = 0; i < 20 && shaded < enough; i++) {
      await sleep(250);
      shaded = await shadedPixels(page);
    }
    await shot(page, 'anomaly-episode.png', { fullPage: true });
    if (shaded < enough) throw new Error(`${shaded} shaded pixels on the chart`);
    const peak = await text(page.getByTestId('episode-peak'));
    if (!/99(\.0)?%/.test(peak) || !/30(\.0)?%/.test(peak)) throw new Error(`peak "${peak}"`);
    const kind = await text(page.getByTestId('episode-kind'));
    if (kind !== 'own history') throw new Error(`kind "${kind}"`);
    if ((await page.getByTestId('episode-status').getAttribute('data-status')) !== 'OPEN') throw new Error('not shown as open');
    return `${shaded} shaded pixels; ${peak}`;
  });

  const note = `e2e: looking at ${CRITICAL_HOST} ${Date.now()}`;
  await check('OPERATOR: acknowledges it with a note; the status changes and the API confirms', async () => {
    await page.getByTestId('ack-note').fill(note);
    await page.getByTestId('ack-submit').click();
    await page.waitForFunction(() => document.querySelector('[data-testid="episode-status"]')?.dataset.status === 'ACKNOWLEDGED', null, { timeout: 15_000 });
    if ((await text(page.getByTestId('ack-note-shown'))) !== note) throw new Error('the note is not shown');
    if (await page.getByTestId('ack-form').count()) throw new Error('the form is still there');
    await page.waitForFunction((id) => document.querySelector(`[data-testid="anomaly-row"][data-id="${id}"]`)?.dataset.status === 'ACKNOWLEDGED', CRITICAL_ID);
    const d = await api(ADMIN, `query($id: ID!) { node(id: $id) { ... on Anomaly { status note acknowledgedAt acknowledgedBy { login } } } }`, { id: CRITICAL_ID });
    const a = d.node;
    if (a.status !== 'ACKNOWLEDGED' || a.note !== note || !a.acknowledgedAt || a.acknowledgedBy?.login !== 'ops') throw new Error(`API: ${JSON.stringify(a)}`);
    return `by ${a.acknowledgedBy.login}`;
  });

  await check("OPERATOR: acknowledging an episode someone acknowledged meanwhile shows the server's refusal", async () => {
    await page.locator(`[data-testid="anomaly-row"][data-id="${LOW_ID}"] [data-testid="anomaly-open"]`).click();
    await page.waitForFunction((id) => document.querySelector('[data-testid="episode"]')?.dataset.id === id, LOW_ID);
    await page.getByTestId('ack-form').waitFor();
    if ((await text(page.getByTestId('episode-kind'))) !== 'peers') throw new Error('the LOW episode is not shown as against peers');
    const d = await api(ADMIN, `mutation($id: ID!) { acknowledgeAnomaly(input: { id: $id, note: "admin has it" }) { anomaly { status } userErrors { message } } }`, { id: LOW_ID });
    if (d.acknowledgeAnomaly.anomaly?.status !== 'ACKNOWLEDGED') throw new Error(`admin acknowledgement: ${JSON.stringify(d)}`);
    await page.getByTestId('ack-note').fill('me too');
    await page.getByTestId('ack-submit').click();
    await page.getByTestId('action-error').waitFor();
    const msg = await text(page.getByTestId('action-error'));
    if (!/acknowledged|resolved|already/i.test(msg)) throw new Error(`message "${msg}"`);
    return msg;
  });

  await check("OPERATOR: the cluster's analysis names the rack onset and links to its hosts", async () => {
    await page.getByTestId('cluster-filter').selectOption(CLUSTER);
    await page.getByTestId('cluster-analysis').waitFor({ timeout: 15_000 });
    const onsets = await page.getByTestId('onset').allTextContents();
    const want = `rack ${RACK}: 3 hosts CPU from`;
    const o = page.getByTestId('onset').filter({ hasText: want });
    if (!(await o.count())) throw new Error(`onsets: ${JSON.stringify(onsets)}`);
    const hrefs = await o.first().locator('a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    if (hrefs.length !== 3 || !hrefs.includes(`/hosts/${CRITICAL_HOST}`)) throw new Error(`links ${hrefs}`);
    const clusterId = (await api(ADMIN, `query($n: String) { cluster(name: $n) { id } }`, { n: CLUSTER })).cluster.id;
    await waitRows(page, await total({ statuses: UNRESOLVED, clusterId }), 'cluster filter');
    const rs = await rows(page);
    await shot(page, 'anomalies-cluster.png', { fullPage: true });
    return `${onsets.length} onsets; ${rs.length} rows in ${CLUSTER}`;
  });

  await check('OPERATOR: status, severity and metric filters narrow the list as the API does', async () => {
    await page.getByTestId('cluster-filter').selectOption('');
    await page.getByTestId('severity-filter').selectOption('CRITICAL');
    await waitRows(page, await total({ statuses: UNRESOLVED, minSeverity: 'CRITICAL' }), 'critical');
    await page.getByTestId('severity-filter').selectOption('');
    await page.getByTestId('status-filter').selectOption('OPEN');
    await page.waitForFunction(() => new URL(location.href).searchParams.get('status') === 'OPEN');
    await loadAll(page);
    await waitRows(page, await total({ statuses: ['OPEN'] }), 'open');
    if ((await rows(page)).some((r) => r.status !== 'OPEN')) throw new Error('a row that is not open');
    await page.getByTestId('metric-filter').selectOption('MEMORY');
    await waitRows(page, await total({ statuses: ['OPEN'], metric: 'MEMORY' }), 'open memory');
    await page.reload();
    await waitRows(page, await total({ statuses: ['OPEN'], metric: 'MEMORY' }), 'after a reload');
    await page.getByTestId('metric-filter').selectOption('');
    await page.getByTestId('status-filter').selectOption('');
    await page.waitForFunction(() => !new URL(location.href).searchParams.get('status'));
    await loadAll(page);
    await waitRows(page, await total({ statuses: UNRESOLVED }), 'unresolved again');
  });

  await check('OPERATOR: a new episode arrives live, without a reload', async () => {
    await page.waitForFunction(() => document.querySelector('[data-testid="anomalies-live"]')?.dataset.status === 'live', null, { timeout: 20_000 });
    const before = await page.getByTestId('anomaly-row').count();
    await page.evaluate(() => (window.__e2eNoReload = true));
    await ask('RAISE-NOW');
    await page.locator(`[data-testid="anomaly-row"][data-host="${LIVE_HOST}"]`).waitFor({ timeout: 20_000 });
    if (!(await page.evaluate(() => window.__e2eNoReload === true))) throw new Error('the page reloaded');
    await page.waitForFunction(() => document.querySelector('[data-testid="anomalies-page"]')?.dataset.list === 'ready');
    const after = await page.getByTestId('anomaly-row').count();
    if (after !== before + 1) throw new Error(`${before} rows before, ${after} after`);
    const rs = await rows(page);
    if (new Set(rs.map((r) => r.id)).size !== rs.length) throw new Error('a row twice');
    for (let i = 1; i < rs.length; i++) if (RANK[rs[i].severity] > RANK[rs[i - 1].severity]) throw new Error(`row ${i} (${rs[i].severity}) after ${rs[i - 1].severity}`);
    return `${LIVE_HOST} listed`;
  });

  // ---- VIEWER -----------------------------------------------------------------------
  await check('VIEWER: sees the episodes but no Acknowledge button', async () => {
    await signInAs(page, VIEWER, '/intelligence/anomalies?status=OPEN', 'anomalies-page');
    const open = await api(ADMIN, `{ anomalies(filter: { statuses: [OPEN] }, first: 1) { nodes { id } } }`);
    const id = open.anomalies.nodes[0]?.id;
    if (!id) throw new Error('no open episode left');
    await page.locator(`[data-testid="anomaly-row"][data-id="${id}"] [data-testid="anomaly-open"]`).click();
    await page.waitForFunction((id) => document.querySelector('[data-testid="episode"]')?.dataset.id === id, id);
    await page.getByTestId('episode-chart').waitFor();
    if (await page.getByTestId('ack-form').count()) throw new Error('a viewer sees the Acknowledge form');
    if (await page.getByTestId('ack-submit').count()) throw new Error('a viewer sees the Acknowledge button');
  });

  await check('VIEWER: the host page lists its anomalies and links to the page filtered to the host', async () => {
    await page.goto(`${BASE}/hosts/${encodeURIComponent(LOW_HOST)}`);
    await page.getByTestId('host-anomalies').waitFor({ timeout: 20_000 });
    await page.getByTestId('host-anomaly-link').first().click();
    await page.getByTestId('anomalies-page').waitFor();
    await page.getByTestId('host-filter').waitFor();
    await page.waitForFunction((id) => document.querySelector('[data-testid="episode"]')?.dataset.id === id, LOW_ID);
    const hostId = (await api(ADMIN, `query($h: String) { host(hostname: $h) { id } }`, { h: LOW_HOST })).host.id;
    await waitRows(page, await total({ statuses: UNRESOLVED, hostId }), 'host filter');
    if ((await rows(page)).some((r) => r.host !== LOW_HOST)) throw new Error('a row of another host');
  });

  // ---- the big screen -------------------------------------------------------------
  await check('the big screen counts the open HIGH and CRITICAL episodes', async () => {
    const want = await total({ statuses: ['OPEN'], minSeverity: 'HIGH' });
    if (want < 1) throw new Error('no open severe episode (the live one should be)');
    await page.goto(`${BASE}/screen`);
    await page.getByTestId('screen-anomalies').waitFor({ timeout: 20_000 });
    await page.waitForFunction((n) => document.querySelector('[data-testid="screen-anomalies"]')?.dataset.count === String(n), want, { timeout: 20_000 }).catch(async () => {
      throw new Error(`screen shows ${await page.getByTestId('screen-anomalies').getAttribute('data-count')}, API ${want}`);
    });
    const listed = await page.getByTestId('screen-anomaly').allTextContents();
    if (!listed.some((t) => t.includes(LIVE_HOST.replace(/\.dc\.example$/, '')))) throw new Error(`listed: ${listed}`);
    const dims = await page.evaluate(() => ({ w: document.documentElement.scrollWidth, h: document.documentElement.scrollHeight }));
    await page.setViewportSize({ width: 1920, height: 1080 });
    await sleep(500);
    await shot(page, 'screen-anomalies.png');
    return `${want} open severe; page ${dims.w}×${dims.h}`;
  });
} catch (err) {
  run.report(false, 'unexpected error', String(err?.message ?? err));
}
finish();
