// Aquila → Operations: the operations holding their clusters now, across the
// fleet (at most one per cluster), each linking to its live page. Finished
// operations are on their cluster's page. Below, the open scale-out proposals.
import { useQuery } from 'urql';
import { graphql } from '../graphql';
import { formatNumber } from '../lib/format';
import { useDocumentTitle } from '../lib/title';
import { ErrorPanel, Loading, Panel } from '../components/ui';
import { OperationRowFields, OperationTable } from '../components/operations';
import { OpenProposals } from '../components/lifecycle';
import { useCan } from '../lib/hooks';
import { useEffect } from 'react';

export const ActiveOperationsQuery = graphql(
  `
    query ActiveOperations {
      activeOperations(first: 100) {
        ...OperationRowFields
      }
    }
  `,
  [OperationRowFields],
);

/** The list is polled: operations start and end on any replica. */
const REFRESH_MS = 5000;

export function Operations() {
  useDocumentTitle('Operations');
  const canOperate = useCan('OPERATOR');
  const [{ data, error, fetching }, reexecute] = useQuery({ query: ActiveOperationsQuery });
  useEffect(() => {
    const t = setInterval(() => reexecute({ requestPolicy: 'network-only' }), REFRESH_MS);
    return () => clearInterval(t);
  }, [reexecute]);
  const ops = data?.activeOperations ?? [];
  return (
    <div className="page" data-testid="operations-page">
      <div className="page-head">
        <h1 className="page-title">Operations</h1>
        <div className="page-sub">Upgrades, scale-outs, restarts, config applies and self-healing runs holding their clusters now. A cluster's past operations are on its page.</div>
      </div>
      {error && <ErrorPanel error={error} onRetry={() => reexecute({ requestPolicy: 'network-only' })} />}
      {!data && fetching && <Loading what="Loading operations" />}
      {data && (
        <Panel
          title={
            <>
              Running now <span className="count">{formatNumber(ops.length)}</span>
            </>
          }
        >
          <OperationTable ops={ops} showCluster testId="active-operations-table" />
        </Panel>
      )}
      <OpenProposals canOperate={canOperate} />
    </div>
  );
}
