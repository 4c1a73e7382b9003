import { describe, expect, it } from 'vitest';
import { findingTone, formatWindow, isUnhealthy, verdictTone } from '../src/lib/machine';
import { clusterColumns, fitStage, STAGE_H, STAGE_W } from '../src/pages/BigScreen';

describe('machine analysis helpers', () => {
  it('maps the severity of findings to a tone', () => {
    expect(findingTone('PROBLEM')).toBe('bad');
    expect(findingTone('WARNING')).toBe('warn');
    expect(findingTone('NOTE')).toBe('info');
  });
  it('reads the tone of peer verdicts', () => {
    expect(verdictTone('hot: busier than 97% of peers')).toBe('bad');
    expect(verdictTone('busy: above 85% of peers')).toBe('warn');
    expect(verdictTone('idle')).toBe('info');
    expect(verdictTone('typical')).toBe('muted');
  });
  it('compares desired and actual state case-insensitively', () => {
    expect(isUnhealthy({ desiredState: 'STARTED', actualState: 'started' })).toBe(false);
    expect(isUnhealthy({ desiredState: 'STARTED', actualState: 'STOPPED' })).toBe(true);
  });
  it('says the window in words', () => {
    expect(formatWindow('24h0m0s')).toBe('24 hours');
    expect(formatWindow('168h')).toBe('7 days');
    expect(formatWindow('1h0m0s')).toBe('1 hour');
    expect(formatWindow('30m')).toBe('30 minutes');
    expect(formatWindow('')).toBe('—');
  });
});

describe('big screen layout', () => {
  it('fits the 1920×1080 stage into any window, centred', () => {
    expect(fitStage(1920, 1080)).toEqual({ scale: 1, left: 0, top: 0 });
    expect(fitStage(1280, 720)).toEqual({ scale: 2 / 3, left: 0, top: 0 });
    const wide = fitStage(2560, 1080);
    expect(wide.scale).toBe(1);
    expect(wide.left).toBe((2560 - STAGE_W) / 2);
    const tall = fitStage(1024, 1024);
    expect(tall.scale).toBeCloseTo(1024 / 1920);
    expect(tall.top).toBeCloseTo((1024 - STAGE_H * (1024 / 1920)) / 2);
    expect(fitStage(3840, 2160).scale).toBe(2);
  });
  it('picks landscape tiles for the cluster grid', () => {
    expect(clusterColumns(1)).toBe(1);
    // 12 tiles in the 724×420 area above the anomalies: 4 columns of 3 rows.
    expect(clusterColumns(12)).toBe(4);
    const many = clusterColumns(48);
    expect(many).toBeGreaterThanOrEqual(5);
    expect(many).toBeLessThanOrEqual(8);
    for (let n = 1; n <= 60; n++) expect(clusterColumns(n)).toBeLessThanOrEqual(Math.min(8, n));
  });
});
