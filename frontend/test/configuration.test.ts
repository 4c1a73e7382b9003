import { describe, expect, it } from 'vitest';
import { diffStat, groupInput, sideBySide } from '../src/lib/configuration';
import { healingRateOption } from '../src/lib/healing';

const DIFF = `--- a/HDFS/hdfs-site.xml
+++ b/HDFS/hdfs-site.xml
@@ -1,4 +1,5 @@
 <configuration>
-  <property><name>dfs.replication</name><value>3</value></property>
+  <property><name>dfs.replication</name><value>2</value></property>
+  <property><name>dfs.blocksize</name><value>256m</value></property>
 </configuration>
-<!-- old -->
\\ No newline at end of file
`;

describe('side-by-side diff', () => {
  it('pairs removed with added lines, numbering each side', () => {
    const rows = sideBySide(DIFF);
    expect(rows[0]).toEqual({ kind: 'hunk', text: '@@ -1,4 +1,5 @@' });
    expect(rows[1]).toMatchObject({ kind: 'same', left: { line: 1 }, right: { line: 1 } });
    expect(rows[2]).toMatchObject({ kind: 'changed', left: { line: 2, text: expect.stringContaining('<value>3<') }, right: { line: 2, text: expect.stringContaining('<value>2<') } });
    expect(rows[3]).toMatchObject({ kind: 'added', left: null, right: { line: 3, text: expect.stringContaining('dfs.blocksize') } });
    expect(rows[4]).toMatchObject({ kind: 'same', left: { line: 3 }, right: { line: 4 } });
    expect(rows[5]).toMatchObject({ kind: 'removed', left: { line: 4, text: '<!-- old -->' }, right: null });
    expect(rows).toHaveLength(6);
  });

  it('counts lines and survives an empty diff', () => {
    expect(diffStat(DIFF)).toEqual({ removed: 2, added: 2 });
    expect(sideBySide('')).toEqual([]);
  });
});

describe('config group form', () => {
  it('sends values or hosts by rule and refuses bad input', () => {
    expect(groupInput('C1', { name: 'ssd', position: '2', rule: 'RACK', members: 'r1, r2\nr3' })).toEqual({
      input: { cluster: 'C1', name: 'ssd', position: 2, rule: 'RACK', values: ['r1', 'r2', 'r3'] },
    });
    expect(groupInput('C1', { name: 'few', position: '1', rule: 'LIST', members: 'h1\nh2' })).toEqual({
      input: { cluster: 'C1', name: 'few', position: 1, rule: 'LIST', hosts: ['h1', 'h2'] },
    });
    expect(groupInput('C1', { name: ' ', position: '1', rule: 'LIST', members: '' })).toEqual({ error: expect.stringContaining('name') });
    expect(groupInput('C1', { name: 'x', position: '1.5', rule: 'RACK', members: '' })).toEqual({ error: expect.stringContaining('position') });
  });
});

describe('healing rate chart', () => {
  it('stacks the outcomes per day and draws the rate as a percentage', () => {
    const opt = healingRateOption([
      { day: '2026-11-29T00:00:00Z', healed: 3, failed: 1, handedOver: 0, rate: 0.75 },
      { day: '2026-11-30T00:00:00Z', healed: 0, failed: 0, handedOver: 0, rate: 0 },
    ]) as { series: { name: string; data: unknown[] }[] };
    const byName = Object.fromEntries(opt.series.map((s) => [s.name, s.data]));
    expect(byName['Healed']).toEqual([3, 0]);
    expect(byName['Failed']).toEqual([1, 0]);
    // A day without an ended attempt has no rate (a gap), not 0%.
    expect(byName['Healing rate']).toEqual([75, null]);
  });
});
