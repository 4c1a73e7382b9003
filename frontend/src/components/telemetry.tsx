// Small building blocks shared by the watermark, machine and scheduler pages:
// the range picker, the live-connection badge and the segmented control.
import { useEffect, useState, type ReactNode } from 'react';
import type { LiveInfo } from '../lib/live';
import { formatRelative } from '../lib/format';
import { fromInputValue, PRESET_LABEL, toInputValue, type RangePreset, type RangeSelection } from '../lib/timerange';

export function Segmented<T extends string>({
  value,
  options,
  onChange,
  label,
  testId,
}: {
  value: T;
  options: Array<{ value: T; label: ReactNode; title?: string }>;
  onChange: (v: T) => void;
  label: string;
  testId?: string;
}) {
  return (
    <div className="segmented" role="group" aria-label={label} data-testid={testId}>
      {options.map((o) => (
        <button
          key={o.value}
          type="button"
          className={`seg${o.value === value ? ' active' : ''}`}
          aria-pressed={o.value === value}
          title={o.title}
          onClick={() => onChange(o.value)}
          data-value={o.value}
        >
          {o.label}
        </button>
      ))}
    </div>
  );
}

/** Presets as a segmented control, plus "Custom" with two UTC datetime inputs. */
export function RangePicker({ value, presets, onChange, testId = 'range-picker' }: { value: RangeSelection; presets: RangePreset[]; onChange: (v: RangeSelection) => void; testId?: string }) {
  const [from, setFrom] = useState(toInputValue(value.from));
  const [to, setTo] = useState(toInputValue(value.to));
  const [custom, setCustom] = useState(value.key === 'custom');
  useEffect(() => {
    setCustom(value.key === 'custom');
    if (value.key === 'custom') {
      setFrom(toInputValue(value.from));
      setTo(toInputValue(value.to));
    }
  }, [value.key, value.from, value.to]);

  const f = fromInputValue(from);
  const t = fromInputValue(to);
  const valid = !!f && !!t && f < t;

  return (
    <div className="range-picker" data-testid={testId}>
      <Segmented<string>
        label="Time range"
        value={custom ? 'custom' : value.key}
        options={[...presets.map((p) => ({ value: p, label: p, title: PRESET_LABEL[p] })), { value: 'custom', label: 'Custom' }]}
        onChange={(k) => {
          if (k === 'custom') {
            setCustom(true);
            if (!from || !to) {
              const end = Date.now();
              setTo(toInputValue(new Date(end).toISOString()));
              setFrom(toInputValue(new Date(end - 3 * 86400e3).toISOString()));
            }
          } else {
            setCustom(false);
            onChange({ key: k as RangePreset });
          }
        }}
      />
      {custom && (
        <form
          className="range-custom"
          onSubmit={(e) => {
            e.preventDefault();
            if (valid) onChange({ key: 'custom', from: f, to: t });
          }}
        >
          <input type="datetime-local" value={from} onChange={(e) => setFrom(e.target.value)} aria-label="From (UTC)" data-testid="range-from" />
          <span className="muted">→</span>
          <input type="datetime-local" value={to} onChange={(e) => setTo(e.target.value)} aria-label="To (UTC)" data-testid="range-to" />
          <span className="muted small">UTC</span>
          <button type="submit" className="btn" disabled={!valid}>
            Apply
          </button>
        </form>
      )}
    </div>
  );
}

/** Re-renders the caller every `ms` (for "5s ago" texts and clocks). */
export function useTicker(ms = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(id);
  }, [ms]);
  return now;
}

/** "● Live" / "Connecting…" / "Reconnecting…" for a supervised subscription. */
export function LiveBadge({ info, lastAt, testId = 'live-badge' }: { info: LiveInfo; lastAt?: string | null; testId?: string }) {
  const now = useTicker(5000);
  const title =
    info.status === 'reconnecting'
      ? `Connection lost${info.lastError ? ` (${info.lastError})` : ''}; attempt ${info.attempt}${info.nextRetryAt ? `, next in ${Math.max(0, Math.round((info.nextRetryAt - now) / 1000))}s` : ''}`
      : info.status === 'live'
        ? `Live over the websocket${lastAt ? `; last update ${formatRelative(lastAt, now)}` : ''}`
        : 'Opening the live connection';
  const text = info.status === 'live' ? 'Live' : info.status === 'reconnecting' ? 'Reconnecting…' : info.status === 'stopped' ? 'Paused' : 'Connecting…';
  return (
    <span className={`live-badge live-${info.status}`} title={title} data-testid={testId} data-status={info.status}>
      <span className="live-dot" aria-hidden="true" />
      {text}
      {info.status === 'live' && lastAt && <span className="live-age">· {formatRelative(lastAt, now)}</span>}
    </span>
  );
}
