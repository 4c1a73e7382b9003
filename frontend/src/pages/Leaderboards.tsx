// Platform operations → Leaderboards: the red (best) and black (worst) lists
// side by side for a level (jobs, people, BUs), a metric and a period, kept in
// the URL; each entry with its rank, movement since the period before, value,
// comparison with the platform and what to improve. Below, the health ranking:
// the hosts and jobs with the worst health scores.
import { useQuery } from 'urql';
import { graphql } from '../graphql';
import type { Search, SetSearch } from '../app/router';
import { formatDateTime } from '../lib/format';
import { leaderboardChoice, LEVEL_LABEL, LEVELS, METRIC_LABEL, METRICS, PERIOD_LABEL, PERIODS } from '../lib/leaderboard';
import { useDocumentTitle } from '../lib/title';
import { ErrorPanel, Loading, Panel } from '../components/ui';
import { Segmented } from '../components/telemetry';
import { LeaderboardFields, LeaderboardList, periodText } from '../components/leaderboard';
import { HealthRanking } from '../components/health';

type Keys = 'level' | 'metric' | 'period';

export const LeaderboardsQuery = graphql(
  `
    query Leaderboards($level: LeaderboardLevel = PERSON, $metric: LeaderboardMetric = EFFICIENCY, $period: PeriodUnit = WEEK) {
      red: leaderboard(level: $level, list: RED, metric: $metric, period: $period, first: 10) {
        ...LeaderboardFields
      }
      black: leaderboard(level: $level, list: BLACK, metric: $metric, period: $period, first: 10) {
        ...LeaderboardFields
      }
    }
  `,
  [LeaderboardFields],
);

export function Leaderboards({ search, setSearch }: { search: Search<Keys>; setSearch: SetSearch<Keys> }) {
  useDocumentTitle('Leaderboards');
  const choice = leaderboardChoice(search);
  const [{ data, error, fetching }, reexecute] = useQuery({ query: LeaderboardsQuery, variables: choice });
  const red = data?.red;
  const black = data?.black;
  // The lists shown belong to the choice (not a previous one still cached).
  const current = red && red.level === choice.level && red.metric === choice.metric && red.period === choice.period;

  return (
    <div className="page" data-testid="leaderboards-page">
      <div className="page-head">
        <h1 className="page-title">Leaderboards</h1>
        <div className="page-sub">
          The best (red list) and the worst (black list) jobs, people and BUs of a period by efficiency, cost, stability, findings and health. Only subjects with enough volume are ranked; each entry says how it compares and what to do about it.
        </div>
      </div>

      <div className="filters lb-selectors" data-testid="lb-selectors">
        <Segmented
          label="Level"
          value={choice.level}
          options={LEVELS.map((l) => ({ value: l, label: LEVEL_LABEL[l] }))}
          onChange={(v) => setSearch({ level: v === 'PERSON' ? null : v })}
          testId="lb-level"
        />
        <select value={choice.metric} onChange={(e) => setSearch({ metric: e.target.value === 'EFFICIENCY' ? null : e.target.value })} aria-label="Metric" data-testid="lb-metric">
          {METRICS.map((m) => (
            <option key={m} value={m}>
              {METRIC_LABEL[m]}
            </option>
          ))}
        </select>
        <Segmented
          label="Period"
          value={choice.period}
          options={PERIODS.map((p) => ({ value: p, label: PERIOD_LABEL[p] }))}
          onChange={(v) => setSearch({ period: v === 'WEEK' ? null : v })}
          testId="lb-period"
        />
        {fetching && <span className="spinner" aria-label="Refreshing" />}
      </div>

      {error && !data && <ErrorPanel error={error} onRetry={() => reexecute({ requestPolicy: 'network-only' })} />}
      {!data && fetching && <Loading what="Loading the leaderboards" />}

      {red && black && (
        <Panel
          title={
            <>
              {METRIC_LABEL[choice.metric]} of {LEVEL_LABEL[choice.level].toLowerCase()}{' '}
              <span className="muted small" data-testid="lb-period-text">
                {periodText(red.start, red.end)} · {red.higherIsBetter ? 'higher is better' : 'lower is better'}
                {red.computedAt ? ` · computed ${formatDateTime(red.computedAt)}` : ' · not computed yet'}
              </span>
            </>
          }
        >
          <div className={`lb-pair${current ? '' : ' lb-stale'}`} data-testid="lb-pair" data-choice={`${red.level}/${red.metric}/${red.period}`}>
            <LeaderboardList board={red} />
            <LeaderboardList board={black} />
          </div>
        </Panel>
      )}

      <div className="grid-2">
        <HealthRanking level="HOST" title="Hosts in worst health" testId="health-worst-hosts" />
        <HealthRanking level="JOB" title="Jobs in worst health" testId="health-worst-jobs" />
      </div>
    </div>
  );
}
