import { describe, expect, it } from 'vitest';
import {
  chartPoints,
  axisName,
  clickedHost,
  clusteringChartOption,
  clusteringFilter,
  deviationShade,
  dotTooltip,
  FEATURES,
  FEATURE_LABEL,
  formatDeviation,
  formatFeatureValue,
  groupColor,
  groupName,
  qualityWords,
  silhouetteBar,
  type ScatterPoint,
} from '../src/lib/clustering';

describe('formatFeatureValue', () => {
  it('shows fractions as percent and containers as numbers', () => {
    expect(formatFeatureValue('CPU_MEAN', 0.423)).toBe('42.3%');
    expect(formatFeatureValue('NET_IN_P95', 0.05)).toBe('5%');
    expect(formatFeatureValue('CONTAINERS_MEAN', 3.25)).toBe('3.3');
    expect(formatFeatureValue('CONTAINERS_P95', 42.4)).toBe('42');
    expect(formatFeatureValue('MEMORY_P95', null)).toBe('—');
  });
  it('has a label for every feature', () => {
    expect(FEATURES).toHaveLength(10);
    for (const f of FEATURES) expect(FEATURE_LABEL[f]).toBeTruthy();
  });
});

describe('deviations', () => {
  it('are signed with σ', () => {
    expect(formatDeviation(1.234)).toBe('+1.2σ');
    expect(formatDeviation(-2.06)).toBe('−2.1σ');
    expect(formatDeviation(-0.04)).toBe('0.0σ');
    expect(formatDeviation(undefined)).toBe('—');
  });
  it('shade warm above the median, cool below, plain near it, saturating at 3σ', () => {
    expect(deviationShade(0.3)).toBeNull();
    expect(deviationShade(null)).toBeNull();
    expect(deviationShade(1)!.bg).toMatch(/^rgba\(224, 49, 49,/);
    expect(deviationShade(-1)!.bg).toMatch(/^rgba\(28, 126, 214,/);
    expect(deviationShade(3)).toEqual(deviationShade(9));
    const alpha = (d: number) => Number(deviationShade(d)!.bg.match(/([\d.]+)\)$/)![1]);
    expect(alpha(2)).toBeGreaterThan(alpha(1));
  });
});

describe('clusteringFilter', () => {
  it('keeps only the params that restrict', () => {
    expect(clusteringFilter({})).toEqual({});
    expect(clusteringFilter({ kind: 'NOPE', rack: '  ', clusterId: null })).toEqual({});
    expect(clusteringFilter({ kind: 'BATCH', clusterId: 'Q2x1c3Rlcjox', rack: ' r07 ' })).toEqual({
      kinds: ['BATCH'],
      clusterIds: ['Q2x1c3Rlcjox'],
      rack: 'r07',
    });
  });
});

describe('groups and runs', () => {
  it('colour groups by label, stably and for any label', () => {
    expect(groupColor(0)).toBe(groupColor(10));
    expect(groupColor(1)).not.toBe(groupColor(2));
    expect(groupColor(-1)).toMatch(/^#/);
  });
  it('name a group with what sets it apart', () => {
    expect(groupName({ label: 2, description: 'CPU-heavy, low IO' })).toBe('Group 2 · CPU-heavy, low IO');
    expect(groupName({ label: 0, description: '' })).toBe('Group 0');
  });
  it('map silhouettes onto a bar and into words', () => {
    expect(silhouetteBar(-1)).toBe(0);
    expect(silhouetteBar(0)).toBe(0.5);
    expect(silhouetteBar(1)).toBe(1);
    expect(silhouetteBar(Number.NaN)).toBe(0);
    expect(qualityWords(0.8)).toBe('strong structure');
    expect(qualityWords(0.3)).toBe('weak structure');
    expect(qualityWords(0.1)).toBe('no substantial structure');
  });
  it('name the axes with their share of the variance', () => {
    expect(axisName(1, 0.423)).toBe('PC1 (42% of variance)');
    expect(axisName(2, undefined)).toBe('PC2');
  });
});

describe('clusteringChartOption', () => {
  const pt = (hostname: string, group: number, outlier = false): ScatterPoint => ({
    hostname,
    clusterName: 'c1',
    x: group,
    y: -group,
    group,
    outlier,
  });
  const groups = [
    { label: 1, description: 'busy', hostCount: 2 },
    { label: 0, description: 'idle', hostCount: 1 },
  ];
  const option = clusteringChartOption([pt('a', 0), pt('b', 1), pt('c', 1), pt('<x>', 1, true)], groups, [0.6, 0.3]);
  const series = option.series as Array<{ name: string; data: Array<{ hostname: string; value: number[] }>; symbol?: string }>;

  it('draws one series per group, by label, with its count in the legend, and outliers apart', () => {
    expect(series.map((s) => s.name)).toEqual(['Group 0 · idle (1)', 'Group 1 · busy (2)', 'Outliers (1)']);
    expect(series[1].data.map((d) => d.hostname)).toEqual(['b', 'c']);
    expect(series[2].data.map((d) => d.hostname)).toEqual(['<x>']);
    expect(series[2].symbol).toBe('diamond');
    expect(series[1].data[0].value).toEqual([1, -1]);
    expect((option.xAxis as { name: string }).name).toBe('PC1 (60% of variance)');
  });
  it('tooltips escape the hostname and say when a host is an outlier; a click gives the host', () => {
    const d = series[2].data[0] as never;
    const html = dotTooltip(d, groups);
    expect(html).toContain('&lt;x&gt;');
    expect(html).toContain('cluster c1');
    expect(html).toContain('Group 1 · busy');
    expect(html).toContain('outlier');
    expect(clickedHost({ data: d })).toBe('<x>');
    expect(clickedHost({ data: { value: [1, 2] } })).toBeNull();
    expect(clickedHost(null)).toBeNull();
  });
});

describe('chartPoints', () => {
  it('zips the parallel lists into points, as long as the shortest', () => {
    const pts = chartPoints({
      hostnames: ['a', 'b', 'c'],
      clusterNames: ['c1', 'c1', 'c2'],
      x: [0, 1, 2],
      y: [3, 4, 5],
      groups: [0, 1, 1],
      outliers: [false, true],
    });
    expect(pts).toEqual([
      { hostname: 'a', clusterName: 'c1', x: 0, y: 3, group: 0, outlier: false },
      { hostname: 'b', clusterName: 'c1', x: 1, y: 4, group: 1, outlier: true },
    ]);
  });
});
