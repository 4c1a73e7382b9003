// One cluster: its facts, hosts by state, and its hosts (paged by cursor,
// filtered by state, rack and name). Operators and admins can select hosts and
// change their state together.
import { useEffect, useMemo, useRef, useState } from 'react';
import { useQuery } from 'urql';
import { graphql, type HostState, type OrderDirection, type ResultOf } from '../graphql';
import { ClusterSummaryFields, PageInfoFields } from '../graphql/fragments';
import { useCan, useDebounced } from '../lib/hooks';
import { HOST_STATES, STATE_COUNT_FIELD } from '../lib/hostStates';
import { formatBitsPerSecond, formatBytes, formatDate, formatNumber, humanizeEnum } from '../lib/format';
import { STATE_COLORS, STATUS_TONE } from '../lib/colors';
import { nextPosition, pageVariables, pagerState, positionFor, previousPosition, type PagerPosition } from '../lib/paging';
import { codeOf } from '../lib/errors';
import { useDocumentTitle } from '../lib/title';
import type { Search, SetSearch } from '../app/router';
import { EnumBadge, ErrorPanel, Link, Loading, OrderSelect, Pager, Panel } from '../components/ui';
import { HeartbeatCell, HostnameCell, HostRowFields, HostSizeCells, HostStateCell, HostUsageCells } from '../components/hosts';
import { HostStateForm } from '../components/HostStateForm';
import { Chart } from '../components/LazyChart';
import { ClusterHealth } from '../components/health';
import { ClusterOperations } from '../components/operations';
import { DecommissionForm } from '../components/lifecycle';
import { HealingPolicyPanel } from '../components/healing';

export const ClusterPageQuery = graphql(
  `
    query ClusterPage($name: String!, $first: Int, $after: String, $last: Int, $before: String, $filter: HostFilter, $orderBy: HostOrder) {
      cluster(name: $name) {
        ...ClusterSummaryFields
        description
        createdAt
        hosts(first: $first, after: $after, last: $last, before: $before, filter: $filter, orderBy: $orderBy) {
          totalCount
          pageInfo {
            ...PageInfoFields
          }
          nodes {
            ...HostRowFields
          }
        }
      }
    }
  `,
  [ClusterSummaryFields, PageInfoFields, HostRowFields],
);

type ClusterDetail = NonNullable<ResultOf<typeof ClusterPageQuery>['cluster']>;

const PAGE_SIZE = 50;
type HostOrderField = 'HOSTNAME' | 'STATE' | 'RACK' | 'CPU_CORES' | 'MEMORY_BYTES' | 'LAST_HEARTBEAT';
const HOST_ORDER_FIELDS: HostOrderField[] = ['HOSTNAME', 'STATE', 'RACK', 'CPU_CORES', 'MEMORY_BYTES', 'LAST_HEARTBEAT'];

function pieOption(c: ClusterDetail) {
  const data = HOST_STATES.map((s) => ({
    name: humanizeEnum(s),
    value: c.hostCounts[STATE_COUNT_FIELD[s]],
    itemStyle: { color: STATE_COLORS[s] },
  })).filter((d) => d.value > 0);
  return {
    animation: false,
    tooltip: { trigger: 'item', formatter: '{b}: {c} ({d}%)' },
    legend: { orient: 'vertical', right: 0, top: 'middle', itemWidth: 12, itemHeight: 12, textStyle: { fontSize: 12 } },
    series: [
      {
        type: 'pie',
        radius: ['45%', '75%'],
        center: ['35%', '50%'],
        avoidLabelOverlap: true,
        label: { show: false },
        data,
      },
    ],
  };
}

function Fact({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div className="fact">
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}

export function ClusterPage({ name, search, setSearch }: { name: string; search: Search<'state' | 'rack' | 'q' | 'order' | 'dir'>; setSearch: SetSearch<'state' | 'rack' | 'q' | 'order' | 'dir'> }) {
  useDocumentTitle(name);
  const state = (HOST_STATES as string[]).includes(search.state ?? '') ? (search.state as HostState) : '';
  const orderField: HostOrderField = (HOST_ORDER_FIELDS as string[]).includes(search.order ?? '') ? (search.order as HostOrderField) : 'HOSTNAME';
  const direction: OrderDirection = search.dir === 'DESC' ? 'DESC' : 'ASC';
  const canOperate = useCan('OPERATOR');

  const [rackText, setRackText] = useState(search.rack ?? '');
  const [hostText, setHostText] = useState(search.q ?? '');
  const rack = useDebounced(rackText.trim(), 300);
  const q = useDebounced(hostText.trim(), 300);
  // The pager belongs to one listing: a new filter or ordering starts at page one
  // in the same render, so its first request never sends the old listing's cursor.
  const listing = JSON.stringify([name, state, rack, q, orderField, direction]);
  const [stored, setPosition] = useState<PagerPosition>({ key: listing, cursor: {}, index: 0 });
  const position = positionFor(stored, listing);
  const { cursor, index: pageIndex } = position;
  const [selected, setSelected] = useState<Map<string, string>>(new Map());

  // Typed filters go to the URL once settled; any filter change goes back to page one.
  useEffect(() => {
    if ((search.rack ?? '') !== rack || (search.q ?? '') !== q) setSearch({ rack, q });
  }, [rack, q]);

  const variables = useMemo(
    () => ({
      name,
      ...pageVariables(PAGE_SIZE, cursor),
      filter: { ...(state ? { state } : {}), ...(rack ? { rack } : {}), ...(q ? { search: q } : {}) },
      orderBy: { field: orderField, direction },
    }),
    [name, cursor, state, rack, q, orderField, direction],
  );
  const [{ data, error, fetching: loading }, reexecute] = useQuery({ query: ClusterPageQuery, variables });
  const refetch = () => reexecute({ requestPolicy: 'network-only' });
  // While a change is read back (a host state set, the cache's host lists
  // dropped) the query may answer nothing for a moment: the page keeps the
  // cluster it showed, so the forms in it and their outcomes stay in view.
  const shown = useRef<NonNullable<typeof data>['cluster'] | null>(null);
  const fresh = data?.cluster && data.cluster.name === name ? data.cluster : null;
  if (fresh) shown.current = fresh;
  else if (shown.current?.name !== name || error) shown.current = null;
  const cluster = fresh ?? shown.current;
  const option = useMemo(() => (cluster ? pieOption(cluster) : null), [cluster]);

  const notFound = (data && data.cluster === null && !loading) || codeOf(error) === 'NOT_FOUND';

  if (notFound) {
    return (
      <div className="page">
        <h1 className="page-title">Cluster not found</h1>
        <section className="panel">
          <div className="panel-body" data-testid="cluster-not-found">
            There is no cluster named <code>{name}</code> (or you may not see it). <Link to="/clusters">Back to all clusters</Link>.
          </div>
        </section>
      </div>
    );
  }

  const hosts = cluster?.hosts;
  const from = pageIndex * PAGE_SIZE + 1;

  return (
    <div className="page" data-testid="cluster-page">
      <div className="crumbs">
        <Link to="/clusters">Clusters</Link> <span aria-hidden="true">/</span> <span>{name}</span>
      </div>
      <div className="page-head">
        <h1 className="page-title">
          {name} {cluster && <EnumBadge value={cluster.status} tones={STATUS_TONE} />} {cluster && <ClusterHealth name={name} badge />}
        </h1>
        {cluster?.description && <div className="page-sub">{cluster.description}</div>}
        <div className="page-links">
          <Link to="/platform/watermarks" search={{ cluster: name }} data-testid="cluster-watermarks-link">
            Water levels and forecast →
          </Link>{' '}
          <Link to="/aquila/config" search={{ cluster: name }} data-testid="cluster-config-page-link">
            Configuration →
          </Link>
        </div>
      </div>

      {error && <ErrorPanel error={error} onRetry={refetch} />}
      {!cluster && loading && <Loading what={`Loading cluster ${name}`} />}

      {cluster && (
        <>
          <div className="grid-2">
            <Panel title="Facts">
              <dl className="facts" data-testid="cluster-facts">
                <Fact label="Kind">{humanizeEnum(cluster.kind)}</Fact>
                <Fact label="Region">{cluster.region}</Fact>
                <Fact label="Owner BU">{cluster.ownerBu ? `${cluster.ownerBu.name} (${cluster.ownerBu.code})` : '—'}</Fact>
                <Fact label="Stack">{cluster.stackVersion ? `${cluster.stackVersion.stack.name} ${cluster.stackVersion.version}` : '—'}</Fact>
                <Fact label="Created">{formatDate(cluster.createdAt)}</Fact>
                <Fact label="Hosts">{formatNumber(cluster.hostCounts.total)}</Fact>
                <Fact label="CPU cores">{formatNumber(cluster.capacity.cpuCores)}</Fact>
                <Fact label="Memory">{formatBytes(cluster.capacity.memoryBytes)}</Fact>
                <Fact label="Disk">{formatBytes(cluster.capacity.diskBytes)}</Fact>
                <Fact label="Network">{formatBitsPerSecond(cluster.capacity.nicBitsPerSecond)}</Fact>
              </dl>
            </Panel>
            <Panel title="Hosts by state">
              {cluster.hostCounts.total > 0 && option ? (
                <Chart option={option} height={220} testId="host-state-pie" ariaLabel="Pie chart of hosts by state" />
              ) : (
                <div className="empty">This cluster has no hosts.</div>
              )}
            </Panel>
          </div>

          <ClusterHealth name={name} />

          <ClusterOperations name={name} />

          <HealingPolicyPanel name={name} />

          <Panel
            title={
              <>
                Hosts{' '}
                <span className="count" data-testid="host-total" data-value={hosts?.totalCount}>
                  {formatNumber(hosts?.totalCount)}
                </span>
                <span className="muted small"> {state || rack || q ? 'matching' : 'in total'}</span>
              </>
            }
            actions={
              <div className="filters">
                <select value={state} onChange={(e) => setSearch({ state: e.target.value })} aria-label="Filter by state" data-testid="state-filter">
                  <option value="">All states</option>
                  {HOST_STATES.map((s) => (
                    <option key={s} value={s}>
                      {humanizeEnum(s)} ({formatNumber(cluster.hostCounts[STATE_COUNT_FIELD[s]])})
                    </option>
                  ))}
                </select>
                <input type="text" placeholder="Rack" value={rackText} onChange={(e) => setRackText(e.target.value)} aria-label="Filter by rack" data-testid="rack-filter" className="narrow" />
                <input type="search" placeholder="Search hostname" value={hostText} onChange={(e) => setHostText(e.target.value)} aria-label="Search hostname" data-testid="host-search" />
                <OrderSelect
                  fields={HOST_ORDER_FIELDS}
                  field={orderField}
                  direction={direction}
                  defaultField="HOSTNAME"
                  label="Order hosts"
                  onChange={setSearch}
                />
                {loading && <span className="spinner" aria-label="Refreshing" />}
              </div>
            }
          >
            {canOperate && (
              <div className="bulk-bar" data-testid="bulk-bar">
                <span className="bulk-count" data-testid="selected-count">
                  {selected.size ? `${selected.size} selected` : 'Select hosts to change their state'}
                </span>
                {/* Stays mounted when the selection is cleared after a change, so its outcome stays in view. */}
                <HostStateForm
                  compact
                  hosts={[...selected].map(([id, hostname]) => ({ id, hostname }))}
                  onDone={(o) => {
                    if (!o.failed.length) setSelected(new Map());
                    // Read the cluster back at once: its counts and the
                    // filtered list changed with the hosts' states.
                    refetch();
                  }}
                />
                {selected.size > 0 && <DecommissionForm hosts={[...selected].map(([id, hostname]) => ({ id, hostname }))} />}
                {selected.size > 0 && (
                  <button type="button" className="btn" onClick={() => setSelected(new Map())}>
                    Clear
                  </button>
                )}
              </div>
            )}
            <div className="table-wrap">
              <table className="table" data-testid="hosts-table">
                <thead>
                  <tr>
                    {canOperate && (
                      <th className="check-cell">
                        <input
                          type="checkbox"
                          aria-label="Select every host on this page"
                          data-testid="select-all"
                          checked={!!hosts?.nodes.length && hosts.nodes.every((h) => selected.has(h.id))}
                          onChange={(e) => {
                            const next = new Map(selected);
                            for (const h of hosts?.nodes ?? []) {
                              if (e.target.checked) next.set(h.id, h.hostname);
                              else next.delete(h.id);
                            }
                            setSelected(next);
                          }}
                        />
                      </th>
                    )}
                    <th>Hostname</th>
                    <th>Rack</th>
                    <th>State</th>
                    <th className="num">Cores</th>
                    <th className="num">Memory</th>
                    <th>OS</th>
                    <th>CPU</th>
                    <th>Memory used</th>
                    <th>Last heartbeat</th>
                  </tr>
                </thead>
                <tbody>
                  {hosts?.nodes.map((h) => (
                    <tr key={h.id} data-testid="host-row" data-hostname={h.hostname}>
                      {canOperate && (
                        <td className="check-cell">
                          <input
                            type="checkbox"
                            aria-label={`Select ${h.hostname}`}
                            data-testid="host-select"
                            checked={selected.has(h.id)}
                            onChange={(e) => {
                              const next = new Map(selected);
                              if (e.target.checked) next.set(h.id, h.hostname);
                              else next.delete(h.id);
                              setSelected(next);
                            }}
                          />
                        </td>
                      )}
                      <HostnameCell host={h} />
                      <td className="mono nowrap">{h.rack}</td>
                      <HostStateCell host={h} />
                      <HostSizeCells host={h} />
                      <td className="ellipsis" title={h.os}>
                        {h.os}
                      </td>
                      <HostUsageCells host={h} />
                      <HeartbeatCell host={h} />
                    </tr>
                  ))}
                  {hosts && !hosts.nodes.length && (
                    <tr>
                      <td colSpan={canOperate ? 10 : 9} className="empty">
                        No hosts match these filters.
                      </td>
                    </tr>
                  )}
                </tbody>
              </table>
            </div>
            {hosts && (
              <Pager
                hasPrevious={pagerState(hosts.pageInfo, cursor, pageIndex).hasPrevious}
                hasNext={pagerState(hosts.pageInfo, cursor, pageIndex).hasNext}
                onPrevious={() => {
                  setPosition(previousPosition(position, hosts.pageInfo));
                }}
                onNext={() => {
                  setPosition(nextPosition(position, hosts.pageInfo));
                }}
                busy={loading}
              >
                {hosts.nodes.length
                  ? `${formatNumber(from)}–${formatNumber(from + hosts.nodes.length - 1)} of ${formatNumber(hosts.totalCount)}`
                  : ''}
              </Pager>
            )}
          </Panel>
        </>
      )}
    </div>
  );
}
