import type { ClusterView } from '../domain/cluster.js';
import { AppError } from '../errors.js';
import { findManageable, type RequestDeleteDeps } from './delete-cluster.js';

export type RetryDeps = RequestDeleteDeps;

/**
 * Retry of a failed create: the cluster goes back to `provisioning` and the create job runs again.
 * Provisioning converges on what exists, so the nodes that did start are reused, not duplicated.
 * A second press while the retry runs is answered with `alreadyRunning` and changes nothing.
 */
export async function requestRetry(deps: RetryDeps, actor: string, ref: { name?: string; id?: string }): Promise<{ view: ClusterView; alreadyRunning: boolean }> {
  const view = await findManageable(deps, actor, ref);
  const { cluster } = view;
  if (cluster.state === 'requested' || cluster.state === 'provisioning') return { view, alreadyRunning: true };
  if (cluster.state !== 'failed')
    throw new AppError('illegal_transition', `${cluster.name} is ${cluster.state}; only a failed cluster can be retried.`, {
      hints: [`\`/cluster status ${cluster.name}\` shows its state.`],
    });
  const moved = await deps.store.transition(cluster.id, 'provisioning', { error: null }, actor);
  if (!moved) {
    // Someone else retried or deleted it between our read and the guarded update.
    const now = await deps.store.view(cluster.id);
    if (now?.cluster.state === 'provisioning') return { view: now, alreadyRunning: true };
    throw new AppError('illegal_transition', `${cluster.name} is ${now?.cluster.state ?? 'gone'}; only a failed cluster can be retried.`);
  }
  view.cluster = moved;
  await deps.notifier.clusterChanged(view);
  await deps.queue.enqueue('cluster.create', { clusterId: cluster.id, actor });
  return { view, alreadyRunning: false };
}
