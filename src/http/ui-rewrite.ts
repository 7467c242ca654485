import { Transform } from 'node:stream';
import { uiPath } from '../domain/ui-link.js';

/** A node of the cluster as the proxy reaches it. */
export interface UiNode {
  hostname: string;
  ip: string;
  /** The node's ports the template marks `ui: true`: the only ports the proxy opens. */
  uiPorts: number[];
}

/** What URLs in one proxied response are rewritten against: the page's node and port, the cluster, the session. */
export interface RewriteContext {
  clusterId: string;
  /** The session segment every proxied path carries (domain/ui-link.ts). */
  session: string;
  self: { hostname: string; port: number };
  nodes: UiNode[];
}

function nodeNamed(host: string, nodes: UiNode[]): UiNode | undefined {
  const h = host.toLowerCase();
  return nodes.find((n) => n.ip === h || n.hostname === h || h.startsWith(`${n.hostname}.`));
}

/**
 * Rewrites an URL the UI emitted so it stays under the proxy: root-relative paths get the node's prefix, and
 * absolute (or scheme-relative) URLs that name a cluster node's UI port (Spark's master links each worker's UI) get
 * that node's. Everything else (relative paths, other sites) is left as it is: it is a link, not a redirect.
 */
export function rewriteUrl(url: string, ctx: RewriteContext): string {
  if (url.startsWith('/') && !url.startsWith('//'))
    return uiPath(ctx.clusterId, ctx.self.hostname, ctx.self.port, ctx.session) + url.slice(1);
  const m = /^(?:https?:)?\/\/([^/:?#]+)(?::(\d+))?(.*)$/i.exec(url);
  if (!m) return url;
  const node = nodeNamed(m[1]!, ctx.nodes);
  const port = Number(m[2] ?? 80);
  if (!node?.uiPorts.includes(port)) return url;
  const rest = m[3] || '/';
  return uiPath(ctx.clusterId, node.hostname, port, ctx.session) + (rest.startsWith('/') ? rest.slice(1) : rest);
}

/** Rewrites href/src/action/formaction attributes of (a piece of) an HTML page: quoted, root-relative or absolute to a node. */
export function rewriteHtml(html: string, ctx: RewriteContext): string {
  return html.replace(
    /(\s(?:href|src|action|formaction)\s*=\s*)(["'])([^"']*)\2/gi,
    (_all, attr: string, q: string, url: string) => `${attr}${q}${rewriteUrl(url, ctx)}${q}`,
  );
}

/**
 * A redirect's target under the proxy, or undefined when it leaves the cluster (`//evil.example/x`, another site, a
 * port that is no UI): the proxy refuses those rather than be an open redirect. Relative targets are resolved
 * against the request's own address on the node first.
 */
export function proxiedLocation(location: string, ctx: RewriteContext, requestPath: string): string | undefined {
  let u: URL;
  try {
    u = new URL(location, `http://${ctx.self.hostname}:${ctx.self.port}${requestPath}`);
  } catch {
    return undefined;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return undefined;
  const node = nodeNamed(u.hostname, ctx.nodes);
  const port = Number(u.port || (u.protocol === 'https:' ? 443 : 80));
  if (!node?.uiPorts.includes(port)) return undefined;
  return `${uiPath(ctx.clusterId, node.hostname, port, ctx.session)}${u.pathname.slice(1)}${u.search}${u.hash}`;
}

/** How much of a page may wait for the end of a tag (a `>`) before it is passed on unrewritten. */
export const rewriteCarryBytes = 64 * 1024;

/**
 * Rewrites an HTML body as it streams: each chunk up to its last `>` is rewritten and passed on, the rest waits for
 * the next chunk, at most `carryBytes` of it. Memory stays bounded by a chunk plus that carry however long the page
 * is (a UI that sends endless HTML costs the process nothing), and backpressure reaches the node through the pipe.
 * Decoded as latin1, one character per byte, so bytes outside the rewritten URLs pass through exactly.
 */
export function htmlRewriter(ctx: RewriteContext, carryBytes = rewriteCarryBytes): Transform {
  let pending = '';
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      pending += chunk.toString('latin1');
      const cut = pending.lastIndexOf('>') + 1;
      let out = '';
      if (cut > 0) {
        out = rewriteHtml(pending.slice(0, cut), ctx);
        pending = pending.slice(cut);
      }
      if (pending.length > carryBytes) {
        out += pending;
        pending = '';
      }
      done(null, out ? Buffer.from(out, 'latin1') : undefined);
    },
    flush(done) {
      done(null, pending ? Buffer.from(rewriteHtml(pending, ctx), 'latin1') : undefined);
    },
  });
}
