// Pure helpers of the Aquila screens: how operation and task states look, the
// restart form's input, and a stack version's dependency graph laid out in
// layers. Which buttons an operation shows comes from the server's `actions`
// (what this caller may do now), never from a guess at the role.
import type { Enum } from '../graphql';
import type { Tone } from './colors';

export type OperationState = Enum<'OperationState'>;
export type OperationTaskState = Enum<'OperationTaskState'>;
export type OperationAction = Enum<'OperationAction'>;

export const OPERATION_STATE_TONE: Record<OperationState, Tone> = {
  PENDING: 'muted',
  RUNNING: 'info',
  PAUSED: 'warn',
  SUCCEEDED: 'good',
  FAILED: 'bad',
  ABORTED: 'muted',
  ROLLED_BACK: 'accent',
};

export const TASK_STATES: readonly OperationTaskState[] = ['PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'SKIPPED', 'ABORTED'];

export const TASK_STATE_TONE: Record<OperationTaskState, Tone> = {
  PENDING: 'muted',
  RUNNING: 'info',
  SUCCEEDED: 'good',
  FAILED: 'bad',
  SKIPPED: 'muted',
  ABORTED: 'warn',
};

/** Whether an operation still holds its cluster (and may change). */
export function isActive(state: OperationState): boolean {
  return state === 'PENDING' || state === 'RUNNING' || state === 'PAUSED';
}

/** A progress of 0..1 as a whole percentage, clamped; NaN is 0. */
export function progressPercent(progress: number): number {
  if (!Number.isFinite(progress)) return 0;
  return Math.round(Math.max(0, Math.min(1, progress)) * 100);
}

/** The buttons of the actions, in a fixed order, with their labels and whether they ask first. */
export const ACTION_ORDER: readonly OperationAction[] = ['PAUSE', 'RESUME', 'RETRY_FAILED_TASKS', 'ABORT', 'ROLLBACK'];

export const ACTION_LABEL: Record<OperationAction, string> = {
  PAUSE: 'Pause',
  RESUME: 'Resume',
  ABORT: 'Abort',
  RETRY_FAILED_TASKS: 'Retry failed tasks',
  ROLLBACK: 'Roll back',
};

/** The question asked before an action that cannot be taken back, or null. */
export function confirmationOf(action: OperationAction): string | null {
  if (action === 'ABORT') return 'Abort this operation? Its pending tasks will not run.';
  if (action === 'ROLLBACK') return 'Roll this operation back? What it did is undone the same way it was done.';
  return null;
}

/** The actions the server allows, in button order (unknown ones dropped). */
export function orderedActions(actions: readonly string[]): OperationAction[] {
  return ACTION_ORDER.filter((a) => actions.includes(a));
}

/** A stage's non-zero per-state counts, for "3 succeeded · 1 failed". */
export function stageCounts(s: Record<'pending' | 'running' | 'succeeded' | 'failed' | 'skipped' | 'aborted', number>): { state: OperationTaskState; count: number }[] {
  const out: { state: OperationTaskState; count: number }[] = [];
  for (const st of TASK_STATES) {
    const n = s[st.toLowerCase() as Lowercase<OperationTaskState>];
    if (n > 0) out.push({ state: st, count: n });
  }
  return out;
}

/** The restart form as typed in. */
export interface RestartForm {
  services: string[];
  batchPercent: string;
  failureBudget: string;
  reason: string;
}

/** What the restart form is missing or has wrong, by field; empty when it can be sent. */
export function restartFormErrors(f: RestartForm): Partial<Record<'batchPercent' | 'failureBudget', string>> {
  const out: Partial<Record<'batchPercent' | 'failureBudget', string>> = {};
  const b = f.batchPercent.trim();
  if (b && !(/^\d+$/.test(b) && Number(b) >= 1 && Number(b) <= 100)) out.batchPercent = 'A whole percentage, 1 to 100.';
  const fb = f.failureBudget.trim();
  if (fb && !/^\d+$/.test(fb)) out.failureBudget = 'A whole number of hosts, 0 or more.';
  return out;
}

/** The restartCluster input for a form: blanks are left to the server's defaults. */
export function restartInput(cluster: string, f: RestartForm) {
  const b = f.batchPercent.trim();
  const fb = f.failureBudget.trim();
  const reason = f.reason.trim();
  return {
    cluster,
    ...(f.services.length ? { services: [...f.services].sort() } : {}),
    ...(b ? { batchPercent: Number(b) } : {}),
    ...(fb ? { failureBudget: Number(fb) } : {}),
    ...(reason ? { reason } : {}),
  };
}

/** A duration between two instants as "1h 2m", "3m 4s" or "5s"; null without a start. */
export function elapsed(startedAt: string | null | undefined, endedAt: string | null | undefined, now = Date.now()): string | null {
  if (!startedAt) return null;
  const from = Date.parse(startedAt);
  const to = endedAt ? Date.parse(endedAt) : now;
  if (!Number.isFinite(from) || !Number.isFinite(to)) return null;
  const s = Math.max(0, Math.round((to - from) / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (h) return `${h}h ${m}m`;
  if (m) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

/** One node of a dependency graph as laid out: its layer (column) and row in it. */
export interface LaidOutNode {
  service: string;
  layer: number;
  row: number;
}

/**
 * Layers for a dependency graph drawn left to right: what depends on nothing
 * (in the graph) is in layer 0, every other service one layer right of the
 * deepest service it depends on. Edges to services outside the graph (missing)
 * do not count. A cycle cannot be layered: its services go one layer right of
 * everything else, so the graph still draws (the server refuses cycles anyway).
 */
export function layerGraph(nodes: readonly { service: string; position?: number }[], edges: readonly { from: string; to: string }[]): LaidOutNode[] {
  const names = new Set(nodes.map((n) => n.service));
  const deps = new Map<string, string[]>();
  for (const n of nodes) deps.set(n.service, []);
  for (const e of edges) if (names.has(e.from) && names.has(e.to) && e.from !== e.to) deps.get(e.from)!.push(e.to);
  const layer = new Map<string, number>();
  const visiting = new Set<string>();
  let cyclic = false;
  const depth = (s: string): number => {
    const known = layer.get(s);
    if (known !== undefined) return known;
    if (visiting.has(s)) {
      cyclic = true;
      return -1;
    }
    visiting.add(s);
    let d = 0;
    for (const t of deps.get(s)!) {
      const td = depth(t);
      if (td < 0) {
        visiting.delete(s);
        return -1;
      }
      d = Math.max(d, td + 1);
    }
    visiting.delete(s);
    layer.set(s, d);
    return d;
  };
  for (const n of nodes) depth(n.service);
  const maxLayer = Math.max(-1, ...layer.values());
  const order = [...nodes].sort((a, b) => (a.position ?? 0) - (b.position ?? 0) || a.service.localeCompare(b.service));
  const rows = new Map<number, number>();
  const out: LaidOutNode[] = [];
  for (const n of order) {
    const l = layer.get(n.service) ?? maxLayer + 1;
    const row = rows.get(l) ?? 0;
    rows.set(l, row + 1);
    out.push({ service: n.service, layer: l, row });
  }
  void cyclic;
  return out;
}

/** The package form's dependency rows as input: empty services dropped, blank constraints mean any. */
export function dependencyInput(rows: readonly { service: string; constraint: string }[]) {
  return rows
    .filter((r) => r.service.trim())
    .map((r) => ({ service: r.service.trim().toUpperCase(), ...(r.constraint.trim() ? { constraint: r.constraint.trim() } : {}) }));
}

/** A userError's field path after "input", joined with dots ("info.checksum"), for placing it next to a form field. */
export function fieldKey(field: readonly string[] | null | undefined): string {
  const path = field ?? [];
  return (path[0] === 'input' ? path.slice(1) : path).join('.');
}

/** userErrors by field key (see fieldKey); those naming no field of `known` under "" (the form's own). */
export function errorsByField(errors: readonly { message: string; field?: readonly string[] | null }[], known: readonly string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const e of errors) {
    const k = fieldKey(e.field);
    // The nearest named field: "info.source.uri" falls back to "info.source" then "info".
    let key = k;
    while (key && !known.includes(key)) key = key.includes('.') ? key.slice(0, key.lastIndexOf('.')) : '';
    (out[key] ??= []).push(e.message);
  }
  return out;
}
