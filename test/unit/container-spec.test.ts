import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadTemplateCatalog } from '../../src/catalog/template-catalog.js';
import { containerSpec, publishedPortsOf } from '../../src/domain/container-spec.js';
import { planCluster } from '../../src/domain/plan.js';
import { subnetAt } from '../../src/domain/subnet.js';
import { parseTemplate } from '../../src/domain/template.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const templates = loadTemplateCatalog(path.join(repoRoot, 'manifests/templates')).list();

// What each shipped role needs back after CapDrop ALL, found by running the templates' integration tests.
const expectedCaps: Record<string, string[]> = {
  'zookeeper/zk': ['DAC_OVERRIDE'],
  'hbase/zk': ['DAC_OVERRIDE'],
  'solr/zk': ['DAC_OVERRIDE'],
  'sqoop/postgres': ['CHOWN', 'FOWNER', 'DAC_OVERRIDE', 'SETUID', 'SETGID'],
};

describe.each(templates.map((t) => [t.name, t] as const))('container spec of %s', (name, template) => {
  const plan = planCluster({
    clusterId: '7f3a9c2e-1111-2222-3333-444455556666',
    clusterName: 'spec-1',
    owner: 'U0ALICE',
    template,
    size: template.sizes.min,
    subnet: subnetAt('10.244.0.0/16', 3),
  });

  it.each(plan.nodes.map((n) => [n.hostname, n] as const))('%s is hardened', (_host, node) => {
    const spec = containerSpec(plan, node, 'sha256:abc', { publishIp: '127.0.0.1' });
    const hc = spec.HostConfig;
    expect(hc.Privileged).toBe(false);
    expect(hc.CapDrop).toEqual(['ALL']);
    expect(hc.CapAdd).toEqual(expectedCaps[`${name}/${node.role}`] ?? []);
    expect(hc.SecurityOpt).toContain('no-new-privileges');
    expect(hc.PidsLimit).toBeGreaterThan(0);
    expect(hc.Memory).toBe(node.resources.memoryMiB * 2 ** 20);
    expect(hc.MemorySwap).toBe(hc.Memory);
    // Named volumes only: no bind of a host path, so no Docker socket either.
    expect(hc.Mounts.every((m) => m.Type === 'volume' && !m.Source.startsWith('/'))).toBe(true);
    expect(JSON.stringify(spec)).not.toContain('docker.sock');
    expect(Object.keys(spec).sort()).not.toContain('Binds');
    expect(hc).not.toHaveProperty('Binds');
    // Only this cluster's network.
    expect(Object.keys(spec.NetworkingConfig.EndpointsConfig)).toEqual([plan.network.name]);
    // No web UI published; everything published binds to the configured address.
    const uiPorts = node.ports.filter((p) => p.ui).map((p) => `${p.port}/tcp`);
    for (const ui of uiPorts) expect(hc.PortBindings).not.toHaveProperty(ui);
    for (const bindings of Object.values(hc.PortBindings))
      expect(bindings.every((b) => b.HostIp === '127.0.0.1')).toBe(true);
    expect(hc.ReadonlyRootfs).toBe(node.security.readOnlyRoot);
  });
});

describe('containerSpec', () => {
  const zookeeper = templates.find((t) => t.name === 'zookeeper')!;
  const plan = planCluster({
    clusterId: '7f3a9c2e-1111-2222-3333-444455556666',
    clusterName: 'zk-1',
    owner: 'U0ALICE',
    template: zookeeper,
    size: 1,
    subnet: subnetAt('10.244.0.0/16', 4),
  });
  const node = plan.nodes[0]!;

  it('binds published ports to the configured address and pins a reset host port', () => {
    const spec = containerSpec(plan, node, 'img', { publishIp: '10.0.0.5', hostPorts: new Map([[2181, 32001]]) });
    expect(spec.HostConfig.PortBindings['2181/tcp']).toEqual([{ HostIp: '10.0.0.5', HostPort: '32001' }]);
  });

  it('takes the restart policy and pids limit from settings', () => {
    const spec = containerSpec(plan, node, 'img', {
      publishIp: '127.0.0.1',
      restartPolicy: 'unless-stopped',
      pidsLimit: 512,
    });
    expect(spec.HostConfig.RestartPolicy).toEqual({ Name: 'unless-stopped' });
    expect(spec.HostConfig.PidsLimit).toBe(512);
  });

  it('mounts tmpfs for a read-only root, /tmp always', () => {
    const ro = { ...node, security: { capAdd: [], readOnlyRoot: true, tmpfs: ['/var/run/app'] } };
    const hc = containerSpec(plan, ro, 'img', { publishIp: '127.0.0.1' }).HostConfig;
    expect(hc.ReadonlyRootfs).toBe(true);
    expect(Object.keys(hc.Tmpfs ?? {}).sort()).toEqual(['/tmp', '/var/run/app']);
  });

  it('never publishes a web UI port even if a plan says publish', () => {
    const n = { ...node, ports: [{ name: 'ui', port: 8080, publish: true, ui: true, url: '' }] };
    expect(publishedPortsOf(n)).toEqual([]);
  });
});

describe('template hardening fields', () => {
  const base = {
    name: 't',
    title: 'T',
    description: 'd',
    version: '1',
    sizeMeans: 'nodes',
    sizes: { min: 1, max: 1, default: 1 },
  };
  const role = { image: 'zookeeper', count: 1, resources: { cpus: 1, memoryMiB: 256 } };

  it('refuses a capability that reaches the host', () => {
    expect(() => parseTemplate({ ...base, roles: { a: { ...role, capAdd: ['SYS_ADMIN'] } } }, 't.yaml')).toThrow(
      /capAdd/,
    );
  });

  it('refuses a web UI port that is also published', () => {
    expect(() =>
      parseTemplate(
        { ...base, roles: { a: { ...role, ports: { ui: { port: 80, ui: true, publish: true } } } } },
        't.yaml',
      ),
    ).toThrow(/never published/);
  });
});
