// The Administration section's logic: who sees which screen, errors put next to
// the fields they name, the BU tree, pasted host lists and the import diff.
import { describe, expect, it } from 'vitest';
import { agentCommand, buTree, diffCounts, diffSummary, hostErrorsByLine, inventoryFormat, looksLikeIP, mayOpen, parentChoices, parseHostLines, sortChanges, subtreeIds, type InventoryChangeLike } from '../src/lib/admin';
import { NAV, navFor } from '../src/app/routes';
import { formErrors } from '../src/lib/mutation';
import { grantableRoles } from '../src/lib/hooks';

describe('role gating', () => {
  const adminPaths = (role: string) =>
    navFor(role)
      .flatMap((s) => s.items)
      .map((i) => i.path)
      .filter((p) => p.startsWith('/admin'));

  it('shows every Administration screen to an ADMIN', () => {
    expect(adminPaths('ADMIN')).toEqual(['/admin/bus', '/admin/people', '/admin/clusters', '/admin/hosts', '/admin/import']);
  });
  it('shows a BU admin only People, and an operator clusters (enrollment) and hosts', () => {
    expect(adminPaths('BU_ADMIN')).toEqual(['/admin/people']);
    expect(adminPaths('OPERATOR')).toEqual(['/admin/clusters', '/admin/hosts']);
  });
  it('drops the whole section for a VIEWER, and keeps every other section', () => {
    const viewer = navFor('VIEWER');
    expect(viewer.map((s) => s.title)).not.toContain('Administration');
    expect(viewer.length).toBe(NAV.length - 1);
    expect(viewer.flatMap((s) => s.items).length).toBe(NAV.flatMap((s) => s.items).filter((i) => !i.roles).length);
    expect(navFor('SOMETHING ELSE').map((s) => s.title)).not.toContain('Administration');
  });
  it('keeps the screens themselves to the same roles', () => {
    expect(mayOpen('ADMIN', 'import')).toBe(true);
    expect(mayOpen('OPERATOR', 'import')).toBe(false);
    expect(mayOpen('BU_ADMIN', 'people')).toBe(true);
    expect(mayOpen('BU_ADMIN', 'hosts')).toBe(false);
    expect(mayOpen('OPERATOR', 'people')).toBe(false);
    expect(mayOpen('VIEWER', 'people')).toBe(false);
  });
  it('lets a BU admin give roles up to their own only', () => {
    expect(grantableRoles('BU_ADMIN')).toEqual(['VIEWER', 'BU_ADMIN']);
    expect(grantableRoles('ADMIN')).toEqual(['VIEWER', 'BU_ADMIN', 'OPERATOR', 'ADMIN']);
  });
});

describe('formErrors', () => {
  const payload = (d: { m: { userErrors: Array<{ field?: string[] | null; message: string }> } }) => d.m;
  it('is null when the mutation went through', () => {
    expect(formErrors({ data: { m: { userErrors: [] } } }, payload, ['login'])).toBeNull();
  });
  it('puts userErrors next to the field they name, after "input"', () => {
    const e = formErrors(
      { data: { m: { userErrors: [{ field: ['input', 'login'], message: 'login taken' }, { field: ['input', 'buId'], message: 'not your BU' }, { field: ['input', 'other'], message: 'odd' }, { field: null, message: 'plain' }] } } },
      payload,
      ['login', 'buId'],
    );
    expect(e).toEqual({ byField: { login: ['login taken'], buId: ['not your BU'] }, other: ['odd', 'plain'] });
  });
  it('gives a GraphQL error (FORBIDDEN) to the form as a whole', () => {
    const e = formErrors({ error: new Error('BU admins manage only the people of their own BU subtree') }, payload, ['buId']);
    expect(e).toEqual({ byField: {}, other: ['BU admins manage only the people of their own BU subtree'] });
  });
  it('says so when the server sent no payload', () => {
    expect(formErrors({ data: null }, payload, [])?.other).toEqual(['The server sent no answer.']);
  });
});

describe('the BU tree', () => {
  const bus = [
    { id: 'r2', name: 'Zeta', code: 'Z', parent: null },
    { id: 'c1', name: 'Beta', code: 'B', parent: { id: 'r1' } },
    { id: 'r1', name: 'Alpha', code: 'A', parent: null },
    { id: 'g1', name: 'Gamma', code: 'G', parent: { id: 'c1' } },
    { id: 'c0', name: 'Aardvark', code: 'AA', parent: { id: 'r1' } },
    { id: 'orphan', name: 'Orphan', code: 'O', parent: { id: 'not-listed' } },
  ];
  it('lists each BU followed by its subtree, siblings by name', () => {
    expect(buTree(bus).map((t) => `${'-'.repeat(t.depth)}${t.bu.code}`)).toEqual(['A', '-AA', '-B', '--G', 'O', 'Z']);
  });
  it('survives a cycle in the data', () => {
    const cyclic = [
      { id: 'a', name: 'a', code: 'a', parent: { id: 'b' } },
      { id: 'b', name: 'b', code: 'b', parent: { id: 'a' } },
      { id: 'r', name: 'r', code: 'r', parent: null },
    ];
    expect(buTree(cyclic).map((t) => t.bu.id)).toEqual(['r']);
  });
  it('finds a subtree, and offers as parents only BUs outside it', () => {
    expect([...subtreeIds(bus, 'r1')].sort()).toEqual(['c0', 'c1', 'g1', 'r1']);
    expect([...subtreeIds(bus, 'g1')]).toEqual(['g1']);
    expect(subtreeIds(bus, null).size).toBe(0);
    expect(parentChoices(bus, 'c1').map((b) => b.id).sort()).toEqual(['c0', 'orphan', 'r1', 'r2']);
  });
});

describe('parseHostLines', () => {
  it('reads one host a line with optional rack and ip, in any separator', () => {
    const p = parseHostLines('node-1\nnode-2 r07\nnode-3,r08,10.0.0.3\n\n# spare\nnode-4\tr09\t10.0.0.4  # comment\n');
    expect(p.errors).toEqual([]);
    expect(p.hosts).toEqual([{ hostname: 'node-1' }, { hostname: 'node-2', rack: 'r07' }, { hostname: 'node-3', rack: 'r08', ip: '10.0.0.3' }, { hostname: 'node-4', rack: 'r09', ip: '10.0.0.4' }]);
    expect(p.lines).toEqual([1, 2, 3, 6]);
  });
  it('takes a lone address in the second column as the ip, and skips a CSV header', () => {
    const p = parseHostLines('hostname,rack,ip\nn1,10.1.2.3\nn2,fe80::1\n');
    expect(p.hosts).toEqual([{ hostname: 'n1', ip: '10.1.2.3' }, { hostname: 'n2', ip: 'fe80::1' }]);
    expect(p.lines).toEqual([2, 3]);
  });
  it('names the line of every bad entry, and sends none of them', () => {
    const p = parseHostLines('good-1\nbad host!\nn2 r1 999.1.1.1\nn3 a b c\nGOOD-1\n');
    expect(p.hosts.map((h) => h.hostname)).toEqual(['good-1']);
    expect(p.errors.map((e) => e.line)).toEqual([2, 3, 4, 5]);
    expect(p.errors[0].message).toMatch(/^line 2: "host!" is not a rack name/);
    expect(p.errors[1].message).toBe('line 3: "999.1.1.1" is not an IP address');
    expect(p.errors[2].message).toMatch(/line 4: expected "hostname \[rack\] \[ip\]", got 4 columns/);
    expect(p.errors[3].message).toBe('line 5: GOOD-1 is already on line 1');
  });
  it('refuses a hostname with characters no host has', () => {
    expect(parseHostLines('node_1.x\n-lead\nok.\n').errors.map((e) => e.line)).toEqual([2, 3]);
  });
  it('is empty for an empty paste', () => {
    expect(parseHostLines('  \n\n# nothing\n')).toEqual({ hosts: [], lines: [], errors: [] });
  });
  it('tells addresses apart from racks', () => {
    expect(looksLikeIP('10.0.0.1')).toBe(true);
    expect(looksLikeIP('2001:db8::1')).toBe(true);
    expect(looksLikeIP('r07')).toBe(false);
    expect(looksLikeIP('10.0.0')).toBe(false);
  });
  it('maps the server errors of entries back to their lines', () => {
    const pasted = parseHostLines('\nn1\n\nn2\nn3\n');
    const msgs = hostErrorsByLine(
      [
        { field: ['input', 'hosts', '1', 'hostname'], message: 'n2 is registered in cluster batch-01' },
        { field: ['input', 'clusterId'], message: 'cluster is retired' },
        { field: ['input', 'hosts', '9'], message: 'out of range' },
      ],
      pasted,
    );
    expect(msgs).toEqual(['line 4 (n2): n2 is registered in cluster batch-01', 'cluster is retired', 'out of range']);
  });
});

describe('the inventory diff', () => {
  const changes: InventoryChangeLike[] = [
    { entity: 'HOST', key: 'n2', action: 'CREATE', changes: [] },
    { entity: 'HOST', key: 'n1', action: 'CREATE', changes: [] },
    { entity: 'PERSON', key: 'bob', action: 'UPDATE', changes: [{ field: 'role', from: 'VIEWER', to: 'BU_ADMIN' }] },
    { entity: 'CLUSTER', key: 'old-01', action: 'DEACTIVATE', changes: [] },
    { entity: 'BU', key: 'ADS', action: 'CREATE', changes: [] },
    { entity: 'HOST', key: 'gone', action: 'DEACTIVATE', changes: [] },
  ];
  it('counts changes by entity and action', () => {
    const c = diffCounts(changes);
    expect(c.HOST).toEqual({ CREATE: 2, UPDATE: 0, DEACTIVATE: 1 });
    expect(c.BU.CREATE).toBe(1);
    expect(c.PERSON.UPDATE).toBe(1);
  });
  it('summarises in words, naming removals by what they do', () => {
    expect(diffSummary(changes, 4)).toBe(
      '1 BU to create, 2 hosts to create, 1 person to update, 1 cluster to retire, 1 host to decommission; 4 already as the file says',
    );
    expect(diffSummary([])).toBe('Nothing to change');
    expect(diffSummary(changes, 0, true)).toBe('1 BU created, 2 hosts created, 1 person updated, 1 cluster retired, 1 host decommissioned');
    expect(diffSummary([], 3, true)).toBe('Nothing changed; 3 already as the file says');
    expect(diffSummary([{ entity: 'PERSON', key: 'x', action: 'DEACTIVATE', changes: [] }])).toBe('1 person to deactivate');
  });
  it('lists removals first, then updates, then creations, by entity and key', () => {
    expect(sortChanges(changes).map((c) => `${c.action} ${c.entity} ${c.key}`)).toEqual([
      'DEACTIVATE CLUSTER old-01',
      'DEACTIVATE HOST gone',
      'UPDATE PERSON bob',
      'CREATE BU ADS',
      'CREATE HOST n1',
      'CREATE HOST n2',
    ]);
  });
  it('tells the format by the file name, else by the content', () => {
    expect(inventoryFormat('fleet.CSV', 'bus:')).toBe('CSV');
    expect(inventoryFormat('fleet.yml', 'a,b')).toBe('YAML');
    expect(inventoryFormat('', 'kind,hostname,cluster\nhost,n1,c1')).toBe('CSV');
    expect(inventoryFormat('', '# inventory\nbus:\n  - code: ADS')).toBe('YAML');
  });
});

describe('agentCommand', () => {
  it('names the server and the token', () => {
    expect(agentCommand('https://tesla.example/', 'tsl_abc')).toBe('tesla agent --server https://tesla.example --enroll-token tsl_abc');
  });
});
