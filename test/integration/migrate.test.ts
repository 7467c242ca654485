import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterView } from '../../src/domain/cluster.js';
import { reconcile } from '../../src/services/reconcile.js';
import { createMigrateWorld, type MigrateWorld } from '../support/migrate-world.js';

/**
 * `/cluster migrate` of real clusters from host A (the machine's engine) to host B (a second engine over mutual TLS),
 * the queue hop skipped. A ZooKeeper 3 serves two cases, in order: first a migration whose target never gets ready
 * (a fault injected after the transfer) rolls back, with the source running again with its data and nothing left on
 * B; then a migration that succeeds: the znode written before reads back on B, every volume's hash matches, the
 * cluster is ready on B and the stopped source stays on A (its network released: the subnet is B's now) until the
 * rollback window ends, when the reconciler removes it. A Hadoop 2 (its NameNode quiesced with `safemode enter` +
 * `saveNamespace`) is then moved by an admin's `--all-from a`, which drains A: a file written into HDFS before reads
 * back byte for byte on B, with both DataNodes live and HDFS out of safe mode.
 */
let w: MigrateWorld;
let before: ClusterView;
let hadoop: ClusterView;
const zkCli = '/usr/share/zookeeper/bin/zkCli.sh -server localhost:2181';
const proof = `written-before-${randomBytes(3).toString('hex')}`;

beforeAll(async () => {
  w = await createMigrateWorld({ subnetPool: '10.160.0.0/16' });
  [before, hadoop] = await Promise.all([w.create('zookeeper', 3, 'a'), w.create('hadoop', 2, 'a')]);
  const write = await w.exec('a', before, 'zk-1', `${zkCli} create /migrated ${proof} 2>&1`);
  expect(write.output).toContain('Created /migrated');
}, 900_000);
afterAll(async () => w?.close());

const onHost = async (host: string, clusterId: string) =>
  (await w.pool.get(host).listContainers({ all: true, filters: { label: [`clusterbot.cluster=${clusterId}`] } })).map(
    (c) => ({ name: c.Names[0]!.slice(1), state: c.State }),
  );

describe('zookeeper 3 migrated from host A to host B', () => {
  it('a target that never gets ready: rolled back, the source runs again with its data, nothing is left on B', async () => {
    const id = before.cluster.id;
    const after = await w.migrate(id, 'b', { failAt: 'migrate.target-readiness' });
    expect(after.cluster.state).toBe('ready');
    expect(after.cluster.host).toBe('a');
    const failed = w.thread(id).find((m) => m.kind === 'migrateFailed');
    expect(failed).toMatchObject({
      kind: 'migrateFailed',
      to: 'b',
      restored: true,
      reason: expect.stringContaining('fault injected'),
    });
    expect((await w.db.operations.list(id))[0]).toMatchObject({ kind: 'migrate', state: 'failed' });
    expect((await onHost('a', id)).map((c) => c.state)).toEqual(['running', 'running', 'running']);
    expect(await w.leftoversOn('b', id)).toEqual({ containers: 0, volumes: 0, networks: 0 });
    const read = await w.exec('a', after, 'zk-3', `${zkCli} get /migrated 2>/dev/null`);
    expect(read.output).toContain(proof);
  }, 600_000);

  it('moves with its data: the znode reads back on B, the volume hashes match, ready on B, the stopped source stays on A', async () => {
    const id = before.cluster.id;
    const after = await w.migrate(id, 'b');
    expect(after.cluster).toMatchObject({ state: 'ready', host: 'b' });
    expect(after.nodes.map((n) => ({ host: n.host, hostname: n.hostname, ip: n.ip }))).toEqual(
      before.nodes.map((n) => ({ host: 'b', hostname: n.hostname, ip: n.ip })),
    );
    const read = await w.exec('b', after, 'zk-2', `${zkCli} get /migrated 2>/dev/null`);
    expect(read.output).toContain(proof);
    const srvr = await Promise.all(
      after.nodes.map((n) => w.exec('b', after, n.hostname, 'echo srvr | nc -q1 localhost 2181 | grep Mode')),
    );
    expect(srvr.map((r) => r.output.trim()).sort()).toEqual(['Mode: follower', 'Mode: follower', 'Mode: leader']);

    const done = w.thread(id).find((m) => m.kind === 'migrated');
    expect(done).toMatchObject({ kind: 'migrated', from: 'a', to: 'b', volumes: 3 });
    expect(done?.kind === 'migrated' && done.bytes).toBeGreaterThan(0);
    // Every volume was hashed on both engines after the copy and the hashes agreed; the source, stopped since,
    // still hashes the same (the copy on B has been running since, so it has moved on).
    const hashed = w.digests;
    const volumes = [...new Set(hashed.map((d) => d.volume))];
    expect(volumes).toHaveLength(3);
    for (const v of volumes) {
      const a = hashed.filter((d) => d.volume === v && d.host === 'a').at(-1)!;
      const b = hashed.filter((d) => d.volume === v && d.host === 'b').at(-1)!;
      expect(b.sha256).toBe(a.sha256);
      expect((await w.data.volumeDigest('a', v)).sha256).toBe(a.sha256);
    }

    // The stopped source stays on A for the rollback window; the reconciler removes it once the window has ended.
    expect((await onHost('a', id)).map((c) => c.state)).toEqual(['exited', 'exited', 'exited']);
    expect((await w.leftoversOn('a', id)).networks).toBe(0);
    const retired = await w.retired.pending(id);
    expect(retired).toMatchObject([{ host: 'a' }]);
    expect(retired[0]!.removeAfter.getTime() - Date.now()).toBeGreaterThan(23 * 3600_000);
    await reconcile(w.reconcileDeps(new Date(Date.now() + 3600_000)));
    expect((await onHost('a', id)).length).toBe(3);
    const result = await reconcile(w.reconcileDeps(new Date(Date.now() + 25 * 3600_000)));
    expect(result.retiredSourcesRemoved).toEqual([`a/${id}`]);
    expect(await w.leftoversOn('a', id)).toEqual({ containers: 0, volumes: 0, networks: 0 });
    expect((await onHost('b', id)).map((c) => c.state)).toEqual(['running', 'running', 'running']);
    expect(await w.retired.pending(id)).toEqual([]);
  }, 600_000);
});

describe('hadoop 2 drained off host A by an admin (`/cluster migrate --all-from a`)', () => {
  it('the HDFS file written before reads back byte for byte on B with every DataNode live and safe mode off; the volume hashes match; the stopped source stays on A', async () => {
    const id = hadoop.cluster.id;
    const write = await w.exec(
      'a',
      hadoop,
      'worker-1',
      'head -c 3000000 /dev/urandom > /tmp/blob && hdfs dfs -put -f /tmp/blob /migrated-blob 2>/dev/null && sha256sum /tmp/blob | cut -d" " -f1 && hdfs dfs -checksum /migrated-blob 2>/dev/null',
    );
    expect(write.exitCode).toBe(0);
    const [sum, checksum] = write.output.trim().split('\n');
    expect(sum).toMatch(/^[0-9a-f]{64}$/);
    expect(checksum).toMatch(/^\/migrated-blob\s+MD5-of-\S+\s+[0-9a-f]{40,}$/);

    // Only an admin may empty a host; the refusal changes nothing.
    await expect(w.migrateAll(hadoop.cluster.owner, 'a')).rejects.toMatchObject({
      code: 'forbidden',
      userMessage: expect.stringContaining('Only admins'),
    });
    expect((await w.hosts.get('a'))!.state).toBe('active');
    expect((await w.db.store.get(id))!.state).toBe('ready');

    const onA = (await w.db.store.listLive())
      .filter((c) => c.host === 'a')
      .map((c) => c.name)
      .sort();
    expect(onA).toContain(hadoop.cluster.name);
    const hashedBefore = w.digests.length;
    const result = await w.migrateAll('UADMIN', 'a');
    expect(result.refused).toEqual([]);
    expect(result.started.map((s) => s.name).sort()).toEqual(onA);
    expect(result.started.every((s) => s.to === 'b')).toBe(true);
    expect((await w.hosts.get('a'))!.state).toBe('draining');

    const after = (await w.db.store.view(id))!;
    expect(after.cluster).toMatchObject({ state: 'ready', host: 'b' });
    expect(after.nodes.map((n) => ({ host: n.host, hostname: n.hostname, ip: n.ip }))).toEqual(
      hadoop.nodes.map((n) => ({ host: 'b', hostname: n.hostname, ip: n.ip })),
    );
    // The thread is told why it moves before the migration says it is done; the owner is told an admin moved it.
    const kinds = w.thread(id).map((m) => m.kind);
    expect(kinds.indexOf('hostDraining')).toBeGreaterThanOrEqual(0);
    expect(kinds.indexOf('hostDraining')).toBeLessThan(kinds.indexOf('migrated'));
    expect(w.thread(id).find((m) => m.kind === 'hostDraining')).toEqual({
      kind: 'hostDraining',
      by: 'UADMIN',
      from: 'a',
      to: 'b',
    });
    expect(w.thread(id).find((m) => m.kind === 'migrated')).toMatchObject({
      by: 'UADMIN',
      from: 'a',
      to: 'b',
      volumes: 3,
    });
    expect(
      w.notifier.events.some(
        (e) =>
          e.kind === 'direct' &&
          e.message.kind === 'actedByAdmin' &&
          e.message.cluster.id === id &&
          e.message.action === 'migrated',
      ),
    ).toBe(true);

    const read = await w.exec(
      'b',
      after,
      'worker-2',
      'hdfs dfs -cat /migrated-blob 2>/dev/null | sha256sum | cut -d" " -f1 && hdfs dfs -checksum /migrated-blob 2>/dev/null',
    );
    expect(read.output.trim().split('\n')).toEqual([sum, checksum]);
    const report = await w.exec(
      'b',
      after,
      'namenode',
      'hdfs dfsadmin -report 2>/dev/null | grep -E "^Live datanodes"; hdfs dfsadmin -safemode get 2>/dev/null',
    );
    expect(report.output).toMatch(/^Live datanodes \(2\)/m);
    expect(report.output).toContain('Safe mode is OFF');

    // Each volume (the NameNode's and both workers') hashed equal on both engines, and the stopped source still hashes so.
    const hashed = w.digests
      .slice(hashedBefore)
      .filter((d) => hadoop.nodes.some((n) => d.volume.includes(n.containerName)));
    const volumes = [...new Set(hashed.map((d) => d.volume))];
    expect(volumes).toHaveLength(3);
    for (const v of volumes) {
      const a = hashed.find((d) => d.volume === v && d.host === 'a')!;
      expect(hashed.find((d) => d.volume === v && d.host === 'b')!.sha256).toBe(a.sha256);
      expect((await w.data.volumeDigest('a', v)).sha256).toBe(a.sha256);
    }

    // The stopped source stays on A, without its network, until the rollback window ends.
    expect((await onHost('a', id)).map((c) => c.state)).toEqual(['exited', 'exited', 'exited', 'exited']);
    expect((await w.leftoversOn('a', id)).networks).toBe(0);
    const retired = await w.retired.pending(id);
    expect(retired).toMatchObject([{ host: 'a' }]);
    expect(retired[0]!.removeAfter.getTime() - Date.now()).toBeGreaterThan(23 * 3600_000);
  }, 900_000);
});
