// The route tree (TanStack Router, code-based): typed path params, and search
// params kept as plain strings so URLs read as before (?state=OFFLINE&q=node1).
// Route components read params and search and hand them to the pages as props,
// so pages do not depend on the route tree. The Go server answers every unknown
// path with index.html, so deep links work on reload.

import {
  createRootRoute,
  createRoute,
  createRouter,
  Outlet,
  redirect,
  useNavigate,
  useRouterState,
  type RouterHistory,
  createBrowserHistory,
} from '@tanstack/react-router';
import { lazy, Suspense, useCallback, type ComponentType } from 'react';
import { LANDING_PATH, NAV, REDIRECTS } from './routes';
import { Shell } from './Shell';
import { ComingSoon } from '../pages/ComingSoon';
import { NotFound } from '../pages/NotFound';
import { Loading } from '../components/ui';

/** A page loaded on first visit (typed as the page itself), so the first screen does not wait for every page's code. */
function page<M extends Record<K, ComponentType<any>>, K extends keyof M>(load: () => Promise<M>, name: K) {
  return lazy(() => load().then((m) => ({ default: m[name] })));
}

const ClustersOverview = page(() => import('../pages/ClustersOverview'), 'ClustersOverview');
const ClusterPage = page(() => import('../pages/ClusterPage'), 'ClusterPage');
const Stacks = page(() => import('../pages/Stacks'), 'Stacks');
const Operations = page(() => import('../pages/Operations'), 'Operations');
const OperationDetail = page(() => import('../pages/OperationDetail'), 'OperationDetail');
const AquilaConfig = page(() => import('../pages/AquilaConfig'), 'AquilaConfig');
const Healing = page(() => import('../pages/Healing'), 'Healing');
const AuditLog = page(() => import('../pages/AuditLog'), 'AuditLog');
const Watermarks = page(() => import('../pages/Watermarks'), 'Watermarks');
const Scheduler = page(() => import('../pages/Scheduler'), 'Scheduler');
const BigScreen = page(() => import('../pages/BigScreen'), 'BigScreen');
const MachineSearch = page(() => import('../pages/MachineSearch'), 'MachineSearch');
const MachineAnalysis = page(() => import('../pages/MachineAnalysis'), 'MachineAnalysis');
const Tokens = page(() => import('../pages/Tokens'), 'Tokens');
const Clustering = page(() => import('../pages/Clustering'), 'Clustering');
// Workload tools.
const JobAnalysis = page(() => import('../pages/JobAnalysis'), 'JobAnalysis');
const QueueAnalysis = page(() => import('../pages/QueueAnalysis'), 'QueueAnalysis');
const Anomalies = page(() => import('../pages/Anomalies'), 'Anomalies');
const Hardware = page(() => import('../pages/Hardware'), 'Hardware');
const Cost = page(() => import('../pages/Cost'), 'Cost');
const Leaderboards = page(() => import('../pages/Leaderboards'), 'Leaderboards');

// Workload screens: the personal and BU centres and the job page.
const Personal = page(() => import('../pages/Personal'), 'Personal');
const BUCentre = page(() => import('../pages/BUCentre'), 'BUCentre');
const JobPage = page(() => import('../pages/JobPage'), 'JobPage');

// Administration: the organisation and the inventory (each page gates itself by role too).
const AdminBUs = page(() => import('../pages/AdminBUs'), 'AdminBUs');
const AdminPeople = page(() => import('../pages/AdminPeople'), 'AdminPeople');
const AdminClusters = page(() => import('../pages/AdminClusters'), 'AdminClusters');
const AdminHosts = page(() => import('../pages/AdminHosts'), 'AdminHosts');
const AdminImport = page(() => import('../pages/AdminImport'), 'AdminImport');

/** A route's search params: the named keys, as non-empty strings. */
export type Search<K extends string> = Partial<Record<K, string>>;
/** Changes some search params (null or '' removes one), replacing the history entry. */
export type SetSearch<K extends string> = (patch: Partial<Record<K, string | null>>) => void;

/** validateSearch for plain string params: unknown keys and non-strings are dropped. */
export function stringSearch<K extends string>(...keys: K[]) {
  return (raw: Record<string, unknown>): Search<K> => {
    const out: Search<K> = {};
    for (const k of keys) {
      const v = raw[k];
      if (typeof v === 'string' && v !== '') out[k] = v;
      else if (typeof v === 'number' || typeof v === 'boolean') out[k] = String(v);
    }
    return out;
  };
}

/** Query strings without JSON quoting: every value is a string, as URLSearchParams gives it. */
export function parseSearch(searchStr: string): Record<string, string> {
  const out: Record<string, string> = {};
  new URLSearchParams(searchStr.startsWith('?') ? searchStr.slice(1) : searchStr).forEach((v, k) => {
    out[k] = v;
  });
  return out;
}

export function stringifySearch(search: Record<string, unknown>): string {
  const sp = new URLSearchParams();
  for (const [k, v] of Object.entries(search)) if (v !== undefined && v !== null && v !== '') sp.set(k, String(v));
  const s = sp.toString();
  return s ? `?${s}` : '';
}

/** Merges a patch into the current search params (dropping emptied ones) and replaces the URL. */
export function useSetSearch<K extends string>(): SetSearch<K> {
  const navigate = useNavigate();
  return useCallback(
    (patch) =>
      void navigate({
        to: '.',
        search: ((prev: Record<string, unknown>) => {
          const next: Record<string, unknown> = { ...prev, ...patch };
          for (const k of Object.keys(next)) if (next[k] === null || next[k] === '' || next[k] === undefined) delete next[k];
          return next;
        }) as never, // one helper for every route: the per-route search types meet here
        replace: true,
        // A filter change keeps the page where it is.
        resetScroll: false,
      }),
    [navigate],
  );
}

function RootNotFound() {
  const pathname = useRouterState({ select: (s) => s.location.pathname });
  return (
    <Shell title="Not found">
      <NotFound path={pathname} />
    </Shell>
  );
}

const rootRoute = createRootRoute({ component: Outlet, notFoundComponent: RootNotFound });

/** Every page but the big screen sits in the shell (top bar and navigation). */
const appRoute = createRoute({
  getParentRoute: () => rootRoute,
  id: 'app',
  component: () => (
    <Shell>
      <Suspense fallback={<Loading what="Loading the page" />}>
        <Outlet />
      </Suspense>
    </Shell>
  ),
});

const homeRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/',
  beforeLoad: () => {
    throw redirect({ to: LANDING_PATH, replace: true });
  },
});

const redirectRoutes = Object.entries(REDIRECTS).map(([from, to]) =>
  createRoute({
    getParentRoute: () => rootRoute,
    path: from,
    beforeLoad: ({ location }) => {
      throw redirect({ href: `${to}${location.searchStr}`, replace: true });
    },
  }),
);

const clustersRoute = createRoute({
  getParentRoute: () => appRoute,
  path: 'clusters',
  validateSearch: stringSearch('kind', 'q', 'order', 'dir'),
  component: function ClustersRoute() {
    return <ClustersOverview search={clustersRoute.useSearch()} setSearch={useSetSearch()} />;
  },
});

const clusterRoute = createRoute({
  getParentRoute: () => appRoute,
  path: 'clusters/$name',
  validateSearch: stringSearch('state', 'rack', 'q', 'order', 'dir'),
  component: function ClusterRoute() {
    const { name } = clusterRoute.useParams();
    return <ClusterPage key={name} name={name} search={clusterRoute.useSearch()} setSearch={useSetSearch()} />;
  },
});

const hostRoute = createRoute({
  getParentRoute: () => appRoute,
  path: 'hosts/$hostname',
  validateSearch: stringSearch('range', 'from', 'to'),
  component: function HostRoute() {
    const { hostname } = hostRoute.useParams();
    return <MachineAnalysis key={hostname} hostname={hostname} search={hostRoute.useSearch()} setSearch={useSetSearch()} />;
  },
});

const machinesRoute = createRoute({
  getParentRoute: () => appRoute,
  path: 'tools/machines',
  validateSearch: stringSearch('q'),
  component: function MachinesRoute() {
    return <MachineSearch search={machinesRoute.useSearch()} setSearch={useSetSearch()} />;
  },
});

const watermarksRoute = createRoute({
  getParentRoute: () => appRoute,
  path: 'platform/watermarks',
  validateSearch: stringSearch('cluster', 'dim', 'range', 'from', 'to'),
  component: function WatermarksRoute() {
    return <Watermarks search={watermarksRoute.useSearch()} setSearch={useSetSearch()} />;
  },
});

const clusteringRoute = createRoute({
  getParentRoute: () => appRoute,
  path: 'intelligence/clustering',
  validateSearch: stringSearch('kind', 'cluster', 'rack'),
  component: function ClusteringRoute() {
    return <Clustering search={clusteringRoute.useSearch()} setSearch={useSetSearch()} />;
  },
});

// Workload tools: job and queue analysis.
const jobAnalysisRoute = createRoute({
  getParentRoute: () => appRoute,
  path: 'tools/jobs',
  validateSearch: stringSearch('by', 'bu', 'cluster'),
  component: function JobAnalysisRoute() {
    return <JobAnalysis search={jobAnalysisRoute.useSearch()} setSearch={useSetSearch()} />;
  },
});

const queueAnalysisRoute = createRoute({
  getParentRoute: () => appRoute,
  path: 'tools/queues',
  validateSearch: stringSearch('cluster', 'queue', 'range', 'from', 'to'),
  component: function QueueAnalysisRoute() {
    return <QueueAnalysis search={queueAnalysisRoute.useSearch()} setSearch={useSetSearch()} />;
  },
});

const hardwareRoute = createRoute({ getParentRoute: () => appRoute, path: 'tools/hardware', component: Hardware });

const anomaliesRoute = createRoute({
  getParentRoute: () => appRoute,
  path: 'intelligence/anomalies',
  validateSearch: stringSearch('status', 'severity', 'metric', 'kind', 'cluster', 'host', 'id', 'order'),
  component: function AnomaliesRoute() {
    return <Anomalies search={anomaliesRoute.useSearch()} setSearch={useSetSearch()} />;
  },
});

// Workload screens.
const personalRoute = createRoute({ getParentRoute: () => appRoute, path: 'personal', component: Personal });

const buRoute = createRoute({
  getParentRoute: () => appRoute,
  path: 'bu',
  validateSearch: stringSearch('bu', 'cluster', 'kind', 'priority'),
  component: function BURoute() {
    return <BUCentre search={buRoute.useSearch()} setSearch={useSetSearch()} />;
  },
});

const jobRoute = createRoute({
  getParentRoute: () => appRoute,
  path: 'jobs/$id',
  component: function JobRoute() {
    const { id } = jobRoute.useParams();
    return <JobPage key={id} id={id} />;
  },
});

const costRoute = createRoute({ getParentRoute: () => appRoute, path: 'cost', component: Cost });
const leaderboardsRoute = createRoute({
  getParentRoute: () => appRoute,
  path: 'leaderboards',
  validateSearch: stringSearch('level', 'metric', 'period'),
  component: function LeaderboardsRoute() {
    return <Leaderboards search={leaderboardsRoute.useSearch()} setSearch={useSetSearch()} />;
  },
});
const schedulerRoute = createRoute({ getParentRoute: () => appRoute, path: 'platform/scheduler', component: Scheduler });
const stacksRoute = createRoute({ getParentRoute: () => appRoute, path: 'aquila/stacks', component: Stacks });
const operationsRoute = createRoute({ getParentRoute: () => appRoute, path: 'aquila/operations', component: Operations });
const operationRoute = createRoute({
  getParentRoute: () => appRoute,
  path: 'aquila/operations/$id',
  component: function OperationRoute() {
    const { id } = operationRoute.useParams();
    return <OperationDetail key={id} id={id} />;
  },
});
const configRoute = createRoute({
  getParentRoute: () => appRoute,
  path: 'aquila/config',
  validateSearch: stringSearch('cluster', 'from', 'to'),
  component: function ConfigRoute() {
    return <AquilaConfig search={configRoute.useSearch()} setSearch={useSetSearch()} />;
  },
});
const healingRoute = createRoute({
  getParentRoute: () => appRoute,
  path: 'aquila/healing',
  validateSearch: stringSearch('cluster', 'state'),
  component: function HealingRoute() {
    return <Healing search={healingRoute.useSearch()} setSearch={useSetSearch()} />;
  },
});
const auditRoute = createRoute({ getParentRoute: () => appRoute, path: 'audit', component: AuditLog });
const tokensRoute = createRoute({ getParentRoute: () => appRoute, path: 'tokens', component: Tokens });
const adminRoutes = [
  createRoute({ getParentRoute: () => appRoute, path: 'admin/bus', component: AdminBUs }),
  createRoute({ getParentRoute: () => appRoute, path: 'admin/people', component: AdminPeople }),
  createRoute({ getParentRoute: () => appRoute, path: 'admin/clusters', component: AdminClusters }),
  createRoute({ getParentRoute: () => appRoute, path: 'admin/hosts', component: AdminHosts }),
  createRoute({ getParentRoute: () => appRoute, path: 'admin/import', component: AdminImport }),
];

const soonRoutes = NAV.flatMap((s) => s.items)
  .filter((i) => i.soon)
  .map((item) => createRoute({ getParentRoute: () => appRoute, path: item.path, component: () => <ComingSoon item={item} /> }));

const screenRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: 'screen',
  component: () => (
    <Suspense fallback={<div className="boot" />}>
      <BigScreen />
    </Suspense>
  ),
});

export const routeTree = rootRoute.addChildren([
  homeRoute,
  ...redirectRoutes,
  screenRoute,
  appRoute.addChildren([
    clustersRoute,
    clusterRoute,
    hostRoute,
    machinesRoute,
    watermarksRoute,
    clusteringRoute,
    jobAnalysisRoute,
    queueAnalysisRoute,
    hardwareRoute,
    anomaliesRoute,
    personalRoute,
    buRoute,
    jobRoute,
    schedulerRoute,
    costRoute,
    leaderboardsRoute,
    stacksRoute,
    operationsRoute,
    operationRoute,
    configRoute,
    healingRoute,
    auditRoute,
    tokensRoute,
    ...adminRoutes,
    ...soonRoutes,
  ]),
]);

export function createAppRouter(history: RouterHistory = createBrowserHistory()) {
  return createRouter({ routeTree, history, parseSearch, stringifySearch, scrollRestoration: false, defaultPreload: false });
}

declare module '@tanstack/react-router' {
  interface Register {
    router: ReturnType<typeof createAppRouter>;
  }
}
