// A job: its facts and priority (a selector where the rules allow a change),
// its runs over time and in a paged table, its findings with advice and
// evidence, its score and waste, "Analyze now" for those the server lets
// analyse it, and its lineage. Runs, findings and the score are read only by
// the owner, BU admins of its BU and operators: others see the facts and the
// lineage.
import { useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { graphql } from '../graphql';
import { messageOf } from '../lib/errors';
import { formatBytes, formatDateTime, formatDuration, formatNumber, formatRelative, humanizeEnum } from '../lib/format';
import { buInSubtree, RUN_STATE_COLOR, runDuration, runsChartOption, usedOfRequested } from '../lib/workload';
import { ErrorPanel, Loading, Panel, Stat } from '../components/ui';
import { Chart } from '../components/LazyChart';
import { PriorityControl, SeverityBadge } from '../components/jobs';
import { JobRowFields } from '../components/JobTable';
import { LineageGraph } from '../components/LineageGraph';
import { JobHealth } from '../components/health';

export const JobHeadQuery = graphql(
  `
  query JobHead($id: ID!) {
    me {
      role
      person {
        id
        bu {
          id
        }
      }
    }
    job(id: $id) {
      ...JobRowFields
      schedule
      description
      owner {
        id
        login
        name
      }
      bu {
        id
        name
      }
    }
  }
`,
  [JobRowFields],
);

const FindingFields = graphql(`
  fragment JobFindingFields on JobFinding {
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
`);

const ScoreFields = graphql(`
  fragment JobScoreFields on JobScore {
    score
    worstSeverity
    waste
    wastedCoreHoursPerDay
    wastedGbHoursPerDay
    runsAnalyzed
    hoursAnalyzed
    analyzedAt
  }
`);

export const JobDetailQuery = graphql(
  `
  query JobDetail($id: ID!) {
    job(id: $id) {
      id
      findings {
        ...JobFindingFields
      }
      score {
        ...JobScoreFields
      }
      runs(first: 100) {
        totalCount
        nodes {
          id
          state
          startedAt
          endedAt
          requestedCoreSeconds
          usedCoreSeconds
          requestedMemoryByteSeconds
          usedMemoryByteSeconds
        }
      }
    }
  }
`,
  [FindingFields, ScoreFields],
);

export const JobRunsQuery = graphql(`
  query JobRuns($id: ID!, $after: String) {
    job(id: $id) {
      id
      runs(first: 20, after: $after) {
        totalCount
        pageInfo {
          hasNextPage
          endCursor
        }
        nodes {
          id
          runId
          state
          startedAt
          endedAt
          attempts
          requestedCoreSeconds
          usedCoreSeconds
          requestedMemoryByteSeconds
          usedMemoryByteSeconds
          peakMemoryBytes
          queueWaitSeconds
          taskCount
        }
      }
    }
  }
`);

export const AnalyzeJob = graphql(
  `
  mutation AnalyzeJob($id: ID!) {
    analyzeJob(id: $id) {
      job {
        id
        findings {
          ...JobFindingFields
        }
        score {
          ...JobScoreFields
        }
      }
      findings {
        severity
      }
    }
  }
`,
  [FindingFields, ScoreFields],
);

function AnalyzeButton({ id }: { id: string }) {
  const [{ fetching }, run] = useMutation(AnalyzeJob);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const go = async () => {
    setError(null);
    setDone(null);
    const res = await run({ id });
    if (res.error) setError(messageOf(res.error));
    else setDone(`Analysed: ${formatNumber(res.data?.analyzeJob.findings.length ?? 0)} findings.`);
  };
  return (
    <div className="run-action">
      <button type="button" className="btn btn-primary" onClick={go} disabled={fetching} data-testid="analyze-job">
        {fetching ? 'Analysing…' : 'Analyze now'}
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

function RunsTable({ id }: { id: string }) {
  // Keyset paging forward; the cursors walked so far let Previous go back.
  const [cursors, setCursors] = useState<Array<string | null>>([null]);
  const after = cursors[cursors.length - 1];
  const [{ data, error, fetching }] = useQuery({ query: JobRunsQuery, variables: { id, after } });
  const runs = data?.job?.runs;
  if (error && !runs) return <ErrorPanel error={error} />;
  if (!runs) return <Loading what="Loading the runs" />;
  if (runs.totalCount === 0) return <div className="empty">No run yet.</div>;
  return (
    <>
      <div className="table-wrap">
        <table className="table" data-testid="runs-table">
          <thead>
            <tr>
              <th>Started</th>
              <th>State</th>
              <th className="num">Duration</th>
              <th className="num">Queue wait</th>
              <th className="num">Attempts</th>
              <th className="num">Tasks</th>
              <th className="num">Cores used</th>
              <th className="num">Memory used</th>
              <th className="num">Peak memory</th>
            </tr>
          </thead>
          <tbody>
            {runs.nodes.map((r) => (
              <tr key={r.id} data-testid="run-row" data-state={r.state}>
                <td className="nowrap" title={r.runId}>
                  {r.startedAt ? formatDateTime(r.startedAt) : <span className="muted">not started</span>}
                </td>
                <td className="nowrap">
                  <span className="run-dot" style={{ background: RUN_STATE_COLOR[r.state] }} /> {humanizeEnum(r.state)}
                </td>
                <td className="num">{formatDuration(runDuration(r))}</td>
                <td className="num">{formatDuration(r.queueWaitSeconds)}</td>
                <td className="num">{r.attempts}</td>
                <td className="num">{formatNumber(r.taskCount)}</td>
                <td className="num">{usedOfRequested(r.usedCoreSeconds, r.requestedCoreSeconds, 'core')}</td>
                <td className="num">{usedOfRequested(r.usedMemoryByteSeconds, r.requestedMemoryByteSeconds, 'memory')}</td>
                <td className="num">{formatBytes(r.peakMemoryBytes)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div className="pager">
        <div className="pager-info">
          Page {cursors.length} · {formatNumber(runs.totalCount)} runs
        </div>
        <button type="button" className="btn" disabled={cursors.length < 2 || fetching} onClick={() => setCursors((l) => l.slice(0, -1))} data-testid="page-prev">
          ‹ Newer
        </button>
        <button
          type="button"
          className="btn"
          disabled={!runs.pageInfo.hasNextPage || !runs.pageInfo.endCursor || fetching}
          onClick={() => setCursors((l) => [...l, runs.pageInfo.endCursor!])}
          data-testid="page-next"
        >
          Older ›
        </button>
      </div>
    </>
  );
}

function Detail({ id, canAnalyze }: { id: string; canAnalyze: boolean }) {
  const [{ data, error }] = useQuery({ query: JobDetailQuery, variables: { id } });
  const job = data?.job;
  if (error && !job) return <ErrorPanel error={error} />;
  if (!job) return <Loading what="Loading the runs and findings" />;
  const s = job.score;
  const runs = job.runs?.nodes ?? [];
  return (
    <>
      <div className="stat-strip" data-testid="job-score">
        <Stat label="Score" value={s ? formatNumber(s.score, 1) : '—'} sub={s ? `${s.runsAnalyzed} runs / ${s.hoursAnalyzed} h analysed` : 'not analysed yet'} testId="stat-score" />
        <Stat label="Worst finding" value={<SeverityBadge severity={s?.worstSeverity} />} />
        <Stat label="Wasted cores" value={s ? `${formatNumber(s.wastedCoreHoursPerDay, 1)} core-h` : '—'} sub="per day" />
        <Stat label="Wasted memory" value={s ? `${formatNumber(s.wastedGbHoursPerDay, 1)} GB-h` : '—'} sub="per day" />
        <Stat label="Analysed" value={s ? formatRelative(s.analyzedAt) : '—'} sub={s ? formatDateTime(s.analyzedAt) : undefined} />
      </div>

      <Panel
        title={
          <>
            Findings <span className="count">{formatNumber(job.findings.length)}</span>
            <span className="muted small">worst first, with what to change</span>
          </>
        }
        actions={canAnalyze ? <AnalyzeButton id={id} /> : undefined}
      >
        {job.findings.length === 0 ? (
          <div className="empty" data-testid="findings-empty">
            {s ? 'No finding: the last analysis found nothing to change.' : 'Not analysed yet: the job analysis runs on a schedule' + (canAnalyze ? '; analyse it now with the button.' : '.')}
          </div>
        ) : (
          <ul className="finding-list" data-testid="findings">
            {job.findings.map((f) => (
              <li key={f.heuristic} className="finding" data-testid="finding" data-heuristic={f.heuristic} data-severity={f.severity}>
                <div className="finding-head">
                  <SeverityBadge severity={f.severity} /> <strong>{humanizeEnum(f.heuristic)}</strong>
                  <span className="muted small"> · {formatRelative(f.analyzedAt)}</span>
                </div>
                <div className="finding-advice">{f.advice}</div>
                {f.evidence.length > 0 && (
                  <dl className="evidence">
                    {f.evidence.map((e) => (
                      <div key={e.key} className="fact">
                        <dt>{humanizeEnum(e.key)}</dt>
                        <dd>
                          {formatNumber(e.value, Math.abs(e.value) < 10 ? 2 : 1)} {e.unit}
                        </dd>
                      </div>
                    ))}
                  </dl>
                )}
              </li>
            ))}
          </ul>
        )}
      </Panel>

      <Panel
        title={
          <>
            Runs over time <span className="muted small">the last {formatNumber(runs.length)} runs: duration coloured by state; core-hours and GB-hours used against requested</span>
          </>
        }
      >
        {!job.runs && error ? (
          <ErrorPanel error={error} />
        ) : runs.length === 0 ? (
          <div className="empty">No run yet.</div>
        ) : (
          <>
            <Chart option={runsChartOption(runs)} height={420} testId="runs-chart" ariaLabel={`Durations and usage of ${runs.length} runs`} />
            <div className="run-legend small">
              {Object.entries(RUN_STATE_COLOR).map(([k, c]) => (
                <span key={k}>
                  <span className="run-dot" style={{ background: c }} /> {humanizeEnum(k)}
                </span>
              ))}
            </div>
          </>
        )}
      </Panel>

      <Panel title="Runs">
        <RunsTable id={id} />
      </Panel>
    </>
  );
}

export function JobPage({ id }: { id: string }) {
  const [{ data, error }] = useQuery({ query: JobHeadQuery, variables: { id } });
  const job = data?.job;
  if (!data) return error ? <ErrorPanel error={error} /> : <Loading what="Loading the job" />;
  if (!job) return <div className="empty empty-big">There is no job with id {id}.</div>;

  const me = data.me;
  const isOwner = !!job.owner && job.owner.id === me.person.id;
  const inSubtree = buInSubtree(job.bu, me.person.bu.id);
  const actor = { role: me.role, isOwner, inBuSubtree: inSubtree };
  // Runs, findings and the score: the owner, BU admins of the job's BU subtree, operators.
  const canRead = isOwner || me.role === 'OPERATOR' || me.role === 'ADMIN' || (me.role === 'BU_ADMIN' && inSubtree);

  return (
    <div className="page" data-testid="job-page" data-job={job.name}>
      <div className="page-head">
        <h1 className="page-title">{job.name}</h1>
        <div className="page-sub">{job.description || `${humanizeEnum(job.kind)} job in ${job.namespace}`}</div>
      </div>
      <Panel>
        <dl className="facts" data-testid="job-facts">
          <div className="fact">
            <dt>Namespace</dt>
            <dd>{job.namespace}</dd>
          </div>
          <div className="fact">
            <dt>Owner</dt>
            <dd data-testid="job-owner">{job.owner ? `${job.owner.name} (${job.owner.login})` : <span className="muted">not known or not yours to read</span>}</dd>
          </div>
          <div className="fact">
            <dt>BU</dt>
            <dd>{job.bu ? `${job.bu.name} (${job.bu.code})` : '—'}</dd>
          </div>
          <div className="fact">
            <dt>Cluster</dt>
            <dd>{job.cluster?.name ?? '—'}</dd>
          </div>
          <div className="fact">
            <dt>Queue</dt>
            <dd>{job.queue?.path ?? '—'}</dd>
          </div>
          <div className="fact">
            <dt>Kind</dt>
            <dd>{humanizeEnum(job.kind)}</dd>
          </div>
          <div className="fact">
            <dt>Schedule</dt>
            <dd>{job.schedule || <span className="muted">none known</span>}</dd>
          </div>
          <div className="fact">
            <dt>Priority</dt>
            <dd>
              <PriorityControl job={job} actor={actor} />
            </dd>
          </div>
        </dl>
      </Panel>

      {canRead && <JobHealth id={job.id} />}

      {canRead ? (
        <Detail id={job.id} canAnalyze={canRead} />
      ) : (
        <div className="notice" data-testid="job-no-runs">
          Runs, findings and the score of this job are for its owner, the admins of its BU and operators.
        </div>
      )}

      <Panel
        title={
          <>
            Lineage <span className="muted small">datasets it reads and writes, and the jobs up- and downstream</span>
          </>
        }
      >
        <LineageGraph key={job.id} start={job.id} />
      </Panel>
    </div>
  );
}
