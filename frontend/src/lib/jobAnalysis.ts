// Job and queue findings: severity tones and order, evidence in words, and the
// path of a job's page. Pure functions, unit-tested.

import type { Tone } from './colors';
import { formatNumber } from './format';

export type Severity = 'NONE' | 'LOW' | 'MODERATE' | 'SEVERE' | 'CRITICAL';

export const SEVERITY_TONE: Record<Severity, Tone> = {
  NONE: 'good',
  LOW: 'info',
  MODERATE: 'warn',
  SEVERE: 'bad',
  CRITICAL: 'bad',
};

const RANK: Record<Severity, number> = { NONE: 0, LOW: 1, MODERATE: 2, SEVERE: 3, CRITICAL: 4 };

/** Findings worst first (the server's order too); ties keep their order. */
export function worstFirst<F extends { severity: Severity }>(fs: readonly F[]): F[] {
  return [...fs].sort((a, b) => RANK[b.severity] - RANK[a.severity]);
}

/** How many findings are graded LOW or worse (NONE means checked and healthy). */
export function problemCount(fs: ReadonlyArray<{ severity: Severity }>): number {
  return fs.filter((f) => f.severity !== 'NONE').length;
}

/** One number of a finding's evidence: "0.9 ratio" reads as "90%", the rest as value and unit. */
export function formatEvidence(value: number, unit: string): string {
  if (unit === 'ratio') return `${formatNumber(value * 100, Math.abs(value) < 0.1 ? 1 : 0)}%`;
  const digits = Number.isInteger(value) ? 0 : Math.abs(value) < 10 ? 2 : 1;
  return unit ? `${formatNumber(value, digits)} ${unit}` : formatNumber(value, digits);
}

/** The path of a job's page (its GraphQL id, as the job page reads it). */
export function jobPath(id: string): string {
  return `/jobs/${encodeURIComponent(id)}`;
}

/**
 * Whether the signed-in person may ask for a job's analysis: its owner, a BU
 * admin (the server checks the BU), operators and admins. The server decides
 * and its refusal is shown.
 */
export function mayAnalyze(role: string, me: string, ownerLogin: string | null | undefined): boolean {
  return role === 'ADMIN' || role === 'OPERATOR' || role === 'BU_ADMIN' || (!!ownerLogin && ownerLogin === me);
}
