import { describe, expect, it } from 'vitest';
import { formatMoney, sumMoney } from '../src/pages/Cost';

describe('money on the cost page', () => {
  it('adds amounts exactly, in cents', () => {
    // 0.1 + 0.2 as floats is 0.30000000000000004; in cents it is 0.30.
    expect(sumMoney(['0.10', '0.20'])).toBe('0.30');
    expect(sumMoney(['1234567890123.45', '0.55'])).toBe('1234567890124.00');
    expect(sumMoney(['-0.03', '0.01'])).toBe('-0.02');
    expect(sumMoney(['5', '0.5'])).toBe('5.50');
    expect(sumMoney([])).toBe('0.00');
  });
  it('formats for display with its currency', () => {
    expect(formatMoney('1234.5', 'USD')).toBe('1,234.50 USD');
    expect(formatMoney(null)).toBe('–');
  });
});
