import { describe, expect, it } from 'vitest';
import {
  buInSubtree,
  clickedNode,
  edgeOnPath,
  emptyLineage,
  lineageChartOption,
  lineageLayers,
  lineagePath,
  mergeLineage,
  priorityOptions,
  priorityRight,
  queuesOfJobs,
  runDuration,
  runsChartOption,
  usedOfRequested,
  worstSeverity,
  type LineageEdgeData,
  type LineageNodeData,
} from '../src/lib/workload';

const job = (id: string): LineageNodeData => ({ __typename: 'Job', id, namespace: 'ns', name: id });
const ds = (id: string): LineageNodeData => ({ __typename: 'Dataset', id, namespace: 'hdfs', name: id });
const w = (from: string, to: string): LineageEdgeData => ({ kind: 'WRITE', from, to });
const r = (from: string, to: string): LineageEdgeData => ({ kind: 'READ', from, to });

describe('priority rules', () => {
  it('follows the server’s order: admin, BU admin of the subtree, owner, nobody', () => {
    expect(priorityRight({ role: 'ADMIN', isOwner: false, inBuSubtree: false })).toBe('any');
    expect(priorityRight({ role: 'BU_ADMIN', isOwner: false, inBuSubtree: true })).toBe('bu');
    // A BU admin outside the job's subtree is only an owner there, if that.
    expect(priorityRight({ role: 'BU_ADMIN', isOwner: true, inBuSubtree: false })).toBe('lower');
    expect(priorityRight({ role: 'BU_ADMIN', isOwner: false, inBuSubtree: false })).toBe('none');
    expect(priorityRight({ role: 'VIEWER', isOwner: true, inBuSubtree: true })).toBe('lower');
    // Operators may not change priorities (the priority rule names no operator).
    expect(priorityRight({ role: 'OPERATOR', isOwner: false, inBuSubtree: true })).toBe('none');
    expect(priorityRight({ role: 'VIEWER', isOwner: false, inBuSubtree: false })).toBe('none');
  });

  it('lets an owner lower only, keeping the higher ones visible and marked', () => {
    const opts = priorityOptions('P2', 'lower');
    expect(opts.map((o) => o.value)).toEqual(['P0', 'P1', 'P2', 'P3', 'P4']);
    expect(opts.filter((o) => o.allowed).map((o) => o.value)).toEqual(['P2', 'P3', 'P4']);
    expect(opts[1].note).toBe('owners may only lower');
  });

  it('lets a BU admin pick any, noting the P0 limit', () => {
    const opts = priorityOptions('P3', 'bu');
    expect(opts.every((o) => o.allowed)).toBe(true);
    expect(opts[0].note).toMatch(/P0 limit/);
    expect(priorityOptions('P0', 'bu')[0].note).toBe('');
    expect(priorityOptions('P4', 'any').every((o) => o.allowed && !o.note)).toBe(true);
  });

  it('finds the reader’s BU among the job BU’s ancestors', () => {
    const chain = { id: 'rank', parent: { id: 'ads', parent: { id: 'co', parent: null } } };
    expect(buInSubtree(chain, 'rank')).toBe(true);
    expect(buInSubtree(chain, 'ads')).toBe(true);
    expect(buInSubtree(chain, 'maps')).toBe(false);
    expect(buInSubtree(null, 'ads')).toBe(false);
    expect(buInSubtree(chain, '')).toBe(false);
  });
});

describe('worstSeverity', () => {
  it('takes the highest on the scale, null for none', () => {
    expect(worstSeverity([{ severity: 'LOW' }, { severity: 'CRITICAL' }, { severity: 'SEVERE' }])).toBe('CRITICAL');
    expect(worstSeverity([{ severity: 'NONE' }])).toBe('NONE');
    expect(worstSeverity([])).toBeNull();
  });
});

describe('mergeLineage', () => {
  const first = { nodes: [job('j'), ds('d1'), job('up')], edges: [w('j', 'd1'), w('up', 'x')], truncated: false };

  it('keeps only edges between known nodes and marks the start expanded', () => {
    const s = mergeLineage(emptyLineage, 'j', first);
    expect(s.nodes.map((n) => n.id)).toEqual(['j', 'd1', 'up']);
    expect(s.edges).toEqual([w('j', 'd1')]);
    expect(s.expanded).toEqual(['j']);
    expect(s.truncated).toBe(false);
  });

  it('adds a second walk once: no duplicate node or edge, order kept, truncation sticky', () => {
    const a = mergeLineage(emptyLineage, 'j', first);
    const b = mergeLineage(a, 'd1', { nodes: [ds('d1'), job('j'), job('down')], edges: [w('j', 'd1'), r('d1', 'down')], truncated: true });
    expect(b.nodes.map((n) => n.id)).toEqual(['j', 'd1', 'up', 'down']);
    expect(b.edges).toEqual([w('j', 'd1'), r('d1', 'down')]);
    expect(b.expanded).toEqual(['j', 'd1']);
    expect(b.truncated).toBe(true);
    const c = mergeLineage(b, 'j', { nodes: [], edges: [], truncated: false });
    expect(c.expanded).toEqual(['j', 'd1']);
    expect(c.truncated).toBe(true);
  });

  it('leaves the state it merged into alone', () => {
    const a = mergeLineage(emptyLineage, 'j', first);
    mergeLineage(a, 'd1', { nodes: [job('z')], edges: [], truncated: true });
    expect(a.nodes).toHaveLength(3);
    expect(a.truncated).toBe(false);
  });
});

describe('lineagePath', () => {
  // up --w--> d0 --r--> j --w--> d1 --r--> down ; d1 --r--> other ; island alone
  const edges = [w('up', 'd0'), r('d0', 'j'), w('j', 'd1'), r('d1', 'down'), r('d1', 'other'), w('down', 'd2')];

  it('walks downstream along the arrows', () => {
    expect(lineagePath(edges, 'j', 'd2')).toEqual(['j', 'd1', 'down', 'd2']);
  });

  it('walks upstream against them', () => {
    expect(lineagePath(edges, 'j', 'up')).toEqual(['j', 'd0', 'up']);
  });

  it('is the start alone for the start, null for a node not connected', () => {
    expect(lineagePath(edges, 'j', 'j')).toEqual(['j']);
    expect(lineagePath(edges, 'j', 'island')).toBeNull();
  });

  it('takes the shortest of two ways', () => {
    const more = [...edges, w('j', 'd2')];
    expect(lineagePath(more, 'j', 'd2')).toEqual(['j', 'd2']);
  });

  it('marks the edges on the path either way round', () => {
    const path = lineagePath(edges, 'j', 'up');
    expect(edgeOnPath(r('d0', 'j'), path)).toBe(true);
    expect(edgeOnPath(w('up', 'd0'), path)).toBe(true);
    expect(edgeOnPath(w('j', 'd1'), path)).toBe(false);
    expect(edgeOnPath(w('j', 'd1'), null)).toBe(false);
  });
});

describe('lineage layout and chart', () => {
  const state = mergeLineage(emptyLineage, 'j', {
    nodes: [job('j'), ds('d0'), job('up'), ds('d1'), job('down'), ds('lonely')],
    edges: [w('up', 'd0'), r('d0', 'j'), w('j', 'd1'), r('d1', 'down')],
    truncated: false,
  });

  it('puts upstream left and downstream right of the start', () => {
    const l = lineageLayers(state, 'j');
    expect([l.get('up'), l.get('d0'), l.get('j'), l.get('d1'), l.get('down'), l.get('lonely')]).toEqual([-2, -1, 0, 1, 2, 0]);
  });

  it('styles jobs and datasets apart and draws the selected path in red', () => {
    const opt = lineageChartOption(state, 'j', 'down') as { series: Array<{ data: any[]; links: any[] }> };
    const nodes = opt.series[0].data;
    const byId = Object.fromEntries(nodes.map((n) => [n.id, n]));
    expect(byId.j.symbol).toBe('circle');
    expect(byId.d1.symbol).toBe('roundRect');
    expect(byId.j.symbolSize).toBeGreaterThan(byId.down.symbolSize);
    expect(byId.d1.itemStyle.borderWidth).toBe(3);
    expect(byId.up.itemStyle.borderWidth).not.toBe(3);
    // Only the start has been walked from.
    expect(byId.j.itemStyle.borderType).toBe('solid');
    expect(byId.down.itemStyle.borderType).toBe('dashed');
    const hot = opt.series[0].links.filter((e) => e.lineStyle.width === 3).map((e) => `${e.source}>${e.target}`);
    expect(hot).toEqual(['j>d1', 'd1>down']);
  });

  it('reads a clicked node, not an edge', () => {
    expect(clickedNode({ dataType: 'node', data: { id: 'j' } })).toBe('j');
    expect(clickedNode({ dataType: 'edge', data: { source: 'j' } })).toBeNull();
    expect(clickedNode({})).toBeNull();
  });
});

describe('runs', () => {
  it('measures a run to its end, or to now while it runs', () => {
    expect(runDuration({ startedAt: '2026-01-01T00:00:00Z', endedAt: '2026-01-01T00:10:00Z' })).toBe(600);
    expect(runDuration({ startedAt: '2026-01-01T00:00:00Z', endedAt: null }, Date.parse('2026-01-01T00:01:00Z'))).toBe(60);
    expect(runDuration({ startedAt: null })).toBeNull();
  });

  it('charts runs oldest first, coloured by state, in core-hours and GB-hours', () => {
    const opt = runsChartOption([
      { state: 'FAILED', startedAt: '2026-01-01T02:00:00Z', endedAt: '2026-01-01T02:30:00Z', usedCoreSeconds: 7200, requestedCoreSeconds: 14400, usedMemoryByteSeconds: 3600 * 2 ** 30 },
      { state: 'COMPLETED', startedAt: '2026-01-01T01:00:00Z', endedAt: '2026-01-01T01:10:00Z' },
      { state: 'OTHER', startedAt: null },
    ]) as { series: Array<{ name: string; data: any[] }> };
    const dur = opt.series.find((s) => s.name === 'Duration')!;
    expect(dur.data.map((d) => d.value[1])).toEqual([600, 1800]);
    expect(dur.data[1].itemStyle.color).toBe('#e03131');
    expect(opt.series.find((s) => s.name === 'Used cores')!.data[1][1]).toBe(2);
    expect(opt.series.find((s) => s.name === 'Requested cores')!.data[0][1]).toBeNull();
    expect(opt.series.find((s) => s.name === 'Used memory')!.data[1][1]).toBe(1);
  });

  it('says how much of the request a run used', () => {
    expect(usedOfRequested(3600, 7200, 'core')).toBe('1 core-h of 2 core-h (50%)');
    expect(usedOfRequested(3600, null, 'core')).toBe('1 core-h');
    expect(usedOfRequested(null, 7200, 'core')).toBe('—');
  });
});

describe('queuesOfJobs', () => {
  it('lists each queue once with its job count, by cluster and path', () => {
    const q = (id: string, path: string, cluster: string) => ({ id, path, cluster: { name: cluster } });
    const out = queuesOfJobs([{ queue: q('2', 'root.b', 'c1') }, { queue: q('1', 'root.a', 'c2') }, { queue: q('2', 'root.b', 'c1') }, { queue: null }]);
    expect(out.map((x) => [x.cluster, x.path, x.jobs])).toEqual([
      ['c1', 'root.b', 2],
      ['c2', 'root.a', 1],
    ]);
  });
});
