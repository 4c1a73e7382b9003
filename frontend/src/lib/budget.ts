// Budgets on the screens: the month's chart (cumulative spend, actual then
// forecast, against the amount), the tone of a spend share, the thresholds a
// form takes as text, and who is shown the edit controls. The server decides
// every change (Budget.editable, upsertBudget's rules); these only keep
// buttons away from people it would refuse.
import type { Role } from '../graphql';
import type { ChartOption } from './charts';
import type { Tone } from './colors';

export interface BudgetDayPoint {
  day: string;
  actual?: string | null;
  forecast?: string | null;
  cumulative: string;
}

/** The thresholds a budget gets when none are given (the server's default too). */
export const DEFAULT_THRESHOLDS = [50, 80, 100];

/** The tone of spend (or forecast) as a percentage of the amount. */
export function budgetTone(percent: number | null | undefined): Tone {
  if (typeof percent !== 'number' || !Number.isFinite(percent)) return 'muted';
  if (percent >= 100) return 'bad';
  if (percent >= 80) return 'warn';
  return 'good';
}

/**
 * The month's two cumulative lines: actual spend through the last day that has
 * one, and the forecast from there on (starting at the last actual point so the
 * two join), plus the amount as a flat line.
 */
export function budgetSeries(days: readonly BudgetDayPoint[]): { actual: Array<[number, number]>; forecast: Array<[number, number]> } {
  const actual: Array<[number, number]> = [];
  const forecast: Array<[number, number]> = [];
  for (const d of days) {
    const t = Date.parse(d.day);
    const v = Number(d.cumulative);
    if (!Number.isFinite(t) || !Number.isFinite(v)) continue;
    if (d.actual != null) actual.push([t, v]);
    else {
      if (forecast.length === 0 && actual.length) forecast.push(actual[actual.length - 1]);
      forecast.push([t, v]);
    }
  }
  return { actual, forecast };
}

/** The chart of a budget's month: cumulative actual and forecast spend against the amount. */
export function budgetChartOption(days: readonly BudgetDayPoint[], amount: string, currency: string, band?: { low: string; high: string }): ChartOption {
  const { actual, forecast } = budgetSeries(days);
  const limit = Number(amount);
  const first = days.length ? Date.parse(days[0].day) : Date.now();
  const last = days.length ? Date.parse(days[days.length - 1].day) : first;
  const money = (v: number) => v.toLocaleString('en-US', { maximumFractionDigits: 0 });
  const high = band ? Number(band.high) : NaN;
  return {
    animation: false,
    useUTC: true,
    grid: { left: 64, right: 18, top: 32, bottom: 26 },
    legend: { top: 0, left: 0, itemWidth: 14, itemHeight: 8, textStyle: { fontSize: 11 } },
    tooltip: { trigger: 'axis', valueFormatter: (v: unknown) => (typeof v === 'number' ? `${money(v)} ${currency}` : '—') },
    xAxis: { type: 'time', min: first, max: last, axisLabel: { fontSize: 11, hideOverlap: true, formatter: '{d} {MMM}' }, splitLine: { show: false } },
    yAxis: {
      type: 'value',
      min: 0,
      max: (v: { max: number }) => Math.ceil(Math.max(v.max, Number.isFinite(limit) ? limit : 0, Number.isFinite(high) ? high : 0) * 1.08),
      axisLabel: { fontSize: 11, formatter: (v: number) => money(v) },
    },
    series: [
      { name: 'Spend to date', type: 'line', data: actual, showSymbol: false, color: '#2563eb', lineStyle: { width: 2 }, areaStyle: { opacity: 0.08 } },
      { name: 'Forecast', type: 'line', data: forecast, showSymbol: false, color: '#f59e0b', lineStyle: { width: 2, type: 'dashed' } },
      {
        name: 'Amount',
        type: 'line',
        data: Number.isFinite(limit) ? [[first, limit], [last, limit]] : [],
        showSymbol: false,
        color: '#dc2626',
        lineStyle: { width: 1.5 },
      },
    ],
  };
}

/** "50, 80, 100" → [50, 80, 100]; a message when the text is not such a list (the server checks again). */
export function parseThresholds(text: string): number[] | string {
  const parts = text
    .split(/[\s,;]+/)
    .map((p) => p.replace(/%$/, ''))
    .filter(Boolean);
  if (!parts.length) return DEFAULT_THRESHOLDS;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^\d+$/.test(p)) return `“${p}” is not a whole percentage`;
    out.push(Number(p));
  }
  return out.sort((a, b) => a - b);
}

/** The day a budget is forecast to run out ("12 Nov"), or that it is not forecast to within the month. */
export function runsOutText(runsOutOn: string | null | undefined): string {
  if (!runsOutOn) return 'not within the month';
  return new Date(runsOutOn).toLocaleDateString('en-GB', { day: 'numeric', month: 'short', timeZone: 'UTC' });
}

export interface BudgetEditContext {
  role: Role | string;
  /** The viewer's own person id. */
  personId: string;
  /** The viewer's BU and whether the owner's BU lies in its subtree. */
  ownerInViewerSubtree: boolean;
}

/**
 * Whether to show the controls that set a budget for an owner. An existing
 * budget says itself (editable); a missing one may be set by an ADMIN, by a BU
 * admin for a BU or person of their subtree, and by a person for themselves.
 */
export function canSetBudget(existing: { editable: boolean } | null | undefined, owner: { personId?: string }, ctx: BudgetEditContext): boolean {
  if (existing) return existing.editable;
  if (ctx.role === 'ADMIN') return true;
  if (owner.personId && owner.personId === ctx.personId) return true;
  return ctx.role === 'BU_ADMIN' && ctx.ownerInViewerSubtree;
}

/** The first day of the current month (UTC) as the API's Time. */
export function monthStart(now = new Date()): string {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)).toISOString().replace('.000Z', 'Z');
}
