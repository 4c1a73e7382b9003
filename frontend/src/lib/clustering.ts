// Machine clustering: feature labels and units, the shading of a centroid value
// by its deviation from the fleet, group colours, the filter a page's search
// params make, and the scatter chart of the projection. Pure functions,
// unit-tested.

import { DASH, formatNumber, formatPercent } from './format';
import { PALETTE, type ChartOption } from './charts';
import type { ClusterKind, MachineFeature } from '../graphql';

export type { MachineFeature };

/** Every feature, in the order the server lists a centroid's coordinates. */
export const FEATURES: MachineFeature[] = [
  'CPU_MEAN',
  'CPU_P95',
  'MEMORY_MEAN',
  'MEMORY_P95',
  'IO_MEAN',
  'IO_P95',
  'NET_IN_MEAN',
  'NET_IN_P95',
  'CONTAINERS_MEAN',
  'CONTAINERS_P95',
];

export const FEATURE_LABEL: Record<MachineFeature, string> = {
  CPU_MEAN: 'CPU mean',
  CPU_P95: 'CPU p95',
  MEMORY_MEAN: 'Memory mean',
  MEMORY_P95: 'Memory p95',
  IO_MEAN: 'IO mean',
  IO_P95: 'IO p95',
  NET_IN_MEAN: 'Net in mean',
  NET_IN_P95: 'Net in p95',
  CONTAINERS_MEAN: 'Containers mean',
  CONTAINERS_P95: 'Containers p95',
};

export const CLUSTER_KINDS: ClusterKind[] = ['STREAMING', 'BATCH', 'ONLINE'];

export function isClusterKind(v: unknown): v is ClusterKind {
  return typeof v === 'string' && (CLUSTER_KINDS as string[]).includes(v);
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * A feature's value in its own unit: the utilisations and the network share are
 * 0..1 fractions (shown as percent), containers are a count.
 */
export function formatFeatureValue(feature: MachineFeature, value: number | null | undefined): string {
  if (!isNum(value)) return DASH;
  if (feature === 'CONTAINERS_MEAN' || feature === 'CONTAINERS_P95') return formatNumber(value, value < 10 ? 1 : 0);
  return formatPercent(value, { ratio: true, digits: 1 });
}

/** A deviation in robust standard deviations, signed: 1.234 → "+1.2σ", -0.04 → "0.0σ". */
export function formatDeviation(d: number | null | undefined): string {
  if (!isNum(d)) return DASH;
  const r = Math.round(d * 10) / 10;
  if (r === 0) return '0.0σ';
  return `${r > 0 ? '+' : '−'}${Math.abs(r).toFixed(1)}σ`;
}

/**
 * The cell colours of a centroid value: warm above the fleet's median, cool
 * below, stronger the further away (saturating at 3σ); near the median (under
 * 0.5σ) the cell stays plain so the table shows what sets a group apart.
 */
export function deviationShade(d: number | null | undefined): { bg: string; fg: string } | null {
  if (!isNum(d) || Math.abs(d) < 0.5) return null;
  const strength = Math.min(Math.abs(d), 3) / 3; // 0.17..1
  const alpha = Math.round((0.12 + 0.5 * strength) * 100) / 100;
  const bg = d > 0 ? `rgba(224, 49, 49, ${alpha})` : `rgba(28, 126, 214, ${alpha})`;
  return { bg, fg: alpha >= 0.5 ? '#0b1220' : 'inherit' };
}

/** Colours of groups by label (labels are kept from run to run, so are the colours). */
export const GROUP_COLORS = ['#1d4ed8', '#2f9e44', '#e67700', '#7048e8', '#0c8599', '#c2255c', '#5c940d', '#9c36b5', '#364fc7', '#d9480f'];
export const OUTLIER_COLOR = '#e03131';

export function groupColor(label: number): string {
  const n = GROUP_COLORS.length;
  return GROUP_COLORS[((Math.trunc(label) % n) + n) % n];
}

/** A group's name on the chart's legend and in the table: "Group 2 · CPU-heavy, low IO". */
export function groupName(g: { label: number; description: string }): string {
  return g.description ? `Group ${g.label} · ${g.description}` : `Group ${g.label}`;
}

/** The search params of the page as the API's filter; empty params do not restrict. */
export function clusteringFilter(p: { kind?: string; clusterId?: string | null; rack?: string }): {
  kinds?: ClusterKind[];
  clusterIds?: string[];
  rack?: string;
} {
  const out: { kinds?: ClusterKind[]; clusterIds?: string[]; rack?: string } = {};
  if (isClusterKind(p.kind)) out.kinds = [p.kind];
  if (p.clusterId) out.clusterIds = [p.clusterId];
  const rack = p.rack?.trim();
  if (rack) out.rack = rack;
  return out;
}

/** The bar lengths (0..1) of the candidate silhouettes: -1..1 mapped onto the bar, so a negative one is short. */
export function silhouetteBar(s: number): number {
  if (!isNum(s)) return 0;
  return Math.max(0, Math.min(1, (s + 1) / 2));
}

/** How well separated the groups are, in words (Kaufman and Rousseeuw's reading of the silhouette). */
export function qualityWords(s: number | null | undefined): string {
  if (!isNum(s)) return DASH;
  if (s > 0.7) return 'strong structure';
  if (s > 0.5) return 'reasonable structure';
  if (s > 0.25) return 'weak structure';
  return 'no substantial structure';
}

export interface ScatterPoint {
  hostname: string;
  clusterName: string;
  x: number;
  y: number;
  group: number;
  outlier: boolean;
}

export interface ScatterGroup {
  label: number;
  description: string;
  hostCount: number;
}

/** What a dot carries for its tooltip and its click. */
export interface DotData {
  value: [number, number];
  hostname: string;
  cluster: string;
  group: number;
  outlier: boolean;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export function dotTooltip(d: DotData, groups: ScatterGroup[]): string {
  const g = groups.find((x) => x.label === d.group);
  const lines = [
    `<strong>${escapeHtml(d.hostname)}</strong>`,
    `cluster ${escapeHtml(d.cluster || DASH)}`,
    escapeHtml(g ? groupName(g) : `Group ${d.group}`),
  ];
  if (d.outlier) lines.push('<em>outlier: far from every group</em>');
  return lines.join('<br/>');
}

/** The chart's parallel lists (the i-th of each is one host) as points. */
export interface ChartLists {
  hostnames: string[];
  clusterNames: string[];
  x: number[];
  y: number[];
  groups: number[];
  outliers: boolean[];
}

export function chartPoints(c: ChartLists): ScatterPoint[] {
  const n = Math.min(c.hostnames.length, c.clusterNames.length, c.x.length, c.y.length, c.groups.length, c.outliers.length);
  const out: ScatterPoint[] = new Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = { hostname: c.hostnames[i], clusterName: c.clusterNames[i], x: c.x[i], y: c.y[i], group: c.groups[i], outlier: c.outliers[i] };
  }
  return out;
}

/** An axis name: "PC1 (42% of variance)". */
export function axisName(pc: number, share: number | undefined): string {
  return isNum(share) ? `PC${pc} (${formatPercent(share, { ratio: true, digits: 0 })} of variance)` : `PC${pc}`;
}

/**
 * The scatter of the projection: one series per group (legend: the group, what
 * sets it apart and its host count), outliers as a series of their own drawn
 * as red diamonds over the groups, so they stay visible in a dense cloud.
 */
export function clusteringChartOption(points: ScatterPoint[], groups: ScatterGroup[], explainedVariance: number[]): ChartOption {
  const byGroup = new Map<number, DotData[]>();
  const outliers: DotData[] = [];
  for (const p of points) {
    const d: DotData = { value: [p.x, p.y], hostname: p.hostname, cluster: p.clusterName, group: p.group, outlier: p.outlier };
    if (p.outlier) outliers.push(d);
    else {
      const list = byGroup.get(p.group) ?? [];
      list.push(d);
      byGroup.set(p.group, list);
    }
  }
  const sorted = [...groups].sort((a, b) => a.label - b.label);
  const series: Array<Record<string, unknown>> = sorted.map((g) => ({
    type: 'scatter',
    name: `${groupName(g)} (${formatNumber(g.hostCount)})`,
    data: byGroup.get(g.label) ?? [],
    symbolSize: 7,
    itemStyle: { color: groupColor(g.label), opacity: 0.75 },
    emphasis: { focus: 'series' },
  }));
  series.push({
    type: 'scatter',
    name: `Outliers (${formatNumber(outliers.length)})`,
    data: outliers,
    symbol: 'diamond',
    symbolSize: 12,
    z: 3,
    itemStyle: { color: OUTLIER_COLOR, borderColor: '#fff', borderWidth: 1 },
  });
  const axis = (pc: number) => ({
    type: 'value',
    name: axisName(pc, explainedVariance[pc - 1]),
    nameLocation: 'middle',
    nameGap: 28,
    scale: true,
    // The axes at the chart's edges: a line through 0 would cut the cloud.
    axisLine: { onZero: false },
    axisLabel: { color: PALETTE.axis },
    splitLine: { lineStyle: { color: PALETTE.grid } },
  });
  return {
    animation: false,
    grid: { left: 64, right: 24, top: 48, bottom: 48 },
    legend: { type: 'scroll', top: 0, left: 0, right: 0, textStyle: { fontSize: 12 } },
    tooltip: {
      trigger: 'item',
      formatter: (p: { data?: DotData }) => (p.data ? dotTooltip(p.data, groups) : ''),
    },
    xAxis: axis(1),
    yAxis: { ...axis(2), nameGap: 40 },
    series,
  };
}

/** The hostname of a clicked dot, or null for anything else. */
export function clickedHost(params: { data?: unknown } | null | undefined): string | null {
  const d = params?.data as Partial<DotData> | undefined;
  return d && typeof d.hostname === 'string' && d.hostname ? d.hostname : null;
}
