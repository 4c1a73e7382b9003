import { describe, expect, it } from 'vitest';
import {
  DASH,
  formatBitsPerSecond,
  formatBytes,
  formatDate,
  formatDateTime,
  formatDuration,
  formatNumber,
  formatPercent,
  formatRelative,
  humanizeEnum,
  parseGoDuration,
} from '../src/lib/format';

const GiB = 1024 ** 3;
const TiB = 1024 ** 4;

describe('formatBytes', () => {
  it('uses binary units', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1024)).toBe('1 KiB');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(256 * GiB)).toBe('256 GiB');
    expect(formatBytes(1.5 * TiB)).toBe('1.5 TiB');
    expect(formatBytes(3 * 1024 * TiB)).toBe('3 PiB');
  });
  it('rounds to the requested digits and drops trailing zeros', () => {
    expect(formatBytes(1.234 * GiB)).toBe('1.2 GiB');
    expect(formatBytes(1.234 * GiB, 2)).toBe('1.23 GiB');
    expect(formatBytes(2 * GiB, 2)).toBe('2 GiB');
  });
  it('moves up a unit instead of showing 1024', () => {
    expect(formatBytes(1023.99 * GiB)).toBe('1 TiB');
  });
  it('handles negatives and missing values', () => {
    expect(formatBytes(-2048)).toBe('-2 KiB');
    expect(formatBytes(null)).toBe(DASH);
    expect(formatBytes(undefined)).toBe(DASH);
    expect(formatBytes(Number.NaN)).toBe(DASH);
  });
});

describe('formatBitsPerSecond', () => {
  it('uses decimal network units', () => {
    expect(formatBitsPerSecond(25e9)).toBe('25 Gbit/s');
    expect(formatBitsPerSecond(1.25e12)).toBe('1.3 Tbit/s');
    expect(formatBitsPerSecond(999)).toBe('999 bit/s');
    expect(formatBitsPerSecond(null)).toBe(DASH);
  });
});

describe('formatPercent', () => {
  it('formats 0–100 values', () => {
    expect(formatPercent(42.345)).toBe('42.3%');
    expect(formatPercent(100)).toBe('100%');
    expect(formatPercent(0)).toBe('0%');
    expect(formatPercent(7.25, { digits: 2 })).toBe('7.25%');
  });
  it('formats ratios', () => {
    expect(formatPercent(0.5, { ratio: true })).toBe('50%');
    expect(formatPercent(0.1234, { ratio: true })).toBe('12.3%');
  });
  it('shows a dash for missing values', () => {
    expect(formatPercent(null)).toBe(DASH);
    expect(formatPercent(Infinity)).toBe(DASH);
  });
});

describe('formatNumber', () => {
  it('groups thousands', () => {
    expect(formatNumber(12345)).toBe('12,345');
    expect(formatNumber(1234567.891, 2)).toBe('1,234,567.89');
    expect(formatNumber(undefined)).toBe(DASH);
  });
});

describe('durations', () => {
  it('formats seconds as the two largest units', () => {
    expect(formatDuration(0.25)).toBe('250ms');
    expect(formatDuration(45)).toBe('45s');
    expect(formatDuration(90)).toBe('1m 30s');
    expect(formatDuration(3600)).toBe('1h');
    expect(formatDuration(5400)).toBe('1h 30m');
    expect(formatDuration(93784)).toBe('1d 2h');
    expect(formatDuration(86400 + 59)).toBe('1d');
    expect(formatDuration(-120)).toBe('-2m');
    expect(formatDuration(null)).toBe(DASH);
  });
  it('parses Go durations', () => {
    expect(parseGoDuration('1h30m')).toBe(5400);
    expect(parseGoDuration('720h')).toBe(720 * 3600);
    expect(parseGoDuration('1.5s')).toBe(1.5);
    expect(parseGoDuration('250ms')).toBeCloseTo(0.25);
    expect(parseGoDuration('-2m')).toBe(-120);
    expect(parseGoDuration('0')).toBe(0);
    expect(parseGoDuration('1x')).toBeNull();
    expect(parseGoDuration('')).toBeNull();
    expect(parseGoDuration('h')).toBeNull();
  });
});

describe('times', () => {
  it('formats RFC 3339 in UTC', () => {
    expect(formatDateTime('2024-05-01T12:34:56Z')).toBe('2024-05-01 12:34 UTC');
    expect(formatDateTime('2024-05-01T14:34:56+02:00', true)).toBe('2024-05-01 12:34:56 UTC');
    expect(formatDate('2024-05-01T23:59:00Z')).toBe('2024-05-01');
    expect(formatDateTime('not a time')).toBe(DASH);
    expect(formatDateTime(null)).toBe(DASH);
  });
  it('formats relative times', () => {
    const now = Date.parse('2024-05-01T12:00:00Z');
    expect(formatRelative('2024-05-01T11:59:58Z', now)).toBe('just now');
    expect(formatRelative('2024-05-01T11:59:18Z', now)).toBe('42s ago');
    expect(formatRelative('2024-05-01T11:55:00Z', now)).toBe('5m ago');
    expect(formatRelative('2024-05-01T09:00:00Z', now)).toBe('3h ago');
    expect(formatRelative('2024-04-29T12:00:00Z', now)).toBe('2d ago');
    expect(formatRelative('2024-05-01T12:05:00Z', now)).toBe('in 5m');
  });
});

describe('humanizeEnum', () => {
  it('turns enum values into words', () => {
    expect(humanizeEnum('DECOMMISSIONED')).toBe('Decommissioned');
    expect(humanizeEnum('BU_ADMIN')).toBe('BU admin');
    expect(humanizeEnum('OBJECT_STORE')).toBe('Object store');
    expect(humanizeEnum('LAST_HEARTBEAT')).toBe('Last heartbeat');
    expect(humanizeEnum('')).toBe(DASH);
  });
});
