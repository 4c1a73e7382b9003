// The job table of the personal and BU centres: one row a job with its kind,
// cluster, queue, priority (a selector where the rules allow a change), the
// last runs, the worst finding and the score. Runs and findings are only
// present where the reader may see them (the BU page asks for them only then).
import type { ReactNode } from 'react';
import { formatNumber, humanizeEnum } from '../lib/format';
import { buInSubtree, type BuChain, type JobFindingSeverity, type JobKind, type JobPriority, type JobRunState } from '../lib/workload';
import { JobLink, PriorityControl, RunDots, SeverityBadge } from './jobs';
import { graphql } from '../graphql';

/** What a row shows of every job (anyone may list jobs; the owner is asked apart, as viewers may only read themselves). */
export const JobRowFields = graphql(`
  fragment JobRowFields on Job {
    id
    name
    namespace
    kind
    priority
    cluster {
      id
      name
    }
    queue {
      id
      path
    }
    bu {
      id
      code
      parent {
        id
        parent {
          id
          parent {
            id
            parent {
              id
            }
          }
        }
      }
    }
  }
`);

/** What a row shows of a job whose runs the reader may see. */
export const JobRowDetailFields = graphql(`
  fragment JobRowDetailFields on Job {
    lastRuns(first: 8) {
      id
      state
      startedAt
      endedAt
    }
    score {
      score
      worstSeverity
      waste
    }
  }
`);

export interface JobRow {
  id: string;
  name: string;
  namespace: string;
  kind: JobKind;
  priority: JobPriority;
  cluster: { id: string; name: string } | null;
  queue: { id: string; path: string } | null;
  owner?: { id: string; login: string } | null;
  bu: (BuChain & { code: string }) | null;
  lastRuns?: ReadonlyArray<{ id: string; state: JobRunState; startedAt: string | null; endedAt: string | null }>;
  score?: { score: number; worstSeverity: JobFindingSeverity; waste: number } | null;
}

/** Who reads the table: role, person id and BU, for the priority rules. */
export interface Reader {
  role: string;
  personId: string;
  buId: string;
}

export interface TableOpts {
  reader: Reader;
  showOwner?: boolean;
  detail: boolean;
}

/**
 * The table's head; the body comes as children, one <tbody> per page of a
 * keyset listing (JobRows), so each page keeps its own query and stays live in
 * the cache when a priority changes.
 */
export function JobTable({ showOwner, detail, children }: Omit<TableOpts, 'reader'> & { children: ReactNode }) {
  return (
    <div className="table-wrap">
      <table className="table job-table" data-testid="job-table">
        <thead>
          <tr>
            <th>Job</th>
            <th>Kind</th>
            {showOwner && <th>Owner</th>}
            <th>Cluster</th>
            <th>Queue</th>
            <th>Priority</th>
            {detail && <th>Last runs</th>}
            {detail && <th>Worst finding</th>}
            {detail && (
              <th className="num" title="Σ severity × tasks of the current findings: higher is worse">
                Score
              </th>
            )}
          </tr>
        </thead>
        {children}
      </table>
    </div>
  );
}

/** One page of rows. */
export function JobRows({ rows, reader, showOwner, detail }: TableOpts & { rows: ReadonlyArray<JobRow> }) {
  return (
        <tbody>
          {rows.map((j) => (
            <tr key={j.id} data-testid="job-row" data-job={j.name} data-id={j.id}>
              <td className="name-cell">
                <JobLink job={j} />
                <div className="muted small">{j.namespace}</div>
              </td>
              <td>{humanizeEnum(j.kind)}</td>
              {showOwner && <td>{j.owner?.login ?? <span className="muted">—</span>}</td>}
              <td>{j.cluster?.name ?? <span className="muted">—</span>}</td>
              <td className="ellipsis">{j.queue?.path ?? <span className="muted">—</span>}</td>
              <td>
                <PriorityControl
                  job={j}
                  actor={{ role: reader.role, isOwner: !!j.owner && j.owner.id === reader.personId, inBuSubtree: buInSubtree(j.bu, reader.buId) }}
                />
              </td>
              {detail && (
                <td>
                  <RunDots runs={j.lastRuns ?? []} />
                </td>
              )}
              {detail && (
                <td>
                  <SeverityBadge severity={j.score?.worstSeverity} />
                </td>
              )}
              {detail && <td className="num">{j.score ? formatNumber(j.score.score, 1) : <span className="muted">—</span>}</td>}
            </tr>
          ))}
        </tbody>
  );
}
