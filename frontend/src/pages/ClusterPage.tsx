import { useEffect, useMemo, useState } from 'react';
import { useDebounced, useQuery } from '../lib/hooks';
import { CLUSTER_PAGE, HOST_STATES, STATE_COUNT_FIELD, type ClusterDetail, type ClusterPageData, type HostState, type OrderDirection } from '../lib/queries';
import { formatBitsPerSecond, formatBytes, formatDate, formatDateTime, formatNumber, formatPercent, formatRelative, humanizeEnum } from '../lib/format';
import { STATE_COLORS, STATE_TONE, STATUS_TONE } from '../lib/colors';
import { buildPath, navigate, parseSearch, useLocation, withSearch } from '../lib/router';
import { nextCursor, pageVariables, pagerState, previousPageCursor, type PageCursor } from '../lib/paging';
import { GraphQLRequestError } from '../lib/graphql';
import { Badge, EnumBadge, ErrorPanel, Link, Loading, OrderSelect, Pager, Panel, PercentBar } from '../components/ui';
import { Chart } from '../components/LazyChart';

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

export function ClusterPage({ name }: { name: string }) {
  const loc = useLocation();
  const search = parseSearch(loc.search);
  const state = (HOST_STATES as string[]).includes(search.state ?? '') ? (search.state as HostState) : '';
  const orderField: HostOrderField = (HOST_ORDER_FIELDS as string[]).includes(search.order ?? '') ? (search.order as HostOrderField) : 'HOSTNAME';
  const direction: OrderDirection = search.dir === 'DESC' ? 'DESC' : 'ASC';

  const [rackText, setRackText] = useState(search.rack ?? '');
  const [hostText, setHostText] = useState(search.q ?? '');
  const rack = useDebounced(rackText.trim(), 300);
  const q = useDebounced(hostText.trim(), 300);
  const [cursor, setCursor] = useState<PageCursor>({});
  const [pageIndex, setPageIndex] = useState(0);

  const setParams = (patch: Record<string, string | null>) => {
    const next = {
      state: state || null,
      rack: rack || null,
      q: q || null,
      order: orderField === 'HOSTNAME' ? null : orderField,
      dir: direction === 'ASC' ? null : direction,
      ...patch,
    };
    navigate(withSearch(loc.pathname, next), { replace: true });
  };

  // Typed filters go to the URL once settled; any filter change goes back to page one.
  useEffect(() => {
    if ((search.rack ?? '') !== rack || (search.q ?? '') !== q) setParams({ rack: rack || null, q: q || null });
  }, [rack, q]);
  useEffect(() => {
    setCursor({});
    setPageIndex(0);
  }, [name, state, rack, q, orderField, direction]);

  const variables = useMemo(
    () => ({
      name,
      ...pageVariables(PAGE_SIZE, cursor),
      filter: { ...(state ? { state } : {}), ...(rack ? { rack } : {}), ...(q ? { search: q } : {}) },
      orderBy: { field: orderField, direction },
    }),
    [name, cursor, state, rack, q, orderField, direction],
  );
  const { data, error, loading, refetch } = useQuery<ClusterPageData>(CLUSTER_PAGE, variables);
  const cluster = data?.cluster && data.cluster.name === name ? data.cluster : null;
  const option = useMemo(() => (cluster ? pieOption(cluster) : null), [cluster]);

  const notFound = (data && data.cluster === null && !loading) || (error instanceof GraphQLRequestError && error.code === 'NOT_FOUND');

  if (notFound) {
    return (
      <div className="page">
        <h1 className="page-title">Cluster not found</h1>
        <section className="panel">
          <div className="panel-body" data-testid="cluster-not-found">
            There is no cluster named <code>{name}</code> (or you may not see it). <Link href="/clusters">Back to all clusters</Link>.
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
        <Link href="/clusters">Clusters</Link> <span aria-hidden="true">/</span> <span>{name}</span>
      </div>
      <div className="page-head">
        <h1 className="page-title">
          {name} {cluster && <EnumBadge value={cluster.status} tones={STATUS_TONE} />}
        </h1>
        {cluster?.description && <div className="page-sub">{cluster.description}</div>}
        <div className="page-links">
          <Link href={withSearch('/platform/watermarks', { cluster: name })} data-testid="cluster-watermarks-link">
            Water levels and forecast →
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
                <select value={state} onChange={(e) => setParams({ state: e.target.value || null })} aria-label="Filter by state" data-testid="state-filter">
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
                  onChange={setParams}
                />
                {loading && <span className="spinner" aria-label="Refreshing" />}
              </div>
            }
          >
            <div className="table-wrap">
              <table className="table" data-testid="hosts-table">
                <thead>
                  <tr>
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
                    <tr key={h.id} data-testid="host-row">
                      <td className="name-cell mono">
                        <Link href={buildPath('/hosts/:hostname', { hostname: h.hostname })} data-testid="host-link" title="Machine analysis">
                          {h.hostname}
                        </Link>
                      </td>
                      <td className="mono">{h.rack}</td>
                      <td>
                        <Badge tone={STATE_TONE[h.state] ?? 'muted'} title={h.stateReason || undefined}>
                          {humanizeEnum(h.state)}
                        </Badge>
                        {h.stateReason && <span className="reason">{h.stateReason}</span>}
                      </td>
                      <td className="num">{formatNumber(h.cpuCores)}</td>
                      <td className="num">{formatBytes(h.memoryBytes)}</td>
                      <td className="ellipsis" title={h.os}>
                        {h.os}
                      </td>
                      <td>
                        <PercentBar value={h.latestMetrics?.cpuPercent} text={formatPercent(h.latestMetrics?.cpuPercent)} />
                      </td>
                      <td>
                        <PercentBar value={h.latestMetrics?.memoryPercent} text={formatPercent(h.latestMetrics?.memoryPercent)} />
                      </td>
                      <td title={formatDateTime(h.lastHeartbeat, true)}>{h.lastHeartbeat ? formatRelative(h.lastHeartbeat) : <span className="muted">never</span>}</td>
                    </tr>
                  ))}
                  {hosts && !hosts.nodes.length && (
                    <tr>
                      <td colSpan={9} className="empty">
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
                  setCursor(previousPageCursor(hosts.pageInfo, pageIndex));
                  setPageIndex((i) => Math.max(0, i - 1));
                }}
                onNext={() => {
                  setCursor(nextCursor(hosts.pageInfo) ?? {});
                  setPageIndex((i) => i + 1);
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
