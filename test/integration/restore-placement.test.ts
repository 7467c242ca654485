import { createNodeHealth } from '../../src/docker/node-health.js';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFilesystemStore } from '../../src/artifacts/filesystem-store.js';
import { createSnapshotBundles } from '../../src/artifacts/snapshot-bundles.js';
import type { ClusterView } from '../../src/domain/cluster.js';
import { snapshotLabel, type Snapshot } from '../../src/domain/snapshot.js';
import { requestRestore } from '../../src/services/operations/restore/request.js';
import { requestSnapshot } from '../../src/services/operations/snapshot/request.js';
import { restoreCluster } from '../../src/services/operations/restore/run.js';
import { runOperation } from '../../src/services/operations/run-operation.js';
import { snapshotCluster } from '../../src/services/operations/snapshot/run.js';
import { createMigrateWorld, type MigrateWorld } from '../support/migrate-world.js';
import { MemoryLog, RecordingQueue } from '../support/memory-ports.js';

/**
 * A restore is placed like a create, against the registered hosts A (this machine's engine) and B (a second engine
 * over mutual TLS): while A, where the snapshot's committed images are, can take it, it goes there; once an admin
 * drains A it goes to B, and the committed image travels there first (streamed engine to engine), then the
 * snapshot's data: the znode written before the snapshot reads back on B.
 */
let w: MigrateWorld;
let artifactDir: string;
let deps: Parameters<typeof requestRestore>[0] & Parameters<typeof snapshotCluster>[0] & Parameters<typeof restoreCluster>[0];
let source: ClusterView;
let snap: Snapshot;
const made: string[] = [];
const zkCli = '/usr/share/zookeeper/bin/zkCli.sh -server localhost:2181';
const proof = `before-the-snapshot-${randomBytes(3).toString('hex')}`;

const committedRef = () => (snap.manifest as { nodes: { image: { committedRef: string } }[] }).nodes[0]!.image.committedRef;

async function restore(name: string): Promise<ClusterView> {
  const { view } = await requestRestore(deps, { actor: 'UDEV', team: null, channel: null, snapshot: snap.id, name, requestKey: null });
  made.push(view.cluster.id);
  const [op] = await w.db.operations.list(view.cluster.id);
  await runOperation(deps, op!.id, { finalAttempt: true }, (_o, complete) => restoreCluster(deps, { clusterId: view.cluster.id, snapshotId: snap.id }, { finalAttempt: true, complete }));
  return (await w.db.store.view(view.cluster.id))!;
}

beforeAll(async () => {
  w = await createMigrateWorld({ subnetPool: '10.162.0.0/16' });
  artifactDir = await mkdtemp(path.join(os.tmpdir(), 'cb-restore-placement-'));
  deps = {
    store: w.db.store, operations: w.db.operations, snapshots: w.db.snapshots, shares: w.db.shares, queue: new RecordingQueue(), runtime: w.runtime, data: w.data, health: createNodeHealth(w.pool),
    artifacts: createFilesystemStore({ root: artifactDir, publicUrl: 'http://127.0.0.1:1', signingKey: Buffer.alloc(32, 5) }),
    bundles: createSnapshotBundles({ stagingDir: path.join(artifactDir, '.staging') }),
    notifier: w.notifier, catalog: w.catalog, settings: w.settings, clock: { now: () => new Date() }, logger: new MemoryLog(),
  };
  source = await w.create('zookeeper', 1, 'a');
  expect((await w.exec('a', source, 'zk-1', `${zkCli} create /bug ${proof} 2>&1`)).output).toContain('Created /bug');
  await requestSnapshot(deps, 'UTESTER', { id: source.cluster.id });
  const [op] = await w.db.operations.list(source.cluster.id);
  await runOperation(deps, op!.id, { finalAttempt: true }, (o, complete) => snapshotCluster(deps, { clusterId: source.cluster.id, actor: 'UTESTER', withData: false }, o, complete));
  [snap] = (await w.db.snapshots.list({ clusterId: source.cluster.id })) as [Snapshot];
  expect(snap).toMatchObject({ state: 'ready', host: 'a' });
  await w.db.shares.shareSnapshot(snap.id, 'UDEV', 'UTESTER');
}, 900_000);

afterAll(async () => {
  for (const id of made) await w.runtime.removeCluster(id).catch(() => undefined);
  if (snap) await w.data.removeImages({ [snapshotLabel]: snap.id }).catch(() => undefined);
  await w?.close();
  await rm(artifactDir, { recursive: true, force: true });
});

describe('where a restore goes', () => {
  it('to the snapshot\'s host while it can take the cluster', async () => {
    const restored = await restore('zk-here');
    expect(restored.cluster).toMatchObject({ state: 'ready', host: 'a' });
    // Nothing had to travel: the committed image is only where it was made.
    expect(await w.data.hasImage('b', committedRef())).toBe(false);
  }, 600_000);

  it('to another host once the snapshot\'s is draining: the committed image is copied there, the data restored', async () => {
    await w.hosts.setState('a', 'draining');
    try {
      const restored = await restore('zk-there');
      expect(restored.cluster).toMatchObject({ state: 'ready', host: 'b' });
      expect(restored.nodes.map((n) => n.host)).toEqual(['b']);
      const read = await w.exec('b', restored, 'zk-1', `${zkCli} get /bug 2>/dev/null`);
      expect(read.output).toContain(proof);
      expect(await w.data.hasImage('b', committedRef())).toBe(true);
      const progress = w.notifier.progressSteps.map((p) => p.text).join('\n');
      expect(progress).toContain('placed on b');
    } finally {
      await w.hosts.setState('a', 'active');
    }
  }, 600_000);
});
