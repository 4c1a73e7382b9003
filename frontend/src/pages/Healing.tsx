// Aquila → Self-healing (docs/healing.md): what healing works on now, what
// healed, what was handed to people and what failed (a tab each, paged by
// cursor, its header counting them all); the sick hosts waiting and why; the
// healing rate per day; the open keep-alive alerts. A cluster filter narrows all of them. Read again every
// 30 s. Any signed-in role reads it;
// nothing here changes anything (a cluster's healing policy is on its page).
import { useEffect, useMemo, useState } from 'react';
import { useQuery } from 'urql';
import { graphql, type ResultOf } from '../graphql';
import { PageInfoFields } from '../graphql/fragments';
import { formatDateTime, formatDuration, formatNumber, formatRelative, parseGoDuration } from '../lib/format';
import { HEALING_STATES, HEALING_STATE_LABEL, HEALING_STATE_TONE, SIGNAL_LABEL, healingRateOption, type HealingState } from '../lib/healing';
import { useDocumentTitle } from '../lib/title';
import type { Search, SetSearch } from '../app/router';
import { EnumBadge, ErrorPanel, Link, Loading, Pager, Panel } from '../components/ui';
import { OperationStateBadge } from '../components/operations';
import { Chart } from '../components/LazyChart';

const HealingClusterPicks = graphql(`
  query HealingClusterPicks {
    clusters(first: 100, orderBy: { field: NAME, direction: ASC }) {
      nodes {
        id
        name
      }
    }
  }
`);

export const HealingAttemptsQuery = graphql(
  `
    query HealingAttempts($state: HealingState, $cluster: ID, $after: String) {
      healingAttempts(state: $state, cluster: $cluster, first: 25, after: $after) {
        pageInfo {
          ...PageInfoFields
        }
        nodes {
          id
          host {
            id
            hostname
          }
          hostname
          cluster {
            id
            name
          }
          signals
          detail
          repair
          state
          operation {
            id
            state
          }
          ticket {
            id
            state
          }
          reason
          startedAt
          endedAt
        }
      }
    }
  `,
  [PageInfoFields],
);

export const HealingOverviewQuery = graphql(`
  query HealingOverview($cluster: ID) {
    healingCount: healingAttempts(state: HEALING, cluster: $cluster, first: 1) {
      totalCount
    }
    healedCount: healingAttempts(state: HEALED, cluster: $cluster, first: 1) {
      totalCount
    }
    handedOverCount: healingAttempts(state: HANDED_OVER, cluster: $cluster, first: 1) {
      totalCount
    }
    failedCount: healingAttempts(state: FAILED, cluster: $cluster, first: 1) {
      totalCount
    }
    healingWaiting(cluster: $cluster, first: 100) {
      host {
        id
        hostname
      }
      hostname
      cluster {
        id
        name
      }
      signals
      reason
      since
      updatedAt
    }
    healingRate(days: 30, cluster: $cluster) {
      day
      healed
      failed
      handedOver
      rate
    }
    keepAliveAlerts(openOnly: true, cluster: $cluster, first: 50) {
      nodes {
        id
        host {
          id
          hostname
        }
        cluster {
          id
          name
        }
        service
        component
        raisedAt
        restarts
        window
        message
      }
    }
  }
`);

/** The overview's alias counting each tab's attempts. */
const TAB_COUNT = { HEALING: 'healingCount', HEALED: 'healedCount', HANDED_OVER: 'handedOverCount', FAILED: 'failedCount' } as const satisfies Record<HealingState, string>;

/** Healing moves by the minute (the job runs every five): the page reads it again this often. */
const REFRESH_MS = 30_000;

/** Runs the query again from the network every REFRESH_MS while the page is open. */
function useRefresh(reexecute: (opts: { requestPolicy: 'network-only' }) => void, active = true) {
  useEffect(() => {
    if (!active) return;
    const t = setInterval(() => reexecute({ requestPolicy: 'network-only' }), REFRESH_MS);
    return () => clearInterval(t);
  }, [reexecute, active]);
}

type Attempt = ResultOf<typeof HealingAttemptsQuery>['healingAttempts']['nodes'][number];
type Keys = 'cluster' | 'state';

function HostCell({ host, hostname }: { host: { hostname: string } | null; hostname: string }) {
  return <td className="mono">{host ? <Link to="/hosts/$hostname" params={{ hostname: host.hostname }}>{hostname}</Link> : <span title="retired since">{hostname}</span>}</td>;
}

function Signals({ signals }: { signals: readonly string[] }) {
  return <>{signals.map((s) => SIGNAL_LABEL[s as keyof typeof SIGNAL_LABEL] ?? s).join(', ')}</>;
}

export function Healing({ search, setSearch }: { search: Search<Keys>; setSearch: SetSearch<Keys> }) {
  useDocumentTitle('Self-healing');
  const state: HealingState = (HEALING_STATES as readonly string[]).includes(search.state ?? '') ? (search.state as HealingState) : 'HEALING';
  const [{ data: picks }] = useQuery({ query: HealingClusterPicks });
  const clusters = picks?.clusters.nodes ?? [];
  const clusterId = clusters.find((c) => c.name === search.cluster)?.id ?? null;
  const filterReady = !search.cluster || !!clusterId;

  const [{ data, error, fetching }, reexecute] = useQuery({ query: HealingOverviewQuery, variables: { cluster: clusterId }, pause: !filterReady });
  useRefresh(reexecute, filterReady);
  const rate = data?.healingRate ?? [];
  const option = useMemo(() => healingRateOption(rate), [rate]);
  const ended = rate.reduce((n, d) => n + d.healed + d.failed + d.handedOver, 0);
  const healed = rate.reduce((n, d) => n + d.healed, 0);

  return (
    <div className="page" data-testid="healing-page">
      <div className="page-head">
        <h1 className="page-title">Self-healing</h1>
        <div className="page-sub">
          Sick hosts (missed heartbeats, hardware faults, failed health checks, anomalies) are drained, repaired, verified and returned to service by SELF_HEAL operations, within each cluster's
          healing budget; what cannot be healed goes to people with a repair ticket. Keep-alive restarts stopped components and raises an alert past its budget.
        </div>
        <div className="filters">
          <select value={search.cluster ?? ''} onChange={(e) => setSearch({ cluster: e.target.value })} aria-label="Cluster" data-testid="healing-cluster">
            <option value="">All clusters</option>
            {clusters.map((c) => (
              <option key={c.id} value={c.name}>
                {c.name}
              </option>
            ))}
          </select>
          {fetching && <span className="spinner" aria-label="Refreshing" />}
        </div>
      </div>
      {error && <ErrorPanel error={error} onRetry={() => reexecute({ requestPolicy: 'network-only' })} />}

      <div className="segmented healing-tabs" role="tablist" data-testid="healing-tabs">
        {HEALING_STATES.map((s) => (
          <button key={s} type="button" role="tab" aria-selected={s === state} className={`seg ${s === state ? 'active' : ''}`} onClick={() => setSearch({ state: s === 'HEALING' ? null : s })} data-testid={`healing-tab-${s}`}>
            {HEALING_STATE_LABEL[s]}{' '}
            <span className="count" data-testid={`healing-tab-count-${s}`}>
              {data ? formatNumber(data[TAB_COUNT[s]].totalCount) : '—'}
            </span>
          </button>
        ))}
      </div>
      {filterReady && <Attempts key={`${state}/${clusterId ?? ''}`} state={state} clusterId={clusterId} />}

      <div className="grid-2">
        <Panel
          title={
            <>
              Healing rate <span className="muted small">last 30 days, by UTC day</span>
            </>
          }
        >
          <div className="muted small" data-testid="healing-rate-summary">
            {ended ? `${formatNumber(healed)} of ${formatNumber(ended)} ended attempts healed (${Math.round((healed / ended) * 100)}%).` : 'No attempt ended in the last 30 days.'}
          </div>
          {data ? <Chart option={option} height={260} testId="healing-rate-chart" ariaLabel="Healed, failed and handed-over hosts per day, and the healing rate" /> : <Loading what="Loading the rate" />}
        </Panel>
        <Panel
          title={
            <>
              Waiting <span className="count">{data ? formatNumber(data.healingWaiting.length) : '—'}</span>
              <span className="muted small">sick hosts healing has not started on, longest first</span>
            </>
          }
        >
          {data && data.healingWaiting.length ? (
            <div className="table-wrap scroll-y">
              <table className="table" data-testid="healing-waiting">
                <thead>
                  <tr>
                    <th>Host</th>
                    <th>Cluster</th>
                    <th>Signals</th>
                    <th>Why it waits</th>
                    <th>Since</th>
                  </tr>
                </thead>
                <tbody>
                  {data.healingWaiting.map((w) => (
                    <tr key={`${w.hostname}/${w.since}`} data-testid="healing-wait-row">
                      <HostCell host={w.host} hostname={w.hostname} />
                      <td>
                        <Link to="/clusters/$name" params={{ name: w.cluster.name }}>
                          {w.cluster.name}
                        </Link>
                      </td>
                      <td>
                        <Signals signals={w.signals} />
                      </td>
                      <td>{w.reason}</td>
                      <td title={formatDateTime(w.since, true)}>{formatRelative(w.since)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ) : data ? (
            <div className="empty" data-testid="healing-waiting-empty">
              No sick host waits.
            </div>
          ) : null}
        </Panel>
      </div>

      <Panel
        title={
          <>
            Open keep-alive alerts <span className="count">{data ? formatNumber(data.keepAliveAlerts.nodes.length) : '—'}</span>
            <span className="muted small">components keep-alive stopped restarting: they used their budget</span>
          </>
        }
      >
        {data && data.keepAliveAlerts.nodes.length ? (
          <div className="table-wrap">
            <table className="table" data-testid="keepalive-alerts">
              <thead>
                <tr>
                  <th>Host</th>
                  <th>Cluster</th>
                  <th>Component</th>
                  <th className="num">Restarts</th>
                  <th>Message</th>
                  <th>Raised</th>
                </tr>
              </thead>
              <tbody>
                {data.keepAliveAlerts.nodes.map((a) => (
                  <tr key={a.id} data-testid="keepalive-alert-row">
                    {a.host ? <HostCell host={a.host} hostname={a.host.hostname} /> : <td className="muted">retired</td>}
                    <td>{a.cluster.name}</td>
                    <td>
                      {a.service} <span className="mono">{a.component}</span>
                    </td>
                    <td className="num">
                      {a.restarts} in {formatDuration(parseGoDuration(a.window))}
                    </td>
                    <td>{a.message}</td>
                    <td title={formatDateTime(a.raisedAt, true)}>{formatRelative(a.raisedAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : data ? (
          <div className="empty">No open keep-alive alert.</div>
        ) : null}
      </Panel>
    </div>
  );
}

/** One state's attempts, newest first, paged forward by cursor (the API pages with `after` only: Previous goes back through the cursors seen). */
function Attempts({ state, clusterId }: { state: HealingState; clusterId: string | null }) {
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const after = cursors.at(-1) ?? null;
  const [{ data, error, fetching }, reexecute] = useQuery({ query: HealingAttemptsQuery, variables: { state, cluster: clusterId, after } });
  useRefresh(reexecute);
  const list = data?.healingAttempts;
  return (
    <Panel className="healing-attempts">
      {error && <ErrorPanel error={error} onRetry={() => reexecute({ requestPolicy: 'network-only' })} />}
      {!list && fetching && <Loading what="Loading attempts" />}
      {list && (
        <>
          <div className="table-wrap">
            <table className="table" data-testid="healing-attempts" data-state={state}>
              <thead>
                <tr>
                  <th>Host</th>
                  <th>Cluster</th>
                  <th>Signals</th>
                  <th>Repair</th>
                  <th>State</th>
                  <th>Reason</th>
                  <th>Operation / ticket</th>
                  <th>Started</th>
                  <th>Ended</th>
                </tr>
              </thead>
              <tbody>
                {list.nodes.map((a: Attempt) => (
                  <tr key={a.id} data-testid="healing-attempt-row" data-hostname={a.hostname}>
                    <HostCell host={a.host} hostname={a.hostname} />
                    <td>
                      <Link to="/clusters/$name" params={{ name: a.cluster.name }}>
                        {a.cluster.name}
                      </Link>
                    </td>
                    <td title={a.detail}>
                      <Signals signals={a.signals} />
                      {a.detail && <div className="muted small">{a.detail}</div>}
                    </td>
                    <td>{a.repair}</td>
                    <td>
                      <EnumBadge value={a.state} tones={HEALING_STATE_TONE} />
                    </td>
                    <td>{a.reason}</td>
                    <td className="nowrap">
                      {a.operation && (
                        <Link to="/aquila/operations/$id" params={{ id: a.operation.id }} data-testid="healing-operation-link">
                          operation <OperationStateBadge state={a.operation.state} />
                        </Link>
                      )}
                      {a.ticket && (
                        <Link to="/tools/hardware" data-testid="healing-ticket-link" title="Repair tickets are on the hardware page">
                          repair ticket ({a.ticket.state.toLowerCase().replace('_', ' ')})
                        </Link>
                      )}
                    </td>
                    <td title={formatDateTime(a.startedAt, true)}>{formatRelative(a.startedAt)}</td>
                    <td title={formatDateTime(a.endedAt, true)}>{a.endedAt ? formatRelative(a.endedAt) : '—'}</td>
                  </tr>
                ))}
                {!list.nodes.length && (
                  <tr>
                    <td colSpan={9} className="empty" data-testid="healing-attempts-empty">
                      {state === 'HEALING' ? 'No host is healing now.' : `No attempt ${HEALING_STATE_LABEL[state].toLowerCase()}.`}
                    </td>
                  </tr>
                )}
              </tbody>
            </table>
          </div>
          <Pager
            hasPrevious={cursors.length > 1}
            hasNext={list.pageInfo.hasNextPage}
            onPrevious={() => setCursors(cursors.slice(0, -1))}
            onNext={() => list.pageInfo.endCursor && setCursors([...cursors, list.pageInfo.endCursor])}
            busy={fetching}
          >
            {list.nodes.length ? `page ${cursors.length}` : ''}
          </Pager>
        </>
      )}
    </Panel>
  );
}
