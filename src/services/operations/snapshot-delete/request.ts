import type { Snapshot } from '../../../domain/snapshot.js';
import { mayDeleteSnapshot, snapshotCode } from '../../../domain/snapshot.js';
import { AppError } from '../../../errors.js';
import { findSnapshot } from '../../find-snapshot.js';
import type { JobQueue, Settings, SnapshotStore } from '../../ports.js';

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
