// @vitest-environment jsdom
// The big screen inside the app: it shows the platform from its first query
// while the websocket is down (with the "reconnecting…" badge), and when the
// session is gone it turns into a sign-in prompt instead of crashing.
import { act } from 'react';
import { createRoot, type Root } from 'react-dom/client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { LiveInfo } from '../src/lib/live';

vi.mock('../src/components/LazyChart', () => ({ Chart: (p: { testId?: string }) => <div data-testid={p.testId} className="chart" /> }));
const liveInfo: LiveInfo = { status: 'reconnecting', attempt: 2, nextRetryAt: null, lastError: 'socket closed (1006)', drops: 1, lastMessageAt: null };
vi.mock('../src/lib/useLive', () => ({ useLiveSubscription: () => liveInfo }));

import { App } from '../src/app/App';

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

const json = (b: unknown, status = 200) => new Response(JSON.stringify(b), { status, headers: { 'content-type': 'application/json' } });
// The data as the server sends it: Graphcache needs every __typename and id the query asks for.
const level = (dimension: string, utilization: number) => ({ __typename: 'WatermarkLevel', dimension, utilization, status: utilization > 0.7 ? 'CRITICAL' : 'OK', threshold: 0.7 });
const cluster = (id: string, name: string, kind: string) => ({ __typename: 'Cluster', id, name, kind });
const platform = {
  __typename: 'Platform',
  clusterCount: 2,
  hostCounts: { __typename: 'HostCounts', total: 100, online: 90, degraded: 5, offline: 3, maintenance: 1, decommissioned: 0, repairing: 1 },
  capacity: { __typename: 'ClusterCapacity', cpuCores: 3200, memoryBytes: 2 ** 44, diskBytes: 2 ** 50, nicBitsPerSecond: 2.5e12 },
  levels: [level('CPU', 0.5), level('MEMORY', 0.4)],
  watermarks: [
    { __typename: 'ClusterWatermark', cluster: cluster('c1', 'rt-bj-01', 'STREAMING'), worst: level('CPU', 0.75), levels: [level('CPU', 0.75)] },
    { __typename: 'ClusterWatermark', cluster: cluster('c2', 'batch-sh-01', 'BATCH'), worst: level('MEMORY', 0.3), levels: [level('MEMORY', 0.3)] },
  ],
  clustersAtRisk: [
    { __typename: 'ClusterRisk', cluster: cluster('c1', 'rt-bj-01', 'STREAMING'), dimension: 'CPU', utilization: 0.75, threshold: 0.7, crossesAt: null, daysToThreshold: 0, reason: 'over' },
  ],
  recentSickHosts: [
    {
      __typename: 'Host',
      id: 'h7',
      hostname: 'rt-bj-01-node0007.dc.example',
      state: 'OFFLINE',
      stateReason: 'missed 5 heartbeats',
      cluster: { __typename: 'Cluster', id: 'c1', name: 'rt-bj-01' },
      lastHeartbeat: null,
    },
  ],
};

let host: HTMLDivElement;
let root: Root;
beforeEach(() => {
  window.history.replaceState(null, '', '/screen');
  host = document.createElement('div');
  document.body.appendChild(host);
  root = createRoot(host);
});
afterEach(() => {
  act(() => root.unmount());
  host.remove();
  vi.unstubAllGlobals();
});

function stubServer(query: (op: string) => Response) {
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: RequestInfo | URL, init?: RequestInit) => {
      if (String(url).endsWith('/api/v1/session')) return json({ person: { login: 'ops', name: 'Ops', role: 'VIEWER' }, csrfToken: 'c' });
      return query(JSON.parse(String(init?.body)).operationName);
    }),
  );
}

describe('big screen', () => {
  it('shows the platform from the first query while the websocket reconnects', async () => {
    stubServer((op) => (op === 'ScreenInitial' ? json({ data: { platform } }) : json({ errors: [{ message: 'not implemented', extensions: { code: 'INTERNAL' } }] })));
    await act(async () => root.render(<App />));
    await vi.waitFor(() => expect(host.querySelector('[data-testid="screen-kpis"]')).not.toBeNull());
    expect(host.querySelector('.sidenav')).toBeNull();
    expect(host.querySelector('[data-testid="kpi-hosts"] .bs-kpi-value')?.textContent).toBe('100');
    expect(host.querySelectorAll('[data-testid="screen-cluster-tile"]')).toHaveLength(2);
    // the cluster at risk comes first
    expect(host.querySelector('[data-testid="screen-cluster-tile"] .bs-tile-name')?.textContent).toBe('rt-bj-01');
    expect(host.querySelector('[data-testid="screen-reconnecting"]')?.textContent).toMatch(/reconnecting/);
    expect(host.querySelector('[data-testid="big-screen"]')?.getAttribute('data-source')).toBe('poll');
    expect(host.querySelector('[data-testid="screen-sick-hosts"]')?.textContent).toContain('rt-bj-01-node0007');
  });

  it("shows the month's cost with its idle share and the efficiency lists", async () => {
    const line = (id: string, name: string, amount: string, idleShare: string) => ({ __typename: 'BillLine', entityId: id, name, amount, idleShare });
    const entry = (rank: number, name: string, display: string, movement: number | null) => ({ __typename: 'LeaderboardEntry', rank, movement, subjectId: `p${name}`, name, context: 'Ads', display });
    const answers: Record<string, unknown> = {
      ScreenInitial: { platform },
      ScreenCost: {
        byCluster: { __typename: 'Bill', currency: 'USD', total: '1000.00', totalCount: 2, lines: [line('c1', 'rt-bj-01', '700.00', '210.00'), line('c2', 'batch-sh-01', '300.00', '40.00')] },
        byResource: { __typename: 'Bill', lines: [{ __typename: 'BillLine', resource: 'CPU', amount: '600.00' }, { __typename: 'BillLine', resource: 'IDLE', amount: '250.00' }] },
      },
      ScreenBoards: {
        red: { __typename: 'Leaderboard', computedAt: '2026-11-30T00:00:00Z', rankedCount: 9, platformMedian: 0.5, entries: [entry(1, 'ann', '91%', 2), entry(2, 'bob', '88%', null)] },
        black: { __typename: 'Leaderboard', computedAt: '2026-11-30T00:00:00Z', entries: [entry(1, 'cid', '12%', -1)] },
      },
    };
    stubServer((op) => (op in answers ? json({ data: answers[op] }) : json({ errors: [{ message: 'not implemented', extensions: { code: 'INTERNAL' } }] })));
    await act(async () => root.render(<App />));
    await vi.waitFor(() => expect(host.querySelectorAll('[data-testid="screen-board-entry"]')).toHaveLength(3));
    expect(host.querySelector('[data-testid="screen-cost-total"]')?.textContent).toBe('1,000');
    expect(host.querySelector('[data-testid="screen-cost-idle"]')?.textContent).toContain('25.0%');
    expect(host.querySelectorAll('[data-testid="screen-cost-line"]')).toHaveLength(2);
    expect(host.querySelector('[data-testid="screen-board-black"]')?.textContent).toContain('▼1');
    // The live panels are still there.
    expect(host.querySelectorAll('[data-testid="screen-cluster-tile"]')).toHaveLength(2);
  });

  it('shows the running operations with their progress', async () => {
    const op = (id: string, kind: string, state: string, progress: number, cluster: string) => ({
      __typename: 'Operation',
      id,
      kind,
      state,
      progress,
      cluster: { __typename: 'Cluster', id: `c-${cluster}`, name: cluster },
    });
    const answers: Record<string, unknown> = {
      ScreenInitial: { platform },
      ScreenOperations: { activeOperations: [op('o1', 'RESTART', 'RUNNING', 0.42, 'rt-bj-01'), op('o2', 'UPGRADE', 'PAUSED', 0.1, 'batch-sh-01')] },
    };
    stubServer((op) => (op in answers ? json({ data: answers[op] }) : json({ errors: [{ message: 'not implemented', extensions: { code: 'INTERNAL' } }] })));
    await act(async () => root.render(<App />));
    await vi.waitFor(() => expect(host.querySelectorAll('[data-testid="screen-operation"]')).toHaveLength(2));
    const first = host.querySelector('[data-testid="screen-operation"]')!;
    expect(first.textContent).toContain('rt-bj-01');
    expect(first.textContent).toContain('42%');
    expect(host.querySelectorAll('[data-testid="screen-operation"]')[1].textContent).toContain('paused');
  });

  it('asks for sign-in (on a dark page) when the session is gone', async () => {
    stubServer(() => json({ errors: [{ message: 'authentication required', extensions: { code: 'UNAUTHENTICATED' } }] }, 401));
    await act(async () => root.render(<App />));
    await vi.waitFor(() => expect(host.querySelector('[data-testid="signin-form"]')).not.toBeNull());
    expect(host.querySelector('.signin-page')?.classList.contains('signin-dark')).toBe(true);
    expect(host.textContent).toContain('Your session has ended');
    expect(window.location.pathname).toBe('/screen');
  });
});
