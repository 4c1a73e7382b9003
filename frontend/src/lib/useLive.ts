// React glue for startLive: one supervised subscription per mounted component,
// restarted when the query or its variables change, stopped on unmount.
import { useEffect, useRef, useState } from 'react';
import { startLive, type LiveHandle, type LiveInfo } from './live';

export interface UseLiveOptions {
  /** Do not subscribe (e.g. until an id is known). */
  skip?: boolean;
  /** Reconnect when nothing arrived for this long. */
  staleAfterMs?: number;
}

const INITIAL: LiveInfo = { status: 'connecting', attempt: 0, nextRetryAt: null, lastError: null, drops: 0, lastMessageAt: null };

/**
 * Subscribes while mounted; `onData` gets each result's data (the latest
 * callback is used, so it need not be memoised). Returns the connection info.
 */
export function useLiveSubscription<T>(query: string, variables: Record<string, unknown>, onData: (data: T) => void, opts: UseLiveOptions = {}): LiveInfo {
  const [info, setInfo] = useState<LiveInfo>(INITIAL);
  const cb = useRef(onData);
  cb.current = onData;
  const key = JSON.stringify(variables);

  useEffect(() => {
    if (opts.skip) {
      setInfo({ ...INITIAL, status: 'stopped' });
      return;
    }
    let handle: LiveHandle | null = startLive<T>({
      query,
      variables: JSON.parse(key) as Record<string, unknown>,
      onData: (d) => cb.current(d),
      onInfo: setInfo,
      staleAfterMs: opts.staleAfterMs,
    });
    // Back online, or the tab shown again: do not sit out the back-off.
    const wake = () => handle?.retryNow();
    const onVisible = () => document.visibilityState === 'visible' && wake();
    window.addEventListener('online', wake);
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      window.removeEventListener('online', wake);
      document.removeEventListener('visibilitychange', onVisible);
      handle?.stop();
      handle = null;
    };
  }, [query, key, opts.skip, opts.staleAfterMs]);

  return info;
}
