// Water levels: dimensions, their labels and units, the OK/WARN/CRITICAL status
// of a utilisation against its threshold, and the heat colours of the tables and
// the big screen. Pure functions, unit-tested.

import { DASH, formatBitsPerSecond, formatBytes, formatNumber, formatPercent } from './format';
import type { Tone } from './colors';
import type { WatermarkDimension, WatermarkStatus } from '../graphql';

export type { WatermarkDimension, WatermarkStatus };

/** Every dimension, in display order: physical resources first, then service ones. */
export const DIMENSIONS: WatermarkDimension[] = ['CPU', 'MEMORY', 'DISK_IO', 'NET_IN', 'NET_OUT', 'CONTAINERS', 'QUEUE_SLOTS'];

export const DIMENSION_LABEL: Record<WatermarkDimension, string> = {
  CPU: 'CPU',
  MEMORY: 'Memory',
  DISK_IO: 'Disk IO',
  NET_IN: 'Net in',
  NET_OUT: 'Net out',
  CONTAINERS: 'Containers',
  QUEUE_SLOTS: 'Queue slots',
};

/** Short labels for narrow columns (the big screen, heat table headers on small screens). */
export const DIMENSION_SHORT: Record<WatermarkDimension, string> = {
  CPU: 'CPU',
  MEMORY: 'MEM',
  DISK_IO: 'IO',
  NET_IN: 'NET↓',
  NET_OUT: 'NET↑',
  CONTAINERS: 'CTR',
  QUEUE_SLOTS: 'QUE',
};

export function isDimension(v: unknown): v is WatermarkDimension {
  return typeof v === 'string' && (DIMENSIONS as string[]).includes(v);
}

export function dimensionLabel(d: string | null | undefined): string {
  return d && isDimension(d) ? DIMENSION_LABEL[d] : d || DASH;
}

/** The part of its threshold below which a level is OK (the schema's rule: 85%). */
export const WARN_FRACTION = 0.85;

function isNum(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/**
 * The status of a utilisation (0..1) against a threshold (0..1), as the server
 * computes it: OK below 85% of the threshold, WARN up to it, CRITICAL above.
 * Null for missing data.
 */
export function statusOf(utilization: number | null | undefined, threshold: number | null | undefined): WatermarkStatus | null {
  if (!isNum(utilization) || !isNum(threshold) || threshold <= 0) return null;
  if (utilization > threshold) return 'CRITICAL';
  if (utilization >= threshold * WARN_FRACTION) return 'WARN';
  return 'OK';
}

export const STATUS_TONE: Record<WatermarkStatus, Tone> = { OK: 'good', WARN: 'warn', CRITICAL: 'bad' };
export const STATUS_RANK: Record<WatermarkStatus, number> = { OK: 0, WARN: 1, CRITICAL: 2 };
export const STATUS_LABEL: Record<WatermarkStatus, string> = { OK: 'OK', WARN: 'Warning', CRITICAL: 'Critical' };

export interface HeatColor {
  /** Cell background. */
  bg: string;
  /** Text colour readable on bg. */
  fg: string;
}

// Light palette (the portal): pale neutral → greens → amber → reds.
const LIGHT_STEPS: Array<[number, HeatColor]> = [
  [0.3, { bg: '#f1f5f4', fg: '#3f4b5b' }],
  [0.55, { bg: '#dff3e4', fg: '#1f5f30' }],
  [0.75, { bg: '#b9e5c4', fg: '#17482a' }],
  [WARN_FRACTION, { bg: '#8fd3a2', fg: '#10351f' }],
  [0.93, { bg: '#ffe3a6', fg: '#7a4b00' }],
  [1.0, { bg: '#ffc069', fg: '#6b3a00' }],
  [1.1, { bg: '#ff8a80', fg: '#5c0b0b' }],
  [Infinity, { bg: '#e03131', fg: '#ffffff' }],
];

// Dark palette (the big screen): saturated on a near-black background.
const DARK_STEPS: Array<[number, HeatColor]> = [
  [0.3, { bg: '#16324a', fg: '#b8cde0' }],
  [0.55, { bg: '#12503a', fg: '#d4f5e2' }],
  [0.75, { bg: '#137047', fg: '#e6fff0' }],
  [WARN_FRACTION, { bg: '#1a8a55', fg: '#ffffff' }],
  [0.93, { bg: '#b7791f', fg: '#ffffff' }],
  [1.0, { bg: '#dd6b20', fg: '#ffffff' }],
  [1.1, { bg: '#e53e3e', fg: '#ffffff' }],
  [Infinity, { bg: '#ff1f3d', fg: '#ffffff' }],
];

const NO_DATA_LIGHT: HeatColor = { bg: '#f4f6f9', fg: '#8190a5' };
const NO_DATA_DARK: HeatColor = { bg: '#1b2433', fg: '#6b7a90' };

/**
 * The heat colour of a cell: by utilisation relative to the threshold, so a
 * streaming cluster at 70% (threshold 70%) is as hot as a batch cluster at 90%
 * (threshold 90%). The WARN band (85–100% of the threshold) is amber, above the
 * threshold red.
 */
export function heatColor(utilization: number | null | undefined, threshold: number | null | undefined, dark = false): HeatColor {
  if (!isNum(utilization) || !isNum(threshold) || threshold <= 0) return dark ? NO_DATA_DARK : NO_DATA_LIGHT;
  const ratio = utilization / threshold;
  const steps = dark ? DARK_STEPS : LIGHT_STEPS;
  for (const [limit, color] of steps) {
    if (ratio < limit) return color;
  }
  return steps[steps.length - 1][1];
}

/** Solid status colours (bars, dots, chart lines). */
export const STATUS_COLOR: Record<WatermarkStatus, string> = { OK: '#2f9e44', WARN: '#e67700', CRITICAL: '#e03131' };
export const STATUS_COLOR_DARK: Record<WatermarkStatus, string> = { OK: '#38d996', WARN: '#ffb020', CRITICAL: '#ff4d5e' };

/** A 0..1 utilisation as a percentage: 0.723 → "72%" (one decimal under 10%). */
export function formatUtil(u: number | null | undefined, digits?: number): string {
  if (!isNum(u)) return DASH;
  const pct = u * 100;
  const d = digits ?? (Math.abs(pct) < 10 && pct !== 0 ? 1 : 0);
  return formatPercent(pct, { digits: d });
}

/** An amount in a level's unit: cores, bytes, percent, bits/s, containers, slots. */
export function formatAmount(value: number | null | undefined, unit: string | null | undefined): string {
  if (!isNum(value)) return DASH;
  switch ((unit ?? '').toLowerCase()) {
    case 'bytes':
      return formatBytes(value);
    case 'bits/s':
    case 'bps':
      return formatBitsPerSecond(value);
    case 'percent':
      return formatPercent(value);
    case 'cores':
      return `${formatNumber(value, value < 100 ? 1 : 0)} cores`;
    case '':
      return formatNumber(value, 1);
    default:
      return `${formatNumber(value, value < 100 ? 1 : 0)} ${unit}`;
  }
}

/** "used of capacity": "1,234 of 2,048 cores", "1.2 TiB of 4 TiB". */
export function formatUsedOf(used: number | null | undefined, capacity: number | null | undefined, unit: string | null | undefined): string {
  const u = (unit ?? '').toLowerCase();
  // A percentage summed over hosts (disk IO busy time) only makes sense as the average.
  if (u === 'percent') return isNum(used) && isNum(capacity) && capacity > 0 ? `${formatPercent((used / capacity) * 100)} average busy` : DASH;
  if (u === 'cores' || (u !== 'bytes' && u !== 'bits/s' && u !== 'percent' && u !== '')) {
    // Keep the unit once, at the end.
    const n = (v: number | null | undefined) => (isNum(v) ? formatNumber(v, v < 100 ? 1 : 0) : DASH);
    return `${n(used)} of ${n(capacity)} ${unit}`;
  }
  return `${formatAmount(used, unit)} of ${formatAmount(capacity, unit)}`;
}

export interface LevelLike {
  dimension: WatermarkDimension | string;
  utilization: number;
  threshold?: number;
  status: WatermarkStatus;
}

/** How a level sorts by urgency: status first, then utilisation relative to its threshold. */
export function levelSeverity(l: LevelLike | null | undefined): number {
  if (!l) return -1;
  const rel = isNum(l.threshold) && l.threshold > 0 ? l.utilization / l.threshold : l.utilization;
  return STATUS_RANK[l.status] * 10 + (isNum(rel) ? rel : 0);
}

export interface RiskLike {
  cluster: { name: string };
  dimension: string;
  daysToThreshold: number | null;
  utilization: number;
  threshold: number;
}

export interface ClusterLevelsLike {
  cluster: { name: string };
  worst: LevelLike | null;
  levels: LevelLike[];
}

/**
 * Orders clusters for the heat table: those in the at-risk list first (soonest
 * crossing first, already-over ones at the top), then the rest by the severity
 * of their worst level, then by name.
 */
export function sortClustersByRisk<T extends ClusterLevelsLike>(rows: T[], risks: RiskLike[] = []): T[] {
  const soonest = new Map<string, number>();
  for (const r of risks) {
    const d = isNum(r.daysToThreshold) ? r.daysToThreshold : Number.MAX_SAFE_INTEGER;
    const prev = soonest.get(r.cluster.name);
    if (prev === undefined || d < prev) soonest.set(r.cluster.name, d);
  }
  const worstOf = (row: T) => Math.max(levelSeverity(row.worst), ...row.levels.map(levelSeverity));
  return [...rows].sort((a, b) => {
    const ra = soonest.get(a.cluster.name);
    const rb = soonest.get(b.cluster.name);
    if (ra !== undefined || rb !== undefined) {
      if (ra === undefined) return 1;
      if (rb === undefined) return -1;
      if (ra !== rb) return ra - rb;
    }
    const d = worstOf(b) - worstOf(a);
    if (d !== 0) return d;
    return a.cluster.name.localeCompare(b.cluster.name);
  });
}

/** Counts of levels by status (each cluster counted once, by its worst status). */
export function statusCounts(rows: ClusterLevelsLike[]): Record<WatermarkStatus, number> {
  const out: Record<WatermarkStatus, number> = { OK: 0, WARN: 0, CRITICAL: 0 };
  for (const r of rows) {
    const worst = [r.worst, ...r.levels].filter(Boolean).reduce<WatermarkStatus>((acc, l) => (STATUS_RANK[l!.status] > STATUS_RANK[acc] ? l!.status : acc), 'OK');
    out[worst]++;
  }
  return out;
}

/** The level of one dimension in a list, if present. */
export function levelFor<L extends { dimension: string }>(levels: L[] | null | undefined, d: WatermarkDimension): L | undefined {
  return levels?.find((l) => l.dimension === d);
}

/** "in 9 days", "in 14 h", "now" for a days-to-threshold figure. */
export function formatDaysTo(days: number | null | undefined): string {
  if (!isNum(days)) return DASH;
  if (days <= 0) return 'now';
  if (days < 1) return `in ${Math.max(1, Math.round(days * 24))} h`;
  if (days < 10) return `in ${trim1(days)} days`;
  return `in ${Math.round(days)} days`;
}

function trim1(v: number): string {
  const s = v.toFixed(1);
  return s.endsWith('.0') ? s.slice(0, -2) : s;
}

/** Slope of a daily peak, in percentage points per day: 0.004 → "+0.4 pt/day". */
export function formatSlope(perDay: number | null | undefined): string {
  if (!isNum(perDay)) return DASH;
  const pt = perDay * 100;
  if (Math.abs(pt) < 0.005) return '0 pt/day';
  const digits = Math.abs(pt) < 1 ? 2 : 1;
  const s = pt.toFixed(digits).replace(/\.?0+$/, '') || '0';
  return `${pt > 0 ? '+' : ''}${s} pt/day`;
}
