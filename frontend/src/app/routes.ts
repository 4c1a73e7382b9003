// The left navigation and the old paths that redirect. The route tree itself is
// in ./router.tsx; pages that are not built yet render a "coming soon" panel
// with `soon`. Items with `roles` are shown only to those roles (the
// Administration section: VIEWERs see none of it).
import type { Role } from '../graphql';
import { ADMIN_SCREEN_ROLES } from '../lib/admin';

export interface NavItem {
  label: string;
  path: string;
  /** For pages not built yet: what the page will show. */
  soon?: string;
  /** Rendered as a plain link that leaves the app (e.g. GraphiQL). */
  external?: boolean;
  /** A page without the app shell (the big screen). */
  fullScreen?: boolean;
  /** Only these roles see the item (all roles when absent). */
  roles?: readonly Role[];
}

export interface NavSection {
  title: string;
  items: NavItem[];
}

export const NAV: NavSection[] = [
  {
    title: 'Business centre',
    items: [
      { label: 'Personal centre', path: '/personal' },
      { label: 'BU centre', path: '/bu' },
    ],
  },
  {
    title: 'Platform operations',
    items: [
      { label: 'Clusters', path: '/clusters' },
      { label: 'Watermarks', path: '/platform/watermarks' },
      { label: 'Scheduler', path: '/platform/scheduler' },
      { label: 'Cost', path: '/cost' },
      { label: 'Leaderboards', path: '/leaderboards' },
    ],
  },
  {
    title: 'Big screen',
    items: [
      { label: 'Big screen', path: '/screen', fullScreen: true },
    ],
  },
  {
    title: 'Tools',
    items: [
      { label: 'Machine analysis', path: '/tools/machines' },
      { label: 'Job analysis', path: '/tools/jobs' },
      { label: 'Queue analysis', path: '/tools/queues' },
      { label: 'Hardware', path: '/tools/hardware' },
    ],
  },
  {
    title: 'Intelligence',
    items: [
      { label: 'Anomalies', path: '/intelligence/anomalies' },
      { label: 'Machine clustering', path: '/intelligence/clustering' },
    ],
  },
  {
    title: 'Aquila',
    items: [
      { label: 'Stacks', path: '/aquila/stacks' },
      { label: 'Operations', path: '/aquila/operations' },
      { label: 'Configuration', path: '/aquila/config' },
      { label: 'Self-healing', path: '/aquila/healing' },
    ],
  },
  {
    title: 'Administration',
    items: [
      { label: 'Business units', path: '/admin/bus', roles: ADMIN_SCREEN_ROLES.bus },
      { label: 'People', path: '/admin/people', roles: ADMIN_SCREEN_ROLES.people },
      { label: 'Clusters & enrollment', path: '/admin/clusters', roles: ADMIN_SCREEN_ROLES.clusters },
      { label: 'Hosts', path: '/admin/hosts', roles: ADMIN_SCREEN_ROLES.hosts },
      { label: 'Import inventory', path: '/admin/import', roles: ADMIN_SCREEN_ROLES.import },
    ],
  },
  {
    title: 'Governance',
    items: [
      { label: 'Audit log', path: '/audit' },
      { label: 'My tokens', path: '/tokens' },
      { label: 'GraphiQL', path: '/graphiql', external: true },
    ],
  },
];

/** The navigation a role sees: items limited to other roles left out, and sections left empty with them. */
export function navFor(role: Role | string, nav: readonly NavSection[] = NAV): NavSection[] {
  return nav
    .map((s) => ({ ...s, items: s.items.filter((i) => !i.roles || (i.roles as readonly string[]).includes(role)) }))
    .filter((s) => s.items.length > 0);
}

/** Old or short paths and where they now live. */
export const REDIRECTS: Record<string, string> = {
  '/watermarks': '/platform/watermarks',
  '/bigscreen': '/screen',
  '/scheduler': '/platform/scheduler',
};

/** The nav item for a path (for titles and coming-soon text). */
export function navItemFor(pathname: string): NavItem | undefined {
  const clean = pathname.replace(/\/+$/, '') || '/';
  return NAV.flatMap((s) => s.items).find((i) => i.path === clean);
}

export const LANDING_PATH = '/clusters';
