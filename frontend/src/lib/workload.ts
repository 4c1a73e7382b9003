// Workload screens: the priority rules as the server applies them (to decide
// which selector to show; the server still decides), run states and finding
// severities, the lineage graph (merging walks, the path from the job to a
// node, the ECharts option) and the runs chart. Pure functions, unit-tested.

import { formatBytes, formatDateTime, formatDuration, formatNumber } from './format';
import { PALETTE, type ChartOption } from './charts';
import type { Tone } from './colors';
import type { Enum } from '../graphql';

export type JobPriority = Enum<'JobPriority'>;
export type JobKind = Enum<'JobKind'>;
export type JobRunState = Enum<'JobRunState'>;
export type JobFindingSeverity = Enum<'JobFindingSeverity'>;
type Role = Enum<'Role'>;

export const PRIORITIES: JobPriority[] = ['P0', 'P1', 'P2', 'P3', 'P4'];
export const JOB_KINDS: JobKind[] = ['BATCH', 'STREAMING'];

export function isPriority(v: unknown): v is JobPriority {
  return typeof v === 'string' && (PRIORITIES as string[]).includes(v);
}

export function isJobKind(v: unknown): v is JobKind {
  return typeof v === 'string' && (JOB_KINDS as string[]).includes(v);
}

/** P0 → 0 … P4 → 4: a smaller rank is a higher priority. */
export function priorityRank(p: JobPriority): number {
  return PRIORITIES.indexOf(p);
}

/** Who is asking about a job, as the priority rules need it. */
export interface PriorityActor {
  role: Role | string;
  /** The signed-in person owns the job. */
  isOwner: boolean;
  /** The job's BU lies in the BU subtree of the signed-in BU admin. */
  inBuSubtree: boolean;
}

/**
 * What the signed-in person may do with a job's priority, mirroring
 * internal/workload/priority.go in order: an admin sets any; a BU admin of the
 * job's BU subtree raises or lowers (to P0 only within the BU's limit, which
 * the server counts); the owner lowers. "none" hides the selector.
 */
export function priorityRight(a: PriorityActor): 'any' | 'bu' | 'lower' | 'none' {
  if (a.role === 'ADMIN') return 'any';
  if (a.role === 'BU_ADMIN' && a.inBuSubtree) return 'bu';
  if (a.isOwner) return 'lower';
  return 'none';
}

/**
 * The options of the selector: every priority, each with whether the rules
 * allow it and why not. Owners still see the higher ones, marked, so that a
 * try gets the server's refusal rather than a silently missing option.
 */
export function priorityOptions(current: JobPriority, right: ReturnType<typeof priorityRight>): Array<{ value: JobPriority; allowed: boolean; note: string }> {
  return PRIORITIES.map((p) => {
    if (right === 'any' || right === 'bu' || p === current) return { value: p, allowed: true, note: right === 'bu' && p === 'P0' && current !== 'P0' ? 'within the BU’s P0 limit' : '' };
    if (right === 'lower' && priorityRank(p) > priorityRank(current)) return { value: p, allowed: true, note: '' };
    return { value: p, allowed: false, note: right === 'lower' ? 'owners may only lower' : 'not yours to change' };
  });
}

/** Whether a BU id is the BU or one of its descendants, given the job BU's ancestor chain (nearest first). */
export function buInSubtree(jobBu: BuChain | null | undefined, myBuId: string | null | undefined): boolean {
  if (!myBuId) return false;
  for (let b: BuChain | null | undefined = jobBu; b; b = b.parent) if (b.id === myBuId) return true;
  return false;
}

export interface BuChain {
  id: string;
  parent?: BuChain | null;
}

export const SEVERITIES: JobFindingSeverity[] = ['NONE', 'LOW', 'MODERATE', 'SEVERE', 'CRITICAL'];

export const SEVERITY_TONE: Record<JobFindingSeverity, Tone> = {
  NONE: 'good',
  LOW: 'info',
  MODERATE: 'warn',
  SEVERE: 'bad',
  CRITICAL: 'bad',
};

/** The worst severity among findings; null when there are none. */
export function worstSeverity(list: ReadonlyArray<{ severity: JobFindingSeverity }>): JobFindingSeverity | null {
  let worst: JobFindingSeverity | null = null;
  for (const f of list) if (worst === null || SEVERITIES.indexOf(f.severity) > SEVERITIES.indexOf(worst)) worst = f.severity;
  return worst;
}

/** SEVERE and CRITICAL: the findings a BU lead acts on. */
export function isSerious(s: JobFindingSeverity | null | undefined): boolean {
  return s === 'SEVERE' || s === 'CRITICAL';
}

export const RUN_STATE_COLOR: Record<JobRunState, string> = {
  COMPLETED: '#2f9e44',
  RUNNING: '#1c7ed6',
  FAILED: '#e03131',
  ABORTED: '#f08c00',
  OTHER: '#868e96',
};

/**
 * The distinct queues some jobs run in, with how many of the jobs each holds,
 * by cluster and path.
 */
export function queuesOfJobs<Q extends { id: string; path: string; cluster: { name: string } }>(jobs: ReadonlyArray<{ queue: Q | null }>): Array<Omit<Q, 'cluster'> & { cluster: string; jobs: number }> {
  const byId = new Map<string, Omit<Q, 'cluster'> & { cluster: string; jobs: number }>();
  for (const j of jobs) {
    if (!j.queue) continue;
    const q = byId.get(j.queue.id);
    if (q) q.jobs++;
    else byId.set(j.queue.id, { ...j.queue, cluster: j.queue.cluster.name, jobs: 1 });
  }
  return [...byId.values()].sort((a, b) => a.cluster.localeCompare(b.cluster) || a.path.localeCompare(b.path));
}

// ---------------------------------------------------------------------------
// Lineage

export interface LineageNodeData {
  __typename: 'Job' | 'Dataset';
  id: string;
  namespace: string;
  name: string;
  /** Jobs only. */
  kind?: string;
  priority?: string;
}

export interface LineageEdgeData {
  kind: 'READ' | 'WRITE';
  from: string;
  to: string;
}

export interface LineageState {
  nodes: LineageNodeData[];
  edges: LineageEdgeData[];
  /** Some walk stopped at its node limit. */
  truncated: boolean;
  /** Nodes whose neighbourhood has been walked (the start and every expanded node). */
  expanded: string[];
}

export const emptyLineage: LineageState = { nodes: [], edges: [], truncated: false, expanded: [] };

const edgeKey = (e: LineageEdgeData) => `${e.from}>${e.to}`;

/**
 * Merges one walk from `from` into what is on screen: nodes and edges once
 * each (earlier ones keep their place, so the layout does not jump), the
 * walk's start marked expanded, truncation sticky.
 */
export function mergeLineage(
  state: LineageState,
  from: string,
  walk: { nodes: ReadonlyArray<LineageNodeData>; edges: ReadonlyArray<LineageEdgeData>; truncated: boolean },
): LineageState {
  const seen = new Set(state.nodes.map((n) => n.id));
  const nodes = [...state.nodes];
  for (const n of walk.nodes)
    if (!seen.has(n.id)) {
      seen.add(n.id);
      nodes.push(n);
    }
  const seenEdges = new Set(state.edges.map(edgeKey));
  const edges = [...state.edges];
  for (const e of walk.edges)
    if (!seenEdges.has(edgeKey(e)) && seen.has(e.from) && seen.has(e.to)) {
      seenEdges.add(edgeKey(e));
      edges.push(e);
    }
  return {
    nodes,
    edges,
    truncated: state.truncated || walk.truncated,
    expanded: state.expanded.includes(from) ? state.expanded : [...state.expanded, from],
  };
}

/**
 * The shortest path from `start` to `target` along the data's direction either
 * way (upstream nodes are reached against the arrows), as node ids; the edges
 * on it are consecutive pairs. Null when the target is not connected.
 */
export function lineagePath(edges: ReadonlyArray<LineageEdgeData>, start: string, target: string): string[] | null {
  if (start === target) return [start];
  const adj = new Map<string, string[]>();
  const link = (a: string, b: string) => {
    const l = adj.get(a);
    if (l) l.push(b);
    else adj.set(a, [b]);
  };
  for (const e of edges) {
    link(e.from, e.to);
    link(e.to, e.from);
  }
  const prev = new Map<string, string>([[start, start]]);
  const queue = [start];
  while (queue.length) {
    const n = queue.shift()!;
    for (const m of adj.get(n) ?? []) {
      if (prev.has(m)) continue;
      prev.set(m, n);
      if (m === target) {
        const path = [m];
        for (let c = m; c !== start; ) {
          c = prev.get(c)!;
          path.push(c);
        }
        return path.reverse();
      }
      queue.push(m);
    }
  }
  return null;
}

/** Whether the edge lies on a path (in either direction of travel). */
export function edgeOnPath(e: LineageEdgeData, path: readonly string[] | null): boolean {
  if (!path) return false;
  for (let i = 1; i < path.length; i++) {
    const a = path[i - 1];
    const b = path[i];
    if ((e.from === a && e.to === b) || (e.from === b && e.to === a)) return true;
  }
  return false;
}

/**
 * Layers of the graph relative to the start: upstream nodes to the left
 * (negative), downstream to the right, by the shortest walk along or against
 * the arrows. Nodes reached only sideways sit in the layer of the node that
 * reached them, plus or minus one.
 */
export function lineageLayers(state: Pick<LineageState, 'nodes' | 'edges'>, start: string): Map<string, number> {
  const layer = new Map<string, number>([[start, 0]]);
  const queue = [start];
  while (queue.length) {
    const n = queue.shift()!;
    const l = layer.get(n)!;
    for (const e of state.edges) {
      if (e.from === n && !layer.has(e.to)) {
        layer.set(e.to, l + 1);
        queue.push(e.to);
      } else if (e.to === n && !layer.has(e.from)) {
        layer.set(e.from, l - 1);
        queue.push(e.from);
      }
    }
  }
  for (const n of state.nodes) if (!layer.has(n.id)) layer.set(n.id, 0);
  return layer;
}

export const LINEAGE_COLORS = {
  job: '#1d4ed8',
  start: '#7048e8',
  dataset: '#e67700',
  path: '#e03131',
  edge: '#b8c2d0',
};

/** The short label of a node: its name without a long dotted or slashed prefix. */
export function nodeLabel(n: Pick<LineageNodeData, 'name'>): string {
  return n.name.length > 28 ? `…${n.name.slice(-27)}` : n.name;
}

/**
 * The lineage as an ECharts graph in layers (upstream left, downstream right):
 * jobs as circles, datasets as rounded squares, the start larger, the path to
 * the selected node in red, nodes not yet expanded with a dashed border.
 */
export function lineageChartOption(state: LineageState, start: string, selected: string | null): ChartOption {
  const layers = lineageLayers(state, start);
  const byLayer = new Map<number, string[]>();
  for (const n of state.nodes) {
    const l = layers.get(n.id) ?? 0;
    const list = byLayer.get(l);
    if (list) list.push(n.id);
    else byLayer.set(l, [n.id]);
  }
  const pos = new Map<string, [number, number]>();
  for (const [l, ids] of byLayer) ids.forEach((id, i) => pos.set(id, [l * 220, (i - (ids.length - 1) / 2) * 70]));
  const path = selected ? lineagePath(state.edges, start, selected) : null;
  const onPath = new Set(path ?? []);
  return {
    animation: false,
    tooltip: {
      trigger: 'item',
      formatter: (p: { dataType?: string; data?: { tip?: string } }) => p.data?.tip ?? '',
    },
    series: [
      {
        type: 'graph',
        layout: 'none',
        roam: true,
        draggable: false,
        edgeSymbol: ['none', 'arrow'],
        edgeSymbolSize: 7,
        label: { show: true, position: 'bottom', fontSize: 11, color: '#334155' },
        data: state.nodes.map((n) => {
          const isJob = n.__typename === 'Job';
          const [x, y] = pos.get(n.id) ?? [0, 0];
          const color = n.id === start ? LINEAGE_COLORS.start : isJob ? LINEAGE_COLORS.job : LINEAGE_COLORS.dataset;
          const expanded = state.expanded.includes(n.id);
          return {
            id: n.id,
            name: n.id,
            x,
            y,
            value: n.name,
            symbol: isJob ? 'circle' : 'roundRect',
            symbolSize: n.id === start ? 26 : isJob ? 18 : 16,
            label: { formatter: nodeLabel(n), fontWeight: n.id === selected ? 'bold' : 'normal' },
            itemStyle: {
              color,
              borderColor: onPath.has(n.id) ? LINEAGE_COLORS.path : expanded ? '#fff' : color,
              borderWidth: onPath.has(n.id) ? 3 : expanded ? 1 : 2,
              borderType: expanded ? 'solid' : 'dashed',
              opacity: expanded ? 1 : 0.75,
            },
            tip: `${isJob ? 'Job' : 'Dataset'} ${n.namespace}/${n.name}${isJob && n.priority ? ` · ${n.priority}` : ''}${expanded ? '' : ' · click to expand'}`,
            nodeType: n.__typename,
          };
        }),
        links: state.edges.map((e) => {
          const hot = edgeOnPath(e, path);
          return {
            source: e.from,
            target: e.to,
            lineStyle: { color: hot ? LINEAGE_COLORS.path : LINEAGE_COLORS.edge, width: hot ? 3 : 1.2, curveness: 0.1 },
            tip: `${e.kind === 'READ' ? 'read by' : 'writes'}`,
          };
        }),
      },
    ],
  };
}

/** The node id of a click on the lineage chart, or null for an edge or blank space. */
export function clickedNode(p: { dataType?: string; data?: unknown }): string | null {
  if (p.dataType && p.dataType !== 'node') return null;
  const d = p.data as { id?: unknown } | undefined;
  return typeof d?.id === 'string' ? d.id : null;
}

// ---------------------------------------------------------------------------
// Runs

export interface RunPoint {
  state: JobRunState;
  startedAt?: string | null;
  endedAt?: string | null;
  requestedCoreSeconds?: number | null;
  usedCoreSeconds?: number | null;
  requestedMemoryByteSeconds?: number | null;
  usedMemoryByteSeconds?: number | null;
}

const ms = (iso: string) => new Date(iso).getTime();
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** A run's duration in seconds: to its end, or to now while running; null before it starts. */
export function runDuration(r: Pick<RunPoint, 'startedAt' | 'endedAt'>, now = Date.now()): number | null {
  if (!r.startedAt) return null;
  const end = r.endedAt ? ms(r.endedAt) : now;
  return Math.max(0, (end - ms(r.startedAt)) / 1000);
}

/**
 * Runs over time in two grids: on top each run's duration as a dot in its
 * state's colour; below, used against requested core-hours and GB-hours per
 * run (bars for requested, lines for used).
 */
export function runsChartOption(runs: ReadonlyArray<RunPoint>, now = Date.now()): ChartOption {
  const started = runs.filter((r) => r.startedAt).sort((a, b) => ms(a.startedAt!) - ms(b.startedAt!));
  const t = (r: RunPoint) => ms(r.startedAt!);
  const coreH = (v: number | null | undefined) => (isNum(v) ? v / 3600 : null);
  const gbH = (v: number | null | undefined) => (isNum(v) ? v / 3600 / 2 ** 30 : null);
  const axisLabel = { fontSize: 11, color: PALETTE.axis };
  const split = { lineStyle: { color: PALETTE.grid } };
  return {
    animation: false,
    useUTC: true,
    legend: { top: 0, left: 0, itemWidth: 14, itemHeight: 8, textStyle: { fontSize: 11, color: '#4a5568' } },
    tooltip: { trigger: 'item' },
    grid: [
      { left: 64, right: 64, top: 34, height: 110 },
      { left: 64, right: 64, top: 190, bottom: 28 },
    ],
    xAxis: [
      { type: 'time', gridIndex: 0, axisLabel: { show: false }, splitLine: { show: false } },
      { type: 'time', gridIndex: 1, axisLabel: { ...axisLabel, hideOverlap: true }, splitLine: { show: false } },
    ],
    yAxis: [
      { type: 'value', gridIndex: 0, name: 'duration', nameTextStyle: axisLabel, axisLabel: { ...axisLabel, formatter: (v: number) => formatDuration(v) }, splitLine: split },
      { type: 'value', gridIndex: 1, name: 'core-h', nameTextStyle: axisLabel, axisLabel, splitLine: split },
      { type: 'value', gridIndex: 1, name: 'GB-h', nameTextStyle: axisLabel, position: 'right', axisLabel, splitLine: { show: false } },
    ],
    series: [
      {
        name: 'Duration',
        type: 'scatter',
        xAxisIndex: 0,
        yAxisIndex: 0,
        symbolSize: 7,
        color: PALETTE.util,
        data: started.map((r) => ({
          value: [t(r), runDuration(r, now)],
          itemStyle: { color: RUN_STATE_COLOR[r.state] },
          tooltip: { formatter: () => `${formatDateTime(r.startedAt)}<br>${r.state} · ${formatDuration(runDuration(r, now))}` },
        })),
      },
      { name: 'Requested cores', type: 'line', step: 'middle', xAxisIndex: 1, yAxisIndex: 1, showSymbol: false, color: '#94a3b8', lineStyle: { type: 'dashed', width: 1.4 }, data: started.map((r) => [t(r), coreH(r.requestedCoreSeconds)]) },
      { name: 'Used cores', type: 'line', xAxisIndex: 1, yAxisIndex: 1, showSymbol: false, color: PALETTE.util, areaStyle: { opacity: 0.1 }, data: started.map((r) => [t(r), coreH(r.usedCoreSeconds)]) },
      { name: 'Requested memory', type: 'line', step: 'middle', xAxisIndex: 1, yAxisIndex: 2, showSymbol: false, color: '#fab005', lineStyle: { type: 'dashed', width: 1.4 }, data: started.map((r) => [t(r), gbH(r.requestedMemoryByteSeconds)]) },
      { name: 'Used memory', type: 'line', xAxisIndex: 1, yAxisIndex: 2, showSymbol: false, color: PALETTE.forecast, data: started.map((r) => [t(r), gbH(r.usedMemoryByteSeconds)]) },
    ],
  };
}

/** A run's use of what it asked for, e.g. "12.3 / 40 core-h (31%)". */
export function usedOfRequested(used: number | null | undefined, requested: number | null | undefined, unit: 'core' | 'memory'): string {
  if (!isNum(used)) return '—';
  const fmt = (v: number) => (unit === 'core' ? `${formatNumber(v / 3600, 1)} core-h` : `${formatBytes(v / 3600)}·h`);
  if (!isNum(requested) || requested <= 0) return fmt(used);
  return `${fmt(used)} of ${fmt(requested)} (${Math.round((used / requested) * 100)}%)`;
}
