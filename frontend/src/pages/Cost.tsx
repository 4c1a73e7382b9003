// Platform operations → Cost: what the platform cost in a month by cluster and
// by BU (usage, storage, idle share, overhead), the idle cost, the rate cards behind
// every figure (ADMIN edits them here) and CSV downloads of each view. The
// server scopes every figure: a BU admin sees their subtree, a viewer their
// own lines.
import { useMemo, useState, type FormEvent } from 'react';
import { useMutation, useQuery } from 'urql';
import { graphql, type ClusterKind, type ResultOf } from '../graphql';
import { useCan } from '../lib/hooks';
import { refusal } from '../lib/mutation';
import { formatDate, humanizeEnum } from '../lib/format';
import { formatMoney, sumMoney } from '../lib/money';

export { formatMoney, sumMoney };
import { ErrorPanel, Loading, Panel, Stat } from '../components/ui';
import { Chart } from '../components/LazyChart';

const LineFields = graphql(`
  fragment CostLineFields on BillLine {
    entityId
    name
    amount
    usage
    idleShare
    overhead
    rounding
  }
`);

export const CostPageQuery = graphql(
  `
    query CostPage($period: BillPeriodInput!) {
      currency
      byCluster: bills(groupBy: CLUSTER, period: $period, first: 200) {
        total
        totalCount
        csvUrl
        lines {
          ...CostLineFields
        }
      }
      byBU: bills(groupBy: BU, period: $period, first: 100) {
        total
        totalCount
        csvUrl
        lines {
          ...CostLineFields
        }
      }
      byResource: bills(groupBy: RESOURCE, period: $period, first: 10) {
        csvUrl
        lines {
          resource
          amount
          items {
            quantity
            unit
            unitPrice
          }
        }
      }
      byJob: bills(groupBy: JOB, period: $period, first: 1) {
        csvUrl
      }
      byPerson: bills(groupBy: PERSON, period: $period, first: 1) {
        csvUrl
      }
      rateCards {
        id
        clusterKind
        cluster {
          id
          name
        }
        validFrom
        validTo
        coreHour
        memoryGbHour
        overheadPerMonth
        storageTbDay
        note
      }
    }
  `,
  [LineFields],
);

export const UpsertRateCard = graphql(`
  mutation UpsertRateCard($input: UpsertRateCardInput!) {
    upsertRateCard(input: $input) {
      rateCard {
        id
        clusterKind
        validFrom
        validTo
        coreHour
        memoryGbHour
        overheadPerMonth
        storageTbDay
        note
      }
      userErrors {
        field
        message
        code
      }
    }
  }
`);

export const DeleteRateCard = graphql(`
  mutation DeleteRateCard($input: DeleteRateCardInput!) {
    deleteRateCard(input: $input) {
      rateCard {
        id
      }
      userErrors {
        field
        message
        code
      }
    }
  }
`);

type Data = ResultOf<typeof CostPageQuery>;
type Line = ResultOf<typeof LineFields>;
type Card = Data['rateCards'][number];
const KINDS: ClusterKind[] = ['BATCH', 'STREAMING', 'ONLINE'];

/** A line's storage amount: what is left of its amount after usage, idle, overhead and rounding (exact, in cents). */
export function storageOf(l: { amount: string; usage: string; idleShare: string; overhead: string; rounding: string }): string {
  const neg = (a: string) => (a.trim().startsWith('-') ? a.trim().slice(1) : `-${a.trim()}`);
  return sumMoney([l.amount, neg(l.usage), neg(l.idleShare), neg(l.overhead), neg(l.rounding)]);
}

/** The first day of this month (UTC) as YYYY-MM. */
function thisMonth(now = new Date()): string {
  return `${now.getUTCFullYear()}-${String(now.getUTCMonth() + 1).padStart(2, '0')}`;
}

function stackOption(lines: readonly Line[], currency: string) {
  const names = lines.map((l) => l.name);
  const part = (name: string, pick: (l: Line) => string, color: string) => ({
    name,
    type: 'bar',
    stack: 'cost',
    barMaxWidth: 36,
    itemStyle: { color },
    emphasis: { focus: 'series' },
    data: lines.map((l) => Number(pick(l))),
  });
  return {
    animation: false,
    tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
    legend: { top: 0 },
    grid: { left: 72, right: 16, top: 36, bottom: names.length > 8 ? 72 : 36 },
    xAxis: { type: 'category', data: names, axisLabel: { interval: 0, rotate: names.length > 8 ? 40 : 0, fontSize: 11 } },
    yAxis: { type: 'value', name: currency, nameTextStyle: { fontSize: 11 } },
    series: [
      part('Usage', (l) => l.usage, '#3b82f6'),
      part('Storage', storageOf, '#10b981'),
      part('Idle share', (l) => l.idleShare, '#f59e0b'),
      part('Overhead', (l) => l.overhead, '#8b5cf6'),
    ],
  };
}

function LinesTable({ lines, currency, what, testId }: { lines: readonly Line[]; currency: string; what: string; testId: string }) {
  if (!lines.length) return <div className="empty">No bill lines in this period.</div>;
  return (
    <table className="table" data-testid={testId}>
      <thead>
        <tr>
          <th>{what}</th>
          <th className="num">Usage</th>
          <th className="num">Storage</th>
          <th className="num">Idle share</th>
          <th className="num">Overhead</th>
          <th className="num">Rounding</th>
          <th className="num">Total ({currency})</th>
        </tr>
      </thead>
      <tbody>
        {lines.map((l) => (
          <tr key={l.entityId ?? l.name} data-testid="cost-line">
            <td>{l.name}</td>
            <td className="num">{formatMoney(l.usage)}</td>
            <td className="num">{formatMoney(storageOf(l))}</td>
            <td className="num">{formatMoney(l.idleShare)}</td>
            <td className="num">{formatMoney(l.overhead)}</td>
            <td className="num">{formatMoney(l.rounding)}</td>
            <td className="num">
              <strong>{formatMoney(l.amount)}</strong>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The day a date input holds as the API's midnight UTC, or null. */
function dayToTime(day: string): string | null {
  return /^\d{4}-\d{2}-\d{2}$/.test(day) ? `${day}T00:00:00Z` : null;
}

function RateCardForm({ clusters, onDone }: { clusters: { id: string; name: string }[]; onDone: () => void }) {
  const [target, setTarget] = useState<string>('kind:BATCH');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [core, setCore] = useState('');
  const [mem, setMem] = useState('');
  const [overhead, setOverhead] = useState('0');
  const [storage, setStorage] = useState('0');
  const [note, setNote] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [{ fetching }, upsert] = useMutation(UpsertRateCard);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const validFrom = dayToTime(from);
    if (!validFrom) {
      setError('Choose the first day the card is valid.');
      return;
    }
    const [kindOrCluster, value] = target.split(':', 2);
    const res = await upsert({
      input: {
        ...(kindOrCluster === 'kind' ? { clusterKind: value as ClusterKind } : { cluster: value }),
        validFrom,
        validTo: dayToTime(to),
        coreHour: core.trim(),
        memoryGbHour: mem.trim(),
        overheadPerMonth: overhead.trim() || '0',
        storageTbDay: storage.trim() || '0',
        note,
      },
    });
    const why = refusal(res, (d) => d.upsertRateCard);
    if (why) setError(why);
    else {
      setError(null);
      onDone();
    }
  };

  return (
    <form className="action-form" onSubmit={submit} data-testid="rate-card-form">
      <label>
        For{' '}
        <select value={target} onChange={(e) => setTarget(e.target.value)} data-testid="rate-card-target">
          {KINDS.map((k) => (
            <option key={k} value={`kind:${k}`}>
              every {humanizeEnum(k).toLowerCase()} cluster
            </option>
          ))}
          {clusters.map((c) => (
            <option key={c.id} value={`cluster:${c.id}`}>
              cluster {c.name}
            </option>
          ))}
        </select>
      </label>
      <label>
        from <input type="date" value={from} onChange={(e) => setFrom(e.target.value)} data-testid="rate-card-from" required />
      </label>
      <label>
        to <input type="date" value={to} onChange={(e) => setTo(e.target.value)} data-testid="rate-card-to" />
      </label>
      <label>
        per core-hour{' '}
        <input type="text" inputMode="decimal" className="narrow" value={core} onChange={(e) => setCore(e.target.value)} data-testid="rate-card-core" required />
      </label>
      <label>
        per GB-hour{' '}
        <input type="text" inputMode="decimal" className="narrow" value={mem} onChange={(e) => setMem(e.target.value)} data-testid="rate-card-memory" required />
      </label>
      <label>
        overhead / month{' '}
        <input type="text" inputMode="decimal" className="narrow" value={overhead} onChange={(e) => setOverhead(e.target.value)} data-testid="rate-card-overhead" />
      </label>
      <label>
        per TB-day stored{' '}
        <input type="text" inputMode="decimal" className="narrow" value={storage} onChange={(e) => setStorage(e.target.value)} data-testid="rate-card-storage" />
      </label>
      <label>
        note <input type="text" value={note} onChange={(e) => setNote(e.target.value)} />
      </label>
      <button type="submit" className="btn btn-primary" disabled={fetching} data-testid="rate-card-save">
        Add rate card
      </button>
      {error && (
        <div className="action-error" role="alert" data-testid="action-error">
          {error}
        </div>
      )}
    </form>
  );
}

function RateCards({ cards, currency, clusters, refetch }: { cards: readonly Card[]; currency: string; clusters: { id: string; name: string }[]; refetch: () => void }) {
  const isAdmin = useCan('ADMIN');
  const [, remove] = useMutation(DeleteRateCard);
  const [error, setError] = useState<string | null>(null);
  const del = async (id: string) => {
    const why = refusal(await remove({ input: { id } }), (d) => d.deleteRateCard);
    setError(why);
    if (!why) refetch();
  };
  return (
    <Panel title={<>Rate cards <span className="muted small">prices in {currency}; a cluster's own card wins over its kind's</span></>}>
      {error && (
        <div className="action-error" role="alert">
          {error}
        </div>
      )}
      {cards.length ? (
        <table className="table" data-testid="rate-cards">
          <thead>
            <tr>
              <th>For</th>
              <th>Valid</th>
              <th className="num">Core-hour</th>
              <th className="num">GB-hour</th>
              <th className="num">Overhead / month</th>
              <th className="num" data-testid="rate-card-storage-head">Storage / TB-day</th>
              <th>Note</th>
              {isAdmin && <th />}
            </tr>
          </thead>
          <tbody>
            {cards.map((c) => (
              <tr key={c.id} data-testid="rate-card">
                <td>{c.cluster ? `cluster ${c.cluster.name}` : `${humanizeEnum(c.clusterKind ?? '')} clusters`}</td>
                <td>
                  {formatDate(c.validFrom)} – {c.validTo ? formatDate(c.validTo) : 'open'}
                </td>
                <td className="num">{c.coreHour}</td>
                <td className="num">{c.memoryGbHour}</td>
                <td className="num">{formatMoney(c.overheadPerMonth)}</td>
                <td className="num" data-testid="rate-card-storage-price">{c.storageTbDay}</td>
                <td>{c.note}</td>
                {isAdmin && (
                  <td>
                    <button type="button" className="btn btn-small" onClick={() => del(c.id)} data-testid="rate-card-delete">
                      Delete
                    </button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <div className="empty">No rate cards: nothing is billed until a card prices the clusters.</div>
      )}
      {isAdmin && <RateCardForm clusters={clusters} onDone={refetch} />}
    </Panel>
  );
}

export function Cost() {
  const [month, setMonth] = useState(thisMonth());
  const variables = useMemo(() => ({ period: { unit: 'MONTH' as const, start: `${month}-01T00:00:00Z` } }), [month]);
  const [{ data, error, fetching }, reexecute] = useQuery({ query: CostPageQuery, variables });
  const refetch = () => reexecute({ requestPolicy: 'network-only' });
  const currency = data?.currency ?? '';
  const clusters = data?.byCluster.lines ?? [];
  const bus = data?.byBU.lines ?? [];
  const clusterOption = useMemo(() => stackOption(clusters, currency), [clusters, currency]);
  const buOption = useMemo(() => stackOption(bus, currency), [bus, currency]);
  const idle = data?.byResource.lines.find((l) => l.resource === 'IDLE')?.amount ?? '0';
  const usage = (data?.byResource.lines ?? []).filter((l) => l.resource === 'CPU' || l.resource === 'MEMORY');
  const overhead = data?.byResource.lines.find((l) => l.resource === 'OVERHEAD')?.amount ?? '0';
  const stored = data?.byResource.lines.find((l) => l.resource === 'STORAGE');
  const clusterChoices = clusters.filter((c) => c.entityId).map((c) => ({ id: c.entityId as string, name: c.name }));

  return (
    <div className="page" data-testid="cost-page">
      <div className="page-head page-head-row">
        <div>
          <h1 className="page-title">Cost</h1>
          <div className="page-sub">What the platform cost by cluster and BU: usage and storage (TB-days of the datasets each job wrote last) at the rate cards' prices, the idle capacity shared by usage, and overhead.</div>
        </div>
        <label>
          Month{' '}
          <input type="month" value={month} onChange={(e) => e.target.value && setMonth(e.target.value)} data-testid="cost-month" />
        </label>
      </div>

      {error && <ErrorPanel error={error} onRetry={refetch} />}
      {!data && fetching && <Loading what="Loading bills" />}

      {data && (
        <>
          <div className="stat-strip" data-testid="cost-summary">
            <Stat label="Total" value={formatMoney(data.byCluster.total, currency)} testId="cost-total" />
            <Stat label="Usage" value={formatMoney(sumMoney(usage.map((l) => l.amount)), currency)} sub="CPU and memory" />
            <Stat
              label="Storage"
              value={formatMoney(stored?.amount ?? '0', currency)}
              sub={stored?.items[0] ? `${Number(stored.items[0].quantity).toLocaleString('en-US', { maximumFractionDigits: 1 })} TB-days` : 'no sized datasets'}
              testId="cost-storage"
            />
            <Stat label="Idle cost" value={formatMoney(idle, currency)} sub="capacity no job was charged for" testId="cost-idle" />
            <Stat label="Overhead" value={formatMoney(overhead, currency)} />
          </div>

          <Panel
            title="Cost by cluster"
            actions={
              <a className="btn btn-small" href={data.byCluster.csvUrl} data-testid="csv-cluster">
                CSV
              </a>
            }
          >
            {clusters.length ? <Chart option={clusterOption} height={300} testId="cost-by-cluster-chart" ariaLabel="Stacked bar chart of cost per cluster" /> : null}
            <LinesTable lines={clusters} currency={currency} what="Cluster" testId="cost-by-cluster" />
          </Panel>

          <Panel
            title="Cost by BU"
            actions={
              <>
                <a className="btn btn-small" href={data.byBU.csvUrl} data-testid="csv-bu">
                  CSV
                </a>{' '}
                <a className="btn btn-small" href={data.byPerson.csvUrl} data-testid="csv-person">
                  CSV by person
                </a>{' '}
                <a className="btn btn-small" href={data.byJob.csvUrl} data-testid="csv-job">
                  CSV by job
                </a>
              </>
            }
          >
            {bus.length ? <Chart option={buOption} height={300} testId="cost-by-bu-chart" ariaLabel="Stacked bar chart of cost per BU" /> : null}
            <LinesTable lines={bus} currency={currency} what="BU" testId="cost-by-bu" />
          </Panel>

          <RateCards cards={data.rateCards} currency={currency} clusters={clusterChoices} refetch={refetch} />
        </>
      )}
    </div>
  );
}
