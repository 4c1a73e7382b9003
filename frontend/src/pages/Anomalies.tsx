// Intelligence → Anomalies: episodes of a host's metric behaving abnormally.
// Counts of the unresolved ones per severity at the top; a list filtered by
// status, minimum severity, metric, kind, cluster and host (kept in the URL),
// worst first, with keyset "load more"; new episodes arrive live over the
// anomalyRaised subscription. Selecting one shows the host's series of that
// metric around it (the episode shaded, the peak and what was expected), and
// for operators an Acknowledge button with a note. With a cluster chosen, the
// cluster's analysis: which metrics, and onsets shared by several hosts.
import { useCallback, useEffect, useMemo, useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { graphql, type ResultOf } from '../graphql';
import { HostMetricPointFields, PageInfoFields } from '../graphql/fragments';
import { useCan } from '../lib/hooks';
import { refusal } from '../lib/mutation';
import { useLiveSubscription } from '../lib/useLive';
import { formatDateTime, formatDuration, formatNumber, formatRelative, humanizeEnum } from '../lib/format';
import {
  anomalyChartOption,
  anomalyFilter,
  episodeRange,
  formatMetricValue,
  isKind,
  isMetric,
  isSeverity,
  KIND_LABEL,
  KIND_TEXT,
  KINDS,
  matchesFilter,
  METRIC_LABEL,
  METRICS,
  onsetText,
  SEVERITIES,
  SEVERITY_TONE,
  severityCounts,
  severityTiers,
  tieredRows,
  STATUS_TONE,
  statusesFor,
  UNRESOLVED,
  type AnomalyFilterInput,
  type AnomalySeverity,
} from '../lib/anomaly';
import type { Search, SetSearch } from '../app/router';
import { Badge, ErrorPanel, Link, Loading, Panel } from '../components/ui';
import { Chart } from '../components/LazyChart';
import { LiveBadge } from '../components/telemetry';

export const AnomalyFields = graphql(`
  fragment AnomalyFields on Anomaly {
    id
    metric
    kind
    status
    severity
    startedAt
    lastSeenAt
    endedAt
    points
    peakScore
    peakAt
    peakValue
    expected
    note
    acknowledgedAt
    acknowledgedBy {
      id
      login
      name
    }
    host {
      id
      hostname
    }
    cluster {
      id
      name
    }
  }
`);

export const AnomaliesQuery = graphql(
  `
    query Anomalies($filter: AnomalyFilter, $first: Int, $after: String) {
      anomalies(filter: $filter, first: $first, after: $after) {
        totalCount
        nodes {
          ...AnomalyFields
        }
        pageInfo {
          ...PageInfoFields
        }
      }
    }
  `,
  [AnomalyFields, PageInfoFields],
);

/** Totals of "this severity and worse"; the page turns them into counts per severity. */
export const AnomalyCountsQuery = graphql(`
  query AnomalyCounts($critical: AnomalyFilter, $high: AnomalyFilter, $medium: AnomalyFilter, $low: AnomalyFilter) {
    critical: anomalies(filter: $critical, first: 1) {
      totalCount
    }
    high: anomalies(filter: $high, first: 1) {
      totalCount
    }
    medium: anomalies(filter: $medium, first: 1) {
      totalCount
    }
    low: anomalies(filter: $low, first: 1) {
      totalCount
    }
  }
`);

export const AnomalyQuery = graphql(
  `
    query Anomaly($id: ID!) {
      node(id: $id) {
        ... on Anomaly {
          ...AnomalyFields
        }
      }
    }
  `,
  [AnomalyFields],
);

export const EpisodeSeriesQuery = graphql(
  `
    query EpisodeSeries($hostname: String!, $from: Time, $to: Time) {
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

export const ClusterAnomalyAnalysisQuery = graphql(`
  query ClusterAnomalyAnalysis($name: String!) {
    cluster(name: $name) {
      id
      name
      anomalyAnalysis {
        unresolvedCount
        hostCount
        clusterHostCount
        metrics {
          metric
          hostCount
          worst
          since
        }
        onsets {
          metric
          start
          end
          scope
          rack
          component
          version
          hosts {
            id
            hostname
          }
        }
      }
    }
  }
`);

export const AnomalyClusterChoices = graphql(`
  query AnomalyClusterChoices {
    clusters(first: 100, orderBy: { field: NAME, direction: ASC }) {
      nodes {
        id
        name
      }
    }
  }
`);

export const AnomalyHostQuery = graphql(`
  query AnomalyHost($hostname: String!) {
    host(hostname: $hostname) {
      id
      hostname
    }
  }
`);

export const AcknowledgeAnomaly = graphql(
  `
    mutation AcknowledgeAnomaly($input: AcknowledgeAnomalyInput!) {
      acknowledgeAnomaly(input: $input) {
        anomaly {
          ...AnomalyFields
        }
        userErrors {
          message
          code
        }
      }
    }
  `,
  [AnomalyFields],
);

export const AnomalyRaised = graphql(
  `
    subscription AnomalyRaised($clusterId: ID, $minSeverity: AnomalySeverity) {
      anomalyRaised(clusterId: $clusterId, minSeverity: $minSeverity) {
        ...AnomalyFields
      }
    }
  `,
  [AnomalyFields],
);

type Anomaly = ResultOf<typeof AnomalyFields>;
type Connection = ResultOf<typeof AnomaliesQuery>['anomalies'];
type Keys = 'status' | 'severity' | 'metric' | 'kind' | 'cluster' | 'host' | 'id' | 'order';

const PAGE_SIZE = 50;
/** The API's largest page. */
const MAX_PAGE = 100;

interface PageState {
  c: Connection | null;
  fetching: boolean;
  error: Error | null;
}

/**
 * One page of one tier's listing, kept live by the cache and reported to the
 * list; fetched again when `refresh` moves (a retry). A first page grows by
 * `grow` rows: the episodes that opened since the further pages were read, so
 * the first page still reaches the cursor the second one starts from.
 */
function ListPage({ filter, after, grow, refresh, onData }: { filter: AnomalyFilterInput; after: string | null; grow: number; refresh: number; onData: (s: PageState) => void }) {
  const first = after ? PAGE_SIZE : Math.min(MAX_PAGE, PAGE_SIZE + grow);
  const [{ data, fetching, error }, reexecute] = useQuery({ query: AnomaliesQuery, variables: { filter, first, ...(after ? { after } : {}) } });
  useEffect(() => onData({ c: data?.anomalies ?? null, fetching, error: error ?? null }), [data, fetching, error]);
  useEffect(() => {
    if (refresh) reexecute({ requestPolicy: 'network-only' });
  }, [refresh]);
  return null;
}

function SeverityCounts({ counts, total, loading }: { counts: Record<AnomalySeverity, number> | null; total: number | null; loading: boolean }) {
  return (
    <div className="stat-strip anomaly-counts" data-testid="anomaly-counts">
      {SEVERITIES.map((s) => (
        <div key={s} className={`stat anomaly-count anomaly-count-${SEVERITY_TONE[s]}`} data-testid={`count-${s}`} data-count={counts?.[s] ?? ''}>
          <div className="stat-label">{humanizeEnum(s)}</div>
          <div className="stat-value">{counts ? formatNumber(counts[s]) : loading ? '…' : '—'}</div>
        </div>
      ))}
      <div className="stat" data-testid="count-total">
        <div className="stat-label">Unresolved</div>
        <div className="stat-value">{total === null ? '—' : formatNumber(total)}</div>
        <div className="stat-sub">open and acknowledged</div>
      </div>
    </div>
  );
}

// A refusal is reported to the episode, not kept in the form: the answer makes
// the lists fetch again, and an episode acknowledged meanwhile then shows its
// new state (without the form) together with the server's message.
function AckForm({ a, onRefused }: { a: Anomaly; onRefused: (message: string | null) => void }) {
  const [{ fetching }, acknowledge] = useMutation(AcknowledgeAnomaly);
  const [note, setNote] = useState('');
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    onRefused(null);
    const res = await acknowledge({ input: { id: a.id, note: note.trim() || null } });
    const why = refusal(res, (d) => d.acknowledgeAnomaly);
    if (why) onRefused(why);
    else setNote('');
  };
  return (
    <form className="action-form ack-form" onSubmit={submit} data-testid="ack-form">
      <input type="text" value={note} onChange={(e) => setNote(e.target.value)} maxLength={2000} placeholder="Note: what is being done about it" aria-label="Acknowledgement note" data-testid="ack-note" />
      <button type="submit" className="btn btn-primary" disabled={fetching} data-testid="ack-submit">
        {fetching ? 'Acknowledging…' : 'Acknowledge'}
      </button>
    </form>
  );
}

function EpisodeChart({ a }: { a: Anomaly }) {
  // The range is fixed when the episode is opened (or changes): a live episode's chart does not slide under the reader.
  const range = useMemo(() => episodeRange(a, Date.now()), [a.id, a.lastSeenAt, a.endedAt]);
  const [{ data, error, fetching }] = useQuery({ query: EpisodeSeriesQuery, variables: { hostname: a.host.hostname, from: range.from, to: range.to } });
  const points = data?.host?.metrics.points ?? null;
  const option = useMemo(() => (points ? anomalyChartOption(points, a, range) : null), [points, a, range]);
  if (error) return <ErrorPanel error={error} />;
  if (!option) return fetching ? <Loading what="Loading the series" /> : <div className="empty">No series for this host.</div>;
  return (
    <Chart
      option={option}
      height={280}
      testId="episode-chart"
      ariaLabel={`${METRIC_LABEL[a.metric]} of ${a.host.hostname} from ${formatDateTime(range.from)} to ${formatDateTime(range.to)}, the episode shaded`}
    />
  );
}

function EpisodeDetail({ id, fromList, onClose }: { id: string; fromList: Anomaly | null; onClose: () => void }) {
  const canAck = useCan('OPERATOR');
  const [{ data, error }] = useQuery({ query: AnomalyQuery, variables: { id }, pause: !!fromList });
  const [refused, setRefused] = useState<{ id: string; message: string } | null>(null);
  const a: Anomaly | null = fromList ?? (data?.node && 'metric' in data.node ? (data.node as Anomaly) : null);
  if (error) return <ErrorPanel error={error} />;
  if (!a) return data ? <div className="empty">There is no such anomaly (or you may not see it).</div> : <Loading what="Loading the anomaly" />;
  const end = a.endedAt ?? a.lastSeenAt;
  const seconds = Math.max(0, (new Date(end).getTime() - new Date(a.startedAt).getTime()) / 1000);
  return (
    <Panel
      className="episode-panel"
      title={
        <span data-testid="episode-title">
          <Badge tone={SEVERITY_TONE[a.severity]}>{humanizeEnum(a.severity)}</Badge> {METRIC_LABEL[a.metric]} on{' '}
          <Link to="/hosts/$hostname" params={{ hostname: a.host.hostname }} className="mono">
            {a.host.hostname}
          </Link>{' '}
          <span data-testid="episode-status" data-status={a.status}>
            <Badge tone={STATUS_TONE[a.status]}>{humanizeEnum(a.status)}</Badge>
          </span>
        </span>
      }
      actions={
        <button type="button" className="btn" onClick={onClose} aria-label="Close the episode">
          ✕
        </button>
      }
    >
      <div className="episode" data-testid="episode" data-id={a.id} data-status={a.status}>
        <dl className="facts">
          <div className="fact">
            <dt>Cluster</dt>
            <dd>
              <Link to="/clusters/$name" params={{ name: a.cluster.name }}>
                {a.cluster.name}
              </Link>
            </dd>
          </div>
          <div className="fact">
            <dt>Started</dt>
            <dd title={formatDateTime(a.startedAt, true)}>{formatRelative(a.startedAt)}</dd>
          </div>
          <div className="fact">
            <dt>{a.endedAt ? 'Ended' : 'Last anomalous point'}</dt>
            <dd title={formatDateTime(end, true)}>
              {formatRelative(end)} <span className="muted">({a.points === 1 ? 'one point' : `${seconds ? `${formatDuration(seconds)}, ` : ''}${formatNumber(a.points)} points`})</span>
            </dd>
          </div>
          <div className="fact">
            <dt>Peak</dt>
            <dd data-testid="episode-peak">
              <strong>{formatMetricValue(a.metric, a.peakValue)}</strong> where {formatMetricValue(a.metric, a.expected)} was expected{' '}
              <span className="muted" title={formatDateTime(a.peakAt, true)}>
                at {formatDateTime(a.peakAt).slice(11)} · score {a.peakScore.toFixed(2)}
              </span>
            </dd>
          </div>
          <div className="fact">
            <dt>Measured against</dt>
            <dd data-testid="episode-kind">{KIND_LABEL[a.kind]}</dd>
          </div>
        </dl>
        <p className="muted small episode-kind-text">{KIND_TEXT[a.kind]}</p>
        <EpisodeChart a={a} />
        {a.status === 'ACKNOWLEDGED' && (
          <div className="ack-facts" data-testid="ack-facts">
            Acknowledged by <strong>{a.acknowledgedBy?.name ?? a.acknowledgedBy?.login ?? 'someone'}</strong>{' '}
            <span title={formatDateTime(a.acknowledgedAt, true)}>{formatRelative(a.acknowledgedAt)}</span>
            {a.note && (
              <>
                : <span data-testid="ack-note-shown">{a.note}</span>
              </>
            )}
          </div>
        )}
        {a.status === 'RESOLVED' && a.note && <div className="ack-facts">Note: {a.note}</div>}
        {canAck && a.status === 'OPEN' && <AckForm key={a.id} a={a} onRefused={(m) => setRefused(m ? { id: a.id, message: m } : null)} />}
        {refused?.id === a.id && (
          <div className="action-error" role="alert" data-testid="action-error">
            {refused.message}
          </div>
        )}
      </div>
    </Panel>
  );
}

function ClusterAnalysis({ name }: { name: string }) {
  const [{ data, error, fetching }] = useQuery({ query: ClusterAnomalyAnalysisQuery, variables: { name } });
  const an = data?.cluster?.anomalyAnalysis;
  return (
    <Panel
      title={
        <>
          {name} <span className="muted small">anomalies in the cluster over the last 24 hours</span>
        </>
      }
    >
      {error && <ErrorPanel error={error} />}
      {!an && fetching && <Loading what="Analysing the cluster" />}
      {data && !data.cluster && <div className="empty">There is no cluster named {name}.</div>}
      {an && (
        <div className="cluster-anomalies" data-testid="cluster-analysis">
          <p data-testid="cluster-analysis-summary">
            <strong>{formatNumber(an.unresolvedCount)}</strong> unresolved on <strong>{formatNumber(an.hostCount)}</strong> of {formatNumber(an.clusterHostCount)} hosts.
          </p>
          {an.metrics.length > 0 && (
            <table className="table compact-table" data-testid="cluster-analysis-metrics">
              <thead>
                <tr>
                  <th>Metric</th>
                  <th className="num">Hosts</th>
                  <th>Worst</th>
                  <th>Since</th>
                </tr>
              </thead>
              <tbody>
                {an.metrics.map((m) => (
                  <tr key={m.metric}>
                    <td>{METRIC_LABEL[m.metric]}</td>
                    <td className="num">{formatNumber(m.hostCount)}</td>
                    <td>
                      <Badge tone={SEVERITY_TONE[m.worst]}>{humanizeEnum(m.worst)}</Badge>
                    </td>
                    <td title={formatDateTime(m.since, true)}>{formatRelative(m.since)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <h3 className="subhead">Correlated onsets</h3>
          {an.onsets.length ? (
            <ul className="onset-list" data-testid="onsets">
              {an.onsets.map((o, i) => (
                <li key={`${o.metric}:${o.start}:${i}`} data-testid="onset">
                  <strong>{onsetText(o)}</strong>
                  <div className="onset-hosts">
                    {o.hosts.slice(0, 12).map((h) => (
                      <Link key={h.id} to="/hosts/$hostname" params={{ hostname: h.hostname }} className="mono">
                        {h.hostname}
                      </Link>
                    ))}
                    {o.hosts.length > 12 && <span className="muted">+{o.hosts.length - 12} more</span>}
                  </div>
                </li>
              ))}
            </ul>
          ) : (
            <div className="muted small">No two hosts started an anomaly of the same metric within five minutes of each other.</div>
          )}
        </div>
      )}
    </Panel>
  );
}

export function Anomalies({ search, setSearch }: { search: Search<Keys>; setSearch: SetSearch<Keys> }) {
  const statuses = statusesFor(search.status);
  const minSeverity = isSeverity(search.severity) ? search.severity : null;
  const metric = isMetric(search.metric) ? search.metric : null;
  const kind = isKind(search.kind) ? search.kind : null;
  const clusterName = search.cluster ?? '';
  const hostname = search.host ?? '';
  const byNewest = search.order === 'newest';

  const [{ data: choices }] = useQuery({ query: AnomalyClusterChoices });
  const clusterId = clusterName ? (choices?.clusters.nodes.find((c) => c.name === clusterName)?.id ?? null) : null;
  const [{ data: hostData }] = useQuery({ query: AnomalyHostQuery, variables: { hostname }, pause: !hostname });
  const hostId = hostname ? (hostData?.host?.id ?? null) : null;
  // A cluster or host named in the URL waits for its id, so the page never lists the whole fleet under its name.
  const waiting = (Boolean(clusterName) && !clusterId) || (Boolean(hostname) && !hostId);
  const unknown = (Boolean(clusterName) && Boolean(choices) && !clusterId) || (Boolean(hostname) && Boolean(hostData) && !hostData?.host);

  const base = useMemo(() => ({ minSeverity, clusterId, hostId, metric, kind }), [minSeverity, clusterId, hostId, metric, kind]);
  const filter = useMemo(() => anomalyFilter({ ...base, statuses }), [base, search.status]);
  const key = JSON.stringify(filter);

  const countVars = useMemo(() => {
    const f = (s: AnomalySeverity) => anomalyFilter({ clusterId, hostId, metric, kind, statuses: UNRESOLVED, minSeverity: s });
    return { critical: f('CRITICAL'), high: f('HIGH'), medium: f('MEDIUM'), low: f('LOW') };
  }, [clusterId, hostId, metric, kind]);
  const [counts, reexecuteCounts] = useQuery({ query: AnomalyCountsQuery, variables: countVars, pause: waiting });

  // The list is read in severity tiers (worst first) or as one listing
  // (newest first), page by page; see tieredRows.
  const tiers: Array<AnomalySeverity | null> = byNewest ? [null] : severityTiers(minSeverity);
  const tierFilters = useMemo(() => tiers.map((t) => (t ? anomalyFilter({ ...filter, minSeverity: t }) : filter)), [key, byNewest]);
  const listKey = `${key}|${byNewest}`;
  // "Load more": per tier, the cursors of its further pages; what each page brought.
  const [more, setMore] = useState<{ key: string; afters: string[][]; pages: Record<string, PageState> }>({ key: listKey, afters: [], pages: {} });
  const mine = more.key === listKey ? more : { key: listKey, afters: [] as string[][], pages: {} as Record<string, PageState> };
  const onPage = useCallback(
    (at: string, st: PageState) => setMore((m) => (m.key === listKey ? { ...m, pages: { ...m.pages, [at]: st } } : { key: listKey, afters: [], pages: { [at]: st } })),
    [listKey],
  );
  const pageAt = (t: number, after: string | null) => mine.pages[`${t}|${after ?? ''}`];
  const loaded = tiers.map((_, t) => [pageAt(t, null), ...(mine.afters[t] ?? []).map((a) => pageAt(t, a))].map((p) => p?.c ?? undefined));
  const { rows, next, pending } = tieredRows(tiers, loaded);
  const states = Object.values(mine.pages);
  const listError = states.find((p) => p.error)?.error ?? null;
  const fetching = states.some((p) => p.fetching);
  const total = pageAt(tiers.length - 1, null)?.c?.totalCount ?? null;
  const [refresh, setRefresh] = useState(0);

  // Live: each new episode that belongs in this view grows the first pages by
  // one (it lands there, each listing being newest first, and pushes no row
  // out from before the next page's cursor) and refreshes the counts. Past the
  // API's largest page the list starts again from the first pages.
  const [fresh, setFresh] = useState<Set<string>>(new Set());
  const [grown, setGrown] = useState({ key: listKey, n: 0 });
  const grow = grown.key === listKey ? grown.n : 0;
  const live = useLiveSubscription(AnomalyRaised, { clusterId: clusterId ?? null, minSeverity: minSeverity ?? null }, (d) => {
    const a = d.anomalyRaised;
    if (!a) return;
    reexecuteCounts({ requestPolicy: 'network-only' });
    if (!matchesFilter(a, filter)) return;
    setFresh((s) => new Set(s).add(a.id));
    if (grow + 1 > MAX_PAGE - PAGE_SIZE) {
      setMore({ key: listKey, afters: [], pages: {} });
      setGrown({ key: listKey, n: 0 });
      setRefresh((n) => n + 1);
    } else setGrown({ key: listKey, n: grow + 1 });
  }, { skip: waiting });

  const selectedId = search.id ?? '';
  const selected = rows.find((a) => a.id === selectedId) ?? null;

  const c = counts.data;
  const perSeverity = c ? severityCounts({ CRITICAL: c.critical.totalCount, HIGH: c.high.totalCount, MEDIUM: c.medium.totalCount, LOW: c.low.totalCount }) : null;
  const filtered = Boolean(search.status || minSeverity || metric || kind || clusterName || hostname);

  return (
    <div className="page" data-testid="anomalies-page" data-list={pending || fetching || waiting ? 'loading' : 'ready'}>
      <div className="page-head page-head-row">
        <div>
          <h1 className="page-title">Anomalies</h1>
          <div className="page-sub">Hosts whose metrics behave abnormally — against their own history or against their peers — worst first, with where each one stands.</div>
        </div>
        <LiveBadge info={live} testId="anomalies-live" />
      </div>

      <SeverityCounts counts={perSeverity} total={c?.low.totalCount ?? null} loading={counts.fetching} />
      {counts.error && <ErrorPanel error={counts.error} />}

      <div className="filters anomaly-filters" data-testid="anomaly-filters">
        <select value={search.status ?? ''} onChange={(e) => setSearch({ status: e.target.value || null })} aria-label="Filter by status" data-testid="status-filter">
          <option value="">Unresolved</option>
          <option value="OPEN">Open</option>
          <option value="ACKNOWLEDGED">Acknowledged</option>
          <option value="RESOLVED">Resolved</option>
          <option value="ALL">Any status</option>
        </select>
        <select value={minSeverity ?? ''} onChange={(e) => setSearch({ severity: e.target.value || null })} aria-label="Minimum severity" data-testid="severity-filter">
          <option value="">Any severity</option>
          {SEVERITIES.map((s) => (
            <option key={s} value={s}>
              {s === 'LOW' ? 'Low and worse' : s === 'CRITICAL' ? 'Critical' : `${humanizeEnum(s)} and worse`}
            </option>
          ))}
        </select>
        <select value={metric ?? ''} onChange={(e) => setSearch({ metric: e.target.value || null })} aria-label="Filter by metric" data-testid="metric-filter">
          <option value="">Any metric</option>
          {METRICS.map((m) => (
            <option key={m} value={m}>
              {METRIC_LABEL[m]}
            </option>
          ))}
        </select>
        <select value={kind ?? ''} onChange={(e) => setSearch({ kind: e.target.value || null })} aria-label="Filter by kind" data-testid="kind-filter">
          <option value="">Against anything</option>
          {KINDS.map((k) => (
            <option key={k} value={k}>
              Against {KIND_LABEL[k]}
            </option>
          ))}
        </select>
        <select value={clusterName} onChange={(e) => setSearch({ cluster: e.target.value || null })} aria-label="Filter by cluster" data-testid="cluster-filter">
          <option value="">All clusters</option>
          {clusterName && !choices?.clusters.nodes.some((x) => x.name === clusterName) && <option value={clusterName}>{clusterName}</option>}
          {choices?.clusters.nodes.map((x) => (
            <option key={x.id} value={x.name}>
              {x.name}
            </option>
          ))}
        </select>
        <select value={byNewest ? 'newest' : ''} onChange={(e) => setSearch({ order: e.target.value || null })} aria-label="Order" data-testid="order-select">
          <option value="">Worst first</option>
          <option value="newest">Newest first</option>
        </select>
        {hostname && (
          <span className="chip" data-testid="host-filter">
            host <span className="mono">{hostname}</span>
            <button type="button" className="chip-x" onClick={() => setSearch({ host: null })} aria-label="Any host">
              ✕
            </button>
          </span>
        )}
        {filtered && (
          <button type="button" className="btn" onClick={() => setSearch({ status: null, severity: null, metric: null, kind: null, cluster: null, host: null })}>
            Clear filters
          </button>
        )}
        {fetching && <span className="spinner" aria-label="Loading anomalies" />}
      </div>

      {selectedId && <EpisodeDetail id={selectedId} fromList={selected} onClose={() => setSearch({ id: null })} />}

      {clusterName && clusterId && <ClusterAnalysis name={clusterName} />}

      {listError && <ErrorPanel error={listError} onRetry={() => setRefresh((n) => n + 1)} />}
      {unknown && <div className="empty">There is no {hostname && !hostId ? `host named ${hostname}` : `cluster named ${clusterName}`}.</div>}
      {!waiting &&
        tiers.map((_, t) =>
          [null, ...(mine.afters[t] ?? [])].map((after) => (
            <ListPage key={`${listKey}|${t}|${after ?? ''}`} filter={tierFilters[t]} after={after} grow={grow} refresh={refresh} onData={(st) => onPage(`${t}|${after ?? ''}`, st)} />
          )),
        )}
      {pending && !rows.length && !listError && !unknown && <Loading what="Loading anomalies" />}

      {(!pending || rows.length > 0) && !waiting && (
        <Panel
          title={
            <>
              Episodes <span className="count" data-testid="anomaly-total">{formatNumber(total)}</span>
              <span className="muted small">
                {byNewest ? 'newest first' : 'worst first, then newest'}; {formatNumber(rows.length)} shown
              </span>
            </>
          }
        >
          {rows.length ? (
            <div className="table-wrap">
              <table className="table anomaly-table" data-testid="anomaly-table">
                <thead>
                  <tr>
                    <th>Severity</th>
                    <th>Status</th>
                    <th>Host</th>
                    <th>Cluster</th>
                    <th>Metric</th>
                    <th>Against</th>
                    <th>Started</th>
                    <th>Last seen</th>
                    <th className="num">Peak / expected</th>
                    <th className="num">Score</th>
                  </tr>
                </thead>
                <tbody>
                  {rows.map((a) => (
                    <tr
                      key={a.id}
                      className={`clickable${a.id === selectedId ? ' selected' : ''}${fresh.has(a.id) ? ' row-fresh' : ''}`}
                      onClick={() => setSearch({ id: a.id === selectedId ? null : a.id })}
                      data-testid="anomaly-row"
                      data-id={a.id}
                      data-severity={a.severity}
                      data-status={a.status}
                      data-host={a.host.hostname}
                    >
                      <td>
                        <Badge tone={SEVERITY_TONE[a.severity]}>{humanizeEnum(a.severity)}</Badge>
                      </td>
                      <td>
                        <Badge tone={STATUS_TONE[a.status]}>{humanizeEnum(a.status)}</Badge>
                      </td>
                      <td className="mono">
                        <button type="button" className="linklike mono" onClick={(e) => {
                            e.stopPropagation();
                            setSearch({ id: a.id });
                          }} data-testid="anomaly-open">
                          {a.host.hostname}
                        </button>
                      </td>
                      <td>{a.cluster.name}</td>
                      <td>{METRIC_LABEL[a.metric]}</td>
                      <td>{KIND_LABEL[a.kind]}</td>
                      <td title={formatDateTime(a.startedAt, true)}>{formatRelative(a.startedAt)}</td>
                      <td title={formatDateTime(a.endedAt ?? a.lastSeenAt, true)}>{formatRelative(a.endedAt ?? a.lastSeenAt)}</td>
                      <td className="num nowrap">
                        {formatMetricValue(a.metric, a.peakValue)} <span className="muted">/ {formatMetricValue(a.metric, a.expected)}</span>
                      </td>
                      <td className="num">{a.peakScore.toFixed(2)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ) : (
            <div className="empty" data-testid="anomalies-empty">
              {filtered ? 'No anomaly matches the filters.' : 'No unresolved anomaly: every host behaves like itself and its peers.'}
            </div>
          )}
          {pending && rows.length > 0 && <Loading what="Loading more" />}
          {next && (
            <div className="load-more">
              <button
                type="button"
                className="btn"
                disabled={fetching}
                data-testid="load-more"
                onClick={() => {
                  const afters = tiers.map((_, t) => mine.afters[t] ?? []);
                  afters[next.tier] = [...afters[next.tier], next.after];
                  setMore({ key: listKey, afters, pages: mine.pages });
                }}
              >
                {`Load ${PAGE_SIZE} more`}
                {tiers[next.tier] ? ` (${humanizeEnum(tiers[next.tier])})` : ''}
              </button>
            </div>
          )}
        </Panel>
      )}
    </div>
  );
}
