// Administration → Hosts (ADMIN and OPERATOR): every host of the platform,
// filtered by cluster, state and name; selected hosts move to another cluster
// or retire (DECOMMISSIONED, with a reason) together. An ADMIN registers hosts
// by pasting hostnames, one a line with optional rack and IP columns: the list
// is checked as it is typed, and the server's refusals come back by line (the
// valid hosts are registered even when some lines are refused).
import { useMemo, useState, type FormEvent } from 'react';
import { useMutation, useQuery } from 'urql';
import { graphql, type HostState } from '../graphql';
import { PageInfoFields } from '../graphql/fragments';
import { useCan, useDebounced } from '../lib/hooks';
import { hostErrorsByLine, parseHostLines } from '../lib/admin';
import { HOST_STATES } from '../lib/hostStates';
import { formatNumber, humanizeEnum } from '../lib/format';
import { refusal, splitUserErrors, type FormErrors } from '../lib/mutation';
import { messageOf } from '../lib/errors';
import { pageVariables, positionFor, type PagerPosition } from '../lib/paging';
import { ErrorPanel, Loading, ListingPager, Panel } from '../components/ui';
import { HeartbeatCell, HostnameCell, HostSizeCells, HostStateCell } from '../components/hosts';
import { AdminGate, Field, FormAlert } from '../components/admin';

export const AdminHostsQuery = graphql(
  `
    query AdminHosts($first: Int, $after: String, $last: Int, $before: String, $filter: HostFilter) {
      hosts(first: $first, after: $after, last: $last, before: $before, filter: $filter, orderBy: { field: HOSTNAME, direction: ASC }) {
        totalCount
        pageInfo {
          ...PageInfoFields
        }
        nodes {
          id
          hostname
          rack
          ip
          state
          stateReason
          cpuCores
          memoryBytes
          lastHeartbeat
          cluster {
            id
            name
          }
        }
      }
      clusters(first: 100, orderBy: { field: NAME, direction: ASC }) {
        totalCount
        nodes {
          id
          name
          status
        }
      }
    }
  `,
  [PageInfoFields],
);

export const RegisterHosts = graphql(`
  mutation RegisterHosts($input: RegisterHostsInput!) {
    registerHosts(input: $input) {
      hosts {
        id
        hostname
        state
      }
      created
      updated
      userErrors {
        field
        message
        code
      }
    }
  }
`);

export const MoveHosts = graphql(`
  mutation MoveHosts($input: MoveHostsInput!) {
    moveHosts(input: $input) {
      hosts {
        id
        cluster {
          id
          name
        }
      }
      userErrors {
        field
        message
        code
      }
    }
  }
`);

export const RetireHosts = graphql(`
  mutation RetireHosts($input: RetireHostsInput!) {
    retireHosts(input: $input) {
      hosts {
        id
        state
        stateReason
      }
      userErrors {
        field
        message
        code
      }
    }
  }
`);

type ClusterChoice = { id: string; name: string; status: string };

const PAGE_SIZE = 50;

function ClusterSelect({ clusters, value, onChange, label, testId, empty }: { clusters: readonly ClusterChoice[]; value: string; onChange: (v: string) => void; label: string; testId: string; empty?: string }) {
  return (
    <select value={value} onChange={(e) => onChange(e.target.value)} aria-label={label} data-testid={testId}>
      {empty !== undefined && <option value="">{empty}</option>}
      {clusters.map((c) => (
        <option key={c.id} value={c.id} data-name={c.name}>
          {c.name}
        </option>
      ))}
    </select>
  );
}

function RegisterHostsForm({ clusters, onDone }: { clusters: readonly ClusterChoice[]; onDone: (clusterId: string) => void }) {
  const [clusterId, setClusterId] = useState('');
  const [text, setText] = useState('');
  const [errors, setErrors] = useState<FormErrors | null>(null);
  const [lineErrors, setLineErrors] = useState<string[]>([]);
  const [outcome, setOutcome] = useState<string | null>(null);
  const [{ fetching }, register] = useMutation(RegisterHosts);
  const pasted = useMemo(() => parseHostLines(text), [text]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setOutcome(null);
    setLineErrors([]);
    if (!clusterId) {
      setErrors({ byField: { clusterId: ['Choose the cluster the hosts belong to.'] }, other: [] });
      return;
    }
    if (pasted.errors.length || !pasted.hosts.length) return;
    const res = await register({ input: { clusterId, hosts: pasted.hosts } });
    if (res.error) {
      setErrors({ byField: {}, other: [messageOf(res.error)] });
      return;
    }
    const p = res.data?.registerHosts;
    if (!p) return;
    // Entry errors name their line; the others (the cluster, the batch) their field.
    const entryErrors = p.userErrors.filter((u) => u.field?.includes('hosts') && u.field.length > 2);
    const rest = p.userErrors.filter((u) => !entryErrors.includes(u));
    setErrors(rest.length ? splitUserErrors(rest, ['clusterId', 'hosts']) : null);
    setLineErrors(hostErrorsByLine(entryErrors, pasted));
    if (p.created || p.updated) {
      setOutcome(`${p.created} registered, ${p.updated} updated${entryErrors.length ? `; ${entryErrors.length} refused` : ''}.`);
      // Keep only the refused lines, to fix and send again.
      const refused = new Set(
        entryErrors.map((u) => Number(u.field?.[u.field.indexOf('hosts') + 1])).filter((i) => Number.isInteger(i)).map((i) => pasted.lines[i]),
      );
      setText(
        text
          .split(/\r?\n/)
          .filter((_, i) => refused.has(i + 1))
          .join('\n'),
      );
      onDone(clusterId);
    }
  };

  return (
    <Panel title="Register hosts">
      <form className="admin-form admin-form-column" onSubmit={submit} data-testid="register-form">
        <Field label="Cluster" name="clusterId" errors={errors}>
          <ClusterSelect clusters={clusters.filter((c) => c.status !== 'RETIRED')} value={clusterId} onChange={setClusterId} label="Register into cluster" testId="register-cluster" empty="— choose —" />
        </Field>
        <Field label="Hostnames, one a line: hostname [rack] [ip]" name="hosts" errors={errors} wide>
          <textarea
            value={text}
            onChange={(e) => setText(e.target.value)}
            rows={8}
            spellCheck={false}
            className="mono paste-area"
            placeholder={'node-101.dc1 r07 10.1.7.101\nnode-102.dc1 r07\nnode-103.dc1'}
            data-testid="register-hosts"
          />
        </Field>
        <div className="muted small" data-testid="register-preview">
          {pasted.hosts.length ? `${pasted.hosts.length} host${pasted.hosts.length === 1 ? '' : 's'} to register` : 'Paste hostnames (a CSV column works too); hardware facts stay unknown until the host’s agent reports them.'}
          {pasted.errors.length ? `; ${pasted.errors.length} line${pasted.errors.length === 1 ? '' : 's'} to fix first` : ''}
        </div>
        {pasted.errors.length > 0 && (
          <ul className="line-errors" data-testid="register-line-errors">
            {pasted.errors.map((e) => (
              <li key={e.line}>{e.message}</li>
            ))}
          </ul>
        )}
        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={fetching || !pasted.hosts.length || pasted.errors.length > 0} data-testid="register-submit">
            {fetching ? 'Registering…' : 'Register'}
          </button>
          {outcome && (
            <span className="action-ok" role="status" data-testid="register-ok">
              {outcome}
            </span>
          )}
        </div>
        {lineErrors.length > 0 && (
          <div className="action-error" role="alert" data-testid="register-refused">
            Refused (left in the box to fix):
            <ul>
              {lineErrors.map((m) => (
                <li key={m}>{m}</li>
              ))}
            </ul>
          </div>
        )}
        <FormAlert errors={errors} />
      </form>
    </Panel>
  );
}

function BulkActions({ selected, clusters, onDone }: { selected: Map<string, string>; clusters: readonly ClusterChoice[]; onDone: () => void }) {
  const [target, setTarget] = useState('');
  const [reason, setReason] = useState('');
  const [confirmRetire, setConfirmRetire] = useState(false);
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);
  const [{ fetching: moving }, move] = useMutation(MoveHosts);
  const [{ fetching: retiring }, retire] = useMutation(RetireHosts);
  const ids = [...selected.keys()];
  const n = ids.length;

  const doMove = async (e: FormEvent) => {
    e.preventDefault();
    if (!n || !target) return;
    const why = refusal(await move({ input: { hostIds: ids, clusterId: target } }), (d) => d.moveHosts);
    const name = clusters.find((c) => c.id === target)?.name ?? 'the cluster';
    setResult(why ? { ok: false, text: why } : { ok: true, text: `${n} host${n === 1 ? '' : 's'} moved to ${name}.` });
    if (!why) onDone();
  };
  const doRetire = async (e: FormEvent) => {
    e.preventDefault();
    if (!n) return;
    if (!confirmRetire) {
      setConfirmRetire(true);
      return;
    }
    const why = refusal(await retire({ input: { hostIds: ids, reason: reason.trim() } }), (d) => d.retireHosts);
    setConfirmRetire(false);
    setResult(why ? { ok: false, text: why } : { ok: true, text: `${n} host${n === 1 ? '' : 's'} retired (decommissioned).` });
    if (!why) {
      setReason('');
      onDone();
    }
  };

  return (
    <div className="bulk-bar" data-testid="bulk-bar">
      <span className="bulk-count" data-testid="selected-count">
        {n ? `${n} selected` : 'Select hosts to move or retire them'}
      </span>
      <form className="action-form action-form-inline" onSubmit={doMove} data-testid="move-form">
        <ClusterSelect clusters={clusters.filter((c) => c.status !== 'RETIRED')} value={target} onChange={setTarget} label="Move to cluster" testId="move-cluster" empty="Move to…" />
        <button type="submit" className="btn" disabled={!n || !target || moving} data-testid="move-submit">
          Move
        </button>
      </form>
      <form className="action-form action-form-inline" onSubmit={doRetire} data-testid="retire-form">
        <input type="text" value={reason} onChange={(e) => setReason(e.target.value)} placeholder="Reason, e.g. end of life" aria-label="Reason" maxLength={500} required data-testid="retire-reason" />
        <button type="submit" className={`btn${confirmRetire ? ' btn-danger' : ''}`} disabled={!n || !reason.trim() || retiring} data-testid={confirmRetire ? 'retire-confirm' : 'retire-submit'}>
          {confirmRetire ? `Retire ${n} host${n === 1 ? '' : 's'} for good` : 'Retire'}
        </button>
        {confirmRetire && (
          <button type="button" className="btn" onClick={() => setConfirmRetire(false)}>
            Keep
          </button>
        )}
      </form>
      {result && (
        <span className={result.ok ? 'action-ok' : 'action-error'} role={result.ok ? 'status' : 'alert'} data-testid={result.ok ? 'action-ok' : 'action-error'}>
          {result.text}
        </span>
      )}
    </div>
  );
}

function HostsScreen() {
  const isAdmin = useCan('ADMIN');
  const [clusterId, setClusterId] = useState('');
  const [state, setState] = useState<HostState | ''>('');
  const [text, setText] = useState('');
  const search = useDebounced(text.trim(), 300);
  const [selected, setSelected] = useState<Map<string, string>>(new Map());

  const listing = JSON.stringify([clusterId, state, search]);
  const [stored, setPosition] = useState<PagerPosition>({ key: listing, cursor: {}, index: 0 });
  const position = positionFor(stored, listing);
  const variables = useMemo(
    () => ({
      ...pageVariables(PAGE_SIZE, position.cursor),
      filter: { ...(clusterId ? { clusterId } : {}), ...(state ? { state } : {}), ...(search ? { search } : {}) },
    }),
    [position.cursor, clusterId, state, search],
  );
  const [{ data, error, fetching }, reexecute] = useQuery({ query: AdminHostsQuery, variables });
  const refetch = () => reexecute({ requestPolicy: 'network-only' });
  const hosts = data?.hosts;
  const clusters = data?.clusters.nodes ?? [];
  const toggle = (id: string, hostname: string, on: boolean) => {
    const next = new Map(selected);
    if (on) next.set(id, hostname);
    else next.delete(id);
    setSelected(next);
  };

  return (
    <div className="page" data-testid="admin-hosts-page">
      <div className="page-head">
        <h1 className="page-title">Hosts</h1>
        <div className="page-sub">
          {isAdmin ? 'Register hosts by pasting their names; ' : ''}select hosts to move them to another cluster or retire them. Maintenance and repairs are on the cluster and host pages.
        </div>
      </div>
      {isAdmin && data && (
        <RegisterHostsForm
          clusters={clusters}
          onDone={(id) => {
            setClusterId(id);
            setState('');
            setText('');
            refetch();
          }}
        />
      )}
      {error && <ErrorPanel error={error} onRetry={refetch} />}
      {!data && fetching && <Loading what="Loading hosts" />}
      {hosts && (
        <Panel
          title={
            <>
              Hosts{' '}
              <span className="count" data-testid="admin-host-total">
                {formatNumber(hosts.totalCount)}
              </span>
            </>
          }
          actions={
            <div className="filters">
              <ClusterSelect clusters={clusters} value={clusterId} onChange={setClusterId} label="Filter by cluster" testId="hosts-cluster-filter" empty="All clusters" />
              <select value={state} onChange={(e) => setState(e.target.value as HostState | '')} aria-label="Filter by state" data-testid="hosts-state-filter">
                <option value="">All states</option>
                {HOST_STATES.map((s) => (
                  <option key={s} value={s}>
                    {humanizeEnum(s)}
                  </option>
                ))}
              </select>
              <input type="search" placeholder="Search hostname" value={text} onChange={(e) => setText(e.target.value)} aria-label="Search hostname" data-testid="hosts-search" />
              {fetching && <span className="spinner" aria-label="Refreshing" />}
            </div>
          }
        >
          <BulkActions
            selected={selected}
            clusters={clusters}
            onDone={() => {
              setSelected(new Map());
              refetch();
            }}
          />
          <div className="table-wrap">
            <table className="table" data-testid="admin-hosts-table">
              <thead>
                <tr>
                  <th className="check-cell">
                    <input
                      type="checkbox"
                      aria-label="Select every host on this page"
                      data-testid="select-all"
                      checked={!!hosts.nodes.length && hosts.nodes.every((h) => selected.has(h.id))}
                      onChange={(e) => {
                        const next = new Map(selected);
                        for (const h of hosts.nodes) {
                          if (e.target.checked) next.set(h.id, h.hostname);
                          else next.delete(h.id);
                        }
                        setSelected(next);
                      }}
                    />
                  </th>
                  <th>Hostname</th>
                  <th>Cluster</th>
                  <th>Rack</th>
                  <th>IP</th>
                  <th>State</th>
                  <th className="num">Cores</th>
                  <th className="num">Memory</th>
                  <th>Last heartbeat</th>
                </tr>
              </thead>
              <tbody>
                {hosts.nodes.map((h) => (
                  <tr key={h.id} data-testid="admin-host-row" data-hostname={h.hostname} data-state={h.state} data-cluster={h.cluster.name}>
                    <td className="check-cell">
                      <input type="checkbox" aria-label={`Select ${h.hostname}`} data-testid="host-select" checked={selected.has(h.id)} onChange={(e) => toggle(h.id, h.hostname, e.target.checked)} />
                    </td>
                    <HostnameCell host={h} />
                    <td>{h.cluster.name}</td>
                    <td className="mono nowrap">{h.rack || <span className="muted">—</span>}</td>
                    <td className="mono nowrap">{h.ip || <span className="muted">—</span>}</td>
                    <HostStateCell host={h} />
                    <HostSizeCells host={h} />
                    <HeartbeatCell host={h} />
                  </tr>
                ))}
                {!hosts.nodes.length && (
                  <tr>
                    <td colSpan={9} className="empty">
                      No hosts match these filters.
                    </td>
                  </tr>
                )}
              </tbody>
            </table>
          </div>
          <ListingPager info={hosts.pageInfo} position={position} onMove={setPosition} shown={hosts.nodes.length} total={hosts.totalCount} size={PAGE_SIZE} busy={fetching} />
        </Panel>
      )}
    </div>
  );
}

export function AdminHosts() {
  return (
    <AdminGate screen="hosts">
      <HostsScreen />
    </AdminGate>
  );
}
