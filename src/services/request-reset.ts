import type { ClusterView } from '../domain/cluster.js';
import type { ClusterState } from '../domain/cluster-state.js';
import { AppError } from '../errors.js';
import { findManageable } from './delete-cluster.js';
import { telling } from './tell.js';
import type { Clock, ClusterStore, JobQueue, Notifier, OperationStore, Settings } from './ports.js';

export interface RequestResetDeps {
  store: ClusterStore;
  operations: OperationStore;
  queue: JobQueue;
  notifier: Notifier;
  settings: Settings;
  clock: Clock;
}

/**
 * Confirmed `/cluster reset NAME [--snapshot]` and the card's Reset button: owner or admin, a ready, degraded or
 * failed cluster with nothing else running on it (a busy one is refused naming who and what). The reset
 * operation moves the cluster to `provisioning` in the same transaction, so the card says so at once. With
 * --snapshot the cluster stays as it is until its snapshot is taken (the job moves it then): a snapshot of a
 * cluster that fails to be saved must find it untouched, and only a running cluster can be snapshotted.
 */
export async function requestReset(deps: RequestResetDeps, actor: string, ref: { name?: string; id?: string }, opts: { snapshotFirst: boolean }): Promise<ClusterView> {
  const view = await findManageable(deps, actor, ref);
  const { cluster } = view;
  const allowed: ClusterState[] = opts.snapshotFirst ? ['ready', 'degraded'] : ['ready', 'degraded', 'failed'];
  if (!allowed.includes(cluster.state) && !(await deps.operations.active(cluster.id))) {
    const why = opts.snapshotFirst && cluster.state === 'failed'
      ? `${cluster.name} is failed, so there is no running cluster to snapshot first.`
      : `${cluster.name} is ${cluster.state}; only a ready, degraded or failed cluster can be reset.`;
    throw new AppError('illegal_transition', why, {
      hints: [opts.snapshotFirst && cluster.state === 'failed' ? `\`/cluster reset ${cluster.name}\` resets it without a snapshot.` : `\`/cluster status ${cluster.name}\` shows its state.`],
    });
  }
  const { operation, cluster: moved } = await deps.operations.begin(
    cluster.id,
    { kind: 'reset', actor, params: { snapshotFirst: opts.snapshotFirst } },
    {
      whenStates: allowed, ...(!opts.snapshotFirst && { moveTo: 'provisioning' as const, clearError: true }),
      // The card and the owner's DM commit with the operation.
      tell: telling(deps, async (n, v) => {
        await n.clusterChanged(v);
        // An admin wiping someone else's data tells them who did it, as a delete or an extension does.
        if (actor !== v.cluster.owner) await n.direct(v.cluster.owner, { kind: 'actedByAdmin', cluster: v.cluster, by: actor, action: 'reset' });
      }),
    },
  );
  view.cluster = moved;
  await deps.queue.enqueue(operation);
  return view;
}
