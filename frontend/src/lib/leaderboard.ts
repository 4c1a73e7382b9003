// Red-black leaderboards and health scores on the screens: the selectors'
// choices (kept in the URL as plain strings), movement arrows and the tones of
// health grades.
import type { Enum } from '../graphql';
import type { Tone } from './colors';

export type LeaderboardLevel = Enum<'LeaderboardLevel'>;
export type LeaderboardMetric = Enum<'LeaderboardMetric'>;
export type PeriodUnit = Enum<'PeriodUnit'>;

export const LEVELS: readonly LeaderboardLevel[] = ['PERSON', 'JOB', 'BU'];
export const METRICS: readonly LeaderboardMetric[] = ['EFFICIENCY', 'COST_PER_UNIT', 'FAILURE_RATE', 'FINDINGS', 'HEALTH'];
export const PERIODS: readonly PeriodUnit[] = ['DAY', 'WEEK', 'MONTH'];

export const LEVEL_LABEL: Record<LeaderboardLevel, string> = { JOB: 'Jobs', PERSON: 'People', BU: 'BUs' };
export const METRIC_LABEL: Record<LeaderboardMetric, string> = {
  EFFICIENCY: 'Efficiency',
  COST_PER_UNIT: 'Cost per core-hour',
  FAILURE_RATE: 'Failure rate',
  FINDINGS: 'Findings',
  HEALTH: 'Health',
};
export const PERIOD_LABEL: Record<PeriodUnit, string> = { DAY: 'Day', WEEK: 'Week', MONTH: 'Month' };

/** The page's choices from its search params: unknown values fall back to the defaults. */
export function leaderboardChoice(search: { level?: string; metric?: string; period?: string }): { level: LeaderboardLevel; metric: LeaderboardMetric; period: PeriodUnit } {
  const pick = <T extends string>(v: string | undefined, all: readonly T[], def: T): T => (all.includes(v as T) ? (v as T) : def);
  return {
    level: pick(search.level, LEVELS, 'PERSON'),
    metric: pick(search.metric, METRICS, 'EFFICIENCY'),
    period: pick(search.period, PERIODS, 'WEEK'),
  };
}

/** A movement on its list: ▲3 (up the list), ▼2, = (same place) or "new" (not ranked the period before). */
export function movementText(movement: number | null | undefined): { arrow: string; text: string; tone: Tone } {
  if (movement == null) return { arrow: '•', text: 'new', tone: 'info' };
  if (movement > 0) return { arrow: '▲', text: String(movement), tone: 'good' };
  if (movement < 0) return { arrow: '▼', text: String(-movement), tone: 'bad' };
  return { arrow: '=', text: '', tone: 'muted' };
}

/** A health grade's tone: GOOD, FAIR, POOR. */
export function gradeTone(grade: string | null | undefined): Tone {
  switch (grade) {
    case 'GOOD':
      return 'good';
    case 'FAIR':
      return 'warn';
    case 'POOR':
      return 'bad';
    default:
      return 'muted';
  }
}

/** A standing in words: "3rd of 41", or why there is none. */
export function standingText(rank: number | null | undefined, of: number): string {
  if (rank == null) return of ? `not ranked of ${of}` : 'not ranked';
  return `${ordinal(rank)} of ${of}`;
}

export function ordinal(n: number): string {
  const mod100 = n % 100;
  if (mod100 >= 11 && mod100 <= 13) return `${n}th`;
  switch (n % 10) {
    case 1:
      return `${n}st`;
    case 2:
      return `${n}nd`;
    case 3:
      return `${n}rd`;
    default:
      return `${n}th`;
  }
}

/** An app path given by the server (improveUrl), or null when it is not one (only in-app links are followed). */
export function appPath(url: string | null | undefined): string | null {
  return url && url.startsWith('/') && !url.startsWith('//') ? url : null;
}
