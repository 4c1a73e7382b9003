import { describe, expect, it } from 'vitest';
import { failureRate, formatGoDuration, jobHealth } from '../src/lib/scheduler';

const NOW = Date.parse('2024-05-10T12:00:00Z');
const ago = (s: number) => new Date(NOW - s * 1000).toISOString();
const job = (lastRun: { startedAt: string; finishedAt: string | null; error: string } | null, interval = '1m0s', timeout = '50s') => ({ interval, timeout, lastRun });

describe('jobHealth', () => {
  it('is NEVER_RAN without runs and OK after a recent clean run', () => {
    expect(jobHealth(job(null), NOW)).toBe('NEVER_RAN');
    expect(jobHealth(job({ startedAt: ago(30), finishedAt: ago(28), error: '' }), NOW)).toBe('OK');
  });
  it('is FAILING when the last run ended with an error', () => {
    expect(jobHealth(job({ startedAt: ago(30), finishedAt: ago(28), error: 'boom' }), NOW)).toBe('FAILING');
  });
  it('is RUNNING within the timeout and OVERDUE past it', () => {
    expect(jobHealth(job({ startedAt: ago(20), finishedAt: null, error: '' }), NOW)).toBe('RUNNING');
    expect(jobHealth(job({ startedAt: ago(51), finishedAt: null, error: '' }), NOW)).toBe('OVERDUE');
  });
  it('is OVERDUE when no run started for two intervals plus the timeout', () => {
    expect(jobHealth(job({ startedAt: ago(169), finishedAt: ago(168), error: '' }), NOW)).toBe('OK');
    expect(jobHealth(job({ startedAt: ago(171), finishedAt: ago(170), error: '' }), NOW)).toBe('OVERDUE');
    expect(jobHealth(job({ startedAt: ago(86400 + 60), finishedAt: ago(86400), error: '' }, '24h0m0s', '10m0s'), NOW)).toBe('OK');
  });
});

describe('failureRate and durations', () => {
  it('counts failed finished runs', () => {
    expect(failureRate([])).toBeNull();
    expect(failureRate([{ finishedAt: null, error: '' }])).toBeNull();
    expect(failureRate([{ finishedAt: 'x', error: 'e' }, { finishedAt: 'x', error: '' }, { finishedAt: 'x', error: '' }, { finishedAt: null, error: '' }])).toBeCloseTo(1 / 3);
  });
  it('formats Go durations in words', () => {
    expect(formatGoDuration('1m0s')).toBe('1m');
    expect(formatGoDuration('24h0m0s')).toBe('1d');
    expect(formatGoDuration('1h30m0s')).toBe('1h 30m');
    expect(formatGoDuration('15s')).toBe('15s');
    expect(formatGoDuration('3.54s')).toBe('3.54s');
    expect(formatGoDuration('56.412s')).toBe('56.4s');
    expect(formatGoDuration('843ms')).toBe('843ms');
    expect(formatGoDuration('0s')).toBe('0s');
    expect(formatGoDuration(null)).toBe('—');
    expect(formatGoDuration('weird')).toBe('weird');
  });
});
