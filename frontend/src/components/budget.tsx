// A budget on the screens: the month's figures (amount, spend, forecast with
// its band, the day it runs out), the chart of cumulative spend, actual then
// forecast, against the amount, the alerts raised, and the form that sets,
// changes or deletes it. The form is shown only to those the server would let
// (Budget.editable, or canSetBudget for a missing one); the server's refusal
// is shown in place either way.
import { useMemo, useState, type FormEvent } from 'react';
import { useMutation } from 'urql';
import { graphql, type ResultOf } from '../graphql';
import { refusal } from '../lib/mutation';
import { budgetChartOption, budgetTone, parseThresholds, runsOutText } from '../lib/budget';
import { formatDate, formatDateTime, formatNumber, humanizeEnum } from '../lib/format';
import { formatMoney } from '../lib/money';
import { Chart } from './LazyChart';
import { Badge, Panel, Stat } from './ui';

export const BudgetFields = graphql(`
  fragment BudgetFields on Budget {
    id
    ownerKind
    validFrom
    month
    amount
    currency
    thresholds
    webhookUrl
    spend
    spendPercent
    editable
    updatedAt
    updatedBy {
      id
      name
    }
    forecast {
      method
      endOfMonth
      low
      high
      runsOutOn
      measuredErrorPercent
      days {
        day
        actual
        forecast
        cumulative
      }
    }
    alerts {
      id
      kind
      threshold
      value
      amount
      raisedAt
      webhook {
        state
        attempts
        lastError
      }
    }
  }
`);

export type BudgetView = ResultOf<typeof BudgetFields>;

export const UpsertBudget = graphql(`
  mutation UpsertBudget($input: UpsertBudgetInput!) {
    upsertBudget(input: $input) {
      budget {
        id
        amount
        thresholds
        webhookUrl
        editable
      }
      userErrors {
        field
        message
        code
      }
    }
  }
`);

export const DeleteBudget = graphql(`
  mutation DeleteBudget($input: DeleteBudgetInput!) {
    deleteBudget(input: $input) {
      budget {
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

/** Whose budget a form sets: exactly one of person and bu (global ids). */
export interface BudgetOwner {
  person?: string;
  bu?: string;
}

/** The form that sets (or changes) a budget and deletes an existing one. */
export function BudgetForm({
  owner,
  budget,
  onDone,
  onCancel,
  testId = 'budget-form',
}: {
  owner: BudgetOwner;
  budget?: Pick<BudgetView, 'id' | 'amount' | 'thresholds' | 'webhookUrl'> | null;
  onDone: () => void;
  onCancel?: () => void;
  testId?: string;
}) {
  const [amount, setAmount] = useState(budget?.amount ?? '');
  const [thresholds, setThresholds] = useState((budget?.thresholds ?? [50, 80, 100]).join(', '));
  const [webhook, setWebhook] = useState(budget?.webhookUrl ?? '');
  const [error, setError] = useState<string | null>(null);
  const [{ fetching: saving }, upsert] = useMutation(UpsertBudget);
  const [{ fetching: deleting }, remove] = useMutation(DeleteBudget);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const t = parseThresholds(thresholds);
    if (typeof t === 'string') {
      setError(`Thresholds: ${t}.`);
      return;
    }
    const res = await upsert({ input: { ...owner, amount: amount.trim(), thresholds: t, webhookUrl: webhook.trim() } });
    const why = refusal(res, (d) => d.upsertBudget);
    setError(why);
    if (!why) onDone();
  };
  const del = async () => {
    if (!budget) return;
    const why = refusal(await remove({ input: { id: budget.id } }), (d) => d.deleteBudget);
    setError(why);
    if (!why) onDone();
  };

  return (
    <form className="action-form budget-form" onSubmit={submit} data-testid={testId}>
      <label>
        Amount per month{' '}
        <input type="text" inputMode="decimal" className="narrow" value={amount} onChange={(e) => setAmount(e.target.value)} data-testid="budget-amount" required />
      </label>
      <label>
        Alert at (%){' '}
        <input type="text" className="narrow" value={thresholds} onChange={(e) => setThresholds(e.target.value)} data-testid="budget-thresholds" title="Percentages of the amount, e.g. 50, 80, 100" />
      </label>
      <label>
        Webhook{' '}
        <input type="url" value={webhook} onChange={(e) => setWebhook(e.target.value)} placeholder="https://… (optional)" data-testid="budget-webhook" />
      </label>
      <button type="submit" className="btn btn-primary" disabled={saving} data-testid="budget-save">
        {budget ? 'Save budget' : 'Set budget'}
      </button>
      {budget && (
        <button type="button" className="btn" disabled={deleting} onClick={del} data-testid="budget-delete">
          Delete
        </button>
      )}
      {onCancel && (
        <button type="button" className="btn" onClick={onCancel}>
          Cancel
        </button>
      )}
      {error && (
        <div className="action-error" role="alert" data-testid="budget-error">
          {error}
        </div>
      )}
    </form>
  );
}

function Alerts({ alerts, currency }: { alerts: BudgetView['alerts']; currency: string }) {
  if (!alerts.length) return <div className="muted small" data-testid="budget-no-alerts">No alert this month.</div>;
  return (
    <ul className="budget-alerts" data-testid="budget-alerts">
      {alerts.map((a) => (
        <li key={a.id} data-testid="budget-alert">
          <Badge tone={a.threshold >= 100 ? 'bad' : 'warn'}>
            {humanizeEnum(a.kind)} ≥ {a.threshold}%
          </Badge>{' '}
          {formatMoney(a.value, currency)} of {formatMoney(a.amount)} · {formatDateTime(a.raisedAt)}
          {a.webhook && (
            <span className="muted small" title={a.webhook.lastError ?? undefined}>
              {' '}
              · webhook {humanizeEnum(a.webhook.state).toLowerCase()}
              {a.webhook.attempts > 1 ? ` after ${a.webhook.attempts} attempts` : ''}
            </span>
          )}
        </li>
      ))}
    </ul>
  );
}

/**
 * A budget's panel: its month's figures, chart and alerts, or "no budget";
 * the edit button when canSet (an existing budget's own editable flag is
 * passed in by the caller as canSet).
 */
export function BudgetPanel({
  title,
  budget,
  owner,
  canSet,
  onChanged,
  testId = 'budget-panel',
}: {
  title: string;
  budget: BudgetView | null | undefined;
  owner: BudgetOwner;
  canSet: boolean;
  onChanged: () => void;
  testId?: string;
}) {
  const [editing, setEditing] = useState(false);
  const option = useMemo(
    () => (budget ? budgetChartOption(budget.forecast.days, budget.amount, budget.currency, { low: budget.forecast.low, high: budget.forecast.high }) : null),
    [budget],
  );
  const forecastPercent = budget && Number(budget.amount) > 0 ? (Number(budget.forecast.endOfMonth) / Number(budget.amount)) * 100 : null;
  return (
    <Panel
      title={
        <>
          {title}
          {budget && (
            <Badge tone={budgetTone(budget.spendPercent)}>
              {formatNumber(budget.spendPercent, 0)}% spent
            </Badge>
          )}
        </>
      }
      actions={
        canSet && !editing ? (
          <button type="button" className="btn btn-small" onClick={() => setEditing(true)} data-testid="budget-edit">
            {budget ? 'Edit budget' : 'Set a budget'}
          </button>
        ) : null
      }
    >
      <div data-testid={testId} data-amount={budget?.amount ?? ''}>
        {editing && (
          <BudgetForm
            owner={owner}
            budget={budget}
            onCancel={() => setEditing(false)}
            onDone={() => {
              setEditing(false);
              onChanged();
            }}
          />
        )}
        {!budget && !editing && <div className="empty" data-testid="budget-none">No budget is set{canSet ? '.' : ' (or it is not yours to read).'}</div>}
        {budget && (
          <>
            <div className="stat-strip">
              <Stat label="Amount" value={formatMoney(budget.amount, budget.currency)} sub={`since ${formatDate(budget.validFrom)}`} testId="budget-amount-stat" />
              <Stat label="Spend to date" value={formatMoney(budget.spend, budget.currency)} sub={`${formatNumber(budget.spendPercent, 1)}% of the amount`} testId="budget-spend" />
              <Stat
                label="Forecast at month end"
                value={formatMoney(budget.forecast.endOfMonth, budget.currency)}
                sub={`${formatMoney(budget.forecast.low)} – ${formatMoney(budget.forecast.high)}${forecastPercent !== null ? ` · ${formatNumber(forecastPercent, 0)}%` : ''}`}
                testId="budget-forecast"
              />
              <Stat
                label="Runs out"
                value={runsOutText(budget.forecast.runsOutOn)}
                sub={budget.forecast.measuredErrorPercent != null ? `forecasts have been off by ${formatNumber(budget.forecast.measuredErrorPercent, 1)}%` : 'no past month to check forecasts on'}
                testId="budget-runs-out"
              />
            </div>
            {option && <Chart option={option} height={220} testId="budget-chart" ariaLabel="Cumulative spend this month, actual and forecast, against the budget" />}
            <div className="muted small budget-method">
              {budget.forecast.method.trim().replace(/([^.])$/, '$1.')} Alerts at {budget.thresholds.join(', ')}% of the amount
              {budget.updatedBy ? `; set by ${budget.updatedBy.name} on ${formatDate(budget.updatedAt)}` : ''}.
            </div>
            <Alerts alerts={budget.alerts} currency={budget.currency} />
          </>
        )}
      </div>
    </Panel>
  );
}
