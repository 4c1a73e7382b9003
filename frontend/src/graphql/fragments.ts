// Selections several pages share. Page-specific documents live next to their pages.
import { graphql } from './index';

export const HostCountsFields = graphql(`
  fragment HostCountsFields on HostCounts {
    total
    online
    degraded
    offline
    maintenance
    decommissioned
    repairing
  }
`);

export const CapacityFields = graphql(`
  fragment CapacityFields on ClusterCapacity {
    cpuCores
    memoryBytes
    diskBytes
    nicBitsPerSecond
  }
`);

export const PageInfoFields = graphql(`
  fragment PageInfoFields on PageInfo {
    hasNextPage
    hasPreviousPage
    startCursor
    endCursor
  }
`);

export const LevelFields = graphql(`
  fragment LevelFields on WatermarkLevel {
    dimension
    utilization
    threshold
    status
    used
    capacity
    unit
    hosts
    ts
  }
`);

export const WatermarkRowFields = graphql(
  `
    fragment WatermarkRowFields on ClusterWatermark {
      cluster {
        id
        name
        kind
      }
      levels {
        ...LevelFields
      }
      worst {
        ...LevelFields
      }
    }
  `,
  [LevelFields],
);

export const RiskFields = graphql(`
  fragment RiskFields on ClusterRisk {
    cluster {
      id
      name
      kind
    }
    dimension
    utilization
    threshold
    crossesAt
    daysToThreshold
    reason
  }
`);

export const WatermarkSeriesFields = graphql(`
  fragment WatermarkSeriesFields on WatermarkSeries {
    dimension
    unit
    step
    threshold
    points {
      ts
      utilization
      p95
      max
    }
  }
`);

export const ForecastFields = graphql(`
  fragment ForecastFields on WatermarkForecast {
    dimension
    method
    threshold
    daysOfHistory
    currentPeak
    slopePerDay
    crossesAt
    crossesAtEarliest
    crossesAtLatest
    projection {
      ts
      value
      low
      high
    }
    computedAt
  }
`);

export const HostMetricPointFields = graphql(`
  fragment HostMetricPointFields on HostMetricPoint {
    ts
    cpuPercent
    cpuPercentMax
    memoryPercent
    diskIoPercent
    netInBitsPerSecond
    netOutBitsPerSecond
    containers
    samples
  }
`);

/** A cluster as its table row and its page header show it. */
export const ClusterSummaryFields = graphql(
  `
    fragment ClusterSummaryFields on Cluster {
      id
      name
      kind
      region
      status
      ownerBu {
        name
        code
      }
      stackVersion {
        version
        stack {
          name
        }
      }
      hostCounts {
        ...HostCountsFields
      }
      capacity {
        ...CapacityFields
      }
    }
  `,
  [HostCountsFields, CapacityFields],
);
