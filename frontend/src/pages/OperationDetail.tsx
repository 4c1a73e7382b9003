// Aquila → one operation, live: its header, progress, stages with their task
// counts, the host tasks (by state, paged, output expandable) and the event
// log. The operationProgress subscription sends the operation as it is and
// then on every change; the buttons are the actions the server allows this
// caller (none for a viewer).
import { Fragment, useEffect, useMemo, useRef, useState } from 'react';
import { useQuery } from 'urql';
import { graphql, type ResultOf } from '../graphql';
import { PageInfoFields } from '../graphql/fragments';
import { codeOf } from '../lib/errors';
import { formatDateTime, formatNumber, humanizeEnum } from '../lib/format';
import { useDocumentTitle } from '../lib/title';
import { useLiveSubscription } from '../lib/useLive';
import { nextPosition, pagerState, positionFor, type PagerPosition } from '../lib/paging';
import { TASK_STATES, TASK_STATE_TONE, elapsed, stageCounts, type OperationTaskState } from '../lib/operations';
import { Badge, EnumBadge, ErrorPanel, Link, Loading, Pager, Panel } from '../components/ui';
import { LiveBadge } from '../components/telemetry';
import { OperationActions, OperationStateBadge, ProgressBar } from '../components/operations';

const OperationDetailFields = graphql(`
  fragment OperationDetailFields on Operation {
    id
    kind
    state
    params
    requestedBy
    reason
    failureBudget
    maxOutOfServicePercent
    currentStage
    rollingBack
    tasksTotal
    tasksSucceeded
    tasksFailed
    tasksSkipped
    progress
    error
    createdAt
    startedAt
    endedAt
    updatedAt
    actions
    cluster {
      id
      name
    }
    stages {
      position
      name
      state
      rollback
      startedAt
      endedAt
      total
      pending
      running
      succeeded
      failed
      skipped
      aborted
    }
    events(first: 50) {
      at
      level
      message
    }
  }
`);

const OperationQuery = graphql(
  `
    query OperationDetail($id: ID!) {
      operation(id: $id) {
        ...OperationDetailFields
      }
    }
  `,
  [OperationDetailFields],
);

const OperationProgressSub = graphql(
  `
    subscription OperationProgress($id: ID!) {
      operationProgress(id: $id) {
        ...OperationDetailFields
      }
    }
  `,
  [OperationDetailFields],
);

const OperationTasksQuery = graphql(
  `
    query OperationTasks($id: ID!, $state: OperationTaskState, $first: Int, $after: String) {
      operation(id: $id) {
        id
        tasks(state: $state, first: $first, after: $after) {
          pageInfo {
            ...PageInfoFields
          }
          nodes {
            id
            hostname
            action
            state
            attempts
            output
            startedAt
            endedAt
            host {
              id
              hostname
            }
          }
        }
      }
    }
  `,
  [PageInfoFields],
);

const TASK_PAGE = 20;
/** The task table follows the progress, at most this often (a large stage changes many times a second). */
const TASK_REFRESH_MS = 2000;

const LEVEL_TONE: Record<string, 'info' | 'warn' | 'bad'> = { INFO: 'info', WARNING: 'warn', ERROR: 'bad' };

export function OperationDetail({ id }: { id: string }) {
  const [{ data, error, fetching }, reexecute] = useQuery({ query: OperationQuery, variables: { id } });
  const [live, setLive] = useState<ResultOf<typeof OperationProgressSub>['operationProgress'] | null>(null);
  const info = useLiveSubscription(OperationProgressSub, { id }, (d) => {
    if (d.operationProgress) setLive(d.operationProgress);
  });
  const op = live ?? data?.operation ?? null;
  useDocumentTitle(op ? `${humanizeEnum(op.kind)} of ${op.cluster.name}` : 'Operation');

  if ((data && data.operation === null && !live) || codeOf(error) === 'NOT_FOUND') {
    return (
      <div className="page">
        <h1 className="page-title">Operation not found</h1>
        <section className="panel">
          <div className="panel-body" data-testid="operation-not-found">
            There is no operation <code>{id}</code>. <Link to="/aquila/operations">All running operations</Link>.
          </div>
        </section>
      </div>
    );
  }

  return (
    <div className="page" data-testid="operation-page">
      <div className="crumbs">
        <Link to="/aquila/operations">Operations</Link>
        {op && (
          <>
            {' / '}
            <Link to="/clusters/$name" params={{ name: op.cluster.name }}>
              {op.cluster.name}
            </Link>
          </>
        )}
      </div>
      {error && !op && <ErrorPanel error={error} onRetry={() => reexecute({ requestPolicy: 'network-only' })} />}
      {!op && fetching && <Loading what="Loading the operation" />}
      {op && (
        <>
          <div className="page-head">
            <h1 className="page-title" data-testid="operation-title">
              {humanizeEnum(op.kind)} of {op.cluster.name} <OperationStateBadge state={op.state} />
              {op.rollingBack && <Badge tone="accent">rolling back</Badge>}
            </h1>
            <div className="page-sub">
              <LiveBadge info={info} testId="operation-live" />
            </div>
          </div>
          <Panel title="Progress" actions={<OperationActions id={op.id} actions={op.actions} />}>
            <dl className="facts">
              <Fact label="Requested by">{op.requestedBy}</Fact>
              <Fact label="Reason">{op.reason || '—'}</Fact>
              <Fact label="Created">{formatDateTime(op.createdAt, true)}</Fact>
              <Fact label="Started">{formatDateTime(op.startedAt, true)}</Fact>
              <Fact label="Ended">{op.endedAt ? formatDateTime(op.endedAt, true) : '—'}</Fact>
              <Fact label="Took">{elapsed(op.startedAt, op.endedAt) ?? '—'}</Fact>
              <Fact label="Failure budget">{formatNumber(op.failureBudget)} hosts</Fact>
              <Fact label="Out of service at most">{op.maxOutOfServicePercent}%</Fact>
            </dl>
            <div className="op-progress-row">
              <ProgressBar progress={op.progress} />
              <span className="muted small" data-testid="operation-counts">
                {formatNumber(op.tasksSucceeded)} succeeded · {formatNumber(op.tasksFailed)} failed · {formatNumber(op.tasksSkipped)} skipped of {formatNumber(op.tasksTotal)} tasks
              </span>
            </div>
            {op.error && (
              <div className="action-error" role="alert" data-testid="operation-error">
                {op.error}
              </div>
            )}
          </Panel>
          <Panel title={`Stages (${op.stages.length})`}>
            <div className="table-wrap">
              <table className="table" data-testid="operation-stages">
                <thead>
                  <tr>
                    <th>#</th>
                    <th>Stage</th>
                    <th>State</th>
                    <th>Tasks</th>
                    <th>By state</th>
                    <th>Took</th>
                  </tr>
                </thead>
                <tbody>
                  {op.stages.map((s) => (
                    <tr key={s.position} data-testid="stage-row" className={s.position === op.currentStage && op.state === 'RUNNING' ? 'row-current' : ''}>
                      <td>{s.position}</td>
                      <td>
                        {s.name} {s.rollback && <Badge tone="accent">rollback</Badge>}
                      </td>
                      <td>{humanizeEnum(s.state)}</td>
                      <td>{formatNumber(s.total)}</td>
                      <td>
                        {stageCounts(s).map((c) => (
                          <Fragment key={c.state}>
                            <EnumBadge value={c.state} tones={TASK_STATE_TONE} /> {formatNumber(c.count)}{' '}
                          </Fragment>
                        ))}
                      </td>
                      <td>{elapsed(s.startedAt, s.endedAt) ?? '—'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </Panel>
          <OperationTasks id={op.id} updatedAt={op.updatedAt} />
          <Panel title="Events">
            <ul className="op-events" data-testid="operation-events">
              {op.events.map((e, i) => (
                <li key={`${e.at}-${i}`}>
                  <span className="muted small mono">{formatDateTime(e.at, true)}</span> <Badge tone={LEVEL_TONE[e.level] ?? 'muted'}>{e.level}</Badge> {e.message}
                </li>
              ))}
              {!op.events.length && <li className="muted">No events yet.</li>}
            </ul>
          </Panel>
        </>
      )}
    </div>
  );
}

function Fact({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div className="fact">
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}

/** The host tasks: of one state or all, paged forward, each output expandable. */
function OperationTasks({ id, updatedAt }: { id: string; updatedAt: string }) {
  const [state, setState] = useState<OperationTaskState | ''>('');
  const listing = `${id}:${state}`;
  const [stored, setPosition] = useState<PagerPosition>({ key: listing, cursor: {}, index: 0 });
  const position = positionFor(stored, listing);
  const [open, setOpen] = useState<Set<string>>(new Set());
  const variables = useMemo(
    () => ({ id, first: TASK_PAGE, ...(state ? { state } : {}), ...(position.cursor.after ? { after: position.cursor.after } : {}) }),
    [id, state, position.cursor.after],
  );
  const [{ data, error, fetching }, reexecute] = useQuery({ query: OperationTasksQuery, variables });
  // Follow the operation's changes, throttled: the last change is always fetched.
  const last = useRef(0);
  useEffect(() => {
    const wait = Math.max(0, last.current + TASK_REFRESH_MS - Date.now());
    const t = setTimeout(() => {
      last.current = Date.now();
      reexecute({ requestPolicy: 'network-only' });
    }, wait);
    return () => clearTimeout(t);
  }, [updatedAt, reexecute]);
  const tasks = data?.operation?.tasks;
  const pager = tasks ? pagerState(tasks.pageInfo, position.cursor, position.index) : null;

  return (
    <Panel
      title="Host tasks"
      actions={
        <select value={state} onChange={(e) => setState(e.target.value as OperationTaskState | '')} aria-label="Task state" data-testid="task-state-filter">
          <option value="">All states</option>
          {TASK_STATES.map((s) => (
            <option key={s} value={s}>
              {humanizeEnum(s)}
            </option>
          ))}
        </select>
      }
    >
      {error && <ErrorPanel error={error} onRetry={() => reexecute({ requestPolicy: 'network-only' })} />}
      {!data && fetching && <Loading what="Loading tasks" />}
      {tasks && (
        <>
          <div className="table-wrap">
            <table className="table" data-testid="operation-tasks">
              <thead>
                <tr>
                  <th>Host</th>
                  <th>Action</th>
                  <th>State</th>
                  <th>Attempts</th>
                  <th>Took</th>
                  <th>Output</th>
                </tr>
              </thead>
              <tbody>
                {tasks.nodes.map((t) => (
                  <Fragment key={t.id}>
                    <tr data-testid="task-row" data-state={t.state}>
                      <td className="mono">
                        {t.host ? (
                          <Link to="/hosts/$hostname" params={{ hostname: t.host.hostname }}>
                            {t.hostname}
                          </Link>
                        ) : (
                          t.hostname
                        )}
                      </td>
                      <td>{t.action}</td>
                      <td>
                        <EnumBadge value={t.state} tones={TASK_STATE_TONE} />
                      </td>
                      <td>{t.attempts}</td>
                      <td>{elapsed(t.startedAt, t.endedAt) ?? '—'}</td>
                      <td>
                        {t.output ? (
                          <button
                            type="button"
                            className="btn btn-small"
                            onClick={() =>
                              setOpen((o) => {
                                const n = new Set(o);
                                if (n.has(t.id)) n.delete(t.id);
                                else n.add(t.id);
                                return n;
                              })
                            }
                            data-testid="task-output-toggle"
                          >
                            {open.has(t.id) ? 'Hide' : 'Show'}
                          </button>
                        ) : (
                          <span className="muted">—</span>
                        )}
                      </td>
                    </tr>
                    {open.has(t.id) && (
                      <tr className="edit-row">
                        <td colSpan={6}>
                          <pre className="op-output" data-testid="task-output">
                            {t.output}
                          </pre>
                        </td>
                      </tr>
                    )}
                  </Fragment>
                ))}
                {!tasks.nodes.length && (
                  <tr>
                    <td colSpan={6} className="empty">
                      No tasks{state ? ` in state ${humanizeEnum(state)}` : ''}.
                    </td>
                  </tr>
                )}
              </tbody>
            </table>
          </div>
          {pager && (pager.hasNext || position.index > 0) && (
            <Pager
              hasPrevious={position.index > 0}
              hasNext={pager.hasNext}
              onPrevious={() => setPosition({ key: listing, cursor: {}, index: 0 })}
              onNext={() => setPosition(nextPosition(position, tasks.pageInfo))}
              busy={fetching}
            >
              Page {position.index + 1}
            </Pager>
          )}
        </>
      )}
    </Panel>
  );
}
