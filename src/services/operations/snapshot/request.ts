import type { ClusterView } from '../../../domain/cluster.js';
import { snapshotOperation } from '../../../domain/operations/snapshot.js';
import { checkSnapshotQuota, snapshotQuotaFor } from '../../../domain/snapshot-limits.js';
import { AppError } from '../../../errors.js';
import { type ClusterRef, findManageable } from '../../find-manageable.js';
import type { SnapshotStore } from '../../ports.js';
import { beginOperation, type RequestOperationDeps, refuseUnlessStartable } from '../request.js';

export interface RequestSnapshotDeps extends RequestOperationDeps {
  snapshots: Pick<SnapshotStore, 'usage'>;
}

/**
 * `/cluster snapshot [NAME]` and the card's Snapshot button: owner or admin, a ready (or degraded) cluster,
 * nothing else running on it, and the taker within their snapshot quota. Without a name, the caller's only live
 * cluster. The snapshot operation is the guard: a second snapshot while one runs is refused as busy, one after it is
 * a new snapshot.
 */
export async function requestSnapshot(
  deps: RequestSnapshotDeps,
  actor: string,
  ref: ClusterRef,
  opts: {
    note?: string;
    withData?: boolean;
    /** Memory checkpoints of every node whose role allows it (CRIU), in the same pause. */
    memory?: boolean;
    /** Snapshot & delete: delete the cluster once this snapshot succeeded (snapshot/then-delete.ts). */
    thenDelete?: boolean;
  } = {},
): Promise<ClusterView> {
  let target = ref;
  if (!ref.name && !ref.id) {
    const mine = await deps.store.listLive({ owner: actor });
    if (mine.length !== 1)
      throw new AppError(
        'bad_command',
        mine.length
          ? `You have ${mine.length} live clusters (${mine.map((c) => c.name).join(', ')}); which one?`
          : 'You have no live clusters to snapshot.',
        {
          hints: ['Usage: `/cluster snapshot [NAME] [-m "NOTE"] [--with-data] [--memory]`'],
        },
      );
    target = { id: mine[0]!.id };
  }
  const view = await findManageable(deps, actor, target);
  const params = {
    ...(opts.note && { note: opts.note }),
    withData: Boolean(opts.withData),
    ...(opts.memory && { memory: true }),
    ...(opts.thenDelete && { thenDelete: true }),
  };
  await refuseUnlessStartable(deps, snapshotOperation, view, params);
  // The taker's quota, before anything is queued (the job checks the count again as it starts, and the bytes once
  // it has measured the volumes).
  const quota = checkSnapshotQuota(await deps.snapshots.usage(actor), snapshotQuotaFor(actor, deps.settings));
  if (!quota.ok) throw new AppError(quota.code, quota.message, { hints: [quota.hint] });
  await beginOperation(deps, snapshotOperation, actor, view, params);
  return view;
}
