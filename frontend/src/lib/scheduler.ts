// The health of a scheduled analytics job from its schedule and last runs.
import { parseGoDuration } from './format';
import type { Tone } from './colors';

export type JobHealth = 'OK' | 'FAILING' | 'RUNNING' | 'OVERDUE' | 'NEVER_RAN';

export const JOB_HEALTH_TONE: Record<JobHealth, Tone> = {
  OK: 'good',
  FAILING: 'bad',
  RUNNING: 'info',
  OVERDUE: 'warn',
  NEVER_RAN: 'muted',
};

export const JOB_HEALTH_LABEL: Record<JobHealth, string> = {
  OK: 'OK',
  FAILING: 'Failing',
  RUNNING: 'Running',
  OVERDUE: 'Overdue',
  NEVER_RAN: 'Never ran',
};

export interface JobLike {
  interval: string;
  timeout: string;
  lastRun: { startedAt: string; finishedAt: string | null; error: string } | null;
}

const t = (iso: string | null | undefined) => (iso ? new Date(iso).getTime() : NaN);

/**
 * OK when the last run finished without error and on schedule; FAILING when
 * it ended with an error; RUNNING while it has no end yet (within its timeout);
 * OVERDUE when it should have started again (more than two intervals plus the
 * timeout since the last start) or a run is stuck past its timeout; NEVER_RAN
 * without runs.
 */
export function jobHealth(job: JobLike, now: number = Date.now()): JobHealth {
  const run = job.lastRun;
  if (!run) return 'NEVER_RAN';
  const interval = (parseGoDuration(job.interval) ?? 0) * 1000;
  const timeout = (parseGoDuration(job.timeout) ?? 0) * 1000;
  const started = t(run.startedAt);
  if (!run.finishedAt) {
    if (timeout > 0 && Number.isFinite(started) && now - started > timeout) return 'OVERDUE';
    return 'RUNNING';
  }
  if (run.error) return 'FAILING';
  if (interval > 0 && Number.isFinite(started) && now - started > 2 * interval + timeout) return 'OVERDUE';
  return 'OK';
}

/** Share of the given runs that failed, 0..1 (null without finished runs). */
export function failureRate(runs: Array<{ finishedAt: string | null; error: string }>): number | null {
  const done = runs.filter((r) => r.finishedAt);
  if (!done.length) return null;
  return done.filter((r) => r.error).length / done.length;
}

/** A Go duration as words: "1m0s" → "1m", "24h0m0s" → "24h", "1h30m0s" → "1h 30m". */
export function formatGoDuration(text: string | null | undefined): string {
  const s = parseGoDuration(text);
  if (s === null) return text || '—';
  if (s === 0) return '0s';
  if (s < 1) return `${Math.round(s * 1000)}ms`;
  if (s < 60 && !Number.isInteger(s)) return `${Number(s.toFixed(s < 10 ? 2 : 1))}s`;
  const parts: string[] = [];
  let rest = Math.round(s);
  for (const [unit, size] of [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) parts.push(`${n}${unit}`);
    rest -= n * size;
  }
  return parts.slice(0, 2).join(' ');
}
