#!/usr/bin/env node
// screen-soak.mjs — a memory soak of the big screen: keeps /screen open while
// pulses arrive from a running server (`make run`: the demo rolls up every minute) and
// samples the JS heap after a forced GC, the DOM node count and the event
// listener count. Passes when none of them keeps growing: the heap at the end
// is at most 1.5× (+2 MB) the heap a third of the way in, the DOM and the
// listeners stay within a few of their first value, and the trend history
// stays within its bound.
//
// Env: TESLA_URL, TESLA_TOKEN (required), SOAK_SECONDS (default 150),
//      E2E_ARTIFACTS, CHROMIUM_PATH.
// Prints one line per check, then "N passed, N failed".

import { assert, createRun, sleep } from './e2e-lib.mjs';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 150);
const run = createRun({ script: 'screen-soak', usage: 'TESLA_URL=... TESLA_TOKEN=... [SOAK_SECONDS=150] node e2e/screen-soak.mjs', totalTimeoutMs: (SECONDS + 60) * 1000 });
const page = await run.launch({ viewport: { width: 1920, height: 1080 } });
if (page) {
  const ok = await run.check('sign in on /screen', async () => {
    await page.goto(`${run.BASE}/screen`, { waitUntil: 'domcontentloaded' });
    await run.signIn(page, 'big-screen');
    await page.getByTestId('screen-kpis').waitFor({ state: 'visible', timeout: 20_000 });
  });
  if (ok) {
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Performance.enable');
    const sample = async () => {
      await cdp.send('HeapProfiler.collectGarbage');
      const heap = (await cdp.send('Runtime.getHeapUsage')).usedSize;
      const m = Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map((x) => [x.name, x.value]));
      const el = page.getByTestId('big-screen');
      return { heap, nodes: m.Nodes, listeners: m.JSEventListeners, pulses: Number(await el.getAttribute('data-pulse-count')), trend: Number(await el.getAttribute('data-trend-samples')) };
    };
    const samples = [];
    const every = Math.max(5, Math.round(SECONDS / 10));
    for (let t = 0; t <= SECONDS; t += every) {
      const s = await sample();
      samples.push(s);
      console.log(`#    t=${t}s pulses=${s.pulses} trend=${s.trend} heap=${(s.heap / 1e6).toFixed(1)}MB nodes=${s.nodes} listeners=${s.listeners}`);
      if (t + every <= SECONDS) await sleep(every * 1000);
    }
    const first = samples[0];
    const third = samples[Math.floor(samples.length / 3)];
    const last = samples.at(-1);
    await run.check('pulses kept arriving', async () => {
      assert(last.pulses > first.pulses, `pulse count stayed at ${last.pulses}`);
      return `${last.pulses - first.pulses} pulses`;
    });
    await run.check('the JS heap does not keep growing', async () => {
      assert(last.heap <= third.heap * 1.5 + 2e6, `${(third.heap / 1e6).toFixed(1)} MB → ${(last.heap / 1e6).toFixed(1)} MB`);
      return `${(third.heap / 1e6).toFixed(1)} MB → ${(last.heap / 1e6).toFixed(1)} MB`;
    });
    await run.check('DOM nodes and event listeners stay flat', async () => {
      assert(last.nodes <= first.nodes + 40, `nodes ${first.nodes} → ${last.nodes}`);
      assert(last.listeners <= first.listeners + 10, `listeners ${first.listeners} → ${last.listeners}`);
      return `nodes ${first.nodes} → ${last.nodes}, listeners ${first.listeners} → ${last.listeners}`;
    });
    await run.check('the trend history stays bounded', async () => {
      assert(samples.every((s) => s.trend <= 720), `trend reached ${Math.max(...samples.map((s) => s.trend))}`);
    });
  }
  run.clearWatchdog();
  run.finish();
}
