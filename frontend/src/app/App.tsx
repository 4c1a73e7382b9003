import { useCallback, useEffect, useMemo, useState } from 'react';
import { createClient } from '../lib/graphql';
import { ClientContext, SessionContext, type SessionState } from '../lib/hooks';
import { fetchSession, signOut as apiSignOut, type Session } from '../lib/session';
import { navigate, resolveRoute, useLocation } from '../lib/router';
import { LANDING_PATH, navItemFor, REDIRECTS, ROUTES } from './routes';
import { Shell } from './Shell';
import { SignIn } from '../pages/SignIn';
import { ClustersOverview } from '../pages/ClustersOverview';
import { ClusterPage } from '../pages/ClusterPage';
import { Stacks } from '../pages/Stacks';
import { AuditLog } from '../pages/AuditLog';
import { ComingSoon } from '../pages/ComingSoon';
import { Watermarks } from '../pages/Watermarks';
import { Scheduler } from '../pages/Scheduler';
import { BigScreen } from '../pages/BigScreen';
import { MachineSearch } from '../pages/MachineSearch';
import { MachineAnalysis } from '../pages/MachineAnalysis';
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
    if (route?.value === 'redirect') navigate(`${REDIRECTS[route.pattern]}${loc.search}`, { replace: true });
  }, [route?.value, route?.pattern]);

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
    case 'watermarks':
      return <Shell><Watermarks /></Shell>;
    case 'scheduler':
      return <Shell><Scheduler /></Shell>;
    case 'machines':
      return <Shell><MachineSearch /></Shell>;
    case 'host':
      return (
        <Shell title={route.params.hostname}>
          <MachineAnalysis key={route.params.hostname} hostname={route.params.hostname} />
        </Shell>
      );
    case 'screen':
      return <BigScreen />;
    case 'redirect':
      return null;
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
    // The big screen asks for sign-in on its own dark page (a wall display whose session ended).
    const dark = window.location.pathname.replace(/\/+$/, '') === '/screen';
    const notice = auth.status === 'signedOut' ? auth.notice : null;
    return <SignIn onSignedIn={onSignedIn} notice={notice ?? (dark ? 'Sign in to start the platform screen.' : null)} dark={dark} />;
  }
  return (
    <ClientContext.Provider value={client}>
      <SessionContext.Provider value={sessionState}>
        <Routes />
      </SessionContext.Provider>
    </ClientContext.Provider>
  );
}
