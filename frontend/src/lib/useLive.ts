// A live subscription as a hook: urql's useSubscription, plus the status of the
// supervised socket behind it (connecting → live → reconnecting …) for badges
// and fallbacks, and a callback per message.
import { useEffect, useMemo, useRef, useState } from 'react';
import { useSubscription } from 'urql';
import type { TadaDocumentNode } from 'gql.tada';
import type { LiveInfo } from './live';
import type { LiveContext } from './client';

const INITIAL: LiveInfo = { status: 'connecting', attempt: 0, nextRetryAt: null, lastError: null, drops: 0, lastMessageAt: null };

export function useLiveSubscription<Data, Variables extends Record<string, unknown>>(
  query: TadaDocumentNode<Data, Variables>,
  variables: Variables,
  onData: (data: Data) => void,
  opts: { skip?: boolean } = {},
): LiveInfo {
  const [info, setInfo] = useState<LiveInfo>(INITIAL);
  const cb = useRef(onData);
  cb.current = onData;
  const context = useMemo<LiveContext>(() => ({ liveInfo: setInfo }), []);
  const [result] = useSubscription<Data, Data, Variables>({ query, variables, context, pause: opts.skip });
  useEffect(() => {
    if (result.data) cb.current(result.data);
  }, [result.data]);
  useEffect(() => {
    if (opts.skip) setInfo({ ...INITIAL, status: 'stopped' });
  }, [opts.skip]);
  return info;
}
