/**
 * Pooled clusters as a create or a migration sees them (db/queries/cluster-placement.ts, db/operation-store.ts):
 * counted by a pool's fill and retired when they yield, inside the create's or the migration's transaction. Apart
 * from pools.ts, which builds on cluster-placement.ts.
 */
import { and, eq, inArray, isNotNull, notExists, sql } from 'drizzle-orm';
import type { Cluster } from '../../domain/cluster.js';
import { systemActor } from '../../domain/expiry.js';
import type { Operation } from '../../domain/operation.js';
import { type HostLoad, type Placement, type PlacementOptions, placeCluster } from '../../domain/placement.js';
import { placeYielding, poolFillingStates } from '../../domain/pool.js';
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

/** The cluster has a queued or running operation. */
const busy = (tx: Tx) =>
  tx
    .select({ one: sql`1` })
    .from(operations)
    .where(and(eq(operations.clusterId, clusters.id), activeOperation));

/**
 * A pooled cluster that is not busy goes (deleting, with a queued delete operation by the system actor), guarded on
 * its still being pooled: a claim that took it first wins, and nothing happens. The operation to enqueue, if it went.
 */
export async function retirePooled(
  tx: Tx,
  id: string,
  reason: string,
): Promise<{ cluster: Cluster; operation: Operation } | undefined> {
  const [row] = await tx
    .update(clusters)
    .set({ state: 'deleting', updatedAt: sql`now()` })
    .where(
      and(
        eq(clusters.id, id),
        pooled,
        inArray(clusters.state, ['ready', 'degraded', 'failed', 'lost']),
        notExists(busy(tx)),
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

/** Pooled clusters that may give way to a user's cluster: ready and idle ones (one still being built finishes first). */
async function yieldable(tx: Tx) {
  const rows = await tx
    .select({
      id: clusters.id,
      host: clusters.host,
      pooledAt: clusters.pooledAt,
      reservedCpus: clusters.reservedCpus,
      reservedMemoryMiB: clusters.reservedMemoryMiB,
    })
    .from(clusters)
    .where(and(pooled, eq(clusters.state, 'ready'), notExists(busy(tx))));
  return rows.map((r) => ({ ...r, pooledAt: r.pooledAt! }));
}

/**
 * Places a user's cluster under the placement lock, pooled clusters yielding when it fits nowhere else (domain
 * placeYielding): those retired here, in `tx`, with their delete operations for the caller to enqueue after the
 * commit. `yieldTo` names what they yield to (their events say so); absent, none yields (a pool's own fill, a pinned
 * create). A refusal may come after some were retired: the caller throws it, which rolls them back.
 */
export async function placeOverPooled(
  tx: Tx,
  loads: readonly HostLoad[],
  need: { cpus: number; memoryMiB: number },
  opts: PlacementOptions,
  yieldTo?: string,
): Promise<{ placement: Placement; yielded: Operation[] }> {
  const placement = placeCluster(loads, need, opts);
  if (placement.ok || yieldTo === undefined) return { placement, yielded: [] };
  const room = placeYielding(loads, await yieldable(tx), need, opts);
  if (!room.ok) return { placement: room, yielded: [] };
  const yielded: Operation[] = [];
  for (const id of room.yield) {
    const retired = await retirePooled(tx, id, `yielded to ${yieldTo}`);
    if (!retired) return { placement, yielded: [] };
    yielded.push(retired.operation);
  }
  return { placement: { ok: true, host: room.host }, yielded };
}
