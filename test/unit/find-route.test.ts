import { describe, expect, it } from 'vitest';
import { findRoute, type Route } from '../../src/http/routes.js';

describe('findRoute', () => {
  const handler = () => undefined;
  const routes: Route[] = [
    { path: '/healthz', method: ['GET'], handler },
    { path: '/downloads/*key', method: ['GET'], handler },
  ];

  it('matches exact paths, ignoring the query', () => {
    expect(findRoute(routes, 'GET', '/healthz')?.path).toBe('/healthz');
    expect(findRoute(routes, 'GET', '/healthz?x=1')?.path).toBe('/healthz');
    expect(findRoute(routes, 'GET', '/healthz/extra')).toBeUndefined();
    expect(findRoute(routes, 'POST', '/healthz')).toBeUndefined();
  });

  it('matches a trailing wildcard for one or more segments, as path-to-regexp does for Bolt', () => {
    expect(findRoute(routes, 'GET', '/downloads/snapshots/a.tar.gz?expires=1&sig=ab')?.path).toBe('/downloads/*key');
    expect(findRoute(routes, 'GET', '/downloads/a')?.path).toBe('/downloads/*key');
    expect(findRoute(routes, 'GET', '/downloads/')).toBeUndefined();
    expect(findRoute(routes, 'GET', '/downloads')).toBeUndefined();
    expect(findRoute(routes, 'GET', '/downloadsx/a')).toBeUndefined();
    expect(findRoute(routes, 'DELETE', '/downloads/a')).toBeUndefined();
  });
});
