import { useCallback, useEffect, useMemo, useState } from 'react';
import { createClient } from '../lib/graphql';
import { ClientContext, SessionContext, type SessionState } from '../lib/hooks';
import { fetchSession, signOut as apiSignOut, type Session } from '../lib/session';
import { navigate, resolveRoute, useLocation } from '../lib/router';
import { LANDING_PATH, navItemFor, ROUTES } from './routes';
import { Shell } from './Shell';
import { SignIn } from '../pages/SignIn';
import { ClustersOverview } from '../pages/ClustersOverview';
import { ClusterPage } from '../pages/ClusterPage';
import { Stacks } from '../pages/Stacks';
import { AuditLog } from '../pages/AuditLog';
import { ComingSoon } from '../pages/ComingSoon';
import { NotFound } from '../pages/NotFound';
import { Loading } from '../components/ui';

type Auth =
  | { status: 'checking' }
  | { status: 'signedOut'; notice?: string | null }
  | { status: 'signedIn'; session: Session };

function Routes() {
  const loc = useLocation();
  const route = resolveRoute(ROUTES, loc.pathname);

  useEffect(() => {
    if (route?.value === 'home') navigate(LANDING_PATH, { replace: true });
  }, [route?.value]);

  if (!route) return <Shell title="Not found"><NotFound path={loc.pathname} /></Shell>;
  switch (route.value) {
    case 'home':
    case 'clusters':
      return <Shell title="Clusters"><ClustersOverview /></Shell>;
    case 'cluster':
      return (
        <Shell title={route.params.name}>
          <ClusterPage key={route.params.name} name={route.params.name} />
        </Shell>
      );
    case 'stacks':
      return <Shell><Stacks /></Shell>;
    case 'audit':
      return <Shell><AuditLog /></Shell>;
    case 'soon': {
      const item = navItemFor(loc.pathname);
      return <Shell>{item ? <ComingSoon item={item} /> : <NotFound path={loc.pathname} />}</Shell>;
    }
  }
}

export function App() {
  const [auth, setAuth] = useState<Auth>({ status: 'checking' });
  const client = useMemo(() => createClient(), []);

  useEffect(() => {
    // Any GraphQL answer with UNAUTHENTICATED sends the user back to sign-in.
    client.setOnUnauthenticated(() => setAuth({ status: 'signedOut', notice: 'Your session has ended. Sign in again.' }));
    return () => client.setOnUnauthenticated(undefined);
  }, [client]);

  useEffect(() => {
    let live = true;
    fetchSession()
      .then((session) => live && setAuth(session ? { status: 'signedIn', session } : { status: 'signedOut' }))
      .catch((err: Error) => live && setAuth({ status: 'signedOut', notice: `Could not check your session: ${err.message}` }));
    return () => {
      live = false;
    };
  }, []);

  const onSignedIn = useCallback((session: Session) => {
    setAuth({ status: 'signedIn', session });
    const path = window.location.pathname;
    if (path === '/' || path === '/signin' || path === '/login') navigate(LANDING_PATH, { replace: true });
  }, []);

  const signOut = useCallback(() => {
    apiSignOut()
      .catch(() => undefined)
      .finally(() => setAuth({ status: 'signedOut', notice: 'You have signed out.' }));
  }, []);

  const sessionState: SessionState | null = useMemo(
    () => (auth.status === 'signedIn' ? { session: auth.session, signOut } : null),
    [auth, signOut],
  );

  if (auth.status === 'checking') {
    return (
      <div className="boot">
        <Loading what="Starting Tesla" />
      </div>
    );
  }
  if (auth.status === 'signedOut' || !sessionState) {
    return <SignIn onSignedIn={onSignedIn} notice={auth.status === 'signedOut' ? auth.notice : null} />;
  }
  return (
    <ClientContext.Provider value={client}>
      <SessionContext.Provider value={sessionState}>
        <Routes />
      </SessionContext.Provider>
    </ClientContext.Provider>
  );
}
