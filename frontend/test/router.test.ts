// @vitest-environment jsdom
// The route tree: URLs stay as they were (plain query strings, old paths
// redirected, encoded names decoded into typed params).
import { createMemoryHistory } from '@tanstack/react-router';
import { describe, expect, it } from 'vitest';
import { createAppRouter, parseSearch, stringifySearch, stringSearch } from '../src/app/router';

async function resolve(url: string) {
  const router = createAppRouter(createMemoryHistory({ initialEntries: [url] }));
  await router.load();
  return { href: router.state.location.href, router };
}

describe('search params', () => {
  it('are plain strings both ways, without JSON quoting', () => {
    expect(parseSearch('?q=0042&state=OFFLINE')).toEqual({ q: '0042', state: 'OFFLINE' });
    expect(stringifySearch({ q: '0042', state: 'OFFLINE', rack: '', dir: undefined })).toBe('?q=0042&state=OFFLINE');
    expect(stringifySearch({})).toBe('');
  });
  it('keep only the keys a route knows', () => {
    expect(stringSearch('q', 'state')({ q: 'node1', state: '', other: 'x', n: 5 } as Record<string, unknown>)).toEqual({ q: 'node1' });
  });
});

describe('routes', () => {
  it('send / to the clusters overview', async () => {
    expect((await resolve('/')).href).toBe('/clusters');
  });
  it('redirect old paths with their query string', async () => {
    expect((await resolve('/watermarks?cluster=rt-bj-01&dim=CPU')).href).toBe('/platform/watermarks?cluster=rt-bj-01&dim=CPU');
    expect((await resolve('/bigscreen')).href).toBe('/screen');
  });
  it('decode typed params and keep the query string as it was', async () => {
    const { href, router } = await resolve('/clusters/rt%20bj?state=OFFLINE&q=0042');
    expect(href).toBe('/clusters/rt%20bj?state=OFFLINE&q=0042');
    const match = router.state.matches.at(-1)!;
    expect(match.params).toEqual({ name: 'rt bj' });
    expect(match.search).toEqual({ state: 'OFFLINE', q: '0042' });
  });
  it('match coming-soon sections and report unknown paths as not found', async () => {
    expect((await resolve('/cost')).router.state.matches.at(-1)!.routeId).toBe('/app/cost');
    // A built page has its own route with its search params.
    const clustering = (await resolve('/intelligence/clustering?kind=BATCH&rack=r1')).router.state.matches.at(-1)!;
    expect(clustering.routeId).toBe('/app/intelligence/clustering');
    expect(clustering.search).toEqual({ kind: 'BATCH', rack: 'r1' });
    // The leaderboards keep their selectors in the URL.
    const boards = (await resolve('/leaderboards?level=JOB&metric=HEALTH&period=DAY')).router.state.matches.at(-1)!;
    expect(boards.routeId).toBe('/app/leaderboards');
    expect(boards.search).toEqual({ level: 'JOB', metric: 'HEALTH', period: 'DAY' });
    // Only the root matches: it renders the not-found page inside the shell.
    const { router } = await resolve('/no/such/page');
    expect(router.state.matches.map((m) => m.routeId)).toEqual(['__root__']);
  });
});
