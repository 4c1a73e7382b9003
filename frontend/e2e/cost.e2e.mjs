#!/usr/bin/env node
// cost.e2e.mjs — the Cost page in Chromium against a real server whose seeded
// history is billed:
//   ADMIN   sees the platform's cost by cluster and BU (charts and tables),
//           the idle cost, the storage cost (TB-days of sized datasets) and
//           the rate cards with their storage price; an overlapping card is refused
//           with the server's message on the page; a new card for one
//           cluster is added and shows in the table and in the API;
//   VIEWER  sees the page and the rate cards, but no form and no delete
//           buttons; their CSV export of another BU is refused (403).
//
// Env:
//   TESLA_URL           base URL (required)
//   TESLA_TOKEN         an ADMIN token (required)
//   TESLA_VIEWER_TOKEN  a VIEWER token (required)
//   TESLA_OTHER_BU      the database id of a BU that is not the viewer's (required)
//   E2E_ARTIFACTS, CHROMIUM_PATH as in e2e-lib.mjs
//
// Prints one line per check and "N passed, N failed"; exit 0 only when nothing failed.

import { createRun } from './e2e-lib.mjs';

const VIEWER = process.env.TESLA_VIEWER_TOKEN ?? '';
const OTHER_BU = process.env.TESLA_OTHER_BU ?? '';
const run = createRun({
  script: 'cost.e2e.mjs',
  usage: 'TESLA_URL=… TESLA_TOKEN=tsl_admin TESLA_VIEWER_TOKEN=tsl_… TESLA_OTHER_BU=3 node e2e/cost.e2e.mjs',
  totalTimeoutMs: 120_000,
});
const { BASE, TOKEN: ADMIN, check, finish, shot } = run;
if (!VIEWER || !OTHER_BU) {
  console.error('TESLA_VIEWER_TOKEN and TESLA_OTHER_BU are required');
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

const { signInAs } = run;

const text = async (loc) => ((await loc.textContent()) ?? '').trim();

const page = await run.launch({ viewport: { width: 1440, height: 1200 } });
if (!page) process.exit(1);

try {
  await check('ADMIN: platform cost by cluster and BU, with idle cost', async () => {
    await signInAs(page, ADMIN, '/cost', 'cost-page');
    await page.getByTestId('cost-by-cluster').waitFor();
    const total = await text(page.getByTestId('cost-total'));
    if (!/[1-9]/.test(total)) throw new Error(`total ${total}`);
    const idle = await text(page.getByTestId('cost-idle'));
    await page.getByTestId('cost-by-cluster-chart').waitFor();
    await page.getByTestId('cost-by-bu-chart').waitFor();
    const clusters = await page.locator('[data-testid="cost-by-cluster"] [data-testid="cost-line"]').count();
    const bus = await page.locator('[data-testid="cost-by-bu"] [data-testid="cost-line"]').count();
    if (!clusters || !bus) throw new Error(`${clusters} cluster lines, ${bus} BU lines`);
    const href = await page.getByTestId('csv-bu').getAttribute('href');
    if (!href?.startsWith('/api/v1/bills.csv?') || !href.includes('groupBy=BU')) throw new Error(`csv link ${href}`);
    await shot(page, 'cost.png', { fullPage: true });
    return `${total}; idle ${idle}; ${clusters} clusters, ${bus} BUs`;
  });

  await check('ADMIN: storage is priced: its cost, its column in the tables and on the rate cards', async () => {
    const storage = await text(page.getByTestId('cost-storage'));
    if (!/[1-9].*TB-days/.test(storage)) throw new Error(`storage stat ${storage}`);
    const head = await page.locator('[data-testid="cost-by-cluster"] thead th').allTextContents();
    if (!head.includes('Storage')) throw new Error(`cluster table columns ${head}`);
    await page.getByTestId('rate-card-storage-head').waitFor();
    const prices = await page.getByTestId('rate-card-storage-price').allTextContents();
    if (!prices.some((p) => Number(p) > 0)) throw new Error(`storage prices ${prices}`);
    return `${storage.replace(/\s+/g, ' ')}; card prices ${prices.join(', ')}`;
  });

  await check('ADMIN: an overlapping rate card is refused with the server message', async () => {
    const before = await page.getByTestId('rate-card').count();
    if (before < 3) throw new Error(`${before} rate cards`);
    await page.getByTestId('rate-card-target').selectOption('kind:BATCH');
    await page.getByTestId('rate-card-from').fill('2030-01-01');
    await page.getByTestId('rate-card-core').fill('0.05');
    await page.getByTestId('rate-card-memory').fill('0.006');
    await page.getByTestId('rate-card-save').click();
    await page.getByTestId('action-error').waitFor();
    const msg = await text(page.getByTestId('action-error'));
    if (!/overlaps rate card/.test(msg)) throw new Error(msg);
    return msg;
  });

  await check('ADMIN: adds a rate card for one cluster', async () => {
    const before = await page.getByTestId('rate-card').count();
    const options = await page.getByTestId('rate-card-target').locator('option').allTextContents();
    const cluster = options.find((o) => o.startsWith('cluster '));
    if (!cluster) throw new Error(`no cluster to choose: ${options}`);
    await page.getByTestId('rate-card-target').selectOption({ label: cluster });
    await page.getByTestId('rate-card-from').fill('2030-01-01');
    await page.getByTestId('rate-card-to').fill('2031-01-01');
    await page.getByTestId('rate-card-core').fill('0.123456');
    await page.getByTestId('rate-card-memory').fill('0.01');
    await page.getByTestId('rate-card-overhead').fill('2500');
    await page.getByTestId('rate-card-storage').fill('0.9');
    await page.getByTestId('rate-card-save').click();
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid="rate-card"]').length === n + 1, before, { timeout: 10_000 });
    if (await page.getByTestId('action-error').count()) throw new Error(await text(page.getByTestId('action-error')));
    const body = await api(ADMIN, '{ rateCards { coreHour storageTbDay cluster { name } } }');
    const added = body.data.rateCards.find((c) => c.coreHour === '0.123456');
    if (!added || `cluster ${added.cluster?.name}` !== cluster || added.storageTbDay !== '0.9') throw new Error(JSON.stringify(body));
    const shown = await page.getByTestId('rate-card-storage-price').allTextContents();
    if (!shown.includes('0.9')) throw new Error(`storage prices shown ${shown}`);
    await shot(page, 'cost-rate-cards.png', { fullPage: true });
    return `${cluster}: ${added.coreHour} per core-hour, ${added.storageTbDay} per TB-day`;
  });

  await check('VIEWER: sees the page and the cards, but no form', async () => {
    await signInAs(page, VIEWER, '/cost', 'cost-page');
    await page.getByTestId('rate-cards').waitFor();
    if (await page.getByTestId('rate-card-form').count()) throw new Error('the rate card form is shown to a viewer');
    if (await page.getByTestId('rate-card-delete').count()) throw new Error('delete buttons shown to a viewer');
    return `${await page.getByTestId('rate-card').count()} rate cards, read-only`;
  });

  await check("VIEWER: the CSV export of another BU is refused", async () => {
    const res = await fetch(`${BASE}/api/v1/bills.csv?groupBy=BU&unit=MONTH&start=2026-11-01&bu=${OTHER_BU}`, {
      headers: { authorization: `Bearer ${VIEWER}` },
    });
    if (res.status !== 403) throw new Error(`status ${res.status}: ${await res.text()}`);
    return '403';
  });
} catch (err) {
  run.report(false, 'the run', String(err?.message ?? err).split('\n')[0]);
}
finish();
