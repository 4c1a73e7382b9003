// The app's GraphQL client: urql with Graphcache (a normalised cache keyed by
// the schema's global ids) and subscriptions over graphql-ws.
//
// Queries and mutations are POSTs to /query with the session cookie and the
// X-CSRF-Token header (the server refuses cookie-authenticated POSTs without
// it). Any UNAUTHENTICATED answer calls `onUnauthenticated`, which returns the
// app to sign-in. Subscriptions go through startLive (./live), which supervises
// one graphql-ws socket per subscription and reconnects with back-off for ever,
// reporting its status to whoever passed `liveInfo` in the operation context.

import { Client, fetchExchange, mapExchange, subscriptionExchange, type Exchange, type OperationContext } from '@urql/core';
import { cacheExchange, type Cache, type CacheExchangeOpts } from '@urql/exchange-graphcache';
import { KEYLESS_TYPES } from '../graphql-keys';
import { CSRF_HEADER, getCsrfToken } from './session';
import { isUnauthenticated } from './errors';
import { startLive, type LiveInfo, type LiveOptions } from './live';

/** Operation context of a live subscription: where to report the socket's status. */
export interface LiveContext extends Partial<OperationContext> {
  liveInfo?: (info: LiveInfo) => void;
}

/** Invalidates every cached field of `typename:id` (or Query) whose name is in `fields`. */
function invalidateFields(cache: Cache, entity: string | { __typename: string; id: string }, fields: string[]) {
  for (const f of cache.inspectFields(entity)) {
    if (fields.includes(f.fieldName)) cache.invalidate(entity, f.fieldName, f.arguments ?? undefined);
  }
}

/** Hosts added, moved or retired: every host list and every count of hosts (the platform's and each cluster's). */
function invalidateHostLists(cache: Cache) {
  invalidateFields(cache, 'Query', ['platform', 'hosts', 'clusters', 'cluster']);
  for (const f of cache.inspectFields('Query')) {
    if (f.fieldName !== 'clusters') continue;
    const conn = cache.resolve('Query', f.fieldKey) as string | null;
    const nodes = conn ? (cache.resolve(conn, 'nodes') as string[] | null) : null;
    for (const c of nodes ?? []) invalidateFields(cache, c, ['hostCounts', 'hosts', 'capacity']);
  }
}

/**
 * What a mutation makes stale beyond the entities it returns (those Graphcache
 * updates by id on its own): counts, filtered lists, levels judged against a
 * threshold, the token list. Invalidated fields are fetched again by the
 * queries on screen.
 */
export const cacheUpdates: NonNullable<CacheExchangeOpts['updates']> = {
  Mutation: {
    setHostState(result, _args, cache) {
      const host = (result.setHostState as { host?: { cluster?: { id?: string } } | null } | null)?.host;
      invalidateFields(cache, 'Query', ['platform', 'hosts', 'clusters']);
      if (host?.cluster?.id) invalidateFields(cache, { __typename: 'Cluster', id: host.cluster.id }, ['hostCounts', 'hosts']);
    },
    setWatermarkThreshold(_result, _args, cache) {
      // The payload carries every threshold (keyed by kind), so the list updates
      // in place; the levels judged against them are fetched again.
      invalidateFields(cache, 'Query', ['platform', 'cluster']);
    },
    // Aquila: a new operation holds its cluster; stacks gain packages and versions.
    restartCluster(_result, args, cache) {
      const cluster = (args.input as { cluster?: string } | undefined)?.cluster;
      invalidateFields(cache, 'Query', ['activeOperations']);
      if (cluster) invalidateFields(cache, { __typename: 'Cluster', id: cluster }, ['activeOperation', 'operations']);
    },
    registerServicePackage(_result, _args, cache) {
      invalidateFields(cache, 'Query', ['servicePackages']);
    },
    createStackVersion(_result, _args, cache) {
      invalidateFields(cache, 'Query', ['stacks']);
    },
    createApiToken(_result, _args, cache) {
      invalidateFields(cache, 'Query', ['apiTokens']);
    },
    acknowledgeAnomaly(_result, _args, cache) {
      // The episode itself updates by id; lists filtered by status and the
      // platform's severe count are fetched again.
      invalidateFields(cache, 'Query', ['anomalies']);
    },
    runClusteringAnalysis(_result, _args, cache) {
      // A new run changes every filtered view of the clustering.
      invalidateFields(cache, 'Query', ['machineClustering']);
    },
    upsertRateCard(_result, _args, cache) {
      // A new card joins the list; bills are re-priced by the next billing run.
      invalidateFields(cache, 'Query', ['rateCards']);
    },
    deleteRateCard(_result, _args, cache) {
      invalidateFields(cache, 'Query', ['rateCards']);
    },
    // Administration: new or moved entities change the lists and counts they appear in.
    createBU(_result, _args, cache) {
      invalidateFields(cache, 'Query', ['bus']);
    },
    updateBU(_result, _args, cache) {
      invalidateFields(cache, 'Query', ['bus']);
    },
    createPerson(_result, _args, cache) {
      invalidateFields(cache, 'Query', ['people']);
    },
    updatePerson(_result, _args, cache) {
      invalidateFields(cache, 'Query', ['people']);
    },
    createCluster(_result, _args, cache) {
      invalidateFields(cache, 'Query', ['clusters', 'platform']);
    },
    updateCluster(_result, _args, cache) {
      invalidateFields(cache, 'Query', ['clusters']);
    },
    retireCluster(_result, _args, cache) {
      invalidateFields(cache, 'Query', ['clusters', 'platform']);
    },
    registerHosts(_result, _args, cache) {
      invalidateHostLists(cache);
    },
    moveHosts(_result, _args, cache) {
      invalidateHostLists(cache);
    },
    retireHosts(_result, _args, cache) {
      invalidateHostLists(cache);
    },
    importInventory(result, _args, cache) {
      if ((result.importInventory as { applied?: boolean } | null)?.applied) {
        invalidateFields(cache, 'Query', ['bus', 'people']);
        invalidateHostLists(cache);
      }
    },
    createEnrollmentToken(_result, _args, cache) {
      invalidateFields(cache, 'Query', ['apiTokens']);
    },
    analyzeJob(_result, _args, cache) {
      // The job's findings come back in the payload; its place in the
      // rankings may have moved.
      invalidateFields(cache, 'Query', ['worstJobs']);
    },
  },
};

/** Graphcache keys: the schema's `id`, except types without one (stored inside their parent) and two with a natural key. */
export const cacheKeys: NonNullable<CacheExchangeOpts['keys']> = {
  ...Object.fromEntries(KEYLESS_TYPES.map((t) => [t, () => null])),
  SchedulerJob: (job) => (job.name as string) ?? null,
  WatermarkThreshold: (t) => (t.kind as string) ?? null,
};

/** Forwards a subscription to a supervised graphql-ws socket (see ./live). */
function liveExchange(createLive: typeof startLive, url?: string): Exchange {
  return subscriptionExchange({
    forwardSubscription: (request, operation) => ({
      subscribe: (sink) => {
        const ctx = operation.context as LiveContext;
        const handle = createLive({
          query: request.query ?? '',
          variables: (request.variables ?? {}) as Record<string, unknown>,
          url,
          onData: (data) => sink.next({ data }),
          onInfo: ctx.liveInfo,
        } as LiveOptions<Record<string, unknown>>);
        // Back online, or the tab shown again: do not sit out the back-off.
        const wake = () => handle.retryNow();
        const onVisible = () => document.visibilityState === 'visible' && wake();
        if (typeof window !== 'undefined') {
          window.addEventListener('online', wake);
          document.addEventListener('visibilitychange', onVisible);
        }
        return {
          unsubscribe: () => {
            if (typeof window !== 'undefined') {
              window.removeEventListener('online', wake);
              document.removeEventListener('visibilitychange', onVisible);
            }
            handle.stop();
          },
        };
      },
    }),
  });
}

export interface AppClientOptions {
  /** GraphQL endpoint, default "/query". */
  url?: string;
  fetch?: typeof fetch;
  /** Called for every answer whose code is UNAUTHENTICATED. */
  onUnauthenticated?: () => void;
  /** For tests: the supervised websocket. */
  startLive?: typeof startLive;
  liveUrl?: string;
}

export function createAppClient(opts: AppClientOptions = {}): Client {
  return new Client({
    url: opts.url ?? '/query',
    fetch: opts.fetch,
    // POST only: the server checks the CSRF header on every cookie-authenticated request.
    preferGetMethod: false,
    requestPolicy: 'cache-and-network',
    fetchOptions: () => {
      const headers: Record<string, string> = {};
      const csrf = getCsrfToken();
      if (csrf) headers[CSRF_HEADER] = csrf;
      return { credentials: 'same-origin', headers };
    },
    exchanges: [
      cacheExchange({ keys: cacheKeys, updates: cacheUpdates }),
      mapExchange({
        onError(error) {
          if (isUnauthenticated(error)) opts.onUnauthenticated?.();
        },
      }),
      fetchExchange,
      liveExchange(opts.startLive ?? startLive, opts.liveUrl),
    ],
  });
}
