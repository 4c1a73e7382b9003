// Tools → Queue analysis: a batch cluster's queue tree with each queue's
// guaranteed and maximum share and what it used over the last hour against
// them; a selected queue's usage over a chosen range (used vcores against the
// guarantee and maximum, pending apps), its top consumers over that range and
// its findings (STARVED, HOARDED, IDLE over the last 7 days) with advice.
import { useMemo } from 'react';
import { useQuery } from 'urql';
import { graphql, type ResultOf } from '../graphql';
import { formatNumber, humanizeEnum } from '../lib/format';
import { buildQueueTree, formatShare, queueUsageOption, shareBar, shareScale, topConsumers } from '../lib/queues';
import { describeRange, floorToMinute, rangeFromParams, rangeToParams, resolveRange } from '../lib/timerange';
import type { Search, SetSearch } from '../app/router';
import { ErrorPanel, Loading, Panel, Stat } from '../components/ui';
import { Chart } from '../components/LazyChart';
import { RangePicker } from '../components/telemetry';
import { FindingList, JobLink } from '../components/findings';

export const QueueClustersQuery = graphql(`
  query QueueClusters {
    clusters(first: 100, orderBy: { field: NAME, direction: ASC }) {
      nodes {
        id
        name
        kind
        capacity {
          cpuCores
        }
      }
    }
  }
`);

// One hour averaged into one point per queue: what each queue uses now-ish.
// (recentFrom/recentTo, not from/to: the tree's price is its queues × an hour.)
export const QueueTreeQuery = graphql(`
  query QueueTree($cluster: ID, $recentFrom: Time, $recentTo: Time) {
    queues(cluster: $cluster, first: 100) {
      totalCount
      nodes {
        id
        path
        name
        schedulerType
        guaranteedVcores
        maxVcores
        guaranteedMemory
        maxMemory
        weight
        parent {
          id
        }
        usage(from: $recentFrom, to: $recentTo, maxPoints: 1) {
          points {
            ts
            usedVcores
            maxUsedVcores
            pendingApps
            runningApps
          }
        }
      }
    }
  }
`);

export const QueueDetailQuery = graphql(`
  query QueueDetail($id: ID!, $from: Time, $to: Time) {
    queue(id: $id) {
      id
      path
      guaranteedVcores
      maxVcores
      usage(from: $from, to: $to, maxPoints: 240) {
        step
        points {
          ts
          usedVcores
          maxUsedVcores
          pendingApps
        }
      }
      jobs(first: 100, from: $from, to: $to) {
        totalCount
        edges {
          node {
            id
            namespace
            name
            owner {
              id
              login
            }
          }
          usedCoreSeconds
          share
        }
      }
      findings {
        heuristic
        severity
        advice
        analyzedAt
        evidence {
          key
          value
          unit
        }
      }
    }
  }
`);

type TreeNode = ResultOf<typeof QueueTreeQuery>['queues']['nodes'][number];
type Keys = 'cluster' | 'queue' | 'range' | 'from' | 'to';
const PRESETS = ['6h', '24h', '7d', '30d'] as const;

function recentOf(q: TreeNode) {
  return q.usage.points[0] ?? null;
}

function QueueTree({ nodes, cores, selected, onSelect }: { nodes: TreeNode[]; cores: number; selected: string | null; onSelect: (path: string) => void }) {
  const rows = useMemo(() => buildQueueTree(nodes), [nodes]);
  const usedShare = (q: TreeNode) => {
    const r = recentOf(q);
    return r && cores > 0 ? r.usedVcores / cores : null;
  };
  const scale = shareScale(nodes.map((q) => ({ guaranteed: q.guaranteedVcores, max: q.maxVcores, used: usedShare(q) })));
  return (
    <div className="table-wrap">
      <table className="table queue-tree" data-testid="queue-tree">
        <thead>
          <tr>
            <th>Queue</th>
            <th className="num" title="Guaranteed share of the cluster's vcores">
              Guaranteed
            </th>
            <th className="num" title="Maximum share of the cluster's vcores">
              Max
            </th>
            <th title="Used vcores over the last hour (mean) against the guarantee (green mark) and the maximum (red mark)">Use, last hour</th>
            <th className="num">Used vcores</th>
            <th className="num" title="Mean pending applications over the last hour">
              Pending apps
            </th>
            <th className="num">Running apps</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(({ queue: q, depth, hasChildren }) => {
            const r = recentOf(q);
            const used = usedShare(q);
            const bar = shareBar(q.guaranteedVcores, q.maxVcores, used, scale);
            const tone = bar.overMax ? 'bad' : bar.over ? 'warn' : 'good';
            return (
              <tr
                key={q.id}
                className={`clickable${selected === q.path ? ' selected' : ''}`}
                data-testid="queue-row"
                data-path={q.path}
                onClick={() => onSelect(q.path)}
                aria-selected={selected === q.path}
              >
                <td className="nowrap" style={{ paddingLeft: `${0.6 + depth * 1.2}rem` }}>
                  <button type="button" className="linklike" onClick={() => onSelect(q.path)} title={q.path}>
                    {hasChildren ? '▾ ' : '· '}
                    {q.name}
                  </button>
                </td>
                <td className="num">{formatShare(q.guaranteedVcores)}</td>
                <td className="num">{formatShare(q.maxVcores)}</td>
                <td>
                  <span
                    className="share-bar"
                    data-testid="share-bar"
                    title={`Used ${formatShare(used)} of the cluster, guaranteed ${formatShare(q.guaranteedVcores)}, max ${formatShare(q.maxVcores)}`}
                  >
                    <span className={`share-used tone-${tone}`} style={{ width: `${bar.used}%` }} />
                    <span className="share-mark share-guaranteed" style={{ left: `${bar.guaranteed}%` }} />
                    <span className="share-mark share-max" style={{ left: `${bar.max}%` }} />
                  </span>
                </td>
                <td className="num">{r ? formatNumber(r.usedVcores, 1) : '—'}</td>
                <td className={`num${r && r.pendingApps > 0 ? ' warn-text' : ''}`} data-testid="queue-pending">
                  {r ? formatNumber(r.pendingApps, 1) : '—'}
                </td>
                <td className="num">{r ? formatNumber(r.runningApps, 1) : '—'}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <div className="hint">
        Shares are of the cluster's {formatNumber(cores)} cores. Bar: used share (mean of the last hour), green mark the guarantee, red mark the maximum; amber when
        borrowing above the guarantee.
      </div>
    </div>
  );
}

function QueueDetail({ id, cores, search, setSearch }: { id: string; cores: number; search: Search<Keys>; setSearch: SetSearch<Keys> }) {
  const range = rangeFromParams(search, '24h', [...PRESETS]);
  const resolved = useMemo(() => resolveRange(range, Date.now()), [range.key, range.from, range.to]);
  const [{ data, error, fetching }] = useQuery({ query: QueueDetailQuery, variables: { id, from: resolved.from, to: resolved.to } });
  const q = data?.queue ?? null;
  const option = useMemo(
    () => (q ? queueUsageOption(q.usage.points, cores > 0 ? q.guaranteedVcores * cores : null, cores > 0 ? q.maxVcores * cores : null, resolved) : null),
    [q, cores, resolved],
  );
  const consumers = useMemo(() => (q ? topConsumers(q.jobs.edges) : []), [q]);
  return (
    <div data-testid="queue-detail">
      <div className="filters">
        <RangePicker value={range} presets={[...PRESETS]} onChange={(r) => setSearch(rangeToParams(r, '24h'))} />
        {fetching && <span className="spinner" aria-label="Loading the queue" />}
      </div>
      {error && <ErrorPanel error={error} />}
      {!data && fetching && <Loading what="Loading the queue" />}
      {data && !q && <div className="empty">The queue no longer exists.</div>}
      {q && (
        <>
          <Panel
            title={
              <>
                {q.path} <span className="muted small">usage, {describeRange(range, resolved)}</span>
              </>
            }
          >
            {q.usage.points.length === 0 ? (
              <div className="empty">No snapshot of this queue in the range.</div>
            ) : (
              option && <Chart option={option} height={300} testId="queue-chart" ariaLabel={`Used vcores of ${q.path} against its guarantee and maximum`} />
            )}
          </Panel>
          <div className="grid-2">
            <Panel
              title={
                <>
                  Top consumers <span className="muted small">share of the core-seconds its jobs used, {describeRange(range, resolved)}</span>
                </>
              }
            >
              {consumers.length === 0 ? (
                <div className="empty">No job runs in this queue.</div>
              ) : (
                <table className="table" data-testid="queue-consumers">
                  <thead>
                    <tr>
                      <th>Job</th>
                      <th>Owner</th>
                      <th className="num">Core-hours</th>
                      <th className="num">Share</th>
                    </tr>
                  </thead>
                  <tbody>
                    {consumers.slice(0, 20).map((e) => (
                      <tr key={e.node.id} data-testid="consumer-row">
                        <td>
                          <JobLink id={e.node.id}>{e.node.name}</JobLink>
                        </td>
                        <td>{e.node.owner?.login ?? <span className="muted">—</span>}</td>
                        <td className="num">{e.usedCoreSeconds === null ? <span className="muted" title="Only the job's owner, its BU admins and operators see its usage">hidden</span> : formatNumber(e.usedCoreSeconds / 3600, 1)}</td>
                        <td className="num">{e.share === null ? '—' : formatShare(e.share)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
              {q.jobs.totalCount > consumers.length && <div className="hint">Shares computed over the first {consumers.length} of {q.jobs.totalCount} jobs.</div>}
            </Panel>
            <Panel
              title={
                <>
                  Findings <span className="muted small">over the last 7 days</span>
                </>
              }
            >
              <FindingList findings={q.findings} testId="queue-findings" />
            </Panel>
          </div>
        </>
      )}
    </div>
  );
}

export function QueueAnalysis({ search, setSearch }: { search: Search<Keys>; setSearch: SetSearch<Keys> }) {
  const [{ data: choices, error: choicesError }] = useQuery({ query: QueueClustersQuery });
  // Queues live on batch clusters; others are listed too (a YARN poller may add queues anywhere), after them.
  const clusters = useMemo(() => {
    const all = choices?.clusters.nodes ?? [];
    return [...all.filter((c) => c.kind === 'BATCH'), ...all.filter((c) => c.kind !== 'BATCH')];
  }, [choices]);
  const clusterName = search.cluster ?? clusters[0]?.name ?? '';
  const cluster = clusters.find((c) => c.name === clusterName) ?? null;
  const cores = cluster?.capacity.cpuCores ?? 0;
  // The last hour, fixed per cluster choice so the variables stay stable.
  const recent = useMemo(() => {
    const to = floorToMinute(Date.now());
    return { recentFrom: new Date(to - 3600e3).toISOString(), recentTo: new Date(to).toISOString() };
  }, [cluster?.id]);
  const [{ data, error, fetching }] = useQuery({ query: QueueTreeQuery, variables: { cluster: cluster?.id, ...recent }, pause: !cluster });
  const nodes = data?.queues.nodes ?? [];
  const selectedPath = search.queue ?? null;
  const selected = nodes.find((q) => q.path === selectedPath) ?? null;
  const roots = nodes.filter((q) => !q.parent);
  const pending = nodes.filter((q) => (recentOf(q)?.pendingApps ?? 0) > 0 && !nodes.some((c) => c.parent?.id === q.id)).length;

  return (
    <div className="page" data-testid="queues-page">
      <div className="page-head">
        <h1 className="page-title">Queue analysis</h1>
        <div className="page-sub">A cluster's YARN queues: each queue's guaranteed and maximum share, what it uses against them, its pending apps; pick a queue for its usage over time, its top consumers and what its last week says.</div>
      </div>
      <div className="filters">
        <select
          value={clusterName}
          onChange={(e) => setSearch({ cluster: e.target.value || null, queue: null })}
          aria-label="Cluster"
          data-testid="queue-cluster"
        >
          {clusters.map((c) => (
            <option key={c.id} value={c.name}>
              {c.name} ({humanizeEnum(c.kind)})
            </option>
          ))}
        </select>
        {fetching && <span className="spinner" aria-label="Loading the queues" />}
      </div>
      {choicesError && <ErrorPanel error={choicesError} />}
      {error && <ErrorPanel error={error} />}
      {!choices && !choicesError && <Loading what="Loading the clusters" />}
      {choices && search.cluster && !cluster && <div className="empty">There is no cluster named {search.cluster}.</div>}
      {data && nodes.length === 0 && (
        <div className="empty empty-big" data-testid="queues-empty">
          {clusterName} has no queues: queues are YARN's, on batch clusters.
        </div>
      )}
      {nodes.length > 0 && (
        <>
          <div className="stat-strip">
            <Stat label="Queues" value={formatNumber(data?.queues.totalCount ?? nodes.length)} sub={`${roots.length} root${roots.length === 1 ? '' : 's'}`} />
            <Stat label="Scheduler" value={humanizeEnum(nodes[0].schedulerType)} />
            <Stat label="Cluster cores" value={formatNumber(cores)} />
            <Stat label="Leaf queues with pending apps" value={formatNumber(pending)} sub="last hour" />
          </div>
          <Panel
            title={
              <>
                Queues <span className="count">{formatNumber(nodes.length)}</span>
                <span className="muted small">click one for its usage, consumers and findings</span>
              </>
            }
          >
            <QueueTree nodes={nodes} cores={cores} selected={selectedPath} onSelect={(path) => setSearch({ queue: path })} />
            {data && data.queues.totalCount > nodes.length && <div className="hint">Showing the first {nodes.length} of {data.queues.totalCount} queues.</div>}
          </Panel>
          {selected ? (
            <QueueDetail key={selected.id} id={selected.id} cores={cores} search={search} setSearch={setSearch} />
          ) : (
            selectedPath && <div className="empty">There is no queue {selectedPath} on {clusterName}.</div>
          )}
        </>
      )}
    </div>
  );
}
