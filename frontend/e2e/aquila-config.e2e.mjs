#!/usr/bin/env node
// aquila-config.e2e.mjs — the Aquila configuration and self-healing screens in
// Chromium against a real server running a working (simulated) operation engine:
//   SETUP     through the GraphQL API: version 1 of the cluster's file
//             (operator A proposes, operator B approves, A applies; its rollout
//             reaches SUCCEEDED), so the screens start from a history;
//   OPERATOR A proposes a broken file on /aquila/config: refused, naming the
//             line; then a valid one: it joins the review queue, without
//             Approve for its author;
//   OPERATOR B approves it (Approve shown to B);
//   OPERATOR A applies it: the live operation reaches SUCCEEDED; the history
//             shows the new version; comparing the two versions shows the
//             changed line side by side; rolling back to the previous version
//             makes a new version;
//   OPERATOR B rejects another change (a comment is required);
//   ADMIN     sets the approvals a change needs and creates a config group;
//   OPERATOR A after the group gets a file and is narrowed (through the API),
//             sees the services behind the current version and reapplies it;
//   VIEWER    gets the "needs the operator role" panel and no buttons;
//   HEALING   /aquila/healing shows its tabs (the seeded attempts), the waiting
//             hosts, the rate chart and the open keep-alive alerts; a host's
//             page its keep-alive restarts and alert; the big screen's
//             Self-healing panel counts the host healing now;
//   ADMIN     edits the cluster's healing policy on its page (the setting
//             shows as the cluster's own); a VIEWER sees no Edit.
//
// Env:
//   TESLA_URL, TESLA_TOKEN (OPERATOR A), TESLA_OPERATOR2_TOKEN (OPERATOR B),
//   TESLA_ADMIN_TOKEN, TESLA_VIEWER_TOKEN, TESLA_CLUSTER (required)
//   TESLA_CONFIG_SERVICE  HDFS (hdfs-site.xml) or KAFKA (server.properties): a
//                         service the cluster runs (default HDFS)
//   TESLA_HEALING_HOST    the host the seed left HEALING (checked on both pages)
//   TESLA_ALERT_HOST      a host with keep-alive restarts and an open alert (its page is checked)
//   E2E_ARTIFACTS, CHROMIUM_PATH as in e2e-lib.mjs
//
// Prints one line per check and "N passed, N failed"; exit 0 only when nothing failed.

import { createRun } from './e2e-lib.mjs';

const B_TOKEN = process.env.TESLA_OPERATOR2_TOKEN ?? '';
const ADMIN = process.env.TESLA_ADMIN_TOKEN ?? '';
const VIEWER = process.env.TESLA_VIEWER_TOKEN ?? '';
const CLUSTER = process.env.TESLA_CLUSTER ?? '';
const SERVICE = process.env.TESLA_CONFIG_SERVICE || 'HDFS';
const HEALING_HOST = process.env.TESLA_HEALING_HOST ?? '';
const ALERT_HOST = process.env.TESLA_ALERT_HOST ?? '';
const run = createRun({
  script: 'aquila-config.e2e.mjs',
  usage: 'TESLA_URL=… TESLA_TOKEN=tsl_opA TESLA_OPERATOR2_TOKEN=tsl_opB TESLA_ADMIN_TOKEN=… TESLA_VIEWER_TOKEN=… TESLA_CLUSTER=name node e2e/aquila-config.e2e.mjs',
  totalTimeoutMs: 150_000,
});
const { BASE, TOKEN, check, finish, shot, signInAs } = run;
if (!B_TOKEN || !ADMIN || !VIEWER || !CLUSTER) {
  console.error('TESLA_OPERATOR2_TOKEN, TESLA_ADMIN_TOKEN, TESLA_VIEWER_TOKEN and TESLA_CLUSTER are required');
  process.exit(2);
}

/** The file of each service and its contents: two valid versions and a broken one with its bad line. */
const FILES = {
  HDFS: {
    path: 'hdfs-site.xml',
    v1: '<?xml version="1.0"?>\n<configuration>\n  <property>\n    <name>dfs.replication</name>\n    <value>3</value>\n  </property>\n  <property>\n    <name>dfs.blocksize</name>\n    <value>134217728</value>\n  </property>\n</configuration>\n',
    v2: '<?xml version="1.0"?>\n<configuration>\n  <property>\n    <name>dfs.replication</name>\n    <value>2</value>\n  </property>\n  <property>\n    <name>dfs.blocksize</name>\n    <value>134217728</value>\n  </property>\n</configuration>\n',
    // An unknown key (a typo) on line 4.
    broken: '<?xml version="1.0"?>\n<configuration>\n  <property>\n    <name>dfs.replicaton</name>\n    <value>2</value>\n  </property>\n</configuration>\n',
    badLine: 4,
  },
  KAFKA: {
    path: 'server.properties',
    v1: 'num.partitions=3\nlog.retention.hours=168\n',
    v2: 'num.partitions=6\nlog.retention.hours=168\n',
    broken: 'num.partitions=6\nlog.retention.hours=168\nlog.retention.hours=24\n',
    badLine: 3,
  },
};
const FILE = FILES[SERVICE];
if (!FILE) {
  console.error(`TESLA_CONFIG_SERVICE must be one of ${Object.keys(FILES).join(', ')}`);
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

/** Waits through the API until an operation ends; returns its final state. */
async function operationEnds(id, timeoutMs = 30_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const d = await api(TOKEN, `query($id: ID!) { node(id: $id) { ... on Operation { state } } }`, { id });
    const state = d.node?.state;
    if (state && !['PENDING', 'RUNNING', 'PAUSED'].includes(state)) return state;
    if (Date.now() > until) throw new Error(`operation ${id} still ${state} after ${timeoutMs / 1000}s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const waitState = (page, state, timeout = 30_000) =>
  page.waitForFunction((want) => document.querySelector('[data-testid="operation-title"] [data-testid="operation-state"]')?.getAttribute('data-state') === want, state, { timeout });

const configPath = `/aquila/config?cluster=${encodeURIComponent(CLUSTER)}`;
/** The change card with this message. */
const card = (page, message) => page.locator(`[data-testid="config-change"][data-message="${message}"]`);
const MESSAGE = `e2e: ${SERVICE} ${FILE.path} v2`;
const page = await run.launch({ viewport: { width: 1440, height: 1300 } });
if (!page) process.exit(1);
const state = {};

try {
  await check('SETUP: version 1 through the API (A proposes, B approves, A applies; its rollout SUCCEEDED)', async () => {
    const d = await api(TOKEN, `query($name: String!) { cluster(name: $name) { id config { version } } }`, { name: CLUSTER });
    state.cluster = d.cluster.id;
    const base = d.cluster.config.version;
    const p = await api(
      TOKEN,
      `mutation($input: ProposeConfigChangeInput!) { proposeConfigChange(input: $input) { change { id canApprove } userErrors { message } } }`,
      { input: { cluster: state.cluster, baseVersion: base, message: 'e2e: version 1', files: [{ service: SERVICE, path: FILE.path, content: FILE.v1 }] } },
    );
    if (p.proposeConfigChange.userErrors.length) throw new Error(p.proposeConfigChange.userErrors[0].message);
    const change = p.proposeConfigChange.change;
    if (change.canApprove) throw new Error('the author may approve their own change');
    const r = await api(B_TOKEN, `mutation($input: ReviewConfigChangeInput!) { reviewConfigChange(input: $input) { change { state } userErrors { message } } }`, {
      input: { id: change.id, approve: true },
    });
    if (r.reviewConfigChange.userErrors.length) throw new Error(r.reviewConfigChange.userErrors[0].message);
    const a = await api(
      TOKEN,
      `mutation($input: ApplyConfigChangeInput!) { applyConfigChange(input: $input) { version { version } operation { id } rolloutError userErrors { message } } }`,
      { input: { id: change.id } },
    );
    const out = a.applyConfigChange;
    if (out.userErrors.length) throw new Error(out.userErrors[0].message);
    state.v1 = out.version.version;
    if (out.operation) {
      const end = await operationEnds(out.operation.id);
      if (end !== 'SUCCEEDED') throw new Error(`version ${state.v1}'s rollout ended ${end}`);
    } else if (out.rolloutError) throw new Error(`rollout did not start: ${out.rolloutError}`);
    return `version ${state.v1} (from ${base}); review ${r.reviewConfigChange.change.state}; rollout ${out.operation ? 'SUCCEEDED' : 'nothing to write'}`;
  });

  await check('OPERATOR A: a broken file is refused, naming the line', async () => {
    await signInAs(page, TOKEN, configPath, 'config-summary');
    await page.getByTestId('propose-open').click();
    await page.getByTestId('propose-form').waitFor();
    await page.getByTestId('propose-service').fill(SERVICE);
    await page.getByTestId('propose-path').fill(FILE.path);
    // The box starts from the current file.
    await page.waitForFunction((want) => document.querySelector('[data-testid="propose-content"]')?.value.includes(want), FILE.v1.split('\n')[1]);
    await page.getByTestId('propose-content').fill(FILE.broken);
    await page.getByTestId('propose-message').fill('e2e: broken');
    await page.getByTestId('propose-submit').click();
    const err = page.getByTestId('propose-error');
    await err.waitFor();
    const msg = (await err.textContent()).trim();
    if (!new RegExp(`line ${FILE.badLine}\\b`).test(msg)) throw new Error(`the refusal names no line ${FILE.badLine}: ${msg}`);
    await shot(page, 'config-refused.png', { fullPage: true });
    return msg.slice(0, 140);
  });

  await check('OPERATOR A: a valid file joins the review queue, without Approve for its author', async () => {
    await page.getByTestId('propose-content').fill(FILE.v2);
    await page.getByTestId('propose-message').fill(MESSAGE);
    await page.getByTestId('propose-submit').click();
    await page.getByTestId('propose-done').waitFor();
    const c = card(page, MESSAGE);
    await c.waitFor();
    if ((await c.getAttribute('data-state')) !== 'PROPOSED') throw new Error(`state ${await c.getAttribute('data-state')}`);
    await c.locator('[data-testid="diff-row"][data-kind="changed"]').first().waitFor();
    if (await c.getByTestId('change-approve').count()) throw new Error('the author is offered Approve');
    if (!(await c.getByTestId('change-reject-open').count())) throw new Error('no Reject for an operator');
    return (await c.getByTestId('change-approvals').textContent()).trim();
  });

  await check('OPERATOR B: approves the change', async () => {
    await signInAs(page, B_TOKEN, configPath, 'config-summary');
    const c = card(page, MESSAGE);
    await c.getByTestId('change-approve').click();
    await page.locator(`[data-testid="config-change"][data-message="${MESSAGE}"][data-state="APPROVED"]`).waitFor();
    return 'APPROVED';
  });

  await check('OPERATOR A: applies it; the live operation reaches SUCCEEDED', async () => {
    await signInAs(page, TOKEN, configPath, 'config-summary');
    const c = card(page, MESSAGE);
    await c.getByTestId('change-apply').click();
    await page.locator('[data-testid="apply-outcome"], [data-testid="change-error"]').first().waitFor();
    if (await page.getByTestId('change-error').count()) throw new Error(await page.getByTestId('change-error').textContent());
    const link = page.getByTestId('apply-outcome-operation');
    if (!(await link.count())) throw new Error((await page.getByTestId('apply-outcome').textContent()).trim());
    const text = (await page.getByTestId('apply-outcome').textContent()).trim();
    await link.click();
    await page.getByTestId('operation-page').waitFor();
    await waitState(page, 'SUCCEEDED');
    await shot(page, 'config-apply-operation.png', { fullPage: true });
    return `${text} ${page.url()}`;
  });

  await check('OPERATOR A: the history shows the new version; compare shows the changed line side by side', async () => {
    await page.goto(`${BASE}${configPath}`);
    await page.getByTestId('config-summary').waitFor();
    const current = Number(await page.getByTestId('config-version').getAttribute('data-version'));
    if (current !== state.v1 + 1) throw new Error(`current version ${current}, want ${state.v1 + 1}`);
    state.v2 = current;
    await page.locator(`[data-testid="history-row"][data-version="${current}"]`).waitFor();
    await page.getByTestId('compare-from').selectOption(String(state.v1));
    await page.getByTestId('compare-to').selectOption(String(state.v2));
    await page.getByTestId('compare-run').click();
    const changed = page.locator('[data-testid="compare-result"] [data-testid="diff-row"][data-kind="changed"]').first();
    await changed.waitFor();
    const oldText = (await changed.getByTestId('diff-old').textContent()).trim();
    const newText = (await changed.getByTestId('diff-new').textContent()).trim();
    if (oldText === newText) throw new Error('a changed row with the same text on both sides');
    await shot(page, 'config-compare.png', { fullPage: true });
    return `v${state.v1} → v${state.v2}: “${oldText}” → “${newText}”`;
  });

  await check('OPERATOR A: rolling back to the previous version makes a new version', async () => {
    await page.locator(`[data-testid="history-row"][data-version="${state.v1}"] [data-testid="history-rollback"]`).click();
    await page.getByTestId('rollback-reason').fill('e2e: back to the previous file');
    await page.getByTestId('rollback-submit').click();
    await page.locator('[data-testid="rollback-outcome"], [data-testid="rollback-error"]').first().waitFor();
    if (await page.getByTestId('rollback-error').count()) throw new Error(await page.getByTestId('rollback-error').textContent());
    await page.locator(`[data-testid="history-row"][data-version="${state.v2 + 1}"]`).waitFor();
    const restores = (await page.locator(`[data-testid="history-row"][data-version="${state.v2 + 1}"]`).textContent()).trim();
    if (!restores.includes(`restores version ${state.v1}`)) throw new Error(`row: ${restores}`);
    const text = (await page.getByTestId('rollback-outcome').textContent()).trim();
    // Let its rollout end before anything else holds the cluster.
    const href = await page.getByTestId('rollback-outcome-operation').getAttribute('href').catch(() => null);
    if (href) await operationEnds(decodeURIComponent(href.split('/').pop()));
    return `version ${state.v2 + 1}: ${text}`;
  });

  await check('OPERATOR B: rejects a change with a comment', async () => {
    await page.getByTestId('propose-open').click();
    await page.getByTestId('propose-form').waitFor();
    await page.getByTestId('propose-service').fill(SERVICE);
    await page.getByTestId('propose-path').fill(FILE.path);
    await page.getByTestId('propose-content').fill(FILE.v2);
    await page.getByTestId('propose-message').fill('e2e: to reject');
    await page.getByTestId('propose-submit').click();
    await card(page, 'e2e: to reject').waitFor();
    await signInAs(page, B_TOKEN, configPath, 'config-summary');
    const c = card(page, 'e2e: to reject');
    await c.getByTestId('change-reject-open').click();
    // Rejecting needs a reason.
    await c.getByTestId('change-reject').click();
    await c.getByTestId('change-error').waitFor();
    await c.getByTestId('change-reject-comment').fill('e2e: not now');
    await c.getByTestId('change-reject').click();
    const rejected = page.locator('[data-testid="config-change"][data-message="e2e: to reject"][data-state="REJECTED"]');
    await rejected.waitFor();
    const reviews = (await rejected.getByTestId('change-reviews').textContent()).trim();
    if (!reviews.includes('e2e: not now')) throw new Error(`reviews: ${reviews}`);
    return reviews;
  });

  await check('ADMIN: sets the approvals a change needs and creates a config group', async () => {
    const d = await api(ADMIN, `query($name: String!) { cluster(name: $name) { hosts(first: 1) { nodes { rack } } } }`, { name: CLUSTER });
    const rack = d.cluster.hosts.nodes[0].rack;
    await signInAs(page, ADMIN, configPath, 'config-summary');
    await page.getByTestId('approvals-input').fill('2');
    await page.getByTestId('approvals-save').click();
    await page.waitForFunction(() => document.querySelector('[data-testid="config-required-approvals"]')?.textContent?.trim() === '2');
    await page.getByTestId('group-new').click();
    await page.getByTestId('group-name').fill('e2e-rack');
    await page.getByTestId('group-rule').selectOption('RACK');
    await page.getByTestId('group-members').fill(rack);
    await page.getByTestId('group-save').click();
    await page.locator('[data-testid="group-done"], [data-testid="group-error"]').first().waitFor();
    if (await page.getByTestId('group-error').count()) throw new Error(await page.getByTestId('group-error').textContent());
    await page.locator('[data-testid="group-row"][data-name="e2e-rack"]').waitFor();
    // The group is offered when proposing a change.
    await page.getByTestId('propose-open').click();
    await page.locator('[data-testid="propose-group"] option[value="e2e-rack"]').waitFor({ state: 'attached' });
    return `approvals 2; group e2e-rack on rack ${rack}`;
  });

  await check('OPERATOR A: after a regrouping, the services behind the current version are listed, and Reapply rolls them out', async () => {
    // Through the API: a file of the group differing from the default (the
    // rollback restored version 1's; two approvals now: B and the admin), applied; then the group narrowed to one host, so the rack's other hosts'
    // files change without a version and their services fall behind.
    const cur = await api(TOKEN, `query($name: String!) { cluster(name: $name) { config { version groups { name hosts { hostname } } } hosts(first: 100) { nodes { hostname rack } } } }`, { name: CLUSTER });
    const p = await api(TOKEN, `mutation($input: ProposeConfigChangeInput!) { proposeConfigChange(input: $input) { change { id } userErrors { message } } }`, {
      input: { cluster: state.cluster, baseVersion: cur.cluster.config.version, message: 'e2e: the rack’s own file', files: [{ group: 'e2e-rack', service: SERVICE, path: FILE.path, content: FILE.v2 }] },
    });
    if (p.proposeConfigChange.userErrors.length) throw new Error(p.proposeConfigChange.userErrors[0].message);
    const id = p.proposeConfigChange.change.id;
    for (const who of [B_TOKEN, ADMIN]) {
      const r = await api(who, `mutation($input: ReviewConfigChangeInput!) { reviewConfigChange(input: $input) { userErrors { message } } }`, { input: { id, approve: true } });
      if (r.reviewConfigChange.userErrors.length) throw new Error(r.reviewConfigChange.userErrors[0].message);
    }
    const a = await api(TOKEN, `mutation($input: ApplyConfigChangeInput!) { applyConfigChange(input: $input) { operation { id } rolloutError userErrors { message } } }`, { input: { id } });
    if (a.applyConfigChange.userErrors.length) throw new Error(a.applyConfigChange.userErrors[0].message);
    if (a.applyConfigChange.operation) await operationEnds(a.applyConfigChange.operation.id);
    const rack = cur.cluster.hosts.nodes[0].rack;
    const one = cur.cluster.hosts.nodes.find((h) => h.rack === rack).hostname;
    const g = await api(ADMIN, `mutation($input: SetConfigGroupInput!) { setConfigGroup(input: $input) { userErrors { message } } }`, {
      input: { cluster: state.cluster, name: 'e2e-rack', position: 1, rule: 'LIST', hosts: [one] },
    });
    if (g.setConfigGroup.userErrors.length) throw new Error(g.setConfigGroup.userErrors[0].message);
    await signInAs(page, TOKEN, configPath, 'config-summary');
    await page.getByTestId('stale-row').first().waitFor();
    const behind = await page.getByTestId('stale-row').count();
    await page.getByTestId('config-reapply').click();
    await page.locator('[data-testid="reapply-outcome"], [data-testid="reapply-error"]').first().waitFor();
    if (await page.getByTestId('reapply-error').count()) throw new Error(await page.getByTestId('reapply-error').textContent());
    const href = await page.getByTestId('reapply-outcome-operation').getAttribute('href');
    const end = await operationEnds(decodeURIComponent(href.split('/').pop()));
    if (end !== 'SUCCEEDED') throw new Error(`the reapply ended ${end}`);
    await page.reload();
    await page.getByTestId('config-summary').waitFor();
    if (await page.getByTestId('stale-row').count()) throw new Error(`${await page.getByTestId('stale-row').count()} still behind after the reapply`);
    return `${behind} behind; reapplied: ${end}`;
  });

  await check('ADMIN: a group that still has files is not deleted; an unused one is, after a confirm; an operator gets no Delete', async () => {
    await signInAs(page, TOKEN, configPath, 'config-summary');
    await page.locator('[data-testid="group-row"][data-name="e2e-rack"]').waitFor();
    if (await page.getByTestId('group-delete').count()) throw new Error('an operator is offered Delete on a config group');
    const g = await api(ADMIN, `mutation($input: SetConfigGroupInput!) { setConfigGroup(input: $input) { userErrors { message } } }`, {
      input: { cluster: state.cluster, name: 'e2e-spare', position: 9, rule: 'LIST', hosts: [] },
    });
    if (g.setConfigGroup.userErrors.length) throw new Error(g.setConfigGroup.userErrors[0].message);
    await signInAs(page, ADMIN, configPath, 'config-summary');
    const rack = page.locator('[data-testid="group-row"][data-name="e2e-rack"]');
    await rack.getByTestId('group-delete').click();
    await rack.getByTestId('group-delete-confirm').click();
    const refusal = page.getByTestId('group-list-error');
    await refusal.waitFor();
    const why = (await refusal.textContent()).trim();
    if (!/file/i.test(why)) throw new Error(`refusal: ${why}`);
    if (!(await rack.count())) throw new Error('the refused group left the list');
    const spare = page.locator('[data-testid="group-row"][data-name="e2e-spare"]');
    await spare.getByTestId('group-delete').click();
    await spare.getByTestId('group-delete-confirm').click();
    await spare.waitFor({ state: 'detached' });
    const left = await api(ADMIN, `query($name: String!) { cluster(name: $name) { config { groups { name } } } }`, { name: CLUSTER });
    if (left.cluster.config.groups.some((x) => x.name === 'e2e-spare')) throw new Error('e2e-spare is still on the server');
    return `refused: ${why.slice(0, 90)}; e2e-spare deleted`;
  });

  await check('VIEWER: the configuration needs the operator role; no buttons', async () => {
    await signInAs(page, VIEWER, configPath, 'config-forbidden');
    for (const id of ['propose-open', 'change-approve', 'change-apply', 'history-rollback', 'config-reapply', 'group-new', 'approvals-form']) {
      if (await page.getByTestId(id).count()) throw new Error(`a viewer is offered ${id}`);
    }
    return (await page.getByTestId('config-forbidden').textContent()).trim().slice(0, 80);
  });

  await check('HEALING: the page shows its tabs, the waiting hosts, the rate chart and the open keep-alive alerts', async () => {
    await page.goto(`${BASE}/aquila/healing`);
    await page.getByTestId('healing-page').waitFor();
    const healing = page.locator('[data-testid="healing-attempts"][data-state="HEALING"] [data-testid="healing-attempt-row"]');
    await healing.first().waitFor();
    const healingNow = await healing.count();
    if (HEALING_HOST && !(await page.locator(`[data-testid="healing-attempt-row"][data-hostname="${HEALING_HOST}"]`).count())) throw new Error(`${HEALING_HOST} is not listed healing`);
    const counts = {};
    for (const s of ['HEALED', 'HANDED_OVER', 'FAILED']) {
      await page.getByTestId(`healing-tab-${s}`).click();
      await page.locator(`[data-testid="healing-attempts"][data-state="${s}"] [data-testid="healing-attempt-row"]`).first().waitFor();
      counts[s] = await page.locator(`[data-testid="healing-attempts"][data-state="${s}"] [data-testid="healing-attempt-row"]`).count();
      // The tab's count is every attempt in that state, beyond the first page.
      const shown = Number((await page.getByTestId(`healing-tab-count-${s}`).textContent()).replace(/[^0-9]/g, ''));
      if (!(shown >= counts[s])) throw new Error(`the ${s} tab counts ${shown} with ${counts[s]} rows listed`);
      if (s === 'HANDED_OVER' && !(await page.locator('[data-testid="healing-attempts"][data-state="HANDED_OVER"] [data-testid="healing-ticket-link"]').count())) {
        throw new Error('a handed-over host without its ticket');
      }
    }
    await page.locator('[data-testid="healing-rate-chart"] canvas').first().waitFor();
    await page.getByTestId('healing-wait-row').first().waitFor();
    await page.getByTestId('keepalive-alert-row').first().waitFor();
    const summary = (await page.getByTestId('healing-rate-summary').textContent()).trim();
    await shot(page, 'healing-page.png', { fullPage: true });
    return `healing ${healingNow}, ${JSON.stringify(counts)}; ${summary}`;
  });

  await check('HEALING: the host page lists keep-alive’s restarts and the open alert', async () => {
    if (!ALERT_HOST) return 'skipped: no TESLA_ALERT_HOST';
    await page.goto(`${BASE}/hosts/${encodeURIComponent(ALERT_HOST)}`);
    await page.locator('[data-testid="host-keepalive-alert"][data-open="true"]').first().waitFor({ timeout: 20_000 });
    await page.getByTestId('host-restart-row').first().waitFor();
    return `${await page.getByTestId('host-restart-row').count()} restarts; ${(await page.getByTestId('host-keepalive-alert').first().textContent()).trim().slice(0, 80)}`;
  });

  await check('HEALING: the big screen counts the host healing now and the open keep-alive alert', async () => {
    await page.goto(`${BASE}/screen`);
    await page.locator('[data-testid="screen-healing-host"]').first().waitFor({ timeout: 20_000 });
    await page.getByTestId('screen-keepalive-alert').first().waitFor();
    await shot(page, 'screen-healing.png');
    return `healing ${(await page.getByTestId('screen-healing-count').textContent()).trim()}, alerts ${(await page.getByTestId('screen-keepalive-count').textContent()).trim()}`;
  });

  await check('VIEWER: no Edit on the cluster’s healing policy', async () => {
    await page.goto(`${BASE}/clusters/${encodeURIComponent(CLUSTER)}`);
    await page.getByTestId('healing-policy').waitFor();
    if (await page.getByTestId('policy-edit').count()) throw new Error('a viewer is offered Edit policy');
    return (await page.getByTestId('healing-policy').textContent()).trim().slice(0, 80);
  });

  await check('ADMIN: edits the cluster’s healing policy; the setting shows as the cluster’s own', async () => {
    await signInAs(page, ADMIN, `/clusters/${encodeURIComponent(CLUSTER)}`, 'healing-policy');
    await page.getByTestId('policy-edit').click();
    await page.getByTestId('policy-maxPerDay').fill('7');
    await page.getByTestId('policy-save').click();
    await page.locator('[data-testid="policy-done"], [data-testid="policy-error"]').first().waitFor();
    if (await page.getByTestId('policy-error').count()) throw new Error(await page.getByTestId('policy-error').textContent());
    await page.locator('[data-testid="policy-max-per-day"][data-value="7"]').waitFor();
    await page.getByTestId('policy-own-maxPerDay').waitFor();
    await shot(page, 'healing-policy.png');
    return (await page.getByTestId('policy-max-per-day').textContent()).trim();
  });
} catch (err) {
  run.report(false, 'the run', String(err?.message ?? err).split('\n')[0]);
}
finish();
