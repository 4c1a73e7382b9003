import type { AuditOutcome, ClusterStatus, HostState } from '../graphql';

/** One colour per host state, used by badges, the bar chart and the pie. */
export const STATE_COLORS: Record<HostState, string> = {
  ONLINE: '#2f9e44',
  DEGRADED: '#f08c00',
  OFFLINE: '#e03131',
  MAINTENANCE: '#1c7ed6',
  REPAIRING: '#7048e8',
  DECOMMISSIONED: '#868e96',
};

export type Tone = 'good' | 'warn' | 'bad' | 'info' | 'muted' | 'accent';

export const STATE_TONE: Record<HostState, Tone> = {
  ONLINE: 'good',
  DEGRADED: 'warn',
  OFFLINE: 'bad',
  MAINTENANCE: 'info',
  REPAIRING: 'accent',
  DECOMMISSIONED: 'muted',
};

export const STATUS_TONE: Record<ClusterStatus, Tone> = {
  ACTIVE: 'good',
  UPGRADING: 'info',
  DEGRADED: 'warn',
  MAINTENANCE: 'accent',
  RETIRED: 'muted',
};

export const OUTCOME_TONE: Record<AuditOutcome, Tone> = {
  OK: 'good',
  DENIED: 'warn',
  FAILED: 'bad',
};
