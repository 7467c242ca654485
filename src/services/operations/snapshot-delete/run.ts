import { snapshotLabel } from '../../../domain/snapshot.js';
import { systemActor } from '../../../domain/expiry.js';
import type { ArtifactStore, Clock, ClusterStore, Log, NodeDataPort, Notifier, SnapshotStore } from '../../ports.js';
import { tellingAbout } from '../../tell.js';

export interface DeleteSnapshotDeps {
  store: ClusterStore;
  snapshots: SnapshotStore;
  data: NodeDataPort;
  artifacts: ArtifactStore;
  notifier: Notifier;
  logger: Log;
}

/**
 * The delete job (and retention): the committed images (by label, so a crash in the middle leaves
 * nothing that a repeat would not find), the archive, then the row. Images a restored cluster still runs
 * on are kept, and said so; they go when the next delete or retention pass finds them unused.
 */
export async function deleteSnapshotJob(deps: DeleteSnapshotDeps, snapshotId: string, actor: string): Promise<void> {
  const snapshot = await deps.snapshots.get(snapshotId);
  if (!snapshot || snapshot.state === 'deleted') return;
  await deps.snapshots.markDeleting(snapshotId);
  const images = await deps.data.removeImages({ [snapshotLabel]: snapshotId });
  if (snapshot.artifactKey) await deps.artifacts.delete(snapshot.artifactKey);
  if (images.kept.length) deps.logger.info({ snapshotId, kept: images.kept }, 'snapshot images kept: still in use');
  const view = await deps.store.view(snapshot.clusterId);
  // The thread hears it in the transaction that marks it deleted (a thread message of a deleted cluster too: its thread stays).
  await deps.snapshots.markDeleted(snapshotId, view && tellingAbout(deps, (n) =>
    n.threadMessage(view, { kind: 'snapshotDeleted', snapshotId, by: actor, expired: actor === systemActor, imagesKept: images.kept.length })));
}

/** Retention: every snapshot past its expiry goes down the delete path as clusterbot. Safe to overlap. */
export async function sweepSnapshots(deps: DeleteSnapshotDeps & { clock: Clock }): Promise<string[]> {
  const removed: string[] = [];
  for (const s of await deps.snapshots.listExpired(deps.clock.now())) {
    try {
      await deleteSnapshotJob(deps, s.id, systemActor);
      removed.push(s.id);
    } catch (e) {
      deps.logger.warn({ snapshotId: s.id, err: (e as Error).message }, 'snapshot retention: skipped; the next sweep tries again');
    }
  }
  if (removed.length) deps.logger.info({ snapshots: removed }, 'snapshot retention removed expired snapshots');
  return removed;
}
