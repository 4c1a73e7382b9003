import { describe, expect, it } from 'vitest';
import { buildPath, isUnder, matchPath, parseSearch, resolveRoute, withSearch } from '../src/lib/router';
import { NAV, navItemFor, REDIRECTS, ROUTES } from '../src/app/routes';

describe('matchPath', () => {
  it('matches static paths exactly', () => {
    expect(matchPath('/clusters', '/clusters')).toEqual({});
    expect(matchPath('/clusters', '/clusters/')).toEqual({});
    expect(matchPath('/clusters', '/cluster')).toBeNull();
    expect(matchPath('/clusters', '/clusters/x')).toBeNull();
    expect(matchPath('/', '/')).toEqual({});
    expect(matchPath('/', '/clusters')).toBeNull();
  });
  it('captures and decodes params', () => {
    expect(matchPath('/clusters/:name', '/clusters/rt-bj-01')).toEqual({ name: 'rt-bj-01' });
    expect(matchPath('/clusters/:name', '/clusters/a%20b%2Fc')).toEqual({ name: 'a b/c' });
    expect(matchPath('/clusters/:name', '/clusters')).toBeNull();
    expect(matchPath('/clusters/:name', '/clusters/a/b')).toBeNull();
    expect(matchPath('/a/:x/b/:y', '/a/1/b/2')).toEqual({ x: '1', y: '2' });
  });
  it('rejects malformed escapes', () => {
    expect(matchPath('/clusters/:name', '/clusters/%E0%A4%A')).toBeNull();
  });
  it('supports a trailing wildcard', () => {
    expect(matchPath('/docs/*', '/docs/a/b')).toEqual({ '*': 'a/b' });
    expect(matchPath('/docs/*', '/docs')).toEqual({ '*': '' });
  });
  it('is case-sensitive', () => {
    expect(matchPath('/audit', '/Audit')).toBeNull();
  });
});

describe('buildPath', () => {
  it('encodes params and round-trips through matchPath', () => {
    const p = buildPath('/clusters/:name', { name: 'batch sh/02' });
    expect(p).toBe('/clusters/batch%20sh%2F02');
    expect(matchPath('/clusters/:name', p)).toEqual({ name: 'batch sh/02' });
  });
  it('throws on a missing param', () => {
    expect(() => buildPath('/clusters/:name', {})).toThrow(/name/);
  });
});

describe('app routes', () => {
  it('resolves the real pages', () => {
    expect(resolveRoute(ROUTES, '/')?.value).toBe('home');
    expect(resolveRoute(ROUTES, '/clusters')?.value).toBe('clusters');
    const c = resolveRoute(ROUTES, '/clusters/rt-bj-01');
    expect(c?.value).toBe('cluster');
    expect(c?.params.name).toBe('rt-bj-01');
    expect(resolveRoute(ROUTES, '/aquila/stacks')?.value).toBe('stacks');
    expect(resolveRoute(ROUTES, '/audit')?.value).toBe('audit');
    expect(resolveRoute(ROUTES, '/nope')).toBeNull();
    expect(resolveRoute(ROUTES, '/platform/watermarks')?.value).toBe('watermarks');
    expect(resolveRoute(ROUTES, '/platform/scheduler')?.value).toBe('scheduler');
    expect(resolveRoute(ROUTES, '/screen')?.value).toBe('screen');
    expect(resolveRoute(ROUTES, '/tools/machines')?.value).toBe('machines');
    const h = resolveRoute(ROUTES, '/hosts/rt-bj-01-node0001.dc.example');
    expect(h?.value).toBe('host');
    expect(h?.params.hostname).toBe('rt-bj-01-node0001.dc.example');
  });
  it('redirects the old paths', () => {
    for (const [from, to] of Object.entries(REDIRECTS)) {
      expect(resolveRoute(ROUTES, from)?.value, from).toBe('redirect');
      expect(resolveRoute(ROUTES, to)?.value, to).not.toBe('redirect');
    }
    expect(REDIRECTS['/watermarks']).toBe('/platform/watermarks');
  });
  it('routes every navigation entry (except external links) to a page', () => {
    for (const item of NAV.flatMap((s) => s.items)) {
      const r = resolveRoute(ROUTES, item.path);
      if (item.external) {
        expect(r, item.path).toBeNull();
        continue;
      }
      expect(r, item.path).not.toBeNull();
      expect(r!.value === 'soon', item.path).toBe(Boolean(item.soon));
    }
  });
  it('has every section the portal needs', () => {
    const labels = NAV.flatMap((s) => s.items.map((i) => i.label));
    for (const l of ['Personal centre', 'BU centre', 'Clusters', 'Watermarks', 'Scheduler', 'Cost', 'Leaderboards', 'Big screen', 'Machine analysis', 'Job analysis', 'Queue analysis', 'Anomalies', 'Machine clustering', 'Stacks', 'Operations', 'Configuration', 'Audit log', 'GraphiQL']) {
      expect(labels).toContain(l);
    }
    expect(navItemFor('/cost/')?.soon).toMatch(/bills/);
    expect(navItemFor('/platform/watermarks')?.soon).toBeUndefined();
  });
});

describe('helpers', () => {
  it('isUnder compares whole segments', () => {
    expect(isUnder('/clusters/a', '/clusters')).toBe(true);
    expect(isUnder('/clusters', '/clusters')).toBe(true);
    expect(isUnder('/clustersx', '/clusters')).toBe(false);
    expect(isUnder('/aquila/stacks', '/aquila/config')).toBe(false);
  });
  it('builds and parses query strings', () => {
    expect(withSearch('/clusters', { kind: 'BATCH', q: '', order: null })).toBe('/clusters?kind=BATCH');
    expect(withSearch('/clusters', {})).toBe('/clusters');
    expect(parseSearch('?kind=BATCH&q=a%20b')).toEqual({ kind: 'BATCH', q: 'a b' });
  });
});
