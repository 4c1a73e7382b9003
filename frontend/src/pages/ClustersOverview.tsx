// Platform operations → Clusters: platform totals, hosts by state per cluster,
// and the cluster table (filter, search, order).
import { useMemo, useState, useEffect } from 'react';
import { useQuery } from 'urql';
import { graphql, type ClusterKind, type OrderDirection, type ResultOf } from '../graphql';
import { CapacityFields, ClusterSummaryFields, HostCountsFields } from '../graphql/fragments';
import { useDebounced } from '../lib/hooks';
import { HOST_STATES, STATE_COUNT_FIELD } from '../lib/hostStates';
import { formatBitsPerSecond, formatBytes, formatNumber, formatPercent, humanizeEnum } from '../lib/format';
import { STATE_COLORS, STATUS_TONE } from '../lib/colors';
import type { Search, SetSearch } from '../app/router';
import { Badge, EnumBadge, ErrorPanel, Link, Loading, OrderSelect, Panel, Stat } from '../components/ui';
import { Chart } from '../components/LazyChart';

export const ClustersOverviewQuery = graphql(
  `
    query ClustersOverview($filter: ClusterFilter, $orderBy: ClusterOrder) {
      platform {
        clusterCount
        hostCounts {
          ...HostCountsFields
        }
        capacity {
          ...CapacityFields
        }
        clustersByKind {
          kind
          clusters
          hosts
        }
      }
      clusters(first: 100, filter: $filter, orderBy: $orderBy) {
        totalCount
        nodes {
          ...ClusterSummaryFields
        }
      }
    }
  `,
  [HostCountsFields, CapacityFields, ClusterSummaryFields],
);

type ClusterSummary = ResultOf<typeof ClustersOverviewQuery>['clusters']['nodes'][number];
const CLUSTER_KINDS: ClusterKind[] = ['STREAMING', 'BATCH', 'ONLINE'];

type OrderField = 'NAME' | 'KIND' | 'REGION' | 'CREATED_AT';
const ORDER_FIELDS: OrderField[] = ['NAME', 'KIND', 'REGION', 'CREATED_AT'];

function hostStatesOption(clusters: ClusterSummary[]) {
  const names = clusters.map((c) => c.name);
  return {
    animation: false,
    tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
    legend: { top: 0, type: 'scroll' },
    grid: { left: 48, right: 16, top: 36, bottom: names.length > 8 ? 72 : 36 },
    xAxis: {
      type: 'category',
      data: names,
      axisLabel: { interval: 0, rotate: names.length > 8 ? 40 : 0, fontSize: 11 },
    },
    yAxis: { type: 'value', name: 'hosts', nameTextStyle: { fontSize: 11 }, minInterval: 1 },
    series: HOST_STATES.map((state) => ({
      name: humanizeEnum(state),
      type: 'bar',
      stack: 'hosts',
      barMaxWidth: 36,
      itemStyle: { color: STATE_COLORS[state] },
      emphasis: { focus: 'series' },
      data: clusters.map((c) => c.hostCounts[STATE_COUNT_FIELD[state]]),
    })),
  };
}

type Keys = 'kind' | 'q' | 'order' | 'dir';

export function ClustersOverview({ search, setSearch }: { search: Search<Keys>; setSearch: SetSearch<Keys> }) {
  const kind = (CLUSTER_KINDS as string[]).includes(search.kind ?? '') ? (search.kind as ClusterKind) : '';
  const orderField: OrderField = (ORDER_FIELDS as string[]).includes(search.order ?? '') ? (search.order as OrderField) : 'NAME';
  const direction: OrderDirection = search.dir === 'DESC' ? 'DESC' : 'ASC';

  // The search box is local state (debounced into the URL and the query).
  const [text, setText] = useState(search.q ?? '');
  const q = useDebounced(text.trim(), 250);

  useEffect(() => {
    if ((search.q ?? '') !== q) setSearch({ q: q || null });
  }, [q]);

  const variables = useMemo(
    () => ({
      filter: { ...(kind ? { kind } : {}), ...(q ? { search: q } : {}) },
      orderBy: { field: orderField, direction },
    }),
    [kind, q, orderField, direction],
  );
  const [{ data, error, fetching: loading }, reexecute] = useQuery({ query: ClustersOverviewQuery, variables });
  const refetch = () => reexecute({ requestPolicy: 'network-only' });
  const clusters = data?.clusters.nodes ?? [];
  const option = useMemo(() => hostStatesOption(clusters), [clusters]);

  const toggleNameOrder = () => {
    if (orderField !== 'NAME') setSearch({ order: null, dir: null });
    else setSearch({ dir: direction === 'ASC' ? 'DESC' : null });
  };

  const p = data?.platform;
  const hc = p?.hostCounts;
  const onlinePct = hc && hc.total ? (hc.online / hc.total) * 100 : null;

  return (
    <div className="page" data-testid="clusters-overview">
      <div className="page-head">
        <h1 className="page-title">Clusters</h1>
        <div className="page-sub">All clusters of the platform, their hosts by state and capacity.</div>
      </div>

      {error && <ErrorPanel error={error} onRetry={refetch} />}
      {!data && loading && <Loading what="Loading clusters" />}

      {p && hc && (
        <div className="stat-strip" data-testid="summary-strip">
          <Stat
            label="Clusters"
            value={formatNumber(p.clusterCount)}
            testId="stat-clusters"
            sub={
              <span className="kind-chips">
                {p.clustersByKind.map((k) => (
                  <span key={k.kind} className="kind-chip" title={`${formatNumber(k.hosts)} hosts`}>
                    {humanizeEnum(k.kind)} {k.clusters}
                  </span>
                ))}
              </span>
            }
          />
          <Stat label="Hosts" value={formatNumber(hc.total)} sub={`${formatPercent(onlinePct)} online`} testId="stat-hosts" />
          <Stat label="Online" value={<span className="tone-good-text">{formatNumber(hc.online)}</span>} />
          <Stat label="Degraded" value={<span className="tone-warn-text">{formatNumber(hc.degraded)}</span>} />
          <Stat label="Offline" value={<span className="tone-bad-text">{formatNumber(hc.offline)}</span>} />
          <Stat label="Maint. / repair" value={`${formatNumber(hc.maintenance)} / ${formatNumber(hc.repairing)}`} sub={`${formatNumber(hc.decommissioned)} decommissioned`} />
          <Stat label="CPU cores" value={formatNumber(p.capacity.cpuCores)} />
          <Stat label="Memory" value={formatBytes(p.capacity.memoryBytes)} />
          <Stat label="Disk" value={formatBytes(p.capacity.diskBytes)} />
          <Stat label="Network" value={formatBitsPerSecond(p.capacity.nicBitsPerSecond)} />
        </div>
      )}

      {data && (
        <>
          <Panel title="Hosts by state per cluster">
            {clusters.length ? (
              <Chart option={option} height={300} testId="hosts-by-state-chart" ariaLabel="Stacked bar chart of hosts by state per cluster" />
            ) : (
              <div className="empty">No clusters match.</div>
            )}
          </Panel>

          <Panel
            title={
              <>
                Clusters <span className="count">{formatNumber(data.clusters.totalCount)}</span>
                {data.clusters.totalCount > clusters.length && <span className="muted small"> (first {clusters.length} shown)</span>}
              </>
            }
            actions={
              <div className="filters">
                <input
                  type="search"
                  placeholder="Search by name"
                  value={text}
                  onChange={(e) => setText(e.target.value)}
                  aria-label="Search clusters by name"
                  data-testid="cluster-search"
                />
                <select value={kind} onChange={(e) => setSearch({ kind: e.target.value || null })} aria-label="Filter by kind" data-testid="kind-filter">
                  <option value="">All kinds</option>
                  {CLUSTER_KINDS.map((k) => (
                    <option key={k} value={k}>
                      {humanizeEnum(k)}
                    </option>
                  ))}
                </select>
                <OrderSelect
                  fields={ORDER_FIELDS}
                  field={orderField}
                  direction={direction}
                  defaultField="NAME"
                  label="Order"
                  onChange={setSearch}
                />
                {loading && <span className="spinner" aria-label="Refreshing" />}
              </div>
            }
          >
            <div className="table-wrap">
              <table className="table" data-testid="clusters-table">
                <thead>
                  <tr>
                    <th>
                      <button type="button" className="th-sort" onClick={toggleNameOrder} title="Order by name">
                        Name {orderField === 'NAME' ? (direction === 'ASC' ? '↑' : '↓') : ''}
                      </button>
                    </th>
                    <th>Kind</th>
                    <th>Region</th>
                    <th>Status</th>
                    <th>Owner BU</th>
                    <th>Stack</th>
                    <th className="num">Hosts</th>
                    <th className="num">Online</th>
                    <th className="num">Degr.</th>
                    <th className="num">Offline</th>
                    <th className="num">Maint.</th>
                    <th className="num">Repair</th>
                    <th className="num">Decomm.</th>
                    <th className="num">CPU cores</th>
                  </tr>
                </thead>
                <tbody>
                  {clusters.map((c) => (
                    <tr key={c.id} data-testid="cluster-row">
                      <td className="name-cell" data-testid="cluster-name">
                        <Link to="/clusters/$name" params={{ name: c.name }}>
                          {c.name}
                        </Link>
                      </td>
                      <td>
                        <Badge tone="muted">{humanizeEnum(c.kind)}</Badge>
                      </td>
                      <td>{c.region}</td>
                      <td>
                        <EnumBadge value={c.status} tones={STATUS_TONE} />
                      </td>
                      <td>{c.ownerBu ? <span title={c.ownerBu.code}>{c.ownerBu.name}</span> : <span className="muted">—</span>}</td>
                      <td>{c.stackVersion ? `${c.stackVersion.stack.name} ${c.stackVersion.version}` : <span className="muted">—</span>}</td>
                      <td className="num strong" data-testid="cluster-host-total" data-value={c.hostCounts.total}>
                        {formatNumber(c.hostCounts.total)}
                      </td>
                      <td className="num">{formatNumber(c.hostCounts.online)}</td>
                      <td className={`num ${c.hostCounts.degraded ? 'tone-warn-text' : 'muted'}`}>{formatNumber(c.hostCounts.degraded)}</td>
                      <td className={`num ${c.hostCounts.offline ? 'tone-bad-text' : 'muted'}`}>{formatNumber(c.hostCounts.offline)}</td>
                      <td className="num">{formatNumber(c.hostCounts.maintenance)}</td>
                      <td className="num">{formatNumber(c.hostCounts.repairing)}</td>
                      <td className="num muted">{formatNumber(c.hostCounts.decommissioned)}</td>
                      <td className="num">{formatNumber(c.capacity.cpuCores)}</td>
                    </tr>
                  ))}
                  {!clusters.length && (
                    <tr>
                      <td colSpan={14} className="empty">
                        No clusters match{q ? ` “${q}”` : ''}
                        {kind ? ` of kind ${humanizeEnum(kind)}` : ''}.
                      </td>
                    </tr>
                  )}
                </tbody>
              </table>
            </div>
          </Panel>
        </>
      )}
    </div>
  );
}
