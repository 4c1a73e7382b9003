// The utilisation thresholds per cluster kind (and the platform's), which every
// water level is judged against. Admins can change one; the server checks the
// value and its message is shown when it refuses.
import { useState, type FormEvent } from 'react';
import { useMutation, useQuery } from 'urql';
import { graphql, type ThresholdKind } from '../graphql';
import { useCan } from '../lib/hooks';
import { humanizeEnum } from '../lib/format';
import { formatUtil } from '../lib/watermark';
import { refusal } from '../lib/mutation';
import { ErrorPanel, Panel } from './ui';

export const ThresholdsQuery = graphql(`
  query WatermarkThresholds {
    watermarkThresholds {
      kind
      threshold
    }
  }
`);

export const SetWatermarkThreshold = graphql(`
  mutation SetWatermarkThreshold($input: SetWatermarkThresholdInput!) {
    setWatermarkThreshold(input: $input) {
      thresholds {
        kind
        threshold
      }
      userErrors {
        field
        message
        code
      }
    }
  }
`);

const ORDER: ThresholdKind[] = ['STREAMING', 'BATCH', 'ONLINE', 'PLATFORM'];

/** A percentage typed by a person ("85", "85%", "72.5") as a share (0.85); NaN when it is not a number. */
export function parsePercent(text: string): number {
  const t = text.trim().replace(/%$/, '').trim();
  if (!/^-?\d+(\.\d+)?$/.test(t)) return NaN;
  return Math.round(Number(t) * 10) / 1000;
}

/** A threshold as a percentage, with a decimal only when it has one: 0.8 → "80%", 0.725 → "72.5%". */
export function formatThreshold(t: number): string {
  const tenths = Math.round(t * 1000);
  return formatUtil(t, tenths % 10 === 0 ? 0 : 1);
}

function EditThreshold({ kind, threshold, onClose }: { kind: ThresholdKind; threshold: number; onClose: () => void }) {
  const [text, setText] = useState(String(Math.round(threshold * 1000) / 10));
  const [error, setError] = useState<string | null>(null);
  const [{ fetching }, setThreshold] = useMutation(SetWatermarkThreshold);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const value = parsePercent(text);
    if (Number.isNaN(value)) {
      setError('Type a percentage, e.g. 85.');
      return;
    }
    const res = await setThreshold({ input: { kind, threshold: value } });
    const why = refusal(res, (d) => d.setWatermarkThreshold);
    if (why) setError(why);
    else onClose();
  };

  return (
    <form className="action-form action-form-inline" onSubmit={submit} data-testid="threshold-form">
      <input
        type="text"
        inputMode="decimal"
        className="narrow"
        value={text}
        onChange={(e) => setText(e.target.value)}
        aria-label={`${humanizeEnum(kind)} threshold in percent`}
        data-testid="threshold-input"
        autoFocus
      />
      <span className="muted">%</span>
      <button type="submit" className="btn btn-primary" disabled={fetching} data-testid="threshold-save">
        Save
      </button>
      <button type="button" className="btn" onClick={onClose}>
        Cancel
      </button>
      {error && (
        <div className="action-error" role="alert" data-testid="action-error">
          {error}
        </div>
      )}
    </form>
  );
}

export function Thresholds() {
  const [{ data, error }, reexecute] = useQuery({ query: ThresholdsQuery });
  const canEdit = useCan('ADMIN');
  const [editing, setEditing] = useState<ThresholdKind | null>(null);
  const rows = [...(data?.watermarkThresholds ?? [])].sort((a, b) => ORDER.indexOf(a.kind) - ORDER.indexOf(b.kind));

  return (
    <Panel
      title={
        <>
          Thresholds <span className="muted small">per cluster kind: a level is Warning from 85% of its threshold and Critical above it</span>
        </>
      }
    >
      {error && <ErrorPanel error={error} onRetry={() => reexecute({ requestPolicy: 'network-only' })} />}
      <ul className="threshold-list" data-testid="thresholds">
        {rows.map((t) => (
          <li key={t.kind} className="threshold-item" data-testid="threshold" data-kind={t.kind}>
            <span className="threshold-kind">{t.kind === 'PLATFORM' ? 'Platform' : humanizeEnum(t.kind)}</span>
            {editing === t.kind ? (
              <EditThreshold kind={t.kind} threshold={t.threshold} onClose={() => setEditing(null)} />
            ) : (
              <>
                <strong className="threshold-value" data-testid="threshold-value">
                  {formatThreshold(t.threshold)}
                </strong>
                {canEdit && (
                  <button type="button" className="btn btn-small" onClick={() => setEditing(t.kind)} data-testid="threshold-edit">
                    Change
                  </button>
                )}
              </>
            )}
          </li>
        ))}
      </ul>
    </Panel>
  );
}
