// Host states in display order, and the HostCounts field of each.
import type { HostState } from '../graphql';

export const HOST_STATES: HostState[] = ['ONLINE', 'DEGRADED', 'OFFLINE', 'MAINTENANCE', 'REPAIRING', 'DECOMMISSIONED'];

/** The states a person may set by hand (the others come from heartbeats and self-healing). */
export const SETTABLE_STATES: HostState[] = ['MAINTENANCE', 'ONLINE', 'DECOMMISSIONED'];

export type HostCountField = 'online' | 'degraded' | 'offline' | 'maintenance' | 'repairing' | 'decommissioned';

export const STATE_COUNT_FIELD: Record<HostState, HostCountField> = {
  ONLINE: 'online',
  DEGRADED: 'degraded',
  OFFLINE: 'offline',
  MAINTENANCE: 'maintenance',
  REPAIRING: 'repairing',
  DECOMMISSIONED: 'decommissioned',
};
