import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { snapshotCode } from '../../src/domain/snapshot.js';
import { requestRestore } from '../../src/services/operations/restore/request.js';
import { listByLabel } from '../support/docker.js';
import { rewriteEntry } from '../support/quiet-data.js';
import { appRejection } from '../support/rejection.js';
import { useSnapshotWorld } from '../support/snapshot-world.js';

/**
 * Snapshot and restore of real Hadoop and Kafka clusters with the real services (the queue hop skipped):
 * the data written before the snapshot is all there after a restore of the deleted cluster, with the same
 * service identities (HDFS cluster id, Kafka cluster id). A snapshot deleted while its restore runs keeps the images
 * that restore runs on, and they go with the restored cluster. And a ZooKeeper one that only its people may restore,
 * whose archive, changed in the artifact store, is refused.
 */
const world = useSnapshotWorld();

describe('hadoop 2', () => {
  it('a file written to HDFS before the snapshot reads back byte for byte after a restore, with every DataNode live', async () => {
    const w = world();
    const source = await w.create('hadoop', 2);
    const write = await w.exec(source, 'worker-1', 'head -c 3000000 /dev/urandom > /tmp/blob && sha256sum /tmp/blob | cut -d" " -f1 && hdfs dfs -put -f /tmp/blob /bug-blob 2>&1 >/dev/null && hdfs getconf -confKey dfs.namenode.name.dir >/dev/null');
    expect(write.exitCode).toBe(0);
    const sum = write.output.trim().split('\n')[0]!;
    expect(sum).toMatch(/^[0-9a-f]{64}$/);
    const clusterIdBefore = (await w.exec(source, 'namenode', 'cat /data/hdfs/name/current/VERSION')).output.match(/clusterID=(\S+)/)?.[1];

    const snap = await w.snapshot(source.cluster.id, { note: 'hdfs before' });
    expect(snap.state).toBe('ready');
    await w.deleteCluster(source.cluster.id);

    const restored = await w.restore(snap.id);
    expect(restored.cluster.state).toBe('ready');
    expect(restored.nodes.map((n) => n.hostname).sort()).toEqual(source.nodes.map((n) => n.hostname).sort());
    const read = await w.exec(restored, 'worker-2', 'hdfs dfs -cat /bug-blob | sha256sum | cut -d" " -f1');
    expect(read.output.trim()).toBe(sum);
    const report = await w.exec(restored, 'namenode', 'hdfs dfsadmin -report 2>/dev/null');
    expect(report.output).toMatch(/Live datanodes \(2\)/);
    const clusterIdAfter = (await w.exec(restored, 'namenode', 'cat /data/hdfs/name/current/VERSION')).output.match(/clusterID=(\S+)/)?.[1];
    expect(clusterIdAfter).toBeDefined();
    expect(clusterIdAfter).toBe(clusterIdBefore);
    await w.deleteCluster(restored.cluster.id);
  }, 900_000);
});

describe('kafka 3', () => {
  it('1,000 messages produced before the snapshot are all consumed after a restore, with the same cluster id', async () => {
    const w = world();
    const source = await w.create('kafka', 3);
    const produce = await w.exec(source, 'kafka-1', 'kafka-topics --bootstrap-server kafka-1:9092 --create --topic bug --partitions 3 --replication-factor 3 >/dev/null 2>&1; seq 1 1000 | kafka-console-producer --bootstrap-server kafka-1:9092 --topic bug --producer-property acks=all 2>&1');
    expect(produce.exitCode).toBe(0);
    const idOf = async (v: typeof source) => (await w.exec(v, 'kafka-2', 'grep -h cluster.id /data/kafka/meta.properties')).output.trim();
    const before = await idOf(source);
    expect(before).toMatch(/^cluster\.id=\S{22}$/);

    const snap = await w.snapshot(source.cluster.id);
    await w.deleteCluster(source.cluster.id);
    const restored = await w.restore(snap.id);
    expect(restored.cluster.state).toBe('ready');
    expect(await idOf(restored)).toBe(before);
    const consume = await w.exec(restored, 'kafka-3', 'kafka-console-consumer --bootstrap-server kafka-3:9092 --topic bug --from-beginning --max-messages 1000 --timeout-ms 90000 2>/dev/null | sort -n | uniq | wc -l', 180_000);
    expect(consume.output.trim()).toBe('1000');

    // The snapshot goes (a delete, or its retention) while the restored cluster runs on its images: they stay, and are
    // removed once that cluster is deleted, not left behind for good.
    const images = (await w.snapshotImages(snap.id)).sort();
    expect(images).toHaveLength(3);
    expect(await w.deleteSnapshot(snap.id)).toBe(3);
    expect((await w.snapshotImages(snap.id)).sort()).toEqual(images);
    await w.deleteCluster(restored.cluster.id);
    expect((await w.db.store.get(restored.cluster.id))!.state).toBe('deleted');
    expect(await w.snapshotImages(snap.id)).toEqual([]);
  }, 900_000);
});

/** Rewrites one entry of a .tar.gz on disk (same size, one byte changed), as someone with access to the store could. */
async function tamper(file: string, entry: string): Promise<void> {
  await writeFile(file, await rewriteEntry(await readFile(file), entry, (body) => {
    const changed = Buffer.from(body);
    changed[changed.length - 2048] = changed[changed.length - 2048]! ^ 0xff;
    return changed;
  }));
}

describe('zookeeper 1: who may restore it, and an archive that is checked', () => {
  it('a stranger is refused; a changed archive is refused with nothing started and no volume left', async () => {
    const w = world();
    const source = await w.create('zookeeper', 1);
    const snap = await w.snapshot(source.cluster.id);
    const code = snapshotCode(snap.id);
    const stranger = await appRejection(requestRestore(w.deps, { actor: 'USTRANGER', team: null, channel: null, snapshot: code, requestKey: null }));
    expect(stranger.code).toBe('forbidden');
    expect(stranger.userMessage).toContain(`Snapshot ${code} of ${source.cluster.name} is not shared with you. <@UTESTER> (who took it and owns ${source.cluster.name}) can share it with you`);

    await tamper(path.join(w.artifactDir, snap.artifactKey!), 'nodes/zk-1/volumes/data.tar');
    const err = await appRejection(w.restore(snap.id, 'zk-tampered'));
    expect(err.code).toBe('archive_tampered');
    expect(err.userMessage).toMatch(new RegExp(`^Snapshot ${code}'s archive was changed since it was taken \\(the archive does not match its manifest: nodes/zk-1/volumes/data\\.tar has sha256`));
    const restored = (await w.db.store.findLiveByName('zk-tampered'))!;
    expect(restored.state).toBe('failed');
    expect(restored.error).toContain('archive was changed');
    expect(await listByLabel(restored.id)).toMatchObject({ containers: [], volumes: [] });
    await w.deleteCluster(source.cluster.id);
  }, 600_000);
});
