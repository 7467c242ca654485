import type { ClusterNode } from '../../../domain/cluster.js';
import type { NodeBaselines } from '../../../domain/health.js';
import type { SmokeResult } from '../../../domain/messages.js';
import { AppError } from '../../../errors.js';
import type { Complete } from '../../ports.js';
import type { Migration } from './migration.js';

const defaultRollbackHours = 24;

/**
 * Cutting over in one transaction (ClusterStore.cutOver): the row moves, the node rows become the target's, the
 * source is listed for removal after the rollback window. The card, "migrated", the monitor's baselines and the
 * operation's end commit with it (the view's nodes are the moved rows: the transaction's own writes are not visible
 * to a read from outside it).
 */
export async function cutOver(
  move: Migration,
  moved: { rows: ClusterNode[]; bytes: number; smoke: SmokeResult[]; baselines: NodeBaselines },
  complete?: Complete,
): Promise<void> {
  const { deps, cluster, job, op, source, target } = move;
  const { smoke, baselines, bytes } = moved;
  move.step = 'cutting over';
  const removeSourceAfter = new Date(deps.clock.now().getTime() + (deps.settings.migrateRollbackHours ?? defaultRollbackHours) * 3600_000);
  const seconds = Math.round((deps.clock.now().getTime() - move.startedAt) / 1000);
  const nodes = moved.rows.sort((a, b) => a.ordinal - b.ordinal);
  const change = { from: source, to: target, nodes, operationId: op.id, attempt: op.attempts, removeSourceAfter };
  const done = await deps.store.cutOver(cluster.id, change, job.actor, async (c, tx) => {
    await complete?.(tx.operations);
    await tx.monitor.recordBaselines(c.id, baselines, deps.clock.now());
    const n = deps.notifier.through(tx);
    const view = { cluster: c, nodes };
    await n.clusterChanged(view);
    await n.threadMessage(view, { kind: 'migrated', by: job.actor, from: source, to: target, seconds, bytes, volumes: move.volumes.length, removeSourceAfter, smoke });
  });
  if (!done) {
    await move.fence(); // the cut-over refuses a delivery that no longer holds the operation
    throw new AppError('conflict', `${cluster.name} changed while it was being migrated.`, { retryable: false });
  }
  deps.checkpoint?.('migrate.cut-over');
  deps.logger.info({ clusterId: cluster.id, from: source, to: target, seconds, bytes }, 'cluster migrated');
}
