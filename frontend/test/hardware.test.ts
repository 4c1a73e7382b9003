import { describe, expect, it } from 'vitest';
import { errorBar, niceCeil, reliabilityChartOption } from '../src/lib/hardware';

const group = (label: string, rate: number, lower: number, upper: number | null) => ({
  label,
  hosts: 10,
  machineYears: 20,
  faults: 3,
  ratePer100MachineYears: rate,
  lower,
  upper,
});

describe('reliabilityChartOption', () => {
  it('draws the rates as bars and their intervals as error bars, the axis reaching the highest', () => {
    const o = reliabilityChartOption([group('M1', 15, 3.1, 43.8), group('M2', 0, 0, null)]) as any;
    expect(o.series[0].data).toEqual([15, 0]);
    expect(o.series[1].type).toBe('custom');
    expect(o.series[1].data).toEqual([
      [0, 3.1, 43.8],
      [1, 0, 0],
    ]);
    expect(o.yAxis.max).toBe(50);
    expect(o.tooltip.formatter([{ dataIndex: 1 }])).toContain('no machine-time');
  });
});

describe('niceCeil', () => {
  it('rounds up to 1, 2 or 5 times a power of ten', () => {
    expect(niceCeil(43.8)).toBe(50);
    expect(niceCeil(0.7)).toBe(1);
    expect(niceCeil(180)).toBe(200);
    expect(niceCeil(1000)).toBe(1000);
  });
});

describe('errorBar', () => {
  it('draws a vertical line from lower to upper with caps', () => {
    const api = {
      value: (d: number) => [2, 5, 10][d],
      coord: ([x, y]: [number, number]) => [x * 100, 200 - y * 10] as [number, number],
      size: () => [100, 0] as [number, number],
    };
    const g = errorBar(null, api) as any;
    expect(g.children[0].shape).toEqual({ x1: 200, y1: 100, x2: 200, y2: 150 });
    expect(g.children[1].shape.x2 - g.children[1].shape.x1).toBeCloseTo(24);
  });
});
