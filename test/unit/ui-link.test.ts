import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { deriveUiKey, parseUiSession, uiLink, uiOrigin, uiSession, verifyUiGrant } from '../../src/domain/ui-link.js';
import { requestHeaders, responseHeaders, upgradeResponseHeaders } from '../../src/http/ui-headers.js';
import {
  htmlRewriter,
  proxiedLocation,
  type RewriteContext,
  rewriteHtml,
  rewriteUrl,
  type UiNode,
} from '../../src/http/ui-rewrite.js';

const key = deriveUiKey('a-secret-of-some-length');
const clusterId = '7f3a9c2e-1111-2222-3333-444455556666';
const other = '8f3a9c2e-1111-2222-3333-444455556666';
const now = new Date('2026-12-01T01:00:00Z');
const in10min = Math.floor(now.getTime() / 1000) + 600;

function fromLink(link: string) {
  const u = new URL(link, 'http://x');
  return {
    user: u.searchParams.get('cb_user'),
    expires: u.searchParams.get('cb_exp'),
    sig: u.searchParams.get('cb_sig'),
  };
}

describe('UI grants', () => {
  const link = uiLink(key, { clusterId, hostname: 'master', port: 8080, user: 'UALICE', expires: in10min });

  it('a link opens its cluster for its user until it expires', () => {
    expect(link.startsWith(`/ui/${clusterId}/master/8080/?`)).toBe(true);
    expect(verifyUiGrant(key, { kind: 'link', clusterId, ...fromLink(link) }, now)).toMatchObject({
      ok: true,
      grant: { user: 'UALICE' },
    });
    expect(verifyUiGrant(key, { kind: 'link', clusterId, ...fromLink(link) }, new Date(in10min * 1000))).toEqual({
      ok: false,
      reason: 'expired',
    });
  });

  it('refuses another cluster, another user, a longer expiry, a session posing as a link, another key', () => {
    const p = fromLink(link);
    expect(verifyUiGrant(key, { kind: 'link', clusterId: other, ...p }, now)).toEqual({
      ok: false,
      reason: 'bad signature',
    });
    expect(verifyUiGrant(key, { kind: 'link', clusterId, ...p, user: 'UMALLORY' }, now)).toEqual({
      ok: false,
      reason: 'bad signature',
    });
    expect(verifyUiGrant(key, { kind: 'link', clusterId, ...p, expires: String(in10min + 1) }, now)).toEqual({
      ok: false,
      reason: 'bad signature',
    });
    expect(verifyUiGrant(key, { kind: 'session', clusterId, ...p }, now)).toEqual({
      ok: false,
      reason: 'bad signature',
    });
    expect(verifyUiGrant(deriveUiKey('another-secret-here'), { kind: 'link', clusterId, ...p }, now)).toEqual({
      ok: false,
      reason: 'bad signature',
    });
    expect(verifyUiGrant(key, { kind: 'link', clusterId, user: null, expires: null, sig: null }, now)).toEqual({
      ok: false,
      reason: 'malformed',
    });
  });

  it('a session round-trips and is bound to its cluster', () => {
    const c = parseUiSession(uiSession(key, { clusterId, user: 'USHELL_1', expires: in10min }))!;
    expect(verifyUiGrant(key, { kind: 'session', clusterId, ...c }, now).ok).toBe(true);
    expect(verifyUiGrant(key, { kind: 'session', clusterId: other, ...c }, now).ok).toBe(false);
    expect(verifyUiGrant(key, { kind: 'link', clusterId, ...c }, now).ok).toBe(false);
    expect(parseUiSession('garbage')).toBeUndefined();
  });

  it("serves the UIs under PUBLIC_URL, or on the cluster's own host with PUBLIC_UI_DOMAIN", () => {
    expect(uiOrigin('https://cb.example', undefined, clusterId)).toBe('https://cb.example');
    expect(uiOrigin('https://cb.example', 'ui.cb.example', clusterId)).toBe(`https://${clusterId}.ui.cb.example`);
    expect(uiOrigin('http://127.0.0.1:3000', 'ui.test:3000', clusterId)).toBe(`http://${clusterId}.ui.test:3000`);
  });
});

describe('rewriting UI pages under the proxy prefix', () => {
  const nodes: UiNode[] = [
    { hostname: 'master', ip: '10.244.3.10', uiPorts: [8080] },
    { hostname: 'worker-1', ip: '10.244.3.11', uiPorts: [8081] },
  ];
  const session = uiSession(key, { clusterId, user: 'UALICE', expires: in10min });
  const ctx: RewriteContext = { clusterId, session, self: { hostname: 'master', port: 8080 }, nodes };
  const prefix = `/ui/${clusterId}/${session}`;

  it('prefixes root-relative paths and absolute URLs of cluster UIs, leaves the rest', () => {
    expect(rewriteUrl('/static/x.css', ctx)).toBe(`${prefix}/master/8080/static/x.css`);
    expect(rewriteUrl('http://worker-1:8081/logPage?x=1', ctx)).toBe(`${prefix}/worker-1/8081/logPage?x=1`);
    expect(rewriteUrl('http://10.244.3.11:8081', ctx)).toBe(`${prefix}/worker-1/8081/`);
    expect(rewriteUrl('//worker-1:8081/x', ctx)).toBe(`${prefix}/worker-1/8081/x`);
    expect(rewriteUrl('http://worker-1:7078/', ctx)).toBe('http://worker-1:7078/');
    expect(rewriteUrl('https://spark.apache.org/', ctx)).toBe('https://spark.apache.org/');
    expect(rewriteUrl('//cdn.example/x.js', ctx)).toBe('//cdn.example/x.js');
    expect(rewriteUrl('app/1', ctx)).toBe('app/1');
  });

  it('rewrites href, src, action and formaction attributes in HTML', () => {
    const html = `<link href="/static/a.css"><script src='/static/b.js'></script><a href="http://worker-1:8081">w</a><form action="/app/kill/"><button formaction="/x">`;
    expect(rewriteHtml(html, ctx)).toBe(
      `<link href="${prefix}/master/8080/static/a.css"><script src='${prefix}/master/8080/static/b.js'></script><a href="${prefix}/worker-1/8081/">w</a><form action="${prefix}/master/8080/app/kill/"><button formaction="${prefix}/master/8080/x">`,
    );
  });

  it('streams: a page cut anywhere (inside an attribute too) comes out as if rewritten whole, bytes outside URLs untouched', async () => {
    const page = Buffer.from(
      `<html><body>${'<p title="ü ✓ a>b">x</p>'.repeat(3)}<a href="/static/a.css">a</a><img src='/i.png'>\u00e9</body></html>`,
      'utf8',
    );
    const whole = Buffer.from(rewriteHtml(page.toString('latin1'), ctx), 'latin1');
    expect(whole.toString('utf8')).toContain('ü ✓');
    for (const size of [1, 2, 3, 7, 16, 64]) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < page.length; i += size) chunks.push(page.subarray(i, i + size));
      const out = await readAll(Readable.from(chunks).pipe(htmlRewriter(ctx)));
      expect(out.equals(whole)).toBe(true);
    }
  });

  it('holds at most a chunk plus its carry: a page with no end and no `>` passes through unrewritten', async () => {
    const rewriter = htmlRewriter(ctx, 1024);
    const sizes: number[] = [];
    rewriter.on('data', (c: Buffer) => sizes.push(c.length));
    for (let i = 0; i < 100; i++) rewriter.write(Buffer.alloc(500, 'a'));
    rewriter.end();
    await new Promise((r) => rewriter.on('end', r));
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(50_000);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(1024 + 500);
  });

  it('keeps a redirect inside the cluster, and refuses one that leaves it (no open redirect)', () => {
    expect(proxiedLocation('/jobs/', ctx, '/')).toBe(`${prefix}/master/8080/jobs/`);
    expect(proxiedLocation('stages/?id=1', ctx, '/jobs/')).toBe(`${prefix}/master/8080/jobs/stages/?id=1`);
    expect(proxiedLocation('http://worker-1:8081/logs', ctx, '/')).toBe(`${prefix}/worker-1/8081/logs`);
    expect(proxiedLocation('//evil.example/x', ctx, '/')).toBeUndefined();
    expect(proxiedLocation('https://evil.example/x', ctx, '/')).toBeUndefined();
    expect(proxiedLocation('http://worker-1:7078/', ctx, '/')).toBeUndefined();
    expect(proxiedLocation('javascript:alert(1)', ctx, '/')).toBeUndefined();
    expect(proxiedLocation('/\\evil.example/x', ctx, '/')).toBeUndefined();
  });
});

describe('headers through the proxy', () => {
  it('drops cookies, service workers, site wipes, refreshes, host-wide policies, CORS and hop-by-hop headers of a response', () => {
    const out = responseHeaders({
      'content-type': 'text/html',
      'set-cookie': ['a=1'],
      'service-worker-allowed': '/',
      'clear-site-data': '"*"',
      refresh: '0;url=//evil',
      connection: 'keep-alive, x-secret',
      'x-secret': 'hop',
      'keep-alive': 'timeout=5',
      'proxy-authenticate': 'Basic',
      te: 'trailers',
      trailer: 'x',
      'transfer-encoding': 'chunked',
      upgrade: 'h2c',
      'strict-transport-security': 'max-age=1; includeSubDomains',
      'alt-svc': 'h3=":443"',
      'access-control-allow-origin': '*',
      nel: '{}',
      'report-to': '{}',
      'x-ui': 'kept',
      'cache-control': 'no-cache',
    });
    expect(out).toEqual({ 'content-type': 'text/html', 'x-ui': 'kept', 'cache-control': 'no-cache' });
  });

  it("sets X-Forwarded-* from what the proxy knows, never the client's, and drops its cookie, Referer and hop-by-hop headers", () => {
    const out = requestHeaders(
      {
        host: 'cb.example',
        cookie: 'clusterbot_ui=x',
        referer: 'https://cb.example/ui/x',
        'x-forwarded-for': '6.6.6.6',
        'x-forwarded-host': 'evil',
        forwarded: 'for=1.1.1.1',
        'x-real-ip': '6.6.6.6',
        connection: 'close, x-hop',
        'x-hop': '1',
        'proxy-authorization': 'Basic x',
        'accept-encoding': 'gzip',
        accept: 'text/html',
        origin: 'null',
      },
      {
        host: 'master:8080',
        clientIp: '192.0.2.7',
        publicHost: 'cb.example',
        publicProto: 'https',
        prefix: '/ui/c/s/master/8080',
      },
    );
    expect(out).toEqual({
      accept: 'text/html',
      host: 'master:8080',
      origin: 'http://master:8080',
      'x-forwarded-for': '192.0.2.7',
      'x-forwarded-host': 'cb.example',
      'x-forwarded-proto': 'https',
      'x-forwarded-prefix': '/ui/c/s/master/8080',
    });
  });

  it('answers a WebSocket handshake with its own headers only', () => {
    expect(
      upgradeResponseHeaders({
        'sec-websocket-accept': 'abc=',
        'set-cookie': ['a=1'],
        'sec-websocket-protocol': 'x\r\nSet-Cookie: a=1',
      } as never),
    ).toEqual(['Upgrade: websocket', 'Connection: Upgrade', 'sec-websocket-accept: abc=']);
  });
});

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe("the card's Web UIs button and the links it answers with", async () => {
  const path = await import('node:path');
  const { loadTemplateCatalog } = await import('../../src/catalog/template-catalog.js');
  const { renderClusterCard, webUiAction } = await import('../../src/render/cluster-card.js');
  const { webUis, webUiLinksMessage } = await import('../../src/render/ui-links.js');
  const catalog = loadTemplateCatalog(path.resolve('manifests/templates'));
  const spark = catalog.get('spark')!;
  const node = (hostname: string, role: string, i: number) => ({
    clusterId,
    ordinal: i,
    role,
    roleIndex: 1,
    hostname,
    ip: `10.244.3.${10 + i}`,
    containerName: `cb-${hostname}`,
    containerId: null,
    host: 'local',
    ports: [],
  });
  const view = {
    cluster: {
      id: clusterId,
      name: 'sp-1',
      owner: 'UALICE',
      team: null,
      template: 'spark',
      size: 1,
      state: 'ready' as const,
      host: 'local',
      subnetIndex: 3,
      channel: 'C1',
      cardTs: null,
      progressTs: null,
      error: null,
      createdAt: now,
      updatedAt: now,
      expiresAt: new Date(now.getTime() + 3600_000),
      remindedAt: null,
      readyAt: now,
    },
    nodes: [node('master', 'master', 0), node('worker-1', 'worker', 1)],
  } as never;

  it('a ready Spark card has the button (value: the cluster id) and lists its UIs without host URLs', () => {
    const blocks = JSON.stringify(renderClusterCard(view, { now, template: spark, advertiseHost: 'localhost' }).blocks);
    expect(blocks).toContain(`"action_id":"${webUiAction}","text":{"type":"plain_text","text":"🌐 Web UIs"`);
    expect(blocks).toContain('Spark master UI · 🌐 *Web UIs* button');
    expect(blocks).not.toContain('http://localhost');
  });

  it('answers with one signed link per UI', () => {
    const uis = webUis(view, spark);
    expect(uis.map((u) => `${u.hostname}:${u.port}`)).toEqual(['master:8080', 'worker-1:8081']);
    const msg = webUiLinksMessage(
      view,
      uis,
      (u) =>
        `https://cb.example${uiLink(key, { clusterId, hostname: u.hostname, port: u.port, user: 'UBOB', expires: in10min })}`,
      new Date(in10min * 1000),
    );
    const text = JSON.stringify(msg.blocks);
    expect(text).toContain(`<https://cb.example/ui/${clusterId}/master/8080/?cb_user=UBOB&cb_exp=${in10min}&cb_sig=`);
    expect(text).toContain('Spark worker UI');
  });
});
