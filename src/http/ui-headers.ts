import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/**
 * What the web UI proxy lets through in each direction. A cluster's UI is written by whoever controls its nodes
 * (the owner, or code running there), and it is served from clusterbot's own address: its headers must not reach
 * past the page (cookies, service workers, HSTS or Alt-Svc for clusterbot's host, wiping site data, reports to
 * elsewhere), and the client's must not tell the node things the proxy has not checked (X-Forwarded-*).
 */

/** Hop-by-hop headers (RFC 9110 7.6.1), never forwarded by a proxy; plus those a Connection header names. */
const hopByHop = ['connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'proxy-connection'];

const droppedResponse = new Set([
  ...hopByHop,
  'set-cookie',
  'set-cookie2',
  'service-worker-allowed',
  'clear-site-data',
  'refresh',
  // These would apply to clusterbot's whole host (or report its users' browsing elsewhere).
  'strict-transport-security',
  'alt-svc',
  'nel',
  'report-to',
  'reporting-endpoints',
  'public-key-pins',
  'expect-ct',
  'content-security-policy-report-only',
]);

const droppedRequest = new Set([...hopByHop, 'cookie', 'forwarded', 'x-real-ip', 'referer', 'accept-encoding', 'host']);

/** Names listed in a Connection header (hop-by-hop by declaration). */
function connectionNamed(headers: IncomingHttpHeaders): Set<string> {
  const value = headers.connection;
  const list = Array.isArray(value) ? value.join(',') : (value ?? '');
  return new Set(
    list
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean),
  );
}

/**
 * The headers of a proxied response as the node sent them, minus what must not pass. CORS headers are the proxy's
 * to set (a node's `Access-Control-Allow-Origin: *` would otherwise speak for the proxy).
 */
export function responseHeaders(upstream: IncomingHttpHeaders): OutgoingHttpHeaders {
  const named = connectionNamed(upstream);
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(upstream)) {
    if (
      value === undefined ||
      droppedResponse.has(name) ||
      named.has(name) ||
      name.startsWith('proxy-') ||
      name.startsWith('access-control-')
    )
      continue;
    out[name] = value;
  }
  return out;
}

export interface Forwarded {
  /** The node as the UI knows itself: `master:8080`. */
  host: string;
  /** The browser's address as the proxy's socket saw it. */
  clientIp: string | undefined;
  /** The host and scheme browsers reach the proxy at, and the path prefix of this node's UI under it. */
  publicHost: string;
  publicProto: 'http' | 'https';
  prefix: string;
}

/**
 * The headers of the request to the node: the browser's, minus clusterbot's cookie (the session proves nothing to
 * the node), hop-by-hop and forwarding headers (set here, from what the proxy knows, never passed through), the
 * Referer (it carries the session), and Accept-Encoding (an HTML page is rewritten, so it must come uncompressed).
 * A browser's Origin becomes the node's own, so a UI that checks it sees a request from its own pages.
 */
export function requestHeaders(
  client: IncomingHttpHeaders,
  f: Forwarded,
  opts: { upgrade?: boolean } = {},
): OutgoingHttpHeaders {
  const named = connectionNamed(client);
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(client)) {
    if (
      value === undefined ||
      droppedRequest.has(name) ||
      named.has(name) ||
      name.startsWith('proxy-') ||
      name.startsWith('x-forwarded-')
    )
      continue;
    out[name] = value;
  }
  out.host = f.host;
  if (out.origin !== undefined) out.origin = `http://${f.host}`;
  if (f.clientIp) out['x-forwarded-for'] = f.clientIp;
  out['x-forwarded-host'] = f.publicHost;
  out['x-forwarded-proto'] = f.publicProto;
  out['x-forwarded-prefix'] = f.prefix;
  if (opts.upgrade) {
    out.connection = 'Upgrade';
    out.upgrade = client.upgrade;
  }
  return out;
}

/**
 * The sandbox every proxied response gets when the UIs share clusterbot's origin: scripts, forms, popups (Spark's
 * links to workers open in new tabs), dialogs (its "kill" asks to confirm) and downloads (logs) work, but without
 * allow-same-origin the page is an opaque origin of its own. It cannot read another cluster's UI, nor clusterbot's
 * other paths, nor set cookies or register a service worker for them.
 */
export const sandboxPolicy =
  'sandbox allow-scripts allow-forms allow-popups allow-popups-to-escape-sandbox allow-modals allow-downloads';

/** The 101 answer to a WebSocket upgrade: only the handshake's own headers pass. */
export function upgradeResponseHeaders(upstream: IncomingHttpHeaders): string[] {
  const keep = ['sec-websocket-accept', 'sec-websocket-protocol', 'sec-websocket-extensions'];
  const lines = ['Upgrade: websocket', 'Connection: Upgrade'];
  for (const name of keep) {
    const v = upstream[name];
    if (typeof v === 'string' && !/[\r\n]/.test(v)) lines.push(`${name}: ${v}`);
  }
  return lines;
}
