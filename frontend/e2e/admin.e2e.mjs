#!/usr/bin/env node
// admin.e2e.mjs — the Administration section in Chromium against a real
// server, each change checked in the browser and then against the API:
//   VIEWER    sees no Administration link, and a typed admin URL says the
//             screen is not for their role;
//   BU_ADMIN  (the demo's Ads lead) sees only People, is offered only the BUs
//             of the Ads subtree and the roles up to BU admin, adds a person
//             to Ads Ranking who then appears in the list; a person forced
//             into another BU (an option for Platform put into the form) is
//             refused with the server's message on the form, and not created;
//   OPERATOR  sees Clusters & enrollment and Hosts only: no register form, no
//             cluster editing, but move/retire and enrollment tokens;
//   ADMIN     creates a BU, renames it and moves it (its own subtree is not
//             offered as a parent), deactivates it; creates a cluster, edits
//             it and retires it; registers hosts by pasting hostnames (a bad line is caught before
//             sending), sees them listed, retires one with a reason, moves
//             another to a second cluster; creates
//             an enrollment token (the secret and the agent command shown
//             once); imports an inventory after a dry run showing its diff.
//
// Env:
//   TESLA_URL             base URL (required)
//   TESLA_TOKEN           an ADMIN token (required)
//   TESLA_BU_TOKEN        the demo BU lead's BU_ADMIN token (Ads) (required)
//   TESLA_OPERATOR_TOKEN  an OPERATOR token (required)
//   TESLA_VIEWER_TOKEN    a VIEWER token (required)
//   TESLA_CLUSTER         an active cluster to register hosts into (required)
//   TESLA_OTHER_CLUSTER   another active cluster to move one of them to (required)
//   E2E_ONLY              comma-separated parts to run: viewer,bu,operator,hosts,org,enroll,import (default all)
//   E2E_ARTIFACTS, CHROMIUM_PATH as in e2e-lib.mjs
//
// Prints one line per check and "N passed, N failed"; exit 0 only when nothing failed.

import { createRun } from './e2e-lib.mjs';

const BU_LEAD = process.env.TESLA_BU_TOKEN ?? '';
const OPERATOR = process.env.TESLA_OPERATOR_TOKEN ?? '';
const VIEWER = process.env.TESLA_VIEWER_TOKEN ?? '';
const CLUSTER = process.env.TESLA_CLUSTER ?? '';
const OTHER_CLUSTER = process.env.TESLA_OTHER_CLUSTER ?? '';
const ONLY = (process.env.E2E_ONLY ?? '').split(',').map((s) => s.trim()).filter(Boolean);
const part = (name) => !ONLY.length || ONLY.includes(name);
const run = createRun({
  script: 'admin.e2e.mjs',
  usage: 'TESLA_URL=… TESLA_TOKEN=tsl_admin TESLA_BU_TOKEN=tsl_… TESLA_VIEWER_TOKEN=tsl_… TESLA_CLUSTER=name node e2e/admin.e2e.mjs',
  totalTimeoutMs: 180_000,
});
const { BASE, TOKEN: ADMIN, check, finish, shot } = run;
if (!BU_LEAD || !OPERATOR || !VIEWER || !CLUSTER || !OTHER_CLUSTER) {
  console.error('TESLA_BU_TOKEN, TESLA_OPERATOR_TOKEN, TESLA_VIEWER_TOKEN, TESLA_CLUSTER and TESLA_OTHER_CLUSTER are required');
  process.exit(2);
}

/** A GraphQL request with a bearer token, outside the browser (setup and verification). */
async function api(token, query, variables = {}) {
  const res = await fetch(`${BASE}/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = await res.json();
  if (body.errors?.length) throw new Error(`API: ${body.errors.map((e) => e.message).join('; ')}`);
  return body.data;
}

/** A lookup that may find nothing: null for a missing object, whether the server answers null or NOT_FOUND. */
async function lookup(query, variables, field) {
  const res = await fetch(`${BASE}/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = await res.json();
  const other = (body.errors ?? []).filter((e) => e.extensions?.code !== 'NOT_FOUND');
  if (other.length) throw new Error(`API: ${other.map((e) => e.message).join('; ')}`);
  return body.data?.[field] ?? null;
}

const personByLogin = (login) => lookup(`query($l: String!) { person(login: $l) { login role active bu { code } } }`, { l: login }, 'person');
const buByCode = (code) => lookup(`query($c: String!) { bu(code: $c) { id code } }`, { c: code }, 'bu');
const hostByName = async (h) => (await api(ADMIN, `query($h: String!) { host(hostname: $h) { hostname rack ip state stateReason cluster { name } } }`, { h })).host;

const { signInAs } = run;

const text = async (loc) => ((await loc.textContent()) ?? '').trim();
const adminLinks = (page) => page.locator('[data-testid^="nav-/admin"]');
const stamp = Date.now().toString(36);

const page = await run.launch({ viewport: { width: 1440, height: 1000 } });
if (!page) process.exit(1);

try {
  // ---- VIEWER ---------------------------------------------------------------
  if (part('viewer')) {
    await check('VIEWER: no Administration link', async () => {
      await signInAs(page, VIEWER, '/clusters', 'clusters-overview');
      await page.getByTestId('nav-/clusters').waitFor();
      const n = await adminLinks(page).count();
      if (n) throw new Error(`${n} admin links shown`);
      const titles = await page.locator('.nav-title').allTextContents();
      if (titles.some((t) => /administration/i.test(t))) throw new Error(`nav titles: ${titles.join(', ')}`);
      return `sections: ${titles.join(', ')}`;
    });
    await check('VIEWER: a typed admin URL says it is not for their role', async () => {
      await page.goto(`${BASE}/admin/people`);
      await page.getByTestId('admin-refused').waitFor();
      if (await page.getByTestId('person-create-form').count()) throw new Error('the form is shown');
      await shot(page, 'admin-viewer-refused.png');
    });
  }

  // ---- BU_ADMIN -------------------------------------------------------------
  if (part('bu')) {
    const newLogin = `e2e-ranker-${stamp}`;
    const intruder = `e2e-intruder-${stamp}`;
    const plat = await buByCode('PLAT');

    await check('BU_ADMIN: only People under Administration', async () => {
      await signInAs(page, BU_LEAD, '/clusters', 'clusters-overview');
      await page.getByTestId('nav-/clusters').waitFor();
      const links = await adminLinks(page).evaluateAll((els) => els.map((e) => e.getAttribute('data-testid')));
      if (links.join() !== 'nav-/admin/people') throw new Error(`admin links: ${links.join(', ')}`);
    });

    await check('BU_ADMIN: the form offers only the Ads subtree and roles up to BU admin', async () => {
      await page.getByTestId('nav-/admin/people').click();
      await page.getByTestId('person-create-form').waitFor();
      await page.locator('[data-testid="person-bu"] option').first().waitFor({ state: 'attached' });
      const codes = await page.locator('[data-testid="person-bu"] option').evaluateAll((os) => os.map((o) => o.getAttribute('data-code')));
      const want = ['ADS', 'ADS-DLV', 'ADS-MEAS', 'ADS-RANK'];
      if ([...codes].sort().join() !== want.join()) throw new Error(`BUs offered: ${codes.join(', ')}`);
      const roles = await page.locator('[data-testid="person-role"] option').evaluateAll((os) => os.map((o) => o.value));
      if (roles.join() !== 'VIEWER,BU_ADMIN') throw new Error(`roles offered: ${roles.join(', ')}`);
      // The list holds only the subtree's people.
      await page.getByTestId('person-row').first().waitFor();
      const bus = await page.getByTestId('person-row').evaluateAll((rs) => rs.map((r) => r.getAttribute('data-bu')));
      const outside = bus.filter((b) => !want.includes(b));
      if (outside.length) throw new Error(`people of other BUs listed: ${outside.join(', ')}`);
      return `${codes.length} BUs, ${bus.length} people listed`;
    });

    await check('BU_ADMIN: adds a person to Ads Ranking, who appears in the list', async () => {
      await page.getByTestId('person-login').fill(newLogin);
      await page.getByTestId('person-name').fill('Rae Ranker');
      await page.getByTestId('person-email').fill(`${newLogin}@example.com`);
      const rank = await page.locator('[data-testid="person-bu"] option[data-code="ADS-RANK"]').getAttribute('value');
      await page.getByTestId('person-bu').selectOption(rank);
      await page.getByTestId('person-role').selectOption('VIEWER');
      await page.getByTestId('person-create').click();
      await page.locator('[data-testid="action-ok"], [data-testid="action-error"], .field-error').first().waitFor();
      if (!(await page.getByTestId('action-ok').isVisible())) throw new Error(`refused: ${await text(page.locator('.admin-form').first())}`);
      await page.locator(`[data-testid="person-row"][data-login="${newLogin}"]`).waitFor();
      const p = await personByLogin(newLogin);
      if (!p || p.bu.code !== 'ADS-RANK' || p.role !== 'VIEWER' || !p.active) throw new Error(`API: ${JSON.stringify(p)}`);
      await shot(page, 'admin-people.png');
      return `${newLogin} in ${p.bu.code}`;
    });

    await check('BU_ADMIN: makes the new person a BU admin (no higher role offered)', async () => {
      const row = page.locator(`[data-testid="person-row"][data-login="${newLogin}"]`);
      await row.getByTestId('person-edit').click();
      const edit = page.locator(`[data-testid="person-edit-row"][data-login="${newLogin}"]`);
      const roles = await edit.locator('[data-testid="person-edit-role"] option').evaluateAll((os) => os.map((o) => o.value));
      if (roles.join() !== 'VIEWER,BU_ADMIN') throw new Error(`roles offered: ${roles.join(', ')}`);
      await edit.getByTestId('person-edit-role').selectOption('BU_ADMIN');
      await edit.getByTestId('person-save').click();
      await page.locator(`[data-testid="person-row"][data-login="${newLogin}"][data-role="BU_ADMIN"]`).waitFor();
      const p = await personByLogin(newLogin);
      if (p.role !== 'BU_ADMIN') throw new Error(`API: ${JSON.stringify(p)}`);
    });

    await check('BU_ADMIN: a login already taken is refused next to the login field', async () => {
      await page.getByTestId('person-login').fill(newLogin);
      await page.getByTestId('person-name').fill('Rae Again');
      await page.getByTestId('person-create').click();
      await page.getByTestId('error-login').waitFor();
      const msg = await text(page.getByTestId('error-login'));
      if (!msg.includes(newLogin)) throw new Error(`message: ${msg}`);
      return msg;
    });

    await check('BU_ADMIN: a person forced into another BU is refused with the server’s message', async () => {
      if (!plat) throw new Error('no PLAT BU in the seed');
      // Platform is not offered; put it into the select as a crafted request would.
      if (await page.locator('[data-testid="person-bu"] option[data-code="PLAT"]').count()) throw new Error('PLAT is offered');
      await page.getByTestId('person-bu').evaluate((sel, id) => {
        const o = document.createElement('option');
        o.value = id;
        o.textContent = 'Platform (PLAT)';
        o.setAttribute('data-code', 'PLAT');
        sel.appendChild(o);
      }, plat.id);
      await page.getByTestId('person-bu').selectOption(plat.id);
      await page.getByTestId('person-login').fill(intruder);
      await page.getByTestId('person-name').fill('Not Mine');
      await page.getByTestId('person-create').click();
      const refusal = page.locator('[data-testid="error-buId"], [data-testid="action-error"]').first();
      await refusal.waitFor();
      const msg = await text(refusal);
      if (!/BU|subtree|own/i.test(msg)) throw new Error(`message: ${msg}`);
      if (await personByLogin(intruder)) throw new Error(`${intruder} was created`);
      await shot(page, 'admin-bu-refused.png');
      return msg;
    });
  }

  // ---- OPERATOR -------------------------------------------------------------
  if (part('operator')) {
    await check('OPERATOR: Clusters & enrollment and Hosts, nothing else of Administration', async () => {
      await signInAs(page, OPERATOR, '/clusters', 'clusters-overview');
      await page.getByTestId('nav-/clusters').waitFor();
      const links = await adminLinks(page).evaluateAll((els) => els.map((e) => e.getAttribute('data-testid')));
      if (links.join() !== 'nav-/admin/clusters,nav-/admin/hosts') throw new Error(`admin links: ${links.join(', ')}`);
    });
    await check('OPERATOR: hosts can be selected, moved and retired, not registered', async () => {
      await page.getByTestId('nav-/admin/hosts').click();
      await page.getByTestId('admin-host-row').first().waitFor();
      await page.getByTestId('bulk-bar').waitFor();
      if (await page.getByTestId('register-form').count()) throw new Error('the register form is shown');
      if (!(await page.getByTestId('move-form').isVisible()) || !(await page.getByTestId('retire-form').isVisible())) throw new Error('no move or retire');
    });
    await check('OPERATOR: enrollment tokens, but no cluster editing', async () => {
      await page.getByTestId('nav-/admin/clusters').click();
      await page.getByTestId('admin-cluster-row').first().waitFor();
      if (await page.getByTestId('cluster-form').count()) throw new Error('the create form is shown');
      if (await page.getByTestId('cluster-edit').count()) throw new Error('Edit is offered');
      if (await page.getByTestId('cluster-retire').count()) throw new Error('Retire is offered');
      if (!(await page.getByTestId('cluster-enroll').count())) throw new Error('no enrollment button');
    });
  }

  // ---- ADMIN: BUs and clusters ------------------------------------------------
  if (part('org')) {
    const code = `E2B${stamp.slice(-4).toUpperCase()}`;
    const cluster = `e2e-${stamp}-c`;
    await check('ADMIN: creates a BU under Platform, renames it and moves it under Ads', async () => {
      await signInAs(page, ADMIN, '/admin/bus', 'bu-table');
      await page.getByTestId('bu-name').fill('E2E Unit');
      await page.getByTestId('bu-code').fill(code);
      const plat = await page.locator('[data-testid="bu-parent"] option[data-code="PLAT"]').getAttribute('value');
      await page.getByTestId('bu-parent').selectOption(plat);
      await page.getByTestId('bu-create').click();
      const row = page.locator(`[data-testid="bu-row"][data-code="${code}"]`);
      await row.waitFor();
      await row.getByTestId('bu-edit').click();
      const edit = page.getByTestId('bu-edit-form');
      // Its own subtree is no parent for it.
      if (await edit.locator(`[data-testid="bu-edit-parent"] option[data-code="${code}"]`).count()) throw new Error('the BU is offered as its own parent');
      await edit.getByTestId('bu-edit-name').fill('E2E Unit Renamed');
      const ads = await edit.locator('[data-testid="bu-edit-parent"] option[data-code="ADS"]').getAttribute('value');
      await edit.getByTestId('bu-edit-parent').selectOption(ads);
      await edit.getByTestId('bu-save').click();
      await page.locator(`[data-testid="bu-row"][data-code="${code}"]:has-text("E2E Unit Renamed")`).waitFor();
      const bu = await lookup(`query($c: String!) { bu(code: $c) { name active parent { code } } }`, { c: code }, 'bu');
      if (bu.name !== 'E2E Unit Renamed' || bu.parent?.code !== 'ADS') throw new Error(`API: ${JSON.stringify(bu)}`);
    });
    await check('ADMIN: deactivates the BU; a BU with people is refused with the server’s message', async () => {
      const busy = page.locator('[data-testid="bu-row"][data-code="ADS-RANK"]');
      await busy.getByTestId('bu-deactivate').click();
      await busy.getByTestId('bu-deactivate-confirm').click();
      await busy.getByTestId('action-error').waitFor();
      const msg = await text(busy.getByTestId('action-error'));
      const row = page.locator(`[data-testid="bu-row"][data-code="${code}"]`);
      await row.getByTestId('bu-deactivate').click();
      await row.getByTestId('bu-deactivate-confirm').click();
      await row.locator('.badge:has-text("Inactive")').waitFor();
      const bu = await lookup(`query($c: String!) { bu(code: $c) { active } }`, { c: code }, 'bu');
      if (bu.active) throw new Error('still active in the API');
      await shot(page, 'admin-bus.png');
      return `ADS-RANK: ${msg}`;
    });
    await check('ADMIN: creates a cluster, edits it and retires it', async () => {
      await page.goto(`${BASE}/admin/clusters`);
      await page.getByTestId('cluster-form').waitFor();
      await page.getByTestId('cluster-name').fill(cluster);
      await page.getByTestId('cluster-region').fill('e2e-1');
      await page.getByTestId('cluster-kind').selectOption('STREAMING');
      await page.getByTestId('cluster-save').click();
      await page.getByTestId('cluster-search').fill(cluster);
      const row = page.locator(`[data-testid="admin-cluster-row"][data-name="${cluster}"]`);
      await row.waitFor();
      await row.getByTestId('cluster-edit').click();
      await page.getByTestId('cluster-edit-region').fill('e2e-2');
      await page.getByTestId('cluster-edit-save').click();
      await page.locator(`[data-testid="admin-cluster-row"][data-name="${cluster}"]:has-text("e2e-2")`).waitFor();
      await row.getByTestId('cluster-retire').click();
      await page.getByTestId('cluster-retire-reason').fill('e2e: done');
      await page.getByTestId('cluster-retire-confirm').click();
      await page.locator(`[data-testid="admin-cluster-row"][data-name="${cluster}"][data-status="RETIRED"]`).waitFor();
      const c = await lookup(`query($n: String!) { cluster(name: $n) { region kind status } }`, { n: cluster }, 'cluster');
      if (c.region !== 'e2e-2' || c.kind !== 'STREAMING' || c.status !== 'RETIRED') throw new Error(`API: ${JSON.stringify(c)}`);
    });
  }

  // ---- ADMIN: hosts ---------------------------------------------------------
  if (part('hosts')) {
    const names = [`e2e-${stamp}-01`, `e2e-${stamp}-02`, `e2e-${stamp}-03`];

    await check('ADMIN: every Administration screen in the nav', async () => {
      await signInAs(page, ADMIN, '/clusters', 'clusters-overview');
      await page.getByTestId('nav-/clusters').waitFor();
      const links = await adminLinks(page).evaluateAll((els) => els.map((e) => e.getAttribute('data-testid')));
      if (links.length !== 5) throw new Error(`admin links: ${links.join(', ')}`);
    });

    await check('ADMIN: a bad pasted line is caught before sending', async () => {
      await page.getByTestId('nav-/admin/hosts').click();
      await page.getByTestId('register-form').waitFor();
      await page.getByTestId('register-hosts').fill(`${names[0]}\nnot a host!\n`);
      await page.getByTestId('register-line-errors').waitFor();
      const msg = await text(page.getByTestId('register-line-errors'));
      if (!/line 2/.test(msg)) throw new Error(msg);
      if (!(await page.getByTestId('register-submit').isDisabled())) throw new Error('Register is enabled');
      return msg;
    });

    await check('ADMIN: registers hosts by pasting hostnames', async () => {
      const opt = page.locator(`[data-testid="register-cluster"] option[data-name="${CLUSTER}"]`);
      await page.getByTestId('register-cluster').selectOption(await opt.getAttribute('value'));
      await page.getByTestId('register-hosts').fill(`# new rack\n${names[0]} r-e2e 10.99.0.1\n${names[1]}, r-e2e\n${names[2]}\n`);
      const preview = await text(page.getByTestId('register-preview'));
      if (!preview.startsWith('3 hosts to register')) throw new Error(preview);
      await page.getByTestId('register-submit').click();
      await page.locator('[data-testid="register-ok"], [data-testid="action-error"], [data-testid="register-refused"]').first().waitFor();
      const ok = await page.getByTestId('register-ok').isVisible();
      if (!ok) throw new Error(await text(page.getByTestId('register-form')));
      const msg = await text(page.getByTestId('register-ok'));
      if (!/^3 registered, 0 updated/.test(msg)) throw new Error(msg);
      if ((await page.getByTestId('register-hosts').inputValue()).trim()) throw new Error('the box was not emptied');
      const h = await hostByName(names[0]);
      if (!h || h.cluster.name !== CLUSTER || h.rack !== 'r-e2e' || h.ip !== '10.99.0.1') throw new Error(`API: ${JSON.stringify(h)}`);
      const h2 = await hostByName(names[1]);
      if (!h2 || h2.rack !== 'r-e2e' || h2.ip) throw new Error(`API: ${JSON.stringify(h2)}`);
      return msg;
    });

    await check('ADMIN: the new hosts are listed in their cluster', async () => {
      await page.getByTestId('hosts-search').fill(`e2e-${stamp}`);
      for (const n of names) await page.locator(`[data-testid="admin-host-row"][data-hostname="${n}"][data-cluster="${CLUSTER}"]`).waitFor();
      const rows = await page.getByTestId('admin-host-row').count();
      if (rows !== 3) throw new Error(`${rows} rows`);
    });

    await check('ADMIN: retires one selected host with a reason', async () => {
      const row = page.locator(`[data-testid="admin-host-row"][data-hostname="${names[1]}"]`);
      await row.getByTestId('host-select').check();
      if ((await text(page.getByTestId('selected-count'))) !== '1 selected') throw new Error(await text(page.getByTestId('selected-count')));
      await page.getByTestId('retire-reason').fill('e2e: never racked');
      await page.getByTestId('retire-submit').click();
      await page.getByTestId('retire-confirm').click();
      await page.getByTestId('action-ok').waitFor();
      await page.locator(`[data-testid="admin-host-row"][data-hostname="${names[1]}"][data-state="DECOMMISSIONED"]`).waitFor();
      const h = await hostByName(names[1]);
      if (h.state !== 'DECOMMISSIONED' || h.stateReason !== 'e2e: never racked') throw new Error(`API: ${JSON.stringify(h)}`);
      for (const n of [names[0], names[2]]) {
        const other = await hostByName(n);
        if (other.state === 'DECOMMISSIONED') throw new Error(`${n} was retired too`);
      }
      await shot(page, 'admin-hosts.png');
      return await text(page.getByTestId('action-ok'));
    });

    await check('ADMIN: moves one selected host to another cluster', async () => {
      const row = page.locator(`[data-testid="admin-host-row"][data-hostname="${names[2]}"]`);
      await row.getByTestId('host-select').check();
      const opt = page.locator(`[data-testid="move-cluster"] option[data-name="${OTHER_CLUSTER}"]`);
      await page.getByTestId('move-cluster').selectOption(await opt.getAttribute('value'));
      await page.getByTestId('move-submit').click();
      await page.locator(`[data-testid="action-ok"]:has-text("moved to ${OTHER_CLUSTER}")`).waitFor();
      // The list is filtered to the first cluster: the moved host leaves it.
      await page.locator(`[data-testid="admin-host-row"][data-hostname="${names[2]}"]`).waitFor({ state: 'detached' });
      const h = await hostByName(names[2]);
      if (h.cluster.name !== OTHER_CLUSTER) throw new Error(`API: ${JSON.stringify(h)}`);
    });
  }

  // ---- ADMIN: enrollment ----------------------------------------------------
  if (part('enroll')) {
    await check('ADMIN: an enrollment token is shown once with the agent command', async () => {
      await signInAs(page, ADMIN, '/admin/clusters', 'admin-clusters-table');
      const row = page.locator(`[data-testid="admin-cluster-row"][data-name="${CLUSTER}"]`);
      await row.getByTestId('cluster-enroll').click();
      await page.getByTestId('enroll-name').fill(`e2e rollout ${stamp}`);
      await page.getByTestId('enroll-create').click();
      await page.locator('[data-testid="enroll-secret-box"], [data-testid="action-error"]').first().waitFor();
      if (!(await page.getByTestId('enroll-secret-box').isVisible())) throw new Error(await text(page.getByTestId('action-error')));
      const secret = await text(page.getByTestId('enroll-secret'));
      const command = await text(page.getByTestId('enroll-command'));
      if (!secret || !command.includes(secret) || !command.startsWith('tesla agent')) throw new Error(`${secret} / ${command}`);
      await shot(page, 'admin-enroll.png');
      await page.getByTestId('enroll-secret-done').click();
      if (await page.getByTestId('enroll-secret').count()) throw new Error('the secret is still shown');
      return command.replace(secret, `${secret.slice(0, 8)}…`);
    });
  }

  // ---- ADMIN: import --------------------------------------------------------
  if (part('import')) {
    const code = `E2E${stamp.slice(-4).toUpperCase()}`;
    const yaml = `bus:\n  - code: ${code}\n    name: E2E Imported\n    parent: PLAT\npeople:\n  - login: e2e-imported-${stamp}\n    name: Imported Person\n    bu: ${code}\n    role: VIEWER\n`;
    await check('ADMIN: an inventory dry run shows the diff, and writes nothing', async () => {
      await signInAs(page, ADMIN, '/admin/import', 'admin-import-page');
      await page.getByTestId('import-content').fill(yaml);
      await page.getByTestId('import-dry-run').click();
      await page.locator('[data-testid="import-diff"], [data-testid="import-errors"], [data-testid="action-error"]').first().waitFor();
      if (!(await page.getByTestId('import-diff').isVisible())) throw new Error(await text(page.locator('[role="alert"]').first()));
      await page.locator(`[data-testid="import-change"][data-entity="BU"][data-key="${code}"][data-action="CREATE"]`).waitFor();
      await page.locator(`[data-testid="import-change"][data-entity="PERSON"][data-action="CREATE"]`).waitFor();
      if (await buByCode(code)) throw new Error('the dry run wrote the BU');
      await shot(page, 'admin-import.png');
      return await text(page.getByTestId('import-summary'));
    });
    await check('ADMIN: the import applies what the dry run showed', async () => {
      await page.getByTestId('import-apply').click();
      await page.locator('[data-testid="import-applied"], [data-testid="import-errors"], [data-testid="action-error"]').first().waitFor();
      if (!(await page.getByTestId('import-applied').isVisible())) throw new Error(await text(page.locator('[role="alert"]').first()));
      const p = await personByLogin(`e2e-imported-${stamp}`);
      if (!p || p.bu.code !== code) throw new Error(`API: ${JSON.stringify(p)}`);
      const msg = await text(page.getByTestId('import-applied'));
      if (!/1 BU created, 1 person created/.test(msg)) throw new Error(msg);
      return msg;
    });
  }
} catch (err) {
  run.report(false, 'run', String(err?.message ?? err));
}
finish();
