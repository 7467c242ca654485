import { describe, expect, it } from 'vitest';
import { useSnapshotWorld } from '../support/snapshot-world.js';

/**
 * Reset of a real Hadoop 2 (NameNode, ResourceManager, two workers) with the real services, the queue hop
 * skipped: with --snapshot, the data written before is saved in a ready snapshot, and after the reset HDFS is
 * empty (a freshly formatted NameNode on fresh volumes), every DataNode is live again, and the nodes keep their
 * hostnames, addresses and published host ports.
 */
const world = useSnapshotWorld();

describe('hadoop 2', () => {
  it('reset with --snapshot: the file is in the snapshot, HDFS is empty after, all DataNodes live, same endpoints', async () => {
    const w = world();
    const source = await w.create('hadoop', 2);
    const write = await w.exec(
      source,
      'worker-1',
      'head -c 1000000 /dev/urandom > /tmp/blob && hdfs dfs -put -f /tmp/blob /before-reset 2>&1 && hdfs dfs -ls / 2>/dev/null',
    );
    expect(write.exitCode).toBe(0);
    expect(write.output).toContain('/before-reset');
    const endpoints = (v: typeof source) =>
      v.nodes.map((n) => ({ hostname: n.hostname, ip: n.ip, ports: n.ports.map((p) => `${p.port}->${p.hostPort}`) }));
    const containerIds = source.nodes.map((n) => n.containerId);

    const after = await w.reset(source.cluster.id, { snapshotFirst: true });
    expect(after.cluster.state).toBe('ready');
    expect(endpoints(after)).toEqual(endpoints(source));
    expect(after.nodes.some((n) => containerIds.includes(n.containerId))).toBe(false);

    const ls = await w.exec(after, 'worker-2', 'hdfs dfs -ls -R / 2>/dev/null | grep -c before-reset || true');
    expect(ls.output.trim()).toBe('0');
    const report = await w.exec(after, 'namenode', 'hdfs dfsadmin -report 2>/dev/null');
    expect(report.output).toMatch(/Live datanodes \(2\)/);
    expect(report.output).toMatch(/DFS Used: \d+ \(\d+(\.\d+)? [KM]?B\)/);

    const messages = w.notifier.events.flatMap((e) =>
      e.kind === 'thread' && e.view.cluster.id === source.cluster.id ? [e.message] : [],
    );
    const done = messages.find((m) => m.kind === 'resetDone');
    expect(done).toMatchObject({ kind: 'resetDone', nodes: 4 });
    const snapshotId = done?.kind === 'resetDone' ? done.snapshotId : undefined;
    expect(snapshotId).toBeDefined();
    const snap = (await w.db.snapshots.get(snapshotId!))!;
    expect(snap.state).toBe('ready');
    const manifest = snap.manifest as {
      nodes: { hostname: string; volumes: { name: string; bytes: number; skipped?: string }[] }[];
    };
    // Taken with all its data: the DataNodes' blocks (the file written before) are in the archive.
    const workerData = manifest.nodes.filter((n) => n.hostname.startsWith('worker')).flatMap((n) => n.volumes);
    expect(workerData.every((v) => !v.skipped)).toBe(true);
    expect(workerData.reduce((sum, v) => sum + v.bytes, 0)).toBeGreaterThan(1_000_000);
    await w.deleteCluster(source.cluster.id);
  }, 900_000);
});
