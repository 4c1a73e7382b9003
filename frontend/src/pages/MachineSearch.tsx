// Tools → Machine analysis: find a host by name (or start from the hosts that
// need attention) and open its analysis.
import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { useQuery } from 'urql';
import { useNavigate } from '@tanstack/react-router';
import { graphql, type HostState } from '../graphql';
import { useDebounced } from '../lib/hooks';
import { formatNumber } from '../lib/format';
import type { Search, SetSearch } from '../app/router';
import { ErrorPanel, Link, Loading, Panel } from '../components/ui';
import { HeartbeatCell, HostnameCell, HostRowFields, HostSizeCells, HostStateCell, HostUsageCells } from '../components/hosts';

export const MachineSearchQuery = graphql(
  `
    query MachineSearch($filter: HostFilter, $orderBy: HostOrder) {
      hosts(first: 25, filter: $filter, orderBy: $orderBy) {
        totalCount
        nodes {
          ...HostRowFields
          cluster {
            id
            name
            kind
          }
        }
      }
    }
  `,
  [HostRowFields],
);

const ATTENTION: HostState[] = ['DEGRADED', 'OFFLINE', 'REPAIRING'];

export function MachineSearch({ search, setSearch }: { search: Search<'q'>; setSearch: SetSearch<'q'> }) {
  const navigate = useNavigate();
  const [text, setText] = useState(search.q ?? '');
  const q = useDebounced(text.trim(), 250);

  useEffect(() => {
    if ((search.q ?? '') !== q) setSearch({ q });
  }, [q]);

  const variables = useMemo(
    () =>
      q
        ? { filter: { search: q }, orderBy: { field: 'HOSTNAME' as const, direction: 'ASC' as const } }
        : { filter: { states: ATTENTION }, orderBy: { field: 'LAST_HEARTBEAT' as const, direction: 'DESC' as const } },
    [q],
  );
  const [{ data, error, fetching: loading }, reexecute] = useQuery({ query: MachineSearchQuery, variables });
  const refetch = () => reexecute({ requestPolicy: 'network-only' });
  const rows = data?.hosts.nodes ?? [];

  const open = (e: FormEvent) => {
    e.preventDefault();
    const exact = rows.find((r) => r.hostname === text.trim()) ?? (rows.length === 1 ? rows[0] : null);
    if (exact) void navigate({ to: '/hosts/$hostname', params: { hostname: exact.hostname } });
  };

  return (
    <div className="page" data-testid="machine-search-page">
      <div className="page-head">
        <h1 className="page-title">Machine analysis</h1>
        <div className="page-sub">One machine's hardware, operating system and service layer, how it compares with its peers, and its metrics.</div>
      </div>
      <form className="machine-search" onSubmit={open}>
        <input
          type="search"
          placeholder="Hostname, e.g. rt-bj-01-node0042"
          value={text}
          onChange={(e) => setText(e.target.value)}
          aria-label="Search hosts by hostname"
          data-testid="machine-search"
          autoFocus
        />
        <button type="submit" className="btn btn-primary" disabled={!rows.length}>
          Open
        </button>
        {loading && <span className="spinner" aria-label="Searching" />}
      </form>
      {error && <ErrorPanel error={error} onRetry={refetch} />}
      {!data && loading && <Loading what="Searching" />}
      {data && (
        <Panel
          title={
            <>
              {q ? 'Matching hosts' : 'Hosts that need attention'} <span className="count">{formatNumber(data.hosts.totalCount)}</span>
              {data.hosts.totalCount > rows.length && <span className="muted small">first {rows.length} shown</span>}
            </>
          }
        >
          <div className="table-wrap">
            <table className="table" data-testid="machine-results">
              <thead>
                <tr>
                  <th>Hostname</th>
                  <th>Cluster</th>
                  <th>State</th>
                  <th>Model</th>
                  <th className="num">Cores</th>
                  <th className="num">Memory</th>
                  <th>CPU</th>
                  <th>Memory used</th>
                  <th>Last heartbeat</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((h) => (
                  <tr key={h.id} data-testid="machine-row">
                    <HostnameCell host={h} testId="machine-link" />
                    <td>
                      <Link to="/clusters/$name" params={{ name: h.cluster.name }}>
                        {h.cluster.name}
                      </Link>
                    </td>
                    <HostStateCell host={h} />
                    <td className="ellipsis" title={`${h.model} · ${h.os}`}>
                      {h.model}
                    </td>
                    <HostSizeCells host={h} />
                    <HostUsageCells host={h} />
                    <HeartbeatCell host={h} />
                  </tr>
                ))}
                {!rows.length && (
                  <tr>
                    <td colSpan={9} className="empty">
                      {q ? `No host matches “${q}”.` : 'Every host is online.'}
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
