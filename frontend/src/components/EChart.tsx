// ECharts with tree-shaken imports: only the charts and components used here
// are bundled. Loaded lazily (see LazyChart) so the sign-in page stays small.
import { useEffect, useRef } from 'react';
import * as echarts from 'echarts/core';
import { BarChart, CustomChart, GraphChart, LineChart, PieChart, ScatterChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent, TitleComponent, DatasetComponent, MarkLineComponent, MarkAreaComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';
import type { EChartsCoreOption } from 'echarts/core';

echarts.use([BarChart, CustomChart, GraphChart, LineChart, PieChart, ScatterChart, GridComponent, LegendComponent, TooltipComponent, TitleComponent, DatasetComponent, MarkLineComponent, MarkAreaComponent, CanvasRenderer]);

export interface EChartProps {
  option: EChartsCoreOption;
  height?: number | string;
  testId?: string;
  ariaLabel?: string;
  className?: string;
  /** Called with ECharts' event parameters when a data item is clicked. */
  onClick?: (params: { data?: unknown; seriesName?: string }) => void;
}

export default function EChart({ option, height = 280, testId, ariaLabel, className, onClick }: EChartProps) {
  const ref = useRef<HTMLDivElement>(null);
  const chart = useRef<echarts.ECharts | null>(null);
  // The latest handler, so a new closure on every render does not rebind the event.
  const click = useRef(onClick);
  click.current = onClick;

  useEffect(() => {
    if (!ref.current) return;
    const c = echarts.init(ref.current, undefined, { renderer: 'canvas' });
    chart.current = c;
    // The handler runs after ECharts has finished dispatching the click: a
    // handler that changes the option (the lineage graph expands a node) must
    // not call setOption from inside ECharts' own event processing, which can
    // leave it reading a half-replaced model.
    c.on('click', (params) => {
      const p = params as { data?: unknown; seriesName?: string };
      setTimeout(() => {
        if (!c.isDisposed()) click.current?.(p);
      }, 0);
    });
    const ro = typeof ResizeObserver !== 'undefined' ? new ResizeObserver(() => {
      if (!c.isDisposed()) c.resize();
    }) : null;
    ro?.observe(ref.current);
    return () => {
      ro?.disconnect();
      c.dispose();
      chart.current = null;
    };
  }, []);

  useEffect(() => {
    const c = chart.current;
    if (!c || c.isDisposed()) return;
    // Leave any hover state first: replacing the whole option while an element
    // is emphasised or its tooltip shown (a node just clicked) lets ECharts'
    // next pointer event reach an element that no longer exists.
    c.dispatchAction({ type: 'hideTip' });
    c.dispatchAction({ type: 'downplay' });
    c.setOption(option, { notMerge: true });
  }, [option]);

  return <div ref={ref} className={`chart${className ? ` ${className}` : ''}`} style={{ height }} data-testid={testId} role="img" aria-label={ariaLabel} />;
}
