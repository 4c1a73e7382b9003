// @vitest-environment jsdom
// The app's urql client: POSTs with the session cookie and the CSRF header,
// UNAUTHENTICATED back to sign-in, errors in the server's words, the cache
// invalidations after mutations, and subscriptions through the supervised socket.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CombinedError } from '@urql/core';
import { pipe, subscribe } from 'wonka';
import { createAppClient, cacheKeys } from '../src/lib/client';
import { codeFromStatus, codeOf, describeCode, errorCodeOf, messageOf, retryAfterOf } from '../src/lib/errors';
import { forgetCsrfToken } from '../src/lib/session';
import { refusal } from '../src/lib/mutation';
import { graphql } from '../src/graphql';
import type { startLive } from '../src/lib/live';

const json = (b: unknown, status = 200) => new Response(JSON.stringify(b), { status, headers: { 'content-type': 'application/json' } });

const Me = graphql(`
  query Me {
    me {
      role
    }
  }
`);

function clearCookies() {
  for (const c of document.cookie.split(';')) {
    const name = c.split('=')[0].trim();
    if (name) document.cookie = `${name}=; expires=Thu, 01 Jan 1970 00:00:00 GMT; path=/`;
  }
}

beforeEach(() => {
  clearCookies();
  forgetCsrfToken();
});
afterEach(() => vi.unstubAllGlobals());

const meData = { data: { me: { __typename: 'Viewer', role: 'ADMIN' } } };

describe('createAppClient', () => {
  it('POSTs with the session cookie and the CSRF header from the tesla_csrf cookie', async () => {
    document.cookie = 'tesla_csrf=cookie-token; path=/';
    const fetch = vi.fn(async (_u: RequestInfo | URL, _i?: RequestInit) => json(meData));
    const res = await createAppClient({ fetch }).query(Me, {}).toPromise();
    expect(res.data?.me.role).toBe('ADMIN');
    const init = fetch.mock.calls[0][1]!;
    expect(init.method).toBe('POST');
    expect(init.credentials).toBe('same-origin');
    expect(new Headers(init.headers).get('X-CSRF-Token')).toBe('cookie-token');
    expect(JSON.parse(String(init.body)).operationName).toBe('Me');
  });

  it('sends no CSRF header without the cookie', async () => {
    const fetch = vi.fn(async (_u: RequestInfo | URL, _i?: RequestInit) => json(meData));
    await createAppClient({ fetch }).query(Me, {}).toPromise();
    expect(new Headers(fetch.mock.calls[0][1]!.headers).get('X-CSRF-Token')).toBeNull();
  });

  it('calls onUnauthenticated for UNAUTHENTICATED answers only', async () => {
    const onUnauthenticated = vi.fn();
    let answer = json({ errors: [{ message: 'authentication required', extensions: { code: 'UNAUTHENTICATED' } }] }, 401);
    const fetch = vi.fn(async () => answer);
    const client = createAppClient({ fetch, onUnauthenticated });
    const res = await client.query(Me, {}, { requestPolicy: 'network-only' }).toPromise();
    expect(codeOf(res.error)).toBe('UNAUTHENTICATED');
    expect(onUnauthenticated).toHaveBeenCalledTimes(1);
    answer = json({ errors: [{ message: 'not for you', extensions: { code: 'FORBIDDEN' } }] });
    const res2 = await client.query(Me, {}, { requestPolicy: 'network-only' }).toPromise();
    expect(codeOf(res2.error)).toBe('FORBIDDEN');
    expect(messageOf(res2.error)).toBe('not for you');
    expect(onUnauthenticated).toHaveBeenCalledTimes(1);
  });

  it('reports an unreachable server as NETWORK', async () => {
    const fetch = vi.fn(async () => {
      throw new TypeError('Failed to fetch');
    });
    const res = await createAppClient({ fetch }).query(Me, {}).toPromise();
    expect(codeOf(res.error)).toBe('NETWORK');
  });

  it('hands subscriptions to the supervised socket and passes its status on', async () => {
    const infos: string[] = [];
    let onData: ((d: unknown) => void) | undefined;
    const stop = vi.fn();
    const live = vi.fn((opts: { query: string; onData: (d: unknown) => void; onInfo?: (i: { status: string }) => void }) => {
      onData = opts.onData;
      opts.onInfo?.({ status: 'live' });
      return { stop, retryNow: vi.fn(), info: vi.fn() };
    }) as unknown as typeof startLive;
    const client = createAppClient({ fetch: vi.fn(), startLive: live });
    const Pulse = graphql(`
      subscription PulseAt {
        platformPulse {
          at
        }
      }
    `);
    const seen: unknown[] = [];
    const sub = pipe(
      client.subscription(Pulse, {}, { liveInfo: (i: { status: string }) => infos.push(i.status) } as never),
      subscribe((r) => seen.push(r.data)),
    );
    await vi.waitFor(() => expect(live).toHaveBeenCalled());
    expect((live as unknown as ReturnType<typeof vi.fn>).mock.calls[0][0].query).toContain('platformPulse');
    expect(infos).toEqual(['live']);
    onData!({ platformPulse: { __typename: 'PlatformPulse', at: '2026-01-01T00:00:00Z' } });
    await vi.waitFor(() => expect(seen).toEqual([{ platformPulse: { at: '2026-01-01T00:00:00Z' } }]));
    sub.unsubscribe();
    expect(stop).toHaveBeenCalled();
  });

  it('keys types without an id inside their parent, and two by their natural key', () => {
    expect(cacheKeys.HostCounts!({ __typename: 'HostCounts' })).toBeNull();
    expect(cacheKeys.Platform!({ __typename: 'Platform' })).toBeNull();
    expect(cacheKeys.SchedulerJob!({ __typename: 'SchedulerJob', name: 'rollup' })).toBe('rollup');
    expect(cacheKeys.WatermarkThreshold!({ __typename: 'WatermarkThreshold', kind: 'BATCH' })).toBe('BATCH');
    expect(cacheKeys.Host).toBeUndefined();
  });
});

describe('errors', () => {
  it('takes the first known extensions.code; UNAUTHENTICATED wins', () => {
    expect(errorCodeOf([{ message: 'x', extensions: { code: 'FORBIDDEN' } }])).toBe('FORBIDDEN');
    expect(errorCodeOf([{ message: 'a' }, { message: 'b', extensions: { code: 'NOT_FOUND' } }])).toBe('NOT_FOUND');
    expect(
      errorCodeOf([
        { message: 'a', extensions: { code: 'FORBIDDEN' } },
        { message: 'b', extensions: { code: 'UNAUTHENTICATED' } },
      ]),
    ).toBe('UNAUTHENTICATED');
  });
  it('falls back to the HTTP status, then UNKNOWN', () => {
    expect(errorCodeOf([{ message: 'x', extensions: { code: 'WEIRD' } }], 401)).toBe('UNAUTHENTICATED');
    expect(errorCodeOf([{ message: 'x' }], 500)).toBe('INTERNAL');
    expect(errorCodeOf([{ message: 'x' }], 200)).toBe('UNKNOWN');
    expect(codeFromStatus(409)).toBe('CONFLICT');
    expect(codeFromStatus(400)).toBe('BAD_USER_INPUT');
    expect(codeFromStatus(418)).toBe('UNKNOWN');
  });
  it('joins the server messages without urql prefixes', () => {
    const err = new CombinedError({ graphQLErrors: [{ message: 'one' }, { message: 'two' }] });
    expect(messageOf(err)).toBe('one; two');
    expect(codeOf(new Error('plain'))).toBeNull();
  });  it('knows RATE_LIMITED and TIMEOUT, and when to retry', () => {
    const limited = new CombinedError({ graphQLErrors: [{ message: 'busy', extensions: { code: 'RATE_LIMITED', retryAfterSeconds: 5 } }] });
    expect(codeOf(limited)).toBe('RATE_LIMITED');
    expect(describeCode('RATE_LIMITED')).toMatch(/busy/);
    expect(retryAfterOf(limited)).toBe(5);
    expect(retryAfterOf(new CombinedError({ graphQLErrors: [{ message: 'busy', extensions: { code: 'RATE_LIMITED' } }] }))).toBe(1);
    const timeout = new CombinedError({ graphQLErrors: [{ message: 'slow', extensions: { code: 'TIMEOUT' } }] });
    expect(codeOf(timeout)).toBe('TIMEOUT');
    expect(retryAfterOf(timeout)).toBeNull();
    expect(retryAfterOf(new Error('plain'))).toBeNull();
  });
});

describe('refusal', () => {
  const payload = (d: { p: { userErrors: Array<{ message: string }> } | null }) => d.p;
  it('is null when the mutation went through', () => {
    expect(refusal({ data: { p: { userErrors: [] } } }, payload)).toBeNull();
  });
  it('gives the userErrors, or the GraphQL error, in the server words', () => {
    expect(refusal({ data: { p: { userErrors: [{ message: 'threshold is a share' }, { message: 'and more' }] } } }, payload)).toBe('threshold is a share; and more');
    const error = new CombinedError({ graphQLErrors: [{ message: 'changing a host state needs OPERATOR', extensions: { code: 'FORBIDDEN' } }] });
    expect(refusal({ error, data: null }, payload)).toBe('changing a host state needs OPERATOR');
    expect(refusal({ data: { p: null } }, payload)).toBe('The server sent no answer.');
  });
});

describe('after a threshold change', () => {
  it('shows the new value from the payload at once, without waiting for a refetch', async () => {
    const Thresholds = graphql(`
      query T {
        watermarkThresholds {
          kind
          threshold
        }
      }
    `);
    const SetT = graphql(`
      mutation SetT($input: SetWatermarkThresholdInput!) {
        setWatermarkThreshold(input: $input) {
          thresholds {
            kind
            threshold
          }
          userErrors {
            message
          }
        }
      }
    `);
    const list = (batch: number) => [
      { __typename: 'WatermarkThreshold', kind: 'BATCH', threshold: batch },
      { __typename: 'WatermarkThreshold', kind: 'ONLINE', threshold: 0.7 },
    ];
    const fetch = vi.fn(async (_u: RequestInfo | URL, init?: RequestInit) => {
      const body = JSON.parse(String(init?.body));
      if (body.operationName === 'SetT') {
        return json({ data: { setWatermarkThreshold: { __typename: 'SetWatermarkThresholdPayload', thresholds: list(0.8), userErrors: [] } } });
      }
      return json({ data: { watermarkThresholds: list(0.85) } });
    });
    const client = createAppClient({ fetch });
    const seen: number[] = [];
    const sub = pipe(
      client.query(Thresholds, {}),
      subscribe((r) => r.data && seen.push(r.data.watermarkThresholds.find((t) => t.kind === 'BATCH')!.threshold)),
    );
    await vi.waitFor(() => expect(seen).toContain(0.85));
    await client.mutation(SetT, { input: { kind: 'BATCH', threshold: 0.8 } }).toPromise();
    await vi.waitFor(() => expect(seen.at(-1)).toBe(0.8));
    // Only the query and the mutation went to the server.
    expect(fetch.mock.calls.map((c) => JSON.parse(String(c[1]?.body)).operationName)).toEqual(['T', 'SetT']);
    sub.unsubscribe();
  });
});

describe('after a host state change', () => {
  it("fetches the host's cluster counts and filtered host list again", async () => {
    const Cluster = graphql(`
      query C {
        cluster(name: "c") {
          id
          hostCounts {
            total
            online
          }
          hosts(first: 10, filter: { state: ONLINE }) {
            nodes {
              id
              state
            }
          }
        }
      }
    `);
    const SetState = graphql(`
      mutation S($input: SetHostStateInput!) {
        setHostState(input: $input) {
          host {
            id
            state
            stateReason
            cluster {
              id
            }
          }
          userErrors {
            message
          }
        }
      }
    `);
    let online = 2;
    const cluster = () => ({
      __typename: 'Cluster',
      id: 'c1',
      hostCounts: { __typename: 'HostCounts', total: 2, online },
      hosts: {
        __typename: 'HostConnection',
        nodes: [
          { __typename: 'Host', id: 'h1', state: 'ONLINE' },
          { __typename: 'Host', id: 'h2', state: 'ONLINE' },
        ].slice(0, online),
      },
    });
    const fetch = vi.fn(async (_u: RequestInfo | URL, init?: RequestInit) => {
      const body = JSON.parse(String(init?.body));
      if (body.operationName === 'S') {
        online = 1;
        return json({
          data: {
            setHostState: {
              __typename: 'SetHostStatePayload',
              host: { __typename: 'Host', id: 'h2', state: 'MAINTENANCE', stateReason: 'disk', cluster: { __typename: 'Cluster', id: 'c1' } },
              userErrors: [],
            },
          },
        });
      }
      return json({ data: { cluster: cluster() } });
    });
    const client = createAppClient({ fetch });
    const seen: Array<{ online: number; listed: number }> = [];
    const sub = pipe(
      client.query(Cluster, {}),
      subscribe((r) => r.data?.cluster && seen.push({ online: r.data.cluster.hostCounts.online, listed: r.data.cluster.hosts.nodes.length })),
    );
    await vi.waitFor(() => expect(seen.at(-1)).toEqual({ online: 2, listed: 2 }));
    await client.mutation(SetState, { input: { hostId: 'h2', state: 'MAINTENANCE', reason: 'disk' } }).toPromise();
    await vi.waitFor(() => expect(seen.at(-1)).toEqual({ online: 1, listed: 1 }));
    sub.unsubscribe();
  });
});

describe('after a clustering run', () => {
  it('fetches the clustering on screen again', async () => {
    const View = graphql(`
      query V {
        machineClustering(filter: { kinds: [BATCH] }) {
          computedAt
          hostCount
        }
      }
    `);
    const Run = graphql(`
      mutation R {
        runClusteringAnalysis {
          clustering {
            computedAt
          }
          userErrors {
            message
          }
        }
      }
    `);
    let at = '2026-11-30T14:00:00Z';
    const fetch = vi.fn(async (_u: RequestInfo | URL, init?: RequestInit) => {
      const body = JSON.parse(String(init?.body));
      if (body.operationName === 'R') {
        at = '2026-11-30T15:00:00Z';
        return json({ data: { runClusteringAnalysis: { __typename: 'RunClusteringAnalysisPayload', clustering: { __typename: 'MachineClustering', computedAt: at }, userErrors: [] } } });
      }
      return json({ data: { machineClustering: { __typename: 'MachineClustering', computedAt: at, hostCount: 3 } } });
    });
    const client = createAppClient({ fetch });
    const seen: string[] = [];
    const sub = pipe(
      client.query(View, {}),
      subscribe((r) => r.data?.machineClustering && seen.push(r.data.machineClustering.computedAt)),
    );
    await vi.waitFor(() => expect(seen).toContain('2026-11-30T14:00:00Z'));
    await client.mutation(Run, {}).toPromise();
    await vi.waitFor(() => expect(seen.at(-1)).toBe('2026-11-30T15:00:00Z'));
    expect(fetch.mock.calls.map((c) => JSON.parse(String(c[1]?.body)).operationName)).toEqual(['V', 'R', 'V']);
    sub.unsubscribe();
  });
});
