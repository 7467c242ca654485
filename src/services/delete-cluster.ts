import type { ClusterView } from '../domain/cluster.js';
import { systemActor } from '../domain/expiry.js';
import { statesAllowedBefore } from '../domain/cluster-state.js';
import { deleteOperation } from '../domain/operations/delete.js';
import { mayManage } from '../domain/policy.js';
import { snapshotLabel } from '../domain/snapshot.js';
import { AppError } from '../errors.js';
import { telling } from './tell.js';
import type { Checkpoint, ClusterStore, Complete, ContainerRuntime, JobQueue, Log, NodeDataPort, Notifier, OperationStore, Settings, SnapshotStore } from './ports.js';

export interface RequestDeleteDeps {
  store: ClusterStore;
  operations: OperationStore;
  queue: JobQueue;
  notifier: Notifier;
  settings: Settings;
}

/** Finds a live cluster the actor may manage, by name or id, or says precisely why not. */
export async function findManageable(deps: { store: ClusterStore; settings: Settings }, actor: string, ref: { name?: string; id?: string }): Promise<ClusterView> {
  const cluster = ref.id ? await deps.store.get(ref.id) : await deps.store.findLiveByName(ref.name ?? '');
  if (!cluster || cluster.state === 'deleted')
    throw new AppError('not_found', `There is no live cluster called "${ref.name ?? ref.id}".`, { hints: ['`/cluster list` shows yours.'] });
  if (!mayManage(actor, cluster, deps.settings.adminUsers))
    throw new AppError('forbidden', `${cluster.name} belongs to <@${cluster.owner}>; only they or an admin can change it.`);
  return { cluster, nodes: await deps.store.nodes(cluster.id) };
}

/**
 * Confirmed delete: a delete operation, state `deleting`, card updated, job queued. A create or restore in
 * flight is cut short (it cleans up after itself); a snapshot makes the cluster busy until it is done.
 * Repeating it is harmless: the pending delete is enqueued again (same job id), nothing else happens.
 */
export async function requestDelete(deps: RequestDeleteDeps, actor: string, ref: { name?: string; id?: string }): Promise<ClusterView> {
  const view = await findManageable(deps, actor, ref);
  const pending = await deps.operations.active(view.cluster.id);
  if (pending?.kind === 'delete') {
    await deps.queue.enqueue(pending);
    return view;
  }
  // The "deleting" card (and the owner's DM) commit with the operation and the move.
  const { operation, cluster } = await deps.operations.begin(
    view.cluster.id,
    { kind: 'delete', actor },
    {
      whenStates: statesAllowedBefore('deleting'), moveTo: 'deleting', preempt: deleteOperation.preempts,
      tell: telling(deps, async (n, v) => {
        await n.clusterChanged(v);
        // findManageable let a non-owner through only because they are an admin: the owner hears who did it.
        if (actor !== v.cluster.owner) await n.direct(v.cluster.owner, { kind: 'actedByAdmin', cluster: v.cluster, by: actor, action: 'deleted' });
      }),
    },
  );
  view.cluster = cluster;
  await deps.queue.enqueue(operation);
  return view;
}

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
 * them (services/delete-snapshot.ts) and its row is deleted: no later pass looks at them again. With the cluster's
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
