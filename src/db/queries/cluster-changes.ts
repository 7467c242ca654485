/**
 * Guarded changes of a cluster row (ClusterStore in services/ports.ts says what each guarantees). Each is one
 * transaction: the guarded update, its audit event and, when given, the Tell that writes what Slack must hear, so
 * they commit together or not at all. Undefined: the guard refused and nothing changed.
 */
import { and, eq, inArray, lte, notExists, sql, TransactionRollbackError } from 'drizzle-orm';
import type { Cluster, ClusterNode } from '../../domain/cluster.js';
import { type ClusterState, statesAllowedBefore } from '../../domain/cluster-state.js';
import { expiringStates, extendableStates, systemActor } from '../../domain/expiry.js';
import type { Operation } from '../../domain/operation.js';
import { checkQuota, type QuotaLimits } from '../../domain/quota.js';
import { AppError } from '../../errors.js';
import type { Tell } from '../../services/ports.js';
import { inTransaction } from '../in-transaction.js';
import { clusters, operations } from '../schema.js';
import { type Db, lockForTransaction } from '../tx.js';
import { clusterUsage, lockCluster, toCluster } from './clusters.js';
import { recordEvent } from './events.js';
import { replaceNodes } from './nodes.js';
import { activeOperation, insertOperation, runningIn } from './operations.js';
import { retireSource } from './retired-sources.js';
import { acceptOffer } from './transfer-offers.js';

const extendable = inArray(clusters.state, [...extendableStates]);

/**
 * Moves state only from a state that allows `to` (domain/cluster-state.ts), so concurrent workers or late retries
 * cannot make an illegal move.
 */
export async function transitionCluster(
  db: Db,
  id: string,
  to: ClusterState,
  patch: { error?: string | null; host?: string | null } = {},
  actor = 'clusterbot',
  tell?: Tell,
): Promise<Cluster | undefined> {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .update(clusters)
      .set({
        state: to,
        updatedAt: sql`now()`,
        ...(patch.error !== undefined && { error: patch.error }),
        ...(patch.host !== undefined && { host: patch.host }),
        ...(to === 'ready' && { readyAt: sql`now()`, error: null }),
        ...(to === 'deleted' && { deletedAt: sql`now()`, deletedBy: actor }),
      })
      .where(and(eq(clusters.id, id), inArray(clusters.state, statesAllowedBefore(to))))
      .returning();
    if (!row) return undefined;
    const detail = patch.error ? { error: patch.error } : {};
    await recordEvent(tx, { clusterId: id, actor, kind: `state.${to}`, detail });
    const cluster = toCluster(row);
    if (tell) await tell(cluster, inTransaction(tx));
    return cluster;
  });
}

/** Moves the expiry from `change.from` to `change.to` while the cluster is extendable and its expiry still `from`. */
export async function extendClusterExpiry(
  db: Db,
  id: string,
  change: { from: Date; to: Date },
  actor: string,
  tell?: Tell,
): Promise<Cluster | undefined> {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .update(clusters)
      .set({ expiresAt: change.to, remindedAt: null, updatedAt: sql`now()` })
      .where(and(eq(clusters.id, id), extendable, eq(clusters.expiresAt, change.from)))
      .returning();
    if (!row) return undefined;
    const detail = { from: change.from.toISOString(), to: change.to.toISOString() };
    await recordEvent(tx, { clusterId: id, actor, kind: 'extended', detail });
    if (tell) await tell(toCluster(row), inTransaction(tx));
    return toCluster(row);
  });
}

/** An expired cluster with no active operation becomes `deleting`, with a queued delete by the system actor. */
export async function expireCluster(
  db: Db,
  id: string,
  now: Date,
  tell?: Tell,
): Promise<{ cluster: Cluster; operation: Operation } | undefined> {
  // Guarded on the expiry too: an extension that lands between the sweep's read and this update wins.
  const from = expiringStates.filter((s) => statesAllowedBefore('deleting').includes(s));
  return db.transaction(async (tx) => {
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
          inArray(clusters.state, from),
          lte(clusters.expiresAt, now),
          // A cluster in the middle of an operation (a snapshot) expires when it has finished.
          notExists(busy),
        ),
      )
      .returning();
    if (!row) return undefined;
    const detail = { reason: 'expired', expiresAt: row.expiresAt.toISOString() };
    await recordEvent(tx, { clusterId: id, actor: systemActor, kind: 'state.deleting', detail });
    const operation = await insertOperation(tx, id, { kind: 'delete', actor: systemActor, params: {} });
    if (tell) await tell(toCluster(row), inTransaction(tx));
    return { cluster: toCluster(row), operation };
  });
}

/**
 * Hands the cluster from `change.from` to `change.to` (checked against the receiver's quota under the placement
 * lock when `quota` is given); with `offerId`, that offer's accept, in the same transaction.
 */
export async function transferClusterOwner(
  db: Db,
  id: string,
  change: { from: string; to: string; offerId?: string },
  actor: string,
  quota?: QuotaLimits | null,
  tell?: Tell,
): Promise<Cluster | undefined> {
  return db
    .transaction(async (tx) => {
      if (quota) {
        // The lock creates take, so a create and a hand-over to the same user are counted one after the other.
        await lockForTransaction(tx, 'placement');
        const [c] = await tx.select().from(clusters).where(eq(clusters.id, id));
        if (c) {
          const reserved = { nodes: c.nodeCount, cpus: c.reservedCpus, memoryMiB: c.reservedMemoryMiB };
          const usage = await clusterUsage(tx, change.to);
          const verdict = checkQuota(usage, reserved, quota, { user: `<@${change.to}>`, handover: true });
          if (!verdict.ok) throw new AppError(verdict.code, verdict.message, { hints: [verdict.hint] });
        }
      }
      // An offer's accept: the offer first (nothing is written when it is no longer pending), the owner after it.
      if (change.offerId) {
        // The cluster's row before the offer's, in the order the offer store locks them (no deadlock with a decline).
        await lockCluster(tx, id);
        const accepted = await acceptOffer(tx, { id: change.offerId, clusterId: id, from: change.from, to: change.to });
        if (!accepted) return undefined;
      }
      const [row] = await tx
        .update(clusters)
        .set({ owner: change.to, updatedAt: sql`now()` })
        .where(and(eq(clusters.id, id), eq(clusters.owner, change.from), extendable))
        .returning();
      // Rolls the accepted offer back with the transaction: it stays pending, and the caller says why it did not move.
      if (!row) return tx.rollback() as never;
      const moved = { from: change.from, to: change.to };
      await recordEvent(
        tx,
        change.offerId
          ? { clusterId: id, actor, kind: 'transfer.accepted', detail: { ...moved, offer: change.offerId } }
          : { clusterId: id, actor, kind: 'transferred', detail: moved },
      );
      if (tell) await tell(toCluster(row), inTransaction(tx));
      return toCluster(row);
    })
    .catch((e: unknown) => {
      if (e instanceof TransactionRollbackError) return undefined;
      throw e;
    });
}

/**
 * A migration's cut-over: the cluster, still `migrating` on `move.from`, is ready on `move.to` with the target's
 * node rows, and its stopped source waits on the retired list until `removeSourceAfter`.
 */
export async function cutOverCluster(
  db: Db,
  id: string,
  move: {
    from: string;
    to: string;
    nodes: ClusterNode[];
    operationId: string;
    attempt: number;
    removeSourceAfter: Date;
  },
  actor: string,
  tell?: Tell,
): Promise<Cluster | undefined> {
  return db.transaction(async (tx) => {
    // Only the delivery that still holds the operation cuts over; the row lock makes a later delivery's
    // markRunning wait for this commit (and then find the operation finished by the Tell).
    const [current] = await tx
      .select({ id: operations.id })
      .from(operations)
      .where(runningIn(move.operationId, move.attempt))
      .for('update');
    if (!current) return undefined;
    const [row] = await tx
      .update(clusters)
      .set({ host: move.to, state: 'ready', error: null, updatedAt: sql`now()` })
      .where(and(eq(clusters.id, id), eq(clusters.state, 'migrating'), eq(clusters.host, move.from)))
      .returning();
    if (!row) return undefined;
    await replaceNodes(tx, id, move.to, move.nodes);
    await retireSource(tx, {
      clusterId: id,
      host: move.from,
      operationId: move.operationId,
      removeAfter: move.removeSourceAfter,
    });
    const detail = { from: move.from, to: move.to, removeSourceAfter: move.removeSourceAfter.toISOString() };
    await recordEvent(tx, { clusterId: id, actor, kind: 'migrated', detail });
    if (tell) await tell(toCluster(row), inTransaction(tx));
    return toCluster(row);
  });
}
