// Pieces the workload screens share: a job's name linking to its page, the
// in-place priority selector (shown only where the rules allow a change; the
// server's refusal appears next to it), the dots of the last runs and the
// severity badge.
import { useState } from 'react';
import { useMutation } from 'urql';
import { graphql } from '../graphql';
import { messageOf } from '../lib/errors';
import { formatDateTime, formatDuration, humanizeEnum } from '../lib/format';
import {
  priorityOptions,
  priorityRight,
  RUN_STATE_COLOR,
  runDuration,
  SEVERITY_TONE,
  type JobFindingSeverity,
  type JobPriority,
  type JobRunState,
  type PriorityActor,
} from '../lib/workload';
import { Badge, Link } from './ui';

export const SetJobPriority = graphql(`
  mutation SetJobPriority($input: SetJobPriorityInput!) {
    setJobPriority(input: $input) {
      id
      priority
    }
  }
`);

export function JobLink({ job, testId }: { job: { id: string; name: string; namespace?: string }; testId?: string }) {
  return (
    <Link to="/jobs/$id" params={{ id: job.id }} title={job.namespace ? `${job.namespace}/${job.name}` : job.name} data-testid={testId ?? 'job-link'}>
      {job.name}
    </Link>
  );
}

/**
 * The job's priority: a badge, or for those who may change it a select that
 * saves on change. Refusals are GraphQL errors (FORBIDDEN for the owner and
 * priority rules, BAD_USER_INPUT for the P0 limit) whose message names the
 * rule; it is shown in place and the select returns to the saved priority.
 */
export function PriorityControl({ job, actor }: { job: { id: string; name: string; priority: JobPriority }; actor: PriorityActor }) {
  const right = priorityRight(actor);
  const [{ fetching }, save] = useMutation(SetJobPriority);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  if (right === 'none')
    return (
      <span className={`prio prio-${job.priority}`} data-testid="priority" data-priority={job.priority}>
        {job.priority}
      </span>
    );

  const change = async (p: JobPriority) => {
    setError(null);
    setDone(null);
    if (p === job.priority) return;
    const res = await save({ input: { job: job.id, priority: p } });
    if (res.error) setError(messageOf(res.error));
    else setDone(`${res.data?.setJobPriority.priority ?? p} saved`);
  };

  return (
    <span className="prio-control" data-testid="priority-control" data-priority={job.priority}>
      <select
        value={job.priority}
        disabled={fetching}
        onChange={(e) => void change(e.target.value as JobPriority)}
        aria-label={`Priority of ${job.name}`}
        data-testid="priority-select"
        className={`prio-select prio-${job.priority}`}
      >
        {priorityOptions(job.priority, right).map((o) => (
          <option key={o.value} value={o.value} title={o.note || undefined}>
            {o.value}
            {o.note && !o.allowed ? ` (${o.note})` : ''}
          </option>
        ))}
      </select>
      {done && (
        <span className="action-ok small" role="status" data-testid="priority-ok">
          {done}
        </span>
      )}
      {error && (
        <span className="action-error small" role="alert" data-testid="priority-error">
          {error}
        </span>
      )}
    </span>
  );
}

/** The last runs as coloured dots, newest first. */
export function RunDots({ runs }: { runs: ReadonlyArray<{ id: string; state: JobRunState; startedAt?: string | null; endedAt?: string | null }> }) {
  if (!runs.length) return <span className="muted">no runs</span>;
  return (
    <span className="run-dots" data-testid="run-dots">
      {runs.map((r) => (
        <span
          key={r.id}
          className="run-dot"
          data-state={r.state}
          style={{ background: RUN_STATE_COLOR[r.state] }}
          title={`${humanizeEnum(r.state)} · ${r.startedAt ? formatDateTime(r.startedAt) : 'not started'} · ${formatDuration(runDuration(r))}`}
        />
      ))}
    </span>
  );
}

export function SeverityBadge({ severity }: { severity: JobFindingSeverity | null | undefined }) {
  if (!severity) return <span className="muted" title="Not analysed yet">—</span>;
  return (
    <span data-testid="severity" data-severity={severity}>
      <Badge tone={SEVERITY_TONE[severity]}>{humanizeEnum(severity)}</Badge>
    </span>
  );
}
