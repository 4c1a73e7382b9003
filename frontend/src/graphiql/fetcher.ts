// The fetch used by GraphiQL: same-origin cookies plus the X-CSRF-Token header
// read from the tesla_csrf cookie on every request, or Authorization: Bearer
// when the user chose to use a token without a session. Headers typed into
// GraphiQL's header editor are kept and win.

import { CSRF_HEADER, getCsrfToken } from '../lib/session';

export interface AuthFetchOptions {
  getBearer: () => string | null;
  onUnauthenticated: () => void;
  fetchFn?: typeof fetch;
}

function hasUnauthenticated(body: unknown): boolean {
  const errors = (body as { errors?: Array<{ extensions?: { code?: unknown } }> } | null)?.errors;
  return Array.isArray(errors) && errors.some((e) => e?.extensions?.code === 'UNAUTHENTICATED');
}

export function createAuthFetch(opts: AuthFetchOptions): typeof fetch {
  return async (input, init = {}) => {
    const base = opts.fetchFn ?? globalThis.fetch.bind(globalThis);
    const headers = new Headers();
    const bearer = opts.getBearer();
    if (bearer) headers.set('Authorization', `Bearer ${bearer}`);
    const csrf = getCsrfToken();
    if (csrf) headers.set(CSRF_HEADER, csrf);
    new Headers(init.headers ?? {}).forEach((v, k) => headers.set(k, v));
    const res = await base(input, { ...init, headers, credentials: 'same-origin' });
    if (res.status === 401) {
      opts.onUnauthenticated();
    } else if ((res.headers.get('content-type') ?? '').includes('json')) {
      res
        .clone()
        .json()
        .then((b) => hasUnauthenticated(b) && opts.onUnauthenticated())
        .catch(() => undefined);
    }
    return res;
  };
}

/** ws:// or wss:// URL of /query on this origin. */
export function subscriptionUrl(loc: { protocol: string; host: string } = window.location): string {
  return `${loc.protocol === 'https:' ? 'wss:' : 'ws:'}//${loc.host}/query`;
}
