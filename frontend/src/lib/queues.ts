// Queue analysis: the queue tree from a flat listing, each queue's shares as
// bars, the usage chart and the top consumers. Pure functions, unit-tested.
//
// The API gives shares (guaranteed, max) as fractions of the cluster and usage
// in absolute vcores; the cluster's cores (its hosts not decommissioned) turn
// one into the other.

import { axisTimeFormat } from './timerange';
import { formatNumber } from './format';
import { PALETTE, type ChartOption } from './charts';

/** The fields the tree needs of a queue. */
export interface TreeQueue {
  id: string;
  path: string;
  parent?: { id: string } | null;
}

/** A queue placed in the tree: its depth (0 for a root) and whether it has children. */
export interface TreeRow<Q> {
  queue: Q;
  depth: number;
  hasChildren: boolean;
}

/**
 * Orders queues as a tree, parents first and siblings by path, each with its
 * depth. The parent is the queue's parent id when that queue is in the list,
 * else the longest path prefix (segment by segment) that is; a queue whose
 * parent is missing (a listing cut short) becomes a root rather than vanish.
 * A parent id that loops back is ignored.
 */
export function buildQueueTree<Q extends TreeQueue>(queues: readonly Q[]): TreeRow<Q>[] {
  const byId = new Map(queues.map((q) => [q.id, q]));
  const byPath = new Map(queues.map((q) => [q.path, q]));
  const parentOf = new Map<string, string | null>();
  for (const q of queues) {
    let p: string | null = null;
    if (q.parent && byId.has(q.parent.id) && q.parent.id !== q.id) p = q.parent.id;
    else {
      const segs = q.path.split('.');
      for (let n = segs.length - 1; n > 0 && !p; n--) {
        const cand = byPath.get(segs.slice(0, n).join('.'));
        if (cand && cand.id !== q.id) p = cand.id;
      }
    }
    parentOf.set(q.id, p);
  }
  const kids = new Map<string | null, Q[]>();
  for (const q of queues) {
    const p = parentOf.get(q.id) ?? null;
    kids.set(p, [...(kids.get(p) ?? []), q]);
  }
  for (const list of kids.values()) list.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const out: TreeRow<Q>[] = [];
  const seen = new Set<string>();
  const walk = (q: Q, depth: number) => {
    if (seen.has(q.id)) return;
    seen.add(q.id);
    const children = kids.get(q.id) ?? [];
    out.push({ queue: q, depth, hasChildren: children.length > 0 });
    for (const c of children) walk(c, depth + 1);
  };
  for (const r of kids.get(null) ?? []) walk(r, 0);
  // Queues only reachable through a cycle of parent ids: shown as roots.
  for (const q of queues) walk(q, 0);
  return out;
}

/** The segments of a share bar, in percent of its width. */
export interface ShareBar {
  /** Width of the used part. */
  used: number;
  /** Where the guarantee mark sits. */
  guaranteed: number;
  /** Where the maximum mark sits. */
  max: number;
  /** True when the queue uses more than its guarantee (borrowing). */
  over: boolean;
  /** True when the queue uses more than its maximum (the scale was widened). */
  overMax: boolean;
}

const finite = (v: number | null | undefined): number => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0);

/**
 * A share bar for one queue: guaranteed and max shares (fractions of the
 * cluster) and the share in use, drawn on a common scale of `scale` (the
 * fleet of bars shares it so they compare; default the queue's own largest
 * figure). Everything is clamped to the bar.
 */
export function shareBar(guaranteed: number, max: number, used: number | null | undefined, scale?: number): ShareBar {
  const g = finite(guaranteed);
  const m = finite(max);
  const u = finite(used);
  const s = finite(scale) || Math.max(g, m, u) || 1;
  const pct = (v: number) => Math.round(Math.min(100, (v / s) * 100) * 10) / 10;
  return { used: pct(u), guaranteed: pct(g), max: pct(m), over: g > 0 && u > g, overMax: m > 0 && u > m };
}

/** The common scale of a tree's bars: the largest max, guarantee or use, at most the whole cluster (1). */
export function shareScale(rows: ReadonlyArray<{ guaranteed: number; max: number; used: number | null | undefined }>): number {
  let s = 0;
  for (const r of rows) s = Math.max(s, finite(r.guaranteed), finite(r.max), finite(r.used));
  return Math.min(Math.max(s, 0.01), 1);
}

/** A share (0..1) as a percentage of the cluster: "36%", "2.5%", "0.1%". */
export function formatShare(v: number | null | undefined): string {
  if (typeof v !== 'number' || !Number.isFinite(v)) return '—';
  const p = v * 100;
  if (p === 0) return '0%';
  if (p < 1) return `${p.toFixed(1)}%`;
  return `${p < 10 ? p.toFixed(1).replace(/\.0$/, '') : Math.round(p)}%`;
}

/** A usage point of the chart. */
export interface UsagePoint {
  ts: string;
  usedVcores: number;
  maxUsedVcores: number;
  pendingApps: number;
}

/**
 * The usage chart: used vcores (mean per step, with the peak as a thin line)
 * against the guaranteed and maximum vcores, and pending apps on a second axis.
 */
export function queueUsageOption(points: readonly UsagePoint[], guaranteedVcores: number | null, maxVcores: number | null, range: { from: string; to: string }): ChartOption {
  const fromMs = new Date(range.from).getTime();
  const toMs = new Date(range.to).getTime();
  const t = (p: UsagePoint) => new Date(p.ts).getTime();
  const flat = (v: number | null, name: string, color: string) =>
    v === null
      ? []
      : [
          {
            name,
            type: 'line',
            data: [
              [fromMs, v],
              [toMs, v],
            ],
            showSymbol: false,
            color,
            lineStyle: { width: 1.4, type: 'dashed' },
            tooltip: { show: false },
          },
        ];
  return {
    animation: false,
    useUTC: true,
    grid: { left: 56, right: 48, top: 32, bottom: 26 },
    legend: { top: 0, left: 0, itemWidth: 14, itemHeight: 8, textStyle: { fontSize: 11, color: '#4a5568' } },
    tooltip: { trigger: 'axis', valueFormatter: (v: unknown) => (typeof v === 'number' ? formatNumber(v, 1) : '—') },
    xAxis: {
      type: 'time',
      min: fromMs,
      max: toMs,
      axisLabel: { formatter: axisTimeFormat(toMs - fromMs), hideOverlap: true, fontSize: 11, color: PALETTE.axis },
      splitLine: { show: false },
    },
    yAxis: [
      { type: 'value', min: 0, name: 'vcores', nameTextStyle: { fontSize: 10 }, axisLabel: { fontSize: 11, color: PALETTE.axis }, splitLine: { lineStyle: { color: PALETTE.grid } } },
      { type: 'value', min: 0, name: 'pending', nameTextStyle: { fontSize: 10 }, minInterval: 1, axisLabel: { fontSize: 11, color: PALETTE.axis }, splitLine: { show: false } },
    ],
    series: [
      { name: 'Used vcores', type: 'line', data: points.map((p) => [t(p), p.usedVcores]), showSymbol: false, color: PALETTE.util, lineStyle: { width: 1.6 }, areaStyle: { opacity: 0.1 } },
      { name: 'Peak used', type: 'line', data: points.map((p) => [t(p), p.maxUsedVcores]), showSymbol: false, color: PALETTE.p95, lineStyle: { width: 1 } },
      ...flat(guaranteedVcores, 'Guaranteed', '#2f9e44'),
      ...flat(maxVcores, 'Maximum', PALETTE.threshold),
      { name: 'Pending apps', type: 'bar', yAxisIndex: 1, data: points.map((p) => [t(p), p.pendingApps]), color: PALETTE.forecast, barMaxWidth: 6, itemStyle: { opacity: 0.6 } },
    ],
  };
}

/** A consumer of a queue (an edge of Queue.jobs). */
export interface Consumer {
  share: number | null;
  usedCoreSeconds: number | null;
}

/** The consumers that used something, largest share first; those whose share is hidden or zero after. */
export function topConsumers<C extends Consumer>(edges: readonly C[]): C[] {
  const key = (c: C) => (typeof c.share === 'number' ? c.share : -1);
  return [...edges].sort((a, b) => key(b) - key(a));
}
