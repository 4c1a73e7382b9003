// Configuration diffs on a page: one file's unified diff side by side (old
// left, new right, changed lines highlighted), and a list of them.
import { Fragment, useMemo } from 'react';
import { diffStat, fileLabel, sideBySide } from '../lib/configuration';

export function SideBySideDiff({ diff }: { diff: string }) {
  const rows = useMemo(() => sideBySide(diff), [diff]);
  if (!rows.length) return <div className="empty small">No difference.</div>;
  return (
    <div className="table-wrap">
      <table className="diff-table" data-testid="diff-table">
        <colgroup>
          <col className="diff-num" />
          <col />
          <col className="diff-num" />
          <col />
        </colgroup>
        <tbody>
          {rows.map((r, i) =>
            r.kind === 'hunk' ? (
              <tr key={i} className="diff-hunk">
                <td colSpan={4}>{r.text}</td>
              </tr>
            ) : (
              <tr key={i} className={`diff-row diff-${r.kind}`} data-testid="diff-row" data-kind={r.kind}>
                <td className="diff-num">{r.left?.line ?? ''}</td>
                <td className={`diff-text diff-old${r.left && r.kind !== 'same' ? ' diff-del' : ''}`} data-testid="diff-old">
                  {r.left?.text ?? ''}
                </td>
                <td className="diff-num">{r.right?.line ?? ''}</td>
                <td className={`diff-text diff-new${r.right && r.kind !== 'same' ? ' diff-ins' : ''}`} data-testid="diff-new">
                  {r.right?.text ?? ''}
                </td>
              </tr>
            ),
          )}
        </tbody>
      </table>
    </div>
  );
}

/** Each file's diff under its name with the lines removed and added. */
export function FileDiffs({ diffs, testId = 'file-diffs' }: { diffs: readonly { group?: string | null; service: string; path: string; diff: string }[]; testId?: string }) {
  if (!diffs.length) return <div className="empty small">No file differs.</div>;
  return (
    <div className="file-diffs" data-testid={testId}>
      {diffs.map((d) => {
        const s = diffStat(d.diff);
        return (
          <Fragment key={`${d.group ?? ''}/${d.service}/${d.path}`}>
            <div className="diff-file" data-testid="diff-file">
              <span className="mono strong">{fileLabel(d)}</span>{' '}
              <span className="tone-bad-text small">−{s.removed}</span> <span className="tone-good-text small">+{s.added}</span>
            </div>
            <SideBySideDiff diff={d.diff} />
          </Fragment>
        );
      })}
    </div>
  );
}
