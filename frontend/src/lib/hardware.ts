// The Hardware page's vocabulary and its chart: failure rates as bars with
// their 95% intervals drawn as error bars (an ECharts custom series). Pure
// functions, unit-tested.
import type { Enum } from '../graphql';
import type { Tone } from './colors';
import { formatNumber } from './format';
import { PALETTE, type ChartOption } from './charts';

export type RepairState = Enum<'RepairState'>;
export type FaultSeverity = Enum<'FaultSeverity'>;

export const STATE_TONE: Record<RepairState, Tone> = { OPEN: 'bad', IN_REPAIR: 'warn', RESOLVED: 'good', REPLACED: 'muted' };
export const SEVERITY_TONE: Record<FaultSeverity, Tone> = { CRITICAL: 'bad', HIGH: 'warn', MEDIUM: 'info', LOW: 'muted' };

/** What the button moving a ticket to a state says. */
export const TRANSITION_LABEL: Record<RepairState, string> = {
  OPEN: 'Reopen',
  IN_REPAIR: 'Start repair',
  RESOLVED: 'Resolve',
  REPLACED: 'Replace',
};

export interface RateGroup {
  label: string;
  hosts: number;
  machineYears: number;
  faults: number;
  ratePer100MachineYears: number;
  lower: number;
  upper: number | null;
}

/**
 * Bars of faults per 100 machine-years with error bars from lower to upper. A
 * group without exposure has no upper bound: its bar is empty and its error bar
 * left out.
 */
export function reliabilityChartOption(groups: readonly RateGroup[]): ChartOption {
  const labels = groups.map((g) => g.label);
  const intervals = groups.map((g, i) => [i, g.lower, g.upper ?? g.lower]);
  // The axis reaches the highest error bar, which a bar chart alone would cut.
  const top = Math.max(0, ...groups.map((g) => g.upper ?? g.ratePer100MachineYears));
  return {
    animation: false,
    grid: { left: 56, right: 16, top: 16, bottom: 56 },
    tooltip: {
      trigger: 'axis',
      axisPointer: { type: 'shadow' },
      formatter: (params: { dataIndex: number }[]) => {
        const g = groups[params[0]?.dataIndex ?? 0];
        if (!g) return '';
        const ci = g.upper == null ? 'no machine-time' : `95% interval ${formatNumber(g.lower, 1)}–${formatNumber(g.upper, 1)}`;
        return `<strong>${g.label}</strong><br/>${formatNumber(g.ratePer100MachineYears, 1)} per 100 machine-years (${ci})<br/>` +
          `${formatNumber(g.faults)} faults in ${formatNumber(g.machineYears, 1)} machine-years, ${formatNumber(g.hosts)} hosts`;
      },
    },
    xAxis: { type: 'category', data: labels, axisLabel: { interval: 0, rotate: labels.length > 3 ? 20 : 0, color: PALETTE.axis } },
    yAxis: {
      type: 'value',
      max: top > 0 ? niceCeil(top) : undefined,
      name: 'per 100 machine-years', nameTextStyle: { color: PALETTE.axis }, axisLabel: { color: PALETTE.axis }, splitLine: { lineStyle: { color: PALETTE.grid } },
    },
    series: [
      { type: 'bar', name: 'rate', data: groups.map((g) => g.ratePer100MachineYears), itemStyle: { color: PALETTE.util }, barMaxWidth: 40 },
      {
        type: 'custom',
        name: '95% interval',
        data: intervals,
        z: 3,
        renderItem: errorBar,
      },
    ],
  };
}

interface RenderApi {
  value: (dim: number) => number;
  coord: (p: [number, number]) => [number, number];
  size: (v: [number, number]) => [number, number];
}

/** Draws one error bar: a vertical line from lower to upper with short caps. */
export function errorBar(_params: unknown, api: RenderApi) {
  const x = api.value(0);
  const lo = api.coord([x, api.value(1)]);
  const hi = api.coord([x, api.value(2)]);
  const half = api.size([1, 0])[0] * 0.12;
  const style = { stroke: '#0f172a', lineWidth: 1.5 };
  return {
    type: 'group',
    children: [
      { type: 'line', shape: { x1: lo[0], y1: hi[1], x2: lo[0], y2: lo[1] }, style },
      { type: 'line', shape: { x1: lo[0] - half, y1: hi[1], x2: lo[0] + half, y2: hi[1] }, style },
      { type: 'line', shape: { x1: lo[0] - half, y1: lo[1], x2: lo[0] + half, y2: lo[1] }, style },
    ],
  };
}

/** Rounds up to 1, 2 or 5 times a power of ten, so the axis ends on a round number. */
export function niceCeil(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}
