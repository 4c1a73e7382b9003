// Tools → Hardware (DAM): the repair tickets still open, with the moves an
// operator may make (start repair, resolve, replace — each asks why); faults
// waiting for a ticket; failure rates per 100 machine-years by model and by
// age, with their 95% intervals as error bars; and the hosts most worth
// replacing next, with the figures behind their score (docs/hardware.md).
import { useMemo, useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { graphql, type ResultOf } from '../graphql';
import { useCan } from '../lib/hooks';
import { refusal } from '../lib/mutation';
import { formatDateTime, formatNumber, formatRelative, humanizeEnum } from '../lib/format';
import { reliabilityChartOption, SEVERITY_TONE, STATE_TONE, TRANSITION_LABEL, type RepairState } from '../lib/hardware';
import { Badge, ErrorPanel, Link, Loading, Panel } from '../components/ui';
import { Chart } from '../components/LazyChart';

const TicketFields = graphql(`
  fragment TicketFields on RepairTicket {
    id
    state
    openedAt
    updatedAt
    nextStates
    host {
      id
      hostname
      state
      model
      cluster {
        id
        name
      }
    }
    faults {
      id
      component
      kind
      severity
      detectedAt
      detail
    }
    history {
      at
      actor
      toState
      note
    }
  }
`);

export const HardwareQuery = graphql(
  `
    query Hardware {
      repairTickets(filter: { states: [OPEN, IN_REPAIR] }, first: 30) {
        totalCount
        nodes {
          ...TicketFields
        }
      }
      hardwareFaults(filter: { statuses: [OPEN] }, first: 30) {
        totalCount
        nodes {
          id
          component
          kind
          severity
          detectedAt
          source
          detail
          ticket {
            id
          }
          host {
            id
            hostname
          }
        }
      }
      byModel: hardwareReliability(groupBy: MODEL) {
        key
        label
        hosts
        machineYears
        faults
        ratePer100MachineYears
        lower
        upper
      }
      byAge: hardwareReliability(groupBy: AGE) {
        key
        label
        hosts
        machineYears
        faults
        ratePer100MachineYears
        lower
        upper
      }
      hostsToReplace(first: 10) {
        host {
          id
          hostname
          cluster {
            id
            name
          }
        }
        model
        modelRate
        ageYears
        ageFactor
        warrantyEnd
        outOfWarranty
        recentFaults
        faults
        score
      }
    }
  `,
  [TicketFields],
);

export const TransitionRepairTicket = graphql(
  `
    mutation TransitionRepairTicket($input: TransitionRepairTicketInput!) {
      transitionRepairTicket(input: $input) {
        ticket {
          ...TicketFields
        }
        userErrors {
          message
          code
        }
      }
    }
  `,
  [TicketFields],
);

export const OpenRepairTicket = graphql(
  `
    mutation OpenRepairTicket($input: OpenRepairTicketInput!) {
      openRepairTicket(input: $input) {
        ticket {
          ...TicketFields
        }
        userErrors {
          message
          code
        }
      }
    }
  `,
  [TicketFields],
);

type Data = ResultOf<typeof HardwareQuery>;
type Ticket = Data['repairTickets']['nodes'][number];
type Fault = Data['hardwareFaults']['nodes'][number];

export function Hardware() {
  const [{ data, error, fetching }, reexecute] = useQuery({ query: HardwareQuery });
  const refresh = () => reexecute({ requestPolicy: 'network-only' });
  return (
    <div className="page" data-testid="hardware-page">
      <div className="page-head">
        <h1>Hardware</h1>
        <div className="page-sub">Faults, repair tickets and failure rates of the fleet's machines.</div>
      </div>
      {error && <ErrorPanel error={error} onRetry={refresh} />}
      {!data && fetching && <Loading what="Loading hardware" />}
      {data && (
        <>
          <Tickets tickets={data.repairTickets.nodes} total={data.repairTickets.totalCount} onChanged={refresh} />
          <Untriaged faults={data.hardwareFaults.nodes.filter((f) => !f.ticket)} onChanged={refresh} />
          <div className="grid-2">
            <Panel title="Failure rate by model">
              <RateChart groups={data.byModel} testId="rate-by-model" what="model" />
            </Panel>
            <Panel title="Failure rate by age">
              <RateChart groups={data.byAge} testId="rate-by-age" what="age" />
            </Panel>
          </div>
          <ToReplace candidates={data.hostsToReplace} />
        </>
      )}
    </div>
  );
}

function Tickets({ tickets, total, onChanged }: { tickets: readonly Ticket[]; total: number; onChanged: () => void }) {
  return (
    <Panel title={`Open repair tickets (${formatNumber(total)})`}>
      {tickets.length === 0 ? (
        <div className="empty">No host is waiting for or under repair.</div>
      ) : (
        <div className="table-wrap">
          <table className="table" data-testid="tickets-table">
            <thead>
              <tr>
                <th>Host</th>
                <th>State</th>
                <th>Faults</th>
                <th>Last step</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {tickets.map((t) => (
                <TicketRow key={t.id} t={t} onChanged={onChanged} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Panel>
  );
}

function TicketRow({ t, onChanged }: { t: Ticket; onChanged: () => void }) {
  const canOperate = useCan('OPERATOR');
  const [move, setMove] = useState<RepairState | null>(null);
  const [note, setNote] = useState('');
  const [refused, setRefused] = useState<string | null>(null);
  const [{ fetching }, transition] = useMutation(TransitionRepairTicket);
  const last = t.history[t.history.length - 1];
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    if (!move) return;
    setRefused(null);
    const res = await transition({ input: { id: t.id, to: move, note: note.trim() } });
    const why = refusal(res, (d) => d.transitionRepairTicket);
    if (why) {
      setRefused(why);
      return;
    }
    setMove(null);
    setNote('');
    onChanged();
  };
  return (
    <tr data-testid={`ticket-${t.host.hostname}`}>
      <td>
        <Link to="/hosts/$hostname" params={{ hostname: t.host.hostname }} className="mono">
          {t.host.hostname}
        </Link>
        <div className="muted small">
          {t.host.cluster.name} · {t.host.model || 'model unknown'} · host {humanizeEnum(t.host.state)}
        </div>
      </td>
      <td>
        <Badge tone={STATE_TONE[t.state]}>{humanizeEnum(t.state)}</Badge>
        <div className="muted small" title={formatDateTime(t.openedAt, true)}>
          opened {formatRelative(t.openedAt)}
        </div>
      </td>
      <td>
        {t.faults.map((f) => (
          <div key={f.id} className="small">
            <Badge tone={SEVERITY_TONE[f.severity]}>{f.severity}</Badge> {f.component} <span className="mono">{f.kind}</span>
          </div>
        ))}
      </td>
      <td className="small">
        {last && (
          <>
            <strong>{last.actor}</strong>: {last.note || humanizeEnum(last.toState)}
            <div className="muted">{formatRelative(last.at)}</div>
          </>
        )}
      </td>
      <td>
        {canOperate && !move && (
          <div className="action-form">
            {t.nextStates.map((s) => (
              <button key={s} type="button" className={s === 'REPLACED' ? 'btn' : 'btn btn-primary'} onClick={() => setMove(s)} data-testid={`move-${s}`}>
                {TRANSITION_LABEL[s]}
              </button>
            ))}
          </div>
        )}
        {canOperate && move && (
          <form className="action-form" onSubmit={submit} data-testid="move-form">
            <input
              type="text"
              value={note}
              onChange={(e) => setNote(e.target.value)}
              maxLength={2000}
              required
              placeholder={`Why ${TRANSITION_LABEL[move].toLowerCase()}: what was found or done`}
              aria-label="Note"
              data-testid="move-note"
            />
            <button type="submit" className="btn btn-primary" disabled={fetching || !note.trim()} data-testid="move-submit">
              {fetching ? 'Saving…' : TRANSITION_LABEL[move]}
            </button>
            <button type="button" className="btn" onClick={() => setMove(null)}>
              Cancel
            </button>
          </form>
        )}
        {refused && (
          <div className="tone-bad-text small" role="alert" data-testid="move-refused">
            {refused}
          </div>
        )}
      </td>
    </tr>
  );
}

function Untriaged({ faults, onChanged }: { faults: readonly Fault[]; onChanged: () => void }) {
  const canOperate = useCan('OPERATOR');
  const [{ fetching }, open] = useMutation(OpenRepairTicket);
  const [refused, setRefused] = useState<string | null>(null);
  if (faults.length === 0) return null;
  const openFor = async (hostId: string) => {
    setRefused(null);
    const res = await open({ input: { hostId } });
    const why = refusal(res, (d) => d.openRepairTicket);
    if (why) setRefused(why);
    else onChanged();
  };
  return (
    <Panel title="Faults without a ticket">
      {refused && (
        <div className="tone-bad-text small" role="alert">
          {refused}
        </div>
      )}
      <div className="table-wrap">
        <table className="table" data-testid="untriaged-table">
          <thead>
            <tr>
              <th>Detected</th>
              <th>Host</th>
              <th>Fault</th>
              <th>Source</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {faults.map((f) => (
              <tr key={f.id}>
                <td title={formatDateTime(f.detectedAt, true)}>{formatRelative(f.detectedAt)}</td>
                <td>
                  <Link to="/hosts/$hostname" params={{ hostname: f.host.hostname }} className="mono">
                    {f.host.hostname}
                  </Link>
                </td>
                <td>
                  <Badge tone={SEVERITY_TONE[f.severity]}>{f.severity}</Badge> {f.component} <span className="mono">{f.kind}</span>
                  {f.detail && <div className="muted small">{f.detail}</div>}
                </td>
                <td>{humanizeEnum(f.source)}</td>
                <td>
                  {canOperate && (
                    <button type="button" className="btn" disabled={fetching} onClick={() => openFor(f.host.id)} data-testid={`open-ticket-${f.host.hostname}`}>
                      Open ticket
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </Panel>
  );
}

function RateChart({ groups, testId, what }: { groups: Data['byModel']; testId: string; what: string }) {
  const option = useMemo(() => reliabilityChartOption(groups), [groups]);
  if (groups.length === 0) return <div className="empty">No machine-time recorded yet.</div>;
  return (
    <>
      <Chart option={option} height={260} testId={testId} ariaLabel={`Faults per 100 machine-years by ${what}, with 95% intervals`} />
      <div className="muted small">Faults per 100 machine-years; bars show the exact 95% Poisson interval. Few machine-years make wide intervals.</div>
    </>
  );
}

function ToReplace({ candidates }: { candidates: Data['hostsToReplace'] }) {
  return (
    <Panel title="Hosts to replace next">
      <p className="muted small">
        Score: the faults its model and age make likely in the coming year, plus its own faults of the last year, ×1.5 out of warranty.
      </p>
      <div className="table-wrap">
        <table className="table" data-testid="replace-table">
          <thead>
            <tr>
              <th>Host</th>
              <th>Model (rate)</th>
              <th>Age</th>
              <th>Warranty</th>
              <th>Own faults (last year / all)</th>
              <th>Score</th>
            </tr>
          </thead>
          <tbody>
            {candidates.map((c) => (
              <tr key={c.host.id}>
                <td>
                  <Link to="/hosts/$hostname" params={{ hostname: c.host.hostname }} className="mono">
                    {c.host.hostname}
                  </Link>
                  <div className="muted small">{c.host.cluster.name}</div>
                </td>
                <td>
                  {c.model} <span className="muted">({formatNumber(c.modelRate, 1)})</span>
                </td>
                <td>{c.ageYears == null ? 'unknown' : `${formatNumber(c.ageYears, 1)} y`}</td>
                <td>{c.warrantyEnd ? <Badge tone={c.outOfWarranty ? 'bad' : 'good'}>{c.outOfWarranty ? 'expired' : 'until'} {c.warrantyEnd.slice(0, 10)}</Badge> : 'unknown'}</td>
                <td>
                  {c.recentFaults} / {c.faults}
                </td>
                <td className="strong">{formatNumber(c.score, 2)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </Panel>
  );
}
