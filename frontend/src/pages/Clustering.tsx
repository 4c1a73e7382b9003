// Intelligence → Machine clustering: the hosts grouped by how they behave (CPU,
// memory, IO, network and containers over the last day), on a scatter of the
// first two principal components, with a table of the groups' centres, the
// facts of the run (k and the candidates' silhouettes), the outliers, and for
// operators a button that runs the analysis now. Filtered by cluster kind,
// cluster and rack; the server counts the groups for the filter.
import { useEffect, useMemo, useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { useNavigate } from '@tanstack/react-router';
import { graphql, type ResultOf } from '../graphql';
import { useCan, useDebounced } from '../lib/hooks';
import { refusal } from '../lib/mutation';
import { retryAfterOf } from '../lib/errors';
import { formatDateTime, formatNumber, formatRelative, humanizeEnum } from '../lib/format';
import {
  CLUSTER_KINDS,
  clickedHost,
  clusteringChartOption,
  clusteringFilter,
  deviationShade,
  chartPoints,
  FEATURE_LABEL,
  FEATURES,
  formatDeviation,
  formatFeatureValue,
  groupColor,
  isClusterKind,
  qualityWords,
  silhouetteBar,
} from '../lib/clustering';
import type { Search, SetSearch } from '../app/router';
import { ErrorPanel, Link, Loading, Panel, Stat } from '../components/ui';
import { Chart } from '../components/LazyChart';

export const ClusteringQuery = graphql(`
  query MachineClustering($filter: MachineClusteringFilter) {
    machineClustering(filter: $filter) {
      computedAt
      windowFrom
      windowTo
      chosenK
      quality
      candidates {
        k
        silhouette
      }
      hostCount
      fleetHostCount
      explainedVariance
      groups {
        label
        description
        hostCount
        fleetHostCount
        centroid {
          feature
          value
          deviation
        }
      }
      chart(limit: 2000) {
        hostnames
        clusterNames
        x
        y
        groups
        outliers
      }
      outliers(first: 20) {
        host {
          id
          hostname
          cluster {
            id
            name
          }
        }
        distance
        group
      }
    }
  }
`);

export const ClusterChoicesQuery = graphql(`
  query ClusteringClusterChoices {
    clusters(first: 100, orderBy: { field: NAME, direction: ASC }) {
      nodes {
        id
        name
        kind
      }
    }
  }
`);

export const RunClusteringAnalysis = graphql(`
  mutation RunClusteringAnalysis {
    runClusteringAnalysis {
      clustering {
        computedAt
        chosenK
        hostCount
      }
      userErrors {
        message
        code
      }
    }
  }
`);

type Clustering = NonNullable<ResultOf<typeof ClusteringQuery>['machineClustering']>;
type Keys = 'kind' | 'cluster' | 'rack';

// The cache fetches the clustering on screen again after a run (lib/client.ts).
function RunButton() {
  const [{ fetching }, run] = useMutation(RunClusteringAnalysis);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);

  const go = async () => {
    setError(null);
    setDone(null);
    const res = await run({});
    const why = refusal(res, (d) => d.runClusteringAnalysis);
    if (why) {
      setError(why);
      return;
    }
    const c = res.data?.runClusteringAnalysis.clustering;
    if (!c) {
      setError('The run found too few hosts with hourly data in the last day to group them.');
      return;
    }
    setDone(`Grouped ${formatNumber(c.hostCount)} hosts into ${c.chosenK} groups.`);
  };

  return (
    <div className="run-action">
      <button type="button" className="btn btn-primary" onClick={go} disabled={fetching} data-testid="run-clustering">
        {fetching ? 'Running…' : 'Run analysis now'}
      </button>
      {done && (
        <span className="action-ok" role="status" data-testid="action-ok">
          {done}
        </span>
      )}
      {error && (
        <div className="action-error" role="alert" data-testid="action-error">
          {error}
        </div>
      )}
    </div>
  );
}

function RunFacts({ c }: { c: Clustering }) {
  return (
    <div className="clustering-facts" data-testid="run-facts">
      <dl className="facts">
        <div className="fact">
          <dt>Computed</dt>
          <dd title={formatDateTime(c.computedAt)} data-testid="computed-at" data-at={c.computedAt}>
            {formatRelative(c.computedAt)}
          </dd>
        </div>
        <div className="fact">
          <dt>Window</dt>
          <dd>
            {formatDateTime(c.windowFrom)} – {formatDateTime(c.windowTo)}
          </dd>
        </div>
        <div className="fact">
          <dt>Groups (k)</dt>
          <dd data-testid="chosen-k">{c.chosenK}</dd>
        </div>
        <div className="fact">
          <dt>Quality</dt>
          <dd title="The mean silhouette of the chosen k, -1..1: higher is better separated">
            {c.quality.toFixed(2)} <span className="muted">({qualityWords(c.quality)})</span>
          </dd>
        </div>
        <div className="fact">
          <dt>Hosts</dt>
          <dd>
            {formatNumber(c.hostCount)} <span className="muted">of {formatNumber(c.fleetHostCount)} placed</span>
          </dd>
        </div>
      </dl>
      <div className="candidates" data-testid="candidates" aria-label="Silhouette of each candidate number of groups">
        <div className="muted small">Silhouette per candidate k: the highest is kept, and a larger k only when it is higher by more than 0.01</div>
        {c.candidates.map((x) => (
          <div key={x.k} className={`candidate${x.k === c.chosenK ? ' chosen' : ''}`} data-k={x.k}>
            <span className="candidate-k">k={x.k}</span>
            <span className="candidate-track">
              <span className="candidate-fill" style={{ width: `${silhouetteBar(x.silhouette) * 100}%` }} />
            </span>
            <span className="candidate-value">
              {x.silhouette.toFixed(2)}
              {x.k === c.chosenK ? ' ✓' : ''}
            </span>
          </div>
        ))}
      </div>
    </div>
  );
}

function GroupTable({ c }: { c: Clustering }) {
  const groups = [...c.groups].sort((a, b) => a.label - b.label);
  return (
    <div className="table-wrap">
      <table className="table group-table" data-testid="group-table">
        <thead>
          <tr>
            <th>Group</th>
            <th>What sets it apart</th>
            <th className="num" title="Hosts the filter keeps / hosts of the group in the whole fleet">
              Hosts
            </th>
            {FEATURES.map((f) => (
              <th key={f} className="num">
                {FEATURE_LABEL[f]}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {groups.map((g) => (
            <tr key={g.label} data-testid="group-row" data-label={g.label} data-hosts={g.hostCount} data-fleet-hosts={g.fleetHostCount}>
              <td className="nowrap">
                <span className="swatch" style={{ background: groupColor(g.label) }} aria-hidden="true" /> Group {g.label}
              </td>
              <td>{g.description || <span className="muted">—</span>}</td>
              <td className="num nowrap" data-testid="group-hosts">
                {formatNumber(g.hostCount)} <span className="muted">/ {formatNumber(g.fleetHostCount)}</span>
              </td>
              {FEATURES.map((f) => {
                const v = g.centroid.find((x) => x.feature === f);
                const shade = deviationShade(v?.deviation);
                return (
                  <td
                    key={f}
                    className="num"
                    style={shade ? { background: shade.bg, color: shade.fg } : undefined}
                    title={v ? `${FEATURE_LABEL[f]}: ${formatFeatureValue(f, v.value)}, ${formatDeviation(v.deviation)} from the fleet's median` : undefined}
                  >
                    {formatFeatureValue(f, v?.value)}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
      <div className="hint">Shading: red above the fleet's median, blue below, stronger the further away (in robust standard deviations; hover a value).</div>
    </div>
  );
}

function Outliers({ c }: { c: Clustering }) {
  if (!c.outliers.length) return <div className="empty">No outlier: every host is close to one of the groups.</div>;
  return (
    <ol className="outlier-list" data-testid="outliers">
      {c.outliers.map((o) => (
        <li key={o.host.hostname} data-testid="outlier">
          <Link to="/hosts/$hostname" params={{ hostname: o.host.hostname }}>
            {o.host.hostname}
          </Link>{' '}
          <span className="muted small">
            {o.host.cluster?.name ?? ''} · nearest group {o.group} · {o.distance.toFixed(1)}σ away
          </span>
        </li>
      ))}
    </ol>
  );
}

export function Clustering({ search, setSearch }: { search: Search<Keys>; setSearch: SetSearch<Keys> }) {
  const navigate = useNavigate();
  const canRun = useCan('OPERATOR');
  const kind = isClusterKind(search.kind) ? search.kind : '';
  const clusterName = search.cluster ?? '';
  const [rackText, setRackText] = useState(search.rack ?? '');
  const rack = useDebounced(rackText.trim(), 300);
  useEffect(() => {
    if ((search.rack ?? '') !== rack) setSearch({ rack });
  }, [rack]);

  const [{ data: choices, error: choicesError }] = useQuery({ query: ClusterChoicesQuery });
  const clusters = useMemo(() => (choices?.clusters.nodes ?? []).filter((c) => !kind || c.kind === kind), [choices, kind]);
  const clusterId = clusterName ? (choices?.clusters.nodes.find((c) => c.name === clusterName)?.id ?? null) : null;
  // A cluster named in the URL waits for its id, so the page never shows the
  // whole fleet under a cluster's name.
  const waiting = Boolean(clusterName) && !choices;
  const unknownCluster = Boolean(clusterName) && Boolean(choices) && !clusterId;

  const filter = useMemo(() => clusteringFilter({ kind, clusterId, rack }), [kind, clusterId, rack]);
  const [{ data, error, fetching }, reexecute] = useQuery({ query: ClusteringQuery, variables: { filter }, pause: waiting || unknownCluster });
  const refetch = () => reexecute({ requestPolicy: 'network-only' });
  const c = data?.machineClustering ?? null;

  // The view is an expensive operation (it reads a whole run), of which the
  // server runs one per person at once: a filter changed while the last view
  // still loads is refused with RATE_LIMITED. Retried a few times, sooner than
  // the server's hint (the request in the way is this page's own), before the
  // error is shown.
  const [retries, setRetries] = useState(0);
  const retryIn = error ? retryAfterOf(error) : null;
  const retrying = retryIn !== null && retries < 3;
  useEffect(() => {
    if (!error) {
      if (data) setRetries(0);
      return;
    }
    if (!retrying) return;
    const t = setTimeout(() => {
      setRetries((n) => n + 1);
      refetch();
    }, 1000 * Math.min(retryIn!, 2 ** retries));
    return () => clearTimeout(t);
  }, [error, data]);

  const points = useMemo(() => (c ? chartPoints(c.chart) : []), [c]);
  const option = useMemo(() => (c ? clusteringChartOption(points, c.groups, c.explainedVariance) : null), [c, points]);
  const filtered = Boolean(kind || clusterName || rack);

  return (
    <div className="page" data-testid="clustering-page">
      <div className="page-head page-head-row">
        <div>
          <h1 className="page-title">Machine clustering</h1>
          <div className="page-sub">Hosts grouped by how they behave over the last day — CPU, memory, IO, network and containers, mean and 95th percentile — so hosts that do alike work can be compared and the odd ones found.</div>
        </div>
        {canRun && <RunButton />}
      </div>

      <div className="filters clustering-filters" data-testid="clustering-filters">
        <select
          value={kind}
          onChange={(e) => setSearch({ kind: e.target.value || null, cluster: null })}
          aria-label="Filter by cluster kind"
          data-testid="kind-filter"
        >
          <option value="">All kinds</option>
          {CLUSTER_KINDS.map((k) => (
            <option key={k} value={k}>
              {humanizeEnum(k)}
            </option>
          ))}
        </select>
        <select value={clusterName} onChange={(e) => setSearch({ cluster: e.target.value || null })} aria-label="Filter by cluster" data-testid="cluster-filter">
          <option value="">All clusters</option>
          {clusterName && !clusters.some((x) => x.name === clusterName) && <option value={clusterName}>{clusterName}</option>}
          {clusters.map((x) => (
            <option key={x.id} value={x.name}>
              {x.name}
            </option>
          ))}
        </select>
        <input type="search" value={rackText} onChange={(e) => setRackText(e.target.value)} placeholder="Rack" aria-label="Filter by rack" data-testid="rack-filter" />
        {filtered && (
          <button
            type="button"
            className="btn"
            onClick={() => {
              setRackText('');
              setSearch({ kind: null, cluster: null, rack: null });
            }}
          >
            Clear filters
          </button>
        )}
        {fetching && <span className="spinner" aria-label="Loading the clustering" />}
      </div>

      {error && !retrying && (
        <ErrorPanel
          error={error}
          onRetry={() => {
            setRetries(0);
            refetch();
          }}
        />
      )}
      {retrying && <Loading what="The server is busy with your last request; trying again" />}
      {choicesError && <ErrorPanel error={choicesError} />}
      {unknownCluster && <div className="empty">There is no cluster named {clusterName}.</div>}
      {!data && !error && (fetching || waiting) && <Loading what="Loading the clustering" />}

      {data && !c && (
        <div className="empty empty-big" data-testid="clustering-empty">
          No clustering yet: it runs hourly; operators can run it now.
        </div>
      )}

      {c && (
        <>
          <div className="stat-strip" data-testid="clustering-summary">
            <Stat label="Hosts shown" value={formatNumber(c.hostCount)} sub={`of ${formatNumber(c.fleetHostCount)} placed`} testId="stat-hosts" />
            <Stat label="Groups" value={formatNumber(c.chosenK)} />
            <Stat label="Outliers" value={formatNumber(points.filter((p) => p.outlier).length)} sub="in the view" />
            <Stat label="Quality" value={c.quality.toFixed(2)} sub={qualityWords(c.quality)} />
          </div>

          <Panel
            title={
              <>
                Distribution <span className="muted small">each dot a host on the first two principal components of its standardised features; click one to open it</span>
              </>
            }
          >
            {c.hostCount === 0 ? (
              <div className="empty">No host of the last run matches the filter.</div>
            ) : (
              option && (
                <Chart
                  option={option}
                  height={460}
                  testId="clustering-chart"
                  ariaLabel={`Scatter of ${points.length} hosts in ${c.groups.length} groups`}
                  onClick={(p) => {
                    const host = clickedHost(p);
                    if (host) void navigate({ to: '/hosts/$hostname', params: { hostname: host } });
                  }}
                />
              )
            )}
            {points.length < c.hostCount && (
              <div className="hint">
                Showing {formatNumber(points.length)} of {formatNumber(c.hostCount)} hosts: every outlier and an even sample of the rest.
              </div>
            )}
          </Panel>

          <Panel
            title={
              <>
                Groups <span className="count">{formatNumber(c.groups.length)}</span>
                <span className="muted small">centre of each group; hosts counted for the filter / in the whole fleet</span>
              </>
            }
          >
            <GroupTable c={c} />
          </Panel>

          <div className="grid-2">
            <Panel title="The run">
              <RunFacts c={c} />
            </Panel>
            <Panel
              title={
                <>
                  Outliers <span className="muted small">farthest from their group first (top 20)</span>
                </>
              }
            >
              <Outliers c={c} />
            </Panel>
          </div>
        </>
      )}
    </div>
  );
}
