// A GraphQL subscription that stays up forever: graphql-ws over /query
// (graphql-transport-ws), supervised here rather than by graphql-ws's own retry
// (which gives up after a few attempts and reconnects without delay after a
// normal close). Every drop — socket closed, server restarting, an error
// message, a completed stream, or silence longer than `staleAfterMs` — tears the
// client down and connects a new one after backoffDelay(attempt). The attempt
// counter resets once a connection is acknowledged. `status` tells the UI what
// is going on (connecting → live → reconnecting → live …).
//
// The browser sends the session cookie with the websocket upgrade, which is how
// the Go server authenticates it; a lost session shows up as repeated failures
// here and as UNAUTHENTICATED on the polling fallback, which the app handles.

import { createClient as createWsClient, type Client, type ClientOptions } from 'graphql-ws';
import { backoffDelay, type BackoffOptions } from './backoff';

export type LiveStatus = 'connecting' | 'live' | 'reconnecting' | 'stopped';

export interface LiveInfo {
  status: LiveStatus;
  /** Consecutive failed attempts since the last acknowledged connection. */
  attempt: number;
  /** When the next reconnect happens (ms since epoch), while reconnecting. */
  nextRetryAt: number | null;
  /** Why the last connection ended. */
  lastError: string | null;
  /** Times the connection dropped after having been live. */
  drops: number;
  /** When the last message of any kind (data, ping, pong) arrived. */
  lastMessageAt: number | null;
}

/** The parts of a graphql-ws client this module uses (so tests can fake it). */
export interface WsClientLike {
  subscribe: Client['subscribe'];
  dispose: () => void | Promise<void>;
  terminate?: () => void;
}

export type ClientFactory = (opts: ClientOptions) => WsClientLike;

export interface LiveOptions<T> {
  query: string;
  variables?: Record<string, unknown>;
  onData: (data: T) => void;
  onInfo?: (info: LiveInfo) => void;
  /** Default: ws(s)://<this host>/query. */
  url?: string | (() => string);
  backoff?: BackoffOptions;
  /** Reconnect when nothing at all arrived for this long while live. Default 45 s (the server pings every 15 s). */
  staleAfterMs?: number;
  /** Client-side ping interval (graphql-ws keepAlive). Default 10 s. */
  keepAliveMs?: number;
  /** How long to wait for the server's connection_ack. Default 10 s. */
  ackTimeoutMs?: number;
  createClient?: ClientFactory;
  random?: () => number;
  now?: () => number;
}

export interface LiveHandle {
  /** Stops for good: closes the socket and clears every timer. */
  stop: () => void;
  /** Skips the current back-off wait (e.g. when the browser comes back online). */
  retryNow: () => void;
  info: () => LiveInfo;
}

/** ws:// or wss:// URL of /query on this origin. */
export function defaultLiveUrl(loc: { protocol: string; host: string } = window.location): string {
  return `${loc.protocol === 'https:' ? 'wss:' : 'ws:'}//${loc.host}/query`;
}

/** A short text for whatever graphql-ws hands to an error sink. */
export function describeLiveError(err: unknown): string {
  if (Array.isArray(err)) return err.map((e) => (e as { message?: string })?.message ?? String(e)).join('; ') || 'subscription error';
  if (err && typeof err === 'object') {
    const e = err as { code?: number; reason?: string; message?: string; type?: string };
    if (typeof e.code === 'number') return `socket closed (${e.code}${e.reason ? `: ${e.reason}` : ''})`;
    if (e.message) return e.message;
    if (e.type) return `socket ${e.type}`;
  }
  return String(err ?? 'unknown error');
}

export function startLive<T>(opts: LiveOptions<T>): LiveHandle {
  const now = opts.now ?? Date.now;
  const factory: ClientFactory = opts.createClient ?? ((o) => createWsClient(o));
  const staleAfter = opts.staleAfterMs ?? 45_000;

  const info: LiveInfo = { status: 'connecting', attempt: 0, nextRetryAt: null, lastError: null, drops: 0, lastMessageAt: null };
  let client: WsClientLike | null = null;
  let unsubscribe: (() => void) | null = null;
  let retryTimer: ReturnType<typeof setTimeout> | null = null;
  let watchdog: ReturnType<typeof setInterval> | null = null;
  let generation = 0;
  let stopped = false;

  const emit = () => opts.onInfo?.({ ...info });
  const touch = () => {
    info.lastMessageAt = now();
  };

  function teardown() {
    const u = unsubscribe;
    const c = client;
    unsubscribe = null;
    client = null;
    try {
      u?.();
    } catch {
      /* already gone */
    }
    if (c) {
      try {
        // terminate() closes at once even when the socket hangs; dispose() is the polite fallback.
        if (c.terminate) c.terminate();
        void Promise.resolve(c.dispose()).catch(() => undefined);
      } catch {
        /* already closed */
      }
    }
  }

  function fail(gen: number, reason: string) {
    if (stopped || gen !== generation) return; // a stale client reporting late
    generation++;
    teardown();
    if (info.status === 'live') info.drops++;
    const delay = backoffDelay(info.attempt, opts.backoff, opts.random);
    info.attempt++;
    info.status = 'reconnecting';
    info.lastError = reason;
    info.nextRetryAt = now() + delay;
    emit();
    retryTimer = setTimeout(connect, delay);
  }

  function connect() {
    if (stopped) return;
    retryTimer = null;
    const gen = ++generation;
    info.nextRetryAt = null;
    if (info.status !== 'reconnecting') info.status = 'connecting';
    emit();
    let c: WsClientLike;
    try {
      c = factory({
        url: opts.url ?? (() => defaultLiveUrl()),
        lazy: true,
        retryAttempts: 0,
        keepAlive: opts.keepAliveMs ?? 10_000,
        connectionAckWaitTimeout: opts.ackTimeoutMs ?? 10_000,
        shouldRetry: () => false,
        on: {
          connected: () => {
            if (gen !== generation || stopped) return;
            touch();
            info.status = 'live';
            info.attempt = 0;
            info.lastError = null;
            emit();
          },
          message: () => {
            if (gen === generation) touch();
          },
          ping: (received) => {
            if (received && gen === generation) touch();
          },
          pong: (received) => {
            if (received && gen === generation) touch();
          },
          closed: (ev) => fail(gen, describeLiveError(ev)),
          error: (err) => fail(gen, describeLiveError(err)),
        },
      });
    } catch (err) {
      // e.g. no WebSocket in this environment: keep trying like any other failure.
      fail(gen, describeLiveError(err));
      return;
    }
    client = c;
    unsubscribe = c.subscribe<T>(
      { query: opts.query, variables: opts.variables ?? {} },
      {
        next: (result) => {
          if (gen !== generation || stopped) return;
          touch();
          if (result.errors?.length && !result.data) {
            fail(gen, describeLiveError(result.errors));
            return;
          }
          if (result.data) opts.onData(result.data as T);
        },
        error: (err) => fail(gen, describeLiveError(err)),
        complete: () => fail(gen, 'subscription ended'),
      },
    );
  }

  watchdog = setInterval(() => {
    if (stopped || info.status !== 'live') return;
    if (info.lastMessageAt !== null && now() - info.lastMessageAt > staleAfter) fail(generation, `no message for ${Math.round(staleAfter / 1000)}s`);
  }, Math.max(1000, Math.min(5000, staleAfter / 3)));

  connect();

  return {
    stop() {
      if (stopped) return;
      stopped = true;
      generation++;
      if (retryTimer) clearTimeout(retryTimer);
      if (watchdog) clearInterval(watchdog);
      retryTimer = null;
      watchdog = null;
      teardown();
      info.status = 'stopped';
      info.nextRetryAt = null;
      emit();
    },
    retryNow() {
      if (stopped || info.status !== 'reconnecting' || !retryTimer) return;
      clearTimeout(retryTimer);
      connect();
    },
    info: () => ({ ...info }),
  };
}
