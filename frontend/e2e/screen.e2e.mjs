#!/usr/bin/env node
// screen.e2e.mjs — browser test of the service big-screen (/screen) at
// 1920×1080 against a running server (the Go binary; `make e2e` starts one on a seeded demo fleet),
// with an optional server-restart survival test.
//
// Env:
//   TESLA_URL                 base URL, e.g. http://127.0.0.1:8080 (required)
//   TESLA_TOKEN               an API token that may read platform data (required)
//   TESLA_RESTART             "1" to run the restart protocol below
//   TESLA_PULSE_TIMEOUT_MS    how long to wait for a pulse (default 90000)
//   TESLA_RESTART_WAIT_MS     how long to wait for RESTARTED on stdin (default 60000)
//   TESLA_RECOVER_TIMEOUT_MS  how long, after RESTARTED, for a new pulse (default 120000)
//   E2E_ARTIFACTS             screenshot folder (default frontend/e2e/artifacts):
//                             screen.png, screen-after-restart.png
//   CHROMIUM_PATH             browser binary (default /usr/bin/chromium)
//
// Restart protocol (TESLA_RESTART=1): after the first pulse has been shown the
// script prints a line exactly "RESTART-NOW" on stdout and waits for a line
// "RESTARTED" on stdin. Meanwhile the harness stops the server and starts a new
// one on the same address with the same database. The script then checks that
// the screen noticed (it showed "reconnecting…", or its connection dropped and
// came back), that a pulse newer than any before RESTARTED arrives within
// TESLA_RECOVER_TIMEOUT_MS, and that the page was never reloaded (a marker set
// in the page survives, one navigation entry, same timeOrigin).
//
// Prints one line per check ("ok   ..." / "FAIL ..."), then exactly one line
// "N passed, N failed". Exit 0 only when nothing failed; 1 on a failed check, a
// page error or a console error (connection errors while the server is down are
// expected and ignored); 2 on a usage error. The whole run is capped.

import readline from 'node:readline';
import { assert, createRun, sleep } from './e2e-lib.mjs';

const RESTART = process.env.TESLA_RESTART === '1';
const PULSE_TIMEOUT = Number(process.env.TESLA_PULSE_TIMEOUT_MS ?? 90_000);
const RESTART_WAIT = Number(process.env.TESLA_RESTART_WAIT_MS ?? 60_000);
const RECOVER_TIMEOUT = Number(process.env.TESLA_RECOVER_TIMEOUT_MS ?? 120_000);

const run = createRun({
  script: 'screen',
  usage: 'TESLA_URL=http://127.0.0.1:8080 TESLA_TOKEN=tsl_... [TESLA_RESTART=1] node e2e/screen.e2e.mjs',
  totalTimeoutMs: 60_000 + PULSE_TIMEOUT + (RESTART ? RESTART_WAIT + RECOVER_TIMEOUT : 0),
});
const { BASE, check } = run;

// stdin lines, read from the start so an early RESTARTED is not lost.
const lines = [];
let lineWaiter = null;
let stdinClosed = false;
if (RESTART) {
  const rl = readline.createInterface({ input: process.stdin });
  rl.on('line', (l) => {
    lines.push(l.trim());
    lineWaiter?.();
  });
  rl.on('close', () => {
    stdinClosed = true;
    lineWaiter?.();
  });
}
async function waitForLine(text, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const i = lines.indexOf(text);
    if (i >= 0) {
      lines.splice(0, i + 1);
      return;
    }
    if (stdinClosed) throw new Error(`stdin closed before "${text}"`);
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`no "${text}" on stdin within ${Math.round(timeoutMs / 1000)}s`);
    await new Promise((r) => {
      lineWaiter = r;
      setTimeout(r, Math.min(left, 1000));
    });
    lineWaiter = null;
  }
}

/** The screen's data attributes. */
async function screenState(page) {
  return page.getByTestId('big-screen').evaluate((el) => ({
    status: el.dataset.liveStatus,
    pulseAt: el.dataset.pulseAt || '',
    pulses: Number(el.dataset.pulseCount || 0),
    lastUpdate: Number(el.dataset.lastUpdate || 0),
    drops: Number(el.dataset.drops || 0),
    source: el.dataset.source,
  }));
}

async function waitFor(page, pred, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  let last = null;
  while (Date.now() < deadline) {
    last = await screenState(page).catch(() => null);
    if (last && pred(last)) return last;
    await sleep(250);
  }
  throw new Error(`${what} not within ${Math.round(timeoutMs / 1000)}s (last: ${JSON.stringify(last)})`);
}

const page = await run.launch({ viewport: { width: 1920, height: 1080 } });
if (page) {
  const signedIn = await check('/screen asks for sign-in, then shows the screen in place', async () => {
    const res = await page.goto(`${BASE}/screen`, { waitUntil: 'domcontentloaded' });
    assert(res && res.ok(), `GET /screen answered ${res?.status()}`);
    await run.signIn(page, 'big-screen');
    await page.getByTestId('big-screen').waitFor({ state: 'visible' });
    assert(new URL(page.url()).pathname === '/screen', `now at ${page.url()}`);
    assert((await page.locator('.sidenav').count()) === 0, 'the app navigation is shown');
  });

  if (signedIn) {
    // A marker that only survives if the page is never reloaded.
    const marker = `e2e-${Math.random().toString(36).slice(2)}`;
    const before = await page.evaluate((m) => {
      window.__e2eMarker = m;
      return { load: window.__teslaLoad?.id ?? null, origin: performance.timeOrigin, navs: performance.getEntriesByType('navigation').length };
    }, marker);

    await check('key panels render: KPIs, levels, clusters, at-risk, sick hosts, trend, clock', async () => {
      for (const id of ['screen-kpis', 'screen-levels', 'screen-clusters', 'screen-risks', 'screen-sick-hosts', 'screen-trend', 'screen-clock', 'screen-last-update']) {
        await page.getByTestId(id).waitFor({ state: 'visible', timeout: 20_000 });
      }
      await page.getByTestId('screen-cluster-tile').first().waitFor({ state: 'visible' });
      await page.getByTestId('screen-trend-chart').locator('canvas').first().waitFor({ state: 'visible' });
      const tiles = await page.getByTestId('screen-cluster-tile').count();
      const hosts = (await page.getByTestId('kpi-hosts').locator('.bs-kpi-value').textContent())?.trim();
      return `${tiles} cluster tiles, ${hosts} hosts`;
    });

    await check('the clock ticks', async () => {
      // A tick is due every second, but a busy machine can hold the page's
      // timers back; the clock must move within a few seconds, not exactly one.
      const clock = page.getByTestId('screen-clock').locator('.bs-time');
      const a = await clock.textContent();
      let b = a;
      for (const deadline = Date.now() + 6000; b === a && Date.now() < deadline; ) {
        await sleep(250);
        b = await clock.textContent();
      }
      assert(a !== b, `clock still at ${a} after 6 s`);
      return `${a} → ${b}`;
    });

    await check('the websocket goes live', async () => {
      await waitFor(page, (s) => s.status === 'live', 20_000, 'live status');
    });

    let first = null;
    const pulsed = await check('a pulse arrives and "last update" moves', async () => {
      const s0 = await screenState(page);
      first = await waitFor(page, (s) => s.pulses >= 1 && s.pulseAt !== '' && s.lastUpdate > s0.lastUpdate, PULSE_TIMEOUT, 'a pulse');
      const age = await page.getByTestId('screen-last-update').getAttribute('data-age-ms');
      assert(Number(age) < 5000, `last update shown as ${age} ms old`);
      await sleep(500);
      await run.shot(page, 'screen.png');
      return `pulse at ${first.pulseAt} · screen.png`;
    });

    await check('the page fits 1920×1080 without scrolling', async () => {
      const dims = await page.evaluate(() => ({ w: document.documentElement.scrollWidth, h: document.documentElement.scrollHeight }));
      assert(dims.w <= 1920 && dims.h <= 1080, `page is ${dims.w}×${dims.h}`);
    });

    await check('it still fits at 1280×720', async () => {
      await page.setViewportSize({ width: 1280, height: 720 });
      await sleep(300);
      const box = await page.locator('.bs-stage').boundingBox();
      assert(box && box.width <= 1281 && box.height <= 721, `stage is ${box?.width}×${box?.height}`);
      await page.setViewportSize({ width: 1920, height: 1080 });
      await sleep(300);
      return `stage ${Math.round(box.width)}×${Math.round(box.height)}`;
    });

    if (RESTART && pulsed) {
      // Connection errors while the server is away are expected, not failures.
      run.setTolerate((msg) => /WebSocket|ERR_CONNECTION|ERR_EMPTY_RESPONSE|net::ERR|Failed to load resource|status of 50[23]/.test(msg));
      let sawReconnecting = false;
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          const s = await screenState(page).catch(() => null);
          const badge = await page.getByTestId('screen-reconnecting').isVisible().catch(() => false);
          if (badge || (s && s.status === 'reconnecting')) sawReconnecting = true;
          await sleep(200);
        }
      })();
      const drops0 = (await screenState(page)).drops;

      let lastBefore = null;
      const restarted = await check('server restart: RESTART-NOW → RESTARTED', async () => {
        console.log('RESTART-NOW');
        await waitForLine('RESTARTED', RESTART_WAIT);
        lastBefore = await screenState(page);
        return `last pulse before: ${lastBefore.pulseAt}`;
      });

      if (restarted) {
        await check('the screen shows the reconnecting state or recovers', async () => {
          const s = await waitFor(page, (x) => x.status === 'live' || x.status === 'reconnecting', 10_000, 'a state');
          const dropped = s.drops > drops0;
          assert(sawReconnecting || dropped, `never showed reconnecting and never dropped (status ${s.status}, drops ${s.drops})`);
          return sawReconnecting ? 'showed "reconnecting…"' : `connection dropped ${s.drops - drops0}× and came back`;
        });

        await check('a new pulse arrives after the restart without a reload', async () => {
          const t0 = Date.parse(lastBefore.pulseAt);
          const s = await waitFor(page, (x) => x.status === 'live' && Date.parse(x.pulseAt) > t0, RECOVER_TIMEOUT, 'a pulse after the restart');
          const after = await page.evaluate(() => ({
            marker: window.__e2eMarker ?? null,
            load: window.__teslaLoad?.id ?? null,
            origin: performance.timeOrigin,
            navs: performance.getEntriesByType('navigation').length,
          }));
          assert(after.marker === marker, 'the page marker is gone: the page was reloaded');
          assert(after.load === before.load && after.origin === before.origin && after.navs === before.navs, `navigation changed: ${JSON.stringify({ before, after })}`);
          await sleep(400);
          await run.shot(page, 'screen-after-restart.png');
          return `pulse at ${s.pulseAt} (was ${lastBefore.pulseAt}) · screen-after-restart.png`;
        });
      }
      sampling = false;
      await sampler;
      run.setTolerate(null);
    }
  }

  run.clearWatchdog();
  if (!signedIn) await run.shot(page, 'failure.png').catch(() => undefined);
  run.finish();
}
