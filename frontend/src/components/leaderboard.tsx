// Red-black leaderboards: one list (red, the best; black, the worst) with each
// entry's rank, movement, value, comparison and what to improve, and a
// subject's standing on every metric.
import { graphql, type ResultOf } from '../graphql';
import { formatDate, formatNumber, humanizeEnum } from '../lib/format';
import { appPath, METRIC_LABEL, movementText, standingText, type LeaderboardMetric } from '../lib/leaderboard';
import { Badge, Panel } from './ui';

export const LeaderboardFields = graphql(`
  fragment LeaderboardFields on Leaderboard {
    level
    list
    metric
    period
    start
    end
    computedAt
    higherIsBetter
    unit
    platformMedian
    minimumVolume
    rankedCount
    entries {
      rank
      previousRank
      movement
      subjectId
      name
      context
      value
      display
      comparison
      volume
      improve
      improveUrl
    }
  }
`);

export type LeaderboardView = ResultOf<typeof LeaderboardFields>;

export const StandingFields = graphql(`
  fragment StandingFields on LeaderboardStanding {
    metric
    period
    rank
    rankedCount
    list
    value
    display
    comparison
    movement
  }
`);

export type StandingView = ResultOf<typeof StandingFields>;

export function Movement({ movement }: { movement: number | null | undefined }) {
  const m = movementText(movement);
  return (
    <span className={`movement tone-${m.tone}`} title={movement == null ? 'not ranked the period before' : movement === 0 ? 'same place as the period before' : `${movement > 0 ? 'up' : 'down'} ${Math.abs(movement)} since the period before`} data-testid="movement">
      {m.arrow}
      {m.text}
    </span>
  );
}

/** One list, red or black, as ranked entries; `compact` leaves out the improvement advice, `highlight` marks one subject's entry. */
export function LeaderboardList({ board, compact, testId, highlight, emptyText }: { board: LeaderboardView; compact?: boolean; testId?: string; highlight?: string; emptyText?: string }) {
  const red = board.list === 'RED';
  return (
    <div className={`lb-list lb-${red ? 'red' : 'black'}`} data-testid={testId ?? `lb-${board.list.toLowerCase()}`} data-count={board.entries.length}>
      <div className="lb-head">
        <strong>{red ? 'Red list' : 'Black list'}</strong> <span className="muted small">{red ? 'the best' : 'the worst'}</span>
        <span className="muted small lb-meta">
          {formatNumber(board.rankedCount)} ranked · {board.minimumVolume}
        </span>
      </div>
      {board.entries.length === 0 ? (
        <div className="empty">{board.computedAt ? (emptyText ?? 'No subject had enough volume to be ranked.') : 'Not computed yet: the leaderboards job has not run for this period.'}</div>
      ) : (
        <ol className="lb-entries">
          {board.entries.map((e) => {
            const href = appPath(e.improveUrl);
            return (
              <li key={e.subjectId} className={`lb-entry${e.subjectId === highlight ? ' lb-mine' : ''}`} data-testid="lb-entry" data-rank={e.rank}>
                <span className="lb-rank">{e.rank}</span>
                <Movement movement={e.movement} />
                <span className="lb-who">
                  <span className="lb-name">{e.name}</span>
                  {e.context && <span className="muted small"> · {e.context}</span>}
                  <span className="lb-comparison small" data-testid="lb-comparison">
                    {e.comparison}
                  </span>
                  {!compact && e.improve && (
                    <span className="lb-improve small">
                      {e.improve}{' '}
                      {href && (
                        <a href={href} data-testid="lb-improve">
                          How to improve →
                        </a>
                      )}
                    </span>
                  )}
                </span>
                <span className="lb-value" data-testid="lb-value">
                  {e.display}
                </span>
              </li>
            );
          })}
        </ol>
      )}
    </div>
  );
}

/** Where a subject stands on each metric of its level. */
export function StandingPanel({ title, standing, testId = 'standing' }: { title: string; standing: readonly StandingView[]; testId?: string }) {
  return (
    <Panel
      title={
        <>
          {title} <span className="muted small">{standing[0] ? `this ${humanizeEnum(standing[0].period).toLowerCase()}` : ''}</span>
        </>
      }
    >
      {standing.length === 0 ? (
        <div className="empty">No leaderboard computed yet.</div>
      ) : (
        <table className="table" data-testid={testId}>
          <thead>
            <tr>
              <th>Metric</th>
              <th>Place</th>
              <th className="num">Value</th>
              <th>Compared</th>
              <th>Movement</th>
            </tr>
          </thead>
          <tbody>
            {standing.map((s) => (
              <tr key={s.metric} data-testid="standing-row">
                <td>{METRIC_LABEL[s.metric as LeaderboardMetric] ?? humanizeEnum(s.metric)}</td>
                <td>
                  {standingText(s.rank, s.rankedCount)}{' '}
                  {s.list && <Badge tone={s.list === 'RED' ? 'good' : 'bad'}>{s.list === 'RED' ? 'red list' : 'black list'}</Badge>}
                </td>
                <td className="num">{s.display ?? '–'}</td>
                <td className="small">{s.comparison ?? ''}</td>
                <td>{s.rank != null ? <Movement movement={s.movement} /> : null}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Panel>
  );
}

/** "1 Nov – 30 Nov" for a period [start, end). */
export function periodText(start: string, end: string): string {
  const last = new Date(Date.parse(end) - 86_400_000).toISOString();
  return start.slice(0, 10) === last.slice(0, 10) ? formatDate(start) : `${formatDate(start)} – ${formatDate(last)}`;
}
