// The BU centre's money, health and leaderboard panels: the BU's budget with
// its sub-BUs' spend and budgets, its people's budgets, its bills by person,
// job and cluster, its health score and its place on the leaderboards. A BU
// admin (of this BU's subtree) and an ADMIN set, change and delete the BU's,
// its sub-BUs' and its people's budgets here; others see them read-only. Each
// panel has its own query, so one that fails leaves the others standing.
import { useMemo, useState } from 'react';
import { useQuery } from 'urql';
import { graphql } from '../graphql';
import { budgetTone, canSetBudget, monthStart, runsOutText } from '../lib/budget';
import { formatNumber } from '../lib/format';
import { formatMoney } from '../lib/money';
import { Badge, ErrorPanel, Loading, Panel } from '../components/ui';
import { BudgetFields, BudgetForm, BudgetPanel } from '../components/budget';
import { HealthFields, HealthPanel } from '../components/health';
import { LeaderboardFields, LeaderboardList, StandingFields, StandingPanel, type LeaderboardView } from '../components/leaderboard';

export const BUBudgetQuery = graphql(
  `
    query BUBudget($code: String!) {
      bu(code: $code) {
        id
        budget {
          ...BudgetFields
          children {
            spend
            bu {
              id
              code
              name
            }
            budget {
              id
              amount
              thresholds
              webhookUrl
              spendPercent
              editable
            }
          }
        }
      }
    }
  `,
  [BudgetFields],
);

export const BUPeopleBudgetsQuery = graphql(`
  query BUPeopleBudgets($bu: ID!, $canEdit: Boolean!) {
    budgets(filter: { bu: $bu, ownerKind: PERSON }, first: 30) {
      totalCount
      edges {
        node {
          id
          amount
          currency
          thresholds
          webhookUrl
          spend
          spendPercent
          editable
          person {
            id
            login
            name
          }
          forecast {
            endOfMonth
            runsOutOn
          }
        }
      }
    }
    people(filter: { buId: $bu }, first: 100) @include(if: $canEdit) {
      nodes {
        id
        login
        name
      }
    }
  }
`);

const BillLineFields = graphql(`
  fragment BUBillLineFields on BillLine {
    entityId
    name
    amount
    usage
    idleShare
    overhead
  }
`);

export const BUBillsQuery = graphql(
  `
    query BUBills($bu: ID!, $period: BillPeriodInput!) {
      currency
      byPerson: bills(groupBy: PERSON, period: $period, filter: { bu: $bu }, first: 15) {
        total
        totalCount
        lines {
          ...BUBillLineFields
        }
      }
      byJob: bills(groupBy: JOB, period: $period, filter: { bu: $bu }, first: 15) {
        totalCount
        lines {
          ...BUBillLineFields
        }
      }
      byCluster: bills(groupBy: CLUSTER, period: $period, filter: { bu: $bu }, first: 15) {
        totalCount
        lines {
          ...BUBillLineFields
        }
      }
    }
  `,
  [BillLineFields],
);

export const BUHealthQuery = graphql(
  `
    query BUHealth($code: String!) {
      bu(code: $code) {
        id
        name
        children {
          id
          name
          children {
            id
            name
            children {
              id
              name
            }
          }
        }
        health {
          ...HealthFields
        }
        standing(period: WEEK) {
          ...StandingFields
        }
      }
      red: leaderboard(level: BU, list: RED, metric: EFFICIENCY, period: WEEK, first: 10) {
        ...LeaderboardFields
      }
      black: leaderboard(level: BU, list: BLACK, metric: EFFICIENCY, period: WEEK, first: 10) {
        ...LeaderboardFields
      }
      peopleRed: leaderboard(level: PERSON, list: RED, metric: EFFICIENCY, period: WEEK, first: 10) {
        ...LeaderboardFields
      }
      peopleBlack: leaderboard(level: PERSON, list: BLACK, metric: EFFICIENCY, period: WEEK, first: 10) {
        ...LeaderboardFields
      }
    }
  `,
  [HealthFields, StandingFields, LeaderboardFields],
);

/** The viewer as the budget rules see them. */
export interface BUViewer {
  role: string;
  personId: string;
  /** Whether this BU lies in the viewer's BU subtree (a BU admin's own BU and below). */
  inSubtree: boolean;
}

export function BUBudgets({ bu, viewer }: { bu: { id: string; code: string; name: string }; viewer: BUViewer }) {
  const [{ data, error }, reexecute] = useQuery({ query: BUBudgetQuery, variables: { code: bu.code } });
  const refetch = () => reexecute({ requestPolicy: 'network-only' });
  const ctx = { role: viewer.role, personId: viewer.personId, ownerInViewerSubtree: viewer.inSubtree };
  const budget = data?.bu?.budget;
  const [editChild, setEditChild] = useState<string | null>(null);
  if (error && !data) return <ErrorPanel error={error} />;
  if (!data) return <Loading what="Loading the BU's budget" />;
  return (
    <>
      <BudgetPanel
        title={`Budget of ${bu.name} this month`}
        budget={budget}
        owner={{ bu: bu.id }}
        canSet={canSetBudget(budget, {}, ctx)}
        onChanged={refetch}
        testId="bu-budget"
      />
      {budget && budget.children.length > 0 && (
        <Panel
          title={
            <>
              Sub-BUs <span className="muted small">spend this month of each sub-BU's subtree, and its own budget</span>
            </>
          }
        >
          <table className="table" data-testid="bu-budget-children">
            <thead>
              <tr>
                <th>BU</th>
                <th className="num">Spend ({budget.currency})</th>
                <th className="num">Share of the BU's amount</th>
                <th className="num">Own budget</th>
                <th className="num">Spent of it</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {budget.children.map((c) => {
                const share = Number(budget.amount) > 0 ? (Number(c.spend) / Number(budget.amount)) * 100 : null;
                const canEdit = canSetBudget(c.budget, {}, ctx);
                return (
                  <tr key={c.bu.id} data-testid="bu-budget-child">
                    <td>{c.bu.name}</td>
                    <td className="num">{formatMoney(c.spend)}</td>
                    <td className="num">{share === null ? '–' : `${formatNumber(share, 1)}%`}</td>
                    <td className="num">{c.budget ? formatMoney(c.budget.amount) : <span className="muted">none</span>}</td>
                    <td className="num">{c.budget ? <Badge tone={budgetTone(c.budget.spendPercent)}>{formatNumber(c.budget.spendPercent, 0)}%</Badge> : ''}</td>
                    <td>
                      {canEdit && editChild !== c.bu.id && (
                        <button type="button" className="btn btn-small" onClick={() => setEditChild(c.bu.id)} data-testid="child-budget-edit">
                          {c.budget ? 'Edit' : 'Set'}
                        </button>
                      )}
                      {editChild === c.bu.id && (
                        <BudgetForm
                          owner={{ bu: c.bu.id }}
                          budget={c.budget ? { ...c.budget } : null}
                          onCancel={() => setEditChild(null)}
                          onDone={() => {
                            setEditChild(null);
                            refetch();
                          }}
                          testId="child-budget-form"
                        />
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </Panel>
      )}
    </>
  );
}

export function BUPeopleBudgets({ bu, viewer }: { bu: { id: string }; viewer: BUViewer }) {
  const canEdit = viewer.role === 'ADMIN' || (viewer.role === 'BU_ADMIN' && viewer.inSubtree);
  const [{ data, error }, reexecute] = useQuery({ query: BUPeopleBudgetsQuery, variables: { bu: bu.id, canEdit } });
  const refetch = () => reexecute({ requestPolicy: 'network-only' });
  const [editing, setEditing] = useState<string | null>(null);
  const [newFor, setNewFor] = useState('');
  const rows = data?.budgets.edges.map((e) => e.node) ?? [];
  const withBudget = new Set(rows.map((b) => b.person?.id));
  const without = (data?.people?.nodes ?? []).filter((p) => !withBudget.has(p.id));
  return (
    <Panel
      title={
        <>
          People's budgets <span className="count">{formatNumber(data?.budgets.totalCount)}</span>
          <span className="muted small">
            the BU's and its sub-BUs' people, largest spend share first{data && data.budgets.totalCount > rows.length ? ` (the first ${rows.length})` : ''}
          </span>
        </>
      }
    >
      {error && !data && <ErrorPanel error={error} />}
      {!data && !error && <Loading what="Loading people's budgets" />}
      {data && rows.length === 0 && <div className="empty">No person of the BU has a budget you may read.</div>}
      {rows.length > 0 && (
        <table className="table" data-testid="people-budgets">
          <thead>
            <tr>
              <th>Person</th>
              <th className="num">Amount</th>
              <th className="num">Spend</th>
              <th className="num">Forecast</th>
              <th>Runs out</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {rows.map((b) => (
              <tr key={b.id} data-testid="person-budget" data-login={b.person?.login ?? ''}>
                <td>{b.person ? `${b.person.name} (${b.person.login})` : '–'}</td>
                <td className="num">{formatMoney(b.amount, b.currency)}</td>
                <td className="num">
                  {formatMoney(b.spend)} <Badge tone={budgetTone(b.spendPercent)}>{formatNumber(b.spendPercent, 0)}%</Badge>
                </td>
                <td className="num">{formatMoney(b.forecast.endOfMonth)}</td>
                <td>{runsOutText(b.forecast.runsOutOn)}</td>
                <td>
                  {b.editable && editing !== b.id && (
                    <button type="button" className="btn btn-small" onClick={() => setEditing(b.id)} data-testid="person-budget-edit">
                      Edit
                    </button>
                  )}
                  {editing === b.id && b.person && (
                    <BudgetForm
                      owner={{ person: b.person.id }}
                      budget={b}
                      onCancel={() => setEditing(null)}
                      onDone={() => {
                        setEditing(null);
                        refetch();
                      }}
                      testId="person-budget-form"
                    />
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {canEdit && data && without.length > 0 && (
        <div className="budget-new" data-testid="person-budget-new">
          <label>
            Set a budget for{' '}
            <select value={newFor} onChange={(e) => setNewFor(e.target.value)} data-testid="person-budget-person">
              <option value="">choose a person…</option>
              {without.map((p) => (
                <option key={p.id} value={p.id}>
                  {p.name} ({p.login})
                </option>
              ))}
            </select>
          </label>
          {newFor && (
            <BudgetForm
              key={newFor}
              owner={{ person: newFor }}
              onCancel={() => setNewFor('')}
              onDone={() => {
                setNewFor('');
                refetch();
              }}
              testId="new-person-budget-form"
            />
          )}
        </div>
      )}
    </Panel>
  );
}

type BillLine = { entityId?: string | null; name: string; amount: string; usage: string; idleShare: string; overhead: string };

function BillTable({ title, lines, total, testId }: { title: string; lines: readonly BillLine[]; total: number; testId: string }) {
  return (
    <div className="bu-bill">
      <h3 className="small strong">
        {title} {total > lines.length && <span className="muted">(top {lines.length} of {formatNumber(total)})</span>}
      </h3>
      {lines.length === 0 ? (
        <div className="empty">Nothing billed.</div>
      ) : (
        <table className="table" data-testid={testId}>
          <tbody>
            {lines.map((l) => (
              <tr key={l.entityId ?? l.name} data-testid="bu-bill-line">
                <td>{l.name}</td>
                <td className="num" title={`usage ${formatMoney(l.usage)} · idle share ${formatMoney(l.idleShare)} · overhead ${formatMoney(l.overhead)}`}>
                  {formatMoney(l.amount)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

export function BUBills({ bu }: { bu: { id: string } }) {
  const variables = useMemo(() => ({ bu: bu.id, period: { unit: 'MONTH' as const, start: monthStart() } }), [bu.id]);
  const [{ data, error }] = useQuery({ query: BUBillsQuery, variables });
  return (
    <Panel
      title={
        <>
          Bills this month {data && <span className="count" data-testid="bu-bill-total">{formatMoney(data.byPerson.total, data.currency)}</span>}
          <span className="muted small">billed to the people of the BU and its sub-BUs; by person, job and cluster</span>
        </>
      }
    >
      {error && !data && <ErrorPanel error={error} />}
      {!data && !error && <Loading what="Loading the BU's bills" />}
      {data && (
        <div className="grid-3">
          <BillTable title="By person" lines={data.byPerson.lines} total={data.byPerson.totalCount} testId="bu-bill-person" />
          <BillTable title="By job" lines={data.byJob.lines} total={data.byJob.totalCount} testId="bu-bill-job" />
          <BillTable title="By cluster" lines={data.byCluster.lines} total={data.byCluster.totalCount} testId="bu-bill-cluster" />
        </div>
      )}
    </Panel>
  );
}

export function BUHealthAndBoards({ bu }: { bu: { id: string; code: string; name: string } }) {
  const [{ data, error }] = useQuery({ query: BUHealthQuery, variables: { code: bu.code } });
  if (error && !data) return <ErrorPanel error={error} />;
  if (!data) return <Loading what="Loading the BU's health and standing" />;
  const mine = (board: { entries: ReadonlyArray<{ subjectId: string }> }) => board.entries.some((e) => e.subjectId === bu.id);
  // A person's entry names their BU (context): the BU's people are those of its
  // subtree's BUs (the tree is read three levels down).
  const names = new Set<string>();
  const walk = (b: { name: string; children?: ReadonlyArray<{ name: string; children?: unknown }> } | null | undefined) => {
    if (!b) return;
    names.add(b.name);
    for (const c of b.children ?? []) walk(c as never);
  };
  walk(data.bu);
  const ours = (board: LeaderboardView): LeaderboardView => ({ ...board, entries: board.entries.filter((e) => e.context != null && names.has(e.context)) });
  return (
    <>
      <div className="grid-2">
        <HealthPanel title={`Health of ${bu.name}`} health={data.bu?.health} testId="bu-health" />
        <StandingPanel title="The BU on the leaderboards" standing={data.bu?.standing ?? []} testId="bu-standing" />
      </div>
      <Panel
        title={
          <>
            BUs by efficiency this week <span className="muted small">{mine(data.red) ? `${bu.name} is on the red list` : mine(data.black) ? `${bu.name} is on the black list` : ''}</span>
          </>
        }
      >
        <div className="lb-pair" data-testid="bu-boards" data-highlight={bu.id}>
          <LeaderboardList board={data.red} compact testId="bu-lb-red" highlight={bu.id} />
          <LeaderboardList board={data.black} compact testId="bu-lb-black" highlight={bu.id} />
        </div>
      </Panel>
      <Panel
        title={
          <>
            The BU's people on the efficiency lists this week <span className="muted small">those among the first 10 of each list, with their places among everyone ranked</span>
          </>
        }
      >
        <div className="lb-pair" data-testid="bu-people-boards">
          <LeaderboardList board={ours(data.peopleRed)} testId="bu-people-red" emptyText="None of the BU's people is on this list." />
          <LeaderboardList board={ours(data.peopleBlack)} testId="bu-people-black" emptyText="None of the BU's people is on this list." />
        </div>
      </Panel>
    </>
  );
}
