import { describe, expect, it } from 'vitest';
import { axisTimeFormat, describeRange, floorToMinute, fromInputValue, rangeFromParams, rangeSpanMs, rangeToParams, resolveRange, toInputValue } from '../src/lib/timerange';

const NOW = Date.parse('2024-05-10T12:34:56.789Z');

describe('resolveRange', () => {
  it('resolves presets to a range ending now, rounded down to the minute', () => {
    expect(resolveRange({ key: '24h' }, NOW)).toEqual({ from: '2024-05-09T12:34:00.000Z', to: '2024-05-10T12:34:00.000Z', endsNow: true });
    expect(resolveRange({ key: '7d' }, NOW).from).toBe('2024-05-03T12:34:00.000Z');
    expect(rangeSpanMs(resolveRange({ key: '30d' }, NOW))).toBe(30 * 86400e3);
    expect(floorToMinute(NOW)).toBe(Date.parse('2024-05-10T12:34:00Z'));
  });
  it('is stable within a minute (query variables do not change on every render)', () => {
    expect(resolveRange({ key: '7d' }, NOW)).toEqual(resolveRange({ key: '7d' }, NOW + 2000));
  });
  it('keeps a custom range, swapping reversed bounds', () => {
    const r = resolveRange({ key: 'custom', from: '2024-05-02T00:00:00Z', to: '2024-05-01T00:00:00Z' }, NOW);
    expect(r).toEqual({ from: '2024-05-01T00:00:00.000Z', to: '2024-05-02T00:00:00.000Z', endsNow: false });
  });
  it('fills in missing or invalid custom bounds and widens empty ranges', () => {
    const r = resolveRange({ key: 'custom', from: null, to: 'garbage' }, NOW);
    expect(r.to).toBe('2024-05-10T12:34:00.000Z');
    expect(r.from).toBe('2024-05-09T12:34:00.000Z');
    expect(r.endsNow).toBe(true);
    const e = resolveRange({ key: 'custom', from: '2024-05-01T00:00:00Z', to: '2024-05-01T00:00:00Z' }, NOW);
    expect(rangeSpanMs(e)).toBe(60e3);
  });
});

describe('URL parameters', () => {
  it('round-trips presets and custom ranges', () => {
    expect(rangeFromParams({}, '7d')).toEqual({ key: '7d' });
    expect(rangeFromParams({ range: '24h' }, '7d')).toEqual({ key: '24h' });
    expect(rangeFromParams({ range: '1h' }, '7d', ['24h', '7d', '30d'])).toEqual({ key: '7d' });
    expect(rangeFromParams({ range: 'bogus' }, '24h')).toEqual({ key: '24h' });
    const custom = { key: 'custom' as const, from: '2024-05-01T00:00:00.000Z', to: '2024-05-02T00:00:00.000Z' };
    expect(rangeFromParams(rangeToParams(custom, '7d') as Record<string, string>, '7d')).toEqual(custom);
    expect(rangeFromParams({ range: 'custom', from: 'x', to: '2024-05-02T00:00:00Z' }, '7d')).toEqual({ key: 'custom', from: null, to: '2024-05-02T00:00:00Z' });
  });
  it('leaves the default preset out of the URL', () => {
    expect(rangeToParams({ key: '7d' }, '7d')).toEqual({ range: null, from: null, to: null });
    expect(rangeToParams({ key: '30d' }, '7d')).toEqual({ range: '30d', from: null, to: null });
  });
});

describe('datetime-local inputs (UTC)', () => {
  it('formats and parses in UTC', () => {
    expect(toInputValue('2024-05-01T12:34:56Z')).toBe('2024-05-01T12:34');
    expect(fromInputValue('2024-05-01T12:34')).toBe('2024-05-01T12:34:00.000Z');
    expect(fromInputValue('2024-05-01T12:34:30')).toBe('2024-05-01T12:34:30.000Z');
    expect(toInputValue(null)).toBe('');
  });
  it('rejects invalid input', () => {
    expect(fromInputValue('')).toBeNull();
    expect(fromInputValue('2024-02-31T10:00')).toBeNull();
    expect(fromInputValue('yesterday')).toBeNull();
  });
});

describe('labels', () => {
  it('describes ranges', () => {
    expect(describeRange({ key: '24h' }, resolveRange({ key: '24h' }, NOW))).toBe('Last 24 hours');
    const sel = { key: 'custom' as const, from: '2024-05-01T00:00:00Z', to: '2024-05-02T06:00:00Z' };
    expect(describeRange(sel, resolveRange(sel, NOW))).toBe('2024-05-01 00:00 → 2024-05-02 06:00 UTC');
  });
  it('picks axis formats by span', () => {
    expect(axisTimeFormat(6 * 3600e3)).toBe('{HH}:{mm}');
    expect(axisTimeFormat(7 * 86400e3)).toBe('{MMM} {d} {HH}:{mm}');
    expect(axisTimeFormat(30 * 86400e3)).toBe('{MMM} {d}');
  });
});
