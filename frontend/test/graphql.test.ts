import { describe, expect, it, vi } from 'vitest';
import { codeFromStatus, createClient, errorCodeOf, GraphQLRequestError, operationNameOf } from '../src/lib/graphql';

/** The error a request fails with; fails the test if it succeeds. */
async function failure(p: Promise<unknown>): Promise<GraphQLRequestError> {
  try {
    await p;
  } catch (e) {
    return e as GraphQLRequestError;
  }
  throw new Error('expected the request to fail');
}

function jsonResponse(body: unknown, status = 200, type = 'application/json') {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': type } });
}

function mockFetch(res: Response | (() => Response | Promise<Response>)) {
  return vi.fn(async (_input: RequestInfo | URL, _init?: RequestInit) => (typeof res === 'function' ? res() : res));
}

describe('errorCodeOf', () => {
  it('takes the first known extensions.code', () => {
    expect(errorCodeOf([{ message: 'x', extensions: { code: 'FORBIDDEN' } }])).toBe('FORBIDDEN');
    expect(errorCodeOf([{ message: 'a' }, { message: 'b', extensions: { code: 'NOT_FOUND' } }])).toBe('NOT_FOUND');
    expect(errorCodeOf([{ message: 'x', extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }], 422)).toBe('GRAPHQL_VALIDATION_FAILED');
  });
  it('lets UNAUTHENTICATED win over other codes', () => {
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
  });
  it('maps statuses', () => {
    expect(codeFromStatus(401)).toBe('UNAUTHENTICATED');
    expect(codeFromStatus(403)).toBe('FORBIDDEN');
    expect(codeFromStatus(404)).toBe('NOT_FOUND');
    expect(codeFromStatus(409)).toBe('CONFLICT');
    expect(codeFromStatus(400)).toBe('BAD_USER_INPUT');
    expect(codeFromStatus(502)).toBe('INTERNAL');
    expect(codeFromStatus(418)).toBe('UNKNOWN');
  });
});

describe('operationNameOf', () => {
  it('finds the first named operation', () => {
    expect(operationNameOf('query ClustersOverview($x: Int) { a }')).toBe('ClustersOverview');
    expect(operationNameOf('mutation SetState { a }')).toBe('SetState');
    expect(operationNameOf('{ a }')).toBeUndefined();
  });
});

describe('createClient', () => {
  it('POSTs JSON to /query with same-origin credentials and the CSRF header', async () => {
    const fetch = mockFetch(jsonResponse({ data: { platform: { clusterCount: 3 } } }));
    const client = createClient({ fetch, getCsrfToken: () => 'csrf-123' });
    const data = await client.request<{ platform: { clusterCount: number } }>('query P($a: Int) { platform { clusterCount } }', { a: 1 });
    expect(data.platform.clusterCount).toBe(3);
    expect(fetch).toHaveBeenCalledTimes(1);
    const [url, init] = fetch.mock.calls[0];
    expect(url).toBe('/query');
    expect(init?.method).toBe('POST');
    expect(init?.credentials).toBe('same-origin');
    const headers = init?.headers as Record<string, string>;
    expect(headers['X-CSRF-Token']).toBe('csrf-123');
    expect(headers['Content-Type']).toBe('application/json');
    expect(headers.Authorization).toBeUndefined();
    expect(JSON.parse(String(init?.body))).toEqual({
      query: 'query P($a: Int) { platform { clusterCount } }',
      variables: { a: 1 },
      operationName: 'P',
    });
  });

  it('omits the CSRF header when there is no token, and sends a bearer token when given', async () => {
    const fetch = mockFetch(() => jsonResponse({ data: { ok: true } }));
    const client = createClient({ fetch, getCsrfToken: () => null, bearerToken: 'tsl_abc' });
    await client.request('{ ok }');
    const headers = fetch.mock.calls[0][1]?.headers as Record<string, string>;
    expect('X-CSRF-Token' in headers).toBe(false);
    expect(headers.Authorization).toBe('Bearer tsl_abc');
  });

  it('throws GraphQLRequestError with the code and messages of GraphQL errors', async () => {
    const fetch = mockFetch(() =>
      jsonResponse({ data: null, errors: [{ message: 'no such cluster', extensions: { code: 'NOT_FOUND' } }] }),
    );
    const onUnauthenticated = vi.fn();
    const client = createClient({ fetch, getCsrfToken: () => 'c', onUnauthenticated });
    const err = await failure(client.request('{ cluster(name: "x") { id } }'));
    expect(err).toBeInstanceOf(GraphQLRequestError);
    expect(err.code).toBe('NOT_FOUND');
    expect(err.message).toBe('no such cluster');
    expect(err.status).toBe(200);
    expect(onUnauthenticated).not.toHaveBeenCalled();
  });

  it('keeps partial data beside errors', async () => {
    const fetch = mockFetch(() =>
      jsonResponse({ data: { a: 1, b: null }, errors: [{ message: 'denied', path: ['b'], extensions: { code: 'FORBIDDEN' } }] }),
    );
    const err = await failure(createClient({ fetch, getCsrfToken: () => 'c' }).request('{ a b }'));
    expect(err.code).toBe('FORBIDDEN');
    expect(err.data).toEqual({ a: 1, b: null });
  });

  it('calls onUnauthenticated for UNAUTHENTICATED errors and for a bare 401', async () => {
    const onUnauthenticated = vi.fn();
    const f1 = mockFetch(() =>
      jsonResponse({ errors: [{ message: 'not signed in', extensions: { code: 'UNAUTHENTICATED' } }] }, 401, 'application/graphql-response+json'),
    );
    const e1 = await failure(createClient({ fetch: f1, getCsrfToken: () => null, onUnauthenticated }).request('{ me { role } }'));
    expect(e1.code).toBe('UNAUTHENTICATED');
    expect(onUnauthenticated).toHaveBeenCalledTimes(1);
    expect(onUnauthenticated.mock.calls[0][0]).toBe(e1);

    const f2 = mockFetch(() => new Response('unauthorized', { status: 401, headers: { 'content-type': 'text/plain' } }));
    const e2 = await failure(createClient({ fetch: f2, getCsrfToken: () => null, onUnauthenticated }).request('{ me { role } }'));
    expect(e2.code).toBe('UNAUTHENTICATED');
    expect(e2.status).toBe(401);
    expect(onUnauthenticated).toHaveBeenCalledTimes(2);
  });

  it('uses a handler set later with setOnUnauthenticated', async () => {
    const fetch = mockFetch(() => jsonResponse({ errors: [{ message: 'x', extensions: { code: 'UNAUTHENTICATED' } }] }));
    const client = createClient({ fetch, getCsrfToken: () => null });
    const later = vi.fn();
    client.setOnUnauthenticated(later);
    await client.request('{ a }').catch(() => undefined);
    expect(later).toHaveBeenCalledTimes(1);
    client.setOnUnauthenticated(undefined);
    await client.request('{ a }').catch(() => undefined);
    expect(later).toHaveBeenCalledTimes(1);
  });

  it('maps HTTP failures without a GraphQL body', async () => {
    const f = mockFetch(() => new Response('<html>bad gateway</html>', { status: 502, headers: { 'content-type': 'text/html' } }));
    const err = await failure(createClient({ fetch: f, getCsrfToken: () => null }).request('{ a }'));
    expect(err.code).toBe('INTERNAL');
    expect(err.status).toBe(502);
    expect(err.message).toContain('502');
  });

  it('maps network failures to NETWORK', async () => {
    const f = vi.fn(async () => {
      throw new TypeError('Failed to fetch');
    });
    const err = await failure(createClient({ fetch: f, getCsrfToken: () => null }).request('{ a }'));
    expect(err).toBeInstanceOf(GraphQLRequestError);
    expect(err.code).toBe('NETWORK');
    expect(err.status).toBe(0);
  });

  it('treats a 200 without data as an error', async () => {
    const f = mockFetch(() => jsonResponse({}));
    const err = await failure(createClient({ fetch: f, getCsrfToken: () => null }).request('{ a }'));
    expect(err.code).toBe('INTERNAL');
  });

  it('rethrows aborts untouched', async () => {
    const f = vi.fn(async () => {
      throw new DOMException('aborted', 'AbortError');
    });
    const onUnauthenticated = vi.fn();
    const err = await failure(createClient({ fetch: f, getCsrfToken: () => null, onUnauthenticated }).request('{ a }'));
    expect(err).not.toBeInstanceOf(GraphQLRequestError);
    expect(err.name).toBe('AbortError');
  });
});
