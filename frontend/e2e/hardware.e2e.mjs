#!/usr/bin/env node
// hardware.e2e.mjs — the Hardware page (Tools → Hardware) in Chromium against a
// real server, each step checked in the browser and then against the API:
//   setup     an operator reports faults on two ONLINE hosts and opens a
//             repair ticket for each (through the API);
//   OPERATOR  sees the open tickets, the failure-rate charts and the hosts to
//             replace; starts the repair of one ticket (its host REPAIRING), is
//             then offered only Resolve or Replace, resolves it with a note
//             (host back ONLINE, ticket closed and gone from the list); the
//             host's machine page shows its fault history;
//   VIEWER    sees the same tickets and charts, and no button to move them.
//
// Env:
//   TESLA_URL             base URL (required)
//   TESLA_TOKEN           an ADMIN token (required)
//   TESLA_OPERATOR_TOKEN  an OPERATOR token (required)
//   TESLA_VIEWER_TOKEN    a VIEWER token (required)
//   E2E_ARTIFACTS, CHROMIUM_PATH as in e2e-lib.mjs
//
// Prints one line per check and "N passed, N failed"; exit 0 only when nothing failed.

import { createRun } from './e2e-lib.mjs';

const OPERATOR = process.env.TESLA_OPERATOR_TOKEN ?? '';
const VIEWER = process.env.TESLA_VIEWER_TOKEN ?? '';
const run = createRun({
  script: 'hardware.e2e.mjs',
  usage: 'TESLA_URL=… TESLA_TOKEN=tsl_admin TESLA_OPERATOR_TOKEN=tsl_… TESLA_VIEWER_TOKEN=tsl_… node e2e/hardware.e2e.mjs',
  totalTimeoutMs: 150_000,
});
const { BASE, TOKEN: ADMIN, check, finish, shot } = run;
if (!OPERATOR || !VIEWER) {
  console.error('TESLA_OPERATOR_TOKEN and TESLA_VIEWER_TOKEN are required');
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

async function hostState(hostname) {
  const body = await api(ADMIN, `query($h: String!) { host(hostname: $h) { state } }`, { h: hostname });
  return body.data.host.state;
}

const page = await run.launch({ viewport: { width: 1440, height: 1000 } });
if (!page) process.exit(1);

try {
  // ---- setup ---------------------------------------------------------------
  const hosts = (
    await api(ADMIN, `{ hosts(first: 50, filter: { state: ONLINE }, orderBy: { field: HOSTNAME }) { nodes { id hostname } } }`)
  ).data.hosts.nodes;
  const open = (await api(ADMIN, `{ repairTickets(filter: { states: [OPEN, IN_REPAIR] }, first: 100) { nodes { host { id } } } }`)).data
    .repairTickets.nodes.map((t) => t.host.id);
  const free = hosts.filter((h) => !open.includes(h.id)).slice(-2);
  const [target, other] = free;

  await check('setup: faults reported and tickets opened through the API', async () => {
    if (free.length < 2) throw new Error('fewer than two ONLINE hosts without a ticket');
    for (const [i, h] of free.entries()) {
      const r = await api(
        OPERATOR,
        `mutation($h: ID!, $ref: String!) { reportHardwareFault(input: { hostId: $h, component: MEMORY, kind: "EDAC_UE", severity: CRITICAL, sourceRef: $ref, detail: "e2e" }) { fault { id } userErrors { message } } }`,
        { h: h.id, ref: `e2e:${i}` },
      );
      if (!r.data?.reportHardwareFault?.fault) throw new Error(JSON.stringify(r));
      const o = await api(OPERATOR, `mutation($h: ID!) { openRepairTicket(input: { hostId: $h, note: "e2e" }) { ticket { id } userErrors { message } } }`, {
        h: h.id,
      });
      if (!o.data?.openRepairTicket?.ticket) throw new Error(JSON.stringify(o));
    }
    return `${target.hostname}, ${other.hostname}`;
  });

  // ---- OPERATOR -------------------------------------------------------------
  await check('OPERATOR: the Hardware page shows open tickets, rates and hosts to replace', async () => {
    await signInAs(page, OPERATOR, '/tools/hardware', 'hardware-page');
    await page.getByTestId(`ticket-${target.hostname}`).waitFor();
    await page.getByTestId('rate-by-model').waitFor();
    await page.getByTestId('rate-by-age').waitFor();
    const rows = await page.locator('[data-testid="replace-table"] tbody tr').count();
    if (!rows) throw new Error('no host to replace listed');
    return `${await page.locator('[data-testid="tickets-table"] tbody tr').count()} open tickets, ${rows} hosts to replace`;
  });

  const row = page.getByTestId(`ticket-${target.hostname}`);
  await check('OPERATOR: start the repair; the host goes REPAIRING', async () => {
    if (await row.getByTestId('move-RESOLVED').count()) throw new Error('Resolve offered before the repair started');
    await row.getByTestId('move-IN_REPAIR').click();
    await row.getByTestId('move-note').fill('e2e: swapping DIMM A3');
    await row.getByTestId('move-submit').click();
    await row.locator('.badge', { hasText: 'In repair' }).waitFor();
    const state = await hostState(target.hostname);
    if (state !== 'REPAIRING') throw new Error(`host is ${state}`);
    if (await row.getByTestId('move-IN_REPAIR').count()) throw new Error('Start repair still offered');
    await row.getByTestId('move-RESOLVED').waitFor();
    await row.getByTestId('move-REPLACED').waitFor();
    await shot(page, 'hardware.png', { fullPage: true });
    return 'REPAIRING; Resolve and Replace offered';
  });

  await check('OPERATOR: resolve it with a note; the host returns ONLINE and the ticket leaves the list', async () => {
    await row.getByTestId('move-RESOLVED').click();
    await row.getByTestId('move-note').fill('e2e: DIMM replaced, memtest clean');
    await row.getByTestId('move-submit').click();
    await row.waitFor({ state: 'detached' });
    const state = await hostState(target.hostname);
    if (state !== 'ONLINE') throw new Error(`host is ${state}`);
    const t = await api(ADMIN, `query($h: ID!) { repairTickets(filter: { hostId: $h }, first: 1) { nodes { state history { actor note } } } }`, {
      h: target.id,
    });
    const ticket = t.data.repairTickets.nodes[0];
    if (ticket.state !== 'RESOLVED') throw new Error(`ticket is ${ticket.state}`);
    const last = ticket.history[ticket.history.length - 1];
    if (last.note !== 'e2e: DIMM replaced, memtest clean') throw new Error(JSON.stringify(last));
    return `RESOLVED by ${last.actor}`;
  });

  await check("OPERATOR: the host's machine page shows its fault history", async () => {
    await page.goto(`${BASE}/hosts/${encodeURIComponent(target.hostname)}`);
    const list = page.getByTestId('host-faults');
    await list.waitFor({ timeout: 30_000 });
    const t = await text(list);
    if (!t.includes('EDAC_UE') || !t.includes('Resolved')) throw new Error(t);
    return t.slice(0, 80);
  });

  // ---- VIEWER ---------------------------------------------------------------
  await check('VIEWER: sees the tickets and charts, and no button to move them', async () => {
    await signInAs(page, VIEWER, '/tools/hardware', 'hardware-page');
    await page.getByTestId(`ticket-${other.hostname}`).waitFor();
    await page.getByTestId('rate-by-model').waitFor();
    const buttons = await page.locator('[data-testid^="move-"], [data-testid^="open-ticket-"]').count();
    if (buttons) throw new Error(`${buttons} action buttons shown to a viewer`);
    await shot(page, 'hardware-viewer.png', { fullPage: false });
  });
} catch (err) {
  run.report(false, 'the run', String(err?.message ?? err).split('\n')[0]);
}
finish();
