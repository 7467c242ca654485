import { describe, expect, it } from 'vitest';
import { deriveUiKey, parseUiCookie, uiCookieValue, uiLink, verifyUiGrant } from '../../src/http/ui-link.js';
import { rewriteHtml, rewriteUrl, type UiNode } from '../../src/http/ui-proxy.js';

const key = deriveUiKey('a-secret-of-some-length');
const clusterId = '7f3a9c2e-1111-2222-3333-444455556666';
const other = '8f3a9c2e-1111-2222-3333-444455556666';
const now = new Date('2026-12-01T01:00:00Z');
const in10min = Math.floor(now.getTime() / 1000) + 600;

function fromLink(link: string) {
  const u = new URL(link, 'http://x');
  return { user: u.searchParams.get('cb_user'), expires: u.searchParams.get('cb_exp'), sig: u.searchParams.get('cb_sig') };
}

describe('UI grants', () => {
  const link = uiLink(key, { clusterId, hostname: 'master', port: 8080, user: 'UALICE', expires: in10min });

  it('a link opens its cluster for its user until it expires', () => {
    expect(link.startsWith(`/ui/${clusterId}/master/8080/?`)).toBe(true);
    expect(verifyUiGrant(key, { kind: 'link', clusterId, ...fromLink(link) }, now)).toMatchObject({ ok: true, grant: { user: 'UALICE' } });
    expect(verifyUiGrant(key, { kind: 'link', clusterId, ...fromLink(link) }, new Date(in10min * 1000))).toEqual({ ok: false, reason: 'expired' });
  });

  it('refuses another cluster, another user, a longer expiry, a cookie posing as a link, another key', () => {
    const p = fromLink(link);
    expect(verifyUiGrant(key, { kind: 'link', clusterId: other, ...p }, now)).toEqual({ ok: false, reason: 'bad signature' });
    expect(verifyUiGrant(key, { kind: 'link', clusterId, ...p, user: 'UMALLORY' }, now)).toEqual({ ok: false, reason: 'bad signature' });
    expect(verifyUiGrant(key, { kind: 'link', clusterId, ...p, expires: String(in10min + 1) }, now)).toEqual({ ok: false, reason: 'bad signature' });
    expect(verifyUiGrant(key, { kind: 'cookie', clusterId, ...p }, now)).toEqual({ ok: false, reason: 'bad signature' });
    expect(verifyUiGrant(deriveUiKey('another-secret-here'), { kind: 'link', clusterId, ...p }, now)).toEqual({ ok: false, reason: 'bad signature' });
    expect(verifyUiGrant(key, { kind: 'link', clusterId, user: null, expires: null, sig: null }, now)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('a cookie round-trips and is bound to its cluster', () => {
    const c = parseUiCookie(uiCookieValue(key, { clusterId, user: 'USHELL_1', expires: in10min }))!;
    expect(verifyUiGrant(key, { kind: 'cookie', clusterId, ...c }, now).ok).toBe(true);
    expect(verifyUiGrant(key, { kind: 'cookie', clusterId: other, ...c }, now).ok).toBe(false);
    expect(parseUiCookie('garbage')).toBeUndefined();
  });
});

describe('rewriting UI pages under the proxy prefix', () => {
  const nodes: UiNode[] = [
    { hostname: 'master', ip: '10.244.3.10', uiPorts: [8080] },
    { hostname: 'worker-1', ip: '10.244.3.11', uiPorts: [8081] },
  ];
  const self = { hostname: 'master', port: 8080 };
  const prefix = `/ui/${clusterId}`;

  it('prefixes root-relative paths and absolute URLs of cluster UIs, leaves the rest', () => {
    expect(rewriteUrl('/static/x.css', clusterId, self, nodes)).toBe(`${prefix}/master/8080/static/x.css`);
    expect(rewriteUrl('http://worker-1:8081/logPage?x=1', clusterId, self, nodes)).toBe(`${prefix}/worker-1/8081/logPage?x=1`);
    expect(rewriteUrl('http://10.244.3.11:8081', clusterId, self, nodes)).toBe(`${prefix}/worker-1/8081/`);
    expect(rewriteUrl('http://worker-1:7078/', clusterId, self, nodes)).toBe('http://worker-1:7078/');
    expect(rewriteUrl('https://spark.apache.org/', clusterId, self, nodes)).toBe('https://spark.apache.org/');
    expect(rewriteUrl('//cdn.example/x.js', clusterId, self, nodes)).toBe('//cdn.example/x.js');
    expect(rewriteUrl('app/1', clusterId, self, nodes)).toBe('app/1');
  });

  it('rewrites href, src and action attributes in HTML', () => {
    const html = `<link href="/static/a.css"><script src='/static/b.js'></script><a href="http://worker-1:8081">w</a><form action="/app/kill/">`;
    expect(rewriteHtml(html, clusterId, self, nodes)).toBe(
      `<link href="${prefix}/master/8080/static/a.css"><script src='${prefix}/master/8080/static/b.js'></script><a href="${prefix}/worker-1/8081/">w</a><form action="${prefix}/master/8080/app/kill/">`,
    );
  });
});

describe('the card\'s Web UIs button and the links it answers with', async () => {
  const path = await import('node:path');
  const { loadTemplateCatalog } = await import('../../src/catalog/template-catalog.js');
  const { renderClusterCard, webUiAction } = await import('../../src/render/cluster-card.js');
  const { webUis, webUiLinksMessage } = await import('../../src/render/ui-links.js');
  const catalog = loadTemplateCatalog(path.resolve('manifests/templates'));
  const spark = catalog.get('spark')!;
  const node = (hostname: string, role: string, i: number) => ({
    clusterId, ordinal: i, role, roleIndex: 1, hostname, ip: `10.244.3.${10 + i}`, containerName: `cb-${hostname}`, containerId: null, host: 'local', ports: [],
  });
  const view = {
    cluster: {
      id: clusterId, name: 'sp-1', owner: 'UALICE', team: null, template: 'spark', size: 1, state: 'ready' as const, host: 'local', subnetIndex: 3,
      channel: 'C1', cardTs: null, progressTs: null, error: null, createdAt: now, updatedAt: now, expiresAt: new Date(now.getTime() + 3600_000), remindedAt: null, readyAt: now,
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
    const msg = webUiLinksMessage(view, uis, (u) => `https://cb.example${uiLink(key, { clusterId, hostname: u.hostname, port: u.port, user: 'UBOB', expires: in10min })}`, new Date(in10min * 1000));
    const text = JSON.stringify(msg.blocks);
    expect(text).toContain(`<https://cb.example/ui/${clusterId}/master/8080/?cb_user=UBOB&cb_exp=${in10min}&cb_sig=`);
    expect(text).toContain('Spark worker UI');
  });
});
