/**
 * Pooled clusters as a create or a migration sees them (db/queries/cluster-placement.ts, db/operation-store.ts):
 * counted by a pool's fill and retired when they yield, inside the create's or the migration's transaction. Apart
 * from pools.ts, which builds on cluster-placement.ts.
 */
import { and, eq, inArray, isNotNull, ne, notExists, sql } from 'drizzle-orm';
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

/** The cluster has a queued or running operation (but a create, when `creating` may be cut short). */
const busy = (tx: Tx, creating: 'cut short' | 'busy' = 'busy') =>
  tx
    .select({ one: sql`1` })
    .from(operations)
    .where(
      and(
        eq(operations.clusterId, clusters.id),
        activeOperation,
        creating === 'cut short' ? ne(operations.kind, 'create') : undefined,
      ),
    );

/** Pooled clusters still being built (their create operation queued or running). */
const warmingStates = ['requested', 'provisioning'] as const;

/**
 * A pooled cluster that is not busy goes (deleting, with a queued delete operation by the system actor), guarded on
 * its still being pooled: a claim that took it first wins, and nothing happens. The operation to enqueue, if it went.
 * `building`: one still being built goes too, its create cut short as a delete cuts one short (the create job
 * converges on "not wanted any more"; the delete removes what it made).
 */
export async function retirePooled(
  tx: Tx,
  id: string,
  reason: string,
  opts: { building?: boolean } = {},
): Promise<{ cluster: Cluster; operation: Operation } | undefined> {
  const states = ['ready', 'degraded', 'failed', 'lost', ...(opts.building ? warmingStates : [])] as const;
  const [row] = await tx
    .update(clusters)
    .set({ state: 'deleting', updatedAt: sql`now()` })
    .where(
      and(
        eq(clusters.id, id),
        pooled,
        inArray(clusters.state, [...states]),
        notExists(busy(tx, opts.building ? 'cut short' : 'busy')),
      ),
    )
    .returning();
  if (!row) return undefined;
  if (opts.building)
    await tx
      .update(operations)
      .set({ state: 'cancelled', finishedAt: sql`now()`, error: `cut short: the pooled cluster ${reason}` })
      .where(and(eq(operations.clusterId, id), eq(operations.kind, 'create'), activeOperation));
  await recordEvent(tx, {
    clusterId: id,
    actor: systemActor,
    kind: 'state.deleting',
    detail: { reason: `pool: ${reason}` },
  });
  const operation = await insertOperation(tx, id, { kind: 'delete', actor: systemActor, params: {} });
  return { cluster: toCluster(row), operation };
}

/**
 * Pooled clusters that may give way to a user's cluster: ready, idle ones, and with `building` those still being built
 * (a migration's; a create's wait for them to finish).
 */
async function yieldable(tx: Tx, building: boolean) {
  const rows = await tx
    .select({
      id: clusters.id,
      host: clusters.host,
      pooledAt: clusters.pooledAt,
      reservedCpus: clusters.reservedCpus,
      reservedMemoryMiB: clusters.reservedMemoryMiB,
    })
    .from(clusters)
    .where(
      and(
        pooled,
        inArray(clusters.state, ['ready', ...(building ? warmingStates : [])]),
        notExists(busy(tx, building ? 'cut short' : 'busy')),
      ),
    );
  return rows.map((r) => ({ ...r, pooledAt: r.pooledAt! }));
}

/**
 * Places a user's cluster under the placement lock, pooled clusters yielding when it fits nowhere else (domain
 * placeYielding): those retired here, in `tx`, with their delete operations for the caller to enqueue after the
 * commit. `yieldTo.to` names what they yield to (their events say so), `building` lets those still being built go
 * too (oldest first all the same); absent, none yields (a pool's own fill, a pinned create). A refusal may come after
 * some were retired: the caller throws it, which rolls them back.
 */
export async function placeOverPooled(
  tx: Tx,
  loads: readonly HostLoad[],
  need: { cpus: number; memoryMiB: number },
  opts: PlacementOptions,
  yieldTo?: { to: string; building?: boolean },
): Promise<{ placement: Placement; yielded: Operation[] }> {
  const placement = placeCluster(loads, need, opts);
  if (placement.ok || yieldTo === undefined) return { placement, yielded: [] };
  const building = yieldTo.building ?? false;
  const room = placeYielding(loads, await yieldable(tx, building), need, opts);
  if (!room.ok) return { placement: room, yielded: [] };
  const yielded: Operation[] = [];
  for (const id of room.yield) {
    const retired = await retirePooled(tx, id, `yielded to ${yieldTo.to}`, { building });
    if (!retired) return { placement, yielded: [] };
    yielded.push(retired.operation);
  }
  return { placement: { ok: true, host: room.host }, yielded };
}
