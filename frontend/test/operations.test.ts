import { describe, expect, it } from 'vitest';
import {
  confirmationOf,
  dependencyInput,
  elapsed,
  errorsByField,
  fieldKey,
  isActive,
  layerGraph,
  orderedActions,
  progressPercent,
  restartFormErrors,
  restartInput,
  stageCounts,
} from '../src/lib/operations';

describe('operation helpers', () => {
  it('clamp and round progress', () => {
    expect(progressPercent(0.456)).toBe(46);
    expect(progressPercent(1.2)).toBe(100);
    expect(progressPercent(-1)).toBe(0);
    expect(progressPercent(Number.NaN)).toBe(0);
  });
  it('tell active states', () => {
    expect(isActive('PAUSED')).toBe(true);
    expect(isActive('SUCCEEDED')).toBe(false);
  });
  it('order the server’s actions and ask before the irreversible ones', () => {
    expect(orderedActions(['ABORT', 'PAUSE', 'NOPE'])).toEqual(['PAUSE', 'ABORT']);
    expect(orderedActions([])).toEqual([]);
    expect(confirmationOf('ABORT')).toMatch(/Abort/);
    expect(confirmationOf('ROLLBACK')).toMatch(/Roll/);
    expect(confirmationOf('PAUSE')).toBeNull();
  });
  it('list a stage’s non-zero counts in state order', () => {
    expect(stageCounts({ pending: 2, running: 0, succeeded: 3, failed: 1, skipped: 0, aborted: 0 })).toEqual([
      { state: 'PENDING', count: 2 },
      { state: 'SUCCEEDED', count: 3 },
      { state: 'FAILED', count: 1 },
    ]);
  });
  it('build the restart input, leaving blanks to the server', () => {
    expect(restartInput('c1', { services: [], batchPercent: '', failureBudget: ' ', reason: '' })).toEqual({ cluster: 'c1' });
    expect(restartInput('c1', { services: ['YARN', 'HDFS'], batchPercent: '25', failureBudget: '0', reason: ' patch ' })).toEqual({
      cluster: 'c1',
      services: ['HDFS', 'YARN'],
      batchPercent: 25,
      failureBudget: 0,
      reason: 'patch',
    });
    expect(restartFormErrors({ services: [], batchPercent: '0', failureBudget: '-1', reason: '' })).toEqual({
      batchPercent: expect.any(String),
      failureBudget: expect.any(String),
    });
    expect(restartFormErrors({ services: [], batchPercent: '100', failureBudget: '3', reason: '' })).toEqual({});
  });
  it('format elapsed times', () => {
    expect(elapsed(null, null)).toBeNull();
    expect(elapsed('2026-12-01T00:00:00Z', '2026-12-01T00:00:42Z')).toBe('42s');
    expect(elapsed('2026-12-01T00:00:00Z', '2026-12-01T00:03:04Z')).toBe('3m 4s');
    expect(elapsed('2026-12-01T00:00:00Z', null, Date.parse('2026-12-01T02:05:00Z'))).toBe('2h 5m');
  });
});

describe('dependency graph layers', () => {
  it('put each service right of what it depends on', () => {
    const nodes = [{ service: 'HIVE' }, { service: 'HDFS' }, { service: 'ZOOKEEPER' }, { service: 'YARN' }];
    const edges = [
      { from: 'HDFS', to: 'ZOOKEEPER' },
      { from: 'YARN', to: 'HDFS' },
      { from: 'HIVE', to: 'YARN' },
      { from: 'HIVE', to: 'HDFS' },
      { from: 'HIVE', to: 'SPARK' }, // missing from the version: ignored
    ];
    const byName = Object.fromEntries(layerGraph(nodes, edges).map((n) => [n.service, n.layer]));
    expect(byName).toEqual({ ZOOKEEPER: 0, HDFS: 1, YARN: 2, HIVE: 3 });
  });
  it('give services of one layer distinct rows', () => {
    const out = layerGraph([{ service: 'A', position: 1 }, { service: 'B', position: 0 }], []);
    expect(out).toEqual([
      { service: 'B', layer: 0, row: 0 },
      { service: 'A', layer: 0, row: 1 },
    ]);
  });
  it('still lay out a cycle, right of the rest', () => {
    const out = layerGraph([{ service: 'A' }, { service: 'B' }, { service: 'C' }], [
      { from: 'A', to: 'B' },
      { from: 'B', to: 'A' },
    ]);
    const byName = Object.fromEntries(out.map((n) => [n.service, n.layer]));
    expect(byName.C).toBe(0);
    expect(byName.A).toBe(1);
    expect(byName.B).toBe(1);
  });
});

describe('package form input and errors', () => {
  it('drop empty dependency rows and upper-case services', () => {
    expect(dependencyInput([{ service: ' zookeeper ', constraint: '' }, { service: '', constraint: '>=1' }, { service: 'HDFS', constraint: '^3' }])).toEqual([
      { service: 'ZOOKEEPER' },
      { service: 'HDFS', constraint: '^3' },
    ]);
  });
  it('place user errors next to the nearest named field', () => {
    expect(fieldKey(['input', 'info', 'checksum'])).toBe('info.checksum');
    expect(fieldKey(null)).toBe('');
    const known = ['service', 'info.checksum', 'info.source'];
    expect(
      errorsByField(
        [
          { message: 'bad checksum', field: ['input', 'info', 'checksum'] },
          { message: 'bad uri', field: ['input', 'info', 'source', 'uri'] },
          { message: 'conflict', field: null },
        ],
        known,
      ),
    ).toEqual({ 'info.checksum': ['bad checksum'], 'info.source': ['bad uri'], '': ['conflict'] });
  });
});
