// The logic behind the action controls: who sees them, how outcomes read, how
// a typed percentage becomes a threshold, and a token's status.
import { describe, expect, it } from 'vitest';
import { grantableRoles, roleAtLeast } from '../src/lib/hooks';
import { describeOutcome } from '../src/components/HostStateForm';
import { formatThreshold, parsePercent } from '../src/components/Thresholds';
import { tokenStatus } from '../src/pages/Tokens';

describe('roles', () => {
  it('follow the server order VIEWER < BU_ADMIN < OPERATOR < ADMIN', () => {
    expect(roleAtLeast('OPERATOR', 'OPERATOR')).toBe(true);
    expect(roleAtLeast('ADMIN', 'OPERATOR')).toBe(true);
    expect(roleAtLeast('BU_ADMIN', 'OPERATOR')).toBe(false);
    expect(roleAtLeast('VIEWER', 'ADMIN')).toBe(false);
    expect(roleAtLeast('SOMETHING', 'VIEWER')).toBe(false);
  });
  it('let a token carry the own role or one below', () => {
    expect(grantableRoles('VIEWER')).toEqual(['VIEWER']);
    expect(grantableRoles('OPERATOR')).toEqual(['VIEWER', 'BU_ADMIN', 'OPERATOR']);
    expect(grantableRoles('ADMIN')).toEqual(['VIEWER', 'BU_ADMIN', 'OPERATOR', 'ADMIN']);
  });
});

describe('describeOutcome', () => {
  it('reads one host plainly, refusals with the server message', () => {
    expect(describeOutcome({ state: 'MAINTENANCE', done: 1, failed: [] })).toBe('Host set to Maintenance.');
    expect(describeOutcome({ state: 'ONLINE', done: 0, failed: [{ hostname: 'h1', message: 'host is decommissioned' }] })).toBe('Refused: host is decommissioned');
  });
  it('counts several hosts', () => {
    expect(describeOutcome({ state: 'MAINTENANCE', done: 3, failed: [] })).toBe('3 hosts set to Maintenance.');
    expect(describeOutcome({ state: 'ONLINE', done: 2, failed: [{ hostname: 'h1', message: 'no' }] })).toBe('2 hosts set to Online; 1 refused:');
  });
});

describe('parsePercent', () => {
  it.each([
    ['85', 0.85],
    ['85%', 0.85],
    [' 72.5 % ', 0.725],
    ['150', 1.5],
    ['0', 0],
  ])('%s → %s', (text, want) => expect(parsePercent(text)).toBeCloseTo(want, 10));
  it('is NaN for anything else', () => {
    expect(parsePercent('')).toBeNaN();
    expect(parsePercent('eighty')).toBeNaN();
    expect(parsePercent('0.8.1')).toBeNaN();
  });
});

describe('formatThreshold', () => {
  it('shows a decimal only when there is one', () => {
    expect(formatThreshold(0.8)).toBe('80%');
    expect(formatThreshold(0.725)).toBe('72.5%');
    expect(formatThreshold(0.7)).toBe('70%');
  });
});

describe('tokenStatus', () => {
  const now = Date.parse('2026-06-01T00:00:00Z');
  it('is REVOKED, EXPIRED or ACTIVE', () => {
    expect(tokenStatus({ revokedAt: '2026-05-01T00:00:00Z', expiresAt: null }, now)).toBe('REVOKED');
    expect(tokenStatus({ revokedAt: null, expiresAt: '2026-05-31T23:59:59Z' }, now)).toBe('EXPIRED');
    expect(tokenStatus({ revokedAt: null, expiresAt: '2026-06-02T00:00:00Z' }, now)).toBe('ACTIVE');
    expect(tokenStatus({ revokedAt: null, expiresAt: null }, now)).toBe('ACTIVE');
  });
});
