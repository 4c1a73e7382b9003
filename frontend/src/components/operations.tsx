// Aquila operations on a page: the progress bar, the state badge, the buttons
// of the actions the server allows this caller, the cluster page's Operations
// panel and its restart dialog.
import { useMemo, useState, type FormEvent } from 'react';
import { useMutation, useQuery } from 'urql';
import { useNavigate } from '@tanstack/react-router';
import { graphql } from '../graphql';
import { PageInfoFields } from '../graphql/fragments';
import { useCan } from '../lib/hooks';
import { refusal } from '../lib/mutation';
import { formatDateTime, humanizeEnum } from '../lib/format';
import { nextPosition, pagerState, positionFor, type PagerPosition } from '../lib/paging';
import {
  ACTION_LABEL,
  OPERATION_STATE_TONE,
  confirmationOf,
  orderedActions,
  progressPercent,
  restartFormErrors,
  restartInput,
  type OperationAction,
  type OperationState,
} from '../lib/operations';
import { EnumBadge, ErrorPanel, Link, Loading, Pager, Panel } from './ui';
import { ProposalBanner, ProposalFields, ScaleOutDialog, UpgradeWizard } from './lifecycle';

/** The fields of an operation every listing shows. */
export const OperationRowFields = graphql(`
  fragment OperationRowFields on Operation {
    id
    kind
    state
    progress
    tasksTotal
    tasksSucceeded
    tasksFailed
    requestedBy
    reason
    createdAt
    startedAt
    endedAt
    cluster {
      id
      name
    }
  }
`);

export function OperationStateBadge({ state }: { state: OperationState }) {
  return (
    <span data-testid="operation-state" data-state={state}>
      <EnumBadge value={state} tones={OPERATION_STATE_TONE} />
    </span>
  );
}

/** A wide progress bar with the percentage. */
export function ProgressBar({ progress, testId = 'operation-progress' }: { progress: number; testId?: string }) {
  const pct = progressPercent(progress);
  return (
    <span className="op-progress" data-testid={testId} data-percent={pct} role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct}>
      <span className="op-progress-track">
        <span className="op-progress-fill" style={{ width: `${pct}%` }} />
      </span>
      <span className="op-progress-text">{pct}%</span>
    </span>
  );
}

const ACTION_DOCS = {
  PAUSE: graphql(`
    mutation PauseOperation($id: ID!) {
      pauseOperation(input: { id: $id }) {
        operation {
          id
          state
          actions
        }
        userErrors {
          message
          field
        }
      }
    }
  `),
  RESUME: graphql(`
    mutation ResumeOperation($id: ID!) {
      resumeOperation(input: { id: $id }) {
        operation {
          id
          state
          actions
        }
        userErrors {
          message
          field
        }
      }
    }
  `),
  ABORT: graphql(`
    mutation AbortOperation($id: ID!) {
      abortOperation(input: { id: $id }) {
        operation {
          id
          state
          actions
        }
        userErrors {
          message
          field
        }
      }
    }
  `),
  RETRY_FAILED_TASKS: graphql(`
    mutation RetryFailedTasks($id: ID!) {
      retryFailedTasks(input: { id: $id }) {
        operation {
          id
          state
          actions
        }
        userErrors {
          message
          field
        }
      }
    }
  `),
  ROLLBACK: graphql(`
    mutation RollbackOperation($id: ID!) {
      rollbackOperation(input: { id: $id }) {
        operation {
          id
          state
          actions
        }
        userErrors {
          message
          field
        }
      }
    }
  `),
};

type ActionPayload = { userErrors: readonly { message: string }[] } | null | undefined;

/**
 * The buttons of the actions the server allows this caller now (`actions`:
 * empty for a viewer). Abort and Roll back ask first; a refusal is shown with
 * the server's message.
 */
export function OperationActions({ id, actions }: { id: string; actions: readonly string[] }) {
  const [, pause] = useMutation(ACTION_DOCS.PAUSE);
  const [, resume] = useMutation(ACTION_DOCS.RESUME);
  const [, abort] = useMutation(ACTION_DOCS.ABORT);
  const [, retry] = useMutation(ACTION_DOCS.RETRY_FAILED_TASKS);
  const [, rollback] = useMutation(ACTION_DOCS.ROLLBACK);
  const [busy, setBusy] = useState<OperationAction | null>(null);
  const [confirming, setConfirming] = useState<OperationAction | null>(null);
  const [error, setError] = useState<string | null>(null);
  const shown = orderedActions(actions);

  const run = async (a: OperationAction) => {
    setConfirming(null);
    setBusy(a);
    setError(null);
    const vars = { id };
    let why: string | null;
    switch (a) {
      case 'PAUSE':
        why = refusal(await pause(vars), (d) => d.pauseOperation as ActionPayload);
        break;
      case 'RESUME':
        why = refusal(await resume(vars), (d) => d.resumeOperation as ActionPayload);
        break;
      case 'ABORT':
        why = refusal(await abort(vars), (d) => d.abortOperation as ActionPayload);
        break;
      case 'RETRY_FAILED_TASKS':
        why = refusal(await retry(vars), (d) => d.retryFailedTasks as ActionPayload);
        break;
      case 'ROLLBACK':
        why = refusal(await rollback(vars), (d) => d.rollbackOperation as ActionPayload);
        break;
    }
    setBusy(null);
    setError(why);
  };

  if (!shown.length && !error) return null;
  return (
    <div className="op-actions" data-testid="operation-actions">
      {shown.map((a) => (
        <button
          key={a}
          type="button"
          className={`btn ${a === 'ABORT' || a === 'ROLLBACK' ? 'btn-danger' : ''}`}
          disabled={busy !== null}
          onClick={() => (confirmationOf(a) ? setConfirming(a) : void run(a))}
          data-testid={`op-action-${a}`}
        >
          {ACTION_LABEL[a]}
        </button>
      ))}
      {confirming && (
        <span className="op-confirm" role="alertdialog" data-testid="op-confirm">
          {confirmationOf(confirming)}{' '}
          <button type="button" className="btn btn-danger" onClick={() => void run(confirming)} data-testid="op-confirm-yes">
            {ACTION_LABEL[confirming]}
          </button>{' '}
          <button type="button" className="btn" onClick={() => setConfirming(null)} data-testid="op-confirm-no">
            Cancel
          </button>
        </span>
      )}
      {error && (
        <div className="action-error" role="alert" data-testid="op-action-error">
          {error}
        </div>
      )}
    </div>
  );
}

const ClusterOperationsQuery = graphql(
  `
    query ClusterOperations($name: String!, $first: Int, $after: String) {
      cluster(name: $name) {
        id
        region
        stackVersion {
          id
        }
        scaleOutProposal {
          ...ProposalFields
        }
        sample: hosts(first: 10) {
          nodes {
            id
            components {
              service
            }
          }
        }
        activeOperation {
          ...OperationRowFields
        }
        operations(first: $first, after: $after) {
          pageInfo {
            ...PageInfoFields
          }
          nodes {
            ...OperationRowFields
          }
        }
      }
    }
  `,
  [OperationRowFields, PageInfoFields, ProposalFields],
);

const RestartClusterMutation = graphql(`
  mutation RestartCluster($input: RestartClusterInput!) {
    restartCluster(input: $input) {
      operation {
        id
      }
      userErrors {
        message
        field
      }
    }
  }
`);

const OPS_PAGE = 10;

/**
 * A cluster's operations: the one holding it now (if any) and the recent ones,
 * paged; operators and admins may start a rolling restart. The Operations page
 * (live) is one click away.
 */
export function ClusterOperations({ name }: { name: string }) {
  const canOperate = useCan('OPERATOR');
  const [stored, setPosition] = useState<PagerPosition>({ key: name, cursor: {}, index: 0 });
  const position = positionFor(stored, name);
  // The operations list pages forward only (the field has first/after).
  const variables = useMemo(() => ({ name, first: OPS_PAGE, ...(position.cursor.after ? { after: position.cursor.after } : {}) }), [name, position.cursor.after]);
  const [{ data, error, fetching }, reexecute] = useQuery({ query: ClusterOperationsQuery, variables });
  const [dialog, setDialog] = useState<'restart' | 'upgrade' | 'scaleOut' | null>(null);
  const restarting = dialog !== null;
  const setRestarting = (on: boolean) => setDialog(on ? 'restart' : null);
  const cluster = data?.cluster;
  // The services installed on the cluster's first hosts (what a restart acts on).
  const services = useMemo(() => {
    const s = new Set<string>();
    for (const h of cluster?.sample.nodes ?? []) for (const c of h.components) s.add(c.service);
    return [...s].sort();
  }, [cluster]);
  const active = cluster?.activeOperation;
  const ops = cluster?.operations;
  const state = ops ? pagerState(ops.pageInfo, position.cursor, position.index) : null;

  return (
    <Panel
      title="Operations"
      actions={
        canOperate && cluster && !restarting ? (
          <>
            <button type="button" className="btn btn-primary" onClick={() => setDialog('upgrade')} data-testid="upgrade-open">
              Upgrade stack
            </button>{' '}
            <button type="button" className="btn" onClick={() => setDialog('scaleOut')} data-testid="scaleout-open">
              Scale out
            </button>{' '}
            <button type="button" className="btn" onClick={() => setRestarting(true)} data-testid="restart-open">
              Restart services
            </button>
          </>
        ) : undefined
      }
    >
      <div data-testid="cluster-operations">
        {error && <ErrorPanel error={error} onRetry={() => reexecute({ requestPolicy: 'network-only' })} />}
        {!data && fetching && <Loading what="Loading operations" />}
        {cluster?.scaleOutProposal && <ProposalBanner proposal={cluster.scaleOutProposal} canOperate={canOperate} onDone={() => reexecute({ requestPolicy: 'network-only' })} />}
        {dialog === 'restart' && cluster && <RestartDialog cluster={cluster.id} services={services} onClose={() => setDialog(null)} />}
        {dialog === 'upgrade' && cluster && <UpgradeWizard cluster={cluster.id} current={cluster.stackVersion?.id ?? null} onClose={() => setDialog(null)} />}
        {dialog === 'scaleOut' && cluster && <ScaleOutDialog cluster={cluster.id} region={cluster.region} onClose={() => setDialog(null)} />}
        {cluster && (
          <>
            <div className="op-active" data-testid="active-operation">
              {active ? (
                <>
                  <strong>Now: </strong>
                  <Link to="/aquila/operations/$id" params={{ id: active.id }} data-testid="active-operation-link">
                    {humanizeEnum(active.kind)}
                  </Link>{' '}
                  <OperationStateBadge state={active.state} /> <ProgressBar progress={active.progress} /> <span className="muted small">by {active.requestedBy}</span>
                </>
              ) : (
                <span className="muted">No operation holds this cluster now.</span>
              )}
            </div>
            <OperationTable ops={ops?.nodes ?? []} showCluster={false} testId="cluster-operations-table" />
            {/* Forward paging only (the field takes first/after): Previous goes back to the newest. */}
            {state && (state.hasNext || position.index > 0) && (
              <Pager
                hasPrevious={position.index > 0}
                hasNext={state.hasNext}
                onPrevious={() => setPosition({ key: name, cursor: {}, index: 0 })}
                onNext={() => setPosition(nextPosition(position, ops!.pageInfo))}
                busy={fetching}
              />
            )}
          </>
        )}
      </div>
    </Panel>
  );
}

/** Operations as a table linking each to its page. */
export function OperationTable({
  ops,
  showCluster,
  testId,
}: {
  ops: readonly {
    id: string;
    kind: string;
    state: OperationState;
    progress: number;
    requestedBy: string;
    reason: string;
    createdAt: string;
    cluster: { name: string };
  }[];
  showCluster: boolean;
  testId: string;
}) {
  return (
    <div className="table-wrap">
      <table className="table" data-testid={testId}>
        <thead>
          <tr>
            <th>Operation</th>
            {showCluster && <th>Cluster</th>}
            <th>State</th>
            <th>Progress</th>
            <th>Requested by</th>
            <th>Reason</th>
            <th>Created</th>
          </tr>
        </thead>
        <tbody>
          {ops.map((o) => (
            <tr key={o.id} data-testid="operation-row">
              <td>
                <Link to="/aquila/operations/$id" params={{ id: o.id }}>
                  {humanizeEnum(o.kind)}
                </Link>
              </td>
              {showCluster && (
                <td>
                  <Link to="/clusters/$name" params={{ name: o.cluster.name }}>
                    {o.cluster.name}
                  </Link>
                </td>
              )}
              <td>
                <OperationStateBadge state={o.state} />
              </td>
              <td>
                <ProgressBar progress={o.progress} testId="operation-row-progress" />
              </td>
              <td>{o.requestedBy}</td>
              <td className="muted small">{o.reason || '—'}</td>
              <td>{formatDateTime(o.createdAt)}</td>
            </tr>
          ))}
          {!ops.length && (
            <tr>
              <td colSpan={showCluster ? 7 : 6} className="empty">
                No operations.
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}

/** The restart form: which services, how many hosts at once, how many may fail, why. */
function RestartDialog({ cluster, services, onClose }: { cluster: string; services: readonly string[]; onClose: () => void }) {
  const navigate = useNavigate();
  const [, restart] = useMutation(RestartClusterMutation);
  const [picked, setPicked] = useState<string[]>([]);
  const [batchPercent, setBatch] = useState('25');
  const [failureBudget, setBudget] = useState('');
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const form = { services: picked, batchPercent, failureBudget, reason };
  const bad = restartFormErrors(form);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (Object.keys(bad).length) return;
    setSaving(true);
    setError(null);
    const res = await restart({ input: restartInput(cluster, form) });
    setSaving(false);
    const why = refusal(res, (d) => d.restartCluster);
    if (why) {
      setError(why);
      return;
    }
    const id = res.data?.restartCluster.operation?.id;
    if (id) void navigate({ to: '/aquila/operations/$id', params: { id } });
    else onClose();
  };

  return (
    <form className="admin-form op-restart" onSubmit={submit} role="dialog" aria-label="Restart services" data-testid="restart-dialog">
      <label className="field field-wide">
        <span className="field-label">Services (none picked: every service)</span>
        <select multiple value={picked} onChange={(e) => setPicked([...e.target.selectedOptions].map((o) => o.value))} size={Math.min(6, Math.max(2, services.length))} data-testid="restart-services">
          {services.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </label>
      <label className={`field ${bad.batchPercent ? 'field-bad' : ''}`}>
        <span className="field-label">Batch %</span>
        <input type="text" inputMode="numeric" className="narrow" value={batchPercent} onChange={(e) => setBatch(e.target.value)} data-testid="restart-batch" />
        {bad.batchPercent && <span className="field-error">{bad.batchPercent}</span>}
      </label>
      <label className={`field ${bad.failureBudget ? 'field-bad' : ''}`}>
        <span className="field-label">Failure budget (hosts)</span>
        <input type="text" inputMode="numeric" className="narrow" value={failureBudget} placeholder="batch size" onChange={(e) => setBudget(e.target.value)} data-testid="restart-budget" />
        {bad.failureBudget && <span className="field-error">{bad.failureBudget}</span>}
      </label>
      <label className="field field-wide">
        <span className="field-label">Reason</span>
        <input type="text" value={reason} onChange={(e) => setReason(e.target.value)} data-testid="restart-reason" />
      </label>
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={saving || Object.keys(bad).length > 0} data-testid="restart-submit">
          Restart
        </button>
        <button type="button" className="btn" onClick={onClose}>
          Cancel
        </button>
      </div>
      {error && (
        <div className="action-error" role="alert" data-testid="restart-error">
          {error}
        </div>
      )}
    </form>
  );
}
