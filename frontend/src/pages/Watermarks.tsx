// Platform operations → Watermarks: every cluster's water level per dimension
// as a heat table (clusters at risk first), the at-risk list above it, and per
// cluster the level series over a chosen range with the threshold, the forecast
// projection with its band and the expected crossing. The heat table follows
// platformPulse; the selected cluster's levels follow watermarkUpdated.

import { useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { useQuery } from 'urql';
import { graphql, type ResultOf } from '../graphql';
import { ForecastFields, LevelFields, RiskFields, WatermarkRowFields, WatermarkSeriesFields } from '../graphql/fragments';
import { useLiveSubscription } from '../lib/useLive';
import {
  DIMENSION_LABEL,
  DIMENSIONS,
  formatDaysTo,
  formatSlope,
  formatUsedOf,
  formatUtil,
  heatColor,
  isDimension,
  levelFor,
  sortClustersByRisk,
  STATUS_COLOR,
  STATUS_LABEL,
  STATUS_TONE,
  statusCounts,
  type WatermarkDimension,
} from '../lib/watermark';
import { formatDate, formatDateTime, formatNumber, formatRelative, humanizeEnum } from '../lib/format';
import { describeRange, rangeFromParams, rangeToParams, resolveRange, type RangeSelection } from '../lib/timerange';
import { watermarkChartOption, type WatermarkForecast } from '../lib/charts';
import type { Search, SetSearch } from '../app/router';
import { Badge, ErrorPanel, Link, Loading, Panel, Stat } from '../components/ui';
import { LiveBadge, RangePicker, Segmented } from '../components/telemetry';
import { Thresholds } from '../components/Thresholds';
import { Chart } from '../components/LazyChart';

const WatermarksPlatformFields = graphql(
  `
    fragment WatermarksPlatformFields on Platform {
      levels {
        ...LevelFields
      }
      watermarks {
        ...WatermarkRowFields
      }
      clustersAtRisk {
        ...RiskFields
      }
    }
  `,
  [LevelFields, WatermarkRowFields, RiskFields],
);

export const WatermarksOverviewQuery = graphql(
  `
    query WatermarksOverview {
      platform {
        ...WatermarksPlatformFields
      }
    }
  `,
  [WatermarksPlatformFields],
);

export const WatermarksPulse = graphql(
  `
    subscription WatermarksPulse {
      platformPulse {
        at
        platform {
          ...WatermarksPlatformFields
        }
      }
    }
  `,
  [WatermarksPlatformFields],
);

export const ClusterWatermarkLive = graphql(
  `
    subscription ClusterWatermarkLive($clusterId: ID!) {
      watermarkUpdated(clusterId: $clusterId) {
        ...WatermarkRowFields
      }
    }
  `,
  [WatermarkRowFields],
);

export const WatermarkDetailQuery = graphql(
  `
    query WatermarkDetail($name: String!, $dimensions: [WatermarkDimension!], $from: Time, $to: Time) {
      cluster(name: $name) {
        id
        name
        kind
        region
        status
        watermarkThreshold
        watermarks(dimensions: $dimensions, from: $from, to: $to, maxPoints: 400) {
          ...WatermarkSeriesFields
        }
        forecast(dimensions: $dimensions) {
          ...ForecastFields
        }
      }
    }
  `,
  [WatermarkSeriesFields, ForecastFields],
);

type WatermarksPlatform = ResultOf<typeof WatermarksPlatformFields>;
type ClusterWatermarkRow = ResultOf<typeof WatermarkRowFields>;
type Level = ResultOf<typeof LevelFields>;
type ClusterRisk = ResultOf<typeof RiskFields>;
type Keys = 'cluster' | 'dim' | 'range' | 'from' | 'to';

type DimChoice = WatermarkDimension | 'ALL';

/** The fresher of two versions of a cluster's levels (by the newest level time). */
function fresher(a: ClusterWatermarkRow | undefined, b: ClusterWatermarkRow | null): ClusterWatermarkRow | undefined {
  if (!b || !a || a.cluster.name !== b.cluster.name) return a;
  const newest = (r: ClusterWatermarkRow) => Math.max(0, ...r.levels.map((l) => new Date(l.ts).getTime() || 0));
  return newest(b) >= newest(a) ? { ...b, cluster: { ...a.cluster, ...b.cluster } } : a;
}

/** The time of a row's newest level (for "last update"), or null. */
function newestLevelTs(row: ClusterWatermarkRow | undefined): string | null {
  const t = Math.max(0, ...(row?.levels ?? []).map((l) => new Date(l.ts).getTime() || 0));
  return t > 0 ? new Date(t).toISOString() : null;
}

function HeatCell({ level, dimension }: { level: Level | undefined; dimension: WatermarkDimension }) {
  const c = heatColor(level?.utilization, level?.threshold);
  const title = level
    ? `${DIMENSION_LABEL[dimension]}: ${formatUtil(level.utilization, 1)} (threshold ${formatUtil(level.threshold)}) — ${formatUsedOf(level.used, level.capacity, level.unit)}; ${formatNumber(level.hosts)} hosts reporting`
    : `${DIMENSION_LABEL[dimension]}: no data`;
  return (
    <td className={`heat-cell${level && level.status !== 'OK' ? ' heat-hot' : ''}`} style={{ background: c.bg, color: c.fg }} title={title} data-status={level?.status ?? 'NONE'}>
      {level ? formatUtil(level.utilization) : '—'}
    </td>
  );
}

function HeatLegend() {
  const steps: Array<[string, number]> = [
    ['< 55%', 0.4],
    ['55–85%', 0.7],
    ['85–100% (warn)', 0.95],
    ['> threshold', 1.05],
    ['> 110%', 1.3],
  ];
  return (
    <div className="heat-legend" aria-label="Colour legend: utilisation relative to the cluster's threshold">
      <span className="muted small">Colour = utilisation relative to threshold:</span>
      {steps.map(([label, r]) => {
        const c = heatColor(r, 1);
        return (
          <span key={label} className="heat-legend-item" style={{ background: c.bg, color: c.fg }}>
            {label}
          </span>
        );
      })}
    </div>
  );
}

function RiskList({ risks, onSelect }: { risks: ClusterRisk[]; onSelect: (name: string) => void }) {
  if (!risks.length) {
    return (
      <div className="risk-empty" data-testid="risk-empty">
        <span className="ok-mark" aria-hidden="true">✓</span> No cluster is over a threshold or forecast to cross one in the next 14 days.
      </div>
    );
  }
  return (
    <ul className="risk-list" data-testid="risk-list">
      {risks.map((r) => {
        const over = r.daysToThreshold !== null && r.daysToThreshold <= 0;
        return (
          <li key={`${r.cluster.name}:${r.dimension}`} className={`risk-item ${over ? 'risk-over' : 'risk-soon'}`} data-testid="risk-item" data-cluster={r.cluster.name} data-dimension={r.dimension} data-over={over}>
            <span className="risk-when">
              {over ? 'Over now' : formatDaysTo(r.daysToThreshold)}
              {!over && r.crossesAt && <span className="risk-date">{formatDate(r.crossesAt)}</span>}
            </span>
            <button type="button" className="linklike risk-cluster" onClick={() => onSelect(r.cluster.name)}>
              {r.cluster.name}
            </button>
            <Badge tone="muted">{humanizeEnum(r.cluster.kind)}</Badge>
            <span className="risk-dim">{DIMENSION_LABEL[r.dimension] ?? r.dimension}</span>
            <span className="risk-util">
              <strong className={over ? 'tone-bad-text' : 'tone-warn-text'}>{formatUtil(r.utilization)}</strong>
              <span className="muted"> / {formatUtil(r.threshold)}</span>
            </span>
            <span className="risk-reason">{r.reason}</span>
          </li>
        );
      })}
    </ul>
  );
}

function LevelTiles({ row, testId }: { row: ClusterWatermarkRow; testId?: string }) {
  return (
    <div className="level-tiles" data-testid={testId}>
      {DIMENSIONS.map((d) => {
        const l = levelFor(row.levels, d);
        const c = l ? STATUS_COLOR[l.status] : '#cbd5e1';
        return (
          <div key={d} className="level-tile" style={{ borderLeftColor: c }} data-dimension={d}>
            <div className="level-tile-label">{DIMENSION_LABEL[d]}</div>
            <div className="level-tile-value" style={{ color: l && l.status !== 'OK' ? c : undefined }}>
              {l ? formatUtil(l.utilization) : '—'}
            </div>
            <div className="level-tile-sub">{l ? `threshold ${formatUtil(l.threshold)}` : 'no data'}</div>
            {l && (
              <div className="level-tile-sub muted" title={formatUsedOf(l.used, l.capacity, l.unit)}>
                {formatUsedOf(l.used, l.capacity, l.unit)}
              </div>
            )}
          </div>
        );
      })}
    </div>
  );
}

function ForecastFacts({ f }: { f: WatermarkForecast | undefined }) {
  if (!f) return <div className="empty">No forecast for this dimension yet.</div>;
  return (
    <dl className="facts forecast-facts" data-testid="forecast-facts">
      <div className="fact">
        <dt>Expected crossing</dt>
        <dd className={f.crossesAt ? 'tone-bad-text strong' : ''}>{f.crossesAt ? formatDate(f.crossesAt) : 'not rising / not within reach'}</dd>
      </div>
      <div className="fact">
        <dt>Window</dt>
        <dd>{f.crossesAtEarliest || f.crossesAtLatest ? `${formatDate(f.crossesAtEarliest)} – ${f.crossesAtLatest ? formatDate(f.crossesAtLatest) : 'open'}` : '—'}</dd>
      </div>
      <div className="fact">
        <dt>Current daily peak</dt>
        <dd>{formatUtil(f.currentPeak, 1)}</dd>
      </div>
      <div className="fact">
        <dt>Trend</dt>
        <dd>{formatSlope(f.slopePerDay)}</dd>
      </div>
      <div className="fact">
        <dt>Threshold</dt>
        <dd>{formatUtil(f.threshold)}</dd>
      </div>
      <div className="fact">
        <dt>Method</dt>
        <dd>
          {f.method} <span className="muted">({formatNumber(f.daysOfHistory)} days)</span>
        </dd>
      </div>
      <div className="fact">
        <dt>Computed</dt>
        <dd title={formatDateTime(f.computedAt)}>{formatRelative(f.computedAt)}</dd>
      </div>
    </dl>
  );
}

function ClusterDetail({
  name,
  row,
  dim,
  range,
  onDim,
  onRange,
  onClose,
  clusterNames,
  onSelect,
  live,
}: {
  name: string;
  row: ClusterWatermarkRow | undefined;
  dim: DimChoice;
  range: RangeSelection;
  onDim: (d: DimChoice) => void;
  onRange: (r: RangeSelection) => void;
  onClose: () => void;
  clusterNames: string[];
  onSelect: (name: string) => void;
  live?: ReactNode;
}) {
  const [nonce, setNonce] = useState(0);
  const resolved = useMemo(() => resolveRange(range, Date.now()), [range.key, range.from, range.to, nonce]);
  // A range ending now slides forward every two minutes.
  useEffect(() => {
    if (!resolved.endsNow) return;
    const id = setInterval(() => setNonce((n) => n + 1), 120_000);
    return () => clearInterval(id);
  }, [resolved.endsNow]);

  const variables = useMemo(() => ({ name, dimensions: DIMENSIONS, from: resolved.from, to: resolved.to }), [name, resolved.from, resolved.to]);
  const [{ data, error, fetching: loading }, reexecute] = useQuery({ query: WatermarkDetailQuery, variables });
  const refetch = () => reexecute({ requestPolicy: 'network-only' });
  const cluster = data?.cluster && data.cluster.name === name ? data.cluster : null;

  const charts = useMemo(() => {
    if (!cluster) return [];
    return DIMENSIONS.map((d) => {
      const series = cluster.watermarks.find((s) => s.dimension === d);
      const forecast = cluster.forecast.find((f) => f.dimension === d);
      return {
        d,
        series,
        forecast,
        compact: series ? watermarkChartOption({ series, forecast, showForecast: resolved.endsNow, range: resolved, compact: true }) : null,
        full: series && dim === d ? watermarkChartOption({ series, forecast, showForecast: resolved.endsNow, range: resolved }) : null,
      };
    });
  }, [cluster, resolved, dim]);

  const notFound = data && data.cluster === null;

  return (
    <section className="panel detail-panel" data-testid="cluster-detail" data-cluster={name}>
      <header className="panel-head">
        <h2>
          <select className="cluster-picker" value={name} onChange={(e) => onSelect(e.target.value)} aria-label="Cluster" data-testid="cluster-picker">
            {!clusterNames.includes(name) && <option value={name}>{name}</option>}
            {clusterNames.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
          <span className="muted small">
            {cluster ? `${humanizeEnum(cluster.kind)} · ${cluster.region} · threshold ${formatUtil(cluster.watermarkThreshold)}` : ''}
          </span>
          <Link to="/clusters/$name" params={{ name }} className="small">
            Cluster page →
          </Link>
          {live}
        </h2>
        <div className="panel-actions">
          <RangePicker value={range} presets={['24h', '7d', '30d']} onChange={onRange} />
          <button type="button" className="btn" onClick={() => (resolved.endsNow ? setNonce((n) => n + 1) : refetch())} title="Reload the series">
            ↻
          </button>
          <button type="button" className="btn" onClick={onClose} aria-label="Close cluster charts">
            ✕
          </button>
        </div>
      </header>
      <div className="panel-body detail-body">
        {row ? <LevelTiles row={row} testId="cluster-levels" /> : null}
        <div className="detail-toolbar">
          <Segmented<DimChoice>
            label="Dimension"
            testId="dimension-selector"
            value={dim}
            onChange={onDim}
            options={[{ value: 'ALL', label: 'All' }, ...DIMENSIONS.map((d) => ({ value: d, label: DIMENSION_LABEL[d] }))]}
          />
          <span className="muted small">
            {describeRange(range, resolved)}
            {charts[0]?.series ? ` · step ${charts[0].series.step}` : ''}
            {!resolved.endsNow && ' · forecast shown only for ranges ending now'}
          </span>
          {loading && <span className="spinner" aria-label="Loading series" />}
        </div>
        {error && <ErrorPanel error={error} onRetry={refetch} />}
        {notFound && <div className="empty">There is no cluster named {name}.</div>}
        {!cluster && loading && <Loading what={`Loading ${name}'s water levels`} />}
        {cluster && dim === 'ALL' && (
          <>
            <div className="chart-grid" data-testid="watermark-charts">
              {charts.map(({ d, series, forecast, compact }) => {
                const level = row ? levelFor(row.levels, d) : undefined;
                return (
                  <div key={d} className="chart-tile" data-testid="watermark-chart-tile" data-dimension={d}>
                    <button type="button" className="chart-tile-head" onClick={() => onDim(d)} title={`Show ${DIMENSION_LABEL[d]} in detail`}>
                      <span className="chart-tile-title">{DIMENSION_LABEL[d]}</span>
                      {level && (
                        <Badge tone={STATUS_TONE[level.status]}>
                          {formatUtil(level.utilization)} now
                        </Badge>
                      )}
                      {resolved.endsNow && forecast?.crossesAt && <span className="tone-bad-text small strong">crosses {formatDate(forecast.crossesAt)}</span>}
                      <span className="chart-tile-more">details ›</span>
                    </button>
                    {compact && series?.points.length ? (
                      <Chart option={compact} height={170} testId="watermark-chart" ariaLabel={`${DIMENSION_LABEL[d]} water level`} />
                    ) : (
                      <div className="empty chart-empty">No samples in this range.</div>
                    )}
                  </div>
                );
              })}
            </div>
            <ForecastTable forecasts={cluster.forecast} show={resolved.endsNow} onDim={onDim} />
          </>
        )}
        {cluster && dim !== 'ALL' && (
          <div className="detail-single">
            {(() => {
              const c = charts.find((x) => x.d === dim);
              return c?.full && c.series?.points.length ? (
                <Chart option={c.full} height={380} testId="watermark-chart" ariaLabel={`${DIMENSION_LABEL[dim]} water level with forecast`} />
              ) : (
                <div className="empty chart-empty" style={{ height: 380 }}>
                  No {DIMENSION_LABEL[dim]} samples in this range.
                </div>
              );
            })()}
            <div className="detail-side">
              <h3>Forecast · {DIMENSION_LABEL[dim]}</h3>
              <ForecastFacts f={cluster.forecast.find((f) => f.dimension === dim)} />
            </div>
          </div>
        )}
      </div>
    </section>
  );
}

function ForecastTable({ forecasts, show, onDim }: { forecasts: WatermarkForecast[]; show: boolean; onDim: (d: DimChoice) => void }) {
  if (!forecasts.length) return null;
  const ordered = [...forecasts].sort((a, b) => DIMENSIONS.indexOf(a.dimension) - DIMENSIONS.indexOf(b.dimension));
  return (
    <div className="table-wrap forecast-table-wrap">
      <table className="table" data-testid="forecast-table">
        <thead>
          <tr>
            <th>Forecast</th>
            <th className="num">Daily peak</th>
            <th className="num">Threshold</th>
            <th className="num">Trend</th>
            <th>Expected crossing</th>
            <th>Window</th>
            <th>Method</th>
          </tr>
        </thead>
        <tbody>
          {ordered.map((f) => (
            <tr key={f.dimension}>
              <td>
                <button type="button" className="linklike strong" onClick={() => onDim(f.dimension)}>
                  {DIMENSION_LABEL[f.dimension]}
                </button>
              </td>
              <td className="num">{formatUtil(f.currentPeak, 1)}</td>
              <td className="num">{formatUtil(f.threshold)}</td>
              <td className={`num ${f.slopePerDay && f.slopePerDay > 0 ? 'tone-warn-text' : 'muted'}`}>{formatSlope(f.slopePerDay)}</td>
              <td className={f.crossesAt ? 'tone-bad-text strong' : 'muted'}>{f.crossesAt ? `${formatDate(f.crossesAt)} (${formatRelative(f.crossesAt)})` : 'no crossing expected'}</td>
              <td className="muted">{f.crossesAtEarliest || f.crossesAtLatest ? `${formatDate(f.crossesAtEarliest)} – ${f.crossesAtLatest ? formatDate(f.crossesAtLatest) : 'open'}` : '—'}</td>
              <td className="muted">
                {f.method} · {f.daysOfHistory}d
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {!show && <div className="muted small forecast-note">The chart above shows a past range; forecasts are drawn on ranges that end now.</div>}
    </div>
  );
}

export function Watermarks({ search, setSearch }: { search: Search<Keys>; setSearch: SetSearch<Keys> }) {
  const selected = search.cluster ?? '';
  const dim: DimChoice = isDimension(search.dim) ? search.dim : 'ALL';
  const range = rangeFromParams(search, '7d', ['24h', '7d', '30d']);
  const detailRef = useRef<HTMLDivElement>(null);
  const [scrollOnSelect, setScrollOnSelect] = useState(false);

  const setParams = setSearch;
  const select = (name: string) => {
    setParams({ cluster: name });
    setScrollOnSelect(true);
  };

  const [{ data, error, fetching: loading }, reexecute] = useQuery({ query: WatermarksOverviewQuery });
  const refetch = () => reexecute({ requestPolicy: 'network-only' });
  const [pulse, setPulse] = useState<{ at: string; platform: WatermarksPlatform } | null>(null);
  const pulseInfo = useLiveSubscription(WatermarksPulse, {}, (d) => setPulse(d.platformPulse));
  // A fresh query result (retry, reload) wins over an older pulse.
  useEffect(() => {
    if (data) setPulse(null);
  }, [data]);
  const platform = pulse?.platform ?? data?.platform ?? null;

  const selectedId = platform?.watermarks.find((w) => w.cluster.name === selected)?.cluster.id ?? null;
  const [clusterLive, setClusterLive] = useState<ClusterWatermarkRow | null>(null);
  useEffect(() => setClusterLive(null), [selectedId]);
  const clusterInfo = useLiveSubscription(ClusterWatermarkLive, { clusterId: selectedId ?? '' }, (d) => setClusterLive(d.watermarkUpdated), {
    skip: !selectedId,
  });

  const rows = useMemo(() => {
    if (!platform) return [];
    const merged = platform.watermarks.map((w) => (clusterLive && w.cluster.name === clusterLive.cluster.name ? fresher(w, clusterLive)! : w));
    return sortClustersByRisk(merged, platform.clustersAtRisk);
  }, [platform, clusterLive]);
  const riskByCluster = useMemo(() => {
    const m = new Map<string, ClusterRisk>();
    for (const r of platform?.clustersAtRisk ?? []) if (!m.has(r.cluster.name)) m.set(r.cluster.name, r);
    return m;
  }, [platform]);
  const counts = useMemo(() => statusCounts(rows), [rows]);
  const selectedRow = rows.find((r) => r.cluster.name === selected);

  useEffect(() => {
    if (scrollOnSelect && selected && detailRef.current) {
      detailRef.current.scrollIntoView({ behavior: 'smooth', block: 'start' });
      setScrollOnSelect(false);
    }
  }, [scrollOnSelect, selected]);

  return (
    <div className="page" data-testid="watermarks-page">
      <div className="page-head page-head-row">
        <div>
          <h1 className="page-title">Watermarks</h1>
          <div className="page-sub">How full every cluster is in every resource, against its kind's threshold, and when it will cross it.</div>
        </div>
        <LiveBadge info={pulseInfo} lastAt={pulse?.at ?? null} testId="pulse-badge" />
      </div>

      {error && <ErrorPanel error={error} onRetry={refetch} />}
      {!platform && loading && <Loading what="Loading water levels" />}

      {platform && (
        <>
          <div className="stat-strip" data-testid="watermark-summary">
            <Stat label="Clusters" value={formatNumber(rows.length)} />
            <Stat label="OK" value={<span className="tone-good-text">{formatNumber(counts.OK)}</span>} />
            <Stat label="Warning" value={<span className="tone-warn-text">{formatNumber(counts.WARN)}</span>} sub="85–100% of threshold" />
            <Stat label="Critical" value={<span className="tone-bad-text">{formatNumber(counts.CRITICAL)}</span>} sub="over threshold" />
            <Stat label="At risk (14 d)" value={formatNumber(riskByCluster.size)} />
            {DIMENSIONS.slice(0, 5).map((d) => {
              const l = levelFor(platform.levels, d);
              return (
                <Stat
                  key={d}
                  label={DIMENSION_LABEL[d]}
                  value={<span style={{ color: l && l.status !== 'OK' ? STATUS_COLOR[l.status] : undefined }}>{l ? formatUtil(l.utilization) : '—'}</span>}
                  sub={l ? <span className="stat-ellipsis" title={formatUsedOf(l.used, l.capacity, l.unit)}>platform · {formatUsedOf(l.used, l.capacity, l.unit)}</span> : undefined}
                />
              );
            })}
          </div>

          <Panel
            title={
              <>
                Clusters at risk <span className="count">{formatNumber(platform.clustersAtRisk.length)}</span>
                <span className="muted small">over a threshold now, or forecast to cross one within 14 days — soonest first</span>
              </>
            }
          >
            <RiskList risks={platform.clustersAtRisk} onSelect={select} />
          </Panel>

          <Thresholds />

          <Panel
            title={
              <>
                Water levels now <span className="count">{formatNumber(rows.length)} clusters</span>
              </>
            }
            actions={<HeatLegend />}
          >
            <div className="table-wrap">
              <table className="table heat-table" data-testid="heat-table">
                <thead>
                  <tr>
                    <th>Cluster</th>
                    <th>Kind</th>
                    <th>Worst</th>
                    {DIMENSIONS.map((d) => (
                      <th key={d} className="num heat-head">
                        {DIMENSION_LABEL[d]}
                      </th>
                    ))}
                    <th className="num">Hosts</th>
                    <th>Forecast</th>
                  </tr>
                </thead>
                <tbody>
                  {rows.map((r) => {
                    const risk = riskByCluster.get(r.cluster.name);
                    const hosts = Math.max(0, ...r.levels.map((l) => l.hosts));
                    return (
                      <tr
                        key={r.cluster.name}
                        className={`heat-row${r.cluster.name === selected ? ' selected' : ''}`}
                        onClick={() => select(r.cluster.name)}
                        data-testid="heat-row"
                        data-cluster={r.cluster.name}
                      >
                        <td className="name-cell">
                          <button type="button" className="linklike" onClick={(e) => (e.stopPropagation(), select(r.cluster.name))} data-testid="heat-cluster">
                            {r.cluster.name}
                          </button>
                        </td>
                        <td>
                          <Badge tone="muted">{humanizeEnum(r.cluster.kind)}</Badge>
                        </td>
                        <td className="nowrap">
                          {r.worst ? (
                            <Badge tone={STATUS_TONE[r.worst.status]} title={STATUS_LABEL[r.worst.status]}>
                              {DIMENSION_LABEL[r.worst.dimension] ?? r.worst.dimension} {formatUtil(r.worst.utilization)}
                            </Badge>
                          ) : (
                            <span className="muted">—</span>
                          )}
                        </td>
                        {DIMENSIONS.map((d) => (
                          <HeatCell key={d} dimension={d} level={levelFor(r.levels, d)} />
                        ))}
                        <td className="num">{formatNumber(hosts)}</td>
                        <td className="nowrap small">
                          {risk ? (
                            <span className={risk.daysToThreshold !== null && risk.daysToThreshold <= 0 ? 'tone-bad-text strong' : 'tone-warn-text strong'}>
                              {DIMENSION_LABEL[risk.dimension]} {risk.daysToThreshold !== null && risk.daysToThreshold <= 0 ? 'over now' : formatDaysTo(risk.daysToThreshold)}
                            </span>
                          ) : (
                            <span className="muted">—</span>
                          )}
                        </td>
                      </tr>
                    );
                  })}
                  {!rows.length && (
                    <tr>
                      <td colSpan={DIMENSIONS.length + 5} className="empty">
                        No water levels yet: the rollup has not run, or no host has reported.
                      </td>
                    </tr>
                  )}
                </tbody>
              </table>
            </div>
            {!selected && rows.length > 0 && <div className="hint">Click a cluster to see its water levels over time and its forecast.</div>}
          </Panel>
        </>
      )}

      <div ref={detailRef} className="detail-anchor">
        {selected && (
          <ClusterDetail
            key={selected}
            name={selected}
            row={selectedRow}
            dim={dim}
            range={range}
            onDim={(d) => setParams({ dim: d === 'ALL' ? null : d })}
            onRange={(r) => setParams(rangeToParams(r, '7d'))}
            onClose={() => setParams({ cluster: null, dim: null })}
            clusterNames={rows.map((r) => r.cluster.name)}
            onSelect={select}
            live={selectedId ? <LiveBadge info={clusterInfo} lastAt={newestLevelTs(selectedRow)} testId="cluster-live-badge" /> : null}
          />
        )}
      </div>
    </div>
  );
}
