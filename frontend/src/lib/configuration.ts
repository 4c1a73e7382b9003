// Pure helpers of the configuration page: a unified diff (`diff -u`, as the
// API gives it) laid out side by side, old on the left and new on the right;
// the config group form's input; how change states look. Which buttons a
// change shows comes from the server (`canApprove`) and the role; the server
// decides either way.
import type { Enum } from '../graphql';
import type { Tone } from './colors';

export type ConfigChangeState = Enum<'ConfigChangeState'>;
export type ConfigGroupRule = Enum<'ConfigGroupRule'>;

export const CHANGE_STATE_TONE: Record<ConfigChangeState, Tone> = {
  PROPOSED: 'info',
  APPROVED: 'accent',
  REJECTED: 'bad',
  APPLIED: 'good',
};

export const GROUP_RULES: readonly ConfigGroupRule[] = ['RACK', 'MODEL', 'MACHINE_GROUP', 'LIST'];

/** One side of a side-by-side row: a line number and its text, or nothing (the other side added or removed lines). */
export interface DiffCell {
  line: number;
  text: string;
}

/** One row of a side-by-side diff. */
export type DiffRow =
  | { kind: 'hunk'; text: string }
  | { kind: 'same' | 'changed' | 'removed' | 'added'; left: DiffCell | null; right: DiffCell | null };

const HUNK = /^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@(.*)$/;

/**
 * A unified diff as side-by-side rows: context lines on both sides; within a
 * hunk each run of removed lines is paired with the added lines that follow it
 * (a changed line on both sides), the longer run's rest shown against nothing.
 * File headers (---, +++) and "\ No newline at end of file" are left out.
 */
export function sideBySide(diff: string): DiffRow[] {
  const rows: DiffRow[] = [];
  let oldLine = 0;
  let newLine = 0;
  let removed: DiffCell[] = [];
  let added: DiffCell[] = [];
  let inHunk = false;
  const flush = () => {
    const n = Math.max(removed.length, added.length);
    for (let i = 0; i < n; i++) {
      const left = removed[i] ?? null;
      const right = added[i] ?? null;
      rows.push({ kind: left && right ? 'changed' : left ? 'removed' : 'added', left, right });
    }
    removed = [];
    added = [];
  };
  for (const line of diff.split('\n')) {
    const h = HUNK.exec(line);
    if (h) {
      flush();
      oldLine = Number(h[1]);
      newLine = Number(h[2]);
      inHunk = true;
      rows.push({ kind: 'hunk', text: line });
      continue;
    }
    if (!inHunk) continue; // the ---/+++ headers
    if (line.startsWith('\\')) continue;
    if (line.startsWith('-')) {
      removed.push({ line: oldLine++, text: line.slice(1) });
    } else if (line.startsWith('+')) {
      added.push({ line: newLine++, text: line.slice(1) });
    } else if (line.startsWith(' ')) {
      flush();
      rows.push({ kind: 'same', left: { line: oldLine++, text: line.slice(1) }, right: { line: newLine++, text: line.slice(1) } });
    }
    // An empty line is the end of the text (diff always prefixes a context line with a space).
  }
  flush();
  return rows;
}

/** How many lines a diff removes and adds. */
export function diffStat(diff: string): { removed: number; added: number } {
  let removed = 0;
  let added = 0;
  for (const line of diff.split('\n')) {
    if (line.startsWith('---') || line.startsWith('+++')) continue;
    if (line.startsWith('-')) removed++;
    else if (line.startsWith('+')) added++;
  }
  return { removed, added };
}

/** A file's place in a cluster's configuration, as one string (group "" is the cluster default). */
export function fileKey(f: { group?: string | null; service: string; path: string }): string {
  return `${f.group ?? ''}\u0000${f.service}\u0000${f.path}`;
}

/** A file's place in words: "HDFS hdfs-site.xml" or "HDFS hdfs-site.xml (group ssd)". */
export function fileLabel(f: { group?: string | null; service: string; path: string }): string {
  return `${f.service} ${f.path}${f.group ? ` (group ${f.group})` : ''}`;
}

/** The config group form as typed. */
export interface GroupForm {
  name: string;
  position: string;
  rule: ConfigGroupRule;
  /** Values (racks, models, machine groups) or hostnames: one a line, or separated by commas or spaces. */
  members: string;
}

/** The setConfigGroup input of a form (values for RACK/MODEL/MACHINE_GROUP, hosts for LIST), or what is wrong with it. */
export function groupInput(cluster: string, f: GroupForm): { input: { cluster: string; name: string; position: number; rule: ConfigGroupRule; values?: string[]; hosts?: string[] } } | { error: string } {
  const name = f.name.trim();
  if (!name) return { error: 'A group needs a name.' };
  const position = Number(f.position);
  if (!Number.isInteger(position) || f.position.trim() === '') return { error: 'The position must be a whole number.' };
  const members = f.members
    .split(/[\s,;]+/)
    .map((s) => s.trim())
    .filter(Boolean);
  const input = { cluster, name, position, rule: f.rule };
  return { input: f.rule === 'LIST' ? { ...input, hosts: members } : { ...input, values: members } };
}
