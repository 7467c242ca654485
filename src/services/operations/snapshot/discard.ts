import { snapshotArtifactKey, snapshotLabel, type Snapshot } from '../../../domain/snapshot.js';
import { tellingAbout } from '../../tell.js';
import type { SnapshotDeps } from './taking.js';

/** A failed or interrupted snapshot leaves nothing: no committed images, no archive, the row failed, the thread told. */
export async function discard(deps: SnapshotDeps, snapshot: Snapshot, reason: string, cleanedUp: string): Promise<void> {
  await deps.data.removeImages({ [snapshotLabel]: snapshot.id }).catch((e) => deps.logger.warn({ snapshotId: snapshot.id, err: (e as Error).message }, 'could not remove the images of a failed snapshot'));
  await deps.artifacts.delete(snapshotArtifactKey(snapshot.id, snapshot.clusterName)).catch(() => undefined);
  const view = await deps.store.view(snapshot.clusterId);
  // The thread's "snapshot failed" commits with the row's move (only the caller whose move won writes it).
  await deps.snapshots.markFailed(snapshot.id, reason, view && tellingAbout(deps, (n) => n.threadMessage(view, { kind: 'snapshotFailed', by: snapshot.owner, reason, cleanedUp })));
}
