// Tools → Machine analysis for one host: hardware, operating system, the
// service layer (components with desired and actual state), node_exporter
// scrape status, plain-language findings, where the host stands among its
// cluster peers, and its metrics over a chosen range. Three queries, so a slow
// or failing analysis never hides the host's basic facts.

import { useMemo, useState } from 'react';
import { useQuery } from 'urql';
import { HostKeepAlive } from '../components/healing';
import { graphql, type Enum, type ResultOf } from '../graphql';
import { HostMetricPointFields } from '../graphql/fragments';
import { useCan } from '../lib/hooks';
import { formatBitsPerSecond, formatBytes, formatDateTime, formatNumber, formatPercent, formatRelative, humanizeEnum } from '../lib/format';
import { STATE_TONE, type Tone } from '../lib/colors';
import { rangeFromParams, rangeToParams, resolveRange, describeRange } from '../lib/timerange';
import { hostMetricCharts, type HostChartKey } from '../lib/charts';
import { DIMENSION_LABEL, type WatermarkDimension } from '../lib/watermark';
import { formatGoDuration } from '../lib/scheduler';
import { codeOf } from '../lib/errors';
import { useDocumentTitle } from '../lib/title';
import { KIND_LABEL, METRIC_LABEL, SEVERITY_TONE } from '../lib/anomaly';
import { FINDING_LABEL, findingTone, formatWindow, isUnhealthy, verdictTone } from '../lib/machine';
import type { Search, SetSearch } from '../app/router';
import { Badge, ErrorPanel, Link, Loading, Panel, PercentBar, Stat } from '../components/ui';
import { RangePicker } from '../components/telemetry';
import { HostStateForm } from '../components/HostStateForm';
import { Chart } from '../components/LazyChart';

export const MachineQuery = graphql(`
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
      cluster {
        id
        name
        kind
        region
      }
      latestMetrics {
        ts
        cpuPercent
        memoryPercent
        diskIoPercent
        netInBitsPerSecond
        netOutBitsPerSecond
        containers
      }
    }
  }
`);

const ComponentFields = graphql(`
  fragment ComponentFields on HostComponent {
    service
    component
    version
    desiredState
    actualState
    updatedAt
  }
`);

export const MachineAnalysisQuery = graphql(
  `
    query MachineAnalysis($hostname: String!, $window: Duration) {
      host(hostname: $hostname) {
        id
        analysis(window: $window) {
          window
          hardware {
            model
            cpuCores
            memoryBytes
            diskBytes
            nicBitsPerSecond
          }
          os
          kernel
          components {
            ...ComponentFields
          }
          unhealthyComponents {
            ...ComponentFields
          }
          peers {
            dimension
            hostAverage
            hostP95
            peerMedian
            peerP95
            percentileRank
            verdict
          }
          scrape {
            url
            state
            failures
            lastAttemptAt
            lastSuccessAt
            lastError
            nextAttemptAt
          }
          findings {
            severity
            text
          }
        }
      }
    }
  `,
  [ComponentFields],
);

export const HostMetricsQuery = graphql(
  `
    query HostMetrics($hostname: String!, $from: Time, $to: Time) {
      host(hostname: $hostname) {
        id
        metrics(from: $from, to: $to, maxPoints: 300) {
          step
          points {
            ...HostMetricPointFields
          }
        }
      }
    }
  `,
  [HostMetricPointFields],
);

export const HostAnomaliesQuery = graphql(`
  query HostAnomalies($hostname: String!) {
    host(hostname: $hostname) {
      id
      anomalies {
        id
        metric
        kind
        status
        severity
        startedAt
      }
    }
  }
`);

export const HostFaultsQuery = graphql(`
  query HostFaults($hostname: String!) {
    host(hostname: $hostname) {
      id
      lifecycle {
        inServiceAt
        ageYears
        warrantyEnd
        outOfWarranty
        generation
      }
      faults {
        id
        component
        kind
        severity
        detectedAt
        source
        detail
        status
      }
    }
  }
`);

type HostAnalysis = NonNullable<ResultOf<typeof MachineAnalysisQuery>['host']>['analysis'];
type PeerComparison = HostAnalysis['peers'][number];
type ScrapeState = Enum<'ScrapeState'>;
type RangeKeys = 'range' | 'from' | 'to';

const SCRAPE_TONE: Record<ScrapeState, Tone> = { UP: 'good', PENDING: 'muted', FAILING: 'bad' };

/**
 * A peer-comparison value: percent of capacity for CPU, memory, disk IO and the
 * network (percent of each host's NIC, so hosts with different NICs compare
 * fairly), a count for containers.
 */
function formatPeerValue(d: WatermarkDimension, v: number | null): string {
  if (d === 'CONTAINERS' || d === 'QUEUE_SLOTS') return formatNumber(v, 1);
  return formatPercent(v);
}

/** The host's hardware history: its lifecycle and newest faults with where each stands (docs/hardware.md). */
function HostFaults({ hostname }: { hostname: string }) {
  const [{ data }] = useQuery({ query: HostFaultsQuery, variables: { hostname } });
  const h = data?.host;
  if (!h) return null;
  const lc = h.lifecycle;
  return (
    <Panel
      title={
        <>
          Hardware faults <span className="count">{h.faults.length}</span>
          <span className="muted small">newest first</span>
        </>
      }
      actions={<Link to="/tools/hardware">Hardware page</Link>}
    >
      <div className="muted small" data-testid="host-lifecycle">
        {lc
          ? `In service ${lc.inServiceAt ? `since ${lc.inServiceAt.slice(0, 10)} (${formatNumber(lc.ageYears, 1)} years)` : 'since an unknown date'} · warranty ${
              lc.warrantyEnd ? `${lc.outOfWarranty ? 'expired' : 'until'} ${lc.warrantyEnd.slice(0, 10)}` : 'unknown'
            }${lc.generation ? ` · generation ${lc.generation}` : ''}`
          : 'No lifecycle recorded (in-service date and warranty unknown).'}
      </div>
      {h.faults.length ? (
        <ul className="host-anomalies" data-testid="host-faults">
          {h.faults.map((f) => (
            <li key={f.id}>
              <Badge tone={SEVERITY_TONE[f.severity]}>{humanizeEnum(f.severity)}</Badge> {f.component} <span className="mono">{f.kind}</span>{' '}
              <span className="muted small" title={formatDateTime(f.detectedAt, true)}>
                {formatRelative(f.detectedAt)} · {humanizeEnum(f.source)} · {humanizeEnum(f.status)}
              </span>
              {f.detail && <div className="muted small">{f.detail}</div>}
            </li>
          ))}
        </ul>
      ) : (
        <div className="empty">No hardware fault recorded.</div>
      )}
    </Panel>
  );
}

/** The host's unresolved anomalies (also among the findings), each linking to the anomaly page filtered to the host. */
function HostAnomalies({ hostname }: { hostname: string }) {
  const [{ data }] = useQuery({ query: HostAnomaliesQuery, variables: { hostname } });
  const list = data?.host?.anomalies ?? [];
  if (!list.length) return null;
  return (
    <Panel
      title={
        <>
          Anomalies <span className="count">{list.length}</span>
          <span className="muted small">unresolved, most severe first</span>
        </>
      }
      actions={
        <Link to="/intelligence/anomalies" search={{ host: hostname, status: 'ALL' }} data-testid="host-anomalies-all">
          All of this host's anomalies
        </Link>
      }
    >
      <ul className="host-anomalies" data-testid="host-anomalies">
        {list.map((a) => (
          <li key={a.id}>
            <Badge tone={SEVERITY_TONE[a.severity]}>{humanizeEnum(a.severity)}</Badge>{' '}
            <Link to="/intelligence/anomalies" search={{ host: hostname, id: a.id }} data-testid="host-anomaly-link">
              {METRIC_LABEL[a.metric]} against {KIND_LABEL[a.kind]}
            </Link>{' '}
            <span className="muted small">
              {humanizeEnum(a.status)} · since {formatRelative(a.startedAt)}
            </span>
          </li>
        ))}
      </ul>
    </Panel>
  );
}

function Fact({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div className="fact">
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}

function RankBar({ rank }: { rank: number | null }) {
  if (rank === null || !Number.isFinite(rank)) return <span className="muted">—</span>;
  const pct = Math.max(0, Math.min(1, rank)) * 100;
  const tone = pct >= 90 ? 'bad' : pct >= 75 ? 'warn' : pct <= 10 ? 'info' : 'good';
  return (
    <span className="rank-bar" title={`Busier than ${Math.round(pct)}% of peers`}>
      <span className="rank-track">
        <span className="rank-median" />
        <span className={`rank-marker tone-${tone}`} style={{ left: `${pct}%` }} />
      </span>
      <span className="rank-text">{Math.round(pct)}th</span>
    </span>
  );
}

function PeersTable({ peers }: { peers: PeerComparison[] }) {
  if (!peers.length) return <div className="empty" data-testid="peers-empty">No peer comparison: too few samples in the window.</div>;
  return (
    <div className="table-wrap">
      <table className="table" data-testid="peers-table">
        <thead>
          <tr>
            <th>Dimension</th>
            <th className="num">Host avg</th>
            <th className="num">Host p95</th>
            <th className="num">Peer median</th>
            <th className="num">Peer p95</th>
            <th>Percentile among peers</th>
            <th>Verdict</th>
          </tr>
        </thead>
        <tbody>
          {peers.map((p) => (
            <tr key={p.dimension}>
              <td className="strong">{DIMENSION_LABEL[p.dimension] ?? p.dimension}</td>
              <td className="num strong">{formatPeerValue(p.dimension, p.hostAverage)}</td>
              <td className="num">{formatPeerValue(p.dimension, p.hostP95)}</td>
              <td className="num muted">{formatPeerValue(p.dimension, p.peerMedian)}</td>
              <td className="num muted">{formatPeerValue(p.dimension, p.peerP95)}</td>
              <td>
                <RankBar rank={p.percentileRank} />
              </td>
              <td>
                <Badge tone={verdictTone(p.verdict)}>{p.verdict}</Badge>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Components({ a }: { a: HostAnalysis }) {
  const unhealthy = a.unhealthyComponents.length;
  const rows = [...a.components].sort((x, y) => Number(isUnhealthy(y)) - Number(isUnhealthy(x)) || x.service.localeCompare(y.service) || x.component.localeCompare(y.component));
  return (
    <Panel
      title={
        <>
          Service layer <span className="count">{formatNumber(a.components.length)} components</span>
          {unhealthy > 0 ? <Badge tone="bad">{unhealthy} not in desired state</Badge> : a.components.length > 0 && <Badge tone="good">all in desired state</Badge>}
        </>
      }
    >
      {rows.length ? (
        <div className="table-wrap">
          <table className="table" data-testid="components-table">
            <thead>
              <tr>
                <th>Service</th>
                <th>Component</th>
                <th>Version</th>
                <th>Desired</th>
                <th>Actual</th>
                <th>Updated</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((c) => {
                const bad = isUnhealthy(c);
                return (
                  <tr key={`${c.service}/${c.component}`} className={bad ? 'row-bad' : ''} data-testid="component-row" data-unhealthy={bad}>
                    <td className="strong">{c.service}</td>
                    <td>{c.component}</td>
                    <td className="mono">{c.version}</td>
                    <td>
                      <Badge tone="muted">{c.desiredState}</Badge>
                    </td>
                    <td>
                      <Badge tone={bad ? 'bad' : 'good'}>{c.actualState}</Badge>
                    </td>
                    <td title={formatDateTime(c.updatedAt)}>{formatRelative(c.updatedAt)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      ) : (
        <div className="empty" data-testid="components-empty">No components are installed on this host.</div>
      )}
    </Panel>
  );
}

const CHARTS: Array<{ key: HostChartKey; title: string }> = [
  { key: 'cpu', title: 'CPU' },
  { key: 'memory', title: 'Memory' },
  { key: 'diskIo', title: 'Disk IO' },
  { key: 'network', title: 'Network' },
  { key: 'containers', title: 'Containers' },
];

function Metrics({ hostname, search, setSearch }: { hostname: string; search: Search<RangeKeys>; setSearch: SetSearch<RangeKeys> }) {
  const range = rangeFromParams(search, '24h', ['1h', '6h', '24h', '7d', '30d']);
  const [nonce, setNonce] = useState(0);
  const resolved = useMemo(() => resolveRange(range, Date.now()), [range.key, range.from, range.to, nonce]);
  const variables = useMemo(() => ({ hostname, from: resolved.from, to: resolved.to }), [hostname, resolved.from, resolved.to]);
  const [{ data, error, fetching: loading }, reexecute] = useQuery({ query: HostMetricsQuery, variables });
  const refetch = () => reexecute({ requestPolicy: 'network-only' });
  const metrics = data?.host?.metrics;
  const options = useMemo(() => (metrics ? hostMetricCharts(metrics.points, resolved) : null), [metrics, resolved]);
  const hasData = !!metrics?.points.some((p) => p.samples > 0 || p.cpuPercent !== null);

  return (
    <Panel
      title={
        <>
          Metrics <span className="muted small">{describeRange(range, resolved)}{metrics ? ` · step ${formatGoDuration(metrics.step)}` : ''}</span>
          {loading && <span className="spinner" aria-label="Loading metrics" />}
        </>
      }
      actions={
        <div className="filters">
          <RangePicker value={range} presets={['1h', '6h', '24h', '7d', '30d']} onChange={(r) => setSearch(rangeToParams(r, '24h'))} />
          <button type="button" className="btn" onClick={() => setNonce((n) => n + 1)} title="Reload">
            ↻
          </button>
        </div>
      }
    >
      {error && <ErrorPanel error={error} onRetry={refetch} />}
      {!metrics && loading && <Loading what="Loading metrics" />}
      {metrics && !hasData && (
        <div className="empty" data-testid="host-metrics-empty">
          No samples from this host in the range.
        </div>
      )}
      {options && hasData && (
        <div className="chart-grid chart-grid-2" data-testid="host-charts">
          {CHARTS.map((c) => (
            <div key={c.key} className="chart-tile">
              <div className="chart-tile-head static">
                <span className="chart-tile-title">{c.title}</span>
              </div>
              <Chart option={options[c.key]} height={200} testId={`host-chart-${c.key}`} ariaLabel={`${c.title} of ${hostname}`} />
            </div>
          ))}
        </div>
      )}
    </Panel>
  );
}

export function MachineAnalysis({ hostname, search, setSearch }: { hostname: string; search: Search<RangeKeys>; setSearch: SetSearch<RangeKeys> }) {
  useDocumentTitle(hostname);
  const canOperate = useCan('OPERATOR');
  const [{ data, error, fetching: loading }, reexecute] = useQuery({ query: MachineQuery, variables: { hostname } });
  const refetch = () => reexecute({ requestPolicy: 'network-only' });
  const [analysisRes, reexecuteAnalysis] = useQuery({ query: MachineAnalysisQuery, variables: { hostname, window: '24h' } });
  const analysisQ = { ...analysisRes, loading: analysisRes.fetching, refetch: () => reexecuteAnalysis({ requestPolicy: 'network-only' }) };
  const host = data?.host && data.host.hostname === hostname ? data.host : null;
  const a = analysisQ.data?.host?.analysis ?? null;
  const notFound = (data && data.host === null && !loading) || codeOf(error) === 'NOT_FOUND';

  if (notFound) {
    return (
      <div className="page">
        <div className="crumbs">
          <Link to="/tools/machines">Machine analysis</Link>
        </div>
        <h1 className="page-title">Host not found</h1>
        <section className="panel">
          <div className="panel-body" data-testid="host-not-found">
            There is no host named <code>{hostname}</code> (or you may not see it). <Link to="/tools/machines">Search machines</Link>.
          </div>
        </section>
      </div>
    );
  }

  const m = host?.latestMetrics;
  const hw = a?.hardware;

  return (
    <div className="page" data-testid="machine-page" data-hostname={hostname}>
      <div className="crumbs">
        <Link to="/tools/machines">Machine analysis</Link> <span aria-hidden="true">/</span>{' '}
        {host && (
          <>
            <Link to="/clusters/$name" params={{ name: host.cluster.name }}>
              {host.cluster.name}
            </Link> <span aria-hidden="true">/</span>{' '}
          </>
        )}
        <span>{hostname}</span>
      </div>
      <div className="page-head">
        <h1 className="page-title mono-title">
          {hostname}
          {host && (
            <Badge tone={STATE_TONE[host.state] ?? 'muted'} title={host.stateReason || undefined}>
              {humanizeEnum(host.state)}
            </Badge>
          )}
        </h1>
        {host && (
          <div className="page-sub">
            {host.stateReason && <span className="tone-warn-text strong">{host.stateReason} · </span>}
            {humanizeEnum(host.cluster.kind)} cluster <Link to="/clusters/$name" params={{ name: host.cluster.name }}>
              {host.cluster.name}
            </Link> · rack{' '}
            <span className="mono">{host.rack}</span> · <span className="mono">{host.ip}</span> · last heartbeat{' '}
            <span title={formatDateTime(host.lastHeartbeat, true)}>{host.lastHeartbeat ? formatRelative(host.lastHeartbeat) : 'never'}</span>
          </div>
        )}
      </div>

      {error && <ErrorPanel error={error} onRetry={refetch} />}
      {!host && loading && <Loading what={`Loading ${hostname}`} />}

      {host && (
        <>
          <div className="stat-strip" data-testid="machine-now">
            <Stat label="CPU now" value={<PercentBar value={m?.cpuPercent} text={formatPercent(m?.cpuPercent)} />} />
            <Stat label="Memory now" value={<PercentBar value={m?.memoryPercent} text={formatPercent(m?.memoryPercent)} />} />
            <Stat label="Disk IO now" value={<PercentBar value={m?.diskIoPercent} text={formatPercent(m?.diskIoPercent)} />} />
            <Stat label="Net in" value={formatBitsPerSecond(m?.netInBitsPerSecond)} />
            <Stat label="Net out" value={formatBitsPerSecond(m?.netOutBitsPerSecond)} />
            <Stat label="Containers" value={formatNumber(m?.containers)} sub={m ? `sampled ${formatRelative(m.ts)}` : 'no sample in the last hour'} />
          </div>

          {canOperate && (
            <Panel title="Host state" className="action-panel">
              <p className="muted small action-help">
                Put the host into maintenance, back into service, or out of service for good. The reason is shown wherever its state is.
              </p>
              <HostStateForm hosts={[{ id: host.id, hostname: host.hostname }]} />
            </Panel>
          )}

          <div className="grid-3">
            <Panel title="Hardware">
              <dl className="facts facts-2" data-testid="hardware-facts">
                <Fact label="Model">{hw?.model ?? host.model}</Fact>
                <Fact label="CPU cores">{formatNumber(hw?.cpuCores ?? host.cpuCores)}</Fact>
                <Fact label="Memory">{formatBytes(hw?.memoryBytes ?? host.memoryBytes)}</Fact>
                <Fact label="Disk">{formatBytes(hw?.diskBytes ?? host.diskBytes)}</Fact>
                <Fact label="Network">{formatBitsPerSecond(hw?.nicBitsPerSecond ?? host.nicBitsPerSecond)}</Fact>
                <Fact label="In inventory since">{formatDateTime(host.createdAt).slice(0, 10)}</Fact>
              </dl>
            </Panel>
            <Panel title="Operating system">
              <dl className="facts facts-1" data-testid="os-facts">
                <Fact label="OS">{a?.os || host.os}</Fact>
                <Fact label="Kernel">
                  <span className="mono">{a?.kernel || host.kernel}</span>
                </Fact>
                <Fact label="Rack / IP">
                  <span className="mono">
                    {host.rack} / {host.ip}
                  </span>
                </Fact>
              </dl>
            </Panel>
            <Panel
              title={
                <>
                  Scrape status {a?.scrape && <Badge tone={SCRAPE_TONE[a.scrape.state]}>{humanizeEnum(a.scrape.state)}</Badge>}
                </>
              }
            >
              {a?.scrape ? (
                <dl className="facts facts-1" data-testid="scrape-facts">
                  <Fact label="Endpoint">
                    <span className="mono break">{a.scrape.url}</span>
                  </Fact>
                  <Fact label="Last success">
                    <span title={formatDateTime(a.scrape.lastSuccessAt, true)}>{a.scrape.lastSuccessAt ? formatRelative(a.scrape.lastSuccessAt) : 'never'}</span>
                    {a.scrape.failures > 0 && <span className="tone-bad-text"> · {a.scrape.failures} failures in a row</span>}
                  </Fact>
                  {a.scrape.lastError && (
                    <Fact label="Last error">
                      <span className="error-text mono">{a.scrape.lastError}</span>
                    </Fact>
                  )}
                  <Fact label="Next attempt">{formatRelative(a.scrape.nextAttemptAt)}</Fact>
                </dl>
              ) : analysisQ.loading ? (
                <Loading what="Loading" />
              ) : (
                <div className="empty">Not scraped: this host pushes its metrics (no node_exporter URL).</div>
              )}
            </Panel>
          </div>

          {analysisQ.error && <ErrorPanel error={analysisQ.error} onRetry={analysisQ.refetch} />}
          {!a && analysisQ.loading && <Loading what="Analysing the last 24 hours" />}
          {a && (
            <>
              <Panel
                title={
                  <>
                    Findings <span className="count">{a.findings.length}</span>
                    <span className="muted small">over the last {formatWindow(a.window)}, worst first</span>
                  </>
                }
              >
                {a.findings.length ? (
                  <ol className="findings-list" data-testid="findings">
                    {a.findings.map((f, i) => {
                      const tone = findingTone(f.severity);
                      return (
                        <li key={i} className={`finding finding-${tone}`} data-tone={tone}>
                          <span className="finding-tag">{FINDING_LABEL[tone]}</span>
                          <span>{f.text}</span>
                        </li>
                      );
                    })}
                  </ol>
                ) : (
                  <div className="risk-empty" data-testid="findings-empty">
                    <span className="ok-mark" aria-hidden="true">✓</span> Nothing stands out: this host behaves like its peers.
                  </div>
                )}
              </Panel>
              <HostAnomalies hostname={hostname} />
              <HostFaults hostname={hostname} />
              <div className="stack">
                <Components a={a} />
                <Panel
                  title={
                    <>
                      Compared with peers <span className="muted small">hosts of {host.cluster.name}, last {formatWindow(a.window)}</span>
                    </>
                  }
                >
                  <PeersTable peers={a.peers} />
                </Panel>
              </div>
            </>
          )}

          {/* Keep-alive is the host's own record: shown even when the analysis is not. */}
          <HostKeepAlive hostname={hostname} />

          <Metrics hostname={hostname} search={search} setSearch={setSearch} />
        </>
      )}
    </div>
  );
}
