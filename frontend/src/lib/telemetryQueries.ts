// GraphQL documents for watermarks, the big screen, machine analysis and the
// scheduler, written against graph/schema/telemetry.graphqls (validated by
// test/queries.test.ts), with the TypeScript shapes of their results.

import type { Capacity, ClusterKind, ClusterStatus, HostCounts, HostState } from './queries';
import type { WatermarkDimension, WatermarkStatus } from './watermark';

const HOST_COUNTS = 'total online degraded offline maintenance decommissioned repairing';
const CAPACITY = 'cpuCores memoryBytes diskBytes nicBitsPerSecond';

// ---- watermarks ---------------------------------------------------------------

export interface Level {
  dimension: WatermarkDimension;
  utilization: number;
  threshold: number;
  status: WatermarkStatus;
  used: number;
  capacity: number;
  unit: string;
  hosts: number;
  ts: string;
}

export interface ClusterWatermarkRow {
  cluster: { id: string; name: string; kind: ClusterKind };
  levels: Level[];
  worst: Level | null;
}

export interface ClusterRisk {
  cluster: { id: string; name: string; kind: ClusterKind };
  dimension: WatermarkDimension;
  utilization: number;
  threshold: number;
  crossesAt: string | null;
  daysToThreshold: number | null;
  reason: string;
}

export interface WatermarksPlatform {
  levels: Level[];
  watermarks: ClusterWatermarkRow[];
  clustersAtRisk: ClusterRisk[];
}

export interface WatermarksOverviewData {
  platform: WatermarksPlatform;
}

export interface WatermarksPulseData {
  platformPulse: { at: string; platform: WatermarksPlatform };
}

const LEVEL = 'dimension utilization threshold status used capacity unit hosts ts';
const WATERMARK_ROW = `cluster { id name kind } levels { ${LEVEL} } worst { ${LEVEL} }`;
const RISK = 'cluster { id name kind } dimension utilization threshold crossesAt daysToThreshold reason';

export const WATERMARKS_OVERVIEW = /* GraphQL */ `
  query WatermarksOverview {
    platform {
      levels { ${LEVEL} }
      watermarks { ${WATERMARK_ROW} }
      clustersAtRisk { ${RISK} }
    }
  }
`;

export const WATERMARKS_PULSE = /* GraphQL */ `
  subscription WatermarksPulse {
    platformPulse {
      at
      platform {
        levels { ${LEVEL} }
        watermarks { ${WATERMARK_ROW} }
        clustersAtRisk { ${RISK} }
      }
    }
  }
`;

export interface ClusterWatermarkLiveData {
  watermarkUpdated: ClusterWatermarkRow;
}

export const CLUSTER_WATERMARK_LIVE = /* GraphQL */ `
  subscription ClusterWatermarkLive($clusterId: ID!) {
    watermarkUpdated(clusterId: $clusterId) { ${WATERMARK_ROW} }
  }
`;

export interface WatermarkPoint {
  ts: string;
  utilization: number;
  p95: number | null;
  max: number | null;
}

export interface WatermarkSeries {
  dimension: WatermarkDimension;
  unit: string;
  step: string;
  threshold: number;
  points: WatermarkPoint[];
}

export interface ForecastPoint {
  ts: string;
  value: number;
  low: number;
  high: number;
}

export interface WatermarkForecast {
  dimension: WatermarkDimension;
  method: string;
  threshold: number;
  daysOfHistory: number;
  currentPeak: number | null;
  slopePerDay: number | null;
  crossesAt: string | null;
  crossesAtEarliest: string | null;
  crossesAtLatest: string | null;
  projection: ForecastPoint[];
  computedAt: string;
}

export interface WatermarkDetailData {
  cluster: {
    id: string;
    name: string;
    kind: ClusterKind;
    region: string;
    status: ClusterStatus;
    watermarkThreshold: number;
    watermarks: WatermarkSeries[];
    forecast: WatermarkForecast[];
  } | null;
}

export const WATERMARK_DETAIL = /* GraphQL */ `
  query WatermarkDetail($name: String!, $dimensions: [WatermarkDimension!], $from: Time, $to: Time) {
    cluster(name: $name) {
      id
      name
      kind
      region
      status
      watermarkThreshold
      watermarks(dimensions: $dimensions, from: $from, to: $to, maxPoints: 400) {
        dimension
        unit
        step
        threshold
        points { ts utilization p95 max }
      }
      forecast(dimensions: $dimensions) {
        dimension
        method
        threshold
        daysOfHistory
        currentPeak
        slopePerDay
        crossesAt
        crossesAtEarliest
        crossesAtLatest
        projection { ts value low high }
        computedAt
      }
    }
  }
`;

// ---- big screen ---------------------------------------------------------------

export interface ScreenLevel {
  dimension: WatermarkDimension;
  utilization: number;
  status: WatermarkStatus;
  threshold: number;
}

export interface SickHost {
  hostname: string;
  state: HostState;
  stateReason: string;
  cluster: { name: string };
  lastHeartbeat: string | null;
}

export interface ScreenPlatform {
  clusterCount: number;
  hostCounts: HostCounts;
  capacity: Capacity;
  levels: ScreenLevel[];
  watermarks: Array<{ cluster: { id: string; name: string; kind: ClusterKind }; worst: ScreenLevel | null; levels: ScreenLevel[] }>;
  clustersAtRisk: Array<{ cluster: { name: string; kind: ClusterKind }; dimension: WatermarkDimension; utilization: number; threshold: number; crossesAt: string | null; daysToThreshold: number | null; reason: string }>;
  recentSickHosts: SickHost[];
}

export interface ScreenInitialData {
  platform: ScreenPlatform;
}

export interface ScreenPulseData {
  platformPulse: { at: string; platform: ScreenPlatform };
}

const SCREEN_LEVEL = 'dimension utilization status threshold';
const SCREEN_PLATFORM = `
  clusterCount
  hostCounts { ${HOST_COUNTS} }
  capacity { ${CAPACITY} }
  levels { ${SCREEN_LEVEL} }
  watermarks {
    cluster { id name kind }
    worst { ${SCREEN_LEVEL} }
    levels { ${SCREEN_LEVEL} }
  }
  clustersAtRisk { cluster { name kind } dimension utilization threshold crossesAt daysToThreshold reason }
  recentSickHosts(first: 10) { hostname state stateReason cluster { name } lastHeartbeat }
`;

export const SCREEN_INITIAL = /* GraphQL */ `
  query ScreenInitial {
    platform { ${SCREEN_PLATFORM} }
  }
`;

export interface ScreenTrendData {
  platform: { watermarkSeries: Array<{ dimension: WatermarkDimension; points: Array<{ ts: string; utilization: number }> }> };
}

/** The big screen's trend backfill: the platform's levels over the last hours. */
export const SCREEN_TREND = /* GraphQL */ `
  query ScreenTrend($from: Time, $to: Time) {
    platform {
      watermarkSeries(dimensions: [CPU, MEMORY, DISK_IO, NET_IN], from: $from, to: $to, maxPoints: 180) {
        dimension
        points { ts utilization }
      }
    }
  }
`;

export const SCREEN_PULSE = /* GraphQL */ `
  subscription ScreenPulse {
    platformPulse {
      at
      platform { ${SCREEN_PLATFORM} }
    }
  }
`;

// ---- machine analysis -----------------------------------------------------------

export interface HostComponentRow {
  service: string;
  component: string;
  version: string;
  desiredState: string;
  actualState: string;
  updatedAt: string;
}

export interface MachineData {
  host: {
    id: string;
    hostname: string;
    ip: string;
    rack: string;
    state: HostState;
    stateReason: string;
    lastHeartbeat: string | null;
    createdAt: string;
    os: string;
    kernel: string;
    model: string;
    cpuCores: number;
    memoryBytes: number;
    diskBytes: number;
    nicBitsPerSecond: number;
    cluster: { id: string; name: string; kind: ClusterKind; region: string };
    latestMetrics: {
      ts: string;
      cpuPercent: number | null;
      memoryPercent: number | null;
      diskIoPercent: number | null;
      netInBitsPerSecond: number | null;
      netOutBitsPerSecond: number | null;
      containers: number | null;
    } | null;
  } | null;
}

export const MACHINE = /* GraphQL */ `
  query Machine($hostname: String!) {
    host(hostname: $hostname) {
      id
      hostname
      ip
      rack
      state
      stateReason
      lastHeartbeat
      createdAt
      os
      kernel
      model
      cpuCores
      memoryBytes
      diskBytes
      nicBitsPerSecond
      cluster { id name kind region }
      latestMetrics { ts cpuPercent memoryPercent diskIoPercent netInBitsPerSecond netOutBitsPerSecond containers }
    }
  }
`;

export type ScrapeState = 'PENDING' | 'UP' | 'FAILING';

export interface PeerComparison {
  dimension: WatermarkDimension;
  hostAverage: number | null;
  hostP95: number | null;
  peerMedian: number | null;
  peerP95: number | null;
  percentileRank: number | null;
  verdict: string;
}

/** A machine-analysis finding; the server ranks it, worst first. */
export interface Finding {
  severity: 'PROBLEM' | 'WARNING' | 'NOTE';
  text: string;
}

export interface HostAnalysis {
  window: string;
  hardware: { model: string; cpuCores: number; memoryBytes: number; diskBytes: number; nicBitsPerSecond: number };
  os: string;
  kernel: string;
  components: HostComponentRow[];
  unhealthyComponents: HostComponentRow[];
  peers: PeerComparison[];
  scrape: {
    url: string;
    state: ScrapeState;
    failures: number;
    lastAttemptAt: string | null;
    lastSuccessAt: string | null;
    lastError: string;
    nextAttemptAt: string;
  } | null;
  findings: Finding[];
}

export interface MachineAnalysisData {
  host: { id: string; analysis: HostAnalysis } | null;
}

const COMPONENT = 'service component version desiredState actualState updatedAt';

export const MACHINE_ANALYSIS = /* GraphQL */ `
  query MachineAnalysis($hostname: String!, $window: Duration) {
    host(hostname: $hostname) {
      id
      analysis(window: $window) {
        window
        hardware { model cpuCores memoryBytes diskBytes nicBitsPerSecond }
        os
        kernel
        components { ${COMPONENT} }
        unhealthyComponents { ${COMPONENT} }
        peers { dimension hostAverage hostP95 peerMedian peerP95 percentileRank verdict }
        scrape { url state failures lastAttemptAt lastSuccessAt lastError nextAttemptAt }
        findings { severity text }
      }
    }
  }
`;

export interface HostMetricPoint {
  ts: string;
  cpuPercent: number | null;
  cpuPercentMax: number | null;
  memoryPercent: number | null;
  diskIoPercent: number | null;
  netInBitsPerSecond: number | null;
  netOutBitsPerSecond: number | null;
  containers: number | null;
  samples: number;
}

export interface HostMetricsData {
  host: { id: string; metrics: { step: string; points: HostMetricPoint[] } } | null;
}

export const HOST_METRICS = /* GraphQL */ `
  query HostMetrics($hostname: String!, $from: Time, $to: Time) {
    host(hostname: $hostname) {
      id
      metrics(from: $from, to: $to, maxPoints: 300) {
        step
        points { ts cpuPercent cpuPercentMax memoryPercent diskIoPercent netInBitsPerSecond netOutBitsPerSecond containers samples }
      }
    }
  }
`;

export interface MachineSearchRow {
  id: string;
  hostname: string;
  rack: string;
  state: HostState;
  stateReason: string;
  model: string;
  os: string;
  cpuCores: number;
  memoryBytes: number;
  lastHeartbeat: string | null;
  cluster: { name: string; kind: ClusterKind };
  latestMetrics: { cpuPercent: number | null; memoryPercent: number | null } | null;
}

export interface MachineSearchData {
  hosts: { totalCount: number; nodes: MachineSearchRow[] };
}

export const MACHINE_SEARCH = /* GraphQL */ `
  query MachineSearch($filter: HostFilter, $orderBy: HostOrder) {
    hosts(first: 25, filter: $filter, orderBy: $orderBy) {
      totalCount
      nodes {
        id
        hostname
        rack
        state
        stateReason
        model
        os
        cpuCores
        memoryBytes
        lastHeartbeat
        cluster { name kind }
        latestMetrics { cpuPercent memoryPercent }
      }
    }
  }
`;

// ---- scheduler --------------------------------------------------------------------

export interface SchedulerRun {
  id: string;
  job: string;
  replica: string;
  startedAt: string;
  finishedAt: string | null;
  duration: string | null;
  rows: number;
  error: string;
}

export interface SchedulerJob {
  name: string;
  description: string;
  interval: string;
  timeout: string;
  lastRun: SchedulerRun | null;
  lastSuccess: { id: string; startedAt: string; finishedAt: string | null } | null;
  runs: SchedulerRun[];
}

export interface SchedulerJobsData {
  schedulerJobs: SchedulerJob[];
}

const RUN = 'id job replica startedAt finishedAt duration rows error';

export const SCHEDULER_JOBS = /* GraphQL */ `
  query SchedulerJobs {
    schedulerJobs {
      name
      description
      interval
      timeout
      lastRun { ${RUN} }
      lastSuccess { id startedAt finishedAt }
      runs(first: 10) { ${RUN} }
    }
  }
`;
