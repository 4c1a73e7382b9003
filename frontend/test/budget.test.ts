import { describe, expect, it } from 'vitest';
import { budgetSeries, budgetTone, canSetBudget, monthStart, parseThresholds, runsOutText } from '../src/lib/budget';
import { appPath, leaderboardChoice, movementText, ordinal, standingText, gradeTone } from '../src/lib/leaderboard';
import { formatMoney, sumMoney } from '../src/lib/money';

describe('budget chart series', () => {
  const days = [
    { day: '2026-11-01T00:00:00Z', actual: '10', forecast: null, cumulative: '10' },
    { day: '2026-11-02T00:00:00Z', actual: '5.5', forecast: null, cumulative: '15.5' },
    { day: '2026-11-03T00:00:00Z', actual: null, forecast: '7', cumulative: '22.5' },
    { day: '2026-11-04T00:00:00Z', actual: null, forecast: '7', cumulative: '29.5' },
  ];
  it('splits actual from forecast and joins them at the last actual day', () => {
    const { actual, forecast } = budgetSeries(days);
    expect(actual.map((p) => p[1])).toEqual([10, 15.5]);
    expect(forecast.map((p) => p[1])).toEqual([15.5, 22.5, 29.5]);
    expect(forecast[0][0]).toBe(Date.parse('2026-11-02T00:00:00Z'));
  });
  it('draws only the forecast at the start of a month', () => {
    const { actual, forecast } = budgetSeries(days.slice(2));
    expect(actual).toEqual([]);
    expect(forecast).toHaveLength(2);
  });
});

describe('budget helpers', () => {
  it('tone spend by the share of the amount', () => {
    expect(budgetTone(40)).toBe('good');
    expect(budgetTone(80)).toBe('warn');
    expect(budgetTone(120)).toBe('bad');
    expect(budgetTone(null)).toBe('muted');
  });
  it('read thresholds as sorted whole percentages', () => {
    expect(parseThresholds('100, 50 80%')).toEqual([50, 80, 100]);
    expect(parseThresholds('  ')).toEqual([50, 80, 100]);
    expect(parseThresholds('50, x')).toMatch(/not a whole percentage/);
  });
  it('show the edit controls only where the server would allow', () => {
    const viewer = { role: 'VIEWER', personId: 'p1', ownerInViewerSubtree: false };
    expect(canSetBudget(null, { personId: 'p1' }, viewer)).toBe(true);
    expect(canSetBudget(null, { personId: 'p2' }, viewer)).toBe(false);
    expect(canSetBudget(null, {}, viewer)).toBe(false);
    expect(canSetBudget({ editable: false }, { personId: 'p1' }, viewer)).toBe(false);
    expect(canSetBudget(null, {}, { role: 'BU_ADMIN', personId: 'p1', ownerInViewerSubtree: true })).toBe(true);
    expect(canSetBudget(null, {}, { role: 'BU_ADMIN', personId: 'p1', ownerInViewerSubtree: false })).toBe(false);
    expect(canSetBudget(null, {}, { role: 'OPERATOR', personId: 'p1', ownerInViewerSubtree: true })).toBe(false);
    expect(canSetBudget(null, {}, { role: 'ADMIN', personId: 'p1', ownerInViewerSubtree: false })).toBe(true);
    expect(canSetBudget({ editable: true }, {}, viewer)).toBe(true);
  });
  it('name the month and the day a budget runs out', () => {
    expect(monthStart(new Date('2026-11-30T22:10:00Z'))).toBe('2026-11-01T00:00:00Z');
    expect(runsOutText(null)).toBe('not within the month');
    expect(runsOutText('2026-11-24T00:00:00Z')).toBe('24 Nov');
  });
  it('keep money exact', () => {
    expect(sumMoney(['0.10', '0.20', '-0.05'])).toBe('0.25');
    expect(formatMoney('1234.5', 'USD')).toBe('1,234.50 USD');
  });
});

describe('leaderboard helpers', () => {
  it('fall back to the default choice for unknown search params', () => {
    expect(leaderboardChoice({})).toEqual({ level: 'PERSON', metric: 'EFFICIENCY', period: 'WEEK' });
    expect(leaderboardChoice({ level: 'JOB', metric: 'nope', period: 'MONTH' })).toEqual({ level: 'JOB', metric: 'EFFICIENCY', period: 'MONTH' });
  });
  it('show movement as arrows', () => {
    expect(movementText(3)).toMatchObject({ arrow: '▲', text: '3', tone: 'good' });
    expect(movementText(-2)).toMatchObject({ arrow: '▼', text: '2', tone: 'bad' });
    expect(movementText(0)).toMatchObject({ arrow: '=' });
    expect(movementText(null)).toMatchObject({ text: 'new' });
  });
  it('say places and grades in words', () => {
    expect([1, 2, 3, 4, 11, 12, 13, 21, 22, 101].map(ordinal)).toEqual(['1st', '2nd', '3rd', '4th', '11th', '12th', '13th', '21st', '22nd', '101st']);
    expect(standingText(3, 41)).toBe('3rd of 41');
    expect(standingText(null, 41)).toBe('not ranked of 41');
    expect(gradeTone('POOR')).toBe('bad');
  });
  it('follow only in-app improvement links', () => {
    expect(appPath('/jobs/Sm9iOjE=')).toBe('/jobs/Sm9iOjE=');
    expect(appPath('https://evil.example/')).toBeNull();
    expect(appPath('//evil.example/')).toBeNull();
    expect(appPath(null)).toBeNull();
  });
});
