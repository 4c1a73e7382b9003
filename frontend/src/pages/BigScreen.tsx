// The service big-screen (/screen): a wall display of the whole platform, built
// to run unattended for days. A 1920×1080 stage scaled to the window; dark,
// large type. Data: the ScreenInitial query at start, then platformPulse over
// the websocket (supervised: reconnects with back-off forever, "reconnecting…"
// badge), plus a slow polling fallback while the socket is down or silent.
// The cost and leaderboard panels are fetched on the first update and again
// every few minutes with the pulses. Bounded state only: the trend keeps the last TREND_LIMIT pulses; charts are
// disposed on unmount; timers are cleared.

import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { useClient } from 'urql';
import { graphql, type ResultOf } from '../graphql';
import { CapacityFields, HostCountsFields, RiskFields } from '../graphql/fragments';
import { useLiveSubscription } from '../lib/useLive';
import type { LiveInfo } from '../lib/live';
import { DIMENSION_LABEL, DIMENSIONS, formatDaysTo, formatUtil, heatColor, levelFor, sortClustersByRisk, STATUS_COLOR_DARK, type WatermarkDimension } from '../lib/watermark';
import { formatBytes, formatNumber, formatRelative, humanizeEnum } from '../lib/format';
import { mergeSamples, pushBounded, screenTrendOption, seriesToSamples, type TrendSample } from '../lib/charts';
import { codeOf, messageOf } from '../lib/errors';
import { Chart } from '../components/LazyChart';
import './bigscreen.css';

const ScreenLevelFields = graphql(`
  fragment ScreenLevelFields on WatermarkLevel {
    dimension
    utilization
    status
    threshold
  }
`);

const ScreenPlatformFields = graphql(
  `
    fragment ScreenPlatformFields on Platform {
      clusterCount
      hostCounts {
        ...HostCountsFields
      }
      capacity {
        ...CapacityFields
      }
      levels {
        ...ScreenLevelFields
      }
      watermarks {
        cluster {
          id
          name
          kind
        }
        worst {
          ...ScreenLevelFields
        }
        levels {
          ...ScreenLevelFields
        }
      }
      clustersAtRisk {
        ...RiskFields
      }
      recentSickHosts(first: 10) {
        id
        hostname
        state
        stateReason
        cluster {
          id
          name
        }
        lastHeartbeat
      }
    }
  `,
  [HostCountsFields, CapacityFields, ScreenLevelFields, RiskFields],
);

export const ScreenInitial = graphql(
  `
    query ScreenInitial {
      platform {
        ...ScreenPlatformFields
      }
    }
  `,
  [ScreenPlatformFields],
);

/** The big screen's trend backfill: the platform's levels over the last hours. */
export const ScreenTrend = graphql(`
  query ScreenTrend($from: Time, $to: Time) {
    platform {
      watermarkSeries(dimensions: [CPU, MEMORY, DISK_IO, NET_IN], from: $from, to: $to, maxPoints: 180) {
        dimension
        points {
          ts
          utilization
        }
      }
    }
  }
`);

export const ScreenPulse = graphql(
  `
    subscription ScreenPulse {
      platformPulse {
        at
        platform {
          ...ScreenPlatformFields
        }
      }
    }
  `,
  [ScreenPlatformFields],
);

/** The open severe anomalies (newest first) and how many severe ones are acknowledged. */
export const ScreenAnomalies = graphql(`
  query ScreenAnomalies {
    open: anomalies(filter: { statuses: [OPEN], minSeverity: HIGH }, first: 4) {
      totalCount
      nodes {
        id
        metric
        severity
        startedAt
        host {
          id
          hostname
        }
        cluster {
          id
          name
        }
      }
    }
    acknowledged: anomalies(filter: { statuses: [ACKNOWLEDGED], minSeverity: HIGH }, first: 1) {
      totalCount
    }
  }
`);

/** The platform's cost this month: the total, the idle share and the costliest clusters. */
export const ScreenCost = graphql(`
  query ScreenCost($period: BillPeriodInput!) {
    byCluster: bills(groupBy: CLUSTER, period: $period, first: 5) {
      currency
      total
      totalCount
      lines {
        entityId
        name
        amount
        idleShare
      }
    }
    byResource: bills(groupBy: RESOURCE, period: $period, first: 10) {
      lines {
        resource
        amount
      }
    }
  }
`);

/** The red and black top 5 of people by efficiency this week. */
export const ScreenBoards = graphql(`
  query ScreenBoards {
    red: leaderboard(level: PERSON, list: RED, metric: EFFICIENCY, period: WEEK, first: 5) {
      computedAt
      rankedCount
      platformMedian
      entries {
        rank
        movement
        subjectId
        name
        context
        display
      }
    }
    black: leaderboard(level: PERSON, list: BLACK, metric: EFFICIENCY, period: WEEK, first: 5) {
      computedAt
      entries {
        rank
        movement
        subjectId
        name
        context
        display
      }
    }
  }
`);

export type ScreenPlatform = ResultOf<typeof ScreenPlatformFields>;
type ScreenCostData = ResultOf<typeof ScreenCost>;
type ScreenBoardsData = ResultOf<typeof ScreenBoards>;
type ScreenAnomalyData = ResultOf<typeof ScreenAnomalies>;

/** The operations holding their clusters now (Aquila), for the wall: a few, newest first. */
export const ScreenOperations = graphql(`
  query ScreenOperations {
    activeOperations(first: 6) {
      id
      kind
      state
      progress
      cluster {
        id
        name
      }
    }
  }
`);
type ScreenOperationsData = ResultOf<typeof ScreenOperations>;

/** Self-healing for the wall: the hosts healing now (a few, newest first) and the newest open keep-alive alerts. */
export const ScreenHealing = graphql(`
  query ScreenHealing {
    healingAttempts(state: HEALING, first: 4) {
      pageInfo {
        hasNextPage
      }
      nodes {
        id
        hostname
        repair
        cluster {
          id
          name
        }
      }
    }
    keepAliveAlerts(openOnly: true, first: 3) {
      pageInfo {
        hasNextPage
      }
      nodes {
        id
        host {
          id
          hostname
        }
        cluster {
          id
          name
        }
        service
        component
        raisedAt
      }
    }
  }
`);
type ScreenHealingData = ResultOf<typeof ScreenHealing>;

export const STAGE_W = 1920;
export const STAGE_H = 1080;
/** Samples kept for the trend chart (the backfill plus pulses). */
export const TREND_LIMIT = 720;
/** The trend's time window. */
export const TREND_WINDOW_MS = 6 * 3600e3;
/** Backfill the trend from the server this often (and after each reconnect). */
export const TREND_REFRESH_MS = 30 * 60e3;
/** Poll this often while the websocket is down (or silent). */
export const POLL_MS = 30_000;
/** Fetch the severe anomalies again on the next pulse or poll once this old. */
export const ANOMALY_REFRESH_MS = 20_000;
/** Fetch the cost and leaderboard panels again on the next pulse or poll once this old (they change by the day). */
export const MONEY_REFRESH_MS = 5 * 60e3;
/** The data counts as stale (and is polled even while "live") after this long. */
export const STALE_MS = 180_000;
const TREND_DIMS: WatermarkDimension[] = ['CPU', 'MEMORY', 'DISK_IO', 'NET_IN'];
const TREND_HEIGHT = 226;

/** The stage's scale and offset for a window: fit inside, keep 16:9, centre. */
export function fitStage(w: number, h: number): { scale: number; left: number; top: number } {
  const scale = Math.max(0.1, Math.min(w / STAGE_W, h / STAGE_H));
  return { scale, left: Math.max(0, (w - STAGE_W * scale) / 2), top: Math.max(0, (h - STAGE_H * scale) / 2) };
}

function Stage({ children }: { children: ReactNode }) {
  const [fit, setFit] = useState(() => fitStage(window.innerWidth, window.innerHeight));
  useLayoutEffect(() => {
    const onResize = () => setFit(fitStage(window.innerWidth, window.innerHeight));
    window.addEventListener('resize', onResize);
    onResize();
    return () => window.removeEventListener('resize', onResize);
  }, []);
  return (
    <div className="bs-viewport">
      <div className="bs-stage" style={{ width: STAGE_W, height: STAGE_H, transform: `translate(${fit.left}px, ${fit.top}px) scale(${fit.scale})` }}>
        {children}
      </div>
    </div>
  );
}

function Clock({ lastUpdate, info }: { lastUpdate: number | null; info: LiveInfo }) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    // Each tick is scheduled for the next whole second rather than every
    // 1000 ms, so a late timer cannot leave the shown second behind the wall
    // clock for the rest of the session.
    let id: ReturnType<typeof setTimeout>;
    const tick = () => {
      const t = Date.now();
      setNow(t);
      id = setTimeout(tick, 1000 - (t % 1000) + 5);
    };
    id = setTimeout(tick, 1000 - (Date.now() % 1000) + 5);
    return () => clearTimeout(id);
  }, []);
  const d = new Date(now);
  const time = d.toISOString().slice(11, 19);
  const date = d.toLocaleDateString('en-GB', { weekday: 'short', day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' });
  const age = lastUpdate === null ? null : Math.max(0, now - lastUpdate);
  const ageTone = age === null ? 'muted' : age > 300_000 ? 'bad' : age > 120_000 ? 'warn' : 'good';
  return (
    <div className="bs-clock-block">
      <div className={`bs-age bs-age-${ageTone}`} data-testid="screen-last-update" data-age-ms={age ?? ''}>
        <span className="bs-age-label">Last update</span>
        <span className="bs-age-value">{lastUpdate === null ? '—' : formatRelative(new Date(lastUpdate).toISOString(), now)}</span>
      </div>
      <div className="bs-clock" data-testid="screen-clock">
        <div className="bs-time">{time}</div>
        <div className="bs-date">{date} · UTC</div>
      </div>
      {info.status !== 'live' && (
        <div className="bs-reconnecting" data-testid="screen-reconnecting" title={info.lastError ?? undefined}>
          <span className="bs-spin" aria-hidden="true" />
          {info.status === 'reconnecting' ? `reconnecting…${info.attempt > 1 ? ` (try ${info.attempt})` : ''}` : 'connecting…'}
        </div>
      )}
    </div>
  );
}

function Kpi({ label, value, sub, tone, testId }: { label: string; value: ReactNode; sub?: ReactNode; tone?: 'good' | 'warn' | 'bad' | 'muted'; testId?: string }) {
  return (
    <div className={`bs-kpi${tone ? ` bs-kpi-${tone}` : ''}`} data-testid={testId}>
      <div className="bs-kpi-label">{label}</div>
      <div className="bs-kpi-value">{value}</div>
      {sub && <div className="bs-kpi-sub">{sub}</div>}
    </div>
  );
}

function Levels({ p }: { p: ScreenPlatform }) {
  return (
    <div className="bs-levels" data-testid="screen-levels">
      {DIMENSIONS.map((d) => {
        const l = levelFor(p.levels, d);
        const pct = l ? Math.max(0, Math.min(1, l.utilization)) * 100 : 0;
        const color = l ? STATUS_COLOR_DARK[l.status] : '#3b4658';
        return (
          <div key={d} className="bs-level" data-dimension={d}>
            <div className="bs-level-label">{DIMENSION_LABEL[d]}</div>
            <div className="bs-level-track">
              <div className="bs-level-fill" style={{ width: `${pct}%`, background: color }} />
              {l && <div className="bs-level-threshold" style={{ left: `${Math.min(100, l.threshold * 100)}%` }} title={`threshold ${formatUtil(l.threshold)}`} />}
            </div>
            <div className="bs-level-value" style={{ color: l && l.status !== 'OK' ? color : undefined }}>
              {l ? formatUtil(l.utilization) : '—'}
            </div>
          </div>
        );
      })}
    </div>
  );
}

/** The cluster panel's inner size on the stage (stage pixels). */
export const CLUSTER_AREA = { width: 724, height: 420 };

/**
 * Columns for n cluster tiles in a w×h area: the count whose tiles come
 * closest to a 1.6:1 landscape shape (names stay readable), 1 to 8.
 */
export function clusterColumns(n: number, w: number = CLUSTER_AREA.width, h: number = CLUSTER_AREA.height): number {
  if (n <= 1) return 1;
  let best = 1;
  let bestScore = Infinity;
  for (let c = 1; c <= Math.min(8, n); c++) {
    const rows = Math.ceil(n / c);
    const ratio = w / c / (h / rows);
    const score = Math.abs(Math.log(ratio / 1.6));
    if (score < bestScore - 1e-9) {
      best = c;
      bestScore = score;
    }
  }
  return best;
}
const MAX_TILES = 48;

function Clusters({ p }: { p: ScreenPlatform }) {
  const rows = useMemo(() => sortClustersByRisk(p.watermarks, p.clustersAtRisk), [p]);
  const shown = rows.slice(0, MAX_TILES);
  const cols = clusterColumns(shown.length);
  const size = shown.length > 24 ? 'compact' : shown.length > 12 ? 'medium' : 'large';
  return (
    <div className="bs-panel bs-clusters" data-testid="screen-clusters">
      <div className="bs-panel-title">
        Clusters <span className="bs-count">{rows.length}</span>
        {rows.length > shown.length && <span className="bs-more">+{rows.length - shown.length} more</span>}
        <span className="bs-title-note">worst resource against its threshold</span>
      </div>
      <div className={`bs-tiles bs-tiles-${size}`} style={{ gridTemplateColumns: `repeat(${cols}, minmax(0, 1fr))`, gridTemplateRows: `repeat(${Math.max(1, Math.ceil(shown.length / cols))}, minmax(0, 1fr))` }}>
        {shown.map((r) => {
          const w = r.worst;
          const c = heatColor(w?.utilization, w?.threshold, true);
          return (
            <div key={r.cluster.name} className="bs-tile" style={{ background: c.bg, color: c.fg }} data-testid="screen-cluster-tile" data-status={w?.status ?? 'NONE'} title={r.cluster.name}>
              <div className="bs-tile-name">{r.cluster.name}</div>
              <div className="bs-tile-main">
                <span className="bs-tile-util">{w ? formatUtil(w.utilization) : '—'}</span>
                {w && <span className="bs-tile-thr">/ {formatUtil(w.threshold)}</span>}
              </div>
              <div className="bs-tile-foot">
                {w ? DIMENSION_LABEL[w.dimension] : 'no data'}
                {w?.status === 'CRITICAL' && <span className="bs-tile-over">over</span>}
              </div>
            </div>
          );
        })}
        {!rows.length && <div className="bs-empty">No water levels yet.</div>}
      </div>
    </div>
  );
}

function Risks({ p }: { p: ScreenPlatform }) {
  const risks = p.clustersAtRisk.slice(0, 4);
  return (
    <div className="bs-panel bs-risks" data-testid="screen-risks">
      <div className="bs-panel-title">
        At risk <span className="bs-count">{p.clustersAtRisk.length}</span>
        {p.clustersAtRisk.length > risks.length && <span className="bs-more">+{p.clustersAtRisk.length - risks.length} more</span>}
        <span className="bs-title-note">next 14 days</span>
      </div>
      {risks.length ? (
        <ul className="bs-list">
          {risks.map((r) => {
            const over = r.daysToThreshold !== null && r.daysToThreshold <= 0;
            return (
              <li key={`${r.cluster.name}:${r.dimension}`} className={over ? 'bs-risk-over' : 'bs-risk-soon'}>
                <span className="bs-risk-when">{over ? 'OVER' : formatDaysTo(r.daysToThreshold).replace('in ', '')}</span>
                <span className="bs-risk-name">{r.cluster.name}</span>
                <span className="bs-risk-dim" title={`threshold ${formatUtil(r.threshold)}`}>
                  <span className="bs-dim">{DIMENSION_LABEL[r.dimension]}</span> {formatUtil(r.utilization)}
                </span>
              </li>
            );
          })}
        </ul>
      ) : (
        <div className="bs-allclear">✓ No cluster at risk in the next 14 days</div>
      )}
    </div>
  );
}

const STATE_CLASS: Record<string, string> = { DEGRADED: 'warn', OFFLINE: 'bad', REPAIRING: 'purple', MAINTENANCE: 'info' };

function SickHosts({ p }: { p: ScreenPlatform }) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), 10_000);
    return () => clearInterval(id);
  }, []);
  const hosts = p.recentSickHosts.slice(0, 5);
  return (
    <div className="bs-panel bs-sick" data-testid="screen-sick-hosts">
      <div className="bs-panel-title">
        Recently sick hosts <span className="bs-title-note">last heartbeat</span>
      </div>
      {hosts.length ? (
        <ul className="bs-list bs-hosts">
          {hosts.map((h) => (
            <li key={h.hostname}>
              <span className={`bs-state bs-state-${STATE_CLASS[h.state] ?? 'muted'}`}>{humanizeEnum(h.state)}</span>
              <span className="bs-host">
                <span className="bs-hostname">{h.hostname.replace(/\.dc\.example$/, '')}</span>
                <span className="bs-host-reason">
                  {h.cluster.name}
                  {h.stateReason ? ` · ${h.stateReason}` : ''}
                </span>
              </span>
              <span className="bs-host-age">{h.lastHeartbeat ? formatRelative(h.lastHeartbeat, Math.max(now, Date.now())) : 'never'}</span>
            </li>
          ))}
        </ul>
      ) : (
        <div className="bs-allclear">✓ Every host is healthy</div>
      )}
    </div>
  );
}

const METRIC_SHORT: Record<string, string> = { CPU: 'CPU', MEMORY: 'Memory', DISK_IO: 'Disk IO', NET_IN: 'Net in', NET_OUT: 'Net out', CONTAINERS: 'Containers' };

function Anomalies({ data }: { data: ScreenAnomalyData | null }) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), 10_000);
    return () => clearInterval(id);
  }, []);
  const open = data?.open.totalCount ?? null;
  const list = data?.open.nodes ?? [];
  return (
    <div className="bs-panel bs-anomalies" data-testid="screen-anomalies" data-count={open ?? ''}>
      <div className="bs-panel-title">
        Anomalies <span className={`bs-count${open ? ' bs-count-bad' : ''}`} data-testid="screen-anomaly-count">{open === null ? '—' : formatNumber(open)}</span>
        {data && data.acknowledged.totalCount > 0 && <span className="bs-more">{formatNumber(data.acknowledged.totalCount)} acknowledged</span>}
        <span className="bs-title-note">open · high and critical · newest</span>
      </div>
      {list.length ? (
        <ul className="bs-anom-list">
          {list.map((a) => (
            <li key={a.id} className={`bs-anom bs-anom-${a.severity === 'CRITICAL' ? 'crit' : 'high'}`} data-testid="screen-anomaly">
              <span className="bs-anom-sev">{a.severity === 'CRITICAL' ? 'CRIT' : 'HIGH'}</span>
              <span className="bs-host">
                <span className="bs-hostname">{a.host.hostname.replace(/\.dc\.example$/, '')}</span>
                <span className="bs-host-reason">
                  {METRIC_SHORT[a.metric] ?? a.metric} · {a.cluster.name} · {formatRelative(a.startedAt, Math.max(now, Date.now()))}
                </span>
              </span>
            </li>
          ))}
        </ul>
      ) : data ? (
        <div className="bs-allclear">✓ No severe anomaly open</div>
      ) : (
        <div className="bs-empty">—</div>
      )}
    </div>
  );
}

/** The first day of the current month (UTC), as the API's Time. */
function thisMonthStart(): string {
  const d = new Date();
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1)).toISOString();
}

/** "12,345" for money on the wall: whole units. */
function wholeMoney(amount: string | null | undefined): string {
  const n = Number(amount);
  return amount == null || !Number.isFinite(n) ? '—' : n.toLocaleString('en-US', { maximumFractionDigits: 0 });
}

/** The idle share (IDLE ÷ total) of a month's cost, as a percentage; null without a total. */
export function idlePercent(data: ScreenCostData): number | null {
  const total = Number(data.byCluster.total);
  const idle = Number(data.byResource.lines.find((l) => l.resource === 'IDLE')?.amount ?? 0);
  return total > 0 && Number.isFinite(idle) ? (idle / total) * 100 : null;
}

function OperationsPanel({ data }: { data: ScreenOperationsData | null }) {
  const ops = data?.activeOperations ?? [];
  return (
    <div className="bs-panel bs-ops" data-testid="screen-operations" data-count={data ? ops.length : ''}>
      <div className="bs-panel-title">
        Running operations <span className="bs-count">{data ? formatNumber(ops.length) : '—'}</span>
      </div>
      {ops.length ? (
        <ul className="bs-ops-list">
          {ops.map((o) => {
            const pct = Math.round(Math.max(0, Math.min(1, o.progress)) * 100);
            return (
              <li key={o.id} className={`bs-op bs-op-${o.state.toLowerCase()}`} data-testid="screen-operation">
                <span className="bs-op-kind">{o.kind.replace('_', ' ')}</span>
                <span className="bs-op-cluster">{o.cluster.name}</span>
                <span className="bs-op-bar">
                  <span className="bs-op-fill" style={{ width: `${pct}%` }} />
                </span>
                <span className="bs-op-pct">{o.state === 'RUNNING' ? `${pct}%` : o.state.toLowerCase()}</span>
              </li>
            );
          })}
        </ul>
      ) : data ? (
        <div className="bs-allclear">No operation running</div>
      ) : (
        <div className="bs-empty">—</div>
      )}
    </div>
  );
}

/** A count of a first page: "4+" when the page has more after it. */
function pageCount(n: number, more: boolean): string {
  return `${formatNumber(n)}${more ? '+' : ''}`;
}

function HealingPanel({ data }: { data: ScreenHealingData | null }) {
  const healing = data?.healingAttempts.nodes ?? [];
  const alerts = data?.keepAliveAlerts.nodes ?? [];
  // One compact grid of four: the hosts healing first, then the newest alerts.
  const items = [
    ...healing.map((a) => ({ key: a.id, kind: 'heal', testId: 'screen-healing-host', name: a.hostname.replace(/\.dc\.example$/, ''), sub: `${a.cluster.name} · ${a.repair.toLowerCase().replace('_', ' ')}` })),
    ...alerts.map((a) => ({
      key: a.id,
      kind: 'alert',
      testId: 'screen-keepalive-alert',
      name: `${a.service} ${a.component}`,
      sub: `${a.host ? a.host.hostname.replace(/\.dc\.example$/, '') : a.cluster.name} · ${formatRelative(a.raisedAt)}`,
    })),
  ].slice(0, 4);
  return (
    <div className="bs-panel bs-healing" data-testid="screen-healing" data-count={data ? healing.length : ''}>
      <div className="bs-panel-title">
        Self-healing <span className="bs-count" data-testid="screen-healing-count">{data ? pageCount(healing.length, data.healingAttempts.pageInfo.hasNextPage) : '—'}</span>
        <span className="bs-heal-alerts">
          alerts{' '}
          <span className={`bs-count${alerts.length ? ' bs-count-bad' : ''}`} data-testid="screen-keepalive-count">
            {data ? pageCount(alerts.length, data.keepAliveAlerts.pageInfo.hasNextPage) : '—'}
          </span>
        </span>
      </div>
      {items.length ? (
        <ul className="bs-heal-list">
          {items.map((i) => (
            <li key={i.key} className={`bs-heal bs-heal-${i.kind}`} data-testid={i.testId}>
              <span className="bs-hostname">{i.name}</span>
              <span className="bs-host-reason">{i.sub}</span>
            </li>
          ))}
        </ul>
      ) : data ? (
        <div className="bs-heal-none">✓ Nothing healing, no keep-alive alert</div>
      ) : (
        <div className="bs-empty">—</div>
      )}
    </div>
  );
}

function CostPanel({ data }: { data: ScreenCostData | null }) {
  const idle = data ? idlePercent(data) : null;
  const lines = data?.byCluster.lines ?? [];
  const top = lines.reduce((m, l) => Math.max(m, Number(l.amount) || 0), 0);
  return (
    <div className="bs-panel bs-cost" data-testid="screen-cost" data-total={data?.byCluster.total ?? ''}>
      <div className="bs-panel-title">
        Cost <span className="bs-title-note">this month · {data?.byCluster.currency ?? ''}</span>
      </div>
      {data ? (
        <>
          <div className="bs-cost-head">
            <span className="bs-cost-total" data-testid="screen-cost-total">
              {wholeMoney(data.byCluster.total)}
            </span>
            <span className={`bs-cost-idle${idle !== null && idle >= 30 ? ' bs-cost-idle-high' : ''}`} data-testid="screen-cost-idle">
              {idle === null ? '—' : `${idle.toFixed(1)}%`} <span className="bs-dim">idle</span>
            </span>
          </div>
          <ul className="bs-cost-lines">
            {lines.map((l) => {
              const w = top > 0 ? (Number(l.amount) / top) * 100 : 0;
              const idleW = Number(l.amount) > 0 ? (Number(l.idleShare) / Number(l.amount)) * w : 0;
              return (
                <li key={l.entityId ?? l.name} data-testid="screen-cost-line">
                  <span className="bs-cost-name">{l.name}</span>
                  <span className="bs-cost-bar">
                    <span className="bs-cost-fill" style={{ width: `${w}%` }} />
                    <span className="bs-cost-fill-idle" style={{ width: `${idleW}%` }} />
                  </span>
                  <span className="bs-cost-amount">{wholeMoney(l.amount)}</span>
                </li>
              );
            })}
          </ul>
          {!lines.length && <div className="bs-empty">Nothing billed yet this month.</div>}
        </>
      ) : (
        <div className="bs-empty">—</div>
      )}
    </div>
  );
}

function BoardList({ entries, red }: { entries: ScreenBoardsData['red']['entries']; red: boolean }) {
  return (
    <div className={`bs-board bs-board-${red ? 'red' : 'black'}`} data-testid={red ? 'screen-board-red' : 'screen-board-black'}>
      <div className="bs-board-title">{red ? 'Red · best' : 'Black · worst'}</div>
      {entries.length ? (
        <ol className="bs-board-list">
          {entries.map((e) => (
            <li key={e.subjectId} data-testid="screen-board-entry">
              <span className="bs-board-rank">{e.rank}</span>
              <span className="bs-board-name">{e.name}</span>
              <span className="bs-board-move">{e.movement == null ? '•' : e.movement > 0 ? `▲${e.movement}` : e.movement < 0 ? `▼${-e.movement}` : '='}</span>
              <span className="bs-board-value">{e.display}</span>
            </li>
          ))}
        </ol>
      ) : (
        <div className="bs-empty">—</div>
      )}
    </div>
  );
}

function BoardsPanel({ data }: { data: ScreenBoardsData | null }) {
  return (
    <div className="bs-panel bs-boards" data-testid="screen-boards">
      <div className="bs-panel-title">
        Efficiency <span className="bs-title-note">people · this week</span>
      </div>
      {data ? (
        data.red.computedAt ? (
          <div className="bs-board-pair">
            <BoardList entries={data.red.entries} red />
            <BoardList entries={data.black.entries} red={false} />
          </div>
        ) : (
          <div className="bs-empty">Not computed yet.</div>
        )
      ) : (
        <div className="bs-empty">—</div>
      )}
    </div>
  );
}

interface ScreenState {
  platform: ScreenPlatform | null;
  /** Server time of the last pulse. */
  pulseAt: string | null;
  pulses: number;
  /** Client time of the last data (pulse or poll). */
  lastUpdate: number | null;
  source: 'pulse' | 'poll' | null;
}

/** "3.2% of hosts". */
function share(n: number, total: number): string {
  return total > 0 ? `${((n / total) * 100).toFixed(1)}% of hosts` : '—';
}

function levelsOf(p: ScreenPlatform): TrendSample['levels'] {
  const out: TrendSample['levels'] = {};
  for (const l of p.levels) out[l.dimension] = l.utilization;
  return out;
}

export function BigScreen() {
  const client = useClient();
  const [state, setState] = useState<ScreenState>({ platform: null, pulseAt: null, pulses: 0, lastUpdate: null, source: null });
  const [history, setHistory] = useState<TrendSample[]>([]);
  const [pollError, setPollError] = useState<Error | null>(null);
  const lastUpdateRef = useRef<number | null>(null);

  const apply = useCallback((platform: ScreenPlatform, source: 'pulse' | 'poll', at?: string) => {
    const now = Date.now();
    lastUpdateRef.current = now;
    setState((s) => ({ platform, pulseAt: at ?? s.pulseAt, pulses: s.pulses + (source === 'pulse' ? 1 : 0), lastUpdate: now, source }));
    const t = at ? new Date(at).getTime() : now;
    setHistory((h) => pushBounded(h, { t: Number.isNaN(t) ? now : t, levels: levelsOf(platform) }, TREND_LIMIT));
  }, []);

  // An event whose figures failed arrives with errors and, through the cache, no
  // pulse: the screen keeps what it shows (and polls if the socket stays silent).
  const info = useLiveSubscription(ScreenPulse, {}, (d) => {
    if (d.platformPulse?.platform) apply(d.platformPulse.platform, 'pulse', d.platformPulse.at);
  });
  const infoRef = useRef(info);
  infoRef.current = info;

  // The initial load, then the polling fallback while the socket is not live or the data is stale.
  useEffect(() => {
    let inflight = false;
    let disposed = false;
    const poll = () => {
      if (inflight || disposed) return;
      inflight = true;
      // network-only: the fallback exists to reach the server, not the cache.
      void client
        .query(ScreenInitial, {}, { requestPolicy: 'network-only' })
        .toPromise()
        .then((res) => {
          inflight = false;
          if (disposed) return;
          // UNAUTHENTICATED is handled by the app (it shows the sign-in page).
          if (res.data) {
            apply(res.data.platform, 'poll');
            setPollError(null);
          } else if (res.error) setPollError(res.error);
        });
    };
    poll();
    const id = setInterval(() => {
      const last = lastUpdateRef.current;
      const stale = last === null || Date.now() - last > STALE_MS;
      if (infoRef.current.status !== 'live' || stale) poll();
    }, POLL_MS);
    return () => {
      disposed = true;
      clearInterval(id);
    };
  }, [client, apply]);

  // The severe anomalies ride on the pulses (and polls): fetched again on the
  // first update after ANOMALY_REFRESH_MS, so the wall needs no second socket.
  // Optional: on failure the panel keeps what it shows.
  const [anomalies, setAnomalies] = useState<ScreenAnomalyData | null>(null);
  const anomaliesAt = useRef(0);
  const mounted = useRef(true);
  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);
  useEffect(() => {
    if (state.lastUpdate === null || state.lastUpdate - anomaliesAt.current < ANOMALY_REFRESH_MS) return;
    anomaliesAt.current = state.lastUpdate;
    // Not cancelled by the next pulse: an answer slower than the pulses still lands.
    void client
      .query(ScreenAnomalies, {}, { requestPolicy: 'network-only' })
      .toPromise()
      .then((res) => {
        if (mounted.current && res.data) setAnomalies(res.data);
      });
  }, [client, state.lastUpdate]);

  // The running operations ride on the pulses like the anomalies (they change
  // by the minute). Optional: on failure the panel keeps what it shows.
  const [operations, setOperations] = useState<ScreenOperationsData | null>(null);
  const operationsAt = useRef(-Infinity);
  useEffect(() => {
    if (state.lastUpdate === null || state.lastUpdate - operationsAt.current < ANOMALY_REFRESH_MS) return;
    operationsAt.current = state.lastUpdate;
    void client
      .query(ScreenOperations, {}, { requestPolicy: 'network-only' })
      .toPromise()
      .then((res) => {
        if (mounted.current && res.data) setOperations(res.data);
      });
  }, [client, state.lastUpdate]);

  // Self-healing rides on the pulses too (no second socket for the wall): the
  // hosts healing now and the newest open keep-alive alerts, fetched again on
  // the first update after ANOMALY_REFRESH_MS. Optional like the others.
  const [healing, setHealing] = useState<ScreenHealingData | null>(null);
  const healingAt = useRef(-Infinity);
  useEffect(() => {
    if (state.lastUpdate === null || state.lastUpdate - healingAt.current < ANOMALY_REFRESH_MS) return;
    healingAt.current = state.lastUpdate;
    void client
      .query(ScreenHealing, {}, { requestPolicy: 'network-only' })
      .toPromise()
      .then((res) => {
        if (mounted.current && res.data) setHealing(res.data);
      });
  }, [client, state.lastUpdate]);

  // Cost and leaderboards change by the day: fetched on the first update, then
  // on the first after MONEY_REFRESH_MS. Optional: on failure the panels keep what they show.
  const [cost, setCost] = useState<ScreenCostData | null>(null);
  const [boards, setBoards] = useState<ScreenBoardsData | null>(null);
  const moneyAt = useRef(-Infinity);
  useEffect(() => {
    if (state.lastUpdate === null || state.lastUpdate - moneyAt.current < MONEY_REFRESH_MS) return;
    moneyAt.current = state.lastUpdate;
    void client
      .query(ScreenCost, { period: { unit: 'MONTH', start: thisMonthStart() } }, { requestPolicy: 'network-only' })
      .toPromise()
      .then((res) => {
        if (mounted.current && res.data) setCost(res.data);
      });
    void client
      .query(ScreenBoards, {}, { requestPolicy: 'network-only' })
      .toPromise()
      .then((res) => {
        if (mounted.current && res.data) setBoards(res.data);
      });
  }, [client, state.lastUpdate]);

  useEffect(() => {
    document.title = 'Tesla · Platform screen';
    document.documentElement.classList.add('bs-html');
    return () => document.documentElement.classList.remove('bs-html');
  }, []);

  // The trend's time axis slides once a minute even without pulses.
  const [minute, setMinute] = useState(() => Math.floor(Date.now() / 60e3));
  useEffect(() => {
    const id = setInterval(() => setMinute(Math.floor(Date.now() / 60e3)), 15_000);
    return () => clearInterval(id);
  }, []);
  const trend = useMemo(() => screenTrendOption(history, TREND_DIMS, Math.max(minute * 60e3, history.at(-1)?.t ?? 0), TREND_WINDOW_MS), [history, minute]);

  // Backfill the trend from the platform series: at start, now and then, and
  // after each reconnect (to fill the gap). Optional: on failure the pulses alone draw it.
  const backfill = useRef<() => void>(() => undefined);
  useEffect(() => {
    let disposed = false;
    backfill.current = () => {
      const to = Date.now();
      void client
        .query(ScreenTrend, { from: new Date(to - TREND_WINDOW_MS).toISOString(), to: new Date(to).toISOString() }, { requestPolicy: 'network-only' })
        .toPromise()
        .then((res) => {
          if (!disposed && res.data) setHistory((h) => mergeSamples(seriesToSamples(res.data!.platform.watermarkSeries), h, TREND_LIMIT));
        });
    };
    backfill.current();
    const id = setInterval(() => backfill.current(), TREND_REFRESH_MS);
    return () => {
      clearInterval(id);
      disposed = true;
      backfill.current = () => undefined;
    };
  }, [client]);
  useEffect(() => {
    if (info.status === 'live' && info.drops > 0) backfill.current();
  }, [info.status, info.drops]);

  const p = state.platform;
  const hc = p?.hostCounts;
  const onlinePct = hc && hc.total ? (hc.online / hc.total) * 100 : null;

  return (
    <Stage>
      <div
        className="bs-root"
        data-testid="big-screen"
        data-live-status={info.status}
        data-pulse-at={state.pulseAt ?? ''}
        data-pulse-count={state.pulses}
        data-last-update={state.lastUpdate ?? ''}
        data-source={state.source ?? ''}
        data-drops={info.drops}
        data-trend-samples={history.length}
      >
        <header className="bs-header">
          <div className="bs-brand">
            <span className="bs-mark">T</span>
            <div>
              <div className="bs-title">Tesla platform</div>
              <div className="bs-subtitle">Service screen · all clusters</div>
            </div>
          </div>
          <div className={`bs-live bs-live-${info.status}`} data-testid="screen-live">
            <span className="bs-live-dot" />
            {info.status === 'live' ? 'LIVE' : info.status === 'reconnecting' ? 'OFFLINE' : 'CONNECTING'}
            {state.source === 'poll' && info.status !== 'live' && <span className="bs-live-sub">polling</span>}
          </div>
          <Clock lastUpdate={state.lastUpdate} info={info} />
        </header>

        {!p && (
          <div className="bs-boot">
            {pollError ? (
              <>
                <div className="bs-boot-title">Waiting for the Tesla server…</div>
                <div className="bs-boot-sub">{codeOf(pollError) ? `${codeOf(pollError)}: ${messageOf(pollError)}` : messageOf(pollError)}</div>
              </>
            ) : (
              <div className="bs-boot-title">Loading the platform…</div>
            )}
          </div>
        )}

        {p && hc && (
          <>
            <section className="bs-kpis" data-testid="screen-kpis">
              <Kpi label="Clusters" value={formatNumber(p.clusterCount)} sub={`${p.watermarks.filter((w) => w.worst && w.worst.status !== 'OK').length} need attention`} testId="kpi-clusters" />
              <Kpi label="Hosts" value={formatNumber(hc.total)} sub={`${formatNumber(p.capacity.cpuCores)} cores · ${formatBytes(p.capacity.memoryBytes, 0)}`} testId="kpi-hosts" />
              <Kpi label="Online" value={onlinePct === null ? '—' : `${onlinePct.toFixed(1)}%`} sub={`${formatNumber(hc.online)} hosts`} tone="good" testId="kpi-online" />
              <Kpi label="Degraded" value={formatNumber(hc.degraded)} sub={share(hc.degraded, hc.total)} tone={hc.degraded ? 'warn' : 'muted'} testId="kpi-degraded" />
              <Kpi label="Offline" value={formatNumber(hc.offline)} sub={share(hc.offline, hc.total)} tone={hc.offline ? 'bad' : 'muted'} testId="kpi-offline" />
              <Kpi label="Repairing" value={formatNumber(hc.repairing)} sub={`${formatNumber(hc.maintenance)} in maintenance`} tone="muted" testId="kpi-repair" />
              <Kpi
                label="At risk"
                value={formatNumber(p.clustersAtRisk.length)}
                sub={`${p.clustersAtRisk.filter((r) => r.daysToThreshold !== null && r.daysToThreshold <= 0).length} over threshold now`}
                tone={p.clustersAtRisk.length ? 'bad' : 'good'}
                testId="kpi-risk"
              />
            </section>

            <section className="bs-main">
              <div className="bs-col bs-col-left">
                <div className="bs-panel">
                  <div className="bs-panel-title">Platform water levels</div>
                  <Levels p={p} />
                </div>
                <div className="bs-panel bs-trend" data-testid="screen-trend">
                  <div className="bs-panel-title">
                    Last 6 hours <span className="bs-title-note">platform utilisation</span>
                  </div>
                  <Chart option={trend} height={TREND_HEIGHT} testId="screen-trend-chart" ariaLabel="Platform utilisation over the last 6 hours" />
                </div>
              </div>
              <div className="bs-col bs-col-mid">
                <Clusters p={p} />
                <Anomalies data={anomalies} />
              </div>
              <div className="bs-col bs-col-right">
                <Risks p={p} />
                <SickHosts p={p} />
                <HealingPanel data={healing} />
              </div>
              <div className="bs-col bs-col-money">
                <CostPanel data={cost} />
                <OperationsPanel data={operations} />
                <BoardsPanel data={boards} />
              </div>
            </section>
          </>
        )}
      </div>
    </Stage>
  );
}
