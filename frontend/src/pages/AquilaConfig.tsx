// Aquila → Configuration: one cluster's configuration as code (docs/configuration.md).
// Its current version and the approvals a change needs; the config groups
// (ADMIN defines and deletes them; a LIST group shows its first hosts and its
// count, its whole list read when it is edited); the current files by group, service and path; the
// version history with a side-by-side compare of any two versions and a
// rollback; the review queue (approve, or reject with a comment), the
// approved changes to apply, the form that proposes a change, and the services
// behind the current version with Reapply. Reading and changing need OPERATOR
// or ADMIN (the files can hold credentials): a VIEWER is told so, and the
// server refuses the field anyway.
import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { useClient, useMutation, useQuery } from 'urql';
import { graphql, type ResultOf } from '../graphql';
import { codeOf, messageOf } from '../lib/errors';
import { formatDateTime, formatNumber, formatRelative, humanizeEnum } from '../lib/format';
import { useCan, useSession } from '../lib/hooks';
import { refusal } from '../lib/mutation';
import { useDocumentTitle } from '../lib/title';
import { CHANGE_STATE_TONE, GROUP_RULES, fileKey, fileLabel, groupInput, type ConfigGroupRule, type GroupForm } from '../lib/configuration';
import type { Search, SetSearch } from '../app/router';
import { Badge, EnumBadge, ErrorPanel, Link, Loading, Panel } from '../components/ui';
import { FileDiffs } from '../components/config';

const ConfigClusterPicks = graphql(`
  query ConfigClusterPicks {
    clusters(first: 100, orderBy: { field: NAME, direction: ASC }) {
      nodes {
        id
        name
      }
    }
  }
`);

export const ClusterConfigQuery = graphql(`
  query ClusterConfig($name: String!) {
    cluster(name: $name) {
      id
      name
      config {
        version
        requiredApprovals
        groups {
          id
          name
          position
          rule
          values
          hostCount
          hosts(first: 20) {
            id
            hostname
          }
        }
        files {
          group
          service
          path
          content
        }
        versions(first: 50) {
          version
          author
          message
          createdAt
          rollbackOf
          change {
            id
          }
        }
        queue: changes(state: PROPOSED, first: 20) {
          id
          state
          author
          message
          baseVersion
          requiredApprovals
          approvals
          appliedVersion
          createdAt
          canApprove
          reviews {
            reviewer
            approve
            comment
            at
          }
          diffs {
            group
            service
            path
            diff
          }
        }
        approved: changes(state: APPROVED, first: 10) {
          id
          state
          author
          message
          baseVersion
          requiredApprovals
          approvals
          appliedVersion
          createdAt
          canApprove
          reviews {
            reviewer
            approve
            comment
            at
          }
          diffs {
            group
            service
            path
            diff
          }
        }
        recent: changes(first: 10) {
          id
          state
          author
          message
          baseVersion
          requiredApprovals
          approvals
          appliedVersion
          createdAt
          canApprove
          reviews {
            reviewer
            approve
            comment
            at
          }
        }
        stale(first: 200) {
          current
          total
          components {
            host {
              id
              hostname
            }
            hostname
            service
            configVersion
          }
        }
      }
    }
  }
`);

export const ConfigDiffQuery = graphql(`
  query ConfigDiff($name: String!, $older: Int!, $newer: Int!) {
    cluster(name: $name) {
      id
      config {
        diff(from: $older, to: $newer) {
          group
          service
          path
          diff
        }
      }
    }
  }
`);

const ProposeMutation = graphql(`
  mutation ProposeConfigChange($input: ProposeConfigChangeInput!) {
    proposeConfigChange(input: $input) {
      change {
        id
        state
      }
      userErrors {
        field
        message
      }
    }
  }
`);

const ReviewMutation = graphql(`
  mutation ReviewConfigChange($input: ReviewConfigChangeInput!) {
    reviewConfigChange(input: $input) {
      change {
        id
        state
        approvals
        canApprove
      }
      userErrors {
        field
        message
      }
    }
  }
`);

const VersionPayloadFields = graphql(`
  fragment ConfigVersionPayloadFields on ConfigVersionPayload {
    version {
      version
    }
    operation {
      id
      state
    }
    rolloutError
    userErrors {
      field
      message
    }
  }
`);

const ApplyMutation = graphql(
  `
    mutation ApplyConfigChange($input: ApplyConfigChangeInput!) {
      applyConfigChange(input: $input) {
        ...ConfigVersionPayloadFields
      }
    }
  `,
  [VersionPayloadFields],
);

const RollbackMutation = graphql(
  `
    mutation RollbackConfig($input: RollbackConfigInput!) {
      rollbackConfig(input: $input) {
        ...ConfigVersionPayloadFields
      }
    }
  `,
  [VersionPayloadFields],
);

const ReapplyMutation = graphql(
  `
    mutation ReapplyConfig($input: ReapplyConfigInput!) {
      reapplyConfig(input: $input) {
        ...ConfigVersionPayloadFields
      }
    }
  `,
  [VersionPayloadFields],
);

const SetGroupMutation = graphql(`
  mutation SetConfigGroup($input: SetConfigGroupInput!) {
    setConfigGroup(input: $input) {
      group {
        id
        name
      }
      userErrors {
        field
        message
      }
    }
  }
`);

const DeleteGroupMutation = graphql(`
  mutation DeleteConfigGroup($input: DeleteConfigGroupInput!) {
    deleteConfigGroup(input: $input) {
      group {
        id
        name
      }
      userErrors {
        field
        message
      }
    }
  }
`);

// The whole host list of one LIST group, read when it is edited: the page
// shows only the first hosts of each group, and saving the form replaces the
// list, so it must start from all of them.
const GroupHostsQuery = graphql(`
  query ConfigGroupHosts($name: String!, $group: String!, $first: Int!) {
    cluster(name: $name) {
      id
      config {
        groups(name: $group) {
          id
          hostCount
          hosts(first: $first) {
            id
            hostname
          }
        }
      }
    }
  }
`);

/** The most hosts a LIST group names (the server's bound), so the most the edit form reads. */
const MAX_GROUP_HOSTS = 5000;

const SetApprovalsMutation = graphql(`
  mutation SetRequiredConfigApprovals($input: SetRequiredConfigApprovalsInput!) {
    setRequiredConfigApprovals(input: $input) {
      config {
        requiredApprovals
      }
      userErrors {
        field
        message
      }
    }
  }
`);

type Config = NonNullable<NonNullable<ResultOf<typeof ClusterConfigQuery>['cluster']>['config']>;
type Change = Config['queue'][number];
/** A listed change: the review queue's and the approved ones carry their diffs; the recent ones are read without (a diff is computed per change). */
type ListedChange = Omit<Change, 'diffs'> & { diffs?: Change['diffs'] };
type VersionOutcome = ResultOf<typeof VersionPayloadFields>;

type Keys = 'cluster' | 'from' | 'to';

/** What a version-changing action led to: the new version and its operation, or why its rollout did not start. */
function Outcome({ outcome, testId }: { outcome: VersionOutcome; testId: string }) {
  return (
    <div className="action-ok" role="status" data-testid={testId}>
      {outcome.version ? `Version ${outcome.version.version} made. ` : ''}
      {outcome.operation ? (
        <Link to="/aquila/operations/$id" params={{ id: outcome.operation.id }} data-testid={`${testId}-operation`}>
          Its rollout: operation →
        </Link>
      ) : outcome.rolloutError ? (
        <span className="tone-warn-text" data-testid={`${testId}-rollout-error`}>
          The rollout did not start: {outcome.rolloutError}
        </span>
      ) : (
        'Nothing needed writing.'
      )}
    </div>
  );
}

function ErrorBox({ message, testId }: { message: string; testId: string }) {
  return (
    <div className="action-error" role="alert" data-testid={testId}>
      {message.split('; ').map((m, i) => (
        <div key={i} className="pre-wrap">
          {m}
        </div>
      ))}
    </div>
  );
}

export function AquilaConfig({ search, setSearch }: { search: Search<Keys>; setSearch: SetSearch<Keys> }) {
  useDocumentTitle('Configuration');
  const canOperate = useCan('OPERATOR');
  const [{ data: picks }] = useQuery({ query: ConfigClusterPicks });
  const clusters = picks?.clusters.nodes ?? [];
  const name = search.cluster ?? '';
  useEffect(() => {
    if (!name && clusters.length) setSearch({ cluster: clusters[0].name });
  }, [name, clusters.length]);

  return (
    <div className="page" data-testid="config-page">
      <div className="page-head">
        <h1 className="page-title">Configuration</h1>
        <div className="page-sub">
          A cluster's configuration files, versioned and kept in git: changes are proposed, reviewed by someone other than their author, applied as a rolling CONFIG_APPLY operation, and rolled back
          by a new version.
        </div>
        <div className="filters">
          <select value={name} onChange={(e) => setSearch({ cluster: e.target.value, from: null, to: null })} aria-label="Cluster" data-testid="config-cluster">
            {!name && <option value="">Choose a cluster</option>}
            {clusters.map((c) => (
              <option key={c.id} value={c.name}>
                {c.name}
              </option>
            ))}
          </select>
          {name && (
            <Link to="/clusters/$name" params={{ name }}>
              Cluster page →
            </Link>
          )}
        </div>
      </div>
      {!canOperate ? (
        <NeedsOperator />
      ) : name ? (
        <ClusterConfiguration key={name} name={name} search={search} setSearch={setSearch} />
      ) : (
        <Loading what="Loading clusters" />
      )}
    </div>
  );
}

function NeedsOperator() {
  return (
    <Panel>
      <div className="notice" data-testid="config-forbidden">
        <strong>Reading a cluster's configuration needs the operator role.</strong> Configuration files can hold credentials, so they are shown to operators and admins only. Ask an admin if you need
        them.
      </div>
    </Panel>
  );
}

function ClusterConfiguration({ name, search, setSearch }: { name: string; search: Search<Keys>; setSearch: SetSearch<Keys> }) {
  const isAdmin = useCan('ADMIN');
  const [{ data, error, fetching }, reexecute] = useQuery({ query: ClusterConfigQuery, variables: { name } });
  const refetch = () => reexecute({ requestPolicy: 'network-only' });
  const cluster = data?.cluster && data.cluster.name === name ? data.cluster : null;
  const config = cluster?.config ?? null;

  if (codeOf(error) === 'FORBIDDEN') return <NeedsOperator />;
  if (data && data.cluster === null) {
    return (
      <Panel>
        <div data-testid="config-no-cluster">
          There is no cluster named <code>{name}</code>.
        </div>
      </Panel>
    );
  }
  return (
    <>
      {error && <ErrorPanel error={error} onRetry={refetch} />}
      {!config && fetching && <Loading what={`Loading the configuration of ${name}`} />}
      {cluster && config && (
        <>
          <div className="grid-2">
            <Panel title="Current">
              <dl className="facts" data-testid="config-summary">
                <div className="fact">
                  <dt>Version</dt>
                  <dd data-testid="config-version" data-version={config.version}>
                    {config.version ? config.version : 'none yet'}
                  </dd>
                </div>
                <div className="fact">
                  <dt>Approvals a change needs</dt>
                  <dd data-testid="config-required-approvals">{config.requiredApprovals}</dd>
                </div>
                <div className="fact">
                  <dt>Files</dt>
                  <dd>{formatNumber(config.files.length)}</dd>
                </div>
                <div className="fact">
                  <dt>Services behind it</dt>
                  <dd>{formatNumber(config.stale.total)}</dd>
                </div>
              </dl>
              {isAdmin && <ApprovalsForm clusterId={cluster.id} current={config.requiredApprovals} onDone={refetch} />}
            </Panel>
            <StalePanel clusterId={cluster.id} stale={config.stale} onDone={refetch} />
          </div>
          <ReviewQueue queue={config.queue} approved={config.approved} recent={config.recent} onDone={refetch} />
          <ProposeForm clusterId={cluster.id} config={config} onDone={refetch} />
          <History name={name} clusterId={cluster.id} config={config} search={search} setSearch={setSearch} onDone={refetch} />
          <Files files={config.files} />
          <Groups clusterName={name} clusterId={cluster.id} groups={config.groups} isAdmin={isAdmin} onDone={refetch} />
        </>
      )}
    </>
  );
}

function ApprovalsForm({ clusterId, current, onDone }: { clusterId: string; current: number; onDone: () => void }) {
  const [value, setValue] = useState(String(current));
  const [err, setErr] = useState<string | null>(null);
  const [, run] = useMutation(SetApprovalsMutation);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const approvals = Number(value);
    if (!Number.isInteger(approvals)) return setErr('A whole number of approvals.');
    const r = await run({ input: { cluster: clusterId, approvals } });
    const why = refusal(r, (d) => d.setRequiredConfigApprovals);
    setErr(why);
    if (!why) onDone();
  };
  return (
    <form className="admin-form" onSubmit={submit} data-testid="approvals-form">
      <label className="field">
        <span className="field-label">Required approvals</span>
        <input type="number" min={0} className="narrow" value={value} onChange={(e) => setValue(e.target.value)} data-testid="approvals-input" />
      </label>
      <div className="form-actions">
        <button type="submit" className="btn" data-testid="approvals-save">
          Set
        </button>
      </div>
      {err && <ErrorBox message={err} testId="approvals-error" />}
    </form>
  );
}

function StalePanel({ clusterId, stale, onDone }: { clusterId: string; stale: Config['stale']; onDone: () => void }) {
  const canOperate = useCan('OPERATOR');
  const [outcome, setOutcome] = useState<VersionOutcome | null>(null);
  const [err, setErr] = useState<string | null>(null);
  const [{ fetching }, run] = useMutation(ReapplyMutation);
  const reapply = async () => {
    const r = await run({ input: { cluster: clusterId } });
    const why = refusal(r, (d) => d.reapplyConfig);
    setErr(why);
    setOutcome(why ? null : (r.data?.reapplyConfig ?? null));
    if (!why) onDone();
  };
  return (
    <Panel
      title={
        <>
          Behind the current version <span className="count">{formatNumber(stale.total)}</span>
        </>
      }
      actions={
        canOperate && stale.total > 0 ? (
          <button type="button" className="btn" onClick={reapply} disabled={fetching} data-testid="config-reapply">
            Reapply version {stale.current}
          </button>
        ) : undefined
      }
    >
      {outcome && <Outcome outcome={outcome} testId="reapply-outcome" />}
      {err && <ErrorBox message={err} testId="reapply-error" />}
      {stale.components.length ? (
        <div className="table-wrap scroll-y">
          <table className="table" data-testid="stale-table">
            <thead>
              <tr>
                <th>Host</th>
                <th>Service</th>
                <th className="num">Runs version</th>
              </tr>
            </thead>
            <tbody>
              {stale.components.map((c) => (
                <tr key={`${c.hostname}/${c.service}`} data-testid="stale-row">
                  <td className="mono">{c.host ? <Link to="/hosts/$hostname" params={{ hostname: c.host.hostname }}>{c.hostname}</Link> : c.hostname}</td>
                  <td>{c.service}</td>
                  <td className="num">{c.configVersion}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {stale.total > stale.components.length && <div className="muted small">and {formatNumber(stale.total - stale.components.length)} more</div>}
        </div>
      ) : (
        <div className="empty">Every service runs the current version.</div>
      )}
    </Panel>
  );
}

function ReviewQueue({ queue, approved: approvedList, recent, onDone }: { queue: Config['queue']; approved: Config['approved']; recent: Config['recent']; onDone: () => void }) {
  // An applied change moves to another list (a new card): its outcome is kept here.
  const [applied, setApplied] = useState<VersionOutcome | null>(null);
  // A review or an apply updates the change in the cache before the lists are
  // read again: each list keeps only the changes still in its state.
  const proposed = queue.filter((c) => c.state === 'PROPOSED');
  const approved = approvedList.filter((c) => c.state === 'APPROVED');
  const done = recent.filter((c) => c.state === 'REJECTED' || c.state === 'APPLIED');
  return (
    <>
      {applied && (
        <Panel>
          <Outcome outcome={applied} testId="apply-outcome" />
        </Panel>
      )}
      <Panel
        title={
          <>
            Review queue <span className="count">{proposed.length}</span>
          </>
        }
      >
        {proposed.length ? proposed.map((c) => <ChangeCard key={c.id} change={c} onDone={onDone} />) : <div className="empty">No change waits for review.</div>}
      </Panel>
      {approved.length > 0 && (
        <Panel
          title={
            <>
              Approved, to apply <span className="count">{approved.length}</span>
            </>
          }
        >
          {approved.map((c) => (
            <ChangeCard key={c.id} change={c} onDone={onDone} onApplied={setApplied} />
          ))}
        </Panel>
      )}
      {done.length > 0 && (
        <Panel title="Recently applied or rejected">
          {done.map((c) => (
            <ChangeCard key={c.id} change={c} onDone={onDone} collapsed />
          ))}
        </Panel>
      )}
    </>
  );
}

function ChangeCard({ change: c, onDone, onApplied, collapsed }: { change: ListedChange; onDone: () => void; onApplied?: (o: VersionOutcome) => void; collapsed?: boolean }) {
  const canOperate = useCan('OPERATOR');
  const me = useSession().session.person.login;
  const [open, setOpen] = useState(!collapsed);
  const [rejecting, setRejecting] = useState(false);
  const [comment, setComment] = useState('');
  const [err, setErr] = useState<string | null>(null);
  const [{ fetching: reviewing }, review] = useMutation(ReviewMutation);
  const [{ fetching: applying }, apply] = useMutation(ApplyMutation);
  const doReview = async (approve: boolean) => {
    if (!approve && !comment.trim()) return setErr('Say why it is rejected.');
    const r = await review({ input: { id: c.id, approve, ...(approve ? {} : { comment: comment.trim() }) } });
    const why = refusal(r, (d) => d.reviewConfigChange);
    setErr(why);
    if (!why) {
      setRejecting(false);
      onDone();
    }
  };
  const doApply = async () => {
    const r = await apply({ input: { id: c.id } });
    const why = refusal(r, (d) => d.applyConfigChange);
    setErr(why);
    if (!why && r.data) onApplied?.(r.data.applyConfigChange);
    if (!why) onDone();
  };
  return (
    <div className="config-change" data-testid="config-change" data-id={c.id} data-state={c.state} data-message={c.message}>
      <div className="config-change-head">
        <EnumBadge value={c.state} tones={CHANGE_STATE_TONE} /> <span className="strong" data-testid="change-message">{c.message}</span>{' '}
        <span className="muted small">
          by {c.author}
          {c.author === me ? ' (you)' : ''} · <span title={formatDateTime(c.createdAt, true)}>{formatRelative(c.createdAt)}</span> · on version {c.baseVersion}
          {c.appliedVersion ? ` → version ${c.appliedVersion}` : ''}
        </span>{' '}
        <Badge tone={c.approvals >= c.requiredApprovals ? 'good' : 'muted'}>
          <span data-testid="change-approvals">
            {c.approvals}/{c.requiredApprovals} approvals
          </span>
        </Badge>
        <span className="config-change-actions">
          {c.state === 'PROPOSED' && c.canApprove && (
            <button type="button" className="btn btn-primary btn-small" onClick={() => doReview(true)} disabled={reviewing} data-testid="change-approve">
              Approve
            </button>
          )}
          {c.state === 'PROPOSED' && canOperate && (
            <button type="button" className="btn btn-small" onClick={() => setRejecting(!rejecting)} data-testid="change-reject-open">
              Reject…
            </button>
          )}
          {c.state === 'APPROVED' && canOperate && (
            <button type="button" className="btn btn-primary btn-small" onClick={doApply} disabled={applying} data-testid="change-apply">
              Apply
            </button>
          )}
          {c.diffs && (
            <button type="button" className="btn btn-small" onClick={() => setOpen(!open)} aria-expanded={open}>
              {open ? 'Hide diff' : `Diff (${c.diffs.length} ${c.diffs.length === 1 ? 'file' : 'files'})`}
            </button>
          )}
        </span>
      </div>
      {rejecting && (
        <form
          className="admin-form"
          onSubmit={(e) => {
            e.preventDefault();
            void doReview(false);
          }}
        >
          <label className="field field-wide">
            <span className="field-label">Why reject it</span>
            <input type="text" value={comment} onChange={(e) => setComment(e.target.value)} data-testid="change-reject-comment" />
          </label>
          <div className="form-actions">
            <button type="submit" className="btn btn-danger" disabled={reviewing} data-testid="change-reject">
              Reject
            </button>
          </div>
        </form>
      )}
      {err && <ErrorBox message={err} testId="change-error" />}
      {c.reviews.length > 0 && (
        <ul className="config-reviews small" data-testid="change-reviews">
          {c.reviews.map((r, i) => (
            <li key={i}>
              <span className={r.approve ? 'tone-good-text' : 'tone-bad-text'}>{r.approve ? 'Approved' : 'Rejected'}</span> by {r.reviewer} {formatRelative(r.at)}
              {r.comment && <>: “{r.comment}”</>}
            </li>
          ))}
        </ul>
      )}
      {open && c.diffs && <FileDiffs diffs={c.diffs} testId="change-diffs" />}
    </div>
  );
}

function ProposeForm({ clusterId, config, onDone }: { clusterId: string; config: Config; onDone: () => void }) {
  const canOperate = useCan('OPERATOR');
  const [open, setOpen] = useState(false);
  const first = config.files[0];
  const [group, setGroup] = useState('');
  const [service, setService] = useState(first?.service ?? '');
  const [path, setPath] = useState(first?.path ?? '');
  const [content, setContent] = useState('');
  const [remove, setRemove] = useState(false);
  const [message, setMessage] = useState('');
  const [err, setErr] = useState<string | null>(null);
  const [ok, setOk] = useState<string | null>(null);
  const [{ fetching }, run] = useMutation(ProposeMutation);
  const byKey = useMemo(() => new Map(config.files.map((f) => [fileKey(f), f])), [config.files]);
  const existing = byKey.get(fileKey({ group: group || null, service, path }));
  // The box starts from the current file whenever another file is chosen.
  const chosen = fileKey({ group: group || null, service, path });
  useEffect(() => {
    setContent(byKey.get(chosen)?.content ?? '');
  }, [chosen, open]);
  if (!canOperate) return null;
  const services = [...new Set(config.files.map((f) => f.service))].sort();
  const paths = [...new Set(config.files.filter((f) => f.service === service).map((f) => f.path))].sort();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setOk(null);
    if (!service.trim() || !path.trim() || !message.trim()) return setErr('Service, path and message are required.');
    const r = await run({
      input: { cluster: clusterId, baseVersion: config.version, message: message.trim(), files: [{ group: group || null, service: service.trim(), path: path.trim(), content: remove ? null : content }] },
    });
    const why = refusal(r, (d) => d.proposeConfigChange);
    setErr(why);
    if (!why) {
      setOk('Proposed: it waits for review in the queue above.');
      setMessage('');
      onDone();
    }
  };
  return (
    <Panel
      title="Propose a change"
      actions={
        <button type="button" className={`btn ${open ? 'active' : ''}`} onClick={() => setOpen(!open)} data-testid="propose-open">
          {open ? 'Close' : 'Propose a change'}
        </button>
      }
    >
      {ok && (
        <div className="action-ok" role="status" data-testid="propose-done">
          {ok}
        </div>
      )}
      {open ? (
        <form className="admin-form admin-form-column" onSubmit={submit} data-testid="propose-form">
          <div className="admin-form">
            <label className="field">
              <span className="field-label">Group</span>
              <select value={group} onChange={(e) => setGroup(e.target.value)} data-testid="propose-group">
                <option value="">Cluster default</option>
                {config.groups.map((g) => (
                  <option key={g.id} value={g.name}>
                    {g.name}
                  </option>
                ))}
              </select>
            </label>
            <label className="field">
              <span className="field-label">Service</span>
              <input type="text" list="config-services" value={service} onChange={(e) => setService(e.target.value)} data-testid="propose-service" />
              <datalist id="config-services">
                {services.map((s) => (
                  <option key={s} value={s} />
                ))}
              </datalist>
            </label>
            <label className="field field-wide">
              <span className="field-label">Path</span>
              <input type="text" list="config-paths" value={path} onChange={(e) => setPath(e.target.value)} data-testid="propose-path" />
              <datalist id="config-paths">
                {paths.map((p) => (
                  <option key={p} value={p} />
                ))}
              </datalist>
            </label>
          </div>
          <div className="muted small" data-testid="propose-base">
            {existing ? `Editing the current ${fileLabel(existing)} of version ${config.version}.` : `A new file, against version ${config.version}.`}
          </div>
          <label className="field field-wide">
            <span className="field-label">Content</span>
            <textarea className="mono config-editor" rows={16} value={content} onChange={(e) => setContent(e.target.value)} disabled={remove} spellCheck={false} data-testid="propose-content" />
          </label>
          {existing && (
            <label className="check-label">
              <input type="checkbox" checked={remove} onChange={(e) => setRemove(e.target.checked)} data-testid="propose-remove" /> Remove this file
            </label>
          )}
          <label className="field field-wide">
            <span className="field-label">Message</span>
            <input type="text" value={message} onChange={(e) => setMessage(e.target.value)} placeholder="What changes and why" data-testid="propose-message" />
          </label>
          <div className="form-actions">
            <button type="submit" className="btn btn-primary" disabled={fetching} data-testid="propose-submit">
              Propose
            </button>
          </div>
          {err && <ErrorBox message={err} testId="propose-error" />}
        </form>
      ) : (
        <div className="muted small">Every file is checked before review (syntax, unknown keys); a broken one is refused with its line named.</div>
      )}
    </Panel>
  );
}

function History({
  name,
  clusterId,
  config,
  search,
  setSearch,
  onDone,
}: {
  name: string;
  clusterId: string;
  config: Config;
  search: Search<Keys>;
  setSearch: SetSearch<Keys>;
  onDone: () => void;
}) {
  const canOperate = useCan('OPERATOR');
  const versions = config.versions;
  const older = Number(search.from);
  const newer = Number(search.to);
  const comparing = Number.isInteger(older) && Number.isInteger(newer) && older > 0 && newer > 0 && older !== newer;
  const [pickFrom, setPickFrom] = useState(String(search.from ?? versions[1]?.version ?? ''));
  const [pickTo, setPickTo] = useState(String(search.to ?? versions[0]?.version ?? ''));
  const [rollbackTo, setRollbackTo] = useState<number | null>(null);
  const [reason, setReason] = useState('');
  const [err, setErr] = useState<string | null>(null);
  const [outcome, setOutcome] = useState<VersionOutcome | null>(null);
  const [{ fetching: rolling }, rollback] = useMutation(RollbackMutation);
  const [{ data: diffData, error: diffError, fetching: diffing }] = useQuery({
    query: ConfigDiffQuery,
    variables: { name, older, newer },
    pause: !comparing,
  });
  const doRollback = async (e: FormEvent) => {
    e.preventDefault();
    if (rollbackTo === null) return;
    if (!reason.trim()) return setErr('Say why it is rolled back.');
    const r = await rollback({ input: { cluster: clusterId, toVersion: rollbackTo, reason: reason.trim() } });
    const why = refusal(r, (d) => d.rollbackConfig);
    setErr(why);
    setOutcome(why ? null : (r.data?.rollbackConfig ?? null));
    if (!why) {
      setRollbackTo(null);
      setReason('');
      onDone();
    }
  };
  return (
    <Panel
      title={
        <>
          History <span className="count">{versions.length}</span>
          <span className="muted small">newest first</span>
        </>
      }
      actions={
        versions.length > 1 ? (
          <form
            className="filters"
            onSubmit={(e) => {
              e.preventDefault();
              setSearch({ from: pickFrom, to: pickTo });
            }}
          >
            <select value={pickFrom} onChange={(e) => setPickFrom(e.target.value)} aria-label="Compare from version" data-testid="compare-from">
              {versions.map((v) => (
                <option key={v.version} value={v.version}>
                  v{v.version}
                </option>
              ))}
            </select>
            <span className="muted">with</span>
            <select value={pickTo} onChange={(e) => setPickTo(e.target.value)} aria-label="Compare to version" data-testid="compare-to">
              {versions.map((v) => (
                <option key={v.version} value={v.version}>
                  v{v.version}
                </option>
              ))}
            </select>
            <button type="submit" className="btn" data-testid="compare-run">
              Compare
            </button>
          </form>
        ) : undefined
      }
    >
      {outcome && <Outcome outcome={outcome} testId="rollback-outcome" />}
      {err && <ErrorBox message={err} testId="rollback-error" />}
      {comparing && (
        <div className="config-compare" data-testid="compare-result">
          <div className="config-compare-head">
            <span className="strong">
              Version {older} → version {newer}
            </span>{' '}
            <button type="button" className="btn btn-small" onClick={() => setSearch({ from: null, to: null })}>
              Close
            </button>
          </div>
          {diffError && <ErrorPanel error={diffError} />}
          {diffing && !diffData && <Loading what="Comparing" />}
          {diffData?.cluster?.config && <FileDiffs diffs={diffData.cluster.config.diff} testId="compare-diffs" />}
        </div>
      )}
      {versions.length ? (
        <div className="table-wrap">
          <table className="table" data-testid="history-table">
            <thead>
              <tr>
                <th className="num">Version</th>
                <th>Message</th>
                <th>Author</th>
                <th>When</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {versions.map((v) => (
                <tr key={v.version} data-testid="history-row" data-version={v.version}>
                  <td className="num strong">
                    {v.version}
                    {v.version === config.version && (
                      <>
                        {' '}
                        <Badge tone="good">current</Badge>
                      </>
                    )}
                  </td>
                  <td>
                    {v.message}
                    {v.rollbackOf !== null && v.rollbackOf !== undefined && <span className="muted small"> (restores version {v.rollbackOf})</span>}
                  </td>
                  <td>{v.author}</td>
                  <td title={formatDateTime(v.createdAt, true)}>{formatRelative(v.createdAt)}</td>
                  <td className="nowrap">
                    {canOperate && v.version !== config.version && (
                      <button type="button" className="btn btn-small" onClick={() => setRollbackTo(rollbackTo === v.version ? null : v.version)} data-testid="history-rollback">
                        Roll back to this
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        <div className="empty">No version yet: the first change makes version 1.</div>
      )}
      {rollbackTo !== null && (
        <form className="admin-form" onSubmit={doRollback} data-testid="rollback-form">
          <label className="field field-wide">
            <span className="field-label">Why roll back to version {rollbackTo}</span>
            <input type="text" value={reason} onChange={(e) => setReason(e.target.value)} data-testid="rollback-reason" />
          </label>
          <div className="form-actions">
            <button type="submit" className="btn btn-danger" disabled={rolling} data-testid="rollback-submit">
              Roll back
            </button>
            <button type="button" className="btn" onClick={() => setRollbackTo(null)}>
              Cancel
            </button>
          </div>
        </form>
      )}
    </Panel>
  );
}

function Files({ files }: { files: Config['files'] }) {
  const [shown, setShown] = useState<string | null>(null);
  const sorted = [...files].sort((a, b) => (a.group ?? '').localeCompare(b.group ?? '') || a.service.localeCompare(b.service) || a.path.localeCompare(b.path));
  const file = sorted.find((f) => fileKey(f) === shown);
  return (
    <Panel
      title={
        <>
          Files <span className="count">{files.length}</span>
          <span className="muted small">of the current version, by group, service and path</span>
        </>
      }
    >
      {sorted.length ? (
        <div className="table-wrap">
          <table className="table" data-testid="files-table">
            <thead>
              <tr>
                <th>Group</th>
                <th>Service</th>
                <th>Path</th>
                <th className="num">Lines</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {sorted.map((f) => {
                const key = fileKey(f);
                return (
                  <tr key={key} data-testid="file-row" data-service={f.service} data-path={f.path}>
                    <td>{f.group ?? <span className="muted">cluster default</span>}</td>
                    <td>{f.service}</td>
                    <td className="mono">{f.path}</td>
                    <td className="num">{formatNumber(f.content ? f.content.replace(/\n$/, '').split('\n').length : 0)}</td>
                    <td>
                      <button type="button" className="btn btn-small" onClick={() => setShown(shown === key ? null : key)} data-testid="file-view">
                        {shown === key ? 'Hide' : 'View'}
                      </button>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      ) : (
        <div className="empty">No files yet.</div>
      )}
      {file && (
        <div className="config-file" data-testid="file-content">
          <div className="strong mono">{fileLabel(file)}</div>
          <pre className="config-pre">{file.content}</pre>
        </div>
      )}
    </Panel>
  );
}

const EMPTY_GROUP: GroupForm = { name: '', position: '1', rule: 'RACK', members: '' };

function Groups({ clusterName, clusterId, groups, isAdmin, onDone }: { clusterName: string; clusterId: string; groups: Config['groups']; isAdmin: boolean; onDone: () => void }) {
  const client = useClient();
  const [form, setForm] = useState<GroupForm | null>(null);
  const [err, setErr] = useState<string | null>(null);
  const [ok, setOk] = useState<string | null>(null);
  const [listErr, setListErr] = useState<string | null>(null);
  // A delete asks once more, naming the group: a LIST group's host list is gone with it.
  const [confirming, setConfirming] = useState<string | null>(null);
  const [{ fetching }, run] = useMutation(SetGroupMutation);
  const [{ fetching: deleting }, runDelete] = useMutation(DeleteGroupMutation);
  const edit = async (g: Config['groups'][number]) => {
    setListErr(null);
    let hosts = g.hosts;
    if (g.rule === 'LIST' && g.hostCount > g.hosts.length) {
      const r = await client.query(GroupHostsQuery, { name: clusterName, group: g.name, first: Math.min(g.hostCount, MAX_GROUP_HOSTS) }, { requestPolicy: 'network-only' }).toPromise();
      const whole = r.data?.cluster?.config?.groups[0];
      if (r.error || !whole) return setListErr(r.error ? messageOf(r.error) : `Group ${g.name} is gone: reload the page.`);
      hosts = whole.hosts;
    }
    setErr(null);
    setForm({ name: g.name, position: String(g.position), rule: g.rule, members: (g.rule === 'LIST' ? hosts.map((h) => h.hostname) : g.values).join('\n') });
  };
  const remove = async (g: Config['groups'][number]) => {
    setOk(null);
    const why = refusal(await runDelete({ input: { id: g.id } }), (d) => d.deleteConfigGroup);
    setListErr(why);
    setConfirming(null);
    if (!why) {
      setOk(`Group ${g.name} deleted.`);
      if (form?.name === g.name) setForm(null);
      onDone();
    }
  };
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!form) return;
    setOk(null);
    const built = groupInput(clusterId, form);
    if ('error' in built) return setErr(built.error);
    const r = await run(built);
    const why = refusal(r, (d) => d.setConfigGroup);
    setErr(why);
    if (!why) {
      setOk(`Group ${built.input.name} saved: the services whose files it changes are listed as behind until reapplied.`);
      setForm(null);
      onDone();
    }
  };
  return (
    <Panel
      title={
        <>
          Config groups <span className="count">{groups.length}</span>
          <span className="muted small">applied in ascending position over the cluster default</span>
        </>
      }
      actions={
        isAdmin ? (
          <button type="button" className="btn" onClick={() => setForm(form ? null : { ...EMPTY_GROUP, position: String((groups.at(-1)?.position ?? 0) + 1) })} data-testid="group-new">
            New group
          </button>
        ) : undefined
      }
    >
      {ok && (
        <div className="action-ok" role="status" data-testid="group-done">
          {ok}
        </div>
      )}
      {listErr && <ErrorBox message={listErr} testId="group-list-error" />}
      {groups.length ? (
        <div className="table-wrap">
          <table className="table" data-testid="groups-table">
            <thead>
              <tr>
                <th className="num">Position</th>
                <th>Name</th>
                <th>Rule</th>
                <th>Selects</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {groups.map((g) => (
                <tr key={g.id} data-testid="group-row" data-name={g.name}>
                  <td className="num">{g.position}</td>
                  <td className="strong">{g.name}</td>
                  <td>{humanizeEnum(g.rule)}</td>
                  <td className="ellipsis">
                    {g.rule === 'LIST' ? (
                      <>
                        <span className="muted" data-testid="group-host-count">
                          {formatNumber(g.hostCount)} {g.hostCount === 1 ? 'host' : 'hosts'}
                        </span>
                        {g.hosts.length > 0 && ': '}
                        {g.hosts.map((h) => h.hostname).join(', ')}
                        {g.hostCount > g.hosts.length && <span className="muted"> and {formatNumber(g.hostCount - g.hosts.length)} more</span>}
                      </>
                    ) : (
                      g.values.join(', ')
                    )}
                  </td>
                  <td>
                    {isAdmin && (
                      <>
                        <button type="button" className="btn btn-small" onClick={() => edit(g)} data-testid="group-edit">
                          Edit
                        </button>{' '}
                        {confirming === g.id ? (
                          <span className="revoke-confirm">
                            <button
                              type="button"
                              className="btn btn-small btn-danger"
                              disabled={deleting}
                              onClick={() => remove(g)}
                              data-testid="group-delete-confirm"
                            >
                              Delete {g.name}
                            </button>
                            <button type="button" className="btn btn-small" onClick={() => setConfirming(null)}>
                              Keep
                            </button>
                          </span>
                        ) : (
                          <button
                            type="button"
                            className="btn btn-small"
                            onClick={() => setConfirming(g.id)}
                            title="Delete the group: refused while the current version or an open change has files in it"
                            data-testid="group-delete"
                          >
                            Delete
                          </button>
                        )}
                      </>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        <div className="empty">No config groups: every host takes the cluster default.</div>
      )}
      {form && (
        <form className="admin-form" onSubmit={submit} data-testid="group-form">
          <label className="field">
            <span className="field-label">Name</span>
            <input type="text" value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} data-testid="group-name" />
          </label>
          <label className="field">
            <span className="field-label">Position</span>
            <input type="number" className="narrow" value={form.position} onChange={(e) => setForm({ ...form, position: e.target.value })} data-testid="group-position" />
          </label>
          <label className="field">
            <span className="field-label">Rule</span>
            <select value={form.rule} onChange={(e) => setForm({ ...form, rule: e.target.value as ConfigGroupRule })} data-testid="group-rule">
              {GROUP_RULES.map((r) => (
                <option key={r} value={r}>
                  {humanizeEnum(r)}
                </option>
              ))}
            </select>
          </label>
          <label className="field field-wide">
            <span className="field-label">{form.rule === 'LIST' ? 'Hostnames' : form.rule === 'RACK' ? 'Racks' : form.rule === 'MODEL' ? 'Models' : 'Machine groups'} (one a line)</span>
            <textarea rows={3} value={form.members} onChange={(e) => setForm({ ...form, members: e.target.value })} data-testid="group-members" />
          </label>
          <div className="form-actions">
            <button type="submit" className="btn btn-primary" disabled={fetching} data-testid="group-save">
              Save group
            </button>
            <button type="button" className="btn" onClick={() => setForm(null)}>
              Cancel
            </button>
          </div>
          {err && <ErrorBox message={err} testId="group-error" />}
        </form>
      )}
    </Panel>
  );
}
