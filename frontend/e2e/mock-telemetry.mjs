// mock-telemetry.mjs — the telemetry half of the mock server's demo data:
// water levels with diurnal shapes and trends, forecasts (Theil–Sen on daily
// peaks) with a projection and band, clusters at risk, host metric series,
// machine analysis, scheduler jobs, and a ticking fleet whose hosts fall sick
// and heal. Everything is a deterministic function of time plus a small amount
// of state, so the same request twice gives the same series and the levels
// move smoothly from one pulse to the next.

const DAY = 86400e3;
const HOUR = 3600e3;

export const DIMENSIONS = ['CPU', 'MEMORY', 'DISK_IO', 'NET_IN', 'NET_OUT', 'CONTAINERS', 'QUEUE_SLOTS'];
const KIND_THRESHOLD = { STREAMING: 0.7, BATCH: 0.9, ONLINE: 0.65 };
const KIND_PEAK_HOUR = { STREAMING: 20, BATCH: 2, ONLINE: 14 }; // UTC hour of the daily peak
const DIM_LABEL = { CPU: 'CPU', MEMORY: 'memory', DISK_IO: 'disk IO', NET_IN: 'network in', NET_OUT: 'network out', CONTAINERS: 'containers', QUEUE_SLOTS: 'queue slots' };

/** A stable pseudo-random number in [0, 1) for a string. */
export function hash01(s) {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  h ^= h >>> 13;
  h = Math.imul(h, 0x5bd1e995);
  h ^= h >>> 15;
  return (h >>> 0) / 4294967296;
}

const clamp = (v, lo, hi) => Math.max(lo, Math.min(hi, v));
const iso = (ms) => new Date(ms).toISOString();
const median = (xs) => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const quantile = (xs, q) => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};

/** Go's time.Duration.String() for whole seconds: 60 → "1m0s", 86400 → "24h0m0s". */
export function goDuration(seconds) {
  const s = Math.round(seconds);
  if (s === 0) return '0s';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (h) return `${h}h${m}m${sec}s`;
  if (m) return `${m}m${sec}s`;
  return `${sec}s`;
}

function parseGoDuration(text, fallbackSeconds) {
  if (typeof text !== 'string') return fallbackSeconds;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  let total = 0;
  let any = false;
  for (const m of text.matchAll(re)) {
    any = true;
    total += Number(m[1]) * { ms: 0.001, s: 1, m: 60, h: 3600 }[m[2]];
  }
  return any ? total : fallbackSeconds;
}

/** The smallest "nice" step (seconds) that keeps (to - from) / step within maxPoints. */
function pickStep(fromMs, toMs, maxPoints, steps) {
  const span = (toMs - fromMs) / 1000;
  for (const s of steps) if (span / s <= maxPoints) return s;
  return steps[steps.length - 1];
}
const SERIES_STEPS = [60, 300, 900, 1800, 3600, 10800, 21600, 43200, 86400];

// Hand-tuned profiles that make a realistic mix: one streaming cluster rising
// towards its threshold, one over it on network, a batch cluster full on memory.
const OVERRIDES = {
  'rt-bj-01': { CPU: { base: 0.5, amp: 0.12, trend: 0.0042 }, MEMORY: { base: 0.55, amp: 0.05, trend: 0.001 } },
  'rt-sh-02': { NET_IN: { base: 0.66, amp: 0.09, trend: 0.0015 } },
  'batch-sh-01': { CPU: { base: 0.7, amp: 0.1, trend: 0.008 }, CONTAINERS: { base: 0.74, amp: 0.08, trend: 0.002 } },
  'batch-gz-02': { MEMORY: { base: 0.9, amp: 0.04, trend: 0.0008 } },
  'online-bj-01': { CPU: { base: 0.33, amp: 0.14, trend: 0.0 } },
  'rt-gz-03': { CONTAINERS: { base: 0.56, amp: 0.08, trend: 0.012 } },
  'ml-train-01': { QUEUE_SLOTS: { base: 0.78, amp: 0.05, trend: 0.004 }, CPU: { base: 0.75, amp: 0.06, trend: 0.001 } },
};

export function createTelemetry({ clusters, allHosts, stacks, rnd }) {
  const dayStart = () => Math.floor(Date.now() / DAY) * DAY;

  function profile(c, dim) {
    const o = OVERRIDES[c.name]?.[dim];
    const k = `${c.name}:${dim}`;
    const base = o?.base ?? 0.18 + 0.34 * hash01(`${k}:base`);
    const amp = o?.amp ?? 0.04 + 0.1 * hash01(`${k}:amp`);
    const trend = o?.trend ?? (hash01(`${k}:trend`) - 0.6) * 0.003;
    return { base, amp, trend, noise: 0.015 + 0.02 * hash01(`${k}:noise`), peak: KIND_PEAK_HOUR[c.kind] + (dim === 'NET_OUT' ? 1 : 0) };
  }
  const profiles = new Map();
  const prof = (c, dim) => {
    const k = `${c.name}:${dim}`;
    if (!profiles.has(k)) profiles.set(k, profile(c, dim));
    return profiles.get(k);
  };

  /** Cluster utilisation (0..1) of a dimension at time t: base + trend + diurnal wave + noise. */
  function utilAt(c, dim, t) {
    const p = prof(c, dim);
    const days = (t - dayStart()) / DAY;
    const hour = (t % DAY) / HOUR;
    const diurnal = Math.cos((2 * Math.PI * (hour - p.peak)) / 24);
    const weekly = new Date(t).getUTCDay() % 6 === 0 && c.kind === 'ONLINE' ? -0.05 : 0;
    const bucket = Math.floor(t / 300e3);
    const noise = (hash01(`${c.name}:${dim}:${bucket}`) - 0.5) * 2 * p.noise;
    return clamp(p.base + p.trend * days + p.amp * diurnal + weekly + noise, 0.01, 0.995);
  }

  const threshold = (c) => KIND_THRESHOLD[c.kind] ?? 0.8;
  const reporting = (c) => c._hosts.filter((h) => h.state === 'ONLINE' || h.state === 'DEGRADED');
  const live = (c) => c._hosts.filter((h) => h.state !== 'DECOMMISSIONED');

  function unitCapacity(c, dim) {
    const n = live(c).length;
    const cap = c.capacity;
    switch (dim) {
      case 'CPU':
        return ['cores', cap.cpuCores];
      case 'MEMORY':
        return ['bytes', cap.memoryBytes];
      case 'DISK_IO':
        return ['percent', n * 100];
      case 'NET_IN':
      case 'NET_OUT':
        return ['bits/s', cap.nicBitsPerSecond];
      case 'CONTAINERS':
        return ['containers', n * 40];
      default:
        return ['slots', n * 16];
    }
  }

  function status(u, thr) {
    if (u > thr) return 'CRITICAL';
    if (u >= thr * 0.85) return 'WARN';
    return 'OK';
  }

  function level(c, dim, t = Date.now()) {
    const u = utilAt(c, dim, t);
    const [unit, capacity] = unitCapacity(c, dim);
    const thr = threshold(c);
    const p95 = clamp(u + 0.08 + 0.04 * hash01(`${c.name}:${dim}:p95`), 0, 1);
    return {
      dimension: dim,
      unit,
      ts: iso(Math.floor(t / 60e3) * 60e3),
      used: u * capacity,
      capacity,
      utilization: u,
      p95,
      max: clamp(p95 + 0.08, 0, 1),
      hosts: reporting(c).length,
      threshold: thr,
      status: status(u, thr),
    };
  }

  const dimsOf = (dimensions) => (dimensions?.length ? DIMENSIONS.filter((d) => dimensions.includes(d)) : DIMENSIONS);

  function clusterWatermark(c) {
    const levels = DIMENSIONS.map((d) => level(c, d));
    const worst = levels.reduce((a, l) => (l.utilization / l.threshold > a.utilization / a.threshold ? l : a), levels[0]);
    return { cluster: c, levels, worst };
  }

  function series(c, { dimensions, from, to, step, maxPoints = 500 } = {}, isPlatform = false) {
    const now = Date.now();
    const toMs = Math.min(to ? new Date(to).getTime() : now, now);
    const fromMs = Math.max(from ? new Date(from).getTime() : toMs - DAY, now - 90 * DAY);
    const asked = step ? parseGoDuration(step, 60) : 60;
    const stepS = Math.max(asked, pickStep(fromMs, toMs, Math.max(1, Math.min(maxPoints ?? 500, 5000)), SERIES_STEPS));
    const stepMs = stepS * 1000;
    const start = Math.ceil(fromMs / stepMs) * stepMs;
    return dimsOf(dimensions).map((dim) => {
      const [unit] = isPlatform ? ['ratio'] : unitCapacity(c, dim);
      const points = [];
      for (let t = start; t <= toMs; t += stepMs) {
        // the step's average (sampled at its middle), and the spread of hosts around it
        const u = isPlatform ? platformUtil(dim, t + stepMs / 2) : utilAt(c, dim, Math.min(now, t + stepMs / 2));
        const [, capacity] = isPlatform ? [null, 1] : unitCapacity(c, dim);
        const p95 = clamp(u + 0.07 + 0.03 * hash01(`${dim}:${t}:p`), 0, 1);
        points.push({ ts: iso(t), used: u * capacity, capacity, utilization: u, p95, max: clamp(p95 + 0.06 + 0.05 * hash01(`${dim}:${t}:m`), 0, 1), hosts: isPlatform ? allHosts.length : reporting(c).length });
      }
      return { dimension: dim, unit, step: goDuration(stepS), threshold: isPlatform ? 0.8 : threshold(c), points };
    });
  }

  // ---- forecasts: Theil–Sen on the last 30 daily peaks ---------------------------
  const forecastCache = new Map(); // key → {minute, value}
  function forecast(c, dim) {
    const minute = Math.floor(Date.now() / 60e3);
    const key = `${c.name}:${dim}`;
    const hit = forecastCache.get(key);
    if (hit && hit.minute === minute) return hit.value;
    const now = Date.now();
    const today = dayStart();
    const xs = [];
    const ys = [];
    for (let d = -29; d <= 0; d++) {
      let peak = 0;
      for (let h = 0; h < 24; h++) {
        const t = today + d * DAY + h * HOUR;
        if (t > now) break;
        peak = Math.max(peak, utilAt(c, dim, t));
      }
      if (peak > 0) {
        xs.push(d);
        ys.push(peak);
      }
    }
    const slopes = [];
    for (let i = 0; i < xs.length; i++) for (let j = i + 1; j < xs.length; j++) slopes.push((ys[j] - ys[i]) / (xs[j] - xs[i]));
    const slope = median(slopes) ?? 0;
    const intercept = median(ys.map((y, i) => y - slope * xs[i])) ?? ys.at(-1) ?? 0;
    const resid = ys.map((y, i) => y - (intercept + slope * xs[i]));
    const sigma = Math.max(0.012, Math.sqrt(resid.reduce((a, r) => a + r * r, 0) / Math.max(1, resid.length - 2)) || 0);
    const thr = threshold(c);
    const fitNow = intercept; // x = 0 is today
    const currentPeak = ys.at(-1) ?? null;
    const bandAt = (d) => 1.64 * sigma * Math.sqrt(1 + d / 3);

    let crossesAt = null;
    let earliest = null;
    let latest = null;
    let horizon = 14;
    if (slope > 0.0004 && fitNow < thr) {
      const days = (thr - fitNow) / slope;
      if (days <= 120) {
        crossesAt = now + days * DAY;
        // earliest: when the band's top reaches the threshold; latest: when its bottom does
        let e = null;
        let l = null;
        for (let d = 0; d <= 180; d += 0.25) {
          const v = fitNow + slope * d;
          if (e === null && v + bandAt(d) >= thr) e = d;
          if (l === null && v - bandAt(d) >= thr) l = d;
          if (e !== null && l !== null) break;
        }
        earliest = e !== null ? now + Math.min(e, days) * DAY : null;
        latest = l !== null ? now + Math.max(l, days) * DAY : null;
        horizon = clamp(Math.ceil(days) + 4, 14, 45);
      }
    }
    const projection = [];
    for (let d = 0; d <= horizon; d++) {
      const v = fitNow + slope * d;
      const b = bandAt(d);
      projection.push({ ts: iso(now + d * DAY), value: clamp(v, 0, 1.2), low: clamp(v - b, 0, 1.2), high: clamp(v + b, 0, 1.2) });
    }
    const value = {
      dimension: dim,
      method: 'Theil–Sen on daily peaks',
      threshold: thr,
      daysOfHistory: xs.length,
      currentPeak,
      slopePerDay: slope,
      crossesAt: crossesAt === null ? null : iso(crossesAt),
      crossesAtEarliest: earliest === null ? null : iso(earliest),
      crossesAtLatest: latest === null ? null : iso(latest),
      projection,
      computedAt: iso(minute * 60e3),
    };
    forecastCache.set(key, { minute, value });
    return value;
  }

  function clustersAtRisk({ horizonDays = 14 } = {}) {
    const out = [];
    for (const c of clusters) {
      for (const dim of DIMENSIONS) {
        const l = level(c, dim);
        if (l.utilization > l.threshold) {
          out.push({
            cluster: c,
            dimension: dim,
            utilization: l.utilization,
            threshold: l.threshold,
            crossesAt: null,
            daysToThreshold: 0,
            reason: `${DIM_LABEL[dim]} at ${Math.round(l.utilization * 100)}%, over the ${Math.round(l.threshold * 100)}% threshold for ${c.kind.toLowerCase()} clusters`,
          });
          continue;
        }
        const f = forecast(c, dim);
        if (!f.crossesAt) continue;
        const days = (new Date(f.crossesAt).getTime() - Date.now()) / DAY;
        if (days > horizonDays) continue;
        out.push({
          cluster: c,
          dimension: dim,
          utilization: l.utilization,
          threshold: l.threshold,
          crossesAt: f.crossesAt,
          daysToThreshold: Math.max(0, days),
          reason: `${DIM_LABEL[dim]} daily peak ${Math.round((f.currentPeak ?? 0) * 100)}%, rising ${(f.slopePerDay * 100).toFixed(2)} pt/day`,
        });
      }
    }
    return out.sort((a, b) => a.daysToThreshold - b.daysToThreshold || b.utilization / b.threshold - a.utilization / a.threshold);
  }

  function platformUtil(dim, t) {
    let used = 0;
    let cap = 0;
    for (const c of clusters) {
      const [, capacity] = unitCapacity(c, dim);
      used += utilAt(c, dim, t) * capacity;
      cap += capacity;
    }
    return cap ? used / cap : 0;
  }

  function platformLevels({ dimensions } = {}) {
    return dimsOf(dimensions).map((dim) => {
      let used = 0;
      let capacity = 0;
      let thrW = 0;
      let hosts = 0;
      let unit = '';
      for (const c of clusters) {
        const l = level(c, dim);
        used += l.used;
        capacity += l.capacity;
        thrW += l.threshold * l.capacity;
        hosts += l.hosts;
        unit = l.unit;
      }
      const u = capacity ? used / capacity : 0;
      const thr = capacity ? thrW / capacity : 0.8;
      return { dimension: dim, unit, ts: iso(Math.floor(Date.now() / 60e3) * 60e3), used, capacity, utilization: u, p95: clamp(u + 0.1, 0, 1), max: clamp(u + 0.2, 0, 1), hosts, threshold: thr, status: status(u, thr) };
    });
  }

  // ---- hosts -----------------------------------------------------------------------
  const reportsAt = (h, t) => {
    if (h.state === 'ONLINE' || h.state === 'DEGRADED') return true;
    return t < new Date(h.stateChangedAt).getTime();
  };
  const hostOffset = (h, dim) => (hash01(`${h.hostname}:${dim}:off`) - 0.5) * 0.3 + (hash01(`${h.hostname}:hot`) > 0.93 && dim === 'CPU' ? 0.28 : 0) + (h.state === 'DEGRADED' && dim === 'DISK_IO' ? 0.25 : 0);
  function hostUtil(h, dim, t) {
    const noise = (hash01(`${h.hostname}:${dim}:${Math.floor(t / 60e3)}`) - 0.5) * 0.08;
    return clamp(utilAt(h.cluster, dim, t) + hostOffset(h, dim) + noise, 0, 1);
  }
  function hostSample(h, t) {
    return {
      cpuPercent: hostUtil(h, 'CPU', t) * 100,
      memoryPercent: hostUtil(h, 'MEMORY', t) * 100,
      diskIoPercent: hostUtil(h, 'DISK_IO', t) * 100,
      netInBitsPerSecond: hostUtil(h, 'NET_IN', t) * h.nicBitsPerSecond,
      netOutBitsPerSecond: hostUtil(h, 'NET_OUT', t) * h.nicBitsPerSecond,
      containers: Math.round(hostUtil(h, 'CONTAINERS', t) * 40),
    };
  }
  function latestMetrics(h) {
    const t = Math.floor(Date.now() / 15e3) * 15e3;
    if (!reportsAt(h, t)) return null;
    return { ts: iso(t), ...hostSample(h, t) };
  }
  const HOST_STEPS = [60, 300, 900, 1800, 3600, 10800, 21600, 86400];
  function hostMetrics(h, { from, to, step, maxPoints = 500 } = {}) {
    const now = Date.now();
    const toMs = Math.min(to ? new Date(to).getTime() : now, now);
    const fromMs = Math.max(from ? new Date(from).getTime() : toMs - 6 * HOUR, now - 30 * DAY);
    const stepS = Math.max(step ? parseGoDuration(step, 60) : 60, pickStep(fromMs, toMs, Math.max(1, Math.min(maxPoints ?? 500, 5000)), HOST_STEPS));
    const stepMs = stepS * 1000;
    const points = [];
    for (let t = Math.ceil(fromMs / stepMs) * stepMs; t <= toMs; t += stepMs) {
      const mid = Math.min(now, t + stepMs / 2);
      if (!reportsAt(h, mid)) {
        points.push({ ts: iso(t), cpuPercent: null, cpuPercentMax: null, memoryPercent: null, diskIoPercent: null, netInBitsPerSecond: null, netOutBitsPerSecond: null, containers: null, samples: 0 });
        continue;
      }
      const s = hostSample(h, mid);
      points.push({ ts: iso(t), ...s, cpuPercentMax: clamp(s.cpuPercent + 8 + 18 * hash01(`${h.hostname}:${t}:cmax`), 0, 100), samples: Math.max(1, Math.round(stepS / 15)) });
    }
    return { step: goDuration(stepS), points };
  }

  const COMPONENTS = {
    hdfs: ['DataNode'],
    yarn: ['NodeManager'],
    flink: ['TaskManager'],
    zookeeper: ['ZooKeeperServer'],
    hive: ['HiveServer2'],
    spark: ['SparkHistoryServer'],
  };
  const SOLO = new Set(['ZooKeeperServer', 'HiveServer2', 'SparkHistoryServer']);
  function components(h) {
    const idx = h.cluster._hosts.indexOf(h);
    const pkgs = h.cluster.stackVersion?.packages ?? [
      { service: 'nginx', version: '1.24.0' },
      { service: 'app-server', version: '7.3.1' },
    ];
    const list = [];
    for (const p of pkgs) {
      for (const comp of COMPONENTS[p.service] ?? [p.service === 'nginx' ? 'Nginx' : 'AppServer']) {
        if (SOLO.has(comp) && idx > 2) continue;
        list.push({ service: p.service, component: comp, version: p.version });
      }
    }
    list.push({ service: 'node_exporter', component: 'NodeExporter', version: '1.8.2' });
    const broken = Math.floor(hash01(`${h.hostname}:broken`) * list.length);
    return list.map((c, i) => {
      let desired = 'STARTED';
      let actual = 'STARTED';
      if (h.state === 'MAINTENANCE' || h.state === 'DECOMMISSIONED') desired = actual = 'STOPPED';
      else if (h.state === 'REPAIRING') (desired = 'STOPPED'), (actual = 'UNKNOWN');
      else if (h.state === 'OFFLINE') actual = 'UNKNOWN';
      else if (h.state === 'DEGRADED' && i === broken) actual = hash01(h.hostname) > 0.5 ? 'CRASHED' : 'STOPPED';
      return { ...c, desiredState: desired, actualState: actual, updatedAt: i === broken && h.state !== 'ONLINE' ? h.stateChangedAt : iso(Date.now() - (2 + hash01(`${h.hostname}:${i}`) * 40) * DAY) };
    });
  }

  function scrape(h) {
    if (hash01(`${h.hostname}:push`) < 0.25) return null;
    const now = Date.now();
    const url = `http://${h.ip}:9100/metrics`;
    if (h.state === 'OFFLINE' || h.state === 'REPAIRING') {
      const failures = 3 + Math.floor(hash01(`${h.hostname}:fails`) * 20);
      return { url, state: 'FAILING', failures, lastAttemptAt: iso(now - 20e3), lastSuccessAt: h.stateChangedAt, lastError: `Get "${url}": dial tcp ${h.ip}:9100: connect: connection refused`, nextAttemptAt: iso(now + Math.min(300, 2 ** Math.min(failures, 8)) * 1000) };
    }
    if (h.state === 'DECOMMISSIONED' || h.state === 'MAINTENANCE') return { url, state: 'PENDING', failures: 0, lastAttemptAt: null, lastSuccessAt: h.stateChangedAt, lastError: '', nextAttemptAt: iso(now + 60e3) };
    return { url, state: 'UP', failures: 0, lastAttemptAt: iso(now - 7e3), lastSuccessAt: iso(now - 7e3), lastError: '', nextAttemptAt: iso(now + 8e3) };
  }

  const PEER_DIMS = ['CPU', 'MEMORY', 'DISK_IO', 'NET_IN', 'NET_OUT', 'CONTAINERS'];
  const scale = (h, dim) => (dim === 'NET_IN' || dim === 'NET_OUT' ? h.nicBitsPerSecond : dim === 'CONTAINERS' ? 40 : 100);
  function peerStats(h, dim, windowS) {
    const now = Date.now();
    const hours = clamp(Math.round(windowS / 3600), 1, 24 * 7);
    const times = Array.from({ length: hours }, (_, i) => now - i * HOUR);
    const stat = (x) => {
      const vals = times.filter((t) => reportsAt(x, t)).map((t) => hostUtil(x, dim, t) * scale(x, dim));
      return vals.length ? { avg: vals.reduce((a, b) => a + b, 0) / vals.length, p95: quantile(vals, 0.95) } : null;
    };
    const mine = stat(h);
    const peers = h.cluster._hosts.filter((x) => x !== h && (x.state === 'ONLINE' || x.state === 'DEGRADED')).slice(0, 60).map(stat).filter(Boolean);
    const avgs = peers.map((p) => p.avg);
    const rank = mine && avgs.length ? avgs.filter((a) => a < mine.avg).length / avgs.length : null;
    const label = { CPU: 'CPU', MEMORY: 'memory', DISK_IO: 'disk IO', NET_IN: 'network in', NET_OUT: 'network out', CONTAINERS: 'containers' }[dim];
    const verdict = rank === null ? 'no data' : rank >= 0.95 ? `hot: ${label} busier than ${Math.round(rank * 100)}% of peers` : rank >= 0.8 ? `busy: above ${Math.round(rank * 100)}% of peers` : rank <= 0.05 ? `idle: ${label} quieter than ${Math.round((1 - rank) * 100)}% of peers` : 'typical';
    return { dimension: dim, hostAverage: mine?.avg ?? null, hostP95: mine?.p95 ?? null, peerMedian: median(avgs), peerP95: quantile(peers.map((p) => p.p95), 0.95), percentileRank: rank, verdict };
  }

  function analysis(h, { window } = {}) {
    const windowS = parseGoDuration(window, 86400);
    const comps = components(h);
    const unhealthy = comps.filter((c) => c.desiredState !== c.actualState);
    const peers = PEER_DIMS.map((d) => peerStats(h, d, windowS));
    const sc = scrape(h);
    const findings = [];
    if (h.state === 'OFFLINE') findings.push(`No heartbeat since ${h.lastHeartbeat ? h.lastHeartbeat.slice(0, 16).replace('T', ' ') + ' UTC' : 'ever'}: ${h.stateReason || 'host unreachable'}.`);
    for (const c of unhealthy) findings.push(`${c.service} ${c.component} is ${c.actualState} but should be ${c.desiredState}.`);
    if (sc?.state === 'FAILING') findings.push(`node_exporter scrape failing (${sc.failures} attempts in a row): ${sc.lastError}`);
    for (const p of peers) if (/^hot/.test(p.verdict)) findings.push(`${p.verdict.replace(/^hot: /, 'Hot: ')} (avg ${p.dimension === 'NET_IN' || p.dimension === 'NET_OUT' ? `${(p.hostAverage / 1e9).toFixed(1)} Gbit/s` : `${Math.round(p.hostAverage)}%`} vs peer median ${p.dimension === 'NET_IN' || p.dimension === 'NET_OUT' ? `${(p.peerMedian / 1e9).toFixed(1)} Gbit/s` : `${Math.round(p.peerMedian)}%`}).`);
    if (h.state === 'DEGRADED' && h.stateReason) findings.push(`Degraded: ${h.stateReason}.`);
    for (const p of peers) if (/^idle/.test(p.verdict)) findings.push(`Idle: ${p.verdict.replace(/^idle: /, '')} — a candidate for consolidation.`);
    if (hash01(`${h.hostname}:kernel`) > 0.8) findings.push(`Kernel ${h.kernel} is older than on most peers (5.14.0-427); schedule the kernel upgrade.`);
    return {
      window: goDuration(windowS),
      hardware: { model: h.model, cpuCores: h.cpuCores, memoryBytes: h.memoryBytes, diskBytes: h.diskBytes, nicBitsPerSecond: h.nicBitsPerSecond },
      os: h.os,
      kernel: h.kernel,
      components: comps,
      unhealthyComponents: unhealthy,
      peers,
      scrape: sc,
      // The real server ranks findings; the mock infers the severity from the words.
      findings: findings.map((text) => ({
        severity: /no heartbeat|should be|failing/i.test(text) ? 'PROBLEM' : /^idle/i.test(text) ? 'NOTE' : 'WARNING',
        text,
      })),
    };
  }

  // ---- scheduler -------------------------------------------------------------------
  const JOBS = [
    ['watermark-rollup', 'Rolls host samples up into per-cluster water levels (1m, 1h and 1d steps) for the minutes that changed.', 60, 50, 0],
    ['watermark-forecast', "Fits each cluster's daily peaks (Theil–Sen) and forecasts when every dimension crosses its threshold.", 3600, 300, 0],
    ['scrape-node-exporter', 'Polls the node_exporter endpoints that are due and turns counters into rates.', 15, 10, 0],
    ['host-heartbeat', 'Marks hosts that missed five heartbeats OFFLINE and publishes their state change.', 30, 20, 0],
    ['anomaly-detect', 'Scores the last hour of host metrics against each host’s own history and its peers.', 300, 120, 0.25],
    ['health-scores', 'Computes health scores for jobs, people and BUs with the reasons behind them.', 900, 300, 1],
    ['leaderboards', 'Builds the red and black lists at job, person and BU level.', 86400, 1800, 0],
    ['metric-retention', 'Drops host_metric partitions older than the retention (30 days).', 86400, 600, 0],
  ];
  const ERRORS = {
    'health-scores': 'compute BU scores: context deadline exceeded (timeout 5m0s)',
    'anomaly-detect': 'load baselines: ERROR: canceling statement due to statement timeout (SQLSTATE 57014)',
  };
  function runsOf(name, intervalS, timeoutS, failRate, first = 10) {
    const now = Date.now();
    const intervalMs = intervalS * 1000;
    const out = [];
    const lastStart = Math.floor(now / intervalMs) * intervalMs;
    for (let k = 0; k < first; k++) {
      const start = Math.min(now, lastStart - k * intervalMs + Math.floor(hash01(`${name}:${k}:j`) * 800));
      const durS = Math.min(timeoutS, intervalS * (0.02 + 0.25 * hash01(`${name}:${start}:d`)) + 0.05);
      const running = start + durS * 1000 > now;
      const fails = name === 'health-scores' ? k < 3 : failRate > 0 && hash01(`${name}:${start}:f`) < failRate && k > 0;
      const seq = Math.floor(start / intervalMs);
      out.push({
        id: Buffer.from(`SchedulerRun:${name}:${seq}`).toString('base64'),
        job: name,
        replica: hash01(`${name}:${seq}:r`) > 0.5 ? 'tesla-1' : 'tesla-0',
        startedAt: iso(start),
        finishedAt: running ? null : iso(start + durS * 1000),
        duration: running ? null : `${durS.toFixed(3)}s`,
        rows: running || fails ? 0 : Math.round(50 + hash01(`${name}:${start}:rows`) * 5000),
        error: fails && !running ? ERRORS[name] ?? 'unexpected error' : '',
      });
    }
    return out;
  }
  function schedulerJobs() {
    return JOBS.map(([name, description, intervalS, timeoutS, failRate]) => {
      const recent = runsOf(name, intervalS, timeoutS, failRate, 40);
      return {
        name,
        description,
        interval: goDuration(intervalS),
        timeout: goDuration(timeoutS),
        lastRun: recent[0] ?? null,
        lastSuccess: recent.find((r) => r.finishedAt && !r.error) ?? null,
        runs: ({ first = 10 } = {}) => recent.slice(0, Math.max(0, Math.min(first ?? 10, 40))),
      };
    });
  }

  // ---- the ticking fleet -------------------------------------------------------------
  const SICK = [
    ['DEGRADED', 'disk /data3 SMART warnings'],
    ['DEGRADED', 'NodeManager restarting repeatedly'],
    ['DEGRADED', 'packet loss 3% on bond0'],
    ['OFFLINE', 'missed 5 heartbeats'],
    ['OFFLINE', 'kernel panic, host unreachable'],
    ['REPAIRING', 'DIMM replacement ticket #4411'],
    ['REPAIRING', 'PSU failure, vendor dispatched'],
  ];
  function tick() {
    const now = Date.now();
    for (const h of allHosts) {
      if (h.state === 'ONLINE' || h.state === 'DEGRADED') h.lastHeartbeat = iso(now - Math.floor(rnd() * 15e3));
    }
    const sickNow = allHosts.filter((h) => h.state === 'DEGRADED' || h.state === 'OFFLINE' || h.state === 'REPAIRING').length;
    if (rnd() < 0.5) {
      const online = allHosts.filter((h) => h.state === 'ONLINE');
      const h = online[Math.floor(rnd() * online.length)];
      if (h) {
        const [state, reason] = SICK[Math.floor(rnd() * SICK.length)];
        h.state = state;
        h.stateReason = reason;
        h.stateChangedAt = iso(now);
        if (state === 'OFFLINE' || state === 'REPAIRING') h.lastHeartbeat = iso(now - 60e3);
      }
    }
    // Healing keeps pace with falling sick, so the fleet hovers around 40 sick hosts.
    if (rnd() < Math.min(0.95, sickNow / 80)) {
      const sick = allHosts.filter((h) => h.state === 'DEGRADED' || h.state === 'OFFLINE' || h.state === 'REPAIRING');
      const h = sick.sort((a, b) => a.stateChangedAt.localeCompare(b.stateChangedAt))[0];
      if (h) {
        h.state = 'ONLINE';
        h.stateReason = '';
        h.stateChangedAt = iso(now);
        h.lastHeartbeat = iso(now);
      }
    }
  }

  function recentSickHosts({ first = 20 } = {}) {
    return allHosts
      .filter((h) => h.state === 'DEGRADED' || h.state === 'OFFLINE' || h.state === 'REPAIRING')
      .sort((a, b) => b.stateChangedAt.localeCompare(a.stateChangedAt))
      .slice(0, Math.max(0, Math.min(first ?? 20, 100)));
  }

  function platformFields() {
    return {
      watermarks: ({ dimensions } = {}) =>
        clusters
          .map((c) => {
            const w = clusterWatermark(c);
            return dimensions?.length ? { ...w, levels: w.levels.filter((l) => dimensions.includes(l.dimension)) } : w;
          })
          .sort((a, b) => b.worst.utilization / b.worst.threshold - a.worst.utilization / a.worst.threshold),
      levels: platformLevels,
      watermarkSeries: (args) => series(null, args, true),
      clustersAtRisk,
      recentSickHosts,
    };
  }

  function decorate() {
    for (const c of clusters) {
      c.watermarkThreshold = threshold(c);
      c.watermarks = (args) => series(c, args);
      c.watermarkNow = ({ dimensions } = {}) => dimsOf(dimensions).map((d) => level(c, d));
      c.forecast = ({ dimensions } = {}) => dimsOf(dimensions).map((d) => forecast(c, d));
    }
    for (const h of allHosts) {
      h.latestMetrics = () => latestMetrics(h);
      h.metrics = (args) => hostMetrics(h, args);
      h.analysis = (args) => analysis(h, args);
      h.components = () => components(h);
    }
  }

  return { decorate, tick, clusterWatermark, platformFields, schedulerJobs, DIMENSIONS };
}
