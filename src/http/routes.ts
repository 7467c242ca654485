import type { ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { metricsText, registry } from '../metrics.js';
import type { Route } from './route.js';
import { createUiProxyRoute, type UiProxyDeps } from './ui-proxy.js';

// GET /healthz (the process answers), /readyz (its dependencies answer) and /metrics (Prometheus), as Routes.
export type { Route } from './route.js';

/**
 * The route for a request, for servers other than Bolt's receiver (which matches with path-to-regexp itself).
 * Supports the two shapes our routes use: exact paths, and a trailing `/*name` wildcard that matches one or
 * more further segments (`/downloads/*key` matches `/downloads/snapshots/a.tar.gz`), as path-to-regexp 8 does.
 */
export function findRoute(
  routes: readonly Route[],
  method: string | undefined,
  url: string | undefined,
): Route | undefined {
  const pathname = new URL(url ?? '/', 'http://localhost').pathname;
  return routes.find((r) => {
    if (!r.method.includes(method ?? '')) return false;
    const wildcard = /\/\*[A-Za-z_$][\w$]*$/.exec(r.path);
    if (!wildcard) return r.path === pathname;
    const prefix = r.path.slice(0, wildcard.index + 1);
    return pathname.startsWith(prefix) && pathname.length > prefix.length;
  });
}

export interface ReadinessCheck {
  name: string;
  check: () => Promise<void>;
}

/** The process's one registry (src/metrics.ts): every series is defined there. */
export function createRegistry(): Registry {
  return registry;
}

/**
 * A failed check as /readyz shows it: which dependency and a short reason, never a connection string
 * or credentials (a driver's message may quote its URL, host and user).
 */
export function describeFailure(e: unknown): string {
  const message = (e as Error)?.message ?? String(e);
  return message
    .replace(/\b[a-z][a-z0-9+.-]*:\/\/\S+/gi, '[url]')
    .replace(/\b(user|password|role)\s+"[^"]*"/gi, '$1 "[redacted]"')
    .slice(0, 200);
}

function json(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/**
 * `only`: which routes to return. A process serves `public` (/healthz, and the web-UI proxy) on its main port and
 * `internal` (/healthz, /readyz, /metrics) on METRICS_PORT (loopback by default); `all` is for tests.
 */
export function createHttpRoutes(opts: {
  checks: ReadinessCheck[];
  registry: Registry;
  only?: 'all' | 'public' | 'internal';
  ui?: UiProxyDeps;
}): Route[] {
  const health = healthRoutes(opts);
  // Web UIs behind signed links (see ui-proxy.ts); UI ports are not published on the Docker host.
  const ui = opts.ui ? [createUiProxyRoute(opts.ui)] : [];
  const only = opts.only ?? 'all';
  if (only === 'internal') return health;
  if (only === 'public') return [...ui, ...health.filter((r) => r.path === '/healthz')];
  return [...ui, ...health];
}

function healthRoutes(opts: { checks: ReadinessCheck[]; registry: Registry }): Route[] {
  return [
    { path: '/healthz', method: ['GET'], handler: (_req, res) => json(res, 200, { ok: true }) },
    {
      path: '/readyz',
      method: ['GET'],
      handler: (_req, res) => {
        void Promise.all(
          opts.checks.map(async (c) => {
            try {
              // The timer is cleared once the check answers, so a probe leaves nothing behind (a clean exit, issue 13).
              let timer: NodeJS.Timeout | undefined;
              await Promise.race([
                c.check(),
                new Promise((_, rej) => (timer = setTimeout(() => rej(new Error('timed out')), 3000))),
              ]).finally(() => clearTimeout(timer));
              return { name: c.name, ok: true };
            } catch (e) {
              return { name: c.name, ok: false, error: describeFailure(e) };
            }
          }),
        ).then((results) =>
          json(res, results.every((r) => r.ok) ? 200 : 503, { ok: results.every((r) => r.ok), checks: results }),
        );
      },
    },
    {
      path: '/metrics',
      method: ['GET'],
      handler: (_req, res) => {
        // The shared registry reads Postgres, Redis and the hosts first; another registry is rendered as is.
        void (opts.registry === registry ? metricsText() : opts.registry.metrics()).then(
          (text) => res.writeHead(200, { 'content-type': opts.registry.contentType }).end(text),
          (e: Error) =>
            res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${describeFailure(e)}\n`),
        );
      },
    },
  ];
}
