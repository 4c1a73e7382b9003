// ECharts with tree-shaken imports: only the charts and components used here
// are bundled. Loaded lazily (see LazyChart) so the sign-in page stays small.
import { useEffect, useRef } from 'react';
import * as echarts from 'echarts/core';
import { BarChart, LineChart, PieChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent, TitleComponent, DatasetComponent, MarkLineComponent, MarkAreaComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';
import type { EChartsCoreOption } from 'echarts/core';

echarts.use([BarChart, LineChart, PieChart, GridComponent, LegendComponent, TooltipComponent, TitleComponent, DatasetComponent, MarkLineComponent, MarkAreaComponent, CanvasRenderer]);

export interface EChartProps {
  option: EChartsCoreOption;
  height?: number | string;
  testId?: string;
  ariaLabel?: string;
  className?: string;
}

export default function EChart({ option, height = 280, testId, ariaLabel, className }: EChartProps) {
  const ref = useRef<HTMLDivElement>(null);
  const chart = useRef<echarts.ECharts | null>(null);

  useEffect(() => {
    if (!ref.current) return;
    const c = echarts.init(ref.current, undefined, { renderer: 'canvas' });
    chart.current = c;
    const ro = typeof ResizeObserver !== 'undefined' ? new ResizeObserver(() => c.resize()) : null;
    ro?.observe(ref.current);
    return () => {
      ro?.disconnect();
      c.dispose();
      chart.current = null;
    };
  }, []);

  useEffect(() => {
    chart.current?.setOption(option, { notMerge: true });
  }, [option]);

  return <div ref={ref} className={`chart${className ? ` ${className}` : ''}`} style={{ height }} data-testid={testId} role="img" aria-label={ariaLabel} />;
}
