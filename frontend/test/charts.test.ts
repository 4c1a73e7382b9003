import { describe, expect, it } from 'vitest';
import {
  forecastHorizonEnd,
  hostMetricCharts,
  mergeSamples,
  pushBounded,
  screenTrendOption,
  seriesToSamples,
  toPairs,
  utilAxisInterval,
  utilAxisMax,
  watermarkChartOption,
  type ChartOption,
  type HostMetricPoint,
  type WatermarkForecast,
  type WatermarkSeries,
} from '../src/lib/charts';


const DAY = 86400e3;
const T0 = Date.parse('2024-05-10T00:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

const series: WatermarkSeries = {
  dimension: 'CPU',
  unit: 'cores',
  step: '1h0m0s',
  threshold: 0.7,
  points: [
    { ts: iso(T0 - 3 * 3600e3), utilization: 0.5, p95: 0.6, max: 0.7 },
    { ts: iso(T0 - 2 * 3600e3), utilization: 0.55, p95: null, max: 0.72 },
    { ts: iso(T0 - 3600e3), utilization: 0.6, p95: 0.68, max: null },
  ],
};
const forecast: WatermarkForecast = {
  dimension: 'CPU',
  method: 'Theil–Sen on daily peaks',
  threshold: 0.7,
  daysOfHistory: 30,
  currentPeak: 0.62,
  slopePerDay: 0.01,
  crossesAt: iso(T0 + 8 * DAY),
  crossesAtEarliest: iso(T0 + 6 * DAY),
  crossesAtLatest: iso(T0 + 11 * DAY),
  projection: Array.from({ length: 40 }, (_, d) => ({ ts: iso(T0 + d * DAY), value: 0.62 + 0.01 * d, low: 0.6 + 0.009 * d, high: 0.64 + 0.011 * d })),
  computedAt: iso(T0),
};
const range = { from: iso(T0 - 7 * DAY), to: iso(T0) };

type S = { name: string; data: Array<[number, number | null]>; markLine?: { data: Array<Record<string, unknown>> }; markArea?: { data: unknown[] }; stack?: string };
const seriesOf = (o: ChartOption) => o.series as S[];
const byName = (o: ChartOption, n: string) => seriesOf(o).find((s) => s.name === n);

describe('watermarkChartOption', () => {
  it('draws utilisation, p95 and max with nulls as gaps, in UTC without animation', () => {
    const o = watermarkChartOption({ series, range });
    expect(o.useUTC).toBe(true);
    expect(o.animation).toBe(false);
    expect(seriesOf(o).map((s) => s.name)).toEqual(['Utilisation', 'p95', 'Max']);
    expect(byName(o, 'p95')!.data[1]).toEqual([T0 - 2 * 3600e3, null]);
    expect(byName(o, 'Max')!.data[2][1]).toBeNull();
  });
  it('marks the threshold as a horizontal markLine and shades the zone above it', () => {
    const o = watermarkChartOption({ series, range });
    const util = byName(o, 'Utilisation')!;
    expect(util.markLine!.data[0]).toMatchObject({ yAxis: 0.7, name: 'Threshold' });
    expect(util.markArea!.data[0]).toEqual([{ yAxis: 0.7 }, { yAxis: (o.yAxis as { max: number }).max }]);
  });
  it('adds the forecast line, its band (stacked low + width) and the crossing when asked', () => {
    const o = watermarkChartOption({ series, forecast, showForecast: true, range });
    const low = byName(o, 'band-low')!;
    const band = byName(o, 'Forecast band')!;
    const line = byName(o, 'Forecast')!;
    expect(low.stack).toBe('forecast-band');
    expect(band.stack).toBe('forecast-band');
    expect(band.data[1][1]).toBeCloseTo(0.002 * 1 + 0.04, 6); // high − low
    expect(line.markLine!.data[0]).toMatchObject({ xAxis: T0 + 8 * DAY, name: 'Crossing' });
    expect(line.markArea!.data[0]).toEqual([{ xAxis: T0 + 6 * DAY }, { xAxis: T0 + 11 * DAY }]);
    // the x axis reaches past the crossing
    expect((o.xAxis as { max: number }).max).toBeGreaterThanOrEqual(T0 + 8 * DAY);
  });
  it('clips the projection so history keeps most of the chart', () => {
    const o = watermarkChartOption({ series, forecast: { ...forecast, crossesAt: null, crossesAtEarliest: null, crossesAtLatest: null }, showForecast: true, range: { from: iso(T0 - DAY), to: iso(T0) } });
    const last = byName(o, 'Forecast')!.data.at(-1)![0];
    expect(last).toBeLessThanOrEqual(T0 + 2 * DAY);
    expect(byName(o, 'Forecast')!.markLine).toBeUndefined();
  });
  it('leaves the forecast out of past ranges', () => {
    const o = watermarkChartOption({ series, forecast, showForecast: false, range });
    expect(seriesOf(o).map((s) => s.name)).toEqual(['Utilisation', 'p95', 'Max']);
  });
  it('formats the tooltip in UTC with the forecast band', () => {
    const o = watermarkChartOption({ series, forecast, showForecast: true, range });
    const fmt = (o.tooltip as { formatter: (items: unknown[]) => string }).formatter;
    const text = fmt([
      { seriesName: 'Utilisation', value: [T0, 0.6], marker: '', axisValue: T0 },
      { seriesName: 'Forecast', value: [T0 + DAY, 0.63], marker: '', axisValue: T0 + DAY },
      { seriesName: 'band-low', value: [T0 + DAY, 0.6], marker: '', axisValue: T0 + DAY },
    ]);
    expect(text).toContain('2024-05-10 00:00 UTC');
    expect(text).toContain('Utilisation 60%');
    expect(text).toContain('Forecast 63% (61%–65%)');
    expect(text).not.toContain('band-low');
  });
});

describe('axis and horizon helpers', () => {
  it('leaves room above the data and the threshold, on the label grid', () => {
    expect(utilAxisMax(0.5, 0.7)).toBe(1); // threshold × 1.15 = 0.805 → the next 0.2 step
    expect(utilAxisMax(0.2, 0.3)).toBe(0.4);
    expect(utilAxisMax(1.5, 0.9)).toBe(1.2);
    expect(utilAxisInterval(0.5)).toBe(0.1);
    expect(utilAxisInterval(1)).toBe(0.2);
  });
  it('extends the forecast horizon to a near crossing only', () => {
    expect(forecastHorizonEnd(T0 - 7 * DAY, T0, null)).toBe(T0 + 4.2 * DAY);
    expect(forecastHorizonEnd(T0 - DAY, T0, null)).toBe(T0 + 2 * DAY);
    expect(forecastHorizonEnd(T0 - DAY, T0, T0 + 10 * DAY)).toBe(T0 + 11 * DAY);
    expect(forecastHorizonEnd(T0 - DAY, T0, T0 + 60 * DAY)).toBe(T0 + 2 * DAY);
  });
  it('turns points into pairs, dropping bad times', () => {
    expect(toPairs([{ ts: 'x', v: 1 }, { ts: iso(T0), v: Number.NaN }], (p) => p.v)).toEqual([[T0, null]]);
  });
});

describe('host metric charts', () => {
  it('builds one chart per metric, percentages capped at 100', () => {
    const p: HostMetricPoint = { ts: iso(T0), cpuPercent: 40, cpuPercentMax: 70, memoryPercent: 50, diskIoPercent: null, netInBitsPerSecond: 1e9, netOutBitsPerSecond: 2e9, containers: 12, samples: 4 };
    const charts = hostMetricCharts([p], range);
    expect(Object.keys(charts)).toEqual(['cpu', 'memory', 'diskIo', 'network', 'containers']);
    expect(seriesOf(charts.cpu).map((s) => s.name)).toEqual(['CPU avg', 'CPU max']);
    expect((charts.cpu.yAxis as { max: number }).max).toBe(100);
    expect(seriesOf(charts.diskIo)[0].data).toEqual([[T0, null]]);
    expect((charts.network.yAxis as { axisLabel: { formatter: (v: number) => string } }).axisLabel.formatter(2e9)).toBe('2 Gbit/s');
  });
});

describe('big screen trend', () => {
  it('keeps a bounded, time-ordered history', () => {
    let h: Array<{ t: number }> = [];
    for (let i = 0; i < 1000; i++) h = pushBounded(h, { t: i }, 100);
    expect(h).toHaveLength(100);
    expect(h[0].t).toBe(900);
    expect(pushBounded(h, { t: 5 }, 100)).toBe(h); // older samples are ignored
  });
  it('turns per-dimension series into samples and merges them with pulses', () => {
    const samples = seriesToSamples([
      { dimension: 'CPU', points: [{ ts: iso(T0), utilization: 0.5 }, { ts: iso(T0 + 60e3), utilization: 0.6 }] },
      { dimension: 'MEMORY', points: [{ ts: iso(T0), utilization: 0.4 }, { ts: 'bad', utilization: 0.1 }] },
    ]);
    expect(samples).toEqual([
      { t: T0, levels: { CPU: 0.5, MEMORY: 0.4 } },
      { t: T0 + 60e3, levels: { CPU: 0.6 } },
    ]);
    const merged = mergeSamples(samples, [{ t: T0 + 60e3, levels: { CPU: 0.61 } }, { t: T0 + 120e3, levels: { CPU: 0.62 } }], 2);
    expect(merged.map((s) => s.t)).toEqual([T0 + 60e3, T0 + 120e3]);
    expect(merged[0].levels.CPU).toBe(0.61);
  });
  it('draws the window ending now, in percent, with dots while samples are few', () => {
    const o = screenTrendOption([{ t: T0 - 7 * 3600e3, levels: { CPU: 0.1 } }, { t: T0 - 60e3, levels: { CPU: 0.456 } }], ['CPU', 'MEMORY'], T0, 6 * 3600e3);
    const s = seriesOf(o);
    expect(s.map((x) => x.name)).toEqual(['CPU', 'Memory']);
    expect(s[0].data).toEqual([[T0 - 60e3, 45.6]]);
    expect(s[1].data).toEqual([[T0 - 60e3, null]]);
    expect((s[0] as unknown as { showSymbol: boolean }).showSymbol).toBe(true);
    expect((o.xAxis as { min: number }).min).toBe(T0 - 6 * 3600e3);
  });
});
