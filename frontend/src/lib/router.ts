// A tiny History-API router. Patterns are paths with `:param` segments and an
// optional trailing `*` (rest of the path): "/clusters/:name", "/docs/*".
// Deep links work on reload because the Go server answers unknown paths with
// index.html.

import { useSyncExternalStore } from 'react';

export type Params = Record<string, string>;

function splitPath(path: string): string[] {
  return path.split('/').filter((s) => s.length > 0);
}

function safeDecode(s: string): string | null {
  try {
    return decodeURIComponent(s);
  } catch {
    return null;
  }
}

/**
 * Matches a pathname (no query string) against a pattern. Returns the decoded
 * params, or null. Matching is exact per segment (case-sensitive), ignores a
 * trailing slash and rejects malformed %-escapes.
 */
export function matchPath(pattern: string, pathname: string): Params | null {
  const pat = splitPath(pattern);
  const path = splitPath(pathname);
  const params: Params = {};
  for (let i = 0; i < pat.length; i++) {
    const p = pat[i];
    if (p === '*') {
      const rest = path.slice(i).map(safeDecode);
      if (rest.some((r) => r === null)) return null;
      params['*'] = rest.join('/');
      return params;
    }
    if (i >= path.length) return null;
    const seg = safeDecode(path[i]);
    if (seg === null) return null;
    if (p.startsWith(':')) {
      params[p.slice(1)] = seg;
    } else if (p !== seg) {
      return null;
    }
  }
  return path.length === pat.length ? params : null;
}

export interface RouteDef<T> {
  pattern: string;
  value: T;
}

export interface Resolved<T> {
  pattern: string;
  value: T;
  params: Params;
}

/** The first route whose pattern matches, in table order. */
export function resolveRoute<T>(routes: ReadonlyArray<RouteDef<T>>, pathname: string): Resolved<T> | null {
  for (const r of routes) {
    const params = matchPath(r.pattern, pathname);
    if (params) return { pattern: r.pattern, value: r.value, params };
  }
  return null;
}

/** Fills a pattern's params, URL-encoding each: ("/clusters/:name", {name: "a b"}) → "/clusters/a%20b". */
export function buildPath(pattern: string, params: Params = {}): string {
  const segs = splitPath(pattern).map((p) => {
    if (!p.startsWith(':')) return p;
    const v = params[p.slice(1)];
    if (v === undefined) throw new Error(`buildPath: missing param ${p} for ${pattern}`);
    return encodeURIComponent(v);
  });
  return '/' + segs.join('/');
}

/** True when `pathname` is `prefix` or below it ("/aquila/stacks" is under "/aquila"). */
export function isUnder(pathname: string, prefix: string): boolean {
  const a = splitPath(pathname);
  const b = splitPath(prefix);
  return b.every((s, i) => a[i] === s);
}

/** Reads the query string into a plain object (last value wins). */
export function parseSearch(search: string): Record<string, string> {
  const out: Record<string, string> = {};
  new URLSearchParams(search).forEach((v, k) => {
    out[k] = v;
  });
  return out;
}

/** A path with a query string built from the non-empty values. */
export function withSearch(pathname: string, query: Record<string, string | null | undefined>): string {
  const sp = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') sp.set(k, v);
  const s = sp.toString();
  return s ? `${pathname}?${s}` : pathname;
}

// ---- browser side ---------------------------------------------------------

const NAV_EVENT = 'tesla:navigate';

export interface LocationSnapshot {
  pathname: string;
  search: string;
}

let cached: LocationSnapshot = { pathname: '/', search: '' };

function snapshot(): LocationSnapshot {
  const { pathname, search } = window.location;
  if (cached.pathname !== pathname || cached.search !== search) cached = { pathname, search };
  return cached;
}

function subscribe(cb: () => void): () => void {
  window.addEventListener('popstate', cb);
  window.addEventListener(NAV_EVENT, cb);
  return () => {
    window.removeEventListener('popstate', cb);
    window.removeEventListener(NAV_EVENT, cb);
  };
}

/** Client-side navigation: pushes (or replaces) a history entry and re-renders. */
export function navigate(to: string, opts: { replace?: boolean } = {}): void {
  const current = window.location.pathname + window.location.search;
  if (to === current && !opts.replace) return;
  if (opts.replace) window.history.replaceState(null, '', to);
  else window.history.pushState(null, '', to);
  window.dispatchEvent(new Event(NAV_EVENT));
  if (!opts.replace) window.scrollTo(0, 0);
}

/** The current location; components re-render when it changes. */
export function useLocation(): LocationSnapshot {
  return useSyncExternalStore(subscribe, snapshot, snapshot);
}

/** Whether a click on a link should be left to the browser (new tab, download...). */
export function isModifiedClick(e: { button: number; metaKey: boolean; altKey: boolean; ctrlKey: boolean; shiftKey: boolean }): boolean {
  return e.button !== 0 || e.metaKey || e.altKey || e.ctrlKey || e.shiftKey;
}
