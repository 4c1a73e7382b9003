#!/usr/bin/env node
// mock-server.mjs — a stand-in for the Go server, for frontend work without the
// backend. It serves frontend/dist exactly as the Go server is meant to
// (/graphiql → graphiql.html, static files, SPA fallback to index.html for other
// paths) and mocks the API:
//   /api/v1/session  GET/POST/DELETE with tesla_session (HttpOnly) + tesla_csrf cookies
//   /query           GraphQL over HTTP via graphql-http, executing the REAL schema
//                    (graph/schema/*.graphqls) against generated demo data, so a
//                    query that does not match the schema fails here too; and
//                    GraphQL over websocket (graphql-transport-ws, graphql-ws)
//                    for the subscriptions platformPulse, watermarkUpdated and
//                    hostStateChanged.
// Auth on /query: the session cookie plus a matching X-CSRF-Token header, or
// Authorization: Bearer <token>. Otherwise 401 with code UNAUTHENTICATED. The
// websocket accepts the session cookie of its upgrade request (an unknown
// session cookie is refused with HTTP 401, like the Go server) or a token in
// the connection_init payload ({"Authorization": "Bearer …"} or {"authToken": …}).
//
// Telemetry (water levels, forecasts, host metrics, machine analysis, scheduler)
// comes from e2e/mock-telemetry.mjs. Every MOCK_PULSE_MS the fleet ticks (hosts
// fall sick and heal), then a platformPulse and a watermarkUpdated per cluster
// are published.
//
// Usage: npm run build && node e2e/mock-server.mjs [--port 8089]
//   env MOCK_TOKEN       API token (default tsl_mock_admin)
//       MOCK_SCHEMA_DIR  schema folder (default ../graph/schema)
//       MOCK_PULSE_MS    pulse interval (default 5000)
//       MOCK_STATE_FILE  where sessions are kept across restarts (default: memory
//                        only) — the mock's "database", so a restarted mock on the
//                        same state file still knows the browser's session
// Prints "mock listening on http://127.0.0.1:PORT" once ready. SIGTERM/SIGINT
// drop every connection at once (like a dying server) and exit 0.

import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, statSync, existsSync, writeFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSchema, GraphQLError } from 'graphql';
import { createHandler } from 'graphql-http/lib/use/http';
import { WebSocketServer } from 'ws';
import { useServer } from 'graphql-ws/lib/use/ws';
import { createTelemetry } from './mock-telemetry.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const dist = path.join(root, 'dist');
const schemaDir = process.env.MOCK_SCHEMA_DIR ?? path.resolve(root, '..', 'graph', 'schema');
const TOKEN = process.env.MOCK_TOKEN ?? 'tsl_mock_admin';
const portArg = process.argv.indexOf('--port');
const PORT = Number(portArg > 0 ? process.argv[portArg + 1] : process.env.PORT ?? 8089);
const PULSE_MS = Math.max(200, Number(process.env.MOCK_PULSE_MS ?? 5000));
const STATE_FILE = process.env.MOCK_STATE_FILE ?? '';

// ---- demo data ---------------------------------------------------------------
const GiB = 1024 ** 3;
const TiB = 1024 ** 4;
let seed = 42;
const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const b64 = (s) => Buffer.from(s).toString('base64');
const gid = (type, n) => b64(`${type}:${n}`);
const now = Date.now();
const iso = (ms) => new Date(ms).toISOString();

const bus = [
  { id: gid('BU', 1), name: 'Real-time Computing', code: 'RTC' },
  { id: gid('BU', 2), name: 'Search & Ads', code: 'ADS' },
  { id: gid('BU', 3), name: 'Data Platform', code: 'DP' },
];
const stackDefs = [
  { name: 'flink-stack', description: 'Flink on YARN for streaming jobs', versions: ['1.17.2-r1', '1.18.1-r3'], services: ['flink', 'yarn', 'hdfs', 'zookeeper'] },
  { name: 'hadoop-stack', description: 'Hadoop batch stack: HDFS, YARN, Hive, Spark', versions: ['3.3.6-r2'], services: ['hdfs', 'yarn', 'hive', 'spark'] },
];
const sources = ['RPM', 'TAR', 'GIT', 'OBJECT_STORE'];
const stacks = stackDefs.map((s, i) => {
  const stack = { id: gid('Stack', i + 1), name: s.name, description: s.description };
  stack.versions = s.versions.map((v, j) => ({
    id: gid('StackVersion', `${i}.${j}`),
    stack,
    version: v,
    releasedAt: iso(now - (200 - 60 * j) * 86400e3),
    notes: '',
    packages: s.services.map((svc, k) => ({
      id: gid('ServicePackage', `${i}.${j}.${k}`),
      service: svc,
      version: `${3 + k}.${j + 1}.${k}`,
      sourceKind: sources[(k + j) % sources.length],
      sourceUri: `rpm://repo/${svc}`,
      checksum: 'sha256:0',
      dependsOn: {},
      operations: {},
    })),
    clusters: [],
  }));
  return stack;
});

const clusterDefs = [
  ['rt-bj-01', 'STREAMING', 'cn-north-1', 'ACTIVE', 0, stacks[0].versions[1], 137],
  ['rt-sh-02', 'STREAMING', 'cn-east-2', 'UPGRADING', 0, stacks[0].versions[0], 64],
  ['batch-sh-01', 'BATCH', 'cn-east-2', 'ACTIVE', 2, stacks[1].versions[0], 96],
  ['batch-gz-02', 'BATCH', 'cn-south-1', 'DEGRADED', 2, stacks[1].versions[0], 48],
  ['online-bj-01', 'ONLINE', 'cn-north-1', 'ACTIVE', 1, null, 32],
  ['rt-gz-03', 'STREAMING', 'cn-south-1', 'ACTIVE', 0, stacks[0].versions[1], 40],
  ['batch-bj-03', 'BATCH', 'cn-north-1', 'ACTIVE', 2, stacks[1].versions[0], 72],
  ['online-sh-02', 'ONLINE', 'cn-east-2', 'ACTIVE', 1, null, 24],
  ['rt-hk-01', 'STREAMING', 'ap-east-1', 'ACTIVE', 0, stacks[0].versions[1], 28],
  ['batch-sg-01', 'BATCH', 'ap-southeast-1', 'MAINTENANCE', 2, stacks[1].versions[0], 36],
  ['online-gz-03', 'ONLINE', 'cn-south-1', 'ACTIVE', 1, null, 20],
  ['ml-train-01', 'BATCH', 'cn-north-1', 'ACTIVE', 2, stacks[1].versions[0], 44],
];
// About nine hosts in ten online, like a healthy fleet.
const states = [...Array(40).fill('ONLINE'), 'DEGRADED', 'DEGRADED', 'OFFLINE', 'MAINTENANCE', 'REPAIRING', 'DECOMMISSIONED'];
const reasons = { DEGRADED: 'disk /data3 SMART warnings', OFFLINE: 'missed 5 heartbeats', MAINTENANCE: 'kernel upgrade', REPAIRING: 'DIMM replacement ticket #4411', DECOMMISSIONED: 'end of life' };
const countKey = { ONLINE: 'online', DEGRADED: 'degraded', OFFLINE: 'offline', MAINTENANCE: 'maintenance', DECOMMISSIONED: 'decommissioned', REPAIRING: 'repairing' };
const allHosts = [];

const clusters = clusterDefs.map(([name, kind, region, status, bu, sv, n], ci) => {
  const c = { id: gid('Cluster', ci + 1), name, kind, region, status, description: `${kind.toLowerCase()} cluster in ${region}`, ownerBu: bus[bu], stackVersion: sv, createdAt: iso(now - (400 - ci * 30) * 86400e3) };
  if (sv) sv.clusters.push(c);
  c._hosts = Array.from({ length: n }, (_, i) => {
    const state = states[Math.floor(rnd() * states.length)];
    const cores = [32, 48, 64, 96][Math.floor(rnd() * 4)];
    const h = {
      id: gid('Host', `${ci}.${i}`),
      hostname: `${name}-node${String(i + 1).padStart(4, '0')}.dc.example`,
      cluster: c,
      rack: `R${String(1 + Math.floor(i / 20)).padStart(2, '0')}`,
      ip: `10.${ci}.${Math.floor(i / 250)}.${i % 250}`,
      cpuCores: cores,
      memoryBytes: cores * 8 * GiB,
      diskBytes: 12 * 4 * TiB,
      nicBitsPerSecond: 25e9,
      os: 'Rocky Linux 9.3',
      kernel: '5.14.0-362',
      model: 'Inspur NF5280M6',
      state,
      stateReason: reasons[state] ?? '',
      lastHeartbeat: state === 'DECOMMISSIONED' ? null : iso(now - Math.floor(rnd() * (state === 'OFFLINE' ? 3600e3 : 60e3))),
      createdAt: iso(now - 300 * 86400e3),
      stateChangedAt: iso(now - Math.floor(rnd() * 2 * 86400e3)),
    };
    allHosts.push(h);
    return h;
  });
  return c;
});

function hostCounts(hosts) {
  const hc = { total: hosts.length, online: 0, degraded: 0, offline: 0, maintenance: 0, decommissioned: 0, repairing: 0 };
  for (const h of hosts) hc[countKey[h.state]]++;
  return hc;
}
function capacity(hosts) {
  const live = hosts.filter((h) => h.state !== 'DECOMMISSIONED');
  const sum = (f) => live.reduce((a, h) => a + h[f], 0);
  return { cpuCores: sum('cpuCores'), memoryBytes: sum('memoryBytes'), diskBytes: sum('diskBytes'), nicBitsPerSecond: sum('nicBitsPerSecond') };
}

// Relay connection over an array: cursors are base64 offsets.
function connection(items, { first, after, last, before } = {}) {
  for (const n of [first, last]) {
    if (n != null && (n < 1 || n > 100)) throw new GraphQLError('first/last must be 1..100', { extensions: { code: 'BAD_USER_INPUT' } });
  }
  const dec = (c) => Number(Buffer.from(c, 'base64').toString().replace('off:', ''));
  let start = after ? dec(after) + 1 : 0;
  let end = before ? dec(before) : items.length;
  if (first != null) end = Math.min(end, start + first);
  if (last != null) start = Math.max(start, end - last);
  const slice = items.slice(start, end);
  const edges = slice.map((node, i) => ({ cursor: b64(`off:${start + i}`), node }));
  return {
    edges,
    nodes: slice,
    totalCount: items.length,
    pageInfo: { hasPreviousPage: start > 0, hasNextPage: end < items.length, startCursor: edges[0]?.cursor ?? null, endCursor: edges.at(-1)?.cursor ?? null },
  };
}

function filterHosts(hosts, f = {}) {
  return hosts.filter(
    (h) =>
      (!f.state || h.state === f.state) &&
      (!f.states || f.states.includes(h.state)) &&
      (!f.rack || h.rack === f.rack) &&
      (!f.clusterName || h.cluster.name === f.clusterName) &&
      (!f.search || h.hostname.toLowerCase().includes(f.search.toLowerCase())),
  );
}
const hostOrderKey = { HOSTNAME: 'hostname', STATE: 'state', RACK: 'rack', CPU_CORES: 'cpuCores', MEMORY_BYTES: 'memoryBytes', LAST_HEARTBEAT: 'lastHeartbeat' };
function order(items, key, dir) {
  const s = [...items].sort((a, b) => (a[key] ?? '') < (b[key] ?? '') ? -1 : (a[key] ?? '') > (b[key] ?? '') ? 1 : 0);
  return dir === 'DESC' ? s.reverse() : s;
}
for (const c of clusters) {
  c.hostCounts = () => hostCounts(c._hosts);
  c.capacity = capacity(c._hosts);
  c.hosts = ({ filter, orderBy, ...page }) =>
    connection(order(filterHosts(c._hosts, filter), hostOrderKey[orderBy?.field ?? 'HOSTNAME'], orderBy?.direction), page);
}

const audit = Array.from({ length: 73 }, (_, i) => ({
  id: gid('AuditEntry', i),
  at: iso(now - i * 7 * 60e3),
  actor: i % 3 ? 'ada' : 'grace',
  person: null,
  action: ['session.create', 'setHostState', 'createApiToken', 'revokeApiToken'][i % 4],
  target: i % 4 === 1 ? `host:${allHosts[i].hostname}` : i % 4 === 0 ? '' : `token:tok${i}`,
  input: {},
  outcome: i % 11 === 5 ? 'DENIED' : i % 13 === 7 ? 'FAILED' : 'OK',
  error: i % 11 === 5 ? 'role VIEWER may not change host state' : i % 13 === 7 ? 'host is decommissioned' : '',
}));

const person = { id: gid('Person', 1), login: 'ada', name: 'Ada Admin', email: 'ada@example.com', role: 'ADMIN', active: true, bu: bus[0], createdAt: iso(now - 500 * 86400e3) };

const telemetry = createTelemetry({ clusters, allHosts, stacks, rnd });
telemetry.decorate();

function platform() {
  return {
    clusterCount: clusters.length,
    clustersByKind: ['STREAMING', 'BATCH', 'ONLINE'].map((kind) => {
      const cs = clusters.filter((c) => c.kind === kind);
      return { kind, clusters: cs.length, hosts: cs.reduce((a, c) => a + c._hosts.length, 0) };
    }),
    hostCounts: hostCounts(allHosts),
    capacity: capacity(allHosts),
    buCount: bus.length,
    personCount: 1,
    ...telemetry.platformFields(),
  };
}

// ---- subscriptions: a tiny pub/sub with bounded per-subscriber queues ------------
function topic() {
  const subs = new Set();
  return {
    publish(value) {
      for (const s of subs) s.push(value);
    },
    iterate(filter = () => true) {
      const queue = [];
      let wake = null;
      let done = false;
      const sub = {
        push(v) {
          if (!filter(v)) return;
          if (queue.length >= 20) queue.shift(); // a slow client loses old beats, never memory
          queue.push(v);
          wake?.();
        },
      };
      subs.add(sub);
      const finish = () => {
        done = true;
        subs.delete(sub);
        wake?.();
        return Promise.resolve({ done: true, value: undefined });
      };
      return {
        [Symbol.asyncIterator]() {
          return this;
        },
        async next() {
          while (!queue.length && !done) await new Promise((r) => (wake = r));
          wake = null;
          return done ? { done: true, value: undefined } : { done: false, value: queue.shift() };
        },
        return: finish,
        throw: finish,
      };
    },
  };
}
const pulses = topic();
const watermarkUpdates = topic();
const hostStates = topic();

const subscriptionRoot = {
  platformPulse: () => pulses.iterate(),
  watermarkUpdated: ({ clusterId }) => {
    if (!clusters.some((c) => c.id === clusterId)) throw new GraphQLError(`no cluster with id ${clusterId}`, { extensions: { code: 'NOT_FOUND' } });
    return watermarkUpdates.iterate((v) => v.watermarkUpdated.cluster.id === clusterId);
  },
  hostStateChanged: ({ clusterId } = {}) => hostStates.iterate((v) => !clusterId || v.hostStateChanged.cluster.id === clusterId),
};

let beat = null;
function startBeat() {
  beat = setInterval(() => {
    const before = new Map(allHosts.map((h) => [h, h.state]));
    telemetry.tick();
    for (const h of allHosts) if (before.get(h) !== h.state) hostStates.publish({ hostStateChanged: h });
    pulses.publish({ platformPulse: { at: new Date().toISOString(), platform: platform() } });
    for (const c of clusters) watermarkUpdates.publish({ watermarkUpdated: telemetry.clusterWatermark(c) });
  }, PULSE_MS);
}

const rootValue = {
  me: (_a, ctx) => ({ person, role: 'ADMIN', authMethod: ctx.authMethod }),
  platform,
  schedulerJobs: () => telemetry.schedulerJobs(),
  clusters: ({ filter = {}, orderBy, ...page }) => {
    const key = { NAME: 'name', KIND: 'kind', REGION: 'region', CREATED_AT: 'createdAt' }[orderBy?.field ?? 'NAME'];
    const list = clusters.filter(
      (c) => (!filter.kind || c.kind === filter.kind) && (!filter.status || c.status === filter.status) && (!filter.search || c.name.toLowerCase().includes(filter.search.toLowerCase())),
    );
    return connection(order(list, key, orderBy?.direction), page);
  },
  cluster: ({ id, name }) => clusters.find((c) => c.name === name || c.id === id) ?? null,
  hosts: ({ filter, orderBy, ...page }) => connection(order(filterHosts(allHosts, filter), hostOrderKey[orderBy?.field ?? 'HOSTNAME'], orderBy?.direction), page),
  host: ({ hostname }) => allHosts.find((h) => h.hostname === hostname) ?? null,
  stacks: (page) => connection(stacks, page),
  auditLog: ({ filter, ...page }) => connection(audit.filter((e) => !filter?.outcome || e.outcome === filter.outcome), page),
  bus: (page) => connection(bus.map((b) => ({ ...b, depth: 0, parent: null, children: [], clusters: [] })), page),
  bu: ({ code }) => bus.find((b) => b.code === code) ?? null,
  people: (page) => connection([person], page),
  person: () => person,
  apiTokens: (page) => connection([], page),
  node: () => null,
  nodes: ({ ids }) => ids.map(() => null),
};

function loadSchema() {
  const files = statSync(schemaDir).isDirectory()
    ? readdirSync(schemaDir).filter((f) => f.endsWith('.graphqls') || f.endsWith('.graphql')).map((f) => path.join(schemaDir, f))
    : [schemaDir];
  return buildSchema(files.map((f) => readFileSync(f, 'utf8')).join('\n'));
}
const schema = loadSchema();

// ---- sessions ------------------------------------------------------------------
// session id → csrf; kept in MOCK_STATE_FILE (if set) so a restarted mock knows them.
const sessions = new Map(loadState());
function loadState() {
  if (!STATE_FILE || !existsSync(STATE_FILE)) return [];
  try {
    return JSON.parse(readFileSync(STATE_FILE, 'utf8')).sessions ?? [];
  } catch {
    return [];
  }
}
function saveState() {
  if (!STATE_FILE) return;
  writeFileSync(`${STATE_FILE}.tmp`, JSON.stringify({ sessions: [...sessions] }));
  renameSync(`${STATE_FILE}.tmp`, STATE_FILE);
}
function cookies(req) {
  const out = {};
  for (const p of (req.headers.cookie ?? '').split(';')) {
    const i = p.indexOf('=');
    if (i > 0) out[p.slice(0, i).trim()] = decodeURIComponent(p.slice(i + 1).trim());
  }
  return out;
}
const sessionBody = (csrf) => ({ person: { login: person.login, name: person.name, role: person.role }, csrfToken: csrf });
function sendJSON(res, status, body, headers = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(body === undefined ? '' : JSON.stringify(body));
}
async function readBody(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return Buffer.concat(chunks).toString();
}

/** Who is calling /query: 'TOKEN', 'SESSION', or an error [status, message]. */
function authenticate(req) {
  const auth = req.headers.authorization ?? '';
  if (auth.startsWith('Bearer ')) return auth.slice(7) === TOKEN ? 'TOKEN' : [401, 'invalid token'];
  const c = cookies(req);
  const csrf = sessions.get(c.tesla_session);
  if (!csrf) return [401, 'not signed in'];
  if (req.method === 'POST' && req.headers['x-csrf-token'] !== csrf) return [403, 'missing or wrong X-CSRF-Token'];
  return 'SESSION';
}

const gql = createHandler({ schema, rootValue, context: (r) => ({ authMethod: r.raw.teslaAuthMethod }) });

// ---- static files ------------------------------------------------------------------
const types = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.json': 'application/json', '.woff2': 'font/woff2', '.png': 'image/png' };
function serveFile(res, file) {
  res.writeHead(200, { 'content-type': types[path.extname(file)] ?? 'application/octet-stream', 'cache-control': file.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache' });
  res.end(readFileSync(file));
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://x');
  try {
    if (url.pathname === '/api/v1/session') {
      const c = cookies(req);
      if (req.method === 'GET') {
        const csrf = sessions.get(c.tesla_session);
        return csrf ? sendJSON(res, 200, sessionBody(csrf)) : sendJSON(res, 401, { error: 'not signed in' });
      }
      if (req.method === 'POST') {
        const { token } = JSON.parse((await readBody(req)) || '{}');
        if (token !== TOKEN) return sendJSON(res, 401, { error: 'invalid or revoked API token' });
        const sid = randomBytes(16).toString('hex');
        const csrf = randomBytes(16).toString('hex');
        sessions.set(sid, csrf);
        saveState();
        return sendJSON(res, 200, sessionBody(csrf), {
          'set-cookie': [`tesla_session=${sid}; Path=/; HttpOnly; SameSite=Lax`, `tesla_csrf=${csrf}; Path=/; SameSite=Lax`],
        });
      }
      if (req.method === 'DELETE') {
        const csrf = sessions.get(c.tesla_session);
        if (!csrf) return sendJSON(res, 401, { error: 'not signed in' });
        if (req.headers['x-csrf-token'] !== csrf) return sendJSON(res, 403, { error: 'missing or wrong X-CSRF-Token' });
        sessions.delete(c.tesla_session);
        saveState();
        res.writeHead(204, { 'set-cookie': ['tesla_session=; Path=/; Max-Age=0; HttpOnly', 'tesla_csrf=; Path=/; Max-Age=0'] });
        return res.end();
      }
      return sendJSON(res, 405, { error: 'method not allowed' });
    }
    if (url.pathname === '/query') {
      const who = authenticate(req);
      if (Array.isArray(who)) {
        const [status, message] = who;
        return sendJSON(res, status, { errors: [{ message, extensions: { code: status === 401 ? 'UNAUTHENTICATED' : 'FORBIDDEN' } }] });
      }
      req.teslaAuthMethod = who;
      return gql(req, res);
    }
    if (url.pathname === '/healthz') return sendJSON(res, 200, { ok: true });
    // Static: /graphiql → graphiql.html; real files; else index.html (SPA fallback).
    if (url.pathname === '/graphiql' || url.pathname === '/graphiql/') return serveFile(res, path.join(dist, 'graphiql.html'));
    const file = path.join(dist, path.normalize(decodeURIComponent(url.pathname)).replace(/^(\.\.[/\\])+/, ''));
    if (file.startsWith(dist) && existsSync(file) && statSync(file).isFile()) return serveFile(res, file);
    if (url.pathname.startsWith('/assets/')) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      return res.end('not found');
    }
    return serveFile(res, path.join(dist, 'index.html'));
  } catch (err) {
    sendJSON(res, 500, { error: String(err?.message ?? err) });
  }
});

if (!existsSync(path.join(dist, 'index.html'))) {
  console.error('dist/index.html missing: run `npm run build` first');
  process.exit(2);
}
// ---- websocket: graphql-transport-ws on /query ------------------------------------
const wss = new WebSocketServer({ noServer: true });
useServer(
  {
    schema,
    roots: { query: rootValue, subscription: subscriptionRoot },
    onConnect: (ctx) => {
      const req = ctx.extra.request;
      if (sessions.has(cookies(req).tesla_session)) return true;
      const p = ctx.connectionParams ?? {};
      const bearer = String(p.Authorization ?? p.authorization ?? '').replace(/^Bearer\s+/, '') || String(p.authToken ?? '');
      return bearer === TOKEN; // false closes with 4403 Forbidden
    },
    context: () => ({ authMethod: 'SESSION' }),
  },
  wss,
);
server.on('upgrade', (req, socket, head) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname !== '/query') return socket.destroy();
  const sid = cookies(req).tesla_session;
  if (sid && !sessions.has(sid)) {
    // Like the Go server: a session cookie that does not authenticate is a 401 on the upgrade.
    socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{"error":"session expired"}');
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
});

// Track sockets so a stop is abrupt (a dying process), not a polite drain.
const sockets = new Set();
server.on('connection', (s) => {
  sockets.add(s);
  s.on('close', () => sockets.delete(s));
});

server.listen(PORT, '127.0.0.1', () => {
  startBeat();
  console.log(`mock listening on http://127.0.0.1:${server.address().port} (token ${TOKEN}, pulse every ${PULSE_MS} ms)`);
});
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    clearInterval(beat);
    for (const ws of wss.clients) ws.terminate();
    for (const s of sockets) s.destroy();
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 500).unref();
  });
}
