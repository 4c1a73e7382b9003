// What went wrong with a GraphQL request, in the words the pages show: a
// normalised code (the server's extensions.code, or one derived from the HTTP
// status or a network failure), a sentence for it, and the server's message.

import { CombinedError } from '@urql/core';

/** Error codes the backend puts in `extensions.code`, plus client-side ones. */
export type ErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'BAD_USER_INPUT'
  | 'CONFLICT'
  | 'RATE_LIMITED'
  | 'TIMEOUT'
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
  'RATE_LIMITED',
  'TIMEOUT',
  'INTERNAL',
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
];

interface ErrorItem {
  message: string;
  extensions?: { code?: unknown; [k: string]: unknown };
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
export function errorCodeOf(errors: readonly ErrorItem[] | undefined, status = 200): ErrorCode {
  const codes = (errors ?? []).map((e) => String(e?.extensions?.code ?? '').toUpperCase());
  if (codes.includes('UNAUTHENTICATED')) return 'UNAUTHENTICATED';
  const known = codes.find((c) => (SERVER_CODES as readonly string[]).includes(c));
  if (known) return known as ErrorCode;
  if (status >= 400) return codeFromStatus(status);
  return errors && errors.length ? 'UNKNOWN' : codeFromStatus(status);
}

/** The HTTP status of the response behind an error, 0 without one. */
function statusOf(err: CombinedError): number {
  const r = err.response as { status?: unknown } | undefined;
  return typeof r?.status === 'number' ? r.status : 0;
}

/** The normalised code of any error a page may hold (null for non-GraphQL errors). */
export function codeOf(err: unknown): ErrorCode | null {
  if (!(err instanceof CombinedError)) return null;
  const status = statusOf(err);
  if (err.graphQLErrors.length) return errorCodeOf(err.graphQLErrors, status);
  if (status >= 400) return codeFromStatus(status);
  return 'NETWORK';
}

/** The server's words for an error, without urql's "[GraphQL]" prefixes. */
export function messageOf(err: unknown): string {
  if (err instanceof CombinedError) {
    const msgs = err.graphQLErrors.map((e) => e.message).filter(Boolean);
    if (msgs.length) return msgs.join('; ');
    const code = codeOf(err) ?? 'UNKNOWN';
    const status = statusOf(err);
    return status ? `${describeCode(code)} (HTTP ${status})` : describeCode(code);
  }
  return (err as Error)?.message || String(err);
}

/** Whether an error means the session is gone. */
export function isUnauthenticated(err: unknown): boolean {
  return codeOf(err) === 'UNAUTHENTICATED';
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
    case 'RATE_LIMITED':
      return 'The server is busy with requests like this one.';
    case 'TIMEOUT':
      return 'The request took too long.';
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

/**
 * For an error that asks to be retried (RATE_LIMITED: another expensive request
 * of the same person still runs, or the server runs its most at once), the
 * seconds the server suggests waiting; null for every other error.
 */
export function retryAfterOf(err: unknown): number | null {
  if (codeOf(err) !== 'RATE_LIMITED' || !(err instanceof CombinedError)) return null;
  for (const e of err.graphQLErrors) {
    const s = Number(e.extensions?.retryAfterSeconds);
    if (Number.isFinite(s) && s > 0) return s;
  }
  return 1;
}
