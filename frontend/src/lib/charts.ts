// Series → ECharts options. Pure functions (no echarts import), so they are
// unit-tested and the option objects stay plain data plus a few formatters.
// Every chart uses UTC (the API speaks UTC, and so does the app), no animation
// (dashboards refresh; animations only cost CPU on a wall display), and nulls as
// gaps rather than zeros.

import { formatBitsPerSecond, formatDateTime, formatNumber, formatPercent } from './format';
import { axisTimeFormat } from './timerange';
import { DIMENSION_LABEL, formatUtil, type WatermarkDimension } from './watermark';
import type { ResultOf } from '../graphql';
import type { ForecastFields, HostMetricPointFields, WatermarkSeriesFields } from '../graphql/fragments';

export type WatermarkSeries = ResultOf<typeof WatermarkSeriesFields>;
export type WatermarkForecast = ResultOf<typeof ForecastFields>;
export type HostMetricPoint = ResultOf<typeof HostMetricPointFields>;

export type Pair = [number, number | null];
export type ChartOption = Record<string, unknown>;

const ms = (iso: string) => new Date(iso).getTime();
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

export const PALETTE = {
  util: '#1d4ed8',
  p95: '#7048e8',
  max: '#94a3b8',
  forecast: '#e67700',
  band: 'rgba(230, 119, 0, 0.2)',
  threshold: '#e03131',
  crossing: '#c92a2a',
  grid: '#eef1f5',
  axis: '#8190a5',
};

export const DARK_PALETTE = {
  text: '#c9d4e5',
  axis: '#7d8ba1',
  grid: 'rgba(255,255,255,0.07)',
  lines: ['#4da3ff', '#38d996', '#ffb020', '#c084fc', '#ff6b8a', '#5eead4', '#f59e0b'],
};

/** [time, value] pairs; missing or non-finite values become null (a gap in the line). */
export function toPairs<P extends { ts: string }>(points: P[], pick: (p: P) => number | null | undefined): Pair[] {
  const out: Pair[] = [];
  for (const p of points) {
    const t = ms(p.ts);
    if (Number.isNaN(t)) continue;
    const v = pick(p);
    out.push([t, isNum(v) ? v : null]);
  }
  return out;
}

/** The largest finite value in some pair lists (0 when there is none). */
export function maxOf(...lists: Pair[][]): number {
  let m = 0;
  for (const l of lists) for (const [, v] of l) if (isNum(v) && v > m) m = v;
  return m;
}

/** A y-axis maximum for utilisation charts: room above the data and the threshold, rounded up to 10%, at most 120%. */
export function utilAxisMax(dataMax: number, threshold: number | null | undefined): number {
  const top = Math.max(dataMax * 1.08, isNum(threshold) ? threshold * 1.15 : 0, 0.1);
  const step = utilAxisInterval(top);
  return Math.min(1.2, Math.round(Math.ceil(top / step - 1e-9) * step * 100) / 100);
}

/** The y-axis label interval for a utilisation axis of about `max`. */
export function utilAxisInterval(max: number): number {
  return max > 0.6 ? 0.2 : 0.1;
}

/**
 * How far past the range end the forecast is drawn: 60% of the range (at
 * least two days) so history keeps most of the width, stretched to show the
 * expected crossing when it lies within 30 days.
 */
export function forecastHorizonEnd(fromMs: number, toMs: number, crossingMs: number | null): number {
  let end = toMs + Math.max((toMs - fromMs) * 0.6, 2 * 86400e3);
  if (crossingMs !== null && crossingMs > toMs && crossingMs - toMs <= 30 * 86400e3) end = Math.max(end, crossingMs + 86400e3);
  return end;
}

export interface WatermarkChartInput {
  series: WatermarkSeries;
  forecast?: WatermarkForecast | null;
  /** Draw the forecast (only when the range ends now). */
  showForecast?: boolean;
  range: { from: string; to: string };
  /** Small multiple: no legend, tighter grid. */
  compact?: boolean;
}

/** The forecast's crossing as an axis label: "crosses 85% · 2024-06-12". */
export function crossingLabel(f: Pick<WatermarkForecast, 'crossesAt' | 'threshold'>): string {
  return f.crossesAt ? `crosses ${formatUtil(f.threshold)} · ${f.crossesAt.slice(0, 10)}` : '';
}

/**
 * A water-level chart: utilisation (area), p95 and max, the threshold as a
 * markLine (and the zone above it faintly red), and — when asked — the
 * forecast's projection line with its confidence band, the expected crossing as
 * a vertical markLine and the crossing's confidence window as a markArea.
 */
export function watermarkChartOption(input: WatermarkChartInput): ChartOption {
  const { series, compact } = input;
  const threshold = series.threshold;
  const util = toPairs(series.points, (p) => p.utilization);
  const p95 = toPairs(series.points, (p) => p.p95);
  const max = toPairs(series.points, (p) => p.max);

  const fromMs = ms(input.range.from);
  const rangeEnd = ms(input.range.to);
  const fc = input.showForecast && input.forecast && input.forecast.projection.length ? input.forecast : null;
  const crossing = fc?.crossesAt ? ms(fc.crossesAt) : null;
  const horizon = forecastHorizonEnd(fromMs, rangeEnd, crossing);
  const proj = fc ? [...fc.projection].sort((a, b) => ms(a.ts) - ms(b.ts)).filter((p) => ms(p.ts) <= horizon) : [];
  const low = toPairs(proj, (p) => p.low);
  const width = toPairs(proj, (p) => (isNum(p.high) && isNum(p.low) ? Math.max(0, p.high - p.low) : null));
  const value = toPairs(proj, (p) => p.value);
  const high = toPairs(proj, (p) => p.high);

  let toMs = rangeEnd;
  if (proj.length) toMs = Math.max(toMs, ms(proj[proj.length - 1].ts));
  if (crossing !== null && crossing > toMs && crossing <= horizon) toMs = crossing + 86400e3;

  const yMax = utilAxisMax(maxOf(util, p95, max, value, high), threshold);
  const byTs = new Map(proj.map((p) => [ms(p.ts), p]));

  const chartSeries: ChartOption[] = [
    {
      name: 'Utilisation',
      type: 'line',
      data: util,
      showSymbol: false,
      connectNulls: false,
      color: PALETTE.util,
      lineStyle: { width: 2 },
      areaStyle: { opacity: 0.1 },
      z: 3,
      markLine: {
        silent: true,
        symbol: 'none',
        data: [
          {
            name: 'Threshold',
            yAxis: threshold,
            lineStyle: { color: PALETTE.threshold, type: 'dashed', width: 1.5 },
            label: { formatter: `threshold ${formatUtil(threshold)}`, position: 'insideEndTop', color: PALETTE.threshold, fontSize: 11 },
          },
        ],
      },
      markArea: {
        silent: true,
        itemStyle: { color: 'rgba(224, 49, 49, 0.05)' },
        data: [[{ yAxis: threshold }, { yAxis: yMax }]],
      },
    },
    { name: 'p95', type: 'line', data: p95, showSymbol: false, connectNulls: false, color: PALETTE.p95, lineStyle: { width: 1 }, z: 2 },
    { name: 'Max', type: 'line', data: max, showSymbol: false, connectNulls: false, color: PALETTE.max, lineStyle: { width: 1, type: 'dotted' }, z: 1 },
  ];

  if (fc) {
    chartSeries.push(
      { name: 'band-low', type: 'line', data: low, stack: 'forecast-band', symbol: 'none', lineStyle: { opacity: 0 }, silent: true, tooltip: { show: false }, z: 1 },
      { name: 'Forecast band', type: 'line', data: width, stack: 'forecast-band', symbol: 'none', lineStyle: { opacity: 0 }, areaStyle: { color: PALETTE.band }, color: PALETTE.band, silent: true, z: 1 },
    );
    const forecastLine: ChartOption = {
      name: 'Forecast',
      type: 'line',
      data: value,
      showSymbol: false,
      color: PALETTE.forecast,
      lineStyle: { width: 2, type: 'dashed' },
      z: 4,
    };
    if (crossing !== null && crossing <= toMs) {
      forecastLine.markLine = {
        silent: true,
        symbol: 'none',
        data: [
          {
            name: 'Crossing',
            xAxis: crossing,
            lineStyle: { color: PALETTE.crossing, type: 'solid', width: 1.5 },
            label: { formatter: crossingLabel(fc), position: 'end', color: PALETTE.crossing, fontWeight: 600, fontSize: 11 },
          },
        ],
      };
      const early = fc.crossesAtEarliest ? ms(fc.crossesAtEarliest) : null;
      const late = fc.crossesAtLatest ? ms(fc.crossesAtLatest) : null;
      if (early !== null || late !== null) {
        forecastLine.markArea = {
          silent: true,
          itemStyle: { color: 'rgba(224, 49, 49, 0.08)' },
          data: [[{ xAxis: early ?? crossing }, { xAxis: late ?? toMs }]],
        };
      }
    }
    chartSeries.push(forecastLine);
  }

  const legend = ['Utilisation', 'p95', 'Max', ...(fc ? ['Forecast', 'Forecast band'] : [])];
  return {
    animation: false,
    useUTC: true,
    grid: compact ? { left: 40, right: 14, top: crossing !== null ? 24 : 14, bottom: 24 } : { left: 48, right: 20, top: 40, bottom: 28 },
    legend: compact ? { show: false } : { top: 0, left: 0, data: legend, itemWidth: 14, itemHeight: 8, textStyle: { fontSize: 11 } },
    tooltip: {
      trigger: 'axis',
      axisPointer: { type: 'line' },
      formatter: (items: Array<{ seriesName: string; value: Pair; marker: string; axisValue: number }>) => {
        if (!items?.length) return '';
        const t = items[0].value?.[0] ?? items[0].axisValue;
        const lines = [`<b>${formatDateTime(new Date(t).toISOString())}</b>`];
        for (const it of items) {
          if (it.seriesName === 'band-low' || it.seriesName === 'Forecast band') continue;
          const v = it.value?.[1];
          if (it.seriesName === 'Forecast') {
            const p = byTs.get(it.value[0]);
            lines.push(`${it.marker}Forecast ${formatUtil(v)}${p ? ` (${formatUtil(p.low)}–${formatUtil(p.high)})` : ''}`);
          } else {
            lines.push(`${it.marker}${it.seriesName} ${formatUtil(v, 1)}`);
          }
        }
        return lines.join('<br/>');
      },
    },
    xAxis: {
      type: 'time',
      min: fromMs,
      max: toMs,
      axisLabel: { formatter: axisTimeFormat(toMs - fromMs), hideOverlap: true, fontSize: compact ? 10 : 11, color: PALETTE.axis },
      axisLine: { lineStyle: { color: '#cfd6e0' } },
      splitLine: { show: false },
    },
    yAxis: {
      type: 'value',
      min: 0,
      max: yMax,
      interval: utilAxisInterval(yMax),
      axisLabel: { formatter: (v: number) => `${Math.round(v * 100)}%`, fontSize: compact ? 10 : 11, color: PALETTE.axis },
      splitLine: { lineStyle: { color: PALETTE.grid } },
    },
    series: chartSeries,
  };
}

export interface LineSpec {
  name: string;
  data: Pair[];
  color: string;
  area?: boolean;
  dashed?: boolean;
  width?: number;
}

export interface TimeChartInput {
  lines: LineSpec[];
  range: { from: string; to: string };
  /** Formats a y value (axis labels and tooltip). */
  format: (v: number) => string;
  /** Fixed y maximum (e.g. 100 for percentages); otherwise automatic. */
  yMax?: number;
  dark?: boolean;
  legend?: boolean;
  /** Grid top margin (room for the legend). */
  top?: number;
}

/** A plain multi-line time chart (host metrics, the big screen's trend). */
export function timeChartOption(input: TimeChartInput): ChartOption {
  const fromMs = ms(input.range.from);
  const toMs = ms(input.range.to);
  const dark = !!input.dark;
  const text = dark ? DARK_PALETTE.text : PALETTE.axis;
  const showLegend = input.legend ?? input.lines.length > 1;
  return {
    animation: false,
    useUTC: true,
    grid: { left: dark ? 64 : 56, right: 18, top: input.top ?? (showLegend ? 32 : 14), bottom: dark ? 34 : 26 },
    legend: showLegend
      ? { top: 0, left: 0, itemWidth: 14, itemHeight: 8, textStyle: { fontSize: dark ? 16 : 11, color: dark ? DARK_PALETTE.text : '#4a5568' } }
      : { show: false },
    tooltip: {
      trigger: 'axis',
      valueFormatter: (v: unknown) => (isNum(v) ? input.format(v) : '—'),
    },
    xAxis: {
      type: 'time',
      min: fromMs,
      max: toMs,
      axisLabel: { formatter: axisTimeFormat(toMs - fromMs), hideOverlap: true, fontSize: dark ? 15 : 11, color: text },
      axisLine: { lineStyle: { color: dark ? DARK_PALETTE.grid : '#cfd6e0' } },
      splitLine: { show: false },
    },
    yAxis: {
      type: 'value',
      min: 0,
      ...(isNum(input.yMax) ? { max: input.yMax } : {}),
      axisLabel: { formatter: (v: number) => input.format(v), fontSize: dark ? 15 : 11, color: text },
      splitLine: { lineStyle: { color: dark ? DARK_PALETTE.grid : PALETTE.grid } },
    },
    series: input.lines.map((l) => ({
      name: l.name,
      type: 'line',
      data: l.data,
      showSymbol: false,
      connectNulls: false,
      color: l.color,
      lineStyle: { width: l.width ?? (dark ? 3 : 1.6), ...(l.dashed ? { type: 'dashed' } : {}) },
      ...(l.area ? { areaStyle: { opacity: dark ? 0.12 : 0.1 } } : {}),
    })),
  };
}

export type HostChartKey = 'cpu' | 'memory' | 'diskIo' | 'network' | 'containers';

const pct = (v: number) => formatPercent(v, { digits: 0 });

/** The machine page's charts, one option per key. */
export function hostMetricCharts(points: HostMetricPoint[], range: { from: string; to: string }): Record<HostChartKey, ChartOption> {
  return {
    cpu: timeChartOption({
      range,
      format: pct,
      yMax: 100,
      lines: [
        { name: 'CPU avg', data: toPairs(points, (p) => p.cpuPercent), color: '#1d4ed8', area: true },
        { name: 'CPU max', data: toPairs(points, (p) => p.cpuPercentMax), color: '#7048e8', dashed: true, width: 1 },
      ],
    }),
    memory: timeChartOption({ range, format: pct, yMax: 100, lines: [{ name: 'Memory', data: toPairs(points, (p) => p.memoryPercent), color: '#2f9e44', area: true }] }),
    diskIo: timeChartOption({ range, format: pct, yMax: 100, lines: [{ name: 'Disk IO busy', data: toPairs(points, (p) => p.diskIoPercent), color: '#e67700', area: true }] }),
    network: timeChartOption({
      range,
      format: (v) => formatBitsPerSecond(v, 0),
      lines: [
        { name: 'In', data: toPairs(points, (p) => p.netInBitsPerSecond), color: '#0ca678', area: true },
        { name: 'Out', data: toPairs(points, (p) => p.netOutBitsPerSecond), color: '#1c7ed6' },
      ],
    }),
    containers: timeChartOption({ range, format: (v) => formatNumber(v), lines: [{ name: 'Containers', data: toPairs(points, (p) => p.containers), color: '#ae3ec9', area: true }] }),
  };
}

export interface TrendSample {
  /** Pulse time, ms since epoch. */
  t: number;
  levels: Partial<Record<WatermarkDimension, number>>;
}

/**
 * The big screen's platform trend over the last `windowMs`: one line per
 * dimension, 0..100%. Samples older than the window are left out; with few
 * samples the points are drawn as dots so a fresh screen shows something.
 */
export function screenTrendOption(history: TrendSample[], dims: WatermarkDimension[], now: number, windowMs: number): ChartOption {
  const from = now - windowMs;
  const shown = history.filter((h) => h.t >= from);
  const option = timeChartOption({
    dark: true,
    legend: true,
    top: 40,
    range: { from: new Date(from).toISOString(), to: new Date(Math.max(now, shown.at(-1)?.t ?? now)).toISOString() },
    format: (v) => `${Math.round(v)}%`,
    yMax: 100,
    lines: dims.map((d, i) => ({
      name: DIMENSION_LABEL[d],
      color: DARK_PALETTE.lines[i % DARK_PALETTE.lines.length],
      data: shown.map((h): Pair => [h.t, isNum(h.levels[d]) ? Math.round(h.levels[d]! * 1000) / 10 : null]),
    })),
  });
  if (shown.length < 20) for (const s of option.series as ChartOption[]) Object.assign(s, { showSymbol: true, symbolSize: 8 });
  return option;
}

/** Per-dimension series (as the API returns them) → one sample per time, oldest first. */
export function seriesToSamples(series: Array<{ dimension: WatermarkDimension; points: Array<{ ts: string; utilization: number | null }> }>): TrendSample[] {
  const byT = new Map<number, TrendSample>();
  for (const s of series) {
    for (const p of s.points) {
      const t = ms(p.ts);
      if (Number.isNaN(t) || !isNum(p.utilization)) continue;
      let sample = byT.get(t);
      if (!sample) byT.set(t, (sample = { t, levels: {} }));
      sample.levels[s.dimension] = p.utilization;
    }
  }
  return [...byT.values()].sort((a, b) => a.t - b.t);
}

/** Two sample lists merged by time (b wins on equal times), the newest `limit` kept. */
export function mergeSamples(a: TrendSample[], b: TrendSample[], limit: number): TrendSample[] {
  const byT = new Map<number, TrendSample>();
  for (const s of a) byT.set(s.t, s);
  for (const s of b) byT.set(s.t, s);
  const all = [...byT.values()].sort((x, y) => x.t - y.t);
  return all.length > limit ? all.slice(all.length - limit) : all;
}

/**
 * Appends a sample to a bounded history (oldest dropped first), ignoring
 * samples not newer than the last one. Returns a new array.
 */
export function pushBounded<T extends { t: number }>(list: T[], item: T, limit: number): T[] {
  if (list.length && item.t <= list[list.length - 1].t) return list;
  const next = list.length >= limit ? list.slice(list.length - limit + 1) : list.slice();
  next.push(item);
  return next;
}
