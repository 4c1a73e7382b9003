// The Administration section's rules and parsing, kept apart from the screens
// so they can be tested: which role may open which screen (the server decides
// in the end: this only hides what it would refuse), the BU tree in reading
// order, pasted host lists, and the diff of an inventory import.
import type { Enum, Role } from '../graphql';

/** The screens of the Administration section. */
export type AdminScreen = 'bus' | 'people' | 'clusters' | 'hosts' | 'import';

/**
 * Who may open each screen: the roles whose mutations the screen offers.
 * BU admins manage people of their own BU subtree; operators move and retire
 * hosts and create enrollment tokens for clusters; everything else is ADMIN's.
 */
export const ADMIN_SCREEN_ROLES: Record<AdminScreen, readonly Role[]> = {
  bus: ['ADMIN'],
  people: ['ADMIN', 'BU_ADMIN'],
  clusters: ['ADMIN', 'OPERATOR'],
  hosts: ['ADMIN', 'OPERATOR'],
  import: ['ADMIN'],
};

/** Whether `role` may open an Administration screen. */
export function mayOpen(role: Role | string, screen: AdminScreen): boolean {
  return (ADMIN_SCREEN_ROLES[screen] as readonly string[]).includes(role);
}

// ---- the BU tree ---------------------------------------------------------------

export interface BUNode {
  id: string;
  name: string;
  code: string;
  parent?: { id: string } | null;
}

/**
 * The BUs in reading order — each BU followed by its subtree, siblings by name —
 * with their depth. A BU whose parent is not in the list is shown as a root (a
 * BU admin may list only part of the tree).
 */
export function buTree<B extends BUNode>(bus: readonly B[]): Array<{ bu: B; depth: number }> {
  const ids = new Set(bus.map((b) => b.id));
  const children = new Map<string | null, B[]>();
  for (const b of bus) {
    const p = b.parent && ids.has(b.parent.id) ? b.parent.id : null;
    const list = children.get(p) ?? [];
    list.push(b);
    children.set(p, list);
  }
  for (const list of children.values()) list.sort((a, b) => a.name.localeCompare(b.name) || a.code.localeCompare(b.code));
  const out: Array<{ bu: B; depth: number }> = [];
  const seen = new Set<string>();
  const walk = (parent: string | null, depth: number) => {
    for (const b of children.get(parent) ?? []) {
      if (seen.has(b.id)) continue; // a cycle in the data must not hang the page
      seen.add(b.id);
      out.push({ bu: b, depth });
      walk(b.id, depth + 1);
    }
  };
  walk(null, 0);
  return out;
}

/** The ids of a BU and everything under it. */
export function subtreeIds(bus: readonly BUNode[], rootId: string | null | undefined): Set<string> {
  const out = new Set<string>();
  if (!rootId) return out;
  const byParent = new Map<string, string[]>();
  for (const b of bus) {
    if (!b.parent) continue;
    const list = byParent.get(b.parent.id) ?? [];
    list.push(b.id);
    byParent.set(b.parent.id, list);
  }
  const stack = [rootId];
  while (stack.length) {
    const id = stack.pop()!;
    if (out.has(id)) continue;
    out.add(id);
    stack.push(...(byParent.get(id) ?? []));
  }
  return out;
}

/** The parents a BU may move under: any BU outside its own subtree (the server refuses cycles too). */
export function parentChoices<B extends BUNode>(bus: readonly B[], moving: string): B[] {
  const own = subtreeIds(bus, moving);
  return bus.filter((b) => !own.has(b.id));
}

// ---- pasted hosts ----------------------------------------------------------------

/** A host as the paste form sends it to registerHosts. */
export interface PastedHost {
  hostname: string;
  rack?: string;
  ip?: string;
}

export interface PastedHosts {
  hosts: PastedHost[];
  /** The 1-based line of each host, in the same order. */
  lines: number[];
  /** Lines that cannot be sent as they are. */
  errors: Array<{ line: number; message: string }>;
}

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/;
const RACK = /^[A-Za-z0-9._:/-]{1,64}$/;
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const IPV6 = /^[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*$/;

/** Whether a string is an IPv4 or IPv6 address (IPv6 by its shape; the server checks it fully). */
export function looksLikeIP(s: string): boolean {
  return IPV4.test(s) || (IPV6.test(s) && s.includes(':') && s.length >= 2);
}

/**
 * Reads a pasted host list: one host a line, `hostname [rack] [ip]` separated by
 * commas, tabs or spaces (so a column copied from a spreadsheet or a CSV file
 * works). Blank lines and `#` comments are skipped, and so is a header line
 * starting with "hostname". A lone second column that is an IP address is the
 * IP. Bad hostnames, bad addresses, extra columns and hostnames given twice are
 * errors naming their line, and so is a rack name with other characters than
 * letters, digits and . _ - : /.
 */
export function parseHostLines(text: string): PastedHosts {
  const out: PastedHosts = { hosts: [], lines: [], errors: [] };
  const firstLine = new Map<string, number>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = i + 1;
    const body = raw.replace(/#.*$/, '').trim();
    if (!body) return;
    const cols = body.split(/\s*[,\t;]\s*|\s+/).filter((c) => c !== '');
    if (cols[0].toLowerCase() === 'hostname' && out.hosts.length === 0 && out.errors.length === 0) return;
    if (cols.length > 3) {
      out.errors.push({ line, message: `line ${line}: expected "hostname [rack] [ip]", got ${cols.length} columns` });
      return;
    }
    const [hostname, second, third] = cols;
    if (!HOSTNAME.test(hostname)) {
      out.errors.push({ line, message: `line ${line}: "${hostname}" is not a hostname (letters, digits, '.', '-' and '_')` });
      return;
    }
    let rack: string | undefined = second;
    let ip: string | undefined = third;
    if (third === undefined && second !== undefined && looksLikeIP(second)) {
      rack = undefined;
      ip = second;
    }
    if (rack !== undefined && !RACK.test(rack)) {
      out.errors.push({ line, message: `line ${line}: "${rack}" is not a rack name (letters, digits, '.', '-', '_', ':' and '/')` });
      return;
    }
    if (ip !== undefined && !looksLikeIP(ip)) {
      out.errors.push({ line, message: `line ${line}: "${ip}" is not an IP address` });
      return;
    }
    const key = hostname.toLowerCase();
    const before = firstLine.get(key);
    if (before !== undefined) {
      out.errors.push({ line, message: `line ${line}: ${hostname} is already on line ${before}` });
      return;
    }
    firstLine.set(key, line);
    out.hosts.push({ hostname, ...(rack ? { rack } : {}), ...(ip ? { ip } : {}) });
    out.lines.push(line);
  });
  return out;
}

/**
 * The server's errors for registerHosts (field ["input", "hosts", "<index>", …])
 * in the words of the pasted text: "line 7: …". Errors without an entry index
 * are returned as they are.
 */
export function hostErrorsByLine(
  errors: ReadonlyArray<{ field?: readonly string[] | null; message: string }>,
  pasted: Pick<PastedHosts, 'hosts' | 'lines'>,
): string[] {
  return errors.map((e) => {
    const f = e.field ?? [];
    const at = f.indexOf('hosts');
    const index = at >= 0 ? Number(f[at + 1]) : NaN;
    if (Number.isInteger(index) && index >= 0 && index < pasted.lines.length) {
      return `line ${pasted.lines[index]} (${pasted.hosts[index].hostname}): ${e.message}`;
    }
    return e.message;
  });
}

// ---- the inventory diff ----------------------------------------------------------

export type InventoryEntity = Enum<'InventoryEntity'>;
export type InventoryAction = Enum<'InventoryAction'>;

export interface InventoryChangeLike {
  entity: InventoryEntity;
  key: string;
  action: InventoryAction;
  changes: ReadonlyArray<{ field: string; from?: string | null; to?: string | null }>;
}

export const INVENTORY_ENTITIES: InventoryEntity[] = ['BU', 'PERSON', 'CLUSTER', 'HOST'];
const ACTIONS: InventoryAction[] = ['CREATE', 'UPDATE', 'DEACTIVATE'];

/** Counts of an import's changes by entity and action, e.g. counts.HOST.CREATE. */
export function diffCounts(changes: readonly InventoryChangeLike[]): Record<InventoryEntity, Record<InventoryAction, number>> {
  const out = Object.fromEntries(INVENTORY_ENTITIES.map((e) => [e, Object.fromEntries(ACTIONS.map((a) => [a, 0]))])) as Record<
    InventoryEntity,
    Record<InventoryAction, number>
  >;
  for (const c of changes) if (out[c.entity]) out[c.entity][c.action]++;
  return out;
}

/**
 * A one-line summary of a diff: "3 hosts to create, 1 person to update, 2
 * clusters to retire" for a dry run, "3 hosts created, …" once applied.
 */
export function diffSummary(changes: readonly InventoryChangeLike[], unchanged = 0, applied = false): string {
  const noun: Record<InventoryEntity, [string, string]> = { BU: ['BU', 'BUs'], PERSON: ['person', 'people'], CLUSTER: ['cluster', 'clusters'], HOST: ['host', 'hosts'] };
  const verb = (e: InventoryEntity, a: InventoryAction) =>
    a === 'CREATE' ? 'create' : a === 'UPDATE' ? 'update' : e === 'CLUSTER' ? 'retire' : e === 'HOST' ? 'decommission' : 'deactivate';
  const phrase = (e: InventoryEntity, a: InventoryAction) => {
    const v = verb(e, a);
    return applied ? (v.endsWith('e') ? `${v}d` : `${v}ed`) : `to ${v}`;
  };
  const counts = diffCounts(changes);
  const parts: string[] = [];
  for (const a of ACTIONS) {
    for (const e of INVENTORY_ENTITIES) {
      const n = counts[e][a];
      if (n) parts.push(`${n} ${noun[e][n === 1 ? 0 : 1]} ${phrase(e, a)}`);
    }
  }
  const head = parts.length ? parts.join(', ') : applied ? 'Nothing changed' : 'Nothing to change';
  return unchanged ? `${head}; ${unchanged} already as the file says` : head;
}

/** The changes in the order a reader checks them: destructive ones first, then by entity and key. */
export function sortChanges<C extends InventoryChangeLike>(changes: readonly C[]): C[] {
  const rank: Record<InventoryAction, number> = { DEACTIVATE: 0, UPDATE: 1, CREATE: 2 };
  return [...changes].sort(
    (a, b) =>
      rank[a.action] - rank[b.action] ||
      INVENTORY_ENTITIES.indexOf(a.entity) - INVENTORY_ENTITIES.indexOf(b.entity) ||
      a.key.localeCompare(b.key),
  );
}

/** The import format of a file: by its name's extension, else by whether its first line reads like a CSV header. */
export function inventoryFormat(name: string, content: string): 'YAML' | 'CSV' {
  if (/\.csv$/i.test(name)) return 'CSV';
  if (/\.ya?ml$/i.test(name)) return 'YAML';
  const first = content.split(/\r?\n/).find((l) => l.trim() && !l.trim().startsWith('#')) ?? '';
  return /^[\w ]+(,[\w ]+)+$/.test(first.trim()) && !first.includes(':') ? 'CSV' : 'YAML';
}

// ---- enrollment --------------------------------------------------------------------

/** The command that starts an agent enrolling its host with a new token (shown with the secret); the flags are `tesla agent`'s (docs/agent.md). */
export function agentCommand(serverURL: string, token: string): string {
  return `tesla agent --server ${serverURL.replace(/\/+$/, '')} --enroll-token ${token}`;
}
