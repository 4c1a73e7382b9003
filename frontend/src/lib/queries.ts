// GraphQL documents used by the app, written against graph/schema/schema.graphqls,
// with the TypeScript shapes of their results.

export type ClusterKind = 'STREAMING' | 'BATCH' | 'ONLINE';
export type ClusterStatus = 'ACTIVE' | 'UPGRADING' | 'DEGRADED' | 'MAINTENANCE' | 'RETIRED';
export type HostState = 'ONLINE' | 'DEGRADED' | 'OFFLINE' | 'MAINTENANCE' | 'DECOMMISSIONED' | 'REPAIRING';
export type OrderDirection = 'ASC' | 'DESC';
export type AuditOutcome = 'OK' | 'DENIED' | 'FAILED';
export type PackageSource = 'RPM' | 'TAR' | 'GIT' | 'OBJECT_STORE';

export const CLUSTER_KINDS: ClusterKind[] = ['STREAMING', 'BATCH', 'ONLINE'];
export const HOST_STATES: HostState[] = ['ONLINE', 'DEGRADED', 'OFFLINE', 'MAINTENANCE', 'REPAIRING', 'DECOMMISSIONED'];

export interface HostCounts {
  total: number;
  online: number;
  degraded: number;
  offline: number;
  maintenance: number;
  decommissioned: number;
  repairing: number;
}

/** HostCounts field for each HostState, in display order. */
export const STATE_COUNT_FIELD: Record<HostState, keyof HostCounts> = {
  ONLINE: 'online',
  DEGRADED: 'degraded',
  OFFLINE: 'offline',
  MAINTENANCE: 'maintenance',
  REPAIRING: 'repairing',
  DECOMMISSIONED: 'decommissioned',
};

export interface Capacity {
  cpuCores: number;
  memoryBytes: number;
  diskBytes: number;
  nicBitsPerSecond: number;
}

export interface PageInfo {
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  startCursor: string | null;
  endCursor: string | null;
}

const HOST_COUNTS = 'total online degraded offline maintenance decommissioned repairing';
const CAPACITY = 'cpuCores memoryBytes diskBytes nicBitsPerSecond';
const PAGE_INFO = 'pageInfo { hasNextPage hasPreviousPage startCursor endCursor }';

// ---- clusters overview ------------------------------------------------------

export interface ClusterSummary {
  id: string;
  name: string;
  kind: ClusterKind;
  region: string;
  status: ClusterStatus;
  ownerBu: { name: string; code: string } | null;
  stackVersion: { version: string; stack: { name: string } } | null;
  hostCounts: HostCounts;
  capacity: Capacity;
}

export interface ClustersOverviewData {
  platform: {
    clusterCount: number;
    hostCounts: HostCounts;
    capacity: Capacity;
    clustersByKind: Array<{ kind: ClusterKind; clusters: number; hosts: number }>;
  };
  clusters: { totalCount: number; nodes: ClusterSummary[] };
}

export const CLUSTERS_OVERVIEW = /* GraphQL */ `
  query ClustersOverview($filter: ClusterFilter, $orderBy: ClusterOrder) {
    platform {
      clusterCount
      hostCounts { ${HOST_COUNTS} }
      capacity { ${CAPACITY} }
      clustersByKind { kind clusters hosts }
    }
    clusters(first: 100, filter: $filter, orderBy: $orderBy) {
      totalCount
      nodes {
        id
        name
        kind
        region
        status
        ownerBu { name code }
        stackVersion { version stack { name } }
        hostCounts { ${HOST_COUNTS} }
        capacity { ${CAPACITY} }
      }
    }
  }
`;

// ---- one cluster ------------------------------------------------------------

export interface HostRow {
  id: string;
  hostname: string;
  rack: string;
  state: HostState;
  stateReason: string;
  cpuCores: number;
  memoryBytes: number;
  os: string;
  lastHeartbeat: string | null;
  latestMetrics: { ts: string; cpuPercent: number | null; memoryPercent: number | null } | null;
}

export interface ClusterDetail extends ClusterSummary {
  description: string;
  createdAt: string;
  hosts: { totalCount: number; pageInfo: PageInfo; nodes: HostRow[] };
}

export interface ClusterPageData {
  cluster: ClusterDetail | null;
}

export const CLUSTER_PAGE = /* GraphQL */ `
  query ClusterPage(
    $name: String!
    $first: Int
    $after: String
    $last: Int
    $before: String
    $filter: HostFilter
    $orderBy: HostOrder
  ) {
    cluster(name: $name) {
      id
      name
      kind
      region
      status
      description
      createdAt
      ownerBu { name code }
      stackVersion { version stack { name } }
      hostCounts { ${HOST_COUNTS} }
      capacity { ${CAPACITY} }
      hosts(first: $first, after: $after, last: $last, before: $before, filter: $filter, orderBy: $orderBy) {
        totalCount
        ${PAGE_INFO}
        nodes {
          id
          hostname
          rack
          state
          stateReason
          cpuCores
          memoryBytes
          os
          lastHeartbeat
          latestMetrics { ts cpuPercent memoryPercent }
        }
      }
    }
  }
`;

// ---- stacks -----------------------------------------------------------------

export interface StackRow {
  id: string;
  name: string;
  description: string;
  versions: Array<{
    id: string;
    version: string;
    releasedAt: string;
    packages: Array<{ service: string; version: string; sourceKind: PackageSource }>;
    clusters: Array<{ name: string }>;
  }>;
}

export interface StacksData {
  stacks: { totalCount: number; nodes: StackRow[] };
}

export const STACKS = /* GraphQL */ `
  query Stacks {
    stacks(first: 50) {
      totalCount
      nodes {
        id
        name
        description
        versions {
          id
          version
          releasedAt
          packages { service version sourceKind }
          clusters { name }
        }
      }
    }
  }
`;

// ---- audit log --------------------------------------------------------------

export interface AuditRow {
  id: string;
  at: string;
  actor: string;
  action: string;
  target: string;
  outcome: AuditOutcome;
  error: string;
}

export interface AuditData {
  auditLog: { totalCount: number; pageInfo: PageInfo; nodes: AuditRow[] };
}

export const AUDIT_LOG = /* GraphQL */ `
  query AuditLog($first: Int, $after: String, $last: Int, $before: String, $filter: AuditFilter) {
    auditLog(first: $first, after: $after, last: $last, before: $before, filter: $filter) {
      totalCount
      ${PAGE_INFO}
      nodes { id at actor action target outcome error }
    }
  }
`;
