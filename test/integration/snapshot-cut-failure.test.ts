import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { docker } from '../support/docker.js';
import { useSnapshotWorld } from '../support/snapshot-world.js';

/**
 * A snapshot whose consistent cut fails halfway, with the real services on a real zookeeper 1: the node is paused and
 * its commit under way when Docker refuses the volume copy's helper container (its image is not there). The cut's
 * unpause runs in a `finally`, so the node runs again; the operation fails with Docker's reason, and neither a
 * committed image nor an archive (staged or stored) is left. The e2e crash test kills the worker instead, where the
 * `finally` never runs.
 */
const missingImage = `clusterbot/base:missing-${randomBytes(4).toString('hex')}`;
let refuseHelpers = true;
const world = useSnapshotWorld({ helperImage: async (base) => (refuseHelpers ? missingImage : base()) });

describe('a snapshot whose cut fails halfway', () => {
  it('leaves every node running unpaused, fails with the reason, and keeps no committed image or archive', async () => {
    refuseHelpers = false;
    const w = world();
    const view = await w.create('zookeeper', 1);
    refuseHelpers = true;

    await expect(w.snapshot(view.cluster.id)).rejects.toThrow(`No such image: ${missingImage}`);

    for (const node of view.nodes) {
      const { State } = await docker.getContainer(node.containerName).inspect();
      expect(State, node.hostname).toMatchObject({ Running: true, Paused: false });
      // exec is refused in a paused container: ZooKeeper answering shows it really runs.
      expect((await w.exec(view, node.hostname, 'echo srvr | nc -N -w2 localhost 2181')).output).toContain(
        'Mode: standalone',
      );
    }
    const [op] = await w.db.operations.list(view.cluster.id);
    expect(op).toMatchObject({
      kind: 'snapshot',
      state: 'failed',
      error: expect.stringContaining(`No such image: ${missingImage}`),
    });
    const [snap] = await w.db.snapshots.list({ clusterId: view.cluster.id, limit: 1 });
    expect(snap).toMatchObject({ state: 'failed', error: expect.stringContaining('No such image') });
    expect(w.notifier.threadMessages.filter((m) => m.kind === 'snapshotFailed')).toEqual([
      expect.objectContaining({
        reason: expect.stringContaining('No such image'),
        cleanedUp: 'Nothing of the snapshot was kept.',
      }),
    ]);
    expect(await docker.listImages({ filters: { label: [`clusterbot.snapshot=${snap!.id}`] } })).toEqual([]);
    // Neither the staging area nor the store holds a file: no half-packed archive, nothing uploaded.
    expect(
      (await readdir(w.artifactDir, { recursive: true, withFileTypes: true }))
        .filter((f) => f.isFile())
        .map((f) => f.name),
    ).toEqual([]);
    expect(
      await docker.listContainers({
        all: true,
        filters: { label: [`clusterbot.cluster=${view.cluster.id}`, 'clusterbot.helper'] },
      }),
    ).toEqual([]);
    expect((await w.db.store.get(view.cluster.id))!.state).toBe('ready');
  }, 300_000);
});
