import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTemplateCatalog } from '../../src/catalog/template-catalog.js';
import { deriveUiKey, uiLink } from '../../src/domain/ui-link.js';
import { findRoute } from '../../src/http/routes.js';
import {
  createUiProxyRoute,
  createUiUpgradeHandler,
  type UiAccess,
  type UiProxyDeps,
  uiNodesOf,
} from '../../src/http/ui-proxy.js';
import { docker } from '../support/docker.js';
import { provisionReal, type RealCluster } from '../support/real-cluster.js';

// What the scripts given to page.evaluate see (they run in the browser; this project's TypeScript has no DOM library).
declare const document: any, location: any, self: any, getComputedStyle: any;
/**
 * Spark 1 and ZooKeeper 1 from this file's own pool: the Spark master UI through the signed-link proxy (by fetch and
 * in Debian's chromium, sandboxed under clusterbot's origin and on a host of its own), the refusals, the hardened
 * containers as Docker reports them, and that one cluster cannot reach another. Who may open a UI is a stub here
 * (`revoked`); test/e2e/slack-webui.test.ts asks the real shares.
 */
const subnetPool = '10.244.0.0/16';
const key = deriveUiKey('ui-proxy-test-secret');
const catalog = loadTemplateCatalog(path.resolve('manifests/templates'));

describe('web UIs behind clusterbot, hardened containers', () => {
  let spark: RealCluster;
  let zk: RealCluster;
  let browser: Browser;
  let now = new Date();
  /** Users refused by the stub access check, as an unshare would. */
  const revoked = new Set<string>();
  const servers: http.Server[] = [];

  /** A proxy on its own port: `base` is its public URL; `uiDomain` serves each cluster on <id>.<domain>. */
  async function proxy(opts: { publicUrl?: string; uiDomain?: (port: number) => string } = {}) {
    const server = http.createServer();
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const base = `http://127.0.0.1:${port}`;
    const deps: UiProxyDeps = {
      key: async () => key,
      clock: { now: () => now },
      publicUrl: opts.publicUrl ?? base,
      uiDomain: opts.uiDomain?.(port),
      access: async (id, user): Promise<UiAccess> => {
        const c = [spark, zk].find((x) => x.view.cluster.id === id);
        if (!c) return { ok: false, reason: 'gone' };
        if (revoked.has(user)) return { ok: false, reason: 'forbidden' };
        return { ok: true, nodes: uiNodesOf(c.view, catalog.get(c.view.cluster.template)) };
      },
    };
    const route = createUiProxyRoute(deps);
    server.on('request', (req, res) => {
      const r = findRoute([route], req.method, req.url);
      if (!r) return void res.writeHead(404).end();
      r.handler(req, res);
    });
    server.on('upgrade', createUiUpgradeHandler(deps));
    return { base, port };
  }
  let base = '';

  beforeAll(async () => {
    spark = await provisionReal('spark', 1, { subnetPool });
    zk = await provisionReal('zookeeper', 1, { subnetPool });
    ({ base } = await proxy());
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        // Every <cluster id>.ui.test is this machine, as a wildcard DNS record would make it.
        '--host-resolver-rules=MAP *.ui.test 127.0.0.1',
      ],
    });
  }, 1_200_000);

  afterAll(async () => {
    await browser?.close();
    for (const s of servers) s.close();
    await spark?.destroy();
    await zk?.destroy();
  });

  const link = (
    clusterId: string,
    user = 'UALICE',
    expires = Math.floor(now.getTime() / 1000) + 600,
    hostname = 'master',
    port = 8080,
  ) => uiLink(key, { clusterId, hostname, port, user, expires });
  /** Opens a link as a browser would: the session path it redirects to, and the cookie it sets. */
  async function open(at: string, l: string) {
    const first = await fetch(at + l, { redirect: 'manual' });
    expect(first.status).toBe(303);
    return {
      path: first.headers.get('location')!,
      setCookie: first.headers.get('set-cookie')!,
      cookie: first.headers.get('set-cookie')!.split(';')[0]!,
    };
  }
  const navigate = { 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' };

  it('opens the Spark master UI from a signed link: a session in the path and a cookie, then the page with its links under it', async () => {
    const id = spark.view.cluster.id;
    const s = await open(base, link(id));
    expect(s.setCookie).toMatch(
      new RegExp(`^clusterbot_ui=UALICE\\.\\d+\\.[0-9a-f]{64}; Path=/ui/${id}/; Max-Age=3600; HttpOnly; SameSite=Lax$`),
    );
    expect(s.path).toBe(`/ui/${id}/${s.cookie.split('=')[1]}/master/8080/`);
    expect(await statusOf(base, new URL(base).host, s.path, { cookie: s.cookie, ...navigate })).toBe(200);
    const page = await fetch(base + s.path);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain('sandbox allow-scripts');
    expect(page.headers.get('content-security-policy')).not.toContain('allow-same-origin');
    const html = await page.text();
    expect(html).toContain('Spark Master at spark://');
    // Stylesheets and links point back through the proxy, under the session, not at the bare node.
    expect(html).toContain(`href="${s.path}static/`);
    expect(html).not.toMatch(/\shref="\/static\//);
    // The JSON API (no page load: the session in the path is enough) reports the worker.
    const api = await fetch(`${base}${s.path}json/`);
    expect(((await api.json()) as { aliveworkers: number }).aliveworkers).toBe(1);
  });

  it("the cookie is Secure when clusterbot's public URL is https", async () => {
    const secure = await proxy({ publicUrl: 'https://clusterbot.example' });
    const s = await open(secure.base, link(spark.view.cluster.id));
    expect(s.setCookie).toMatch(/; HttpOnly; SameSite=Lax; Secure$/);
  });

  it("refuses: no session, an altered, expired or swapped link, another cluster's session, a page load without its cookie, a revoked user", async () => {
    const sparkId = spark.view.cluster.id;
    const bare = `/ui/${sparkId}/master/8080/`;
    expect((await fetch(base + bare)).status).toBe(403);
    const altered = link(sparkId).replace('cb_user=UALICE', 'cb_user=UMALLORY');
    expect((await fetch(base + altered, { redirect: 'manual' })).status).toBe(403);
    const expired = link(sparkId, 'UALICE', Math.floor(now.getTime() / 1000) - 1);
    expect((await fetch(base + expired, { redirect: 'manual' })).status).toBe(403);
    // A link signed for the ZooKeeper cluster, pointed at the Spark cluster's path.
    const zkLink = link(zk.view.cluster.id);
    expect((await fetch(base + zkLink.replace(zk.view.cluster.id, sparkId), { redirect: 'manual' })).status).toBe(403);
    // A session the ZooKeeper cluster's link earned does not open the Spark cluster.
    const zkSession = (await open(base, zkLink)).path.split('/')[3]!;
    expect((await fetch(`${base}/ui/${sparkId}/${zkSession}/master/8080/`)).status).toBe(403);
    // A session past its time.
    const s = await open(base, link(sparkId));
    const saved = now;
    now = new Date(now.getTime() + 2 * 3600_000);
    try {
      expect((await fetch(base + s.path)).status).toBe(403);
    } finally {
      now = saved;
    }
    // A page load must come from the browser the link was opened in: no cookie, or another user's, is refused.
    const other = await open(base, link(sparkId, 'UBOB'));
    const host = new URL(base).host;
    expect(await statusOf(base, host, s.path, navigate)).toBe(403);
    expect(await statusOf(base, host, s.path, { ...navigate, cookie: other.cookie })).toBe(403);
    expect(await statusOf(base, host, s.path, { ...navigate, cookie: s.cookie })).toBe(200);
    // A port the template does not mark as a UI is not proxied even with a good session.
    expect((await fetch(`${base}/ui/${sparkId}/${s.path.split('/')[3]}/master/7077/`)).status).toBe(404);
    // A user who may no longer see the cluster: refused at the next request, and a new link is refused too.
    revoked.add('UALICE');
    try {
      const r = await fetch(base + s.path);
      expect(r.status).toBe(403);
      expect(await r.text()).toContain('not shared with you');
      expect((await fetch(base + link(sparkId), { redirect: 'manual' })).status).toBe(403);
    } finally {
      revoked.delete('UALICE');
    }
  });

  it("in a browser, sandboxed under clusterbot's origin: the Spark master UI with its assets, and a worker's UI from its link", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const failed: string[] = [];
    page.on('response', (r) => void (r.status() >= 400 && failed.push(`${r.status()} ${r.url()}`)));
    await page.goto(base + link(spark.view.cluster.id));
    expect(await page.title()).toContain('Spark Master at spark://');
    expect(await page.evaluate(() => self.origin)).toBe('null');
    const worker = page.locator('a[href*="/worker-1/8081/"]').first();
    await Promise.all([page.waitForURL(/\/worker-1\/8081\//), worker.click()]);
    expect(await page.title()).toContain('Spark Worker at');
    expect(failed).toEqual([]);
    await context.close();
  });

  it('on a host of its own (PUBLIC_UI_DOMAIN): served only there, the cookie needed on every request, no sandbox', async () => {
    const own = await proxy({ uiDomain: (port) => `ui.test:${port}` });
    const id = spark.view.cluster.id;
    const at = `http://${id}.ui.test:${own.port}`;
    const context = await browser.newContext();
    const page = await context.newPage();
    const responses: { status: number; csp: string | undefined }[] = [];
    page.on(
      'response',
      (r) => void responses.push({ status: r.status(), csp: r.headers()['content-security-policy'] }),
    );
    await page.goto(at + link(id));
    expect(await page.title()).toContain('Spark Master at spark://');
    expect(await page.evaluate(() => self.origin)).toBe(at);
    expect(responses.filter((r) => r.status >= 400)).toEqual([]);
    expect(responses.filter((r) => r.csp)).toEqual([]);
    const cookies = await context.cookies();
    expect(cookies.map((c) => [c.domain, c.path])).toEqual([[`${id}.ui.test`, `/ui/${id}/`]]);
    // Its own API, as its scripts call it: same origin, with the cookie.
    expect(
      await page.evaluate(async () => ((await (await fetch('json/')).json()) as { aliveworkers: number }).aliveworkers),
    ).toBe(1);
    // The session path alone (no cookie) opens nothing, and neither does clusterbot's own host.
    const sessionPath = new URL(page.url()).pathname;
    expect(await statusOf(own.base, `${id}.ui.test:${own.port}`, `${sessionPath}json/`)).toBe(403);
    expect(await statusOf(own.base, `127.0.0.1:${own.port}`, `${sessionPath}json/`)).toBe(404);
    await context.close();
  });

  it('publishes no UI port on the host, and the rest only on 127.0.0.1', async () => {
    for (const c of [spark, zk]) {
      for (const n of c.view.nodes) {
        const info = await docker.getContainer(n.containerName).inspect();
        const bound = Object.entries(info.NetworkSettings.Ports ?? {}).filter(([, b]) => b?.length);
        const ui = uiNodesOf(c.view, catalog.get(c.view.cluster.template)).find(
          (x) => x.hostname === n.hostname,
        )!.uiPorts;
        for (const [portKey, bindings] of bound) {
          expect(ui).not.toContain(Number(portKey.split('/')[0]));
          for (const b of bindings!) expect(b.HostIp).toBe('127.0.0.1');
        }
      }
    }
    expect(zk.view.nodes[0]!.ports.map((p) => p.port)).toEqual([2181]);
    expect(spark.view.nodes.flatMap((n) => n.ports)).toEqual([]);
  });

  it('runs every container hardened, as Docker reports it', async () => {
    for (const c of [spark, zk]) {
      for (const n of c.view.nodes) {
        const hc = (await docker.getContainer(n.containerName).inspect()).HostConfig;
        expect(hc.Privileged).toBe(false);
        expect(hc.CapDrop).toEqual(['ALL']);
        expect(hc.CapAdd ?? []).toEqual(c === zk ? ['DAC_OVERRIDE'] : []);
        expect(hc.SecurityOpt).toContain('no-new-privileges');
        expect(hc.PidsLimit).toBeGreaterThan(0);
        expect(hc.MemorySwap).toBe(hc.Memory);
        expect(hc.Binds ?? []).toEqual([]);
        expect((hc.Mounts ?? []).every((m) => m.Type === 'volume')).toBe(true);
      }
    }
    // Inside, the effective capability set is what the spec says: none for Spark.
    const caps = await spark.exec('master', "grep CapEff /proc/1/status | awk '{print $2}'");
    expect(caps.output.trim()).toBe('0000000000000000');
  });

  it('keeps clusters apart: a ZooKeeper node cannot reach the Spark master, which its own cluster can', async () => {
    const masterIp = spark.view.nodes.find((n) => n.hostname === 'master')!.ip;
    const own = await spark.exec('worker-1', `curl -s -o /dev/null -w '%{http_code}' -m 5 http://${masterIp}:8080/`);
    expect(own.output).toBe('200');
    const other = await zk.exec(
      'zk-1',
      `curl -s -o /dev/null -w '%{http_code}' -m 5 http://${masterIp}:8080/ || echo unreachable`,
    );
    expect(other.output).toContain('unreachable');
  });
});

/** A GET with headers fetch will not send as given (Host, Sec-Fetch-*: a browser's page load). */
function statusOf(base: string, host: string, p: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port: Number(new URL(base).port), path: p, headers: { ...headers, host } }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      })
      .on('error', reject);
  });
}
