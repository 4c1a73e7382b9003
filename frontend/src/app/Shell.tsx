import { useEffect, useMemo, type ReactNode } from 'react';
import { useRouterState } from '@tanstack/react-router';
import { navFor, navItemFor } from './routes';
import { useSession } from '../lib/hooks';
import { humanizeEnum } from '../lib/format';
import { Link } from '../components/ui';

/** True when `pathname` is `prefix` or below it ("/aquila/stacks" is under "/aquila"). */
export function isUnder(pathname: string, prefix: string): boolean {
  const split = (p: string) => p.split('/').filter(Boolean);
  const a = split(pathname);
  return split(prefix).every((s, i) => a[i] === s);
}

export function Shell({ children, title }: { children: ReactNode; title?: string }) {
  const { session, signOut } = useSession();
  const pathname = useRouterState({ select: (s) => s.location.pathname });
  const item = navItemFor(pathname);
  const nav = useMemo(() => navFor(session.person.role), [session.person.role]);
  // Pages with a name of their own (a cluster, a host) set the title themselves.
  const pageTitle = title ?? item?.label;

  useEffect(() => {
    if (pageTitle) document.title = `${pageTitle} · Tesla`;
  }, [pageTitle]);

  return (
    <div className="shell">
      <header className="topbar">
        <Link to="/clusters" className="brand" aria-label="Tesla home">
          <span className="brand-mark" aria-hidden="true">T</span>
          <span className="brand-name">Tesla</span>
          <span className="brand-sub">operations portal</span>
        </Link>
        <div className="topbar-right">
          <span className="who" data-testid="who">
            <span className="who-name">{session.person.name}</span>
            <span className="who-login">{session.person.login}</span>
            <span className="role-badge" data-testid="role">
              {humanizeEnum(session.person.role)}
            </span>
          </span>
          <button type="button" className="btn btn-ghost" onClick={signOut} data-testid="sign-out">
            Sign out
          </button>
        </div>
      </header>
      <nav className="sidenav" aria-label="Sections">
        <div className="sidenav-inner">
        {nav.map((section) => (
          <div className="nav-section" key={section.title}>
            <div className="nav-title">{section.title}</div>
            <ul>
              {section.items.map((i) => {
                const active = !i.external && isUnder(pathname, i.path);
                return (
                  <li key={i.path}>
                    {i.fullScreen ? (
                      <a href={i.path} target="_blank" rel="noopener" className="nav-link" data-testid={`nav-${i.path}`} title="Opens the wall display in a new tab">
                        {i.label} <span className="ext" aria-hidden="true">↗</span>
                      </a>
                    ) : i.external ? (
                      <a href={i.path} className="nav-link" data-testid={`nav-${i.path}`}>
                        {i.label} <span className="ext" aria-hidden="true">↗</span>
                      </a>
                    ) : (
                      <Link to={i.path} className={`nav-link${active ? ' active' : ''}`} aria-current={active ? 'page' : undefined} data-testid={`nav-${i.path}`}>
                        {i.label}
                        {i.soon && <span className="soon-dot" title="Coming soon" />}
                      </Link>
                    )}
                  </li>
                );
              })}
            </ul>
          </div>
        ))}
        </div>
      </nav>
      <main className="main">{children}</main>
    </div>
  );
}
