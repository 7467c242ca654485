import type { ClusterView } from '../../domain/cluster.js';
import { rebuildStart } from '../../domain/operations/create.js';
import { definitionOf } from '../../domain/operations/index.js';
import { isStuck } from '../../domain/stuck.js';
import { AppError, isAppError } from '../../errors.js';
import { findManageable, type ClusterRef } from '../find-manageable.js';
import type { Clock } from '../ports.js';
import { defaultReconcileSettings } from '../reconcile.js';
import { telling } from '../tell.js';
import { beginOperation, type Definition, type RequestOperationDeps } from './request.js';

export type RetryDeps = RequestOperationDeps & { clock?: Clock };

/**
 * Retry of a failed create: the cluster goes back to `provisioning` and the create job runs again.
 * Provisioning converges on what exists, so the nodes that did start are reused, not duplicated.
 * A second press while the retry runs is answered with `alreadyRunning` and changes nothing.
 */
export async function requestRetry(
  deps: RetryDeps,
  actor: string,
  ref: ClusterRef,
): Promise<{ view: ClusterView; alreadyRunning: boolean }> {
  const view = await findManageable(deps, actor, ref);
  let { cluster } = view;
  if (cluster.state === 'requested' || cluster.state === 'provisioning') {
    // A provisioning that has shown no sign of life past the deadline (its worker and job lost) must not answer
    // "already running" for ever: it is failed here, as the reconciler would, and the retry goes ahead.
    const active = await deps.operations.active(cluster.id);
    const deadlineMs = (deps.settings.reconcile ?? defaultReconcileSettings).stuckAfterSeconds * 1000;
    if (!isStuck(cluster, active, (deps.clock ?? { now: () => new Date() }).now(), deadlineMs)) return { view, alreadyRunning: true };
    const reason = `It was still ${cluster.state} with no progress; retried by <@${actor}>.`;
    if (active) await deps.operations.finish(active.id, 'failed', reason);
    const failed = await deps.store.transition(cluster.id, 'failed', { error: reason }, actor, telling(deps, (n, v) => n.clusterChanged(v)));
    if (!failed) return { view, alreadyRunning: true };
    view.cluster = cluster = failed;
  }
  if (cluster.state !== 'failed')
    throw new AppError('illegal_transition', `${cluster.name} is ${cluster.state}; only a failed cluster can be retried.`, {
      hints: [`\`/cluster status ${cluster.name}\` shows its state.`],
    });
  // A restored cluster is retried as a restore from the same snapshot, a created one as a create, and one whose
  // reset failed as a reset (its snapshot, if it asked for one, was taken before the cluster was touched).
  const ops = await deps.operations.list(cluster.id);
  const last = ops.find((o) => o.kind === 'create' || o.kind === 'restore' || o.kind === 'reset');
  // Only a reset that itself failed is retried as one: a retry must never throw away data nobody asked to lose.
  const first = last?.kind === 'reset' && last.state === 'failed'
    ? { kind: 'reset' as const, params: { snapshotFirst: false } }
    : ops.findLast((o) => o.kind === 'create' || o.kind === 'restore');
  // The kind is read from the rows, so its params are only known as the row's: its schema checks them as it begins.
  const definition: Definition = definitionOf(first?.kind ?? 'create') as never;
  let begun;
  try {
    // The card says so in the same transaction: a process killed after it still shows the retry.
    begun = await beginOperation(deps, definition, actor, view, first?.params ?? {}, {
      start: rebuildStart, tell: telling(deps, (n, v) => n.clusterChanged(v)),
    });
  } catch (err) {
    // Someone else retried or deleted it between our read and the guarded update.
    if (!isAppError(err) || (err.code !== 'busy' && err.code !== 'illegal_transition')) throw err;
    const now = await deps.store.view(cluster.id);
    if (now?.cluster.state === 'provisioning') return { view: now, alreadyRunning: true };
    if (err.code === 'busy') throw err;
    throw new AppError('illegal_transition', `${cluster.name} is ${now?.cluster.state ?? 'gone'}; only a failed cluster can be retried.`);
  }
  view.cluster = begun.view.cluster;
  return { view, alreadyRunning: false };
}
