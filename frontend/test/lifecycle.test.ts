import { describe, expect, it } from 'vitest';
import {
  canStartUpgrade,
  decommissionError,
  decommissionInput,
  proposalSentence,
  scaleOutError,
  scaleOutInput,
  upgradeFormErrors,
  upgradeInput,
  type UpgradeForm,
} from '../src/lib/lifecycle';

const form: UpgradeForm = { stackVersion: 'sv1', services: [], strategy: 'ROLLING', batchPercent: '10', maxFailures: '', pauseAfterFirstBatch: false, reason: ' ' };

describe('upgrade form', () => {
  it.each([
    [{}, {}],
    [{ stackVersion: '' }, { stackVersion: 'Pick a stack version.' }],
    [{ batchPercent: '0' }, { batchPercent: 'A whole percentage, 1 to 100.' }],
    [{ batchPercent: '101' }, { batchPercent: 'A whole percentage, 1 to 100.' }],
    [{ batchPercent: '' }, {}],
    [{ maxFailures: '-1' }, { maxFailures: 'A whole number of hosts, 0 or more.' }],
    [{ maxFailures: '2' }, {}],
  ])('errors of %o', (patch, want) => {
    expect(upgradeFormErrors({ ...form, ...patch })).toEqual(want);
  });

  it('leaves blanks to the server and drops batch % for EXPRESS', () => {
    expect(upgradeInput('c1', form)).toEqual({ cluster: 'c1', stackVersion: 'sv1', strategy: 'ROLLING', batchPercent: 10 });
    expect(upgradeInput('c1', { ...form, strategy: 'EXPRESS', services: ['YARN', 'HDFS'], maxFailures: '2', pauseAfterFirstBatch: true, reason: ' why ' })).toEqual({
      cluster: 'c1',
      stackVersion: 'sv1',
      strategy: 'EXPRESS',
      services: ['HDFS', 'YARN'],
      maxFailures: 2,
      pauseAfterFirstBatch: true,
      reason: 'why',
    });
  });

  it('starts only after checks without a FAIL, for the same input', () => {
    expect(canStartUpgrade(null, null, 'a')).toBe(false);
    expect(canStartUpgrade([{ status: 'PASS' }, { status: 'WARNING' }], 'a', 'a')).toBe(true);
    expect(canStartUpgrade([{ status: 'PASS' }], 'a', 'b')).toBe(false);
    expect(canStartUpgrade([{ status: 'PASS' }, { status: 'FAIL' }], 'a', 'a')).toBe(false);
  });
});

describe('scale-out and decommission', () => {
  it('takes picked hosts over a count', () => {
    expect(scaleOutError({ count: '0', hosts: [], reason: '' })).not.toBeNull();
    expect(scaleOutError({ count: '', hosts: ['b', 'a'], reason: '' })).toBeNull();
    expect(scaleOutInput('c', { count: '3', hosts: ['b', 'a'], reason: '' })).toEqual({ cluster: 'c', hosts: ['a', 'b'] });
    expect(scaleOutInput('c', { count: ' 2 ', hosts: [], reason: 'peak' })).toEqual({ cluster: 'c', count: 2, reason: 'peak' });
  });

  it('checks the drain timeout as a Go duration', () => {
    const f = { to: 'RETIRE' as const, drainTimeout: '1h30m', reason: '' };
    expect(decommissionError([], f)).toMatch(/Select/);
    expect(decommissionError(['h1'], f)).toBeNull();
    expect(decommissionError(['h1'], { ...f, drainTimeout: '10 minutes' })).toMatch(/Drain timeout/);
    expect(decommissionInput(['h1'], f)).toEqual({ hosts: ['h1'], to: 'RETIRE', drainTimeout: '1h30m' });
    expect(decommissionInput(['h1'], { ...f, drainTimeout: '' })).toEqual({ hosts: ['h1'], to: 'RETIRE' });
  });
});

describe('proposalSentence', () => {
  const figures = {
    dimension: 'CPU',
    threshold: 0.8,
    forecastPeak: 0.92,
    crossesAt: '2026-12-02T10:00:00Z',
    horizonHours: 48,
    hostsInService: 20,
    capacity: 640,
    capacityUnit: 'cores',
    capacityAfter: 736,
    forecastAfter: 0.8,
    capped: false,
  };
  it('says the forecast, the threshold, the crossing and the capacity after', () => {
    const s = proposalSentence(3, figures, Date.parse('2026-12-01T00:00:00Z'));
    expect(s).toContain('CPU is forecast to peak at 92% within 48h against a threshold of 80%');
    expect(s).toContain('it crosses it at');
    expect(s).toContain('3 more hosts take capacity from 640 to 736 cores');
    expect(s).toContain('the peak to 80%.');
  });
  it('says when it is over already, and when capped', () => {
    const s = proposalSentence(1, { ...figures, capped: true }, Date.parse('2026-12-03T00:00:00Z'));
    expect(s).toContain('over the threshold already');
    expect(s).toContain('1 more host takes capacity');
    expect(s).toContain('capped');
  });
});
