#!/usr/bin/env node
// actions.e2e.mjs — the actions on the screens, in Chromium against a real
// server, each checked in the browser and then against the API:
//   OPERATOR  puts three hosts into maintenance from the cluster's host table,
//             brings one back on its host page, and sees the server refuse to
//             bring a decommissioned host back (its message on the page);
//   VIEWER    sees none of those controls, nor the threshold editor;
//   ADMIN     changes a kind's threshold (a refused value shows the server's
//             message), creates a token whose secret is shown once, and revokes it.
//
// Env:
//   TESLA_URL             base URL (required)
//   TESLA_TOKEN           an ADMIN token (required)
//   TESLA_OPERATOR_TOKEN  an OPERATOR token (required)
//   TESLA_VIEWER_TOKEN    a VIEWER token (required)
//   TESLA_CLUSTER         a cluster with ONLINE hosts (required)
//   E2E_ARTIFACTS, CHROMIUM_PATH as in e2e-lib.mjs
//
// Prints one line per check and "N passed, N failed"; exit 0 only when nothing failed.

import { createRun } from './e2e-lib.mjs';

const OPERATOR = process.env.TESLA_OPERATOR_TOKEN ?? '';
const VIEWER = process.env.TESLA_VIEWER_TOKEN ?? '';
const CLUSTER = process.env.TESLA_CLUSTER ?? '';
const run = createRun({
  script: 'actions.e2e.mjs',
  usage: 'TESLA_URL=… TESLA_TOKEN=tsl_admin TESLA_OPERATOR_TOKEN=tsl_… TESLA_VIEWER_TOKEN=tsl_… TESLA_CLUSTER=name node e2e/actions.e2e.mjs',
  totalTimeoutMs: 150_000,
});
const { BASE, TOKEN: ADMIN, check, finish, shot } = run;
if (!OPERATOR || !VIEWER || !CLUSTER) {
  console.error('TESLA_OPERATOR_TOKEN, TESLA_VIEWER_TOKEN and TESLA_CLUSTER are required');
  process.exit(2);
}

/** A GraphQL request with a bearer token, outside the browser (setup and verification). */
async function api(token, query, variables = {}) {
  const res = await fetch(`${BASE}/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return res.json();
}

async function hostsIn(state, first) {
  const body = await api(
    ADMIN,
    `query($f: HostFilter, $n: Int) { hosts(first: $n, filter: $f, orderBy: { field: HOSTNAME }) { nodes { id hostname state stateReason } } }`,
    { f: { clusterName: CLUSTER, state }, n: first },
  );
  return body.data.hosts.nodes;
}

async function hostByName(hostname) {
  const body = await api(ADMIN, `query($h: String!) { host(hostname: $h) { state stateReason } }`, { h: hostname });
  return body.data.host;
}

const { signInAs } = run;

const text = async (loc) => ((await loc.textContent()) ?? '').trim();

const page = await run.launch({ viewport: { width: 1440, height: 1000 } });
if (!page) process.exit(1);

try {
  // ---- OPERATOR -------------------------------------------------------------
  const online = await hostsIn('ONLINE', 3);
  const picked = online.map((h) => h.hostname);

  await check('OPERATOR: the cluster host table offers selection', async () => {
    await signInAs(page, OPERATOR, `/clusters/${encodeURIComponent(CLUSTER)}?state=ONLINE`, 'hosts-table');
    await page.getByTestId('bulk-bar').waitFor();
    const boxes = await page.getByTestId('host-select').count();
    if (!boxes) throw new Error('no row checkboxes');
    return `${boxes} rows selectable`;
  });

  await check('OPERATOR: three hosts into maintenance at once, with a reason', async () => {
    if (picked.length !== 3) throw new Error(`only ${picked.length} online hosts in ${CLUSTER}`);
    for (const h of picked) await page.locator(`[data-testid="host-row"][data-hostname="${h}"] [data-testid="host-select"]`).check();
    if ((await text(page.getByTestId('selected-count'))) !== '3 selected') throw new Error(await text(page.getByTestId('selected-count')));
    await page.getByTestId('host-state-select').selectOption('MAINTENANCE');
    await page.getByTestId('host-state-reason').fill('e2e: rack power work');
    await page.getByTestId('host-state-apply').click();
    await page.getByTestId('action-ok').waitFor();
    const msg = await text(page.getByTestId('action-ok'));
    if (!/3 hosts set to Maintenance/.test(msg)) throw new Error(msg);
    if ((await text(page.getByTestId('selected-count'))) !== 'Select hosts to change their state') throw new Error('the selection was not cleared');
    // The list is filtered to ONLINE: the cache drops it after the change and the hosts leave it.
    for (const h of picked) await page.locator(`[data-testid="host-row"][data-hostname="${h}"]`).waitFor({ state: 'detached' });
    for (const h of picked) {
      const now = await hostByName(h);
      if (now.state !== 'MAINTENANCE' || now.stateReason !== 'e2e: rack power work') throw new Error(`${h} is ${now.state} (${now.stateReason})`);
    }
    return msg;
  });

  await check('OPERATOR: the table shows them in maintenance with the reason', async () => {
    await page.goto(`${BASE}/clusters/${encodeURIComponent(CLUSTER)}?state=MAINTENANCE`);
    for (const h of picked) {
      const row = page.locator(`[data-testid="host-row"][data-hostname="${h}"]`);
      await row.waitFor();
      const state = await text(row.getByTestId('host-state'));
      if (!state.includes('Maintenance') || !state.includes('e2e: rack power work')) throw new Error(`${h}: ${state}`);
    }
    await shot(page, 'cluster-maintenance.png', { fullPage: false });
  });

  await check('OPERATOR: one host back to service from its page', async () => {
    await page.goto(`${BASE}/hosts/${encodeURIComponent(picked[0])}`);
    await page.getByTestId('host-state-form').waitFor();
    await page.getByTestId('host-state-select').selectOption('ONLINE');
    await page.getByTestId('host-state-reason').fill('e2e: work done');
    await page.getByTestId('host-state-apply').click();
    await page.getByTestId('action-ok').waitFor();
    await page.locator('.page-title .badge', { hasText: 'Online' }).waitFor();
    const now = await hostByName(picked[0]);
    if (now.state !== 'ONLINE') throw new Error(`state is ${now.state}`);
    await shot(page, 'host-state.png', { fullPage: false });
    return await text(page.getByTestId('action-ok'));
  });

  await check("OPERATOR: a refused change shows the server's message", async () => {
    const gone = await hostsIn('DECOMMISSIONED', 1);
    let hostname = gone[0]?.hostname;
    if (!hostname) {
      // Make one: the admin decommissions the last online host picked above.
      hostname = picked[2];
      const body = await api(ADMIN, `mutation($i: SetHostStateInput!) { setHostState(input: $i) { userErrors { message } } }`, {
        i: { hostId: online[2].id, state: 'DECOMMISSIONED', reason: 'e2e' },
      });
      if (body.errors || body.data.setHostState.userErrors.length) throw new Error(JSON.stringify(body));
    }
    await page.goto(`${BASE}/hosts/${encodeURIComponent(hostname)}`);
    await page.getByTestId('host-state-form').waitFor();
    await page.getByTestId('host-state-select').selectOption('ONLINE');
    await page.getByTestId('host-state-apply').click();
    await page.getByTestId('action-error').waitFor();
    const msg = await text(page.getByTestId('action-error'));
    if (!/decommissioned; it cannot return to service/.test(msg)) throw new Error(msg);
    if ((await hostByName(hostname)).state !== 'DECOMMISSIONED') throw new Error('the host changed state');
    await shot(page, 'host-refused.png', { fullPage: false });
    return msg;
  });

  await check('OPERATOR: no threshold editor (ADMIN only)', async () => {
    await page.goto(`${BASE}/platform/watermarks`);
    await page.getByTestId('threshold').first().waitFor();
    if (await page.getByTestId('threshold-edit').count()) throw new Error('an operator sees "Change"');
  });

  // ---- VIEWER ---------------------------------------------------------------
  await check('VIEWER: no host selection or state controls', async () => {
    await signInAs(page, VIEWER, `/clusters/${encodeURIComponent(CLUSTER)}`, 'hosts-table');
    await page.getByTestId('host-row').first().waitFor();
    if (await page.getByTestId('bulk-bar').count()) throw new Error('bulk bar shown');
    if (await page.getByTestId('host-select').count()) throw new Error('row checkboxes shown');
    await page.goto(`${BASE}/hosts/${encodeURIComponent(picked[1])}`);
    await page.getByTestId('hardware-facts').waitFor();
    if (await page.getByTestId('host-state-form').count()) throw new Error('state form shown');
  });

  await check('VIEWER: thresholds shown without "Change"', async () => {
    await page.goto(`${BASE}/platform/watermarks`);
    await page.getByTestId('threshold').first().waitFor();
    const n = await page.getByTestId('threshold').count();
    if (await page.getByTestId('threshold-edit').count()) throw new Error('a viewer sees "Change"');
    return `${n} thresholds`;
  });

  await check('VIEWER: a new token can only carry VIEWER', async () => {
    await page.goto(`${BASE}/tokens`);
    await page.getByTestId('token-form').waitFor();
    const roles = await page.getByTestId('token-role').locator('option').allTextContents();
    if (roles.join(',') !== 'Viewer') throw new Error(roles.join(','));
  });

  // ---- ADMIN ----------------------------------------------------------------
  const batch = page.locator('[data-testid="threshold"][data-kind="BATCH"]');
  await check("ADMIN: a threshold out of range is refused with the server's message", async () => {
    await signInAs(page, ADMIN, '/platform/watermarks', 'watermarks-page');
    await batch.getByTestId('threshold-edit').click();
    await batch.getByTestId('threshold-input').fill('150');
    await batch.getByTestId('threshold-save').click();
    await batch.getByTestId('action-error').waitFor();
    const msg = await text(batch.getByTestId('action-error'));
    if (!/at most 1/.test(msg)) throw new Error(msg);
    return msg;
  });

  await check('ADMIN: the BATCH threshold changes to 80%', async () => {
    await batch.getByTestId('threshold-input').fill('80');
    await batch.getByTestId('threshold-save').click();
    await batch.getByTestId('threshold-value').waitFor();
    // The payload carries the new value: shown at once, not after a refetch.
    const shown = await text(batch.getByTestId('threshold-value'));
    if (shown !== '80%') throw new Error(`shows ${shown}`);
    const body = await api(ADMIN, '{ watermarkThresholds { kind threshold } }');
    const t = body.data.watermarkThresholds.find((x) => x.kind === 'BATCH');
    if (Math.abs(t.threshold - 0.8) > 1e-9) throw new Error(`server has ${t.threshold}`);
    await batch.scrollIntoViewIfNeeded();
    await shot(page, 'thresholds.png', { fullPage: false });
  });

  let secret = '';
  await check('ADMIN: a refused token shows the server message', async () => {
    await page.goto(`${BASE}/tokens`);
    await page.getByTestId('token-form').waitFor();
    await page.getByTestId('token-name').fill('x'.repeat(101));
    await page.getByTestId('token-create').click();
    await page.getByTestId('action-error').waitFor();
    const msg = await text(page.getByTestId('action-error'));
    if (!/limited to 100 characters/.test(msg)) throw new Error(msg);
    return msg;
  });

  await check('ADMIN: create a token; its secret is shown once and works', async () => {
    await page.getByTestId('token-name').fill('e2e-laptop');
    await page.getByTestId('token-role').selectOption('VIEWER');
    await page.getByTestId('token-create').click();
    await page.getByTestId('token-secret').waitFor();
    secret = await text(page.getByTestId('token-secret'));
    if (!secret.startsWith('tsl_')) throw new Error(`secret ${secret.slice(0, 6)}…`);
    await page.locator('[data-testid="token-row"][data-name="e2e-laptop"][data-status="ACTIVE"]').waitFor();
    const me = await api(secret, '{ me { role person { login } } }');
    if (me.data?.me.role !== 'VIEWER') throw new Error(JSON.stringify(me));
    await shot(page, 'tokens.png', { fullPage: false });
    return `${me.data.me.person.login} as VIEWER`;
  });

  await check('ADMIN: the secret is gone once dismissed, and after a reload', async () => {
    await page.getByTestId('token-secret-done').click();
    if (await page.getByTestId('token-secret').count()) throw new Error('still shown');
    await page.reload();
    await page.locator('[data-testid="token-row"][data-name="e2e-laptop"]').waitFor();
    if ((await page.content()).includes(secret)) throw new Error('the secret is on the page again');
  });

  await check('ADMIN: revoke the token; it stops working', async () => {
    const row = page.locator('[data-testid="token-row"][data-name="e2e-laptop"]');
    await row.getByTestId('token-revoke').click();
    await row.getByTestId('token-revoke-confirm').click();
    await page.locator('[data-testid="token-row"][data-name="e2e-laptop"][data-status="REVOKED"]').waitFor();
    const me = await api(secret, '{ me { role } }');
    const code = me.errors?.[0]?.extensions?.code;
    if (code !== 'UNAUTHENTICATED') throw new Error(JSON.stringify(me));
    return 'UNAUTHENTICATED with the revoked secret';
  });
} catch (err) {
  run.report(false, 'the run', String(err?.message ?? err).split('\n')[0]);
}
finish();
