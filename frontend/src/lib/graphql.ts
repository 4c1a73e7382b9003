// A small GraphQL-over-HTTP client for the Tesla API at /query.
//
// Every request is a POST with credentials 'same-origin' (the session cookie)
// and the X-CSRF-Token header (the backend rejects cookie-authenticated POSTs
// without it), or an Authorization: Bearer header when given a token.
// Errors are thrown as GraphQLRequestError with a normalised `code`; on
// UNAUTHENTICATED the client calls `onUnauthenticated` so the app can return
// to the sign-in page.

import { CSRF_HEADER, getCsrfToken } from './session';

/** Error codes the backend puts in `extensions.code`, plus client-side ones. */
export type ErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'BAD_USER_INPUT'
  | 'CONFLICT'
  | 'INTERNAL'
  | 'GRAPHQL_PARSE_FAILED'
  | 'GRAPHQL_VALIDATION_FAILED'
  | 'NETWORK'
  | 'UNKNOWN';

export const SERVER_CODES: readonly ErrorCode[] = [
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'BAD_USER_INPUT',
  'CONFLICT',
  'INTERNAL',
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
];

export interface GraphQLErrorItem {
  message: string;
  path?: Array<string | number>;
  locations?: Array<{ line: number; column: number }>;
  extensions?: { code?: string; [k: string]: unknown };
}

export interface GraphQLResponse<T> {
  data?: T | null;
  errors?: GraphQLErrorItem[];
}

export class GraphQLRequestError extends Error {
  /** Normalised code: the first known server code, else one derived from the HTTP status. */
  readonly code: ErrorCode;
  /** HTTP status, 0 when the request never got an answer. */
  readonly status: number;
  readonly errors: GraphQLErrorItem[];
  /** Partial data the server returned beside the errors, if any. */
  readonly data: unknown;

  constructor(message: string, code: ErrorCode, status: number, errors: GraphQLErrorItem[] = [], data: unknown = null) {
    super(message);
    this.name = 'GraphQLRequestError';
    this.code = code;
    this.status = status;
    this.errors = errors;
    this.data = data;
  }
}

/** Maps an HTTP status to an error code, for answers without `extensions.code`. */
export function codeFromStatus(status: number): ErrorCode {
  if (status === 401) return 'UNAUTHENTICATED';
  if (status === 403) return 'FORBIDDEN';
  if (status === 404) return 'NOT_FOUND';
  if (status === 409) return 'CONFLICT';
  if (status === 400 || status === 422) return 'BAD_USER_INPUT';
  if (status >= 500) return 'INTERNAL';
  return 'UNKNOWN';
}

/**
 * The code for a list of GraphQL errors. UNAUTHENTICATED anywhere wins (the
 * session is gone, nothing else matters); otherwise the first known code;
 * otherwise the HTTP status decides.
 */
export function errorCodeOf(errors: GraphQLErrorItem[] | undefined, status = 200): ErrorCode {
  const codes = (errors ?? []).map((e) => String(e?.extensions?.code ?? '').toUpperCase());
  if (codes.includes('UNAUTHENTICATED')) return 'UNAUTHENTICATED';
  const known = codes.find((c) => (SERVER_CODES as readonly string[]).includes(c));
  if (known) return known as ErrorCode;
  if (status >= 400) return codeFromStatus(status);
  return errors && errors.length ? 'UNKNOWN' : codeFromStatus(status);
}

/** A human sentence for an error code, shown above the server's message. */
export function describeCode(code: ErrorCode): string {
  switch (code) {
    case 'UNAUTHENTICATED':
      return 'You are not signed in (or your session expired).';
    case 'FORBIDDEN':
      return 'Your role does not allow this.';
    case 'NOT_FOUND':
      return 'Not found.';
    case 'BAD_USER_INPUT':
      return 'The request was not valid.';
    case 'CONFLICT':
      return 'The change conflicts with the current state.';
    case 'INTERNAL':
      return 'The server had a problem.';
    case 'NETWORK':
      return 'Cannot reach the Tesla server.';
    case 'GRAPHQL_PARSE_FAILED':
    case 'GRAPHQL_VALIDATION_FAILED':
      return 'The query does not match the server schema.';
    default:
      return 'The request failed.';
  }
}

export interface ClientOptions {
  /** GraphQL endpoint, default "/query". */
  endpoint?: string;
  fetch?: typeof fetch;
  /** Where the CSRF token comes from; default the tesla_csrf cookie. */
  getCsrfToken?: () => string | null;
  /** An API token: sends Authorization: Bearer instead of relying on the cookie. */
  bearerToken?: string | null;
  /** Called once per failing request whose code is UNAUTHENTICATED. */
  onUnauthenticated?: (err: GraphQLRequestError) => void;
}

export interface RequestOptions {
  operationName?: string;
  signal?: AbortSignal;
}

export interface GraphQLClient {
  request<T = unknown>(query: string, variables?: Record<string, unknown>, opts?: RequestOptions): Promise<T>;
  /** Replaces the UNAUTHENTICATED handler (the app sets it once it has a session state). */
  setOnUnauthenticated(fn: ((err: GraphQLRequestError) => void) | undefined): void;
}

/** The operation name of the first named operation in a document, if any. */
export function operationNameOf(query: string): string | undefined {
  const m = /\b(?:query|mutation|subscription)\s+([_A-Za-z][_0-9A-Za-z]*)/.exec(query);
  return m ? m[1] : undefined;
}

function isAbort(err: unknown): boolean {
  return err instanceof DOMException ? err.name === 'AbortError' : (err as { name?: string })?.name === 'AbortError';
}

export function createClient(options: ClientOptions = {}): GraphQLClient {
  const endpoint = options.endpoint ?? '/query';
  const csrf = options.getCsrfToken ?? getCsrfToken;
  let onUnauthenticated = options.onUnauthenticated;

  async function request<T>(query: string, variables: Record<string, unknown> = {}, opts: RequestOptions = {}): Promise<T> {
    const fetchFn = options.fetch ?? globalThis.fetch.bind(globalThis);
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      Accept: 'application/graphql-response+json, application/json',
    };
    if (options.bearerToken) headers.Authorization = `Bearer ${options.bearerToken}`;
    const token = csrf();
    if (token) headers[CSRF_HEADER] = token;

    const fail = (err: GraphQLRequestError): never => {
      if (err.code === 'UNAUTHENTICATED' && onUnauthenticated) onUnauthenticated(err);
      throw err;
    };

    let res: Response;
    try {
      res = await fetchFn(endpoint, {
        method: 'POST',
        credentials: 'same-origin',
        headers,
        body: JSON.stringify({ query, variables, operationName: opts.operationName ?? operationNameOf(query) }),
        signal: opts.signal,
      });
    } catch (err) {
      if (isAbort(err)) throw err;
      throw new GraphQLRequestError(describeCode('NETWORK'), 'NETWORK', 0);
    }

    let body: GraphQLResponse<T> | null = null;
    const type = res.headers.get('content-type') ?? '';
    if (type.includes('json')) {
      try {
        body = (await res.json()) as GraphQLResponse<T>;
      } catch (err) {
        if (isAbort(err)) throw err;
        body = null;
      }
    }

    const errors = Array.isArray(body?.errors) ? body!.errors : [];
    if (errors.length) {
      const code = errorCodeOf(errors, res.status);
      const message = errors.map((e) => e.message).filter(Boolean).join('; ') || describeCode(code);
      return fail(new GraphQLRequestError(message, code, res.status, errors, body?.data ?? null));
    }
    if (!res.ok || !body || body.data == null) {
      const code = res.ok ? 'INTERNAL' : codeFromStatus(res.status);
      const message = res.ok ? 'The server sent no data.' : `${describeCode(code)} (HTTP ${res.status})`;
      return fail(new GraphQLRequestError(message, code, res.status));
    }
    return body.data as T;
  }

  return {
    request,
    setOnUnauthenticated(fn) {
      onUnauthenticated = fn;
    },
  };
}
