import { useCallback, useEffect, useMemo, useState } from 'react';
import { Provider } from 'urql';
import { RouterProvider } from '@tanstack/react-router';
import { createAppClient } from '../lib/client';
import { SessionContext, type SessionState } from '../lib/hooks';
import { fetchSession, signOut as apiSignOut, type Session } from '../lib/session';
import { createAppRouter } from './router';
import { LANDING_PATH } from './routes';
import { SignIn } from '../pages/SignIn';
import { Loading } from '../components/ui';

type Auth =
  | { status: 'checking' }
  | { status: 'signedOut'; notice?: string | null }
  | { status: 'signedIn'; session: Session };

export function App() {
  const [auth, setAuth] = useState<Auth>({ status: 'checking' });
  const router = useMemo(() => createAppRouter(), []);

  useEffect(() => {
    let live = true;
    fetchSession()
      .then((session) => live && setAuth(session ? { status: 'signedIn', session } : { status: 'signedOut' }))
      .catch((err: Error) => live && setAuth({ status: 'signedOut', notice: `Could not check your session: ${err.message}` }));
    return () => {
      live = false;
    };
  }, []);

  const onSignedIn = useCallback(
    (session: Session) => {
      const path = window.location.pathname;
      if (path === '/' || path === '/signin' || path === '/login') router.history.replace(LANDING_PATH);
      setAuth({ status: 'signedIn', session });
    },
    [router],
  );

  const signOut = useCallback(() => {
    apiSignOut()
      .catch(() => undefined)
      .finally(() => setAuth({ status: 'signedOut', notice: 'You have signed out.' }));
  }, []);

  // A fresh client (and so an empty cache) for every sign-in: nothing one person
  // saw is shown to the next. Any UNAUTHENTICATED answer returns to sign-in.
  const client = useMemo(
    () =>
      auth.status === 'signedIn'
        ? createAppClient({ onUnauthenticated: () => setAuth({ status: 'signedOut', notice: 'Your session has ended. Sign in again.' }) })
        : null,
    [auth.status === 'signedIn' ? auth.session : null],
  );

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
  if (auth.status === 'signedOut' || !sessionState || !client) {
    // The big screen asks for sign-in on its own dark page (a wall display whose session ended).
    const dark = window.location.pathname.replace(/\/+$/, '') === '/screen';
    const notice = auth.status === 'signedOut' ? auth.notice : null;
    return <SignIn onSignedIn={onSignedIn} notice={notice ?? (dark ? 'Sign in to start the platform screen.' : null)} dark={dark} />;
  }
  return (
    <Provider value={client}>
      <SessionContext.Provider value={sessionState}>
        <RouterProvider router={router} />
      </SessionContext.Provider>
    </Provider>
  );
}
