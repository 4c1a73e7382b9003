import { describe, expect, it } from 'vitest';
import {
  DIMENSIONS,
  formatAmount,
  formatDaysTo,
  formatSlope,
  formatUsedOf,
  formatUtil,
  heatColor,
  levelSeverity,
  sortClustersByRisk,
  statusCounts,
  statusOf,
  STATUS_TONE,
  type WatermarkStatus,
} from '../src/lib/watermark';

describe('statusOf', () => {
  it('is OK below 85% of the threshold, WARN up to it, CRITICAL above', () => {
    expect(statusOf(0.5, 0.8)).toBe('OK');
    expect(statusOf(0.679, 0.8)).toBe('OK');
    expect(statusOf(0.68, 0.8)).toBe('WARN');
    expect(statusOf(0.8, 0.8)).toBe('WARN');
    expect(statusOf(0.8001, 0.8)).toBe('CRITICAL');
  });
  it('is null without data or a usable threshold', () => {
    expect(statusOf(null, 0.8)).toBeNull();
    expect(statusOf(0.5, undefined)).toBeNull();
    expect(statusOf(0.5, 0)).toBeNull();
    expect(statusOf(Number.NaN, 0.8)).toBeNull();
  });
  it('maps statuses to tones', () => {
    expect(STATUS_TONE).toEqual({ OK: 'good', WARN: 'warn', CRITICAL: 'bad' });
  });
});

describe('heatColor', () => {
  it('colours by utilisation relative to the threshold, not absolute utilisation', () => {
    // 70% of a 70% threshold is as hot as 90% of a 90% threshold
    expect(heatColor(0.7, 0.7)).toEqual(heatColor(0.9, 0.9));
    expect(heatColor(0.7, 0.9)).not.toEqual(heatColor(0.7, 0.7));
  });
  it('gets hotter as the level approaches and passes the threshold', () => {
    const order = [0.2, 0.5, 0.7, 0.8, 0.9, 0.97, 1.05, 1.3].map((r) => heatColor(r, 1).bg);
    expect(new Set(order).size).toBe(order.length);
    expect(heatColor(1.3, 1)).toEqual({ bg: '#e03131', fg: '#ffffff' });
  });
  it('has a warn band from 85% of the threshold and a red band above it', () => {
    expect(heatColor(0.84, 1).bg).toMatch(/#[0-9a-f]{6}/);
    expect(heatColor(0.86, 1).bg).toBe('#ffe3a6');
    expect(heatColor(1.01, 1).bg).toBe('#ff8a80');
  });
  it('has a no-data colour and a dark palette', () => {
    expect(heatColor(null, 0.8)).toEqual({ bg: '#f4f6f9', fg: '#8190a5' });
    expect(heatColor(null, 0.8, true)).toEqual({ bg: '#1b2433', fg: '#6b7a90' });
    expect(heatColor(0.95, 0.8, true).bg).not.toBe(heatColor(0.95, 0.8).bg);
  });
});

describe('formatting', () => {
  it('formats utilisation', () => {
    expect(formatUtil(0.723)).toBe('72%');
    expect(formatUtil(0.0534)).toBe('5.3%');
    expect(formatUtil(0.7234, 1)).toBe('72.3%');
    expect(formatUtil(0)).toBe('0%');
    expect(formatUtil(null)).toBe('\u2014');
  });
  it('formats amounts by unit', () => {
    expect(formatAmount(1536, 'bytes')).toBe('1.5 KiB');
    expect(formatAmount(25e9, 'bits/s')).toBe('25 Gbit/s');
    expect(formatAmount(1234, 'cores')).toBe('1,234 cores');
    expect(formatAmount(12.5, 'cores')).toBe('12.5 cores');
    expect(formatAmount(300, 'containers')).toBe('300 containers');
    expect(formatAmount(null, 'cores')).toBe('\u2014');
  });
  it('formats used of capacity', () => {
    expect(formatUsedOf(900, 3472, 'cores')).toBe('900 of 3,472 cores');
    expect(formatUsedOf(1024 ** 4, 4 * 1024 ** 4, 'bytes')).toBe('1 TiB of 4 TiB');
    expect(formatUsedOf(2400, 6000, 'percent')).toBe('40% average busy');
    expect(formatUsedOf(508, 944, 'slots')).toBe('508 of 944 slots');
  });
  it('formats days to a threshold and slopes', () => {
    expect(formatDaysTo(0)).toBe('now');
    expect(formatDaysTo(0.25)).toBe('in 6 h');
    expect(formatDaysTo(2.83)).toBe('in 2.8 days');
    expect(formatDaysTo(3)).toBe('in 3 days');
    expect(formatDaysTo(12.7)).toBe('in 13 days');
    expect(formatDaysTo(null)).toBe('\u2014');
    expect(formatSlope(0.004)).toBe('+0.4 pt/day');
    expect(formatSlope(0.012)).toBe('+1.2 pt/day');
    expect(formatSlope(-0.0007)).toBe('-0.07 pt/day');
    expect(formatSlope(-0.00001)).toBe('0 pt/day');
    expect(formatSlope(undefined)).toBe('\u2014');
  });
});

const lvl = (dimension: string, utilization: number, threshold: number, status: WatermarkStatus) => ({ dimension, utilization, threshold, status });
const row = (name: string, worst: ReturnType<typeof lvl>) => ({ cluster: { name }, worst, levels: [worst] });

describe('sortClustersByRisk', () => {
  const rows = [
    row('calm', lvl('CPU', 0.3, 0.8, 'OK')),
    row('warm', lvl('CPU', 0.75, 0.8, 'WARN')),
    row('soon', lvl('MEMORY', 0.6, 0.8, 'OK')),
    row('over', lvl('NET_IN', 0.9, 0.8, 'CRITICAL')),
    row('alsoCalm', lvl('CPU', 0.3, 0.8, 'OK')),
  ];
  it('puts clusters at risk first (soonest first), then by severity, then by name', () => {
    const risks = [
      { cluster: { name: 'soon' }, dimension: 'MEMORY', daysToThreshold: 9, utilization: 0.6, threshold: 0.8 },
      { cluster: { name: 'over' }, dimension: 'NET_IN', daysToThreshold: 0, utilization: 0.9, threshold: 0.8 },
    ];
    expect(sortClustersByRisk(rows, risks).map((r) => r.cluster.name)).toEqual(['over', 'soon', 'warm', 'alsoCalm', 'calm']);
  });
  it('sorts by severity alone without risks, and does not mutate', () => {
    const copy = [...rows];
    expect(sortClustersByRisk(rows).map((r) => r.cluster.name)).toEqual(['over', 'warm', 'soon', 'alsoCalm', 'calm']);
    expect(rows).toEqual(copy);
  });
  it('ranks severity by status before utilisation', () => {
    expect(levelSeverity(lvl('CPU', 0.5, 0.5, 'WARN'))).toBeGreaterThan(levelSeverity(lvl('CPU', 0.84, 1, 'OK')));
    expect(levelSeverity(null)).toBe(-1);
  });
  it('counts clusters by their worst status', () => {
    expect(statusCounts(rows)).toEqual({ OK: 3, WARN: 1, CRITICAL: 1 });
  });
  it('knows every dimension of the schema', () => {
    expect(DIMENSIONS).toEqual(['CPU', 'MEMORY', 'DISK_IO', 'NET_IN', 'NET_OUT', 'CONTAINERS', 'QUEUE_SLOTS']);
  });
});
