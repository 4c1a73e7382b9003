import { useState, type FormEvent } from 'react';
import { signIn, type Session } from '../lib/session';

/** Paste an API token; the server turns it into a session cookie. */
export function SignIn({ onSignedIn, notice, dark }: { onSignedIn: (s: Session) => void; notice?: string | null; dark?: boolean }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const session = await signIn(token);
      setToken('');
      onSignedIn(session);
    } catch (err) {
      setError((err as Error).message || 'Sign-in failed.');
      setBusy(false);
    }
  };

  return (
    <div className={`signin-page${dark ? ' signin-dark' : ''}`} data-testid="signin-page">
      <form className="signin-card" onSubmit={submit} data-testid="signin-form" aria-labelledby="signin-title">
        <div className="brand brand-large">
          <span className="brand-mark" aria-hidden="true">T</span>
          <span className="brand-name">Tesla</span>
        </div>
        <p className="signin-sub">Operations portal for big-data compute platforms</p>
        <h1 id="signin-title">Sign in</h1>
        {notice && !error && <div className="notice">{notice}</div>}
        <label htmlFor="token">API token</label>
        <input
          id="token"
          name="token"
          type="password"
          autoComplete="off"
          spellCheck={false}
          placeholder="tsl_…"
          value={token}
          onChange={(e) => setToken(e.target.value)}
          autoFocus
          data-testid="token-input"
        />
        {error && (
          <div className="signin-error" role="alert" data-testid="signin-error">
            {error}
          </div>
        )}
        <button type="submit" className="btn btn-primary" disabled={busy || !token.trim()} data-testid="signin-submit">
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <p className="signin-help">
          Get a token from an administrator, or create one with the <code>tesla token</code> command. The token is exchanged for a
          session cookie and is not stored by the browser.
        </p>
      </form>
    </div>
  );
}
