import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { ClusterView } from '../domain/cluster.js';
import type { TemplateCatalog } from '../services/ports.js';
import type { Route } from './routes.js';
import { parseUiCookie, uiCookieName, uiCookieValue, uiPath, uiPrefix, verifyUiGrant } from './ui-link.js';

/**
 * GET/POST /ui/<cluster>/<node>/<port>/…: a reverse proxy to a node's web UI, so UI ports need not be
 * published on the Docker host (YARN's REST API alone runs any code it is sent). The first request carries a
 * signed link (cb_user, cb_exp, cb_sig); it is answered with a short-lived cookie scoped to /ui/<cluster>/ and
 * a redirect to the same page without the signature. Later requests (the UI's own links, CSS, JSON) carry the
 * cookie. Missing, altered or expired grants, or a grant for another cluster, get 403.
 *
 * The node is reached at its container IP on the cluster network, which works because clusterbot runs on the
 * Docker host; a cluster on a remote Docker host needs a route to its bridge network (not done yet).
 */

export interface UiNode {
  hostname: string;
  ip: string;
  /** The node's ports the template marks `ui: true`: the only ports the proxy opens. */
  uiPorts: number[];
}

export interface UiProxyDeps {
  /** Resolved once, on the first request (the key may live in a file the artifact store creates). */
  key: () => Promise<Buffer>;
  clock: { now(): Date };
  /** The cluster's nodes, or undefined when it does not exist (deleted, never was). */
  nodes(clusterId: string): Promise<UiNode[] | undefined>;
  /** How long the cookie set after a link is valid. */
  cookieSeconds?: number;
  log?: { warn(obj: object, msg?: string): void };
}

/** HTML bodies larger than this are passed through without rewriting (no UI page comes close). */
const maxRewriteBytes = 8 * 2 ** 20;

function refuse(res: ServerResponse, status: number, text: string) {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
  res.end(`${text}\n`);
}

function cookieFrom(req: IncomingMessage): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === uiCookieName) return v.join('=');
  }
  return undefined;
}

/**
 * Rewrites an URL the UI emitted so it stays under the proxy: root-relative paths get the node's prefix, and
 * absolute URLs that name a cluster node's UI port (Spark's master links each worker's UI) get that node's.
 */
export function rewriteUrl(url: string, clusterId: string, self: { hostname: string; port: number }, nodes: UiNode[]): string {
  if (url.startsWith('/') && !url.startsWith('//')) return uiPath(clusterId, self.hostname, self.port) + url.slice(1);
  const m = /^https?:\/\/([^/:?#]+)(?::(\d+))?(.*)$/i.exec(url);
  if (!m) return url;
  const host = m[1]!.toLowerCase();
  const port = Number(m[2] ?? 80);
  const node = nodes.find((n) => n.ip === host || n.hostname === host || host.startsWith(`${n.hostname}.`));
  if (!node || !node.uiPorts.includes(port)) return url;
  const rest = m[3] || '/';
  return uiPath(clusterId, node.hostname, port) + (rest.startsWith('/') ? rest.slice(1) : rest);
}

/** Rewrites href/src/action attributes of an HTML page (quoted, root-relative or absolute to a node). */
export function rewriteHtml(html: string, clusterId: string, self: { hostname: string; port: number }, nodes: UiNode[]): string {
  return html.replace(/(\s(?:href|src|action)\s*=\s*)(["'])([^"']*)\2/gi, (_all, attr: string, q: string, url: string) => `${attr}${q}${rewriteUrl(url, clusterId, self, nodes)}${q}`);
}

async function serve(deps: UiProxyDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const m = /^\/ui\/([0-9a-f-]{36})\/([a-z][a-z0-9-]{0,62})\/(\d{1,5})(\/.*)?$/.exec(url.pathname);
  if (!m) return refuse(res, 403, 'This web UI link is malformed.');
  const [, clusterId, hostname, portText, rest] = m as unknown as [string, string, string, string, string | undefined];
  const port = Number(portText);
  const now = deps.clock.now();
  const key = await deps.key();
  const q = url.searchParams;

  // A signed link: check it, trade it for a cookie and drop the signature from the address bar.
  if (q.has('cb_sig')) {
    const check = verifyUiGrant(key, { kind: 'link', clusterId, user: q.get('cb_user'), expires: q.get('cb_exp'), sig: q.get('cb_sig') }, now);
    if (!check.ok) return refuse(res, 403, check.reason === 'expired' ? 'This web UI link has expired; press the button on the cluster card again.' : 'This web UI link is not valid.');
    const expires = Math.floor(now.getTime() / 1000) + (deps.cookieSeconds ?? 3600);
    for (const k of ['cb_user', 'cb_exp', 'cb_sig']) q.delete(k);
    const search = q.toString();
    res.writeHead(303, {
      location: `${url.pathname}${search ? `?${search}` : ''}`,
      'set-cookie': `${uiCookieName}=${uiCookieValue(key, { clusterId, user: check.grant.user, expires })}; Path=${uiPrefix}${clusterId}/; Max-Age=${expires - Math.floor(now.getTime() / 1000)}; HttpOnly; SameSite=Lax`,
      'cache-control': 'no-store',
    });
    res.end();
    return;
  }

  const cookie = parseUiCookie(cookieFrom(req));
  if (!cookie) return refuse(res, 403, 'Open this web UI with the button on its cluster card.');
  const check = verifyUiGrant(key, { kind: 'cookie', clusterId, ...cookie }, now);
  if (!check.ok) return refuse(res, 403, check.reason === 'expired' ? 'Your web UI session has expired; press the button on the cluster card again.' : 'This web UI session is not valid.');

  const nodes = await deps.nodes(clusterId);
  const node = nodes?.find((n) => n.hostname === hostname);
  if (!nodes || !node || !node.uiPorts.includes(port)) return refuse(res, 404, 'This cluster has no such web UI (it may have been deleted).');

  const headers = { ...req.headers };
  // Never hand clusterbot's cookie to the UI; ask for an uncompressed body so HTML can be rewritten.
  delete headers.cookie;
  delete headers['accept-encoding'];
  headers.host = `${node.hostname}:${port}`;
  const upstream = httpRequest({ host: node.ip, port, method: req.method, path: `${rest ?? '/'}${url.search}`, headers, timeout: 30_000 });
  req.pipe(upstream);
  upstream.on('timeout', () => upstream.destroy(new Error('the web UI did not answer in 30 s')));
  upstream.on('error', (e) => {
    deps.log?.warn({ err: e, clusterId, hostname, port }, 'web UI proxy: upstream failed');
    if (!res.headersSent) refuse(res, 502, `${hostname}:${port} did not answer: ${e.message}`);
    else res.destroy();
  });
  upstream.on('response', (up) => {
    const out = { ...up.headers };
    const self = { hostname, port };
    if (typeof out.location === 'string') out.location = rewriteUrl(out.location, clusterId, self, nodes);
    delete out['set-cookie']; // a UI cookie would be scoped to the wrong path anyway
    const isHtml = /^text\/html/i.test(String(out['content-type'] ?? ''));
    if (!isHtml || req.method === 'HEAD') {
      res.writeHead(up.statusCode ?? 502, out);
      up.pipe(res);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    up.on('data', (c: Buffer) => {
      size += c.length;
      chunks.push(c);
    });
    up.on('error', () => res.destroy());
    up.on('end', () => {
      const raw = Buffer.concat(chunks);
      const body = size > maxRewriteBytes ? raw : Buffer.from(rewriteHtml(raw.toString('utf8'), clusterId, self, nodes), 'utf8');
      delete out['content-length'];
      delete out['transfer-encoding'];
      res.writeHead(up.statusCode ?? 502, { ...out, 'content-length': String(body.length) });
      res.end(body);
    });
  });
}

/** A cluster's nodes with the UI ports their template roles declare, from the cluster store and the catalog. */
export function uiNodesFrom(store: { view(id: string): Promise<ClusterView | undefined> }, catalog: TemplateCatalog): UiProxyDeps['nodes'] {
  return async (clusterId) => {
    const view = await store.view(clusterId);
    if (!view || view.cluster.state === 'deleted') return undefined;
    const template = catalog.get(view.cluster.template);
    return view.nodes.map((n) => ({
      hostname: n.hostname,
      ip: n.ip,
      uiPorts: Object.values(template?.roles[n.role]?.ports ?? {}).filter((p) => p.ui).map((p) => p.port),
    }));
  };
}

/** Memoizes a key lookup, retrying after a failure. */
export function onceKey(load: () => Promise<Buffer>): () => Promise<Buffer> {
  let p: Promise<Buffer> | undefined;
  return () => (p ??= load().catch((e: unknown) => {
    p = undefined;
    throw e;
  }));
}

/** The proxy route; `/*rest` is path-to-regexp syntax (Bolt's custom routes), `findRoute` matches it too. */
export function createUiProxyRoute(deps: UiProxyDeps): Route {
  return {
    path: `${uiPrefix}*rest`,
    method: ['GET', 'HEAD', 'POST'],
    handler: (req, res) => {
      serve(deps, req, res).catch((e: unknown) => {
        deps.log?.warn({ err: e }, 'web UI proxy failed');
        if (!res.headersSent) refuse(res, 500, 'The web UI proxy failed.');
        else res.destroy();
      });
    },
  };
}
