// Health scores (0–100, from weighted components): a small badge for lists and
// heads, the score with its components and reasons for detail panels, and the
// ranking of the worst subjects of a level.
import { useQuery } from 'urql';
import { graphql, type Enum, type ResultOf } from '../graphql';
import { formatNumber, formatPercent, humanizeEnum } from '../lib/format';
import { gradeTone } from '../lib/leaderboard';
import { Badge, ErrorPanel, Link, Loading, Panel } from './ui';

export const HealthFields = graphql(`
  fragment HealthFields on HealthScore {
    score
    grade
    computedAt
    components {
      name
      weight
      score
      lostPoints
      reason
    }
  }
`);

export type Health = ResultOf<typeof HealthFields>;

/** The score and grade as a coloured badge; "not scored" when the health job has not scored it yet. */
export function HealthBadge({ health, testId = 'health-badge' }: { health: Pick<Health, 'score' | 'grade'> | null | undefined; testId?: string }) {
  if (!health)
    return (
      <span data-testid={testId} data-score="">
        <Badge tone="muted" title="The health job has not scored it yet">
          health –
        </Badge>
      </span>
    );
  return (
    <span data-testid={testId} data-score={health.score}>
      <Badge tone={gradeTone(health.grade)} title={`Health ${formatNumber(health.score, 0)} of 100: ${humanizeEnum(health.grade)}`}>
        health {formatNumber(health.score, 0)} · {humanizeEnum(health.grade)}
      </Badge>
    </span>
  );
}

/** The components of a score: weight, own score, the points each cost and why. */
export function HealthComponents({ health, testId = 'health-components' }: { health: Health; testId?: string }) {
  const rows = [...health.components].sort((a, b) => b.lostPoints - a.lostPoints);
  return (
    <table className="table health-components" data-testid={testId}>
      <thead>
        <tr>
          <th>Component</th>
          <th className="num">Weight</th>
          <th className="num">Score</th>
          <th className="num">Points lost</th>
          <th>Why</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((c) => (
          <tr key={c.name} data-testid="health-component">
            <td>{humanizeEnum(c.name)}</td>
            <td className="num">{formatPercent(c.weight, { ratio: true, digits: 0 })}</td>
            <td className="num">{formatNumber(c.score, 0)}</td>
            <td className="num">{formatNumber(c.lostPoints, 1)}</td>
            <td className="small">{c.reason || <span className="muted">no points lost</span>}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** A panel with the score, its grade and its components; a note when it is not scored yet. */
export function HealthPanel({ title, health, testId = 'health-panel' }: { title: string; health: Health | null | undefined; testId?: string }) {
  return (
    <Panel
      title={
        <>
          {title} <HealthBadge health={health} />
        </>
      }
    >
      <div data-testid={testId}>
        {health ? <HealthComponents health={health} /> : <div className="empty">Not scored yet: the health job scores every subject once a day.</div>}
      </div>
    </Panel>
  );
}

export const HealthRankingQuery = graphql(`
  query HealthRanking($level: HealthLevel = HOST, $cluster: ID, $bu: ID, $first: Int!) {
    healthRanking(level: $level, cluster: $cluster, bu: $bu, first: $first) {
      rank
      subjectId
      name
      score
      grade
      worstComponent
      reason
    }
  }
`);

type HealthLevel = Enum<'HealthLevel'>;

/** A ranked subject's page where it has one (hosts and jobs). */
function SubjectLink({ level, id, name }: { level: HealthLevel; id: string; name: string }) {
  if (level === 'HOST') return <Link to="/hosts/$hostname" params={{ hostname: name }}>{name}</Link>;
  if (level === 'JOB') return <Link to="/jobs/$id" params={{ id }}>{name}</Link>;
  if (level === 'CLUSTER') return <Link to="/clusters/$name" params={{ name }}>{name}</Link>;
  return <>{name}</>;
}

/** The worst subjects of a level by health score (optionally within a cluster or a BU subtree). */
export function HealthRanking({ level, cluster, bu, first = 10, title, testId = 'health-ranking' }: { level: HealthLevel; cluster?: string; bu?: string; first?: number; title: string; testId?: string }) {
  const [{ data, error, fetching }] = useQuery({ query: HealthRankingQuery, variables: { level, cluster, bu, first } });
  const rows = data?.healthRanking ?? [];
  return (
    <Panel
      title={
        <>
          {title} <span className="muted small">worst health first</span>
        </>
      }
    >
      {error && !data && <ErrorPanel error={error} />}
      {!data && fetching && <Loading what="Loading health scores" />}
      {data && !rows.length && <div className="empty">Nothing scored yet.</div>}
      {rows.length > 0 && (
        <div className="table-wrap">
          <table className="table" data-testid={testId}>
            <thead>
              <tr>
                <th className="num">#</th>
                <th>{humanizeEnum(level)}</th>
                <th className="num">Score</th>
                <th>Worst component</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.subjectId} data-testid="health-ranking-row">
                  <td className="num">{r.rank}</td>
                  <td className="name-cell">
                    <SubjectLink level={level} id={r.subjectId} name={r.name} />
                  </td>
                  <td className="num">
                    <Badge tone={gradeTone(r.grade)}>{formatNumber(r.score, 0)}</Badge>
                  </td>
                  <td className="small">
                    {r.worstComponent ? <strong>{humanizeEnum(r.worstComponent)}</strong> : null}
                    {r.reason ? ` ${r.reason}` : ''}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Panel>
  );
}

export const ClusterHealthQuery = graphql(
  `
    query ClusterHealth($name: String!) {
      cluster(name: $name) {
        id
        health {
          ...HealthFields
        }
      }
    }
  `,
  [HealthFields],
);

/** A cluster's health: the badge for its head (`badge`), or its score with components and its hosts in worst health. */
export function ClusterHealth({ name, badge }: { name: string; badge?: boolean }) {
  const [{ data }] = useQuery({ query: ClusterHealthQuery, variables: { name } });
  const c = data?.cluster;
  if (badge) return c ? <HealthBadge health={c.health} testId="cluster-health-badge" /> : null;
  if (!c) return null;
  return (
    <div className="grid-2">
      <HealthPanel title="Health" health={c.health} testId="cluster-health" />
      <HealthRanking level="HOST" cluster={c.id} first={10} title="Hosts in worst health" testId="cluster-worst-hosts" />
    </div>
  );
}

export const JobHealthQuery = graphql(
  `
    query JobHealth($id: ID!) {
      job(id: $id) {
        id
        health {
          ...HealthFields
        }
      }
    }
  `,
  [HealthFields],
);

/** A job's health score with its components (same access as its runs). */
export function JobHealth({ id }: { id: string }) {
  const [{ data }] = useQuery({ query: JobHealthQuery, variables: { id } });
  const j = data?.job;
  if (!j) return null;
  return <HealthPanel title="Health" health={j.health} testId="job-health" />;
}
