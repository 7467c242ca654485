/**
 * Pooled clusters as a create sees them (db/queries/cluster-placement.ts): counted by a pool's fill and retired when
 * they yield, inside the create's transaction. Apart from pools.ts, which builds on cluster-placement.ts.
 */
import { and, eq, inArray, isNotNull, notExists, sql } from 'drizzle-orm';
import type { Cluster } from '../../domain/cluster.js';
import { systemActor } from '../../domain/expiry.js';
import type { Operation } from '../../domain/operation.js';
import { poolFillingStates } from '../../domain/pool.js';
import { clusters, operations } from '../schema.js';
import type { DbOrTx, Tx } from '../tx.js';
import { toCluster } from './clusters.js';
import { recordEvent } from './events.js';
import { activeOperation, insertOperation } from './operations.js';

/** Waiting in a pool (not claimed). */
export const pooled = isNotNull(clusters.pooledAt);

/** How many pooled clusters of the shape are ready or on their way (the keeper fills up to the target). */
export async function countFilling(tx: DbOrTx, template: string, size: number): Promise<number> {
  const [row] = await tx
    .select({ n: sql<number>`count(*)::int` })
    .from(clusters)
    .where(
      and(
        pooled,
        eq(clusters.template, template),
        eq(clusters.size, size),
        inArray(clusters.state, [...poolFillingStates]),
      ),
    );
  return row?.n ?? 0;
}

/**
 * A pooled cluster that is not busy goes (deleting, with a queued delete operation by the system actor), guarded on
 * its still being pooled: a claim that took it first wins, and nothing happens. The operation to enqueue, if it went.
 */
export async function retirePooled(
  tx: Tx,
  id: string,
  reason: string,
): Promise<{ cluster: Cluster; operation: Operation } | undefined> {
  const busy = tx
    .select({ one: sql`1` })
    .from(operations)
    .where(and(eq(operations.clusterId, clusters.id), activeOperation));
  const [row] = await tx
    .update(clusters)
    .set({ state: 'deleting', updatedAt: sql`now()` })
    .where(
      and(
        eq(clusters.id, id),
        pooled,
        inArray(clusters.state, ['ready', 'degraded', 'failed', 'lost']),
        notExists(busy),
      ),
    )
    .returning();
  if (!row) return undefined;
  await recordEvent(tx, {
    clusterId: id,
    actor: systemActor,
    kind: 'state.deleting',
    detail: { reason: `pool: ${reason}` },
  });
  const operation = await insertOperation(tx, id, { kind: 'delete', actor: systemActor, params: {} });
  return { cluster: toCluster(row), operation };
}
