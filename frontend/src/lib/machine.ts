// Machine analysis helpers: how bad a finding or a peer verdict reads, which
// components are off their desired state, and the analysis window in words.
import type { Tone } from './colors';
import { parseGoDuration } from './format';

export type FindingTone = 'bad' | 'warn' | 'info';

/** The tone of a finding, from the severity the server gave it. */
export function findingTone(severity: 'PROBLEM' | 'WARNING' | 'NOTE'): FindingTone {
  return severity === 'PROBLEM' ? 'bad' : severity === 'WARNING' ? 'warn' : 'info';
}

export const FINDING_LABEL: Record<FindingTone, string> = { bad: 'Problem', warn: 'Warning', info: 'Note' };

/** Tone of a peer verdict: "hot…" / "saturated…" bad, "busy…" warn, "idle…" info, else muted. */
export function verdictTone(verdict: string): Tone {
  const v = verdict.toLowerCase();
  if (/\b(hot|saturat\w*|overload\w*|critical)\b/.test(v)) return 'bad';
  if (/\b(busy|high|above)\b/.test(v)) return 'warn';
  if (/\b(idle|cold|low|under\w*|quiet\w*)\b/.test(v)) return 'info';
  return 'muted';
}

/** Whether a component is not in its desired state (compared case-insensitively). */
export function isUnhealthy(c: { desiredState: string; actualState: string }): boolean {
  return c.desiredState.trim().toUpperCase() !== c.actualState.trim().toUpperCase();
}

/** An analysis window as words: "24h0m0s" → "24 hours", "168h" → "7 days", "30m" → "30 minutes". */
export function formatWindow(text: string | null | undefined): string {
  const s = parseGoDuration(text);
  if (s === null || s <= 0) return text || '—';
  const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? '' : 's'}`;
  if (s % 86400 === 0 && s >= 2 * 86400) return plural(s / 86400, 'day');
  if (s % 3600 === 0) return plural(s / 3600, 'hour');
  if (s % 60 === 0) return plural(s / 60, 'minute');
  return plural(Math.round(s), 'second');
}
