// Self-healing on other pages: a cluster's healing policy (its kind's defaults
// with the cluster's own settings over them; ADMIN edits the cluster's own),
// and a host's keep-alive restarts and alerts.
import { useState, type FormEvent } from 'react';
import { useMutation, useQuery } from 'urql';
import { graphql } from '../graphql';
import { useCan } from '../lib/hooks';
import { refusal } from '../lib/mutation';
import { formatDateTime, formatDuration, formatRelative, parseGoDuration } from '../lib/format';
import { Badge, Link, Panel } from './ui';

const ClusterHealingPolicyQuery = graphql(`
  query ClusterHealingPolicy($name: String!) {
    cluster(name: $name) {
      id
      healingPolicy {
        enabled
        maxAtOnce
        maxAtOncePercent
        maxPerDay
        allowReboot
        anomalySeverity
        sickFor
        own
        updatedBy
      }
    }
  }
`);

const SetHealingPolicyMutation = graphql(`
  mutation SetHealingPolicy($input: SetHealingPolicyInput!) {
    setHealingPolicy(input: $input) {
      policy {
        enabled
        maxAtOnce
        maxAtOncePercent
        maxPerDay
        allowReboot
        own
        updatedBy
      }
      userErrors {
        field
        message
      }
    }
  }
`);

/** The settings a cluster may set itself, in the API's names. */
const OWN_SETTINGS = ['enabled', 'maxAtOnce', 'maxAtOncePercent', 'maxPerDay', 'allowReboot'] as const;
type OwnSetting = (typeof OWN_SETTINGS)[number];

/** A setting of the form: the kind's (empty) or the cluster's own value, as typed. */
type PolicyForm = Record<OwnSetting, string>;

const hosts = (n: number) => `${n} host${n === 1 ? '' : 's'}`;

function Own({ own, name }: { own: readonly string[]; name: OwnSetting }) {
  return own.includes(name) ? (
    <span className="healing-policy-own" data-testid={`policy-own-${name}`} title="The cluster's own setting (the others are its kind's)">
      cluster's own
    </span>
  ) : null;
}

/** The setHealingPolicy input of the form: an empty setting goes back to the kind's (null), or what is wrong with it. */
export function policyInput(cluster: string, f: PolicyForm): { input: Record<string, unknown> } | { error: string } {
  const input: Record<string, unknown> = { cluster };
  for (const k of ['enabled', 'allowReboot'] as const) input[k] = f[k] === '' ? null : f[k] === 'true';
  for (const k of ['maxAtOnce', 'maxAtOncePercent', 'maxPerDay'] as const) {
    const t = f[k].trim();
    if (t === '') {
      input[k] = null;
      continue;
    }
    const n = Number(t);
    if (!Number.isInteger(n) || n < 0) return { error: `${k}: a whole number, 0 or more (or empty for the kind's).` };
    input[k] = n;
  }
  return { input };
}

/** A cluster's healing policy, with the ADMIN's form for the cluster's own settings. */
export function HealingPolicyPanel({ name }: { name: string }) {
  const isAdmin = useCan('ADMIN');
  const [{ data }, reexecute] = useQuery({ query: ClusterHealingPolicyQuery, variables: { name } });
  const [form, setForm] = useState<PolicyForm | null>(null);
  const [err, setErr] = useState<string | null>(null);
  const [ok, setOk] = useState(false);
  const [{ fetching }, run] = useMutation(SetHealingPolicyMutation);
  const c = data?.cluster;
  if (!c) return null;
  const p = c.healingPolicy;
  const own = p.own;
  const open = () => {
    const v = (k: OwnSetting) => (own.includes(k) ? String(p[k]) : '');
    setForm({ enabled: v('enabled'), maxAtOnce: v('maxAtOnce'), maxAtOncePercent: v('maxAtOncePercent'), maxPerDay: v('maxPerDay'), allowReboot: v('allowReboot') });
    setOk(false);
    setErr(null);
  };
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!form) return;
    const built = policyInput(c.id, form);
    if ('error' in built) return setErr(built.error);
    const r = await run({ input: built.input as never });
    const why = refusal(r, (d) => d.setHealingPolicy);
    setErr(why);
    if (!why) {
      setForm(null);
      setOk(true);
      reexecute({ requestPolicy: 'network-only' });
    }
  };
  const bool = (k: 'enabled' | 'allowReboot', label: string) =>
    form && (
      <label className="field">
        <span className="field-label">{label}</span>
        <select value={form[k]} onChange={(e) => setForm({ ...form, [k]: e.target.value })} data-testid={`policy-${k}`}>
          <option value="">the kind's</option>
          <option value="true">yes</option>
          <option value="false">no</option>
        </select>
      </label>
    );
  const num = (k: 'maxAtOnce' | 'maxAtOncePercent' | 'maxPerDay', label: string) =>
    form && (
      <label className="field">
        <span className="field-label">{label}</span>
        <input type="number" min={0} className="narrow" placeholder="kind's" value={form[k]} onChange={(e) => setForm({ ...form, [k]: e.target.value })} data-testid={`policy-${k}`} />
      </label>
    );
  return (
    <Panel
      title={
        <>
          Healing policy{' '}
          <Badge tone={p.enabled ? 'good' : 'muted'}>
            <span data-testid="policy-enabled" data-enabled={p.enabled}>
              {p.enabled ? 'on' : 'off'}
            </span>
          </Badge>
        </>
      }
      actions={
        <>
          <span className="policy-links">
            <Link to="/aquila/healing" search={{ cluster: name }} data-testid="cluster-healing-link">
              Self-healing →
            </Link>
            <Link to="/aquila/config" search={{ cluster: name }} data-testid="cluster-config-link">
              Configuration →
            </Link>
          </span>
          {isAdmin && (
            <button type="button" className="btn" onClick={() => (form ? setForm(null) : open())} data-testid="policy-edit">
              {form ? 'Cancel' : 'Edit policy'}
            </button>
          )}
        </>
      }
    >
      {ok && (
        <div className="action-ok" role="status" data-testid="policy-done">
          Saved.
        </div>
      )}
      <dl className="facts" data-testid="healing-policy">
        <div className="fact">
          <dt>Healing</dt>
          <dd>
            {p.enabled ? 'on' : 'off'}
            <Own own={own} name="enabled" />
          </dd>
        </div>
        <div className="fact">
          <dt>At once, at most</dt>
          <dd data-testid="policy-max-at-once" data-value={p.maxAtOnce}>
            {hosts(p.maxAtOnce)}
            <Own own={own} name="maxAtOnce" />
            {' · '}
            {p.maxAtOncePercent}% of the cluster
            <Own own={own} name="maxAtOncePercent" />
          </dd>
        </div>
        <div className="fact">
          <dt>Per day, at most</dt>
          <dd data-testid="policy-max-per-day" data-value={p.maxPerDay}>
            {hosts(p.maxPerDay)}
            <Own own={own} name="maxPerDay" />
          </dd>
        </div>
        <div className="fact">
          <dt>Reboot allowed</dt>
          <dd>
            {p.allowReboot ? 'yes' : 'no'}
            <Own own={own} name="allowReboot" />
          </dd>
        </div>
        <div className="fact">
          <dt>Sick after</dt>
          <dd>
            {formatDuration(parseGoDuration(p.sickFor))}; anomalies from {p.anomalySeverity.toLowerCase()}
          </dd>
        </div>
        <div className="fact">
          <dt>Set by</dt>
          <dd>{p.updatedBy ?? (own.length ? '—' : "the cluster's kind")}</dd>
        </div>
      </dl>
      {form && (
        <form className="admin-form" onSubmit={submit} data-testid="policy-form">
          {bool('enabled', 'Healing on')}
          {num('maxAtOnce', 'At once (hosts)')}
          {num('maxAtOncePercent', 'At once (% of cluster)')}
          {num('maxPerDay', 'Per day (hosts)')}
          {bool('allowReboot', 'Reboot allowed')}
          <div className="form-actions">
            <button type="submit" className="btn btn-primary" disabled={fetching} data-testid="policy-save">
              Save
            </button>
          </div>
          <div className="muted small">An empty setting takes the cluster kind's.</div>
          {err && (
            <div className="action-error" role="alert" data-testid="policy-error">
              {err}
            </div>
          )}
        </form>
      )}
    </Panel>
  );
}

const HostKeepAliveQuery = graphql(`
  query HostKeepAlive($hostname: String!) {
    host(hostname: $hostname) {
      id
      restarts(first: 20) {
        service
        component
        at
        reason
        outcome
        detail
      }
      keepAliveAlerts(first: 20) {
        id
        service
        component
        raisedAt
        restarts
        window
        message
        resolvedAt
      }
    }
  }
`);

/** A host's keep-alive restarts and alerts, newest first (hidden while there are none). */
export function HostKeepAlive({ hostname }: { hostname: string }) {
  const [{ data }] = useQuery({ query: HostKeepAliveQuery, variables: { hostname } });
  const h = data?.host;
  if (!h) return null;
  const open = h.keepAliveAlerts.filter((a) => !a.resolvedAt).length;
  return (
    <Panel
      title={
        <>
          Keep-alive <span className="count">{h.restarts.length}</span>
          <span className="muted small">restarts, newest first</span>
          {open > 0 && (
            <>
              {' '}
              <Badge tone="bad">{open} open alert{open === 1 ? '' : 's'}</Badge>
            </>
          )}
        </>
      }
      actions={<Link to="/aquila/healing">Self-healing page</Link>}
    >
      {h.keepAliveAlerts.length > 0 && (
        <ul className="host-anomalies" data-testid="host-keepalive-alerts">
          {h.keepAliveAlerts.map((a) => (
            <li key={a.id} data-testid="host-keepalive-alert" data-open={!a.resolvedAt}>
              <Badge tone={a.resolvedAt ? 'muted' : 'bad'}>{a.resolvedAt ? 'resolved' : 'open'}</Badge> {a.service} <span className="mono">{a.component}</span>: {a.message}{' '}
              <span className="muted small" title={formatDateTime(a.raisedAt, true)}>
                {a.restarts} restarts in {formatDuration(parseGoDuration(a.window))} · raised {formatRelative(a.raisedAt)}
                {a.resolvedAt ? ` · resolved ${formatRelative(a.resolvedAt)}` : ''}
              </span>
            </li>
          ))}
        </ul>
      )}
      {h.restarts.length ? (
        <div className="table-wrap scroll-y">
          <table className="table" data-testid="host-restarts">
            <thead>
              <tr>
                <th>When</th>
                <th>Component</th>
                <th>Outcome</th>
                <th>Reason</th>
              </tr>
            </thead>
            <tbody>
              {h.restarts.map((r, i) => (
                <tr key={`${r.at}/${r.component}/${i}`} data-testid="host-restart-row">
                  <td title={formatDateTime(r.at, true)}>{formatRelative(r.at)}</td>
                  <td>
                    {r.service} <span className="mono">{r.component}</span>
                  </td>
                  <td>
                    <Badge tone={r.outcome === 'SUCCEEDED' ? 'good' : r.outcome === 'FAILED' ? 'bad' : 'muted'}>{r.outcome.toLowerCase()}</Badge>
                    {r.detail && <div className="muted small">{r.detail}</div>}
                  </td>
                  <td>{r.reason}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        <div className="empty" data-testid="host-restarts-empty">
          Keep-alive has restarted nothing on this host.
        </div>
      )}
    </Panel>
  );
}
