import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadTemplateCatalog } from '../../src/catalog/template-catalog.js';
import { planCluster } from '../../src/domain/plan.js';
import {
  defaultCollectors,
  defaultSnapshotLimits,
  jvmScript,
  nodeArchivePaths,
  nodeCollectors,
  withTimeout,
} from '../../src/domain/snapshot-collectors.js';
import { archivePathProblem } from '../../src/domain/snapshot-manifest.js';
import { subnetAt } from '../../src/domain/subnet.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const catalog = loadTemplateCatalog(path.join(repoRoot, 'manifests/templates'));

describe('defaultCollectors', () => {
  const cs = defaultCollectors({ hostname: 'zk-1', volumePaths: ['/var/lib/zookeeper', '/data dir'] });

  it('gives every node ps, sockets, disk, thread dumps and JVM flags, each in its own file under the node', () => {
    expect(cs.map((c) => [c.name, c.file])).toEqual([
      ['ps', 'nodes/zk-1/commands/ps.txt'],
      ['sockets', 'nodes/zk-1/commands/sockets.txt'],
      ['disk', 'nodes/zk-1/commands/disk.txt'],
      ['jvm-threads', 'nodes/zk-1/commands/jvm-threads.txt'],
      ['jvm-info', 'nodes/zk-1/commands/jvm-info.txt'],
    ]);
    for (const c of cs) {
      expect(archivePathProblem(c.file)).toBeUndefined();
      expect(c.user).toBe('0');
      expect(c.maxBytes).toBeGreaterThan(0);
    }
  });

  it('wraps each command in timeout inside the container and gives the caller a later deadline', () => {
    const ps = cs[0]!;
    expect(ps.exec).toEqual(['timeout', '-k', '5', '15', 'ps', '-ww', '-eo', 'pid,ppid,user,etime,rss,args']);
    expect(ps.timeoutSeconds).toBe(15 + 5 + 10);
    expect(withTimeout(['true'], 3)).toEqual(['timeout', '-k', '5', '3', 'true']);
  });

  it('passes volume paths to du as arguments, never inside the script', () => {
    const disk = cs[2]!;
    expect(disk.exec.slice(4, 6)).toEqual(['sh', '-c']);
    expect(disk.exec[6]).not.toContain('/var/lib/zookeeper');
    expect(disk.exec.slice(7)).toEqual(['disk', '/var/lib/zookeeper', '/data dir']);
  });

  it('runs jcmd through one script per collector: thread dumps with locks, then version, command line and flags', () => {
    expect(cs[3]!.exec.slice(4)).toEqual(['bash', '-c', jvmScript, 'jvm', '30', 'Thread.print -l']);
    expect(cs[4]!.exec.slice(4)).toEqual([
      'bash',
      '-c',
      jvmScript,
      'jvm',
      '20',
      'VM.version',
      'VM.command_line',
      'VM.flags',
    ]);
    expect(jvmScript).toContain('pgrep -x java');
    expect(jvmScript).toContain('setpriv --reuid="$uid"');
    // Command lines carry -D...password= flags: those outputs are masked; thread dumps are not.
    expect(cs.filter((c) => c.maskSecrets).map((c) => c.name)).toEqual(['ps', 'jvm-info']);
  });
});

describe('nodeCollectors', () => {
  const plan = planCluster({
    clusterId: '7f3a9c2e-1111-2222-3333-444455556666',
    clusterName: 'hb',
    owner: 'U1',
    template: catalog.get('hbase')!,
    size: 2,
    subnet: subnetAt('10.213.0.0/16', 1),
  });

  it('adds the template collectors of the node role after the defaults, with the collector cap', () => {
    const hmaster = plan.nodes.find((n) => n.hostname === 'hmaster')!;
    const cs = nodeCollectors(hmaster, { collectorBytes: 1234 });
    expect(cs.map((c) => c.name)).toEqual(['ps', 'sockets', 'disk', 'jvm-threads', 'jvm-info', 'hbase-status']);
    const status = cs.at(-1)!;
    expect(status).toEqual({
      name: 'hbase-status',
      file: 'nodes/hmaster/commands/hbase-status.txt',
      exec: ['timeout', '-k', '5', '120', 'bash', '-c', `echo "status 'detailed'" | hbase shell -n`],
      timeoutSeconds: 135,
      maxBytes: 1234,
      maskSecrets: true,
    });
  });

  it('du covers the node volumes; a node without volumes runs df only', () => {
    const dn = nodeCollectors(plan.nodes.find((n) => n.hostname === 'datanode-2')!);
    expect(dn.find((c) => c.name === 'disk')!.exec.slice(-2)).toEqual(['disk', '/data']);
    expect(dn.find((c) => c.name === 'datanode-info')!.maxBytes).toBe(defaultSnapshotLimits.collectorBytes);
    const hm = nodeCollectors(plan.nodes.find((n) => n.hostname === 'hmaster')!);
    expect(hm.find((c) => c.name === 'disk')!.exec.at(-1)).toBe('disk');
  });

  it('a template collector named like a default gets a prefix instead of overwriting its file', () => {
    const cs = nodeCollectors({
      hostname: 'w-1',
      volumes: [],
      collect: [{ name: 'ps', exec: ['ps', 'aux'], timeoutSeconds: 5 }],
    });
    expect(cs.map((c) => c.file).filter((f) => f.endsWith('ps.txt'))).toEqual([
      'nodes/w-1/commands/ps.txt',
      'nodes/w-1/commands/collect-ps.txt',
    ]);
  });
});

describe('nodeArchivePaths', () => {
  it('places configs, logs and volumes under the node, at their container paths', () => {
    const p = nodeArchivePaths('namenode');
    expect(p.inspect).toBe('nodes/namenode/inspect.json');
    expect(p.containerLog).toBe('nodes/namenode/container.log');
    expect(p.config('/opt/hadoop/etc/hadoop/core-site.xml')).toBe(
      'nodes/namenode/config/opt/hadoop/etc/hadoop/core-site.xml',
    );
    expect(p.log('/var/log/zookeeper/zookeeper.log')).toBe('nodes/namenode/logs/var/log/zookeeper/zookeeper.log');
    expect(p.volume('data')).toBe('nodes/namenode/volumes/data.tar');
  });
});
