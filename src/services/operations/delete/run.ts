import { systemActor } from '../../../domain/expiry.js';
import { snapshotLabel } from '../../../domain/snapshot.js';
import { AppError } from '../../../errors.js';
import { telling } from '../../tell.js';
import type {
  Checkpoint, ClusterStore, Complete, ContainerRuntime, Log, NodeDataPort, Notifier, SnapshotStore,
} from '../../ports.js';

export interface DeleteDeps {
  /** Named steps where fault tests kill the worker (delete.removed, delete.marked); absent in production. */
  checkpoint?: Checkpoint;
  store: ClusterStore;
  runtime: ContainerRuntime;
  notifier: Notifier;
  logger: Log;
  /** A restored cluster's snapshot and its committed images (removeKeptImages); absent where no Docker data port is wired. */
  snapshots?: Pick<SnapshotStore, 'get'>;
  data?: Pick<NodeDataPort, 'removeImages'>;
}

/** The delete job: remove everything labelled with the cluster, then mark it deleted. Idempotent. */
export async function deleteClusterJob(deps: DeleteDeps, clusterId: string, actor: string, complete?: Complete): Promise<void> {
  const cluster = await deps.store.get(clusterId);
  if (!cluster || cluster.state === 'deleted') return;
  if (cluster.state !== 'deleting') {
    deps.logger.warn({ clusterId, state: cluster.state }, 'delete job for a cluster not in deleting state; skipped');
    return;
  }
  const removed = await deps.runtime.removeCluster(clusterId);
  deps.checkpoint?.('delete.removed');
  const left = await deps.runtime.leftovers(clusterId);
  const count = left.containers.length + left.volumes.length + left.networks.length;
  if (count) throw new AppError('docker_error', `Could not remove everything of ${cluster.name}: ${[...left.containers, ...left.volumes, ...left.networks].join(', ')}`, { retryable: true });
  await removeKeptImages(deps, cluster.id, cluster.restoredFrom?.snapshotId);
  // The card, the thread message and the owner's DM commit with `deleted`: a worker killed right after loses none.
  const done = await deps.store.transition(clusterId, 'deleted', {}, actor, telling(deps, async (n, view, tx) => {
    await complete?.(tx.operations);
    await n.clusterChanged(view);
    await n.threadMessage(view, { kind: 'deleted', by: actor, removed });
    // Only the expiry sweep deletes as clusterbot: the owner did not ask, so they hear about it directly.
    if (actor === systemActor) await n.direct(view.cluster.owner, { kind: 'expiredDeleted', cluster: view.cluster, removed });
  }));
  if (!done) return;
  deps.checkpoint?.('delete.marked');
}

/**
 * A restored cluster runs on its snapshot's committed images, so a snapshot deleted (or expired) while it ran kept
 * them (snapshot-delete/run.ts) and its row is deleted: no later pass looks at them again. With the cluster's
 * containers gone they are unused, and removed here; images another restored cluster still runs on stay until that
 * one is deleted. Only a snapshot known to be deleted lets them go: a live one keeps its images for its own restores.
 * A Docker failure here is logged, not thrown: the cluster's own containers and volumes are gone, and its delete must
 * not wait on an image.
 */
async function removeKeptImages(deps: DeleteDeps, clusterId: string, snapshotId: string | undefined): Promise<void> {
  if (!snapshotId || !deps.snapshots || !deps.data) return;
  const snapshot = await deps.snapshots.get(snapshotId);
  if (snapshot?.state !== 'deleted' && snapshot?.state !== 'deleting') return;
  try {
    const { removed, kept } = await deps.data.removeImages({ [snapshotLabel]: snapshotId });
    if (removed.length || kept.length) deps.logger.info({ clusterId, snapshotId, removed: removed.length, kept }, 'images kept for a restored cluster removed with it');
  } catch (e) {
    deps.logger.warn({ clusterId, snapshotId, err: (e as Error).message }, 'could not remove the images kept for this restored cluster');
  }
}
