import { describe, expect, it } from 'vitest';
import { buildQueueTree, formatShare, queueUsageOption, shareBar, shareScale, topConsumers } from '../src/lib/queues';
import { formatEvidence, jobPath, mayAnalyze, problemCount, worstFirst } from '../src/lib/jobAnalysis';

const q = (id: string, path: string, parent?: string) => ({ id, path, parent: parent ? { id: parent } : null });

describe('buildQueueTree', () => {
  it('orders parents first, siblings by path, with depths', () => {
    const rows = buildQueueTree([q('3', 'root.b', '1'), q('4', 'root.a.x', '2'), q('1', 'root'), q('2', 'root.a', '1')]);
    expect(rows.map((r) => [r.queue.path, r.depth, r.hasChildren])).toEqual([
      ['root', 0, true],
      ['root.a', 1, true],
      ['root.a.x', 2, false],
      ['root.b', 1, false],
    ]);
  });

  it('finds a parent by path when the parent id is missing', () => {
    const rows = buildQueueTree([q('2', 'root.a'), q('1', 'root'), q('3', 'root.a.b')]);
    expect(rows.map((r) => [r.queue.path, r.depth])).toEqual([
      ['root', 0],
      ['root.a', 1],
      ['root.a.b', 2],
    ]);
  });

  it('keeps a queue whose parent is not in the list, as a root', () => {
    const rows = buildQueueTree([q('5', 'root.x.y', '99'), q('1', 'root')]);
    expect(rows.map((r) => [r.queue.path, r.depth])).toEqual([
      ['root', 0],
      ['root.x.y', 1],
    ]);
    const orphan = buildQueueTree([q('5', 'other.y', '99')]);
    expect(orphan.map((r) => [r.queue.path, r.depth])).toEqual([['other.y', 0]]);
  });

  it('survives a cycle of parent ids, every queue once', () => {
    const rows = buildQueueTree([q('1', 'a', '2'), q('2', 'b', '1')]);
    expect(rows.map((r) => r.queue.id).sort()).toEqual(['1', '2']);
  });
});

describe('shareBar', () => {
  it('places use, guarantee and max on a common scale', () => {
    expect(shareBar(0.2, 0.5, 0.1, 0.5)).toEqual({ used: 20, guaranteed: 40, max: 100, over: false, overMax: false });
  });
  it('flags borrowing above the guarantee and use above the max, clamped to the bar', () => {
    expect(shareBar(0.2, 0.5, 0.3, 0.5)).toMatchObject({ used: 60, over: true, overMax: false });
    expect(shareBar(0.2, 0.25, 0.6, 0.5)).toMatchObject({ used: 100, over: true, overMax: true });
  });
  it('treats missing or odd numbers as zero and scales to the queue itself without a scale', () => {
    expect(shareBar(0.1, 0.4, null)).toEqual({ used: 0, guaranteed: 25, max: 100, over: false, overMax: false });
    expect(shareBar(Number.NaN, -1, undefined)).toEqual({ used: 0, guaranteed: 0, max: 0, over: false, overMax: false });
  });
  it('scales a tree to its largest figure, at most the cluster', () => {
    expect(shareScale([{ guaranteed: 0.16, max: 0.4, used: 0.1 }, { guaranteed: 0.36, max: 0.9, used: 0.2 }])).toBe(0.9);
    expect(shareScale([{ guaranteed: 1, max: 1, used: 1.3 }])).toBe(1);
    expect(shareScale([])).toBe(0.01);
  });
  it('formats shares as percentages of the cluster', () => {
    expect(formatShare(0.36)).toBe('36%');
    expect(formatShare(0.025)).toBe('2.5%');
    expect(formatShare(0.001)).toBe('0.1%');
    expect(formatShare(0)).toBe('0%');
    expect(formatShare(null)).toBe('—');
  });
});

describe('queueUsageOption', () => {
  const range = { from: '2026-11-30T00:00:00Z', to: '2026-11-30T02:00:00Z' };
  const points = [
    { ts: '2026-11-30T00:00:00Z', usedVcores: 10, maxUsedVcores: 12, pendingApps: 0 },
    { ts: '2026-11-30T01:00:00Z', usedVcores: 30, maxUsedVcores: 40, pendingApps: 2 },
  ];
  it('draws used and peak vcores, guarantee and max as flat lines, pending apps on the second axis', () => {
    const o = queueUsageOption(points, 20, 50, range) as { series: Array<{ name: string; data: unknown[]; yAxisIndex?: number }> };
    const byName = Object.fromEntries(o.series.map((s) => [s.name, s]));
    expect(Object.keys(byName)).toEqual(['Used vcores', 'Peak used', 'Guaranteed', 'Maximum', 'Pending apps']);
    expect(byName['Used vcores'].data[1]).toEqual([Date.parse(points[1].ts), 30]);
    expect(byName['Guaranteed'].data).toEqual([
      [Date.parse(range.from), 20],
      [Date.parse(range.to), 20],
    ]);
    expect(byName['Pending apps'].yAxisIndex).toBe(1);
  });
  it('leaves out the lines it cannot draw without the cluster size', () => {
    const o = queueUsageOption(points, null, null, range) as { series: Array<{ name: string }> };
    expect(o.series.map((s) => s.name)).toEqual(['Used vcores', 'Peak used', 'Pending apps']);
  });
});

describe('topConsumers', () => {
  it('sorts by share, hidden shares last', () => {
    const out = topConsumers([
      { id: 'a', share: 0.1, usedCoreSeconds: 1 },
      { id: 'b', share: null, usedCoreSeconds: null },
      { id: 'c', share: 0.6, usedCoreSeconds: 6 },
      { id: 'd', share: 0, usedCoreSeconds: 0 },
    ]);
    expect(out.map((c) => c.id)).toEqual(['c', 'a', 'd', 'b']);
  });
});

describe('job analysis helpers', () => {
  it('orders findings worst first and counts the ones to act on', () => {
    const fs = [
      { heuristic: 'A', severity: 'NONE' as const },
      { heuristic: 'B', severity: 'CRITICAL' as const },
      { heuristic: 'C', severity: 'LOW' as const },
    ];
    expect(worstFirst(fs).map((f) => f.heuristic)).toEqual(['B', 'C', 'A']);
    expect(problemCount(fs)).toBe(2);
  });
  it('formats evidence: ratios as percentages, the rest with their unit', () => {
    expect(formatEvidence(0.9, 'ratio')).toBe('90%');
    expect(formatEvidence(0.05, 'ratio')).toBe('5%');
    expect(formatEvidence(8, 'GB')).toBe('8 GB');
    expect(formatEvidence(1.234, 'GB')).toBe('1.23 GB');
    expect(formatEvidence(24, '')).toBe('24');
  });
  it('links to the job page by id', () => {
    expect(jobPath('Sm9iOjE=')).toBe('/jobs/Sm9iOjE%3D');
  });
  it('offers analysis to the owner, BU admins, operators and admins', () => {
    expect(mayAnalyze('VIEWER', 'viewer', 'viewer')).toBe(true);
    expect(mayAnalyze('VIEWER', 'viewer', 'someone')).toBe(false);
    expect(mayAnalyze('VIEWER', 'viewer', null)).toBe(false);
    expect(mayAnalyze('BU_ADMIN', 'x', 'y')).toBe(true);
    expect(mayAnalyze('OPERATOR', 'x', null)).toBe(true);
  });
});
