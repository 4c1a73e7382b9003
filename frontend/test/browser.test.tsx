// @vitest-environment jsdom
// Tests that need a DOM: GraphiQL's fetch wrapper and the sign-in form.
import { act } from 'react';
import { createRoot, type Root } from 'react-dom/client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { forgetCsrfToken } from '../src/lib/session';
import { createAuthFetch, subscriptionUrl } from '../src/graphiql/fetcher';
import { SignIn } from '../src/pages/SignIn';

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

const json = (b: unknown, status = 200) => new Response(JSON.stringify(b), { status, headers: { 'content-type': 'application/json' } });

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

describe('GraphiQL fetch wrapper', () => {
  it('adds credentials, CSRF and keeps user headers', async () => {
    document.cookie = 'tesla_csrf=gq-token; path=/';
    const base = vi.fn(async (_u: RequestInfo | URL, _i?: RequestInit) => json({ data: {} }));
    const onUnauthenticated = vi.fn();
    const f = createAuthFetch({ getBearer: () => null, onUnauthenticated, fetchFn: base as unknown as typeof fetch });
    await f('/query', { method: 'POST', headers: { 'content-type': 'application/json', 'X-Trace': '1' }, body: '{}' });
    const init = base.mock.calls[0][1]!;
    const h = init.headers as Headers;
    expect(init.credentials).toBe('same-origin');
    expect(h.get('x-csrf-token')).toBe('gq-token');
    expect(h.get('x-trace')).toBe('1');
    expect(h.get('authorization')).toBeNull();
    expect(onUnauthenticated).not.toHaveBeenCalled();
  });
  it('sends the bearer token and reports UNAUTHENTICATED', async () => {
    const base = vi.fn(async () => json({ errors: [{ message: 'no', extensions: { code: 'UNAUTHENTICATED' } }] }));
    const onUnauthenticated = vi.fn();
    const f = createAuthFetch({ getBearer: () => 'tsl_b', onUnauthenticated, fetchFn: base as unknown as typeof fetch });
    const res = await f('/query', { method: 'POST', body: '{}' });
    expect(((base.mock.calls[0] as unknown[])[1] as RequestInit).headers instanceof Headers).toBe(true);
    expect((((base.mock.calls[0] as unknown[])[1] as RequestInit).headers as Headers).get('authorization')).toBe('Bearer tsl_b');
    // GraphiQL still reads the body itself.
    expect((await res.json()).errors[0].message).toBe('no');
    await vi.waitFor(() => expect(onUnauthenticated).toHaveBeenCalledTimes(1));
  });
  it('builds the websocket URL', () => {
    expect(subscriptionUrl({ protocol: 'http:', host: '127.0.0.1:8080' })).toBe('ws://127.0.0.1:8080/query');
    expect(subscriptionUrl({ protocol: 'https:', host: 'tesla.example' })).toBe('wss://tesla.example/query');
  });
});

describe('SignIn page', () => {
  let host: HTMLDivElement;
  let root: Root;
  beforeEach(() => {
    host = document.createElement('div');
    document.body.appendChild(host);
    root = createRoot(host);
  });
  afterEach(() => {
    act(() => root.unmount());
    host.remove();
  });

  function type(input: HTMLInputElement, value: string) {
    const setter = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')!.set!;
    setter.call(input, value);
    input.dispatchEvent(new Event('input', { bubbles: true }));
  }

  it('shows the server error for a bad token and signs in with a good one', async () => {
    const fetch = vi.fn(async (_u: RequestInfo | URL, init?: RequestInit) => {
      const { token } = JSON.parse(String(init?.body));
      return token === 'tsl_good'
        ? json({ person: { login: 'ada', name: 'Ada', role: 'ADMIN' }, csrfToken: 'c' })
        : json({ error: 'unknown token' }, 401);
    });
    vi.stubGlobal('fetch', fetch);
    const onSignedIn = vi.fn();
    act(() => root.render(<SignIn onSignedIn={onSignedIn} />));
    const input = host.querySelector<HTMLInputElement>('[data-testid="token-input"]')!;
    const button = host.querySelector<HTMLButtonElement>('[data-testid="signin-submit"]')!;
    expect(button.disabled).toBe(true);

    await act(async () => type(input, 'tsl_bad'));
    expect(button.disabled).toBe(false);
    await act(async () => button.click());
    await vi.waitFor(() => expect(host.querySelector('[data-testid="signin-error"]')?.textContent).toBe('unknown token'));
    expect(onSignedIn).not.toHaveBeenCalled();

    await act(async () => type(input, 'tsl_good'));
    await act(async () => button.click());
    await vi.waitFor(() => expect(onSignedIn).toHaveBeenCalledTimes(1));
    expect(onSignedIn.mock.calls[0][0].person.login).toBe('ada');
    vi.unstubAllGlobals();
  });
});
