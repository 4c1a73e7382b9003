// Business centre → Personal centre: the jobs I own, highest priority first,
// with their last runs, worst finding and score, and the priority selector
// (an owner may lower their own job's priority; BU admins and admins more).
import { useState } from 'react';
import { useQuery } from 'urql';
import { graphql } from '../graphql';
import { formatNumber } from '../lib/format';
import { isSerious } from '../lib/workload';
import { ErrorPanel, Loading, Panel, Stat } from '../components/ui';
import { JobRowDetailFields, JobRowFields, JobRows, JobTable, type Reader } from '../components/JobTable';

const PAGE = 50;

export const MyJobsQuery = graphql(
  `
  query MyJobs($first: Int!, $after: String) {
    me {
      role
      person {
        id
        login
        name
        bu {
          id
          code
          name
        }
        jobs(first: $first, after: $after, orderBy: { field: PRIORITY, direction: ASC }) {
          totalCount
          pageInfo {
            hasNextPage
            endCursor
          }
          nodes {
            ...JobRowFields
            ...JobRowDetailFields
            owner {
              id
              login
            }
          }
        }
      }
    }
  }
`,
  [JobRowFields, JobRowDetailFields],
);

/** One page of my jobs; the last page offers the next. */
function MyJobsPage({ after, last, onMore }: { after: string | null; last: boolean; onMore: (cursor: string) => void }) {
  const [{ data, error, fetching }] = useQuery({ query: MyJobsQuery, variables: { first: PAGE, after } });
  const p = data?.me.person;
  if (error && !p) return <tbody><tr><td colSpan={9}><ErrorPanel error={error} /></td></tr></tbody>;
  if (!p) return <tbody><tr><td colSpan={9}><Loading what="Loading your jobs" /></td></tr></tbody>;
  const reader: Reader = { role: data.me.role, personId: p.id, buId: p.bu.id };
  return (
    <>
      <JobRows rows={p.jobs.nodes} reader={reader} detail />
      {last && p.jobs.pageInfo.hasNextPage && p.jobs.pageInfo.endCursor && (
        <tbody>
          <tr>
            <td colSpan={9} className="load-more-cell">
              <button type="button" className="btn" disabled={fetching} onClick={() => onMore(p.jobs.pageInfo.endCursor!)} data-testid="load-more">
                Load more
              </button>
            </td>
          </tr>
        </tbody>
      )}
    </>
  );
}

export function Personal() {
  const [cursors, setCursors] = useState<Array<string | null>>([null]);
  // The first page's figures for the head (read from the same cached query).
  const [{ data, error }] = useQuery({ query: MyJobsQuery, variables: { first: PAGE, after: null } });
  const p = data?.me.person;
  const total = p?.jobs.totalCount ?? 0;
  const serious = p?.jobs.nodes.filter((j) => isSerious(j.score?.worstSeverity)).length ?? 0;

  return (
    <div className="page" data-testid="personal-page">
      <div className="page-head">
        <h1 className="page-title">Personal centre</h1>
        <div className="page-sub">
          {p ? `${p.name} (${p.login}) · ${p.bu.name}. ` : ''}Your jobs with their priority, last runs and findings. As the owner you may lower a job's priority; raising it is for your BU admin.
        </div>
      </div>
      {error && !p && <ErrorPanel error={error} />}
      {!p && !error && <Loading what="Loading your jobs" />}
      {p && total === 0 && (
        <div className="empty empty-big" data-testid="personal-empty">
          You own no jobs. Jobs are yours when their OpenLineage events name you as owner, or when an admin assigns them.
        </div>
      )}
      {p && total > 0 && (
        <>
          <div className="stat-strip">
            <Stat label="My jobs" value={formatNumber(total)} testId="stat-my-jobs" />
            <Stat label="Severe or critical" value={formatNumber(serious)} sub={p.jobs.pageInfo.hasNextPage ? 'on the first page' : 'findings to act on'} />
          </div>
          <Panel
            title={
              <>
                My jobs <span className="count">{formatNumber(total)}</span>
                <span className="muted small">highest priority first; dots are the last runs, newest first</span>
              </>
            }
          >
            <JobTable detail>
              {cursors.map((c, i) => (
                <MyJobsPage key={c ?? 'first'} after={c} last={i === cursors.length - 1} onMore={(next) => setCursors((l) => [...l, next])} />
              ))}
            </JobTable>
          </Panel>
        </>
      )}
    </div>
  );
}
