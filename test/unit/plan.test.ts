import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadTemplateCatalog } from '../../src/catalog/template-catalog.js';
import { label } from '../../src/domain/labels.js';
import { type ClusterPlan, planCluster, shortId } from '../../src/domain/plan.js';
import { firstFreeSubnet, subnetAt, subnetsPerPool } from '../../src/domain/subnet.js';
import { parseTemplate } from '../../src/domain/template.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const zookeeper = loadTemplateCatalog(path.join(repoRoot, 'manifests/templates')).get('zookeeper')!;

const clusterId = '7f3a9c2e-1111-2222-3333-444455556666';
const pool = '10.213.0.0/16';
const subnetIndex = 7;

function plan(
  size: number,
  over: Partial<{ clusterId: string; clusterName: string; owner: string }> = {},
): ClusterPlan {
  return planCluster({
    clusterId,
    clusterName: 'zk-bug-1',
    owner: 'U0ALICE',
    template: zookeeper,
    size,
    subnet: subnetAt(pool, subnetIndex),
    ...over,
  });
}

const fileOf = (p: ClusterPlan, ordinal: number, filePath: string): string => {
  const f = p.nodes[ordinal]!.files.find((x) => x.path === filePath);
  if (!f) throw new Error(`no ${filePath} on node ${ordinal}`);
  return f.content;
};

describe.each([1, 3, 5])('zookeeper × %i', (size) => {
  const p = plan(size);
  const ordinals = [...Array(size).keys()];

  it('has one node per server, ordered', () => {
    expect(p.nodes).toHaveLength(size);
    expect(p.nodes.map((n) => n.ordinal)).toEqual(ordinals);
    expect(p.nodes.map((n) => n.index)).toEqual(ordinals.map((i) => i + 1));
    expect(p.nodes.every((n) => n.role === 'zk' && n.image === 'zookeeper')).toBe(true);
    expect(p.waves).toEqual([['zk']]);
    expect(p.size).toBe(size);
    expect(p.template).toBe('zookeeper');
  });

  it('names hosts zk-1..zk-N with FQDNs in the cluster domain', () => {
    expect(p.domain).toBe('zk-bug-1.clusterbot');
    expect(p.nodes.map((n) => n.hostname)).toEqual(ordinals.map((i) => `zk-${i + 1}`));
    expect(p.nodes.map((n) => n.fqdn)).toEqual(ordinals.map((i) => `zk-${i + 1}.zk-bug-1.clusterbot`));
  });

  it('names containers from the cluster name and a short id', () => {
    expect(p.network.name).toBe('cb-zk-bug-1-7f3a9c');
    expect(p.nodes.map((n) => n.containerName)).toEqual(ordinals.map((i) => `cb-zk-bug-1-7f3a9c-zk-${i + 1}`));
    expect(new Set(p.nodes.map((n) => n.containerName)).size).toBe(size);
  });

  it('gives fixed, unique IPs from .10 inside the cluster subnet', () => {
    expect(p.network.cidr).toBe('10.213.7.0/24');
    expect(p.network.gateway).toBe('10.213.7.1');
    expect(p.nodes.map((n) => n.ip)).toEqual(ordinals.map((i) => `10.213.7.${10 + i}`));
    expect(new Set(p.nodes.map((n) => n.ip)).size).toBe(size);
  });

  it('writes myid = the server number', () => {
    for (const i of ordinals) expect(fileOf(p, i, '/var/lib/zookeeper/myid')).toBe(`${i + 1}\n`);
  });

  it('renders the same server list into every zoo.cfg', () => {
    const serverLines = ordinals.map((i) => `server.${i + 1}=zk-${i + 1}:2888:3888`);
    for (const i of ordinals) {
      const cfg = fileOf(p, i, '/etc/zookeeper/conf/zoo.cfg');
      expect(cfg.split('\n').filter((l) => l.startsWith('server.'))).toEqual(serverLines);
      expect(cfg).toContain(`# Rendered by clusterbot for zk-bug-1 (node zk-${i + 1})\n`);
      expect(cfg).toContain('\nclientPort=2181\n');
      // No unrendered Mustache and no blank lines left by the section tags.
      expect(cfg).not.toMatch(/\{\{|\}\}/);
      expect(cfg.trimEnd().split('\n')).not.toContain('');
    }
  });

  it('lists every peer by FQDN and short name in extraHosts', () => {
    expect(p.extraHosts).toEqual(
      ordinals.flatMap((i) => [`zk-${i + 1}.zk-bug-1.clusterbot:10.213.7.${10 + i}`, `zk-${i + 1}:10.213.7.${10 + i}`]),
    );
  });

  it('labels every node with cluster, owner, role, ordinal and managed', () => {
    for (const n of p.nodes) {
      expect(n.labels).toEqual({
        [label.managed]: 'true',
        [label.cluster]: clusterId,
        [label.owner]: 'U0ALICE',
        [label.clusterName]: 'zk-bug-1',
        [label.template]: 'zookeeper',
        [label.role]: 'zk',
        [label.node]: String(n.ordinal),
      });
    }
    expect(p.network.labels[label.cluster]).toBe(clusterId);
    expect(p.network.labels[label.managed]).toBe('true');
    expect(p.network.labels).toMatchObject({ [label.owner]: 'U0ALICE', [label.role]: 'all', [label.node]: 'all' });
  });

  it('gives every node its own named data volume', () => {
    expect(p.nodes.map((n) => n.volumes)).toEqual(
      ordinals.map((i) => [
        { name: 'data', path: '/var/lib/zookeeper', volumeName: `cb-zk-bug-1-7f3a9c-zk-${i + 1}-data` },
      ]),
    );
  });

  it('carries resources, env, ports and readiness from the template', () => {
    for (const n of p.nodes) {
      expect(n.resources).toEqual({ cpus: 0.5, memoryMiB: 512 });
      expect(n.env).toEqual({ SERVER_JVMFLAGS: '-Xms64m -Xmx256m -XX:-UsePerfData' });
      expect(n.ports.map((x) => [x.name, x.port, x.publish])).toEqual([
        ['client', 2181, true],
        ['quorum', 2888, false],
        ['election', 3888, false],
      ]);
      expect(n.readiness?.timeoutSeconds).toBe(120);
    }
    expect(p.smoke.map((s) => s.name)).toEqual(['znode round trip']);
  });

  it('carries the collectors, config and log directories for a snapshot', () => {
    for (const n of p.nodes) {
      expect(n.collect.map((c) => [c.name, c.timeoutSeconds])).toEqual([
        ['zk-mntr', 30],
        ['zk-stat', 30],
        ['zk-conf', 30],
      ]);
      expect(n.collect[0]!.exec).toEqual(['sh', '-c', 'echo mntr | nc -q1 localhost 2181']);
      expect(n.configDirs).toEqual(['/etc/zookeeper/conf']);
      expect(n.logDirs).toEqual(['/var/log/zookeeper']);
    }
  });

  it('is deterministic: planning twice gives equal plans', () => {
    expect(plan(size)).toEqual(p);
  });
});

describe('planCluster: identity inputs', () => {
  it('a reused cluster name with a new id gets different Docker names', () => {
    const a = plan(3);
    const b = plan(3, { clusterId: '0b1c2d3e-aaaa-bbbb-cccc-ddddeeeeffff' });
    expect(b.network.name).toBe('cb-zk-bug-1-0b1c2d');
    expect(b.nodes.map((n) => n.containerName)).not.toEqual(a.nodes.map((n) => n.containerName));
    // Hostnames and IPs are about the cluster's shape, not its id.
    expect(b.nodes.map((n) => n.hostname)).toEqual(a.nodes.map((n) => n.hostname));
  });

  it('shortId takes six characters without dashes', () => {
    expect(shortId('7f3a-9c2e-1111')).toBe('7f3a9c');
    expect(shortId('ab')).toBe('ab');
  });

  it('names a single-node role without a number and numbers scaled roles', () => {
    const t = parseTemplate(
      {
        name: 'mini',
        title: 'Mini',
        description: 'd',
        version: '1',
        sizeMeans: 'workers',
        sizes: { min: 1, max: 4, default: 2 },
        roles: {
          master: {
            image: 'base',
            count: 1,
            hostname: 'master',
            resources: { cpus: 1, memoryMiB: 512 },
            env: { MASTER: '{{node.fqdn}}', WORKERS: '{{hosts.worker}}' },
          },
          worker: {
            image: 'base',
            count: 'size',
            resources: { cpus: 1, memoryMiB: 256 },
            dependsOn: ['master'],
            command: ['run', '--id={{node.ordinal}}', '--of={{size}}'],
            collect: [
              {
                name: 'registered',
                exec: ['sh', '-c', 'curl -s http://{{hosts.master}}:8080/json/ | grep {{node.hostname}}'],
                timeoutSeconds: 10,
              },
            ],
            logDirs: ['/opt/spark/work'],
          },
        },
      },
      'mini.yaml',
    );
    const p = planCluster({
      clusterId,
      clusterName: 'm',
      owner: 'U1',
      template: t,
      size: 2,
      subnet: subnetAt(pool, 0),
    });
    expect(p.nodes.map((n) => [n.hostname, n.ip, n.labels[label.node]])).toEqual([
      ['master', '10.213.0.10', '0'],
      ['worker-1', '10.213.0.11', '1'],
      ['worker-2', '10.213.0.12', '2'],
    ]);
    expect(p.nodes[0]!.env).toEqual({ MASTER: 'master.m.clusterbot', WORKERS: 'worker-1,worker-2' });
    expect(p.nodes[2]!.command).toEqual(['run', '--id=2', '--of=2']);
    expect(p.nodes[0]).not.toHaveProperty('command');
    // Collectors are rendered per node, like readiness probes; roles without any get none.
    expect(p.nodes[1]!.collect).toEqual([
      {
        name: 'registered',
        exec: ['sh', '-c', 'curl -s http://master:8080/json/ | grep worker-1'],
        timeoutSeconds: 10,
      },
    ]);
    expect(p.nodes[2]!.collect[0]!.exec[2]).toBe('curl -s http://master:8080/json/ | grep worker-2');
    expect(p.nodes[0]!.collect).toEqual([]);
    expect(p.nodes.map((n) => [n.configDirs, n.logDirs])).toEqual([
      [[], []],
      [[], ['/opt/spark/work']],
      [[], ['/opt/spark/work']],
    ]);
    expect(p.waves).toEqual([['master'], ['worker']]);
  });
});

describe('planCluster: readiness budget of roles started together', () => {
  it('a role started with others gets their budget on top of its own; one that waits for them keeps its own', () => {
    const probe = (timeoutSeconds: number) => ({ exec: ['probe'], timeoutSeconds });
    const chain = (startWith: boolean) =>
      parseTemplate(
        {
          name: 'chain',
          title: 'Chain',
          description: 'd',
          version: '1',
          sizeMeans: 'workers',
          sizes: { min: 1, max: 2, default: 1 },
          roles: {
            nn: { image: 'base', count: 1, resources: { cpus: 1, memoryMiB: 512 }, readiness: probe(100) },
            rm: {
              image: 'base',
              count: 1,
              resources: { cpus: 1, memoryMiB: 512 },
              dependsOn: ['nn'],
              ...(startWith && { startWith: ['nn'] }),
              readiness: probe(50),
            },
            worker: {
              image: 'base',
              count: 'size',
              resources: { cpus: 1, memoryMiB: 256 },
              dependsOn: ['nn', 'rm'],
              ...(startWith && { startWith: ['nn', 'rm'] }),
              readiness: probe(20),
            },
            edge: {
              image: 'base',
              count: 1,
              resources: { cpus: 1, memoryMiB: 256 },
              dependsOn: ['worker'],
              readiness: probe(30),
            },
          },
        },
        'chain.yaml',
      );
    const budgets = (t: ReturnType<typeof parseTemplate>) =>
      planCluster({
        clusterId,
        clusterName: 'c',
        owner: 'U1',
        template: t,
        size: 1,
        subnet: subnetAt(pool, 0),
      }).nodes.map((n) => [n.hostname, n.readiness!.timeoutSeconds]);
    // The worker starts with rm (150 s: its own 50 on top of nn's 100) and nn: 20 + 150. The edge waits for the
    // workers to be ready before it starts, so its clock starts then: its own 30.
    expect(budgets(chain(true))).toEqual([
      ['nn', 100],
      ['rm', 150],
      ['worker-1', 170],
      ['edge', 30],
    ]);
    expect(budgets(chain(false))).toEqual([
      ['nn', 100],
      ['rm', 50],
      ['worker-1', 20],
      ['edge', 30],
    ]);
  });
});

describe('subnets', () => {
  it.each([
    [0, '10.213.0.0/24', '10.213.0.1', '10.213.0.10'],
    [7, '10.213.7.0/24', '10.213.7.1', '10.213.7.10'],
    [255, '10.213.255.0/24', '10.213.255.1', '10.213.255.10'],
  ])('index %i → %s', (index, cidr, gateway, first) => {
    const s = subnetAt(pool, index);
    expect(s).toMatchObject({ index, cidr, gateway });
    expect(s.nodeIp(0)).toBe(first);
  });

  it.each([256, -1, 1.5, Number.NaN])('index %d is out of range', (index) => {
    expect(() => subnetAt(pool, index)).toThrow(`subnet index ${index} out of range`);
  });

  it.each(['10.213.0.0/24', '10.213.1.0/16', 'not-a-pool', ''])('pool %j is refused', (p) => {
    expect(() => subnetAt(p, 0)).toThrow(`subnet pool ${p} is not an x.y.0.0/16 range`);
  });

  it('node addresses stay inside the /24', () => {
    const s = subnetAt(pool, 3);
    expect(s.nodeIp(240)).toBe('10.213.3.250');
    expect(() => s.nodeIp(241)).toThrow('node 241 does not fit in a /24');
    expect(() => s.nodeIp(-1)).toThrow('node -1 does not fit in a /24');
  });

  it('firstFreeSubnet finds the lowest gap and reports exhaustion', () => {
    expect(subnetsPerPool).toBe(256);
    expect(firstFreeSubnet(new Set())).toBe(0);
    expect(firstFreeSubnet(new Set([0, 1, 2, 4]))).toBe(3);
    expect(firstFreeSubnet(new Set([1, 2]))).toBe(0);
    expect(firstFreeSubnet(new Set([...Array(255).keys()]))).toBe(255);
    expect(firstFreeSubnet(new Set([...Array(256).keys()]))).toBeUndefined();
  });
});

describe('config files rendered per node for the big-data templates', () => {
  const catalog = loadTemplateCatalog(path.join(repoRoot, 'manifests/templates'));
  const planOf = (template: string, size: number) =>
    planCluster({
      clusterId,
      clusterName: 'bd-1',
      owner: 'U0ALICE',
      template: catalog.get(template)!,
      size,
      subnet: subnetAt(pool, subnetIndex),
    });
  /** name → value of a rendered Hadoop XML file. */
  const hadoopProps = (xml: string) =>
    Object.fromEntries(
      [...xml.matchAll(/<property><name>([^<]+)<\/name><value>([^<]*)<\/value><\/property>/g)].map((m) => [m[1], m[2]]),
    );
  const javaProps = (text: string) =>
    Object.fromEntries(
      text
        .split('\n')
        .filter((l) => l && !l.startsWith('#'))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );

  it('hadoop 2: every node points at the NameNode and ResourceManager; each NodeManager names itself', () => {
    const p = planOf('hadoop', 2);
    expect(p.nodes.map((n) => n.hostname)).toEqual(['namenode', 'resourcemanager', 'worker-1', 'worker-2']);
    for (const [ordinal, node] of p.nodes.entries()) {
      const core = hadoopProps(fileOf(p, ordinal, '/opt/hadoop/etc/hadoop/core-site.xml'));
      const yarn = hadoopProps(fileOf(p, ordinal, '/opt/hadoop/etc/hadoop/yarn-site.xml'));
      const hdfs = hadoopProps(fileOf(p, ordinal, '/opt/hadoop/etc/hadoop/hdfs-site.xml'));
      expect(core['fs.defaultFS']).toBe('hdfs://namenode:8020');
      expect(yarn['yarn.resourcemanager.hostname']).toBe('resourcemanager');
      expect(yarn['yarn.nodemanager.hostname']).toBe(node.hostname);
      expect(hdfs['dfs.replication']).toBe('2');
      expect(fileOf(p, ordinal, '/opt/hadoop/etc/hadoop/core-site.xml')).toContain(
        `cluster bd-1, node ${node.hostname}`,
      );
    }
  });

  it.each([
    [1, '1'],
    [2, '2'],
    [5, '3'],
  ])('hadoop %i: HDFS keeps min(size, 3) replicas', (size, replicas) => {
    expect(
      hadoopProps(fileOf(planOf('hadoop', size), 0, '/opt/hadoop/etc/hadoop/hdfs-site.xml'))['dfs.replication'],
    ).toBe(replicas);
  });

  it('hbase 2: HBase finds ZooKeeper and its root dir on the NameNode; HDFS nodes get no hbase-site', () => {
    const p = planOf('hbase', 2);
    const byHost = (h: string) => p.nodes.findIndex((n) => n.hostname === h);
    const site = hadoopProps(fileOf(p, byHost('regionserver-2'), '/opt/hbase/conf/hbase-site.xml'));
    expect(site).toMatchObject({
      'hbase.zookeeper.quorum': 'zk',
      'hbase.rootdir': 'hdfs://namenode:8020/hbase',
      'dfs.replication': '2',
    });
    expect(p.nodes[byHost('datanode-1')]!.files.map((f) => f.path)).toEqual([
      '/opt/hadoop/etc/hadoop/core-site.xml',
      '/opt/hadoop/etc/hadoop/hdfs-site.xml',
    ]);
  });

  it('spark 2: every node names the master, so spark-submit needs no --master', () => {
    const p = planOf('spark', 2);
    for (const ordinal of [0, 1, 2])
      expect(javaProps(fileOf(p, ordinal, '/opt/spark/conf/spark-defaults.conf'))['spark.master']).toBe(
        'spark://master:7077',
      );
  });

  it.each([
    [1, '1', '1'],
    [3, '3', '2'],
    [5, '3', '2'],
  ])('kafka %i: node ids, voters and listeners per broker; replication %s with %s in sync', (size, factor, minIsr) => {
    const p = planOf('kafka', size);
    const voters = p.nodes.map((n) => `${n.index}@${n.hostname}:9093`).join(',');
    for (const [ordinal, node] of p.nodes.entries()) {
      const props = javaProps(fileOf(p, ordinal, '/opt/kafka/config/server.properties'));
      expect(props['node.id']).toBe(String(node.index));
      expect(props['controller.quorum.voters']).toBe(voters);
      expect(props['advertised.listeners']).toBe(
        `INTERNAL://${node.hostname}:9092,EXTERNAL://\${file:/etc/clusterbot/published.env:CLUSTERBOT_PUBLISHED_EXTERNAL}`,
      );
      expect(props).toMatchObject({
        'default.replication.factor': factor,
        'offsets.topic.replication.factor': factor,
        'min.insync.replicas': minIsr,
      });
      expect(node.env.KAFKA_CONFIG_FILE).toBe('/opt/kafka/config/server.properties');
    }
  });
});
