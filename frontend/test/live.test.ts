import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ClientOptions, Sink } from 'graphql-ws';
import { describeLiveError, startLive, type LiveInfo, type WsClientLike } from '../src/lib/live';

interface Fake {
  opts: ClientOptions;
  sink: Sink | null;
  payload: unknown;
  disposed: boolean;
  terminated: boolean;
  unsubscribed: boolean;
}

function harness() {
  const clients: Fake[] = [];
  const factory = (opts: ClientOptions): WsClientLike => {
    const f: Fake = { opts, sink: null, payload: null, disposed: false, terminated: false, unsubscribed: false };
    clients.push(f);
    return {
      subscribe: ((payload: unknown, sink: Sink) => {
        f.payload = payload;
        f.sink = sink;
        return () => {
          f.unsubscribed = true;
        };
      }) as WsClientLike['subscribe'],
      dispose: () => {
        f.disposed = true;
      },
      terminate: () => {
        f.terminated = true;
      },
    };
  };
  const infos: LiveInfo[] = [];
  const data: unknown[] = [];
  const last = () => clients[clients.length - 1];
  const on = (c: Fake) => c.opts.on as Required<NonNullable<ClientOptions['on']>>;
  return { clients, factory, infos, data, last, on };
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('startLive', () => {
  it('subscribes with a lazy client that never retries on its own', () => {
    const h = harness();
    const live = startLive({ query: 'subscription S { x }', variables: { a: 1 }, onData: (d) => h.data.push(d), onInfo: (i) => h.infos.push(i), createClient: h.factory, url: 'ws://x/query' });
    expect(h.clients).toHaveLength(1);
    expect(h.last().opts).toMatchObject({ url: 'ws://x/query', lazy: true, retryAttempts: 0 });
    expect(h.last().payload).toEqual({ query: 'subscription S { x }', variables: { a: 1 } });
    expect(h.infos.at(-1)?.status).toBe('connecting');
    live.stop();
  });

  it('goes live on connection_ack and forwards data', () => {
    const h = harness();
    const live = startLive({ query: 's', onData: (d) => h.data.push(d), onInfo: (i) => h.infos.push(i), createClient: h.factory, random: () => 0.5 });
    h.on(h.last()).connected({} as never, undefined, false);
    expect(live.info().status).toBe('live');
    h.last().sink!.next({ data: { n: 1 } });
    h.last().sink!.next({ data: { n: 2 } });
    expect(h.data).toEqual([{ n: 1 }, { n: 2 }]);
    live.stop();
  });

  it('reconnects forever with the back-off schedule, and resets it once connected', () => {
    const h = harness();
    const live = startLive({ query: 's', onData: () => undefined, onInfo: (i) => h.infos.push(i), createClient: h.factory, random: () => 0.5 });
    h.on(h.last()).connected({} as never, undefined, false);
    // the server goes away
    h.on(h.last()).closed({ code: 1006, reason: '' });
    expect(h.clients[0].disposed && h.clients[0].terminated && h.clients[0].unsubscribed).toBe(true);
    expect(live.info()).toMatchObject({ status: 'reconnecting', attempt: 1, drops: 1, lastError: 'socket closed (1006)' });
    const delays: number[] = [];
    for (let i = 0; i < 7; i++) {
      const before = h.clients.length;
      const info = live.info();
      delays.push(info.nextRetryAt! - Date.now());
      vi.advanceTimersByTime(info.nextRetryAt! - Date.now() - 1);
      expect(h.clients.length).toBe(before); // not yet
      vi.advanceTimersByTime(1);
      expect(h.clients.length).toBe(before + 1);
      h.on(h.last()).closed({ code: 1006, reason: '' }); // still down
    }
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16000, 20000, 20000]);
    expect(live.info().status).toBe('reconnecting');
    // the server is back
    vi.advanceTimersByTime(live.info().nextRetryAt! - Date.now());
    h.on(h.last()).connected({} as never, undefined, false);
    expect(live.info()).toMatchObject({ status: 'live', attempt: 0, drops: 1, lastError: null });
    h.on(h.last()).closed({ code: 1001, reason: 'going away' });
    expect(live.info().nextRetryAt! - Date.now()).toBe(1000);
    expect(live.info().drops).toBe(2);
    live.stop();
  });

  it('treats errors, completion and error-only results as drops; ignores late events of old clients', () => {
    const h = harness();
    const live = startLive({ query: 's', onData: (d) => h.data.push(d), createClient: h.factory, random: () => 0.5 });
    const first = h.last();
    first.sink!.error([{ message: 'boom' }]);
    expect(live.info()).toMatchObject({ status: 'reconnecting', lastError: 'boom' });
    // the old client reports again: no second reconnect is scheduled
    h.on(first).closed({ code: 1000, reason: '' });
    first.sink!.next({ data: { stale: true } });
    expect(h.data).toEqual([]);
    vi.advanceTimersByTime(1000);
    expect(h.clients).toHaveLength(2);
    h.last().sink!.complete();
    expect(live.info().lastError).toBe('subscription ended');
    vi.advanceTimersByTime(2000);
    h.last().sink!.next({ errors: [{ message: 'not allowed' }] } as never);
    expect(live.info().lastError).toBe('not allowed');
    expect(h.clients).toHaveLength(3);
    live.stop();
  });

  it('reconnects when the connection goes silent', () => {
    const h = harness();
    const live = startLive({ query: 's', onData: () => undefined, createClient: h.factory, staleAfterMs: 30_000, random: () => 0.5 });
    h.on(h.last()).connected({} as never, undefined, false);
    vi.advanceTimersByTime(20_000);
    h.on(h.last()).ping(true, undefined); // server pings keep it alive
    vi.advanceTimersByTime(20_000);
    expect(live.info().status).toBe('live');
    vi.advanceTimersByTime(15_000);
    expect(live.info()).toMatchObject({ status: 'reconnecting', lastError: 'no message for 30s' });
    live.stop();
  });

  it('stop() closes the socket and cancels every timer; retryNow() skips the wait', () => {
    const h = harness();
    const live = startLive({ query: 's', onData: () => undefined, createClient: h.factory, random: () => 0.5 });
    h.on(h.last()).closed({ code: 1006, reason: '' });
    expect(live.info().nextRetryAt! - Date.now()).toBe(1000);
    live.retryNow();
    expect(h.clients).toHaveLength(2);
    live.stop();
    expect(h.last().disposed).toBe(true);
    expect(live.info().status).toBe('stopped');
    vi.advanceTimersByTime(10 * 60_000);
    expect(h.clients).toHaveLength(2);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('keeps trying when a client cannot even be created', () => {
    let n = 0;
    const live = startLive({
      query: 's',
      onData: () => undefined,
      random: () => 0.5,
      createClient: () => {
        n++;
        throw new Error('WebSocket implementation missing');
      },
    });
    expect(live.info()).toMatchObject({ status: 'reconnecting', lastError: 'WebSocket implementation missing' });
    vi.advanceTimersByTime(1000 + 2000 + 4000);
    expect(n).toBe(4);
    live.stop();
  });
});

describe('describeLiveError', () => {
  it('describes what graphql-ws hands to sinks', () => {
    expect(describeLiveError({ code: 4403, reason: 'Forbidden' })).toBe('socket closed (4403: Forbidden)');
    expect(describeLiveError([{ message: 'a' }, { message: 'b' }])).toBe('a; b');
    expect(describeLiveError(new Error('x'))).toBe('x');
    expect(describeLiveError({ type: 'error' })).toBe('socket error');
  });
});
