// Aquila → Stacks: every stack version with its packages and the clusters on it.
import { Fragment } from 'react';
import { useQuery } from 'urql';
import { graphql } from '../graphql';
import { formatDate, formatNumber, humanizeEnum } from '../lib/format';
import { ErrorPanel, Link, Loading, Panel } from '../components/ui';

export const StacksQuery = graphql(`
  query Stacks {
    stacks(first: 50) {
      totalCount
      nodes {
        id
        name
        description
        versions {
          id
          version
          releasedAt
          packages {
            id
            service
            version
            sourceKind
          }
          clusters {
            id
            name
          }
        }
      }
    }
  }
`);

export function Stacks() {
  const [{ data, error, fetching: loading }, reexecute] = useQuery({ query: StacksQuery });
  const refetch = () => reexecute({ requestPolicy: 'network-only' });
  const stacks = data?.stacks.nodes ?? [];
  return (
    <div className="page" data-testid="stacks-page">
      <div className="page-head">
        <h1 className="page-title">Stacks</h1>
        <div className="page-sub">A stack is a set of services at specific versions; upgrading a cluster's stack upgrades its services together.</div>
      </div>
      {error && <ErrorPanel error={error} onRetry={refetch} />}
      {!data && loading && <Loading what="Loading stacks" />}
      {data && (
        <Panel
          title={
            <>
              Stack versions <span className="count">{formatNumber(data.stacks.totalCount)} stacks</span>
            </>
          }
        >
          <div className="table-wrap">
            <table className="table" data-testid="stacks-table">
              <thead>
                <tr>
                  <th>Stack</th>
                  <th>Version</th>
                  <th>Released</th>
                  <th>Service packages</th>
                  <th>Clusters running it</th>
                </tr>
              </thead>
              <tbody>
                {stacks.map((s) => (
                  <Fragment key={s.id}>
                    {s.versions.length === 0 && (
                      <tr data-testid="stack-row">
                        <td className="name-cell" title={s.description}>
                          <strong>{s.name}</strong>
                          {s.description && <div className="muted small">{s.description}</div>}
                        </td>
                        <td colSpan={4} className="muted">
                          No versions yet.
                        </td>
                      </tr>
                    )}
                    {s.versions.map((v, i) => (
                      <tr key={v.id} data-testid="stack-row" className={i === 0 ? 'group-start' : ''}>
                        {i === 0 && (
                          <td rowSpan={s.versions.length} className="name-cell group-cell">
                            <strong>{s.name}</strong>
                            {s.description && <div className="muted small">{s.description}</div>}
                          </td>
                        )}
                        <td className="mono">{v.version}</td>
                        <td>{formatDate(v.releasedAt)}</td>
                        <td>
                          <div className="pkg-list">
                            {v.packages.map((p) => (
                              <span key={`${p.service}@${p.version}`} className="pkg" title={`source: ${humanizeEnum(p.sourceKind)}`}>
                                {p.service} <span className="mono">{p.version}</span>
                                <span className="pkg-src">{p.sourceKind === 'OBJECT_STORE' ? 'obj' : p.sourceKind.toLowerCase()}</span>
                              </span>
                            ))}
                            {!v.packages.length && <span className="muted">—</span>}
                          </div>
                        </td>
                        <td>
                          {v.clusters.length ? (
                            v.clusters.map((c, j) => (
                              <Fragment key={c.name}>
                                {j > 0 && ', '}
                                <Link to="/clusters/$name" params={{ name: c.name }}>
                                  {c.name}
                                </Link>
                              </Fragment>
                            ))
                          ) : (
                            <span className="muted">none</span>
                          )}
                        </td>
                      </tr>
                    ))}
                  </Fragment>
                ))}
                {!stacks.length && (
                  <tr>
                    <td colSpan={5} className="empty">
                      No stacks are defined yet.
                    </td>
                  </tr>
                )}
              </tbody>
            </table>
          </div>
        </Panel>
      )}
    </div>
  );
}
