// Formatting helpers shared by every page. All of them accept null/undefined
// and non-finite numbers and render them as an em dash, so tables never show
// "NaN" or "undefined".

export const DASH = '\u2014';

const BINARY_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];

function isNum(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/** Rounds to `digits` decimals and drops trailing zeros: 1.50 → "1.5", 2.00 → "2". */
function trimFixed(v: number, digits: number): string {
  const s = v.toFixed(digits);
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}

/**
 * Bytes in binary units (KiB = 1024 B): 1536 → "1.5 KiB", 256 GiB → "256 GiB".
 * Shows up to `digits` decimals (default 1), trailing zeros dropped.
 */
export function formatBytes(bytes: number | null | undefined, digits = 1): string {
  if (!isNum(bytes)) return DASH;
  const sign = bytes < 0 ? '-' : '';
  let v = Math.abs(bytes);
  let i = 0;
  while (v >= 1024 && i < BINARY_UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  // 1023.96 KiB would round to "1024 KiB": move up one unit instead.
  if (i < BINARY_UNITS.length - 1 && Number(v.toFixed(digits)) >= 1024) {
    v /= 1024;
    i++;
  }
  return `${sign}${i === 0 ? String(Math.round(v)) : trimFixed(v, digits)} ${BINARY_UNITS[i]}`;
}

const BIT_UNITS = ['bit/s', 'kbit/s', 'Mbit/s', 'Gbit/s', 'Tbit/s', 'Pbit/s'];

/** Bits per second in decimal units (network convention): 25e9 → "25 Gbit/s". */
export function formatBitsPerSecond(bps: number | null | undefined, digits = 1): string {
  if (!isNum(bps)) return DASH;
  let v = Math.abs(bps);
  let i = 0;
  while (v >= 1000 && i < BIT_UNITS.length - 1) {
    v /= 1000;
    i++;
  }
  return `${bps < 0 ? '-' : ''}${trimFixed(v, digits)} ${BIT_UNITS[i]}`;
}

/**
 * A percentage given on the 0–100 scale (as the API's `cpuPercent`): 42.345 → "42.3%".
 * Pass `{ ratio: true }` for a 0–1 fraction: 0.5 → "50%".
 */
export function formatPercent(
  value: number | null | undefined,
  opts: { digits?: number; ratio?: boolean } = {},
): string {
  if (!isNum(value)) return DASH;
  const digits = opts.digits ?? 1;
  const pct = opts.ratio ? value * 100 : value;
  return `${trimFixed(pct, digits)}%`;
}

/** Integer with thousands separators: 12345 → "12,345". */
export function formatNumber(value: number | null | undefined, digits = 0): string {
  if (!isNum(value)) return DASH;
  return value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

/**
 * A duration in seconds as its two largest units: 90 → "1m 30s", 93784 → "1d 2h",
 * 0.25 → "250ms". Negative durations get a leading "-".
 */
export function formatDuration(seconds: number | null | undefined): string {
  if (!isNum(seconds)) return DASH;
  const sign = seconds < 0 ? '-' : '';
  let s = Math.abs(seconds);
  if (s < 1) return `${sign}${Math.round(s * 1000)}ms`;
  s = Math.round(s);
  const parts: Array<[number, string]> = [
    [Math.floor(s / 86400), 'd'],
    [Math.floor((s % 86400) / 3600), 'h'],
    [Math.floor((s % 3600) / 60), 'm'],
    [s % 60, 's'],
  ];
  const first = parts.findIndex(([n]) => n > 0);
  const shown = parts
    .slice(first, first + 2)
    .filter(([n]) => n > 0)
    .map(([n, u]) => `${n}${u}`);
  return sign + shown.join(' ');
}

const GO_UNITS: Record<string, number> = {
  ns: 1e-9,
  us: 1e-6,
  '\u00b5s': 1e-6,
  '\u03bcs': 1e-6,
  ms: 1e-3,
  s: 1,
  m: 60,
  h: 3600,
};

/**
 * Parses a Go duration string (the API's `Duration` scalar) into seconds:
 * "1h30m" → 5400, "1.5s" → 1.5, "-2m" → -120. Returns null when malformed.
 */
export function parseGoDuration(text: string | null | undefined): number | null {
  if (typeof text !== 'string') return null;
  const str = text.trim();
  if (str === '0') return 0;
  const m = /^([+-]?)((?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|\u00b5s|\u03bcs|ms|s|m|h))+$/.exec(str);
  if (!m) return null;
  const sign = m[1] === '-' ? -1 : 1;
  let total = 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)/g;
  for (const part of str.matchAll(re)) total += Number(part[1]) * GO_UNITS[part[2]];
  return sign * total;
}

/** RFC 3339 time as "2024-05-01 12:34 UTC" (the API speaks UTC; so do we). */
export function formatDateTime(iso: string | null | undefined, withSeconds = false): string {
  if (!iso) return DASH;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return DASH;
  const s = d.toISOString(); // 2024-05-01T12:34:56.000Z
  return `${s.slice(0, 10)} ${s.slice(11, withSeconds ? 19 : 16)} UTC`;
}

/** RFC 3339 time as a date only: "2024-05-01". */
export function formatDate(iso: string | null | undefined): string {
  if (!iso) return DASH;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return DASH;
  return d.toISOString().slice(0, 10);
}

/** How long ago: "just now", "42s ago", "5m ago", "3h ago", "2d ago"; future → "in 5m". */
export function formatRelative(iso: string | null | undefined, now: number = Date.now()): string {
  if (!iso) return DASH;
  const t = new Date(iso).getTime();
  if (Number.isNaN(t)) return DASH;
  const diff = (now - t) / 1000;
  const abs = Math.abs(diff);
  if (abs < 5) return 'just now';
  let text: string;
  if (abs < 60) text = `${Math.floor(abs)}s`;
  else if (abs < 3600) text = `${Math.floor(abs / 60)}m`;
  else if (abs < 86400) text = `${Math.floor(abs / 3600)}h`;
  else text = `${Math.floor(abs / 86400)}d`;
  return diff >= 0 ? `${text} ago` : `in ${text}`;
}

const ACRONYMS = new Set(['bu', 'api', 'os', 'io', 'rpm', 'tar', 'git', 'ok']);

/** SCREAMING_CASE enum value as words: "BU_ADMIN" → "BU admin", "OBJECT_STORE" → "Object store". */
export function humanizeEnum(value: string | null | undefined): string {
  if (!value) return DASH;
  const words = value
    .toLowerCase()
    .split('_')
    .filter(Boolean)
    .map((w) => (ACRONYMS.has(w) ? w.toUpperCase() : w));
  const text = words.join(' ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}
