import { createContext, useContext, useEffect, useState } from 'react';
import type { Session } from './session';
import type { Role } from '../graphql';

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

/** The server's order of roles: each includes what the ones below it may do. */
export const ROLE_RANK: Record<Role, number> = { VIEWER: 1, BU_ADMIN: 2, OPERATOR: 3, ADMIN: 4 };
const ROLES: Role[] = ['VIEWER', 'BU_ADMIN', 'OPERATOR', 'ADMIN'];

/**
 * Whether a role may use an action that needs at least `needed`. Buttons are
 * only shown to roles the server would accept; the server still decides.
 */
export function roleAtLeast(role: Role | string, needed: Role): boolean {
  return (ROLE_RANK[role as Role] ?? 0) >= ROLE_RANK[needed];
}

/** The roles a new token may carry: the signed-in role and those below it. */
export function grantableRoles(role: Role | string): Role[] {
  return ROLES.filter((r) => roleAtLeast(role, r));
}

/** Whether the signed-in person may use an action that needs at least `needed`. */
export function useCan(needed: Role): boolean {
  return roleAtLeast(useSession().session.person.role, needed);
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
