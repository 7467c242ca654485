import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadTemplateCatalog } from '../../src/catalog/template-catalog.js';
import { planCluster } from '../../src/domain/plan.js';
import { subnetAt } from '../../src/domain/subnet.js';
import { describeCount, footprint, parseTemplate, roleCount, roleScales } from '../../src/domain/template.js';
import type { AppError } from '../../src/errors.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const solr = loadTemplateCatalog(path.join(repoRoot, 'manifests/templates')).get('solr')!;

const plan = (size: number) =>
  planCluster({
    clusterId: '7f3a9c2e-1111-2222-3333-444455556666',
    clusterName: 'search-1',
    owner: 'U0ALICE',
    template: solr,
    size,
    subnet: subnetAt('10.248.0.0/16', 3),
  });

describe('count: { bySize }', () => {
  const stepped = { count: { bySize: { '1': 1, '3': 3 } } } as const;

  it('takes the entry with the largest size not above the requested one', () => {
    expect([1, 2, 3, 4, 5, 9].map((s) => roleCount(stepped, s))).toEqual([1, 1, 3, 3, 3, 3]);
    expect(roleCount({ count: 'size' }, 4)).toBe(4);
    expect(roleCount({ count: 2 }, 4)).toBe(2);
  });

  it('numbers the hostnames of a role that can have several nodes, and shows its range', () => {
    expect(roleScales(stepped)).toBe(true);
    expect(roleScales({ count: { bySize: { '1': 1 } } })).toBe(false);
    expect(describeCount(stepped)).toBe('1–3');
    expect(describeCount({ count: 'size' })).toBe('N');
  });

  it('rejects a step table without an entry for the smallest size', () => {
    const doc = {
      name: 'demo',
      title: 'Demo',
      description: 'd',
      version: '1',
      sizeMeans: 'nodes',
      sizes: { min: 1, max: 5, default: 3 },
      roles: {
        zk: { image: 'zookeeper', count: { bySize: { '3': 3 } }, resources: { cpus: 0.5, memoryMiB: 256 } },
        node: { image: 'base', count: 'size', resources: { cpus: 0.5, memoryMiB: 256 } },
      },
    };
    let message = '';
    try {
      parseTemplate(doc, 'demo.yaml');
    } catch (e) {
      message = (e as AppError).userMessage;
    }
    expect(message).toContain('demo.yaml: roles.zk.count.bySize: no entry for the smallest size 1');
  });
});

describe('solr template', () => {
  it('has 1 ZooKeeper server below size 3 and 3 from size 3 on, always named zk-N', () => {
    const hosts = (size: number) => plan(size).nodes.map((n) => n.hostname);
    expect(hosts(1)).toEqual(['zk-1', 'solr-1']);
    expect(hosts(2)).toEqual(['zk-1', 'solr-1', 'solr-2']);
    expect(hosts(3)).toEqual(['zk-1', 'zk-2', 'zk-3', 'solr-1', 'solr-2', 'solr-3']);
    expect(footprint(solr, 5).nodes).toBe(8);
  });

  it('points every Solr node at the whole ensemble with the /solr chroot and advertises its own name', () => {
    const p = plan(3);
    const solr2 = p.nodes.find((n) => n.hostname === 'solr-2')!;
    expect(solr2.env.ZK_HOST).toBe('zk-1:2181,zk-2:2181,zk-3:2181/solr');
    expect(solr2.env.SOLR_HOST).toBe('solr-2');
    expect(plan(1).nodes.find((n) => n.hostname === 'solr-1')!.env.ZK_HOST).toBe('zk-1:2181/solr');
    const zoo = p.nodes
      .find((n) => n.hostname === 'zk-3')!
      .files.find((f) => f.path === '/etc/zookeeper/conf/zoo.cfg')!.content;
    expect(zoo).toContain('server.1=zk-1:2888:3888\nserver.2=zk-2:2888:3888\nserver.3=zk-3:2888:3888');
  });

  it('smoke-checks a collection with one shard per node', () => {
    const [check] = plan(4).smoke;
    expect(check!.exec.join(' ')).toContain('numShards=4&replicationFactor=1');
    expect(check!.expect).toBe('^docs=20 replicas=4 active=4 nodes=4$');
  });
});
