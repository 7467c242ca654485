import { describe, expect, it } from 'vitest';
import { useRealCluster } from '../../support/real-cluster.js';

describe('hadoop 2: real HDFS and YARN', () => {
  const real = useRealCluster('hadoop', 2);

  it('became ready with every smoke check passing', () => {
    const ready = real().notifier.threadMessages.find((m) => m.kind === 'ready');
    expect(ready && 'smoke' in ready && ready.smoke.filter((s) => !s.ok)).toEqual([]);
    expect(real().view.nodes.map((n) => n.hostname)).toEqual(['namenode', 'resourcemanager', 'worker-1', 'worker-2']);
  });

  it('reports 2 live DataNodes', async () => {
    const r = await real().exec('namenode', 'hdfs dfsadmin -report 2>/dev/null');
    expect(r.exitCode).toBe(0);
    expect(r.output).toMatch(/^Live datanodes \(2\):/m);
    expect(r.output).toContain('worker-1');
    expect(r.output).toContain('worker-2');
  }, 120_000);

  it('reads back on one node a file written from another, byte for byte', async () => {
    const write = await real().exec(
      'worker-1',
      'head -c 3000000 /dev/urandom > /tmp/blob && sha256sum /tmp/blob | cut -d" " -f1 && hdfs dfs -put -f /tmp/blob /it-blob',
    );
    expect(write.exitCode).toBe(0);
    const sum = write.output.trim().split('\n')[0]!;
    const read = await real().exec('worker-2', 'hdfs dfs -cat /it-blob 2>/dev/null | sha256sum | cut -d" " -f1');
    expect(read.output.trim()).toBe(sum);
  }, 180_000);

  it('starts every daemon from the class-data archive the image build made for it, on the client compiler', async () => {
    // A JVM that uses an archive keeps it mapped; one that could not (a class path that does not begin with the
    // archive's) runs without it and the file is not in its maps.
    const mapped = async (node: string, archive: string) =>
      (
        await real().exec(node, `grep -l /opt/hadoop/cds/${archive}.jsa /proc/[0-9]*/maps 2>/dev/null | wc -l`)
      ).output.trim();
    expect(await mapped('namenode', 'namenode')).toBe('1');
    expect(await mapped('resourcemanager', 'resourcemanager')).toBe('1');
    expect(await mapped('worker-1', 'datanode')).toBe('1');
    expect(await mapped('worker-1', 'nodemanager')).toBe('1');
    // Both daemons of a worker run with C1 alone (hadoop-cli's HADOOP_JIT_OPTS default).
    const c1 = await real().exec(
      'worker-1',
      "ps -eww -o args | grep -E -- ' -Dproc_(datanode|nodemanager) ' | grep -c -- ' -XX:TieredStopAtLevel=1 '",
    );
    expect(c1.output.trim()).toBe('2');
  }, 60_000);

  it('lists 2 running NodeManagers in YARN, on the ResourceManager UI at its node address too (never published)', async () => {
    const r = await real().exec('resourcemanager', 'yarn node -list 2>/dev/null');
    expect(r.output.match(/RUNNING/g)).toHaveLength(2);
    expect(real().view.nodes.flatMap((n) => n.ports)).toEqual([]);
    const res = await fetch(
      `http://${real().view.nodes.find((n) => n.hostname === 'resourcemanager')!.ip}:8088/ws/v1/cluster/metrics`,
    );
    expect(((await res.json()) as { clusterMetrics: { activeNodes: number } }).clusterMetrics.activeNodes).toBe(2);
  }, 120_000);
});
