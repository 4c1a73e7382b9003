// Aquila → Stacks: every stack version with its packages and the clusters on
// it; each version's start order, dependency graph and packages with their
// typed metadata; for operators and admins, the forms that register a package
// and create a stack version.
import { Fragment, useState } from 'react';
import { useQuery } from 'urql';
import { graphql, type ResultOf } from '../graphql';
import { formatDate, formatNumber, humanizeEnum } from '../lib/format';
import { Badge, ErrorPanel, Link, Loading, Panel } from '../components/ui';
import { useCan } from '../lib/hooks';
import { DependencyGraph, GraphLegend, NewStackVersionForm, RegisterPackageForm } from '../components/stacks';

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
          partial
          startOrder
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

/** One stack version's graph and packages with their typed metadata, fetched when shown (the list stays cheap). */
const StackVersionDetailQuery = graphql(`
  query StackVersionDetail($id: ID!) {
    node(id: $id) {
      id
      ... on StackVersion {
        notes
        dependencyGraph {
          nodes {
            service
            version
            position
            package {
              id
            }
          }
          edges {
            from
            to
            constraint
            missing
            satisfied
          }
        }
        packages {
          id
          service
          version
          build
          checksum
          source {
            kind
            uri
            ref
          }
          dependencies {
            service
            constraint
          }
          startOrder
          stopOrder
          healthCheck {
            kind
            target
            timeout
          }
          restartPolicy
          maxRestarts
        }
      }
    }
  }
`);

/** The packages the new-version form picks from: one page, newest first (a stack has tens of services). */
const PackagePicksQuery = graphql(`
  query PackagePicks {
    servicePackages(first: 100) {
      nodes {
        id
        service
        version
      }
    }
  }
`);

type StackVersionRow = NonNullable<ResultOf<typeof StacksQuery>['stacks']['nodes'][number]>['versions'][number];

export function Stacks() {
  const [{ data, error, fetching: loading }, reexecute] = useQuery({ query: StacksQuery });
  const refetch = () => reexecute({ requestPolicy: 'network-only' });
  const stacks = data?.stacks.nodes ?? [];
  const canOperate = useCan('OPERATOR');
  const [form, setForm] = useState<'package' | 'version' | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [{ data: picks }, refetchPicks] = useQuery({ query: PackagePicksQuery, pause: !canOperate || form !== 'version' });
  const bases = stacks.flatMap((s) => s.versions.filter((v) => !v.partial).map((v) => ({ id: v.id, label: `${s.name} ${v.version}` })));
  return (
    <div className="page" data-testid="stacks-page">
      <div className="page-head">
        <h1 className="page-title">Stacks</h1>
        <div className="page-sub">A stack is a set of services at specific versions; upgrading a cluster's stack upgrades its services together.</div>
      </div>
      {canOperate && (
        <Panel
          title="Packages and versions"
          actions={
            <>
              <button type="button" className={`btn ${form === 'package' ? 'active' : ''}`} onClick={() => setForm(form === 'package' ? null : 'package')} data-testid="open-register-package">
                Register package
              </button>
              <button
                type="button"
                className={`btn ${form === 'version' ? 'active' : ''}`}
                onClick={() => {
                  setForm(form === 'version' ? null : 'version');
                  refetchPicks({ requestPolicy: 'network-only' });
                }}
                data-testid="open-new-version"
              >
                New stack version
              </button>
            </>
          }
        >
          {done && (
            <div className="action-ok" role="status" data-testid="stacks-done">
              {done}
            </div>
          )}
          {form === 'package' && (
            <RegisterPackageForm
              onDone={(label) => {
                setDone(`Registered ${label}.`);
                setForm(null);
              }}
            />
          )}
          {form === 'version' && (
            <NewStackVersionForm
              packages={picks?.servicePackages.nodes ?? []}
              bases={bases}
              onDone={(label) => {
                setDone(`Created ${label}.`);
                setForm(null);
                refetch();
              }}
            />
          )}
          {!form && !done && <div className="muted small">Register a service package, or make a stack version from registered packages.</div>}
        </Panel>
      )}
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
                        <td className="mono">
                          <a href={`#v-${v.id}`}>{v.version}</a> {v.partial && <Badge tone="info">partial</Badge>}
                        </td>
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
      {stacks.map((s) =>
        s.versions.map((v, i) => <StackVersionDetail key={v.id} stack={s.name} v={v} initiallyOpen={i === s.versions.length - 1} />),
      )}
    </div>
  );
}

/** One stack version: its start order, dependency graph and packages (the newest of each stack open at first). */
function StackVersionDetail({ stack, v, initiallyOpen }: { stack: string; v: StackVersionRow; initiallyOpen: boolean }) {
  const [open, setOpen] = useState(initiallyOpen);
  return (
    <Panel
      title={
        <span id={`v-${v.id}`}>
          {stack} {v.version} {v.partial && <Badge tone="info">partial</Badge>}
        </span>
      }
      actions={
        <button type="button" className="btn btn-small" onClick={() => setOpen(!open)} data-testid="stack-version-toggle">
          {open ? 'Hide graph and packages' : 'Show graph and packages'}
        </button>
      }
    >
      <div data-testid="stack-version" data-version={`${stack} ${v.version}`}>
        <div className="small" data-testid="start-order">
          <strong>Start order: </strong>
          {v.startOrder.length ? v.startOrder.join(' → ') : '—'}
        </div>
        {open && <StackVersionBody id={v.id} />}
      </div>
    </Panel>
  );
}

function StackVersionBody({ id }: { id: string }) {
  const [{ data, error, fetching }, reexecute] = useQuery({ query: StackVersionDetailQuery, variables: { id } });
  const v = data?.node && 'packages' in data.node ? data.node : null;
  if (error) return <ErrorPanel error={error} onRetry={() => reexecute({ requestPolicy: 'network-only' })} />;
  if (!v) return fetching ? <Loading what="Loading the version" /> : null;
  return (
    <>
        {v.notes && <p className="muted">{v.notes}</p>}
        <div className="dep-graph-wrap">
          <DependencyGraph graph={v.dependencyGraph} />
        </div>
        <GraphLegend />
        <div className="table-wrap">
          <table className="table" data-testid="package-table">
            <thead>
              <tr>
                <th>Service</th>
                <th>Version</th>
                <th>Source</th>
                <th>Checksum</th>
                <th>Depends on</th>
                <th>Start / stop</th>
                <th>Health check</th>
                <th>Restart</th>
              </tr>
            </thead>
            <tbody>
              {v.packages.map((p) => (
                <tr key={p.id} data-testid="package-row">
                  <td>
                    <strong>{p.service}</strong>
                  </td>
                  <td className="mono">
                    {p.version}
                    {p.build && <span className="muted">-{p.build}</span>}
                  </td>
                  <td className="small">
                    {humanizeEnum(p.source.kind)} <span className="mono">{p.source.uri}</span>
                    {p.source.ref && <span className="mono"> @ {p.source.ref}</span>}
                  </td>
                  <td className="mono small" title={p.checksum}>
                    {p.checksum.slice(0, 18)}…
                  </td>
                  <td className="small">{p.dependencies.length ? p.dependencies.map((d) => `${d.service} ${d.constraint || '*'}`).join(', ') : '—'}</td>
                  <td>
                    {p.startOrder} / {p.stopOrder}
                  </td>
                  <td className="small">{p.healthCheck ? `${p.healthCheck.kind} ${p.healthCheck.target} (${p.healthCheck.timeout})` : '—'}</td>
                  <td className="small">
                    {humanizeEnum(p.restartPolicy)}
                    {p.restartPolicy !== 'NEVER' && `, ≤ ${p.maxRestarts}`}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
    </>
  );
}
