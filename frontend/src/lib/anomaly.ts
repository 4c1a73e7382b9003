// Anomaly episodes on screen: severities and their tones, the filter the page's
// URL stands for, per-severity counts from "this severity and worse" totals,
// the order of the list, the words for a correlated onset, and the chart of the
// host's metric around an episode. Pure functions, unit-tested.

import type { Enum } from '../graphql';
import type { Tone } from './colors';
import { formatBitsPerSecond, formatDateTime, formatNumber, formatPercent } from './format';
import { axisTimeFormat } from './timerange';
import { toPairs, type ChartOption, type HostMetricPoint } from './charts';

export type AnomalySeverity = Enum<'AnomalySeverity'>;
export type AnomalyStatus = Enum<'AnomalyStatus'>;
export type AnomalyKind = Enum<'AnomalyKind'>;
export type AnomalyMetric = Enum<'AnomalyMetric'>;
export type OnsetScope = Enum<'OnsetScope'>;

/** Worst first, as the page lists them. */
export const SEVERITIES: readonly AnomalySeverity[] = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW'];
export const STATUSES: readonly AnomalyStatus[] = ['OPEN', 'ACKNOWLEDGED', 'RESOLVED'];
export const KINDS: readonly AnomalyKind[] = ['SELF', 'PEER'];
export const METRICS: readonly AnomalyMetric[] = ['CPU', 'MEMORY', 'DISK_IO', 'NET_IN', 'NET_OUT', 'CONTAINERS'];

export const SEVERITY_TONE: Record<AnomalySeverity, Tone> = { CRITICAL: 'bad', HIGH: 'warn', MEDIUM: 'info', LOW: 'muted' };
export const STATUS_TONE: Record<AnomalyStatus, Tone> = { OPEN: 'bad', ACKNOWLEDGED: 'accent', RESOLVED: 'good' };

export const METRIC_LABEL: Record<AnomalyMetric, string> = {
  CPU: 'CPU',
  MEMORY: 'Memory',
  DISK_IO: 'Disk IO',
  NET_IN: 'Network in',
  NET_OUT: 'Network out',
  CONTAINERS: 'Containers',
};

export const KIND_LABEL: Record<AnomalyKind, string> = { SELF: 'own history', PEER: 'peers' };
/** What the kind means, in a sentence (the page's explanation of an episode). */
export const KIND_TEXT: Record<AnomalyKind, string> = {
  SELF: "Judged against the host's own history: the online detector found this value improbable for this host at this hour.",
  PEER: 'Judged against its peers at the same moment: hosts of the same cluster and machine group behaved differently.',
};

const isOne = <T extends string>(list: readonly T[], v: string | undefined): v is T => !!v && (list as readonly string[]).includes(v);
export const isSeverity = (v: string | undefined): v is AnomalySeverity => isOne(SEVERITIES, v);
export const isStatus = (v: string | undefined): v is AnomalyStatus => isOne(STATUSES, v);
export const isKind = (v: string | undefined): v is AnomalyKind => isOne(KINDS, v);
export const isMetric = (v: string | undefined): v is AnomalyMetric => isOne(METRICS, v);

/** Unresolved: what needs someone (the page's default). */
export const UNRESOLVED: AnomalyStatus[] = ['OPEN', 'ACKNOWLEDGED'];

/** The status param of the URL: "" (unresolved, the default), a status, or "ALL". */
export function statusesFor(param: string | undefined): AnomalyStatus[] | null {
  if (param === 'ALL') return null;
  if (isStatus(param)) return [param];
  return UNRESOLVED;
}

export interface AnomalyFilterInput {
  statuses?: AnomalyStatus[] | null;
  minSeverity?: AnomalySeverity | null;
  clusterId?: string | null;
  hostId?: string | null;
  metric?: AnomalyMetric | null;
  kind?: AnomalyKind | null;
}

/** The API filter for the page's choices; empty choices are left out so the filter (and the cache key) stays small. */
export function anomalyFilter(f: AnomalyFilterInput): AnomalyFilterInput {
  const out: AnomalyFilterInput = {};
  if (f.statuses?.length) out.statuses = f.statuses;
  if (f.minSeverity) out.minSeverity = f.minSeverity;
  if (f.clusterId) out.clusterId = f.clusterId;
  if (f.hostId) out.hostId = f.hostId;
  if (f.metric) out.metric = f.metric;
  if (f.kind) out.kind = f.kind;
  return out;
}

/**
 * Counts per severity from the totals of "this severity and worse" (the API's
 * minSeverity): LOW's count is all minus MEDIUM-and-worse, and so on. A total
 * that is missing counts as 0; a negative difference (the totals were read at
 * slightly different moments) as 0.
 */
export function severityCounts(atLeast: Partial<Record<AnomalySeverity, number>>): Record<AnomalySeverity, number> {
  const c = atLeast.CRITICAL ?? 0;
  const h = atLeast.HIGH ?? 0;
  const m = atLeast.MEDIUM ?? 0;
  const l = atLeast.LOW ?? 0;
  return { CRITICAL: c, HIGH: Math.max(0, h - c), MEDIUM: Math.max(0, m - h), LOW: Math.max(0, l - m) };
}

const rank = (s: AnomalySeverity) => SEVERITIES.length - SEVERITIES.indexOf(s);

/** Whether a live episode belongs in the filtered list. */
export function matchesFilter(a: { severity: AnomalySeverity; status: AnomalyStatus; metric: AnomalyMetric; kind: AnomalyKind; cluster: { id: string }; host: { id: string } }, f: AnomalyFilterInput): boolean {
  if (f.statuses?.length && !f.statuses.includes(a.status)) return false;
  if (f.minSeverity && rank(a.severity) < rank(f.minSeverity)) return false;
  if (f.clusterId && a.cluster.id !== f.clusterId) return false;
  if (f.hostId && a.host.id !== f.hostId) return false;
  if (f.metric && a.metric !== f.metric) return false;
  if (f.kind && a.kind !== f.kind) return false;
  return true;
}

/** A value of a metric in its unit: percent, bits per second, containers. */
export function formatMetricValue(metric: AnomalyMetric, v: number | null | undefined): string {
  if (typeof v !== 'number' || !Number.isFinite(v)) return '—';
  switch (metric) {
    case 'NET_IN':
    case 'NET_OUT':
      return formatBitsPerSecond(v);
    case 'CONTAINERS':
      return formatNumber(v, v % 1 ? 1 : 0);
    default:
      return formatPercent(v, { digits: 1 });
  }
}

/** The host series field that carries a metric. */
export function metricOf(metric: AnomalyMetric, p: HostMetricPoint): number | null {
  switch (metric) {
    case 'CPU':
      return p.cpuPercent;
    case 'MEMORY':
      return p.memoryPercent;
    case 'DISK_IO':
      return p.diskIoPercent;
    case 'NET_IN':
      return p.netInBitsPerSecond;
    case 'NET_OUT':
      return p.netOutBitsPerSecond;
    case 'CONTAINERS':
      return p.containers;
  }
}

const ms = (iso: string) => new Date(iso).getTime();
const HOUR = 3600e3;

/**
 * The time range to draw around an episode: as much again before it as it
 * lasted (at least two hours), and an hour after it (never past now), so the
 * normal behaviour on both sides frames the abnormal one.
 */
export function episodeRange(a: { startedAt: string; lastSeenAt: string; endedAt?: string | null }, now: number): { from: string; to: string } {
  const start = ms(a.startedAt);
  const end = ms(a.endedAt ?? a.lastSeenAt);
  const span = Math.max(0, end - start);
  const from = start - Math.max(2 * HOUR, span);
  const to = Math.min(Math.max(now, end), end + HOUR);
  return { from: new Date(from).toISOString(), to: new Date(Math.max(to, start + 5 * 60e3)).toISOString() };
}

export interface EpisodeForChart {
  metric: AnomalyMetric;
  startedAt: string;
  lastSeenAt: string;
  endedAt?: string | null;
  peakAt: string;
  peakValue?: number | null;
  expected?: number | null;
}

/** The shaded span: at least a few minutes wide, so a one-point episode still shows. */
export function episodeSpan(a: EpisodeForChart): [number, number] {
  const start = ms(a.startedAt);
  const end = ms(a.endedAt ?? a.lastSeenAt);
  const min = 4 * 60e3;
  if (end - start >= min) return [start, end];
  const mid = (start + end) / 2;
  return [mid - min / 2, mid + min / 2];
}

/**
 * The host's metric around an episode: the series as a line, the episode's
 * span shaded (markArea), what was expected as a dashed level (markLine) and
 * the peak with the expected value at the same moment as points.
 */
export function anomalyChartOption(points: HostMetricPoint[], a: EpisodeForChart, range: { from: string; to: string }): ChartOption {
  const fmt = (v: number) => formatMetricValue(a.metric, v);
  const pct = a.metric === 'CPU' || a.metric === 'MEMORY' || a.metric === 'DISK_IO';
  const data = toPairs(points, (p) => metricOf(a.metric, p));
  const [s, e] = episodeSpan(a);
  const peakAt = ms(a.peakAt);
  const has = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
  const fromMs = ms(range.from);
  const toMs = ms(range.to);
  const line: ChartOption = {
    name: METRIC_LABEL[a.metric],
    type: 'line',
    data,
    showSymbol: false,
    connectNulls: false,
    color: '#1d4ed8',
    lineStyle: { width: 1.8 },
    areaStyle: { opacity: 0.08 },
    markArea: {
      silent: true,
      itemStyle: { color: 'rgba(224, 49, 49, 0.14)' },
      label: { show: true, position: 'insideBottom', color: '#c92a2a', fontSize: 11, formatter: 'episode' },
      data: [[{ name: 'episode', xAxis: s }, { xAxis: e }]],
    },
  };
  if (has(a.expected)) {
    line.markLine = {
      silent: true,
      symbol: 'none',
      data: [
        {
          name: 'Expected',
          yAxis: a.expected,
          lineStyle: { color: '#2f9e44', type: 'dashed', width: 1.5 },
          label: { formatter: `expected ${fmt(a.expected)}`, position: 'insideEndTop', color: '#2f9e44', fontSize: 11 },
        },
      ],
    };
  }
  const series: ChartOption[] = [line];
  if (has(a.peakValue)) {
    series.push({ name: 'Peak', type: 'scatter', data: [[peakAt, a.peakValue]], symbolSize: 11, color: '#e03131', z: 5 });
  }
  if (has(a.expected)) {
    series.push({ name: 'Expected', type: 'scatter', data: [[peakAt, a.expected]], symbol: 'diamond', symbolSize: 10, color: '#2f9e44', z: 5 });
  }
  let yMax: number | undefined;
  if (pct) {
    let top = 0;
    for (const [, v] of data) if (has(v) && v > top) top = v;
    for (const v of [a.peakValue, a.expected]) if (has(v) && v > top) top = v;
    // Whole 20% steps, so the axis labels fall on round numbers.
    yMax = Math.min(100, Math.max(20, Math.ceil((top * 1.05) / 20) * 20));
  }
  return {
    animation: false,
    useUTC: true,
    grid: { left: 64, right: 24, top: 34, bottom: 28 },
    legend: { top: 0, left: 0, itemWidth: 14, itemHeight: 8, textStyle: { fontSize: 11 } },
    tooltip: {
      trigger: 'axis',
      axisPointer: { type: 'line' },
      formatter: (items: Array<{ seriesName: string; value: [number, number | null]; marker: string; axisValue: number }>) => {
        if (!items?.length) return '';
        const t = items[0].value?.[0] ?? items[0].axisValue;
        const lines = [`<b>${formatDateTime(new Date(t).toISOString())}</b>`];
        for (const it of items) lines.push(`${it.marker}${it.seriesName} ${has(it.value?.[1]) ? fmt(it.value[1]) : '—'}`);
        return lines.join('<br/>');
      },
    },
    xAxis: {
      type: 'time',
      min: fromMs,
      max: toMs,
      axisLabel: { formatter: axisTimeFormat(toMs - fromMs), hideOverlap: true, fontSize: 11, color: '#8190a5' },
      splitLine: { show: false },
    },
    yAxis: {
      type: 'value',
      min: 0,
      ...(yMax !== undefined ? { max: yMax } : {}),
      axisLabel: { formatter: (v: number) => fmt(v), fontSize: 11, color: '#8190a5' },
      splitLine: { lineStyle: { color: '#eef1f5' } },
    },
    series,
  };
}

/** "10:02" (UTC), or with the date when it is not today. */
export function clockTime(iso: string, now: number = Date.now()): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '—';
  const sameDay = d.toISOString().slice(0, 10) === new Date(now).toISOString().slice(0, 10);
  return sameDay ? d.toISOString().slice(11, 16) : `${d.toISOString().slice(0, 10)} ${d.toISOString().slice(11, 16)}`;
}

export interface OnsetLike {
  metric: AnomalyMetric;
  start: string;
  scope: OnsetScope;
  rack?: string | null;
  component?: string | null;
  version?: string | null;
  hosts: readonly unknown[];
}

/**
 * A correlated onset in words: what the hosts share, how many, which metric
 * and since when — "rack r12: 5 hosts CPU from 10:02", "hosts on NODEMANAGER
 * 3.3.0: 4 hosts Memory from 09:40".
 */
export function onsetText(o: OnsetLike, now: number = Date.now()): string {
  const n = o.hosts.length;
  const what = `${n} host${n === 1 ? '' : 's'} ${METRIC_LABEL[o.metric]} from ${clockTime(o.start, now)}`;
  switch (o.scope) {
    case 'RACK':
      return `rack ${o.rack ?? '?'}: ${what}`;
    case 'VERSION':
      return `hosts on ${[o.component, o.version].filter(Boolean).join(' ') || 'one version'}: ${what}`;
    case 'CLUSTER':
      return `most of the cluster: ${what}`;
    default:
      return what;
  }
}

/** A page of a listing as the tiers need it. */
export interface TierPage<T> {
  nodes: readonly T[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

/**
 * The list worst first over keyset pages, though the API lists newest first:
 * one listing per severity tier (minSeverity = the tier, so it also holds the
 * worse ones, which are dropped as already shown), read tier after tier. A
 * tier with more pages ends the list there, and "load more" reads its next
 * page: no less severe row is shown while a more severe one may be unread.
 * `tiers` is worst first; [null] lists newest first in one listing. `loaded`
 * holds, per tier, its pages in order (undefined while one is loading).
 */
export function tieredRows<T extends { id: string; severity: AnomalySeverity }>(
  tiers: ReadonlyArray<AnomalySeverity | null>,
  loaded: ReadonlyArray<ReadonlyArray<TierPage<T> | undefined> | undefined>,
): { rows: T[]; next: { tier: number; after: string } | null; pending: boolean } {
  const rows: T[] = [];
  const seen = new Set<string>();
  for (let t = 0; t < tiers.length; t++) {
    const pages = loaded[t];
    if (!pages?.length || pages.some((p) => !p)) return { rows, next: null, pending: true };
    for (const p of pages as TierPage<T>[]) {
      for (const a of p.nodes) {
        if ((tiers[t] === null || a.severity === tiers[t]) && !seen.has(a.id)) {
          seen.add(a.id);
          rows.push(a);
        }
      }
    }
    const last = pages[pages.length - 1]!;
    if (last.pageInfo.hasNextPage && last.pageInfo.endCursor) return { rows, next: { tier: t, after: last.pageInfo.endCursor }, pending: false };
  }
  return { rows, next: null, pending: false };
}

/** The tiers of the worst-first list for a minimum severity: that one and the worse ones, worst first. */
export function severityTiers(min: AnomalySeverity | null): AnomalySeverity[] {
  return SEVERITIES.slice(0, min ? SEVERITIES.indexOf(min) + 1 : SEVERITIES.length);
}
