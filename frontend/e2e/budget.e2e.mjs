#!/usr/bin/env node
// budget.e2e.mjs — budgets, bills, health and standing in the business centres,
// in Chromium against a real server whose seeded history is billed, scored and
// ranked:
//   BU_ADMIN  sets their BU's budget on the BU centre; it persists (shown again
//             after a reload, and in the API); a bad amount is refused with the
//             server's message in the form, and so is a budget for a person
//             outside the BU forced into the form; the BU's bills by person,
//             job and cluster, its health and its leaderboard standing are shown;
//   VIEWER    sees no edit button on the BU centre, and the same change forced
//             through /query with their session is refused by the server; on
//             the Personal centre sees their bill by job, health score with
//             components and standing with real figures, and sets their own
//             budget, drawn with its forecast.
//
// Env:
//   TESLA_URL           base URL (required)
//   TESLA_TOKEN         an ADMIN token (required)
//   TESLA_BU_TOKEN      a BU_ADMIN token (required)
//   TESLA_VIEWER_TOKEN  a VIEWER token (required)
//   E2E_ARTIFACTS, CHROMIUM_PATH as in e2e-lib.mjs
//
// Prints one line per check and "N passed, N failed"; exit 0 only when nothing failed.

import { createRun } from './e2e-lib.mjs';

const BU_TOKEN = process.env.TESLA_BU_TOKEN ?? '';
const VIEWER = process.env.TESLA_VIEWER_TOKEN ?? '';
const run = createRun({
  script: 'budget.e2e.mjs',
  usage: 'TESLA_URL=… TESLA_TOKEN=tsl_admin TESLA_BU_TOKEN=tsl_… TESLA_VIEWER_TOKEN=tsl_… node e2e/budget.e2e.mjs',
  totalTimeoutMs: 150_000,
});
const { BASE, TOKEN, check, finish, shot, signInAs } = run;
if (!BU_TOKEN || !VIEWER) {
  console.error('TESLA_BU_TOKEN and TESLA_VIEWER_TOKEN are required');
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
/** A figure as shown ("1,234.50 USD") as a number. */
const figure = (s) => Number(String(s).replace(/[^0-9.-]/g, ''));

const AMOUNT = '4321.50';

/** Waits until the budget panel `testId` shows an amount equal to `amount`. */
async function waitAmount(page, testId, amount) {
  await page.waitForFunction(
    ([id, want]) => Number(document.querySelector(`[data-testid="${id}"]`)?.getAttribute('data-amount') || NaN) === want,
    [testId, Number(amount)],
    { timeout: 10_000 },
  );
}

const page = await run.launch({ viewport: { width: 1440, height: 1400 } });
if (!page) process.exit(1);

try {
  await check('BU_ADMIN: sets the BU budget on the BU centre', async () => {
    await signInAs(page, BU_TOKEN, '/bu', 'bu-page');
    await page.getByTestId('bu-budget').waitFor();
    await page.getByTestId('budget-edit').click();
    await page.getByTestId('budget-form').waitFor();
    await page.getByTestId('budget-amount').fill(AMOUNT);
    await page.getByTestId('budget-thresholds').fill('50, 90, 100');
    await page.getByTestId('budget-save').click();
    await waitAmount(page, 'bu-budget', AMOUNT);
    if (await page.getByTestId('budget-error').count()) throw new Error(await text(page.getByTestId('budget-error')));
    await page.getByTestId('budget-chart').waitFor();
    const spend = await text(page.getByTestId('budget-spend'));
    return `amount ${AMOUNT}; ${spend}`;
  });

  await check('BU_ADMIN: the budget persists (after a reload and in the API)', async () => {
    await page.reload();
    await page.getByTestId('bu-budget').waitFor();
    await waitAmount(page, 'bu-budget', AMOUNT);
    const forecast = await text(page.getByTestId('budget-forecast'));
    const body = await api(BU_TOKEN, '{ me { person { bu { budget { amount thresholds editable } } } } }');
    const b = body.data?.me.person.bu.budget;
    if (!b || Number(b.amount) !== Number(AMOUNT) || b.thresholds.join(',') !== '50,90,100' || !b.editable) throw new Error(JSON.stringify(body));
    await shot(page, 'budget-bu.png', { fullPage: true });
    return `forecast ${forecast}`;
  });

  await check("BU_ADMIN: a bad amount is refused with the server's message", async () => {
    await page.getByTestId('budget-edit').click();
    await page.getByTestId('budget-amount').fill('-5');
    await page.getByTestId('budget-save').click();
    await page.getByTestId('budget-error').waitFor();
    const msg = await text(page.getByTestId('budget-error'));
    if (!/amount/i.test(msg)) throw new Error(msg);
    await waitAmount(page, 'bu-budget', AMOUNT);
    return msg;
  });

  await check("BU_ADMIN: a budget for a person outside the BU, forced into the form, is refused with the server's message", async () => {
    const admin = await api(TOKEN, '{ me { person { id name bu { name } } } }');
    const outsider = admin.data?.me.person;
    if (!outsider) throw new Error(JSON.stringify(admin));
    // An option put into the select, as a crafted request would.
    const select = page.getByTestId('person-budget-person');
    await select.evaluate((el, o) => {
      const opt = document.createElement('option');
      opt.value = o.id;
      opt.textContent = o.name;
      el.appendChild(opt);
    }, outsider);
    await select.selectOption(outsider.id);
    const form = page.getByTestId('new-person-budget-form');
    await form.getByTestId('budget-amount').fill('100');
    await form.getByTestId('budget-save').click();
    await form.getByTestId('budget-error').waitFor();
    const msg = await text(form.getByTestId('budget-error'));
    const after = await api(TOKEN, 'query ($id: ID!) { person(id: $id) { budget { id } } }', { id: outsider.id });
    if (after.data?.person?.budget) throw new Error(`a budget was set: ${JSON.stringify(after)}`);
    await shot(page, 'budget-refused.png', { fullPage: true });
    return `${outsider.name} (${outsider.bu.name}): ${msg}`;
  });

  await check("BU_ADMIN: the BU's bills, health and standing", async () => {
    await page.getByTestId('bu-bill-person').waitFor();
    const total = await text(page.getByTestId('bu-bill-total'));
    if (!(figure(total) > 0)) throw new Error(`bill total ${total}`);
    const lines = await page.locator('[data-testid="bu-bill-line"]').count();
    await page.getByTestId('bu-health').waitFor();
    await page.getByTestId('bu-standing').waitFor();
    const standing = await page.locator('[data-testid="bu-standing"] [data-testid="standing-row"]').count();
    if (!standing) throw new Error('no standing rows');
    return `${total}; ${lines} bill lines; ${standing} metrics`;
  });

  await check('VIEWER: no edit button on the BU centre', async () => {
    await signInAs(page, VIEWER, '/bu', 'bu-page');
    await page.getByTestId('bu-budget').waitFor();
    await page.getByTestId('bu-readonly').waitFor();
    for (const id of ['budget-edit', 'child-budget-edit', 'person-budget-edit', 'person-budget-new']) {
      if (await page.getByTestId(id).count()) throw new Error(`${id} shown to a viewer`);
    }
    return 'read-only';
  });

  await check("VIEWER: the change forced through /query is refused by the server", async () => {
    const me = await api(VIEWER, '{ me { person { bu { id } } } }');
    const bu = me.data?.me.person.bu.id;
    if (!bu) throw new Error(JSON.stringify(me));
    // Sent as the app sends mutations: the session cookie and the CSRF header.
    const body = await page.evaluate(async (buId) => {
      const csrf = decodeURIComponent((document.cookie.split('; ').find((c) => c.startsWith('tesla_csrf=')) ?? '').slice('tesla_csrf='.length));
      const res = await fetch('/query', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'X-CSRF-Token': csrf },
        body: JSON.stringify({
          query: 'mutation ($input: UpsertBudgetInput!) { upsertBudget(input: $input) { budget { id } userErrors { message code } } }',
          variables: { input: { bu: buId, amount: '1' } },
        }),
      });
      return res.json();
    }, bu);
    const refused = body.errors?.[0] ?? body.data?.upsertBudget?.userErrors?.[0];
    if (!refused || body.data?.upsertBudget?.budget) throw new Error(`not refused: ${JSON.stringify(body)}`);
    const code = refused.extensions?.code ?? refused.code;
    if (!/FORBIDDEN/.test(code ?? '')) throw new Error(JSON.stringify(refused));
    const after = await api(BU_TOKEN, '{ me { person { bu { budget { amount } } } } }');
    return `${code}: ${refused.message}; BU_ADMIN's budget ${after.data?.me.person.bu.budget?.amount ?? 'n/a'}`;
  });

  await check('VIEWER: the Personal centre shows their bill, health and standing', async () => {
    await page.goto(`${BASE}/personal`);
    await page.getByTestId('personal-page').waitFor();
    await page.getByTestId('my-bill').waitFor();
    const total = await text(page.getByTestId('my-bill-total'));
    if (!(figure(total) > 0)) throw new Error(`bill total ${total}`);
    const lines = await page.locator('[data-testid="my-bill-line"]').count();
    await page.getByTestId('my-health').waitFor();
    const score = await page.locator('[data-testid="my-health"]').locator('xpath=ancestor::section').getByTestId('health-badge').getAttribute('data-score');
    const components = await page.locator('[data-testid="my-health"] [data-testid="health-component"]').count();
    if (!score || !components) throw new Error(`health score ${score}, ${components} components`);
    await page.getByTestId('my-standing').waitFor();
    const standing = await page.locator('[data-testid="my-standing"] [data-testid="standing-row"]').count();
    if (!standing) throw new Error('no standing rows');
    return `${total} over ${lines} jobs; health ${score} (${components} components); ${standing} metrics`;
  });

  await check('VIEWER: sets their own budget, drawn with its forecast', async () => {
    await page.getByTestId('my-budget').waitFor();
    await page.getByTestId('budget-edit').click();
    await page.getByTestId('budget-amount').fill('250');
    await page.getByTestId('budget-save').click();
    await waitAmount(page, 'my-budget', '250');
    await page.getByTestId('budget-chart').waitFor();
    const spend = await text(page.getByTestId('budget-spend'));
    const runsOut = await text(page.getByTestId('budget-runs-out'));
    await shot(page, 'budget-personal.png', { fullPage: true });
    return `${spend}; runs out ${runsOut}`;
  });
} catch (err) {
  run.report(false, 'the run', String(err?.message ?? err).split('\n')[0]);
}
finish();
