import { describe, expect, it } from 'vitest';
import {
  anomalyChartOption,
  anomalyFilter,
  clockTime,
  episodeRange,
  episodeSpan,
  formatMetricValue,
  matchesFilter,
  metricOf,
  onsetText,
  severityCounts,
  severityTiers,
  tieredRows,
  statusesFor,
  UNRESOLVED,
} from '../src/lib/anomaly';
import type { HostMetricPoint } from '../src/lib/charts';

describe('severityCounts', () => {
  it('turns "this severity and worse" totals into counts per severity', () => {
    expect(severityCounts({ CRITICAL: 1, HIGH: 3, MEDIUM: 3, LOW: 10 })).toEqual({ CRITICAL: 1, HIGH: 2, MEDIUM: 0, LOW: 7 });
  });
  it('never goes negative when the totals were read at different moments, and treats missing ones as 0', () => {
    expect(severityCounts({ CRITICAL: 2, HIGH: 1, LOW: 5 })).toEqual({ CRITICAL: 2, HIGH: 0, MEDIUM: 0, LOW: 5 });
    expect(severityCounts({})).toEqual({ CRITICAL: 0, HIGH: 0, MEDIUM: 0, LOW: 0 });
  });
});

describe('filters', () => {
  it('reads the status param: unresolved by default, one status, or all', () => {
    expect(statusesFor(undefined)).toEqual(UNRESOLVED);
    expect(statusesFor('bogus')).toEqual(UNRESOLVED);
    expect(statusesFor('RESOLVED')).toEqual(['RESOLVED']);
    expect(statusesFor('ALL')).toBeNull();
  });
  it('leaves empty choices out of the API filter', () => {
    expect(anomalyFilter({ statuses: null, minSeverity: null, clusterId: '', metric: 'CPU' })).toEqual({ metric: 'CPU' });
    expect(anomalyFilter({ statuses: ['OPEN'], minSeverity: 'HIGH', hostId: 'h1', kind: 'PEER' })).toEqual({ statuses: ['OPEN'], minSeverity: 'HIGH', hostId: 'h1', kind: 'PEER' });
  });
  it('tells whether a live episode belongs in the filtered list', () => {
    const ep = { severity: 'HIGH' as const, status: 'OPEN' as const, metric: 'CPU' as const, kind: 'SELF' as const, cluster: { id: 'c1' }, host: { id: 'h1' } };
    expect(matchesFilter(ep, {})).toBe(true);
    expect(matchesFilter(ep, { minSeverity: 'MEDIUM', statuses: UNRESOLVED, clusterId: 'c1' })).toBe(true);
    expect(matchesFilter(ep, { minSeverity: 'CRITICAL' })).toBe(false);
    expect(matchesFilter(ep, { statuses: ['RESOLVED'] })).toBe(false);
    expect(matchesFilter(ep, { clusterId: 'c2' })).toBe(false);
    expect(matchesFilter(ep, { hostId: 'h2' })).toBe(false);
    expect(matchesFilter(ep, { metric: 'MEMORY' })).toBe(false);
    expect(matchesFilter(ep, { kind: 'PEER' })).toBe(false);
  });
});

describe('values', () => {
  it('formats each metric in its unit', () => {
    expect(formatMetricValue('CPU', 97.26)).toBe('97.3%');
    expect(formatMetricValue('NET_IN', 2.5e9)).toMatch(/2\.5 Gb/);
    expect(formatMetricValue('CONTAINERS', 12)).toBe('12');
    expect(formatMetricValue('MEMORY', null)).toBe('—');
  });
  it('picks the series field of a metric', () => {
    const p = { ts: 't', cpuPercent: 1, cpuPercentMax: 9, memoryPercent: 2, diskIoPercent: 3, netInBitsPerSecond: 4, netOutBitsPerSecond: 5, containers: 6, samples: 1 } as HostMetricPoint;
    expect([metricOf('CPU', p), metricOf('MEMORY', p), metricOf('DISK_IO', p), metricOf('NET_IN', p), metricOf('NET_OUT', p), metricOf('CONTAINERS', p)]).toEqual([1, 2, 3, 4, 5, 6]);
  });
});

describe('the episode chart', () => {
  const now = Date.parse('2026-11-30T12:00:00Z');
  const ep = {
    metric: 'CPU' as const,
    startedAt: '2026-11-30T10:00:00Z',
    lastSeenAt: '2026-11-30T10:30:00Z',
    endedAt: null,
    peakAt: '2026-11-30T10:10:00Z',
    peakValue: 97,
    expected: 30,
  };
  it('frames the episode with normal behaviour on both sides, never past now', () => {
    expect(episodeRange(ep, now)).toEqual({ from: '2026-11-30T08:00:00.000Z', to: '2026-11-30T11:30:00.000Z' });
    const live = { ...ep, lastSeenAt: '2026-11-30T11:58:00Z' };
    expect(episodeRange(live, now).to).toBe('2026-11-30T12:00:00.000Z');
    // A long episode gets as much again before it.
    const long = { ...ep, startedAt: '2026-11-30T04:00:00Z' };
    expect(episodeRange(long, now).from).toBe('2026-11-29T21:30:00.000Z');
  });
  it('widens a one-point episode so its shading shows', () => {
    const [s, e] = episodeSpan({ ...ep, lastSeenAt: ep.startedAt });
    expect(e - s).toBe(4 * 60e3);
    expect(episodeSpan(ep)).toEqual([Date.parse(ep.startedAt), Date.parse(ep.lastSeenAt)]);
  });
  it('shades the episode, marks the expected level and the peak', () => {
    const points = [
      { ts: '2026-11-30T09:00:00Z', cpuPercent: 28, samples: 1 },
      { ts: '2026-11-30T10:10:00Z', cpuPercent: 96, samples: 1 },
      { ts: '2026-11-30T11:00:00Z', cpuPercent: null, samples: 0 },
    ] as HostMetricPoint[];
    const range = episodeRange(ep, now);
    const o = anomalyChartOption(points, ep, range) as { series: Array<Record<string, any>>; yAxis: { max?: number }; xAxis: { min: number; max: number } };
    const line = o.series[0];
    expect(line.data).toEqual([
      [Date.parse('2026-11-30T09:00:00Z'), 28],
      [Date.parse('2026-11-30T10:10:00Z'), 96],
      [Date.parse('2026-11-30T11:00:00Z'), null],
    ]);
    expect(line.markArea.data[0][0].xAxis).toBe(Date.parse(ep.startedAt));
    expect(line.markArea.data[0][1].xAxis).toBe(Date.parse(ep.lastSeenAt));
    expect(line.markLine.data[0].yAxis).toBe(30);
    expect(o.series.find((s) => s.name === 'Peak')?.data).toEqual([[Date.parse(ep.peakAt), 97]]);
    expect(o.series.find((s) => s.name === 'Expected')?.data).toEqual([[Date.parse(ep.peakAt), 30]]);
    expect(o.yAxis.max).toBe(100);
    expect(o.xAxis.min).toBe(Date.parse(range.from));
  });
  it('draws no expected level when the API has none', () => {
    const o = anomalyChartOption([], { ...ep, metric: 'NET_IN', expected: null, peakValue: null }, episodeRange(ep, now)) as { series: Array<Record<string, any>>; yAxis: { max?: number } };
    expect(o.series).toHaveLength(1);
    expect(o.series[0].markLine).toBeUndefined();
    expect(o.yAxis.max).toBeUndefined();
  });
});

describe('onsetText', () => {
  const now = Date.parse('2026-11-30T12:00:00Z');
  const hosts = [{}, {}, {}, {}, {}];
  it('says what the hosts share', () => {
    expect(onsetText({ metric: 'CPU', start: '2026-11-30T10:02:00Z', scope: 'RACK', rack: 'r12', hosts }, now)).toBe('rack r12: 5 hosts CPU from 10:02');
    expect(onsetText({ metric: 'MEMORY', start: '2026-11-30T09:40:00Z', scope: 'VERSION', component: 'NODEMANAGER', version: '3.3.0', hosts: hosts.slice(0, 4) }, now)).toBe(
      'hosts on NODEMANAGER 3.3.0: 4 hosts Memory from 09:40',
    );
    expect(onsetText({ metric: 'DISK_IO', start: '2026-11-30T09:40:00Z', scope: 'CLUSTER', hosts }, now)).toBe('most of the cluster: 5 hosts Disk IO from 09:40');
    expect(onsetText({ metric: 'CPU', start: '2026-11-29T23:05:00Z', scope: 'HOSTS', hosts: [{}, {}] }, now)).toBe('2 hosts CPU from 2026-11-29 23:05');
  });
  it('shows the date only when the time is not today', () => {
    expect(clockTime('2026-11-30T01:02:00Z', now)).toBe('01:02');
    expect(clockTime('nope', now)).toBe('—');
  });
});

describe('tieredRows', () => {
  type Row = { id: string; severity: 'LOW' | 'MEDIUM' | 'HIGH' | 'CRITICAL' };
  const page = (nodes: Row[], next: string | null = null) => ({ nodes, pageInfo: { hasNextPage: next !== null, endCursor: next } });
  const c1 = { id: 'c1', severity: 'CRITICAL' as const };
  const c2 = { id: 'c2', severity: 'CRITICAL' as const };
  const h1 = { id: 'h1', severity: 'HIGH' as const };
  const l1 = { id: 'l1', severity: 'LOW' as const };
  const l2 = { id: 'l2', severity: 'LOW' as const };
  it('lists tier after tier, dropping the worse rows each tier repeats', () => {
    const r = tieredRows(severityTiers(null), [[page([c1])], [page([h1, c1])], [page([h1, c1])], [page([l1, h1, c1])]]);
    expect(r.rows.map((x) => x.id)).toEqual(['c1', 'h1', 'l1']);
    expect(r).toMatchObject({ next: null, pending: false });
  });
  it('stops at a tier with more pages, and loads more of it before any less severe row', () => {
    let r = tieredRows(severityTiers(null), [[page([c1], 'k1')], [page([h1, c1])], [page([h1])], [page([l1])]]);
    expect(r.rows.map((x) => x.id)).toEqual(['c1']);
    expect(r.next).toEqual({ tier: 0, after: 'k1' });
    r = tieredRows(severityTiers(null), [[page([c1], 'k1'), page([c2])], [page([h1, c1])], [page([h1])], [page([l1], 'k4')]]);
    expect(r.rows.map((x) => x.id)).toEqual(['c1', 'c2', 'h1', 'l1']);
    expect(r.next).toEqual({ tier: 3, after: 'k4' });
  });
  it('waits for a tier still loading', () => {
    const r = tieredRows(severityTiers(null), [[page([c1])], undefined, [page([])], [page([l1])]]);
    expect(r.rows.map((x) => x.id)).toEqual(['c1']);
    expect(r.pending).toBe(true);
    expect(tieredRows(severityTiers(null), [[page([c1]), undefined]]).pending).toBe(true);
  });
  it('lists newest first in one listing', () => {
    const r = tieredRows([null], [[page([l1, c1], 'k'), page([l2])]]);
    expect(r.rows.map((x) => x.id)).toEqual(['l1', 'c1', 'l2']);
    expect(r.next).toBeNull();
  });
  it('tiers down to the minimum severity', () => {
    expect(severityTiers('HIGH')).toEqual(['CRITICAL', 'HIGH']);
    expect(severityTiers(null)).toEqual(['CRITICAL', 'HIGH', 'MEDIUM', 'LOW']);
  });
});
