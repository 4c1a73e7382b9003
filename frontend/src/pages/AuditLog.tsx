// Governance → Audit log: every mutation and sign-in, newest first, paged.
import { useMemo, useState } from 'react';
import { useQuery } from 'urql';
import { graphql, type AuditOutcome } from '../graphql';
import { PageInfoFields } from '../graphql/fragments';
import { formatDateTime, formatNumber, formatRelative, humanizeEnum } from '../lib/format';
import { OUTCOME_TONE } from '../lib/colors';
import { nextCursor, pageVariables, pagerState, previousPageCursor, type PageCursor } from '../lib/paging';
import { EnumBadge, ErrorPanel, Loading, Pager, Panel } from '../components/ui';

export const AuditLogQuery = graphql(
  `
    query AuditLog($first: Int, $after: String, $last: Int, $before: String, $filter: AuditFilter) {
      auditLog(first: $first, after: $after, last: $last, before: $before, filter: $filter) {
        totalCount
        pageInfo {
          ...PageInfoFields
        }
        nodes {
          id
          at
          actor
          action
          target
          outcome
          error
        }
      }
    }
  `,
  [PageInfoFields],
);

const PAGE_SIZE = 50;
const OUTCOMES: AuditOutcome[] = ['OK', 'DENIED', 'FAILED'];

export function AuditLog() {
  const [outcome, setOutcome] = useState<AuditOutcome | ''>('');
  const [cursor, setCursor] = useState<PageCursor>({});
  const [pageIndex, setPageIndex] = useState(0);
  const variables = useMemo(
    () => ({ ...pageVariables(PAGE_SIZE, cursor), filter: outcome ? { outcome } : null }),
    [cursor, outcome],
  );
  const [{ data, error, fetching: loading }, reexecute] = useQuery({ query: AuditLogQuery, variables });
  const refetch = () => reexecute({ requestPolicy: 'network-only' });
  const log = data?.auditLog;
  const pager = pagerState(log?.pageInfo, cursor, pageIndex);
  const from = pageIndex * PAGE_SIZE + 1;

  return (
    <div className="page" data-testid="audit-page">
      <div className="page-head">
        <h1 className="page-title">Audit log</h1>
        <div className="page-sub">Every mutation and sign-in, newest first. Admins see everything; others see their own actions.</div>
      </div>
      {error && <ErrorPanel error={error} onRetry={refetch} />}
      {!data && loading && <Loading what="Loading the audit log" />}
      {log && (
        <Panel
          title={
            <>
              Entries <span className="count">{formatNumber(log.totalCount)}</span>
            </>
          }
          actions={
            <div className="filters">
              <select
                value={outcome}
                onChange={(e) => {
                  setOutcome(e.target.value as AuditOutcome | '');
                  setCursor({});
                  setPageIndex(0);
                }}
                aria-label="Filter by outcome"
              >
                <option value="">All outcomes</option>
                {OUTCOMES.map((o) => (
                  <option key={o} value={o}>
                    {humanizeEnum(o)}
                  </option>
                ))}
              </select>
              <button type="button" className="btn" onClick={refetch}>
                Refresh
              </button>
              {loading && <span className="spinner" aria-label="Refreshing" />}
            </div>
          }
        >
          <div className="table-wrap">
            <table className="table" data-testid="audit-table">
              <thead>
                <tr>
                  <th>When</th>
                  <th>Actor</th>
                  <th>Action</th>
                  <th>Target</th>
                  <th>Outcome</th>
                  <th>Error</th>
                </tr>
              </thead>
              <tbody>
                {log.nodes.map((e) => (
                  <tr key={e.id} data-testid="audit-row">
                    <td title={formatRelative(e.at)} className="nowrap">
                      {formatDateTime(e.at, true)}
                    </td>
                    <td>{e.actor}</td>
                    <td className="mono">{e.action}</td>
                    <td className="mono ellipsis" title={e.target}>
                      {e.target || <span className="muted">—</span>}
                    </td>
                    <td>
                      <EnumBadge value={e.outcome} tones={OUTCOME_TONE} />
                    </td>
                    <td className="error-text">{e.error}</td>
                  </tr>
                ))}
                {!log.nodes.length && (
                  <tr>
                    <td colSpan={6} className="empty">
                      No audit entries{outcome ? ` with outcome ${humanizeEnum(outcome)}` : ''}.
                    </td>
                  </tr>
                )}
              </tbody>
            </table>
          </div>
          <Pager
            hasPrevious={pager.hasPrevious}
            hasNext={pager.hasNext}
            busy={loading}
            onPrevious={() => {
              setCursor(previousPageCursor(log.pageInfo, pageIndex));
              setPageIndex((i) => Math.max(0, i - 1));
            }}
            onNext={() => {
              setCursor(nextCursor(log.pageInfo) ?? {});
              setPageIndex((i) => i + 1);
            }}
          >
            {log.nodes.length ? `${formatNumber(from)}–${formatNumber(from + log.nodes.length - 1)} of ${formatNumber(log.totalCount)}` : ''}
          </Pager>
        </Panel>
      )}
    </div>
  );
}
