// GraphiQL for Tesla, served by the Go server at /graphiql. Bundled from npm
// (no CDN). Signs in with an API token like the app, or uses the token as a
// Bearer header for this tab only.
import { useCallback, useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import { createRoot } from 'react-dom/client';
import { GraphiQL } from 'graphiql';
import { createGraphiQLFetcher } from '@graphiql/toolkit';
import { createClient as createWsClient } from 'graphql-ws';
import 'graphiql/graphiql.css';
import './graphiql-page.css';
import { fetchSession, getCsrfToken, signIn, signOut, type SessionPerson } from '../lib/session';
import { createAuthFetch, subscriptionUrl } from './fetcher';
import { DEFAULT_QUERY } from './defaultQuery';


type Who = { person: SessionPerson; mode: 'session' | 'bearer' };

function TokenForm({ onDone, notice }: { onDone: (w: Who, bearer: string | null) => void; notice: string | null }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent, bearerOnly: boolean) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      if (bearerOnly) {
        // Check the token with a tiny query before using it.
        const t = token.trim();
        const res = await fetch('/query', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${t}` },
          body: JSON.stringify({ query: '{ me { person { login name } role } }' }),
        });
        const body = (await res.json().catch(() => null)) as { data?: { me?: { person: { login: string; name: string }; role: SessionPerson['role'] } }; errors?: Array<{ message: string }> } | null;
        const me = body?.data?.me;
        if (!me) throw new Error(body?.errors?.[0]?.message || `That token is not valid (HTTP ${res.status}).`);
        onDone({ person: { login: me.person.login, name: me.person.name, role: me.role }, mode: 'bearer' }, t);
      } else {
        const s = await signIn(token);
        onDone({ person: s.person, mode: 'session' }, null);
      }
    } catch (err) {
      setError((err as Error).message);
      setBusy(false);
    }
  };

  return (
    <div className="gq-signin">
      <form className="gq-card" onSubmit={(e) => submit(e, false)} data-testid="graphiql-signin">
        <h1>
          <span className="gq-mark">T</span> Tesla GraphiQL
        </h1>
        {notice && !error && <div className="gq-notice">{notice}</div>}
        <label htmlFor="gq-token">API token</label>
        <input id="gq-token" type="password" autoComplete="off" spellCheck={false} placeholder="tsl_…" value={token} onChange={(e) => setToken(e.target.value)} autoFocus />
        {error && (
          <div className="gq-error" role="alert">
            {error}
          </div>
        )}
        <div className="gq-actions">
          <button type="submit" className="gq-btn gq-primary" disabled={busy || !token.trim()}>
            Sign in
          </button>
          <button type="button" className="gq-btn" disabled={busy || !token.trim()} onClick={(e) => submit(e, true)} title="Send the token as Authorization: Bearer from this tab only; no session cookie">
            Use as Bearer token
          </button>
        </div>
        <p className="gq-help">
          Sign in creates the same session as the Tesla app. “Use as Bearer token” keeps the token in this tab's memory only.
        </p>
      </form>
    </div>
  );
}

function Explorer({ who, bearer, onSignedOut }: { who: Who; bearer: string | null; onSignedOut: (notice: string) => void }) {
  const bearerRef = useRef(bearer);
  bearerRef.current = bearer;
  const lost = useRef(onSignedOut);
  lost.current = onSignedOut;

  const fetcher = useMemo(() => {
    const authFetch = createAuthFetch({
      getBearer: () => bearerRef.current,
      onUnauthenticated: () => lost.current('Your session has ended. Sign in again.'),
    });
    // graphql-ws is lazy: the websocket opens only when a subscription runs.
    const wsClient = createWsClient({
      url: subscriptionUrl(),
      lazy: true,
      connectionParams: () => {
        const p: Record<string, string> = {};
        if (bearerRef.current) p.Authorization = `Bearer ${bearerRef.current}`;
        const csrf = getCsrfToken();
        if (csrf) p['X-CSRF-Token'] = csrf;
        return p;
      },
    });
    return createGraphiQLFetcher({ url: '/query', fetch: authFetch, wsClient, enableIncrementalDelivery: false });
  }, []);

  const doSignOut = async () => {
    if (who.mode === 'session') await signOut().catch(() => undefined);
    onSignedOut('You have signed out.');
  };

  return (
    <div className="gq-page">
      <header className="gq-top">
        <a className="gq-brand" href="/clusters">
          <span className="gq-mark">T</span> Tesla <span className="gq-sub">GraphiQL</span>
        </a>
        <span className="gq-who" data-testid="graphiql-who">
          {who.person.name} <span className="gq-role">{who.person.role}</span>
          {who.mode === 'bearer' && <span className="gq-role gq-bearer">bearer token</span>}
        </span>
        <a className="gq-link" href="/clusters">
          Back to Tesla
        </a>
        <button type="button" className="gq-btn gq-ghost" onClick={doSignOut}>
          {who.mode === 'session' ? 'Sign out' : 'Forget token'}
        </button>
      </header>
      <div className="gq-body" data-testid="graphiql-root">
        <GraphiQL fetcher={fetcher} defaultQuery={DEFAULT_QUERY} isHeadersEditorEnabled shouldPersistHeaders={false} />
      </div>
    </div>
  );
}

function Page() {
  const [who, setWho] = useState<Who | null | undefined>(undefined);
  const [bearer, setBearer] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  useEffect(() => {
    fetchSession()
      .then((s) => setWho(s ? { person: s.person, mode: 'session' } : null))
      .catch((e: Error) => {
        setNotice(`Could not check your session: ${e.message}`);
        setWho(null);
      });
  }, []);

  const onSignedOut = useCallback((n: string) => {
    setBearer(null);
    setNotice(n);
    setWho(null);
  }, []);

  if (who === undefined) return <div className="gq-boot">Loading…</div>;
  if (who === null)
    return (
      <TokenForm
        notice={notice}
        onDone={(w, b) => {
          setBearer(b);
          setNotice(null);
          setWho(w);
        }}
      />
    );
  return <Explorer who={who} bearer={bearer} onSignedOut={onSignedOut} />;
}

createRoot(document.getElementById('root')!).render(<Page />);
