// Host table cells shared by the cluster page and the machine search: the
// hostname linking to its analysis, the state with its reason, the latest CPU
// and memory, and the last heartbeat. HostRowFields is what they read.
import { graphql, type ResultOf } from '../graphql';
import { formatBytes, formatDateTime, formatNumber, formatPercent, formatRelative, humanizeEnum } from '../lib/format';
import { STATE_TONE } from '../lib/colors';
import { Badge, Link, PercentBar } from './ui';

export const HostRowFields = graphql(`
  fragment HostRowFields on Host {
    id
    hostname
    rack
    state
    stateReason
    cpuCores
    memoryBytes
    os
    model
    lastHeartbeat
    latestMetrics {
      ts
      cpuPercent
      memoryPercent
    }
  }
`);

export type HostRow = ResultOf<typeof HostRowFields>;

export function HostnameCell({ host, testId = 'host-link' }: { host: Pick<HostRow, 'hostname'>; testId?: string }) {
  return (
    <td className="name-cell mono">
      <Link to="/hosts/$hostname" params={{ hostname: host.hostname }} data-testid={testId} title="Machine analysis">
        {host.hostname}
      </Link>
    </td>
  );
}

export function HostStateCell({ host }: { host: Pick<HostRow, 'state' | 'stateReason'> }) {
  return (
    <td data-testid="host-state" data-state={host.state}>
      <Badge tone={STATE_TONE[host.state] ?? 'muted'} title={host.stateReason || undefined}>
        {humanizeEnum(host.state)}
      </Badge>
      {host.stateReason && <span className="reason">{host.stateReason}</span>}
    </td>
  );
}

/** Cores and memory, as two numeric cells. */
export function HostSizeCells({ host }: { host: Pick<HostRow, 'cpuCores' | 'memoryBytes'> }) {
  return (
    <>
      <td className="num">{formatNumber(host.cpuCores)}</td>
      <td className="num">{formatBytes(host.memoryBytes)}</td>
    </>
  );
}

/** The latest CPU and memory use, as two bar cells. */
export function HostUsageCells({ host }: { host: Pick<HostRow, 'latestMetrics'> }) {
  const m = host.latestMetrics;
  return (
    <>
      <td>
        <PercentBar value={m?.cpuPercent} text={formatPercent(m?.cpuPercent)} />
      </td>
      <td>
        <PercentBar value={m?.memoryPercent} text={formatPercent(m?.memoryPercent)} />
      </td>
    </>
  );
}

export function HeartbeatCell({ host }: { host: Pick<HostRow, 'lastHeartbeat'> }) {
  return <td title={formatDateTime(host.lastHeartbeat, true)}>{host.lastHeartbeat ? formatRelative(host.lastHeartbeat) : <span className="muted">never</span>}</td>;
}
