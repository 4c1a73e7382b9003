import type { ReactNode } from 'react';
import { codeOf, describeCode, messageOf } from '../lib/errors';
import type { Tone } from '../lib/colors';
import { formatNumber, humanizeEnum } from '../lib/format';
import { nextPosition, pagerState, previousPosition, type PageInfo, type PagerPosition } from '../lib/paging';

export { Link } from '@tanstack/react-router';

export function Badge({ tone, children, title }: { tone: Tone; children: ReactNode; title?: string }) {
  return (
    <span className={`badge badge-${tone}`} title={title}>
      {children}
    </span>
  );
}

export function EnumBadge<T extends string>({ value, tones }: { value: T; tones: Record<T, Tone> }) {
  return <Badge tone={tones[value] ?? 'muted'}>{humanizeEnum(value)}</Badge>;
}

export function Loading({ what = 'Loading' }: { what?: string }) {
  return (
    <div className="loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      {what}…
    </div>
  );
}

export function ErrorPanel({ error, onRetry }: { error: Error; onRetry?: () => void }) {
  const code = codeOf(error);
  return (
    <div className="error-panel" role="alert" data-testid="error-panel">
      <strong>{code ? describeCode(code) : 'Something went wrong.'}</strong>
      <div className="error-message">
        {code && <code className="error-code">{code}</code>} {messageOf(error)}
      </div>
      {onRetry && (
        <button type="button" className="btn" onClick={onRetry}>
          Retry
        </button>
      )}
    </div>
  );
}

export function Panel({ title, actions, children, className }: { title?: ReactNode; actions?: ReactNode; children: ReactNode; className?: string }) {
  return (
    <section className={`panel ${className ?? ''}`}>
      {(title || actions) && (
        <header className="panel-head">
          {title && <h2>{title}</h2>}
          {actions && <div className="panel-actions">{actions}</div>}
        </header>
      )}
      <div className="panel-body">{children}</div>
    </section>
  );
}

export function Stat({ label, value, sub, testId }: { label: string; value: ReactNode; sub?: ReactNode; testId?: string }) {
  return (
    <div className="stat" data-testid={testId}>
      <div className="stat-label">{label}</div>
      <div className="stat-value">{value}</div>
      {sub && <div className="stat-sub">{sub}</div>}
    </div>
  );
}

/** A percentage (0–100) as a number with a small bar; null shows a dash. */
export function PercentBar({ value, text }: { value: number | null | undefined; text: string }) {
  const v = typeof value === 'number' && Number.isFinite(value) ? Math.max(0, Math.min(100, value)) : null;
  const tone = v === null ? 'muted' : v >= 90 ? 'bad' : v >= 75 ? 'warn' : 'good';
  return (
    <span className="pbar" title={text}>
      <span className="pbar-track">{v !== null && <span className={`pbar-fill tone-${tone}`} style={{ width: `${v}%` }} />}</span>
      <span className="pbar-text">{text}</span>
    </span>
  );
}

export function Pager({
  hasPrevious,
  hasNext,
  onPrevious,
  onNext,
  busy,
  children,
}: {
  hasPrevious: boolean;
  hasNext: boolean;
  onPrevious: () => void;
  onNext: () => void;
  busy?: boolean;
  children?: ReactNode;
}) {
  return (
    <div className="pager">
      <div className="pager-info">{children}</div>
      <button type="button" className="btn" onClick={onPrevious} disabled={!hasPrevious || busy} data-testid="page-prev">
        ‹ Previous
      </button>
      <button type="button" className="btn" onClick={onNext} disabled={!hasNext || busy} data-testid="page-next">
        Next ›
      </button>
    </div>
  );
}

/**
 * A select of "field ↑ / field ↓" orderings. The default field maps to null so
 * the URL stays clean when the default ordering is chosen.
 */
export function OrderSelect<F extends string>({
  fields,
  field,
  direction,
  defaultField,
  label,
  onChange,
}: {
  fields: readonly F[];
  field: F;
  direction: 'ASC' | 'DESC';
  defaultField: F;
  label: string;
  onChange: (order: { order: F | null; dir: 'DESC' | null }) => void;
}) {
  return (
    <select
      value={`${field}:${direction}`}
      onChange={(e) => {
        const [f, d] = e.target.value.split(':') as [F, string];
        onChange({ order: f === defaultField ? null : f, dir: d === 'DESC' ? 'DESC' : null });
      }}
      aria-label={label}
    >
      {fields.flatMap((f) =>
        (['ASC', 'DESC'] as const).map((d) => (
          <option key={`${f}:${d}`} value={`${f}:${d}`}>
            {humanizeEnum(f)} {d === 'ASC' ? '↑' : '↓'}
          </option>
        )),
      )}
    </select>
  );
}

/**
 * A secret shown once, right after it was made (an API or enrollment token),
 * with Copy and Done; `testId` prefixes the box's test ids (`<testId>-secret-box`,
 * `<testId>-secret`, `<testId>-secret-done`). `children` adds what goes with the
 * secret, such as the command line that uses it.
 */
export function SecretBox({ title, secret, onDone, testId, children }: { title: ReactNode; secret: string; onDone: () => void; testId: string; children?: ReactNode }) {
  return (
    <div className="secret-box" role="status" data-testid={`${testId}-secret-box`}>
      <div className="strong">{title}</div>
      <code className="secret" data-testid={`${testId}-secret`}>
        {secret}
      </code>
      {children}
      <div className="secret-actions">
        <button type="button" className="btn" onClick={() => void navigator.clipboard?.writeText(secret)}>
          Copy
        </button>
        <button type="button" className="btn" onClick={onDone} data-testid={`${testId}-secret-done`}>
          Done
        </button>
      </div>
    </div>
  );
}

/**
 * The pager of a cursor-paged listing at `position` (lib/paging): Previous and
 * Next, and which rows of how many are shown.
 */
export function ListingPager({
  info,
  position,
  onMove,
  shown,
  total,
  size,
  busy,
}: {
  info: PageInfo;
  position: PagerPosition;
  onMove: (p: PagerPosition) => void;
  shown: number;
  total: number;
  size: number;
  busy?: boolean;
}) {
  const state = pagerState(info, position.cursor, position.index);
  const from = position.index * size + 1;
  return (
    <Pager hasPrevious={state.hasPrevious} hasNext={state.hasNext} onPrevious={() => onMove(previousPosition(position, info))} onNext={() => onMove(nextPosition(position, info))} busy={busy}>
      {shown ? `${formatNumber(from)}–${formatNumber(from + shown - 1)} of ${formatNumber(total)}` : ''}
    </Pager>
  );
}
