import type { PlannedNode } from '../domain/plan.js';
import { snapshotCode, type Snapshot } from '../domain/snapshot.js';
import { parseManifest } from '../domain/snapshot-manifest.js';
import { AppError } from '../errors.js';
import type { ArtifactStore, Complete, NodeDataPort, SnapshotBundles, SnapshotStore } from './ports.js';
import { provisionCluster, type ProvisionDeps, type ProvisionSource } from './provision-cluster.js';

export interface RestoreDeps extends ProvisionDeps {
  snapshots: SnapshotStore;
  data: NodeDataPort;
  artifacts: ArtifactStore;
  bundles: SnapshotBundles;
}

/**
 * The restore job: provisioning as for a create, but every node starts from its committed image and its
 * volumes are filled from the archive before its container first starts. The cluster lives on the snapshot's
 * Docker host, where the committed images are; its identities (Kafka cluster id...) are the source's, set
 * when the row was made, so the restored data fits.
 */
export async function restoreCluster(deps: RestoreDeps, job: { clusterId: string; snapshotId: string }, opts: { finalAttempt: boolean; complete?: Complete }): Promise<void> {
  const snapshot = await deps.snapshots.get(job.snapshotId);
  const cluster = await deps.store.get(job.clusterId);
  if (!cluster) throw new AppError('not_found', `cluster ${job.clusterId} does not exist`);
  if (!snapshot || !snapshot.manifest || (snapshot.state !== 'ready' && snapshot.state !== 'deleting')) {
    // Gone before the job ran: fail the cluster with the reason (provisioning does that for errors it throws).
    return provisionCluster(deps, job.clusterId, opts, unavailable(snapshot));
  }
  if (!cluster.host) await deps.store.setHost(job.clusterId, snapshot.host);
  return provisionCluster(deps, job.clusterId, opts, fromSnapshot(deps, snapshot));
}

function unavailable(snapshot: Snapshot | undefined): ProvisionSource {
  const why = () => new AppError('not_found', snapshot ? `Snapshot ${snapshotCode(snapshot.id)} is ${snapshot.state} and can no longer be restored.` : 'The snapshot no longer exists.');
  return { title: 'Restoring', image: async () => Promise.reject(why()), prepare: async () => Promise.reject(why()) };
}

function fromSnapshot(deps: RestoreDeps, snapshot: Snapshot): ProvisionSource {
  const manifest = parseManifest(snapshot.manifest);
  const code = snapshotCode(snapshot.id);
  const entryOf = (node: PlannedNode) => {
    const n = manifest.nodes.find((x) => x.ordinal === node.ordinal && x.hostname === node.hostname);
    if (!n) throw new AppError('conflict', `Snapshot ${code} has no node ${node.hostname}: the template changed since it was taken.`);
    return n;
  };
  return {
    title: 'Restoring',
    startTogether: true,
    async image(host, node) {
      const ref = entryOf(node).image.committedRef;
      if (!ref || !(await deps.data.hasImage(host, ref)))
        throw new AppError('image_missing', `The committed image of ${node.hostname} from snapshot ${code} is no longer on Docker host ${host}.`, {
          hints: ['The snapshot\'s images were removed (by retention or a delete); the archive alone cannot start the cluster.'],
        });
      return ref;
    },
    async prepare(host, _plan, node) {
      for (const v of entryOf(node).volumes) {
        const planned = node.volumes.find((x) => x.name === v.name);
        if (!planned || !v.file) continue; // skipped at snapshot time (over the data cap): the node starts with it empty
        const archive = await deps.artifacts.get(snapshot.artifactKey!);
        if (!archive) throw new AppError('not_found', `The archive of snapshot ${code} is gone from the artifact store.`);
        const tar = await deps.bundles.entry(archive, v.file);
        if (!tar) throw new AppError('conflict', `The archive of snapshot ${code} has no ${v.file}.`);
        await deps.data.importVolume(host, planned.volumeName, { ...node.labels, 'clusterbot.volume': v.name }, tar);
      }
    },
  };
}
