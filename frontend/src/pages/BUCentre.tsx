// Business centre → BU centre: the BU's budget (its sub-BUs' and people's
// too, set here by the BU's admins), its bills by person, job and cluster, its
// health and its place on the leaderboards (./BUMoney.tsx); then the jobs of a BU's subtree (filtered by
// cluster, kind and priority, paged by keyset with "load more"), priority
// changes in place for the BU's admins within its P0 limit, the jobs with
// severe or critical findings, and the queues of the BU's clusters. BU admins
// and viewers see their own BU; operators and admins pick any. Viewers get the
// listing read-only: runs and findings of other people's jobs are not theirs
// to read.
import { useEffect, useState } from 'react';
import { useQuery } from 'urql';
import { graphql } from '../graphql';
import type { Search, SetSearch } from '../app/router';
import { useSession } from '../lib/hooks';
import { formatNumber, formatPercent, humanizeEnum } from '../lib/format';
import { buInSubtree, isJobKind, isPriority, isSerious, JOB_KINDS, PRIORITIES, queuesOfJobs } from '../lib/workload';
import { ErrorPanel, Loading, Panel, Stat } from '../components/ui';
import { JobRowDetailFields, JobRowFields, JobRows, JobTable, type Reader } from '../components/JobTable';
import { JobLink, SeverityBadge } from '../components/jobs';
import { BUBills, BUBudgets, BUHealthAndBoards, BUPeopleBudgets, type BUViewer } from './BUMoney';

const PAGE = 50;

type Keys = 'bu' | 'cluster' | 'kind' | 'priority';

export const BUContextQuery = graphql(`
  query BUCentreContext($pickAny: Boolean!) {
    me {
      role
      person {
        id
        bu {
          id
          code
          name
        }
      }
    }
    bus(first: 100) @include(if: $pickAny) {
      nodes {
        id
        code
        name
        depth
      }
    }
    clusters(first: 100, orderBy: { field: NAME, direction: ASC }) {
      nodes {
        id
        name
      }
    }
  }
`);

export const BUQuery = graphql(`
  query BUCentre($code: String!) {
    bu(code: $code) {
      id
      code
      name
      jobPriorityPolicy {
        maxP0Jobs
        isDefault
      }
      clusters {
        id
        name
      }
    }
  }
`);

export const BUSeriousQuery = graphql(`
  query BUCentreSerious {
    worstJobs(by: SCORE, first: 100) {
      nodes {
        score
        worstSeverity
        wastedCoreHoursPerDay
        wastedGbHoursPerDay
        job {
          id
          name
          namespace
          bu {
            id
            parent {
              id
              parent {
                id
                parent {
                  id
                  parent {
                    id
                  }
                }
              }
            }
          }
        }
      }
    }
  }
`);

export const BUQueuesQuery = graphql(`
  query BUCentreQueues($bu: ID!) {
    jobs(filter: { bu: $bu }, first: 100) {
      pageInfo {
        hasNextPage
      }
      nodes {
        id
        queue {
          id
          path
          schedulerType
          guaranteedVcores
          maxVcores
          cluster {
            id
            name
          }
        }
      }
    }
  }
`);

export const BUJobsQuery = graphql(
  `
  query BUCentreJobs($filter: JobFilter!, $first: Int!, $after: String, $detail: Boolean!) {
    jobs(filter: $filter, first: $first, after: $after, orderBy: { field: PRIORITY, direction: ASC }) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      nodes {
        ...JobRowFields
        ...JobRowDetailFields @include(if: $detail)
        owner @include(if: $detail) {
          id
          login
        }
      }
    }
  }
`,
  [JobRowFields, JobRowDetailFields],
);

type JobFilterVars = { bu: string; cluster?: string; kind?: 'BATCH' | 'STREAMING'; priority?: (typeof PRIORITIES)[number] };

function JobsPage({ filter, after, last, detail, reader, onMore, onTotal }: { filter: JobFilterVars; after: string | null; last: boolean; detail: boolean; reader: Reader; onMore: (c: string) => void; onTotal?: (n: number) => void }) {
  const [{ data, error, fetching }] = useQuery({ query: BUJobsQuery, variables: { filter, first: PAGE, after, detail } });
  const cols = detail ? 9 : 6;
  const total = data?.jobs.totalCount;
  useEffect(() => {
    if (onTotal && total !== undefined) onTotal(total);
  }, [total]);
  if (!data)
    return (
      <tbody>
        <tr>
          <td colSpan={cols}>{error ? <ErrorPanel error={error} /> : <Loading what="Loading the jobs" />}</td>
        </tr>
      </tbody>
    );
  const c = data.jobs;
  return (
    <>
      <JobRows rows={c.nodes} reader={reader} detail={detail} showOwner={detail} />
      {c.nodes.length === 0 && after === null && (
        <tbody>
          <tr>
            <td colSpan={cols} className="empty" data-testid="bu-jobs-empty">
              No job of the BU matches the filters.
            </td>
          </tr>
        </tbody>
      )}
      {last && c.pageInfo.hasNextPage && c.pageInfo.endCursor && (
        <tbody>
          <tr>
            <td colSpan={cols} className="load-more-cell">
              <button type="button" className="btn" disabled={fetching} onClick={() => onMore(c.pageInfo.endCursor!)} data-testid="load-more">
                Load more
              </button>
            </td>
          </tr>
        </tbody>
      )}
    </>
  );
}

function Jobs({ filter, detail, reader }: { filter: JobFilterVars; detail: boolean; reader: Reader }) {
  // A new filter starts the listing again (the key resets the cursors).
  const [cursors, setCursors] = useState<Array<string | null>>([null]);
  const [total, setTotal] = useState<number | null>(null);
  return (
    <Panel
      title={
        <>
          Jobs <span className="count" data-testid="bu-job-count">{total === null ? '…' : formatNumber(total)}</span>
          <span className="muted small">the BU and its sub-BUs, highest priority first</span>
        </>
      }
    >
      <JobTable detail={detail} showOwner={detail}>
        {cursors.map((c, i) => (
          <JobsPage
            key={c ?? 'first'}
            filter={filter}
            after={c}
            last={i === cursors.length - 1}
            detail={detail}
            reader={reader}
            onMore={(next) => setCursors((l) => [...l, next])}
            onTotal={i === 0 ? setTotal : undefined}
          />
        ))}
      </JobTable>
    </Panel>
  );
}

export function BUCentre({ search, setSearch }: { search: Search<Keys>; setSearch: SetSearch<Keys> }) {
  const { session } = useSession();
  const role = session.person.role;
  const pickAny = role === 'ADMIN' || role === 'OPERATOR';
  const [{ data: ctx, error: ctxError }] = useQuery({ query: BUContextQuery, variables: { pickAny } });
  const me = ctx?.me;
  const code = (pickAny && search.bu) || me?.person.bu.code || '';
  // Runs and findings of the BU's jobs: admins and operators anywhere, a BU
  // admin in their own BU's subtree (the only BU they are shown).
  const detail = role !== 'VIEWER';
  const [{ data, error }] = useQuery({ query: BUQuery, variables: { code }, pause: !code });
  const bu = data?.bu;
  // worstJobs' bu filter is the job's own BU, not the subtree: the worst jobs
  // of the reader's scope are narrowed to the subtree here.
  const [{ data: worst }] = useQuery({ query: BUSeriousQuery, pause: !bu || !detail });
  const [{ data: queueData }] = useQuery({ query: BUQueuesQuery, variables: { bu: bu?.id ?? '' }, pause: !bu });

  const kind = isJobKind(search.kind) ? search.kind : undefined;
  const priority = isPriority(search.priority) ? search.priority : undefined;
  const clusterId = search.cluster ? ctx?.clusters.nodes.find((c) => c.name === search.cluster)?.id : undefined;
  const filter: JobFilterVars | null = bu ? { bu: bu.id, ...(clusterId ? { cluster: clusterId } : {}), ...(kind ? { kind } : {}), ...(priority ? { priority } : {}) } : null;
  const reader: Reader | null = me ? { role: me.role, personId: me.person.id, buId: me.person.bu.id } : null;

  const viewer: BUViewer | null = me && bu ? { role: me.role, personId: me.person.id, inSubtree: role === 'BU_ADMIN' && bu.id === me.person.bu.id } : null;

  const serious = (worst?.worstJobs.nodes ?? []).filter((s) => isSerious(s.worstSeverity) && !!bu && buInSubtree(s.job.bu, bu.id));
  const queues = queuesOfJobs(queueData?.jobs.nodes ?? []);

  return (
    <div className="page" data-testid="bu-page">
      <div className="page-head page-head-row">
        <div>
          <h1 className="page-title">BU centre{bu ? `: ${bu.name}` : ''}</h1>
          <div className="page-sub">
            The jobs of the BU and its sub-BUs, their priorities and findings, and the queues they run in.
            {role === 'BU_ADMIN' && ' As the BU admin you may raise or lower a job’s priority, to P0 only within the BU’s P0 limit.'}
          </div>
        </div>
        {pickAny && ctx?.bus && (
          <select value={code} onChange={(e) => setSearch({ bu: e.target.value || null })} aria-label="Business unit" data-testid="bu-select" className="bu-select">
            {ctx.bus.nodes.map((b) => (
              <option key={b.id} value={b.code}>
                {'\u00a0\u00a0'.repeat(b.depth)}
                {b.name} ({b.code})
              </option>
            ))}
          </select>
        )}
      </div>

      {ctxError && !ctx && <ErrorPanel error={ctxError} />}
      {error && !bu && <ErrorPanel error={error} />}
      {!bu && !error && !ctxError && <Loading what="Loading the BU" />}
      {role === 'VIEWER' && (
        <div className="notice" data-testid="bu-readonly">
          You see your BU’s jobs read-only: their runs, findings and owners are for the BU’s admins. Your own jobs, with their runs and findings, are in the Personal centre.
        </div>
      )}

      {bu && viewer && (
        <>
          <BUBudgets key={`budget-${bu.id}`} bu={bu} viewer={viewer} />
          {role !== 'VIEWER' ? (
            <>
              <BUPeopleBudgets key={`people-${bu.id}`} bu={bu} viewer={viewer} />
              <BUBills key={`bills-${bu.id}`} bu={bu} />
            </>
          ) : (
            <div className="notice" data-testid="bu-bills-readonly">
              The BU’s bills and its people’s budgets are for its admins; your own bill and budget are in the Personal centre.
            </div>
          )}
          <BUHealthAndBoards key={`health-${bu.id}`} bu={bu} />
        </>
      )}

      {bu && filter && reader && (
        <>
          <div className="stat-strip">
            <Stat
              label="P0 limit"
              value={formatNumber(bu.jobPriorityPolicy.maxP0Jobs)}
              sub={bu.jobPriorityPolicy.isDefault ? 'platform default' : 'set for this BU'}
              testId="stat-p0-limit"
            />
            {detail && <Stat label="Severe or critical" value={formatNumber(serious.length)} sub="jobs with such findings" testId="stat-serious" />}
            <Stat label="Clusters" value={formatNumber(bu.clusters.length)} sub="owned by the BU" />
          </div>

          <div className="filters" data-testid="bu-filters">
            <select value={search.cluster ?? ''} onChange={(e) => setSearch({ cluster: e.target.value || null })} aria-label="Filter by cluster" data-testid="cluster-filter">
              <option value="">All clusters</option>
              {ctx?.clusters.nodes.map((c) => (
                <option key={c.id} value={c.name}>
                  {c.name}
                </option>
              ))}
            </select>
            <select value={kind ?? ''} onChange={(e) => setSearch({ kind: e.target.value || null })} aria-label="Filter by kind" data-testid="kind-filter">
              <option value="">All kinds</option>
              {JOB_KINDS.map((k) => (
                <option key={k} value={k}>
                  {humanizeEnum(k)}
                </option>
              ))}
            </select>
            <select value={priority ?? ''} onChange={(e) => setSearch({ priority: e.target.value || null })} aria-label="Filter by priority" data-testid="priority-filter">
              <option value="">All priorities</option>
              {PRIORITIES.map((p) => (
                <option key={p} value={p}>
                  {p}
                </option>
              ))}
            </select>
            {(search.cluster || kind || priority) && (
              <button type="button" className="btn" onClick={() => setSearch({ cluster: null, kind: null, priority: null })}>
                Clear filters
              </button>
            )}
          </div>

          <Jobs key={JSON.stringify(filter)} filter={filter} detail={detail} reader={reader} />

          {detail && (
            <Panel
              title={
                <>
                  Findings to act on <span className="count">{formatNumber(serious.length)}</span>
                  <span className="muted small">the BU’s jobs with severe or critical findings, worst score first</span>
                </>
              }
            >
              {serious.length === 0 ? (
                <div className="empty">No job has a severe or critical finding.</div>
              ) : (
                <div className="table-wrap">
                  <table className="table" data-testid="serious-table">
                    <thead>
                      <tr>
                        <th>Job</th>
                        <th>Worst</th>
                        <th className="num">Score</th>
                        <th className="num">Wasted core-h / day</th>
                        <th className="num">Wasted GB-h / day</th>
                      </tr>
                    </thead>
                    <tbody>
                      {serious.map((s) => (
                        <tr key={s.job.id} data-testid="serious-row">
                          <td className="name-cell">
                            <JobLink job={s.job} />
                          </td>
                          <td>
                            <SeverityBadge severity={s.worstSeverity} />
                          </td>
                          <td className="num">{formatNumber(s.score, 1)}</td>
                          <td className="num">{formatNumber(s.wastedCoreHoursPerDay, 1)}</td>
                          <td className="num">{formatNumber(s.wastedGbHoursPerDay, 1)}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              )}
            </Panel>
          )}

          <Panel
            title={
              <>
                Queues the BU’s jobs run in <span className="count">{formatNumber(queues.length)}</span>
                {queueData?.jobs.pageInfo.hasNextPage && <span className="muted small">of its first 100 jobs</span>}
              </>
            }
          >
            {queues.length === 0 ? (
              <div className="empty">No job of the BU names its queue.</div>
            ) : (
              <div className="table-wrap">
                <table className="table" data-testid="queue-table">
                  <thead>
                    <tr>
                      <th>Cluster</th>
                      <th>Queue</th>
                      <th>Scheduler</th>
                      <th className="num" title="Share of the cluster's vcores">Guaranteed</th>
                      <th className="num" title="Share of the cluster's vcores">Max</th>
                      <th className="num">Jobs</th>
                    </tr>
                  </thead>
                  <tbody>
                    {queues.map((q) => (
                      <tr key={q.id} data-testid="queue-row">
                        <td>{q.cluster}</td>
                        <td>{q.path}</td>
                        <td>{humanizeEnum(q.schedulerType)}</td>
                        <td className="num">{formatPercent(q.guaranteedVcores, { ratio: true })}</td>
                        <td className="num">{formatPercent(q.maxVcores, { ratio: true })}</td>
                        <td className="num">{formatNumber(q.jobs)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </Panel>
        </>
      )}
    </div>
  );
}
