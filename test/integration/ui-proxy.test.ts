import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTemplateCatalog } from '../../src/catalog/template-catalog.js';
import { findRoute } from '../../src/http/routes.js';
import { deriveUiKey, uiLink } from '../../src/http/ui-link.js';
import { createUiProxyRoute, type UiNode } from '../../src/http/ui-proxy.js';
import { provisionReal, type RealCluster } from '../support/real-cluster.js';
import { docker } from '../support/docker.js';

/**
 * Spark 1 and ZooKeeper 1 from this file's own pool: the Spark master UI through the signed-link proxy, the
 * refusals, the hardened containers as Docker reports them, and that one cluster cannot reach another.
 */
const subnetPool = '10.244.0.0/16';
const key = deriveUiKey('ui-proxy-test-secret');
const catalog = loadTemplateCatalog(path.resolve('manifests/templates'));

describe('web UIs behind clusterbot, hardened containers', () => {
  let spark: RealCluster;
  let zk: RealCluster;
  let server: http.Server;
  let base: string;
  let now = new Date();

  const nodesOf = (c: RealCluster): UiNode[] =>
    c.view.nodes.map((n) => ({
      hostname: n.hostname,
      ip: n.ip,
      uiPorts: Object.values(catalog.get(c.view.cluster.template)!.roles[n.role]!.ports).filter((p) => p.ui).map((p) => p.port),
    }));

  beforeAll(async () => {
    spark = await provisionReal('spark', 1, { subnetPool });
    zk = await provisionReal('zookeeper', 1, { subnetPool });
    const clusters = [spark, zk];
    const route = createUiProxyRoute({
      key: async () => key,
      clock: { now: () => now },
      nodes: async (id) => {
        const c = clusters.find((x) => x.view.cluster.id === id);
        return c && nodesOf(c);
      },
    });
    server = http.createServer((req, res) => {
      const r = findRoute([route], req.method, req.url);
      if (!r) return void res.writeHead(404).end();
      r.handler(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }, 1_200_000);

  afterAll(async () => {
    server?.close();
    await spark?.destroy();
    await zk?.destroy();
  });

  const link = (clusterId: string, user = 'UALICE', expires = Math.floor(now.getTime() / 1000) + 600) =>
    uiLink(key, { clusterId, hostname: 'master', port: 8080, user, expires });

  it('opens the Spark master UI from a signed link: cookie, then the page with its links under the prefix', async () => {
    const first = await fetch(base + link(spark.view.cluster.id), { redirect: 'manual' });
    expect(first.status).toBe(303);
    const cookie = first.headers.get('set-cookie')!;
    expect(cookie).toContain(`Path=/ui/${spark.view.cluster.id}/`);
    expect(cookie).toContain('HttpOnly');
    const location = first.headers.get('location')!;
    expect(location).toBe(`/ui/${spark.view.cluster.id}/master/8080/`);
    const page = await fetch(base + location, { headers: { cookie: cookie.split(';')[0]! } });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('Spark Master at spark://');
    // Stylesheets and links point back through the proxy, not at the bare node.
    expect(html).toMatch(new RegExp(`href="/ui/${spark.view.cluster.id}/master/8080/static/`));
    expect(html).not.toMatch(/\shref="\/static\//);
    // The JSON API behind the same cookie reports the worker.
    const api = await fetch(`${base}/ui/${spark.view.cluster.id}/master/8080/json/`, { headers: { cookie: cookie.split(';')[0]! } });
    expect(((await api.json()) as { aliveworkers: number }).aliveworkers).toBe(1);
  });

  it('refuses with 403: no link, an altered link, an expired link, and a link or cookie of another cluster', async () => {
    const sparkId = spark.view.cluster.id;
    const path = `/ui/${sparkId}/master/8080/`;
    expect((await fetch(base + path)).status).toBe(403);
    const altered = link(sparkId).replace('cb_user=UALICE', 'cb_user=UMALLORY');
    expect((await fetch(base + altered, { redirect: 'manual' })).status).toBe(403);
    const expired = link(sparkId, 'UALICE', Math.floor(now.getTime() / 1000) - 1);
    expect((await fetch(base + expired, { redirect: 'manual' })).status).toBe(403);
    // A link signed for the ZooKeeper cluster, pointed at the Spark cluster's path.
    const zkLink = link(zk.view.cluster.id);
    const swapped = zkLink.replace(zk.view.cluster.id, sparkId);
    expect((await fetch(base + swapped, { redirect: 'manual' })).status).toBe(403);
    // A cookie the ZooKeeper cluster's link earned does not open the Spark cluster.
    const zkCookie = (await fetch(base + zkLink, { redirect: 'manual' })).headers.get('set-cookie')!.split(';')[0]!;
    expect((await fetch(base + path, { headers: { cookie: zkCookie } })).status).toBe(403);
    // A cookie past its time.
    const sparkCookie = (await fetch(base + link(sparkId), { redirect: 'manual' })).headers.get('set-cookie')!.split(';')[0]!;
    const saved = now;
    now = new Date(now.getTime() + 2 * 3600_000);
    try {
      expect((await fetch(base + path, { headers: { cookie: sparkCookie } })).status).toBe(403);
    } finally {
      now = saved;
    }
    // A port the template does not mark as a UI is not proxied even with a good cookie.
    expect((await fetch(`${base}/ui/${sparkId}/master/7077/`, { headers: { cookie: sparkCookie } })).status).toBe(404);
  });

  it('publishes no UI port on the host, and the rest only on 127.0.0.1', async () => {
    for (const c of [spark, zk]) {
      for (const n of c.view.nodes) {
        const info = await docker.getContainer(n.containerName).inspect();
        const bound = Object.entries(info.NetworkSettings.Ports ?? {}).filter(([, b]) => b && b.length);
        const ui = nodesOf(c).find((x) => x.hostname === n.hostname)!.uiPorts;
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
    const other = await zk.exec('zk-1', `curl -s -o /dev/null -w '%{http_code}' -m 5 http://${masterIp}:8080/ || echo unreachable`);
    expect(other.output).toContain('unreachable');
  });
});
