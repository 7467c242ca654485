import type { Cluster } from '../../../domain/cluster.js';
import type { ClusterPlan } from '../../../domain/plan.js';
import { AppError, toAppError } from '../../../errors.js';
import { readBaselines } from '../../node-baselines.js';
import { telling } from '../../tell.js';
import { restartWaves, waitNodesReady } from '../restart/waves.js';
import type { MigrateDeps, Migration } from './migration.js';

/**
 * After a failure before the cut-over: what was made on the target goes and the source starts again as it was, and
 * the card and the thread say what failed. Nothing is rolled back when the database cannot say whether it cut over
 * (the next delivery decides), when it did cut over, or when a later delivery holds the operation (it rolls back
 * itself; two rollbacks would race). Always throws.
 */
export async function rollBackAfter(move: Migration, err: unknown): Promise<never> {
  const { deps, cluster, job, plan, source, target, step } = move;
  const { logger } = deps;
  const e = toAppError(err);
  // A rollback removes the target's copy, so it needs two definite answers first; a database that cannot say
  // leaves everything as it is, and the next delivery of the job (the reconciler requeues it) decides.
  const decided = await rollbackDecision(deps, cluster.id, target, move.superseded).catch((lookup: unknown) => {
    logger.warn({ clusterId: cluster.id, step, err: e.message, lookup: (lookup as Error).message }, 'migrate failed, and the database could not say whether it had cut over; nothing is rolled back now');
    throw new AppError('undecided', `Migrating ${cluster.name} failed (${step}: ${e.userMessage}), and clusterbot could not read its state to roll back safely; it tries again.`, { cause: lookup });
  });
  // Cut over already (the row is the target's): there is nothing to roll back, and the target's copy is the cluster now.
  if (decided === 'cut over') throw err;
  // A later delivery holds the operation: it rolls back (and tells the thread) itself; two rollbacks would race.
  if (e.code === 'superseded' || decided === 'superseded') {
    logger.warn({ clusterId: cluster.id, step, err: e.message }, 'migrate: a later delivery of this job took it over; this one stops here');
    throw e.code === 'superseded' ? e : new AppError('superseded', `a later delivery of the migration of ${cluster.name} took it over`, { cause: err });
  }
  logger.warn({ clusterId: cluster.id, step, err: e.message, cause: (e.cause as Error | undefined)?.stack }, 'migrate failed; rolling back');
  const restored = await rollBack(deps, cluster, plan, target, move.sleep);
  const failed = { kind: 'migrateFailed' as const, by: job.actor, to: target, step, reason: e.userMessage, restored };
  // The source's nodes were started again: the monitor judges them against how the rollback left them.
  const baselines = restored ? await readBaselines(deps, plan.nodes, () => source) : undefined;
  // The card and "migrate failed" commit with the state the rollback left (and so do the baselines).
  const back = await deps.store.transition(cluster.id, restored ? 'ready' : 'failed', { error: restored ? null : `migrating to ${target} failed (${step}: ${e.userMessage}) and the source did not start again` }, job.actor,
    telling(deps, async (n, v, tx) => {
      if (baselines) await tx.monitor.recordBaselines(v.cluster.id, baselines, deps.clock.now());
      await n.clusterChanged(v);
      await n.threadMessage(v, failed);
    }));
  // No state change (the cluster moved on meanwhile, e.g. to deleting): the thread still hears why, keyed by the operation.
  if (!back) await deps.notifier.threadMessage(await move.view(), failed);
  throw new AppError(e.code, `Migrating ${cluster.name} to ${target} failed (${step}): ${e.userMessage}`, { retryable: false, cause: err });
}

/**
 * After a failure: has the cluster been cut over to the target (its row says so), has a later delivery of the job
 * taken the operation over, or is a rollback this delivery's to do? A lookup that fails rejects: "could not ask" is
 * never "not cut over", which would remove the target's copy, the cluster itself.
 */
async function rollbackDecision(deps: MigrateDeps, clusterId: string, target: string, superseded: () => Promise<boolean>): Promise<'cut over' | 'superseded' | 'roll back'> {
  if ((await deps.store.get(clusterId))?.host === target) return 'cut over';
  return (await superseded()) ? 'superseded' : 'roll back';
}

/**
 * Undoes a migration that did not cut over: everything of the cluster on the target goes, and the source's nodes
 * start again wave by wave (their containers, volumes and network were only stopped). True when every node is
 * ready again; false when something did not (the cluster is then failed with the reason, Retry restarts it).
 */
async function rollBack(deps: MigrateDeps, cluster: Cluster, plan: ClusterPlan, target: string, sleep: (ms: number) => Promise<void>): Promise<boolean> {
  const { runtime, logger } = deps;
  try {
    const removed = await runtime.removeOnHost(target, cluster.id);
    logger.info({ clusterId: cluster.id, target, ...removed }, 'migrate rollback: the target was cleaned up');
  } catch (err) {
    logger.warn({ clusterId: cluster.id, target, err: (err as Error).message }, 'migrate rollback: could not clean the target; the reconciler removes what is left');
  }
  try {
    // A worker killed mid-copy leaves its volume export (or digest) helper on the source: nothing else removes a
    // live cluster's helper, and the cluster is this job's until it is ready again.
    const helpers = await deps.data.removeHelpers(cluster.host!, cluster.id);
    if (helpers) logger.info({ clusterId: cluster.id, host: cluster.host, helpers }, 'migrate rollback: removed the helper containers an interrupted copy left on the source');
  } catch (err) {
    logger.warn({ clusterId: cluster.id, host: cluster.host, err: (err as Error).message }, 'migrate rollback: could not remove the copy\'s helper containers on the source');
  }
  try {
    await runtime.ensureNetwork(cluster.host!, plan);
    // All waves start before any is waited on, as on the target (the source has its data too).
    const waves = restartWaves(plan, plan.nodes);
    for (const wave of waves)
      await Promise.all(wave.map(async (node) => runtime.ensureNode(cluster.host!, plan, node, await runtime.ensureImage(cluster.host!, node.image))));
    for (const wave of waves) {
      const notReady = await waitNodesReady(runtime, wave, () => cluster.host!, sleep);
      if (notReady) throw new Error(notReady);
    }
    return true;
  } catch (err) {
    logger.error({ clusterId: cluster.id, err: (err as Error).message }, 'migrate rollback: the source did not start again');
    return false;
  }
}
