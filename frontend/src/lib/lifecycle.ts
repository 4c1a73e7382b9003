// Pure helpers of the Aquila lifecycle screens: the upgrade wizard's input and
// whether it may start, the scale-out and decommission inputs, and a scale-out
// proposal's figures in a sentence. Blanks are left to the server's defaults,
// so the screens never restate them.
import { formatDateTime } from './format';

export type PreCheckStatus = 'PASS' | 'WARNING' | 'FAIL';

/** The upgrade wizard's first step as typed in. */
export interface UpgradeForm {
  stackVersion: string;
  services: string[];
  strategy: 'ROLLING' | 'EXPRESS';
  batchPercent: string;
  maxFailures: string;
  pauseAfterFirstBatch: boolean;
  reason: string;
}

const WHOLE = /^\d+$/;

/** What the upgrade form has wrong, by field; empty when the checks can run. */
export function upgradeFormErrors(f: UpgradeForm): Partial<Record<'stackVersion' | 'batchPercent' | 'maxFailures', string>> {
  const out: Partial<Record<'stackVersion' | 'batchPercent' | 'maxFailures', string>> = {};
  if (!f.stackVersion) out.stackVersion = 'Pick a stack version.';
  const b = f.batchPercent.trim();
  if (b && !(WHOLE.test(b) && Number(b) >= 1 && Number(b) <= 100)) out.batchPercent = 'A whole percentage, 1 to 100.';
  const m = f.maxFailures.trim();
  if (m && !WHOLE.test(m)) out.maxFailures = 'A whole number of hosts, 0 or more.';
  return out;
}

/** The upgradeCluster (and upgradePreCheck) input for a form. Batch % applies to ROLLING only. */
export function upgradeInput(cluster: string, f: UpgradeForm) {
  const b = f.batchPercent.trim();
  const m = f.maxFailures.trim();
  const reason = f.reason.trim();
  return {
    cluster,
    stackVersion: f.stackVersion,
    strategy: f.strategy,
    ...(f.services.length ? { services: [...f.services].sort() } : {}),
    ...(b && f.strategy === 'ROLLING' ? { batchPercent: Number(b) } : {}),
    ...(m ? { maxFailures: Number(m) } : {}),
    ...(f.pauseAfterFirstBatch ? { pauseAfterFirstBatch: true } : {}),
    ...(reason ? { reason } : {}),
  };
}

/**
 * Whether the upgrade may start: the checks ran for exactly this input and none
 * FAILed. A changed form needs its checks run again (they are tied to the input).
 */
export function canStartUpgrade(checks: readonly { status: PreCheckStatus }[] | null, checkedFor: string | null, input: string): boolean {
  return checks !== null && checkedFor === input && !checks.some((c) => c.status === 'FAIL');
}

/** The scale-out form as typed in: a count, or spare hosts picked by hostname. */
export interface ScaleOutForm {
  count: string;
  hosts: string[];
  reason: string;
}

/** Why the scale-out cannot be sent, or null. */
export function scaleOutError(f: ScaleOutForm): string | null {
  if (f.hosts.length) return null;
  const c = f.count.trim();
  if (!(WHOLE.test(c) && Number(c) >= 1)) return 'A number of hosts, 1 or more, or pick spare hosts.';
  return null;
}

/** The scaleOutCluster input: picked hosts win over a count. */
export function scaleOutInput(cluster: string, f: ScaleOutForm) {
  const reason = f.reason.trim();
  return {
    cluster,
    ...(f.hosts.length ? { hosts: [...f.hosts].sort() } : { count: Number(f.count.trim()) }),
    ...(reason ? { reason } : {}),
  };
}

/** The decommission form as typed in. */
export interface DecommissionForm {
  to: 'POOL' | 'RETIRE';
  drainTimeout: string;
  reason: string;
}

const GO_DURATION = /^(\d+(\.\d+)?(h|m|s|ms))+$/;

/** Why the decommission cannot be sent, or null. */
export function decommissionError(hosts: readonly string[], f: DecommissionForm): string | null {
  if (!hosts.length) return 'Select the hosts to decommission.';
  const d = f.drainTimeout.trim();
  if (d && !GO_DURATION.test(d)) return 'Drain timeout: a duration such as 10m or 1h30m.';
  return null;
}

/** The decommissionHosts input; a blank drain timeout is the server's default. */
export function decommissionInput(hosts: readonly string[], f: DecommissionForm) {
  const d = f.drainTimeout.trim();
  const reason = f.reason.trim();
  return { hosts: [...hosts], to: f.to, ...(d ? { drainTimeout: d } : {}), ...(reason ? { reason } : {}) };
}

/** The figures of a scale-out proposal that the sentence uses. */
export interface ProposalFigures {
  dimension: string;
  threshold: number;
  forecastPeak: number;
  crossesAt?: string | null;
  horizonHours: number;
  hostsInService: number;
  capacity: number;
  capacityUnit: string;
  capacityAfter: number;
  forecastAfter: number;
  capped: boolean;
}

const pct = (v: number) => `${Math.round(v * 100)}%`;
const num = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(1));

/** A proposal in one sentence: the forecast against the threshold, when it crosses, and what the hosts bring. */
export function proposalSentence(hosts: number, f: ProposalFigures, now = Date.now()): string {
  const when = f.crossesAt ? (Date.parse(f.crossesAt) <= now ? 'it is over the threshold already' : `it crosses it at ${formatDateTime(f.crossesAt)}`) : 'it does not cross it';
  const unit = f.capacityUnit ? ` ${f.capacityUnit}` : '';
  return (
    `${f.dimension} is forecast to peak at ${pct(f.forecastPeak)} within ${num(f.horizonHours)}h against a threshold of ${pct(f.threshold)}; ${when}. ` +
    `${hosts} more ${hosts === 1 ? 'host takes' : 'hosts take'} capacity from ${num(f.capacity)} to ${num(f.capacityAfter)}${unit} (${f.hostsInService} hosts in service now) and the peak to ${pct(f.forecastAfter)}` +
    (f.capped ? ', capped at the cluster’s largest scale-out.' : '.')
  );
}
