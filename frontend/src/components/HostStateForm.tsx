// Puts one or several hosts into maintenance, back into service or out of
// service, with a reason. Shown to operators and admins only; the server
// decides, and its message is shown when it refuses.
import { useState, type FormEvent } from 'react';
import { useMutation } from 'urql';
import { graphql, type HostState } from '../graphql';
import { SETTABLE_STATES } from '../lib/hostStates';
import { humanizeEnum } from '../lib/format';
import { refusal } from '../lib/mutation';

export const SetHostState = graphql(`
  mutation SetHostState($input: SetHostStateInput!) {
    setHostState(input: $input) {
      host {
        id
        state
        stateReason
        cluster {
          id
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

export interface StateTarget {
  id: string;
  hostname: string;
}

/** The hosts the change failed for, with the server's message, and how many went through. */
export interface StateOutcome {
  state: HostState;
  done: number;
  failed: Array<{ hostname: string; message: string }>;
}

export function describeOutcome(o: StateOutcome): string {
  const total = o.done + o.failed.length;
  if (total === 1) return o.done ? `Host set to ${humanizeEnum(o.state)}.` : `Refused: ${o.failed[0].message}`;
  const what = `${o.done} hosts set to ${humanizeEnum(o.state)}`;
  return o.failed.length ? `${what}; ${o.failed.length} refused:` : `${what}.`;
}

export function HostStateForm({ hosts, onDone, compact }: { hosts: StateTarget[]; onDone?: (o: StateOutcome) => void; compact?: boolean }) {
  const [state, setState] = useState<HostState>('MAINTENANCE');
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<StateOutcome | null>(null);
  const [, setHostState] = useMutation(SetHostState);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!hosts.length) return;
    setBusy(true);
    setOutcome(null);
    const o: StateOutcome = { state, done: 0, failed: [] };
    // One mutation per host, one after another: each is audited on its own and a
    // refusal for one host does not stop the others.
    for (const h of hosts) {
      const res = await setHostState({ input: { hostId: h.id, state, reason: reason.trim() } });
      const why = refusal(res, (d) => d.setHostState);
      if (why) o.failed.push({ hostname: h.hostname, message: why });
      else o.done++;
    }
    setBusy(false);
    setOutcome(o);
    if (!o.failed.length) setReason('');
    onDone?.(o);
  };

  return (
    <form className={`action-form${compact ? ' action-form-inline' : ''}`} onSubmit={submit} data-testid="host-state-form">
      <select value={state} onChange={(e) => setState(e.target.value as HostState)} aria-label="New state" data-testid="host-state-select">
        {SETTABLE_STATES.map((s) => (
          <option key={s} value={s}>
            {s === 'ONLINE' ? 'Back to service (online)' : humanizeEnum(s)}
          </option>
        ))}
      </select>
      <input
        type="text"
        value={reason}
        onChange={(e) => setReason(e.target.value)}
        placeholder="Reason, e.g. disk replacement"
        aria-label="Reason"
        maxLength={1000}
        data-testid="host-state-reason"
      />
      <button type="submit" className="btn btn-primary" disabled={busy || !hosts.length} data-testid="host-state-apply">
        {busy ? 'Applying…' : hosts.length > 1 ? `Apply to ${hosts.length} hosts` : 'Apply'}
      </button>
      {outcome && !outcome.failed.length && (
        <span className="action-ok" role="status" data-testid="action-ok">
          {describeOutcome(outcome)}
        </span>
      )}
      {outcome && outcome.failed.length > 0 && (
        <div className="action-error" role="alert" data-testid="action-error">
          {describeOutcome(outcome)}
          {outcome.done + outcome.failed.length > 1 && (
          <ul>
            {outcome.failed.map((f) => (
              <li key={f.hostname}>
                <span className="mono">{f.hostname}: </span>
                {f.message}
              </li>
            ))}
          </ul>
          )}
        </div>
      )}
    </form>
  );
}
