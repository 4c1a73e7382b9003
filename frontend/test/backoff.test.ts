import { describe, expect, it } from 'vitest';
import { backoffDelay, backoffSchedule, DEFAULT_BACKOFF } from '../src/lib/backoff';

describe('reconnect back-off', () => {
  it('doubles from 1 s up to a 20 s cap, and stays there forever', () => {
    expect(backoffSchedule(8)).toEqual([1000, 2000, 4000, 8000, 16000, 20000, 20000, 20000]);
    expect(backoffDelay(10_000, {}, () => 0.5)).toBe(DEFAULT_BACKOFF.maxMs);
    expect(backoffDelay(Number.MAX_SAFE_INTEGER, {}, () => 0.5)).toBe(20000);
  });
  it('jitters within ±20% (random 0 → −20%, 1 → +20%)', () => {
    expect(backoffDelay(2, {}, () => 0)).toBe(3200);
    expect(backoffDelay(2, {}, () => 1)).toBe(4800);
    for (let i = 0; i < 200; i++) {
      const d = backoffDelay(5, {});
      expect(d).toBeGreaterThanOrEqual(16000);
      expect(d).toBeLessThanOrEqual(24000);
    }
  });
  it('takes options and sanitises odd input', () => {
    expect(backoffSchedule(4, { baseMs: 500, factor: 3, maxMs: 10_000, jitter: 0 })).toEqual([500, 1500, 4500, 10000]);
    expect(backoffDelay(-3, {}, () => 0.5)).toBe(1000);
    expect(backoffDelay(Number.NaN, {}, () => 0.5)).toBe(1000);
    expect(backoffDelay(0, { baseMs: 0 }, () => 0.5)).toBe(100);
    expect(backoffDelay(1, { jitter: 5 }, () => 1)).toBe(4000); // jitter capped at 100%
  });
});
