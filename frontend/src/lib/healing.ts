// Pure helpers of the self-healing screens: how healing states and signals
// look, and the healing rate chart (outcomes per day as stacked bars, the rate
// as a line on its own axis).
import type { Enum } from '../graphql';
import type { Tone } from './colors';
import { PALETTE, type ChartOption } from './charts';

export type HealingState = Enum<'HealingState'>;
export type SickSignal = Enum<'SickSignal'>;

export const HEALING_STATES: readonly HealingState[] = ['HEALING', 'HEALED', 'HANDED_OVER', 'FAILED'];

export const HEALING_STATE_TONE: Record<HealingState, Tone> = {
  HEALING: 'info',
  HEALED: 'good',
  FAILED: 'bad',
  HANDED_OVER: 'warn',
};

/** The tab titles of the healing page. */
export const HEALING_STATE_LABEL: Record<HealingState, string> = {
  HEALING: 'Healing now',
  HEALED: 'Healed',
  HANDED_OVER: 'Handed to people',
  FAILED: 'Failed',
};

export const SIGNAL_LABEL: Record<SickSignal, string> = {
  HEARTBEAT: 'heartbeat',
  HARDWARE_FAULT: 'hardware fault',
  HEALTH_CHECK: 'health check',
  ANOMALY: 'anomaly',
};

export interface HealingDayPoint {
  day: string;
  healed: number;
  failed: number;
  handedOver: number;
  rate: number;
}

const COLORS = { healed: '#2f9e44', failed: '#e03131', handedOver: '#f08c00', rate: PALETTE.util };

/**
 * The healing rate chart: healed, failed and handed over per UTC day as
 * stacked bars, and the rate (healed ÷ ended, in percent) as a line on a
 * second axis; a day on which nothing ended has no rate (a gap, not 0%).
 */
export function healingRateOption(days: readonly HealingDayPoint[]): ChartOption {
  const labels = days.map((d) => d.day.slice(0, 10));
  const bar = (name: string, color: string, pick: (d: HealingDayPoint) => number) => ({
    name,
    type: 'bar',
    stack: 'ended',
    itemStyle: { color },
    data: days.map(pick),
  });
  return {
    animation: false,
    tooltip: { trigger: 'axis' },
    legend: { top: 0, textStyle: { fontSize: 12 } },
    grid: { left: 44, right: 48, top: 32, bottom: 28 },
    xAxis: { type: 'category', data: labels, axisLabel: { color: PALETTE.axis } },
    yAxis: [
      { type: 'value', name: 'hosts', minInterval: 1, axisLabel: { color: PALETTE.axis }, splitLine: { lineStyle: { color: PALETTE.grid } } },
      { type: 'value', name: 'rate', min: 0, max: 100, axisLabel: { color: PALETTE.axis, formatter: '{value}%' }, splitLine: { show: false } },
    ],
    series: [
      bar('Healed', COLORS.healed, (d) => d.healed),
      bar('Failed', COLORS.failed, (d) => d.failed),
      bar('Handed over', COLORS.handedOver, (d) => d.handedOver),
      {
        name: 'Healing rate',
        type: 'line',
        yAxisIndex: 1,
        connectNulls: false,
        itemStyle: { color: COLORS.rate },
        data: days.map((d) => (d.healed + d.failed + d.handedOver > 0 ? Math.round(d.rate * 1000) / 10 : null)),
      },
    ],
  };
}
