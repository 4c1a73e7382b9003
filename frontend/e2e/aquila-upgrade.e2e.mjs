#!/usr/bin/env node
// aquila-upgrade.e2e.mjs — the Aquila lifecycle screens in Chromium against a
// real server running a working (simulated) operation engine:
//   SETUP     through the GraphQL API: the cluster's services get new package
//             versions, and two stack versions of its stack are created from
//             them (the demo seed's versions are what the clusters run);
//   OPERATOR  opens the upgrade wizard on the cluster: the current version's
//             pre-checks show a FAIL and Start stays disabled; a new version's
//             pass; Start (ROLLING) lands on the live page, which reaches
//             SUCCEEDED; Roll back reaches ROLLED_BACK;
//   OPERATOR  scales the cluster out by 1 host from the dialog: SUCCEEDED;
//             decommissioning every host is refused, the message naming the limit;
//             (the cluster's minimum set to one host first, as an ADMIN);
//   OPERATOR  sees the two open proposals listed and dismisses one from its
//             cluster's banner (the figures in a sentence);
//   VIEWER    sees no Upgrade, Scale out or Decommission button, nor Accept
//             on the open proposal (listed, and its banner).
//
// Env:
//   TESLA_URL, TESLA_TOKEN (OPERATOR), TESLA_VIEWER_TOKEN, TESLA_CLUSTER (required)
//   TESLA_ADMIN_TOKEN   an ADMIN token (required: sets the cluster's minimum, so
//                       decommissioning every host is refused)
//   TESLA_PROPOSAL_CLUSTERS  two clusters with an open scale-out proposal (required)
//   E2E_ARTIFACTS, CHROMIUM_PATH as in e2e-lib.mjs
//
// Prints one line per check and "N passed, N failed"; exit 0 only when nothing failed.

import { createRun } from './e2e-lib.mjs';

const VIEWER = process.env.TESLA_VIEWER_TOKEN ?? '';
const ADMIN = process.env.TESLA_ADMIN_TOKEN ?? '';
const PROPOSALS = (process.env.TESLA_PROPOSAL_CLUSTERS ?? '').split(',').filter(Boolean);
const CLUSTER = process.env.TESLA_CLUSTER ?? '';
const run = createRun({
  script: 'aquila-upgrade.e2e.mjs',
  usage: 'TESLA_URL=… TESLA_TOKEN=tsl_operator TESLA_VIEWER_TOKEN=tsl_… TESLA_CLUSTER=name node e2e/aquila-upgrade.e2e.mjs',
  totalTimeoutMs: 90_000,
});
const { BASE, TOKEN, check, finish, shot, signInAs } = run;
if (!VIEWER || !ADMIN || !CLUSTER || PROPOSALS.length !== 2) {
  console.error('TESLA_VIEWER_TOKEN, TESLA_ADMIN_TOKEN and TESLA_CLUSTER are required');
  process.exit(2);
}

async function api(token, query, variables = {}) {
  const res = await fetch(`${BASE}/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = await res.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors).slice(0, 400));
  return body.data;
}

/** A version a little above v ("3.4.1" → "3.4.<1+bump>"), so dependency ranges still hold. */
function bumped(v, bump) {
  const m = /^(\d+)\.(\d+)\.(\d+)(.*)$/.exec(v);
  if (m) return `${m[1]}.${m[2]}.${Number(m[3]) + bump}`;
  return `${v}.${bump}`;
}

const waitState = (page, state, timeout = 20_000) =>
  page.waitForFunction((want) => document.querySelector('[data-testid="operation-title"] [data-testid="operation-state"]')?.getAttribute('data-state') === want, state, { timeout });

const HEX = 'cd'.repeat(32);
const page = await run.launch({ viewport: { width: 1440, height: 1300 } });
if (!page) process.exit(1);
const target = {};

try {
  await check('SETUP: two new stack versions of the cluster’s stack, through the API', async () => {
    const d = await api(
      TOKEN,
      `query($name: String!) { cluster(name: $name) { id stackVersion { id version stack { name } packages { service version dependencies { service constraint } } } } }`,
      { name: CLUSTER },
    );
    const c = d.cluster;
    const sv = c.stackVersion;
    if (!sv?.packages.length) throw new Error(`cluster ${CLUSTER} runs no stack version with packages`);
    target.current = sv.id;
    for (const [label, bump] of [['a', 100], ['b', 200]]) {
      const refs = [];
      for (const p of sv.packages) {
        const version = bumped(p.version, bump);
        const r = await api(
          TOKEN,
          `mutation($input: RegisterServicePackageInput!) { registerServicePackage(input: $input) { package { id } userErrors { message } } }`,
          {
            input: {
              service: p.service,
              info: { version, checksum: `sha256:${HEX}`, source: { kind: 'RPM', uri: `https://repo.example/${p.service.toLowerCase()}-${version}.rpm` } },
              // The same dependencies, on any version: the seed pins exact ones.
              ops: { dependsOn: p.dependencies.map((x) => ({ service: x.service })) },
            },
          },
        );
        const errs = r.registerServicePackage.userErrors;
        if (errs.length && !/already|CONFLICT|registered/i.test(errs[0].message)) throw new Error(`${p.service} ${version}: ${errs[0].message}`);
        refs.push({ service: p.service, version });
      }
      const r = await api(
        TOKEN,
        `mutation($input: CreateStackVersionInput!) { createStackVersion(input: $input) { stackVersion { id version } userErrors { message } } }`,
        { input: { stack: sv.stack.name, version: bumped(sv.version, bump), notes: `e2e ${label}`, packages: refs } },
      );
      if (r.createStackVersion.userErrors.length) throw new Error(r.createStackVersion.userErrors.map((e) => e.message).join('; '));
      target[label] = r.createStackVersion.stackVersion;
    }
    const checks = await api(TOKEN, `query($input: UpgradeClusterInput!) { upgradePreCheck(input: $input) { name status message } }`, {
      input: { cluster: c.id, stackVersion: target.a.id, strategy: 'ROLLING', batchPercent: 50 },
    });
    const failed = checks.upgradePreCheck.filter((x) => x.status === 'FAIL');
    if (failed.length) throw new Error(`pre-checks FAIL: ${failed.map((x) => `${x.name}: ${x.message}`).join('; ')}`);
    return `${sv.stack.name} ${sv.version} → ${target.a.version}, ${target.b.version}; ${sv.packages.length} packages each`;
  });

  await check('OPERATOR: the wizard’s pre-checks FAIL on the current version, and Start stays disabled', async () => {
    await signInAs(page, TOKEN, `/clusters/${encodeURIComponent(CLUSTER)}`, 'cluster-operations');
    await page.getByTestId('upgrade-open').click();
    await page.getByTestId('upgrade-dialog').waitFor();
    await page.locator(`[data-testid="upgrade-version"] option[value="${target.current}"]`).waitFor({ state: 'attached' });
    const marked = await page.locator(`[data-testid="upgrade-version"] option[value="${target.current}"]`).getAttribute('data-current');
    if (marked !== 'true') throw new Error('the current version is not marked');
    await page.getByTestId('upgrade-version').selectOption(target.current);
    await page.getByTestId('upgrade-check-run').click();
    await page.locator('[data-testid="upgrade-check"][data-status="FAIL"]').first().waitFor();
    if (await page.getByTestId('upgrade-start').isEnabled()) throw new Error('Start is enabled with a FAIL');
    return (await page.locator('[data-testid="upgrade-check"][data-status="FAIL"]').first().textContent()).trim();
  });

  await check('OPERATOR: a new version passes, a ROLLING upgrade starts and reaches SUCCEEDED live', async () => {
    await page.getByTestId('upgrade-version').selectOption(target.a.id);
    await page.getByTestId('upgrade-strategy').selectOption('ROLLING');
    await page.getByTestId('upgrade-batch').fill('50');
    await page.getByTestId('upgrade-reason').fill('e2e upgrade');
    if (await page.getByTestId('upgrade-start').isEnabled()) throw new Error('Start is enabled before the checks ran');
    await page.getByTestId('upgrade-check-run').click();
    await page.waitForFunction(() => document.querySelector('[data-testid="upgrade-start"]')?.disabled === false, null, { timeout: 10_000 });
    const statuses = await page.locator('[data-testid="upgrade-check"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-status')));
    await shot(page, 'upgrade-wizard.png', { fullPage: true });
    await page.getByTestId('upgrade-start').click();
    await page.getByTestId('operation-page').waitFor();
    await waitState(page, 'SUCCEEDED', 30_000);
    return `checks ${statuses.join(', ')}; ${page.url()}`;
  });

  await check('OPERATOR: Roll back reaches ROLLED_BACK', async () => {
    await page.getByTestId('op-action-ROLLBACK').click();
    await page.getByTestId('op-confirm-yes').click();
    await waitState(page, 'ROLLED_BACK', 30_000);
    await shot(page, 'upgrade-rolled-back.png', { fullPage: true });
    return 'ROLLED_BACK';
  });

  await check('OPERATOR: a scale-out of 1 host from the dialog reaches SUCCEEDED', async () => {
    await page.goto(`${BASE}/clusters/${encodeURIComponent(CLUSTER)}`);
    await page.getByTestId('scaleout-open').click();
    await page.getByTestId('scaleout-dialog').waitFor();
    await page.getByTestId('scaleout-count').fill('1');
    await page.getByTestId('scaleout-reason').fill('e2e scale-out');
    await page.getByTestId('scaleout-submit').click();
    await page.locator('[data-testid="operation-page"], [data-testid="scaleout-error"]').first().waitFor();
    if (await page.getByTestId('scaleout-error').count()) throw new Error(await page.getByTestId('scaleout-error').textContent());
    await waitState(page, 'SUCCEEDED', 30_000);
    return page.url();
  });

  await check('OPERATOR: decommissioning every host is refused, naming the limit', async () => {
    // The demo clusters have no minimum: give this one a minimum of one host.
    const d = await api(ADMIN, `query($name: String!) { cluster(name: $name) { id policy { minCores autoscaleMode autoscaleMaxHosts } } }`, { name: CLUSTER });
    const p = d.cluster.policy;
    const r = await api(ADMIN, `mutation($input: SetClusterPolicyInput!) { setClusterPolicy(input: $input) { userErrors { message } } }`, {
      input: { cluster: d.cluster.id, minHosts: 1, minCores: p.minCores, autoscaleMode: p.autoscaleMode, autoscaleMaxHosts: p.autoscaleMaxHosts },
    });
    if (r.setClusterPolicy.userErrors.length) throw new Error(r.setClusterPolicy.userErrors[0].message);
    await page.goto(`${BASE}/clusters/${encodeURIComponent(CLUSTER)}`);
    await page.getByTestId('select-all').waitFor();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="hosts-table"] tbody input[type="checkbox"]').length > 0);
    await page.getByTestId('select-all').check();
    const picked = (await page.getByTestId('selected-count').textContent()).trim();
    await page.getByTestId('decommission-open').click();
    await page.getByTestId('decommission-to').selectOption('RETIRE');
    await page.getByTestId('decommission-drain').fill('5m');
    await page.getByTestId('decommission-reason').fill('e2e refused decommission');
    await page.getByTestId('decommission-submit').click();
    await page.locator('[data-testid="decommission-error"], [data-testid="operation-page"]').first().waitFor();
    if (!(await page.getByTestId('decommission-error').count())) throw new Error(`not refused: ${page.url()}`);
    const msg = (await page.getByTestId('decommission-error').textContent()).trim();
    if (!/min|quorum/i.test(msg)) throw new Error(`message: ${msg}`);
    return `${picked}: ${msg}`;
  });

  await check('OPERATOR: the open proposals are listed; one is dismissed from its cluster’s banner', async () => {
    await page.goto(`${BASE}/aquila/operations`);
    await page.getByTestId('proposal-row').nth(1).waitFor();
    const rows = await page.getByTestId('proposal-row').count();
    await page.goto(`${BASE}/clusters/${encodeURIComponent(PROPOSALS[0])}`);
    await page.getByTestId('proposal-banner').waitFor();
    const sentence = (await page.getByTestId('proposal-sentence').textContent()).trim();
    if (!/92%.*80%.*640 to 736 cores/.test(sentence)) throw new Error(`sentence: ${sentence}`);
    await shot(page, 'proposal-banner.png');
    await page.getByTestId('proposal-dismiss').click();
    await page.getByTestId('proposal-dismiss-reason').fill('e2e: not needed');
    await page.getByTestId('proposal-dismiss-confirm').click();
    await page.getByTestId('proposal-banner').waitFor({ state: 'detached' });
    return `${rows} listed; dismissed: ${sentence.slice(0, 80)}…`;
  });

  await check('VIEWER: no Upgrade, Scale out or Decommission button', async () => {
    const context = await page.context().browser().newContext({ viewport: { width: 1440, height: 1100 } });
    try {
      const vpage = await context.newPage();
      await signInAs(vpage, VIEWER, `/clusters/${encodeURIComponent(CLUSTER)}`, 'cluster-operations');
      await vpage.getByTestId('operation-row').first().waitFor();
      for (const id of ['upgrade-open', 'scaleout-open', 'decommission-open', 'restart-open']) {
        if (await vpage.getByTestId(id).count()) throw new Error(`a viewer is offered ${id}`);
      }
      await vpage.goto(`${BASE}/aquila/operations`);
      await vpage.getByTestId('open-proposals').waitFor();
      await vpage.getByTestId('proposal-row').first().waitFor();
      const rows = await vpage.getByTestId('proposal-row').count();
      if (rows !== 1) throw new Error(`${rows} open proposals listed, want the one not dismissed`);
      if (await vpage.getByTestId('proposal-accept').count()) throw new Error('a viewer is offered Accept');
      await vpage.goto(`${BASE}/clusters/${encodeURIComponent(PROPOSALS[1])}`);
      await vpage.getByTestId('proposal-banner').waitFor();
      if (await vpage.getByTestId('proposal-accept').count()) throw new Error('a viewer is offered Accept on the banner');
      return 'none shown; the open proposal listed and its banner without buttons';
    } finally {
      await context.close();
    }
  });
} catch (err) {
  run.report(false, 'the run', String(err?.message ?? err).split('\n')[0]);
}
finish();
