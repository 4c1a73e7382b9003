// A job's lineage as a layered graph: upstream left, downstream right, two
// edges deep from the job. Clicking a node selects it (the path from the job
// to it is drawn in red) and expands it: another walk from that node, merged
// into what is on screen. A selected job links to its own page.
import { useEffect, useMemo, useState } from 'react';
import { useClient } from 'urql';
import { graphql } from '../graphql';
import { messageOf } from '../lib/errors';
import { clickedNode, emptyLineage, lineageChartOption, lineageLayers, lineagePath, mergeLineage, type LineageState } from '../lib/workload';
import { Chart } from './LazyChart';
import { JobLink } from './jobs';
import { Loading } from './ui';

export const LineageQuery = graphql(`
  query JobLineage($node: ID!, $depth: Int!) {
    lineage(node: $node, direction: BOTH, depth: $depth, maxNodes: 200) {
      truncated
      edges {
        kind
        from
        to
      }
      nodes {
        __typename
        ... on Job {
          id
          namespace
          name
          kind
          priority
        }
        ... on Dataset {
          id
          namespace
          name
        }
      }
    }
  }
`);

const START_DEPTH = 2;
const EXPAND_DEPTH = 1;

export function LineageGraph({ start }: { start: string }) {
  const client = useClient();
  const [state, setState] = useState<LineageState>(emptyLineage);
  const [selected, setSelected] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(start);
  const [error, setError] = useState<string | null>(null);

  const walk = async (node: string, depth: number) => {
    setBusy(node);
    setError(null);
    const res = await client.query(LineageQuery, { node, depth }, { requestPolicy: 'network-only' }).toPromise();
    setBusy(null);
    if (res.error || !res.data) {
      setError(res.error ? messageOf(res.error) : 'The server sent no lineage.');
      return;
    }
    const g = res.data.lineage;
    setState((s) => mergeLineage(s, node, g));
  };

  useEffect(() => {
    void walk(start, START_DEPTH);
  }, [start]);

  const option = useMemo(() => lineageChartOption(state, start, selected), [state, start, selected]);
  // As tall as the widest layer needs: a chain stays a strip, a fan-out grows.
  const height = useMemo(() => {
    const perLayer = new Map<number, number>();
    for (const l of lineageLayers(state, start).values()) perLayer.set(l, (perLayer.get(l) ?? 0) + 1);
    return Math.min(600, Math.max(220, 90 + 55 * Math.max(0, ...perLayer.values())));
  }, [state, start]);
  const sel = selected ? state.nodes.find((n) => n.id === selected) : undefined;
  const path = selected ? lineagePath(state.edges, start, selected) : null;
  const jobs = state.nodes.filter((n) => n.__typename === 'Job').length;

  const pick = (id: string) => {
    setSelected(id);
    if (!state.expanded.includes(id) && !busy) void walk(id, EXPAND_DEPTH);
  };

  if (!state.nodes.length) return busy ? <Loading what="Walking the lineage" /> : <div className="empty">{error ?? 'No lineage is known for this job.'}</div>;

  return (
    <div
      className="lineage"
      data-testid="lineage"
      data-nodes={state.nodes.length}
      data-edges={state.edges.length}
      data-expanded={state.expanded.length}
      data-truncated={state.truncated}
      data-busy={busy ? 'true' : 'false'}
    >
      <div className="lineage-legend small">
        <span>
          <span className="swatch swatch-round" style={{ background: '#7048e8' }} /> this job
        </span>
        <span>
          <span className="swatch swatch-round" style={{ background: '#1d4ed8' }} /> job
        </span>
        <span>
          <span className="swatch" style={{ background: '#e67700' }} /> dataset
        </span>
        <span className="muted">
          {state.nodes.length} nodes ({jobs} jobs), {state.edges.length} edges · upstream left, downstream right · dashed: not expanded yet, click to expand
        </span>
        {busy && <span className="spinner" aria-label="Expanding" />}
      </div>
      {state.truncated && (
        <div className="notice" data-testid="lineage-truncated">
          The lineage is larger than shown: a walk stopped at its node limit. Click a node to walk on from it.
        </div>
      )}
      {error && (
        <div className="action-error" role="alert">
          {error}
        </div>
      )}
      <Chart
        option={option}
        height={height}
        testId="lineage-chart"
        ariaLabel={`Lineage graph of ${state.nodes.length} nodes`}
        onClick={(p) => {
          const id = clickedNode(p as { dataType?: string; data?: unknown });
          if (id) pick(id);
        }}
      />
      <div className="lineage-selected" data-testid="lineage-selected" data-id={sel?.id ?? ''}>
        {sel ? (
          <>
            <strong>{sel.__typename === 'Job' ? 'Job' : 'Dataset'}</strong>{' '}
            {sel.__typename === 'Job' && sel.id !== start ? <JobLink job={sel} testId="lineage-job-link" /> : <span>{sel.name}</span>}{' '}
            <span className="muted small">
              {sel.namespace}
              {path ? ` · ${path.length - 1} edge${path.length === 2 ? '' : 's'} from this job` : ' · not connected to this job on screen'}
            </span>
          </>
        ) : (
          <span className="muted small">Click a node to select it (the path from this job is drawn in red) and walk on from it.</span>
        )}
      </div>
      {/* The same choice without a pointer: every node as a button. */}
      <details className="lineage-nodes">
        <summary className="small">All {state.nodes.length} nodes</summary>
        <div className="lineage-node-list">
          {state.nodes.map((n) => (
            <button
              key={n.id}
              type="button"
              className={`btn btn-small${n.id === selected ? ' active' : ''}`}
              onClick={() => pick(n.id)}
              data-testid="lineage-node"
              data-id={n.id}
              data-type={n.__typename}
              data-expanded={state.expanded.includes(n.id)}
            >
              {n.__typename === 'Job' ? '● ' : '■ '}
              {n.name}
            </button>
          ))}
        </div>
      </details>
    </div>
  );
}
