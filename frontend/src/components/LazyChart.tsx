import { lazy, Suspense } from 'react';
import type { EChartProps } from './EChart';

const EChart = lazy(() => import('./EChart'));

/** An ECharts chart whose code is fetched on first use. */
export function Chart(props: EChartProps) {
  return (
    <Suspense fallback={<div className="chart chart-loading" style={{ height: props.height ?? 280 }}>Loading chart…</div>}>
      <EChart {...props} />
    </Suspense>
  );
}
