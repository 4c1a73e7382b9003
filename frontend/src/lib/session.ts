// The browser session the Go backend issues for an API token:
//   POST   /api/v1/session {"token":"tsl_..."} → 200 {person, csrfToken}, sets
//          tesla_session (HttpOnly) and tesla_csrf (readable) cookies; 401 {error} for a bad token, 403 for one limited to ingestion
//   GET    /api/v1/session → 200 same body when signed in, 401 otherwise
//   DELETE /api/v1/session with X-CSRF-Token → 204
// Used by both the app (index.html) and GraphiQL (graphiql.html).

export type Role = 'VIEWER' | 'BU_ADMIN' | 'OPERATOR' | 'ADMIN';

export interface SessionPerson {
  login: string;
  name: string;
  role: Role;
}

export interface Session {
  person: SessionPerson;
  csrfToken: string;
}

export const SESSION_URL = '/api/v1/session';
export const CSRF_COOKIE = 'tesla_csrf';
export const CSRF_HEADER = 'X-CSRF-Token';

type FetchFn = typeof fetch;

/** Reads one cookie from a `document.cookie`-style string. */
export function readCookie(name: string, cookies?: string): string | null {
  const source = cookies ?? (typeof document !== 'undefined' ? document.cookie : '');
  for (const part of source.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) {
      const raw = part.slice(eq + 1).trim();
      try {
        return decodeURIComponent(raw);
      } catch {
        return raw;
      }
    }
  }
  return null;
}

// The csrfToken of the last session response, used if the cookie cannot be
// read (it is the same value as the tesla_csrf cookie).
let rememberedCsrf: string | null = null;

/** The CSRF token to send with state-changing requests: the cookie, else the last one seen. */
export function getCsrfToken(): string | null {
  return readCookie(CSRF_COOKIE) || rememberedCsrf;
}

/** For tests and sign-out. */
export function forgetCsrfToken(): void {
  rememberedCsrf = null;
}

/** An error from the session endpoints with the server's message. */
export class SessionError extends Error {
  readonly status: number;
  constructor(message: string, status: number) {
    super(message);
    this.name = 'SessionError';
    this.status = status;
  }
}

async function errorMessage(res: Response, fallback: string): Promise<string> {
  try {
    const body = (await res.json()) as { error?: unknown; message?: unknown };
    if (typeof body?.error === 'string' && body.error) return body.error;
    if (typeof body?.message === 'string' && body.message) return body.message;
  } catch {
    /* not JSON */
  }
  return fallback;
}

function parseSession(body: unknown): Session {
  const b = body as Partial<Session> | null;
  if (!b || !b.person || typeof b.person.login !== 'string') {
    throw new SessionError('The server sent an unexpected session response.', 500);
  }
  const session: Session = {
    person: { login: b.person.login, name: b.person.name || b.person.login, role: b.person.role },
    csrfToken: typeof b.csrfToken === 'string' ? b.csrfToken : '',
  };
  if (session.csrfToken) rememberedCsrf = session.csrfToken;
  return session;
}

/** The current session, or null when not signed in (401). */
export async function fetchSession(fetchFn: FetchFn = fetch): Promise<Session | null> {
  const res = await fetchFn(SESSION_URL, {
    method: 'GET',
    credentials: 'same-origin',
    headers: { Accept: 'application/json' },
  });
  if (res.status === 401) return null;
  if (!res.ok) throw new SessionError(await errorMessage(res, `Session check failed (HTTP ${res.status}).`), res.status);
  return parseSession(await res.json());
}

/** Signs in with an API token. A bad token throws SessionError with status 401. */
export async function signIn(token: string, fetchFn: FetchFn = fetch): Promise<Session> {
  const trimmed = token.trim();
  if (!trimmed) throw new SessionError('Paste an API token first.', 400);
  let res: Response;
  try {
    res = await fetchFn(SESSION_URL, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ token: trimmed }),
    });
  } catch {
    throw new SessionError('Cannot reach the Tesla server.', 0);
  }
  if (res.status === 401) {
    throw new SessionError(await errorMessage(res, 'That token is not valid.'), 401);
  }
  if (!res.ok) throw new SessionError(await errorMessage(res, `Sign-in failed (HTTP ${res.status}).`), res.status);
  return parseSession(await res.json());
}

/** Signs out (the server clears both cookies). A 401 means already signed out. */
export async function signOut(fetchFn: FetchFn = fetch): Promise<void> {
  const csrf = getCsrfToken();
  const headers: Record<string, string> = {};
  if (csrf) headers[CSRF_HEADER] = csrf;
  const res = await fetchFn(SESSION_URL, { method: 'DELETE', credentials: 'same-origin', headers });
  rememberedCsrf = null;
  if (!res.ok && res.status !== 401) {
    throw new SessionError(await errorMessage(res, `Sign-out failed (HTTP ${res.status}).`), res.status);
  }
}
