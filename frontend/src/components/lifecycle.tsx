// Aquila lifecycle screens on the cluster page: the upgrade wizard (pick a
// stack version, run the pre-checks, start), the scale-out and decommission
// dialogs, and the open scale-out proposal's banner; the open proposals on
// the Operations page. Each start lands on the live operation page.
import { useMemo, useState, type FormEvent } from 'react';
import { useClient, useMutation, useQuery } from 'urql';
import { useNavigate } from '@tanstack/react-router';
import { graphql } from '../graphql';
import { refusal } from '../lib/mutation';
import { messageOf } from '../lib/errors';
import { formatDateTime } from '../lib/format';
import {
  canStartUpgrade,
  decommissionError,
  decommissionInput,
  proposalSentence,
  scaleOutError,
  scaleOutInput,
  upgradeFormErrors,
  upgradeInput,
  type DecommissionForm,
  type PreCheckStatus,
  type UpgradeForm,
} from '../lib/lifecycle';
import { EnumBadge, ErrorPanel, Link, Loading, Panel } from './ui';
import type { Tone } from '../lib/colors';

const CHECK_TONE: Record<PreCheckStatus, Tone> = { PASS: 'good', WARNING: 'warn', FAIL: 'bad' };

const UpgradeStacksQuery = graphql(`
  query UpgradeStacks {
    stacks(first: 50) {
      nodes {
        id
        name
        versions {
          id
          version
          partial
          packages {
            id
            service
          }
        }
      }
    }
  }
`);

const UpgradePreCheckQuery = graphql(`
  query UpgradePreCheck($input: UpgradeClusterInput!) {
    upgradePreCheck(input: $input) {
      name
      status
      message
    }
  }
`);

const UpgradeClusterMutation = graphql(`
  mutation UpgradeCluster($input: UpgradeClusterInput!) {
    upgradeCluster(input: $input) {
      operation {
        id
      }
      checks {
        name
        status
        message
      }
      userErrors {
        message
        field
      }
    }
  }
`);

type Check = { name: string; status: PreCheckStatus; message: string };

/** The pre-checks as a list of badges and messages. */
function PreChecks({ checks }: { checks: readonly Check[] }) {
  return (
    <ul className="op-prechecks" data-testid="upgrade-checks">
      {checks.map((c) => (
        <li key={c.name} data-testid="upgrade-check" data-status={c.status}>
          <EnumBadge value={c.status} tones={CHECK_TONE} /> <strong>{c.name}</strong> <span className="muted">{c.message}</span>
        </li>
      ))}
      {!checks.length && <li className="muted">No checks.</li>}
    </ul>
  );
}

/**
 * The upgrade wizard: (1) the target version (the cluster's current one
 * marked), services, strategy and limits; (2) the pre-checks, run for exactly
 * this input (Start stays disabled while one FAILs or the form changed since);
 * (3) Start, which lands on the live operation page.
 */
export function UpgradeWizard({ cluster, current, onClose }: { cluster: string; current: string | null; onClose: () => void }) {
  const navigate = useNavigate();
  const [stacks] = useQuery({ query: UpgradeStacksQuery });
  const [, upgrade] = useMutation(UpgradeClusterMutation);
  const [form, setForm] = useState<UpgradeForm>({ stackVersion: '', services: [], strategy: 'ROLLING', batchPercent: '10', maxFailures: '', pauseAfterFirstBatch: false, reason: '' });
  const [checks, setChecks] = useState<Check[] | null>(null);
  const [checkedFor, setCheckedFor] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const bad = upgradeFormErrors(form);
  const input = upgradeInput(cluster, form);
  const key = JSON.stringify(input);
  const versions = useMemo(() => (stacks.data?.stacks.nodes ?? []).flatMap((s) => s.versions.map((v) => ({ ...v, stack: s.name }))), [stacks.data]);
  const currentVersion = versions.find((v) => v.id === current);
  const picked = versions.find((v) => v.id === form.stackVersion);
  const services = useMemo(() => [...new Set(picked?.packages.map((p) => p.service) ?? [])].sort(), [picked]);
  const set = (p: Partial<UpgradeForm>) => setForm((f) => ({ ...f, ...p }));

  const urqlClient = useClient();
  const check = async () => {
    setBusy(true);
    setError(null);
    const res = await urqlClient.query(UpgradePreCheckQuery, { input }, { requestPolicy: 'network-only' }).toPromise();
    setBusy(false);
    if (res.error) {
      setError(messageOf(res.error));
      return;
    }
    setChecks(res.data?.upgradePreCheck ?? []);
    setCheckedFor(key);
  };

  const start = async (e: FormEvent) => {
    e.preventDefault();
    if (!canStartUpgrade(checks, checkedFor, key)) return;
    setBusy(true);
    setError(null);
    const res = await upgrade({ input });
    setBusy(false);
    const p = res.data?.upgradeCluster;
    if (p?.checks.length) setChecks(p.checks);
    const why = refusal(res, (d) => d.upgradeCluster);
    if (why) {
      setError(why);
      return;
    }
    if (p?.operation) void navigate({ to: '/aquila/operations/$id', params: { id: p.operation.id } });
    else setError('The upgrade was refused: see the checks.');
  };

  return (
    <form className="admin-form op-restart" onSubmit={start} role="dialog" aria-label="Upgrade stack" data-testid="upgrade-dialog">
      <h3 className="field-wide">Upgrade stack</h3>
      {stacks.error && <ErrorPanel error={stacks.error} />}
      {!stacks.data && stacks.fetching && <Loading what="Loading stack versions" />}
      <label className={`field field-wide ${bad.stackVersion && form.stackVersion ? 'field-bad' : ''}`}>
        <span className="field-label">1 · Target stack version</span>
        <select value={form.stackVersion} onChange={(e) => set({ stackVersion: e.target.value, services: [] })} data-testid="upgrade-version">
          <option value="">Pick a version…</option>
          {versions.map((v) => (
            <option key={v.id} value={v.id} data-current={v.id === current ? 'true' : undefined}>
              {v.stack} {v.version}
              {v.partial ? ' (partial)' : ''}
              {v.id === current ? ' — current' : ''}
            </option>
          ))}
        </select>
        <span className="muted small" data-testid="upgrade-current">
          Current: {currentVersion ? `${currentVersion.stack} ${currentVersion.version}` : 'none'}
        </span>
      </label>
      <label className="field field-wide">
        <span className="field-label">Services (none picked: all the version changes)</span>
        <select multiple value={form.services} onChange={(e) => set({ services: [...e.target.selectedOptions].map((o) => o.value) })} size={Math.min(6, Math.max(2, services.length))} data-testid="upgrade-services">
          {services.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </label>
      <label className="field">
        <span className="field-label">Strategy</span>
        <select value={form.strategy} onChange={(e) => set({ strategy: e.target.value as UpgradeForm['strategy'] })} data-testid="upgrade-strategy">
          <option value="ROLLING">Rolling</option>
          <option value="EXPRESS">Express</option>
        </select>
      </label>
      <label className={`field ${bad.batchPercent ? 'field-bad' : ''}`}>
        <span className="field-label">Batch %</span>
        <input type="text" inputMode="numeric" className="narrow" value={form.batchPercent} disabled={form.strategy !== 'ROLLING'} onChange={(e) => set({ batchPercent: e.target.value })} data-testid="upgrade-batch" />
        {bad.batchPercent && <span className="field-error">{bad.batchPercent}</span>}
      </label>
      <label className={`field ${bad.maxFailures ? 'field-bad' : ''}`}>
        <span className="field-label">Max failures</span>
        <input type="text" inputMode="numeric" className="narrow" value={form.maxFailures} placeholder="0" onChange={(e) => set({ maxFailures: e.target.value })} data-testid="upgrade-max-failures" />
        {bad.maxFailures && <span className="field-error">{bad.maxFailures}</span>}
      </label>
      <label className="field">
        <span className="field-label">Pause after first batch</span>
        <input type="checkbox" checked={form.pauseAfterFirstBatch} onChange={(e) => set({ pauseAfterFirstBatch: e.target.checked })} data-testid="upgrade-pause-first" />
      </label>
      <label className="field field-wide">
        <span className="field-label">Reason</span>
        <input type="text" value={form.reason} onChange={(e) => set({ reason: e.target.value })} data-testid="upgrade-reason" />
      </label>
      <div className="form-actions">
        <button type="button" className="btn" disabled={busy || Object.keys(bad).length > 0} onClick={() => void check()} data-testid="upgrade-check-run">
          2 · Run pre-checks
        </button>
        <button type="submit" className="btn btn-primary" disabled={busy || !canStartUpgrade(checks, checkedFor, key)} data-testid="upgrade-start">
          3 · Start upgrade
        </button>
        <button type="button" className="btn" onClick={onClose}>
          Cancel
        </button>
      </div>
      {checks && checkedFor !== key && <div className="muted small field-wide">The form changed since the checks ran: run them again.</div>}
      {checks && <PreChecks checks={checks} />}
      {error && (
        <div className="action-error" role="alert" data-testid="upgrade-error">
          {error}
        </div>
      )}
    </form>
  );
}

const SpareHostsQuery = graphql(`
  query ScaleOutSpares($region: String!) {
    spareHosts(region: $region, state: "READY", first: 100) {
      nodes {
        id
        hostname
        rack
        cpuCores
        model
      }
    }
  }
`);

const ScaleOutMutation = graphql(`
  mutation ScaleOutCluster($input: ScaleOutClusterInput!) {
    scaleOutCluster(input: $input) {
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

/** The scale-out dialog: a count, or spare hosts of the cluster's region picked by name; why. */
export function ScaleOutDialog({ cluster, region, onClose }: { cluster: string; region: string; onClose: () => void }) {
  const navigate = useNavigate();
  const [spares] = useQuery({ query: SpareHostsQuery, variables: { region } });
  const [, scaleOut] = useMutation(ScaleOutMutation);
  const [count, setCount] = useState('1');
  const [hosts, setHosts] = useState<string[]>([]);
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const form = { count, hosts, reason };
  const bad = scaleOutError(form);
  const nodes = spares.data?.spareHosts.nodes ?? [];

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (bad) return;
    setSaving(true);
    setError(null);
    const res = await scaleOut({ input: scaleOutInput(cluster, form) });
    setSaving(false);
    const why = refusal(res, (d) => d.scaleOutCluster);
    if (why) {
      setError(why);
      return;
    }
    const id = res.data?.scaleOutCluster.operation?.id;
    if (id) void navigate({ to: '/aquila/operations/$id', params: { id } });
    else onClose();
  };

  return (
    <form className="admin-form op-restart" onSubmit={submit} role="dialog" aria-label="Scale out" data-testid="scaleout-dialog">
      <h3 className="field-wide">Scale out</h3>
      <label className="field">
        <span className="field-label">Hosts from the pool</span>
        <input type="text" inputMode="numeric" className="narrow" value={count} disabled={hosts.length > 0} onChange={(e) => setCount(e.target.value)} data-testid="scaleout-count" />
      </label>
      <label className="field field-wide">
        <span className="field-label">Or pick spare hosts ({region}, ready: {nodes.length})</span>
        <select multiple value={hosts} onChange={(e) => setHosts([...e.target.selectedOptions].map((o) => o.value))} size={Math.min(6, Math.max(2, nodes.length))} data-testid="scaleout-hosts">
          {nodes.map((h) => (
            <option key={h.id} value={h.hostname}>
              {h.hostname} · {h.rack} · {h.cpuCores} cores · {h.model}
            </option>
          ))}
        </select>
        {spares.error && <span className="field-error">{messageOf(spares.error)}</span>}
      </label>
      <label className="field field-wide">
        <span className="field-label">Reason</span>
        <input type="text" value={reason} onChange={(e) => setReason(e.target.value)} data-testid="scaleout-reason" />
      </label>
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={saving || !!bad} data-testid="scaleout-submit">
          Scale out
        </button>
        <button type="button" className="btn" onClick={onClose}>
          Cancel
        </button>
        {bad && <span className="field-error">{bad}</span>}
      </div>
      {error && (
        <div className="action-error" role="alert" data-testid="scaleout-error">
          {error}
        </div>
      )}
    </form>
  );
}

const DecommissionMutation = graphql(`
  mutation DecommissionHosts($input: DecommissionHostsInput!) {
    decommissionHosts(input: $input) {
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

/**
 * The decommission form for the hosts selected in the cluster page's host
 * list: back to the pool or retired, the drain timeout, why. A refusal names
 * the minimum or quorum it would break.
 */
export function DecommissionForm({ hosts }: { hosts: readonly { id: string; hostname: string }[] }) {
  const navigate = useNavigate();
  const [, decommission] = useMutation(DecommissionMutation);
  const [open, setOpen] = useState(false);
  const [form, setForm] = useState<DecommissionForm>({ to: 'POOL', drainTimeout: '', reason: '' });
  const [error, setError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const ids = hosts.map((h) => h.id);
  const bad = decommissionError(ids, form);

  if (!open) {
    return (
      <button type="button" className="btn btn-danger" disabled={!hosts.length} onClick={() => setOpen(true)} data-testid="decommission-open">
        Decommission…
      </button>
    );
  }
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (bad) return;
    setSaving(true);
    setError(null);
    const res = await decommission({ input: decommissionInput(ids, form) });
    setSaving(false);
    const why = refusal(res, (d) => d.decommissionHosts);
    if (why) {
      setError(why);
      return;
    }
    const id = res.data?.decommissionHosts.operation?.id;
    if (id) void navigate({ to: '/aquila/operations/$id', params: { id } });
  };
  return (
    <form className="admin-form op-restart" onSubmit={submit} role="dialog" aria-label="Decommission hosts" data-testid="decommission-dialog">
      <span className="field-wide">
        Decommission {hosts.length} host{hosts.length === 1 ? '' : 's'}: {hosts.slice(0, 5).map((h) => h.hostname).join(', ')}
        {hosts.length > 5 ? ` and ${hosts.length - 5} more` : ''}
      </span>
      <label className="field">
        <span className="field-label">To</span>
        <select value={form.to} onChange={(e) => setForm({ ...form, to: e.target.value as DecommissionForm['to'] })} data-testid="decommission-to">
          <option value="POOL">The spare pool</option>
          <option value="RETIRE">Retire</option>
        </select>
      </label>
      <label className="field">
        <span className="field-label">Drain timeout</span>
        <input type="text" className="narrow" value={form.drainTimeout} placeholder="10m" onChange={(e) => setForm({ ...form, drainTimeout: e.target.value })} data-testid="decommission-drain" />
      </label>
      <label className="field field-wide">
        <span className="field-label">Reason</span>
        <input type="text" value={form.reason} onChange={(e) => setForm({ ...form, reason: e.target.value })} data-testid="decommission-reason" />
      </label>
      <div className="form-actions">
        <button type="submit" className="btn btn-danger" disabled={saving || !!bad} data-testid="decommission-submit">
          Decommission
        </button>
        <button type="button" className="btn" onClick={() => setOpen(false)}>
          Cancel
        </button>
        {bad && <span className="field-error">{bad}</span>}
      </div>
      {error && (
        <div className="action-error" role="alert" data-testid="decommission-error">
          {error}
        </div>
      )}
    </form>
  );
}

export const ProposalFields = graphql(`
  fragment ProposalFields on ScaleOutProposal {
    id
    hosts
    reason
    createdAt
    cluster {
      id
      name
    }
    figures {
      dimension
      threshold
      forecastPeak
      crossesAt
      horizonHours
      hostsInService
      capacity
      capacityUnit
      capacityAfter
      forecastAfter
      capped
    }
  }
`);

const AcceptProposalMutation = graphql(`
  mutation AcceptScaleOutProposal($id: ID!) {
    acceptScaleOutProposal(input: { id: $id }) {
      proposal {
        id
        state
        operation {
          id
        }
      }
      userErrors {
        message
        field
      }
    }
  }
`);

const DismissProposalMutation = graphql(`
  mutation DismissScaleOutProposal($id: ID!, $reason: String) {
    dismissScaleOutProposal(input: { id: $id, reason: $reason }) {
      proposal {
        id
        state
      }
      userErrors {
        message
        field
      }
    }
  }
`);

type Proposal = {
  id: string;
  hosts: number;
  createdAt: string;
  cluster: { id: string; name: string };
  figures: Parameters<typeof proposalSentence>[1];
};

/** Accept (→ the scale-out's live page) and Dismiss (asks why) of an open proposal. */
function ProposalActions({ id, onDone }: { id: string; onDone?: () => void }) {
  const navigate = useNavigate();
  const [, accept] = useMutation(AcceptProposalMutation);
  const [, dismiss] = useMutation(DismissProposalMutation);
  const [dismissing, setDismissing] = useState(false);
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const doAccept = async () => {
    setBusy(true);
    setError(null);
    const res = await accept({ id });
    setBusy(false);
    const why = refusal(res, (d) => d.acceptScaleOutProposal);
    if (why) return setError(why);
    const op = res.data?.acceptScaleOutProposal.proposal?.operation?.id;
    if (op) void navigate({ to: '/aquila/operations/$id', params: { id: op } });
    else onDone?.();
  };
  const doDismiss = async () => {
    setBusy(true);
    setError(null);
    const res = await dismiss({ id, reason: reason.trim() || null });
    setBusy(false);
    const why = refusal(res, (d) => d.dismissScaleOutProposal);
    if (why) return setError(why);
    onDone?.();
  };
  return (
    <span className="op-actions">
      <button type="button" className="btn btn-primary" disabled={busy} onClick={() => void doAccept()} data-testid="proposal-accept">
        Accept
      </button>{' '}
      {dismissing ? (
        <>
          <input type="text" value={reason} placeholder="Why dismiss?" onChange={(e) => setReason(e.target.value)} data-testid="proposal-dismiss-reason" />{' '}
          <button type="button" className="btn" disabled={busy} onClick={() => void doDismiss()} data-testid="proposal-dismiss-confirm">
            Dismiss
          </button>
        </>
      ) : (
        <button type="button" className="btn" disabled={busy} onClick={() => setDismissing(true)} data-testid="proposal-dismiss">
          Dismiss…
        </button>
      )}
      {error && (
        <span className="action-error" role="alert" data-testid="proposal-error">
          {error}
        </span>
      )}
    </span>
  );
}

/** The banner of a cluster's open scale-out proposal; the buttons only for operators. */
export function ProposalBanner({ proposal, canOperate, onDone }: { proposal: Proposal; canOperate: boolean; onDone: () => void }) {
  return (
    <div className="op-proposal banner" role="status" data-testid="proposal-banner">
      <strong>
        Scale-out proposed: {proposal.hosts} host{proposal.hosts === 1 ? '' : 's'}.
      </strong>{' '}
      <span data-testid="proposal-sentence">{proposalSentence(proposal.hosts, proposal.figures)}</span> {canOperate && <ProposalActions id={proposal.id} onDone={onDone} />}
    </div>
  );
}

const OpenProposalsQuery = graphql(
  `
    query OpenScaleOutProposals {
      scaleOutProposals(state: OPEN, first: 100) {
        ...ProposalFields
      }
    }
  `,
  [ProposalFields],
);

/** The open scale-out proposals across the fleet (Operations page). */
export function OpenProposals({ canOperate }: { canOperate: boolean }) {
  const [{ data, error, fetching }, reexecute] = useQuery({ query: OpenProposalsQuery });
  const refetch = () => reexecute({ requestPolicy: 'network-only' });
  const list = data?.scaleOutProposals ?? [];
  return (
    <Panel title={<>Open proposals <span className="count">{list.length}</span></>}>
      <div data-testid="open-proposals">
        {error && <ErrorPanel error={error} onRetry={refetch} />}
        {!data && fetching && <Loading what="Loading proposals" />}
        <div className="table-wrap">
          <table className="table" data-testid="open-proposals-table">
            <thead>
              <tr>
                <th>Cluster</th>
                <th>Hosts</th>
                <th>Why</th>
                <th>Proposed</th>
                {canOperate && <th />}
              </tr>
            </thead>
            <tbody>
              {list.map((p) => (
                <tr key={p.id} data-testid="proposal-row">
                  <td>
                    <Link to="/clusters/$name" params={{ name: p.cluster.name }}>
                      {p.cluster.name}
                    </Link>
                  </td>
                  <td>{p.hosts}</td>
                  <td className="small">{proposalSentence(p.hosts, p.figures)}</td>
                  <td>{formatDateTime(p.createdAt)}</td>
                  {canOperate && (
                    <td>
                      <ProposalActions id={p.id} onDone={refetch} />
                    </td>
                  )}
                </tr>
              ))}
              {data && !list.length && (
                <tr>
                  <td colSpan={canOperate ? 5 : 4} className="empty">
                    No open proposals.
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
      </div>
    </Panel>
  );
}
