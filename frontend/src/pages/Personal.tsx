// Business centre → Personal centre: my budget this month (spend, forecast,
// the day it runs out, alerts; I may set my own), my bill by job, my health
// score with its components, my place on the leaderboards, and the jobs I own,
// highest priority first, with their last runs, worst finding and score, and
// the priority selector (an owner may lower their own job's priority; BU
// admins and admins more). Each panel has its own query, so one that fails
// leaves the others standing.
import { useMemo, useState } from 'react';
import { useQuery } from 'urql';
import { graphql } from '../graphql';
import { formatNumber } from '../lib/format';
import { formatMoney } from '../lib/money';
import { monthStart } from '../lib/budget';
import { isSerious } from '../lib/workload';
import { ErrorPanel, Link, Loading, Panel, Stat } from '../components/ui';
import { JobRowDetailFields, JobRowFields, JobRows, JobTable, type Reader } from '../components/JobTable';
import { BudgetFields, BudgetPanel } from '../components/budget';
import { HealthFields, HealthPanel } from '../components/health';
import { StandingFields, StandingPanel } from '../components/leaderboard';

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

export const MyBudgetQuery = graphql(
  `
    query MyBudget {
      me {
        person {
          id
          budget {
            ...BudgetFields
          }
        }
      }
    }
  `,
  [BudgetFields],
);

export const MyHealthQuery = graphql(
  `
    query MyHealth {
      me {
        person {
          id
          health {
            ...HealthFields
          }
          standing(period: WEEK) {
            ...StandingFields
          }
        }
      }
    }
  `,
  [HealthFields, StandingFields],
);

export const MyBillQuery = graphql(`
  query MyBill($person: ID!, $period: BillPeriodInput!) {
    bills(groupBy: JOB, period: $period, filter: { person: $person }, first: 20) {
      currency
      total
      totalCount
      csvUrl
      lines {
        entityId
        name
        amount
        usage
        idleShare
        overhead
      }
    }
  }
`);

function MyBudget({ personId }: { personId: string }) {
  const [{ data, error }, reexecute] = useQuery({ query: MyBudgetQuery });
  if (error && !data) return <ErrorPanel error={error} />;
  if (!data) return <Loading what="Loading your budget" />;
  return (
    <BudgetPanel
      title="My budget this month"
      budget={data.me.person.budget}
      owner={{ person: personId }}
      // A person may set their own budget (the server checks it again).
      canSet={data.me.person.budget ? data.me.person.budget.editable : true}
      onChanged={() => reexecute({ requestPolicy: 'network-only' })}
      testId="my-budget"
    />
  );
}

function MyBill({ personId }: { personId: string }) {
  const variables = useMemo(() => ({ person: personId, period: { unit: 'MONTH' as const, start: monthStart() } }), [personId]);
  const [{ data, error }] = useQuery({ query: MyBillQuery, variables });
  const bill = data?.bills;
  return (
    <Panel
      title={
        <>
          My bill this month by job {bill && <span className="count" data-testid="my-bill-total">{formatMoney(bill.total, bill.currency)}</span>}
        </>
      }
      actions={
        bill ? (
          <a className="btn btn-small" href={bill.csvUrl}>
            CSV
          </a>
        ) : null
      }
    >
      {error && !data && <ErrorPanel error={error} />}
      {!data && !error && <Loading what="Loading your bill" />}
      {bill && bill.lines.length === 0 && <div className="empty">Nothing billed to you this month.</div>}
      {bill && bill.lines.length > 0 && (
        <table className="table" data-testid="my-bill">
          <thead>
            <tr>
              <th>Job</th>
              <th className="num">Usage</th>
              <th className="num">Idle share</th>
              <th className="num">Overhead</th>
              <th className="num">Total ({bill.currency})</th>
            </tr>
          </thead>
          <tbody>
            {bill.lines.map((l) => (
              <tr key={l.entityId ?? l.name} data-testid="my-bill-line">
                <td>{l.entityId ? <Link to="/jobs/$id" params={{ id: l.entityId }}>{l.name}</Link> : l.name}</td>
                <td className="num">{formatMoney(l.usage)}</td>
                <td className="num">{formatMoney(l.idleShare)}</td>
                <td className="num">{formatMoney(l.overhead)}</td>
                <td className="num">
                  <strong>{formatMoney(l.amount)}</strong>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {bill && bill.totalCount > bill.lines.length && <div className="muted small">The {bill.lines.length} costliest of {formatNumber(bill.totalCount)} jobs.</div>}
    </Panel>
  );
}

function MyHealthAndStanding() {
  const [{ data, error }] = useQuery({ query: MyHealthQuery });
  if (error && !data) return <ErrorPanel error={error} />;
  if (!data) return <Loading what="Loading your health and standing" />;
  return (
    <div className="grid-2">
      <HealthPanel title="My health" health={data.me.person.health} testId="my-health" />
      <StandingPanel title="My place on the leaderboards" standing={data.me.person.standing} testId="my-standing" />
    </div>
  );
}

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
          {p ? `${p.name} (${p.login}) · ${p.bu.name}. ` : ''}Your budget, bill, health and standing, and your jobs with their priority, last runs and findings. As the owner you may lower a job's priority; raising it is for your BU admin.
        </div>
      </div>
      {error && !p && <ErrorPanel error={error} />}
      {!p && !error && <Loading what="Loading your jobs" />}
      {p && (
        <>
          <MyBudget personId={p.id} />
          <MyBill personId={p.id} />
          <MyHealthAndStanding />
        </>
      )}
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
