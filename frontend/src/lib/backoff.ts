// The reconnect back-off schedule of live screens: exponential from `baseMs`,
// capped at `maxMs`, with symmetric jitter so many screens that lost the same
// server do not all reconnect in the same millisecond. It never gives up: a wall
// display must come back on its own however long the outage.

export interface BackoffOptions {
  /** First delay (attempt 0). Default 1 s. */
  baseMs?: number;
  /** Growth per attempt. Default 2. */
  factor?: number;
  /** Cap. Default 20 s. */
  maxMs?: number;
  /** Jitter as a fraction of the delay, 0..1: the delay is spread over ±jitter. Default 0.2. */
  jitter?: number;
}

export const DEFAULT_BACKOFF: Required<BackoffOptions> = { baseMs: 1000, factor: 2, maxMs: 20_000, jitter: 0.2 };

/**
 * The delay before reconnect attempt `attempt` (0 for the first retry after a
 * drop). `random` returns 0..1; 0.5 means no jitter. Always at least 100 ms
 * and never more than maxMs × (1 + jitter).
 */
export function backoffDelay(attempt: number, opts: BackoffOptions = {}, random: () => number = Math.random): number {
  const { baseMs, factor, maxMs, jitter } = { ...DEFAULT_BACKOFF, ...opts };
  const n = Math.max(0, Math.floor(Number.isFinite(attempt) ? attempt : 0));
  // Stop multiplying once past the cap (avoids Infinity for huge attempt counts).
  let raw = baseMs;
  for (let i = 0; i < n && raw < maxMs; i++) raw *= factor;
  const capped = Math.min(raw, maxMs);
  const r = Math.min(1, Math.max(0, random()));
  const spread = capped * Math.min(1, Math.max(0, jitter)) * (2 * r - 1);
  return Math.max(100, Math.round(capped + spread));
}

/** The first `count` delays without jitter (for docs, tests and the UI hint). */
export function backoffSchedule(count: number, opts: BackoffOptions = {}): number[] {
  return Array.from({ length: count }, (_, i) => backoffDelay(i, opts, () => 0.5));
}
