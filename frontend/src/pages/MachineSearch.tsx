// Tools → Machine analysis: find a host by name (or start from the hosts that
// need attention) and open its analysis.
import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { useDebounced, useQuery } from '../lib/hooks';
import { MACHINE_SEARCH, type MachineSearchData } from '../lib/telemetryQueries';
import { formatBytes, formatDateTime, formatNumber, formatPercent, formatRelative, humanizeEnum } from '../lib/format';
import { STATE_TONE } from '../lib/colors';
import { buildPath, navigate, parseSearch, useLocation, withSearch } from '../lib/router';
import { Badge, ErrorPanel, Link, Loading, Panel, PercentBar } from '../components/ui';

const ATTENTION = ['DEGRADED', 'OFFLINE', 'REPAIRING'];

export function MachineSearch() {
  const loc = useLocation();
  const search = parseSearch(loc.search);
  const [text, setText] = useState(search.q ?? '');
  const q = useDebounced(text.trim(), 250);

  useEffect(() => {
    if ((search.q ?? '') !== q) navigate(withSearch(loc.pathname, { q: q || null }), { replace: true });
  }, [q]);

  const variables = useMemo(
    () => (q ? { filter: { search: q }, orderBy: { field: 'HOSTNAME', direction: 'ASC' } } : { filter: { states: ATTENTION }, orderBy: { field: 'LAST_HEARTBEAT', direction: 'DESC' } }),
    [q],
  );
  const { data, error, loading, refetch } = useQuery<MachineSearchData>(MACHINE_SEARCH, variables);
  const rows = data?.hosts.nodes ?? [];

  const open = (e: FormEvent) => {
    e.preventDefault();
    const exact = rows.find((r) => r.hostname === text.trim()) ?? (rows.length === 1 ? rows[0] : null);
    if (exact) navigate(buildPath('/hosts/:hostname', { hostname: exact.hostname }));
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
                    <td className="name-cell mono">
                      <Link href={buildPath('/hosts/:hostname', { hostname: h.hostname })} data-testid="machine-link">
                        {h.hostname}
                      </Link>
                    </td>
                    <td>
                      <Link href={buildPath('/clusters/:name', { name: h.cluster.name })}>{h.cluster.name}</Link>
                    </td>
                    <td>
                      <Badge tone={STATE_TONE[h.state] ?? 'muted'} title={h.stateReason || undefined}>
                        {humanizeEnum(h.state)}
                      </Badge>
                      {h.stateReason && <span className="reason">{h.stateReason}</span>}
                    </td>
                    <td className="ellipsis" title={`${h.model} · ${h.os}`}>
                      {h.model}
                    </td>
                    <td className="num">{formatNumber(h.cpuCores)}</td>
                    <td className="num">{formatBytes(h.memoryBytes)}</td>
                    <td>
                      <PercentBar value={h.latestMetrics?.cpuPercent} text={formatPercent(h.latestMetrics?.cpuPercent)} />
                    </td>
                    <td>
                      <PercentBar value={h.latestMetrics?.memoryPercent} text={formatPercent(h.latestMetrics?.memoryPercent)} />
                    </td>
                    <td title={formatDateTime(h.lastHeartbeat, true)}>{h.lastHeartbeat ? formatRelative(h.lastHeartbeat) : <span className="muted">never</span>}</td>
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
