// @vitest-environment jsdom
// The app's urql client: POSTs with the session cookie and the CSRF header,
// UNAUTHENTICATED back to sign-in, errors in the server's words, the cache
// invalidations after mutations, and subscriptions through the supervised socket.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CombinedError } from '@urql/core';
import { pipe, subscribe } from 'wonka';
import { createAppClient, cacheKeys } from '../src/lib/client';
import { codeFromStatus, codeOf, errorCodeOf, messageOf } from '../src/lib/errors';
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
