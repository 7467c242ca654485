import { Agent, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { pipeline } from 'node:stream';
import type { ClusterView } from '../domain/cluster.js';
import type { Template } from '../domain/template.js';
import { parseUiSession, uiCookieName, uiPath, uiPrefix, uiSession, verifyUiGrant } from '../domain/ui-link.js';
import type { Route } from './route.js';
import {
  type Forwarded,
  requestHeaders,
  responseHeaders,
  sandboxPolicy,
  upgradeResponseHeaders,
} from './ui-headers.js';
import { htmlRewriter, proxiedLocation, type RewriteContext, type UiNode } from './ui-rewrite.js';

export type { UiNode } from './ui-rewrite.js';

/**
 * /ui/<cluster>/<session>/<node>/<port>/…: a reverse proxy to a node's web UI, so UI ports need not be published on
 * the Docker host (YARN's REST API alone runs any code it is sent). The card's button hands out a signed link
 * (/ui/<cluster>/<node>/<port>/?cb_user&cb_exp&cb_sig); opening it trades it for a session (domain/ui-link.ts),
 * carried in the path of every later URL and, for the address bar, in a cookie.
 *
 * At every request, not once per session: the session's signature and expiry, and whether its user may still see
 * the cluster (`access`: its owner now, an admin, or someone it is shared with), so an unshare or a transfer takes
 * effect at the next request. A page load in the address bar must also come from the browser that opened the link
 * (the cookie names the same user), so a copied address is no key to anyone else's browser; with PUBLIC_UI_DOMAIN
 * every request must.
 *
 * Apart, one cluster from another: with PUBLIC_UI_DOMAIN each cluster's UIs are served on a host of their own
 * (<cluster id>.<domain>, and only there), a browser origin of its own. Without it they share clusterbot's origin
 * and every response is sandboxed (ui-headers.ts sandboxPolicy): each page is an opaque origin that sends no cookies
 * and reads nothing of another cluster; its own API calls carry the session in their path, answered with CORS for
 * that opaque origin.
 *
 * The node is reached at its container IP on the cluster network, which works because clusterbot runs on the
 * Docker host; a cluster on a remote Docker host needs a route to its bridge network (not done yet).
 */

export type UiAccess = { ok: true; nodes: UiNode[] } | { ok: false; reason: 'gone' | 'forbidden' };

export interface UiProxyDeps {
  /** Resolved once, on the first request (the key may live in a file the artifact store creates). */
  key: () => Promise<Buffer>;
  clock: { now(): Date };
  /** May `user` open the cluster's UIs now, and its nodes if so (services/web-ui-access.ts). Asked at every request. */
  access(clusterId: string, user: string): Promise<UiAccess>;
  /** clusterbot's public URL (PUBLIC_URL): its scheme makes the cookie Secure and is X-Forwarded-Proto. */
  publicUrl: string;
  /** PUBLIC_UI_DOMAIN: each cluster's UIs are served on <cluster id>.<domain>, and only there. */
  uiDomain?: string | undefined;
  /** How long a session lasts after a link was opened. */
  cookieSeconds?: number;
  /** How often an open WebSocket (one request that may last hours) asks `access` again. */
  recheckMs?: number;
  log?: { warn(obj: object, msg?: string): void };
}

interface Target {
  clusterId: string;
  session: string | undefined;
  hostname: string;
  port: number;
  /** The path on the node, from its first slash. */
  rest: string;
  url: URL;
}

type Checked =
  | {
      ok: true;
      target: Target;
      user: string /** The session's end (unix seconds). */;
      expires: number;
      node: UiNode;
      ctx: RewriteContext;
    }
  | { ok: false; status: number; text: string };

/**
 * A connection per request to the node: UIs close connections when they please (a node's server may answer without
 * `Connection: close` and hang up anyway), and a pooled socket the node has just closed fails the next request. The
 * nodes are on the Docker host's own bridge, where a connection costs next to nothing.
 */
const upstreamAgent = new Agent({ keepAlive: false });

const pathPattern =
  /^\/ui\/([0-9a-f-]{36})\/(?:([A-Z0-9_]{1,32}\.\d{1,12}\.[0-9a-f]{64})\/)?([a-z][a-z0-9-]{0,62})\/(\d{1,5})(\/.*)?$/;
const pressAgain = 'press 🌐 Web UIs on the cluster card again';

function parseTarget(req: IncomingMessage): Target | undefined {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const m = pathPattern.exec(url.pathname);
  if (!m) return undefined;
  return { clusterId: m[1]!, session: m[2], hostname: m[3]!, port: Number(m[4]), rest: m[5] ?? '/', url };
}

function cookieFrom(req: IncomingMessage): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === uiCookieName) return v.join('=');
  }
  return undefined;
}

function refuse(res: ServerResponse, status: number, text: string) {
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'cache-control': 'no-store',
    'content-security-policy': sandboxPolicy,
  });
  res.end(`${text}\n`);
}

const secure = (deps: UiProxyDeps) => new URL(deps.publicUrl).protocol === 'https:';

/** The host this cluster's UIs are served on: its own with PUBLIC_UI_DOMAIN, else clusterbot's. */
function servedHost(deps: UiProxyDeps, clusterId: string): string {
  return deps.uiDomain ? `${clusterId}.${deps.uiDomain}`.toLowerCase() : new URL(deps.publicUrl).host;
}

/**
 * Everything a request must pass before it reaches a node: the right host, a valid session (or a link, traded by
 * `serve`), the browser that opened the link for a page load, and the user's access to the cluster now.
 */
async function check(
  deps: UiProxyDeps,
  req: IncomingMessage,
  target: Target,
  opts: { navigation: boolean },
): Promise<Checked> {
  const { clusterId } = target;
  if (deps.uiDomain && (req.headers.host ?? '').toLowerCase() !== servedHost(deps, clusterId))
    return {
      ok: false,
      status: 404,
      text: `This cluster's web UIs are served at ${new URL(deps.publicUrl).protocol}//${servedHost(deps, clusterId)}/ only; ${pressAgain}.`,
    };
  if (!target.session)
    return { ok: false, status: 403, text: `Open this web UI with the 🌐 Web UIs button on its cluster card.` };
  const key = await deps.key();
  const now = deps.clock.now();
  const session = verifyUiGrant(key, { kind: 'session', clusterId, ...parseUiSession(target.session)! }, now);
  if (!session.ok)
    return {
      ok: false,
      status: 403,
      text:
        session.reason === 'expired'
          ? `Your web UI session has expired; ${pressAgain}.`
          : 'This web UI session is not valid.',
    };
  const user = session.grant.user;
  // On a host of its own the cluster's pages are same-origin with their requests, which carry the cookie: every
  // request must, so the session path alone opens nothing. Sandboxed pages send none, so there only page loads must.
  if (opts.navigation || deps.uiDomain) {
    const cookie = parseUiSession(cookieFrom(req));
    const own = cookie && verifyUiGrant(key, { kind: 'session', clusterId, ...cookie }, now);
    if (!own?.ok || own.grant.user !== user)
      return {
        ok: false,
        status: 403,
        text: `This address belongs to a web UI session opened in another browser; ${pressAgain} to get your own.`,
      };
  }
  const access = await deps.access(clusterId, user);
  if (!access.ok) return refusedAccess(access.reason);
  const node = access.nodes.find((n) => n.hostname === target.hostname);
  if (!node?.uiPorts.includes(target.port)) return { ok: false, status: 404, text: 'This cluster has no such web UI.' };
  return {
    ok: true,
    target,
    user,
    expires: session.grant.expires,
    node,
    ctx: {
      clusterId,
      session: target.session,
      self: { hostname: node.hostname, port: target.port },
      nodes: access.nodes,
    },
  };
}

function refusedAccess(reason: 'gone' | 'forbidden'): { ok: false; status: number; text: string } {
  return reason === 'gone'
    ? { ok: false, status: 404, text: 'This cluster no longer exists.' }
    : {
        ok: false,
        status: 403,
        text: "You may no longer open this cluster's web UIs: it is not shared with you (any more). Ask its owner: `/cluster share NAME @you`.",
      };
}

function forwarded(deps: UiProxyDeps, req: IncomingMessage, c: Extract<Checked, { ok: true }>): Forwarded {
  const { target } = c;
  return {
    host: `${target.hostname}:${target.port}`,
    clientIp: req.socket.remoteAddress,
    publicHost: servedHost(deps, target.clusterId),
    publicProto: secure(deps) ? 'https' : 'http',
    prefix: uiPath(target.clusterId, target.hostname, target.port, target.session).replace(/\/$/, ''),
  };
}

/** A signed link: checked, traded for a session (path and cookie), and the signature dropped from the address bar. */
async function tradeLink(deps: UiProxyDeps, req: IncomingMessage, res: ServerResponse, target: Target): Promise<void> {
  const { clusterId, url } = target;
  if (deps.uiDomain && (req.headers.host ?? '').toLowerCase() !== servedHost(deps, clusterId))
    return refuse(res, 404, `This link is for ${servedHost(deps, clusterId)}.`);
  const q = url.searchParams;
  const key = await deps.key();
  const now = deps.clock.now();
  const link = verifyUiGrant(
    key,
    { kind: 'link', clusterId, user: q.get('cb_user'), expires: q.get('cb_exp'), sig: q.get('cb_sig') },
    now,
  );
  if (!link.ok)
    return refuse(
      res,
      403,
      link.reason === 'expired' ? `This web UI link has expired; ${pressAgain}.` : 'This web UI link is not valid.',
    );
  const access = await deps.access(clusterId, link.grant.user);
  if (!access.ok) {
    const r = refusedAccess(access.reason);
    return refuse(res, r.status, r.text);
  }
  const nowSeconds = Math.floor(now.getTime() / 1000);
  const maxAge = deps.cookieSeconds ?? 3600;
  const session = uiSession(key, { clusterId, user: link.grant.user, expires: nowSeconds + maxAge });
  for (const k of ['cb_user', 'cb_exp', 'cb_sig']) q.delete(k);
  const search = q.toString();
  res.writeHead(303, {
    location: `${uiPath(clusterId, target.hostname, target.port, session)}${target.rest.slice(1)}${search ? `?${search}` : ''}`,
    // Host-only (no Domain): with PUBLIC_UI_DOMAIN, the cluster's own host; else clusterbot's, under this cluster's path.
    'set-cookie': `${uiCookieName}=${session}; Path=${uiPrefix}${clusterId}/; Max-Age=${maxAge}; HttpOnly; SameSite=Lax${secure(deps) ? '; Secure' : ''}`,
    'cache-control': 'no-store',
  });
  res.end();
}

/** A page load in the address bar (or a link followed, a form sent), as Fetch Metadata says; sub-requests are not. */
function isNavigation(req: IncomingMessage): boolean {
  return (
    req.headers['sec-fetch-mode'] === 'navigate' &&
    req.headers['sec-fetch-dest'] === 'document' &&
    (req.method === 'GET' || req.method === 'HEAD')
  );
}

/**
 * CORS for the sandboxed pages' own calls: such a page is an opaque origin (`Origin: null`), so its fetch of its own
 * API is cross-origin. Only a request that carries a valid session in its path gets here, and no other page knows it.
 */
function corsFor(deps: UiProxyDeps, req: IncomingMessage): Record<string, string> {
  if (deps.uiDomain || req.headers.origin !== 'null') return {};
  return { 'access-control-allow-origin': 'null', 'access-control-allow-credentials': 'true', vary: 'Origin' };
}

async function serve(deps: UiProxyDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const target = parseTarget(req);
  if (!target) return refuse(res, 404, 'This web UI link is malformed.');
  if (!target.session && target.url.searchParams.has('cb_sig')) return tradeLink(deps, req, res, target);
  const c = await check(deps, req, target, { navigation: isNavigation(req) });
  if (!c.ok) return refuse(res, c.status, c.text);
  const cors = corsFor(deps, req);
  // A sandboxed page's preflight (a PUT or a JSON POST to its own REST API) is answered here: the node knows no CORS.
  if (req.method === 'OPTIONS' && cors['access-control-allow-origin'] && req.headers['access-control-request-method']) {
    const asked = String(req.headers['access-control-request-headers'] ?? '');
    res.writeHead(204, {
      ...cors,
      'access-control-allow-methods': String(req.headers['access-control-request-method']).replace(/[^A-Za-z]/g, ''),
      ...(asked && { 'access-control-allow-headers': asked.replace(/[^A-Za-z0-9, -]/g, '') }),
      'access-control-max-age': '600',
    });
    res.end();
    return;
  }
  const { node, ctx } = c;
  const path = `${target.rest}${target.url.search}`;
  const upstream = httpRequest({
    agent: upstreamAgent,
    host: node.ip,
    port: target.port,
    method: req.method,
    path,
    headers: requestHeaders(req.headers, forwarded(deps, req, c)),
    timeout: 30_000,
  });
  pipeline(req, upstream, () => undefined);
  // A browser that goes away (a tab closed on an endless page) ends the node's answer too.
  let clientGone = false;
  res.on('close', () => {
    if (res.writableFinished) return;
    clientGone = true;
    upstream.destroy();
  });
  upstream.on('timeout', () => upstream.destroy(new Error('the web UI did not answer in 30 s')));
  upstream.on('error', (e) => {
    if (clientGone) return;
    deps.log?.warn(
      { err: e.message, clusterId: target.clusterId, hostname: target.hostname, port: target.port },
      'web UI proxy: upstream failed',
    );
    if (!res.headersSent) refuse(res, 502, `${target.hostname}:${target.port} did not answer: ${e.message}`);
    else res.destroy();
  });
  upstream.on('response', (up) => {
    // Whatever a node answers must not throw out of this event (an uncaught exception would end the process).
    try {
      answer(up);
    } catch (e) {
      up.destroy();
      deps.log?.warn(
        { err: (e as Error).message, clusterId: target.clusterId, hostname: target.hostname, port: target.port },
        'web UI proxy: could not pass the answer on',
      );
      if (!res.headersSent)
        refuse(res, 502, `${target.hostname}:${target.port} answered something clusterbot cannot pass on.`);
      else res.destroy();
    }
  });
  const answer = (up: IncomingMessage) => {
    const out = responseHeaders(up.headers);
    if (out.location !== undefined) {
      const to = proxiedLocation(String(out.location), ctx, path);
      if (to === undefined) {
        up.destroy();
        return refuse(
          res,
          502,
          `${target.hostname}:${target.port} redirected outside its cluster (${String(out.location).slice(0, 200)}); clusterbot does not follow it.`,
        );
      }
      out.location = to;
    }
    Object.assign(out, cors, {
      'referrer-policy': 'same-origin',
      ...(!deps.uiDomain && {
        'content-security-policy': [...[out['content-security-policy'] ?? []].flat().map(String), sandboxPolicy],
      }),
    });
    const encoded = up.headers['content-encoding'] !== undefined && up.headers['content-encoding'] !== 'identity';
    const isHtml = /^\s*text\/html/i.test(String(up.headers['content-type'] ?? ''));
    if (!isHtml || encoded || req.method === 'HEAD') {
      res.writeHead(up.statusCode ?? 502, out);
      pipeline(up, res, () => undefined);
      return;
    }
    // Rewritten as it streams (its length changes): sent chunked, never held whole.
    delete out['content-length'];
    res.writeHead(up.statusCode ?? 502, out);
    pipeline(up, htmlRewriter(ctx), res, () => undefined);
  };
}

/** The nodes of a cluster's view with the UI ports their template roles declare. */
export function uiNodesOf(view: ClusterView, template: Template | undefined): UiNode[] {
  return view.nodes.map((n) => ({
    hostname: n.hostname,
    ip: n.ip,
    uiPorts: Object.values(template?.roles[n.role]?.ports ?? {})
      .filter((p) => p.ui)
      .map((p) => p.port),
  }));
}

/** Memoizes a key lookup, retrying after a failure. */
export function onceKey(load: () => Promise<Buffer>): () => Promise<Buffer> {
  let p: Promise<Buffer> | undefined;
  return () =>
    (p ??= load().catch((e: unknown) => {
      p = undefined;
      throw e;
    }));
}

/** The proxy route; `/*rest` is path-to-regexp syntax (Bolt's custom routes), `findRoute` matches it too. */
export function createUiProxyRoute(deps: UiProxyDeps): Route {
  return {
    path: `${uiPrefix}*rest`,
    method: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
    handler: (req, res) => {
      serve(deps, req, res).catch((e: unknown) => {
        deps.log?.warn({ err: (e as Error)?.message }, 'web UI proxy failed');
        if (!res.headersSent) refuse(res, 500, 'The web UI proxy failed.');
        else res.destroy();
      });
    },
  };
}

function answerRaw(socket: Duplex, status: number, reason: string, text: string) {
  const body = `${text}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/**
 * The HTTP server's 'upgrade' listener: WebSockets under /ui/ pass the same checks as any request and are then
 * piped to the node (after the node's 101, of which only the handshake headers pass); access is asked about again
 * every `recheckMs` while the socket is open, so an unshare (or the session's end) closes it too. Other upgrades (h2c, another path)
 * get 501: nothing else here speaks them.
 */
export function createUiUpgradeHandler(
  deps: UiProxyDeps,
): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  return (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    const target = parseTarget(req);
    if (!target || String(req.headers.upgrade ?? '').toLowerCase() !== 'websocket')
      return answerRaw(socket, 501, 'Not Implemented', 'Only WebSocket upgrades of cluster web UIs are proxied here.');
    void upgrade(deps, req, socket, head, target).catch((e: unknown) => {
      deps.log?.warn({ err: (e as Error)?.message }, 'web UI proxy: WebSocket failed');
      answerRaw(socket, 500, 'Internal Server Error', 'The web UI proxy failed.');
    });
  };
}

async function upgrade(
  deps: UiProxyDeps,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  target: Target,
): Promise<void> {
  const c = await check(deps, req, target, { navigation: false });
  if (!c.ok) return answerRaw(socket, c.status, c.status === 404 ? 'Not Found' : 'Forbidden', c.text);
  // A WebSocket is not bound by CORS: a page of another site must not open one with a session it learnt.
  const origin = req.headers.origin;
  const ownOrigin = `${new URL(deps.publicUrl).protocol}//${servedHost(deps, target.clusterId)}`;
  if (origin !== undefined && origin !== (deps.uiDomain ? ownOrigin : 'null') && origin !== ownOrigin)
    return answerRaw(socket, 403, 'Forbidden', 'A WebSocket from another site.');
  const path = `${target.rest}${target.url.search}`;
  const upstream = httpRequest({
    agent: upstreamAgent,
    host: c.node.ip,
    port: target.port,
    method: 'GET',
    path,
    headers: requestHeaders(req.headers, forwarded(deps, req, c), { upgrade: true }),
    timeout: 30_000,
  });
  upstream.on('timeout', () => upstream.destroy(new Error('the web UI did not answer in 30 s')));
  upstream.on('error', (e) =>
    answerRaw(socket, 502, 'Bad Gateway', `${target.hostname}:${target.port} did not answer: ${e.message}`),
  );
  upstream.on('response', (res) => {
    res.resume();
    answerRaw(
      socket,
      502,
      'Bad Gateway',
      `${target.hostname}:${target.port} refused the WebSocket (${res.statusCode}).`,
    );
  });
  upstream.on('upgrade', (res, upSocket, upHead) => {
    upSocket.setTimeout(0);
    socket.write(`HTTP/1.1 101 Switching Protocols\r\n${upgradeResponseHeaders(res.headers).join('\r\n')}\r\n\r\n`);
    if (upHead.length) socket.write(upHead);
    if (head.length) upSocket.write(head);
    const recheck = setInterval(() => {
      if (deps.clock.now().getTime() >= c.expires * 1000) return void socket.destroy();
      deps.access(target.clusterId, c.user).then(
        (a) => void (a.ok || socket.destroy()),
        () => undefined, // a failed lookup is no answer: the next tick asks again
      );
    }, deps.recheckMs ?? 5000);
    const close = () => {
      clearInterval(recheck);
      socket.destroy();
      upSocket.destroy();
    };
    socket.on('close', close);
    upSocket.on('close', close);
    upSocket.on('error', close);
    socket.pipe(upSocket);
    upSocket.pipe(socket);
  });
  upstream.end();
}
