// Tools → Job analysis: the worst jobs in your scope, by score (Σ severity ×
// tasks) or by the resources their findings say they waste, filtered by BU and
// cluster, paged by keyset ("Load more"). Each row opens to the job's findings
// with advice and evidence; the job's owner, BU admins, operators and admins
// may analyse a job now (the server decides and its refusal is shown).
import { Fragment, useMemo, useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { graphql, type ResultOf } from '../graphql';
import { formatDateTime, formatNumber, formatRelative } from '../lib/format';
import { messageOf } from '../lib/errors';
import { useSession } from '../lib/hooks';
import { mayAnalyze, problemCount } from '../lib/jobAnalysis';
import type { Search, SetSearch } from '../app/router';
import { ErrorPanel, Loading } from '../components/ui';
import { FindingList, JobLink, SeverityBadge } from '../components/findings';
import { Segmented } from '../components/telemetry';

export const JobAnalysisChoicesQuery = graphql(`
  query JobAnalysisChoices {
    clusters(first: 100, orderBy: { field: NAME, direction: ASC }) {
      nodes {
        id
        name
      }
    }
    bus(first: 100) {
      nodes {
        id
        code
        name
        depth
      }
    }
  }
`);

export const WorstJobsQuery = graphql(`
  query WorstJobs($by: WorstJobsBy, $first: Int, $after: String, $bu: ID, $cluster: ID) {
    worstJobs(by: $by, first: $first, after: $after, bu: $bu, cluster: $cluster) {
      nodes {
        score
        worstSeverity
        wastedCoreHoursPerDay
        wastedGbHoursPerDay
        waste
        runsAnalyzed
        hoursAnalyzed
        analyzedAt
        job {
          id
          namespace
          name
          kind
          owner {
            id
            login
          }
          bu {
            id
            code
          }
          cluster {
            id
            name
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
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

export const AnalyzeJob = graphql(`
  mutation AnalyzeJob($id: ID!) {
    analyzeJob(id: $id) {
      job {
        id
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
      findings {
        heuristic
        severity
      }
      score {
        score
        worstSeverity
        waste
      }
    }
  }
`);

type Row = ResultOf<typeof WorstJobsQuery>['worstJobs']['nodes'][number];
type Keys = 'by' | 'bu' | 'cluster';
const PAGE = 25;

function AnalyzeButton({ id }: { id: string }) {
  const [{ fetching }, analyze] = useMutation(AnalyzeJob);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const go = async () => {
    setMessage(null);
    const res = await analyze({ id });
    if (res.error) {
      setMessage({ ok: false, text: messageOf(res.error) });
      return;
    }
    const p = res.data?.analyzeJob;
    const n = p ? problemCount(p.findings) : 0;
    setMessage({
      ok: true,
      text: p?.score ? `Analysed: score ${formatNumber(p.score.score, 1)}, ${n} finding${n === 1 ? '' : 's'} to act on.` : 'Analysed: too little data to score the job.',
    });
  };
  return (
    <span className="run-action">
      <button type="button" className="btn btn-small" onClick={go} disabled={fetching} data-testid="analyze-job">
        {fetching ? 'Analysing…' : 'Analyze'}
      </button>
      {message && (
        <span className={message.ok ? 'action-ok' : 'action-error'} role={message.ok ? 'status' : 'alert'} data-testid={message.ok ? 'action-ok' : 'action-error'}>
          {message.text}
        </span>
      )}
    </span>
  );
}

function JobRow({ r, rank, open, onToggle, canAnalyze }: { r: Row; rank: number; open: boolean; onToggle: () => void; canAnalyze: boolean }) {
  const j = r.job;
  const problems = problemCount(j.findings);
  return (
    <Fragment>
      <tr data-testid="worst-row" data-job={j.name} data-score={r.score} data-waste={r.waste}>
        <td className="num muted">{rank}</td>
        <td>
          <button type="button" className="linklike expander" onClick={onToggle} aria-expanded={open} aria-label={open ? 'Hide findings' : 'Show findings'} data-testid="toggle-findings">
            {open ? '▾' : '▸'}
          </button>{' '}
          <JobLink id={j.id}>{j.name}</JobLink>
          <div className="muted small">
            {j.namespace}
            {j.cluster && j.cluster.name !== j.namespace ? ` · ${j.cluster.name}` : ''}
            {j.bu ? ` · ${j.bu.code}` : ''}
          </div>
        </td>
        <td>{j.owner?.login ?? <span className="muted">—</span>}</td>
        <td>
          <SeverityBadge severity={r.worstSeverity} />
          <div className="muted small">
            {problems} finding{problems === 1 ? '' : 's'}
          </div>
        </td>
        <td className="num" data-testid="worst-score">
          {formatNumber(r.score, 1)}
        </td>
        <td className="num">{formatNumber(r.wastedCoreHoursPerDay, 1)}</td>
        <td className="num">{formatNumber(r.wastedGbHoursPerDay, 1)}</td>
        <td className="nowrap small" title={formatDateTime(r.analyzedAt)}>
          {formatRelative(r.analyzedAt)}
          <div className="muted">{r.runsAnalyzed > 0 ? `${r.runsAnalyzed} runs` : `${r.hoursAnalyzed} hours`}</div>
        </td>
        <td>{canAnalyze && <AnalyzeButton id={j.id} />}</td>
      </tr>
      {open && (
        <tr className="expanded-row" data-testid="findings-row">
          <td />
          <td colSpan={8}>
            <FindingList findings={j.findings} testId="job-findings" />
          </td>
        </tr>
      )}
    </Fragment>
  );
}

/** One keyset page of the ranking; the last page shown offers the next. */
function WorstPage({
  variables,
  after,
  offset,
  last,
  onMore,
  expanded,
  toggle,
}: {
  variables: { by: 'SCORE' | 'WASTE'; bu?: string; cluster?: string };
  after: string | null;
  offset: number;
  last: boolean;
  onMore: (cursor: string) => void;
  expanded: Set<string>;
  toggle: (id: string) => void;
}) {
  const { session } = useSession();
  const [{ data, error, fetching }] = useQuery({ query: WorstJobsQuery, variables: { ...variables, first: PAGE, after } });
  const rows = data?.worstJobs.nodes ?? [];
  const info = data?.worstJobs.pageInfo;
  return (
    <>
      {rows.map((r, i) => (
        <JobRow
          key={r.job.id}
          r={r}
          rank={offset + i + 1}
          open={expanded.has(r.job.id)}
          onToggle={() => toggle(r.job.id)}
          canAnalyze={mayAnalyze(session.person.role, session.person.login, r.job.owner?.login)}
        />
      ))}
      {(error || (fetching && !data) || (last && info?.hasNextPage) || (offset === 0 && data && rows.length === 0)) && (
        <tr>
          <td colSpan={9}>
            {error && <ErrorPanel error={error} />}
            {fetching && !data && <Loading what="Loading jobs" />}
            {offset === 0 && data && rows.length === 0 && (
              <div className="empty" data-testid="worst-empty">
                No analysed job in your scope matches: the analysis runs every 10 minutes over jobs with finished runs.
              </div>
            )}
            {last && info?.hasNextPage && info.endCursor && (
              <button type="button" className="btn" onClick={() => onMore(info.endCursor!)} data-testid="load-more">
                Load more
              </button>
            )}
          </td>
        </tr>
      )}
    </>
  );
}

export function JobAnalysis({ search, setSearch }: { search: Search<Keys>; setSearch: SetSearch<Keys> }) {
  const by = search.by === 'WASTE' ? 'WASTE' : 'SCORE';
  const [{ data: choices, error: choicesError }] = useQuery({ query: JobAnalysisChoicesQuery });
  const bus = useMemo(() => [...(choices?.bus.nodes ?? [])].sort((a, b) => a.code.localeCompare(b.code)), [choices]);
  const clusters = choices?.clusters.nodes ?? [];
  const buId = search.bu ? bus.find((b) => b.code === search.bu)?.id : undefined;
  const clusterId = search.cluster ? clusters.find((c) => c.name === search.cluster)?.id : undefined;
  const waiting = Boolean(search.bu || search.cluster) && !choices;
  const unknown = Boolean(choices) && ((search.bu && !buId) || (search.cluster && !clusterId));
  const variables = useMemo(() => ({ by, ...(buId ? { bu: buId } : {}), ...(clusterId ? { cluster: clusterId } : {}) }) as const, [by, buId, clusterId]);
  const listKey = JSON.stringify(variables);
  // The cursors of the pages shown, for this listing only (a filter change starts over).
  const [pages, setPages] = useState<{ key: string; cursors: (string | null)[] }>({ key: listKey, cursors: [null] });
  const cursors = pages.key === listKey ? pages.cursors : [null];
  const [expanded, setExpanded] = useState<Set<string>>(new Set());
  const toggle = (id: string) =>
    setExpanded((s) => {
      const n = new Set(s);
      if (n.has(id)) n.delete(id);
      else n.add(id);
      return n;
    });

  return (
    <div className="page" data-testid="jobs-page">
      <div className="page-head">
        <h1 className="page-title">Job analysis</h1>
        <div className="page-sub">
          The worst jobs in your scope, from their last 20 runs (streaming jobs: their last week of hours): by score (severity × tasks, as Dr. Elephant) or by what their
          findings say they waste a day. Open a row for the findings, their evidence and what to change.
        </div>
      </div>
      <div className="filters">
        <Segmented
          label="Rank by"
          value={by}
          options={[
            { value: 'SCORE', label: 'By score', title: 'Σ severity × tasks' },
            { value: 'WASTE', label: 'By waste', title: 'Core-hours plus GB-hours / 4 a day' },
          ]}
          onChange={(b) => setSearch({ by: b === 'SCORE' ? null : b })}
          testId="rank-by"
        />
        <select value={search.bu ?? ''} onChange={(e) => setSearch({ bu: e.target.value || null })} aria-label="Filter by BU" data-testid="bu-filter">
          <option value="">All BUs</option>
          {search.bu && !bus.some((b) => b.code === search.bu) && <option value={search.bu}>{search.bu}</option>}
          {bus.map((b) => (
            <option key={b.id} value={b.code}>
              {'\u00a0'.repeat(b.depth * 2)}
              {b.code} — {b.name}
            </option>
          ))}
        </select>
        <select value={search.cluster ?? ''} onChange={(e) => setSearch({ cluster: e.target.value || null })} aria-label="Filter by cluster" data-testid="cluster-filter">
          <option value="">All clusters</option>
          {search.cluster && !clusters.some((c) => c.name === search.cluster) && <option value={search.cluster}>{search.cluster}</option>}
          {clusters.map((c) => (
            <option key={c.id} value={c.name}>
              {c.name}
            </option>
          ))}
        </select>
        {(search.bu || search.cluster) && (
          <button type="button" className="btn" onClick={() => setSearch({ bu: null, cluster: null })}>
            Clear filters
          </button>
        )}
      </div>
      {choicesError && <ErrorPanel error={choicesError} />}
      {unknown && <div className="empty">There is no {search.bu && !buId ? `BU ${search.bu}` : `cluster ${search.cluster}`}.</div>}
      {!waiting && !unknown && (
        <div className="table-wrap">
          <table className="table worst-jobs" data-testid="worst-jobs">
            <thead>
              <tr>
                <th className="num">#</th>
                <th>Job</th>
                <th>Owner</th>
                <th>Worst</th>
                <th className="num" title="Σ severity (0..4) × the median task count of the analysed runs">
                  Score
                </th>
                <th className="num" title="Core-hours a day following the advice would save">
                  Wasted core-h/day
                </th>
                <th className="num" title="GB-hours a day (GB = 2^30 bytes) following the advice would save">
                  Wasted GB-h/day
                </th>
                <th>Analysed</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {cursors.map((after, i) => (
                <WorstPage
                  key={`${listKey}:${after ?? ''}`}
                  variables={variables}
                  after={after}
                  offset={i * PAGE}
                  last={i === cursors.length - 1}
                  onMore={(c) => setPages({ key: listKey, cursors: [...cursors, c] })}
                  expanded={expanded}
                  toggle={toggle}
                />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
