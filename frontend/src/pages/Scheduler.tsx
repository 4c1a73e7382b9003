// Platform operations → Scheduler: the periodic analytics jobs, their schedule,
// last run (with its error highlighted), last success and recent runs.
import { Fragment, useCallback, useEffect, useState } from 'react';
import { useQuery } from 'urql';
import { graphql, type ResultOf } from '../graphql';
import { formatDateTime, formatNumber, formatRelative } from '../lib/format';
import { failureRate, formatGoDuration, JOB_HEALTH_LABEL, JOB_HEALTH_TONE, jobHealth, type JobHealth } from '../lib/scheduler';
import { Badge, ErrorPanel, Loading, Panel, Stat } from '../components/ui';
import { useTicker } from '../components/telemetry';

const REFRESH_MS = 30_000;

const RunFields = graphql(`
  fragment RunFields on SchedulerRun {
    id
    job
    replica
    startedAt
    finishedAt
    duration
    rows
    error
  }
`);

export const SchedulerJobsQuery = graphql(
  `
    query SchedulerJobs {
      schedulerJobs {
        name
        description
        interval
        timeout
        lastRun {
          ...RunFields
        }
        lastSuccess {
          id
          startedAt
          finishedAt
        }
        runs(first: 10) {
          ...RunFields
        }
      }
    }
  `,
  [RunFields],
);

type SchedulerJob = ResultOf<typeof SchedulerJobsQuery>['schedulerJobs'][number];
type SchedulerRun = ResultOf<typeof RunFields>;

function RunDots({ runs }: { runs: SchedulerRun[] }) {
  // Oldest on the left, like a timeline.
  const ordered = [...runs].sort((a, b) => a.startedAt.localeCompare(b.startedAt));
  return (
    <span className="run-dots" aria-label={`${runs.length} recent runs`}>
      {ordered.map((r) => (
        <span
          key={r.id}
          className={`run-dot ${!r.finishedAt ? 'run-running' : r.error ? 'run-failed' : 'run-ok'}`}
          title={`${formatDateTime(r.startedAt, true)} · ${r.finishedAt ? formatGoDuration(r.duration) : 'running'}${r.error ? ` · ${r.error}` : ''}`}
        />
      ))}
    </span>
  );
}

function RunsTable({ runs }: { runs: SchedulerRun[] }) {
  if (!runs.length) return <div className="empty">No runs recorded.</div>;
  return (
    <table className="table runs-table">
      <thead>
        <tr>
          <th>Started</th>
          <th>Replica</th>
          <th className="num">Duration</th>
          <th className="num">Rows</th>
          <th>Result</th>
        </tr>
      </thead>
      <tbody>
        {runs.map((r) => (
          <tr key={r.id} className={r.error ? 'row-bad' : ''}>
            <td title={formatRelative(r.startedAt)}>{formatDateTime(r.startedAt, true)}</td>
            <td className="mono">{r.replica}</td>
            <td className="num">{r.finishedAt ? formatGoDuration(r.duration) : <span className="muted">running</span>}</td>
            <td className="num">{formatNumber(r.rows)}</td>
            <td>{r.error ? <span className="error-text mono">{r.error}</span> : r.finishedAt ? <Badge tone="good">OK</Badge> : <Badge tone="info">Running</Badge>}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function Scheduler() {
  const [{ data, error, fetching: loading }, reexecute] = useQuery({ query: SchedulerJobsQuery });
  const refetch = useCallback(() => reexecute({ requestPolicy: 'network-only' }), [reexecute]);
  const now = useTicker(5000);
  const [open, setOpen] = useState<string | null>(null);
  useEffect(() => {
    const id = setInterval(refetch, REFRESH_MS);
    return () => clearInterval(id);
  }, [refetch]);

  const jobs = data?.schedulerJobs ?? [];
  const health = new Map<string, JobHealth>(jobs.map((j) => [j.name, jobHealth(j, now)]));
  const count = (h: JobHealth) => jobs.filter((j) => health.get(j.name) === h).length;
  // Problems first, then by name.
  const rank: Record<JobHealth, number> = { FAILING: 0, OVERDUE: 1, RUNNING: 2, NEVER_RAN: 3, OK: 4 };
  const ordered = [...jobs].sort((a, b) => rank[health.get(a.name)!] - rank[health.get(b.name)!] || a.name.localeCompare(b.name));

  return (
    <div className="page" data-testid="scheduler-page">
      <div className="page-head">
        <h1 className="page-title">Scheduler</h1>
        <div className="page-sub">Periodic analytics jobs (rollups, forecasts, scores). Each run executes on one replica, elected through a Postgres advisory lock.</div>
      </div>
      {error && <ErrorPanel error={error} onRetry={refetch} />}
      {!data && loading && <Loading what="Loading jobs" />}
      {data && (
        <>
          <div className="stat-strip" data-testid="scheduler-summary">
            <Stat label="Jobs" value={formatNumber(jobs.length)} />
            <Stat label="OK" value={<span className="tone-good-text">{formatNumber(count('OK'))}</span>} />
            <Stat label="Failing" value={<span className={count('FAILING') ? 'tone-bad-text' : ''}>{formatNumber(count('FAILING'))}</span>} />
            <Stat label="Overdue" value={<span className={count('OVERDUE') ? 'tone-warn-text' : ''}>{formatNumber(count('OVERDUE'))}</span>} />
            <Stat label="Running" value={formatNumber(count('RUNNING'))} />
          </div>
          <Panel
            title={
              <>
                Jobs <span className="count">{formatNumber(jobs.length)}</span>
                <span className="muted small">refreshes every {REFRESH_MS / 1000}s · click a job for its runs</span>
                {loading && <span className="spinner" aria-label="Refreshing" />}
              </>
            }
          >
            <div className="table-wrap">
              <table className="table scheduler-table" data-testid="scheduler-table">
                <thead>
                  <tr>
                    <th>Job</th>
                    <th>Status</th>
                    <th>Every</th>
                    <th>Timeout</th>
                    <th>Last run</th>
                    <th className="num">Duration</th>
                    <th className="num">Rows</th>
                    <th>Last success</th>
                    <th>Recent runs</th>
                  </tr>
                </thead>
                <tbody>
                  {ordered.map((j: SchedulerJob) => {
                    const h = health.get(j.name)!;
                    const fr = failureRate(j.runs);
                    const isOpen = open === j.name;
                    return (
                      <Fragment key={j.name}>
                        <tr className={`job-row${h === 'FAILING' ? ' row-bad' : ''}${isOpen ? ' selected' : ''}`} onClick={() => setOpen(isOpen ? null : j.name)} data-testid="job-row" data-job={j.name} data-health={h}>
                          <td>
                            <div className="job-name">
                              <span className="caret" aria-hidden="true">
                                {isOpen ? '▾' : '▸'}
                              </span>
                              <span className="mono strong">{j.name}</span>
                            </div>
                            <div className="job-desc">{j.description}</div>
                          </td>
                          <td>
                            <Badge tone={JOB_HEALTH_TONE[h]}>{JOB_HEALTH_LABEL[h]}</Badge>
                          </td>
                          <td className="nowrap">{formatGoDuration(j.interval)}</td>
                          <td className="nowrap muted">{formatGoDuration(j.timeout)}</td>
                          <td className="nowrap" title={formatDateTime(j.lastRun?.startedAt, true)}>
                            {j.lastRun ? (
                              <>
                                {formatRelative(j.lastRun.startedAt, now)} <span className="muted small mono">on {j.lastRun.replica}</span>
                              </>
                            ) : (
                              <span className="muted">never</span>
                            )}
                          </td>
                          <td className="num">{j.lastRun?.finishedAt ? formatGoDuration(j.lastRun.duration) : j.lastRun ? <span className="muted">running</span> : '—'}</td>
                          <td className="num">{j.lastRun ? formatNumber(j.lastRun.rows) : '—'}</td>
                          <td className={`nowrap ${h === 'FAILING' ? 'tone-warn-text' : ''}`} title={formatDateTime(j.lastSuccess?.startedAt, true)}>
                            {j.lastSuccess ? formatRelative(j.lastSuccess.startedAt, now) : <span className="muted">never</span>}
                          </td>
                          <td className="nowrap">
                            <RunDots runs={j.runs} />
                            {fr !== null && fr > 0 && <span className="muted small"> {Math.round(fr * 100)}% failed</span>}
                          </td>
                        </tr>
                        {j.lastRun?.error && (
                          <tr className="error-row" data-testid="job-error">
                            <td colSpan={9}>
                              <span className="error-label">Last error</span>
                              <span className="error-text mono">{j.lastRun.error}</span>
                            </td>
                          </tr>
                        )}
                        {isOpen && (
                          <tr className="runs-row">
                            <td colSpan={9}>
                              <RunsTable runs={j.runs} />
                            </td>
                          </tr>
                        )}
                      </Fragment>
                    );
                  })}
                  {!jobs.length && (
                    <tr>
                      <td colSpan={9} className="empty">
                        No scheduled jobs are registered.
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
