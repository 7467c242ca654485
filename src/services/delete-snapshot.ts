import type { Snapshot } from '../domain/snapshot.js';
import { mayDeleteSnapshot, snapshotCode, snapshotLabel } from '../domain/snapshot.js';
import { systemActor } from '../domain/expiry.js';
import { AppError } from '../errors.js';
import { findSnapshot } from './find-snapshot.js';
import type { ArtifactStore, Clock, ClusterStore, JobQueue, Log, NodeDataPort, Notifier, Settings, SnapshotStore } from './ports.js';
import { tellingAbout } from './tell.js';

/** The snapshot a person may delete (they took it, or they are an admin), or why not. */
export async function findDeletableSnapshot(deps: { snapshots: SnapshotStore; settings: Settings }, actor: string, ref: { code?: string; id?: string }): Promise<Snapshot> {
  const snapshot = ref.id ? await deps.snapshots.get(ref.id) : await findSnapshot(deps, ref.code ?? '');
  if (!snapshot || snapshot.state === 'deleted') throw new AppError('not_found', 'That snapshot no longer exists.', { hints: ['`/cluster snapshots` lists them.'] });
  if (!mayDeleteSnapshot(actor, snapshot, deps.settings.adminUsers))
    throw new AppError('forbidden', `Snapshot ${snapshotCode(snapshot.id)} was taken by <@${snapshot.owner}>; only they or an admin can delete it.`);
  return snapshot;
}

/** Confirmed delete of a snapshot: state deleting, job queued. Repeating it is harmless (same job id). */
export async function requestDeleteSnapshot(deps: { snapshots: SnapshotStore; queue: JobQueue; settings: Settings }, actor: string, snapshotId: string): Promise<Snapshot> {
  const snapshot = await findDeletableSnapshot(deps, actor, { id: snapshotId });
  if (snapshot.state === 'creating') throw new AppError('busy', `Snapshot ${snapshotCode(snapshot.id)} is still being taken; delete it when it is done.`);
  const moving = (await deps.snapshots.markDeleting(snapshot.id)) ?? snapshot;
  await deps.queue.enqueueSnapshotDelete(snapshot.id, actor);
  return moving;
}

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
