import { createContext, useCallback, useContext, useEffect, useRef, useState } from 'react';
import type { GraphQLClient, GraphQLRequestError } from './graphql';
import type { Session } from './session';

export const ClientContext = createContext<GraphQLClient | null>(null);

export function useClient(): GraphQLClient {
  const c = useContext(ClientContext);
  if (!c) throw new Error('useClient outside ClientContext');
  return c;
}

export interface SessionState {
  session: Session;
  signOut: () => void;
}

export const SessionContext = createContext<SessionState | null>(null);

export function useSession(): SessionState {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside SessionContext');
  return s;
}

export interface QueryState<T> {
  /** The last data received; kept while a new request with other variables runs. */
  data: T | null;
  error: GraphQLRequestError | Error | null;
  loading: boolean;
  refetch: () => void;
}

/**
 * Runs a GraphQL query whenever the query or its variables change. The
 * previous request is aborted; the previous data stays visible while loading
 * so tables and charts do not flicker between pages.
 */
export function useQuery<T>(query: string, variables: Record<string, unknown> = {}, opts: { skip?: boolean } = {}): QueryState<T> {
  const client = useClient();
  const key = JSON.stringify(variables);
  const [state, setState] = useState<{ data: T | null; error: Error | null; loading: boolean }>({
    data: null,
    error: null,
    loading: !opts.skip,
  });
  const [tick, setTick] = useState(0);
  const varsRef = useRef(variables);
  varsRef.current = variables;

  useEffect(() => {
    if (opts.skip) return;
    const ctl = new AbortController();
    setState((s) => ({ ...s, loading: true, error: null }));
    client
      .request<T>(query, varsRef.current, { signal: ctl.signal })
      .then((data) => {
        if (!ctl.signal.aborted) setState({ data, error: null, loading: false });
      })
      .catch((error: Error) => {
        if (ctl.signal.aborted || error?.name === 'AbortError') return;
        setState((s) => ({ data: s.data, error, loading: false }));
      });
    return () => ctl.abort();
  }, [client, query, key, tick, opts.skip]);

  const refetch = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, refetch };
}

/** The value, settled for `ms` milliseconds (for search boxes). */
export function useDebounced<T>(value: T, ms = 250): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}
