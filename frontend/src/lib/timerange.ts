// Time ranges for charts: presets ("last 24 hours") and custom from/to, kept in
// the URL as ?range=7d or ?range=custom&from=…&to=…, resolved to concrete RFC
// 3339 times once per selection (so query variables stay stable between
// renders). The app speaks UTC; custom inputs are read and shown in UTC.

export type RangePreset = '1h' | '6h' | '24h' | '7d' | '30d';
export type RangeKey = RangePreset | 'custom';

export const PRESET_MS: Record<RangePreset, number> = {
  '1h': 3600e3,
  '6h': 6 * 3600e3,
  '24h': 24 * 3600e3,
  '7d': 7 * 86400e3,
  '30d': 30 * 86400e3,
};

export const PRESET_LABEL: Record<RangePreset, string> = {
  '1h': 'Last hour',
  '6h': 'Last 6 hours',
  '24h': 'Last 24 hours',
  '7d': 'Last 7 days',
  '30d': 'Last 30 days',
};

export interface RangeSelection {
  key: RangeKey;
  /** Custom start, RFC 3339 (only for key "custom"). */
  from?: string | null;
  /** Custom end, RFC 3339 (only for key "custom"). */
  to?: string | null;
}

export interface ResolvedRange {
  from: string;
  to: string;
  /** True when the range ends at (about) now, so live data and forecasts belong on it. */
  endsNow: boolean;
}

export function isPreset(v: unknown): v is RangePreset {
  return typeof v === 'string' && Object.prototype.hasOwnProperty.call(PRESET_MS, v);
}

function parseTime(v: string | null | undefined): number | null {
  if (!v) return null;
  const t = new Date(v).getTime();
  return Number.isNaN(t) ? null : t;
}

/** Rounds down to the minute, so a range picked twice within a minute is the same. */
export function floorToMinute(ms: number): number {
  return Math.floor(ms / 60e3) * 60e3;
}

/**
 * Concrete from/to for a selection at time `now`. Presets end at now (rounded
 * down to the minute). A custom range with a missing or invalid end falls back
 * to now, a missing start to `fallback` before its end; reversed bounds are
 * swapped; an empty range is widened to one minute.
 */
export function resolveRange(sel: RangeSelection, now: number = Date.now(), fallback: RangePreset = '24h'): ResolvedRange {
  const end = floorToMinute(now);
  if (sel.key !== 'custom') {
    const span = PRESET_MS[isPreset(sel.key) ? sel.key : fallback];
    return { from: new Date(end - span).toISOString(), to: new Date(end).toISOString(), endsNow: true };
  }
  let to = parseTime(sel.to) ?? end;
  let from = parseTime(sel.from) ?? to - PRESET_MS[fallback];
  if (from > to) [from, to] = [to, from];
  if (to - from < 60e3) from = to - 60e3;
  return { from: new Date(from).toISOString(), to: new Date(to).toISOString(), endsNow: Math.abs(now - to) <= 5 * 60e3 };
}

/** The selection in a query string: {range, from, to} (from/to only for custom). */
export function rangeToParams(sel: RangeSelection, defaultKey: RangeKey): Record<string, string | null> {
  if (sel.key === 'custom') return { range: 'custom', from: sel.from ?? null, to: sel.to ?? null };
  return { range: sel.key === defaultKey ? null : sel.key, from: null, to: null };
}

/** Reads a selection from query parameters, with a default preset and the allowed presets. */
export function rangeFromParams(params: Record<string, string | undefined>, defaultKey: RangePreset, allowed: RangePreset[] = Object.keys(PRESET_MS) as RangePreset[]): RangeSelection {
  const r = params.range;
  if (r === 'custom') {
    const from = parseTime(params.from) !== null ? params.from! : null;
    const to = parseTime(params.to) !== null ? params.to! : null;
    return { key: 'custom', from, to };
  }
  if (isPreset(r) && allowed.includes(r)) return { key: r };
  return { key: defaultKey };
}

const pad = (n: number) => String(n).padStart(2, '0');

/** An RFC 3339 time as the value of an <input type="datetime-local"> in UTC: "2024-05-01T12:34". */
export function toInputValue(iso: string | null | undefined): string {
  const t = parseTime(iso);
  if (t === null) return '';
  const d = new Date(t);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
}

/** The value of a datetime-local input, read as UTC, as RFC 3339; null when empty or invalid. */
export function fromInputValue(v: string | null | undefined): string | null {
  if (!v) return null;
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(v.trim());
  if (!m) return null;
  const [, y, mo, d, h, mi, s] = m;
  const t = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s ?? 0));
  const back = new Date(t);
  if (back.getUTCMonth() !== Number(mo) - 1 || back.getUTCDate() !== Number(d)) return null; // 2024-02-31
  return back.toISOString();
}

/** A human description: "Last 7 days" or "2024-05-01 12:00 → 2024-05-02 12:00 UTC". */
export function describeRange(sel: RangeSelection, resolved: ResolvedRange): string {
  if (sel.key !== 'custom') return PRESET_LABEL[sel.key];
  const f = (iso: string) => iso.slice(0, 16).replace('T', ' ');
  return `${f(resolved.from)} → ${f(resolved.to)} UTC`;
}

/** Length of a resolved range in milliseconds. */
export function rangeSpanMs(r: { from: string; to: string }): number {
  return new Date(r.to).getTime() - new Date(r.from).getTime();
}

/**
 * The axis label format for a range: times of day for short ranges, dates for
 * long ones (ECharts time-axis formatter strings).
 */
export function axisTimeFormat(spanMs: number): string {
  if (spanMs <= 36 * 3600e3) return '{HH}:{mm}';
  if (spanMs <= 8 * 86400e3) return '{MMM} {d} {HH}:{mm}';
  return '{MMM} {d}';
}
