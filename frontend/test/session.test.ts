import { afterEach, describe, expect, it, vi } from 'vitest';
import { fetchSession, forgetCsrfToken, getCsrfToken, readCookie, SessionError, signIn, signOut } from '../src/lib/session';

const okBody = { person: { login: 'ada', name: 'Ada Lovelace', role: 'ADMIN' }, csrfToken: 'csrf-xyz' };
const json = (b: unknown, status = 200) => new Response(JSON.stringify(b), { status, headers: { 'content-type': 'application/json' } });

afterEach(() => forgetCsrfToken());

describe('readCookie', () => {
  it('finds one cookie among several and decodes it', () => {
    expect(readCookie('tesla_csrf', 'a=1; tesla_csrf=abc%3D%3D; b=2')).toBe('abc==');
    expect(readCookie('tesla_csrf', 'tesla_csrf_old=1; x=2')).toBeNull();
    expect(readCookie('a', 'a=1')).toBe('1');
    expect(readCookie('a', '')).toBeNull();
  });
});

describe('signIn', () => {
  it('POSTs the token as JSON and returns the session', async () => {
    const fetch = vi.fn(async (_u: RequestInfo | URL, _i?: RequestInit) => json(okBody));
    const s = await signIn('  tsl_secret  ', fetch);
    expect(s.person).toEqual({ login: 'ada', name: 'Ada Lovelace', role: 'ADMIN' });
    expect(s.csrfToken).toBe('csrf-xyz');
    const [url, init] = fetch.mock.calls[0];
    expect(url).toBe('/api/v1/session');
    expect(init?.method).toBe('POST');
    expect(init?.credentials).toBe('same-origin');
    expect(JSON.parse(String(init?.body))).toEqual({ token: 'tsl_secret' });
    // Remembered as a fallback when the cookie cannot be read.
    expect(getCsrfToken()).toBe('csrf-xyz');
  });
  it('shows the server message for a bad token', async () => {
    const fetch = vi.fn(async () => json({ error: 'invalid or revoked token' }, 401));
    const err = await signIn('tsl_bad', fetch).catch((e) => e);
    expect(err).toBeInstanceOf(SessionError);
    expect(err.status).toBe(401);
    expect(err.message).toBe('invalid or revoked token');
  });
  it('has a clear message when the 401 has no body', async () => {
    const fetch = vi.fn(async () => new Response('', { status: 401 }));
    const err = await signIn('tsl_bad', fetch).catch((e) => e);
    expect(err.message).toMatch(/not valid/);
  });
  it('refuses an empty token without calling the server', async () => {
    const fetch = vi.fn();
    await expect(signIn('   ', fetch as unknown as typeof globalThis.fetch)).rejects.toThrow(/token/);
    expect(fetch).not.toHaveBeenCalled();
  });
});

describe('fetchSession', () => {
  it('returns null on 401 and the session on 200', async () => {
    expect(await fetchSession(vi.fn(async () => new Response('', { status: 401 })))).toBeNull();
    const s = await fetchSession(vi.fn(async () => json(okBody)));
    expect(s?.person.login).toBe('ada');
  });
  it('throws on other failures', async () => {
    await expect(fetchSession(vi.fn(async () => json({ error: 'db down' }, 503)))).rejects.toThrow('db down');
  });
});

describe('signOut', () => {
  it('sends DELETE with the CSRF token', async () => {
    await signIn('tsl_x', vi.fn(async () => json(okBody)));
    const fetch = vi.fn(async (_u: RequestInfo | URL, _i?: RequestInit) => new Response(null, { status: 204 }));
    await signOut(fetch);
    const [url, init] = fetch.mock.calls[0];
    expect(url).toBe('/api/v1/session');
    expect(init?.method).toBe('DELETE');
    expect((init?.headers as Record<string, string>)['X-CSRF-Token']).toBe('csrf-xyz');
    expect(getCsrfToken()).toBeNull();
  });
  it('accepts 401 (already signed out) but not 500', async () => {
    await expect(signOut(vi.fn(async () => new Response('', { status: 401 })))).resolves.toBeUndefined();
    await expect(signOut(vi.fn(async () => new Response('', { status: 500 })))).rejects.toThrow(/500/);
  });
});
