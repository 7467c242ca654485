import type { ClusterView } from '../domain/cluster.js';
import { AppError } from '../errors.js';
import { findManageable } from './delete-cluster.js';
import { checkSnapshotQuota, snapshotQuotaFor } from '../domain/snapshot-limits.js';
import type { Clock, ClusterStore, JobQueue, Notifier, OperationStore, Settings, SnapshotStore } from './ports.js';

export interface RequestSnapshotDeps {
  store: ClusterStore;
  operations: OperationStore;
  snapshots: Pick<SnapshotStore, 'usage'>;
  queue: JobQueue;
  notifier: Notifier;
  settings: Settings;
  clock: Clock;
}

/**
 * `/cluster snapshot [NAME]` and the card's Snapshot button: owner or admin, a ready (or degraded) cluster,
 * nothing else running on it, and the taker within their snapshot quota. Without a name, the caller's only live cluster. The snapshot operation is
 * the guard: a second snapshot while one runs is refused as busy, one after it is a new snapshot.
 */
export async function requestSnapshot(
  deps: RequestSnapshotDeps,
  actor: string,
  ref: { name?: string; id?: string },
  opts: { note?: string; withData?: boolean; /** Snapshot & delete: delete the cluster once this snapshot succeeded (services/snapshot-then-delete.ts). */ thenDelete?: boolean } = {},
): Promise<ClusterView> {
  let target = ref;
  if (!ref.name && !ref.id) {
    const mine = await deps.store.listLive({ owner: actor });
    if (mine.length !== 1)
      throw new AppError('bad_command', mine.length ? `You have ${mine.length} live clusters (${mine.map((c) => c.name).join(', ')}); which one?` : 'You have no live clusters to snapshot.', {
        hints: ['Usage: `/cluster snapshot [NAME] [-m "NOTE"] [--with-data]`'],
      });
    target = { id: mine[0]!.id };
  }
  const view = await findManageable(deps, actor, target);
  if (view.cluster.state !== 'ready' && view.cluster.state !== 'degraded') {
    const pending = await deps.operations.active(view.cluster.id);
    if (!pending)
      throw new AppError('illegal_transition', `${view.cluster.name} is ${view.cluster.state}; only a ready cluster can be snapshotted.`, {
        hints: [view.cluster.state === 'failed' ? `\`/cluster retry ${view.cluster.name}\` creates it again first.` : `\`/cluster status ${view.cluster.name}\` shows its state.`],
      });
  }
  // The taker's quota, before anything is queued (the job checks the count again as it starts, and the bytes once
  // it has measured the volumes).
  const quota = checkSnapshotQuota(await deps.snapshots.usage(actor), snapshotQuotaFor(actor, deps.settings));
  if (!quota.ok) throw new AppError(quota.code, quota.message, { hints: [quota.hint] });
  const { operation } = await deps.operations.begin(
    view.cluster.id,
    { kind: 'snapshot', actor, params: { ...(opts.note && { note: opts.note }), withData: Boolean(opts.withData), ...(opts.thenDelete && { thenDelete: true }) } },
    { whenStates: ['ready', 'degraded'] },
  );
  await deps.queue.enqueue(operation);
  return view;
}
